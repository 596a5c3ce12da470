"""Servers Mark-1 starts itself for a plugin: "start a local one" in the setup wizard.

A person without a database server should not have to install, configure and secure one to
try a plugin. Mark-1 runs a private one instead, from the programs Debian packages install:
an SQLite file, a PostgreSQL cluster (``initdb`` once, then ``pg_ctl``) or a ``redis-server``,
listening on 127.0.0.1 only, on a free port, with a generated password. Everything lives in
the service's own folder; ``service.json`` (mode 0600) keeps the port and password so a
restart reuses the same data and URL.

Each server's process group is registered with Mark-1's guard (``adapters.guard``): when
Mark-1 ends without stopping them, even when it is killed, they are killed too rather than
left running unnoticed. (The guard's environment token is not enough alone: both servers
overwrite their environment's memory with their process title.) PostgreSQL recovers from its
write-ahead log at the next start.

PostgreSQL refuses to run as root. As root, its programs run as the Debian ``postgres`` user
(through ``runuser``) and its data lives in that user's home (``~postgres/mark1/<hash of the
folder>``): root's own folders are private, and the server could not reach a folder inside
them.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import hashlib
import json
import os
import pwd
import secrets
import shlex
import shutil
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self

from adapters.guard import guard
from adapters.process import ProcessOutcome, run_process
from assistant.errors import UserError
from assistant.plugins.services import probe_url

KINDS = {
    "sqlite": "sqlite", "sqlite3": "sqlite", "postgresql": "postgresql", "postgres": "postgresql",
    "redis": "redis",
}  # fmt: skip
STATE_FILE = "service.json"
SOCKET_PATH_MAX = 100  # a Unix socket's path must fit in 108 bytes, its name included
START_TIMEOUT = 120.0


class LocalServiceError(UserError):
    """A local server could not be prepared, started or stopped; the hint names its log."""


class LocalService(abc.ABC):
    """A server that Mark-1 runs for one plugin, with its data in ``folder`` (which belongs to
    the service). ``url`` includes the credentials: give it to the plugin, never print it."""

    kind: ClassVar[str]

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running = False

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """The URL the plugin connects to, password included."""

    async def start(self) -> None:
        """Start the server (creating its data the first time); nothing if it runs."""
        if not self.running:
            await self._start()
            self.running = True

    async def stop(self) -> None:
        """Stop the server; its data stays for the next start."""
        if self.running:
            await self._stop()
            self.running = False

    async def remove(self) -> None:
        """Stop the server and delete its data, e.g. when the plugin is uninstalled."""
        await self.stop()
        await asyncio.to_thread(shutil.rmtree, self.folder, ignore_errors=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @abc.abstractmethod
    async def _start(self) -> None: ...

    @abc.abstractmethod
    async def _stop(self) -> None: ...


def local_service(kind: str, folder: Path) -> LocalService | None:
    """The local server of ``kind`` (sqlite, postgresql, redis) keeping its data in
    ``folder``, not yet started; None when it cannot run here (``why_not_local`` says why)."""
    factory, _ = _factory(kind)
    return factory(folder) if factory is not None else None


def why_not_local(kind: str) -> str | None:
    """Why a local server of ``kind`` cannot run on this machine, with what to install;
    None when it can. The wizard shows this instead of offering "start a local one"."""
    return _factory(kind)[1]


def _factory(kind: str) -> tuple[Callable[[Path], LocalService] | None, str | None]:
    name = KINDS.get(kind.lower())
    if name == "sqlite":
        return LocalSqlite, None
    if name == "postgresql":
        return _postgres_factory()
    if name == "redis":
        program = shutil.which("redis-server")
        if program is None:
            return None, "Redis is not installed: sudo apt-get install redis-server"
        return functools.partial(LocalRedis, program=program), None
    return None, (
        f"Mark-1 starts sqlite, postgresql and redis servers itself, not {kind}: use an "
        f"existing {kind} server"
    )


def _postgres_factory() -> tuple[Callable[[Path], LocalService] | None, str | None]:
    bindir = postgres_bindir()
    if bindir is None:
        return None, "PostgreSQL is not installed: sudo apt-get install postgresql"
    owner = None
    if os.geteuid() == 0:
        with contextlib.suppress(KeyError):
            owner = pwd.getpwnam("postgres")
        if owner is None or shutil.which("runuser") is None:
            return None, (
                "PostgreSQL refuses to run as root and there is no 'postgres' user to run it "
                "as: sudo apt-get install postgresql util-linux, or run Mark-1 as a normal user"
            )
    return functools.partial(LocalPostgres, bindir=bindir, owner=owner), None


def postgres_bindir() -> Path | None:
    """The folder with ``initdb``, ``pg_ctl`` and ``postgres``: Debian keeps them out of PATH,
    in ``/usr/lib/postgresql/<version>/bin``. ``pg_config`` names it first, then the newest
    Debian version, then PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        done = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False, timeout=30
        )
        candidates.append(Path(done.stdout.strip()))
    versions = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    candidates += sorted(versions, key=lambda p: int(p.parent.name), reverse=True)
    initdb = shutil.which("initdb")
    if initdb is not None:
        candidates.append(Path(initdb).parent)
    tools = ("initdb", "pg_ctl", "postgres")
    return next((d for d in candidates if all((d / t).is_file() for t in tools)), None)


