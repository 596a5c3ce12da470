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
    filled = copy.deepcopy(inputs)
    for name, prop in (parameters.get("properties") or {}).items():
        if name not in filled and isinstance(prop, dict) and "default" in prop:
            filled[name] = copy.deepcopy(prop["default"])
    validator = _validator(parameters)
    problems = []
    for err in sorted(validator.iter_errors(filled), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in err.path)
        problems.append(f"{where}: {err.message}" if where else err.message)
    if problems:
        raise InputValidationError(problems)
    return filled


_VALIDATORS: dict[int, tuple[dict[str, Any], Any]] = {}


def _validator(parameters: dict[str, Any]) -> Any:
    """One validator per schema object: a workflow checks the same capability's inputs for
    every step and item, and building a validator costs more than using it. Keyed by identity
    (the schema object is kept alive with it, so the id cannot be reused)."""
    found = _VALIDATORS.get(id(parameters))
    if found is not None and found[0] is parameters:
        return found[1]
    from jsonschema import Draft202012Validator

    if len(_VALIDATORS) > 512:
        _VALIDATORS.clear()
    validator = Draft202012Validator(parameters)
    _VALIDATORS[id(parameters)] = (parameters, validator)
    return validator


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
