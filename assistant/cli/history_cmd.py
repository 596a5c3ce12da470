"""``mark1 history``: the conversations the assistant has had, read back from SQLite."""

from __future__ import annotations

from typing import Any

import click

from assistant.cli.context import session
from assistant.cli.output import echo_json, json_option, local_time, run_async, table
from assistant.errors import NotFoundError

SESSIONS_SHOWN = 20
TITLE_WIDTH = 60


@click.command()
@click.option(
    "--session",
    "session_id",
    metavar="ID",
    help="Show one conversation: its messages and tool calls (a unique prefix of ID is enough).",
)
@click.option(
    "-n",
    "--limit",
    metavar="N",
    type=click.IntRange(min=1),
    help=f"How many sessions, newest first (default {SESSIONS_SHOWN}); "
    "with --session, its last N messages (default all).",
)
@json_option
def history(session_id: str | None, limit: int | None, as_json: bool) -> None:
    """Past conversations: the recent sessions, or one session in full.

    \b
    Examples:
      mark1 history                                   recent sessions with their ids
      mark1 history -n 5 --json                       the five most recent, for scripts
      mark1 history --session 20261125-101502-3fa2c1  one conversation in full
      mark1 history --session 20261125-1015 -n 10     its last ten messages (a prefix will do)

    Tool calls are shown under the message that made them, with the run that executed them
    (`mark1 runs show RUN` has that run's outputs and logs).
    """
    if session_id is None:
        _list_sessions(limit or SESSIONS_SHOWN, as_json)
    else:
        _show_session(session_id, limit, as_json)


def _list_sessions(limit: int, as_json: bool) -> None:
    from memory.history import list_sessions

    async def go() -> list[dict[str, Any]]:
        async with session() as (_, store):
            return await list_sessions(store, limit)

    found = run_async(go())
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo("No conversations yet; `mark1-assistant` starts one.")
        return
    table(
        ["session", "title", "messages", "last activity"],
        [(s["id"], _title(s), s["message_count"], local_time(s["updated_at"])) for s in found],
    )


def _show_session(session_id: str, last: int | None, as_json: bool) -> None:
    from memory.history import get_session

    async def go() -> dict[str, Any] | None:
        async with session() as (_, store):
            return await get_session(store, session_id, last)

    found = run_async(go())
    if found is None:
        raise NotFoundError(
            f"no single session matches '{session_id}'",
            hint="`mark1 history` lists the sessions and their ids",
        )
    if as_json:
        echo_json(found)
        return
    shown = len(found["messages"])
    count = found["message_count"]
    click.echo(f"session {found['id']}: {found['title'] or '(untitled)'}")
    click.echo(
        f"  namespace {found['namespace']}, {count} messages"
        + (f" (the last {shown} shown)" if shown < count else "")
        + f", last activity {local_time(found['updated_at'])}"
    )
    for message in found["messages"]:
        head = f"{local_time(message['created_at'])}  {message['role']:<9}  "
        lines = message["content"].splitlines() or [""]
        click.echo(head + lines[0])
        for line in lines[1:]:
            click.echo(" " * len(head) + line)
        for call in message["tool_calls"]:
            plugin = f" ({call['plugin']})" if call["plugin"] else ""
            click.echo(
                f"    tool {call['name']}{plugin}: {call['status']}, run {call['run_id'] or '-'}"
            )


def _title(found: dict[str, Any]) -> str:
    """The session's title, or else its first user message on one line, cut to fit a table."""
    text = " ".join((found["title"] or found["first_message"] or "").split())
    if not text:
        return "(empty)"
    return text if len(text) <= TITLE_WIDTH else text[: TITLE_WIDTH - 1] + "…"
