"""Semantic search over installed capabilities, so a request finds the right tools among
hundreds by meaning ("shrink my pictures" finds ``image-tools.compress``), not by shared words.

Each capability is embedded once, from a text its owner builds (name, description, formats,
parameters), into the ``capabilities`` collection of the configured model. ``sync`` makes the
collection hold exactly the documents it is given: new and changed ones (a digest of the text
is kept beside each vector) are embedded, removed ones deleted; it is cheap when nothing
changed, so callers sync before every search as well as after an install, update or removal.

Without a loadable model, search ranks by keywords (BM25) and every hit says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from memory.embedder import EmbedderUnavailable, embedder
from memory.keyword_search import METHOD as KEYWORD_METHOD
from memory.keyword_search import KeywordIndex
from memory.vectors import Space, VectorIndex

SEMANTIC = "semantic"
KIND = "capabilities"


@dataclass(frozen=True)
class CapabilityText:
    """What is embedded for one capability; ``id`` is its qualified name (plugin.capability)."""

    id: str
    text: str


@dataclass(frozen=True)
class CapabilityHit:
    """One search result: cosine similarity (or BM25 score) and how it was found."""

    id: str
    score: float
    method: str = SEMANTIC


class CapabilityIndex:
    """The capability vectors of ``model_id`` in ``vectors``."""

    def __init__(self, vectors: VectorIndex, model_id: str) -> None:
        self.vectors, self.model_id = vectors, model_id
        self.space = Space.of(KIND, model_id)
        self._synced: str | None = None

    def sync(self, documents: Sequence[CapabilityText]) -> tuple[int, int]:
        """Make the index hold exactly ``documents``; returns (embedded, removed). Raises
        ``EmbedderUnavailable`` when the model cannot load."""
        wanted = {d.id: _digest(d.text) for d in documents}
        fingerprint = _digest(repr(sorted(wanted.items())))
        if fingerprint == self._synced:
            return 0, 0
        model = embedder(self.model_id)
        held = self.vectors.metadatas(self.space)
        changed = [d for d in documents if (held.get(d.id) or {}).get("digest") != wanted[d.id]]
        removed = sorted(set(held) - set(wanted))
        if changed:
            self.vectors.upsert(
                self.space,
                [d.id for d in changed],
                model.embed([d.text for d in changed]),
                [{"digest": wanted[d.id]} for d in changed],
            )
        if removed:
            self.vectors.delete(self.space, removed)
        for space in self.vectors.spaces():  # another model's index is out of date for good
            if space.get("kind") == KIND and space.get("model") != self.model_id:
                self.vectors.drop(space["name"])
        self._synced = fingerprint
        return len(changed), len(removed)

    def search(
        self, query: str, documents: Sequence[CapabilityText], k: int = 10
    ) -> list[CapabilityHit]:
        """The ``k`` capabilities of ``documents`` nearest to ``query`` in meaning, best first
        (the index is synced with ``documents`` first); by keywords when the model cannot load."""
        if not documents:
            return []
        try:
            self.sync(documents)
        except EmbedderUnavailable:
            return keyword_search(query, documents, k)
        vector = embedder(self.model_id).embed([query])[0]
        return [
            CapabilityHit(n.id, n.similarity)
            for n in self.vectors.query(self.space, vector, min(k, len(documents)))
        ]


def keyword_search(query: str, documents: Sequence[CapabilityText], k: int) -> list[CapabilityHit]:
    """BM25 over ``documents``: the labelled fallback."""
    index = KeywordIndex()
    for document in documents:
        index.add(document.id, document.text)
    return [CapabilityHit(h.id, h.score, KEYWORD_METHOD) for h in index.search(query, k)]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
