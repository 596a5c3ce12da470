"""Plugins die with Mark-1, even when Mark-1 is killed with SIGKILL.

Without this a plugin outlives a killed Mark-1 and finishes work nobody records, which a
resumed workflow would then do a second time. One small guard process per Mark-1 process
does it. Mark-1 appends to a file which process groups and run cgroups are in use; the guard
waits on a pipe that closes when Mark-1 ends, in whatever way, and then kills what the file
says is still in use.

Every child also carries ``MARK1_SUPERVISOR=<token>`` in its environment, and the guard kills
whatever still carries this process's token: that covers a child started in the instant
before it was registered, and one that left its process group.

Why not a death signal per child: ``setpriv --pdeathsig`` costs one more ``exec`` per run
(it doubled the cost of launching a small command, bench/bench_workflow.py), and a
``preexec_fn`` makes Python fork its whole address space instead of using vfork. Why a file
and not the pipe: a line written to a pipe wakes the guard each time, which cost a workflow
of small steps a fifth of a millisecond per step.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import tempfile
import threading
import uuid

SUPERVISOR_ENV = "MARK1_SUPERVISOR"
COMPACT_EVERY = 4096  # lines appended before the file is rewritten with what is still in use

# The guard: wait for Mark-1 to end (stdin closes), then awk turns the registrations into kill
# commands for sh: the process groups, the cgroups a few rounds (a dying bwrap may still
# fork), then every process that carries the token. Lines: "+g PGID" / "-g PGID" and
# "+c FILE" / "-c FILE" (a cgroup.procs file).
_GUARD = 'cat >/dev/null; awk -v token="$1" "$0" "$2" | /bin/sh; rm -f "$2"'
_AWK = r"""
$1 == "+g" { g[$2] = 1 } $1 == "-g" { delete g[$2] }
$1 == "+c" { c[$2] = 1 } $1 == "-c" { delete c[$2] }
END {
  for (p in g) print "kill -9 -" p " 2>/dev/null"
  for (r = 1; r <= 3; r++) for (f in c)
    print "[ -f " f " ] && while read -r p; do kill -9 $p 2>/dev/null; done < " f
  print "for f in $(grep -lsxzF " token " /proc/[0-9]*/environ); do"
  print "  p=${f#/proc/}; kill -9 ${p%/environ} 2>/dev/null; done"
}
"""


class Guard:
    """The guard of this process: started on first use, released at a normal exit."""

    def __init__(self) -> None:
        self.token = f"{SUPERVISOR_ENV}={os.getpid()}.{uuid.uuid4().hex}"
        self._proc: subprocess.Popen[bytes] | None = None
        self._path = ""
        self._fd = -1
        self._lines = 0
        self._live: dict[str, None] = {}  # "g 123", "c /sys/..." still in use, in order
        self._lock = threading.Lock()  # cgroups are released from worker threads

    def environment(self) -> dict[str, str]:
        """What every child's environment must carry."""
        name, _, value = self.token.partition("=")
        return {name: value}

    def watch_group(self, pgid: int) -> None:
        self._note(f"g {pgid}", in_use=True)

    def forget_group(self, pgid: int) -> None:
        self._note(f"g {pgid}", in_use=False)

    def watch_cgroup(self, procs_file: str) -> None:
        self._note(f"c {procs_file}", in_use=True)

    def forget_cgroup(self, procs_file: str) -> None:
        self._note(f"c {procs_file}", in_use=False)

    def _note(self, what: str, *, in_use: bool) -> None:
        with self._lock:
            if in_use:
                self._live[what] = None
            else:
                self._live.pop(what, None)
            if self._proc is None or self._lines >= COMPACT_EVERY:
                self._restart_or_compact()
            else:
                os.write(self._fd, f"{'+' if in_use else '-'}{what}\n".encode())
                self._lines += 1

    def _restart_or_compact(self) -> None:
        """Write the registrations still in use to a fresh file (atomically: the guard reads
        the file by name) and start the guard if it is not running."""
        folder = os.path.dirname(self._path) if self._path else tempfile.gettempdir()
        fd, fresh = tempfile.mkstemp(prefix="mark1-guard-", suffix=".txt", dir=folder)
        os.write(fd, "".join(f"+{what}\n" for what in self._live).encode())
        if self._path:
            os.replace(fresh, self._path)  # ``fd`` now writes to the file under its name
            os.close(self._fd)
        else:
            self._path = fresh
        self._fd, self._lines = fd, len(self._live)
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                ["/bin/sh", "-c", _GUARD, _AWK, self.token, self._path],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the terminal must not stop the guard
            )
            atexit.register(self.release)

    def release(self) -> None:
        """At a normal exit: close the guard's input (it kills what is left) and reap it."""
        with self._lock:
            proc, self._proc = self._proc, None
            if self._fd >= 0:
                os.close(self._fd)
            self._fd, self._path, self._lines = -1, "", 0
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


_guards: dict[int, Guard] = {}


def guard() -> Guard:
    """This process's guard (a forked child, e.g. a Dask worker, gets its own)."""
    pid = os.getpid()
    if pid not in _guards:
        _guards[pid] = Guard()
    return _guards[pid]
