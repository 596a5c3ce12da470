"""The ``mcp`` adapter: a capability is a tool of a Model Context Protocol server the plugin
runs over stdio.

One long-lived session per server and adapter session: the server is started (confined like
any run: bwrap, limits, cgroups, through ``confined_command``) on first use, reused for every
call, and stopped when the adapter session ends. Progress notifications become Progress
events; a tool's structured result (or its text, parsed as JSON when it is JSON) becomes the
outputs. ``list_tools`` serves the installer, which turns a server's tools into capabilities.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any, TextIO

from adapters.base import AdapterBase, CapabilitySpec, Notice, PluginResult, Progress, RunContext
from adapters.cgroups import RunCgroups
from adapters.guard import guard
from adapters.sandbox import confined_command
from adapters.subprocess_cli import plugin_environment, resolve_command

START_TIMEOUT = 60.0
# What a failing server or dropped pipe raises through the SDK (its own error type, whatever
# its name in this SDK version, is an Exception subclass caught by the McpError fallback).
SESSION_ERRORS: tuple[type[BaseException], ...] = (OSError, RuntimeError, ValueError)
try:
    import anyio as _anyio
    from mcp.shared.exceptions import MCPError as _MCPError

    SESSION_ERRORS = (
        *SESSION_ERRORS,
        _MCPError,
        _anyio.ClosedResourceError,
        _anyio.BrokenResourceError,
        _anyio.EndOfStream,
    )
except ImportError:  # the optional SDK is absent: open_session reports it
    pass
MISSING_SDK = "the MCP client is not installed: pip install 'mark1[mcp]'"


class McpUnavailable(Exception):
    """The server could not be started or spoken to; the message says why."""


class _Session:
    def __init__(self, session: Any, stack: contextlib.AsyncExitStack, cgroups: RunCgroups | None):
        self.session = session
        self.stack = stack
        self.cgroups = cgroups

    async def close(self) -> None:
        try:
            await self.stack.aclose()
        finally:
            if self.cgroups is not None:
                self.cgroups.close()


class McpAdapter(AdapterBase):
    """Calls MCP tools; keeps one server session per plugin while the adapter is open."""

    def __init__(self) -> None:
        self.sessions: dict[str, _Session] = {}

    async def aclose(self) -> None:
        for session in self.sessions.values():
            with contextlib.suppress(*SESSION_ERRORS):  # a dead server must not hide the outcome
                await session.close()
        self.sessions.clear()

    async def execute(
        self, spec: CapabilitySpec, inputs: dict[str, Any], context: RunContext
    ) -> PluginResult:
        started = time.monotonic()
        tool = spec.entry["tool"]
        command = ["mcp", spec.plugin, tool]
        try:
            session = await self._session(spec, context)
        except McpUnavailable as exc:
            return PluginResult("failed", command=command, error=str(exc))

        async def progress(done: float, total: float | None, message: str | None) -> None:
            percent = 100.0 * done / total if total else done
            context.emit(Progress(min(percent, 100.0), message or ""))

        before = session.cgroups.usage() if session.cgroups else {}
        try:
            reply = await asyncio.wait_for(
                session.session.call_tool(tool, inputs, progress_callback=progress),
                context.timeout,
            )
        except TimeoutError:
            return PluginResult(
                "timed_out",
                command=command,
                error=f"no answer within the {context.timeout:g} s time limit",
            )
        except SESSION_ERRORS as exc:
            return PluginResult("failed", command=command, error=f"MCP call failed: {exc!r}")
        text = "\n".join(c.text for c in reply.content if getattr(c, "type", "") == "text")
        result = PluginResult(
            "succeeded",
            command=command,
            stdout=text,
            metrics={
                "duration_s": round(time.monotonic() - started, 4),
                **(session.cgroups.since(before) if session.cgroups else {}),
            },
        )
        if reply.is_error:
            result.status = "failed"
            result.error = f"the tool reported an error: {text.strip()[:300]}"
            return result
        result.outputs = _outputs(reply.structured_content, text)
        return result

    async def _session(self, spec: CapabilitySpec, context: RunContext) -> _Session:
        known = self.sessions.get(spec.plugin)
        if known is not None:
            return known
        session = await open_session(spec, context)
        self.sessions[spec.plugin] = session
        return session


async def open_session(spec: CapabilitySpec, context: RunContext) -> _Session:
    """Start the plugin's MCP server (confined) and initialise a client session with it."""
    try:
        from mcp import ClientSession, StdioServerParameters
        from mcp.client.stdio import stdio_client
    except ImportError as exc:
        raise McpUnavailable(MISSING_SDK) from exc
    env = plugin_environment(spec, context)
    argv = resolve_command(list(spec.entry["command"]), spec.source_dir, env["PATH"])
    command, cgroups = confined_command(argv, context.sandbox, env)
    log = _server_log(context.workdir)
    params = StdioServerParameters(  # the guard's mark: the server dies with Mark-1
        command=command[0],
        args=command[1:],
        env={**env, **guard().environment()},
        cwd=str(context.workdir),
    )
    stack = contextlib.AsyncExitStack()
    stack.callback(log.close)
    try:
        read, write = await stack.enter_async_context(stdio_client(params, errlog=log))
        session = await stack.enter_async_context(ClientSession(read, write))
        await asyncio.wait_for(session.initialize(), min(START_TIMEOUT, context.timeout))
    except BaseException as exc:
        with contextlib.suppress(*SESSION_ERRORS):
            await stack.aclose()
        if cgroups is not None:
            cgroups.close()
        if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
            raise
        tail = _tail(context.workdir)
        raise McpUnavailable(
            f"the MCP server of {spec.plugin} did not start: {exc!r}"
            + (f": {tail}" if tail else "")
        ) from exc
    context.emit(Notice(f"started {spec.plugin}'s MCP server"))
    return _Session(session, stack, cgroups)


async def list_tools(spec: CapabilitySpec, context: RunContext) -> list[dict[str, Any]]:
    """The server's tools as plain data: name, description, input schema."""
    session = await open_session(spec, context)
    try:
        listed = await asyncio.wait_for(session.session.list_tools(), START_TIMEOUT)
    finally:
        await session.close()
    return [
        {"name": t.name, "description": t.description or "", "input_schema": t.input_schema}
        for t in listed.tools
    ]


def _outputs(structured: Any, text: str) -> dict[str, Any]:
    if isinstance(structured, dict):
        return structured
    if structured is not None:
        return {"result": structured}
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return {"text": text}
    return value if isinstance(value, dict) else {"result": value}


def _server_log(workdir: Path) -> TextIO:
    folder = workdir / ".mark1"
    folder.mkdir(parents=True, exist_ok=True)
    return open(folder / "mcp-server.log", "a", encoding="utf-8")  # noqa: SIM115 - closed by the stack


def _tail(workdir: Path) -> str:
    try:
        lines = (workdir / ".mark1" / "mcp-server.log").read_text(errors="replace").strip()
    except OSError:
        return ""
    return lines.splitlines()[-1] if lines else ""
