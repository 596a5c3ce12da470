"""Running a child process the careful way: own process group, streamed output, bounded
memory and output, resource usage measured, and a guaranteed kill of the whole group on
timeout, runaway output or cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

STDOUT_LIMIT = 8 * 1024 * 1024
STDERR_LIMIT = 256 * 1024
OUTPUT_LIMIT = 256 * 1024 * 1024
CHUNK = 64 * 1024
PR_SET_PDEATHSIG = 1  # linux/prctl.h
LineSink = Callable[[str, str], None]
# A carriage return ends a line too: progress bars redraw themselves with "\r".
LINE_END = re.compile(rb"\r\n|\r|\n")


@dataclass
class ProcessOutcome:
    exit_code: int | None
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False
    stdout_truncated: bool = False
    output_exceeded: bool = False
    pid: int | None = None
    usage: dict[str, float] = field(default_factory=dict)


class OutputLimitExceeded(Exception):
    """The child printed more than the run may print."""


class HeadCapture:
    """Keeps the first ``limit`` bytes: stdout is the plugin's result, its start matters."""

    def __init__(self, limit: int):
        self.limit = limit
        self.data = bytearray()
        self.truncated = False
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self.data)
        self.data += chunk[: max(room, 0)]
        self.truncated = self.truncated or len(chunk) > room

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


class TailCapture(HeadCapture):
    """Keeps the last ``limit`` bytes: the end of stderr is where the error is."""

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.data += chunk
        if len(self.data) > self.limit:
            del self.data[: len(self.data) - self.limit]
            self.truncated = True


def bound_to_parent(
    argv: list[str], search_path: str | None = None
) -> tuple[list[str], Callable[[], None] | None]:
    """``argv`` made to die when this process dies (SIGKILL included), and the ``preexec_fn``
    that needs, if any.

    Without it a plugin outlives a killed Mark-1 and finishes work nobody records, which a
    resumed workflow would then do a second time. util-linux's ``setpriv --pdeathsig`` sets the
    death signal and execs the command (it survives ``exec`` of anything not set-uid); only
    where it is missing does a ``preexec_fn`` do it, which is much slower: Python must then
    fork its whole address space instead of using vfork (9 ms against 1 ms for a 150 MB
    process, bench/bench_workflow.py). A program that cannot be executed (``search_path`` is the
    child's PATH) is left to fail in ``Popen`` as usual, with its own error, not setpriv's.
    """
    setpriv = _setpriv()
    if setpriv is not None:
        if not _runnable(argv[0], search_path):
            return argv, None
        return [setpriv, "--pdeathsig", "KILL", "--", *argv], None
    parent = os.getpid()
    libc = ctypes.CDLL(None, use_errno=True)

    def setup() -> None:  # runs in the child between fork and exec: keep it minimal
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # Mark-1 died between fork and prctl
            os._exit(137)

    return argv, setup


def _runnable(program: str, search_path: str | None) -> bool:
    if os.sep in program:
        return os.path.isfile(program) and os.access(program, os.X_OK)
    return shutil.which(program, path=search_path) is not None


@functools.cache
def _setpriv() -> str | None:
    return shutil.which("setpriv")


