"""What most commands need: effective settings and an open store.

Imports happen inside ``session`` so that merely importing a command module (which
``mark1 GROUP --help`` does) stays cheap.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.config import Settings
    from memory.store import Store


@asynccontextmanager
async def session(**overrides: object) -> AsyncIterator[tuple[Settings, Store]]:
    from assistant import paths
    from assistant.config import load_settings
    from memory.store import Store

    settings = load_settings(**overrides)
    async with Store.open(paths.db_path()) as store:
        yield settings, store
