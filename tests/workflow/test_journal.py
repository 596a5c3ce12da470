"""The journal: transitions are committed one transaction each, and a run is claimed by one
resuming process only."""

from __future__ import annotations

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
