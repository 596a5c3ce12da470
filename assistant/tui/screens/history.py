"""Past conversations: pick one to carry on with it (its turns are shown again and the model
sees them), or search what the assistant remembers."""

from __future__ import annotations

import time
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option


class HistoryScreen(ModalScreen[str | None]):
    """Returns the id of the session to resume, or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Back")]

    def __init__(self, sessions: list[dict[str, Any]]) -> None:
        super().__init__()
        self.sessions = sessions

    def compose(self) -> ComposeResult:
        with Vertical(id="history-dialog"):
            yield Label("Carry on with a conversation (Enter), or escape", id="history-title")
            if not self.sessions:
                yield Static("No conversations yet.")
            yield OptionList(*[self._option(s) for s in self.sessions], id="history-sessions")

    @staticmethod
    def _option(session: dict[str, Any]) -> Option:
        title = session.get("title") or session.get("first_message") or "(empty)"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(session["updated_at"]))
        return Option(f"{when}  {title}  ({session['message_count']} messages)", id=session["id"])

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        self.dismiss(message.option.id)


class MemoryScreen(ModalScreen[None]):
    """Search memory by meaning; results update as you press Enter."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Back")]

    def __init__(self, agent: Any, query: str = "") -> None:
        super().__init__()
        self.agent = agent
        self.query_text = query

    def compose(self) -> ComposeResult:
        with Vertical(id="memory-dialog"):
            yield Input(self.query_text, placeholder="what to look for", id="memory-query")
            yield Static("", id="memory-results")

    def on_mount(self) -> None:
        if self.query_text:
            self.search(self.query_text)

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        self.search(message.value.strip())

    @work(exclusive=True)
    async def search(self, query: str) -> None:
        text = await self.agent.builtins.recall(query) if query else ""
        self.query_one("#memory-results", Static).update(text)
