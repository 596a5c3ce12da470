"""Conversational memory: what the assistant remembers, recalled by meaning across sessions.

Every user and assistant turn, every workflow run's summary, and the facts and preferences a
user states ("my S3 bucket is X") are remembered here, per namespace (one per user, one per
long-running agent). SQLite holds each memory in full (table ``memories``); Chroma holds its
vector (``memory.vectors``), one collection per namespace and model. Recall embeds the new
utterance, takes the nearest memories, blends similarity with recency, drops near-duplicates
and fits what is left into a token budget.

Why the text is in SQLite and not in Chroma: forgetting must really delete, and SQLite can zero
the freed pages (``Store.erase``); re-embedding after a model change needs the texts, wherever
the old vectors are; and writing is one cheap insert, so a run's summary can be remembered by a
process that never loads the model (it is embedded by the next one that does: ``catch_up``).

Everything is redacted before it is stored or embedded (``memory.redaction``): a secret never
reaches either store.

When the model changes (``memory.model``), the stored memories are re-embedded into the new
model's collections (``reindex``, resumable: progress is kept per memory) while recall keeps
using the old ones; the switch happens when the last memory is done. Without a loadable model,
recall falls back to keyword (BM25) search over the texts, and says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from memory.embedder import EmbedderUnavailable, embedder
from memory.ids import new_id
from memory.keyword_search import METHOD as KEYWORD_METHOD
from memory.keyword_search import KeywordIndex
from memory.kinds import KINDS, Kind
from memory.redaction import Redactor
from memory.store import Store, dumps, loads
from memory.vectors import Space, VectorIndex

SEMANTIC = "semantic"
DEFAULT_NAMESPACE = "default"

RECENCY_WEIGHT = 0.15  # how much being recent adds to similarity, at most
HALF_LIFE_DAYS = 30.0  # a memory this old gets half the recency bonus of a new one
MIN_SIMILARITY = 0.2  # below this a memory is unrelated, however recent
NEAR_DUPLICATE = 0.95  # two memories this similar say the same thing: recall keeps one
OVERFETCH = 4  # nearest neighbours fetched per memory recalled, for re-ranking and filters
ID_BYTES = 8  # memories are made in bulk too (import, benchmarks): 64 random bits per id
BATCH = 256  # memories embedded per step of an indexing pass

Progress = Callable[[int, int], None]


@dataclass
class Memory:
    """One remembered text and where it came from."""

    id: str
    namespace: str
    kind: str
    text: str
    created_at: float
    role: str | None = None
    session_id: str | None = None
    run_id: str | None = None
    plugins: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """The memory as a JSON object (export, ``--json``)."""
        return asdict(self)


@dataclass
class Recalled:
    """A recalled memory with how it was ranked: cosine ``similarity`` (for keyword hits, the
    BM25 score) and the ``score`` that blends in recency."""

    memory: Memory
    similarity: float
    score: float


@dataclass
class Recall:
    """What recall found, best first, and how: ``method`` is "semantic", or "keyword (BM25)"
    with ``notice`` saying why the model is not in use and how to fix that."""

    items: list[Recalled]
    method: str = SEMANTIC
    notice: str | None = None
    tokens: int = 0


class MemoryFileError(ValueError):
    """A memory export file that cannot be imported; nothing was imported."""


def estimate_tokens(text: str) -> int:
    """Tokens ``text`` will take in a prompt, estimated at four characters each (the usual
    figure for English with GPT-style tokenizers); budgets need a bound, not an exact count."""
    return len(text) // 4 + 1


def digest(text: str) -> str:
    """What makes two memories the same: their words, ignoring case and spacing."""
    return hashlib.sha256(" ".join(text.casefold().split()).encode()).hexdigest()


class MemoryStore:
    """Memories in ``store`` (SQLite) and ``vectors`` (Chroma), embedded with ``model_id``.

    Cheap to create: Chroma and the model are loaded on first use. Call ``open`` once before
    use: it records the configured model (starting a re-embedding when it changed) and finishes
    any forget that a crash interrupted.
    """

    def __init__(
        self,
        store: Store,
        vectors: VectorIndex,
        *,
        model_id: str,
        redactor: Redactor | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store, self.vectors, self.model_id = store, vectors, model_id
        self.redactor = redactor or Redactor()
        self.clock = clock
        self._keywords: dict[str, tuple[tuple[Any, ...], KeywordIndex]] = {}
        self._warmed = False

    async def open(self) -> MemoryStore:
        row = await self.store.fetchone("SELECT model, target FROM memory_model")
        if row is None or (row["model"], row["target"]) not in (
            (self.model_id, None),
            (row["model"], self.model_id),
        ):
            await self._record_model()
        await self._finish_forgetting()
        return self

    async def _record_model(self) -> None:
        """Make the configured model the serving one, or the target of a re-embedding."""
        async with self.store.transaction() as db:
            row = list(await db.execute_fetchall("SELECT model, target FROM memory_model"))
            if not row:
                await db.execute(
                    "INSERT INTO memory_model(id, model, updated_at) VALUES (1, ?, ?)",
                    (self.model_id, self.clock()),
                )
            elif self.model_id not in (row[0]["model"], row[0]["target"]):
                # A new model (or another change of mind): its re-embedding starts from zero.
                await db.execute(
                    "UPDATE memory_model SET target = ?, updated_at = ?",
                    (self.model_id, self.clock()),
                )
                await db.execute("UPDATE memories SET target_indexed = 0")
            elif row[0]["model"] == self.model_id and row[0]["target"] is not None:
                await db.execute("UPDATE memory_model SET target = NULL")  # switched back

    # --- writing ---------------------------------------------------------------------------

    async def remember(
        self,
        text: str,
        *,
        kind: Kind,
        namespace: str = DEFAULT_NAMESPACE,
        role: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        plugins: Sequence[str] = (),
        meta: dict[str, Any] | None = None,
        embed: bool = True,
    ) -> Memory:
        """Store ``text`` (redacted first) and, with ``embed``, its vector; returns what was
        stored. The same words again in a namespace refresh the existing memory's time instead
        of adding a copy. With ``embed=False`` only SQLite is written: the next ``catch_up``
        (any process) embeds it."""
        if kind not in KINDS:
            raise ValueError(f"unknown memory kind '{kind}': use one of {', '.join(KINDS)}")
        clean = self.redactor.redact(text).strip()
        if not clean:
            raise ValueError("an empty text cannot be remembered")
        memory = Memory(
            id=new_id(ID_BYTES),
            namespace=namespace,
            kind=kind,
            text=clean,
            created_at=self.clock(),
            role=role,
            session_id=session_id,
            run_id=run_id,
            plugins=list(plugins),
            meta=self.redactor.redact_value(meta or {}),
        )
        async with self.store.transaction() as db:
            rows = list(
                await db.execute_fetchall(
                    INSERT.format(verb="INSERT")
                    + " ON CONFLICT(namespace, digest) DO UPDATE SET created_at = excluded.created_at,"
                    " session_id = coalesce(excluded.session_id, session_id),"
                    " run_id = coalesce(excluded.run_id, run_id),"
                    # a memory being forgotten comes back whole: its vectors are made anew
                    " indexed = indexed * (1 - forgotten),"
                    " target_indexed = target_indexed * (1 - forgotten), forgotten = 0"
                    " RETURNING id, kind, role, plugins_json, meta_json",
                    _values(memory),
                )
            )
        stored = rows[0]
        memory.id, memory.kind, memory.role = stored["id"], stored["kind"], stored["role"]
        memory.plugins, memory.meta = loads(stored["plugins_json"]), loads(stored["meta_json"])
        if embed:
            await self.catch_up()
        return memory

    async def catch_up(self, progress: Progress | None = None) -> int:
        """Embed every memory that has no vector yet in the serving model's collections;
        returns how many. Without a loadable model, nothing is embedded (recall uses keywords
        meanwhile) and 0 is returned."""
        model = await self._serving()
        try:
            await self._warm(model)
        except EmbedderUnavailable:
            return 0
        return await self._index("indexed", model, progress)

    async def _warm(self, model: str) -> None:
        """Load the model and open Chroma at the same time, once: done one after the other
        they are the bulk of a first recall (the model's graph optimisation lets go of the
        GIL while Chroma's import holds it)."""
        if self._warmed:
            embedder(model)
            return
        loading = asyncio.to_thread(embedder, model)
        opening = asyncio.to_thread(self.vectors.open)
        await asyncio.gather(loading, opening)
        self._warmed = True

    async def reindex(self, progress: Progress | None = None) -> int:
        """Re-embed every memory with the configured model, then switch recall to it and drop
        the old model's collections; returns how many were embedded (0 when the model did not
        change). Resumable: an interrupted re-embedding continues where it stopped."""
        row = await self.store.fetchone("SELECT model, target FROM memory_model")
        assert row is not None, "call open() first"
        if row["target"] is None:
            await asyncio.to_thread(self._drop_other_models, row["model"])
            return 0
        new = row["target"]
        embedder(new)  # EmbedderUnavailable: the caller says the model cannot load
        done = await self._index("target_indexed", new, progress)
        async with self.store.transaction() as db:
            switched = await db.execute(
                "UPDATE memory_model SET model = target, target = NULL, updated_at = ?"
                " WHERE target = ?",
                (self.clock(), new),
            )
            if switched.rowcount:
                await db.execute("UPDATE memories SET indexed = target_indexed, target_indexed = 0")
        await asyncio.to_thread(self._drop_other_models, new)
        return done

    async def _index(self, column: str, model: str, progress: Progress | None) -> int:
        """Embed the memories whose ``column`` is 0 into ``model``'s collections, a batch at a
        time, each batch marked done in SQLite after Chroma has it (a crash repeats at most a
        batch, and an upsert of the same vector changes nothing)."""
        pending_sql = f"SELECT count(*) FROM memories WHERE {column} = 0 AND forgotten = 0"
        total = (await self.store.fetchall(pending_sql))[0][0]
        done = 0
        while True:
            rows = await self.store.fetchall(
                f"SELECT id, namespace, kind, text FROM memories WHERE {column} = 0"
                " AND forgotten = 0 ORDER BY created_at LIMIT ?",
                (BATCH,),
            )
            if not rows:
                return done
            await asyncio.to_thread(self._embed_rows, model, rows)
            # Marked done only if ``model`` still has that role: a reindex may have switched
            # models meanwhile (another task or process), and these vectors went to the old one.
            role = "model" if column == "indexed" else "target"
            async with self.store.transaction() as db:
                await db.executemany(
                    f"UPDATE memories SET {column} = 1 WHERE id = ?"
                    f" AND (SELECT {role} FROM memory_model) = ?",
                    [(r["id"], model) for r in rows],
                )
            done += len(rows)
            if progress is not None:
                progress(done, max(total, done))

    def _embed_rows(self, model: str, rows: Sequence[Any]) -> None:
        vectors = embedder(model).embed([r["text"] for r in rows])
        by_namespace: dict[str, list[int]] = {}
        for position, row in enumerate(rows):
            by_namespace.setdefault(row["namespace"], []).append(position)
        for namespace, positions in by_namespace.items():
            self.vectors.upsert(
                self._space(model, namespace),
                [rows[p]["id"] for p in positions],
                vectors[positions],
                [{"kind": rows[p]["kind"]} for p in positions],
            )

    def _drop_other_models(self, keep: str) -> None:
        """Delete the memory vectors of every model but ``keep`` (and one being re-embedded
        to, which a reindex started elsewhere may be filling)."""
        for space in self.vectors.spaces():
            if space.get("kind") == "memories" and space.get("model") != keep:
                self.vectors.drop(space["name"])

    @staticmethod
    def _space(model: str, namespace: str) -> Space:
        return Space.of("memories", model, namespace=namespace)

    # --- recall ----------------------------------------------------------------------------

    async def recall(
        self,
        query: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        k: int = 5,
        budget_tokens: int = 1000,
        kinds: Iterable[str] | None = None,
    ) -> Recall:
        """The memories of ``namespace`` that matter for ``query``: at most ``k``, best first,
        their texts together within ``budget_tokens``, no two saying the same thing."""
        wanted = set(kinds) if kinds is not None else None
        model = await self._serving()
        try:
            await self._warm(model)
        except EmbedderUnavailable as exc:
            return await self._keyword_recall(query, namespace, k, budget_tokens, wanted, exc)
        await self._index("indexed", model, None)  # what another process wrote unembedded
        clean = self.redactor.redact(query)
        while True:
            neighbours = await asyncio.to_thread(self._neighbours, model, namespace, clean, k)
            serving = await self._serving()
            if serving == model:
                break
            model = serving  # a reindex switched models during the query: ask the new one
        found = await self._memories([n.id for n in neighbours])
        now = self.clock()
        ranked = sorted(
            (
                Recalled(found[n.id], n.similarity, blend(n.similarity, found[n.id], now))
                for n in neighbours
                if n.id in found
                and n.similarity >= MIN_SIMILARITY
                and (wanted is None or found[n.id].kind in wanted)
            ),
            key=lambda r: -r.score,
        )
        vectors = {n.id: n.vector for n in neighbours}
        chosen, tokens = _fit(ranked, k, budget_tokens, lambda a, b: vectors[a] @ vectors[b])
        return Recall(chosen, tokens=tokens)

    def _neighbours(self, model: str, namespace: str, query: str, k: int) -> list[Any]:
        vector = embedder(model).embed([query])[0]
        return self.vectors.query(self._space(model, namespace), vector, k * OVERFETCH)

    async def _keyword_recall(
        self,
        query: str,
        namespace: str,
        k: int,
        budget: int,
        wanted: set[str] | None,
        reason: EmbedderUnavailable,
    ) -> Recall:
        index = await self._keyword_index(namespace)
        hits = index.search(query, k * OVERFETCH)
        found = await self._memories([h.id for h in hits])
        now = self.clock()
        ranked = [
            Recalled(found[h.id], h.score, h.score * blend(1.0, found[h.id], now))
            for h in hits
            if h.id in found and (wanted is None or found[h.id].kind in wanted)
        ]
        ranked.sort(key=lambda r: -r.score)
        chosen, tokens = _fit(ranked, k, budget, lambda a, b: 0.0)
        notice = f"{reason.message}; to fix: {reason.hint}"
        return Recall(chosen, method=KEYWORD_METHOD, notice=notice, tokens=tokens)

    async def _keyword_index(self, namespace: str) -> KeywordIndex:
        """A BM25 index of ``namespace``'s texts, kept while they do not change."""
        version = tuple(
            (
                await self.store.fetchall(
                    "SELECT count(*), max(created_at), max(rowid) FROM memories"
                    " WHERE namespace = ? AND forgotten = 0",
                    (namespace,),
                )
            )[0]
        )
        cached = self._keywords.get(namespace)
        if cached is not None and cached[0] == version:
            return cached[1]
        index = KeywordIndex()
        for row in await self.store.fetchall(
            "SELECT id, text FROM memories WHERE namespace = ? AND forgotten = 0", (namespace,)
        ):
            index.add(row["id"], row["text"])
        self._keywords[namespace] = (version, index)
        return index

    # --- reading ---------------------------------------------------------------------------

    async def list_memories(
        self,
        *,
        namespace: str | None = None,
        kind: str | None = None,
        session_id: str | None = None,
        limit: int | None = 50,
    ) -> list[Memory]:
        """Memories newest first, filtered by whatever is given."""
        rows = await self.store.fetchall(
            "SELECT * FROM memories WHERE forgotten = 0 AND (?1 IS NULL OR namespace = ?1)"
            " AND (?2 IS NULL OR kind = ?2) AND (?3 IS NULL OR session_id = ?3)"
            " ORDER BY created_at DESC, id DESC LIMIT ?4",
            (namespace, kind, session_id, -1 if limit is None else limit),
        )
        return [_memory(r) for r in rows]

    async def get(self, memory_id: str) -> Memory | None:
        """The memory ``memory_id`` (a unique prefix will do); None when none or several match."""
        rows = await self.store.fetchall(
            "SELECT * FROM memories WHERE forgotten = 0 AND substr(id, 1, length(?1)) = ?1"
            " ORDER BY id != ?1 LIMIT 2",
            (memory_id,),
        )
        if not rows or (len(rows) == 2 and rows[0]["id"] != memory_id):
            return None
        return _memory(rows[0])

    async def _memories(self, ids: Sequence[str]) -> dict[str, Memory]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self.store.fetchall(
            f"SELECT * FROM memories WHERE forgotten = 0 AND id IN ({marks})", ids
        )
        return {r["id"]: _memory(r) for r in rows}

    async def _serving(self) -> str:
        row = await self.store.fetchone("SELECT model FROM memory_model")
        assert row is not None, "call open() first"
        return str(row["model"])

    # --- forgetting ------------------------------------------------------------------------

    async def forget(
        self,
        *,
        ids: Sequence[str] = (),
        session_id: str | None = None,
        before: float | None = None,
        namespace: str | None = None,
    ) -> int:
        """Delete memories from both stores: those with ``ids``, of ``session_id``, or created
        ``before`` a time (within ``namespace`` when given); returns how many. The rows are
        marked first, so a crash midway is finished by the next ``open``."""
        if not ids and session_id is None and before is None:
            raise ValueError("say what to forget: ids, a session or a time")
        marks = ",".join("?" * len(ids)) or "NULL"
        async with self.store.transaction() as db:
            marked = await db.execute(
                f"UPDATE memories SET forgotten = 1 WHERE (id IN ({marks})"
                " OR session_id = ? OR created_at < ?) AND (? IS NULL OR namespace = ?)",
                (*ids, session_id, before, namespace, namespace),
            )
        if not marked.rowcount:
            return 0
        return await self._finish_forgetting()

    async def _finish_forgetting(self) -> int:
        rows = await self.store.fetchall("SELECT id, namespace FROM memories WHERE forgotten = 1")
        if not rows:
            return 0
        await asyncio.to_thread(self._delete_vectors, rows)
        (count,) = await self.store.erase(("DELETE FROM memories WHERE forgotten = 1", ()))
        for namespace in {r["namespace"] for r in rows}:
            self._keywords.pop(namespace, None)
        return count

    def _delete_vectors(self, rows: Sequence[Any]) -> None:
        """Every vector of ``rows``, from the collections of every model that may hold one."""
        by_namespace: dict[str, list[str]] = {}
        for row in rows:
            by_namespace.setdefault(row["namespace"], []).append(row["id"])
        for space in self.vectors.spaces():
            wanted = by_namespace.get(space.get("namespace", ""))
            if space.get("kind") == "memories" and wanted:
                self.vectors.delete(self._space(space["model"], space["namespace"]), wanted)

    # --- export and import -----------------------------------------------------------------

    async def export(self, path: Path, *, namespace: str | None = None) -> int:
        """Write every memory (of ``namespace``, when given) to ``path`` as JSON Lines, oldest
        first; returns how many. Vectors are not exported: an import embeds with its own
        model."""
        memories = await self.list_memories(namespace=namespace, limit=None)
        temporary = path.with_name(path.name + ".partial")
        with temporary.open("w", encoding="utf-8") as file:
            for memory in reversed(memories):
                file.write(json.dumps(memory.record(), ensure_ascii=False, sort_keys=True) + "\n")
        temporary.replace(path)
        return len(memories)

    async def import_(self, path: Path, progress: Progress | None = None) -> tuple[int, int]:
        """Add the memories in the JSON Lines file ``path`` (as ``export`` writes it), redacted
        again; memories already here (same id, or same words in the namespace) are skipped.
        Every line is checked before anything is written: one bad line imports nothing and
        raises ``MemoryFileError`` naming it. Returns (added, skipped)."""
        memories = [_parse_line(path, number, line) for number, line in _lines(path)]
        added = 0
        async with self.store.transaction() as db:
            for memory in memories:
                memory.text = self.redactor.redact(memory.text)
                memory.meta = self.redactor.redact_value(memory.meta)
                cursor = await db.execute(INSERT.format(verb="INSERT OR IGNORE"), _values(memory))
                added += cursor.rowcount
        await self.catch_up(progress)
        return added, len(memories) - added

    # --- state -----------------------------------------------------------------------------

    async def stats(self) -> dict[str, Any]:
        """Counts by kind and namespace, the models, and what is waiting to be embedded."""
        model = await self.store.fetchone("SELECT model, target FROM memory_model")
        assert model is not None, "call open() first"
        counts = await self.store.fetchall(
            "SELECT namespace, kind, count(*) AS n, sum(indexed = 0) AS unindexed,"
            " sum(target_indexed = 1) AS retargeted FROM memories WHERE forgotten = 0"
            " GROUP BY namespace, kind"
        )
        total = sum(r["n"] for r in counts)
        by_kind: dict[str, int] = {}
        by_namespace: dict[str, int] = {}
        for row in counts:
            by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + row["n"]
            by_namespace[row["namespace"]] = by_namespace.get(row["namespace"], 0) + row["n"]
        from memory.embedder import MODELS

        serving = model["model"]
        return {
            "memories": total,
            "by_kind": by_kind,
            "by_namespace": by_namespace,
            "model": serving,
            "dimension": MODELS[serving].dimension if serving in MODELS else None,
            "configured_model": self.model_id,
            "waiting_to_embed": sum(r["unindexed"] for r in counts),
            "reindex": None
            if model["target"] is None
            else {
                "to": model["target"],
                "done": sum(r["retargeted"] for r in counts),
                "total": total,
            },
            "vectors_bytes": _folder_size(self.vectors.folder),
        }


def blend(similarity: float, memory: Memory, now: float) -> float:
    """Similarity with a bonus for being recent: ``RECENCY_WEIGHT`` for a memory made now,
    half that after ``HALF_LIFE_DAYS``, and so on; the bonus only reorders memories of close
    similarity, it never lifts an unrelated one above a related one."""
    age_days = max(now - memory.created_at, 0.0) / 86400
    return similarity + RECENCY_WEIGHT * math.pow(0.5, age_days / HALF_LIFE_DAYS)


def _fit(
    ranked: Sequence[Recalled], k: int, budget: int, similarity: Callable[[str, str], float]
) -> tuple[list[Recalled], int]:
    """The best of ``ranked`` up to ``k`` whose texts fit ``budget`` tokens together, skipping
    any that says what an already chosen one says (same words, or ``NEAR_DUPLICATE``)."""
    chosen: list[Recalled] = []
    seen: set[str] = set()
    tokens = 0
    for candidate in ranked:
        if len(chosen) == k:
            break
        words = digest(candidate.memory.text)
        if words in seen or any(
            similarity(candidate.memory.id, c.memory.id) >= NEAR_DUPLICATE for c in chosen
        ):
            continue
        cost = estimate_tokens(candidate.memory.text)
        if tokens + cost > budget:
            continue  # a shorter one further down may still fit
        chosen.append(candidate)
        seen.add(words)
        tokens += cost
    return chosen, tokens


INSERT = (
    "{verb} INTO memories(id, namespace, kind, role, text, digest, session_id, run_id,"
    " plugins_json, meta_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _values(memory: Memory) -> tuple[Any, ...]:
    """``memory`` as the values of ``INSERT``."""
    return (
        memory.id,
        memory.namespace,
        memory.kind,
        memory.role,
        memory.text,
        digest(memory.text),
        memory.session_id,
        memory.run_id,
        dumps(memory.plugins),
        dumps(memory.meta),
        memory.created_at,
    )


def _memory(row: Any) -> Memory:
    return Memory(
        id=row["id"],
        namespace=row["namespace"],
        kind=row["kind"],
        text=row["text"],
        created_at=row["created_at"],
        role=row["role"],
        session_id=row["session_id"],
        run_id=row["run_id"],
        plugins=loads(row["plugins_json"]),
        meta=loads(row["meta_json"]),
    )


def _lines(path: Path) -> Iterable[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MemoryFileError(f"{path}: cannot be read: {exc}") from exc
    return ((n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip())


_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "text": str,
    "kind": str,
    "created_at": (int, float),
}
_OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "id": str,
    "namespace": str,
    "role": str,
    "session_id": str,
    "run_id": str,
    "plugins": list,
    "meta": dict,
}


def _parse_line(path: Path, number: int, line: str) -> Memory:
    where = f"{path}:{number}"
    fix = "each line must be one JSON object as `mark1 memory export` writes it"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise MemoryFileError(f"{where}:{exc.colno}: not JSON ({exc.msg}); {fix}") from exc
    if not isinstance(data, dict):
        raise MemoryFileError(f"{where}: a JSON {type(data).__name__}, not an object; {fix}")
    for key, types in (_REQUIRED | _OPTIONAL).items():
        value = data.get(key)
        if value is None and key not in _REQUIRED:
            continue
        if value is None or not isinstance(value, types) or isinstance(value, bool):
            expected = "a number" if key == "created_at" else f"a {_type_name(types)}"
            raise MemoryFileError(f"{where}: '{key}' must be {expected}; {fix}")
    if data["kind"] not in KINDS:
        raise MemoryFileError(
            f"{where}: unknown kind '{data['kind']}'; use one of {', '.join(KINDS)}"
        )
    if not data["text"].strip():
        raise MemoryFileError(f"{where}: 'text' is empty; remove the line")
    return Memory(
        id=data.get("id") or new_id(ID_BYTES),
        namespace=data.get("namespace") or DEFAULT_NAMESPACE,
        kind=data["kind"],
        text=data["text"],
        created_at=float(data["created_at"]),
        role=data.get("role"),
        session_id=data.get("session_id"),
        run_id=data.get("run_id"),
        plugins=[str(p) for p in data.get("plugins") or []],
        meta=data.get("meta") or {},
    )


def _type_name(types: type | tuple[type, ...]) -> str:
    names = {str: "string", list: "list", dict: "object", int: "number", float: "number"}
    first = types[0] if isinstance(types, tuple) else types
    return names.get(first, first.__name__)


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0
