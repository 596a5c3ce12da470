"""Validating installed plugins before they are called "ready": real plugins installed from
real repositories, each capability probed in the sandbox (help, import, MCP tools, HTTP
health), with the precise reason and next step for what does not start."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters import mcp_client
from assistant import paths
from assistant.config import load_settings
from assistant.plugins import registry
from assistant.plugins.registry import PluginRecord
from assistant.plugins.validation import CapabilityCheck, ValidationReport, validate_plugin
from memory.store import Store
from tests.adapters.test_http import SERVER as HTTP_SERVER
from tests.adapters.test_mcp import SERVER as MCP_SERVER
from tests.conftest import CliResult, Repo
from tests.plugins.analysis.conftest import write_tree

Cli = Callable[..., CliResult]

TOOL = """\
import argparse
parser = argparse.ArgumentParser(prog="tool.py")
parser.add_argument("--name", help="who to greet")
print("hello", parser.parse_args().name)
"""

TOOL_HELP = """\
usage: tool.py [-h] [--name NAME]

options:
  -h, --help   show this help message and exit
  --name NAME  who to greet
"""


def manifest(name: str, *entries: str) -> str:
    """A manifest with one capability per entry point (``"cap: {type: cli, ...}"``)."""
    caps = "\n".join(f"  - name: {e.split(':')[0]}" for e in entries)
    points = "\n".join(
        f"  - {{capability: {e.split(':', 1)[0]}, {e.split(':', 1)[1]}}}" for e in entries
    )
    return f'schema_version: "1.0"\nplugin: {{name: {name}}}\ncapabilities:\n{caps}\nentry_points:\n{points}\n'


async def install(cli: Cli, repo: Repo, code: int = 0) -> PluginRecord:
    """Install ``repo``; ``code`` 1 for a plugin expected to end "failed" (still registered)."""
    result = cli("plugin", "install", str(repo.path), "--json")
    assert result.code == code, result.err
    async with Store.open(paths.db_path()) as store:
        return await registry.require_plugin(store, json.loads(result.out)["name"])


async def validate(record: PluginRecord, **settings: object) -> tuple[ValidationReport, list[str]]:
    """The report with every check's duration zeroed (they vary), and the progress lines."""
    said: list[str] = []
    report = await validate_plugin(record, load_settings(**settings), said.append)
    checks = tuple(dataclasses.replace(c, seconds=0.0) for c in report.checks)
    return dataclasses.replace(report, checks=checks), said


def leftovers(record: PluginRecord) -> list[str]:
    """What validation left in the version folder (its scratch folders must be gone)."""
    return sorted(p.name for p in record.path.iterdir() if p.name.startswith("validate-"))


async def test_a_cli_whose_help_works_is_ready(make_repo: Callable[..., Repo], cli: Cli) -> None:
    repo = make_repo(
        "greet",
        {
            "mark1.plugin.yml": manifest("greet", "hello: type: cli, command: python tool.py"),
            "tool.py": TOOL,
        },
    )
    record = await install(cli, repo)
    report, said = await validate(record)
    assert report == ValidationReport(
        "greet", (CapabilityCheck("hello", "ok", help_text=TOOL_HELP),)
    )
    assert report.status == "ready"
    assert said == ["checking greet.hello (cli)"]
    assert report.to_dict() == {
        "plugin": "greet",
        "status": "ready",
        "checks": [
            {
                "name": "hello",
                "ok": True,
                "status": "ok",
                "reason": "",
                "next_step": "",
                "help_text": TOOL_HELP,
                "seconds": 0.0,
            }
        ],
    }
    assert leftovers(record) == []


