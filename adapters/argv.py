"""Turning a capability's inputs into a command line.

Each input parameter becomes ``--name value`` unless the manifest maps it (``args``) to another
flag, a position, ``--flag=value`` style, a joined list, a flag followed by several values
(``nargs``: ``--size 640 480``), or a flag for false booleans. Booleans
are switches, lists repeat their flag, ``None`` leaves the parameter out. Extra positional
arguments (``mark1 run ... --arg X``) arrive under ``POSITIONAL_KEY``.
"""

from __future__ import annotations

import json
from typing import Any

POSITIONAL_KEY = "_args"


def build_argv(
    command: list[str],
    inputs: dict[str, Any],
    parameters: dict[str, Any] | None = None,
    args: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    """The full argv: ``command``, then positionals in order, then options."""
    args = args or {}
    declared = list((parameters or {}).get("properties") or {})
    names = declared + [n for n in inputs if n not in declared and n != POSITIONAL_KEY]
    positionals: list[tuple[int, list[str]]] = []
    options: list[str] = []
    for name in names:
        value = inputs.get(name)
        if value is None:
            continue
        spec = args.get(name) or {}
        if spec.get("position") is not None:
            positionals.append((spec["position"], _values(value, spec.get("join"))))
        else:
            options += _option(name, value, spec)
    extra = [_text(v) for v in inputs.get(POSITIONAL_KEY) or []]
    ordered = [v for _, values in sorted(positionals, key=lambda p: p[0]) for v in values]
    return [*command, *ordered, *extra, *options]


def _option(name: str, value: Any, spec: dict[str, Any]) -> list[str]:
    flag = spec.get("flag") or "--" + name.replace("_", "-")
    if spec.get("nargs") and isinstance(value, list):
        groups = value if all(isinstance(v, list) for v in value) and value else [value]
        return [word for group in groups for word in (flag, *(_text(v) for v in group))]
    if isinstance(value, bool):
        if value:
            return [flag]
        return [spec["false_flag"]] if spec.get("false_flag") else []
    rendered: list[str] = []
    for item in _values(value, spec.get("join")):
        rendered += [f"{flag}={item}"] if spec.get("style") == "equals" else [flag, item]
    return rendered


def _values(value: Any, join: str | None) -> list[str]:
    if isinstance(value, list):
        items = [_text(v) for v in value]
        return [join.join(items)] if join is not None else items
    return [_text(value)]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
