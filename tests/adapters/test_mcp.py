"""The mcp adapter against a real MCP server built with the `mcp` SDK, run by Mark-1 over
stdio inside the sandbox: its tools become capabilities at install, calls return structured
results, progress notifications arrive as progress events, and tool errors fail the run."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, Repo

Cli = Callable[..., CliResult]

MANIFEST = """\
schema_version: "1.0"
plugin: {name: calc, description: A calculator MCP server}
capabilities:
  - name: tools
    description: every tool the server offers
entry_points:
  - {capability: tools, type: mcp, command: python server.py, tool: "*"}
dependencies:
  packages: ["mcp>=2,<3"]
"""

SERVER = '''\
from mcp.server.mcpserver import Context, MCPServer

app = MCPServer("calc")


@app.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@app.tool()
async def count_to(n: int, ctx: Context) -> str:
    """Count to n, reporting progress."""
    for i in range(1, n + 1):
        await ctx.report_progress(i, n, f"at {i}")
    return f"counted to {n}"


@app.tool()
def fail(reason: str) -> str:
    """Always fails."""
    raise ValueError(reason)


@app.tool()
def write_outside() -> str:
    """Tries to write into the home folder."""
    import os
    open(os.path.expanduser("~/pwned.txt"), "w").write("x")
    return "wrote"


if __name__ == "__main__":
    app.run()
'''


@pytest.fixture(scope="module")
def calc_repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    from tests.conftest import git

    path = tmp_path_factory.mktemp("mcp") / "calc"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    repo = Repo(path)
    repo.commit({"mark1.plugin.yml": MANIFEST, "server.py": SERVER}, "calc")
    return repo


@pytest.fixture
def calc(calc_repo: Repo, cli: Cli) -> None:
    result = cli("plugin", "install", str(calc_repo.path), "--json")
    assert result.code == 0, result.err
    assert set(json.loads(result.out)["capabilities"]) == {
        "add",
        "count_to",
        "fail",
        "write_outside",
    }


def test_tools_become_capabilities_with_their_schemas(calc: None, cli: Cli) -> None:
    shown = json.loads(cli("capabilities", "show", "calc.add", "--json").out)
    assert shown["description"] == "Add two whole numbers."
    assert shown["parameters"]["properties"]["a"]["type"] == "integer"
    assert set(shown["parameters"]["required"]) == {"a", "b"}


def test_call_returns_the_structured_result(calc: None, cli: Cli) -> None:
    result = cli("run", "calc.add", "-i", "a=2", "-i", "b=40", "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["outputs"] == {"result": 42}
    if Path("/sys/fs/cgroup/cpuacct").is_dir() and os.geteuid() == 0:
        assert data["metrics"]["cpu_s"] >= 0 and data["metrics"]["peak_memory_bytes"] > 0


def test_progress_notifications_become_progress(calc: None, cli: Cli) -> None:
    result = cli("run", "calc.count_to", "-i", "n=3")
    assert result.code == 0, result.err
    assert "[ 33%] at 1" in result.err and "[100%] at 3" in result.err


def test_a_tool_error_fails_the_run(calc: None, cli: Cli) -> None:
    result = cli("run", "calc.fail", "-i", "reason=disk on fire", "--json")
    assert result.code == 1
    data = json.loads(result.out)
    assert data["status"] == "failed"
    assert data["error"].startswith("the tool reported an error: Error executing tool fail")


def test_the_server_runs_in_the_sandbox(
    calc: None, cli: Cli, tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"  # type: ignore[operator]
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    result = cli("run", "calc.write_outside", "--json")
    assert json.loads(result.out)["outputs"] == {"result": "wrote"}, "it believes it wrote"
    assert not (home / "pwned.txt").exists(), "but the write stayed in the sandbox's tmpfs"


def test_import_a_claude_style_config(cli: Cli, tmp_path: pytest.TempPathFactory) -> None:
    """Each stdio server becomes a plugin of its tools; others are reported, not fatal."""
    import sys
    from pathlib import Path

    folder = Path(str(tmp_path))
    server = folder / "servers" / "calc.py"
    server.parent.mkdir()
    server.write_text(SERVER)
    config = folder / "claude_desktop_config.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "Calc Server": {
                        "command": sys.executable,
                        "args": [str(server)],
                        "env": {"CALC_TOKEN": "do-not-store-me"},
                    },
                    "remote": {"url": "https://example.invalid/mcp"},
                    "broken": {"command": sys.executable, "args": ["-c", "raise SystemExit(3)"]},
                }
            }
        )
    )
    result = cli("plugin", "import-mcp", str(config), "--json")
    assert result.code == 0, result.err
    outcomes = {o["server"]: o for o in json.loads(result.out)}
    assert set(outcomes["calc-server"]["plugin"]["capabilities"]) >= {"add", "count_to"}
    assert outcomes["calc-server"]["note"] == "reads CALC_TOKEN from the environment"
    assert "only stdio servers" in outcomes["remote"]["note"]
    assert outcomes["broken"]["plugin"] is None and "did not start" in outcomes["broken"]["note"]
    assert (
        "do-not-store-me"
        not in Path(
            outcomes["calc-server"]["plugin"]["source_path"], "mark1.plugin.yml"
        ).read_text()
    )
    run = cli("run", "calc-server.add", "-i", "a=1", "-i", "b=2", "--json")
    assert json.loads(run.out)["outputs"] == {"result": 3}


NODE_MANIFEST = """\
schema_version: "1.0"
plugin: {name: nodecalc}
capabilities: [{name: tools}]
entry_points:
  - {capability: tools, type: mcp, command: node server.mjs, tool: "*"}
"""

NODE_PACKAGE = """\
{"name": "nodecalc", "version": "1.0.0", "private": true, "type": "module",
 "dependencies": {"@modelcontextprotocol/sdk": "^1", "zod": "^3"}}
"""

NODE_SERVER = """\
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "nodecalc", version: "1.0.0" });
server.tool("multiply", "Multiply two numbers", { a: z.number(), b: z.number() },
  async ({ a, b }) => ({ content: [{ type: "text", text: JSON.stringify({ product: a * b }) }] }));
await server.connect(new StdioServerTransport());
"""


@pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="Node.js and npm are needed for a Node MCP server",
)
def test_a_node_mcp_server(make_repo: Callable[..., Repo], cli: Cli) -> None:
    """A server written with the official TypeScript SDK (npm), installed into the plugin."""
    repo = make_repo(
        "nodecalc",
        {
            "mark1.plugin.yml": NODE_MANIFEST,
            "package.json": NODE_PACKAGE,
            "server.mjs": NODE_SERVER,
        },
    )
    installed = cli("plugin", "install", str(repo.path), "--json")
    assert installed.code == 0, installed.err
    assert json.loads(installed.out)["capabilities"] == ["multiply"]
    result = cli("run", "nodecalc.multiply", "-i", "a=6", "-i", "b=7", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["outputs"] == {"product": 42}
