"""The offline embedder, for real: the int8 ONNX model and the vendored tokenizer, checked by
sha256, and the Chroma embedding function that a reopened collection finds by name."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from memory.embedder import DIMENSION, Embedder, EmbedderUnavailable, embedder, model_files


def test_paraphrases_are_closer_than_other_requests() -> None:
    vectors = embedder().embed(
        ["compress these photos", "image compression tool", "send an email to the team"]
    )
    assert vectors.shape == (3, DIMENSION) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similar, unrelated = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > 0.5 > unrelated + 0.2


def test_order_is_kept_and_batching_changes_nothing() -> None:
    """Texts are batched by length internally; each comes back in its place, as it would alone."""
    texts = [f"{'very ' * (i % 7)}long request number {i}" for i in range(70)] + [""]
    together = embedder().embed(texts)
    alone = np.stack([embedder().embed([text])[0] for text in texts])
    assert np.allclose(together, alone, atol=1e-5)
    assert embedder().embed([]).shape == (0, DIMENSION)


def test_a_very_long_text_is_truncated_not_refused() -> None:
    vector = embedder().embed(["word " * 5000])
    assert vector.shape == (1, DIMENSION) and np.isfinite(vector).all()


def test_a_changed_tokenizer_is_refused_with_the_fix(tmp_path: Path) -> None:
    model, tokenizer = model_files()
    tampered = tmp_path / "tokenizer.json"
    shutil.copy(tokenizer, tampered)
    with tampered.open("ab") as file:
        file.write(b" ")
    with pytest.raises(EmbedderUnavailable) as caught:
        Embedder(model, tampered)
    assert "sha256 differs" in caught.value.message
    assert "scripts/setup" in caught.value.hint and "BM25" in caught.value.hint


def test_a_missing_model_is_refused_with_the_fix(tmp_path: Path) -> None:
    _, tokenizer = model_files()
    with pytest.raises(EmbedderUnavailable) as caught:
        Embedder(tmp_path / "model.onnx", tokenizer)
    assert "cannot be read" in caught.value.message


def test_threads_embed_at_once_with_the_same_results() -> None:
    texts = [f"resize photo {i} to a thumbnail" for i in range(40)]
    expected = embedder().embed(texts)
    results: list[np.ndarray] = []

    def work() -> None:
        results.append(embedder().embed(texts))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(np.allclose(r, expected, atol=1e-5) for r in results)


def test_a_reopened_chroma_collection_finds_the_embedder_by_name(tmp_path: Path) -> None:
    """Created in one process, queried in a fresh one that passes no embedding function."""
    write = textwrap.dedent(
        f"""
        import chromadb
        from chromadb.config import Settings
        from memory.chroma_embedding import MiniLMEmbeddings
        client = chromadb.PersistentClient({str(tmp_path)!r}, Settings(anonymized_telemetry=False))
        notes = client.create_collection("notes", embedding_function=MiniLMEmbeddings())
        notes.add(ids=["a", "b"], documents=["image compression tool", "send an email"])
        """
    )
    read = textwrap.dedent(
        f"""
        import chromadb
        from chromadb.config import Settings
        import memory.chroma_embedding
        client = chromadb.PersistentClient({str(tmp_path)!r}, Settings(anonymized_telemetry=False))
        found = client.get_collection("notes").query(query_texts=["compress these photos"], n_results=1)
        print(found["ids"][0][0])
        """
    )
    root = str(Path(__file__).resolve().parents[2])
    for script in (write, read):
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "a"
