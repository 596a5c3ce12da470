"""The ``python_function`` adapter, through `mark1 run`: a real plugin repository whose
capabilities are Python functions, installed into its own venv and called in the sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.sandbox import bwrap_problem
from tests.conftest import CliResult, Repo

Cli = Callable[..., CliResult]

MANIFEST = """\
schema_version: "1.0"
plugin: {name: pyfuncs, version: 1.0.0, description: Python functions as capabilities}
capabilities:
  - name: stats
    description: Count and average a list of numbers
    parameters:
      type: object
      required: [numbers]
      properties:
        numbers: {type: array, items: {type: number}}
  - name: add
    parameters:
      type: object
      required: [a, b]
      properties:
        a: {type: integer}
        b: {type: number}
  - name: evens
    parameters:
      type: object
      required: [upto]
      properties:
        upto: {type: integer, minimum: 0}
  - name: greet
    parameters:
      type: object
      properties:
        name: {type: string, default: world}
  - name: report
    parameters:
      type: object
      required: [out]
      properties:
        out: {type: string}
  - name: explode
    parameters:
      type: object
      properties:
        value: {type: integer, default: 42}
  - name: chatty
  - name: ghost
  - name: nap
  - name: clobber
    parameters:
      type: object
      required: [target]
      properties:
        target: {type: string}
entry_points:
  - {capability: stats, type: python_function, module: pyfuncs.core, function: stats}
  - {capability: add, type: python_function, module: pyfuncs.core, function: add}
  - {capability: evens, type: python_function, module: pyfuncs.core, function: evens}
  - {capability: greet, type: python_function, module: pyfuncs.aio, function: greet}
  - {capability: report, type: python_function, module: pyfuncs.core, function: report}
  - {capability: explode, type: python_function, module: pyfuncs.core, function: explode}
  - {capability: chatty, type: python_function, module: pyfuncs.core, function: chatty}
  - {capability: ghost, type: python_function, module: pyfuncs.broken, function: run}
  - {capability: nap, type: python_function, module: pyfuncs.core, function: nap}
  - {capability: clobber, type: python_function, module: pyfuncs.core, function: clobber}
"""

CORE = """\
import sys
import time
from pathlib import Path


def stats(numbers):
    return {"count": len(numbers), "mean": sum(numbers) / len(numbers), "empty": None}


def add(a, b):
    return a + b


def evens(upto):
    return [n for n in range(upto + 1) if n % 2 == 0]


def report(out):
    path = Path(out)
    path.write_text("all good\\n")
    return path


def explode(value):
    print("about to fail", file=sys.stderr)
    raise ValueError(f"bad value: {value}")


def chatty():
    print("hello from inside the function")
    print('MARK1_PROGRESS 50 "halfway there"')
    return {"said": "hello"}


def nap():
    print("going to sleep", flush=True)
    time.sleep(60)


def clobber(target):
    escaped = Path(target).with_name("new-file.txt")
    try:
        escaped.write_text("escaped")  # lands in the sandbox's private /tmp, if anywhere
    except OSError:
        pass
    Path(target).write_text("pwned")
    return {"wrote": target}
"""

AIO = """\
import asyncio


async def greet(name):
    await asyncio.sleep(0.01)
    return {"greeting": f"hello {name}"}
