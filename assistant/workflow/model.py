"""The workflow format: the seed's §8.2 YAML plus conditions, loops, map/reduce, retries,
timeouts, error handling, approval gates and caching.

One model serves a file a person wrote, a workflow saved by name and the plan the agent
proposes, so all three are shown, validated, run and resumed the same way. Field names follow
the YAML (``if``, ``as`` and ``for_each`` included); docs/workflows.md describes each one.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from assistant.located_yaml import NAME_PATTERN

InputType = Literal["string", "number", "integer", "boolean", "array", "object"]
FailureKind = Literal["failed", "timed_out"]
RETRIED: tuple[FailureKind, ...] = ("failed", "timed_out")


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not be ignored), and the model is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WorkflowInput(Strict):
    """A value the person gives when starting the workflow (``--input name=value``)."""

    type: InputType = "string"
    description: str = ""
    default: Any = None
    required: bool | None = Field(None, description="Default: required unless a default is set.")
    format: str | None = Field(None, description="e.g. path: a relative path is made absolute.")
    enum: list[Any] | None = None

    @property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.default is None


class Retry(Strict):
    """Run a failing step again, waiting ``backoff`` seconds, then twice as long each time."""

    attempts: int = Field(3, ge=1, le=100, description="Runs in all, the first one included.")
    backoff: float = Field(1.0, ge=0, le=3600, description="Seconds before the first retry.")
    max_backoff: float = Field(60.0, ge=0, le=86400, description="Longest wait between runs.")
    on: list[FailureKind] = Field(
        default_factory=lambda: list(RETRIED),
        description="Which endings are retried: failed (non-zero exit, error), timed_out.",
    )

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        return float(min(self.max_backoff, self.backoff * 2 ** (retry_number - 1)))


class Loop(Strict):
    """Run a step again and again until ``until`` holds (or ``max`` runs): polling."""

    until: str = Field(description="Condition on this step's outputs, e.g. outputs.ready == true")
    max: int = Field(10, ge=1, le=100_000, description="Most runs before the loop gives up.")
    delay: float = Field(0.0, ge=0, le=86400, description="Seconds between runs.")


class Fallback(Strict):
    """When the step fails, run this other step in its place; its outputs stand in."""

    fallback: str = Field(pattern=NAME_PATTERN)


class GlobItems(Strict):
    """Files matched by a pattern, relative to the directory the workflow is started from."""

    glob: str = Field(min_length=1)


OnError = Literal["fail", "continue"] | Fallback


class Step(Strict):
    """One call of one capability, with the control flow around it."""

    name: str = Field(pattern=NAME_PATTERN)
    plugin: str = Field(pattern=NAME_PATTERN)
    capability: str = Field(min_length=1)
    description: str = ""
    depends_on: list[str] = Field(default_factory=list)
    inputs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, str] = Field(
        default_factory=dict,
        description="name: KEY, where KEY is an output or produced file of the capability, or "
        "a file name (e.g. final_report.pdf) the step's file of that type is saved as.",
    )
    if_: str | None = Field(None, alias="if", description="Run only when this holds.")
    for_each: str | list[Any] | GlobItems | None = Field(
        None, description="Run once per item: a list, an expression giving one, or {glob: ...}."
    )
    as_: str = Field("item", alias="as", pattern=r"^[a-z_][a-z0-9_]*$")
    parallel: int = Field(1, ge=1, le=256, description="Items of for_each run at once.")
    loop: Loop | None = None
    retry: Retry | None = None
    timeout: float | None = Field(None, gt=0, description="Seconds per run of the step.")
    on_error: OnError = "fail"
    approval: Literal["required", "none"] = "none"
    cache: bool = True

    @model_validator(mode="after")
    def _one_repetition(self) -> Step:
        if self.loop is not None and self.for_each is not None:
            raise ValueError("a step cannot have both for_each and loop: split it in two steps")
        return self

    @property
    def fallback(self) -> str | None:
        return self.on_error.fallback if isinstance(self.on_error, Fallback) else None


class Workflow(Strict):
    """A named graph of steps. ``depends_on`` orders them; everything else may run at once."""

    schema_version: Literal["1.0"] = "1.0"
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    inputs: dict[str, WorkflowInput] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    outputs: dict[str, Any] = Field(
        default_factory=dict, description="What the run returns, e.g. report: ${steps.x...}"
    )
    parallelism: int | None = Field(None, ge=1, le=256, description="Steps running at once.")

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.name == name), None)

    def to_document(self) -> dict[str, Any]:
        """The workflow as YAML-ready data (aliases like ``if`` spelled as in the file)."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the format (`mark1 workflow schema`)."""
    schema = TypeAdapter(Workflow).json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Mark-1 workflow"
    return schema
