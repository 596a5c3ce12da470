"""The SQLite store: migrations, WAL, and several processes writing at once."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from memory.store import Store, migrations

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from memory.store import Store

    async def main(db, tag, count):
        async with Store.open(Path(db)) as store:
            for i in range(count):
                async with store.transaction() as conn:
                    await conn.execute(
                        "INSERT INTO runs(id, kind, target, status, created_at) VALUES (?, 'test', ?, 'done', ?)",
                        (f"{tag}-{i}", tag, i),
                    )
                    await conn.execute("UPDATE runs SET status = 'checked' WHERE id = ?", (f"{tag}-{i}",))

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
    """
)


async def test_migrations_apply_once_and_are_recorded(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    async with Store.open(db) as store:
        rows = await store.fetchall("SELECT version, name FROM migrations ORDER BY version")
        assert [(r[0], r[1]) for r in rows] == [(v, n) for v, n, _ in migrations()]
        assert await store.migrate() == [], "a second pass applies nothing"
        mode = await store.fetchone("PRAGMA journal_mode")
        assert mode is not None and mode[0] == "wal"


async def test_failed_transaction_leaves_no_trace(tmp_path: Path) -> None:
    async with Store.open(tmp_path / "t.db") as store:
        try:
            async with store.transaction() as db:
                await db.execute(
                    "INSERT INTO runs(id, kind, target, status, created_at) VALUES ('x', 'k', 't', 's', 0)"
                )
                raise RuntimeError("crash in the middle")
        except RuntimeError:
            pass
        assert await store.fetchall("SELECT * FROM runs") == []


def test_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    """Four processes write 150 rows each into one brand-new file (so they also race to
    create it, switch it to WAL and migrate it)."""
    db = tmp_path / "shared.db"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), f"p{n}", "150"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        counts = dict(conn.execute("SELECT target, count(*) FROM runs GROUP BY target").fetchall())
        assert counts == {"p0": 150, "p1": 150, "p2": 150, "p3": 150}
        assert (
            conn.execute("SELECT count(*) FROM runs WHERE status != 'checked'").fetchone()[0] == 0
        )
        assert conn.execute("SELECT count(*) FROM migrations").fetchone()[0] == len(migrations())
