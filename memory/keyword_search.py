"""Keyword (BM25) search: the labelled fallback for memory recall and capability search when the
embedder cannot load.

Issue 7 forbids a silent fake: without embeddings, search still works, but by shared words only,
and says so. Every hit carries ``method == METHOD`` ("keyword (BM25)") and a UI showing keyword
results must show that label, so nobody mistakes a word match for a semantic one.

Ranking is Okapi BM25 (k1 = 1.5, b = 0.75) with the ``ln(1 + (N - df + 0.5) / (df + 0.5))`` idf,
which stays positive even for a term in every document, so a matching document never scores
zero or below. A document and a query are compared as the terms ``tokenize`` gives; each distinct
query term counts once, so repeating a word in a query does not change the ranking.

The index is an inverted index (term -> {document id: term frequency}) kept up to date on every
add and remove, along with the document lengths and their sum, so nothing is rebuilt and a search
touches only the documents that share a term with the query. One lock guards the index: the
memory store calls it from several threads.
"""

from __future__ import annotations

import heapq
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

METHOD = "keyword (BM25)"
"""The label every keyword hit carries; a UI showing these results must show it."""

K1 = 1.5
B = 0.75

# Function words that say nothing about what a document is about, plus "please", which people
# put in requests to an assistant ("can you please ..."). Kept short on purpose: a word
# missing here only costs a little ranking noise, a wrong word here makes it unsearchable.
STOP_WORDS = frozenset(
    """
    a about above after again all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves
    out over own please same she should so some such than that the their theirs them themselves
    then there these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours yourself yourselves
    """.split()  # noqa: SIM905 - one block of words reads better than 126 quoted strings
)

# A run of letters or digits in any script: ``\w`` without the underscore, so ``compress_images``
# is two words, as a capability name should be.
_WORD = re.compile(r"[^\W_]+")
_SHORTEST_STEM = 3
_KEPT_DOUBLES = frozenset("aeioulsz")


def tokenize(text: str) -> list[str]:
    """The terms BM25 ranks ``text`` by, in order: words, lowercased, stop words dropped, stemmed.

    The text is NFKC-normalised first so a decomposed "ë" or a full-width letter is the same word
    as its usual spelling; the result depends on the text alone.
    """
    words = _WORD.findall(unicodedata.normalize("NFKC", text).lower())
    return [_stem(word) for word in words if word not in STOP_WORDS]


def _stem(word: str) -> str:
    """Fold the common English inflections of ``word`` so its forms match each other.

    Deliberately light, not Porter: at most three steps, each only if at least three letters
    remain. (1) A plural "s" goes, but not from "ss" ("photos" -> "photo", "class" stays).
    (2) One of "ing", "ed", "ion" goes ("compressing", "compressed", "compression" ->
    "compress"). (3) A final "e" goes, so "image"/"images" and "create"/"creating"/"creation"
    meet ("imag", "creat"), which also covers the "es" plurals ("boxes" -> "boxe" -> "box").
    A doubled consonant left by step 2 is undoubled ("running" -> "run"), except ll, ss and zz,
    which usually belong to the word ("compressing" -> "compress"); vowels stay doubled
    ("seeing" -> "see"). Stems need not be words, and
    a few forms still miss each other ("add"/"adding"); that costs recall, never a wrong label.
    """
    if word.endswith("s") and not word.endswith("ss") and len(word) - 1 >= _SHORTEST_STEM:
        word = word[:-1]
    for suffix in ("ing", "ed", "ion"):
        if word.endswith(suffix) and len(word) - len(suffix) >= _SHORTEST_STEM:
            word = word[: -len(suffix)]
            if word[-1] == word[-2] and word[-1] not in _KEPT_DOUBLES:
                word = word[:-1]
            break
    if word.endswith("e") and len(word) - 1 >= _SHORTEST_STEM:
        word = word[:-1]
    return word


@dataclass(frozen=True)
class KeywordHit:
    """One keyword search result. ``method`` is always ``METHOD``: show it wherever the hit is
    shown, so a keyword match is never presented as a semantic one. ``metadata`` is a copy;
    changing it does not change the index."""

    id: str
    score: float
    text: str
    metadata: dict[str, Any]
    method: str = METHOD


@dataclass(frozen=True)
class _Document:
    """What the index keeps of one document. Immutable, so a search can finish with the records
    it collected while a writer replaces them."""

    text: str
    metadata: dict[str, Any]
    terms: Counter[str]
    length: int


class KeywordIndex:
    """An in-memory BM25 index over ``(id, text, metadata)`` documents, safe to share between
    threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._documents: dict[str, _Document] = {}
        self._postings: dict[str, dict[str, int]] = {}
        self._total_length = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._documents)

    def add(self, id: str, text: str, metadata: dict[str, Any] | None = None) -> None:
        """Index ``text`` under ``id``, replacing any document already there. ``metadata`` is
        copied; it is what ``search``'s ``where`` sees and what hits carry."""
        terms = Counter(tokenize(text))
        document = _Document(text, dict(metadata or {}), terms, sum(terms.values()))
        with self._lock:
            self._unindex(id)
            self._documents[id] = document
            self._total_length += document.length
            for term, frequency in terms.items():
                self._postings.setdefault(term, {})[id] = frequency

    def remove(self, id: str) -> bool:
        """Drop the document ``id``; whether it was there (forgetting twice is not an error)."""
        with self._lock:
            return self._unindex(id)

    def search(
        self, query: str, k: int = 5, where: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[KeywordHit]:
        """The ``k`` best documents for ``query``, best first, ties by id; only documents that
        share a term with the query (so score above zero) and, if ``where`` is given, whose
        metadata it accepts. ``where`` runs outside the lock (it may use this index) and must not
        change the metadata it is shown."""
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        query_terms = set(tokenize(query))
        with self._lock:
            scores = self._score(query_terms)
            candidates = [(id, score, self._documents[id]) for id, score in scores.items()]
        if where is not None:
            candidates = [entry for entry in candidates if where(entry[2].metadata)]
        best = heapq.nsmallest(k, candidates, key=lambda entry: (-entry[1], entry[0]))
        return [
            KeywordHit(id, score, document.text, dict(document.metadata))
            for id, score, document in best
        ]

    def _score(self, query_terms: set[str]) -> dict[str, float]:
        """BM25 score of every document holding at least one of ``query_terms``. Caller holds
        the lock."""
        scores: dict[str, float] = {}
        count = len(self._documents)
        if not count or not self._total_length:
            return scores
        average_length = self._total_length / count
        for term in query_terms:
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = math.log(1 + (count - len(postings) + 0.5) / (len(postings) + 0.5))
            for id, frequency in postings.items():
                length_norm = 1 - B + B * self._documents[id].length / average_length
                gain = idf * frequency * (K1 + 1) / (frequency + K1 * length_norm)
                scores[id] = scores.get(id, 0.0) + gain
        return scores

    def _unindex(self, id: str) -> bool:
        """Take ``id`` out of every structure; whether it was there. Caller holds the lock."""
        document = self._documents.pop(id, None)
        if document is None:
            return False
        self._total_length -= document.length
        for term in document.terms:
            postings = self._postings[term]
            del postings[id]
            if not postings:
                del self._postings[term]
        return True
