"""The ``core`` plugin: small capabilities that run inside the engine, without a process.

Workflows need glue that is not worth a plugin: gather values computed by expressions into
one place (``echo``, e.g. a reduce step that collects a map's outputs), or wait between
polls (``sleep``). They are always installed, read-only and cost no process launch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from adapters.base import PluginResult

CORE_PLUGIN = "core"


@dataclass(frozen=True)
class Builtin:
    """One in-process capability: its description, parameter schema and implementation."""

    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
    side_effects: str = "read-only"


async def _echo(inputs: dict[str, Any]) -> dict[str, Any]:
    return dict(inputs)


async def _sleep(inputs: dict[str, Any]) -> dict[str, Any]:
    await asyncio.sleep(float(inputs["seconds"]))
    return {"slept": inputs["seconds"]}


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin(
            "echo",
            "Return the inputs as outputs: name values computed from earlier steps, or collect "
            "a map step's results for the steps after it.",
            {"type": "object", "additionalProperties": True},
            _echo,
        ),
        Builtin(
            "sleep",
            "Wait a number of seconds (e.g. between polls).",
            {
                "type": "object",
                "required": ["seconds"],
                "additionalProperties": False,
                "properties": {"seconds": {"type": "number", "minimum": 0, "maximum": 86400}},
            },
            _sleep,
        ),
    )
}


async def run_builtin(name: str, inputs: dict[str, Any]) -> PluginResult:
    """Run ``core.NAME``; its outputs are a JSON object like any plugin's."""
    started = time.perf_counter()
    outputs = await BUILTINS[name].run(inputs)
    return PluginResult(
        "succeeded", outputs=outputs, metrics={"duration_s": time.perf_counter() - started}
    )
