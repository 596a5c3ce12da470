"""Run cgroups (v1): a cap on processes and a measure of what a confined run used.

``pids`` caps processes (RLIMIT_NPROC does not bind root); ``cpuacct`` and ``memory`` measure
the CPU time and peak memory of everything inside the sandbox, which ``wait4`` on bwrap
cannot see. Only the controllers we may create are used; the sandbox's launcher shell joins
them before it starts bwrap.

Making and removing three cgroups costs more than the sandbox itself (the kernel takes
milliseconds to tear one down), so a workflow run keeps its released groups for the next step
(``reusing_cgroups``): emptied, their counters reset, their process cap rewritten.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from adapters.guard import guard

CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("pids", "cpuacct", "memory")
ABANDONED_AFTER = 60.0  # seconds an empty run cgroup must have existed to count as left over


class RunCgroups:
    """The cgroups of one run; get them with ``run_cgroups`` and always ``close()`` them."""

    def __init__(self, max_processes: int):
        sweep_abandoned_cgroups()
        # The time and the owner's pid are in the name: see the sweep.
        name = f"mark1-{int(time.time())}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.groups: dict[str, Path] = {}
        self.max_processes = max_processes
        self._memory_before = 0  # what a reused memory group still holds: see ``_reset``
        for controller in CONTROLLERS:
            group = CGROUP_ROOT / controller / name
            try:
                group.mkdir()
                if controller == "pids":
                    (group / "pids.max").write_text(str(max_processes))
            except OSError:
                with contextlib.suppress(OSError):
                    group.rmdir()
                continue
            self.groups[controller] = group
        if self.groups:  # every process of the run is in all of them: one is enough to watch
            guard().watch_cgroup(self.procs_files()[0])

    @property
    def caps_processes(self) -> bool:
        return "pids" in self.groups

    def procs_files(self) -> list[str]:
        return [str(group / "cgroup.procs") for group in self.groups.values()]

    def tasks_files(self) -> list[str]:
        """Where a process moves itself in: writing 0 (itself) to ``tasks`` skips the
        kernel's global lock that writing a pid to ``cgroup.procs`` takes, whose write side
        waits for an RCU grace period; it cost the sandbox a tenth of its time (a
        single-threaded process, like the launcher shell, moves whole)."""
        return [str(group / "tasks") for group in self.groups.values()]

    def usage(self) -> dict[str, float]:
        """CPU seconds and peak memory of the run, for the controllers we have."""
        found: dict[str, float] = {}
        with contextlib.suppress(OSError, ValueError):
            if "cpuacct" in self.groups:
                ns = int((self.groups["cpuacct"] / "cpuacct.usage").read_text())
                found["cpu_s"] = round(ns / 1e9, 4)
            if "memory" in self.groups:
                peak = (self.groups["memory"] / "memory.max_usage_in_bytes").read_text()
                found["peak_memory_bytes"] = max(int(peak) - self._memory_before, 0)
        return found

    def since(self, before: dict[str, float]) -> dict[str, float]:
        """Usage since ``before`` (an earlier ``usage()``): one call to a long-lived server.
        CPU is the difference; memory is the server's peak so far."""
        now = self.usage()
        if "cpu_s" in now and "cpu_s" in before:
            now["cpu_s"] = round(now["cpu_s"] - before["cpu_s"], 4)
        return now

    def close(self) -> None:
        """Kill whatever is left inside; then keep the groups, reset, for the next run (inside
        ``reusing_cgroups``) or remove them. Called off the event loop: this waits."""
        if self._emptied() and self._reset() and _pool.keep(self):
            return
        self.remove()

    def _emptied(self) -> bool:
        """Kill what is left in the groups; whether they are now empty and have no groups of
        their own. The launcher puts every process of a run in all of them, so one speaks for
        all (a new group made inside one is checked for: kept groups must be as new)."""
        group = next(iter(self.groups.values()), None)
        return group is not None and _empty(group) and not _has_groups(group)

    def remove(self) -> None:
        """Remove the groups, deepest first (an engine leaves groups of its own inside, e.g.
        podman's ``conmon``)."""
        for group in self.groups.values():
            for folder in sorted(_tree(group), key=lambda p: len(p.parts), reverse=True):
                _remove(folder)
        if self.groups:
            guard().forget_cgroup(self.procs_files()[0])

    def _reset(self) -> bool:
        """Zero the counters of emptied groups. False when a group is gone (a sweep by
        another Mark-1 cannot take a live owner's, but an administrator can)."""
        try:
            if "cpuacct" in self.groups:
                (self.groups["cpuacct"] / "cpuacct.usage").write_text("0")
            if "memory" in self.groups:
                # Kernel memory and page cache the last run left stay charged here (about
                # 0.4 MB a bwrap run; memory.force_empty cannot free it and costs 0.6 ms):
                # the peak restarts from what is held now, which the next run's figure omits.
                memory = self.groups["memory"]
                (memory / "memory.max_usage_in_bytes").write_text("0")
                self._memory_before = int((memory / "memory.usage_in_bytes").read_text())
        except (OSError, ValueError):
            return False
        return True

    def cap(self, max_processes: int) -> bool:
        """Set the process cap of kept groups for their next run; False when they are gone."""
        if "pids" in self.groups and max_processes != self.max_processes:
            try:
                (self.groups["pids"] / "pids.max").write_text(str(max_processes))
            except OSError:
                return False
            self.max_processes = max_processes
        return True


