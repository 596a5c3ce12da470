"""The values a run starts with: ``--input k=v`` words typed by the declared inputs.

A workflow may declare its inputs (type, default, format, choices) or, as the seed's §8.2
example does, only use ``${workflow.inputs.x}``; then every used name is a required text input.
Paths are made absolute against the caller's directory before the run is recorded, so a resume
from another directory reads the same files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant.errors import InputError
from assistant.workflow.expressions import Expression, Template
from assistant.workflow.graph import Graph
from assistant.workflow.model import Workflow, WorkflowInput


def used_inputs(graph: Graph) -> list[str]:
    """Names the workflow's expressions read from ``workflow.inputs``."""
    names: list[str] = []
    holders: list[Template | Expression] = [*graph.templates.values(), *graph.conditions.values()]
    for holder in holders:
        for ref in holder.references():
            if ref.parts[:2] == ("workflow", "inputs") and len(ref.parts) > 2:
                names.append(str(ref.parts[2]))
    return list(dict.fromkeys(names))


def parse_pairs(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``k=v`` words as a mapping; a word without ``=`` is an error naming it."""
    given: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise InputError(f"'{pair}' is not NAME=VALUE", hint="e.g. --input data_file=sales.csv")
        given[name.strip()] = value
    return given


def resolve_inputs(
    workflow: Workflow, graph: Graph, given: dict[str, Any], base_dir: Path
) -> dict[str, Any]:
    """The run's inputs: given values typed, defaults filled, required ones present."""
    declared = dict(workflow.inputs)
    for name in used_inputs(graph):
        declared.setdefault(name, WorkflowInput())
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise InputError(
            f"the workflow '{workflow.name}' has no input {', '.join(unknown)}",
            hint=f"its inputs: {', '.join(declared) or 'none'}",
        )
    resolved: dict[str, Any] = {}
    missing = []
    for name, spec in declared.items():
        if name in given:
            resolved[name] = _typed(name, given[name], spec, base_dir)
        elif spec.default is not None:
            resolved[name] = _typed(name, spec.default, spec, base_dir)
        elif spec.is_required:
            missing.append(name)
    if missing:
        raise InputError(
            f"the workflow '{workflow.name}' needs the input(s) {', '.join(missing)}",
            hint="pass them as " + " ".join(f"--input {m}=..." for m in missing),
        )
    return resolved


_KINDS: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "number": (int, float),
    "integer": int,
    "boolean": bool,
    "array": list,
    "object": dict,
}


def _typed(name: str, value: Any, spec: WorkflowInput, base_dir: Path) -> Any:
    if isinstance(value, str) and spec.type != "string":
        value = _parse(name, value, spec)
    kinds = _KINDS[spec.type]
    if not isinstance(value, kinds) or (
        isinstance(value, bool) and spec.type in ("number", "integer")
    ):
        raise InputError(f"input '{name}' must be {spec.type}, got {value!r}")
    if spec.enum is not None and value not in spec.enum:
        raise InputError(
            f"input '{name}' must be one of {', '.join(map(str, spec.enum))}, got {value!r}"
        )
    if spec.format == "path" and isinstance(value, str) and value:
        value = str((base_dir / Path(value).expanduser()).resolve())
    return value


def _parse(name: str, text: str, spec: WorkflowInput) -> Any:
    if spec.type == "boolean":
        lowered = text.strip().lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise InputError(f"input '{name}' must be true or false, got '{text}'")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        example = {"number": "3.5", "integer": "3", "array": '["a", "b"]', "object": '{"k": 1}'}
        raise InputError(
            f"input '{name}' must be {spec.type}: cannot read '{text}'",
            hint=f"e.g. --input {name}={example[spec.type]}",
        ) from exc
