"""Checking that an installed plugin's capabilities can start, before it is called "ready".

A capability is poked in the cheapest way that proves it starts, never called for real (that
would need inputs and could have side effects): a command prints its ``--help``, a Python
function can be imported, an MCP server lists its tools, an HTTP service answers its health
URL. Every probe is confined like a real run (sandbox, limits, stdin closed) in a scratch
folder inside the version's folder, with a short time limit, so a plugin that waits for input
or starts a server cannot hang the install. Entry points that need something absent at
install (a container engine, a remote host, a remote API's credentials) are "not checked".
"""

from __future__ import annotations

import asyncio
import re
import shlex
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from adapters.base import CapabilitySpec, RunContext
from adapters.http_service import HttpAdapter, ServiceFailed
from adapters.process import ProcessOutcome
from adapters.python_function import interpreter
from adapters.sandbox import run_confined
from adapters.subprocess_cli import ended, last_line, plugin_environment, resolve_command
from assistant.config import Settings
from assistant.plugins.manifest import Capability, EntryPoint
from assistant.plugins.plugin_env import variable_value
from assistant.plugins.registry import PluginVersion
from assistant.security.policy import policy_for

CheckStatus = Literal["ok", "failed", "skipped"]
PluginStatus = Literal["ready", "degraded", "failed"]
Progress = Callable[[str], None]

CHECK_TIMEOUT = 30.0  # seconds; a probe only has to start, and install must not hang
# A program that ignores --help and starts working (or serving) is not broken: after this
# long without an error it counts as started, and is stopped.
HELP_WINDOW = 5.0
HELP_TEXT_LIMIT = 16_000  # characters of help kept for the caller to parse
HELP_OUTPUT_LIMIT = 1024 * 1024  # bytes a --help may print before it is stopped
# Lines that only help text starts with: "usage: x", "Usage of x:", "Options:", "Commands:"
_USAGE = re.compile(
    r"^\s*(usage\b|(options|commands|arguments|positional arguments|flags)\s*:)",
    re.IGNORECASE | re.MULTILINE,
)
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")
_NOT_FOUND = re.compile(r"not found|execvp .*: No such file or directory")
_NOT_EXECUTABLE = re.compile(r"execvp .*: Permission denied")

CONSOLE_SCRIPT_STEP = (
    "the console script was not installed: check [project.scripts] in pyproject.toml"
)
MISSING_PROGRAM_STEP = (
    "a program it runs is missing: declare the package that provides it under dependencies in "
    "mark1.plugin.yml, or install it on this machine"
)
NOT_EXECUTABLE_STEP = "the program is not executable: `chmod +x` it and commit the change"
PYTHON_TARGET_STEP = (
    "fix `module:` and `function:` in mark1.plugin.yml (a dotted module path from the "
    "repository's root, and a function in that module)"
)
MCP_SERVER_STEP = (
    "run the server's command in the plugin's folder: it must speak MCP on stdin/stdout; fix "
    "the command in mark1.plugin.yml if it is wrong"
)

# Runs as ``python -c IMPORT_PROBE SOURCE MODULE FUNCTION MODE`` in the plugin's interpreter
# (any Python 3): imports the module as the python_function runner would and checks that the
# target can be called (an agent may also be a LangGraph graph or a CrewAI crew object).
IMPORT_PROBE = r"""
import sys
source, module, function, mode = sys.argv[1:5]
sys.path.insert(0, source)
try:
    __import__(module)
except BaseException as exc:
    sys.exit("cannot import module '%s': %s: %s" % (module, type(exc).__name__, exc))
target = sys.modules[module]
for part in function.split("."):
    if not hasattr(target, part):
        sys.exit("module '%s' has no attribute '%s'" % (module, function))
    target = getattr(target, part)
runnable = callable(target) or (
    mode == "agent" and (hasattr(target, "stream") or hasattr(target, "kickoff"))
)
if not runnable:
    sys.exit("%s.%s is a %s, which cannot be called" % (module, function, type(target).__name__))
"""


