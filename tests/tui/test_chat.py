"""The chat screen driven with Textual's Pilot, through real turns: the model is the scripted
OpenAI-compatible server on loopback (or the offline planner), the plugins are real ones
installed from git repositories, their steps run in the sandbox."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from assistant.tui.app import AssistantApp
from assistant.tui.screens.plan import PlanScreen
from assistant.tui.screens.question import QuestionScreen
from assistant.tui.widgets.artifacts import ArtifactList
from assistant.tui.widgets.messages import AssistantMessage, NoteLine
from assistant.tui.widgets.progress import ProgressPanel
from tests.agent.openai_server import Reply, ScriptedModelServer
from tests.conftest import EXAMPLES, CliResult, Repo


def plan_reply(*steps: tuple[str, str, dict]) -> Reply:
    return Reply.tool_calls(
        (
            "propose_plan",
            {
                "goal": "test",
                "steps": [
                    {"name": n, "plugin": "wftools", "capability": c, "inputs": i}
                    for n, c, i in steps
                ],
            },
        )
    )


async def until(pilot: Pilot[None], check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("the screen never got there")
        await pilot.pause(0.05)


async def send(pilot: Pilot[None], text: str) -> None:
    await pilot.app.agent()  # type: ignore[attr-defined]
    pilot.app.screen.query_one("#prompt").value = text  # type: ignore[attr-defined]
    await pilot.press("enter")


def texts(app: AssistantApp, kind: type) -> list[str]:
    return [str(getattr(w, "text", None) or w.render()) for w in app.screen.query(kind)]


def progress(app: AssistantApp) -> ProgressPanel:
    return app.screen.query_one("#progress", ProgressPanel)


async def test_a_plan_is_edited_approved_run_and_answered(
    model_env: ScriptedModelServer, wftools: Repo
) -> None:
    model_env.script(
        plan_reply(("a", "emit", {"value": 1}), ("b", "emit", {"value": 2})),
        Reply.text("Emitted **9**."),
    )
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "emit two values")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        await pilot.press("e")  # the first step is highlighted
        box = app.screen.query_one("#plan-input")
        assert box.value == "value=1"  # type: ignore[attr-defined]
        box.value = "value=9"  # type: ignore[attr-defined]
        await pilot.press("enter", "down", "d", "y")
        await until(pilot, lambda: not app.turn_running)
        assert progress(app).steps["a"].status == "succeeded" and "b" not in progress(app).steps
        assert texts(app, AssistantMessage) == ["Emitted **9**."]
        assert any("edited and approved" in t for t in texts(app, NoteLine))
    ran = model_env.requests[1]["messages"][-1]["content"]
    assert '"value": 9' in ran


async def test_a_rejection_with_a_reason_brings_a_new_plan(
    model_env: ScriptedModelServer, wftools: Repo
) -> None:
    model_env.script(
        plan_reply(("a", "emit", {"value": 1})),
        plan_reply(("b", "emit", {"value": 5})),
        Reply.text("Emitted 5."),
    )
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "emit something")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        await pilot.press("n")
        app.screen.query_one("#plan-input").value = "use 5"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        assert app.screen.event.plan.steps[0].name == "b"  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: not app.turn_running)
        assert list(progress(app).steps) == ["b"]
    assert "use 5" in model_env.requests[1]["messages"][-1]["content"]


async def test_a_clarifying_question_is_answered_from_its_choices(
    model_env: ScriptedModelServer, wftools: Repo
) -> None:
    model_env.script(
        Reply.tool_calls(("ask_user", {"question": "Which colour?", "choices": ["red", "blue"]})),
        Reply.text("Blue it is."),
    )
    app = AssistantApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "pick a colour")
        await until(pilot, lambda: isinstance(app.screen, QuestionScreen))
        await pilot.press("down", "enter")
        await until(pilot, lambda: not app.turn_running)
        assert texts(app, AssistantMessage) == ["Blue it is."]
    assert model_env.requests[1]["messages"][-1]["content"] == "blue"


async def start_a_long_step(pilot: Pilot[None], app: AssistantApp) -> None:
    """Ask for the scripted 60 s step, approve it, and wait until it runs."""
    await send(pilot, "wait a minute")
    await until(pilot, lambda: isinstance(app.screen, PlanScreen))
    await pilot.press("y")
    await until(pilot, lambda: "wait" in progress(app).steps
                and progress(app).steps["wait"].status == "running")  # fmt: skip


async def test_ctrl_c_stops_a_running_step(model_env: ScriptedModelServer, wftools: Repo) -> None:
    model_env.script(plan_reply(("wait", "slow", {"seconds": 60})))
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await start_a_long_step(pilot, app)
        status = app.screen.query_one("#status")
        await until(pilot, lambda: "working… · 1 step running ·" in str(status.render()))
        started = time.monotonic()
        await pilot.press("ctrl+c")
        await until(pilot, lambda: not app.turn_running, 15)
        assert time.monotonic() - started < 15
        assert any("stopped" in t for t in texts(app, NoteLine))
        assert "step running" not in str(status.render())
        assert progress(app).steps["wait"].status == "cancelled"  # no step left spinning


async def test_the_offline_planner_plans_a_real_request(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("plugin", "install", str(EXAMPLES / "csv-processor"), "--yes").code == 0
    shutil.copy(EXAMPLES / "workflows" / "sales.csv", tmp_path / "sales.csv")
    monkeypatch.chdir(tmp_path)
    app = AssistantApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "clean sales.csv")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        await pilot.press("y")
        await until(pilot, lambda: not app.turn_running)
        assert progress(app).steps["extract-data"].status == "succeeded"
        (answer,) = texts(app, AssistantMessage)
        assert "extract-data: succeeded" in answer
        assert "offline planner" in str(app.screen.query_one("#status").render())
        (files,) = app.screen.query(ArtifactList)
        assert [f.name for f in files.files] == ["extracted.csv"]
        await pilot.click("#copy-0")
        assert app.clipboard == str(files.files[0])
        await pilot.press("ctrl+l")
        await until(pilot, lambda: type(app.screen).__name__ == "LogScreen")
        logged = str(app.screen.query_one("#log-text").render())
        assert "── extract-data (succeeded)" in logged and '"rows": 12' in logged


async def test_quitting_while_a_request_runs_asks_first(
    model_env: ScriptedModelServer, wftools: Repo
) -> None:
    model_env.script(plan_reply(("wait", "slow", {"seconds": 60})))
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await start_a_long_step(pilot, app)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        await pilot.press("n")
        await asyncio.sleep(0)
        assert app.turn_running
        await pilot.press("ctrl+c")
        await until(pilot, lambda: not app.turn_running, 15)


async def test_a_past_conversation_is_carried_on(model_env: ScriptedModelServer) -> None:
    model_env.script(Reply.text("Hi there."), Reply.text("You said hello."))
    first = AssistantApp()
    async with first.run_test(size=(100, 30)) as pilot:
        await send(pilot, "hello")
        await until(pilot, lambda: texts(first, AssistantMessage) == ["Hi there."])
    again = AssistantApp()
    async with again.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/history")
        await until(pilot, lambda: type(again.screen).__name__ == "HistoryScreen")
        await pilot.press("enter")
        await until(pilot, lambda: texts(again, AssistantMessage) == ["Hi there."])
        await send(pilot, "what did I say?")
        await until(pilot, lambda: len(texts(again, AssistantMessage)) == 2)
    sent = model_env.requests[1]["messages"]
    assert {"role": "user", "content": "hello"} in sent
    assert {"role": "assistant", "content": "Hi there."} in sent


async def test_memory_is_searched_from_the_chat(model_env: ScriptedModelServer) -> None:
    model_env.script(Reply.text("Noted."))
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "my S3 bucket is acme-photos")
        await until(pilot, lambda: texts(app, AssistantMessage) == ["Noted."])
        await send(pilot, "/memory which bucket")
        await until(pilot, lambda: type(app.screen).__name__ == "MemoryScreen")
        results = app.screen.query_one("#memory-results")
        await until(pilot, lambda: "acme-photos" in str(results.render()))


async def test_an_error_is_a_note_and_the_conversation_goes_on(
    model_env: ScriptedModelServer, wftools: Repo
) -> None:
    """The model keeps naming a capability that does not exist: the turn fails with a
    message, not a traceback, and the next request is served."""
    wrong = Reply.tool_calls(("propose_plan", {"goal": "x", "steps": [
        {"name": "a", "plugin": "wftools", "capability": "teleport"}]}))  # fmt: skip
    model_env.script(wrong, wrong, wrong, Reply.text("Still here."))
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "teleport me")
        await until(pilot, lambda: any("still unusable" in t for t in texts(app, NoteLine)))
        await until(pilot, lambda: not app.turn_running)
        await send(pilot, "hello")
        await until(pilot, lambda: texts(app, AssistantMessage) == ["Still here."])


async def test_the_theme_switches_between_light_and_dark() -> None:
    app = AssistantApp()
    async with app.run_test(size=(80, 24)) as pilot:
        dark = app.current_theme.dark
        await pilot.press("f2")
        assert app.current_theme.dark is not dark
        await pilot.press("f2")
        assert app.current_theme.dark is dark


async def test_progress_shows_a_bar_and_a_spinner_while_a_step_runs() -> None:
    from assistant.workflow import events as we

    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        panel = progress(app)
        panel.track(we.RunStarted("r1", "wf", ["resize"]))
        panel.track(we.StepStarted("r1", "resize", "resize", "img", "resize", 1, {}))
        panel.track(we.StepProgress("r1", "resize", 40.0, "resizing"))
        await until(pilot, lambda: "████░░░░░░ 40% resizing" in str(panel.render()))
        first = str(panel.render()).splitlines()[1][0]
        await until(pilot, lambda: str(panel.render()).splitlines()[1][0] != first)  # it spins
