"""Conversions between the data formats steps exchange, so a step that writes CSV can feed one
that reads JSON without glue code, and the validator can say before a run what will happen.

Formats are lowercase names; ``normalise_format`` folds aliases, MIME types and extensions
(``yml``, ``text/csv``, ``.json``, ``image/png``) into one spelling. In memory a ``json`` value is
Python data (what ``json.loads`` returns); every other textual format is a ``str``. Files are
read and written as UTF-8 (a leading BOM is ignored).

Every structured format converts to every other one through JSON data:

- CSV/TSV -> JSON: a list of objects, one per row, keyed by the header row. Values stay strings
  (``007`` and ``1e3`` survive); blank lines are skipped. A row with more or fewer fields than
  the header, an empty or repeated column name, or broken quoting is an error.
- JSON -> CSV/TSV: each object of a list is a row, the header is every key in first-seen order
  and missing cells are empty; one object is one row; a list of plain values is one ``value``
  column. Nested lists and objects become compact JSON text, ``null`` an empty cell, booleans
  and numbers their JSON spelling. A lone string, number, boolean or null is an error.
- JSON Lines: one JSON value per non-blank line <-> a JSON list (any other value is one line).
- XML -> JSON: ``{root tag: element}``. An element with neither attributes nor children is its
  text (``null`` if empty or whitespace); otherwise an object with ``"@name"`` per attribute, one
  key per child tag (a list when the tag repeats) and ``"#text"`` for its stripped text. Values
  are strings; namespace prefixes stay part of names (``xmlns`` declarations are ``@xmlns:p``
  attributes); comments, processing instructions and the order between different tags are lost.
- XML -> CSV/TSV: each child element of the root is one row, mapped as above.
- JSON -> XML: the reverse. An object with one key whose value is not a list names the root;
  anything else is wrapped in ``<root>``, and items of a list inside a list are ``<item>``
  elements. Keys must be XML names. ``null`` and ``""`` become empty elements, empty lists vanish.
- YAML <-> JSON: ``yaml.safe_load`` semantics, so no tag ever constructs an object; aliases are
  refused because expanding them can turn a small document into a huge one. Dates become ISO
  strings and non-string keys their JSON text. Output keeps key order.
- Anything textual -> text: the text unchanged, except JSON, which is pretty-printed (a JSON
  string passes as it is). text -> JSON only when the text is itself JSON.

Other formats (png, jpg, pdf, svg, ...) and unknown names convert only to themselves, with one
exception: ``image``, which a plugin declares when it writes whatever picture it was asked for
(resized.png or resized.webp), fits every picture format and each of them fits it. Nothing is
converted then (the conversion is an identity): the file is passed as it is.

XML is parsed with the standard library's expat and never with a DTD's help: any entity
declaration is refused (that stops "billion laughs" and external-entity reads whatever the expat
version), and expat does not fetch external DTDs unless asked to, which this module never does.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from xml.parsers import expat

import yaml
from yaml.composer import ComposerError


class ConversionError(ValueError):
    """A value or file could not be converted; the message says which, why and what to do."""


@dataclass(frozen=True)
class Conversion:
    """What happens to data going from ``source`` to ``target``, in words for plans and checks."""

    source: str
    target: str
    description: str
    identity: bool = False


_ALIASES = {
    "application/json": "json",
    "text/json": "json",
    "ndjson": "jsonl",
    "jsonlines": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-ndjson": "jsonl",
    "application/x-jsonlines": "jsonl",
    "text/csv": "csv",
    "tab": "tsv",
    "text/tab-separated-values": "tsv",
    "application/xml": "xml",
    "text/xml": "xml",
    "yml": "yaml",
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "text/x-yaml": "yaml",
    "txt": "text",
    "text/plain": "text",
    "plain": "text",
    "string": "text",
    "str": "text",
    "md": "markdown",
    "text/markdown": "markdown",
    "htm": "html",
    "text/html": "html",
    "jpeg": "jpg",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "image/bmp": "bmp",
    "tif": "tiff",
    "image/tiff": "tiff",
    "image/svg+xml": "svg",
    "application/pdf": "pdf",
}
_STRUCTURED = ("json", "jsonl", "csv", "tsv", "xml", "yaml")
_PLAIN = ("text", "markdown", "html")
_TABLES = {"csv": ",", "tsv": "\t"}
_OTHER_KNOWN = (
    "png", "jpg", "gif", "webp", "bmp", "tiff", "svg", "pdf", "mp3", "wav", "flac", "ogg", "mp4",
    "mkv", "avi", "mov", "xlsx", "xls", "docx", "pptx", "parquet", "zip", "tar", "gz", "sqlite",
    "toml", "ipynb",
)  # fmt: skip
_PICTURES = frozenset({"png", "jpg", "gif", "webp", "bmp", "tiff", "svg"})
_EXTENSIONS = {
    "json": "json",
    "jsonl": "jsonl",
    "csv": "csv",
    "tsv": "tsv",
    "xml": "xml",
    "yaml": "yaml",
    "text": "txt",
}
_LABELS = {
    "json": "JSON",
    "jsonl": "JSON Lines",
    "csv": "CSV",
    "tsv": "TSV",
    "xml": "XML",
    "yaml": "YAML",
    "text": "text",
    "markdown": "Markdown",
    "html": "HTML",
}
_TABLE_READS = "each row becomes an object keyed by the header row, values stay strings"
_TABLE_WRITES = (
    "a list of objects becomes one row each (header = every key), nested values JSON text"
)
_READS = {
    "json": "",
    "jsonl": "each line is one JSON value, read as a list",
    "csv": _TABLE_READS,
    "tsv": _TABLE_READS,
    "xml": "the root element becomes {tag: ...} with '@name' attributes, '#text' text and "
    "repeated children as lists, values as strings",
    "yaml": "read safely (plain data only, no tags or aliases)",
}
_XML_ROWS = "each child element of the root becomes a row ('@name' columns for attributes)"
_WRITES = {
    "json": "",
    "jsonl": "a list is written one item per line",
    "csv": _TABLE_WRITES,
    "tsv": _TABLE_WRITES,
    "xml": "keys become elements, '@name' keys attributes, lists repeated elements",
    "yaml": "",
}
_KINDS = {
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
    list: "a list",
    dict: "an object",
}
_XML_NAME = re.compile(r"[^\W\d][\w.\-]*(?::[^\W\d][\w.\-]*)?")
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def normalise_format(name: str) -> str:
    """One spelling per format, so ``yml``, ``.yaml`` and ``application/x-yaml`` match."""
    key = name.split(";", 1)[0].strip().lower().lstrip(".")
    if not key:
        raise ConversionError(
            f"Format name {name!r} is empty; name a format such as json, csv, xml, yaml or text."
        )
    return _ALIASES.get(key, key)


def format_of_path(path: Path) -> str | None:
    """The format a file's extension announces, for files whose producer declared none."""
    extension = path.suffix.lstrip(".")
    if not extension:
        return None
    found = normalise_format(extension)
    return found if found in (*_STRUCTURED, *_PLAIN, *_OTHER_KNOWN) else None


