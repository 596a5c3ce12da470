"""`mark1 plugin install` on repositories that carry no manifest: analysed, built, checked,
registered as ready, and then run for real.

The repositories are the analyser's fixtures (``tests/plugins/analysis/forms.py``) committed
to real Git repositories; packages come from uv's cache (the dev extra puts click, Pillow,
PyYAML, FastAPI and mcp there) and npm needs nothing. Go is not installed on this machine,
which is exactly the unbuildable case: it must end with the reason and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, git
from tests.plugins.analysis.conftest import write_tree
from tests.plugins.analysis.forms import FORMS

Cli = Callable[..., CliResult]


@pytest.fixture
def form_repo(tmp_path: Path) -> Callable[[str], Path]:
    """``form_repo("node-bin")`` -> a Git repository holding that fixture, committed."""

    def make(form: str) -> Path:
        folder = write_tree(tmp_path / "repos" / form, FORMS[form])
        git(folder, "init", "-q", "-b", "main")
        git(folder, "add", "-A")
        git(folder, "commit", "-q", "-m", "initial")
        return folder

    return make


def install(cli: Cli, folder: Path) -> dict[str, Any]:
    result = cli("plugin", "install", str(folder), "--yes", "--json")
    assert result.code == 0, result.err
    record: dict[str, Any] = json.loads(result.out)
    return record


def run(cli: Cli, target: str, *inputs: str) -> dict[str, Any]:
    """Run ``target`` with ``KEY=VALUE`` inputs; the result as JSON, plus the run's working
    folder as ``workdir``."""
    words = [w for pair in inputs for w in ("-i", pair)]
    result = cli("run", target, *words, "--json")
    assert result.code == 0, result.out + result.err
    done: dict[str, Any] = json.loads(result.out)
    shown = cli("runs", "show", done["run_id"], "--json")
    done["workdir"] = json.loads(shown.out)["workdir"]
    return done


def test_a_script_with_hidden_dependencies_installs_them_and_runs(
    form_repo: Callable[[str], Path], cli: Cli, tmp_path: Path
) -> None:
    """No requirements file at all: Pillow and PyYAML are installed because the code imports
    them, and --help gives the check (and the parameters were read from argparse)."""
    from PIL import Image

    record = install(cli, form_repo("argparse-hidden-deps"))
    assert (record["status"], record["capabilities"]) == ("ready", ["thumbs"])
    picture = tmp_path / "cat.png"
    Image.new("RGB", (400, 200), "orange").save(picture)
    listing = tmp_path / "list.yaml"
    listing.write_text(f"- {picture}\n")
    # The sandbox shows a run only the files its inputs name; the pictures the listing names
    # (and their thumbnails, written beside them) need a grant.
    grant = cli("plugin", "permissions", "argparse-hidden-deps", "--grant-path", f"{tmp_path}:rw")
    assert grant.code == 0, grant.err
    done = run(cli, "argparse-hidden-deps.thumbs", f"listing={listing}", "size=50")
    assert done["stdout"].strip() == "1"
    with Image.open(tmp_path / "cat.png.thumb.png") as thumb:
        assert thumb.size == (50, 25)


def test_a_click_console_script_project(
    form_repo: Callable[[str], Path], cli: Cli, tmp_path: Path
) -> None:
    """The project is built offline and confined; its console script lands in the venv."""
    from PIL import Image

    record = install(cli, form_repo("click-pyproject"))
    assert (record["name"], record["status"]) == ("shrinkpic", "ready")
    picture = tmp_path / "big.png"
    Image.new("RGB", (1000, 500), "blue").save(picture)
    done = run(cli, "shrinkpic.shrinkpic", f"source={picture}", "width=100", "output=small.png")
    assert done["stdout"].strip() == "small.png"
    with Image.open(Path(done["workdir"]) / "small.png") as small:
        assert small.size == (100, 50)


def test_a_node_bin(form_repo: Callable[[str], Path], cli: Cli, tmp_path: Path) -> None:
    record = install(cli, form_repo("node-bin"))
    assert (record["name"], record["status"]) == ("jsonpick", "ready")
    data = tmp_path / "d.json"
    data.write_text('{"colour": "green"}')
    # No parameters in the code's reach: they came from its --help output at install.
    done = run(cli, "jsonpick.jsonpick", f"file={data}", "field=colour")
    assert done["stdout"].strip() == '"green"'


def test_a_shell_script(form_repo: Callable[[str], Path], cli: Cli, tmp_path: Path) -> None:
    """Its one parameter comes from the Usage line in its comments."""
    record = install(cli, form_repo("shell-script"))
    assert (record["name"], record["status"]) == ("shell-script", "ready")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("remember")
    done = run(cli, "shell-script.backup", f"source_dir={notes}")
    assert [p.name.startswith("backup-") for p in Path(done["workdir"]).iterdir()] == [True]


def test_a_python_mcp_server_becomes_one_capability_per_tool(
    form_repo: Callable[[str], Path], cli: Cli
) -> None:
    record = install(cli, form_repo("python-mcp"))
    assert (record["status"], sorted(record["capabilities"])) == ("ready", ["add", "multiply"])
    done = run(cli, "python-mcp.multiply", "a=6", "b=7")
    assert json.dumps(done["outputs"]).count("42") == 1


def test_a_fastapi_service(form_repo: Callable[[str], Path], cli: Cli) -> None:
    """Started on a free port by Mark-1, health-checked at install, called with a JSON body."""
    record = install(cli, form_repo("fastapi-app"))
    assert (record["status"], record["capabilities"]) == ("ready", ["health", "convert"])
    done = run(cli, "fastapi-app.convert", "celsius=100", "label=boiling")
    assert done["outputs"] == {"fahrenheit": 212.0, "label": "boiling"}


def test_a_c_tool_is_built_with_make(form_repo: Callable[[str], Path], cli: Cli) -> None:
    record = install(cli, form_repo("makefile-c"))
    assert (record["status"], record["capabilities"]) == ("ready", ["wc2"])
    assert run(cli, "makefile-c.wc2")["stdout"].strip() == "0"  # stdin is empty


def test_a_go_program_without_go_fails_with_the_reason_and_the_fix(
    form_repo: Callable[[str], Path], cli: Cli
) -> None:
    result = cli("plugin", "install", str(form_repo("go-main")), "--yes")
    assert result.code == 3
    assert (
        "capability 'greet' runs 'bin/greet', which was not built: go.mod: needs Go to build "
        "cmd/greet; install it with `apt-get install golang-go`"
    ) in result.err
    assert json.loads(cli("plugin", "list", "--json").out) == []


def test_a_notebook_repository_is_refused_before_anything_is_installed(
    form_repo: Callable[[str], Path], cli: Cli
) -> None:
    result = cli("plugin", "install", str(form_repo("notebook-only")), "--yes")
    assert result.code == 2
    assert "only Jupyter notebooks (1)" in result.err


def test_a_proposed_manifest_needs_confirmation_in_scripts(
    form_repo: Callable[[str], Path], cli: Cli
) -> None:
    """Without a terminal to ask at, a manifest Mark-1 proposed is installed only with --yes."""
    result = cli("plugin", "install", str(form_repo("node-bin")))
    assert result.code == 2
    assert "needs confirmation: its manifest was proposed by Mark-1" in result.err
    assert "pass --yes" in result.err
    assert json.loads(cli("plugin", "list", "--json").out) == []


def test_info_and_list_show_the_status_the_risks_and_what_the_analysis_found(
    form_repo: Callable[[str], Path], cli: Cli
) -> None:
    """The analysis is stored with the version: `plugin info` shows its risks, its env vars
    are in the manifest, and psycopg2/requests came from requirements.txt."""
    record = install(cli, form_repo("env-and-database"))
    assert record["status"] == "ready"
    shown = cli("plugin", "info", "env-and-database")
    assert "status       ready" in shown.out
    assert "risk (low): network: network access from Python code" in shown.out
    listed = cli("plugin", "list")
    assert listed.out.splitlines()[-1].split()[:3] == ["env-and-database", "0.0.0", "ready"]
    info = json.loads(cli("plugin", "info", "env-and-database", "--json").out)
    assert [e["name"] for e in info["manifest"]["env"]] == [
        "DATABASE_URL",
        "LOG_LEVEL",
        "SHIPPING_API_TOKEN",
    ]
    assert info["analysis"]["profile"]["services"][1]["name"] == "postgresql"
    assert info["validation"]["checks"][0]["status"] == "ok"
