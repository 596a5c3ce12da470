"""SVG snapshots of the assistant's main screens at 80x24 and 120x40, so a change to the layout,
the styles or a dialog's wording shows up as a picture to review (``--snapshot-update`` takes
the new pictures once they are right).

What is faked: only the model, at the protocol boundary (the scripted OpenAI-compatible server
on loopback); the plugin is the real ``wftools`` installed from a git repository, the agent and
its store are real. With no model configured the app plans offline.

Nothing that changes from run to run may reach a picture: each screen is taken in a state where
no run has started (no run id, no durations, no temporary paths: the progress panel says "No run
yet."), and the prompt's cursor is kept from blinking. The status line names the model and
its profile, never the scripted server's address, whose port changes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static, TextArea

from assistant.security.vault_key import forget
from assistant.tui.app import AssistantApp
from assistant.tui.screens.chat import ChatScreen
from assistant.tui.screens.plan import PlanScreen
from assistant.tui.screens.plugins import PluginsScreen
from assistant.tui.screens.question import QuestionScreen
from tests.agent.openai_server import Reply, ScriptedModelServer
from tests.conftest import CliResult, Repo
from tests.tui.test_chat import plan_reply, send, until
from tests.tui.test_plugin_setup import answer, asked

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
SnapCompare = Callable[..., bool]


def status_line(app: AssistantApp) -> Static:
    """The chat screen's status line, also while a dialog is on top of it."""
    (chat,) = [s for s in app.screen_stack if isinstance(s, ChatScreen)]
    return chat.query_one("#status", Static)


def status_text(app: AssistantApp) -> str:
    return str(status_line(app).render())


async def steady(pilot: Pilot[None]) -> None:
    """Stop every input's cursor blinking (it would be on or off by chance)."""
    app = pilot.app
    assert isinstance(app, AssistantApp)
    for screen in app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False
        for area in screen.query(TextArea):
            area.cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_the_chat_screen_at_start(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """The chat screen once the offline planner is ready: greeting, empty progress panel,
    the prompt with its placeholder, the status line and the footer's keys."""
    app = AssistantApp()

    async def ready(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: "offline planner · ready" in status_text(app))
        await steady(pilot)

    assert snap_compare(app, terminal_size=size, run_before=ready)


@pytest.mark.parametrize("size", SIZES)
def test_the_plan_dialog_for_two_steps(
    snap_compare: SnapCompare,
    model_env: ScriptedModelServer,
    wftools: Repo,
    size: tuple[int, int],
) -> None:
    """A two-step plan waiting for approval: both steps with their plugin, capability, inputs,
    side effects and what they may touch, and the dialog's keys."""
    model_env.script(plan_reply(("a", "emit", {"value": 1}), ("b", "emit", {"value": 2})))
    app = AssistantApp()

    async def planned(pilot: Pilot[None]) -> None:
        await send(pilot, "emit two values")
        await until(pilot, lambda: isinstance(app.screen, PlanScreen))
        await steady(pilot)

    assert snap_compare(app, terminal_size=size, run_before=planned)


@pytest.mark.parametrize("size", SIZES)
def test_the_question_dialog_with_choices(
    snap_compare: SnapCompare,
    model_env: ScriptedModelServer,
    wftools: Repo,
    size: tuple[int, int],
) -> None:
    """A clarifying question with its choices (the first highlighted) and the answer box."""
    model_env.script(
        Reply.tool_calls(
            ("ask_user", {"question": "Which colour?", "choices": ["red", "blue", "green"]})
        )
    )
    app = AssistantApp()

    async def asked(pilot: Pilot[None]) -> None:
        await send(pilot, "pick a colour")
        await until(pilot, lambda: isinstance(app.screen, QuestionScreen))
        await steady(pilot)

    assert snap_compare(app, terminal_size=size, run_before=asked)


@pytest.mark.parametrize("size", SIZES)
def test_the_plugins_screen(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    """The plugins screen with nothing installed yet: the empty table, what to press, the
    progress log and the screen's keys (an installed plugin's detail names its source
    folder, a temporary path that changes from run to run)."""
    app = AssistantApp()

    async def listed(pilot: Pilot[None]) -> None:
        await send(pilot, "/plugins")
        await until(pilot, lambda: isinstance(app.screen, PluginsScreen) and app.screen.is_mounted)
        detail = app.screen.query_one("#plugin-detail-text", Static)
        await until(pilot, lambda: "No plugins installed" in str(detail.render()))
        await steady(pilot)

    assert snap_compare(app, terminal_size=size, run_before=listed)


@pytest.mark.parametrize("size", SIZES)
def test_a_setup_question_asking_for_a_secret(
    snap_compare: SnapCompare,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
) -> None:
    """The setup wizard's dialog for a secret (hidden input), as /unlock shows it for the
    vault's passphrase over the chat, after a wrong one: the question and the problem."""
    monkeypatch.setenv("MARK1_VAULT_KEY", "a long enough passphrase")
    assert cli("secrets", "init", "--passphrase").code == 0
    monkeypatch.delenv("MARK1_VAULT_KEY")
    forget()
    app = AssistantApp()

    async def asking(pilot: Pilot[None]) -> None:
        await send(pilot, "/unlock")
        await answer(pilot, app, "Passphrase of the secrets vault", "not it")
        await asked(pilot, app, "Passphrase of the secrets vault")
        await steady(pilot)

    assert snap_compare(app, terminal_size=size, run_before=asking)
