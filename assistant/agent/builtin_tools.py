"""The agent's own tools, as plain typed functions (see ``function_tools``).

``ask_user`` and ``propose_plan`` only shape what the model asks for: the turn loop puts the
question to the person and the plan up for approval. The others act at once; only
``install_plugin`` changes anything, and the loop asks the person before every call of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from assistant.agent.function_tools import FunctionTool, function_tool
from assistant.agent.plan import Plan, PlanStep, Question
from assistant.config import Settings
from memory.store import Store

if TYPE_CHECKING:
    from memory.memories import MemoryStore

ASK_USER = "ask_user"
PROPOSE_PLAN = "propose_plan"
INSTALL_PLUGIN = "install_plugin"


def ask_user(question: str, choices: list[str] | None = None) -> Question:
    """Ask the person one short question when a required input is missing or ambiguous,
    with a few choices when there are few (e.g. "Which cloud provider?")."""
    return Question(text=question, choices=choices or [])


def propose_plan(goal: str, steps: list[PlanStep]) -> Plan:
    """Propose the whole plan for the request in one call: every step with its plugin,
    capability, inputs and depends_on. Nothing runs until the person approves it."""
    return Plan(goal=goal, steps=steps)


class Builtins:
    """The built-in tools that read or change Mark-1's own state."""

    def __init__(self, store: Store, settings: Settings, session_id: str | None = None):
        self.store = store
        self.settings = settings
        self.session_id = session_id
        self._memory: MemoryStore | None = None

    async def memory(self) -> MemoryStore:
        """The conversational memory, opened once for the conversation (opening checks the
        model record and finishes pending forgetting: work not worth repeating per call)."""
        if self._memory is None:
            from assistant.memory_access import memory_store

            self._memory = await memory_store(self.store, self.settings)
        return self._memory

    async def recall(self, query: str) -> str:
        """Search what you remember of earlier conversations, runs and facts."""
        memory = await self.memory()
        found = await memory.recall(
            query, namespace=self.settings.memory.namespace, k=self.settings.memory.recall
        )
        if not found.items:
            return "nothing remembered about that"
        return "\n".join(f"- ({r.memory.kind}) {r.memory.text}" for r in found.items)

    async def remember(self, text: str) -> str:
        """Remember a lasting fact or preference the person told you."""
        memory = await self.memory()
        saved = await memory.remember(
            text,
            kind="fact",
            namespace=self.settings.memory.namespace,
            session_id=self.session_id,
            embed=False,
        )
        return f"remembered ({saved.id})"

    async def list_plugins(self) -> str:
        """List the installed plugins with their capabilities."""
        from assistant.plugins import registry

        plugins = await registry.list_plugins(self.store)
        if not plugins:
            return "no plugins are installed"
        return "\n".join(
            f"- {p.name} {p.manifest.version}{'' if p.enabled else ' (disabled)'}: "
            + ", ".join(c.name for c in p.manifest.capabilities)
            for p in plugins
        )

    async def search_capabilities(self, query: str) -> str:
        """Find installed capabilities by what they do, best first."""
        from assistant.plugins.capability_search import search

        found = await search(self.store, self.settings, query, k=5, enabled_only=True)
        if not found:
            return "no installed capability matches"
        return "\n".join(
            f"- {f.row.plugin}.{f.row.capability.name} ({f.hit.score:.2f}): "
            f"{f.row.capability.description}"
            for f in found
        )

    async def install_plugin(self, source: str) -> str:
        """Install a plugin from a Git URL or folder (the person is always asked first)."""
        from assistant.plugins.capability_search import sync
        from assistant.plugins.installer import Installer

        record = await Installer(self.store, self.settings).install(source)
        await sync(self.store, self.settings)
        names = ", ".join(c.name for c in record.manifest.capabilities)
        return f"installed {record.name} {record.manifest.version}: {names}"

    def tools(self) -> dict[str, FunctionTool]:
        """Every built-in tool by name, the interactive ones included."""
        functions: list[Callable[..., Any]] = [
            ask_user,
            propose_plan,
            self.recall,
            self.remember,
            self.list_plugins,
            self.search_capabilities,
            self.install_plugin,
        ]
        return {f.__name__: function_tool(f) for f in functions}
