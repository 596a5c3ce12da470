"""The ``python_function`` adapter: a capability is a Python function called in the plugin's venv.

``module.function(**inputs)`` runs in a child process of the plugin's own interpreter, confined
like any other run (``adapters.sandbox``), through a small runner that speaks JSON: the request
goes in on stdin, one JSON line comes back on stdout. Nothing is pickled across the boundary,
so Mark-1 never unpickles what a plugin sends and the plugin may run any Python version.

The runner is kept here as source text and passed with ``python -c``, so no file of Mark-1's
needs to be visible inside the sandbox. Inside it, fd 1 is kept for the reply and the plugin's
own prints go to stderr, where they stream as output and ``MARK1_PROGRESS`` lines become
progress events. Return values are converted to JSON there (see ``_plain`` in ``RUNNER``):
paths become strings and are reported as artifacts, sets sorted lists, bytes
``{"base64": ...}``, dataclasses and pydantic models their fields, NaN and infinities the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, anything else ``{"repr": ..., "type": ...}``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from adapters.base import (
    AdapterBase,
    CapabilitySpec,
    OutputLine,
    PluginResult,
    RunContext,
    RunStarted,
)
from adapters.process import STDOUT_LIMIT, ProcessOutcome
from adapters.sandbox import run_confined
from adapters.subprocess_cli import (
    PROGRESS_PREFIX,
    collect_produced,
    ended,
    parse_progress,
    plugin_environment,
    settle,
)

# Runs as ``python -c RUNNER`` in the plugin's interpreter (Python 3.7+): standard library
# only, and only what it needs, imported late (asyncio costs ~15 ms and only async functions
# need it). Frames of this code are named "<string>" and cut from the plugin's tracebacks.
RUNNER = r'''
import json, os, sys


def _main():
    request = json.loads(sys.stdin.buffer.read())
    reply_fd = os.dup(1)  # the reply's own channel (not inherited by the plugin's children)
    os.dup2(2, 1)  # the plugin's prints, and its children's, go to stderr
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except Exception:
        pass
    if sys.path and sys.path[0] == "":
        del sys.path[0]  # the working directory (the workspace) is no place to import from
    sys.path.insert(0, request["source_dir"])
    try:
        import faulthandler

        faulthandler.enable()  # a segfault in an extension still says where it happened
    except Exception:
        pass
    files = []
    stage = "import"
    try:
        name = request["module"]
        __import__(name)
        target = sys.modules[name]
        stage = "lookup"
        for part in request["function"].split("."):
            target = getattr(target, part)
        stage = "call"
        if request.get("agent"):
            value = _run_agent(target, request["inputs"])
        else:
            value = target(**request["inputs"])
        if hasattr(value, "__await__") and not isinstance(value, type):
            import asyncio

            async def _wait(awaitable):
                return await awaitable

            value = asyncio.run(_wait(value))
        stage = "encode"
        reply = {"ok": True, "value": _plain(value, files, 0), "files": files}
        text = json.dumps(reply, allow_nan=False)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt end the call too
        text = json.dumps(_failure(stage, exc), allow_nan=False)
        code = 1
    else:
        code = 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    with os.fdopen(reply_fd, "wb") as out:
        out.write(text.encode("ascii") + b"\n")
    return code


def _run_agent(target, inputs):
    """Run an agent project: a LangGraph graph (``stream``) or a CrewAI crew (``kickoff``), or
    a function that builds one. Each step is printed as it happens; the end state is the value."""
    agent = target
    if callable(agent) and not hasattr(agent, "stream") and not hasattr(agent, "kickoff"):
        agent = agent()
    if hasattr(agent, "kickoff"):
        result = agent.kickoff(inputs=inputs)
        return {"result": getattr(result, "raw", None) or str(result)}
    if hasattr(agent, "stream"):
        state = None
        for n, state in enumerate(agent.stream(inputs, stream_mode="values")):
            print("agent step %d: %s" % (n, json.dumps(state, default=str)), flush=True)
        return state
    raise TypeError("%r is not an agent: expected a LangGraph graph (.stream) or a CrewAI "
                    "crew (.kickoff), or a function returning one" % (agent,))


def _failure(stage, exc):
    import traceback

    kind = type(exc)
    name = kind.__qualname__
    if kind.__module__ not in ("builtins", "__main__"):
        name = kind.__module__ + "." + name
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == "<string>":
        tb = tb.tb_next
    try:
        message = str(exc)
    except Exception:
        message = "(the exception's message could not be read)"
    try:
        lines = traceback.format_exception(kind, exc, tb)
    except Exception:
        lines = [name + ": " + message + "\n"]
    return {
        "ok": False,
        "stage": stage,
        "type": name,
        "message": message,
        "traceback": "".join(lines),
    }


def _plain(value, files, depth):
    """``value`` as plain JSON data; paths met on the way are added to ``files``."""
    if depth > 200:
        raise ValueError("the value is nested more than 200 levels deep (does it contain itself?)")
    depth += 1
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return float(value)
    if isinstance(value, dict):
        return {_key(k): _plain(v, files, depth) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, files, depth) for v in value]
    if isinstance(value, os.PathLike):
        path = os.fsdecode(os.fspath(value))
        files.append(path)
        return path
    if isinstance(value, (set, frozenset)):
        try:
            ordered = sorted(value)
        except TypeError:
            ordered = sorted(value, key=repr)
        return [_plain(v, files, depth) for v in ordered]
    if isinstance(value, (bytes, bytearray, memoryview)):
        import binascii

        return {"base64": binascii.b2a_base64(bytes(value), newline=False).decode("ascii")}
    if isinstance(value, type):
        return _opaque(value)
    if hasattr(type(value), "__dataclass_fields__"):
        import dataclasses

        fields = dataclasses.fields(value)
        return {f.name: _plain(getattr(value, f.name), files, depth) for f in fields}
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # pydantic v2
        try:
            dumped = dump(mode="json")
        except TypeError:
            dumped = dump()
        return _plain(dumped, files, depth)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):  # numpy arrays and scalars
        return _plain(tolist(), files, depth)
    return _opaque(value)


def _key(key):
    if isinstance(key, str):
        return key
    if isinstance(key, os.PathLike):
        return os.fsdecode(os.fspath(key))
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)  # what json.dumps itself does with such keys
    return str(key)


def _opaque(value):
    kind = type(value)
    return {"repr": repr(value)[:10000], "type": kind.__module__ + "." + kind.__qualname__}


sys.exit(_main())
'''

SHOWN_RUNNER = "<mark1 python_function runner>"


class PythonFunctionAdapter(AdapterBase):
    """Runs ``python_function`` entry points. Stateless: one instance may serve many runs."""

    agent = False  # the agent adapter runs the same runner in agent mode

    async def execute(
        self, spec: CapabilitySpec, inputs: dict[str, Any], context: RunContext
    ) -> PluginResult:
        env = plugin_environment(spec, context)
        python = interpreter(spec, env["PATH"])
        module, function = spec.entry["module"], spec.entry["function"]
        argv = [python, "-c", RUNNER]
        # What the record and the person see: the runner's source would drown the command.
        shown = [python, "-c", SHOWN_RUNNER, f"{module}:{function}"]
        request = {
            "module": module,
            "function": function,
            "inputs": inputs,
            "source_dir": str(spec.source_dir),
            "agent": self.agent,
        }
        if not os.path.exists(python):
            return PluginResult(
                "failed",
                command=shown,
                error=f"the plugin's environment has no Python at {python}: reinstall the plugin",
            )
        context.workdir.mkdir(parents=True, exist_ok=True)

        def on_line(stream: str, text: str) -> None:
            if stream == "stdout":
                return  # the reply, not output
            progress = parse_progress(text)
            if progress is not None:
                context.emit(progress)
                if text.startswith(PROGRESS_PREFIX):
                    return
            context.emit(OutputLine("stderr", text))

        def on_start(pid: int) -> None:
            context.emit(RunStarted(shown, pid))

        try:
            done = await run_confined(
                argv,
                env=env,
                context=context,
                on_line=on_line,
                on_start=on_start,
                stdin_data=json.dumps(request).encode(),
            )
        except OSError as exc:  # bwrap or the interpreter cannot be started
            reason = exc.strerror or str(exc)
            return PluginResult("failed", command=shown, error=f"cannot start {python}: {reason}")
        result = PluginResult(
            "succeeded",
            exit_code=done.exit_code,
            stderr=done.stderr,
            command=shown,
            metrics={"duration_s": round(done.duration, 4), **done.usage},
        )
        reply = read_reply(done.stdout)
        if settle(
            result,
            timeout=context.timeout,
            timed_out=done.timed_out,
            output_exceeded=done.output_exceeded,
        ):
            return result
        if done.stdout_truncated:
            result.status = "failed"
            result.error = (
                f"its return value is larger than the {STDOUT_LIMIT // 1024**2} MiB "
                "a run may return"
            )
        elif reply is None:
            result.status = "failed"
            result.error = _crash(done, module, function)
            result.stdout = done.stdout
        elif not reply.get("ok"):
            result.status = "failed"
            result.error = _raised(reply, module, function)
            trace = str(reply.get("traceback") or "")
            for line in trace.splitlines():
                context.emit(OutputLine("stderr", line))
            result.stderr = _joined(done.stderr, trace)
        else:
            value = reply.get("value")
            result.outputs = value if isinstance(value, dict) else {"result": value}
            result.artifacts = _existing_files(reply.get("files") or [], context.workdir)
            if done.exit_code != 0:
                result.status = "failed"
                result.error = (
                    f"{module}.{function} returned, then the Python process "
                    f"{ended(done.exit_code)}" + _detail(done.stderr)
                )
            else:
                collect_produced(spec, inputs, context.workdir, result)
        return result


def interpreter(spec: CapabilitySpec, path: str) -> str:
    """The plugin venv's ``python`` (a plugin always has one; else ``python3`` on its PATH)."""
    if spec.env_dir is not None:
        return str(spec.env_dir / "bin" / "python")
    return shutil.which("python3", path=path) or "python3"


