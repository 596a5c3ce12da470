"""The durable record of a workflow run: every transition committed before the engine acts on it.

A crash (``kill -9``, power cut of the process) must lose nothing and must never make a
finished step run again, so each transition is its own committed SQLite transaction, written
before the engine moves on.

Where it is written: right on the event loop, through a plain ``sqlite3`` connection that
never waits for the write lock. A small WAL commit takes about a tenth of a millisecond, less
than handing it to a thread and waking up again, which with the loop busy cost 0.7 to 1.5 ms
a step (bench/bench_workflow.py). When another process holds the write lock, the commit goes
to a dedicated thread whose connection waits for it (the busy timeout) while the loop carries
on; commits queued there keep their order, as later ones join the queue.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.base import PluginResult
from assistant.workflow.runs import step_finished_statement
from memory.store import BUSY_TIMEOUT_MS, dumps, loads

CRASH_AFTER_ENV = "MARK1_TEST_CRASH_AFTER"
Statement = tuple[str, tuple[Any, ...]]


@dataclass
class StepRow:
    """What the journal knows about one step instance when a run is resumed."""

    key: str
    step: str
    status: str
    side_effects: str | None
    outputs: dict[str, Any]
    artifacts: list[str]


class Journal:
    """Writes one run's transitions. Use ``async with Journal(db_path, run_id) as journal``."""

    def __init__(self, db_path: Path, run_id: str) -> None:
        self.db_path, self.run_id = db_path, run_id
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mark1-journal")
        self._conn: sqlite3.Connection | None = None  # the thread's: waits for the lock
        self._quick: sqlite3.Connection | None = None  # the loop's: never waits
        self._queued = 0  # commits handed to the thread and not done yet
        # Fault injection for the crash tests: SIGKILL this process right after commit N.
        self._crash_after = int(os.environ.get(CRASH_AFTER_ENV) or 0)
        self._commits = 0

    async def __aenter__(self) -> Journal:
        await self._call(self._connect)
        self._quick = _connect(self.db_path, busy_timeout_ms=0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._quick is not None:
            self._quick.close()
            self._quick = None
        await self._call(self._close)
        self._pool.shutdown(wait=True)

    def _connect(self) -> None:
        self._conn = _connect(self.db_path, busy_timeout_ms=BUSY_TIMEOUT_MS)

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def _call(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _apply(self, statements: list[Statement], conn: sqlite3.Connection | None = None) -> None:
        conn = conn or self._conn
        assert conn is not None, "the journal is not open"
        if len(statements) == 1:  # one statement is a transaction by itself (autocommit)
            conn.execute(*statements[0])
        else:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    conn.execute(sql, params)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        self._commits += 1
        if self._commits == self._crash_after:
            os.kill(os.getpid(), signal.SIGKILL)

    async def commit(self, *statements: Statement) -> None:
        """Commit ``statements`` as one transaction; returns once they are in the database."""
        batch = list(statements)
        if not self._queued:  # nothing waiting in the thread, which would have to go first
            try:
                self._apply(batch, self._quick)
                return
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
        self._queued += 1
        try:
            await self._call(self._apply, batch)
        finally:
            self._queued -= 1

    # ---- transitions --------------------------------------------------------------------

    async def run_started(
        self,
        *,
        name: str,
        definition: dict[str, Any],
        inputs: dict[str, Any],
        options: dict[str, Any],
        workdir: Path,
        source: str,
    ) -> None:
        now = time.time()
        await self.commit(
            (
                "INSERT INTO runs(id, kind, target, status, inputs_json, workdir, created_at,"
                " started_at, definition_json, source, options_json, runner_pid)"
                " VALUES (?, 'workflow', ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.run_id,
                    name,
                    dumps(inputs),
                    str(workdir),
                    now,
                    now,
                    dumps(definition),
                    source,
                    dumps(options),
                    os.getpid(),
                ),
            )
        )

    async def run_resumed(self, status: str, runner_pid: int | None) -> bool:
        """Claim the run for this process, only if it is still as it was read (``status``,
        ``runner_pid``): of two resumes started together, one wins and the other is told."""
        return bool(await self._call(self._claim, status, runner_pid))

    def _claim(self, status: str, runner_pid: int | None) -> int:
        assert self._conn is not None
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            cursor = self._conn.execute(
                "UPDATE runs SET status = 'running', error = NULL, finished_at = NULL,"
                " runner_pid = ? WHERE id = ? AND status = ? AND runner_pid IS ?",
                (os.getpid(), self.run_id, status, runner_pid),
            )
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        return cursor.rowcount

    async def step_started(
        self,
        key: str,
        *,
        step: str,
        plugin: str,
        version_id: int | None,
        capability: str,
        side_effects: str,
        inputs: dict[str, Any],
        attempt: int,
        item_index: int | None,
        iteration: int | None,
        cache_key: str | None,
        queued_at: float,
    ) -> None:
        """The step instance is about to run (inserted, or updated on a retry or resume)."""
        await self.commit(
            (
                "INSERT INTO steps(run_id, name, step, plugin, plugin_version_id, runner_pid,"
                " capability, status, inputs_json, attempt, item_index, iteration,"
                " side_effects, cache_key, queued_at, started_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(run_id, name) DO UPDATE SET status = 'running',"
                " inputs_json = excluded.inputs_json, attempt = excluded.attempt,"
                " runner_pid = excluded.runner_pid, cache_key = excluded.cache_key,"
                " started_at = excluded.started_at, finished_at = NULL, error = NULL",
                (
                    self.run_id,
                    key,
                    step,
                    plugin,
                    version_id,
                    os.getpid(),
                    capability,
                    dumps(inputs),
                    attempt,
                    item_index,
                    iteration,
                    side_effects,
                    cache_key,
                    queued_at,
                    time.time(),
                ),
            )
        )

    async def step_retrying(self, key: str, result: PluginResult, attempt: int) -> None:
        await self.commit(
            (
                "UPDATE steps SET status = 'retrying', error = ?, exit_code = ?, attempt = ?"
                " WHERE run_id = ? AND name = ?",
                (result.error, result.exit_code, attempt, self.run_id, key),
            )
        )

    async def step_finished(
        self,
        key: str,
        result: PluginResult,
        *,
        outputs: dict[str, Any],
        cached: bool = False,
        cache_entry: tuple[str, str, str, dict[str, Any]] | None = None,
    ) -> None:
        """Record how the step ended, and (same transaction) its cache entry when it has one."""
        statements: list[Statement] = [
            step_finished_statement(self.run_id, key, result, outputs=outputs, cached=cached)
        ]
        if cache_entry is not None:
            cache_key, plugin, capability, raw_outputs = cache_entry
            statements.append(
                (
                    "INSERT OR REPLACE INTO step_cache(key, plugin, capability, outputs_json,"
                    " artifacts_json, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        cache_key,
                        plugin,
                        capability,
                        dumps(raw_outputs),
                        dumps(result.artifacts),
                        time.time(),
                    ),
                )
            )
        await self.commit(*statements)

    async def step_skipped(
        self, key: str, *, step: str, plugin: str, capability: str, why: str
    ) -> None:
        now = time.time()
        await self.commit(
            (
                "INSERT INTO steps(run_id, name, step, plugin, capability, status, error,"
                " queued_at, started_at, finished_at) VALUES (?, ?, ?, ?, ?, 'skipped', ?, ?, ?, ?)"
                " ON CONFLICT(run_id, name) DO UPDATE SET status = 'skipped', error = excluded.error,"
                " finished_at = excluded.finished_at",
                (self.run_id, key, step, plugin, capability, why, now, now, now),
            )
        )

    async def steps_cancelled(self, reason: str) -> None:
        """Every step still running or waiting to retry is recorded as cancelled."""
        await self.commit(
            (
                "UPDATE steps SET status = 'cancelled', error = ?, finished_at = ?"
                " WHERE run_id = ? AND status IN ('running', 'retrying')",
                (reason, time.time(), self.run_id),
            )
        )

    async def run_finished(self, status: str, outputs: dict[str, Any], error: str | None) -> None:
        await self.commit(
            (
                "UPDATE runs SET status = ?, outputs_json = ?, error = ?, finished_at = ?,"
                " runner_pid = NULL WHERE id = ?",
                (status, dumps(outputs), error, time.time(), self.run_id),
            )
        )

    # ---- reading back ---------------------------------------------------------------------

    async def cached(self, key: str) -> tuple[dict[str, Any], list[str]] | None:
        """A cached result for ``key`` whose files all still exist, counted as a hit."""
        return await self._call(self._cached, key)

    def _cached(self, key: str) -> tuple[dict[str, Any], list[str]] | None:
        assert self._conn is not None
        row = self._conn.execute(
            "SELECT outputs_json, artifacts_json FROM step_cache WHERE key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        artifacts = loads(row[1]) or []
        if not all(os.path.exists(a) for a in artifacts):
            return None
        self._apply([("UPDATE step_cache SET hits = hits + 1 WHERE key = ?", (key,))])
        return loads(row[0]) or {}, artifacts

    async def steps(self) -> list[StepRow]:
        return await self._call(self._steps)

    def _steps(self) -> list[StepRow]:
        assert self._conn is not None
        rows = self._conn.execute(
            "SELECT name, step, status, side_effects, outputs_json, artifacts_json"
            " FROM steps WHERE run_id = ? ORDER BY id",
            (self.run_id,),
        ).fetchall()
        return [
            StepRow(
                key=r[0],
                step=r[1] or r[0],
                status=r[2],
                side_effects=r[3],
                outputs=loads(r[4]) or {},
                artifacts=loads(r[5]) or [],
            )
            for r in rows
        ]


def _connect(db_path: Path, *, busy_timeout_ms: int) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable against process crashes
    return conn


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused because another connection holds the lock."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or "locked" in str(exc)
