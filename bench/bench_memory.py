"""What memory's embedder costs, beside baselines measured in the same run (issue 7).

* Embedding throughput: 2,000 short requests (5 to 15 words, the size of an utterance or a
  capability description) through ``memory.embedder``, beside the same model and tokenizer
  used the straightforward way (the tokenizer file's fixed 128-token padding, texts in the
  order given, batches of 32) and one text at a time. Target: >= 500 sentences/s on 2 cores.
* Recall latency at 10k and 100k memories: ``MemoryStore.recall`` for 200 utterances (embed
  the query, nearest neighbours in Chroma, texts from SQLite, recency blend, de-duplication,
  token budget) beside the raw Chroma query with a random vector on the same collection.
  The memories are real texts embedded by the real model through ``catch_up`` (so indexing
  throughput is measured too). Target: p95 under 20 ms.
* Cold load of the memory subsystem, in a fresh process: importing it, opening the store and
  answering a first recall over the 10k memories (model and tokenizer loaded and checked,
  Chroma opened), beside Chroma alone doing the same (import, open, first query on the
  same collection, no model) and importing chromadb alone. Target: under 1 s.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import REPO_ROOT, median, ms, table  # noqa: E402

SENTENCES = 2000
ROUNDS = 3
SIZES = (10_000, 100_000)
QUERIES = 200
WORDS = [
    "the",
    "a",
    "my",
    "all",
    "new",
    "old",
    "quick",
    "image",
    "photo",
    "photos",
    "picture",
    "compress",
    "resize",
    "crop",
    "rotate",
    "email",
    "send",
    "mail",
    "report",
    "summary",
    "weekly",
    "file",
    "files",
    "folder",
    "archive",
    "backup",
    "sync",
    "cloud",
    "bucket",
    "upload",
    "download",
    "convert",
    "pdf",
    "csv",
    "json",
    "video",
    "audio",
    "music",
    "chart",
    "table",
    "sales",
    "data",
    "monitor",
    "website",
    "alert",
    "down",
    "schedule",
    "meeting",
    "reminder",
    "note",
    "list",
    "search",
    "find",
    "open",
    "save",
    "delete",
    "rename",
    "copy",
]


def requests(count: int) -> list[str]:
    rng = random.Random(7)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 15))) for _ in range(count)]


def straightforward(texts: list[str]) -> float:
    """The baseline: same files, the tokenizer's own fixed padding, batches in input order."""
    import numpy as np
    from tokenizers import Tokenizer

    from memory.embedder import model_files

    model, tokenizer_file = model_files()
    tokenizer = Tokenizer.from_file(str(tokenizer_file))  # Fixed(128) padding, as shipped
    from memory.embedder import embedder

    session = embedder()._session  # the same session: only the batching differs
    started = time.perf_counter()
    for start in range(0, len(texts), 32):
        encoded = tokenizer.encode_batch(texts[start : start + 32])
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return time.perf_counter() - started


