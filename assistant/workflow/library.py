"""Workflows saved by name, and the schedules that run them (`mark1 workflow save/schedule`).

A saved workflow keeps its definition and the text it came from, so it runs the same tomorrow
even if the file is edited or deleted. A schedule is "every N seconds" or a cron expression
(read by ``cronsim``), evaluated in UTC; the daemon asks for the due ones.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from assistant.errors import NotFoundError, UserError
from assistant.workflow.loader import LoadedWorkflow, from_data
from memory.store import Store, dumps, loads

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)", re.IGNORECASE)
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_EVERY = 1.0


def parse_every(text: str) -> float:
    """Seconds in ``5m``, ``90s``, ``1h30m`` or a bare number of seconds."""
    stripped = text.strip()
    try:
        seconds = float(stripped)
    except ValueError:
        parts = _DURATION.findall(stripped)
        if not parts or _DURATION.sub("", stripped).strip():
            raise UserError(
                f"'{text}' is not a duration", hint="write e.g. 30s, 5m, 1h30m or 2d"
            ) from None
        seconds = sum(float(n) * _UNIT[u.lower()] for n, u in parts)
    if seconds < MIN_EVERY:
        raise UserError(
            f"'{text}' is too short", hint=f"schedules run at most every {MIN_EVERY:g} s"
        )
    return seconds


def next_cron(expression: str, after: float) -> float:
    """The first time after ``after`` (epoch seconds) that ``expression`` names."""
    from cronsim import CronSim, CronSimError

    try:
        it = CronSim(expression, datetime.fromtimestamp(after, UTC))
        return next(it).timestamp()
    except (CronSimError, StopIteration) as exc:
        raise UserError(
            f"'{expression}' is not a cron expression: {exc}",
            hint="five fields: minute hour day-of-month month day-of-week, e.g. '*/5 * * * *'",
        ) from exc


async def save_workflow(
    store: Store, loaded: LoadedWorkflow, *, name: str | None, text: str | None
) -> str:
    chosen = name or loaded.workflow.name
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO workflows(name, description, definition_json, source_text, source_path,"
            " saved_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET"
            " description = excluded.description, definition_json = excluded.definition_json,"
            " source_text = excluded.source_text, source_path = excluded.source_path,"
            " saved_at = excluded.saved_at",
            (
                chosen,
                loaded.workflow.description,
                dumps(loaded.workflow.to_document()),
                text,
                str(loaded.path),
                time.time(),
            ),
        )
    return chosen


async def saved_workflow(store: Store, name: str) -> LoadedWorkflow | None:
    row = await store.fetchone("SELECT definition_json FROM workflows WHERE name = ?", (name,))
    return None if row is None else from_data(loads(row[0]), f"saved workflow '{name}'")


async def list_workflows(store: Store) -> list[dict[str, Any]]:
    rows = await store.fetchall(
        "SELECT w.name, w.description, w.source_path, w.saved_at,"
        " (SELECT count(*) FROM runs r WHERE r.kind = 'workflow' AND r.source = 'saved:' || w.name)"
        " AS runs"
        " FROM workflows w ORDER BY w.name"
    )
    return [dict(r) for r in rows]


async def remove_workflow(store: Store, name: str) -> None:
    async with store.transaction() as db:
        await db.execute("DELETE FROM schedules WHERE workflow = ?", (name,))
        cursor = await db.execute("DELETE FROM workflows WHERE name = ?", (name,))
        if cursor.rowcount == 0:
            raise NotFoundError(f"no saved workflow '{name}'", hint="`mark1 workflow list`")


@dataclass(frozen=True)
class Schedule:
    id: int
    workflow: str
    every: float | None
    cron: str | None
    inputs: dict[str, Any]
    enabled: bool
    next_at: float
    last_run_id: str | None
    last_status: str | None

    def describe(self) -> str:
        return f"every {self.every:g} s" if self.every is not None else f"cron '{self.cron}'"

    def following(self, now: float) -> float:
        """When it is due next, after running at ``now``: the first slot of its rhythm after
        ``now`` (slots missed while the daemon was down or a run was long are skipped)."""
        if self.every is not None:
            missed = max(0, math.floor((now - self.next_at) / self.every))
            return self.next_at + self.every * (missed + 1)
        assert self.cron is not None
        return next_cron(self.cron, now)


async def add_schedule(
    store: Store, workflow: str, *, every: float | None, cron: str | None, inputs: dict[str, Any]
) -> Schedule:
    if await saved_workflow(store, workflow) is None:
        raise NotFoundError(
            f"no saved workflow '{workflow}'",
            hint=f"save it first: `mark1 workflow save FILE --name {workflow}`",
        )
    now = time.time()
    first = now + every if every is not None else next_cron(str(cron), now)
    async with store.transaction() as db:
        cursor = await db.execute(
            "INSERT INTO schedules(workflow, every_s, cron, inputs_json, next_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (workflow, every, cron, dumps(inputs), first, now),
        )
        new_id = cursor.lastrowid
    found = await get_schedule(store, int(new_id or 0))
    assert found is not None
    return found


async def get_schedule(store: Store, schedule_id: int) -> Schedule | None:
    row = await store.fetchone("SELECT * FROM schedules WHERE id = ?", (schedule_id,))
    return None if row is None else _schedule(row)


async def list_schedules(store: Store) -> list[Schedule]:
    return [_schedule(r) for r in await store.fetchall("SELECT * FROM schedules ORDER BY id")]


async def remove_schedule(store: Store, schedule_id: int) -> None:
    async with store.transaction() as db:
        cursor = await db.execute("DELETE FROM schedules WHERE id = ?", (schedule_id,))
        if cursor.rowcount == 0:
            raise NotFoundError(f"no schedule {schedule_id}", hint="`mark1 workflow schedules`")


async def due_schedules(store: Store, now: float) -> list[Schedule]:
    rows = await store.fetchall(
        "SELECT * FROM schedules WHERE enabled = 1 AND next_at <= ? ORDER BY next_at", (now,)
    )
    return [_schedule(r) for r in rows]


async def schedule_ran(store: Store, schedule: Schedule, run_id: str, status: str) -> None:
    """Record the run and move the schedule to its next slot, in one transaction."""
    async with store.transaction() as db:
        await db.execute(
            "UPDATE schedules SET last_run_id = ?, last_status = ?, next_at = ? WHERE id = ?",
            (run_id, status, schedule.following(time.time()), schedule.id),
        )


def _schedule(row: Any) -> Schedule:
    return Schedule(
        id=row["id"],
        workflow=row["workflow"],
        every=row["every_s"],
        cron=row["cron"],
        inputs=loads(row["inputs_json"]) or {},
        enabled=bool(row["enabled"]),
        next_at=row["next_at"],
        last_run_id=row["last_run_id"],
        last_status=row["last_status"],
    )
