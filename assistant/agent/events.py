"""The one stream every front end consumes: typed events out of the turn loop, and typed
replies back in. The CLI, the REPL, the TUI and voice all drive the same loop through these.

Events that need an answer (a question, a plan awaiting approval, an action to confirm) carry
a future: the front end calls ``reply`` whenever the person has decided, and the loop waits
for it. Workflow progress events (``assistant.workflow.events``) pass through unchanged.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.agent.model import Usage
from assistant.agent.plan import Plan, Question, Unmatched

# ---- replies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Approve:
    """Run the plan (or action) as shown."""


@dataclass(frozen=True)
class StepEdit:
    """Change one step: new input values (``None`` removes an input)."""

    step: str
    inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Edit:
    """Run the plan changed: steps edited, dropped, or put in a new order."""

    changes: list[StepEdit] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    order: list[str] | None = None


@dataclass(frozen=True)
class Reject:
    """Do not run it; the reason goes to the planner, which may propose another plan."""

    reason: str = ""


@dataclass(frozen=True)
class AnswerText:
    """The person's answer to a question."""

    text: str


Decision = Approve | Edit | Reject

# ---- events ----------------------------------------------------------------------------


class _Awaiting:
    """An event the loop waits on until the front end replies."""

    _future: asyncio.Future[Any] | None = None

    def reply(self, value: Any) -> None:
        """Answer this event (once; later calls are ignored)."""
        future = self._pending()
        if not future.done():
            future.set_result(value)

    def _pending(self) -> asyncio.Future[Any]:
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
        return self._future

    async def answer(self) -> Any:
        return await self._pending()


@dataclass
class TurnStarted:
    turn_id: str
    request: str
    planner: str  # "model NAME at URL" or "offline planner"


@dataclass
class Notice:
    """Something the person should know (the offline planner is in use, a retry, a fallback)."""

    text: str
    level: Literal["info", "warning"] = "info"


@dataclass
class TextDelta:
    """A piece of the answer as the model writes it."""

    text: str


@dataclass
class ToolUsed:
    """A built-in tool the agent used on its own (recall, search): shown, never asked."""

    name: str
    summary: str
    detail: str = ""  # the whole result, for front ends that can expand it


@dataclass
class PlannedStep:
    """A step as shown for approval: who runs it, with what, what it may touch."""

    name: str
    plugin: str
    capability: str
    inputs: dict[str, Any]
    depends_on: list[str]
    side_effects: str
    touches: list[str]
    needs_approval: bool
    why: str = ""


@dataclass
class PlanProposed(_Awaiting):
    """A plan to approve (reply Approve / Edit / Reject) unless ``needs_approval`` is False,
    in which case it is shown and runs at once."""

    plan: Plan
    steps: list[PlannedStep]
    needs_approval: bool
    revision: int = 1
    unmatched: list[Unmatched] = field(default_factory=list)


@dataclass
class QuestionAsked(_Awaiting):
    """A clarifying question; reply AnswerText."""

    question: Question


@dataclass
class ConfirmAction(_Awaiting):
    """An action outside plans that always needs consent (installing a plugin)."""

    action: str
    detail: str


@dataclass
class Answer:
    """The final answer of the turn."""

    text: str


@dataclass
class TurnFinished:
    """The end of the turn: how it ended, its runs and what the model calls cost."""

    status: Literal["answered", "planned", "rejected", "failed", "cancelled"]
    usage: Usage
    run_ids: list[str] = field(default_factory=list)
