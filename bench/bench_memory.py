"""What memory's embedder costs, beside baselines measured in the same run (issue 7).

* Embedding throughput: 2,000 short requests (5 to 15 words, the size of an utterance or a
  capability description) through ``memory.embedder``, beside the same model and tokenizer
  used the straightforward way (the tokenizer file's fixed 128-token padding, texts in the
  order given, batches of 32) and one text at a time. Target: >= 500 sentences/s on 2 cores.
* Cold load: importing the embedder and loading the model in a fresh process (both files'
  sha256 checked). Part of the memory subsystem's target: under 1 s.

Recall latency at 10k and 100k memories comes with the memory store.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import median, ms, table  # noqa: E402

SENTENCES = 2000
ROUNDS = 3
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


def cold_load() -> float:
    code = (
        "import time; t = time.perf_counter(); from memory.embedder import embedder; "
        "embedder(); print(time.perf_counter() - t)"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


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
    loads = [cold_load() for _ in range(3)]
    print(
        table(
            ["cold load in a fresh process", "ms"],
            [["import + model and tokenizer loaded, sha256 checked", ms(median(loads) or 0)]],
            title="Cold load of the embedder (memory subsystem target: under 1 s)",
        )
    )


if __name__ == "__main__":
    main()
