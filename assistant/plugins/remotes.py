"""The remote hosts ``ssh`` capabilities run on, by name (``mark1 remote add gpu --host ...``).

A manifest's ssh entry point names a remote (``host: gpu``); the user says once where that is
and how to log in. Host keys are always checked: against the user's ``~/.ssh/known_hosts`` by
default, a file of their choice, or Mark-1's own ``known_hosts`` (in the data folder) where
``--trust-host-key`` records a key it fetched after showing its fingerprint.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.ssh_remote import DEFAULT_KNOWN_HOSTS, host_pattern
from assistant import paths
from assistant.errors import NotFoundError, UserError
from assistant.located_yaml import NAME_PATTERN
from memory.store import Store


@dataclass(frozen=True)
class Remote:
    """A configured host: where it is, who logs in, with which key, which host keys to trust."""

    id: int
    name: str
    host: str
    port: int
    user: str | None
    key_path: str | None
    known_hosts_path: str | None
    created_at: float

    @property
    def known_hosts(self) -> Path:
        return Path(self.known_hosts_path or DEFAULT_KNOWN_HOSTS).expanduser()

    def connection(self) -> dict[str, Any]:
        """The settings the ssh adapter connects with (``RunContext.remote``)."""
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "key_path": self.key_path,
            "known_hosts": str(self.known_hosts),
        }

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description for ``--json`` output."""
        return self.connection() | {"created_at": self.created_at}


def own_known_hosts() -> Path:
    """Mark-1's own known_hosts file, where ``--trust-host-key`` records host keys."""
    return paths.data_dir() / "ssh" / "known_hosts"


def _remote(row: Any) -> Remote:
    return Remote(
        id=row["id"],
        name=row["name"],
        host=row["host"],
        port=row["port"],
        user=row["user"],
        key_path=row["key_path"],
        known_hosts_path=row["known_hosts_path"],
        created_at=row["created_at"],
    )


async def get_remote(store: Store, name: str) -> Remote | None:
    row = await store.fetchone("SELECT * FROM remotes WHERE name = ?", (name,))
    return _remote(row) if row else None


async def require_remote(store: Store, name: str) -> Remote:
    found = await get_remote(store, name)
    if found is None:
        names = [r.name for r in await list_remotes(store)]
        raise NotFoundError(
            f"no remote named '{name}'",
            hint=("configured: " + ", ".join(names))
            if names
            else f"add it with `mark1 remote add {name} --host HOSTNAME`",
        )
    return found


async def list_remotes(store: Store) -> list[Remote]:
    return [_remote(r) for r in await store.fetchall("SELECT * FROM remotes ORDER BY name")]


def check_new(name: str, host: str, port: int) -> None:
    """Refuse a name, host or port that cannot work, before anything is fetched or stored."""
    if not re.match(NAME_PATTERN, name):
        raise UserError(
            f"'{name}' is not a valid remote name",
            hint="use lower-case letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
    if not host or host.startswith("-") or any(c.isspace() for c in host):
        raise UserError(f"'{host}' is not a host name or address", hint="e.g. --host gpu.lan")
    if not 1 <= port <= 65535:
        raise UserError(f"port {port} is out of range", hint="SSH listens on port 22 by default")


async def add_remote(
    store: Store,
    name: str,
    host: str,
    *,
    port: int = 22,
    user: str | None = None,
    key_path: Path | None = None,
    known_hosts_path: Path | None = None,
) -> Remote:
    """Record a remote; its name must be new. Paths are stored absolute."""
    check_new(name, host, port)
    key = _absolute(key_path)
    if key is not None and not os.path.isfile(key):
        raise UserError(f"no private key at {key}", hint="give the key file with --key PATH")
    known = _absolute(known_hosts_path)
    async with store.transaction() as db:
        rows = await db.execute_fetchall("SELECT host, port FROM remotes WHERE name = ?", (name,))
        if rows:
            raise UserError(
                f"a remote named '{name}' already exists",
                hint=f"`mark1 remote remove {name}` first, or choose another name",
            )
        await db.execute(
            "INSERT INTO remotes(name, host, port, user, key_path, known_hosts_path, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (name, host, port, user or None, key, known, time.time()),
        )
    return await require_remote(store, name)


async def remove_remote(store: Store, name: str) -> Remote:
    """Forget a remote, and the host key Mark-1 trusted for it unless another remote needs it."""
    found = await require_remote(store, name)
    async with store.transaction() as db:
        await db.execute("DELETE FROM remotes WHERE id = ?", (found.id,))
    own = own_known_hosts()
    if found.known_hosts == own:
        others = [r for r in await list_remotes(store) if r.known_hosts == own]
        if not any((r.host, r.port) == (found.host, found.port) for r in others):
            forget_host_key(own, found.host, found.port)
    return found


def trust_host_key(path: Path, pattern: str, line: str) -> None:
    """Record ``line`` (``PATTERN KEYTYPE BASE64``) in ``path``, replacing older keys for it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    kept = [entry for entry in _lines(path) if not _names(entry, pattern)]
    _write(path, [*kept, line])


def forget_host_key(path: Path, host: str, port: int) -> None:
    pattern = host_pattern(host, port)
    lines = _lines(path)
    kept = [entry for entry in lines if not _names(entry, pattern)]
    if kept != lines:
        _write(path, kept)


def _names(entry: str, pattern: str) -> bool:
    fields = entry.split()
    return bool(fields) and not entry.startswith("#") and pattern in fields[0].split(",")


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []


def _write(path: Path, lines: list[str]) -> None:
    """Replace the file atomically, so a reader never sees half of it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text("".join(f"{entry}\n" for entry in lines), encoding="utf-8")
    temporary.chmod(0o644)
    os.replace(temporary, path)


def _absolute(path: Path | None) -> str | None:
    return str(path.expanduser().resolve()) if path is not None else None
