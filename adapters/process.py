"""Running a child process the careful way: own process group, streamed output, bounded
memory, and a guaranteed kill of the whole group on timeout or cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STDOUT_LIMIT = 8 * 1024 * 1024
STDERR_LIMIT = 256 * 1024
CHUNK = 64 * 1024
LineSink = Callable[[str, str], None]


@dataclass
class ProcessOutcome:
    exit_code: int | None
    stdout: str
    stderr: str
    duration: float
    timed_out: bool = False
    stdout_truncated: bool = False
    pid: int | None = None


class _Head:
    """Keeps the first ``limit`` bytes: stdout is the plugin's result, its start matters."""

    def __init__(self, limit: int):
        self.limit = limit
        self.data = bytearray()
        self.truncated = False

    def add(self, chunk: bytes) -> None:
        room = self.limit - len(self.data)
        self.data += chunk[: max(room, 0)]
        self.truncated = self.truncated or len(chunk) > room

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


class _Tail(_Head):
    """Keeps the last ``limit`` bytes: the end of stderr is where the error is."""

    def add(self, chunk: bytes) -> None:
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
) -> ProcessOutcome:
    """Run ``argv`` to completion within ``timeout`` seconds.

    The deadline covers the whole life of the process, not only its output: a child that
    closes its pipes and keeps running is stopped too. On timeout or cancellation the process
    group gets SIGTERM, then SIGKILL after ``kill_grace`` seconds; whatever the plugin left
    running in its group when it exited is killed as well.
    """
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    if on_start is not None:
        on_start(proc.pid)
    out, err = _Head(STDOUT_LIMIT), _Tail(STDERR_LIMIT)
    assert proc.stdout is not None and proc.stderr is not None
    pumps = asyncio.gather(
        _pump(proc.stdout, out, "stdout", on_line), _pump(proc.stderr, err, "stderr", on_line)
    )
    timed_out = False
    try:
        await asyncio.wait_for(_finish(proc, pumps), timeout)
    except TimeoutError:
        timed_out = True
    finally:
        if proc.returncode is None or timed_out:
            await _stop_group(proc, kill_grace)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # background children left behind by the plugin
        pumps.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pumps
    return ProcessOutcome(
        exit_code=proc.returncode,
        stdout=out.text(),
        stderr=err.text(),
        duration=time.monotonic() - started,
        timed_out=timed_out,
        stdout_truncated=out.truncated,
        pid=proc.pid,
    )


async def _finish(proc: asyncio.subprocess.Process, pumps: asyncio.Future[Any]) -> None:
    await asyncio.shield(pumps)
    await proc.wait()


async def _pump(
    stream: asyncio.StreamReader, capture: _Head, name: str, on_line: LineSink | None
) -> None:
    """Copy ``stream`` into ``capture``, handing complete lines to ``on_line`` as they arrive.

    Reads fixed-size chunks and splits lines itself, so an endless line costs no more memory
    than the capture keeps and loses nothing.
    """
    pending = b""
    while chunk := await stream.read(CHUNK):
        capture.add(chunk)
        if on_line is None:
            continue
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            on_line(name, line.decode("utf-8", errors="replace"))
        if len(pending) > CHUNK:
            on_line(name, pending.decode("utf-8", errors="replace"))
            pending = b""
    if on_line is not None and pending:
        on_line(name, pending.decode("utf-8", errors="replace"))


def process_alive(pid: int | None) -> bool:
    """Whether a process with this id exists (and is not a zombie we could see)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _stop_group(proc: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM the group, wait ``grace`` seconds, then SIGKILL whatever is left of it."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            await asyncio.wait_for(proc.wait(), wait)
        except TimeoutError:
            continue
        if sig == signal.SIGTERM:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        return
