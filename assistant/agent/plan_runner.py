"""From a proposed plan to a finished run: ask for what is missing, show the plan, wait for the
decision, run it on the workflow engine. Both planners end here, so the approval rules and
what the person sees are the same whether a model or the offline planner made the plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.agent.approval import planned_steps
from assistant.agent.events import (
    AnswerText,
    Approve,
    Edit,
    Notice,
    PlanProposed,
    QuestionAsked,
    Reject,
)
from assistant.agent.plan import Plan, Question, Unmatched
from assistant.agent.plan_edit import Rows, apply_answer, apply_edit, missing_inputs
from assistant.config import Settings
from assistant.errors import InputError, UserError
from assistant.plugins.input_values import coerce
from assistant.workflow.engine import RunOutcome
from memory.store import Store

Emit = Callable[[Any], None]
RETRIED_EFFECTS = ("read-only", "writes-workspace")  # a retry cannot repeat an outside action
RETRY_BACKOFF = 0.5


@dataclass
class Ran:
    """The plan ran (to success or not)."""

    plan: Plan
    run_id: str
    outcome: RunOutcome


@dataclass
class Declined:
    """The person rejected the plan; ``reason`` goes back to the planner."""

    plan: Plan
    reason: str


@dataclass
class Planned:
    """Plan-only mode: the plan was shown and nothing ran."""

    plan: Plan


@dataclass
class PlanRunner:
    """Runs plans for one turn; ``revision`` counts the plans shown in it."""

    store: Store
    settings: Settings
    rows: Rows
    emit: Emit
    base_dir: Path
    plan_only: bool = False
    revision: int = 0
    runs: list[Ran] = field(default_factory=list)

    @property
    def run_ids(self) -> list[str]:
        return [r.run_id for r in self.runs]

    @property
    def last(self) -> Ran | None:
        """The latest run of this turn."""
        return self.runs[-1] if self.runs else None

    async def ask(self, plan: Plan, questions: list[Question]) -> Plan:
        """Put each question to the person and fill the answers into ``plan``."""
        for question in questions:
            value = await self._answer(plan, question)
            plan = apply_answer(plan, question, value)
        return plan

    async def _answer(self, plan: Plan, question: Question) -> Any:
        """The answer typed by the parameter's schema; a wrong one is asked for again."""
        prop = self._property(plan, question)
        while True:
            event = QuestionAsked(question)
            self.emit(event)
            reply = await event.answer()
            text = (reply.text if isinstance(reply, AnswerText) else str(reply)).strip()
            try:
                return coerce(question.parameter or "answer", text, prop, self.base_dir)
            except InputError as exc:
                self.emit(Notice(f"{exc.message} ({exc.hint})", "warning"))

    def _property(self, plan: Plan, question: Question) -> dict[str, Any]:
        step = plan.step(question.step) if question.step else None
        if step is None:
            return {}
        schema = self.rows[(step.plugin, step.capability)].capability.parameters or {}
        return dict((schema.get("properties") or {}).get(question.parameter or "") or {})

    async def propose(
        self, plan: Plan, *, unmatched: list[Unmatched] | None = None, force: bool = False
    ) -> Ran | Declined | Planned:
        """Show ``plan`` and run it once approved (at once when no step needs approval and
        ``force`` is False). Missing inputs are asked for first."""
        plan = await self.ask(plan, missing_inputs(plan, self.rows))
        if self.plan_only:
            self.revision += 1
            steps = planned_steps(plan, self.rows, self.settings.agent)
            self.emit(PlanProposed(plan, steps, False, self.revision, list(unmatched or [])))
            return Planned(plan)
        edited = False
        while True:
            self.revision += 1
            steps = planned_steps(plan, self.rows, self.settings.agent)
            needs = not edited and (force or any(s.needs_approval for s in steps))
            event = PlanProposed(plan, steps, needs, self.revision, list(unmatched or []))
            self.emit(event)
            if not needs:
                break
            decision = await event.answer()
            if isinstance(decision, Reject):
                return Declined(plan, decision.reason)
            if isinstance(decision, Edit):
                plan = apply_edit(plan, decision)
                plan = await self.ask(plan, missing_inputs(plan, self.rows))
                edited = True  # the person wrote this version: it is shown and runs
                continue
            if isinstance(decision, Approve):
                break
            raise UserError(f"a plan is answered with Approve, Edit or Reject, not {decision!r}")
        return await self.execute(plan)

    async def execute(self, plan: Plan) -> Ran:
        """Run an approved plan on the workflow engine; its progress events pass through."""
        from assistant.workflow.engine import RunOptions
        from assistant.workflow.loader import from_data
        from assistant.workflow.service import start_run
        from assistant.workflow.validate import check_workflow

        data = plan.to_workflow()
        for step in data["steps"]:
            effects = self.rows[(step["plugin"], step["capability"])].capability.side_effects
            if effects in RETRIED_EFFECTS and self.settings.agent.step_attempts > 1:
                step["retry"] = {
                    "attempts": self.settings.agent.step_attempts,
                    "backoff": RETRY_BACKOFF,
                }
        checked = await check_workflow(from_data(data, "the proposed plan"), self.store)
        options = RunOptions.chosen(self.settings, checked.workflow, self.base_dir)
        run_id, outcome = await start_run(
            self.store,
            self.settings,
            checked,
            inputs={},
            options=options,
            source="agent",
            on_event=self.emit,
            approve=_approved,
        )
        self.runs.append(Ran(plan, run_id, outcome))
        return self.runs[-1]


async def _approved(_request: Any) -> bool:
    """Steps of an approved plan carry no gates of their own: the plan was the approval."""
    return True
