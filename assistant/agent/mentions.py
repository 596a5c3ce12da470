"""``@plugin`` in a request pins that plugin: only its capabilities are offered for the
request (to the model, or to the offline planner), so "@image-resizer shrink cat.png" cannot
be planned with another plugin that also shrinks images."""

from __future__ import annotations

import re
from collections.abc import Iterable

_MENTION = re.compile(r"(?<!\S)@([a-z0-9][a-z0-9._-]*[a-z0-9]|[a-z0-9])")


def pinned_plugins(request: str, installed: Iterable[str]) -> set[str]:
    """The installed plugins ``request`` mentions with ``@``."""
    known = set(installed)
    return {name for name in _MENTION.findall(request) if name in known}


def without_mentions(request: str, pinned: Iterable[str]) -> str:
    """``request`` with the ``@`` of each pinned plugin dropped (its name is a useful word)."""
    for name in pinned:
        request = re.sub(rf"(?<!\S)@{re.escape(name)}\b", name, request)
    return request
