"""The ``ssh`` adapter: a capability is a command line run on a remote host over SSH.

The host is one the user configured (``mark1 remote add``); ``RunContext.remote`` carries its
connection settings. One connection per host and adapter session, reused by every execution
and closed when the session ends. Each execution:

* makes a private run folder on the remote (mode 0700, a random name under its ``$TMPDIR``);
* uploads, over SFTP, the files the inputs name (a path in the workspace keeps its relative
  place in the run folder, any other local file goes to ``.mark1-inputs/N/``) and rewrites
  those inputs to the remote paths;
* runs ``cd RUNDIR; <argv>`` (``shlex``-quoted) in a session of its own (``setsid``), with
  the plugin's granted environment set on the command line (``env K=V``), streaming its
  output as events; what it leaves running when it exits is killed;
* on timeout, cancellation or too much output, kills that remote process group (through a
  second command on the same connection: closing a channel does not stop a remote process);
* downloads the files the manifest says it ``produces`` into the local workspace and removes
  the run folder.

The remote needs a POSIX login shell and SFTP; ``setsid`` (util-linux) is used when present.
The run's time limit covers the remote command, not the file transfers.

Outputs are read as by the ``cli`` adapter: JSON on stdout, then the produced files. Host keys
are always checked (``known_hosts`` of the remote); failures to connect say what to fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
import secrets
import shlex
import socket
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from adapters.argv import build_argv
from adapters.base import (
    AdapterBase,
    CapabilitySpec,
    Notice,
    OutputLine,
    PluginResult,
    RunContext,
    RunStarted,
)
from adapters.process import (
    CHUNK,
    LINE_END,
    STDERR_LIMIT,
    STDOUT_LIMIT,
    HeadCapture,
    LineSink,
    TailCapture,
)
from adapters.subprocess_cli import (
    PROGRESS_PREFIX,
    collect_outputs,
    fill_template,
    parse_progress,
    settle_process,
)

CONNECT_TIMEOUT = 15.0
CLEANUP_TIMEOUT = 10.0
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
PID_FILE = ".mark1.pid"
RUSAGE_FILE = ".mark1.rusage"
# GNU time writes the run's CPU seconds (user, system) and peak memory (KiB) to RUSAGE_FILE.
_TIMED = ["/usr/bin/time", "-f", "%U %S %M", "-o", RUSAGE_FILE]
INPUTS_DIR = ".mark1-inputs"
# Runs in the remote session: note the pid (= process group, thanks to setsid), become argv.
_LAUNCH = "echo $$ > " + PID_FILE + ' && exec "$@"'
ErrorKind = Literal["host_key", "auth", "network", "setup"]


class SshError(Exception):
    """Connecting to (or working on) a remote failed; ``fix`` says what to do about it."""

    def __init__(self, message: str, fix: str, kind: ErrorKind = "network"):
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.kind = kind

    def __str__(self) -> str:
        return f"{self.message}; to fix: {self.fix}"


def _asyncssh() -> Any:
    """asyncssh, imported on first use. Its import names cryptography's DSA classes, which
    recent cryptography releases (51 here) deprecate with a warning at each mention: a warning
    about asyncssh's own code that no Mark-1 user can act on, so it is silenced for the import
    alone."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="DSA is deprecated", module="asyncssh")
            import asyncssh
    except ImportError:
        raise SshError(
            "the ssh adapter needs asyncssh, which is not installed",
            "pip install 'mark1[ssh]' (./scripts/setup installs it)",
            "setup",
        ) from None
    return asyncssh


def host_pattern(host: str, port: int) -> str:
    """How ``known_hosts`` names ``host`` on ``port``: ``host``, or ``[host]:port``."""
    return host if port == 22 else f"[{host}]:{port}"


def describe(remote: dict[str, Any]) -> str:
    """``user@host:port`` (or ``host:port``) of a remote's connection settings."""
    user = remote.get("user")
    return f"{user + '@' if user else ''}{remote['host']}:{int(remote.get('port') or 22)}"


def known_hosts_file(remote: dict[str, Any]) -> Path:
    return Path(remote.get("known_hosts") or DEFAULT_KNOWN_HOSTS).expanduser()


