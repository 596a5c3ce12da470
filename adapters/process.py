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

STDOUT_LIMIT = 8 * 1024 * 1024
STDERR_LIMIT = 256 * 1024
LINE_LIMIT = 1024 * 1024
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


class _Capture:
    """Keeps the head of a stream up to ``limit`` bytes and counts the rest."""

    def __init__(self, limit: int):
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0
        self.truncated = False

    def add(self, chunk: bytes) -> None:
        room = self.limit - self.size
        if room > 0:
            self.parts.append(chunk[:room])
            self.size += min(room, len(chunk))
        if len(chunk) > room:
            self.truncated = True

    def text(self) -> str:
        return b"".join(self.parts).decode("utf-8", errors="replace")


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
    """Run ``argv`` to completion; on timeout or cancellation the process group is killed."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        limit=LINE_LIMIT,
    )
    if on_start is not None:
        on_start(proc.pid)
    out, err = _Capture(STDOUT_LIMIT), _Capture(STDERR_LIMIT)
    assert proc.stdout is not None and proc.stderr is not None
    pumps = asyncio.gather(
        _pump(proc.stdout, out, "stdout", on_line), _pump(proc.stderr, err, "stderr", on_line)
    )
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.shield(pumps), timeout)
        await proc.wait()
    except TimeoutError:
        timed_out = True
        await _stop_group(proc, kill_grace)
    except asyncio.CancelledError:
        await _stop_group(proc, kill_grace)
        raise
    finally:
        if proc.returncode is None:
            await _stop_group(proc, kill_grace)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(pumps, 5)
    return ProcessOutcome(
        exit_code=proc.returncode,
        stdout=out.text(),
        stderr=err.text(),
        duration=time.monotonic() - started,
        timed_out=timed_out,
        stdout_truncated=out.truncated,
        pid=proc.pid,
    )


async def _pump(
    stream: asyncio.StreamReader, capture: _Capture, name: str, on_line: LineSink | None
) -> None:
    while True:
        try:
            line = await stream.readline() if on_line else await stream.read(65536)
        except ValueError:  # a line longer than LINE_LIMIT: take it in pieces
            line = await stream.read(LINE_LIMIT)
        if not line:
            return
        capture.add(line)
        if on_line is not None:
            on_line(name, line.decode("utf-8", errors="replace").rstrip("\n"))


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