async def test_help_on_stderr_with_a_non_zero_exit_is_still_help(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    """Some tools print their usage on stderr (after a banner on stdout) and exit 1 or 2
    when asked for --help."""
    script = "#!/bin/sh\necho 'legacy 1.0'\necho 'Usage: legacy [-v] FILE' >&2\nexit 2\n"
    repo = make_repo(
        "legacy",
        {
            "mark1.plugin.yml": manifest("legacy", "run: type: cli, command: bin/legacy"),
            "bin/legacy": script,
        },
        executable=("bin/legacy",),
    )
    report, _ = await validate(await install(cli, repo))
    assert report.checks == (
        CapabilityCheck(
            "run",
            "ok",
            reason="`bin/legacy --help` exited 2 but printed its usage",
            help_text="Usage: legacy [-v] FILE\n",
        ),
    )
    assert report.status == "ready"


async def test_one_broken_capability_makes_the_plugin_degraded(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    repo = make_repo(
        "half",
        {
            "mark1.plugin.yml": manifest(
                "half",
                "hello: type: cli, command: python tool.py",
                "plot: type: cli, command: python plot.py",
            ),
            "tool.py": TOOL,
            "plot.py": "import plotlib_not_installed\n",
        },
    )
    record = await install(cli, repo)
    report, said = await validate(record)
    traceback_end = "ModuleNotFoundError: No module named 'plotlib_not_installed'"
    assert report.checks[1] == CapabilityCheck(
        "plot",
        "failed",
        reason=f"`python plot.py --help` exited with status 1: {traceback_end}",
        next_step="declare the package that provides 'plotlib_not_installed' in the plugin's "
        "dependencies (requirements.txt, pyproject.toml or dependencies.packages in "
        "mark1.plugin.yml), then reinstall",
    )
    assert [c.status for c in report.checks] == ["ok", "failed"]
    assert report.status == "degraded"
    assert said == ["checking half.hello (cli)", "checking half.plot (cli)"]


async def test_a_script_that_lost_its_executable_bit(tmp_path: Path, cli: Cli) -> None:
    """A linked plugin's files change after install; confined (bwrap reports the exec error)
    or not (the process cannot be started at all), the next step is the same."""
    folder = write_tree(
        tmp_path / "dev",
        {
            "mark1.plugin.yml": manifest("dev", "go: type: cli, command: bin/go"),
            "bin/go*": "#!/bin/sh\n",
        },
    )
    assert cli("plugin", "link", str(folder)).code == 0
    async with Store.open(paths.db_path()) as store:
        record = await registry.require_plugin(store, "dev")
    (folder / "bin" / "go").chmod(0o644)
    confined, _ = await validate(record)
    unconfined, _ = await validate(record, sandbox={"enabled": False})
    step = "the program is not executable: `chmod +x` it and commit the change"
    assert confined.checks == (
        CapabilityCheck(
            "go",
            "failed",
            reason=f"`bin/go --help` exited with status 1: bwrap: execvp {folder}/bin/go: Permission denied",
            next_step=step,
        ),
    )
    assert unconfined.checks == (
        CapabilityCheck(
            "go", "failed", reason="`bin/go --help` cannot start: Permission denied", next_step=step
        ),
    )


BROKEN_PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "broken-tool"
version = "0.1.0"

[tool.setuptools]
py-modules = ["lib"]
"""


async def test_all_capabilities_broken_fails_with_a_reason_each(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    """A wrapper calling a console script the project does not declare (exit 127), and a
    function that is not in its module."""
    repo = make_repo(
        "broken",
        {
            "mark1.plugin.yml": manifest(
                "broken",
                "launch: type: cli, command: sh run.sh",
                "shout: type: python_function, module: lib, function: shout",
            ),
            "pyproject.toml": BROKEN_PYPROJECT,
            "run.sh": 'exec broken-tool "$@"\n',
            "lib.py": "def whisper(text):\n    return text.lower()\n",
        },
    )
    record = await install(cli, repo, code=1)
    report, _ = await validate(record)
    not_found = f"{record.source_path}/run.sh: 1: exec: broken-tool: not found"
    assert report.checks == (
        CapabilityCheck(
            "launch",
            "failed",
            reason=f"`sh run.sh --help` exited with status 127: {not_found}",
            next_step="the console script was not installed: check [project.scripts] in "
            "pyproject.toml",
        ),
        CapabilityCheck(
            "shout",
            "failed",
            reason="lib.shout: module 'lib' has no attribute 'shout'",
            next_step="fix `module:` and `function:` in mark1.plugin.yml (a dotted module path "
            "from the repository's root, and a function in that module)",
        ),
    )
    assert report.status == "failed"
    assert report.to_dict()["status"] == "failed"


LIB = """\
def shout(text: str) -> str:
    return text.upper()

LIMIT = 3
"""


async def test_python_functions_are_imported_in_the_plugin_environment(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    repo = make_repo(
        "textlib",
        {
            "mark1.plugin.yml": manifest(
                "textlib",
                "shout: type: python_function, module: textlib, function: shout",
                "limit: type: python_function, module: textlib, function: LIMIT",
                "nomod: type: python_function, module: textlib_missing, function: run",
            ),
            "textlib.py": LIB,
            "textlib_missing.py": "import numpy_is_not_here\n",
        },
    )
    report, said = await validate(await install(cli, repo))
    assert report.checks == (
        CapabilityCheck("shout", "ok"),
        CapabilityCheck(
            "limit",
            "failed",
            reason="textlib.LIMIT: textlib.LIMIT is a int, which cannot be called",
            next_step="fix `module:` and `function:` in mark1.plugin.yml (a dotted module path "
            "from the repository's root, and a function in that module)",
        ),
        CapabilityCheck(
            "nomod",
            "failed",
            reason="textlib_missing.run: cannot import module 'textlib_missing': "
            "ModuleNotFoundError: No module named 'numpy_is_not_here'",
            next_step="declare the package that provides 'numpy_is_not_here' in the plugin's "
            "dependencies (requirements.txt, pyproject.toml or dependencies.packages in "
            "mark1.plugin.yml), then reinstall",
        ),
    )
    assert report.status == "degraded"
    assert said[0] == "checking textlib.shout (python_function)"


MCP_MANIFEST = """\
schema_version: "1.0"
plugin: {name: calc}
capabilities:
  - name: add
  - name: subtract
entry_points:
  - {capability: add, type: mcp, command: python server.py, tool: add}
  - {capability: subtract, type: mcp, command: python server.py, tool: subtract}
dependencies:
  packages: ["mcp>=2,<3"]
"""


async def test_mcp_tools_are_listed_once_and_must_exist(
    make_repo: Callable[..., Repo], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two capabilities of one server: the real server is asked once (counted by a wrapper
    around the real list_tools), and a tool it lacks fails its capability."""
    repo = make_repo("calc", {"mark1.plugin.yml": MCP_MANIFEST, "server.py": MCP_SERVER})
    record = await install(cli, repo)
    asked: list[object] = []

    async def counted(*args: Any, **kwargs: Any) -> Any:
        asked.append(args)
        return await real_list_tools(*args, **kwargs)

    real_list_tools = mcp_client.list_tools
    monkeypatch.setattr(mcp_client, "list_tools", counted)
    report, _ = await validate(record)
    assert len(asked) == 1
    assert report.checks == (
        CapabilityCheck("add", "ok"),
        CapabilityCheck(
            "subtract",
            "failed",
            reason="the MCP server has no tool 'subtract' (it offers: add, count_to, fail, "
            "write_outside)",
            next_step="fix `tool:` in mark1.plugin.yml",
        ),
    )
    assert report.status == "degraded"


async def test_an_mcp_server_that_does_not_start(make_repo: Callable[..., Repo], cli: Cli) -> None:
    crash = "import sys\nprint('no config file', file=sys.stderr)\nsys.exit(3)\n"
    repo = make_repo(
        "deadmcp",
        {
            "mark1.plugin.yml": manifest(
                "deadmcp", "ask: type: mcp, command: python server.py, tool: ask"
            ),
            "server.py": crash,
        },
    )
    report, _ = await validate(await install(cli, repo, code=1))
    (check,) = report.checks
    assert (check.name, check.status) == ("ask", "failed")
    assert check.reason.startswith("the MCP server of deadmcp did not start: ")
    assert check.reason.endswith(": no config file")
    assert check.next_step.startswith("run the server's command in the plugin's folder")
    assert report.status == "failed"


HTTP_MANIFEST = """\
schema_version: "1.0"
plugin: {name: wordsvc}
capabilities:
  - name: count
  - name: echo
entry_points:
  - capability: count
    type: http
    command: python server.py --port {port}
    url: http://127.0.0.1:{port}/count
    health: /health
  - capability: echo
    type: http
    command: python server.py --port {port}
    url: http://127.0.0.1:{port}/echo
    health: /health
"""


async def test_an_http_service_starts_answers_its_health_url_and_is_stopped(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    repo = make_repo("wordsvc", {"mark1.plugin.yml": HTTP_MANIFEST, "server.py": HTTP_SERVER})
    record = await install(cli, repo)
    report, _ = await validate(record)
    assert report.checks == (CapabilityCheck("count", "ok"), CapabilityCheck("echo", "ok"))
    assert report.status == "ready"
    assert leftovers(record) == [], "the service was stopped and its scratch folder removed"


async def test_an_http_service_that_dies_is_explained(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    crash = "import sys\nprint('cannot open the database', file=sys.stderr)\nsys.exit(2)\n"
    repo = make_repo(
        "crashsvc",
        {"mark1.plugin.yml": HTTP_MANIFEST.replace("wordsvc", "crashsvc"), "server.py": crash},
    )
    record = await install(cli, repo, code=1)
    report, _ = await validate(record)
    step = (
        f"run `python server.py --port '{{port}}'` in {record.source_path} to see why; it must "
        "listen on the port Mark-1 gives it ({port} in the command, or $PORT)"
    )
    failed = CapabilityCheck(
        "count",
        "failed",
        reason="the service exited with status 2 before it was ready: cannot open the database",
        next_step=step,
    )
    assert report.checks == (failed, dataclasses.replace(failed, name="echo"))
    assert report.status == "failed"


async def test_what_needs_an_engine_a_remote_or_credentials_is_not_checked(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    repo = make_repo(
        "elsewhere",
        {
            "mark1.plugin.yml": manifest(
                "elsewhere",
                "api: type: http, url: 'https://api.example.invalid/v1/ask'",
                "box: type: container, image: 'alpine:3'",
                "far: type: ssh, host: gpu-box, command: nvidia-smi",
            )
        },
    )
    report, _ = await validate(await install(cli, repo))
    assert report.checks == (
        CapabilityCheck(
            "api",
            "skipped",
            reason="not checked: https://api.example.invalid/v1/ask is a remote API (Mark-1 "
            "calls it only when you run it)",
        ),
        CapabilityCheck(
            "box", "skipped", reason="not checked: it needs the container engine and alpine:3"
        ),
        CapabilityCheck(
            "far", "skipped", reason="not checked: it runs on the remote host 'gpu-box'"
        ),
    )
    assert report.status == "ready"
    assert all(check.ok for check in report.checks)


ASK = "name = input('your name? ')\nprint('hello', name)\n"
WAIT = "import time\ntime.sleep(600)\n"


async def test_commands_waiting_for_input_do_not_hang_validation(tmp_path: Path, cli: Cli) -> None:
    """stdin is closed: a prompt reads end-of-file at once; a command that ignores --help and
    keeps going is stopped at the time limit (min(install.build_timeout, 5) s, here 2 s) and
    counts as started, not broken. The waiting script is written after linking, so that
    linking (which validates too) is quick."""
    folder = write_tree(
        tmp_path / "prompts",
        {
            "mark1.plugin.yml": manifest(
                "prompts",
                "ask: type: cli, command: python ask.py",
                "wait: type: cli, command: python wait.py",
            ),
            "ask.py": ASK,
            "wait.py": "print('usage: wait.py')\n",
        },
    )
    assert cli("plugin", "link", str(folder)).code == 0
    (folder / "wait.py").write_text(WAIT)
    async with Store.open(paths.db_path()) as store:
        record = await registry.require_plugin(store, "prompts")
    report, _ = await validate(record, install={"build_timeout": 2})
    ask, wait = report.checks
    assert ask == CapabilityCheck(
        "ask",
        "failed",
        reason="`python ask.py --help` exited with status 1: EOFError: EOF when reading a line",
        next_step=f"run `python ask.py --help` in {folder} to see the whole error",
    )
    assert wait == replace(
        CapabilityCheck(
            "wait",
            "ok",
            reason="`python wait.py --help` was still running after 2 s without an error: it "
            "started, but does not answer --help (stopped)",
        ),
        seconds=wait.seconds,
    )
    assert report.status == "degraded"


def test_reports_list_every_check() -> None:
    """The verdict counts skipped checks as ok; only failures degrade a plugin."""
    ok, skipped = CapabilityCheck("a", "ok"), CapabilityCheck("b", "skipped", reason="why")
    failed = CapabilityCheck("c", "failed", reason="broken", next_step="fix it")
    assert ValidationReport("p", (ok, skipped)).status == "ready"
    assert ValidationReport("p", (ok, skipped, failed)).status == "degraded"
    assert ValidationReport("p", (failed,)).status == "failed"
    assert [skipped.ok, failed.ok] == [True, False]
