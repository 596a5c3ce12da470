"""Finding capabilities by meaning: the text each installed capability is embedded as, and the
search over them (``mark1 capabilities search``, and the agent choosing its tools).

The index (``memory.capability_index``) is synced with the registry before every search, and
after every install, update and removal, so it never answers with a capability that is gone or
misses one that arrived.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from assistant.config import Settings
from assistant.memory_access import capability_index
from assistant.plugins import registry
from assistant.plugins.registry import CapabilityRow
from memory.capability_index import CapabilityHit, CapabilityText
from memory.embedder import EmbedderUnavailable
from memory.store import Store

PARAMETERS_EMBEDDED = 8  # a capability's first parameters say what it works on; more is noise


@dataclass(frozen=True)
class Found:
    """A capability that matches a search, with its score and how it was found."""

    row: CapabilityRow
    hit: CapabilityHit


def capability_text(row: CapabilityRow) -> str:
    """What a capability is embedded as: its name in words, what it does, what it takes and
    gives, and its parameters with their descriptions (the words a request would use)."""
    c = row.capability
    parts = [f"{c.name.replace('_', ' ').replace('-', ' ')}: {c.description}".strip()]
    if c.tags:
        parts.append("tags: " + ", ".join(c.tags))
    if c.input_formats:
        parts.append("takes " + ", ".join(c.input_formats))
    if c.output_formats:
        parts.append("gives " + ", ".join(c.output_formats))
    properties = (c.parameters or {}).get("properties") or {}
    described = [
        f"{name} ({spec.get('description', '')})" if isinstance(spec, dict) else name
        for name, spec in list(properties.items())[:PARAMETERS_EMBEDDED]
    ]
    if described:
        parts.append("parameters: " + ", ".join(described))
    parts.append(f"plugin {row.plugin}")
    return ". ".join(parts)


def _documents(rows: list[CapabilityRow]) -> list[CapabilityText]:
    return [CapabilityText(f"{r.plugin}.{r.capability.name}", capability_text(r)) for r in rows]


async def search(
    store: Store, settings: Settings, query: str, k: int = 10, *, enabled_only: bool = False
) -> list[Found]:
    """The ``k`` capabilities nearest to ``query`` in meaning (by keywords when the model
    cannot load: each hit's ``method`` says which), best first."""
    rows = await registry.list_capabilities(store)
    if enabled_only:
        rows = [r for r in rows if r.enabled]
    by_id = {f"{r.plugin}.{r.capability.name}": r for r in rows}
    index = capability_index(settings)
    hits = await asyncio.to_thread(index.search, query, _documents(rows), k)
    return [Found(by_id[h.id], h) for h in hits if h.id in by_id]


async def sync(store: Store, settings: Settings) -> str | None:
    """Bring the index up to date with the registry; returns why it could not (the model does
    not load: search then ranks by keywords), or None."""
    documents = _documents(await registry.list_capabilities(store))
    try:
        await asyncio.to_thread(capability_index(settings).sync, documents)
    except EmbedderUnavailable as exc:
        return f"capability search will use keywords: {exc.message} ({exc.hint})"
    return None
