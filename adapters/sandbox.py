"""Confining a plugin's process: bubblewrap namespaces, resource limits, a pids cgroup.

The policy is plain data decided elsewhere (manifest permissions + the user's grants); this
module only turns it into a command line. Inside the sandbox:

* the root file system is read-only, ``/tmp`` is private, and the step's workspace is the only
  writable path (plus paths the user granted);
* the user's home and Mark-1's data and config folders (secrets, other plugins) are replaced by
  empty tmpfs mounts; the plugin's own files, its environment and the interpreter it needs are
  bound back read-only;
* the environment is cleared to exactly what the policy grants; the network is unshared unless
  granted; the process gets its own PID namespace and dies with its parent;
* address space, CPU seconds, open files and processes are limited with setrlimit; as root
  (where RLIMIT_NPROC does not apply) a pids cgroup caps the number of processes instead.

Where bwrap cannot run, ``wrap`` is not used and the caller must say so loudly.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import resource
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.base import Notice
from adapters.process import LineSink, ProcessOutcome, bound_to_parent, run_process

if TYPE_CHECKING:
    from adapters.base import RunContext

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class SandboxPolicy:
    """What one execution may see and do."""

    workdir: Path
    network: bool = False
    read_only: tuple[Path, ...] = ()
    read_write: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()
    max_memory: int | None = 2 * 1024**3
    cpu_seconds: int | None = 600
    max_open_files: int = 1024
    max_processes: int = 256
    cpus: float | None = None  # a CPU-rate cap (cores), where the engine supports one
    env: dict[str, str] = field(default_factory=dict)

    def describe(self) -> list[str]:
        """The policy in words, for the user to read before a first run."""
        gib = f"{self.max_memory / 1024**3:.1f} GiB" if self.max_memory else "unlimited"
        lines = [
            f"writes only to {self.workdir}" + "".join(f", {p}" for p in self.read_write),
            "network " + ("allowed" if self.network else "off"),
            "your home and Mark-1's data and config are hidden",
            f"memory {gib}, CPU {self.cpu_seconds or 'unlimited'} s, "
            f"{self.max_processes} processes, {self.max_open_files} open files",
        ]
        if self.read_only:
            lines.append("may also read " + ", ".join(str(p) for p in self.read_only))
        return lines


@functools.lru_cache(maxsize=1)
def bwrap_problem() -> str | None:
    """Why bwrap cannot confine plugins here, or None when it can (checked once)."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
    probe = [
        exe,
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--unshare-pid",
        "--unshare-net",
        "--die-with-parent",
        "true",
    ]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap cannot start: {exc}"
    if done.returncode != 0:
        return f"bwrap cannot create namespaces here: {done.stderr.strip()[:200]}"
    return None


