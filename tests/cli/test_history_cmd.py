"""``mark1 history``: sessions as a table or JSON, one conversation in full, and a missing id."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from assistant import paths
from assistant.errors import NotFoundError
from memory.history import add_message, add_tool_call, finish_tool_call, start_session
from memory.store import Store
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
LONG_QUESTION = "Please compress every photo in my holiday folder and then email the album to mum"
RUN_ID = "20260101-120000-0a1b2c"


@pytest.fixture
async def chats() -> dict[str, str]:
    """Two sessions in the user's own database: an untitled one with a tool call, then a
    titled one that is the most recent."""
    async with Store.open(paths.db_path()) as store:
        await start_session(store, "20260101-115959-aaaaaa")
        await add_message(store, "20260101-115959-aaaaaa", "user", LONG_QUESTION)
        said = await add_message(
            store, "20260101-115959-aaaaaa", "assistant", "Compressing.\nThen emailing."
        )
        call = await add_tool_call(
            store,
            said,
            call_id="call_1",
            name="compress",
            plugin="imagetool",
            arguments={"folder": "holiday"},
        )
        await finish_tool_call(store, call, status="succeeded", result={"n": 12}, run_id=RUN_ID)
        await add_message(store, "20260101-115959-aaaaaa", "tool", '{"n": 12}', run_id=RUN_ID)
        await start_session(store, "20260102-090000-bbbbbb", title="Sales report")
        await add_message(store, "20260102-090000-bbbbbb", "user", "Summarise sales.csv")
    return {"untitled": "20260101-115959-aaaaaa", "titled": "20260102-090000-bbbbbb"}


async def test_no_history_yet(cli: Cli) -> None:
    done = cli("history")
    assert (done.code, done.out) == (0, "No conversations yet; `mark1-assistant` starts one.\n")
    assert json.loads(cli("history", "--json").out) == []


async def test_sessions_table_newest_first_with_a_title_or_the_first_question(
    cli: Cli, chats: dict[str, str]
) -> None:
    done = cli("history")
    assert done.code == 0, done.err
    header, newest, older = done.out.splitlines()
    assert header.split() == ["session", "title", "messages", "last", "activity"]
    assert newest.startswith(chats["titled"]) and "Sales report" in newest
    assert older.startswith(chats["untitled"])
    assert LONG_QUESTION[:59] + "…" in older and LONG_QUESTION not in older
    assert older.split()[-3] == "3", "the message count"

    assert len(cli("history", "-n", "1").out.splitlines()) == 2


async def test_sessions_as_json(cli: Cli, chats: dict[str, str]) -> None:
    listed = json.loads(cli("history", "--json").out)
    assert [s["id"] for s in listed] == [chats["titled"], chats["untitled"]]
    assert set(listed[1]) == {
        "id",
        "title",
        "namespace",
        "created_at",
        "updated_at",
        "message_count",
        "first_message",
    }
    assert (listed[1]["title"], listed[1]["first_message"]) == (None, LONG_QUESTION)
    assert listed[1]["message_count"] == 3


async def test_one_conversation_with_its_tool_calls(cli: Cli, chats: dict[str, str]) -> None:
    done = cli("history", "--session", chats["untitled"][:13])  # a prefix is enough
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert lines[0] == f"session {chats['untitled']}: (untitled)"
    assert "namespace default, 3 messages" in lines[1]
    user, assistant, continued, call, tool = lines[2:]
    assert user.split()[2:4] == ["user", "Please"]
    assert assistant.endswith("assistant  Compressing.")
    assert continued == " " * assistant.index("Compressing.") + "Then emailing."
    assert call == f"    tool compress (imagetool): succeeded, run {RUN_ID}"
    assert tool.split()[2] == "tool"

    last = cli("history", "--session", chats["untitled"], "-n", "1").out.splitlines()
    assert "3 messages (the last 1 shown)" in last[1]
    assert len(last) == 3 and last[2].split()[2] == "tool"


async def test_one_conversation_as_json(cli: Cli, chats: dict[str, str]) -> None:
    shown = json.loads(cli("history", "--session", chats["untitled"], "--json").out)
    assert shown["id"] == chats["untitled"]
    assert [m["role"] for m in shown["messages"]] == ["user", "assistant", "tool"]
    (call,) = shown["messages"][1]["tool_calls"]
    assert (call["name"], call["status"], call["run_id"], call["result"]) == (
        "compress",
        "succeeded",
        RUN_ID,
        {"n": 12},
    )


async def test_a_missing_session_says_how_to_find_one(cli: Cli, chats: dict[str, str]) -> None:
    for wanted in ("no-such-session", "2026"):  # unknown, and a prefix of both sessions
        done = cli("history", "--session", wanted)
        assert done.code == NotFoundError.exit_code == 2
        assert f"no single session matches '{wanted}'" in done.err
        assert "hint: `mark1 history` lists the sessions" in done.err
        assert done.out == ""


def test_help_teaches_by_example(cli: Cli) -> None:
    done = cli("history", "--help")
    assert done.code == 0
    assert "mark1 history --session" in done.out and "--limit" in done.out
    assert "history" in cli("--help").out
