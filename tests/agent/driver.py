"""Driving the agent's turn loop as a front end would: collect every event, answer questions
and plans from a script, and fail loudly when the loop asks something the script did not
expect."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assistant.agent.events import (
    AnswerText,
    ConfirmAction,
    PlanProposed,
    QuestionAsked,
    TurnFinished,
)
from assistant.agent.loop import Agent
from assistant.agent.profiles import ModelConfig
from assistant.config import Settings, load_settings
from memory.store import Store


@dataclass
class Script:
    """What the person answers, in order: decisions for plans and actions, texts for questions."""

    decisions: list[Any] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)


@dataclass
class Transcript:
    events: list[Any]

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def finished(self) -> TurnFinished:
        return self.of(TurnFinished)[-1]


async def drive(agent: Agent, request: str, script: Script | None = None) -> Transcript:
    """Run one turn to its end, answering from ``script``."""
    script = script or Script()
    events = []
    async for event in agent.turn(request):
        events.append(event)
        if isinstance(event, QuestionAsked):
            assert script.answers, f"unexpected question: {event.question.text}"
            event.reply(AnswerText(script.answers.pop(0)))
        elif isinstance(event, PlanProposed | ConfirmAction) and getattr(
            event, "needs_approval", True
        ):
            assert script.decisions, f"unexpected request for approval: {event}"
            event.reply(script.decisions.pop(0))
    assert not script.decisions and not script.answers, "the turn ended before all answers"
    return Transcript(events)


def model_config(
    base_url: str, *, stream: bool = True, retries: int = 0, **fields: Any
) -> ModelConfig:
    """A model at ``base_url`` with no key; ``fields`` change the rest (timeout, ...)."""
    config = ModelConfig(
        profile="openai",
        base_url=base_url,
        model="scripted",
        api_key="test",
        missing_key=None,
        timeout=10.0,
        max_retries=retries,
        stream=stream,
    )
    return replace(config, **fields)


@asynccontextmanager
async def agent_for(
    model: str | ModelConfig | None,
    base_dir: Path,
    settings: Settings | None = None,
    **kw: Any,
) -> Any:
    """An agent on a fresh store, talking to ``model`` (a base URL or a whole config; None:
    the offline planner)."""
    from assistant import paths

    settings = settings or load_settings()
    async with Store.open(paths.db_path()) as store:
        config = model_config(model, **kw) if isinstance(model, str) else model
        agent = Agent(store, settings, model=config, base_dir=base_dir)
        if model is None:
            agent.config = None
            agent.model = None
        try:
            yield agent
        finally:
            await agent.aclose()
