"""Live per-step progress of the running workflow: state, attempts, percent and time, one
line per step, from the engine's events."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from textual.widgets import Static

from assistant.workflow import events as ev
from assistant.workflow.events import STATUS_ICONS as ICONS

REDRAW_EVERY = 0.05  # seconds: what the eye can follow, and no more work for the loop
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
BAR_WIDTH = 10
LOG_LINES = 500  # per step, kept for the log view


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
        self._frame = 0

    def track(self, event: ev.WorkflowEvent) -> None:
        """Take one engine event into account and redraw."""
        if isinstance(event, ev.RunStarted):
            self.steps = {name: StepState() for name in event.steps}
            self.title, self.run_status = f"run {event.run_id}", "running"
        elif isinstance(event, ev.RunFinished):
            self.settle(event.status)
        else:
            self._step_event(event)
        if not self._redraw_pending:  # a chatty plugin reports hundreds of times a second
            self._redraw_pending = True
            self.set_timer(REDRAW_EVERY, self._redraw)

    def settle(self, status: str = "cancelled") -> None:
        """The run is over (or the turn was stopped before it said so): no step it left
        queued or running goes on spinning."""
        if self.run_status in ("", "running"):
            self.run_status = status
        left = "cancelled" if self.run_status == "cancelled" else "skipped"
        for state in self.steps.values():
            if state.status in ("queued", "running", "retrying"):
                state.status = left
        self._redraw()

    def on_mount(self) -> None:
        self.set_interval(0.1, self._spin)

    def _spin(self) -> None:
        """Turn the spinner of running steps (and their clocks) while nothing else redraws."""
        if any(s.status == "running" for s in self.steps.values()):
            self._frame += 1
            self.update(self.render_text())

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
            del state.log[:-LOG_LINES]
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
            icon = (
                SPINNER[self._frame % len(SPINNER)]
                if s.status == "running"
                else ICONS.get(s.status, "?")
            )
            timing = f" {took:.1f}s" if took is not None else ""
            again = f" (try {s.attempt})" if s.attempt > 1 else ""
            lines.append(f"{icon} {name} {s.status}{again}{timing}")
            if s.percent is not None and s.status == "running":
                filled = round(BAR_WIDTH * min(max(s.percent, 0), 100) / 100)
                lines.append(
                    f"  {'█' * filled}{'░' * (BAR_WIDTH - filled)} {s.percent:.0f}% {s.detail}"
                )
            elif s.detail:
                lines.append(f"  {s.detail}")
        return "\n".join(lines)

    def logs(self) -> str:
        """Every step's log lines, for the log view."""
        parts = []
        for name, s in self.steps.items():
            parts.append(f"── {name} ({s.status})")
            parts.extend(s.log or ["(no output)"])
        return "\n".join(parts) if parts else "No run yet."
