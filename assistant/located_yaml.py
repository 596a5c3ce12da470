"""YAML read with positions, and validation errors mapped back onto them.

Manifests and workflows are YAML that people write by hand, so every error must point at the
line and column to fix. YAML is composed into nodes first so every key and item keeps its
position; pydantic's error locations (which mirror the YAML) are mapped back onto them.
Duplicate keys, which PyYAML would silently collapse, are rejected, and so are aliases (billion
laughs), merge keys, unreadable tags and deep nesting.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from assistant.errors import Location, Mark1Error

Marks = dict[tuple[Any, ...], tuple[int, int]]
Loc = tuple[str | int, ...]
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"


def validation_error(
    exc: ValidationError,
    model_cls: type[BaseModel],
    marks: Marks,
    path: Path | str,
    hint: str,
    error: type[Mark1Error],
    data: dict[str, Any] | None = None,
) -> Mark1Error:
    """One error for every problem pydantic found, each at its place in the file: unknown keys
    with a did-you-mean and the keys allowed there, missing keys at their parent.

    Given the validated ``data``, a field that takes one of several shapes (``on_error: fail``
    or ``{fallback: step}``) gets one message at its own place instead of one per shape under
    pydantic's internal names for them."""
    problems: list[tuple[Loc, str]] = []
    missing: list[tuple[Loc, str]] = []  # reported last: they can only point at the parent
    shapes: dict[Loc, list[str]] = {}  # a field's rejected shapes, merged into one message
    deeper: list[Loc] = []  # places inside one shape: the shape the file meant
    for err in exc.errors():
        loc, in_union = _data_path(tuple(err["loc"]), data, err["type"])
        if in_union and err["type"] not in ("extra_forbidden", "missing"):
            shapes.setdefault(loc, []).append(_shape_message(err, model_cls, loc))
            if loc not in [p[0] for p in problems]:
                problems.append((loc, ""))
            continue
        if in_union:
            deeper.append(loc)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_keys(model_cls, loc[:-1])
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
            msg = err["msg"].removeprefix("Value error, ") + _got(err)
        problems.append((loc, msg))
    merged = [
        (loc, msg or _merge(shapes[loc]))
        for loc, msg in problems
        if msg or not any(len(d) > len(loc) and d[: len(loc)] == loc for d in deeper)
    ]
    return located([*merged, *missing], marks, path, hint, error)


def _data_path(loc: Loc, data: dict[str, Any] | None, kind: str) -> tuple[Loc, bool]:
    """``loc`` without the names pydantic gives the shapes of a union (``Fallback``,
    ``literal['fail','continue']``), found as the parts that are not in ``data``; and whether
    there were any."""
    if data is None:
        return loc, False
    kept: list[str | int] = []
    node: Any = data
    for i, part in enumerate(loc):
        if _holds(node, part):
            node = node[part]
        elif not (i == len(loc) - 1 and kind == "missing" and isinstance(node, dict)):
            continue
        kept.append(part)
    return tuple(kept), len(kept) < len(loc)


