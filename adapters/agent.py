"""The ``agent`` adapter: agent projects (LangGraph graphs, CrewAI crews, or any agent CLI) run
from their own environment, confined, streaming every step.

With ``module``/``function`` the python_function runner loads the graph or crew (or the
function that builds it), streams each step as output and returns the final state; with a
``command`` the agent is a program run like a ``cli`` entry point. Either way the run is an
ordinary recorded run: its status is in ``mark1 runs``, Ctrl-C/SIGTERM stop it and kill what
it started, and the time limit bounds it.
"""

from __future__ import annotations

from typing import Any

from adapters.base import CapabilitySpec, PluginResult, RunContext
from adapters.python_function import PythonFunctionAdapter
from adapters.subprocess_cli import CliAdapter


class AgentAdapter(PythonFunctionAdapter):
    """Runs ``agent`` entry points."""

    agent = True

    async def execute(
        self, spec: CapabilitySpec, inputs: dict[str, Any], context: RunContext
    ) -> PluginResult:
        if spec.entry.get("command"):
            return await CliAdapter().execute(spec, inputs, context)
        return await super().execute(spec, inputs, context)
