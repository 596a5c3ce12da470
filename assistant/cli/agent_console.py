"""The agent in a terminal: one front end for `mark1 plan`, `ask`, `workflow run "..."` and
`chat`. It renders the turn loop's events (the plan, questions, progress, the answer) and
answers its questions from the keyboard, or from --yes in scripts.

Prompts go to stderr and the answer to stdout, so `mark1 ask ... > answer.txt` keeps only the
answer. With --json nothing but one JSON document reaches stdout.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import click

from assistant.errors import UserError

if TYPE_CHECKING:
    from assistant.agent import events as ae
    from assistant.agent.loop import Agent
    from assistant.cli.workflow_view import ProgressView

AskLine = Callable[[str], Awaitable[str]]
EDIT_HELP = (
    "  change an input: STEP.INPUT=VALUE    drop a step: drop STEP    new order: order A,B,C\n"
    "  an empty line runs the edited plan"
)


async def ask_in_thread(prompt: str) -> str:
    """A line from the terminal, read in a thread so running steps keep being served."""
    return str(await asyncio.to_thread(click.prompt, prompt, default="", err=True))


@dataclass
class TurnResult:
    """What a turn came to, for the exit status and --json."""

    status: str = "answered"
    answer: str = ""
    run_ids: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)


class AgentConsole:
    """Shows one agent's turns and answers for the person at the terminal."""

    def __init__(
        self,
        *,
        yes: bool = False,
        as_json: bool = False,
        interactive: bool | None = None,
        ask_line: AskLine = ask_in_thread,
    ):
        self.yes = yes
        self.as_json = as_json
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.ask_line = ask_line
        self._view: ProgressView | None = None
        self._streamed = False

    async def run(self, agent: Agent, request: str) -> TurnResult:
        """Serve ``request`` to its end, showing every event."""
        result = TurnResult()
        try:
            async for event in agent.turn(request):
                await self._show(event, result)
        finally:
            self._stop_progress()
        return result

    async def _show(self, event: Any, result: TurnResult) -> None:
        from assistant.agent import events as ae
        from assistant.workflow import events as we

        if isinstance(event, ae.Notice):
            result.notes.append(event.text)
            self._err(f"{'warning' if event.level == 'warning' else 'note'}: {event.text}")
        elif isinstance(event, ae.TextDelta):
            if not self.as_json:
                click.echo(event.text, nl=False)
                self._streamed = True
        elif isinstance(event, ae.ToolUsed):
            self._err(f"· {event.name}: {event.summary}")
        elif isinstance(event, ae.PlanProposed):
            result.plan = plan_document(event)
            await self._plan(event)
        elif isinstance(event, ae.QuestionAsked):
            event.reply(ae.AnswerText(await self._question(event)))
        elif isinstance(event, ae.ConfirmAction):
            event.reply(await self._confirm_action(event))
        elif isinstance(event, ae.Answer):
            result.answer = event.text
            if not self.as_json:
                click.echo("" if self._streamed else event.text)
            self._streamed = False
        elif isinstance(event, ae.TurnFinished):
            result.status = event.status
            result.run_ids = event.run_ids
            result.usage = asdict(event.usage)
        elif isinstance(event, we.RunStarted):
            self._start_progress()(event)
        elif self._view is not None and isinstance(event, we.WorkflowEvent):
            self._view(event)
            if isinstance(event, we.RunFinished):
                self._stop_progress()

    # ---- plans, questions, consent -------------------------------------------------------

    async def _plan(self, event: ae.PlanProposed) -> None:
        from assistant.agent import events as ae

        if not self.as_json or event.needs_approval:
            self._err(render_plan(event))
        if not event.needs_approval:
            return
        if self.yes:
            event.reply(ae.Approve())
            return
        if not self.interactive:
            event.reply(ae.Reject())
            raise UserError(
                "the plan needs your approval and nobody can answer here",
                hint="pass --yes to approve it in scripts, or run `mark1 plan` to only see it",
            )
        answer = (await self.ask_line("Proceed? (y/n, e to edit, or say what to change)")).strip()
        if answer.lower() in ("y", "yes"):
            event.reply(ae.Approve())
        elif answer.lower() in ("e", "edit"):
            event.reply(await self._edit())
        elif answer.lower() in ("", "n", "no"):
            event.reply(ae.Reject())
        else:
            event.reply(ae.Reject(answer))

    async def _edit(self) -> ae.Edit:
        from assistant.agent import events as ae

        self._err(EDIT_HELP)
        changes: dict[str, dict[str, Any]] = {}
        drop: list[str] = []
        order: list[str] | None = None
        while line := (await self.ask_line("edit")).strip():
            if line.startswith("drop "):
                drop.append(line[5:].strip())
            elif line.startswith("order "):
                order = [n.strip() for n in line[6:].split(",") if n.strip()]
            elif "=" in line and "." in line.split("=", 1)[0]:
                target, value = line.split("=", 1)
                step, name = target.strip().split(".", 1)
                changes.setdefault(step, {})[name.strip()] = value.strip()
            else:
                self._err(f"not understood: {line}\n{EDIT_HELP}")
        return ae.Edit([ae.StepEdit(s, i) for s, i in changes.items()], drop, order)

    async def _question(self, event: ae.QuestionAsked) -> str:
        question = event.question
        if not self.interactive:
            raise UserError(
                f"the assistant needs to know: {question.text}",
                hint="say it in the request, or run the command in a terminal to answer",
            )
        choices = f" [{' / '.join(question.choices)}]" if question.choices else ""
        return await self.ask_line(f"{question.text}{choices}")

    async def _confirm_action(self, event: ae.ConfirmAction) -> Any:
        from assistant.agent import events as ae

        if self.yes:
            return ae.Approve()
        if not self.interactive:
            self._err(f"not allowed to {event.action} ({event.detail}) without --yes")
            return ae.Reject()
        answer = await self.ask_line(
            f"The assistant wants to {event.action}: {event.detail}. Allow? (y/n)"
        )
        return ae.Approve() if answer.strip().lower() in ("y", "yes") else ae.Reject()

    # ---- output --------------------------------------------------------------------------

    def _start_progress(self) -> ProgressView:
        from assistant.cli.workflow_view import ProgressView

        self._stop_progress()
        self._view = ProgressView(quiet=self.as_json).__enter__()
        return self._view

    def _stop_progress(self) -> None:
        if self._view is not None:
            self._view.__exit__(None, None, None)
            self._view = None

    def _err(self, text: str) -> None:
        if not self.as_json:
            click.echo(text, err=True)


