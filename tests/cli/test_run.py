"""`mark1 run`: inputs, outputs, files, failures, time limits and the recorded run."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import paths
from tests.conftest import CliResult, Repo

Cli = Callable[..., CliResult]

TOOLBOX_MANIFEST = """\
schema_version: "1.0"
plugin: {name: toolbox}
capabilities:
  - name: add
    side_effects: read-only
    parameters:
      type: object
      required: [a, b]
      properties:
        a: {type: integer}
        b: {type: number}
        tags: {type: array, items: {type: string}}
    stdout: json
  - name: nap
  - name: fail
  - name: echo
entry_points:
  - {capability: add, type: cli, command: python tool.py add}
  - {capability: nap, type: cli, command: python tool.py nap}
  - {capability: fail, type: cli, command: python tool.py fail}
  - {capability: echo, type: cli, command: python tool.py echo}
"""

TOOLBOX = """\
import json, sys, time
cmd, rest = sys.argv[1], sys.argv[2:]
if cmd == "add":
    args = dict(zip(rest[::2], rest[1::2]))
    tags = [v for k, v in zip(rest[::2], rest[1::2]) if k == "--tags"]
    print(json.dumps({"sum": int(args["--a"]) + float(args["--b"]), "tags": tags}))
elif cmd == "nap":
    print("going to sleep", flush=True)
    time.sleep(60)
elif cmd == "fail":
    print("something broke: disk on fire", file=sys.stderr)
    sys.exit(3)
else:
    print(" ".join(rest))
"""


@pytest.fixture
def toolbox(make_repo: Callable[..., Repo], cli: Cli) -> Repo:
    repo = make_repo("toolbox", {"mark1.plugin.yml": TOOLBOX_MANIFEST, "tool.py": TOOLBOX})
    assert cli("plugin", "install", str(repo.path)).code == 0
    return repo


def test_end_to_end_run_writes_a_file_and_is_recorded(
    csv_plugin: Repo, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Install a real repo, run a capability that writes a file, check the file and the record."""
    workspace = tmp_path / "ws"
    assert cli("init", "--workspace", str(workspace)).code == 0
    assert cli("plugin", "install", str(csv_plugin.path)).code == 0
    monkeypatch.chdir(tmp_path)
    Path("sales.csv").write_text("region,amount\nnorth,3\nsouth,4\neast,5\n")
    result = cli("run", "csvtool.count", "-i", "file=sales.csv", "-i", "out=report.json")
    assert result.code == 0, result.err
    assert '{"rows": 3}' in result.out, "the plugin's output is streamed"
    report = workspace / "report.json"
    assert json.loads(report.read_text()) == {"rows": 3}
    assert f"file: {report}" in result.err

    runs = json.loads(cli("runs", "list", "--json").out)
    assert len(runs) == 1 and runs[0]["status"] == "succeeded"
    run = json.loads(cli("runs", "show", runs[0]["id"][:10], "--json").out)
    step = run["steps"][0]
    assert step["status"] == "succeeded" and step["exit_code"] == 0
    assert step["artifacts"] == [str(report)]
    assert step["inputs"]["file"] == str(tmp_path / "sales.csv"), "paths made absolute"
    assert step["command"][-3:] == [str(tmp_path / "sales.csv"), "--out", "report.json"]
    with sqlite3.connect(paths.db_path()) as db:
        assert db.execute("SELECT status, workdir FROM runs").fetchone() == (
            "succeeded",
            str(workspace),
        )


