"""Typed arguments from a clause, and how they fill a capability's parameters."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.agent.arguments import extract_arguments, formats_fit, map_arguments


def kinds(text: str) -> list[tuple[str, Any]]:
    return [(a.kind, a.value) for a in extract_arguments(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("resize ./photos/cat.png", [("path", "./photos/cat.png")]),
        ("read ~/data/x.csv and /tmp/y.json", [("path", "~/data/x.csv"), ("path", "/tmp/y.json")]),
        ("everything in photos/", [("path", "photos/")]),
        ("in the photos folder", [("path", "photos/")]),
        ("in this folder", [("path", "./")]),
        ("shrink ./photos/*.jpg", [("glob", "./photos/*.jpg")]),
        ("fetch https://example.com/a.csv.", [("url", "https://example.com/a.csv")]),
        ("mail bob.smith+x@example.co.uk", [("email", "bob.smith+x@example.co.uk")]),
        ("to 800x600", [("dimensions", (800, 600))]),
        ("quality 80", [("quality", 80)]),
        ("at 70% quality", [("quality", 70)]),
        ("as webp", [("format", "webp")]),
        ("in JPEG format", [("format", "jpg")]),
        ('titled "Q3, and Q4"', [("quoted", "Q3, and Q4")]),
        ("open 'my cat.png'", [("path", "my cat.png")]),
    ],
)
def test_shapes(text: str, expected: list[tuple[str, Any]]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("800px", 800, "px"),
        ("5MB", 5_000_000, "bytes"),
        ("30s", 30, "seconds"),
        ("2 min", 120, "seconds"),
        ("80%", 80, "%"),
        ("1.5", 1.5, None),
    ],
)
def test_numbers_carry_units(text: str, value: float, unit: str | None) -> None:
    (argument,) = extract_arguments(text)
    assert (argument.kind, argument.value, argument.unit) == ("number", value, unit)


def test_span_and_raw_text() -> None:
    text = "compress photo.png, please"
    (argument,) = extract_arguments(text)
    assert argument.raw == "photo.png"
    assert text[argument.span[0] : argument.span[1]] == "photo.png"


def test_a_path_after_as_is_an_output() -> None:
    roles = [a.role for a in extract_arguments("convert a.png and save it as b.webp")]
    assert roles == ["input", "output"]


IMAGE = {
    "type": "object",
    "required": ["input"],
    "properties": {
        "input": {"type": "string", "format": "path", "description": "The image to resize"},
        "width": {"type": "integer", "minimum": 1, "description": "Target width in pixels"},
        "height": {"type": "integer", "minimum": 1, "description": "Target height in pixels"},
        "quality": {"type": "integer", "minimum": 1, "maximum": 95, "description": "Quality"},
        "output": {
            "type": "string",
            "default": "compressed.jpg",
            "description": "Where to save the result; .jpg, .webp or .png",
        },
    },
}
FORMATS = ["png", "jpeg", "webp"]


def mapped(text: str, schema: dict[str, Any] = IMAGE) -> dict[str, Any]:
    return map_arguments(extract_arguments(text), schema, FORMATS).inputs


def test_dimensions_fill_width_and_height() -> None:
    assert mapped("resize cat.png to 800x600") == {"input": "cat.png", "width": 800, "height": 600}


def test_words_around_a_number_name_its_parameter() -> None:
    assert mapped("make cat.png 300 pixels tall") == {"input": "cat.png", "height": 300}
    assert mapped("make cat.png 300px wide") == {"input": "cat.png", "width": 300}


def test_quality_and_output_by_suffix() -> None:
    assert mapped("compress a.png at quality 60 and save it as b.webp") == {
        "input": "a.png",
        "quality": 60,
        "output": "b.webp",
    }


def test_an_output_suffix_the_description_does_not_allow_is_left_out() -> None:
    assert mapped("compress a.png and save it as b.pdf") == {"input": "a.png"}


def test_a_format_changes_the_default_output_suffix() -> None:
    assert mapped("compress a.png as webp") == {"input": "a.png", "output": "compressed.webp"}


def test_out_of_range_values_are_not_forced_in() -> None:
    result = map_arguments(extract_arguments("compress a.png at quality 99"), IMAGE, FORMATS)
    assert result.inputs == {"input": "a.png"}
    assert [a.kind for a in result.unused] == ["quality"]


def test_a_file_in_a_format_nothing_converts_to_is_not_an_input() -> None:
    assert mapped("resize notes.pdf") == {}


def test_a_quoted_string_goes_to_the_parameter_it_names() -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "description": "The report's title"},
            "delimiter": {"type": "string", "description": "Field separator"},
        },
    }
    assert mapped("a report titled 'Q3'", schema) == {"title": "Q3"}
    assert mapped("separated by ';'", schema) == {"delimiter": ";"}
    assert mapped("about 'cats'", schema) == {}


def test_a_file_named_in_the_description_goes_to_that_parameter() -> None:
    schema = {
        "type": "object",
        "properties": {
            "data": {"type": "string", "format": "path", "description": "JSON rows"},
            "insights": {
                "type": "string",
                "format": "path",
                "description": "The insights.json that statistical-analysis wrote",
            },
        },
    }
    assert map_arguments(extract_arguments("chart insights.json"), schema, ["json"]).inputs == {
        "insights": "insights.json"
    }


@pytest.mark.parametrize(
    ("source", "accepted", "fits"),
    [
        ("csv", ["json"], True),
        ("image", ["png", "jpeg"], True),
        ("png", ["image"], True),
        ("image", ["csv"], False),
        ("pdf", ["json"], False),
        (None, ["json"], True),
    ],
)
def test_formats_fit(source: str | None, accepted: list[str], fits: bool) -> None:
    assert formats_fit(source, accepted) is fits