def conversion(source: str, target: str) -> Conversion | None:
    """How ``source`` data becomes ``target`` data, or None when it cannot (image -> csv)."""
    src, dst = normalise_format(source), normalise_format(target)
    if src == dst:
        return Conversion(src, dst, "no conversion", identity=True)
    if "image" in (src, dst) and {src, dst} - {"image"} <= _PICTURES:
        return Conversion(src, dst, "no conversion: image stands for any picture", identity=True)
    if src in _STRUCTURED and dst in _STRUCTURED:
        reads = _XML_ROWS if src == "xml" and dst in _TABLES else _READS[src]
        return Conversion(src, dst, _describe(src, dst, reads, _WRITES[dst]))
    if dst == "text" and src in (*_STRUCTURED, *_PLAIN):
        how = "pretty-printed (a JSON string passes as it is)" if src == "json" else "unchanged"
        return Conversion(src, dst, _describe(src, dst, how))
    if src == "text" and dst == "json":
        return Conversion(src, dst, _describe(src, dst, "the text must itself be valid JSON"))
    return None


def convert_value(value: Any, source: str, target: str, *, label: str = "value") -> Any:
    """``value`` as the next step expects it; ``label`` names it in errors (a path, a key)."""
    found = _required(source, target, label)
    return value if found.identity else _convert(value, found.source, found.target, label)