def read_reply(stdout: str) -> dict[str, Any] | None:
    """The runner's reply: the last line of stdout, or None if there is no valid one."""
    lines = stdout.strip().splitlines()
    if not lines:
        return None
    try:
        reply = json.loads(lines[-1])
    except json.JSONDecodeError:
        return None
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        return None
    return reply


def _raised(reply: dict[str, Any], module: str, function: str) -> str:
    kind, message = str(reply.get("type") or "Exception"), str(reply.get("message") or "")
    raised = f"{kind}: {message[:500]}" if message else kind
    stage = reply.get("stage")
    if stage == "import":
        return f"cannot import the plugin's module '{module}': {raised}"
    if stage == "lookup":
        return f"module '{module}' has no function '{function}': {raised}"
    if stage == "encode":
        return f"the value {module}.{function} returned cannot be sent back as JSON: {raised}"
    return raised


def _crash(done: ProcessOutcome, module: str, function: str) -> str:
    """Why there is no reply: the interpreter died or exited before the function returned."""
    how = "exited" if done.exit_code == 0 else ended(done.exit_code)
    return f"the Python process {how} before {module}.{function} returned" + _detail(done.stderr)


def _detail(stderr: str) -> str:
    """The line of stderr that says most: a fatal error's headline, else the last line."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith("Fatal Python error:")]
    chosen = fatal[0] if fatal else lines[-1] if lines else ""
    return f": {chosen.strip()[:300]}" if chosen else ""


def _joined(stderr: str, trace: str) -> str:
    if not trace:
        return stderr
    if stderr and not stderr.endswith("\n"):
        stderr += "\n"
    return stderr + trace


def _existing_files(paths: list[Any], workdir: Path) -> list[str]:
    """Returned paths that name files, made absolute against the working directory."""
    found: list[str] = []
    for path in paths:
        full = os.path.normpath(os.path.join(workdir, str(path)))
        if os.path.isfile(full) and full not in found:
            found.append(full)
    return found