@dataclass(frozen=True)
class CapabilityCheck:
    """How one capability's probe went; ``reason`` and ``next_step`` are for the person, and
    ``help_text`` (what a command printed for ``--help`` when that worked) is for the caller
    to read the command's parameters from."""

    name: str
    status: CheckStatus
    reason: str = ""
    next_step: str = ""
    help_text: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """A skipped check counts as ok: nothing says the capability is broken."""
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, **asdict(self)}


@dataclass(frozen=True)
class ValidationReport:
    """Every capability's check, and the verdict on the plugin as a whole."""

    plugin: str
    checks: tuple[CapabilityCheck, ...]

    @property
    def status(self) -> PluginStatus:
        failed = sum(not check.ok for check in self.checks)
        if failed == 0:
            return "ready"
        return "failed" if failed == len(self.checks) else "degraded"

    def to_dict(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin,
            "status": self.status,
            "checks": [check.to_dict() for check in self.checks],
        }


async def validate_plugin(
    version: PluginVersion, settings: Settings, progress: Progress
) -> ValidationReport:
    """Probe every capability of ``version`` (confined, stdin closed, a short time limit).

    Capabilities are checked one after another: probes share an HTTP service and MCP servers'
    tool lists, and the progress messages stay in manifest order.
    """
    scratch = Path(tempfile.mkdtemp(prefix="validate-", dir=version.path))
    prober = _Prober(version, settings, scratch)
    checks = []
    try:
        for capability in version.manifest.capabilities:
            kind = capability.entry_point.type
            progress(f"checking {version.name}.{capability.name} ({kind})")
            checks.append(await prober.check(capability))
    finally:
        await prober.aclose()
        shutil.rmtree(scratch, ignore_errors=True)
    return ValidationReport(version.name, tuple(checks))


def declared_values(version: PluginVersion, capabilities: Iterable[Capability]) -> dict[str, str]:
    """The environment variables the manifest declares that have a value (``plugin_env``).

    Unlike a run, a missing required variable stops nothing: ``--help`` or a test suite
    rarely needs it, and when one does, its failure says so.
    """
    found = {}
    for var in [*version.manifest.env, *(each for cap in capabilities for each in cap.env)]:
        value = variable_value(version, var)
        if value is not None:
            found[var.name] = value
    return found


Probe = Callable[["_Prober", CapabilitySpec, RunContext], Awaitable[CapabilityCheck]]


