"""MCP tool call round trip through the mcp adapter, beside the SDK's own client.

Why: an MCP server is started once per session and then every call is one JSON-RPC round trip;
what Mark-1 adds per call (input checks, events, result conversion) should be small next to
the protocol itself. Both sides call the same `add` tool of the same server (a real `mcp` SDK
server over stdio): the baseline with the bare SDK client, ours through ``McpAdapter`` with the
server confined in bwrap. Warm calls only (after 5 warm-up), median of 100.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.base import CapabilitySpec, RunContext  # noqa: E402
from adapters.mcp_client import McpAdapter  # noqa: E402
from adapters.sandbox import SandboxPolicy  # noqa: E402

SERVER = """\
from mcp.server.mcpserver import MCPServer
app = MCPServer("bench")

@app.tool()
def add(a: int, b: int) -> int:
    return a + b

app.run()
"""
CALLS = 100


async def sdk_calls(server: Path) -> list[float]:
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=[str(server)])
    times = []
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        for i in range(CALLS + 5):
            start = time.perf_counter()
            await session.call_tool("add", {"a": i, "b": 1})
            if i >= 5:
                times.append((time.perf_counter() - start) * 1000)
    return times


async def adapter_calls(server: Path, work: Path) -> list[float]:
    spec = CapabilitySpec(
        plugin="bench",
        name="add",
        source_dir=server.parent,
        entry={"type": "mcp", "command": [sys.executable, str(server)], "tool": "add"},
    )
    policy = SandboxPolicy(
        workdir=work,
        hidden=(Path.home(),),
        read_only=(Path(sys.base_prefix), Path(sys.prefix), server.parent),
    )
    context = RunContext(workdir=work, timeout=60, sandbox=policy)
    times = []
    async with McpAdapter() as adapter:
        for i in range(CALLS + 5):
            start = time.perf_counter()
            result = await adapter.execute(spec, {"a": i, "b": 1}, context)
            assert result.ok, result.error
            if i >= 5:
                times.append((time.perf_counter() - start) * 1000)
    return times


async def main_async() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = Path(tmp) / "server" / "server.py"
        server.parent.mkdir()
        server.write_text(SERVER)
        work = Path(tmp) / "work"
        work.mkdir()
        rows = {
            "mcp SDK client, unconfined": await sdk_calls(server),
            "McpAdapter, server in bwrap": await adapter_calls(server, work),
        }
    print(f"MCP tool call round trip (warm, median of {CALLS})")
    print(f"{'client':<30} {'median ms':>10} {'min ms':>8}")
    for name, values in rows.items():
        print(f"{name:<30} {statistics.median(values):>10.2f} {min(values):>8.2f}")
    base, ours = (statistics.median(v) for v in rows.values())
    print(f"Mark-1 adds {ours - base:+.2f} ms per call over the bare SDK")


def main() -> None:
    asyncio.run(main_async())


if __name__ == "__main__":
    main()
