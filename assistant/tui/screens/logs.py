"""What the steps of the current (or last) run printed, scrollable."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class LogScreen(ModalScreen[None]):
    """The run's logs; escape goes back."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Back")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="log-dialog"):
            yield Static(self.text, markup=False, id="log-text")
