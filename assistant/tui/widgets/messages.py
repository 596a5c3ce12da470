"""The conversation's pieces: what the person said, what the assistant answers (Markdown,
streamed in batches so a fast model never floods the screen), and short notes."""

from __future__ import annotations

from typing import Any

from textual.widgets import Markdown, Static


class UserMessage(Static):
    """A request as the person typed it."""

    DEFAULT_CLASSES = "message user"


class NoteLine(Static):
    """A notice, a tool the agent used, a step that finished: one dim line."""

    DEFAULT_CLASSES = "note"


class AssistantMessage(Markdown):
    """The assistant's answer; ``write`` streams text into it through Textual's Markdown
    stream, which coalesces updates that arrive faster than the screen refreshes."""

    DEFAULT_CLASSES = "message assistant"

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self._stream: Any = None
        self.text = text

    async def write(self, text: str) -> None:
        if self._stream is None:
            self._stream = Markdown.get_stream(self)
        self.text += text
        await self._stream.write(text)

    async def finish(self, final: str | None = None) -> None:
        """End the stream; ``final`` replaces what was streamed (the complete answer)."""
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        if final is not None and final != self.text:
            self.text = final
            await self.update(final)
