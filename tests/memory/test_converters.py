"""Format conversions: names, the conversion table, round trips, each mapping rule, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from memory.converters import (
    Conversion,
    ConversionError,
    conversion,
    convert_file,
    convert_value,
    format_of_path,
    normalise_format,
)

STRUCTURED = ["json", "jsonl", "csv", "tsv", "xml", "yaml"]
ROWS = [
    {"name": "Zoë", "city": "Kraków, PL", "note": "line1\nline2"},
    {"name": "李", "city": "北京", "note": 'say "hi"\t!'},
]
TREE = {
    "catalog": {
        "@version": "2",
        "@xmlns:dc": "http://purl.org/dc/elements/1.1/",
        "book": [
            {"@id": "1", "dc:title": "Zoë & co", "tags": {"tag": ["a", "b"]}},
            {"@id": "2", "dc:title": "北京", "empty": None},
        ],
        "note": {"@lang": "en", "#text": "<mixed>"},
    }
}
TREE_XML = """\
<catalog version="2" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <book id="1">
    <dc:title>Zoë &amp; co</dc:title>
    <tags>
      <tag>a</tag>
      <tag>b</tag>
    </tags>
  </book>
  <book id="2">
    <dc:title>北京</dc:title>
    <empty />
  </book>
  <note lang="en">&lt;mixed&gt;</note>
