"""Read ``mark1.plugin.yml`` into a ``Manifest``, with errors that point into the file.

YAML is composed into nodes first so every key and item keeps its line and column; pydantic's
error locations (which mirror the YAML because the authoring forms do) are mapped back onto
them. Duplicate keys, which PyYAML would silently collapse, are rejected.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from assistant import paths
from assistant.errors import Location, ManifestError
from assistant.plugins.manifest import NAME_PATTERN, Manifest
from assistant.plugins.manifest_forms import SCHEMA_VERSIONS, FlatManifest, V1Manifest

Marks = dict[tuple[Any, ...], tuple[int, int]]
Loc = tuple[str | int, ...]

SKELETON_V1 = """schema_version: "1.0"
plugin: {name: my-tool, description: What it does}
capabilities:
  - name: do-thing
    description: What this capability does
entry_points:
  - {capability: do-thing, type: cli, command: python tool.py}"""

SKELETON_FLAT = """name: my-tool
entry_points:
  - command: do-thing
    script: tool.py"""


def find_manifest(folder: Path) -> Path | None:
    """The manifest at the root of a plugin folder, if there is one."""
    return next((folder / n for n in paths.MANIFEST_NAMES if (folder / n).is_file()), None)


def load_manifest(path: Path) -> Manifest:
    """Load and normalise the manifest at ``path``; raise ``ManifestError`` pointing into it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ManifestError(f"no manifest at {path}", hint="create mark1.plugin.yml") from exc
    except UnicodeDecodeError as exc:
        raise ManifestError("the manifest is not UTF-8 text", where=Location(path)) from exc
    return parse_manifest(text, path)


