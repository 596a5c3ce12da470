"""Checking inputs against a capability's JSON Schema, shared by every adapter."""

from __future__ import annotations

import copy
from typing import Any

from adapters.base import InputValidationError


def validate(parameters: dict[str, Any] | None, inputs: dict[str, Any]) -> dict[str, Any]:
    """Return ``inputs`` with schema defaults filled in, or raise with every problem found.

    A capability that declares no schema accepts any inputs (seed §8.1 declares none).
    """
    if parameters is None:
        return dict(inputs)
    from jsonschema import Draft202012Validator

    filled = copy.deepcopy(inputs)
    for name, prop in (parameters.get("properties") or {}).items():
        if name not in filled and isinstance(prop, dict) and "default" in prop:
            filled[name] = copy.deepcopy(prop["default"])
    validator = Draft202012Validator(parameters)
    problems = []
    for err in sorted(validator.iter_errors(filled), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in err.path)
        problems.append(f"{where}: {err.message}" if where else err.message)
    if problems:
        raise InputValidationError(problems)
    return filled


def named_paths(inputs: dict[str, Any]) -> list[str]:
    """Existing files and folders the inputs name by absolute path, at any depth.

    The user chose to share them with the run, so confinement (sandbox, container) makes them
    visible read-only.
    """
    import os

    found: list[str] = []
    stack: list[Any] = list(inputs.values())
    while stack:
        value = stack.pop()
        if isinstance(value, list | tuple):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, str) and os.path.isabs(value) and os.path.exists(value):
            found.append(value)
    return found
