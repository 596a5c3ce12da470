"""The SQLite store: one WAL database, ordered migrations, explicit write transactions.

Several ``mark1`` processes may write at once (two installs, a run while the TUI records
history). WAL lets readers proceed during a write; ``BEGIN IMMEDIATE`` takes the write lock at
the start of a transaction so two writers queue on ``busy_timeout`` instead of failing halfway,
and migrations run inside such a transaction so two first starts cannot both apply them.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

BUSY_TIMEOUT_MS = 30_000
_MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """The packaged migrations as (version, name, sql), in order."""
    found = []
    for entry in resources.files("memory.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps, found {versions}")
    return found


class Store:
    """An open database. Use ``async with Store.open(path) as store``."""

    def __init__(self, conn: aiosqlite.Connection, path: Path):
        self.conn = conn
        self.path = path

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path) -> AsyncIterator[Store]:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = aiosqlite.Row
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await _enable_wal(conn)
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            store = cls(conn, path)
            await store.migrate()
            yield store
        finally:
            await conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A write transaction holding the database's write lock from its first statement."""
        await self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            await self.conn.execute("ROLLBACK")
            raise
        else:
            await self.conn.execute("COMMIT")

    async def migrate(self) -> list[int]:
        """Apply every migration newer than the database; returns the versions applied."""
        applied: list[int] = []
        async with self.transaction() as db:
            await db.execute(
                "CREATE TABLE IF NOT EXISTS migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            rows = await db.execute_fetchall("SELECT version FROM migrations")
            done = {r[0] for r in rows}
            for version, name, sql in migrations():
                if version in done:
                    continue
                for statement in _statements(sql):
                    await db.execute(statement)
                await db.execute(
                    "INSERT INTO migrations(version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, time.time()),
                )
                applied.append(version)
        return applied

    async def erase(self, *statements: tuple[str, Iterable[Any]]) -> list[int]:
        """Run deletes in one transaction so that nothing they remove stays in a file;
        returns each statement's row count. ``secure_delete`` zeroes the freed pages (not every
        SQLite build does by default) and a truncating checkpoint drops the WAL frames that
        still hold the old pages."""
        previous = (await self.fetchall("PRAGMA secure_delete"))[0][0]
        await self.conn.execute("PRAGMA secure_delete = ON")
        try:
            async with self.transaction() as db:
                counts = [
                    (await db.execute(sql, tuple(params))).rowcount for sql, params in statements
                ]
        finally:
            await self.conn.execute(f"PRAGMA secure_delete = {int(previous)}")
        await self.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        return counts

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None


async def _enable_wal(conn: aiosqlite.Connection) -> None:
    """Switch to WAL, retrying: on a brand-new file two processes can race for the lock the
    switch needs, and SQLite reports "database is locked" at once instead of waiting."""
    for attempt in range(100):
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            await asyncio.sleep(0.02 + 0.01 * attempt)


def _statements(sql: str) -> list[str]:
    """Split a migration file on ``;`` at line ends (migrations contain no triggers)."""
    return [s.strip() for s in re.split(r";\s*(?:\n|$)", sql) if s.strip()]


def dumps(value: Any) -> str:
    """JSON as stored in TEXT columns: compact, stable key order, paths as strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)
