"""What a step calls: an installed plugin's capability, or a ``core`` built-in, seen through one
shape so the validator, the plan view and the engine do not care which."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.plugins.manifest import Capability
from assistant.plugins.registry import PluginRecord
from assistant.workflow.builtins import CORE_PLUGIN, Builtin


@dataclass(frozen=True)
class Target:
    """The capability behind a step, with what the engine needs to run and cache it."""

    plugin: str
    capability: str
    side_effects: str
    parameters: dict[str, Any] | None
    input_formats: list[str] = field(default_factory=list)
    produces: dict[str, str | None] = field(default_factory=dict)  # produced name -> format
    version: str = "builtin"  # plugin version and commit: part of the cache key
    record: PluginRecord | None = None
    spec: Capability | None = None
    builtin: Builtin | None = None

    @property
    def qualified(self) -> str:
        return f"{self.plugin}.{self.capability}"

    def file_inputs(self) -> set[str]:
        """Parameters that take a file path (where format conversion applies)."""
        props = (self.parameters or {}).get("properties") or {}
        return {k for k, v in props.items() if isinstance(v, dict) and v.get("format") == "path"}


def builtin_target(builtin: Builtin) -> Target:
    return Target(
        plugin=CORE_PLUGIN,
        capability=builtin.name,
        side_effects=builtin.side_effects,
        parameters=builtin.parameters,
        builtin=builtin,
    )


def plugin_target(record: PluginRecord, capability: Capability) -> Target:
    return Target(
        plugin=record.name,
        capability=capability.name,
        side_effects=capability.side_effects,
        parameters=capability.parameters,
        input_formats=list(capability.input_formats),
        produces={p.name: p.format or _suffix_format(p.path) for p in capability.produces},
        version=f"{record.manifest.version}@{record.commit or record.version_id}",
        record=record,
        spec=capability,
    )


def _suffix_format(path: str) -> str | None:
    suffix = Path(path).suffix.lstrip(".").lower()
    return suffix or None
