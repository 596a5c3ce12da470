"""Run and step records. Each transition is committed before it is reported to the user,
so whatever happens to the process, the database says how far a run got.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from adapters.base import PluginResult
from memory.ids import new_id
from memory.store import Store, dumps, loads

TAIL = 8192


async def start_run(
    store: Store,
    *,
    kind: str,
    target: str,
    inputs: dict[str, Any],
    workdir: Path,
    run_id: str | None = None,
) -> str:
    """Record a run as running; ``run_id`` is given when it was announced in advance (detach)."""
    run_id = run_id or new_id()
    now = time.time()
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO runs(id, kind, target, status, inputs_json, workdir, created_at,"
            " started_at) VALUES (?, ?, ?, 'running', ?, ?, ?, ?)",
            (run_id, kind, target, dumps(inputs), str(workdir), now, now),
        )
    return run_id


async def start_step(
    store: Store,
    run_id: str,
    *,
    name: str,
    plugin: str,
    version_id: int | None,
    capability: str,
    inputs: dict[str, Any],
) -> None:
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO steps(run_id, name, plugin, plugin_version_id, runner_pid, capability,"
            " status, inputs_json, started_at) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)",
            (run_id, name, plugin, version_id, os.getpid(), capability, dumps(inputs), time.time()),
        )


async def finish_step(store: Store, run_id: str, name: str, result: PluginResult) -> None:
    async with store.transaction() as db:
        await db.execute(*step_finished_statement(run_id, name, result))


def step_finished_statement(
    run_id: str,
    name: str,
    result: PluginResult,
    *,
    outputs: dict[str, Any] | None = None,
    cached: bool = False,
) -> tuple[str, tuple[Any, ...]]:
    """The UPDATE that records how a step ended (``outputs`` default to the result's): one
    statement for single runs and for the workflow journal."""
    return (
        "UPDATE steps SET status = ?, outputs_json = ?, artifacts_json = ?, command_json = ?,"
        " exit_code = ?, stdout_tail = ?, stderr_tail = ?, error = ?, cached = ?, finished_at = ?"
        " WHERE run_id = ? AND name = ?",
        (
            result.status,
            dumps(result.outputs if outputs is None else outputs),
            dumps(result.artifacts),
            dumps(result.command),
            result.exit_code,
            result.stdout[-TAIL:],
            result.stderr[-TAIL:],
            result.error,
            int(cached),
            time.time(),
            run_id,
            name,
        ),
    )


async def finish_run(
    store: Store, run_id: str, *, status: str, outputs: dict[str, Any], error: str | None
) -> None:
    async with store.transaction() as db:
        await db.execute(
            "UPDATE runs SET status = ?, outputs_json = ?, error = ?, finished_at = ? WHERE id = ?",
            (status, dumps(outputs), error, time.time(), run_id),
        )


async def runner_pids(store: Store, run_id: str) -> list[int]:
    """The processes (mark1 itself) executing the run's running steps."""
    rows = await store.fetchall(
        "SELECT runner_pid FROM steps WHERE run_id = ? AND status = 'running'", (run_id,)
    )
    return [r[0] for r in rows if r[0]]


async def abandon(store: Store, run_id: str, reason: str) -> None:
    """Close the record of a run whose process is gone (killed hard, or the machine stopped)."""
    now = time.time()
    async with store.transaction() as db:
        await db.execute(
            "UPDATE steps SET status = 'failed', error = ?, finished_at = ?"
            " WHERE run_id = ? AND status = 'running'",
            (reason, now, run_id),
        )
        await db.execute(
            "UPDATE runs SET status = 'failed', error = ?, finished_at = ?"
            " WHERE id = ? AND status = 'running'",
            (reason, now, run_id),
        )


async def list_runs(
    store: Store, limit: int = 20, kind: str | None = None, target: str | None = None
) -> list[dict[str, Any]]:
    """Newest first; ``kind`` (capability or workflow) and ``target`` narrow the list."""
    rows = await store.fetchall(
        "SELECT * FROM runs WHERE (? IS NULL OR kind = ?) AND (? IS NULL OR target = ?)"
        " ORDER BY created_at DESC LIMIT ?",
        (kind, kind, target, target, limit),
    )
    return [_run_dict(r) for r in rows]


async def get_run(store: Store, run_id: str) -> dict[str, Any] | None:
    """A run with its steps; ``run_id`` may be a unique prefix."""
    rows = await store.fetchall("SELECT * FROM runs WHERE id LIKE ? || '%' LIMIT 2", (run_id,))
    if len(rows) != 1:
        return None
    run = _run_dict(rows[0])
    steps = await store.fetchall("SELECT * FROM steps WHERE run_id = ? ORDER BY id", (run["id"],))
    run["steps"] = [
        {
            "name": s["name"],
            "plugin": s["plugin"],
            "capability": s["capability"],
            "status": s["status"],
            "inputs": loads(s["inputs_json"]),
            "outputs": loads(s["outputs_json"]),
            "artifacts": loads(s["artifacts_json"]),
            "command": loads(s["command_json"]),
            "exit_code": s["exit_code"],
            "stdout_tail": s["stdout_tail"],
            "stderr_tail": s["stderr_tail"],
            "error": s["error"],
            "started_at": s["started_at"],
            "finished_at": s["finished_at"],
            "step": s["step"],
            "attempt": s["attempt"],
            "cached": bool(s["cached"]),
            "side_effects": s["side_effects"],
        }
        for s in steps
    ]
    return run


def _run_dict(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "target": row["target"],
        "status": row["status"],
        "inputs": loads(row["inputs_json"]),
        "outputs": loads(row["outputs_json"]),
        "error": row["error"],
        "workdir": row["workdir"],
        "created_at": row["created_at"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "definition": loads(row["definition_json"]),
        "source": row["source"],
        "runner_pid": row["runner_pid"],
    }
