"""Turning ``-i key=value`` words into typed inputs, guided by the capability's JSON Schema.

Values are strings on a command line; the schema says which are numbers, booleans, lists or
objects. String parameters with ``format: path`` (or file/directory) that name an existing
file relative to where the user typed the command are made absolute, because the plugin runs
in the workspace, not in the user's current directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapters.argv import POSITIONAL_KEY
from assistant.errors import InputError

PATH_FORMATS = ("path", "file", "directory", "file-path", "dir-path")
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def parse_inputs(
    pairs: tuple[str, ...],
    positionals: tuple[str, ...],
    inputs_json: str | None,
    parameters: dict[str, Any] | None,
    cwd: Path,
) -> dict[str, Any]:
    inputs: dict[str, Any] = _load_json(inputs_json, cwd) if inputs_json else {}
    props = (parameters or {}).get("properties") or {}
    seen: set[str] = set()
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InputError(f"'{pair}' is not key=value", hint="write e.g. -i width=800")
        prop = props.get(key) or {}
        value = _coerce(key, raw, prop, cwd)
        if _type(prop) == "array" or (not prop and key in seen):
            current = inputs.get(key) if key in seen else []
            current = current if isinstance(current, list) else [current]
            inputs[key] = current + (value if isinstance(value, list) else [value])
        elif key in seen:
            raise InputError(f"'{key}' is given twice", hint=f"'{key}' takes one value")
        else:
            inputs[key] = value
        seen.add(key)
    if positionals:
        inputs[POSITIONAL_KEY] = list(positionals)
    return inputs


def _coerce(key: str, raw: str, prop: dict[str, Any], cwd: Path) -> Any:
    kind = _type(prop)
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
        if kind == "boolean":
            if raw.lower() in _TRUE | _FALSE:
                return raw.lower() in _TRUE
            raise ValueError(f"expected true or false, got '{raw}'")
        if kind == "object":
            return json.loads(raw)
        if kind == "array":
            items = prop.get("items") or {}
            return [_coerce(key, part, items, cwd) for part in raw.split(",")] if raw else []
    except (ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"input '{key}': {exc}", hint=f"'{key}' must be a {kind}") from exc
    if prop.get("format") in PATH_FORMATS and raw and not Path(raw).is_absolute():
        candidate = (cwd / raw).resolve()
        if candidate.exists():
            return str(candidate)
    return raw


def _type(prop: dict[str, Any]) -> str | None:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind


def _load_json(text: str, cwd: Path) -> dict[str, Any]:
    source = "--inputs"
    if text.startswith("@"):
        path = cwd / text[1:]
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
            hint='write an object like {"width": 800}',
        ) from exc
    if not isinstance(data, dict):
        raise InputError(f"{source}: inputs must be a JSON object", hint='e.g. {"width": 800}')
    return data
