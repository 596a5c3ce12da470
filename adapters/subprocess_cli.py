"""The ``cli`` adapter: a capability is a command line run as a child process.

The command comes from the manifest, arguments from the inputs (``adapters.argv``); it runs in
the plugin's own environment (its venv's ``bin`` first on PATH) with a scrubbed environment,
in the run's working directory. Outputs are JSON printed on stdout and the files the manifest
says the capability produces.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import re
import shutil
import signal
import string
from pathlib import Path
from typing import Any

from adapters.argv import build_argv
from adapters.base import (
    AdapterBase,
    CapabilitySpec,
    OutputLine,
    PluginResult,
    Progress,
    RunContext,
    RunStarted,
)
from adapters.sandbox import run_confined

PASSTHROUGH_ENV = ("HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME")
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


class CliAdapter(AdapterBase):
    """Runs ``cli`` entry points. Stateless: one instance may serve many executions."""

    async def execute(
        self, spec: CapabilitySpec, inputs: dict[str, Any], context: RunContext
    ) -> PluginResult:
        env = plugin_environment(spec, context)
        command = list(_resolved(tuple(spec.entry["command"]), spec.source_dir, env["PATH"]))
        argv = build_argv(command, inputs, spec.parameters, spec.entry.get("args"))
        context.workdir.mkdir(parents=True, exist_ok=True)

        def on_line(stream: str, text: str) -> None:
            progress = parse_progress(text)
            if progress is not None:
                context.emit(progress)
                if text.startswith(PROGRESS_PREFIX):
                    return
            context.emit(OutputLine(stream, text))  # type: ignore[arg-type]

        def on_start(pid: int) -> None:
            context.emit(RunStarted(argv, pid))

        try:
            done = await run_confined(
                argv, env=env, context=context, on_line=on_line, on_start=on_start
            )
        except OSError as exc:  # missing, not executable, bad interpreter line, ...
            reason = exc.strerror or str(exc)
            return PluginResult("failed", command=argv, error=f"cannot start {argv[0]}: {reason}")
        result = PluginResult(
            "succeeded",
            exit_code=done.exit_code,
            stdout=done.stdout,
            stderr=done.stderr,
            command=argv,
            metrics={"duration_s": round(done.duration, 4), **done.usage},
        )
        settle_process(result, done, context.timeout)
        if result.ok:
            collect_outputs(spec, inputs, context.workdir, result)
        return result


PROGRESS_PREFIX = "MARK1_PROGRESS"
_PROGRESS = re.compile(r'^MARK1_PROGRESS\s+(\d+(?:\.\d+)?)\s*"?(.*?)"?\s*$')
_PERCENT = re.compile(r"^\s*(\d{1,3}(?:\.\d+)?)%(?:\s*[|:-]?\s*(.*))?$")


def parse_progress(line: str) -> Progress | None:
    """``MARK1_PROGRESS 40 "resizing"`` or a line that starts with a percentage (``40% ...``)."""
    match = _PROGRESS.match(line) or _PERCENT.match(line)
    if match is None:
        return None
    percent = float(match[1])
    if percent > 100:
        return None
    return Progress(percent, (match[2] or "").strip())


def plugin_environment(spec: CapabilitySpec, context: RunContext) -> dict[str, str]:
    """A scrubbed environment: a few harmless host variables, the plugin's tools, its grants."""
    env = {k: os.environ[k] for k in PASSTHROUGH_ENV if k in os.environ}
    bins = []
    if spec.env_dir is not None:
        bins.append(str(spec.env_dir / "bin"))
        env["VIRTUAL_ENV"] = str(spec.env_dir)
    node_bin = spec.source_dir / "node_modules" / ".bin"
    if node_bin.is_dir():
        bins.append(str(node_bin))
    env["PATH"] = os.pathsep.join([*bins, SYSTEM_PATH])
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONUNBUFFERED"] = "1"
    env["MARK1_PLUGIN_DIR"] = str(spec.source_dir)
    env["MARK1_WORKDIR"] = str(context.workdir)
    env.update(context.env)
    return env


