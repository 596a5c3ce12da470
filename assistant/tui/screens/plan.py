"""The plan, for approval: every step with its plugin, capability, inputs, side-effect class
and what it may touch. Nothing runs until the person approves.

Keys: y approve · n reject (with a reason, the assistant plans again) · e edit the selected
step's inputs · d drop the selected step · escape reject without a reason.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from assistant.agent.approval import who_does_what
from assistant.agent.events import (
    Approve,
    Decision,
    Edit,
    PlannedStep,
    PlanProposed,
    Reject,
    StepEdit,
)

EFFECT_STYLE = {
    "read-only": "green",
    "writes-workspace": "yellow",
    "external": "magenta",
    "destructive": "red",
}


def step_line(index: int, step: PlannedStep, dropped: bool) -> str:
    style = EFFECT_STYLE.get(step.side_effects, "white")
    after = f"  after {', '.join(step.depends_on)}" if step.depends_on else ""
    inputs = ", ".join(f"{k}={v}" for k, v in step.inputs.items()) or "no inputs"
    text = (
        f"{index}. [b]{step.name}[/b]: {step.plugin}.{step.capability} "
        f"[{style}]{step.side_effects}[/]{after}\n   {inputs}\n   may touch: {', '.join(step.touches)}"
    )
    return f"[strike dim]{text}[/]" if dropped else text


class PlanScreen(ModalScreen[Decision]):
    """Shows a proposed plan and returns Approve, Edit or Reject."""

    BINDINGS = [
        Binding("y", "approve", "Approve"),
        Binding("n", "reject", "Reject"),
        Binding("e", "edit", "Edit inputs"),
        Binding("d", "drop", "Drop step"),
        Binding("escape", "dismiss_plan", "Reject", show=False),
    ]

    def __init__(self, event: PlanProposed) -> None:
        super().__init__()
        self.event = event
        self.changes: dict[str, dict[str, Any]] = {}
        self.dropped: list[str] = []
        self._asking: str | None = None  # "reason" or a step name being edited

    def compose(self) -> ComposeResult:
        with Vertical(id="plan-dialog"):
            yield Label(self._title(), id="plan-title")
            yield OptionList(*self._options(), id="plan-steps")
            for part in self.event.unmatched:
                yield Static(
                    f"[yellow]Nothing installed can:[/] {part.clause}", classes="unmatched"
                )
            yield Static(
                "[b]y[/b] approve  [b]n[/b] reject  [b]e[/b] edit inputs  [b]d[/b] drop step",
                id="plan-keys",
            )
            yield Input(id="plan-input", classes="hidden")

    def _title(self) -> str:
        return f"{who_does_what(self.event.steps)} Proceed?"

    def _options(self) -> list[Option]:
        return [
            Option(step_line(i, s, s.name in self.dropped), id=s.name)
            for i, s in enumerate(self._shown(), 1)
        ]

    def _shown(self) -> list[PlannedStep]:
        return [
            PlannedStep(**{**s.__dict__, "inputs": {**s.inputs, **self.changes.get(s.name, {})}})
            for s in self.event.steps
        ]

    def _selected(self) -> str | None:
        steps = self.query_one("#plan-steps", OptionList)
        if steps.highlighted is None:
            return None
        return steps.get_option_at_index(steps.highlighted).id

    def _refresh(self) -> None:
        steps = self.query_one("#plan-steps", OptionList)
        highlighted = steps.highlighted
        steps.clear_options()
        steps.add_options(self._options())
        steps.highlighted = highlighted

    def _ask(self, what: str, placeholder: str, value: str = "") -> None:
        self._asking = what
        box = self.query_one("#plan-input", Input)
        box.placeholder, box.value = placeholder, value
        box.remove_class("hidden")
        box.focus()

    def action_approve(self) -> None:
        if self.changes or self.dropped:
            edits = [StepEdit(name, inputs) for name, inputs in self.changes.items()]
            self.dismiss(Edit(edits, list(self.dropped)))
        else:
            self.dismiss(Approve())

    def decide_by_voice(self, said: str) -> None:
        """A spoken yes runs the plan (edits included), a spoken no rejects it; anything else
        leaves the dialog to the keys."""
        from assistant.tui.listening import decision_in

        decision = decision_in(said)
        if decision is True:
            self.action_approve()
        elif decision is False:
            self.dismiss(Reject(f"the person said: {said}"))
        else:
            self.app.notify(f"heard “{said}”: say yes or no, or use the keys", timeout=6)

    def action_reject(self) -> None:
        self._ask("reason", "Why? (the assistant plans again; empty: just cancel)")

    def action_dismiss_plan(self) -> None:
        if self._asking is not None:
            self._close_input()
        else:
            self.dismiss(Reject())

    def action_edit(self) -> None:
        name = self._selected()
        if name is None:
            return
        step = next(s for s in self._shown() if s.name == name)
        current = " ".join(f"{k}={v}" for k, v in step.inputs.items())
        self._ask(name, "name=value ... (an empty value removes an input)", current)

    def action_drop(self) -> None:
        name = self._selected()
        if name is None:
            return
        if name in self.dropped:
            self.dropped.remove(name)
        else:
            self.dropped.append(name)
        self._refresh()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        message.stop()
        what, text = self._asking, message.value.strip()
        self._close_input()
        if what == "reason":
            self.dismiss(Reject(text))
        elif what is not None:
            self.changes[what] = parse_assignments(text, self.event.plan.step(what))
            self._refresh()

    def _close_input(self) -> None:
        self._asking = None
        box = self.query_one("#plan-input", Input)
        box.add_class("hidden")
        self.query_one("#plan-steps", OptionList).focus()


def parse_assignments(text: str, step: Any) -> dict[str, Any]:
    """``a=1 b=x`` as input changes; inputs the step had and the text leaves out are removed."""
    values: dict[str, Any] = {}
    for word in text.split():
        name, sep, value = word.partition("=")
        if sep and name:
            values[name] = value if value else None
    if step is not None:
        for name in step.inputs:
            values.setdefault(name, None)
    return values
