"""Turning ``-i key=value`` words into typed inputs, guided by the capability's JSON Schema
(``assistant.plugins.input_values`` types each value)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapters.argv import POSITIONAL_KEY
from assistant.errors import InputError
from assistant.plugins.input_values import coerce, schema_type


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
        value = coerce(key, raw, prop, cwd)
        if schema_type(prop) == "array" or (not prop and key in seen):
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