def convert_file(path: Path, source: str, target: str, out_dir: Path) -> Path:
    """The file converted into ``out_dir`` under its own stem, never overwriting a file.

    An identity conversion returns ``path`` itself: there is nothing to write.
    """
    label = str(path)
    found = _required(source, target, label)
    if found.identity:
        return path
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConversionError(
            f"{path}: not UTF-8 text (byte {error.start}: {error.reason}); save it as UTF-8, "
            "or declare the format it really has."
        ) from None
    value = _parse_json(text, label) if found.source == "json" else text
    result = _convert(value, found.source, found.target, label)
    if found.target == "json":
        result = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    return _write_new(out_dir, path.stem, _EXTENSIONS[found.target], result)


def _describe(source: str, target: str, *details: str) -> str:
    said = "; ".join(d for d in details if d)
    return f"{_LABELS[source]} -> {_LABELS[target]}" + (f": {said}" if said else "")


def _required(source: str, target: str, label: str) -> Conversion:
    found = conversion(source, target)
    if found is None:
        src, dst = normalise_format(source), normalise_format(target)
        raise ConversionError(
            f"{label}: there is no conversion from {src} to {dst}; use a step that produces "
            f"{dst}, or one that accepts {src}."
        )
    return found


def _convert(value: Any, source: str, target: str, label: str) -> Any:
    try:
        if target == "text":
            if source != "json":
                return _text(value, source, label)
            if isinstance(value, str):
                return value
            return json.dumps(_json_data(value, label), indent=2, ensure_ascii=False) + "\n"
        if source == "text":
            return _parse_json(_text(value, source, label), label)
        if source == "xml" and target in _TABLES:
            rows = _xml_rows(_parse_xml(_text(value, source, label), label), label)
            return _write_table(rows, target, label)
        if source == "json":
            data = _json_data(value, label)
        else:
            data = _READERS[source](_text(value, source, label), label)
        return data if target == "json" else _WRITERS[target](data, label)
    except RecursionError:
        raise ConversionError(
            f"{label}: nested too deeply to convert to {target}; flatten the data first."
        ) from None


def _text(value: Any, fmt: str, label: str) -> str:
    if not isinstance(value, str):
        raise ConversionError(
            f"{label}: {_LABELS[fmt]} must be text (a str) in memory, not {_kind(value)}; pass "
            f"the {fmt} text, or declare the value as json if it is already data."
        )
    return value.removeprefix("\ufeff")


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), type(value).__name__)


def _json_data(value: Any, label: str, default: Callable[[Any], Any] | None = None) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False, default=default))
    except (TypeError, ValueError) as error:
        raise ConversionError(
            f"{label}: not JSON data ({error}); pass strings, numbers, booleans, null, lists "
            "and objects with string keys."
        ) from None


