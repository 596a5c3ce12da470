"""The agent behind the app: the store and the agent, opened after the first paint (in a
worker) and closed when the app ends, so starting the window never waits on SQLite,
migrations or the model client."""

from __future__ import annotations

import asyncio
import importlib
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.agent.loop import Agent
    from assistant.config import Settings
    from memory.store import Store


class AgentSession:
    """One conversation's agent and its open store."""

    def __init__(self) -> None:
        self._stack = AsyncExitStack()
        self.agent: Agent | None = None
        self.store: Store | None = None
        self.settings: Settings | None = None

    async def start(self, base_dir: Path | None = None) -> Agent:
        # Imported in a thread: a third of a second of imports (pydantic models, the agent)
        # would otherwise stall the window's event loop.
        await asyncio.to_thread(importlib.import_module, "assistant.agent.loop")
        from assistant import paths
        from assistant.agent.loop import Agent
        from assistant.config import load_settings
        from memory.store import Store

        self.settings = load_settings()
        self.store = await self._stack.enter_async_context(Store.open(paths.db_path()))
        self.agent = Agent(self.store, self.settings, base_dir=base_dir)
        self._stack.push_async_callback(self.agent.aclose)
        return self.agent

    async def close(self) -> None:
        await self._stack.aclose()
