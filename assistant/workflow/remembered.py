"""A finished workflow run, remembered: one short text per run in conversational memory, so
the assistant can later answer "what did the pipeline produce last week?" by meaning.

Only SQLite is written here (the memory is embedded by the next process that loads the model),
so a run pays one insert, never the model's or Chroma's start-up.
"""

from __future__ import annotations

import json
from typing import Any

from assistant.config import Settings
from assistant.workflow.engine import RunOutcome
from assistant.workflow.model import Workflow
from memory.store import Store

OUTPUT_CHARS = 120  # an output value longer than this is cut: the summary is for recall


def summary(workflow: Workflow, run_id: str, outcome: RunOutcome) -> str:
    """``Workflow 'pipeline' (what it does) run R succeeded: steps a ok, b failed. ...``."""
    about = f" ({workflow.description.strip()})" if workflow.description.strip() else ""
    steps = ", ".join(f"{name} {step.status}" for name, step in outcome.steps.items())
    text = f"Workflow '{workflow.name}'{about} run {run_id} {outcome.status}: steps {steps}."
    if outcome.outputs:
        text += " Outputs: " + "; ".join(
            f"{key} = {_short(value)}" for key, value in outcome.outputs.items()
        )
    if outcome.error:
        text += f" Error: {outcome.error}"
    return text


async def remember_run(
    store: Store, settings: Settings, workflow: Workflow, run_id: str, outcome: RunOutcome
) -> None:
    from assistant.memory_access import memory_store

    memory = await memory_store(store, settings)
    await memory.remember(
        summary(workflow, run_id, outcome),
        kind="run",
        namespace=settings.memory.namespace,
        run_id=run_id,
        plugins=sorted({s.plugin for s in workflow.steps}),
        embed=False,
    )


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= OUTPUT_CHARS else text[: OUTPUT_CHARS - 1] + "…"
