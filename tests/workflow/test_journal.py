"""The journal: transitions are committed one transaction each, and a run is claimed by one
resuming process only."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from assistant import paths
from assistant.workflow.journal import Journal
from memory.store import Store


async def test_only_one_resume_claims_a_run(tmp_path: Path) -> None:
    async with Store.open(paths.db_path()) as store, Journal(store.path, "run-1") as journal:
        await journal.run_started(
            name="w", definition={}, inputs={}, options={}, workdir=tmp_path, source="t"
        )
        await journal.run_finished("failed", {}, "it broke")
        assert await journal.run_resumed("failed", None) is True
        assert await journal.run_resumed("failed", None) is False, "already claimed"
    conn = sqlite3.connect(paths.db_path())
    status, error = conn.execute("SELECT status, error FROM runs WHERE id = 'run-1'").fetchone()
    conn.close()
    assert (status, error) == ("running", None)


async def test_a_commit_waits_for_another_writer_without_blocking_the_loop(tmp_path: Path) -> None:
    """While another connection holds the write lock, commits go to the journal's thread,
    which waits for the lock while the event loop carries on; they land, in order, once it
    is free."""
    async with Store.open(paths.db_path()) as store, Journal(store.path, "run-1") as journal:
        blocker = sqlite3.connect(store.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticker = asyncio.create_task(tick())
        started = asyncio.create_task(
            journal.run_started(
                name="w", definition={}, inputs={}, options={}, workdir=tmp_path, source="t"
            )
        )
        await asyncio.sleep(0.05)  # the first is waiting in the thread: the next queues behind
        finished = asyncio.create_task(journal.run_finished("succeeded", {}, None))
        await asyncio.sleep(0.3)
        assert not started.done() and not finished.done(), "both wait for the lock"
        assert ticks >= 10, "the event loop was not blocked meanwhile"
        blocker.execute("COMMIT")
        blocker.close()
        await asyncio.wait_for(asyncio.gather(started, finished), 10)
        ticker.cancel()
    conn = sqlite3.connect(paths.db_path())
    (status,) = conn.execute("SELECT status FROM runs WHERE id = 'run-1'").fetchone()
    conn.close()
    assert status == "succeeded", "the later commit landed after the earlier one"
