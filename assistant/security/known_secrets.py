"""The secret values this process has handed out, so every record of a run can mask them.

A plugin's secrets reach it through its environment, and a plugin is free to print them:
whatever it prints becomes a log line, a run record, a tool result for the model, a memory.
Each of those masks the values listed here, exactly, before anything is written or sent.
The list lives only in memory and only holds what was actually injected.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from adapters.base import Event, OutputLine, PluginResult, Progress

MASK = "***"
_SHORTEST = 4  # shorter values would mask ordinary words ("yes", "1") everywhere

_values: set[str] = set()


def remember(value: str) -> None:
    if len(value) >= _SHORTEST:
        _values.add(value)


def values() -> frozenset[str]:
    return frozenset(_values)


def mask(value: Any, extra: frozenset[str] | set[str] = frozenset()) -> Any:
    """``value`` (text, or JSON-like data) with every known secret replaced by ``***``;
    longer secrets first, so one that contains another is masked whole."""
    if not _values and not extra:  # the usual case, on every step's records: no work
        return value
    secrets = sorted(_values | set(extra), key=len, reverse=True)
    return _masked(value, secrets)


def _masked(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: _masked(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(v, secrets) for v in value]
    return value


def mask_result(
    result: PluginResult, extra: frozenset[str] | set[str] = frozenset()
) -> PluginResult:
    """``result`` as it may be recorded or shown: outputs, command line, output tails and
    error masked."""
    if not _values and not extra:
        return result
    return replace(
        result,
        outputs=mask(result.outputs, extra),
        command=mask(result.command, extra),
        stdout=mask(result.stdout, extra),
        stderr=mask(result.stderr, extra),
        error=mask(result.error, extra),
    )


def mask_event(event: Event) -> Event:
    """What a plugin printed or reported as progress, masked before anyone shows or logs it."""
    if isinstance(event, OutputLine) and _values:
        return replace(event, text=mask(event.text))
    if isinstance(event, Progress) and _values:
        return replace(event, message=mask(event.message))
    return event
