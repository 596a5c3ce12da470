"""How workflow runs look in a terminal: live progress while running, the DAG with timings after.

On a terminal the progress is a live table (one row per step: state, items or iteration,
time); in a pipe or a log it is one plain line per event, so CI logs stay readable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click

from assistant.cli.output import color_enabled
from assistant.workflow import events as ev
from assistant.workflow.events import STATUS_ICONS as ICONS

COLORS = {"succeeded": "green", "failed": "red", "timed_out": "red", "cancelled": "yellow"}


@dataclass
class _Row:
    state: str = "queued"
    started: float | None = None
    ended: float | None = None
    detail: str = ""
    instances: dict[str, str] = field(default_factory=dict)


class ProgressView:
    """Receives the engine's events and shows them; use as a context manager."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.live_mode = not quiet and color_enabled(sys.stderr)
        self.rows: dict[str, _Row] = {}
        self._live: Any = None

    def __enter__(self) -> ProgressView:
        if self.live_mode:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                self._table(), console=Console(stderr=True), refresh_per_second=8, transient=False
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.update(self._table())
            self._live.__exit__(None, None, None)
            self._live = None

    @contextmanager
    def pause(self) -> Iterator[None]:
        """Stop redrawing while a question is asked (approval, re-run after a crash)."""
        if self._live is None:
            yield
            return
        self._live.stop()
        try:
            yield
        finally:
            self._live.start()

    def __call__(self, event: ev.WorkflowEvent) -> None:
        self._track(event)
        if self.quiet:
            return
        if self._live is not None:
            self._live.update(self._table())
            return
        line = plain_line(event)
        if line:
            click.echo(line, err=True)

    def _track(self, event: ev.WorkflowEvent) -> None:
        now = time.monotonic()
        if isinstance(event, ev.RunStarted):
            self.rows = {name: _Row() for name in event.steps}
            return
        step = getattr(event, "step", None) or ev.step_of(getattr(event, "key", ""))
        row = self.rows.setdefault(step, _Row())
        if isinstance(event, ev.StepStarted):
            row.state, row.started = "running", row.started or now
            row.instances[event.key] = "running"
        elif isinstance(event, ev.StepRetried):
            row.state, row.detail = "retrying", f"attempt {event.attempt + 1}: {event.reason}"
        elif isinstance(event, ev.StepProgress):
            row.detail = f"{event.percent:.0f}% {event.message}".strip()
        elif isinstance(event, ev.StepFinished):
            row.instances[event.key] = event.status
            row.ended = now
            row.state = _combined(row.instances)
            row.detail = _instances_detail(row.instances) or (event.error or "")
            if event.cached:
                row.detail = "cached"
        elif isinstance(event, ev.StepSkipped):
            row.state, row.detail, row.ended = "skipped", event.reason, now

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(show_header=True, header_style="bold", box=None)
        for column in ("", "step", "state", "seconds", "detail"):
            table.add_column(column)
        now = time.monotonic()
        for name, row in self.rows.items():
            took = (row.ended or now) - row.started if row.started else None
            color = COLORS.get(row.state, "")
            state = f"[{color}]{row.state}[/]" if color else row.state
            table.add_row(
                ICONS.get(row.state, " "),
                name,
                state,
                f"{took:.1f}" if took is not None else "",
                row.detail[:60],
            )
        return table


def plain_line(event: ev.WorkflowEvent) -> str | None:
    """One line per event for logs and pipes (no colour, no redraws)."""
    if isinstance(event, ev.RunStarted):
        verb = "resuming" if event.resumed else "running"
        return f"{verb} workflow {event.workflow} (run {event.run_id}, {len(event.steps)} steps)"
    if isinstance(event, ev.StepStarted):
        again = f" (attempt {event.attempt})" if event.attempt > 1 else ""
        return f"▶ {event.key}: {event.plugin}.{event.capability}{again}"
    if isinstance(event, ev.StepRetried):
        return f"↻ {event.key} failed ({event.reason}); retrying in {event.delay:g} s"
    if isinstance(event, ev.StepFinished):
        how = (
            " (cached)"
            if event.cached
            else " (done before the interruption)"
            if event.resumed
            else ""
        )
        tail = f": {event.error}" if event.error else ""
        return f"{ICONS.get(event.status, '?')} {event.key} {event.status}{how} in {event.duration:.2f} s{tail}"
    if isinstance(event, ev.StepSkipped):
        return f"– {event.key} skipped: {event.reason}"
    if isinstance(event, ev.ApprovalRequested):
        return f"? {event.step} needs approval ({event.plugin}.{event.capability}, {event.side_effects})"
    if isinstance(event, ev.StepLog) and event.stream != "stdout":
        return f"  {event.key}: {event.text}"
    if isinstance(event, ev.RunFinished):
        tail = f": {event.error}" if event.error else ""
        return f"{ICONS.get(event.status, '?')} run {event.run_id} {event.status} in {event.duration:.2f} s{tail}"
    return None


def _combined(instances: dict[str, str]) -> str:
    states = set(instances.values())
    for state in ("running", "failed", "timed_out", "cancelled"):
        if state in states:
            return state
    return "succeeded" if states == {"succeeded"} else next(iter(states))


def _instances_detail(instances: dict[str, str]) -> str:
    if len(instances) < 2:
        return ""
    done = sum(1 for s in instances.values() if s == "succeeded")
    return f"{done}/{len(instances)} done"


def show_run(run: dict[str, Any]) -> None:
    """The run as a DAG in execution order: each step, what it waited for, its state and a
    bar placing it in the run's timeline."""
    definition = run.get("definition") or {}
    needs = {s["name"]: s.get("depends_on") or [] for s in definition.get("steps") or []}
    start = run["started_at"] or 0.0
    end = run["finished_at"] or time.time()
    span = max(end - start, 1e-6)
    width = 30
    click.echo(f"run {run['id']}  {run['target']}  {run['status']}  {span:.2f} s")
    if run.get("error"):
        click.echo(f"  error: {run['error']}")
    for step in run["steps"]:
        began, ended = step["started_at"] or start, step["finished_at"] or end
        lead = int((began - start) / span * width)
        size = max(1, int((ended - began) / span * width))
        bar = " " * lead + "█" * min(size, width - lead)
        wait = needs.get(step.get("step") or step["name"]) or []
        after = f"  after {', '.join(wait)}" if wait and step["name"] in needs else ""
        took = f"{ended - began:6.2f} s" if step["started_at"] else "      -"
        mark = ICONS.get(step["status"], "?")
        flags = " (cached)" if step.get("cached") else ""
        click.echo(
            f"  {mark} {step['name']:<24} {bar:<{width}} {took}  {step['status']}{flags}{after}"
        )
        if step["error"] and step["status"] != "succeeded":
            click.echo(f"      {step['error']}")
    if run.get("outputs"):
        click.echo("outputs:")
        for key, value in run["outputs"].items():
            click.echo(f"  {key}: {value}")