def known_keys(path: Path, host: str, port: int) -> int:
    """How many host keys ``path`` trusts for ``host`` on ``port`` (0 if none, or no file)."""
    asyncssh = _asyncssh()
    if not path.is_file():
        return 0
    try:
        trusted = asyncssh.read_known_hosts(str(path)).match(host, "", port)[0]
    except (OSError, ValueError):
        return 0
    return len(trusted)


async def fetch_host_key(host: str, port: int, timeout: float = CONNECT_TIMEOUT) -> tuple[str, str]:
    """The server's host key as a ``known_hosts`` line, and its SHA256 fingerprint.

    Nothing is verified here: the caller shows the fingerprint so the person can compare it
    with the one the host's administrator knows (``ssh-keygen -lf /etc/ssh/ssh_host_*.pub``).
    """
    asyncssh = _asyncssh()
    where = f"{host}:{port}"
    try:
        key = await asyncio.wait_for(asyncssh.get_server_host_key(host, port, config=None), timeout)
    except (OSError, asyncssh.Error) as exc:
        raise _network_error(exc, host, port, where, timeout) from None
    if key is None:
        raise SshError(f"{where} offered no host key", "check that it is an SSH server")
    public = key.export_public_key().decode().strip()
    return f"{host_pattern(host, port)} {public}", key.get_fingerprint()


async def connect(remote: dict[str, Any], timeout: float = CONNECT_TIMEOUT) -> Any:
    """An open ``asyncssh`` connection to ``remote``, host key checked, or an ``SshError``."""
    asyncssh = _asyncssh()
    host, port = remote["host"], int(remote.get("port") or 22)
    name = remote.get("name") or host
    where = describe(remote)
    known = known_hosts_file(remote)
    trust = (
        f"compare the host's fingerprint with its administrator, then "
        f"`mark1 remote remove {name}` and `mark1 remote add {name} --host {host} "
        f"--port {port} ... --trust-host-key` (or add its key to {known})"
    )
    if not known.is_file():
        raise SshError(
            f"cannot check the identity of {where}: the known_hosts file {known} does not exist",
            trust,
            "host_key",
        )
    options: dict[str, Any] = {
        "known_hosts": str(known),
        "config": None,  # the remote's settings are what `mark1 remote show` says, no more
        "connect_timeout": timeout,
        "keepalive_interval": 15,
        "keepalive_count_max": 4,
    }
    if remote.get("user"):
        options["username"] = remote["user"]
    key_path = remote.get("key_path")
    if key_path:
        if not Path(key_path).expanduser().is_file():
            raise SshError(
                f"the private key {key_path} of remote '{name}' does not exist",
                f"`mark1 remote remove {name}` and add it again with --key PATH",
                "setup",
            )
        options["client_keys"] = [str(Path(key_path).expanduser())]
    try:
        return await asyncssh.connect(host, port, **options)
    except asyncssh.HostKeyNotVerifiable:
        if known_keys(known, host, port):
            raise SshError(
                f"the host key of {where} does NOT match the one recorded in {known}: the "
                "server was reinstalled, or someone is intercepting the connection",
                f"only if the change is expected, forget the old key (ssh-keygen -R "
                f"'{host_pattern(host, port)}' -f {known}) and trust the new one with "
                f"`mark1 remote add {name} ... --trust-host-key` after `mark1 remote remove {name}`",
                "host_key",
            ) from None
        raise SshError(
            f"the host key of {where} is unknown (not in {known}), so Mark-1 cannot tell it "
            "is the right machine",
            trust,
            "host_key",
        ) from None
    except asyncssh.PermissionDenied:
        user = remote.get("user") or _local_user()
        raise SshError(
            f"{where} refused the login of '{user}' (authentication failed)",
            f"check the user (--user) and the key (--key {key_path or '~/.ssh/id_*'}); its "
            f"public half must be in ~{user}/.ssh/authorized_keys on {host}",
            "auth",
        ) from None
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
        raise SshError(
            f"cannot use the private key {key_path}: {exc}",
            "use a key without a passphrase, or leave --key out and load the key into "
            "ssh-agent (ssh-add)",
            "auth",
        ) from None
    except (OSError, asyncssh.Error) as exc:
        raise _network_error(exc, host, port, where, timeout) from None


