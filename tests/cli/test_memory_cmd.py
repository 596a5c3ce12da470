"""``mark1 memory``: every subcommand through the real CLI, on the user's own data folder
(real SQLite and Chroma files under MARK1_HOME, the real embedder)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from assistant import paths
from memory.history import add_message, start_session
from memory.store import Store
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def remembered(cli: Cli, text: str, *args: str) -> dict[str, object]:
    done = cli("memory", "add", text, *args, "--json")
    assert done.code == 0, done.err
    return json.loads(done.out)


def test_add_search_list_show_and_stats(cli: Cli) -> None:
    bucket = remembered(cli, "my S3 bucket is acme-photos")
    remembered(cli, "send the weekly reports to me@example.com", "--kind", "preference")
    remembered(cli, "the office cat is called Tom", "--namespace", "work")

    found = json.loads(cli("memory", "search", "which bucket do I use", "--json").out)
    assert found["method"] == "semantic" and found["notice"] is None
    assert found["results"][0]["text"] == "my S3 bucket is acme-photos"
    assert all(r["namespace"] == "default" for r in found["results"])

    table = cli("memory", "search", "where do reports go", "-n", "1")
    assert table.code == 0 and "semantic search for 'where do reports go'" in table.out
    assert "me@example.com" in table.out and "acme-photos" not in table.out

    listing = cli("memory", "list")
    assert listing.out.splitlines()[0].split() == ["memory", "kind", "namespace", "when", "text"]
    assert len(listing.out.splitlines()) == 4 and "work" in listing.out
    assert len(json.loads(cli("memory", "list", "--kind", "fact", "--json").out)) == 2

    prefix = str(bucket["id"])[:20]
    shown = cli("memory", "show", prefix)
    assert shown.code == 0 and shown.out.endswith("my S3 bucket is acme-photos\n")
    assert f"memory {bucket['id']} (fact, namespace default)" in shown.out

    stats = json.loads(cli("memory", "stats", "--json").out)
    assert stats["memories"] == 3 and stats["by_namespace"] == {"default": 2, "work": 1}
    assert stats["model"] == "all-MiniLM-L6-v2-int8" and stats["dimension"] == 384
    assert "3 memories" in cli("memory", "stats").out


def test_unknown_ids_and_bad_dates_say_what_to_do(cli: Cli) -> None:
    missing = cli("memory", "show", "nope")
    assert missing.code == 2 and "no single memory matches 'nope'" in missing.err
    assert "mark1 memory list" in missing.err
    bad = cli("memory", "forget", "--before", "last tuesday", "--yes")
    assert bad.code == 2 and "write it as 2026-01-31" in bad.err
    nothing = cli("memory", "forget")
    assert nothing.code == 2 and "--session ID or --before DATE" in nothing.err


def test_forget_asks_first_and_scripts_must_say_yes(cli: Cli) -> None:
    memory = remembered(cli, "the alarm code is in the blue notebook")
    refused = cli("memory", "forget", str(memory["id"]))
    assert refused.code == 2 and "pass --yes" in refused.err
    assert len(json.loads(cli("memory", "list", "--json").out)) == 1


async def test_forget_a_session_takes_its_history_too(cli: Cli) -> None:
    async with Store.open(paths.db_path()) as store:
        await start_session(store, "s-1")
        await add_message(store, "s-1", "user", "remember that the gate code is 4711")
    kept = remembered(cli, "the printer is on floor two")
    from assistant.config import load_settings
    from assistant.memory_access import memory_store

    async with Store.open(paths.db_path()) as store:
        memory = await memory_store(store, load_settings())
        await memory.remember(
            "remember that the gate code is 4711", kind="turn", role="user", session_id="s-1"
        )
    done = cli("memory", "forget", "--session", "s-1", "--yes", "--json")
    assert json.loads(done.out) == {"memories": 1, "sessions": 1, "messages": 1}
    assert [m["id"] for m in json.loads(cli("memory", "list", "--json").out)] == [kept["id"]]
    assert json.loads(cli("history", "--json").out) == []


def test_export_and_import_round_trip_and_a_bad_line_imports_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    remembered(cli, "I like short answers", "--kind", "preference")
    remembered(cli, "the wifi is called quokka", "--namespace", "home")
    file = tmp_path / "out.jsonl"
    assert json.loads(cli("memory", "export", str(file), "--json").out)["exported"] == 2
    records = [json.loads(line) for line in file.read_text().splitlines()]
    assert [r["text"] for r in records] == ["I like short answers", "the wifi is called quokka"]

    assert json.loads(cli("memory", "import", str(file), "--json").out) == {
        "added": 0,
        "skipped": 2,
    }
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"text": "new one", "kind": "fact", "created_at": 1})
        + "\n"
        + json.dumps({"text": "x", "kind": "rumour", "created_at": 1})
        + "\n"
    )
    refused = cli("memory", "import", str(bad))
    assert refused.code == 2 and f"{bad}:2: unknown kind 'rumour'" in refused.err
    assert len(json.loads(cli("memory", "list", "--json").out)) == 2

    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"text": "the car is blue", "kind": "fact", "created_at": 1}))
    assert "imported 1 memories (0 already here)" in cli("memory", "import", str(other)).out


def test_a_model_change_is_finished_by_reindex(cli: Cli) -> None:
    for i in range(5):
        remembered(cli, f"box {i} in the attic holds winter clothes number {i}")
    assert cli("config", "set", "memory.model", "all-MiniLM-L6-v2-int8-128").code == 0
    waiting = json.loads(cli("memory", "stats", "--json").out)
    assert waiting["reindex"] == {"to": "all-MiniLM-L6-v2-int8-128", "done": 0, "total": 5}
    assert "`mark1 memory reindex` finishes it" in cli("memory", "stats").out
    done = json.loads(cli("memory", "reindex", "--json").out)
    assert done == {"reembedded": 5, "embedded": 0, "model": "all-MiniLM-L6-v2-int8-128"}
    again = cli("memory", "reindex")
    assert "nothing to do" in again.out
    found = json.loads(cli("memory", "search", "winter clothes", "--json").out)
    assert len(found["results"]) == 5


def test_a_finished_workflow_run_is_remembered_and_recalled(cli: Cli, tmp_path: Path) -> None:
    flow = tmp_path / "greet.yml"
    flow.write_text(
        "name: greeter\ndescription: says hello to the new colleague\nsteps:\n"
        "  - {name: hello, plugin: core, capability: echo, inputs: {message: hi Ada}}\n"
    )
    assert cli("workflow", "run", str(flow), "-q").code == 0
    found = json.loads(cli("memory", "search", "did we welcome the new colleague", "--json").out)
    top = found["results"][0]
    assert top["kind"] == "run" and top["plugins"] == ["core"]
    assert top["text"].startswith("Workflow 'greeter' (says hello to the new colleague) run ")
    assert "succeeded: steps hello succeeded" in top["text"]
