"""One turn of the agent on the chat screen: every event of the stream shown where it
belongs, and the ones that need the person answered through dialogs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.widgets import Collapsible, Static

from assistant.agent import events as ae
from assistant.tui.screens.plan import PlanScreen
from assistant.tui.screens.question import ConfirmScreen, QuestionScreen
from assistant.tui.widgets.artifacts import ArtifactList, produced_files
from assistant.tui.widgets.messages import AssistantMessage, NoteLine
from assistant.tui.widgets.progress import ProgressPanel
from assistant.workflow import events as we

if TYPE_CHECKING:
    from assistant.agent.loop import Agent
    from assistant.tui.screens.chat import ChatScreen


class TurnView:
    """Shows one turn on ``screen``."""

    def __init__(self, screen: ChatScreen, by_voice: bool = False) -> None:
        self.screen = screen
        self.by_voice = by_voice  # a spoken request: questions are heard, answers spoken
        self.app = screen.app
        self.answer: AssistantMessage | None = None
        self.files: list[Path] = []

    async def run(self, agent: Agent, text: str) -> None:
        self.agent = agent
        self.screen.show_state(agent, "working…")
        try:
            async for event in agent.turn(text):
                await self.show(event)
        finally:
            if self.answer is not None:
                await self.answer.finish()
            self.screen.query_one("#progress", ProgressPanel).settle()
            self.screen.show_state(agent, "ready")

    async def show(self, event: Any) -> None:
        if isinstance(event, ae.TextDelta):
            await self._answer().write(event.text)
        elif isinstance(event, ae.Answer):
            await self._answer().finish(event.text)
            self.answer = None
            if self.by_voice and event.text:
                self.screen.speak(event.text)
            if self.files:
                self.screen.say(ArtifactList(self.files))
                self.files = []
        elif isinstance(event, ae.Notice):
            self.screen.say(NoteLine(event.text, classes=event.level))
        elif isinstance(event, ae.ToolUsed):
            self.screen.say(
                Collapsible(
                    Static(event.detail, markup=False), title=f"{event.name}: {event.summary}"
                )
            )
        elif isinstance(event, ae.PlanProposed):
            await self._plan(event)
        elif isinstance(event, ae.QuestionAsked):
            question = QuestionScreen(event.question)
            answer = await self._dialog(question, question.dismiss)
            if answer is None:
                self.screen.workers.cancel_group(self.screen, "turn")
                return
            self.screen.say(NoteLine(f"{event.question.text} → {answer}"))
            event.reply(ae.AnswerText(answer))
        elif isinstance(event, ae.ConfirmAction):
            yes = await self.app.push_screen_wait(
                ConfirmScreen(f"The assistant wants to {event.action}: {event.detail}. Allow?")
            )
            event.reply(ae.Approve() if yes else ae.Reject())
        elif isinstance(event, we.WorkflowEvent):
            self.screen.query_one("#progress", ProgressPanel).track(event)
            if isinstance(event, we.StepStarted | we.StepFinished):
                self.screen.show_state(self.agent, "working…")
            if isinstance(event, we.StepFinished):
                self.files += [f for f in produced_files(event.outputs) if f not in self.files]
            if isinstance(event, we.RunFinished) and event.status != "succeeded":
                self.app.notify(f"run {event.run_id} {event.status}", severity="warning")

    async def _plan(self, event: ae.PlanProposed) -> None:
        names = ", ".join(f"{s.plugin}.{s.capability}" for s in event.steps)
        if not event.needs_approval:
            self.screen.say(NoteLine(f"plan: {names}"))
            return
        plan = PlanScreen(event)
        decision = await self._dialog(plan, plan.decide_by_voice)
        verdict = {ae.Approve: "approved", ae.Edit: "edited and approved"}.get(
            type(decision), "rejected"
        )
        self.screen.say(NoteLine(f"plan {verdict}: {names}"))
        event.reply(decision)

    async def _dialog(self, dialog: Any, heard: Callable[[str], Any]) -> Any:
        """Show ``dialog`` and wait for its result; after a spoken request the microphone
        reopens for the answer, and ``heard`` gets what was said."""
        result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def dismissed(value: Any) -> None:
            if not result.done():
                result.set_result(value)

        self.app.push_screen(dialog, dismissed)
        if not self.by_voice:
            return await result
        listening = asyncio.ensure_future(self.screen.hear())
        await asyncio.wait({result, listening}, return_when=asyncio.FIRST_COMPLETED)
        if result.done():
            if self.screen.recording is not None:
                self.screen.recording.stopped.set()
        elif listening.result():
            heard(listening.result())
        return await result

    def _answer(self) -> AssistantMessage:
        if self.answer is None:
            self.answer = self.screen.say(AssistantMessage())
        return self.answer