"""


@pytest.fixture
def pyfuncs(make_repo: Callable[..., Repo], cli: Cli) -> Repo:
    """The plugin, installed (a git repository with a package of functions and no script)."""
    repo = make_repo(
        "pyfuncs",
        {
            "mark1.plugin.yml": MANIFEST,
            "pyfuncs/__init__.py": "",
            "pyfuncs/core.py": CORE,
            "pyfuncs/aio.py": AIO,
            "pyfuncs/broken.py": "import a_dependency_nobody_installed\n\ndef run(): ...\n",
        },
    )
    installed = cli("plugin", "install", str(repo.path))
    assert installed.code == 0, installed.err
    return repo


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    folder.mkdir()
    return folder


def run(cli: Cli, workdir: Path, target: str, *args: str) -> tuple[CliResult, dict[str, Any]]:
    """``mark1 run pyfuncs.TARGET ARGS --json`` in ``workdir``: the result and its JSON."""
    result = cli("run", f"pyfuncs.{target}", "--workdir", str(workdir), "--json", *args)
    return result, json.loads(result.out)


def shown_run(cli: Cli, run_id: str) -> dict[str, Any]:
    shown = cli("runs", "show", run_id, "--json")
    assert shown.code == 0, shown.err
    data: dict[str, Any] = json.loads(shown.out)
    return data


def test_returns_a_dict_which_becomes_the_outputs(pyfuncs: Repo, cli: Cli, workdir: Path) -> None:
    """A function returning a dict: its keys are the run's outputs, and the run is recorded."""
    result, data = run(cli, workdir, "stats", "--inputs", '{"numbers": [1, 2, 3, 6]}')
    assert result.code == 0, result.err
    assert data["status"] == "succeeded" and data["exit_code"] == 0
    assert data["outputs"] == {"count": 4, "mean": 3.0, "empty": None}
    assert data["command"][-1] == "pyfuncs.core:stats", "the record names the function"
    assert data["metrics"]["duration_s"] > 0
    recorded = shown_run(cli, data["run_id"])
    assert recorded["status"] == "succeeded"
    assert recorded["steps"][0]["outputs"] == data["outputs"]


def test_returns_a_non_dict_as_result(pyfuncs: Repo, cli: Cli, workdir: Path) -> None:
    """A number or a list comes back under ``result``; inputs arrive typed by the schema."""
    result, data = run(cli, workdir, "add", "-i", "a=2", "-i", "b=0.5")
    assert result.code == 0, result.err
    assert data["outputs"] == {"result": 2.5}
    result, data = run(cli, workdir, "evens", "-i", "upto=6")
    assert result.code == 0, result.err
    assert data["outputs"] == {"result": [0, 2, 4, 6]}
    plain = cli("run", "pyfuncs.evens", "-i", "upto=4", "--workdir", str(workdir))
    assert plain.code == 0 and "result: [0, 2, 4]" in plain.err


def test_async_function_is_awaited(pyfuncs: Repo, cli: Cli, workdir: Path) -> None:
    """An ``async def`` is run to completion; schema defaults fill missing inputs."""
    result, data = run(cli, workdir, "greet")
    assert result.code == 0, result.err
    assert data["outputs"] == {"greeting": "hello world"}
    _, data = run(cli, workdir, "greet", "-i", "name=Ada")
    assert data["outputs"] == {"greeting": "hello Ada"}


def test_returned_path_is_reported_as_an_artifact(pyfuncs: Repo, cli: Cli, workdir: Path) -> None:
    """A returned ``Path`` (relative, written in the workspace) is an artifact, made absolute."""
    result, data = run(cli, workdir, "report", "-i", "out=report.txt")
    assert result.code == 0, result.err
    written = workdir / "report.txt"
    assert written.read_text() == "all good\n"
    assert data["artifacts"] == [str(written)]
    assert data["outputs"] == {"result": "report.txt"}
    assert shown_run(cli, data["run_id"])["steps"][0]["artifacts"] == [str(written)]


def test_exception_fails_the_run_and_keeps_the_traceback(
    pyfuncs: Repo, cli: Cli, workdir: Path
) -> None:
    """A raised ValueError: exit 1, recorded as failed, the error names the exception, and the
    traceback (after what the function printed) is kept in the run's record."""
    result = cli("run", "pyfuncs.explode", "--workdir", str(workdir))
    assert result.code == 1
    assert "ValueError: bad value: 42" in result.err
    assert "about to fail" in result.err, "what it printed was streamed"
    listed = json.loads(cli("runs", "list", "--json").out)
    assert listed[0]["status"] == "failed"
    recorded = shown_run(cli, listed[0]["id"])
    assert recorded["error"] == "ValueError: bad value: 42"
    stderr = recorded["steps"][0]["stderr_tail"]
    assert stderr.index("about to fail") < stderr.index("Traceback (most recent call last)")
    assert 'core.py", line' in stderr and "in explode" in stderr
    assert "<string>" not in stderr, "the runner's own frames are cut"
    text = cli("runs", "show", listed[0]["id"])
    assert "ValueError: bad value: 42" in text.out