def _network_error(
    exc: BaseException, host: str, port: int, where: str, timeout: float
) -> SshError:
    text = str(exc)
    if isinstance(exc, TimeoutError):
        return SshError(
            f"{host}:{port} did not answer within {timeout:g} s",
            "check that the host is up and reachable from here (VPN, firewall, --port)",
        )
    if isinstance(exc, socket.gaierror):
        return SshError(f"cannot resolve the host name '{host}'", "check --host")
    if isinstance(exc, ConnectionRefusedError) or "Connect call failed" in text:
        return SshError(
            f"nothing accepts SSH connections at {host}:{port} (connection refused)",
            f"check --host and --port, and that sshd runs on {host}",
        )
    reason = getattr(exc, "reason", "") or text or type(exc).__name__
    return SshError(f"cannot connect to {where}: {reason}", "check the host and try again")


def _local_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "the local user"


async def probe(remote: dict[str, Any], timeout: float = CONNECT_TIMEOUT) -> dict[str, float]:
    """Connect and run ``true``; how long each took, in milliseconds."""
    asyncssh = _asyncssh()  # imported before the clock starts
    started = time.monotonic()
    conn = await connect(remote, timeout)
    try:
        connected = time.monotonic()
        try:
            done = await asyncio.wait_for(conn.run("true", check=False), timeout)
        except (OSError, asyncssh.Error) as exc:
            raise SshError(
                f"connected to {describe(remote)} but could not run a command: {exc}",
                "check that the account has a working login shell",
            ) from None
        finished = time.monotonic()
    finally:
        conn.close()
        await conn.wait_closed()
    if done.exit_status != 0:
        raise SshError(
            f"`true` exited with status {done.returncode} on {describe(remote)}",
            "check the account's login shell and its startup files",
            "setup",
        )
    return {
        "connect_ms": round((connected - started) * 1000, 1),
        "command_ms": round((finished - connected) * 1000, 1),
        "total_ms": round((finished - started) * 1000, 1),
    }


class SshAdapter(AdapterBase):
    """Runs ``ssh`` entry points; keeps one connection per remote while the session is open."""

    def __init__(self) -> None:
        self.sessions: dict[tuple[Any, ...], _Session] = {}

    async def aclose(self) -> None:
        for session in self.sessions.values():
            await session.close()
        self.sessions.clear()

    async def execute(
        self, spec: CapabilitySpec, inputs: dict[str, Any], context: RunContext
    ) -> PluginResult:
        remote = context.remote
        if not remote:
            host = spec.entry.get("host", "?")
            return PluginResult(
                "failed",
                error=f"no connection settings for the remote '{host}'; to fix: "
                f"`mark1 remote add {host} --host HOSTNAME --trust-host-key`",
            )
        try:
            session = await self._session(remote, context)
        except SshError as exc:
            return PluginResult("failed", command=["ssh", describe(remote)], error=str(exc))
        asyncssh = _asyncssh()
        run = _RemoteRun(session, remote, spec, inputs, context)
        try:
            return await run.execute()
        except SshError as exc:
            return run.failed(str(exc))
        except asyncssh.SFTPError as exc:
            return run.failed(f"copying files to or from {describe(remote)} failed: {exc.reason}")
        except (asyncssh.Error, ConnectionError) as exc:
            reason = getattr(exc, "reason", "") or str(exc) or type(exc).__name__
            return run.failed(
                f"the connection to {describe(remote)} failed during the run: {reason}"
            )
        except OSError as exc:  # here, e.g. the workspace is not writable
            return run.failed(f"{exc.filename or 'a local file'}: {exc.strerror or exc}")
        finally:
            await asyncio.shield(run.clean_up())

    async def _session(self, remote: dict[str, Any], context: RunContext) -> _Session:
        key = tuple(remote.get(k) for k in ("host", "port", "user", "key_path", "known_hosts"))
        session = self.sessions.get(key)
        if session is not None and not session.conn.is_closed():
            return session
        session = await _Session.open(remote)
        self.sessions[key] = session
        context.emit(
            Notice(
                f"running on the remote '{remote.get('name') or remote['host']}' "
                f"({describe(remote)}); Mark-1's sandbox does not apply there"
            )
        )
        return session


