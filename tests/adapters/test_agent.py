"""The agent adapter with a real LangGraph project (installed from PyPI into the plugin's own
venv, runs offline: its nodes are plain Python) and a command-line agent."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.conftest import CliResult, Repo

Cli = Callable[..., CliResult]

MANIFEST = """\
schema_version: "1.0"
plugin: {name: planner, description: A tiny plan-and-act agent}
capabilities:
  - name: pursue
    description: Break a goal into steps and carry them out
    parameters:
      type: object
      required: [goal]
      properties: {goal: {type: string}}
  - name: confused
  - name: loop
  - name: crew
    parameters: {type: object, properties: {topic: {type: string}}}
entry_points:
  - {capability: pursue, type: agent, module: agent, function: build}
  - {capability: confused, type: agent, module: agent, function: not_an_agent}
  - {capability: loop, type: agent, command: python looper.py}
  - {capability: crew, type: agent, module: crew, function: writers}
dependencies:
  packages: ["langgraph>=0.2"]
"""

AGENT = """\
from typing import TypedDict

from langgraph.graph import END, StateGraph


class State(TypedDict, total=False):
    goal: str
    steps: list
    done: list


def plan(state):
    return {"steps": [s.strip() for s in state["goal"].split(" then ")]}


def act(state):
    return {"done": [f"did: {s}" for s in state["steps"]]}


def build():
    graph = StateGraph(State)
    graph.add_node("plan", plan)
    graph.add_node("act", act)
    graph.set_entry_point("plan")
    graph.add_edge("plan", "act")
    graph.add_edge("act", END)
    return graph.compile()


def not_an_agent():
    return 42
"""

CREW = '''\
"""A CrewAI-style crew (the real crewai needs a model): kickoff(inputs=...) -> result.raw."""


class Result:
    def __init__(self, raw):
        self.raw = raw


class Crew:
    def __init__(self, agents):
        self.agents = agents

    def kickoff(self, inputs):
        notes = [f"{agent} wrote about {inputs['topic']}" for agent in self.agents]
        return Result("; ".join(notes))


def writers():
    return Crew(["researcher", "editor"])
'''

LOOPER = """\
import time
for i in range(1000):
    print(f"thinking {i}", flush=True)
    time.sleep(0.1)
"""


@pytest.fixture
def planner(make_repo: Callable[..., Repo], cli: Cli) -> None:
    repo = make_repo(
        "planner",
        {"mark1.plugin.yml": MANIFEST, "agent.py": AGENT, "looper.py": LOOPER, "crew.py": CREW},
    )
    result = cli("plugin", "install", str(repo.path))
    assert result.code == 0, result.err


def test_langgraph_agent_runs_its_steps_and_returns_the_state(planner: None, cli: Cli) -> None:
    result = cli("run", "planner.pursue", "-i", "goal=compress the photos then send a summary")
    assert result.code == 0, result.err
    assert "agent step 1:" in result.err, "each step is streamed (as the output of the run)"
    data = json.loads(cli("run", "planner.pursue", "-i", "goal=a then b", "--json").out)
    assert data["outputs"]["steps"] == ["a", "b"]
    assert data["outputs"]["done"] == ["did: a", "did: b"]


def test_something_that_is_not_an_agent_is_explained(planner: None, cli: Cli) -> None:
    result = cli("run", "planner.confused", "--json")
    assert result.code == 1
    assert "is not an agent" in json.loads(result.out)["error"]


def test_a_command_agent_streams_and_is_stopped(planner: None, cli: Cli) -> None:
    result = cli("run", "planner.loop", "--timeout", "1", "--json")
    assert result.code == 124
    data = json.loads(result.out)
    assert data["status"] == "timed_out" and data["stdout"].startswith("thinking 0\n")
    runs = json.loads(cli("runs", "list", "--json").out)
    assert runs[0]["status"] == "timed_out"


def test_a_crewai_style_crew_is_kicked_off_with_the_inputs(planner: None, cli: Cli) -> None:
    result = cli("run", "planner.crew", "-i", "topic=bees", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["outputs"] == {
        "result": "researcher wrote about bees; editor wrote about bees"
    }
