"""Conversation history on real SQLite files: round trips, order, forgetting, concurrent writers."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from memory.history import (
    Forgotten,
    add_message,
    add_tool_call,
    delete_before,
    delete_session,
    finish_tool_call,
    get_session,
    list_sessions,
    start_session,
)
from memory.ids import new_id
from memory.store import Store

CANARY = "canary-7f3e9a1c0b"


def counts(db: Path) -> dict[str, int]:
    """Rows per history table, read by a plain sqlite3 connection (not through the API)."""
    with sqlite3.connect(db) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("sessions", "messages", "tool_calls")
        }


async def test_a_conversation_reads_back_whole_after_reopening(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with Store.open(db) as store:
        sid = new_id()
        await start_session(store, sid, title="Sales figures", namespace="alice")
        await add_message(store, sid, "user", "How many rows in sales.csv?", meta={"via": "voice"})
        said = await add_message(
            store, sid, "assistant", "Counting them.", tokens_in=12, tokens_out=4
        )
        call = await add_tool_call(
            store,
            said,
            call_id="call_1",
            name="csvtool_count",
            plugin="csvtool",
            arguments={"file": "sales.csv"},
        )
        await finish_tool_call(
            store, call, status="succeeded", result={"rows": 3}, run_id="20260101-000000-abcdef"
        )
        await add_message(store, sid, "tool", '{"rows": 3}', run_id="20260101-000000-abcdef")

    async with Store.open(db) as store:
        session = await get_session(store, sid)

    assert session is not None
    assert (session["id"], session["title"], session["namespace"]) == (
        sid,
        "Sales figures",
        "alice",
    )
    assert session["message_count"] == 3
    user, assistant, tool = session["messages"]
    assert (user["role"], user["content"], user["meta"]) == (
        "user",
        "How many rows in sales.csv?",
        {"via": "voice"},
    )
    assert (assistant["tokens_in"], assistant["tokens_out"]) == (12, 4)
    assert user["tool_calls"] == [] and tool["tool_calls"] == []
    (recorded,) = assistant["tool_calls"]
    assert {k: recorded[k] for k in ("call_id", "name", "plugin", "arguments", "result")} == {
        "call_id": "call_1",
        "name": "csvtool_count",
        "plugin": "csvtool",
        "arguments": {"file": "sales.csv"},
        "result": {"rows": 3},
    }
    assert (recorded["status"], recorded["run_id"]) == ("succeeded", "20260101-000000-abcdef")
    assert recorded["finished_at"] >= recorded["started_at"]
    assert tool["run_id"] == "20260101-000000-abcdef"
    assert session["updated_at"] == tool["created_at"]


async def test_a_tool_call_keeps_the_run_id_it_started_with(tmp_path: Path) -> None:
    async with Store.open(tmp_path / "h.db") as store:
        await start_session(store, "s1")
        said = await add_message(store, "s1", "assistant", "Resizing.")
        call = await add_tool_call(
            store, said, call_id="c", name="resize", arguments={}, run_id="run-at-start"
        )
        await finish_tool_call(store, call, status="failed", result={"error": "too big"})
        session = await get_session(store, "s1")
    assert session is not None
    (recorded,) = session["messages"][0]["tool_calls"]
    assert (recorded["status"], recorded["run_id"]) == ("failed", "run-at-start")


async def test_what_the_database_refuses(tmp_path: Path) -> None:
    async with Store.open(tmp_path / "h.db") as store:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            await add_message(store, "no-such-session", "user", "hello")
        await start_session(store, "s1")
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            await add_message(store, "s1", "robot", "hello")  # type: ignore[arg-type]
        with pytest.raises(LookupError, match="no tool call 99"):
            await finish_tool_call(store, 99, status="succeeded", result=None)
        assert await store.fetchall("SELECT * FROM messages") == []


async def test_sessions_are_listed_by_last_activity_and_messages_in_order(tmp_path: Path) -> None:
    async with Store.open(tmp_path / "h.db") as store:
        for sid in ("old", "middle", "new"):
            await start_session(store, sid)
        await add_message(store, "old", "system", "You are Mark-1.")
        await add_message(store, "old", "user", "first question")
        await add_message(store, "old", "user", "second question")
        await start_session(store, "other-agent", namespace="nightly-reporter")

        listed = await list_sessions(store)
        assert [s["id"] for s in listed] == ["other-agent", "old", "new", "middle"]
        assert [s["id"] for s in await list_sessions(store, limit=2)] == ["other-agent", "old"]
        alone = await list_sessions(store, namespace="nightly-reporter")
        assert [s["id"] for s in alone] == ["other-agent"]

        old = listed[1]
        assert (old["message_count"], old["first_message"]) == (3, "first question")
        assert (listed[2]["message_count"], listed[2]["first_message"]) == (0, None)

        session = await get_session(store, "old")
        assert session is not None
        contents = [m["content"] for m in session["messages"]]
        assert contents == ["You are Mark-1.", "first question", "second question"]
        last_two = await get_session(store, "old", last=2)
        assert last_two is not None
        assert [m["content"] for m in last_two["messages"]] == contents[1:]
        assert last_two["message_count"] == 3


async def test_a_session_is_found_by_a_unique_prefix_only(tmp_path: Path) -> None:
    async with Store.open(tmp_path / "h.db") as store:
        for sid in ("abc", "abcd", "xyz1"):
            await start_session(store, sid)
        found = await get_session(store, "xy")
        assert found is not None and found["id"] == "xyz1"
        exact = await get_session(store, "abc")
        assert exact is not None and exact["id"] == "abc", "an exact id wins over longer ones"
        assert await get_session(store, "ab") is None, "ambiguous"
        assert await get_session(store, "nope") is None


async def test_deleting_a_session_leaves_no_orphans(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    async with Store.open(db) as store:
        for sid in ("gone", "kept"):
            await start_session(store, sid)
            await add_message(store, sid, "user", "resize it")
            said = await add_message(store, sid, "assistant", "On it.")
            await add_tool_call(store, said, call_id="c1", name="resize", arguments={"w": 1})
            await add_tool_call(store, said, call_id="c2", name="resize", arguments={"w": 2})
        assert counts(db) == {"sessions": 2, "messages": 4, "tool_calls": 4}

        assert await delete_session(store, "gone") == Forgotten(sessions=1, messages=2)
        assert counts(db) == {"sessions": 1, "messages": 2, "tool_calls": 2}
        assert await get_session(store, "gone") is None
        kept = await get_session(store, "kept")
        assert kept is not None and len(kept["messages"][1]["tool_calls"]) == 2
        assert await delete_session(store, "gone") == Forgotten(sessions=0, messages=0)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


async def test_delete_before_forgets_old_messages_and_the_sessions_it_empties(
    tmp_path: Path,
) -> None:
    db = tmp_path / "h.db"
    async with Store.open(db) as store:
        await start_session(store, "all-old")
        said = await add_message(store, "all-old", "assistant", "old answer")
        await add_tool_call(store, said, call_id="c", name="resize", arguments={})
        await start_session(store, "mixed")
        await add_message(store, "mixed", "user", "old question")
        await add_message(store, "mixed", "user", "new question")
        await start_session(store, "empty-and-old")
        await start_session(store, "empty-and-new")
        # Move the "old" rows to 1970 with plain SQL, so the cut needs no clock at all.
        async with store.transaction() as conn:
            await conn.execute("UPDATE messages SET created_at = 1000 WHERE content LIKE 'old%'")
            await conn.execute(
                "UPDATE sessions SET created_at = 1000, updated_at = 1000"
                " WHERE id IN ('all-old', 'empty-and-old')"
            )

        assert await delete_before(store, 2000) == Forgotten(sessions=2, messages=2)

        remaining = {s["id"] for s in await list_sessions(store)}
        assert remaining == {"mixed", "empty-and-new"}
        mixed = await get_session(store, "mixed")
        assert mixed is not None
        assert [m["content"] for m in mixed["messages"]] == ["new question"]
    assert counts(db) == {"sessions": 2, "messages": 1, "tool_calls": 0}


async def test_forgotten_text_is_gone_from_every_file(tmp_path: Path) -> None:
    """Read the bytes: a deleted row must not survive in a free page or in the WAL."""
    db = tmp_path / "h.db"

    def files_holding_canary() -> list[str]:
        return [
            p.name for p in tmp_path.iterdir() if p.is_file() and CANARY.encode() in p.read_bytes()
        ]

    async with Store.open(db) as store:
        await start_session(store, "secret-chat")
        said = await add_message(store, "secret-chat", "user", f"my token is {CANARY}")
        await add_tool_call(store, said, call_id="c", name="login", arguments={"token": CANARY})
        await start_session(store, "other")
        await add_message(store, "other", "user", "nothing to hide")
        assert files_holding_canary(), "the check must see the text while it is stored"
        setting = (await store.fetchall("PRAGMA secure_delete"))[0][0]

        await delete_session(store, "secret-chat")
        assert files_holding_canary() == []
        assert (await store.fetchall("PRAGMA secure_delete"))[0][0] == setting, "restored"
    assert files_holding_canary() == []


async def test_two_connections_writing_to_one_session_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    per_writer = 60

    async def writer(tag: str) -> None:
        async with Store.open(db) as store:
            for i in range(per_writer):
                said = await add_message(store, "shared", "assistant", f"{tag}-{i}")
                call = await add_tool_call(
                    store, said, call_id=f"{tag}-{i}", name="echo", arguments={"i": i}
                )
                await finish_tool_call(store, call, status="succeeded", result=i)

    async with Store.open(db) as store:
        await start_session(store, "shared")
        await asyncio.gather(writer("a"), writer("b"))
        session = await get_session(store, "shared")

    assert session is not None and session["message_count"] == 2 * per_writer
    for tag in ("a", "b"):
        mine = [m for m in session["messages"] if m["content"].startswith(f"{tag}-")]
        assert [m["content"] for m in mine] == [f"{tag}-{i}" for i in range(per_writer)]
        assert all([c["status"] for c in m["tool_calls"]] == ["succeeded"] for m in mine), (
            "every message has its one finished tool call"
        )
    ids = [m["id"] for m in session["messages"]]
    assert ids == sorted(ids), "times are taken under the write lock, so they follow commits"
    assert session["updated_at"] == max(
        c["finished_at"] for m in session["messages"] for c in m["tool_calls"]
    )
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