def wrap(argv: list[str], policy: SandboxPolicy) -> list[str]:
    """``argv`` run inside bwrap according to ``policy``."""
    exe = shutil.which("bwrap") or "bwrap"
    args = [exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in _existing(policy.hidden):
        args += ["--tmpfs", str(path)]
    for path in _existing(policy.read_only):
        args += ["--ro-bind", str(path), str(path)]
    for path in _existing((policy.workdir, *policy.read_write)):
        args += ["--bind", str(path), str(path)]
    if not policy.network:
        args.append("--unshare-net")
    args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
    args += ["--clearenv", "--chdir", str(policy.workdir)]
    for key, value in policy.env.items():
        args += ["--setenv", key, value]
    return [*args, "--", *argv]


def _existing(paths: tuple[Path, ...]) -> Iterator[Path]:
    """Mount points must exist; ordered as given (later mounts win over earlier ones)."""
    seen = set()
    for path in paths:
        if path.exists() and path not in seen:
            seen.add(path)
            yield path


def launcher(policy: SandboxPolicy, cgroups: RunCgroups) -> list[str]:
    """A tiny shell put in front of the confined command: it checks that Mark-1 still runs it,
    joins the run's cgroups, sets the policy's rlimits with ``ulimit`` (soft and hard), then
    execs the command.

    A shell rather than a ``preexec_fn``: with one, Python must fork its whole address space
    for every step instead of using vfork, which cost more than the sandbox itself
    (bench/bench_workflow.py). RLIMIT_NPROC counts every process of the user, so it is set to
    what the user already runs plus the policy's allowance; it does not bind root, where the
    pids cgroup does the job.
    """
    caps = [("-n", resource.RLIMIT_NOFILE, policy.max_open_files, 1)]
    if policy.max_memory:
        caps.append(("-v", resource.RLIMIT_AS, policy.max_memory, 1024))  # ulimit -v counts KiB
    if policy.cpu_seconds:
        caps.append(("-t", resource.RLIMIT_CPU, policy.cpu_seconds, 1))
    if not cgroups.caps_processes and os.geteuid() != 0:
        nproc = _tasks_of(os.geteuid()) + policy.max_processes
        caps.append(("-p", resource.RLIMIT_NPROC, nproc, 1))
    lines = [f"echo $$ > {shlex.quote(f)}" for f in cgroups.procs_files()]
    # Joined first, checked second: if Mark-1 is gone by now the guard may have emptied the
    # cgroups before we joined them, so stop here. The parent is read live from /proc ($PPID
    # is only the parent when the shell started).
    lines.append(f'read -r _ _ _ ppid _ < /proc/$$/stat; [ "$ppid" = {os.getpid()} ] || exit 137')
    for flag, kind, value, unit in caps:
        hard = resource.getrlimit(kind)[1]
        cap = (value if hard == resource.RLIM_INFINITY else min(value, hard)) // unit
        # dash calls the process limit -p, bash -u (its -p is the pipe size): try both. A
        # limit that cannot be set stops the run rather than running it unlimited.
        tried = f"ulimit -p {cap} 2>/dev/null || ulimit -u {cap}" if flag == "-p" else ""
        lines.append(f"{{ {tried or f'ulimit {flag} {cap}'}; }} || exit 126")
    lines.append('exec "$@"')
    return ["/bin/sh", "-c", "; ".join(lines), "mark1-sandbox"]


def _tasks_of(uid: int) -> int:
    """Threads the user runs now: RLIMIT_NPROC counts threads, not processes, so a desktop
    with a few browsers needs thousands of headroom before the plugin's own allowance."""
    count = 0
    with os.scandir("/proc") as entries:
        for entry in entries:
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if entry.stat().st_uid == uid:
                        count += len(os.listdir(f"/proc/{entry.name}/task"))
    return count


async def run_confined(
    argv: list[str],
    *,
    env: dict[str, str],
    context: RunContext,
    on_line: LineSink | None = None,
    on_start: Callable[[int], None] | None = None,
    stdin_data: bytes | None = None,
) -> ProcessOutcome:
    """Run ``argv`` under ``context.sandbox`` (or as is, for a plugin the user trusts).

    Where bwrap cannot run, the resource limits still apply and the run says, loudly, that
    it was not isolated.
    """
    common: dict[str, Any] = {
        "cwd": context.workdir,
        "env": env,
        "timeout": context.timeout,
        "kill_grace": context.kill_grace,
        "on_line": on_line,
        "on_start": on_start,
        "stdin_data": stdin_data,
        "output_limit": context.output_limit,
    }
    policy = context.sandbox
    if policy is None:
        return await run_process(argv, **common)
    problem = bwrap_problem()
    if problem is not None:
        context.emit(Notice(f"NOT isolated: {problem}; only resource limits apply", "warning"))
    command, cgroups = confined_command(argv, policy, env)
    assert cgroups is not None
    try:
        # In a run cgroup the guard (watch_after_death) ends the run with Mark-1; only
        # outside one is the process chain given a death signal (one more exec per run).
        done = await run_process(command, bound=not cgroups.groups, **common)
        measured = cgroups.usage()
    finally:
        # Removal waits (briefly) for killed processes to leave: not on the event loop.
        await asyncio.shield(asyncio.to_thread(cgroups.close))
    # wait4 saw only bwrap: report what the cgroups measured, never bwrap's own figures.
    done.usage = measured if problem is None else {**done.usage, **measured}
    return done


def confined_command(
    argv: list[str], policy: SandboxPolicy | None, env: dict[str, str]
) -> tuple[list[str], RunCgroups | None]:
    """``argv`` confined by ``policy``: the launcher shell, then bwrap (where it can run), then
    the command. The caller must ``close()`` the returned cgroups."""
    if policy is None:
        return argv, None
    cgroups = RunCgroups(policy.max_processes)
    command = argv if bwrap_problem() else wrap(argv, replace(policy, env=env))
    return [*launcher(policy, cgroups), *command], cgroups


class Service:
    """A long-running plugin process (an HTTP or MCP server), confined like a run.

    Started with ``Service.start`` and always ``stop``ped: the process group is killed and the
    run's cgroups removed.
    """

    def __init__(self, proc: subprocess.Popen[bytes], cgroups: RunCgroups | None):
        self.proc = proc
        self.cgroups = cgroups

    @classmethod
    def start(
        cls, argv: list[str], *, env: dict[str, str], context: RunContext, network: bool = False
    ) -> Service:
        """Start ``argv`` under ``context.sandbox`` (with the network shared when ``network``:
        a TCP service must be reachable from Mark-1); stdout/stderr go to ``log`` files in the
        workdir's ``.mark1`` folder so a crash can be explained."""
        policy = context.sandbox
        if policy is not None and network:
            policy = replace(policy, network=True)
        command, cgroups = confined_command(argv, policy, env)
        command, preexec = bound_to_parent(command, env.get("PATH"))
        logs = context.workdir / ".mark1"
        logs.mkdir(parents=True, exist_ok=True)
        log = open(logs / "service.log", "ab")  # noqa: SIM115 - lives as long as the service
        proc = subprocess.Popen(
            command,
            cwd=context.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            preexec_fn=preexec,  # noqa: PLW1509
        )
        log.close()
        return cls(proc, cgroups)

    def log_tail(self, workdir: Path, lines: int = 5) -> str:
        try:
            text = (workdir / ".mark1" / "service.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self, grace: float = 3.0) -> None:
        import signal

        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        if self.cgroups is not None:
            self.cgroups.close()


class RunCgroups:
    """Per-run cgroups (v1): ``pids`` caps processes (RLIMIT_NPROC does not bind root),
    ``cpuacct`` and ``memory`` measure the CPU time and peak memory of everything inside the
    sandbox, which ``wait4`` on bwrap cannot see. Only the controllers we may create are used.
    """

    def __init__(self, max_processes: int):
        sweep_abandoned_cgroups()
        name = f"mark1-{int(time.time())}-{uuid.uuid4().hex[:8]}"  # the time: see the sweep
        self.groups: dict[str, Path] = {}
        for controller in ("pids", "cpuacct", "memory"):
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
        if self.groups:
            watch_after_death(next(iter(self.groups.values())) / "cgroup.procs")

    @property
    def caps_processes(self) -> bool:
        return "pids" in self.groups

    def procs_files(self) -> list[str]:
        return [str(group / "cgroup.procs") for group in self.groups.values()]

    def usage(self) -> dict[str, float]:
        """CPU seconds and peak memory of the run, for the controllers we have."""
        found: dict[str, float] = {}
        with contextlib.suppress(OSError, ValueError):
            if "cpuacct" in self.groups:
                ns = int((self.groups["cpuacct"] / "cpuacct.usage").read_text())
                found["cpu_s"] = round(ns / 1e9, 4)
            if "memory" in self.groups:
                peak = (self.groups["memory"] / "memory.max_usage_in_bytes").read_text()
                found["peak_memory_bytes"] = int(peak)
        return found

    def since(self, before: dict[str, float]) -> dict[str, float]:
        """Usage since ``before`` (an earlier ``usage()``): one call to a long-lived server.
        CPU is the difference; memory is the server's peak so far."""
        now = self.usage()
        if "cpu_s" in now and "cpu_s" in before:
            now["cpu_s"] = round(now["cpu_s"] - before["cpu_s"], 4)
        return now

    def close(self) -> None:
        """Kill whatever is left inside, then remove the groups, deepest first (an engine
        leaves groups of its own inside, e.g. podman's ``conmon``)."""
        for group in self.groups.values():
            for folder in sorted(_tree(group), key=lambda p: len(p.parts), reverse=True):
                _remove(folder)


# The guard: reads cgroup.procs files, one per line, until its stdin closes (Mark-1 ended, in
# whatever way), then kills what is left in them, a few rounds (a dying bwrap may still fork).
GUARD_SCRIPT = (
    'while read -r g; do set -- "$@" "$g"; done; '
    'for round in 1 2 3; do for g in "$@"; do [ -f "$g" ] || continue; '
    'while read -r p; do kill -9 "$p" 2>/dev/null; done < "$g"; done; done'
)
_guard: list[subprocess.Popen[bytes]] = []


def watch_after_death(procs_file: Path) -> None:
    """Have what runs in a run cgroup killed if this Mark-1 dies (SIGKILL included).

    The death signal of the process chain covers the usual case, but bwrap sets up its own
    children before it applies --die-with-parent: a Mark-1 killed in that moment would leave a
    sandboxed plugin running, finishing work nobody records (and a resumed workflow does it
    again). A small shell outlives Mark-1 just long enough to empty the run cgroups it was
    told about: its stdin closes when Mark-1 ends. One per process, started on first use.
    """
    if not _guard or _guard[0].poll() is not None:
        _guard[:] = [
            subprocess.Popen(
                ["/bin/sh", "-c", GUARD_SCRIPT],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the terminal must not stop the guard
            )
        ]
        atexit.register(_release_guard)
    stdin = _guard[0].stdin
    assert stdin is not None
    with contextlib.suppress(OSError):
        stdin.write(f"{procs_file}\n".encode())
        stdin.flush()


def _release_guard() -> None:
    """At a normal exit: close the guard's stdin (it finds the cgroups gone) and reap it."""
    for guard in _guard:
        if guard.stdin is not None:
            with contextlib.suppress(OSError):
                guard.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            guard.wait(timeout=5)


ABANDONED_AFTER = 60.0  # seconds an empty run cgroup must have existed to count as left over


@functools.cache
def sweep_abandoned_cgroups() -> int:
    """Remove run cgroups left by a Mark-1 that was killed (SIGKILL cannot clean up); once per
    process. Only empty groups made more than ``ABANDONED_AFTER`` ago (the time is in the name:
    cgroupfs changes a folder's mtime) go, so a group another Mark-1 has just made for a run
    that has not started yet stays. Returns how many were removed."""
    removed = 0
    cutoff = time.time() - ABANDONED_AFTER
    for controller in ("pids", "cpuacct", "memory"):
        with contextlib.suppress(OSError):
            for entry in os.scandir(CGROUP_ROOT / controller):
                if not entry.name.startswith("mark1-") or not entry.is_dir():
                    continue
                with contextlib.suppress(OSError):
                    group = Path(entry.path)
                    empty = not (group / "cgroup.procs").read_text().strip()
                    if empty and _made_at(entry.name) < cutoff and not _tree(group)[1:]:
                        group.rmdir()
                        removed += 1
    return removed


def _made_at(name: str) -> float:
    """When a run cgroup was made, from its name (``mark1-<epoch>-<id>``; 0 if it has none)."""
    stamp = name.split("-")[1] if name.count("-") == 2 else ""
    return float(stamp) if stamp.isdigit() else 0.0


def _tree(group: Path) -> list[Path]:
    """``group`` and every cgroup below it."""
    found = [group]
    with contextlib.suppress(OSError):
        for entry in os.scandir(group):
            if entry.is_dir(follow_symlinks=False):
                found += _tree(Path(entry.path))
    return found


def _remove(group: Path, seconds: float = 5.0) -> None:
    """Kill what is in one cgroup and remove it. Killed processes leave the group only once
    reaped, which under load (hundreds of forks dying with their PID namespace) can take a
    while: until then rmdir fails with EBUSY, so both are retried, within a bound."""
    import signal

    deadline = time.monotonic() + seconds
    pause = 0.0005  # usually the processes are gone within a millisecond: back off from there
    while True:
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            return  # already gone
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if not pids:
            try:
                group.rmdir()
                return
            except OSError:
                pass
        if time.monotonic() > deadline:
            return
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