async def run_process(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    kill_grace: float = 3.0,
    on_line: LineSink | None = None,
    on_start: Callable[[int], None] | None = None,
    stdin_data: bytes | None = None,
    output_limit: int = OUTPUT_LIMIT,
    bound: bool = True,
) -> ProcessOutcome:
    """Run ``argv`` to completion within ``timeout`` seconds.

    The deadline covers the whole life of the process, not only its output: a child that
    closes its pipes and keeps running is stopped too, and so is one that prints more than
    ``output_limit`` bytes. On timeout or cancellation the process group gets SIGTERM, then
    SIGKILL after ``kill_grace`` seconds; whatever the plugin left running in its group when
    it exited is killed as well. The child is reaped with ``wait4`` so its CPU time and peak
    memory (including the descendants it waited for) are measured, not guessed. The process
    dies with Mark-1 (``bound_to_parent``) unless ``bound`` is False: the caller has it ended
    another way (a sandboxed run's cgroup guard).
    """
    started = time.monotonic()
    command, preexec = bound_to_parent(argv, env.get("PATH")) if bound else (argv, None)
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=preexec,  # noqa: PLW1509 - only where setpriv is missing
    )
    if on_start is not None:
        on_start(proc.pid)
    reaped: asyncio.Future[tuple[int, int, Any]] = asyncio.ensure_future(
        asyncio.to_thread(os.wait4, proc.pid, 0)
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = HeadCapture(STDOUT_LIMIT), TailCapture(STDERR_LIMIT)
    budget = [output_limit]
    pumps = asyncio.gather(
        _pump(proc.stdout, out, "stdout", on_line, budget),
        _pump(proc.stderr, err, "stderr", on_line, budget),
        _feed(proc.stdin, stdin_data),
    )
    timed_out = exceeded = False
    try:
        await asyncio.wait_for(_finish(reaped, pumps), timeout)
    except TimeoutError:
        timed_out = True
    except OutputLimitExceeded:
        exceeded = True
    finally:
        if not reaped.done():
            await _stop_group(proc.pid, reaped, kill_grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # background children left behind by the plugin
        pumps.cancel()
        with contextlib.suppress(asyncio.CancelledError, OutputLimitExceeded):
            await pumps
        for pipe in (proc.stdout, proc.stderr, proc.stdin):
            if pipe is not None:
                pipe.close()
        if reaped.done() and not reaped.cancelled() and reaped.exception() is None:
            proc.returncode = os.waitstatus_to_exitcode(reaped.result()[1])  # Popen knows
    _, _, usage = await asyncio.shield(reaped)
    return ProcessOutcome(
        exit_code=proc.returncode,
        stdout=out.text(),
        stderr=err.text(),
        duration=time.monotonic() - started,
        timed_out=timed_out,
        stdout_truncated=out.truncated,
        output_exceeded=exceeded,
        pid=proc.pid,
        usage={
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
            "peak_memory_bytes": usage.ru_maxrss * 1024,
        },
    )


async def _finish(reaped: asyncio.Future[Any], pumps: asyncio.Future[Any]) -> None:
    await asyncio.shield(pumps)
    await asyncio.shield(reaped)


async def _pump(
    pipe: IO[bytes], capture: HeadCapture, name: str, on_line: LineSink | None, budget: list[int]
) -> None:
    """Copy ``pipe`` into ``capture``, handing complete lines to ``on_line`` as they arrive.

    Reads fixed-size chunks and splits lines itself, so an endless line costs no more memory
    than the capture keeps and loses nothing. ``budget`` is shared by both streams.
    """
    loop = asyncio.get_running_loop()
    stream = asyncio.StreamReader(limit=CHUNK)
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), pipe)
    pending = b""
    try:
        while chunk := await stream.read(CHUNK):
            capture.add(chunk)
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise OutputLimitExceeded()
            if on_line is None:
                continue
            pending += chunk
            *lines, pending = LINE_END.split(pending)
            for line in lines:
                on_line(name, line.decode("utf-8", errors="replace"))
            if len(pending) > CHUNK:
                on_line(name, pending.decode("utf-8", errors="replace"))
                pending = b""
        if on_line is not None and pending:
            on_line(name, pending.decode("utf-8", errors="replace"))
    finally:
        transport.close()


async def _feed(pipe: IO[bytes] | None, data: bytes | None) -> None:
    """Write ``data`` to the child's stdin and close it (a child may exit without reading)."""
    if pipe is None or data is None:
        return

    def write() -> None:
        with contextlib.suppress(BrokenPipeError, OSError):
            pipe.write(data)
            pipe.close()

    await asyncio.to_thread(write)


async def _stop_group(pid: int, reaped: asyncio.Future[Any], grace: float) -> None:
    """SIGTERM the group, wait ``grace`` seconds, then SIGKILL whatever is left of it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        try:
            await asyncio.wait_for(asyncio.shield(reaped), wait)
        except TimeoutError:
            continue
        return


def process_alive(pid: int | None) -> bool:
    """Whether a process with this id exists."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
