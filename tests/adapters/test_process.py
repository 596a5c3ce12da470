"""Child processes: streaming, bounded capture, and killing the whole group."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from adapters import process
from adapters.process import run_process
from tests.conftest import gone_within

ENV = {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}


async def test_lines_are_streamed_as_they_come(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []
    script = "import sys; print('one'); print('two', file=sys.stderr); print('three')"
    done = await run_process(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=ENV,
        timeout=30,
        on_line=lambda s, t: seen.append((s, t)),
    )
    assert done.exit_code == 0 and done.stdout == "one\nthree\n" and done.stderr == "two\n"
    assert [t for s, t in seen if s == "stdout"] == ["one", "three"]


async def test_timeout_kills_the_process_and_its_background_children(tmp_path: Path) -> None:
    """A plugin that ignores SIGTERM and leaves a child behind is still gone after the limit."""
    pid_file = tmp_path / "child.pid"
    script = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\n"
        "time.sleep(600)\n"
    )
    done = await run_process(
        [sys.executable, "-c", script], cwd=tmp_path, env=ENV, timeout=1.5, kill_grace=0.2
    )
    assert done.timed_out and done.stdout == "started\n"
    child = int(pid_file.read_text())
    assert gone_within(child)


async def test_cancellation_kills_the_group(tmp_path: Path) -> None:
    """Cancelling the task (Ctrl-C in the CLI) kills the plugin and the child it started."""
    pid_file = tmp_path / "child.pid"
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n"
    )
    ready = asyncio.Event()
    task = asyncio.create_task(
        run_process(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            env=ENV,
            timeout=60,
            kill_grace=0.2,
            on_line=lambda stream, text: ready.set(),
        )
    )
    await asyncio.wait_for(ready.wait(), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert gone_within(int(pid_file.read_text()))


async def test_huge_output_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process, "STDOUT_LIMIT", 1000)
    script = "import sys; sys.stdout.write('x' * 100000 + '\\n' + 'y' * 5000)"
    done = await run_process(
        [sys.executable, "-c", script], cwd=tmp_path, env=ENV, timeout=30, on_line=lambda s, t: None
    )
    assert done.exit_code == 0 and done.stdout_truncated and len(done.stdout) == 1000


async def test_deadline_holds_when_the_child_closes_its_pipes(tmp_path: Path) -> None:
    """Closing stdout/stderr and sleeping on does not escape the time limit."""
    script = "import os, time; os.close(1); os.close(2); time.sleep(600)"
    done = await run_process(
        [sys.executable, "-c", script], cwd=tmp_path, env=ENV, timeout=1, kill_grace=0.2
    )
    assert done.timed_out and done.duration < 30


async def test_a_line_longer_than_any_buffer_arrives_whole(tmp_path: Path) -> None:
    script = "import sys; sys.stdout.write('{\"k\": \"' + 'x' * 3_000_000 + '\"}\\n')"
    seen: list[str] = []
    done = await run_process(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=ENV,
        timeout=60,
        on_line=lambda s, t: seen.append(t),
    )
    assert len(done.stdout) == 3_000_010 and not done.stdout_truncated
    assert sum(len(t) for t in seen) == 3_000_009


async def test_stderr_keeps_its_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last lines of stderr (where the error is) survive a flood of logging."""
    monkeypatch.setattr(process, "STDERR_LIMIT", 2000)
    script = (
        "import sys\n"
        "for i in range(5000): print(f'log line {i}', file=sys.stderr)\n"
        "print('REAL ERROR: disk full', file=sys.stderr)\n"
    )
    done = await run_process([sys.executable, "-c", script], cwd=tmp_path, env=ENV, timeout=30)
    assert done.stderr.endswith("REAL ERROR: disk full\n") and len(done.stderr) <= 2000


async def test_background_children_die_with_the_run(tmp_path: Path) -> None:
    """A plugin that exits leaving a detached-output child behind does not leak it."""
    pid_file = tmp_path / "bg.pid"
    script = (
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'],"
        " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
    )
    done = await run_process([sys.executable, "-c", script], cwd=tmp_path, env=ENV, timeout=30)
    assert done.exit_code == 0 and not done.timed_out
    child = int(pid_file.read_text())
    assert gone_within(child)