</catalog>
"""


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("application/json", "json"),
        ("application/json; charset=utf-8", "json"),
        ("JSON", "json"),
        (".json", "json"),
        ("yml", "yaml"),
        ("application/x-yaml", "yaml"),
        ("txt", "text"),
        ("text/plain", "text"),
        ("string", "text"),
        ("text/csv", "csv"),
        ("text/tab-separated-values", "tsv"),
        ("ndjson", "jsonl"),
        ("text/xml", "xml"),
        ("md", "markdown"),
        ("image/jpeg", "jpg"),
        ("jpeg", "jpg"),
        ("image/svg+xml", "svg"),
        ("parquet", "parquet"),
    ],
)
def test_normalise_format_folds_aliases(name: str, expected: str) -> None:
    assert normalise_format(name) == expected


def test_an_empty_format_name_is_an_error() -> None:
    with pytest.raises(ConversionError, match="Format name ' ' is empty; name a format such as"):
        normalise_format(" ")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("data.JSON", "json"),
        ("conf.yml", "yaml"),
        ("notes.txt", "text"),
        ("README.md", "markdown"),
        ("photo.jpeg", "jpg"),
        ("drawing.svg", "svg"),
        ("archive.tar.gz", "gz"),
        ("Makefile", None),
        ("data.weird", None),
    ],
)
def test_format_of_path_reads_the_extension(name: str, expected: str | None) -> None:
    assert format_of_path(Path("/some/dir") / name) == expected


def test_identity_is_a_conversion_that_changes_nothing() -> None:
    assert conversion("yml", "application/yaml") == Conversion(
        "yaml", "yaml", "no conversion", identity=True
    )
    assert conversion("png", "image/png") == Conversion("png", "png", "no conversion", True)


@pytest.mark.parametrize(
    ("source", "target"),
    [("image", "png"), ("image", "jpeg"), ("image/webp", "image"), ("tif", "image")],
)
def test_image_and_a_picture_format_fit_each_other_as_they_are(source: str, target: str) -> None:
    """A plugin that writes "image" writes whatever picture it was asked for: that file goes
    to a png or jpeg reader unchanged, and a png goes to an "image" reader unchanged."""
    found = conversion(source, target)
    assert found == Conversion(
        normalise_format(source),
        normalise_format(target),
        "no conversion: image stands for any picture",
        identity=True,
    )


def test_image_passes_as_it_is(tmp_path: Path) -> None:
    picture = tmp_path / "resized.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n")
    assert convert_file(picture, "image", "png", tmp_path / "out") == picture
    assert convert_value(b"GIF89a", "gif", "image") == b"GIF89a"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("source", "target", "description"),
    [
        (
            "csv",
            "json",
            "CSV -> JSON: each row becomes an object keyed by the header row, values stay strings",
        ),
        (
            "json",
            "csv",
            "JSON -> CSV: a list of objects becomes one row each (header = every key), "
            "nested values JSON text",
        ),
        (
            "xml",
            "tsv",
            "XML -> TSV: each child element of the root becomes a row ('@name' columns for "
            "attributes); a list of objects becomes one row each (header = every key), "
            "nested values JSON text",
        ),
        ("json", "yaml", "JSON -> YAML"),
        ("yaml", "json", "YAML -> JSON: read safely (plain data only, no tags or aliases)"),
        ("json", "text", "JSON -> text: pretty-printed (a JSON string passes as it is)"),
        ("csv", "txt", "CSV -> text: unchanged"),
        ("md", "text", "Markdown -> text: unchanged"),
        ("text/plain", "json", "text -> JSON: the text must itself be valid JSON"),
    ],
)
def test_conversion_describes_what_will_happen(source: str, target: str, description: str) -> None:
    found = conversion(source, target)
    assert found == Conversion(normalise_format(source), normalise_format(target), description)


def test_every_structured_pair_and_every_textual_format_to_text_converts() -> None:
    pairs = [(s, t) for s in STRUCTURED for t in STRUCTURED if s != t]
    pairs += [(s, "text") for s in [*STRUCTURED, "markdown", "html"]]
    found = {pair: conversion(*pair) for pair in pairs}
    assert [pair for pair, c in found.items() if c is None or c.identity] == []


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("png", "csv"),
        ("csv", "png"),
        ("image", "csv"),
        ("json", "image"),
        ("image", "pdf"),
        ("png", "jpg"),
        ("pdf", "text"),
        ("svg", "xml"),
        ("xml", "svg"),
        ("text", "csv"),
        ("text", "yaml"),
        ("markdown", "json"),
        ("json", "markdown"),
        ("toml", "json"),
    ],
)
def test_impossible_conversions_are_none(source: str, target: str) -> None:
    assert conversion(source, target) is None


def _table(fmt: str) -> Any:
    return convert_value(ROWS, "json", fmt)


TABLE_PAIRS = [
    (s, t)
    for s in STRUCTURED
    for t in STRUCTURED
    if s != t and not ({s, t} & {"xml"} and {s, t} & {"json", "jsonl", "yaml"})
]


@pytest.mark.parametrize(("source", "target"), TABLE_PAIRS)
def test_tables_round_trip(source: str, target: str) -> None:
    start = _table(source)
    assert convert_value(convert_value(start, source, target), target, source) == start


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_trees_round_trip_through_xml(fmt: str) -> None:
    start = convert_value(TREE, "json", fmt)
    assert convert_value(start, fmt, "xml") == TREE_XML
    assert convert_value(TREE_XML, "xml", fmt) == start


def test_the_table_in_each_format() -> None:
    assert _table("csv") == (
        'name,city,note\nZoë,"Kraków, PL","line1\nline2"\n李,北京,"say ""hi""\t!"\n'
    )
    assert (
        _table("tsv")
        == 'name\tcity\tnote\nZoë\tKraków, PL\t"line1\nline2"\n李\t北京\t"say ""hi""\t!"\n'
    )
    assert _table("jsonl") == "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS)
    assert _table("yaml") == (
        "- name: Zoë\n  city: Kraków, PL\n  note: 'line1\n\n    line2'\n"
        '- name: 李\n  city: 北京\n  note: "say \\"hi\\"\\t!"\n'
    )
    assert _table("xml") == (
        "<root>\n  <item>\n    <name>Zoë</name>\n    <city>Kraków, PL</city>\n"
        "    <note>line1\nline2</note>\n  </item>\n  <item>\n    <name>李</name>\n"
        '    <city>北京</city>\n    <note>say "hi"\t!</note>\n  </item>\n</root>\n'
    )


def test_xml_and_json_lines_convert_one_way_each() -> None:
    assert convert_value(_table("jsonl"), "jsonl", "xml") == _table("xml")
    assert convert_value(_table("xml"), "xml", "jsonl") == (
        json.dumps({"root": {"item": ROWS}}, ensure_ascii=False) + "\n"
    )


def test_csv_values_stay_strings_and_blank_lines_and_bom_are_skipped() -> None:
    text = '\ufeffid,zip,amount\r\n\r\n1,"01234",1e3\r\n2,,"multi\r\nline"\r\n\r\n'
    assert convert_value(text, "csv", "json") == [
        {"id": "1", "zip": "01234", "amount": "1e3"},
        {"id": "2", "zip": "", "amount": "multi\r\nline"},
    ]
    assert convert_value("", "csv", "json") == []
    assert convert_value("a,b\n", "csv", "json") == []


def test_json_to_csv_takes_every_key_and_writes_json_for_the_rest() -> None:
    data = [
        {"a": "x", "b": 1.5, "nested": {"k": [1, "é"]}},
        {"c": True, "a": None, "b": 10},
    ]
    assert (
        convert_value(data, "json", "csv")
        == 'a,b,nested,c\nx,1.5,"{""k"":[1,""é""]}",\n,10,,true\n'
    )
    assert convert_value({"one": "row"}, "json", "csv") == "one\nrow\n"
    assert convert_value(["x", 2, None], "json", "csv") == 'value\nx\n2\n""\n'
    assert convert_value([], "json", "csv") == ""


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "just text",
            "value: a string cannot become CSV rows; CSV needs a list of objects (or one "
            "object for one row). Wrap the value in a list, or convert it to text.",
        ),
        (None, "value: null cannot become CSV rows"),
        (
            [{"a": 1}, [1, 2]],
            "value: item 1 is a list; CSV needs every item to be an object (one row each) or "
            "every item a plain value (one 'value' column).",
        ),
    ],
)
def test_json_that_is_not_rows_cannot_become_csv(value: Any, message: str) -> None:
    with pytest.raises(ConversionError) as raised:
        convert_value(value, "json", "csv")
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a,b\n1,2,3\n",
            "value: CSV row ending at line 2 has 3 fields but the header has 2; give every row "
            "one field per column (quote fields that contain ',').",
        ),
        ("a,b\n1\n", "value: CSV row ending at line 2 has 1 fields but the header has 2;"),
        (
            'a,b\n1,"x"y\n',
            "value: malformed CSV at line 2 (',' expected after '\"'); wrap fields that contain "
            "',', quotes or line breaks in double quotes and double the quotes inside them.",
        ),
        ('a,b\n1,"open\n', "value: malformed CSV at line 2 (unexpected end of data);"),
        ("a,,c\n", "value: CSV header column 2 is empty; name it."),
        ("a,b,a\n", "value: CSV header names column 'a' twice; rename one of them."),
    ],
)
def test_malformed_csv_says_where(text: str, message: str) -> None:
    with pytest.raises(ConversionError) as raised:
        convert_value(text, "csv", "json")
    assert str(raised.value).startswith(message)


def test_tsv_is_tab_separated() -> None:
    assert convert_value("a\tb\nx, y\tz\n", "tsv", "json") == [{"a": "x, y", "b": "z"}]
    assert convert_value("a\tb\nx, y\tz\n", "tsv", "csv") == 'a,b\n"x, y",z\n'


def test_xml_maps_attributes_text_and_repeated_children() -> None:
    xml = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n<!-- a comment -->\n'
        '<order id="7"><?pi skipped?>\n  <line sku="a">2</line>\n  <line sku="b"/>\n'
        "  <note>  keep  spaces  </note>\n  <blank>  </blank>\n  <single><x>1</x></single>\n"
        "  mixed <b>bold</b> tail\n</order>"
    )
    assert convert_value(xml, "xml", "json") == {
        "order": {
            "@id": "7",
            "line": [{"@sku": "a", "#text": "2"}, {"@sku": "b"}],
            "note": "  keep  spaces  ",
            "blank": None,
            "single": {"x": "1"},
            "b": "bold",
            "#text": "mixed  tail",
        }
    }


def test_json_to_xml_wraps_what_has_no_single_root() -> None:
    assert convert_value({"a": "1", "b": [True, None]}, "json", "xml") == (
        "<root>\n  <a>1</a>\n  <b>true</b>\n  <b />\n</root>\n"
    )
    assert convert_value([[1, 2], {"@k": 3.5}], "json", "xml") == (
        '<root>\n  <item>\n    <item>1</item>\n    <item>2</item>\n  </item>\n  <item k="3.5" />\n'
        "</root>\n"
    )
    assert convert_value("plain", "json", "xml") == "<root>plain</root>\n"
    assert convert_value({"only": ["x", "y"]}, "json", "xml") == (
        "<root>\n  <only>x</only>\n  <only>y</only>\n</root>\n"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"a b": 1},
            "value: 'a b' is not a valid XML name (start with a letter or '_', then letters, "
            "digits, '.', '-' or '_'); rename the key, or convert to JSON or YAML instead of XML.",
        ),
        ({"x": {"2nd": 1}}, "value: '2nd' is not a valid XML name"),
        (
            {"x": {"@k": [1]}},
            "value: '@k' holds a list, but XML attributes and '#text' hold only plain values; "
            "move it into a child key.",
        ),
        (
            {"x": "bell\x07"},
            "value: 'x' contains the character U+0007, which XML cannot carry; remove it, or "
            "convert to JSON or YAML instead.",
        ),
    ],
)
def test_json_that_xml_cannot_hold_is_an_error(data: Any, message: str) -> None:
    with pytest.raises(ConversionError) as raised:
        convert_value(data, "json", "xml")
    assert str(raised.value).startswith(message)


def test_xml_to_csv_makes_a_row_of_each_child_of_the_root() -> None:
    xml = (
        '<people><person id="1"><name>Ann</name><tag>a</tag><tag>b</tag></person><person/></people>'
    )
    assert convert_value(xml, "xml", "csv") == '@id,name,tag\n1,Ann,"[""a"",""b""]"\n,,\n'
    with pytest.raises(ConversionError) as raised:
        convert_value("<r><name>Ann</name></r>", "xml", "csv")
    assert str(raised.value) == (
        "value: <name> holds only text, so it cannot be a row; XML -> CSV makes one row per "
        "child of <r>, with its attributes and child elements as columns."
    )


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (
            "<a><b></a>",
            "value: malformed XML at line 1, column 9: mismatched tag; fix the document (one "
            "root element, every tag closed, '&' and '<' in text written as &amp; and &lt;).",
        ),
        ("<a/><b/>", "value: malformed XML at line 1, column 5: junk after document element;"),
        (
            "<a>x & y</a>",
            "value: malformed XML at line 1, column 7: not well-formed (invalid token);",
        ),
        ("", "value: malformed XML at line 1, column 1: no element found;"),
    ],
)
def test_malformed_xml_says_where(xml: str, message: str) -> None:
    with pytest.raises(ConversionError) as raised:
        convert_value(xml, "xml", "json")
    assert str(raised.value).startswith(message)


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    entities = "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' if i else '<!ENTITY l0 "lol">' for i in range(10)
    )
    xml = f"<!DOCTYPE lolz [{entities}]><lolz>&l9;</lolz>"
    with pytest.raises(ConversionError) as raised:
        convert_value(xml, "xml", "json")
    assert str(raised.value) == (
        "value: the XML declares the entity 'l0'; entity declarations are refused because they "
        "allow 'billion laughs' expansion and reading other files. Remove the <!ENTITY> "
        "declarations and write the text out."
    )


def test_external_entities_and_dtds_are_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY leak SYSTEM "{secret.as_uri()}">', encoding="utf-8")
    with pytest.raises(ConversionError, match="declares the entity 'leak'"):
        convert_value(
            f'<!DOCTYPE a [<!ENTITY leak SYSTEM "{secret.as_uri()}">]><a>&leak;</a>', "xml", "json"
        )
    with pytest.raises(ConversionError, match="declares the entity 'dtd'"):
        convert_value(
            f'<!DOCTYPE a [<!ENTITY % dtd SYSTEM "{dtd.as_uri()}"> %dtd;]><a>&leak;</a>',
            "xml",
            "json",
        )
    document = tmp_path / "doc.xml"
    document.write_text(f'<!DOCTYPE a SYSTEM "{dtd.name}"><a>[&leak;]</a>', encoding="utf-8")
    converted = convert_file(document, "xml", "json", tmp_path / "out")
    assert json.loads(converted.read_text(encoding="utf-8")) == {"a": "[]"}


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    nested: Any = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(ConversionError) as raised:
        convert_value(nested, "json", "yaml")
    assert (
        str(raised.value) == "value: nested too deeply to convert to yaml; flatten the data first."
    )
    with pytest.raises(ConversionError, match="^value: nested too deeply to convert to json;"):
        convert_value("<a>" * 100_000 + "</a>" * 100_000, "xml", "json")


def test_yaml_reads_plain_data_only() -> None:
    text = "when: 2024-05-01\nat: 2024-05-01 10:30:00\n1: one\nnull: nothing\nlist: [a, 2]\n"
    assert convert_value(text, "yaml", "json") == {
        "when": "2024-05-01",
        "at": "2024-05-01T10:30:00",
        "1": "one",
        "null": "nothing",
        "list": ["a", 2],
    }
    assert convert_value({"b": 1, "a": ["é", "yes"]}, "json", "yaml") == "b: 1\na:\n- é\n- 'yes'\n"


def test_yaml_tags_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = f'!!python/object/apply:os.system ["touch {marker}"]\n'
    with pytest.raises(ConversionError) as raised:
        convert_value(text, "yaml", "json")
    assert str(raised.value) == (
        "value: YAML not accepted at line 1, column 1: could not determine a constructor for "
        "the tag 'tag:yaml.org,2002:python/object/apply:os.system'; fix the YAML (it is read as "
        "plain data: mappings, lists, strings, numbers, booleans, null, dates)."
    )
    assert marker.exists() is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "base: &b {x: 1}\ncopy: *b\n",
            "value: YAML not accepted at line 2, column 7: found an alias (*name); aliases and "
            "'<<' merges are refused because they can expand a small document into a huge one, "
            "so write the value out;",
        ),
        (
            "a: [1, 2\n",
            "value: YAML not accepted at line 2, column 1: while parsing a flow sequence, "
            "expected ',' or ']', but got '<stream end>';",
        ),
        (
            "a: 1\n---\nb: 2\n",
            "value: YAML not accepted at line 2, column 1: expected a single document in the stream, but found another document;",
        ),
        ("data: !!binary aGk=\n", "value: not JSON data (YAML bytes values have no JSON form);"),
        ("n: .nan\n", "value: not JSON data (Out of range float values are not JSON compliant"),
    ],
)
def test_yaml_that_is_not_plain_data_is_refused(text: str, message: str) -> None:
    with pytest.raises(ConversionError) as raised:
        convert_value(text, "yaml", "json")
    assert str(raised.value).startswith(message)


def test_text_conversions() -> None:
    assert (
        convert_value({"k": ["é", 1]}, "json", "text") == '{\n  "k": [\n    "é",\n    1\n  ]\n}\n'
    )
    assert convert_value("already prose", "json", "text") == "already prose"
    assert convert_value("a,b\n1,2\n", "csv", "text") == "a,b\n1,2\n"
    assert convert_value("# Title", "markdown", "text") == "# Title"
    assert convert_value(' {"n": [1, 2.5]} ', "text", "json") == {"n": [1, 2.5]}
    with pytest.raises(ConversionError) as raised:
        convert_value("hello\nworld", "text", "json")
    assert str(raised.value) == (
        "value: not valid JSON (Expecting value at line 1, column 1); fix the JSON, or declare "
        "the value as text if it is free-form."
    )


def test_json_lines_keep_unicode_line_separators_inside_strings() -> None:
    values = [{"s": "a\u2028b\x85c"}, "x", 3]
    text = convert_value(values, "json", "jsonl")
    assert text == '{"s": "a\u2028b\x85c"}\n"x"\n3\n'
    assert convert_value("\n" + text + "\n\n", "jsonl", "json") == values
    assert convert_value({"one": 1}, "json", "jsonl") == '{"one": 1}\n'
    with pytest.raises(ConversionError, match=r"^value line 2: not valid JSON \(Expecting"):
        convert_value('{"ok": 1}\n{broken\n', "jsonl", "json")


@pytest.mark.parametrize(
    ("value", "source", "target", "message"),
    [
        (
            b"\x89PNG",
            "png",
            "csv",
            "value: there is no conversion from png to csv; use a step that produces csv, or "
            "one that accepts png.",
        ),
        (
            [{"a": 1}],
            "csv",
            "json",
            "value: CSV must be text (a str) in memory, not a list; pass the csv text, or "
            "declare the value as json if it is already data.",
        ),
        (
            {"s": {1, 2}},
            "json",
            "yaml",
            "value: not JSON data (Object of type set is not JSON serializable); pass strings, "
            "numbers, booleans, null, lists and objects with string keys.",
        ),
        (
            [float("inf")],
            "json",
            "csv",
            "value: not JSON data (Out of range float values are not JSON compliant); pass",
        ),
    ],
)
def test_values_that_cannot_convert_say_why(
    value: Any, source: str, target: str, message: str
) -> None:
    with pytest.raises(ConversionError) as raised:
        convert_value(value, source, target)
    assert str(raised.value).startswith(message)


def test_identity_returns_the_value_itself() -> None:
    data = {"k": object()}
    assert convert_value(data, "json", "application/json") is data
    image = b"\x89PNG\r\n"
    assert convert_value(image, "png", "image/png") is image


def test_convert_file_writes_beside_never_over(tmp_path: Path) -> None:
    source = tmp_path / "in" / "people.csv"
    source.parent.mkdir()
    source.write_bytes("name,age\r\nZoë,41\r\n".encode())
    out = tmp_path / "out"
    first = convert_file(source, "csv", "json", out)
    second = convert_file(source, "text/csv", "json", out)
    assert (first, second) == (out / "people.json", out / "people-2.json")
    assert (
        first.read_text(encoding="utf-8") == '[\n  {\n    "name": "Zoë",\n    "age": "41"\n  }\n]\n'
    )
    assert second.read_bytes() == first.read_bytes()
    back = convert_file(first, "json", "csv", out)
    assert back == out / "people.csv"
    assert back.read_bytes() == "name,age\nZoë,41\n".encode()
    assert convert_file(source, "csv", "txt", out).read_bytes() == source.read_bytes()
    assert convert_file(source, "csv", "csv", out) == source
    assert sorted(p.name for p in out.iterdir()) == [
        "people-2.json",
        "people.csv",
        "people.json",
        "people.txt",
    ]


def test_convert_file_json_string_and_yaml(tmp_path: Path) -> None:
    source = tmp_path / "config.yaml"
    source.write_text("name: Zoë\nports: [80, 443]\n", encoding="utf-8")
    converted = convert_file(source, "yml", "json", tmp_path)
    assert converted == tmp_path / "config.json"
    assert json.loads(converted.read_text(encoding="utf-8")) == {"name": "Zoë", "ports": [80, 443]}
    prose = tmp_path / "answer.json"
    prose.write_text('"a JSON string"', encoding="utf-8")
    assert (
        convert_file(prose, "json", "text", tmp_path).read_text(encoding="utf-8") == "a JSON string"
    )
    quoted = tmp_path / "quoted.yaml"
    quoted.write_text("just a string\n", encoding="utf-8")
    assert convert_file(quoted, "yaml", "json", tmp_path).read_text(encoding="utf-8") == (
        '"just a string"\n'
    )


def test_convert_file_errors_name_the_file(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(ConversionError) as raised:
        convert_file(latin, "csv", "json", tmp_path / "out")
    assert str(raised.value) == (
        f"{latin}: not UTF-8 text (byte 8: invalid continuation byte); save it as UTF-8, or "
        "declare the format it really has."
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": 1,}', encoding="utf-8")
    with pytest.raises(ConversionError) as raised:
        convert_file(broken, "json", "yaml", tmp_path / "out")
    assert str(raised.value) == (
        f"{broken}: not valid JSON (Expecting property name enclosed in double quotes at line 1, "
        "column 9); fix the JSON, or declare the value as text if it is free-form."
    )
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ConversionError, match="photo.png: there is no conversion from png to csv"):
        convert_file(image, "png", "csv", tmp_path / "out")
    assert (tmp_path / "out").exists() is False