@dataclass
class _Session:
    """An open connection, its SFTP channel, and what its host offers (temp folder, setsid)."""

    conn: Any
    sftp: Any
    tmp: str
    setsid: bool
    gnu_time: bool = False

    @classmethod
    async def open(cls, remote: dict[str, Any]) -> _Session:
        asyncssh = _asyncssh()
        conn = await connect(remote)
        try:  # markers: a chatty shell startup file may print before us
            found = await conn.run(
                """printf 'MARK1_TMP=%s\\nMARK1_SETSID=%s\\nMARK1_TIME=%s\\n' "${TMPDIR:-/tmp}" """
                '"$(command -v setsid)" '
                '"$(/usr/bin/time -f %U -o /dev/null true 2>/dev/null && echo gnu)"',
                check=False,
            )
            facts = dict(
                line.partition("=")[::2]
                for line in str(found.stdout or "").splitlines()
                if line.startswith("MARK1_")
            )
            sftp = await conn.start_sftp_client()
        except (OSError, asyncssh.Error) as exc:
            conn.close()
            raise SshError(
                f"connected to {describe(remote)} but cannot work there: {exc}",
                "the account needs a POSIX login shell, and the server SFTP "
                "(Subsystem sftp in sshd_config)",
                "setup",
            ) from None
        tmp = facts.get("MARK1_TMP", "").strip()
        return cls(
            conn,
            sftp,
            tmp if tmp.startswith("/") else "/tmp",
            bool(facts.get("MARK1_SETSID")),
            facts.get("MARK1_TIME", "").strip() == "gnu",
        )

    async def run(self, command: str) -> None:
        """Run a housekeeping command, ignoring how it ends (best effort, bounded)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.conn.run(command, check=False), CLEANUP_TIMEOUT)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            self.sftp.exit()
        self.conn.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.conn.wait_closed(), CLEANUP_TIMEOUT)


@dataclass
class _Upload:
    local: Path
    remote: str  # absolute path on the remote
    view: str  # the input value as seen from the local workspace after the run


@dataclass
class _RemoteRun:
    """One execution on a connected remote, from run folder to clean-up."""

    session: _Session
    remote: dict[str, Any]
    spec: CapabilitySpec
    inputs: dict[str, Any]
    context: RunContext
    rundir: str | None = None
    argv: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def failed(self, error: str) -> PluginResult:
        return PluginResult(
            "failed",
            command=self.shown_command(),
            error=error,
            metrics={"duration_s": round(time.monotonic() - self.started, 4)},
        )

    def shown_command(self) -> list[str]:
        return ["ssh", describe(self.remote), *self.argv]

    async def execute(self) -> PluginResult:
        context = self.context
        context.workdir.mkdir(parents=True, exist_ok=True)
        await self._make_rundir()
        assert self.rundir is not None
        remote_inputs, view = await self._upload_inputs()
        self.argv = build_argv(
            self.spec.entry["command"],
            remote_inputs,
            self.spec.parameters,
            self.spec.entry.get("args"),
        )
        context.emit(RunStarted(self.shown_command()))
        done = await self._run(self._command())
        result = PluginResult(
            "succeeded",
            exit_code=done.exit_code,
            stdout=done.stdout,
            stderr=done.stderr,
            command=self.shown_command(),
            metrics={
                "duration_s": round(time.monotonic() - self.started, 4),
                **await self._usage(),
            },
        )
        settle_process(result, done, context.timeout)
        if result.ok:
            problem = await self._download_produced(view)
            if problem:
                result.status, result.error = "failed", problem
            else:
                collect_outputs(self.spec, view, context.workdir, result)
        return result

    async def _usage(self) -> dict[str, float]:
        """CPU seconds and peak memory measured on the remote by GNU time, when it has it."""
        if not self.session.gnu_time or self.rundir is None:
            return {}
        try:
            async with self.session.sftp.open(posixpath.join(self.rundir, RUSAGE_FILE)) as f:
                words = str(await f.read()).split()
            user, system, peak_kib = (float(w) for w in words[-3:])
        except (OSError, ValueError, _asyncssh().SFTPError):
            return {}
        return {"cpu_s": round(user + system, 4), "peak_memory_bytes": int(peak_kib * 1024)}

    async def _make_rundir(self) -> None:
        asyncssh = _asyncssh()
        folder = posixpath.join(self.session.tmp, f"mark1-run.{secrets.token_hex(6)}")
        try:
            await self.session.sftp.mkdir(folder, asyncssh.SFTPAttrs(permissions=0o700))
        except asyncssh.SFTPError as exc:
            raise SshError(
                f"cannot make a run folder in {self.session.tmp} on {describe(self.remote)}: "
                f"{exc.reason}",
                "make sure $TMPDIR (or /tmp) exists on the remote and the account may write there",
                "setup",
            ) from None
        self.rundir = folder

    def _command(self) -> str:
        """The remote shell command: in the run folder, in a process group of its own (whose
        id is written to PID_FILE, so it can be killed), with the granted environment."""
        assert self.rundir is not None
        env = {"PYTHONUNBUFFERED": "1", "MARK1_WORKDIR": self.rundir, **self.context.env}
        pairs = [f"{k}={v}" for k, v in env.items()]
        timed = _TIMED if self.session.gnu_time else []
        launch = shlex.join(["sh", "-c", _LAUNCH, "mark1", *timed, "env", *pairs, *self.argv])
        enter = f"cd {shlex.quote(self.rundir)} || exit 125"
        if not self.session.setsid:  # sshd made the login shell a group leader: exec keeps it
            return f"{enter}; exec {launch}"
        # setsid -w returns the program's status; then whatever it left behind is killed
        return f"{enter}; setsid -w {launch}; s=$?; {_kill_group('KILL')}; exit $s"

    # ---- files ------------------------------------------------------------------------------

    def _local_file(self, value: str) -> Path | None:
        if not value or "\0" in value:
            return None
        path = Path(value) if os.path.isabs(value) else self.context.workdir / value
        try:
            return path.resolve() if path.is_file() else None
        except OSError:
            return None

    def _plan(self, value: str, uploads: list[_Upload]) -> tuple[str, str]:
        """``value`` as the remote command sees it and as the local workspace sees it.

        A file in the workspace keeps its relative place in the run folder (a relative value
        stays as it is), any other local file goes to ``.mark1-inputs/N/``; an absolute path
        into the workspace that is no file (an output, say) points into the run folder.
        """
        assert self.rundir is not None
        workdir = self.context.workdir.resolve()
        local = self._local_file(value)
        if local is None:
            if os.path.isabs(value) and "\0" not in value:
                inside = Path(value).resolve()
                if inside.is_relative_to(workdir):
                    relative = inside.relative_to(workdir).as_posix()
                    return posixpath.join(self.rundir, relative), relative
            return value, value
        known = next((u for u in uploads if u.local == local), None)
        if known is None:
            if local.is_relative_to(workdir):
                relative = local.relative_to(workdir).as_posix()
            else:
                relative = f"{INPUTS_DIR}/{len(uploads)}/{local.name}"
            known = _Upload(local, posixpath.join(self.rundir, relative), relative)
            uploads.append(known)
        if not os.path.isabs(value) and known.view == posixpath.normpath(value):
            return value, value
        return known.remote, known.view

    async def _upload_inputs(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Upload the local files the inputs name; the inputs for the remote and the local view."""
        uploads: list[_Upload] = []
        remote_inputs: dict[str, Any] = {}
        view: dict[str, Any] = {}
        for name, value in self.inputs.items():
            if isinstance(value, str):
                remote_inputs[name], view[name] = self._plan(value, uploads)
            elif isinstance(value, list) and any(isinstance(v, str) for v in value):
                pairs = [self._plan(v, uploads) if isinstance(v, str) else (v, v) for v in value]
                remote_inputs[name] = [p[0] for p in pairs]
                view[name] = [p[1] for p in pairs]
            else:
                remote_inputs[name] = view[name] = value
        sftp = self.session.sftp
        for upload in uploads:
            await sftp.makedirs(posixpath.dirname(upload.remote), exist_ok=True)
            await sftp.put(str(upload.local), upload.remote)
        return remote_inputs, view

    async def _download_produced(self, view: dict[str, Any]) -> str | None:
        """Bring the files the manifest says the capability produces into the workspace."""
        assert self.rundir is not None
        wanted = []
        for produced in self.spec.produces:
            pattern = fill_template(produced["path"], view)
            if pattern is None:
                continue  # a named input was not given: the collection below reports it
            if os.path.isabs(pattern) or ".." in Path(pattern).parts:
                return (
                    f"declared output '{produced['name']}' ({pattern}) is outside the "
                    "workspace; an ssh capability's files come back into the workspace only"
                )
            wanted.append(pattern)
        if not wanted:
            return None
        workdir = self.context.workdir
        sftp = self.session.sftp
        for pattern in wanted:
            found = await sftp.glob(posixpath.join(self.rundir, pattern), error_handler=False)
            for remote_path in map(str, found):
                if await sftp.islink(remote_path) or not await sftp.isfile(remote_path):
                    continue  # only regular files: a link could point anywhere here
                relative = posixpath.relpath(remote_path, self.rundir)
                if relative.startswith("..") or relative == PID_FILE:
                    continue
                local = workdir / relative
                local.parent.mkdir(parents=True, exist_ok=True)
                await sftp.get(remote_path, str(local))
        return None

    # ---- the process ------------------------------------------------------------------------

    async def _run(self, command: str) -> _Outcome:
        asyncssh = _asyncssh()
        context = self.context
        process = await self.session.conn.create_process(
            command, encoding=None, stdin=asyncssh.DEVNULL
        )
        out, err = HeadCapture(STDOUT_LIMIT), TailCapture(STDERR_LIMIT)
        budget = [context.output_limit]

        def on_line(stream: str, text: str) -> None:
            progress = parse_progress(text)
            if progress is not None:
                context.emit(progress)
                if text.startswith(PROGRESS_PREFIX):
                    return
            context.emit(OutputLine(stream, text))  # type: ignore[arg-type]

        pumps = asyncio.gather(
            _pump(process.stdout, out, "stdout", on_line, budget),
            _pump(process.stderr, err, "stderr", on_line, budget),
        )
        outcome = _Outcome()
        finished = False
        try:
            await asyncio.wait_for(_finish(pumps, process), context.timeout)
            finished = True
        except TimeoutError:
            outcome.timed_out = True
        except _OutputExceeded:
            outcome.output_exceeded = True
        finally:
            if not finished:  # timed out, printed too much, or cancelled: stop it there
                await asyncio.shield(self._stop(process))
            pumps.cancel()
            with contextlib.suppress(asyncio.CancelledError, _OutputExceeded):
                await pumps
            process.close()
        outcome.exit_code = process.returncode
        outcome.stdout, outcome.stderr = out.text(), err.text()
        outcome.stdout_truncated = out.truncated
        return outcome

    async def _stop(self, process: Any) -> None:
        """SIGTERM the remote process group, SIGKILL it after the grace period."""
        assert self.rundir is not None
        folder = shlex.quote(self.rundir)
        await self.session.run(f"cd {folder} && {_kill_group('TERM')}")
        with contextlib.suppress(TimeoutError, OSError):
            await asyncio.wait_for(process.wait_closed(), self.context.kill_grace)
        await self.session.run(f"cd {folder} && {_kill_group('KILL')}")

    async def clean_up(self) -> None:
        """Remove the run folder (and, without setsid, kill what the run left behind)."""
        if self.rundir is None or self.session.conn.is_closed():
            return
        folder = shlex.quote(self.rundir)
        if not self.session.setsid:
            await self.session.run(f"cd {folder} && {_kill_group('KILL')}")
        try:
            await asyncio.wait_for(self.session.sftp.rmtree(self.rundir), CLEANUP_TIMEOUT)
        except Exception:  # e.g. a folder the plugin made unreadable: let rm try harder
            await self.session.run(f"chmod -R u+rwx {folder}; rm -rf {folder}")


def _kill_group(signal: str) -> str:
    """Shell words that send ``signal`` to the run's process group (run in the run folder)."""
    return f'p=$(cat {PID_FILE} 2>/dev/null) && kill -{signal} -- "-$p" 2>/dev/null'


@dataclass
class _Outcome:
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    output_exceeded: bool = False
    stdout_truncated: bool = False


class _OutputExceeded(Exception):
    """The remote command printed more than the run may print."""


async def _finish(pumps: asyncio.Future[Any], process: Any) -> None:
    await asyncio.shield(pumps)
    await process.wait_closed()


async def _pump(
    reader: Any, capture: HeadCapture, name: str, on_line: LineSink, budget: list[int]
) -> None:
    """Copy a remote stream into ``capture``, handing complete lines to ``on_line``."""
    pending = b""
    while chunk := await reader.read(CHUNK):
        capture.add(chunk)
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise _OutputExceeded()
        pending += chunk
        *lines, pending = LINE_END.split(pending)
        for line in lines:
            on_line(name, line.decode("utf-8", errors="replace"))
        if len(pending) > CHUNK:
            on_line(name, pending.decode("utf-8", errors="replace"))
            pending = b""
    if pending:
        on_line(name, pending.decode("utf-8", errors="replace"))
