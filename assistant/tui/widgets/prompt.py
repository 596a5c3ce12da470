"""The request box: several lines when needed, Enter to send, history on up and down, Tab to
complete a slash command.

Enter sends; ctrl+j (or alt+enter / shift+enter where the terminal reports them) starts a new
line; a pasted block keeps its lines. Up on the first line and down on the last walk the
history, so moving inside a long request still works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import events
from textual.message import Message
from textual.widgets import TextArea

NEWLINE_KEYS = ("ctrl+j", "alt+enter", "shift+enter")


class PromptArea(TextArea):
    """A multi-line prompt that posts ``Submitted`` on Enter."""

    @dataclass
    class Submitted(Message):
        prompt: PromptArea
        value: str

    def __init__(self, commands: list[str], placeholder: str = "", **kwargs: Any) -> None:
        super().__init__(
            soft_wrap=True, show_line_numbers=False, tab_behavior="focus", placeholder=placeholder,
            compact=True, **kwargs,
        )  # fmt: skip
        self.commands = commands
        self.sent: list[str] = []
        self._position = 0

    @property
    def value(self) -> str:
        return self.text

    @value.setter
    def value(self, text: str) -> None:
        self.text = text
        self.move_cursor(self.document.end)

    def remember(self, text: str) -> None:
        self.sent.append(text)
        self._position = len(self.sent)

    async def _on_key(self, event: events.Key) -> None:
        row, _ = self.cursor_location
        last_row = self.document.line_count - 1
        handled = True
        if event.key == "enter":
            self.post_message(self.Submitted(self, self.text))
        elif event.key in NEWLINE_KEYS:
            self.insert("\n")
        elif event.key == "up" and row == 0 and self.sent:
            self._walk(-1)
        elif event.key == "down" and row == last_row and self.sent:
            self._walk(1)
        elif event.key == "tab" and self.text.startswith("/"):
            self._complete()
        else:
            handled = False
        if handled:
            event.stop()
            event.prevent_default()
            return
        await super()._on_key(event)

    def _walk(self, step: int) -> None:
        self._position = max(0, min(len(self.sent), self._position + step))
        self.value = self.sent[self._position] if self._position < len(self.sent) else ""

    def _complete(self) -> None:
        """Complete a slash command when only one fits what is typed."""
        fitting = [c for c in self.commands if c.startswith(self.text.strip())]
        if len(fitting) == 1:
            self.value = fitting[0]
        elif fitting:
            self.app.notify("  ".join(c.strip() for c in fitting))
