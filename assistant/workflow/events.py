"""The typed events a workflow run reports, in the order they happen.

The CLI renders them as a live progress view, the TUI as its progress panel, the agent as
messages; all of them read the same stream. Every event is emitted after the transition it
describes is committed to the run's journal, so what a front end shows is never ahead of what
a resume would find.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

STATUS_ICONS = {  # one glyph per step state, the same in the CLI and the TUI
    "queued": "·",
    "running": "▶",
    "retrying": "↻",
    "succeeded": "✓",
    "failed": "✗",
    "timed_out": "⏱",
    "cancelled": "■",
    "skipped": "–",
    "waiting": "?",
}


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    workflow: str
    steps: list[str]
    resumed: bool = False


@dataclass(frozen=True)
class StepQueued:
    run_id: str
    key: str
    step: str


@dataclass(frozen=True)
class StepStarted:
    run_id: str
    key: str
    step: str
    plugin: str
    capability: str
    attempt: int
    inputs: dict[str, Any]


@dataclass(frozen=True)
class StepProgress:
    run_id: str
    key: str
    percent: float
    message: str = ""


@dataclass(frozen=True)
class StepLog:
    run_id: str
    key: str
    stream: Literal["stdout", "stderr", "notice"]
    text: str


@dataclass(frozen=True)
class StepRetried:
    run_id: str
    key: str
    attempt: int
    delay: float
    reason: str


@dataclass(frozen=True)
class StepFinished:
    """A step instance ended: succeeded, failed, timed_out or cancelled."""

    run_id: str
    key: str
    step: str
    status: str
    duration: float
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cached: bool = False  # reused from an earlier run with the same inputs
    resumed: bool = False  # finished before the run was interrupted; not run again


@dataclass(frozen=True)
class StepSkipped:
    run_id: str
    key: str
    step: str
    reason: str


@dataclass(frozen=True)
class ApprovalRequested:
    """A step marked ``approval: required`` waits for a yes before it runs."""

    run_id: str
    step: str
    plugin: str
    capability: str
    side_effects: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class RunFinished:
    run_id: str
    status: str
    duration: float
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


WorkflowEvent = (
    RunStarted
    | StepQueued
    | StepStarted
    | StepProgress
    | StepLog
    | StepRetried
    | StepFinished
    | StepSkipped
    | ApprovalRequested
    | RunFinished
)


def step_of(key: str) -> str:
    """The step an instance key belongs to: ``resize[3]`` and ``poll#2`` -> ``resize``, ``poll``."""
    return key.split("[", 1)[0].split("#", 1)[0]