class _Prober:
    """One validation: the scratch folder, the time limit and what probes share (one HTTP
    adapter session, and each MCP server's tool list, asked once for all its tools)."""

    def __init__(self, version: PluginVersion, settings: Settings, scratch: Path):
        self.version = version
        self.settings = settings
        self.scratch = scratch
        self.timeout = min(settings.install.build_timeout, CHECK_TIMEOUT)
        self.http_session = HttpAdapter()
        self.mcp_tools: dict[tuple[str, ...], list[str] | str] = {}

    async def aclose(self) -> None:
        await self.http_session.aclose()

    async def check(self, capability: Capability) -> CapabilityCheck:
        entry = capability.entry_point
        probe = _probe_for(entry)
        if probe is None:
            return CapabilityCheck(capability.name, "skipped", reason=_not_checked(entry))
        started = time.monotonic()
        context = self._context(capability)
        result = await probe(self, self.version.spec(capability), context)
        return replace(result, seconds=round(time.monotonic() - started, 3))

    def _context(self, capability: Capability) -> RunContext:
        workdir = self.scratch / capability.name
        workdir.mkdir()
        return RunContext(
            workdir=workdir,
            timeout=self.timeout,
            kill_grace=self.settings.run.kill_grace,
            env=declared_values(self.version, [capability]),
            sandbox=policy_for(self.version, capability, self.settings, workdir, {}),
            output_limit=HELP_OUTPUT_LIMIT,
        )

    async def check_help(self, spec: CapabilitySpec, context: RunContext) -> CapabilityCheck:
        """``COMMAND --help`` must exit 0, or at least print a usage text (some tools print
        it on stderr and exit 1 or 2)."""
        command = [*spec.entry["command"], "--help"]
        shown = shlex.join(command)
        env = plugin_environment(spec, context)
        argv = resolve_command(command, spec.source_dir, env["PATH"])
        context = replace(context, timeout=min(context.timeout, HELP_WINDOW))
        try:
            done = await run_confined(argv, env=env, context=context)
        except OSError as exc:
            return _cannot_start(spec, shown, exc)
        help_text = _help_text(done)
        if done.timed_out:
            note = (
                f"`{shown}` was still running after {context.timeout:g} s without an error: "
                "it started, but does not answer --help (stopped)"
            )
            return CapabilityCheck(spec.name, "ok", reason=note)
        stopped = _stopped_early(done, shown, context.timeout)
        if stopped is not None:
            return _failed(spec, *stopped)
        if done.exit_code == 0:
            return CapabilityCheck(spec.name, "ok", help_text=help_text)
        if _USAGE.search(help_text):
            note = f"`{shown}` exited {done.exit_code} but printed its usage"
            return CapabilityCheck(spec.name, "ok", reason=note, help_text=help_text)
        output = done.stderr or done.stdout
        reason = f"`{shown}` {ended(done.exit_code)}{last_line(output)}"
        return _failed(spec, reason, _next_step(output, done.exit_code, spec.source_dir, shown))

    async def check_import(self, spec: CapabilitySpec, context: RunContext) -> CapabilityCheck:
        """The module imports in the plugin's own interpreter and the function is callable."""
        module, function = spec.entry["module"], spec.entry["function"]
        env = plugin_environment(spec, context)
        mode = "agent" if spec.entry["type"] == "agent" else "function"
        python = interpreter(spec, env["PATH"])
        argv = [python, "-c", IMPORT_PROBE, str(spec.source_dir), module, function, mode]
        shown = f"import {module}"
        try:
            done = await run_confined(argv, env=env, context=context)
        except OSError as exc:
            reason = f"the plugin's Python {python} cannot start: {exc.strerror or exc}"
            return _failed(spec, reason, "reinstall the plugin to rebuild its environment")
        stopped = _stopped_early(done, shown, context.timeout)
        if stopped is not None:
            return _failed(spec, *stopped)
        if done.exit_code == 0:
            return CapabilityCheck(spec.name, "ok")
        reason = f"{module}.{function}{last_line(done.stderr)}"
        step = _next_step(done.stderr, done.exit_code, spec.source_dir, shown, PYTHON_TARGET_STEP)
        return _failed(spec, reason, step)

    async def check_mcp(self, spec: CapabilitySpec, context: RunContext) -> CapabilityCheck:
        """The server starts and lists its tools; a named tool must be among them."""
        server = tuple(spec.entry["command"])
        if server not in self.mcp_tools:
            self.mcp_tools[server] = await self._list_tools(spec, context)
        listed = self.mcp_tools[server]
        if isinstance(listed, str):
            return _failed(spec, listed, MCP_SERVER_STEP)
        tool = spec.entry["tool"]
        if tool != "*" and tool not in listed:
            offered = ", ".join(listed) or "none"
            reason = f"the MCP server has no tool '{tool}' (it offers: {offered})"
            return _failed(spec, reason, "fix `tool:` in mark1.plugin.yml")
        return CapabilityCheck(spec.name, "ok")

    async def _list_tools(self, spec: CapabilitySpec, context: RunContext) -> list[str] | str:
        """The names of the server's tools, or why it could not be asked."""
        # Imported here: the MCP SDK takes ~0.6 s to import, and most plugins need none.
        from adapters.mcp_client import McpUnavailable, list_tools

        try:
            tools = await asyncio.wait_for(list_tools(spec, context), self.timeout)
        except TimeoutError:
            return f"the MCP server did not list its tools within {self.timeout:g} s"
        except McpUnavailable as exc:
            return str(exc)
        return [tool["name"] for tool in tools]

    async def check_http(self, spec: CapabilitySpec, context: RunContext) -> CapabilityCheck:
        """The service starts (as the http adapter starts it) and its health URL answers;
        it is stopped when the validation ends."""
        shown = shlex.join(spec.entry["command"])
        try:
            await self.http_session.service_port(spec, context)
        except ServiceFailed as exc:
            step = f"run `{shown}` in {spec.source_dir} to see why; it must listen on the port "
            step += "Mark-1 gives it ({port} in the command, or $PORT)"
            return _failed(spec, str(exc), step)
        except OSError as exc:
            return _cannot_start(spec, shown, exc)
        return CapabilityCheck(spec.name, "ok")