class _Pool:
    """Emptied run cgroups waiting for the next run, while a workflow run is going on; one
    thread of its own empties and resets released groups while the next step starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # groups are released from worker threads
        self._users = 0
        self._free: list[RunCgroups] = []
        self._worker: ThreadPoolExecutor | None = None

    def keep(self, groups: RunCgroups) -> bool:
        with self._lock:
            if self._users:
                self._free.append(groups)
            return bool(self._users)

    def take(self, max_processes: int) -> RunCgroups | None:
        while True:
            with self._lock:
                if not self._free:
                    return None
                groups = self._free.pop()
            if groups.cap(max_processes):
                return groups
            groups.remove()

    def release_later(self, groups: RunCgroups) -> bool:
        """Have ``groups`` closed by the pool's thread; False outside ``reusing``."""
        with self._lock:
            if self._worker is None:
                return False
            self._worker.submit(groups.close)
            return True

    @contextlib.contextmanager
    def reusing(self) -> Iterator[None]:
        with self._lock:
            self._users += 1
            if self._worker is None:
                self._worker = ThreadPoolExecutor(1, thread_name_prefix="mark1-cgroups")
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                worker = self._worker if not self._users else None
                if worker is not None:
                    self._worker = None
            if worker is not None:
                worker.shutdown(wait=True)  # closes still under way now remove their groups
                with self._lock:
                    drained, self._free = self._free, []
                for groups in drained:
                    groups.remove()


_pool = _Pool()


def reusing_cgroups() -> contextlib.AbstractContextManager[None]:
    """While inside, run cgroups are released in the background and kept for the next
    ``run_cgroups`` call; on leaving, the kept ones are removed."""
    return _pool.reusing()


def run_cgroups(max_processes: int) -> RunCgroups:
    """Cgroups for one run capped at ``max_processes``: kept ones when there are, else new."""
    return _pool.take(max_processes) or RunCgroups(max_processes)


async def release(groups: RunCgroups) -> None:
    """Close a run's cgroups off the event loop (closing waits for killed processes to go).
    Inside ``reusing_cgroups`` it returns at once and the pool's thread does it: the next
    step need not wait for the last one's cleanup."""
    if not _pool.release_later(groups):
        await asyncio.shield(asyncio.to_thread(groups.close))


@functools.cache
def sweep_abandoned_cgroups() -> int:
    """Remove run cgroups left by a Mark-1 that was killed (SIGKILL cannot clean up); once per
    process. Only empty groups whose owner is gone and that were made more than
    ``ABANDONED_AFTER`` ago (the time is in the name: cgroupfs changes a folder's mtime) go,
    so a group another Mark-1 keeps for its next step, or has just made for a run that has not
    started yet, stays. Returns how many were removed."""
    removed = 0
    cutoff = time.time() - ABANDONED_AFTER
    for controller in CONTROLLERS:
        with contextlib.suppress(OSError):
            for entry in os.scandir(CGROUP_ROOT / controller):
                if not entry.name.startswith("mark1-") or not entry.is_dir():
                    continue
                made, owner = _name_parts(entry.name)
                if made >= cutoff or (owner and _running(owner)):
                    continue
                with contextlib.suppress(OSError):
                    group = Path(entry.path)
                    empty = not (group / "cgroup.procs").read_text().strip()
                    if empty and not _tree(group)[1:]:
                        group.rmdir()
                        removed += 1
    return removed


def _name_parts(name: str) -> tuple[float, int]:
    """When a run cgroup was made and by which process, from its name
    (``mark1-<epoch>-<pid>-<id>``; older names have no pid: 0)."""
    parts = name.split("-")
    made = float(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else 0.0
    owner = int(parts[2]) if len(parts) == 4 and parts[2].isdigit() else 0
    return made, owner


def _running(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def _has_groups(group: Path) -> bool:
    """Whether ``group`` has groups inside: a folder's link count is 2 plus its subfolders
    (one stat, where listing its two dozen files cost more than the rest of the check)."""
    try:
        return os.stat(group).st_nlink > 2
    except OSError:
        return True


def _tree(group: Path) -> list[Path]:
    """``group`` and every cgroup below it."""
    found = [group]
    with contextlib.suppress(OSError):
        for entry in os.scandir(group):
            if entry.is_dir(follow_symlinks=False):
                found += _tree(Path(entry.path))
    return found


def _remove(group: Path, seconds: float = 5.0) -> None:
    """Kill what is in one cgroup and remove it. Removal fails (EBUSY) until the kernel has
    let go of the killed processes, so it is retried, within a bound."""
    deadline = time.monotonic() + seconds
    pause = 0.0005
    while _empty(group, seconds):
        try:
            group.rmdir()
            return
        except OSError:
            pass
        if time.monotonic() > deadline:
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _empty(group: Path, seconds: float = 5.0) -> bool:
    """Kill what is in one cgroup and wait until it has left. Killed processes leave the
    group only once reaped, which under load (hundreds of forks dying with their PID
    namespace) can take a while, so both are retried, within a bound."""
    deadline = time.monotonic() + seconds
    pause = 0.0005  # usually the processes are gone within a millisecond: back off from there
    while True:
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            return False  # gone
        if not pids:
            return True
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