def _parse_json(text: str, label: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConversionError(
            f"{label}: not valid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}); fix the JSON, or declare the value as text if it is free-form."
        ) from None


def _read_table(text: str, fmt: str, label: str) -> list[dict[str, str]]:
    name, delimiter = _LABELS[fmt], _TABLES[fmt]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        records = [(reader.line_num, record) for record in reader if record]
    except csv.Error as error:
        raise ConversionError(
            f"{label}: malformed {name} at line {reader.line_num} ({error}); wrap fields that "
            f"contain {delimiter!r}, quotes or line breaks in double quotes and double the "
            "quotes inside them."
        ) from None
    if not records:
        return []
    (_, header), *body = records
    for index, column in enumerate(header, 1):
        if not column:
            raise ConversionError(f"{label}: {name} header column {index} is empty; name it.")
        if header.index(column) != index - 1:
            raise ConversionError(
                f"{label}: {name} header names column '{column}' twice; rename one of them."
            )
    for line, record in body:
        if len(record) != len(header):
            raise ConversionError(
                f"{label}: {name} row ending at line {line} has {len(record)} fields but the "
                f"header has {len(header)}; give every row one field per column (quote fields "
                f"that contain {delimiter!r})."
            )
    return [dict(zip(header, record, strict=True)) for _, record in body]


def _write_table(data: Any, fmt: str, label: str) -> str:
    rows = _rows(data, _LABELS[fmt], label)
    header = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=_TABLES[fmt], lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows([_cell(row.get(key)) for key in header] for row in rows)
    return out.getvalue()


def _rows(data: Any, name: str, label: str) -> list[dict[str, Any]]:
    items = [data] if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ConversionError(
            f"{label}: {_kind(data)} cannot become {name} rows; {name} needs a list of objects "
            "(or one object for one row). Wrap the value in a list, or convert it to text."
        )
    if all(not isinstance(item, dict | list) for item in items):
        return [{"value": item} for item in items]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ConversionError(
                f"{label}: item {index} is {_kind(item)}; {name} needs every item to be an "
                "object (one row each) or every item a plain value (one 'value' column)."
            )
    return items


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _read_jsonl(text: str, label: str) -> list[Any]:
    return [
        _parse_json(line, f"{label} line {number}")
        for number, line in enumerate(text.split("\n"), 1)
        if line.strip()
    ]


def _write_jsonl(data: Any, label: str) -> str:
    items = data if isinstance(data, list) else [data]
    return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)


