"""``mark1-assistant``: the Textual chat app.

The chat in this window is not built yet (the agent is: `mark1 chat`); this first screen says
so honestly, shows what is installed (read in a worker so the first paint never waits on the
database) and how to reach the assistant from the terminal.
"""

from __future__ import annotations

from importlib import resources

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static

WELCOME = (
    "[b]Mark-1 assistant[/b]\n\n"
    "This window's chat is not built yet; the assistant itself is, in the terminal:\n\n"
    "  mark1 chat                     talk to it: plans are shown before they run\n"
    '  mark1 ask "summarise data.csv"  one request, one answer\n'
    "  mark1 plugin install SOURCE    add a Git repo as a plugin\n"
    "  mark1 capabilities list        see what your plugins can do\n\n"
    "Press [b]q[/b] to quit."
)


class AssistantApp(App[None]):
    """The assistant's main window."""

    TITLE = "Mark-1"
    CSS_PATH = str(resources.files("assets") / "styles" / "app.tcss")
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(WELCOME, id="welcome")
        yield Static("Looking for installed plugins...", id="plugins")
        yield Footer()

    def on_mount(self) -> None:
        self.run_worker(self._show_plugins(), exclusive=True)

    async def _show_plugins(self) -> None:
        from assistant import paths
        from assistant.plugins import registry
        from memory.store import Store

        async with Store.open(paths.db_path()) as store:
            plugins = await registry.list_plugins(store)
        text = (
            "Installed plugins: " + ", ".join(p.name for p in plugins)
            if plugins
            else "No plugins installed yet."
        )
        self.query_one("#plugins", Static).update(text)


def main() -> None:
    AssistantApp().run()
