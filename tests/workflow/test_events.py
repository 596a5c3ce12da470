"""The typed event stream of a run, as a front end (CLI, TUI, agent) receives it: what each
step instance goes through, in order, and that each event comes after its record."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from assistant import paths
from assistant.config import load_settings
from assistant.workflow import events as ev
from assistant.workflow.engine import RunOptions
from assistant.workflow.loader import parse_workflow
from assistant.workflow.service import start_run
from assistant.workflow.validate import check_workflow
from memory.store import Store

pytestmark = pytest.mark.usefixtures("wftools")

WORKFLOW = """
name: eventful
steps:
  - {name: say, plugin: wftools, capability: emit, inputs: {value: hello}}
  - name: shaky
    plugin: wftools
    capability: flaky
    depends_on: [say]
    inputs: {times: 2}
    retry: {attempts: 2, backoff: 0}
  - {name: never, plugin: core, capability: echo, depends_on: [say], if: "steps.say.outputs.value == 'bye'"}
"""


async def test_each_instance_reports_its_transitions_in_order(tmp_path: Path) -> None:
    seen: list[ev.WorkflowEvent] = []
    statuses: list[tuple[str, str | None]] = []
    db = paths.db_path()

    def record(event: ev.WorkflowEvent) -> None:
        seen.append(event)
        if isinstance(event, ev.StepStarted | ev.StepFinished):
            conn = sqlite3.connect(db)
            row = conn.execute("SELECT status FROM steps WHERE name = ?", (event.key,)).fetchone()
            conn.close()
            statuses.append((type(event).__name__, row[0] if row else None))

    async with Store.open(db) as store:
        checked = await check_workflow(parse_workflow(WORKFLOW), store)
        run_id, outcome = await start_run(
            store,
            load_settings(),
            checked,
            inputs={},
            options=RunOptions(base_dir=tmp_path, no_cache=True),
            source="test",
            on_event=record,
        )
    assert outcome.status == "succeeded"
    assert isinstance(seen[0], ev.RunStarted) and seen[0].steps == ["say", "shaky", "never"]
    assert isinstance(seen[-1], ev.RunFinished) and seen[-1].status == "succeeded"

    def kinds(key: str) -> list[str]:
        return [
            type(e).__name__
            for e in seen
            if getattr(e, "key", None) == key and not isinstance(e, ev.StepLog)
        ]

    assert kinds("say") == ["StepQueued", "StepStarted", "StepFinished"]
    assert kinds("shaky") == [
        "StepQueued",
        "StepStarted",
        "StepRetried",
        "StepQueued",
        "StepStarted",
        "StepFinished",
    ]
    assert kinds("never") == ["StepSkipped"]
    logs = [(e.key, e.stream, e.text) for e in seen if isinstance(e, ev.StepLog)]
    assert ("say", "stdout", '{"value": "hello"}') in logs
    assert ("shaky", "stderr", "not yet: try 1") in logs
    assert all(e.run_id == run_id for e in seen if hasattr(e, "run_id"))
    assert ("StepStarted", "running") in statuses
    assert all(status is not None for _, status in statuses), "recorded before reported"
    assert ("StepFinished", "succeeded") in statuses
