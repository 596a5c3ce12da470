"""Checking a proposed plan against what is installed, finding the inputs still to ask for, and
applying the person's edits (changed inputs, dropped steps, a new order)."""

from __future__ import annotations

import re

from assistant.agent.events import Edit
from assistant.agent.plan import Plan, PlanStep, Question
from assistant.errors import UserError
from assistant.plugins.registry import CapabilityRow

Rows = dict[tuple[str, str], CapabilityRow]
# step names may hold dots: the name ends where a field of the step's scope begins
_REFERENCE = re.compile(
    r"\$\{steps\.([a-z0-9][a-z0-9._-]*?)\.(?:outputs|status|items|artifacts|error)\b"
)


def unknown_capabilities(plan: Plan, rows: Rows) -> list[str]:
    """Steps naming a capability that is not installed and enabled, as messages."""
    problems = []
    for step in plan.steps:
        row = rows.get((step.plugin, step.capability))
        if row is None or not row.enabled:
            problems.append(
                f"step '{step.name}': {step.plugin}.{step.capability} is not an installed, "
                "enabled capability; use only the tools you were given"
            )
    return problems


def missing_inputs(plan: Plan, rows: Rows) -> list[Question]:
    """A question for every required parameter a step leaves out."""
    questions = []
    for step in plan.steps:
        schema = rows[(step.plugin, step.capability)].capability.parameters or {}
        properties = schema.get("properties") or {}
        for name in schema.get("required") or []:
            if name in step.inputs:
                continue
            described = (properties.get(name) or {}).get("description") or name
            choices = [str(c) for c in (properties.get(name) or {}).get("enum") or []]
            questions.append(
                Question(
                    text=f"{step.name} ({step.plugin}.{step.capability}) needs {name}: "
                    f"{described}. What should it be?",
                    choices=choices,
                    step=step.name,
                    parameter=name,
                )
            )
    return questions


def apply_answer(plan: Plan, question: Question, answer: object) -> Plan:
    """``plan`` with the answer filled in where ``question`` points."""
    if question.step is None or question.parameter is None:
        return plan
    steps = [
        s.model_copy(update={"inputs": {**s.inputs, question.parameter: answer}})
        if s.name == question.step
        else s
        for s in plan.steps
    ]
    return plan.model_copy(update={"steps": steps})


def apply_edit(plan: Plan, edit: Edit) -> Plan:
    """``plan`` as the person changed it; raises UserError when the edit cannot stand."""
    names = {s.name for s in plan.steps}
    unknown = sorted(({c.step for c in edit.changes} | set(edit.drop)) - names)
    if unknown:
        raise UserError(f"no step named {', '.join(unknown)} in the plan")
    changes = {c.step: c.inputs for c in edit.changes}
    steps = [_edited(s, changes.get(s.name, {})) for s in plan.steps if s.name not in edit.drop]
    if not steps:
        raise UserError("every step was dropped: reject the plan instead")
    for step in steps:
        lost = [r for r in _references(step) if r in edit.drop]
        if lost:
            raise UserError(
                f"step '{step.name}' uses the outputs of {', '.join(lost)}, which was dropped",
                hint=f"give {step.name} other inputs, or drop it too",
            )
        step.depends_on[:] = [d for d in step.depends_on if d not in edit.drop]
    if edit.order is not None:
        steps = _reordered(steps, edit.order)
    return plan.model_copy(update={"steps": steps})


def _edited(step: PlanStep, inputs: dict[str, object]) -> PlanStep:
    merged = {**step.inputs, **inputs}
    merged = {k: v for k, v in merged.items() if v is not None}
    return step.model_copy(update={"inputs": merged, "depends_on": list(step.depends_on)})


def _references(step: PlanStep) -> set[str]:
    return set(_REFERENCE.findall(f"{step.inputs} {step.for_each}"))


def _reordered(steps: list[PlanStep], order: list[str]) -> list[PlanStep]:
    """The steps one after another in ``order``: a reorder is a request for that sequence."""
    by_name = {s.name: s for s in steps}
    if sorted(order) != sorted(by_name):
        raise UserError(
            "a new order must name every remaining step once",
            hint="remaining steps: " + ", ".join(by_name),
        )
    done: list[str] = []
    result = []
    for name in order:
        step = by_name[name]
        later = [r for r in _references(step) if r not in done]
        if later:
            raise UserError(
                f"step '{name}' uses the outputs of {', '.join(sorted(later))}, which would run "
                "after it"
            )
        result.append(step.model_copy(update={"depends_on": done[-1:]}))
        done.append(name)
    return result