class LocalSqlite(LocalService):
    """An SQLite file: nothing to run, so start only creates the file and stop does nothing."""

    kind = "sqlite"

    @property
    def path(self) -> Path:
        return self.folder / "data.db"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"  # four slashes before an absolute path, as SQLAlchemy

    async def _start(self) -> None:
        await asyncio.to_thread(self._create)

    def _create(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(self.path).close()

    async def _stop(self) -> None:
        return None


class _Server(LocalService):
    """A network server on 127.0.0.1 with a password, both kept in ``service.json``."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        state = _read_state(folder)
        self.password: str = state.get("password") or secrets.token_urlsafe(24)
        self.port: int = state.get("port") or _free_port()
        self._group: int | None = None

    def _watch(self, leader: int) -> None:
        """Have the guard kill the server's process group if Mark-1 ends before ``stop``."""
        self._group = leader
        guard().watch_group(leader)

    def _forget(self) -> None:
        if self._group is not None:
            guard().forget_group(self._group)
            self._group = None

    def _settle_port(self) -> None:
        """Keep the stored port (and so the URL) unless another program took it meanwhile."""
        if not _port_free(self.port):
            self.port = _free_port()
        _write_state(self.folder, {"kind": self.kind, "port": self.port, "password": self.password})


class LocalPostgres(_Server):
    """A PostgreSQL cluster of its own: superuser ``mark1`` with a generated password
    (scram-sha-256), database ``mark1``, TCP on 127.0.0.1 and a socket in its folder."""

    kind = "postgresql"
    user = database = "mark1"

    def __init__(self, folder: Path, *, bindir: Path, owner: pwd.struct_passwd | None) -> None:
        super().__init__(folder)
        self.bindir, self.owner = bindir, owner
        self.home = folder if owner is None else _home_of(owner, folder)
        self.data_dir = self.home / "pgdata"
        self.log = self.home / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    async def _start(self) -> None:
        await asyncio.to_thread(self._make_home)
        if not (self.data_dir / "PG_VERSION").exists():
            await self._initdb()
        already = (await self._pg_ctl("status", check=False)).exit_code == 0
        if not already:  # else left running by an earlier start: keep it and its port
            self._settle_port()
            await self._pg_ctl("start", "-w", "-l", str(self.log), "-o", self._options())
        self._watch(await asyncio.to_thread(self._postmaster_pid))  # it leads its own session
        await self._create_database()

    async def _stop(self) -> None:
        await self._pg_ctl("stop", "-w", "-m", "fast")
        self._forget()

    def _postmaster_pid(self) -> int:
        return int((self.data_dir / "postmaster.pid").read_text(encoding="utf-8").split()[0])

    async def remove(self) -> None:
        await super().remove()
        await asyncio.to_thread(shutil.rmtree, self.home, ignore_errors=True)

    def _make_home(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self.owner is not None:
            for folder in (self.home.parent, self.home):
                os.chown(folder, self.owner.pw_uid, self.owner.pw_gid)

    async def _initdb(self) -> None:
        """Create the cluster; the password goes through a file only initdb reads, deleted
        right after, never on a command line (``ps`` shows those to everyone)."""
        pwfile = self.home / "pwfile"
        _write_private(pwfile, self.password, self.owner)
        try:
            await self._run(
                str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", self.user,
                f"--pwfile={pwfile}", "--auth=scram-sha-256", "--encoding=UTF8", "--no-locale",
            )  # fmt: skip
        finally:
            pwfile.unlink(missing_ok=True)

    def _options(self) -> str:
        """Server settings for ``pg_ctl -o`` (which hands them to a shell: hence quoting)."""
        socket_dir = str(self.home)
        if len(f"{socket_dir}/.s.PGSQL.{self.port}") > SOCKET_PATH_MAX:
            socket_dir = ""  # TCP only; the default folder (/run/postgresql) is not ours
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": socket_dir,
        }
        return " ".join(f"-c {shlex.quote(f'{k}={v}')}" for k, v in settings.items())

    async def _pg_ctl(self, *args: str, check: bool = True) -> ProcessOutcome:
        return await self._run(
            str(self.bindir / "pg_ctl"), args[0], "-D", str(self.data_dir), *args[1:], check=check
        )

    async def _run(self, *argv: str, check: bool = True) -> ProcessOutcome:
        """Run a PostgreSQL program, as the ``postgres`` user when Mark-1 runs as root."""
        runner = ["runuser", "-u", self.owner.pw_name, "--"] if self.owner else []
        done = await run_process(
            [*runner, *argv], cwd=self.home, env=_tool_env(), timeout=START_TIMEOUT
        )
        if check and done.exit_code != 0:
            said = _tail(done.stderr or done.stdout) or f"exit code {done.exit_code}"
            raise LocalServiceError(
                f"{Path(argv[0]).name} failed for the local PostgreSQL in {self.home}: {said}",
                hint=f"the end of its log, {self.log}: {_tail(_read_log(self.log))}",
            )
        return done

    async def _create_database(self) -> None:
        import psycopg
        from psycopg import sql

        admin = self.url.rpartition("/")[0] + "/postgres"
        try:
            conn = await psycopg.AsyncConnection.connect(admin, autocommit=True)
        except psycopg.OperationalError as exc:  # e.g. service.json deleted, data kept
            raise LocalServiceError(
                f"cannot log in to the local PostgreSQL in {self.home}: {exc}",
                hint=f"if {self.folder / STATE_FILE} was lost, delete {self.home} to start "
                "afresh (its data is lost with it)",
            ) from None
        async with conn:
            found = await conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            )
            if await found.fetchone() is None:
                await conn.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database))
                )


