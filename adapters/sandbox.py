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

import contextlib
import functools
import os
import resource
import shlex
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.base import Notice
from adapters.cgroups import RunCgroups, release, run_cgroups
from adapters.guard import guard
from adapters.process import LineSink, ProcessOutcome, run_process

if TYPE_CHECKING:
    from adapters.base import RunContext


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
    args = [_bwrap(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    args += mounts(policy)
    if not policy.network:
        args.append("--unshare-net")
    args += ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"]
    args += ["--clearenv", "--chdir", str(policy.workdir)]
    for key, value in policy.env.items():
        args += ["--setenv", key, value]
    return [*args, "--", *argv]


@functools.cache
def _bwrap() -> str:
    return shutil.which("bwrap") or "bwrap"


def mounts(policy: SandboxPolicy) -> list[str]:
    """The policy's folders as bwrap mounts: the most specific rule wins.

    Mounts go from the shallowest path to the deepest (a later mount covers an earlier one),
    so a granted folder that contains the home folder or Mark-1's data shares the rest of it
    while those stay hidden, and the plugin's own files inside Mark-1's hidden data are
    bound back on top. At one depth: hidden, then read-only, then writable. A hidden folder
    inside another is hidden already and costs no mount (bwrap's time grows with each).
    """
    rules = [
        *((path, "--tmpfs") for path in _existing(policy.hidden)),
        *((path, "--ro-bind") for path in _existing(policy.read_only)),
        *((path, "--bind") for path in _existing((policy.workdir, *policy.read_write))),
    ]
    rules.sort(key=lambda rule: len(rule[0].parts))  # stable: the order above within a depth
    args: list[str] = []
    for i, (path, kind) in enumerate(rules):
        if kind == "--tmpfs" and _covering(path, rules[:i]) == "--tmpfs":
            continue
        args += [kind, str(path)] if kind == "--tmpfs" else [kind, str(path), str(path)]
    return args


def _covering(path: Path, earlier: list[tuple[Path, str]]) -> str | None:
    """The kind of the deepest earlier mount that contains ``path``."""
    for other, kind in reversed(earlier):
        if path.is_relative_to(other):
            return kind
    return None


def _existing(paths: tuple[Path, ...]) -> Iterator[Path]:
    """Mount points must exist; each once."""
    seen = set()
    for path in paths:
        if path not in seen and path.exists():
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
    lines = [f"echo 0 > {shlex.quote(f)}" for f in cgroups.tasks_files()]
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
        done = await run_process(command, **common)
        measured = cgroups.usage()
    finally:
        await release(cgroups)
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
    cgroups = run_cgroups(policy.max_processes)
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
        keeper = guard()
        logs = context.workdir / ".mark1"
        logs.mkdir(parents=True, exist_ok=True)
        log = open(logs / "service.log", "ab")  # noqa: SIM115 - lives as long as the service
        proc = subprocess.Popen(
            command,
            cwd=context.workdir,
            env={**env, **keeper.environment()},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        keeper.watch_group(proc.pid)
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
        guard().forget_group(self.proc.pid)
        if self.cgroups is not None:
            self.cgroups.close()
