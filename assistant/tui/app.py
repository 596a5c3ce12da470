"""``mark1-assistant``: the Textual chat app over the agent.

The first paint waits for nothing heavy: the store, the agent (and through it the model
client, Chroma and the embedding model) are opened in a worker after the screen is up.
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import TYPE_CHECKING

from textual.app import App
from textual.binding import Binding

from assistant.security.vault_key import set_passphrase_prompt
from assistant.tui.listening import SourceFactory, microphone
from assistant.tui.screens.chat import ChatScreen
from assistant.tui.session import AgentSession

if TYPE_CHECKING:
    from assistant.agent.loop import Agent


class AssistantApp(App[None]):
    """The assistant's window."""

    TITLE = "Mark-1"
    CSS_PATH = str(resources.files("assets") / "styles" / "app.tcss")
    ENABLE_COMMAND_PALETTE = False  # ctrl+p opens the plugins screen; no palette commands
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+p", "plugins", "Plugins"),
        Binding("f2", "switch_theme", "Light/dark"),  # ctrl+t is kept for push-to-talk
    ]

    def __init__(
        self, session: AgentSession | None = None, audio_source: SourceFactory = microphone
    ) -> None:
        """``audio_source`` makes the source push-to-talk records from (tests: WAV files)."""
        super().__init__()
        self.session = session or AgentSession()
        self.audio_source = audio_source
        self.speechless = False  # no speaker here: said once, then answers stay silent
        self.speaking: bool | None = None  # /voice on|off for this session; None: settings
        self._agent_task: asyncio.Task[Agent] | None = None
        # the terminal belongs to the app: a locked vault is opened through a dialog (the
        # setup wizard asks) or MARK1_VAULT_KEY, never by a prompt under the screen
        set_passphrase_prompt(None)

    def on_mount(self) -> None:
        self.push_screen(ChatScreen())
        self.call_after_refresh(self._open_agent)  # the first paint waits for nothing

    def _open_agent(self) -> None:
        self._agent_task = asyncio.create_task(self.session.start())
        self._agent_task.add_done_callback(self._started)

    def _started(self, task: asyncio.Task[Agent]) -> None:
        if task.cancelled():
            return
        if task.exception() is not None:
            self.notify(f"could not start the assistant: {task.exception()}", severity="error")
            return
        chat = next(s for s in self.screen_stack if isinstance(s, ChatScreen))
        chat.show_state(task.result(), "ready")

    def action_switch_theme(self) -> None:
        """Light or dark, whichever the terminal's background suits (the styles use only the
        theme's colours, so both read well)."""
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_plugins(self) -> None:
        """The plugins screen: what is installed, install, enable/disable, update, remove."""
        from assistant.tui.screens.plugins import open_plugins

        open_plugins(self)

    async def agent(self) -> Agent:
        """The agent, once it is open."""
        while self._agent_task is None:  # asked for before the first refresh
            await asyncio.sleep(0.01)
        return await self._agent_task

    @property
    def turn_running(self) -> bool:
        return any(w.group == "turn" and w.is_running for w in self.workers)

    async def action_quit(self) -> None:
        """Quit, asking first while a request is running."""
        if not self.turn_running:
            self.exit()
            return
        from assistant.tui.screens.question import ConfirmScreen

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen("A request is running. Stop it and quit?"), answered)

    async def on_unmount(self) -> None:
        if (
            self._agent_task is not None
            and self._agent_task.done()
            and not self._agent_task.cancelled()
        ):
            await self.session.close()


def main() -> None:
    AssistantApp().run()
