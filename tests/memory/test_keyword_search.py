"""The keyword (BM25) fallback: tokenizing and stemming, ranking and its exact scores, updates
that keep the index equal to a fresh one, filtering, the label on every hit, and many threads
at once."""

from __future__ import annotations

import math
import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial

import pytest

from memory.keyword_search import METHOD, KeywordHit, KeywordIndex, tokenize


def _index(*documents: tuple[str, str]) -> KeywordIndex:
    index = KeywordIndex()
    for doc_id, text in documents:
        index.add(doc_id, text)
    return index


def _ranking(index: KeywordIndex, query: str, k: int = 10) -> list[tuple[str, float]]:
    return [(hit.id, hit.score) for hit in index.search(query, k=k)]


def _thread(job: Callable[[], None], errors: list[BaseException]) -> threading.Thread:
    """A thread running ``job`` that records, rather than loses, whatever it raises."""

    def run() -> None:
        try:
            job()
        except BaseException as error:
            errors.append(error)

    return threading.Thread(target=run)


def test_tokenize_lowercases_splits_and_drops_stop_words() -> None:
    assert tokenize("Send THE report, to: me@example.com!") == [
        "send",
        "report",
        "exampl",
        "com",
    ]
    assert tokenize("compress_images v2") == ["compress", "imag", "v2"]


@pytest.mark.parametrize(
    "forms",
    [
        ("compress", "compressing", "compressed", "compression", "compressions"),
        ("photo", "photos"),
        ("box", "boxes"),
        ("class", "classes"),
        ("image", "images"),
        ("create", "creating", "created", "creation"),
        ("run", "running"),
        ("see", "seeing"),
    ],
)
def test_stemming_folds_inflections_together(forms: tuple[str, ...]) -> None:
    stems = {term for form in forms for term in tokenize(form)}
    assert len(stems) == 1, stems


def test_short_words_keep_their_endings() -> None:
    assert tokenize("gas need bring") == ["gas", "need", "bring"]


def test_unicode_words_match_across_normal_forms() -> None:
    decomposed = "Zoe\u0308 ｃａｆｅ"
    assert tokenize(decomposed) == tokenize("zoë cafe")
    assert tokenize("Kraków 東京") == ["kraków", "東京"]


def test_request_finds_the_matching_capability_first() -> None:
    index = _index(
        ("email", "send an email to the team"),
        ("compress", "image compression tool for photos"),
        ("resize", "resize a video clip"),
    )

    hits = index.search("compress these photos")

    assert [hit.id for hit in hits] == ["compress"]
    assert hits[0].text == "image compression tool for photos"


def test_scores_are_okapi_bm25_with_the_positive_idf() -> None:
    index = _index(("a", "photo photo album"), ("b", "photo"), ("c", "video"))
    average_length = (3 + 1 + 1) / 3
    idf = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))

    def expected(frequency: int, length: int) -> float:
        norm = 1 - 0.75 + 0.75 * length / average_length
        return idf * frequency * 2.5 / (frequency + 1.5 * norm)

    # The short document wins: one "photo" in one word outweighs two in three.
    assert _ranking(index, "photos") == [
        ("b", pytest.approx(expected(1, 1))),
        ("a", pytest.approx(expected(2, 3))),
    ]


def test_a_term_in_every_document_still_scores_above_zero() -> None:
    index = _index(("a", "photo"), ("b", "photo"))
    assert all(score > 0 for _, score in _ranking(index, "photo"))


def test_repeating_a_query_word_does_not_change_scores() -> None:
    index = _index(("a", "photo album"), ("b", "video album"))
    assert _ranking(index, "photo album") == _ranking(index, "photo photo photo album")


def test_ties_are_ordered_by_id_and_cut_at_k() -> None:
    index = _index(("c", "backup"), ("a", "backup"), ("b", "backup"), ("d", "restore"))

    assert [hit.id for hit in index.search("backup", k=2)] == ["a", "b"]
    assert [hit.id for hit in index.search("backup")] == ["a", "b", "c"]


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        _index(("a", "photo")).search("photo", k=0)