class _SafeNoAliasLoader(yaml.SafeLoader):
    """``safe_load`` that refuses aliases, whose expansion can be exponential in the text."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise ComposerError(
                problem="found an alias (*name); aliases and '<<' merges are refused because "
                "they can expand a small document into a huge one, so write the value out",
                problem_mark=self.peek_event().start_mark,
            )
        return super().compose_node(parent, index)


def _read_yaml(text: str, label: str) -> Any:
    try:
        data = yaml.load(text, Loader=_SafeNoAliasLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        detail = ", ".join(part for part in (error.context, error.problem) if part)
        raise ConversionError(
            f"{label}: YAML not accepted{where}: {detail}; fix the YAML (it is read as "
            "plain data: mappings, lists, strings, numbers, booleans, null, dates)."
        ) from None
    except yaml.YAMLError as error:
        raise ConversionError(f"{label}: YAML not accepted: {error}; fix the YAML.") from None
    return _json_data(data, label, default=_yaml_date)


def _yaml_date(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"YAML {type(value).__name__} values have no JSON form")


def _write_yaml(data: Any, label: str) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def _parse_xml(text: str, label: str) -> ET.Element:
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data

    def refuse_entity(name: str, *_: Any) -> None:
        raise ConversionError(
            f"{label}: the XML declares the entity '{name}'; entity declarations are refused "
            "because they allow 'billion laughs' expansion and reading other files. Remove the "
            "<!ENTITY> declarations and write the text out."
        )

    parser.EntityDeclHandler = refuse_entity
    try:
        parser.Parse(text, True)
    except expat.ExpatError as error:
        raise ConversionError(
            f"{label}: malformed XML at line {error.lineno}, column {error.offset + 1}: "
            f"{expat.ErrorString(error.code)}; fix the document (one root element, every tag "
            "closed, '&' and '<' in text written as &amp; and &lt;)."
        ) from None
    return builder.close()


def _element_value(element: ET.Element) -> Any:
    children = list(element)
    if not children and not element.attrib:
        return element.text if element.text and element.text.strip() else None
    value: dict[str, Any] = {f"@{key}": item for key, item in element.attrib.items()}
    for child in children:
        item = _element_value(child)
        if child.tag not in value:
            value[child.tag] = item
        elif isinstance(value[child.tag], list):
            value[child.tag].append(item)
        else:
            value[child.tag] = [value[child.tag], item]
    text = "".join([element.text or "", *(child.tail or "" for child in children)]).strip()
    if text:
        value["#text"] = text
    return value


def _read_xml(text: str, label: str) -> dict[str, Any]:
    root = _parse_xml(text, label)
    return {root.tag: _element_value(root)}


def _xml_rows(root: ET.Element, label: str) -> list[dict[str, Any]]:
    rows = []
    for child in root:
        value = _element_value(child)
        if isinstance(value, str):
            raise ConversionError(
                f"{label}: <{child.tag}> holds only text, so it cannot be a row; XML -> CSV "
                f"makes one row per child of <{root.tag}>, with its attributes and child "
                "elements as columns."
            )
        rows.append(value or {})
    return rows


def _write_xml(data: Any, label: str) -> str:
    root = ET.Element("root")
    content = data
    if isinstance(data, dict) and len(data) == 1:
        ((tag, value),) = data.items()
        if not tag.startswith(("@", "#")) and not isinstance(value, list):
            root, content = ET.Element(_xml_name(tag, label)), value
    _fill(root, content, label)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def _fill(element: ET.Element, value: Any, label: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("@"):
                element.set(_xml_name(key[1:], label), _xml_text(item, key, label))
            elif key == "#text":
                element.text = _xml_text(item, key, label)
            else:
                tag = _xml_name(key, label)
                for each in item if isinstance(item, list) else [item]:
                    _fill(ET.SubElement(element, tag), each, label)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, "item"), item, label)
    elif value is not None:
        element.text = _xml_text(value, element.tag, label)


def _xml_name(name: str, label: str) -> str:
    if _XML_NAME.fullmatch(name):
        return name
    raise ConversionError(
        f"{label}: '{name}' is not a valid XML name (start with a letter or '_', then letters, "
        "digits, '.', '-' or '_'); rename the key, or convert to JSON or YAML instead of XML."
    )


def _xml_text(value: Any, where: str, label: str) -> str:
    if isinstance(value, dict | list):
        raise ConversionError(
            f"{label}: '{where}' holds {_kind(value)}, but XML attributes and '#text' hold only "
            "plain values; move it into a child key."
        )
    text = value if isinstance(value, str) else _cell(value)
    illegal = _XML_ILLEGAL.search(text)
    if illegal:
        raise ConversionError(
            f"{label}: '{where}' contains the character U+{ord(illegal[0]):04X}, which XML "
            "cannot carry; remove it, or convert to JSON or YAML instead."
        )
    return text


_READERS: dict[str, Callable[[str, str], Any]] = {
    "jsonl": _read_jsonl,
    "csv": lambda text, label: _read_table(text, "csv", label),
    "tsv": lambda text, label: _read_table(text, "tsv", label),
    "xml": _read_xml,
    "yaml": _read_yaml,
}
_WRITERS: dict[str, Callable[[Any, str], str]] = {
    "jsonl": _write_jsonl,
    "csv": lambda data, label: _write_table(data, "csv", label),
    "tsv": lambda data, label: _write_table(data, "tsv", label),
    "xml": _write_xml,
    "yaml": _write_yaml,
}


def _write_new(out_dir: Path, stem: str, extension: str, content: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    attempt = 1
    while True:
        target = out_dir / (
            f"{stem}.{extension}" if attempt == 1 else f"{stem}-{attempt}.{extension}"
        )
        try:
            out = target.open("x", encoding="utf-8", newline="")
        except FileExistsError:
            attempt += 1
            continue
        try:
            with out:
                out.write(content)
        except BaseException:
            target.unlink()
            raise
        return target
