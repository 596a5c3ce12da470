"""The guard: what a Mark-1 process started dies with it, even when it is killed with SIGKILL.

Each test runs a real owner process (a Python child) that registers real processes with its
guard, then is SIGKILLed; the guard must kill them. A process that is not registered and
does not carry the owner's token is left alone, so the tests can fail.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from adapters import guard as guard_module
from tests.conftest import gone_within

OWNER = """
import os, subprocess, sys
sys.path.insert(0, {root!r})
from adapters.guard import guard
g = guard()
env = {{**os.environ, **g.environment()}}
registered = subprocess.Popen(["sleep", "300"], start_new_session=True)
g.watch_group(registered.pid)
grandchild = subprocess.Popen(["sh", "-c", "sleep 301 & wait"], start_new_session=True)
g.watch_group(grandchild.pid)
carrier = subprocess.Popen(["sleep", "302"], start_new_session=True, env=env)
stranger = subprocess.Popen(["sleep", "303"], start_new_session=True)
finished = subprocess.Popen(["sleep", "304"], start_new_session=True)
g.watch_group(finished.pid)
for i in range({churn}):  # registrations that come and go: the file is compacted
    g.watch_group(900000 + i)
    g.forget_group(900000 + i)
g.forget_group(finished.pid)
print(registered.pid, grandchild.pid, carrier.pid, stranger.pid, finished.pid, g._path, flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def owner_process(churn: int = 0) -> Iterator[tuple[subprocess.Popen[str], list[int], Path]]:
    """A Mark-1 stand-in that registered five processes; the pids are: registered,
    grandchild's group, token carrier, stranger, let go. Everything is killed afterwards."""
    root = str(Path(__file__).resolve().parents[2])
    with subprocess.Popen(
        [sys.executable, "-c", OWNER.format(root=root, churn=churn)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as owner:
        assert owner.stdout is not None
        *pids, path = owner.stdout.readline().split()
        numbers = [int(p) for p in pids]
        try:
            yield owner, numbers, Path(path)
        finally:
            owner.kill()
            subprocess.run(["pkill", "-9", "-g", str(numbers[1])], check=False)
            for pid in numbers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def test_a_killed_owner_takes_its_registered_and_marked_processes_along() -> None:
    with owner_process() as (owner, pids, path):
        registered, group, carrier, stranger, finished = pids
        grandchild = member_of(group)
        assert path.read_text().startswith("+g "), "registrations are written down"
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        assert gone_within(registered), "a registered process group is killed"
        assert gone_within(grandchild), "with everything in it"
        assert gone_within(carrier), "a process that carries the token is killed"
        assert not gone_within(stranger, 0.5), "a process of nobody's is left alone"
        assert not gone_within(finished, 0.1), "a group that was let go is left alone"
        assert gone_within_path(path), "the guard removes its file when done"


def test_many_registrations_are_compacted_and_none_is_lost() -> None:
    """After thousands of registrations come and go, the file holds only what is in use and
    the guard still kills it."""
    with owner_process(churn=guard_module.COMPACT_EVERY * 2) as (owner, pids, path):
        lines = path.read_text().splitlines()
        assert len(lines) < guard_module.COMPACT_EVERY, "the file was rewritten"
        assert f"+g {pids[0]}" in lines
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        assert gone_within(pids[0])


def test_a_normal_exit_releases_the_guard() -> None:
    """At a normal exit the guard is told, does its rounds and ends: no guard outlives it."""
    with owner_process() as (owner, pids, path):
        assert owner.stdin is not None
        owner.stdin.close()
        assert owner.wait(timeout=30) == 0
        assert gone_within_path(path)
        assert gone_within(pids[0]), "what was still registered at exit is killed"


def gone_within_path(path: Path, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def member_of(group: int, seconds: float = 5.0) -> int:
    """The ``sleep`` in process group ``group`` (its shell starts it in a moment)."""
    deadline = time.monotonic() + seconds
    while True:
        found = subprocess.run(["pgrep", "-g", str(group), "sleep"], capture_output=True, text=True)
        if found.stdout.split() or time.monotonic() > deadline:
            return int(found.stdout.split()[0])
        time.sleep(0.02)