def parse_manifest(text: str, path: Path | str = paths.MANIFEST_NAMES[0]) -> Manifest:
    data, marks = _compose(text, path)
    if not isinstance(data, dict):
        raise ManifestError(
            "a manifest must be a mapping of keys to values",
            where=Location(path, 1, 1),
            hint=f"a minimal manifest is:\n{_indent(SKELETON_V1)}",
        )
    form_cls, skeleton = _detect_form(data, marks, path)
    try:
        form = form_cls.model_validate(data)
    except ValidationError as exc:
        raise _manifest_error(exc, form_cls, marks, path, skeleton) from None
    problems = form.cross_check()
    if problems:
        raise _located(problems, marks, path, skeleton)
    return form.normalise()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of both authoring forms, for editors and `mark1 plugin schema`."""
    schema = TypeAdapter(V1Manifest | FlatManifest).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Mark-1 plugin manifest (mark1.plugin.yml)"
    return schema


def _detect_form(data: dict[str, Any], marks: Marks, path: Path | str) -> tuple[Any, str]:
    if "schema_version" in data:
        version = str(data["schema_version"])
        if version not in SCHEMA_VERSIONS:
            line, col = marks.get(("schema_version",), (1, 1))
            raise ManifestError(
                f"schema_version '{version}' is not supported by this Mark-1",
                where=Location(path, line, col),
                hint=f'supported: {", ".join(SCHEMA_VERSIONS)}; write schema_version: "1.0" '
                "(quoted), or upgrade Mark-1",
            )
        data["schema_version"] = version
        return V1Manifest, SKELETON_V1
    if "plugin" in data or "capabilities" in data and "name" not in data:
        raise ManifestError(
            "this looks like the versioned form but has no schema_version",
            where=Location(path, 1, 1),
            hint='add schema_version: "1.0" as the first line',
        )
    return FlatManifest, SKELETON_FLAT


def _manifest_error(
    exc: ValidationError, form_cls: type[BaseModel], marks: Marks, path: Path | str, skeleton: str
) -> ManifestError:
    problems: list[tuple[Loc, str]] = []
    missing: list[tuple[Loc, str]] = []  # reported last: they can only point at the parent
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(form_cls, loc[:-1])
            guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            msg = f"unknown key '{loc[-1]}'" + (f"; did you mean '{guess[0]}'?" if guess else "")
            msg += f" (allowed here: {', '.join(allowed)})" if allowed else ""
            loc = ("<key>", *loc)
        elif err["type"] == "missing":
            missing.append((loc, f"'{loc[-1]}' is required here"))
            continue
        elif err["type"] == "string_pattern_mismatch" and err["ctx"]["pattern"] == NAME_PATTERN:
            msg = (
                f"{err['input']!r} is not a valid name: use lowercase letters, digits, "
                "'.', '_' or '-', starting with a letter or digit (at most 64)"
            )
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], dict | list):
                msg += f" (got {err['input']!r})"
        problems.append((loc, msg))
    return _located([*problems, *missing], marks, path, skeleton)


def _located(
    problems: Sequence[tuple[Loc, str]], marks: Marks, path: Path | str, skeleton: str
) -> ManifestError:
    rendered = []
    first: Location | None = None
    for loc, msg in problems:
        line, col = _mark_for(loc, marks)
        where = Location(path, line, col)
        first = first or where
        shown = loc[1:] if loc[:1] == ("<key>",) else loc
        rendered.append((where, f"{_dotted(shown)}: {msg}" if shown else msg))
    head = rendered[0][1]
    more = "".join(f"\n  also {w}: {m}" for w, m in rendered[1:])
    return ManifestError(
        head + more,
        where=first,
        hint=f"the expected shape (see `mark1 plugin schema` for every field):\n{_indent(skeleton)}",
    )


def _mark_for(loc: Loc, marks: Marks) -> tuple[int, int]:
    """The line/column of the deepest part of ``loc`` that exists in the file."""
    if loc[:1] == ("<key>",) and loc in marks:
        return marks[loc]
    loc = loc[1:] if loc[:1] == ("<key>",) else loc
    for end in range(len(loc), -1, -1):
        if loc[:end] in marks:
            return marks[loc[:end]]
    return (1, 1)


def _allowed_keys(form_cls: type[BaseModel], loc: Loc) -> list[str]:
    model: Any = form_cls
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


# ---- YAML with positions ----------------------------------------------------------------------


MAX_DEPTH = 64  # nesting of mappings and lists; real manifests use a handful of levels
MERGE_TAG = "tag:yaml.org,2002:merge"


class _Refused(Exception):
    """YAML this loader will not read, at ``mark``."""

    def __init__(self, message: str, mark: Any, hint: str) -> None:  # a yaml Mark
        super().__init__(message)
        self.message, self.mark, self.hint = message, mark, hint


class _Composer(yaml.SafeLoader):
    """Compose nodes, refusing aliases and deep nesting as the events arrive.

    Refusing aliases (rather than expanding them) is what keeps a recursive anchor or a
    "billion laughs" file from recursing or growing without bound: nothing is built from one.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                f"YAML aliases (*{event.anchor}) are not supported in mark1.plugin.yml: "
                "write the value out",
                event.start_mark,
                "repeat the value where it is needed instead of using &anchor and *alias",
            )
        if self.depth >= MAX_DEPTH:
            raise _Refused(
                f"the manifest is nested more than {MAX_DEPTH} levels deep",
                event.start_mark,
                "flatten the nesting; a manifest needs only a few levels",
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _compose(text: str, path: Path | str) -> tuple[Any, Marks]:
    loader = _Composer(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark, message = exc.problem_mark or exc.context_mark, f"{exc.problem or exc}"
        at_end = exc.problem_mark is None or exc.problem_mark.index >= len(text.rstrip())
        if exc.context_mark is not None and exc.context and at_end:
            # An unclosed bracket or quote: the end of the file is no help, where it opens is.
            what = exc.context.removeprefix("while parsing ").removeprefix("while scanning ")
            mark, message = exc.context_mark, f"{what} that starts here is never closed ({message})"
        where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        raise ManifestError(
            f"invalid YAML: {message}",
            where=where,
            hint="check indentation (spaces, not tabs) and quote values containing ': ' or '#'",
        ) from None
    except _Refused as exc:
        raise ManifestError(
            exc.message,
            where=Location(path, exc.mark.line + 1, exc.mark.column + 1),
            hint=exc.hint,
        ) from None
    finally:
        loader.dispose()
    if node is None:
        raise ManifestError(
            "the manifest is empty",
            where=Location(path, 1, 1),
            hint=f"a minimal manifest is:\n{_indent(SKELETON_V1)}",
        )
    marks: Marks = {}
    data = _walk(node, (), marks, path)
    return data, marks


def _walk(node: yaml.Node, loc: Loc, marks: Marks, path: Path | str) -> Any:
    """Build plain data from ``node``, recording where each value (or its key) starts."""
    marks[loc] = _position(node)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _key(key_node, path)
            if key in out:
                raise ManifestError(
                    f"key '{key}' appears twice in the same mapping",
                    where=Location(path, *_position(key_node)),
                    hint="keep one of them; YAML would silently drop the first",
                )
            out[key] = _walk(value_node, (*loc, key), marks, path)
            marks[("<key>", *loc, key)] = _position(key_node)
            if not isinstance(value_node, yaml.ScalarNode):
                marks[(*loc, key)] = _position(key_node)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*loc, i), marks, path) for i, item in enumerate(node.value)]
    return _scalar(node, path)


def _key(node: yaml.Node, path: Path | str) -> str:
    """A mapping key, which must read as text: ``? [a, b]``, ``1:`` or ``yes:`` are refused."""
    where = Location(path, *_position(node))
    if node.tag == MERGE_TAG:
        raise ManifestError(
            "YAML merge keys (<<) are not supported in mark1.plugin.yml: write the keys out",
            where=where,
        )
    if not isinstance(node, yaml.ScalarNode):
        kind = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
        raise ManifestError(
            f"keys must be plain names, not {kind}",
            where=where,
            hint="write each key as a name followed by ':', e.g. command: ...",
        )
    key = _scalar(node, path)
    if not isinstance(key, str):
        raise ManifestError(
            f"keys must be plain names; YAML reads {node.value!r} as "
            f"{'null' if key is None else type(key).__name__}",
            where=where,
            hint=f"quote the key if it is meant as a name: '{node.value}':",
        )
    return key


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _scalar(node: yaml.Node, path: Path | str) -> Any:
    try:
        return yaml.SafeLoader("").construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # An unknown or unsafe tag (!foo, !!python/...), or a value its type cannot hold
        # (version: 2020-13-45 looks like a date; !!int abc).
        reason = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else str(exc)
        raise ManifestError(
            f"cannot read the value {node.value!r}: {reason}",
            where=Location(path, *_position(node)),
            hint="quote the value to keep it as text, and drop any !tag",
        ) from None
