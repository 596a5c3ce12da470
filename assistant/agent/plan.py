"""What a planner proposes: a plan (which IS a workflow, shown before anything runs), the
questions it must have answered first, and the parts of a request nothing installed can do.

Both planners (the model's ``propose_plan`` call and the offline planner) produce a ``Draft``;
the turn loop asks its questions, shows its plan, and hands the approved plan to the workflow
engine through ``Plan.to_workflow``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.located_yaml import NAME_PATTERN


class PlanStep(BaseModel):
    """One capability call. Inputs may refer to earlier steps: ``${steps.NAME.outputs.KEY}``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN, description="Short unique step id, e.g. resize.")
    plugin: str = Field(description="The plugin that runs the step.")
    capability: str = Field(description="The plugin's capability.")
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="Parameter values; ${steps.NAME.outputs.KEY} wires."
    )
    depends_on: list[str] = Field(
        default_factory=list, description="Steps that must finish first; the rest run at once."
    )
    why: str = Field("", description="One line saying what the step is for.")
    for_each: str | list[Any] | dict[str, str] | None = Field(
        None,
        description="Run once per item: a list, or {glob: PATTERN} for files; the item is ${item}",
    )


class Plan(BaseModel):
    """An ordered set of steps proposed for one request."""

    model_config = ConfigDict(extra="forbid")

    goal: str = Field("", description="The request in a few words; names the workflow.")
    steps: list[PlanStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _names_unique_and_known(self) -> Plan:
        names = [s.name for s in self.steps]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"step names must be unique: {', '.join(repeated)}")
        for step in self.steps:
            unknown = [d for d in step.depends_on if d not in names]
            if unknown:
                raise ValueError(f"step '{step.name}' depends on unknown {', '.join(unknown)}")
        return self

    def step(self, name: str) -> PlanStep | None:
        return next((s for s in self.steps if s.name == name), None)

    def to_workflow(self) -> dict[str, Any]:
        """The plan as workflow data (``assistant.workflow.loader.from_data`` checks it)."""
        return {"name": (self.goal or "plan")[:200], "steps": [_step(s) for s in self.steps]}


def _step(step: PlanStep) -> dict[str, Any]:
    """One step as workflow data; ``for_each`` only when set, so a step that runs once reads
    (and is saved) without it."""
    data: dict[str, Any] = {
        "name": step.name,
        "plugin": step.plugin,
        "capability": step.capability,
        "description": step.why,
        "depends_on": list(step.depends_on),
        "inputs": dict(step.inputs),
    }
    if step.for_each is not None:
        data["for_each"] = step.for_each
    return data


class Question(BaseModel):
    """Something the person must answer before the plan can run ("Which cloud provider?").
    When ``step`` and ``parameter`` are set, the answer becomes that step's input."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    choices: list[str] = Field(default_factory=list)
    step: str | None = None
    parameter: str | None = None


class Unmatched(BaseModel):
    """A part of the request no installed capability can do, with what to search for."""

    model_config = ConfigDict(extra="forbid")

    clause: str
    suggestions: list[str] = Field(default_factory=list)


class Draft(BaseModel):
    """A planner's answer: a plan (possibly with inputs still to ask for), its questions, and
    the parts it could not place."""

    model_config = ConfigDict(extra="forbid")

    plan: Plan | None = None
    questions: list[Question] = Field(default_factory=list)
    unmatched: list[Unmatched] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