def _probe_for(entry: EntryPoint) -> Probe | None:
    """How an entry point is checked here, or None when it cannot be (see ``_not_checked``)."""
    if entry.type == "cli" or (entry.type == "agent" and entry.command):
        return _Prober.check_help
    if entry.type in ("python_function", "agent"):
        return _Prober.check_import
    if entry.type == "mcp":
        return _Prober.check_mcp
    if entry.type == "http" and entry.command:
        return _Prober.check_http
    return None


def _not_checked(entry: EntryPoint) -> str:
    """Why an entry point is skipped: what checking it would need that install has not."""
    if entry.type == "http":
        return f"not checked: {entry.url} is a remote API (Mark-1 calls it only when you run it)"
    if entry.type == "container":
        image = entry.image or f"the image built from {entry.dockerfile}"
        return f"not checked: it needs the container engine and {image}"
    return f"not checked: it runs on the remote host '{entry.host}'"


def _failed(spec: CapabilitySpec, reason: str, next_step: str) -> CapabilityCheck:
    return CapabilityCheck(spec.name, "failed", reason=reason, next_step=next_step)


def _cannot_start(spec: CapabilitySpec, shown: str, exc: OSError) -> CapabilityCheck:
    """The program could not be executed at all (unconfined, so it is Popen that fails);
    explained as a shell would exit: 126 not executable, 127 not found."""
    shell_code = 126 if isinstance(exc, PermissionError) else 127
    reason = f"`{shown}` cannot start: {exc.strerror or exc}"
    return _failed(spec, reason, _next_step("", shell_code, spec.source_dir, shown))


def _help_text(done: ProcessOutcome) -> str:
    """The stream that holds a usage text (some tools print it on stderr), else stdout."""
    for text in (done.stdout, done.stderr):
        if _USAGE.search(text):
            return text[:HELP_TEXT_LIMIT]
    return (done.stdout if done.stdout.strip() else done.stderr)[:HELP_TEXT_LIMIT]


def _stopped_early(done: ProcessOutcome, shown: str, timeout: float) -> tuple[str, str] | None:
    """Reason and next step when the probe was stopped (time limit, endless output)."""
    if done.timed_out:
        what = "--help" if shown.endswith("--help") else f"`{shown}`"
        return (
            f"did not finish {what} within {timeout:g} s (it may wait for input or start a server)",
            f"make `{shown}` finish without input; a server belongs in an http or mcp entry point",
        )
    if done.output_exceeded:
        return (
            f"`{shown}` printed more than {HELP_OUTPUT_LIMIT // 1024} KiB",
            f"make `{shown}` print its usage and exit",
        )
    return None


def _next_step(
    output: str, exit_code: int | None, source: Path, shown: str, fallback: str = ""
) -> str:
    """What the person should do, read from how the probe failed."""
    missing = _MISSING_MODULE.search(output)
    if missing:
        return (
            f"declare the package that provides '{missing[1]}' in the plugin's dependencies "
            "(requirements.txt, pyproject.toml or dependencies.packages in mark1.plugin.yml), "
            "then reinstall"
        )
    if exit_code == 126 or _NOT_EXECUTABLE.search(output):
        return NOT_EXECUTABLE_STEP
    if exit_code == 127 or _NOT_FOUND.search(output):
        return (
            CONSOLE_SCRIPT_STEP if (source / "pyproject.toml").is_file() else MISSING_PROGRAM_STEP
        )
    return fallback or f"run `{shown}` in {source} to see the whole error"
