"""Conversation history in SQLite: sessions, their messages, and the tool calls in them.

This is the full record (``mark1 history`` reads it); Chroma keeps only what recall needs.
Every write is its own ``BEGIN IMMEDIATE`` transaction, so a front end and a detached run can
append to one session at once and nothing is lost or half-written.

What arrives here is stored as given: the caller redacts secrets before calling, because the
same redacted text must also reach the memory store and the logs, and redacting once in the
agent keeps the three consistent. Session ids are chosen by the caller too (``memory.ids.new_id``
makes one), so a front end can name a conversation before its first message is stored.

Forgetting (``delete_session``, ``delete_before``) really removes the bytes: the deleted pages
are zeroed and the WAL is checkpointed and truncated, so the text is gone from every file.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from memory.store import Store, dumps, loads

if TYPE_CHECKING:
    import aiosqlite

Role = Literal["user", "assistant", "system", "tool"]
ToolCallStatus = Literal["running", "succeeded", "failed", "timed_out", "cancelled"]


class Forgotten(NamedTuple):
    """How much a delete removed (tool calls go with their messages)."""

    sessions: int
    messages: int


async def start_session(
    store: Store, session_id: str, *, title: str | None = None, namespace: str = "default"
) -> None:
    """Open a conversation; ``namespace`` separates users and long-running agents."""
    now = time.time()
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO sessions(id, title, namespace, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (session_id, title, namespace, now, now),
        )


async def add_message(
    store: Store,
    session_id: str,
    role: Role,
    content: str,
    *,
    run_id: str | None = None,
    tokens_in: int | None = None,
    tokens_out: int | None = None,
    meta: dict[str, Any] | None = None,
) -> int:
    """Append a message and mark the session active; returns the message's id."""
    async with store.transaction() as db:
        now = time.time()  # taken under the write lock, so times follow the order of commits
        rows = await db.execute_fetchall(
            "INSERT INTO messages(session_id, role, content, created_at, run_id, tokens_in,"
            " tokens_out, meta_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (session_id, role, content, now, run_id, tokens_in, tokens_out, dumps(meta or {})),
        )
        message_id: int = list(rows)[0][0]
        await _touch(db, message_id, now)
    return message_id


async def add_tool_call(
    store: Store,
    message_id: int,
    *,
    call_id: str,
    name: str,
    arguments: dict[str, Any],
    plugin: str | None = None,
    run_id: str | None = None,
) -> int:
    """Record a tool call of an assistant message as running; returns its id."""
    async with store.transaction() as db:
        now = time.time()
        rows = await db.execute_fetchall(
            "INSERT INTO tool_calls(message_id, call_id, name, plugin, arguments_json, status,"
            " run_id, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?) RETURNING id",
            (message_id, call_id, name, plugin, dumps(arguments), run_id, now),
        )
        tool_call_id: int = list(rows)[0][0]
        await _touch(db, message_id, now)
    return tool_call_id


async def finish_tool_call(
    store: Store,
    tool_call_id: int,
    *,
    status: ToolCallStatus,
    result: Any,
    run_id: str | None = None,
) -> None:
    """Record how a tool call ended; ``run_id`` is kept from the start when not given here."""
    async with store.transaction() as db:
        now = time.time()
        rows = list(
            await db.execute_fetchall(
                "UPDATE tool_calls SET status = ?, result_json = ?, run_id = COALESCE(?, run_id),"
                " finished_at = ? WHERE id = ? RETURNING message_id",
                (status, dumps(result), run_id, now, tool_call_id),
            )
        )
        if not rows:
            raise LookupError(f"no tool call {tool_call_id} in the history")
        await _touch(db, rows[0][0], now)


async def _touch(db: aiosqlite.Connection, message_id: int, now: float) -> None:
    """Move the session of ``message_id`` to the top of the list (never back in time, should
    another process's clock be behind)."""
    await db.execute(
        "UPDATE sessions SET updated_at = max(updated_at, ?)"
        " WHERE id = (SELECT session_id FROM messages WHERE id = ?)",
        (now, message_id),
    )


async def list_sessions(
    store: Store, limit: int = 20, namespace: str | None = None
) -> list[dict[str, Any]]:
    """Most recently active first, with their message count and first user message (what a
    list shows for a session that has no title)."""
    rows = await store.fetchall(
        "SELECT s.*,"
        " (SELECT count(*) FROM messages m WHERE m.session_id = s.id) AS message_count,"
        " (SELECT content FROM messages m WHERE m.session_id = s.id AND m.role = 'user'"
        "  ORDER BY m.created_at, m.id LIMIT 1) AS first_message"
        " FROM sessions s WHERE (?1 IS NULL OR s.namespace = ?1)"
        " ORDER BY s.updated_at DESC, s.id DESC LIMIT ?2",
        (namespace, limit),
    )
    return [_record(r) for r in rows]


async def get_session(
    store: Store, session_id: str, last: int | None = None
) -> dict[str, Any] | None:
    """A session with its messages in order (only the ``last`` ones when given), each with its
    tool calls. ``session_id`` may be a unique prefix; None when nothing or several match."""
    found = await store.fetchall(
        "SELECT s.*, (SELECT count(*) FROM messages m WHERE m.session_id = s.id)"
        " AS message_count FROM sessions s WHERE substr(s.id, 1, length(?1)) = ?1"
        " ORDER BY s.id != ?1 LIMIT 2",
        (session_id,),
    )
    if not found or (len(found) == 2 and found[0]["id"] != session_id):
        return None
    session = _record(found[0])
    messages = await store.fetchall(
        "SELECT * FROM (SELECT * FROM messages WHERE session_id = ?"
        " ORDER BY created_at DESC, id DESC LIMIT ?) ORDER BY created_at, id",
        (session["id"], -1 if last is None else last),
    )
    calls = await store.fetchall(
        "SELECT * FROM tool_calls WHERE message_id IN"
        " (SELECT id FROM messages WHERE session_id = ?) ORDER BY started_at, id",
        (session["id"],),
    )
    by_message: dict[int, list[dict[str, Any]]] = {}
    for call in calls:
        by_message.setdefault(call["message_id"], []).append(_record(call))
    session["messages"] = [
        {**_record(m), "tool_calls": by_message.get(m["id"], [])} for m in messages
    ]
    return session


async def delete_session(store: Store, session_id: str) -> Forgotten:
    """Forget one session (exact id) with its messages and tool calls."""
    messages, sessions = await store.erase(
        ("DELETE FROM messages WHERE session_id = ?", (session_id,)),
        ("DELETE FROM sessions WHERE id = ?", (session_id,)),
    )
    return Forgotten(sessions, messages)


async def delete_before(store: Store, timestamp: float) -> Forgotten:
    """Forget every message older than ``timestamp``, and the sessions that leaves empty and
    inactive since then; sessions with newer messages keep those."""
    messages, sessions = await store.erase(
        ("DELETE FROM messages WHERE created_at < ?", (timestamp,)),
        (
            "DELETE FROM sessions WHERE updated_at < ?"
            " AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.session_id = sessions.id)",
            (timestamp,),
        ),
    )
    return Forgotten(sessions, messages)


def _record(row: Any) -> dict[str, Any]:
    """A row as a dict, every ``x_json`` column decoded under the name ``x``."""
    return {
        key.removesuffix("_json"): loads(row[key]) if key.endswith("_json") else row[key]
        for key in row.keys()  # noqa: SIM118 - a row iterates over its values, not its keys
    }
