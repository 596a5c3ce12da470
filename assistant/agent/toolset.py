"""Installed capabilities as tools: one per enabled capability, with its JSON Schema, a name
that is valid for every OpenAI-compatible server yet records its plugin, and its side-effect
class in the description so the model knows what calling it means.

With many plugins only the most relevant capabilities (by the semantic capability index) go
into a prompt: a long tool list costs tokens on every call and confuses small models.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from assistant.plugins.registry import CapabilityRow

TOOL_NAME_LIMIT = 64  # OpenAI's limit; names match ^[a-zA-Z0-9_-]+$
SEPARATOR = "__"
ANY_INPUTS: dict[str, Any] = {"type": "object", "additionalProperties": True}


@dataclass(frozen=True)
class CapabilityTool:
    """One capability offered to the model."""

    name: str
    row: CapabilityRow

    @property
    def plugin(self) -> str:
        return self.row.plugin

    @property
    def capability(self) -> str:
        return self.row.capability.name

    @property
    def side_effects(self) -> str:
        return self.row.capability.side_effects

    def spec(self) -> dict[str, Any]:
        c = self.row.capability
        description = (
            f"{c.description or c.name} [plugin {self.plugin}; {c.side_effects}"
            + (f"; takes {', '.join(c.input_formats)}" if c.input_formats else "")
            + (f"; gives {', '.join(c.output_formats)}" if c.output_formats else "")
            + "]"
        )
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": description,
                "parameters": c.parameters or ANY_INPUTS,
            },
        }


def tool_name(plugin: str, capability: str) -> str:
    """``plugin__capability`` with characters servers reject replaced; too long or clashing
    names keep a short hash of the true pair, so two plugins never share a tool."""
    raw = f"{plugin}{SEPARATOR}{capability}"
    clean = re.sub(r"[^a-zA-Z0-9_-]", "_", raw)
    if clean == raw and len(clean) <= TOOL_NAME_LIMIT:
        return clean
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"{clean[: TOOL_NAME_LIMIT - 9]}_{digest}"


def capability_tools(rows: Iterable[CapabilityRow]) -> dict[str, CapabilityTool]:
    """Tools of the enabled ``rows`` by tool name."""
    tools: dict[str, CapabilityTool] = {}
    for row in rows:
        if row.enabled:
            name = tool_name(row.plugin, row.capability.name)
            tools[name] = CapabilityTool(name, row)
    return tools
