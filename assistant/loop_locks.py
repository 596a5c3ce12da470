"""Named asyncio locks, one set per event loop.

A lock belongs to the loop it was first waited on; a process that runs several loops (each
CLI command's ``asyncio.run``, the TUI's worker threads, the tests) must not share one
between them. Keyed weakly by the loop, so a finished loop's locks go with it.
"""

from __future__ import annotations

import asyncio
import weakref

_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


def loop_lock(name: str) -> asyncio.Lock:
    """The lock called ``name`` on the running loop."""
    named = _locks.setdefault(asyncio.get_running_loop(), {})
    return named.setdefault(name, asyncio.Lock())