def cold_load(root: Path) -> float:
    """Seconds from a fresh interpreter's first import of the memory subsystem to its first
    recall over the memories in ``root``."""
    code = f"""
import time
started = time.perf_counter()
import asyncio
from pathlib import Path
from memory.memories import MemoryStore
from memory.store import Store
from memory.vectors import VectorIndex
async def main():
    root = Path({str(root)!r})
    async with Store.open(root / "mark1.db") as store:
        memory = await MemoryStore(store, VectorIndex(root / "chroma"),
                                   model_id="all-MiniLM-L6-v2-int8").open()
        found = await memory.recall("where did I put the holiday photos")
    assert found.method == "semantic" and found.items
asyncio.run(main())
print(time.perf_counter() - started)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


CHROMA_ALONE = """
import time
started = time.perf_counter()
import chromadb, numpy
imported = time.perf_counter()
client = chromadb.PersistentClient({folder!r}, chromadb.Settings(anonymized_telemetry=False))
name = next(c.name for c in client.list_collections() if c.name.startswith("memories-"))
client.get_collection(name).query(query_embeddings=[numpy.ones(384, "float32")], n_results=20)
print(imported - started, time.perf_counter() - started)
"""


def chroma_alone(root: Path) -> tuple[float, float]:
    """Seconds a fresh interpreter takes to import chromadb, and to import it, open the same
    memories and answer a first query: the floor of any cold load that uses Chroma."""
    code = CHROMA_ALONE.format(folder=str(root / "chroma"))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    imported, queried = done.stdout.split()
    return float(imported), float(queried)


async def fill(root: Path, count: int) -> float:
    """Remember ``count`` distinct utterances the way a long-lived assistant would have (SQLite
    rows, then ``catch_up`` embeds them in batches); returns the memories indexed per second."""
    from memory.ids import new_id
    from memory.memories import ID_BYTES, MemoryStore, digest
    from memory.store import Store
    from memory.vectors import VectorIndex

    rng = random.Random(count)
    async with Store.open(root / "mark1.db") as store:
        memory = await MemoryStore(
            store, VectorIndex(root / "chroma"), model_id="all-MiniLM-L6-v2-int8"
        ).open()
        have = (await store.fetchall("SELECT count(*) FROM memories"))[0][0]
        rows = []
        for n in range(have, count):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 15))) + f" #{n}"
            created = time.time() - rng.uniform(0, 365 * 86400)
            rows.append((new_id(ID_BYTES), "default", "turn", text, digest(text), created))
        async with store.transaction() as db:
            await db.executemany(
                "INSERT INTO memories(id, namespace, kind, text, digest, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        started = time.perf_counter()
        indexed = await memory.catch_up()
        return indexed / (time.perf_counter() - started)


async def latencies(root: Path) -> tuple[list[float], list[float]]:
    """Per-query seconds of ``recall`` and of the raw Chroma query, interleaved."""
    import numpy as np

    from memory.memories import MemoryStore
    from memory.store import Store
    from memory.vectors import VectorIndex

    queries = requests(QUERIES)
    rng = np.random.default_rng(3)
    ours, raw = [], []
    async with Store.open(root / "mark1.db") as store:
        memory = await MemoryStore(
            store, VectorIndex(root / "chroma"), model_id="all-MiniLM-L6-v2-int8"
        ).open()
        await memory.recall("warm up")
        collection: Any = memory.vectors._collection(memory._space(memory.model_id, "default"))
        for query in queries:
            started = time.perf_counter()
            found = await memory.recall(query)
            ours.append(time.perf_counter() - started)
            assert found.items, query
            vector = rng.standard_normal(384).astype(np.float32)
            started = time.perf_counter()
            collection.query(query_embeddings=[vector], n_results=20)
            raw.append(time.perf_counter() - started)
    return ours, raw


def p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95)]


def recall_figures() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        colds: list[float] = []
        chroma: list[tuple[float, float]] = []
        for size in SIZES:
            print(f"... remembering and embedding {size} memories", file=sys.stderr)
            rate = asyncio.run(fill(root, size))
            if not colds:
                for _ in range(3):  # interleaved, so a slow spell hits both
                    colds.append(cold_load(root))
                    chroma.append(chroma_alone(root))
            ours, raw = asyncio.run(latencies(root))
            rows.append(
                [
                    f"{size:,} memories",
                    ms(median(ours) or 0),
                    ms(p95(ours)),
                    ms(median(raw) or 0),
                    ms(p95(raw)),
                    f"{rate:.0f}",
                ]
            )
    print(
        table(
            ["recall", "p50 ms", "p95 ms", "raw Chroma p50", "raw p95", "indexed/s"],
            rows,
            title=f"Recall latency, {QUERIES} queries (target: p95 under 20 ms)",
        )
    )
    print(
        table(
            ["cold load in a fresh process", "ms"],
            [
                ["Mark-1: import, open, first recall, 10k memories", ms(median(colds) or 0)],
                [
                    "Chroma alone: import, open, first query, same 10k",
                    ms(median([c[1] for c in chroma]) or 0),
                ],
                ["`import chromadb` alone", ms(median([c[0] for c in chroma]) or 0)],
            ],
            title="Cold load of the memory subsystem (target: under 1 s)",
        )
    )


def main() -> None:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    from memory.embedder import embedder

    texts = requests(SENTENCES)
    model = embedder()
    model.embed(texts[:64])  # warm up
    ours, baseline, single = [], [], []
    for _ in range(ROUNDS):  # interleaved: a shared machine's slow spell hits all three
        started = time.perf_counter()
        model.embed(texts)
        ours.append(time.perf_counter() - started)
        baseline.append(straightforward(texts))
        started = time.perf_counter()
        for text in texts[:300]:
            model.embed([text])
        single.append((time.perf_counter() - started) * SENTENCES / 300)
    rate = {
        name: SENTENCES / (median(v) or 1)
        for name, v in (("ours", ours), ("base", baseline), ("one", single))
    }
    print(
        table(
            ["embedding 2000 requests, 2 cores", "sentences/s", "vs Mark-1"],
            [
                ["Mark-1 (batches by length)", f"{rate['ours']:.0f}", ""],
                [
                    "same model, fixed padding, input order",
                    f"{rate['base']:.0f}",
                    f"{rate['ours'] / rate['base']:.2f}x",
                ],
                [
                    "same model, one text at a time",
                    f"{rate['one']:.0f}",
                    f"{rate['ours'] / rate['one']:.2f}x",
                ],
            ],
            title=f"Embedding throughput, median of {ROUNDS} rounds (target: >= 500/s)",
        )
    )
    recall_figures()


if __name__ == "__main__":
    main()
