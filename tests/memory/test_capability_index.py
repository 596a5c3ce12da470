"""Semantic capability search with the real embedder and a real Chroma folder in tmp_path."""

from __future__ import annotations

from pathlib import Path

from memory.capability_index import CapabilityIndex, CapabilityText, keyword_search
from memory.embedder import COMPACT_MODEL_ID, MODEL_ID
from memory.vectors import VectorIndex

CAPABILITIES = [
    CapabilityText("image-tools.compress", "compress: shrink JPEG and PNG images. takes image"),
    CapabilityText("mailer.send", "send: send an email message with attachments"),
    CapabilityText("site-watch.check", "check: tell whether a website answers, and how fast"),
    CapabilityText("pdf.merge", "merge: join several PDF documents into one"),
]
# Hundreds of other tools, so the right one must be found, not merely listed.
FILLER = [
    CapabilityText(f"system{n}-{thing}.{verb}", f"{verb}: {verb} the {thing} records of system {n}")
    for n in range(4)
    for verb in ("archive", "audit", "tag", "rename", "count", "index", "export", "sort")
    for thing in ("invoice", "ledger", "calendar", "contact", "inventory", "ticket", "log")
]


def test_requests_find_the_capability_that_does_them_among_hundreds(tmp_path: Path) -> None:
    documents = CAPABILITIES + FILLER
    assert len(documents) > 200
    index = CapabilityIndex(VectorIndex(tmp_path), MODEL_ID)
    assert index.sync(documents) == (len(documents), 0)
    for request, expected in (
        ("make my holiday pictures smaller", "image-tools.compress"),
        ("send Anna a message", "mailer.send"),
        ("is my homepage down?", "site-watch.check"),
        ("combine these PDFs", "pdf.merge"),
    ):
        hits = index.search(request, documents, k=3)
        assert hits[0].id == expected and hits[0].method == "semantic", (request, hits)


def test_sync_adds_changes_and_removes_and_is_free_when_nothing_changed(tmp_path: Path) -> None:
    vectors = VectorIndex(tmp_path)
    index = CapabilityIndex(vectors, MODEL_ID)
    assert index.sync(CAPABILITIES) == (4, 0)
    assert index.sync(CAPABILITIES) == (0, 0)
    changed = [
        CapabilityText("image-tools.compress", "compress: convert audio files to MP3"),
        *CAPABILITIES[1:3],
    ]
    assert CapabilityIndex(vectors, MODEL_ID).sync(changed) == (1, 1)  # a new process: same
    assert set(vectors.metadatas(index.space)) == {d.id for d in changed}
    hits = index.search("turn my WAV recordings into mp3", changed, k=1)
    assert hits[0].id == "image-tools.compress"


def test_a_new_model_gets_its_own_index_and_the_old_one_goes(tmp_path: Path) -> None:
    vectors = VectorIndex(tmp_path)
    CapabilityIndex(vectors, MODEL_ID).sync(CAPABILITIES)
    compact = CapabilityIndex(vectors, COMPACT_MODEL_ID)
    hits = compact.search("shrink photos", CAPABILITIES, k=1)
    assert hits[0].id == "image-tools.compress"
    spaces = vectors.spaces()
    assert [(s["model"], s["dimension"], s["count"]) for s in spaces] == [
        (COMPACT_MODEL_ID, 128, 4)
    ]


def test_the_keyword_fallback_labels_every_hit() -> None:
    hits = keyword_search("send email", CAPABILITIES, k=2)
    assert hits[0].id == "mailer.send"
    assert {h.method for h in hits} == {"keyword (BM25)"}
