"""What a run gives back: to the model as fenced, untrusted data, and to the person as a short
summary when no model writes one (the offline planner).

Plugin outputs and fetched content are data, never instructions: they reach the model only
inside a fence whose closing tag carries a random nonce the content cannot forge, and the
system prompt says that nothing inside a fence is to be obeyed. What the model does with
them cannot start anything either: every step it proposes afterwards needs a new approval.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from assistant.workflow.engine import RunOutcome

VALUE_CHARS = 2000  # per output value: the model gets the gist, the files keep the rest


def fence(source: str, content: str) -> str:
    """``content`` inside an untrusted-data fence labelled with where it came from."""
    nonce = secrets.token_hex(6)
    return (
        f'<untrusted-data source="{source}" id="{nonce}">\n{content}\n'
        f'</untrusted-data id="{nonce}">'
    )


def run_report(run_id: str, outcome: RunOutcome) -> dict[str, Any]:
    """Each step's status, outputs, files and error, values cut to ``VALUE_CHARS``."""
    return {
        "run_id": run_id,
        "status": outcome.status,
        "error": outcome.error,
        "steps": {
            name: {
                "status": step.status,
                "outputs": {k: _cut(v) for k, v in step.outputs.items()},
                "files": step.artifacts,
                "error": step.error,
            }
            for name, step in outcome.steps.items()
        },
    }


def for_model(run_id: str, outcome: RunOutcome) -> str:
    """The run's report as the tool result the model reads."""
    text = json.dumps(run_report(run_id, outcome), default=str, ensure_ascii=False, indent=1)
    return fence(f"workflow run {run_id}", text)


def plain_summary(run_id: str, outcome: RunOutcome) -> str:
    """A summary for the person, written without a model."""
    lines = [f"Run {run_id} {outcome.status}."]
    for name, step in outcome.steps.items():
        line = f"- {name}: {step.status}"
        if step.error:
            line += f" ({step.error})"
        lines.append(line)
        for key, value in step.outputs.items():
            lines.append(f"    {key}: {_cut(value, 200)}")
    if outcome.error and outcome.status != "succeeded":
        lines.append(f"Details: mark1 workflow show {run_id}")
    return "\n".join(lines)


def _cut(value: Any, limit: int = VALUE_CHARS) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        text = value if isinstance(value, str) else None
    else:
        text = json.dumps(value, default=str, ensure_ascii=False)
    if text is None or len(text) <= limit:
        return value
    return text[: limit - 1] + "…"