def render_plan(event: ae.PlanProposed) -> str:
    """The plan as the seed's dialogue shows it: who does what, then every step in full."""
    from assistant.agent.approval import who_does_what

    lines = [who_does_what(event.steps)]
    title = event.plan.goal or "plan"
    lines.append(f"Plan: {title} ({len(event.steps)} step{'s' if len(event.steps) != 1 else ''})")
    for i, step in enumerate(event.steps, 1):
        after = f"  after {', '.join(step.depends_on)}" if step.depends_on else ""
        lines.append(
            f"  {i}. {step.name}: {step.plugin}.{step.capability} [{step.side_effects}]{after}"
        )
        if step.why:
            lines.append(f"       {step.why}")
        repeated = event.plan.step(step.name)
        if repeated is not None and repeated.for_each is not None:
            lines.append(f"       once for each of: {repeated.for_each}")
        for key, value in step.inputs.items():
            lines.append(f"       {key} = {value}")
        lines.append(f"       may touch: {', '.join(step.touches)}")
    for part in event.unmatched:
        hint = (
            f" (try: mark1 capabilities search {part.suggestions[0]})" if part.suggestions else ""
        )
        lines.append(f"Nothing installed can: {part.clause}{hint}")
    return "\n".join(lines)


def plan_document(event: ae.PlanProposed) -> dict[str, Any]:
    """The plan for --json: each step as shown, and the workflow it runs as."""
    return {
        "goal": event.plan.goal,
        "steps": [asdict(s) for s in event.steps],
        "needs_approval": event.needs_approval,
        "unmatched": [u.model_dump() for u in event.unmatched],
        "workflow": event.plan.to_workflow(),
    }
