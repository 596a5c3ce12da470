"""Installing, updating, linking and removing real git repositories through the CLI."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import paths
from tests.conftest import CSV_PLUGIN_MANIFEST, CSV_PLUGIN_SCRIPT, CliResult, Repo

Cli = Callable[..., CliResult]


def installed(cli: Cli) -> dict[str, dict]:
    result = cli("plugin", "list", "--json")
    assert result.code == 0, result.err
    return {p["name"]: p for p in json.loads(result.out)}


def version_dirs() -> list[Path]:
    """The version folders on disk (each installed version has exactly one)."""
    root = paths.plugins_dir()
    return sorted(root.iterdir()) if root.exists() else []


def test_install_records_commit_and_capabilities(csv_plugin: Repo, cli: Cli) -> None:
    """A plain install pins the checked-out commit and registers every capability."""
    result = cli("plugin", "install", str(csv_plugin.path), "--json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert info["commit"] == csv_plugin.head
    assert info["ref"] == "main"
    assert info["capabilities"] == ["count"]
    assert Path(info["environment"], "bin", "python").exists()
    caps = json.loads(cli("capabilities", "list", "--json").out)
    assert [c["qualified_name"] for c in caps] == ["csvtool.count"]
    assert caps[0]["input_formats"] == ["csv"]


def test_install_at_tag_and_commit(csv_plugin: Repo, cli: Cli) -> None:
    """SOURCE@REF installs exactly that tag or commit, not the branch head."""
    first = csv_plugin.head
    csv_plugin.commit({"NOTES.md": "v2"}, "second", tag="v2")
    result = cli("plugin", "install", f"{csv_plugin.path}@{first}", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["commit"] == first
    result = cli("plugin", "install", "--force", f"{csv_plugin.path}@v2", "--json")
    assert json.loads(result.out)["commit"] == csv_plugin.head
    assert json.loads(result.out)["ref"] == "v2"
    assert len(version_dirs()) == 1, "the replaced version's files are deleted"


def test_unknown_ref_is_explained(csv_plugin: Repo, cli: Cli) -> None:
    result = cli("plugin", "install", f"{csv_plugin.path}@no-such-branch")
    assert result.code == 2
    assert "'no-such-branch' is not a branch, tag or commit" in result.err
    assert version_dirs() == []


def test_second_install_needs_force(csv_plugin: Repo, cli: Cli) -> None:
    assert cli("plugin", "install", str(csv_plugin.path)).code == 0
    again = cli("plugin", "install", str(csv_plugin.path))
    assert again.code == 2
    assert "already installed" in again.err and "plugin update csvtool" in again.err


def test_repo_with_nothing_callable_gets_a_clear_message(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    """No manifest and nothing the analysis can run (a script without a main block or CLI):
    the verdict's reasons, and how to say how to run it."""
    repo = make_repo("bare", {"tool.py": "print('hi')\n"})
    result = cli("plugin", "install", str(repo.path), "--yes")
    assert result.code == 2
    assert "is not something Mark-1 can run: source code (1 python files) but nothing" in result.err
    assert "mark1 plugin schema" in result.err
    assert version_dirs() == [] and installed(cli) == {}


def test_folder_that_is_not_a_repo(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "loose").mkdir()
    result = cli("plugin", "install", str(tmp_path / "loose"))
    assert result.code == 2 and "not a Git repository" in result.err and "plugin link" in result.err


def test_failed_dependency_install_leaves_nothing(make_repo: Callable[..., Repo], cli: Cli) -> None:
    """uv cannot satisfy a dependency: no registry row, no folder, no environment."""
    manifest = CSV_PLUGIN_MANIFEST.replace(
        "entry_points:", 'dependencies:\n  packages: ["./no-such-local-package"]\nentry_points:'
    )
    repo = make_repo("broken", {"mark1.plugin.yml": manifest, "count.py": CSV_PLUGIN_SCRIPT})
    result = cli("plugin", "install", str(repo.path))
    assert result.code == 3, result.err
    assert "uv pip" in result.err and "failed" in result.err
    assert installed(cli) == {} and version_dirs() == []
    with sqlite3.connect(paths.db_path()) as db:
        assert db.execute("SELECT count(*) FROM plugins").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM plugin_versions").fetchone()[0] == 0


