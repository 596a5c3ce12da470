"""Typing text a person typed (a ``-i key=value`` word, an answer to the assistant's question)
by the capability's JSON Schema: numbers, booleans, lists and objects from text, and paths
made absolute. String parameters with ``format: path`` (or file/directory) that name an
existing file relative to where the person is are made absolute, because the plugin runs in
the workspace, not in the person's current directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.errors import InputError

PATH_FORMATS = ("path", "file", "directory", "file-path", "dir-path")
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


def coerce(key: str, raw: str, prop: dict[str, Any], cwd: Path) -> Any:
    """``raw`` as the type ``prop`` (a JSON Schema property) asks for; raises InputError."""
    kind = schema_type(prop)
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
            return [coerce(key, part, items, cwd) for part in raw.split(",")] if raw else []
    except (ValueError, json.JSONDecodeError) as exc:
        raise InputError(f"input '{key}': {exc}", hint=f"'{key}' must be a {kind}") from exc
    if prop.get("format") in PATH_FORMATS and raw and not Path(raw).is_absolute():
        candidate = (cwd / raw).resolve()
        if candidate.exists():
            return str(candidate)
    return raw


def schema_type(prop: dict[str, Any]) -> str | None:
    """The property's type, the first non-null one of a list."""
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return kind
