"""The turn loop against a real HTTP server speaking the OpenAI API with scripted model turns
(the model is what cannot run here; everything else is real: the plugin is installed from a
git repository, its steps run in the sandbox, the store is SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.agent.events import (
    Answer,
    Approve,
    PlanProposed,
    TextDelta,
)
from tests.agent.driver import Script, agent_for, drive
from tests.agent.openai_server import Reply, ScriptedModelServer
from tests.conftest import Repo


def plan_args(*steps: dict) -> dict:
    return {"goal": "test plan", "steps": list(steps)}


async def test_a_parallel_plan_runs_after_approval_and_is_summarised(
    scripted_model: ScriptedModelServer, wftools: Repo, tmp_path: Path
) -> None:
    scripted_model.script(
        Reply.tool_calls(
            (
                "propose_plan",
                plan_args(
                    {
                        "name": "a",
                        "plugin": "wftools",
                        "capability": "emit",
                        "inputs": {"value": 1},
                    },
                    {
                        "name": "b",
                        "plugin": "wftools",
                        "capability": "emit",
                        "inputs": {"value": 2},
                    },
                    {
                        "name": "c",
                        "plugin": "wftools",
                        "capability": "emit",
                        "inputs": {"value": "${steps.a.outputs.value}"},
                        "depends_on": ["a", "b"],
                    },
                ),
            )
        ),
        Reply.text("Done: a gave 1, b gave 2, c repeated 1."),
    )
    async with agent_for(scripted_model.base_url, tmp_path) as agent:
        t = await drive(agent, "emit 1 and 2, then repeat the first", Script([Approve()]))
    (plan,) = t.of(PlanProposed)
    assert [s.name for s in plan.steps] == ["a", "b", "c"]
    assert plan.needs_approval and plan.steps[0].side_effects == "read-only"
    assert t.of(Answer)[-1].text == "Done: a gave 1, b gave 2, c repeated 1."
    assert "".join(d.text for d in t.of(TextDelta)) == "Done: a gave 1, b gave 2, c repeated 1."
    assert t.finished.status == "answered" and t.finished.usage.calls == 2
    summary_request = scripted_model.requests[1]
    result = summary_request["messages"][-1]
    assert result["role"] == "tool" and "untrusted-data" in result["content"]
    report = json.loads(result["content"].split("\n", 1)[1].rsplit("\n", 1)[0])
    assert report["status"] == "succeeded"
    assert report["steps"]["c"]["outputs"] == {"value": 1}