def test_missing_program_or_script_fails_validation(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    """Entry points are checked before registering: unknown programs and missing scripts."""
    no_program = CSV_PLUGIN_MANIFEST.replace("command: python count.py", "command: no-such-tool")
    repo = make_repo("noprog", {"mark1.plugin.yml": no_program, "count.py": CSV_PLUGIN_SCRIPT})
    result = cli("plugin", "install", str(repo.path))
    assert result.code == 3 and "'no-such-tool'" in result.err
    no_script = CSV_PLUGIN_MANIFEST.replace("count.py", "missing.py")
    repo = make_repo("noscript", {"mark1.plugin.yml": no_script})
    result = cli("plugin", "install", str(repo.path))
    assert result.code == 3 and "'missing.py'" in result.err
    assert installed(cli) == {} and version_dirs() == []


def test_broken_manifest_points_into_the_source(make_repo: Callable[..., Repo], cli: Cli) -> None:
    repo = make_repo(
        "typo", {"mark1.plugin.yml": CSV_PLUGIN_MANIFEST.replace("type: cli", "type: clii")}
    )
    result = cli("plugin", "install", str(repo.path))
    assert result.code == 2
    assert f"{repo.path}@{repo.head[:12]}:mark1.plugin.yml:" in result.err
    assert "'cli'" in result.err
    assert version_dirs() == []


def test_update_switches_version_and_keeps_old_until_new_validates(
    csv_plugin: Repo, cli: Cli, tmp_path: Path
) -> None:
    """A good update replaces the version; a broken one leaves the old one active and runnable."""
    assert cli("plugin", "install", str(csv_plugin.path)).code == 0
    same = cli("plugin", "update", "csvtool")
    assert same.code == 0 and "up to date" in same.out

    csv_plugin.commit({"mark1.plugin.yml": CSV_PLUGIN_MANIFEST.replace("1.0.0", "1.1.0")}, "v1.1")
    result = cli("plugin", "update", "csvtool", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["changed"] and data["version"] == "1.1.0" and data["commit"] == csv_plugin.head
    assert len(version_dirs()) == 1

    good = csv_plugin.head
    csv_plugin.commit(
        {"mark1.plugin.yml": "schema_version: '1.0'\nplugin: {name: csvtool}\n"}, "bad"
    )
    result = cli("plugin", "update", "csvtool")
    assert result.code == 2 and "capabilities" in result.err
    assert installed(cli)["csvtool"]["commit"] == good
    assert len(version_dirs()) == 1
    data_file = tmp_path / "d.csv"
    data_file.write_text("a\n1\n2\n")
    run = cli("run", "csvtool.count", "-i", f"file={data_file}", "--json")
    assert run.code == 0 and json.loads(run.out)["outputs"]["rows"] == 2


def test_update_to_an_older_ref(csv_plugin: Repo, cli: Cli) -> None:
    first = csv_plugin.head
    csv_plugin.commit({"README.md": "more"}, "later")
    assert cli("plugin", "install", str(csv_plugin.path)).code == 0
    result = cli("plugin", "update", "csvtool", "--ref", first, "--json")
    assert result.code == 0 and json.loads(result.out)["commit"] == first


def test_remove_deletes_files_but_keeps_history(csv_plugin: Repo, cli: Cli, tmp_path: Path) -> None:
    assert cli("plugin", "install", str(csv_plugin.path)).code == 0
    data_file = tmp_path / "d.csv"
    data_file.write_text("a\n1\n")
    assert cli("run", "csvtool.count", "-i", f"file={data_file}").code == 0
    refused = cli("plugin", "remove", "csvtool")
    assert refused.code == 2 and "--yes" in refused.err, "scripts must confirm explicitly"
    assert cli("plugin", "remove", "csvtool", "--yes").code == 0
    assert installed(cli) == {} and version_dirs() == []
    history = json.loads(cli("runs", "list", "--json").out)
    assert [r["target"] for r in history] == ["csvtool.count"]
    assert cli("run", "csvtool.count", "-i", f"file={data_file}").code == 2
    assert cli("plugin", "install", str(csv_plugin.path)).code == 0, "re-install after remove"
    assert "csvtool" in installed(cli)


def test_link_follows_the_folder(tmp_path: Path, cli: Cli) -> None:
    """A linked plugin runs its folder's current code and manifest; remove leaves the folder."""
    folder = tmp_path / "dev-plugin"
    folder.mkdir()
    (folder / "mark1.plugin.yml").write_text(CSV_PLUGIN_MANIFEST)
    (folder / "count.py").write_text(CSV_PLUGIN_SCRIPT)
    data_file = tmp_path / "d.csv"
    data_file.write_text("a\n1\n2\n3\n")
    assert cli("plugin", "link", str(folder)).code == 0
    first = cli("run", "csvtool.count", "-i", f"file={data_file}", "--json")
    assert json.loads(first.out)["outputs"]["rows"] == 3
    (folder / "count.py").write_text(CSV_PLUGIN_SCRIPT.replace('{"rows"', '{"lines"'))
    (folder / "mark1.plugin.yml").write_text(
        CSV_PLUGIN_MANIFEST.replace("name: count", "name: tally").replace(
            "capability: count", "capability: tally"
        )
    )
    second = cli("run", "csvtool.tally", "-i", f"file={data_file}", "--json")
    assert second.code == 0, second.err
    assert json.loads(second.out)["outputs"]["lines"] == 3
    assert cli("plugin", "update", "csvtool").code == 2, "linked plugins are not fetched"
    assert cli("plugin", "remove", "csvtool", "-y").code == 0
    assert (folder / "count.py").exists() and version_dirs() == []


def test_disable_and_enable(csv_plugin: Repo, cli: Cli, tmp_path: Path) -> None:
    assert cli("plugin", "install", str(csv_plugin.path)).code == 0
    data_file = tmp_path / "d.csv"
    data_file.write_text("a\n1\n")
    assert cli("plugin", "disable", "csvtool").code == 0
    refused = cli("run", "csvtool.count", "-i", f"file={data_file}")
    assert refused.code == 2 and "disabled" in refused.err
    assert installed(cli)["csvtool"]["enabled"] is False
    assert cli("plugin", "enable", "csvtool").code == 0
    assert cli("run", "csvtool.count", "-i", f"file={data_file}").code == 0


def test_info_shows_parameters(csv_plugin: Repo, cli: Cli) -> None:
    assert cli("plugin", "install", str(csv_plugin.path)).code == 0
    info = cli("plugin", "info", "csvtool")
    assert info.code == 0 and "count [cli, writes-workspace] (file, out)" in info.out
    missing = cli("plugin", "info", "nope")
    assert missing.code == 2 and "installed: csvtool" in missing.err


PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "greeter-tool"
version = "0.1.0"

[project.scripts]
greeter = "greeter:main"

[tool.setuptools]
py-modules = ["greeter"]
"""

GREETER = """\
import argparse, json
def main():
    p = argparse.ArgumentParser()
    p.add_argument("--name", default="world")
    p.add_argument("--shout", action="store_true")
    a = p.parse_args()
    text = f"hello {a.name}"
    print(json.dumps({"greeting": text.upper() if a.shout else text}))
"""

GREETER_MANIFEST = """\
schema_version: "1.0"
plugin: {name: greeter}
capabilities:
  - name: greet
    side_effects: read-only
    parameters:
      type: object
      properties:
        name: {type: string}
        shout: {type: boolean, default: false}
entry_points:
  - {capability: greet, type: cli, command: greeter}
"""


def test_python_project_is_installed_into_its_own_environment(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    """A pyproject-based repo is pip-installed into the plugin's venv; its console script runs."""
    repo = make_repo(
        "greeter",
        {"pyproject.toml": PYPROJECT, "greeter.py": GREETER, "mark1.plugin.yml": GREETER_MANIFEST},
    )
    result = cli("plugin", "install", str(repo.path), "--json")
    assert result.code == 0, result.err
    env = Path(json.loads(result.out)["environment"])
    assert (env / "bin" / "greeter").exists()
    run = cli("run", "greet", "-i", "name=mark", "-i", "shout=yes", "--json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert data["outputs"] == {"greeting": "HELLO MARK"}
    assert data["command"][0] == str(env / "bin" / "greeter")


def test_plugin_in_a_folder_of_a_bigger_repository(
    make_repo: Callable[..., Repo], cli: Cli, tmp_path: Path
) -> None:
    """A folder inside a repo (e.g. examples/x) and URL#subdirectory= both install that folder."""
    repo = make_repo(
        "mono",
        {
            "tools/csv/mark1.plugin.yml": CSV_PLUGIN_MANIFEST,
            "tools/csv/count.py": CSV_PLUGIN_SCRIPT,
            "README.md": "mono",
        },
    )
    result = cli("plugin", "install", str(repo.path / "tools" / "csv"), "--json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert info["commit"] == repo.head and info["source_path"].endswith("/src/tools/csv")
    data_file = tmp_path / "d.csv"
    data_file.write_text("a\n1\n")
    assert cli("run", "csvtool.count", "-i", f"file={data_file}").code == 0
    url = f"file://{repo.path}#subdirectory=tools/csv@main"
    again = cli("plugin", "install", "--force", url, "--json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["source"] == f"file://{repo.path}#subdirectory=tools/csv"
    repo.commit({"tools/csv/mark1.plugin.yml": CSV_PLUGIN_MANIFEST.replace("1.0.0", "2.0.0")})
    updated = cli("plugin", "update", "csvtool", "--json")
    assert json.loads(updated.out)["version"] == "2.0.0"
    missing = cli("plugin", "install", f"file://{repo.path}#subdirectory=nope")
    assert missing.code == 2 and "no folder 'nope'" in missing.err


NODE_MANIFEST = """\
schema_version: "1.0"
plugin: {name: padder}
capabilities:
  - name: pad
    parameters: {type: object, properties: {text: {type: string}}}
entry_points:
  - {capability: pad, type: cli, command: node tool.js, args: {text: {position: 0}}}
"""


def test_node_dependencies_go_into_the_plugin_and_unused_toolchains_are_left_alone(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    """package.json is provisioned with npm inside the plugin; a Cargo.toml is named as unmet."""
    repo = make_repo(
        "padder",
        {
            "mark1.plugin.yml": NODE_MANIFEST,
            "package.json": '{"name": "padder", "version": "1.0.0", "private": true,'
            ' "dependencies": {"stars": "file:./vendor/stars"}}',
            "vendor/stars/package.json": '{"name": "stars", "version": "1.0.0", "main": "index.js"}',
            "vendor/stars/index.js": "module.exports = (s) => `*** ${s} ***`;\n",
            "tool.js": "console.log(JSON.stringify({padded: require('stars')(process.argv[2])}));\n",
            "Cargo.toml": "[package]\nname = 'padder'\nversion = '0.1.0'\n",
        },
    )
    result = cli("plugin", "install", str(repo.path), "--json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert Path(info["source_path"], "node_modules", "stars").exists()
    assert not Path(info["source_path"], "target").exists()
    run = cli("run", "pad", "-i", "text=hi", "--json")
    assert run.code == 0, run.err
    assert json.loads(run.out)["outputs"] == {"padded": "*** hi ***"}


def test_linked_python_project_runs_edited_code(tmp_path: Path, cli: Cli) -> None:
    """A linked pyproject plugin is installed editable: code edits show on the next run."""
    folder = tmp_path / "greeter"
    folder.mkdir()
    (folder / "pyproject.toml").write_text(PYPROJECT)
    (folder / "greeter.py").write_text(GREETER)
    (folder / "mark1.plugin.yml").write_text(GREETER_MANIFEST)
    assert cli("plugin", "link", str(folder)).code == 0
    first = cli("run", "greet", "-i", "name=a", "--json")
    assert json.loads(first.out)["outputs"] == {"greeting": "hello a"}
    (folder / "greeter.py").write_text(GREETER.replace('f"hello {a.name}"', 'f"hi {a.name}"'))
    second = cli("run", "greet", "-i", "name=a", "--json")
    assert json.loads(second.out)["outputs"] == {"greeting": "hi a"}


async def test_two_installs_of_one_name_cannot_both_register(csv_plugin: Repo, cli: Cli) -> None:
    """The 'already installed' check happens under the write lock, not before it."""
    from assistant.errors import UserError
    from assistant.plugins import registry
    from memory.store import Store

    assert cli("plugin", "install", str(csv_plugin.path)).code == 0
    async with Store.open(paths.db_path()) as store:
        current = await registry.require_plugin(store, "csvtool")
        twin = dataclasses.replace(current, path=current.path.parent / "twin")
        with pytest.raises(UserError, match="already installed"):
            await registry.register(store, twin, replace=False)
        versions = await store.fetchall("SELECT status FROM plugin_versions")
        assert [v[0] for v in versions] == ["active"]


def test_ref_option_for_branch_names_with_slashes(csv_plugin: Repo, cli: Cli) -> None:
    from tests.conftest import git

    git(csv_plugin.path, "checkout", "-q", "-b", "feature/faster")
    head = csv_plugin.commit({"NOTES.md": "on a branch"}, "branch work")
    git(csv_plugin.path, "checkout", "-q", "main")
    result = cli("plugin", "install", str(csv_plugin.path), "--ref", "feature/faster", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["commit"] == head
    assert json.loads(result.out)["ref"] == "feature/faster"


def test_update_during_a_run_keeps_the_running_version_until_it_ends(
    make_repo: Callable[..., Repo], cli: Cli, mark1_exe: str, tmp_path: Path
) -> None:
    """The old version's files stay while a live run uses them; the next clean-up takes them.
    Folders left by an install that died (its owner process is gone) are cleaned up too."""
    import os
    import signal
    import subprocess

    from tests.cli.test_interrupt import NAP, NAP_MANIFEST

    repo = make_repo("napper", {"mark1.plugin.yml": NAP_MANIFEST, "nap.py": NAP})
    old = json.loads(cli("plugin", "install", str(repo.path), "--json").out)["path"]
    env = {**os.environ, "NAP_PID_FILE": str(tmp_path / "pid")}
    proc = subprocess.Popen(
        [mark1_exe, "run", "napper.nap"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "going to sleep\n"
    try:
        repo.commit({"NOTES.md": "v2"})
        assert cli("plugin", "update", "napper").code == 0
        assert Path(old, "src", "nap.py").exists(), "the running version was not deleted"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    crashed = paths.plugins_dir() / "deadbeef0000"
    crashed.mkdir()
    (crashed / ".mark1-installing").write_text("999999999")
    repo.commit({"NOTES.md": "v3"})
    assert cli("plugin", "update", "napper").code == 0
    assert not Path(old).exists() and not crashed.exists()
    assert len(version_dirs()) == 1


def test_a_missing_python_function_module_is_caught_at_install(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    manifest = """\
schema_version: "1.0"
plugin: {name: pyfn}
capabilities: [{name: f}]
entry_points: [{capability: f, type: python_function, module: tools.mathx, function: add}]
"""
    repo = make_repo("pyfn", {"mark1.plugin.yml": manifest, "tools/math.py": "def add(): ...\n"})
    result = cli("plugin", "install", str(repo.path))
    assert result.code == 3 and "module 'tools.mathx'" in result.err
    assert version_dirs() == []
