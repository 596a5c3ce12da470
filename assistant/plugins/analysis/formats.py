"""Which file formats an entry point reads and writes, guessed from its code and parameters.

The agent chains plugins by format (a step that writes CSV feeds one that reads CSV), so a
capability without formats is hard to plan with. Authors rarely declare them; code nearly
always shows them: ``pd.read_csv``, ``Image.open(...).save("out.png")``, a ``*.png`` glob, a
``--output`` option whose help says "JSON file". Each guess is recorded as evidence on the entry.
"""

from __future__ import annotations

import ast
import re

from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import EntryPointFinding, Evidence
from assistant.plugins.analysis.signature import dotted_tail

KNOWN = (
    "csv", "tsv", "json", "jsonl", "xml", "yaml", "yml", "toml", "txt", "md", "html", "pdf",
    "png", "jpg", "jpeg", "gif", "webp", "bmp", "tiff", "svg", "mp3", "wav", "flac", "ogg",
    "mp4", "mkv", "avi", "mov", "xlsx", "xls", "docx", "pptx", "parquet", "zip", "tar", "gz",
    "ipynb", "sqlite", "db",
)  # fmt: skip
CANONICAL = {"yml": "yaml", "jpeg": "jpg"}
READERS = {
    "read_csv": "csv", "read_json": "json", "read_excel": "xlsx", "read_parquet": "parquet",
    "read_xml": "xml", "read_html": "html", "load_workbook": "xlsx", "DictReader": "csv",
    "safe_load": "yaml", "PdfReader": "pdf",
}  # fmt: skip
WRITERS = {
    "to_csv": "csv", "to_json": "json", "to_excel": "xlsx", "to_parquet": "parquet",
    "to_xml": "xml", "to_html": "html", "DictWriter": "csv", "safe_dump": "yaml",
    "savefig": "png", "PdfWriter": "pdf",
}  # fmt: skip
WRITE_CALLS = frozenset({"save", "savefig", "write_text", "write_bytes", "to_file", "dump"})
OUTPUT_NAMES = re.compile(r"^(out|output|dest|destination|target|save|report)(_|$)", re.I)
_EXTENSION = re.compile(r"\.(" + "|".join(KNOWN) + r")\b", re.IGNORECASE)
_WORD = re.compile(r"\b(" + "|".join(KNOWN) + r")\b", re.IGNORECASE)
MAX_EVIDENCE = 8


def with_formats(files: RepoFiles, entry: EntryPointFinding) -> EntryPointFinding:
    """``entry`` with ``input_formats``/``output_formats`` filled where it left them empty."""
    if entry.input_formats or entry.output_formats:
        return entry
    reads: dict[str, Evidence] = {}
    writes: dict[str, Evidence] = {}
    _from_parameters(entry, reads, writes)
    tree = files.python(entry.file) if entry.file and entry.file.endswith(".py") else None
    if tree is not None and entry.file is not None:
        _from_code(tree, entry.file, reads, writes)
    if not reads and not writes:
        return entry
    evidence = [*entry.evidence, *reads.values(), *writes.values()][:MAX_EVIDENCE]
    return entry.model_copy(
        update={
            "input_formats": sorted(reads),
            "output_formats": sorted(writes),
            "evidence": evidence,
        }
    )


def _from_parameters(
    entry: EntryPointFinding, reads: dict[str, Evidence], writes: dict[str, Evidence]
) -> None:
    """Formats named in a path parameter's help text or default ("the CSV file", "out.png")."""
    if entry.interface is None or entry.file is None:
        return
    line = entry.interface.evidence.line if entry.interface.evidence else entry.line
    properties = entry.interface.parameters.get("properties") or {}
    for name, schema in properties.items():
        if not isinstance(schema, dict) or schema.get("format") != "path":
            continue
        text = f"{schema.get('description', '')} {schema.get('default', '')}"
        target = writes if OUTPUT_NAMES.match(name) else reads
        for word in _WORD.findall(text) + _EXTENSION.findall(text):
            fmt = _canonical(word)
            target.setdefault(
                fmt, Evidence(file=entry.file, line=line, detail=f"parameter '{name}': {fmt}")
            )


def _from_code(
    tree: ast.Module, rel: str, reads: dict[str, Evidence], writes: dict[str, Evidence]
) -> None:
    """Reader/writer calls and the extensions in the literals they are given."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted_tail(node.func)
        if name in READERS:
            _note(reads, READERS[name], rel, node, f"reads {READERS[name]}: {name}()")
        elif name in WRITERS:
            _note(writes, WRITERS[name], rel, node, f"writes {WRITERS[name]}: {name}()")
        target = _direction(node, name)
        if target is None:
            continue
        for literal in _string_args(node):
            for ext in _EXTENSION.findall(literal):
                fmt = _canonical(ext)
                verb = "writes" if target == "w" else "reads"
                _note(writes if target == "w" else reads, fmt, rel, node, f"{verb} {literal!r}")


def _direction(node: ast.Call, name: str) -> str | None:
    """'r' or 'w' for calls that take a file name, else None."""
    if name == "open":
        mode = node.args[1] if len(node.args) > 1 else _keyword(node, "mode")
        text = mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else ""
        return "w" if any(c in text for c in "wax") else "r"
    if name in WRITE_CALLS or name in WRITERS:
        return "w"
    if name in READERS or name in ("glob", "rglob", "iglob", "load", "imread"):
        return "r"
    return None


def _keyword(node: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg == name), None)


def _string_args(node: ast.Call) -> list[str]:
    """String literals among the call's arguments, also inside ``name + ".png"`` or
    f-strings, where file names are usually built."""
    values = [*node.args, *(k.value for k in node.keywords)]
    return [
        part.value
        for value in values
        for part in ast.walk(value)
        if isinstance(part, ast.Constant) and isinstance(part.value, str)
    ]


def _note(into: dict[str, Evidence], fmt: str, rel: str, node: ast.AST, detail: str) -> None:
    into.setdefault(
        _canonical(fmt), Evidence(file=rel, line=getattr(node, "lineno", None), detail=detail)
    )


def _canonical(ext: str) -> str:
    ext = ext.lower()
    return CANONICAL.get(ext, ext)