def _holds(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _shape_message(err: Any, model_cls: type[BaseModel], loc: Loc) -> str:
    """What one rejected shape wanted, without pydantic's class names."""
    keys = _allowed_keys(model_cls, loc)
    mapping = f"a mapping with {', '.join(keys)}" if keys else "a mapping"
    wanted = re.sub(r"a valid dictionary or instance of \w+", mapping, err["msg"])
    return wanted.removeprefix("Input should be ") + _got(err)


def _merge(shapes: list[str]) -> str:
    got = next((m[m.index(" (got ") :] for m in shapes if " (got " in m), "")
    wanted = dict.fromkeys(m.split(" (got ")[0] for m in shapes)
    return f"should be {', or '.join(wanted)}{got}"


def _got(err: Any) -> str:
    shown = "input" in err and not isinstance(err["input"], dict | list)
    return f" (got {err['input']!r})" if shown else ""


def located(
    problems: Sequence[tuple[Loc, str]],
    marks: Marks,
    path: Path | str,
    hint: str,
    error: type[Mark1Error],
) -> Mark1Error:
    """One error listing ``problems`` (data paths and messages), the first one's place as its
    location and the others as "also FILE:LINE:COL" lines."""
    rendered = []
    first: Location | None = None
    for loc, msg in problems:
        where = Location(path, *mark_for(loc, marks)) if marks else Location(path)
        first = first or where
        shown = loc[1:] if loc[:1] == ("<key>",) else loc
        rendered.append((where, f"{dotted(shown)}: {msg}" if shown else msg))
    head = rendered[0][1]
    more = "".join(f"\n  also {w}: {m}" for w, m in rendered[1:])
    return error(head + more, where=first, hint=hint)


def mark_for(loc: Loc, marks: Marks) -> tuple[int, int]:
    """The line/column of the deepest part of ``loc`` that exists in the file."""
    if loc[:1] == ("<key>",) and loc in marks:
        return marks[loc]
    loc = loc[1:] if loc[:1] == ("<key>",) else loc
    for end in range(len(loc), -1, -1):
        if loc[:end] in marks:
            return marks[loc[:end]]
    return (1, 1)


def _allowed_keys(form_cls: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the file may use at ``loc``: field names, or their aliases (``if``, ``as``)."""
    model: Any = form_cls
    named = False  # the previous part was a mapping of names to models (workflow inputs)
    for part in loc:
        if isinstance(part, int) or named:
            named = False
            continue
        field = _keys_of(model).get(str(part))
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
        named = get_origin(field.annotation) is dict
    return list(_keys_of(model))


def _keys_of(model: Any) -> dict[str, Any]:
    fields = getattr(model, "model_fields", {})
    return {(field.alias or name): field for name, field in fields.items()}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


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

    def __init__(self, stream: str, document: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.document = document

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                f"YAML aliases (*{event.anchor}) are not supported in {self.document}: "
                "write the value out",
                event.start_mark,
                "repeat the value where it is needed instead of using &anchor and *alias",
            )
        if self.depth >= MAX_DEPTH:
            raise _Refused(
                f"the {self.document} is nested more than {MAX_DEPTH} levels deep",
                event.start_mark,
                "flatten the nesting; a few levels are enough",
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def compose(
    text: str,
    path: Path | str,
    *,
    document: str,
    error: type[Mark1Error],
    word_keys: bool = False,
) -> tuple[Any, Marks]:
    """Plain data from YAML ``text`` and the line/column of every value and key in it.

    Returns ``(None, {})`` for an empty document; bad YAML raises ``error`` pointing into it.
    With ``word_keys``, an unquoted key YAML 1.1 reads as a boolean (``on:``, ``yes:``) stays
    the word written: a format that has such a key (a workflow's ``retry: {on: [...]}``)
    must not make people quote it.
    """
    try:
        loader = _Composer(text, document)
    except yaml.reader.ReaderError as exc:  # a control character: refused before parsing
        before = text[: exc.position]
        line, column = before.count("\n") + 1, exc.position - before.rfind("\n")
        raise error(
            f"the file contains the character U+{exc.character:04X}, which YAML does not allow",
            where=Location(path, line, column),
            hint="delete it (or write it as an escape like \\u0007 inside double quotes)",
        ) from None
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
        raise error(
            f"invalid YAML: {message}",
            where=where,
            hint="check indentation (spaces, not tabs) and quote values containing ': ' or '#'",
        ) from None
    except _Refused as exc:
        raise error(
            exc.message,
            where=Location(path, exc.mark.line + 1, exc.mark.column + 1),
            hint=exc.hint,
        ) from None
    finally:
        loader.dispose()
    if node is None:
        return None, {}
    marks: Marks = {}
    data = _Walker(path, document, error, word_keys).walk(node, (), marks)
    return data, marks


class _Walker:
    """Plain data from composed nodes; errors name ``path`` and are raised as ``error``."""

    def __init__(
        self, path: Path | str, document: str, error: type[Mark1Error], word_keys: bool = False
    ) -> None:
        self.path, self.document, self.error = path, document, error
        self.word_keys = word_keys

    def walk(self, node: yaml.Node, loc: Loc, marks: Marks) -> Any:
        """Build plain data from ``node``, recording where each value (or its key) starts."""
        marks[loc] = line, column = _position(node)
        if isinstance(node, yaml.ScalarNode) and node.style in (None, "'", '"'):
            # Where the text itself starts (inside any quotes), for columns inside a value.
            marks[("<text>", *loc)] = (line, column + (node.style is not None))
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.key(key_node)
                if key in out:
                    raise self.error(
                        f"key '{key}' appears twice in the same mapping",
                        where=Location(self.path, *_position(key_node)),
                        hint="keep one of them; YAML would silently drop the first",
                    )
                out[key] = self.walk(value_node, (*loc, key), marks)
                marks[("<key>", *loc, key)] = _position(key_node)
                if not isinstance(value_node, yaml.ScalarNode):
                    marks[(*loc, key)] = _position(key_node)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.walk(item, (*loc, i), marks) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def key(self, node: yaml.Node) -> str:
        """A mapping key, which must read as text: ``? [a, b]``, ``1:`` or ``yes:`` are refused."""
        where = Location(self.path, *_position(node))
        if node.tag == MERGE_TAG:
            raise self.error(
                f"YAML merge keys (<<) are not supported in {self.document}: write the keys out",
                where=where,
            )
        if not isinstance(node, yaml.ScalarNode):
            kind = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
            raise self.error(
                f"keys must be plain names, not {kind}",
                where=where,
                hint="write each key as a name followed by ':', e.g. command: ...",
            )
        key = self.scalar(node)
        if isinstance(key, bool) and self.word_keys and node.style is None:
            return str(node.value)
        if not isinstance(key, str):
            raise self.error(
                f"keys must be plain names; YAML reads {node.value!r} as "
                f"{'null' if key is None else type(key).__name__}",
                where=where,
                hint=f"quote the key if it is meant as a name: '{node.value}':",
            )
        return key

    def scalar(self, node: yaml.Node) -> Any:
        try:
            return yaml.SafeLoader("").construct_object(node, deep=True)
        except (
            yaml.YAMLError,
            ValueError,
            TypeError,
            OverflowError,
            IndexError,
            AttributeError,
        ) as exc:
            # An unknown or unsafe tag (!foo, !!python/...), or a value its type cannot hold
            # (version: 2020-13-45 looks like a date; !!int abc; an empty !!float or !!timestamp).
            reason = exc.problem if isinstance(exc, yaml.MarkedYAMLError) else str(exc)
            raise self.error(
                f"cannot read the value {node.value!r}: {reason}",
                where=Location(self.path, *_position(node)),
                hint="quote the value to keep it as text, and drop any !tag",
            ) from None


def _position(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1
