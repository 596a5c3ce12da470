"""Running a child process the careful way: own process group, streamed output, bounded
memory and output, resource usage measured, and a guaranteed kill of the whole group on
timeout, runaway output or cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from adapters.guard import guard

STDOUT_LIMIT = 8 * 1024 * 1024
STDERR_LIMIT = 256 * 1024
OUTPUT_LIMIT = 256 * 1024 * 1024
CHUNK = 64 * 1024
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
) -> ProcessOutcome:
    """Run ``argv`` to completion within ``timeout`` seconds.

    The deadline covers the whole life of the process, not only its output: a child that
    closes its pipes and keeps running is stopped too, and so is one that prints more than
    ``output_limit`` bytes. On timeout or cancellation the process group gets SIGTERM, then
    SIGKILL after ``kill_grace`` seconds; whatever the plugin left running in its group when
    it exited is killed as well. The child is reaped with ``wait4`` so its CPU time and peak
    memory (including the descendants it waited for) are measured, not guessed. It dies with
    Mark-1 (``adapters.guard``).
    """
    started = time.monotonic()
    keeper = guard()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**env, **keeper.environment()},
        stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    keeper.watch_group(proc.pid)
    if on_start is not None:
        on_start(proc.pid)
    child = _Child(proc, on_line, output_limit)
    if stdin_data is not None:
        asyncio.ensure_future(_feed(proc.stdin, stdin_data))
    try:
        ended = await child.ended(timeout)
        if ended != "exited":
            await child.stop(kill_grace)
    finally:
        if not child.exited.done():  # cancelled
            await asyncio.shield(child.stop(kill_grace))
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # background children left behind by the plugin
        keeper.forget_group(proc.pid)
        child.close()
        if child.exited.done():
            proc.returncode = os.waitstatus_to_exitcode(child.exited.result()[1])  # for Popen
    _, _, usage = child.exited.result()
    return ProcessOutcome(
        exit_code=proc.returncode,
        stdout=child.out.text(),
        stderr=child.err.text(),
        duration=time.monotonic() - started,
        timed_out=ended == "timed_out",
        stdout_truncated=child.out.truncated,
        output_exceeded=ended == "output_exceeded",
        pid=proc.pid,
        usage={
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
            "peak_memory_bytes": usage.ru_maxrss * 1024,
        },
    )


class _Child:
    """A started child watched from the event loop with plain callbacks: its two pipes and a
    pidfd (where the kernel has them) are read as they become ready. No threads, tasks or
    stream objects per run: launching many small commands is dominated by this bookkeeping
    (bench/bench_workflow.py)."""

    def __init__(self, proc: subprocess.Popen[bytes], on_line: LineSink | None, budget: int):
        assert proc.stdout is not None and proc.stderr is not None
        self.proc, self.on_line, self.budget = proc, on_line, budget
        self.loop = asyncio.get_running_loop()
        self.out, self.err = HeadCapture(STDOUT_LIMIT), TailCapture(STDERR_LIMIT)
        self.exited: asyncio.Future[tuple[int, int, Any]] = self.loop.create_future()
        self._done: asyncio.Future[str] = self.loop.create_future()
        self._pending = {"stdout": b"", "stderr": b""}
        self._open: dict[int, tuple[str, HeadCapture]] = {}
        for pipe, name, capture in (
            (proc.stdout, "stdout", self.out),
            (proc.stderr, "stderr", self.err),
        ):
            fd = pipe.fileno()
            os.set_blocking(fd, False)
            self._open[fd] = (name, capture)
            self.loop.add_reader(fd, self._readable, fd)
        self._pidfd = -1
        try:
            self._pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):  # no pidfd (old kernel): a thread waits instead
            waiting = asyncio.ensure_future(asyncio.to_thread(os.wait4, proc.pid, 0))
            waiting.add_done_callback(self._reaped)
        else:
            self.loop.add_reader(self._pidfd, self._pidfd_ready)

    async def ended(self, timeout: float) -> str:
        """How the run ended: "exited" (and its output read to the end), "timed_out" or
        "output_exceeded"."""
        deadline = self.loop.call_later(timeout, self._finish, "timed_out")
        try:
            return await asyncio.shield(self._done)
        finally:
            deadline.cancel()

    async def stop(self, grace: float) -> None:
        """SIGTERM the group, wait ``grace`` seconds, then SIGKILL whatever is left of it."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)
            try:
                await asyncio.wait_for(asyncio.shield(self.exited), wait)
            except TimeoutError:
                continue
            return
        await asyncio.shield(self.exited)  # SIGKILL cannot be refused: it is reaped in the end

    def close(self) -> None:
        """Stop watching: the rest of the output (a grandchild may hold the pipes) is dropped."""
        for fd in list(self._open):
            self._close_pipe(fd)
        for pipe in (self.proc.stdout, self.proc.stderr):  # stdin: ``_feed`` closes it
            if pipe is not None:
                pipe.close()
        if self._pidfd >= 0:
            self.loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1

    def _readable(self, fd: int) -> None:
        try:
            chunk = os.read(fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        name, capture = self._open[fd]
        if not chunk:
            if self.on_line is not None and self._pending[name]:
                self.on_line(name, self._pending[name].decode("utf-8", errors="replace"))
            self._close_pipe(fd)
            self._settle()
            return
        capture.add(chunk)
        self.budget -= len(chunk)
        if self.budget < 0:
            self._finish("output_exceeded")
            return
        if self.on_line is not None:
            self._lines(name, chunk)

    def _lines(self, name: str, chunk: bytes) -> None:
        """Hand complete lines to ``on_line``; an endless line goes out in CHUNK-sized parts,
        so it costs no more memory than the capture keeps and loses nothing."""
        assert self.on_line is not None
        *lines, rest = LINE_END.split(self._pending[name] + chunk)
        for line in lines:
            self.on_line(name, line.decode("utf-8", errors="replace"))
        if len(rest) > CHUNK:
            self.on_line(name, rest.decode("utf-8", errors="replace"))
            rest = b""
        self._pending[name] = rest

    def _close_pipe(self, fd: int) -> None:
        if self._open.pop(fd, None) is not None:
            self.loop.remove_reader(fd)

    def _pidfd_ready(self) -> None:
        try:
            pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        self.loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = -1
        self.exited.set_result((pid, status, usage))
        self._settle()

    def _reaped(self, waiting: asyncio.Future[tuple[int, int, Any]]) -> None:
        if not self.exited.done():
            self.exited.set_result(waiting.result())
            self._settle()

    def _settle(self) -> None:
        if self.exited.done() and not self._open:
            self._finish("exited")

    def _finish(self, how: str) -> None:
        if not self._done.done():
            self._done.set_result(how)


async def _feed(pipe: IO[bytes] | None, data: bytes | None) -> None:
    """Write ``data`` to the child's stdin and close it (a child may exit without reading)."""
    if pipe is None or data is None:
        return

    def write() -> None:
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            pipe.write(data)
            pipe.close()

    await asyncio.to_thread(write)


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