def test_prints_go_to_the_output_and_the_reply_still_parses(
    pyfuncs: Repo, cli: Cli, workdir: Path
) -> None:
    """``print()`` inside the function shows in the run's output without breaking the reply;
    a MARK1_PROGRESS line becomes a progress report."""
    result = cli("run", "pyfuncs.chatty", "--workdir", str(workdir))
    assert result.code == 0, result.err
    assert "hello from inside the function" in result.err
    assert "[ 50%] halfway there" in result.err
    assert "said: hello" in result.err
    assert '"ok"' not in result.out + result.err, "the reply itself is not shown"
    _, data = run(cli, workdir, "chatty", "-q")
    assert data["outputs"] == {"said": "hello"}
    assert "hello from inside the function" in data["stderr"]


def test_missing_module_is_a_clear_failure(pyfuncs: Repo, cli: Cli, workdir: Path) -> None:
    """A module that cannot be imported (its dependency is missing) fails, saying which and why.
    (A module that does not exist at all is refused at install: tests/plugins/test_installer.py)"""
    result, data = run(cli, workdir, "ghost")
    assert result.code == 1
    assert data["status"] == "failed"
    assert data["error"] == (
        "cannot import the plugin's module 'pyfuncs.broken': "
        "ModuleNotFoundError: No module named 'a_dependency_nobody_installed'"
    )


def test_time_limit_stops_the_function(pyfuncs: Repo, cli: Cli, workdir: Path) -> None:
    """A function running past --timeout is stopped: exit 124, recorded as timed out."""
    result, data = run(cli, workdir, "nap", "--timeout", "1")
    assert result.code == 124
    assert data["status"] == "timed_out" and "1 s" in data["error"]
    assert "going to sleep" in data["stderr"], "output before the kill is kept"
    assert json.loads(cli("runs", "list", "--json").out)[0]["status"] == "timed_out"


def test_invalid_inputs_are_refused_before_anything_starts(
    pyfuncs: Repo, cli: Cli, workdir: Path
) -> None:
    """Inputs that break the JSON Schema: exit 2, nothing runs and nothing is recorded."""
    wrong = cli("run", "pyfuncs.add", "-i", "a=two", "-i", "b=1", "--workdir", str(workdir))
    assert wrong.code == 2 and "input 'a'" in wrong.err and "integer" in wrong.err
    negative = cli("run", "pyfuncs.evens", "--inputs", '{"upto": -1}', "--workdir", str(workdir))
    assert negative.code == 2 and "minimum" in negative.err
    assert json.loads(cli("runs", "list", "--json").out) == []


@pytest.mark.skipif(bwrap_problem() is not None, reason=str(bwrap_problem()))
def test_sandbox_stops_writes_outside_the_workspace(
    pyfuncs: Repo, cli: Cli, workdir: Path, tmp_path: Path
) -> None:
    """The sandbox is on by default: a file outside the workspace, shared because an input
    names it, is read-only to the function, and a new file next to it never reaches the host."""
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "precious.txt"
    target.write_text("original")
    result, data = run(cli, workdir, "clobber", "-i", f"target={target}")
    assert result.code == 1
    assert data["status"] == "failed"
    assert data["error"].startswith("OSError: [Errno 30] Read-only file system"), data["error"]
    assert target.read_text() == "original"
    assert not (outside / "new-file.txt").exists(), "a write escaped the sandbox"
