"""Chroma as Mark-1's vector index: one client per folder and process, collections named by what
they hold and by the model of their vectors, and other processes' writes seen before a query.

Chroma holds vectors and a little metadata, never the remembered text: the text lives in SQLite
(``memory.memories``), where forgetting can zero its bytes. Each collection records the model id
and dimension of its vectors and carries Mark-1's registered embedding function, so a reopened
collection (in any process, by any Chroma client that imported ``memory.chroma_embedding``)
embeds queries with the right model; a new model gets new collections, so two vector spaces are
never mixed and a dimension mismatch cannot happen.

Two facts about Chroma's local client, measured here, shape this module:

* It answers queries from an HNSW index kept in memory: vectors another process adds reach the
  files at once (``count`` sees them) but not this process's copy (``query`` does not). Every
  write bumps a counter in the ``generation`` file, under an flock; a query first reads it, and
  when another process wrote since, reopens the client (tens of milliseconds, only then).
* A metadata filter (``where``) makes a query walk the matching rows: 260 ms at 100k vectors
  against 2.5 ms unfiltered. So callers put what they filter on (a namespace) into the
  collection's name, and every query here is unfiltered.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

if TYPE_CHECKING:
    import numpy as np
    from chromadb.api.models.Collection import Collection

MAX_BATCH = 5000  # below Chroma's own limit per call (5461 here)


@dataclass(frozen=True)
class Neighbour:
    """One query result: the id, its cosine similarity to the query, and its vector."""

    id: str
    similarity: float
    vector: np.ndarray


@dataclass(frozen=True)
class Space:
    """One collection: its Chroma name, the model of its vectors, and what else it records
    (what it holds, for whom) in its metadata."""

    name: str
    model_id: str
    meta: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, kind: str, model_id: str, **meta: str) -> Space:
        """The collection of ``kind`` vectors of ``model_id`` for ``meta`` (e.g. a namespace):
        a readable name made unique by a short hash, since Chroma allows only
        ``[a-zA-Z0-9._-]`` in names."""
        words = "-".join([kind, model_id, *meta.values()])
        readable = re.sub(r"[^a-z0-9.]+", "-", words.lower()).strip("-.")[:80]
        digest = hashlib.sha256(repr((kind, model_id, sorted(meta.items()))).encode()).hexdigest()
        return cls(f"{readable}-{digest[:8]}", model_id, (("kind", kind), *sorted(meta.items())))


class VectorIndex:
    """The Chroma database in ``folder``. Thread-safe; opened on first use."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.RLock()
        self._client: Any = None
        self._collections: dict[str, Collection] = {}
        self._seen = -1

    def open(self) -> None:
        """Open the database now (importing Chroma takes most of a second), e.g. in a thread
        while the model loads in another."""
        with self._lock:
            self._refresh()

    def spaces(self) -> list[dict[str, Any]]:
        """Every collection's metadata (kind, model, dimension, ...) with its name and size."""
        with self._lock:
            self._refresh()
            return [
                {**(c.metadata or {}), "name": c.name, "count": c.count()}
                for c in self._client.list_collections()
            ]

    def metadatas(self, space: Space) -> dict[str, dict[str, Any]]:
        """Every id in ``space`` with its metadata (to reconcile it with what it should hold)."""
        with self._lock:
            collection = self._collection(space, create=False)
            if collection is None:
                return {}
            found = collection.get(include=["metadatas"])
        return {
            id: dict(meta or {})
            for id, meta in zip(found["ids"], found["metadatas"] or [], strict=True)
        }

    def upsert(
        self,
        space: Space,
        ids: Sequence[str],
        vectors: np.ndarray,
        metadatas: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        with self._lock:
            collection = self._collection(space)
            for start in range(0, len(ids), MAX_BATCH):
                end = start + MAX_BATCH
                collection.upsert(
                    ids=list(ids[start:end]),
                    embeddings=vectors[start:end],
                    metadatas=None if metadatas is None else list(metadatas[start:end]),
                )
            self._wrote()

    def delete(self, space: Space, ids: Sequence[str]) -> None:
        with self._lock:
            collection = self._collection(space, create=False)
            if collection is None:
                return
            for start in range(0, len(ids), MAX_BATCH):
                collection.delete(ids=list(ids[start : start + MAX_BATCH]))
            self._wrote()

    def drop(self, name: str) -> None:
        """Delete the collection ``name`` and its files, if it exists."""
        with self._lock:
            self._refresh()
            if name in {c.name for c in self._client.list_collections()}:
                self._client.delete_collection(name)
                self._collections.pop(name, None)
                self._wrote()

    def query(self, space: Space, vector: np.ndarray, n: int) -> list[Neighbour]:
        """The ``n`` nearest vectors to ``vector`` in ``space``, nearest first."""
        import numpy as np

        with self._lock:
            collection = self._collection(space, create=False)
            if collection is None:
                return []
            # No count() to bound n: it costs 8 ms at 100k vectors, and Chroma returns what
            # there is when asked for more.
            found = collection.query(
                query_embeddings=[vector], n_results=n, include=["distances", "embeddings"]
            )
        ids, distances = found["ids"][0], found["distances"][0]  # type: ignore[index]
        vectors = np.asarray(found["embeddings"][0], dtype=np.float32)  # type: ignore[index]
        return [
            Neighbour(id, 1.0 - float(distance), vectors[row])
            for row, (id, distance) in enumerate(zip(ids, distances, strict=True))
        ]

    @overload
    def _collection(self, space: Space) -> Collection: ...
    @overload
    def _collection(self, space: Space, create: Literal[False]) -> Collection | None: ...

    def _collection(self, space: Space, create: bool = True) -> Collection | None:
        """``space``'s collection, created on first use (None when it does not exist and
        ``create`` is off: reading must not leave empty collections behind). Caller holds the
        lock."""
        from chromadb.errors import NotFoundError

        from memory.chroma_embedding import MiniLMEmbeddings
        from memory.embedder import MODELS

        self._refresh()
        found = self._collections.get(space.name)
        if found is None and not create:
            try:
                found = self._client.get_collection(
                    space.name, embedding_function=MiniLMEmbeddings(space.model_id)
                )
            except NotFoundError:
                return None
        if found is None:
            found = self._client.get_or_create_collection(
                space.name,
                embedding_function=MiniLMEmbeddings(space.model_id),
                metadata={
                    "hnsw:space": "cosine",
                    "model": space.model_id,
                    "dimension": MODELS[space.model_id].dimension,
                    **dict(space.meta),
                },
            )
            self._collections[space.name] = found
        return found

    def _refresh(self) -> bool:
        """Open the client, or reopen it when another process wrote since; whether it did.
        Caller holds the lock."""
        generation = self._generation()
        if self._client is not None and generation == self._seen:
            return False
        import chromadb
        from chromadb.api.client import SharedSystemClient
        from chromadb.config import Settings

        import memory.chroma_embedding  # noqa: F401 - registers the function reopened collections name

        if self._client is not None:
            SharedSystemClient.clear_system_cache()  # else Chroma hands back the same stale system
        self.folder.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            str(self.folder), Settings(anonymized_telemetry=False, allow_reset=False)
        )
        self._collections.clear()
        self._seen = generation
        return True

    def _generation(self) -> int:
        try:
            return int((self.folder / "generation").read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _wrote(self) -> None:
        """Bump the generation for other processes. When someone else had bumped it since this
        process last looked, leave ``_seen`` behind, so the next query reopens and sees both."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "generation.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self._generation()
            path = self.folder / "generation"
            temporary = path.with_suffix(f".{os.getpid()}")
            temporary.write_text(str(current + 1))
            os.replace(temporary, path)
            if current == self._seen:
                self._seen = current + 1