def resolve_command(command: list[str], source_dir: Path, path: str) -> list[str]:
    """Make the manifest's command runnable from any directory.

    The program is looked up on the plugin's PATH (its venv first); words that name files in
    the plugin's folder (``tool.py``, ``bin/run``) become absolute paths.
    """
    resolved = []
    for i, word in enumerate(command):
        local = source_dir / word
        if os.path.isabs(word):
            resolved.append(word)
        elif i == 0 and "/" not in word:
            found = shutil.which(word, path=path)
            resolved.append(found or (str(local) if local.is_file() else word))
        else:
            resolved.append(str(local) if local.exists() else word)
    return resolved


@functools.lru_cache(maxsize=256)
def _resolved(command: tuple[str, ...], source_dir: Path, path: str) -> tuple[str, ...]:
    """``resolve_command`` once per command and plugin environment: a workflow runs the
    same command for every step and item, and looking it up costs a stat per folder."""
    return tuple(resolve_command(list(command), source_dir, path))


def collect_outputs(
    spec: CapabilitySpec, inputs: dict[str, Any], workdir: Path, result: PluginResult
) -> None:
    # Progress lines are events, not output: a plugin may print them on stdout beside its JSON.
    lines = result.stdout.splitlines()
    text = "\n".join(ln for ln in lines if not ln.startswith(PROGRESS_PREFIX)).strip()
    if spec.stdout == "json" or (spec.stdout == "auto" and text[:1] in ("{", "[")):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            if spec.stdout == "json":
                result.status = "failed"
                result.error = f"stdout is not the JSON the manifest promises: {exc}"
                return
            result.outputs["stdout"] = text
        else:
            result.outputs.update(value if isinstance(value, dict) else {"result": value})
    elif text:
        result.outputs["stdout"] = text
    collect_produced(spec, inputs, workdir, result)


def collect_produced(
    spec: CapabilitySpec, inputs: dict[str, Any], workdir: Path, result: PluginResult
) -> None:
    """The files the manifest says the capability produces (``produces``): outputs and
    artifacts; a required one that is missing fails the run."""
    for produced in spec.produces:
        pattern = fill_template(produced["path"], inputs)
        matches = []
        if pattern is not None:
            matches = [
                m
                for m in sorted(glob.glob(os.path.join(glob.escape(str(workdir)), pattern)))
                if os.path.isfile(m)
            ]
        if pattern is None or not matches:
            if produced.get("required", True):
                result.status = "failed"
                shown = pattern or produced["path"]
                result.error = f"declared output '{produced['name']}' ({shown}) was not produced"
            continue
        result.artifacts += [m for m in matches if m not in result.artifacts]
        has_glob = any(ch in pattern for ch in "*?[")
        result.outputs[produced["name"]] = matches if has_glob else matches[0]


def settle(result: PluginResult, *, timeout: float, timed_out: bool, output_exceeded: bool) -> bool:
    """Record the two ways every runner stops a run early; returns whether it was stopped."""
    if timed_out:
        result.status = "timed_out"
        result.error = f"stopped after the {timeout:g} s time limit"
    elif output_exceeded:
        result.status = "failed"
        result.error = "stopped: it printed more output than a run may print"
    return timed_out or output_exceeded


def settle_process(result: PluginResult, done: Any, timeout: float) -> None:
    """A command's outcome (``done``: exit_code, stderr, timed_out, output_exceeded,
    stdout_truncated): stopped early, or failed by a non-zero exit, or fine."""
    stopped = settle(
        result, timeout=timeout, timed_out=done.timed_out, output_exceeded=done.output_exceeded
    )
    if not stopped and done.exit_code != 0:
        result.status = "failed"
        result.error = f"exited with status {done.exit_code}" + last_line(done.stderr)
    if done.stdout_truncated:
        result.error = (result.error or "") + " (stdout was truncated)"


def fill_template(template: str, inputs: dict[str, Any]) -> str | None:
    """``"{out}"`` with the inputs filled in; None when a named input was not given."""
    names = [field for _, field, _, _ in string.Formatter().parse(template) if field]
    if any(inputs.get(name) in (None, "") for name in names):
        return None
    values = {name: glob.escape(str(inputs[name])) for name in names}  # a value is no pattern
    return template.format_map(values) or None


def ended(code: int | None) -> str:
    """How a process ended, in words: "exited with status 2", "was killed by SIGKILL"."""
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def last_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return f": {lines[-1][:300]}" if lines else ""