def test_adding_an_existing_id_replaces_the_document() -> None:
    index = KeywordIndex()
    index.add("fact", "my bucket is photos-archive", {"version": 1})
    index.add("other", "weekly report")
    index.add("fact", "send reports to me", {"version": 2})

    assert len(index) == 2
    assert index.search("bucket") == []
    hit = index.search("send")[0]
    assert (hit.id, hit.text, hit.metadata) == ("fact", "send reports to me", {"version": 2})
    assert _ranking(index, "report") == _ranking(
        _index(("fact", "send reports to me"), ("other", "weekly report")), "report"
    )


def test_remove_forgets_the_document_and_keeps_others_scored_as_if_it_never_was() -> None:
    index = _index(("a", "photo album"), ("b", "photo"), ("c", "video album"))

    assert index.remove("b") is True
    assert index.remove("b") is False

    assert len(index) == 2
    assert _ranking(index, "photo album") == _ranking(
        _index(("a", "photo album"), ("c", "video album")), "photo album"
    )


def test_removing_the_last_document_leaves_an_empty_index() -> None:
    index = _index(("a", "photo"))
    index.remove("a")

    assert len(index) == 0
    assert index.search("photo") == []


def test_empty_index_finds_nothing() -> None:
    index = KeywordIndex()
    assert len(index) == 0
    assert index.search("anything at all") == []


def test_stop_words_alone_find_nothing() -> None:
    index = _index(("a", "the report is on the desk"), ("b", "these and those"))

    assert len(index) == 2
    assert index.search("the and of these") == []
    assert index.search("") == []


def test_where_filters_by_metadata_before_taking_k() -> None:
    index = KeywordIndex()
    index.add("best", "photo photo photo", {"namespace": "agent-1"})
    index.add("good", "photo photo album", {"namespace": "user"})
    index.add("fair", "photo album notes", {"namespace": "user"})

    hits = index.search("photo", k=1, where=lambda metadata: metadata["namespace"] == "user")

    assert [hit.id for hit in hits] == ["good"]
    assert index.search("photo", where=lambda metadata: False) == []


def test_where_may_use_the_index_itself() -> None:
    index = _index(("a", "photo"), ("b", "photo"))

    hits = index.search("photo", where=lambda metadata: len(index) == 2)

    assert [hit.id for hit in hits] == ["a", "b"]


def test_every_hit_is_labelled_as_a_keyword_result() -> None:
    index = _index(("a", "photo"))

    hit = index.search("photo")[0]

    assert METHOD == "keyword (BM25)"
    assert hit.method == METHOD
    assert isinstance(hit, KeywordHit)


def test_metadata_is_copied_in_and_out() -> None:
    metadata = {"kind": "fact"}
    index = KeywordIndex()
    index.add("a", "photo", metadata)
    metadata["kind"] = "changed by the caller"
    index.search("photo")[0].metadata["kind"] = "changed through a hit"

    assert index.search("photo")[0].metadata == {"kind": "fact"}


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Make the interpreter switch threads far more often than its default 5 ms, so an
    unguarded read or update is interleaved with another thread's within the test."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


@pytest.mark.usefixtures("frequent_thread_switches")
def test_threads_adding_removing_and_searching_at_once_leave_a_consistent_index() -> None:
    writers, documents_each = 6, 300
    index = KeywordIndex()
    errors: list[BaseException] = []
    writers_done = threading.Event()
    start = threading.Barrier(writers + 2)

    def write(writer: int) -> None:
        start.wait()
        for number in range(documents_each):
            index.add(f"w{writer}-{number}", f"shared note writer{writer} item{number}")
            if number % 3 == 0:
                index.remove(f"w{writer}-{number}")

    def search() -> None:
        start.wait()
        while not writers_done.is_set():
            for hit in index.search("shared note", k=50):
                assert hit.score > 0 and hit.method == METHOD

    write_threads = [_thread(partial(write, writer), errors) for writer in range(writers)]
    search_threads = [_thread(search, errors) for _ in range(2)]
    for thread in write_threads + search_threads:
        thread.start()
    for thread in write_threads:
        thread.join()
    writers_done.set()
    for thread in search_threads:
        thread.join()

    assert errors == []
    kept = {
        f"w{writer}-{number}"
        for writer in range(writers)
        for number in range(documents_each)
        if number % 3
    }
    assert len(index) == len(kept)
    assert {hit.id for hit in index.search("shared", k=len(kept) + 10)} == kept
    assert [hit.id for hit in index.search("writer2 item7")][0] == "w2-7"
    assert index.search("item6") == []
