"""Splitting requests into action clauses."""

from __future__ import annotations

import pytest

from assistant.agent.clauses import is_action, split_clauses


def texts(request: str) -> list[str]:
    return [c.text for c in split_clauses(request)]


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        (
            "Analyze this CSV file sales.csv, generate visualizations, and create a PDF report",
            ["Analyze this CSV file sales.csv", "generate visualizations", "create a PDF report"],
        ),
        (
            "Compress all images in ./input/, then upload to my S3 bucket, then generate a report",
            ["Compress all images in ./input/", "upload to my S3 bucket", "generate a report"],
        ),
        ("resize a.png; after that compress it", ["resize a.png", "compress it"]),
        ("clean it and then chart it. Finally email me", ["clean it", "chart it", "email me"]),
        ("clean it, analyse it and chart it", ["clean it", "analyse it", "chart it"]),
    ],
)
def test_sequencing_words_and_actions_split(request_text: str, expected: list[str]) -> None:
    assert texts(request_text) == expected


@pytest.mark.parametrize(
    "request_text",
    [
        "resize photo.png to 800x600 and quality 80",
        "draw cats and dogs",
        "shrink cat.jpg and save it as small.webp",
        "summarize sales.csv and write the summary to out.json",
    ],
)
def test_and_between_values_does_not_split(request_text: str) -> None:
    assert texts(request_text) == [request_text]


def test_quoted_strings_stay_whole() -> None:
    request = 'make a PDF report titled "Sales, and then costs"'
    assert texts(request) == [request]


def test_spans_point_into_the_request() -> None:
    request = "Clean a.csv, then compress b.png"
    for clause in split_clauses(request):
        assert request[clause.start : clause.end] == clause.text


def test_empty_request_has_no_clauses() -> None:
    assert split_clauses("  , and then ;") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("then compress it", True),
        ("please also visualise it", True),
        ("can you summarise it", True),
        ("dogs", False),
        ("quality 80", False),
        ("save it as out.png", False),
        ("write a PDF report", True),
    ],
)
def test_is_action(text: str, expected: bool) -> None:
    assert is_action(text) is expected
