"""``mark1 chat``: the prompt-toolkit REPL driven through a pipe, as a person types. The model
is the scripted OpenAI-compatible server on loopback; plugins, runs and the store are real."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from assistant import paths
from assistant.cli.chat_cmd import converse, new_session
from tests.agent.driver import agent_for
from tests.agent.openai_server import Reply, ScriptedModelServer
from tests.conftest import Repo


def plan_of(capability: str, **inputs: object) -> Reply:
    step = {"name": capability, "plugin": "wftools", "capability": capability, "inputs": inputs}
    return Reply.tool_calls(("propose_plan", {"goal": capability, "steps": [step]}))


async def test_a_conversation_with_a_question_and_the_y_n_dialogue(
    scripted_model: ScriptedModelServer,
    wftools: Repo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scripted_model.script(
        Reply.tool_calls(("ask_user", {"question": "Which value?"})),
        plan_of("emit", value="blue"),
        Reply.text("Emitted blue."),
        Reply.text("You asked me to emit blue."),
    )
    with create_pipe_input() as keys:
        keys.send_text("emit a value\r" + "blue\r" + "y\r" + "what did I ask?\r" + "/quit\r")
        session = new_session(input=keys, output=DummyOutput())
        async with agent_for(scripted_model.base_url, tmp_path) as agent:
            await converse(agent, session)
    out, err = capsys.readouterr()
    assert "I'll use wftools for emit." in err and "value = blue" in err
    assert "Emitted blue." in out and "You asked me to emit blue." in out
    second_turn = scripted_model.requests[3]["messages"]
    assert {"role": "assistant", "content": "Emitted blue."} in second_turn  # history kept
    assert "emit a value" in (paths.data_dir() / "chat-history").read_text()


async def test_ctrl_c_stops_the_running_step_and_the_chat_goes_on(
    scripted_model: ScriptedModelServer,
    wftools: Repo,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    scripted_model.script(plan_of("slow", seconds=60), Reply.text("Hello again."))
    with create_pipe_input() as keys:
        keys.send_text("wait a minute\r" + "y\r")
        session = new_session(input=keys, output=DummyOutput())
        async with agent_for(scripted_model.base_url, tmp_path) as agent:
            chat = asyncio.create_task(converse(agent, session))
            await _until_running("slow")
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends
            keys.send_text("hello\r/quit\r")
            await asyncio.wait_for(chat, 30)
    out, err = capsys.readouterr()
    assert "stopped; the run is recorded as cancelled" in err
    assert "Hello again." in out
    with sqlite3.connect(paths.db_path()) as db:
        assert db.execute("SELECT status FROM steps WHERE name = 'slow'").fetchone() == (
            "cancelled",
        )


async def _until_running(step: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if paths.db_path().exists():
            with sqlite3.connect(paths.db_path()) as db:
                row = db.execute("SELECT status FROM steps WHERE name = ?", (step,)).fetchone()
            if row == ("running",):
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"step {step} never started")