class LocalRedis(_Server):
    """A ``redis-server`` with a password, its configuration (which holds the password) in a
    0600 file rather than on the command line, its snapshot and log in the folder."""

    kind = "redis"

    def __init__(self, folder: Path, *, program: str) -> None:
        super().__init__(folder)
        self.program = program
        self.log = folder / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    async def _start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._settle_port()
        config = self.folder / "redis.conf"
        _write_private(config, self._config(), None)
        self._process = subprocess.Popen(
            [self.program, str(config)],
            cwd=self.folder,
            env=_tool_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._watch(self._process.pid)
        await self._ready()

    def _config(self) -> str:
        settings = {
            "bind": "127.0.0.1",
            "port": str(self.port),
            "requirepass": self.password,
            "dir": str(self.folder),
            "logfile": str(self.log),
            "daemonize": "no",
        }
        return "".join(f"{key} {json.dumps(value)}\n" for key, value in settings.items())

    async def _ready(self, within: float = 30.0) -> None:
        """Wait until the server answers (it has no "ready" signal), or say why it ended."""
        assert self._process is not None
        deadline = time.monotonic() + within
        while not (await probe_url(self.url, timeout=1.0)).ok:
            if self._process.poll() is not None or time.monotonic() > deadline:
                await self._stop()
                raise LocalServiceError(
                    f"the local Redis in {self.folder} did not start",
                    hint=f"the end of its log, {self.log}: {_tail(_read_log(self.log))}",
                )
            await asyncio.sleep(0.02)

    async def _stop(self) -> None:
        """SIGTERM: Redis saves its snapshot and exits; SIGKILL if it has not within 10 s."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 10)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
        self._forget()


def _read_state(folder: Path) -> dict[str, Any]:
    path = folder / STATE_FILE
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise LocalServiceError(
            f"cannot read {path}: {exc}",
            hint=f"it holds the local server's port and password; delete {folder} to start "
            "afresh (its data is lost with it)",
        ) from None
    return state


def _read_log(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(empty)"


def _tail(text: str, lines: int = 3) -> str:
    """The last lines of a program's output on one line: where the reason usually is."""
    return " / ".join(text.strip().splitlines()[-lines:])


def _write_state(folder: Path, state: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = folder / f".{STATE_FILE}.new"
    _write_private(partial, json.dumps(state, indent=2), None)
    partial.replace(folder / STATE_FILE)


def _write_private(path: Path, text: str, owner: pwd.struct_passwd | None) -> None:
    """Write ``text`` to a file only its owner can read (created so, never briefly open)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        if owner is not None:
            os.fchown(out.fileno(), owner.pw_uid, owner.pw_gid)
        out.write(text)


def _home_of(owner: pwd.struct_passwd, folder: Path) -> Path:
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return Path(owner.pw_dir) / "mark1" / digest


def _tool_env() -> dict[str, str]:
    """A scrubbed environment: servers need no secrets or settings of Mark-1's."""
    return {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    """Whether a server could listen on ``port`` (servers set SO_REUSEADDR, so do we)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
