"""Live per-step progress of the running workflow: state, attempts, percent and time, one
line per step, from the engine's events."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from textual.widgets import Static

from assistant.workflow import events as ev
from assistant.workflow.events import STATUS_ICONS as ICONS

REDRAW_EVERY = 0.05  # seconds: what the eye can follow, and no more work for the loop


@dataclass
class StepState:
    status: str = "queued"
    started: float | None = None
    duration: float | None = None
    percent: float | None = None
    detail: str = ""
    attempt: int = 1
    log: list[str] = field(default_factory=list)


class ProgressPanel(Static):
    """The steps of the current run and how far each has got."""

    DEFAULT_CLASSES = "progress"

    def __init__(self, **kwargs: object) -> None:
        super().__init__("No run yet.", **kwargs)  # type: ignore[arg-type]
        self.steps: dict[str, StepState] = {}
        self.title = ""
        self.run_status = ""
        self._redraw_pending = False

    def track(self, event: ev.WorkflowEvent) -> None:
        """Take one engine event into account and redraw."""
        if isinstance(event, ev.RunStarted):
            self.steps = {name: StepState() for name in event.steps}
            self.title, self.run_status = f"run {event.run_id}", "running"
        elif isinstance(event, ev.RunFinished):
            self.run_status = event.status
        else:
            self._step_event(event)
        if not self._redraw_pending:  # a chatty plugin reports hundreds of times a second
            self._redraw_pending = True
            self.set_timer(REDRAW_EVERY, self._redraw)

    def _redraw(self) -> None:
        self._redraw_pending = False
        self.update(self.render_text())

    def _step_event(self, event: ev.WorkflowEvent) -> None:
        key = getattr(event, "step", None) or ev.step_of(getattr(event, "key", ""))
        state = self.steps.setdefault(key, StepState())
        if isinstance(event, ev.StepStarted):
            state.status, state.started, state.attempt = "running", time.monotonic(), event.attempt
        elif isinstance(event, ev.StepProgress):
            state.percent, state.detail = event.percent, event.message
        elif isinstance(event, ev.StepRetried):
            state.status, state.detail = "retrying", event.reason
        elif isinstance(event, ev.StepLog):
            state.log.append(event.text)
        elif isinstance(event, ev.StepFinished):
            state.status, state.duration = event.status, event.duration
            state.detail = event.error or ""
        elif isinstance(event, ev.StepSkipped):
            state.status, state.detail = "skipped", event.reason

    def render_text(self) -> str:
        lines = [f"[b]{self.title}[/b] {self.run_status}"]
        now = time.monotonic()
        for name, s in self.steps.items():
            took = (
                s.duration if s.duration is not None else (now - s.started if s.started else None)
            )
            timing = f" {took:.1f}s" if took is not None else ""
            percent = (
                f" {s.percent:.0f}%" if s.percent is not None and s.status == "running" else ""
            )
            again = f" (try {s.attempt})" if s.attempt > 1 else ""
            detail = f" — {s.detail}" if s.detail else ""
            lines.append(
                f"{ICONS.get(s.status, '?')} {name} {s.status}{again}{percent}{timing}{detail}"
            )
        return "\n".join(lines)