def test_inputs_are_typed_by_the_schema(toolbox: Repo, cli: Cli) -> None:
    result = cli(
        "run", "toolbox.add", "-i", "a=2", "-i", "b=0.5", "-i", "tags=x", "-i", "tags=y", "--json"
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["outputs"] == {"sum": 2.5, "tags": ["x", "y"]}
    assert data["status"] == "succeeded" and data["run_id"]


def test_invalid_inputs_are_refused_before_anything_runs(toolbox: Repo, cli: Cli) -> None:
    missing = cli("run", "add", "-i", "a=2")
    assert missing.code == 2 and "'b' is a required property" in missing.err
    wrong = cli("run", "add", "-i", "a=two", "-i", "b=1")
    assert wrong.code == 2 and "input 'a'" in wrong.err and "integer" in wrong.err
    bad_pair = cli("run", "add", "-i", "a")
    assert bad_pair.code == 2 and "key=value" in bad_pair.err
    assert json.loads(cli("runs", "list", "--json").out) == []


def test_inputs_from_json(toolbox: Repo, cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text('{"a": 1, "b": 2}')
    result = cli("run", "add", "--inputs", f"@{tmp_path / 'in.json'}", "--json")
    assert json.loads(result.out)["outputs"]["sum"] == 3
    broken = cli("run", "add", "--inputs", "{a: 1}")
    assert broken.code == 2 and "line 1, column 2" in broken.err


def test_undeclared_inputs_become_flags_and_positionals(toolbox: Repo, cli: Cli) -> None:
    """Without a schema (seed §8.1), -i k=v is --k v and -a X a positional."""
    result = cli("run", "echo", "-i", "color=red", "-a", "first", "--json")
    assert json.loads(result.out)["outputs"]["stdout"] == "first --color red"


def test_failure_is_reported_and_recorded(toolbox: Repo, cli: Cli) -> None:
    result = cli("run", "toolbox.fail")
    assert result.code == 1
    assert "exited with status 3: something broke: disk on fire" in result.err
    run = json.loads(cli("runs", "list", "--json").out)[0]
    assert run["status"] == "failed"
    shown = json.loads(cli("runs", "show", run["id"], "--json").out)
    assert "disk on fire" in shown["steps"][0]["stderr_tail"]


def test_time_limit_stops_the_process(toolbox: Repo, cli: Cli) -> None:
    result = cli("run", "nap", "--timeout", "0.5", "--json")
    assert result.code == 124
    data = json.loads(result.out)
    assert data["status"] == "timed_out" and "0.5 s" in data["error"]
    assert data["stdout"] == "going to sleep\n", "output before the kill is kept"
    assert json.loads(cli("runs", "list", "--json").out)[0]["status"] == "timed_out"


def test_unknown_and_ambiguous_targets(toolbox: Repo, csv_plugin: Repo, cli: Cli) -> None:
    unknown = cli("run", "toolbox.ad")
    assert unknown.code == 2 and "did you mean: toolbox.add" in unknown.err
    twin = TOOLBOX_MANIFEST.replace("{name: toolbox}", "{name: toolbox2}")
    other = csv_plugin.path.parent / "tb2"
    other.mkdir()
    from tests.conftest import git

    git(other, "init", "-q")
    (other / "mark1.plugin.yml").write_text(twin)
    (other / "tool.py").write_text(TOOLBOX)
    git(other, "add", "-A")
    git(other, "-c", "user.name=t", "-c", "user.email=t@e.invalid", "commit", "-qm", "x")
    assert cli("plugin", "install", str(other)).code == 0
    both = cli("run", "echo")
    assert both.code == 2 and "toolbox.echo, toolbox2.echo" in both.err


def test_capabilities_search_and_show(toolbox: Repo, csv_plugin: Repo, cli: Cli) -> None:
    assert cli("plugin", "install", str(csv_plugin.path)).code == 0
    found = json.loads(cli("capabilities", "search", "how many lines in a table", "--json").out)
    assert found[0]["qualified_name"] == "csvtool.count"  # by meaning: no word is shared
    assert {c["method"] for c in found} == {"semantic"} and len(found) > 1
    listing = cli("capabilities", "list")
    assert "toolbox" in listing.out and "csvtool.count" in listing.out
    shown = cli("capabilities", "show", "csvtool.count")
    assert "-i file=<string> (required)" in shown.out
    assert "[default 'count.json']" in shown.out


ENV_MANIFEST = """\
schema_version: "1.0"
plugin: {name: envy}
capabilities:
  - name: show
    env:
      - {name: GREETING, default: hello, required: false}
      - ENVY_API_KEY
  - name: touch
    parameters: {type: object, properties: {name: {type: string}}, required: [name]}
    produces: [{name: file, path: "{name}"}]
entry_points:
  - {capability: show, type: cli, command: python envy.py show}
  - {capability: touch, type: cli, command: python envy.py touch}
"""

ENVY = """\
import json, os, sys
if sys.argv[1] == "show":
    keys = ("GREETING", "ENVY_API_KEY", "ENVY_UNDECLARED")
    print(json.dumps({k: os.environ.get(k) for k in keys}))
else:
    open(sys.argv[3], "w").write("x")
"""


def test_declared_env_vars_reach_the_plugin_and_nothing_else(
    make_repo: Callable[..., Repo], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo("envy", {"mark1.plugin.yml": ENV_MANIFEST, "envy.py": ENVY})
    assert cli("plugin", "install", str(repo.path)).code == 0
    missing = cli("run", "envy.show")
    assert (
        missing.code == 2
        and "ENVY_API_KEY" in missing.err
        and "mark1 plugin configure envy" in missing.err
    )
    monkeypatch.setenv("ENVY_API_KEY", "k-123")
    monkeypatch.setenv("ENVY_UNDECLARED", "leak")
    result = cli("run", "envy.show", "--json")
    assert json.loads(result.out)["outputs"] == {
        "GREETING": "hello",
        "ENVY_API_KEY": "***",  # the plugin printed its secret: masked
        "ENVY_UNDECLARED": None,
    }


def test_produced_file_names_are_not_patterns(
    make_repo: Callable[..., Repo], cli: Cli, tmp_path: Path
) -> None:
    repo = make_repo("envy", {"mark1.plugin.yml": ENV_MANIFEST, "envy.py": ENVY})
    assert cli("plugin", "install", str(repo.path)).code == 0
    work = tmp_path / "work"
    result = cli("run", "envy.touch", "-i", "name=out[1].txt", "--workdir", str(work), "--json")
    assert result.code == 0, result.out
    assert json.loads(result.out)["artifacts"] == [str(work / "out[1].txt")]


def test_progress_lines_on_stdout_do_not_spoil_the_json(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    manifest = """\
schema_version: "1.0"
plugin: {name: stepper}
capabilities: [{name: go, stdout: json}]
entry_points: [{capability: go, type: cli, command: python go.py}]
"""
    script = 'print("MARK1_PROGRESS 50 \\"half way\\"")\nprint(\'{"done": true}\')\n'
    repo = make_repo("stepper", {"mark1.plugin.yml": manifest, "go.py": script})
    assert cli("plugin", "install", str(repo.path)).code == 0
    result = cli("run", "stepper.go", "--json")
    assert result.code == 0, result.out
    assert json.loads(result.out)["outputs"] == {"done": True}
    assert "[ 50%] half way" in result.err
