"""The conversation: requests typed at the bottom, the assistant's answers streamed above,
plans and questions in dialogs, the running workflow's steps on the right.

Each request is one turn of the agent, served in a worker so the screen stays responsive;
ctrl+c stops the turn (the run is recorded as cancelled and can be resumed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from assistant.tui.widgets.messages import AssistantMessage, NoteLine, UserMessage
from assistant.tui.widgets.progress import ProgressPanel
from assistant.tui.widgets.prompt import PromptArea

if TYPE_CHECKING:
    from assistant.agent.loop import Agent
    from assistant.tui.app import AssistantApp
    from assistant.tui.listening import Recording
    from assistant.voice.tts import Playback

GREETING = (
    "Mark-1: say what you want done; plans are shown before anything runs. /help lists the "
    "commands. Try: Analyze the CSV file examples/workflows/sales.csv, generate "
    "visualizations, and create a PDF report"
)
SLASH_COMMANDS = [
    "/help",
    "/plugins",
    "/install ",
    "/workflows",
    "/runs",
    "/memory ",
    "/history",
    "/model",
    "/voice",
    "/unlock",
    "/clear",
]
HELP = (
    "Say what you want done; plans are shown before anything runs. @plugin pins a plugin.\n"
    "/plugins manage plugins (ctrl+p) · /install URL · /workflows saved workflows · "
    "/model which planner · /runs recent runs · "
    "/memory TEXT search memory · /history carry on with a past conversation · "
    "/voice microphone, speaker, spoken answers (on|off) · /unlock the secrets vault · "
    "/clear clear the screen · ctrl+t talk · ctrl+c stop · ctrl+q quit"
)


class ChatScreen(Screen[None]):
    """The main screen."""

    BINDINGS = [
        Binding("ctrl+c", "stop", "Stop", priority=True),
        Binding("ctrl+t", "talk", "Talk", priority=True),
        Binding("ctrl+l", "logs", "Logs"),
    ]
    recording: Recording | None = None
    playback: Playback | None = None  # the reply being spoken, if any

    @property
    def assistant(self) -> AssistantApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield VerticalScroll(
                Static(GREETING, classes="note"),
                id="conversation",
            )
            yield ProgressPanel(id="progress")
        yield PromptArea(
            SLASH_COMMANDS, placeholder="Ask Mark-1…  (/help; ctrl+j for a new line)", id="prompt"
        )
        yield Static("starting…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#prompt", PromptArea).focus()

    def say(self, widget: Any) -> Any:
        conversation = self.query_one("#conversation", VerticalScroll)
        conversation.mount(widget)
        conversation.scroll_end(animate=False)
        return widget

    def show_state(self, agent: Agent, state: str) -> None:
        """The status line: who plans, what is going on, the steps running, and voice."""
        from assistant.tui.widgets.progress import ProgressPanel

        panel = self.query("#progress").results(ProgressPanel)
        running = sum(s.status == "running" for p in panel for s in p.steps.values())
        parts = [agent.planner_label, state]
        if running:
            parts.append(f"{running} step{'s' if running > 1 else ''} running")
        if self.assistant.speechless:
            parts.append("ctrl+t talk (no speaker)")
        else:
            parts.append("ctrl+t talk" + ("" if self.speaks(agent) else ", answers silent"))
        self.set_status(" · ".join(parts))

    def set_status(self, text: str) -> None:
        for status in self.query("#status").results(Static):  # none while the app closes
            status.update(text)

    def hush(self) -> None:
        """Stop speaking: the person has something new to say."""
        if self.playback is not None:
            self.playback.stop()

    def on_prompt_area_submitted(self, message: PromptArea.Submitted) -> None:
        text = message.value.strip()
        if not text:
            return
        self.hush()
        prompt = message.prompt
        prompt.remember(text)
        prompt.value = ""
        if text.startswith("/"):
            self.slash(text)
        elif self.assistant.turn_running:
            self.app.notify("A request is still running: ctrl+c stops it.", severity="warning")
        else:
            self.say(UserMessage(text))
            self.serve(text)

    def action_talk(self) -> None:
        """Push-to-talk: start listening, or stop the recording that is going."""
        if self.recording is not None:
            self.recording.stopped.set()
        elif self.assistant.turn_running:
            self.app.notify("A request is still running: ctrl+c stops it.", severity="warning")
        else:
            self.listen_for_request()

    @work(group="voice", exclusive=True)
    async def listen_for_request(self) -> None:
        text = await self.hear()
        if not text:
            return
        agent = await self.assistant.agent()
        if agent.settings.voice.send_at_once:
            self.say(UserMessage(f"🎤 {text}"))
            self.serve(text, by_voice=True)
        else:
            self.query_one("#prompt", PromptArea).value = text

    async def hear(self) -> str:
        """Record until silence (or ctrl+t) and transcribe; "" when nothing was said or no
        microphone can be used (the person is told why)."""
        from assistant.errors import Mark1Error
        from assistant.tui.listening import Recording, level_line

        self.hush()
        agent = await self.assistant.agent()
        recording = self.recording = Recording(self.assistant.audio_source())
        meter = self.set_interval(0.1, lambda: self.set_status(level_line(recording)))
        try:
            text = await recording.words(agent.settings.voice.stt_model, agent.base_dir)
        except Mark1Error as exc:
            self.app.notify(exc.render(), severity="error", timeout=8)
            return ""
        finally:
            meter.stop()
            self.recording = None
            self.show_state(agent, "ready")
        if not text:
            self.app.notify("Nothing heard.", severity="warning")
        return text

    @work(group="speech", exclusive=True)
    async def speak(self, text: str) -> None:
        """Say ``text`` (shortened) unless speaking is off or no speaker exists (said once)."""
        import asyncio

        from assistant.errors import Mark1Error
        from assistant.tui.listening import speak
        from assistant.voice.tts import Playback

        agent = await self.assistant.agent()
        settings = agent.settings.voice
        if not self.speaks(agent) or not text or self.assistant.speechless:
            return
        self.hush()
        playback = self.playback = Playback()
        try:
            await asyncio.to_thread(speak, text, settings.voice, settings.rate, playback)
        except Mark1Error as exc:
            self.assistant.speechless = True
            self.app.notify(f"answers are not spoken: {exc.render()}", timeout=8)

    @work(group="turn", exclusive=True)
    async def serve(self, text: str, by_voice: bool = False) -> None:
        """One turn of the agent, its events shown as they come."""
        from assistant.errors import Mark1Error
        from assistant.tui.turn_view import TurnView

        agent = await self.assistant.agent()
        try:
            await TurnView(self, by_voice=by_voice).run(agent, text)
        except Mark1Error as exc:  # said to the person; the conversation goes on
            self.say(NoteLine(exc.render(), classes="warning", markup=False))
            self.app.notify(exc.message, severity="error")
        except Exception as exc:  # the window's top-level handler: a bug must not end the app
            self.say(NoteLine(f"internal error: {exc!r}", classes="warning", markup=False))
            self.app.notify(f"internal error: {exc!r}", severity="error")

    def action_logs(self) -> None:
        """What the run's steps printed."""
        from assistant.tui.screens.logs import LogScreen

        self.app.push_screen(LogScreen(self.query_one("#progress", ProgressPanel).logs()))

    def action_stop(self) -> None:
        if self.assistant.turn_running:
            self.workers.cancel_group(self, "turn")
            self.say(
                NoteLine("stopped; the run is recorded as cancelled (mark1 workflow resume RUN)")
            )
        else:
            self.app.notify("Nothing is running. ctrl+q quits.")

    def slash(self, text: str) -> None:
        command, _, argument = text.partition(" ")
        if command == "/help":
            self.say(NoteLine(HELP))
        elif command == "/clear":
            self.query_one("#conversation", VerticalScroll).remove_children()
        elif command in ("/plugins", "/install"):
            from assistant.tui.screens.plugins import open_plugins

            open_plugins(self.app, argument.strip() if command == "/install" else "")
        elif command == "/voice":
            self.voice(argument.strip().lower())
        elif command == "/unlock":
            self.unlock()
        elif command in ("/model", "/runs", "/workflows"):
            self.show_info(command, argument.strip())
        elif command == "/memory":
            self.open_memory(argument.strip())
        elif command == "/history":
            self.open_history()
        else:
            self.app.notify(f"unknown command {command}; /help lists them", severity="warning")

    @work(group="info")
    async def show_info(self, command: str, argument: str) -> None:
        agent = await self.assistant.agent()
        if command == "/model":
            text = f"Planning with the {agent.planner_name}."
        elif command == "/workflows":
            text = await saved_workflows(agent)
        else:
            text = await recent_runs(agent)
        self.say(NoteLine(text))

    @work(group="info")
    async def voice(self, argument: str) -> None:
        """``/voice``: what push-to-talk would use; ``/voice on|off``: spoken answers."""
        import asyncio

        from assistant.tui.listening import voice_status

        if argument in ("on", "off"):
            self.assistant.speaking = argument == "on"
            if argument == "off":
                self.hush()
            self.show_state(await self.assistant.agent(), "ready")
        elif argument:
            self.app.notify("/voice, /voice on or /voice off", severity="warning")
            return
        speaking = self.speaks(await self.assistant.agent())
        self.say(NoteLine(await asyncio.to_thread(voice_status, speaking)))

    def speaks(self, agent: Agent) -> bool:
        """Whether answers are spoken: /voice on|off, else the settings."""
        if self.assistant.speaking is not None:
            return self.assistant.speaking
        return agent.settings.voice.speak_replies

    @work(group="info")
    async def unlock(self) -> None:
        """``/unlock``: type the vault's passphrase (a plugin's secrets need it to run)."""
        from assistant.errors import Mark1Error
        from assistant.plugins.setup_wizard import ask_to_unlock
        from assistant.tui.screens.setup import ScreenAsker

        try:
            opened = await ask_to_unlock(ScreenAsker(self.app, lambda text: None))
        except Mark1Error as exc:
            self.app.notify(exc.render(), severity="warning")
            return
        message = (
            "the secrets vault is open" if opened else "the secrets vault needs no passphrase now"
        )
        self.app.notify(message)

    @work(group="info")
    async def open_memory(self, query: str) -> None:
        from assistant.tui.screens.history import MemoryScreen

        await self.app.push_screen_wait(MemoryScreen(await self.assistant.agent(), query))

    @work(group="turn", exclusive=True)
    async def open_history(self) -> None:
        """Pick a past conversation and carry on with it here."""
        from assistant.tui.screens.history import HistoryScreen
        from memory import history

        agent = await self.assistant.agent()
        sessions = await history.list_sessions(
            agent.store, namespace=agent.settings.memory.namespace
        )
        chosen = await self.app.push_screen_wait(HistoryScreen(sessions))
        if chosen is None:
            return
        said = await agent.resume(chosen)
        await self.query_one("#conversation", VerticalScroll).remove_children()
        for message in said:
            if message["role"] == "user":
                self.say(UserMessage(message["content"]))
            else:
                self.say(AssistantMessage(message["content"]))
        self.say(NoteLine(f"carrying on with conversation {agent.session_id}"))


async def saved_workflows(agent: Any) -> str:
    from assistant.workflow.library import list_workflows

    saved = await list_workflows(agent.store)
    if not saved:
        return "No saved workflows (`mark1 workflow save FILE --name NAME` keeps one)."
    return "\n".join(f"{w['name']}: {w.get('description') or ''}".rstrip(": ") for w in saved)


async def recent_runs(agent: Any) -> str:
    from assistant.workflow.runs import list_runs

    runs = await list_runs(agent.store, limit=5)
    if not runs:
        return "No runs yet."
    return "\n".join(f"{r['id']} {r['status']} {r['kind']} {r['target']}" for r in runs)
