"""The window itself: it paints before the agent is open, says which planner it uses, and
answers slash commands."""

from __future__ import annotations

from collections.abc import Callable

from assistant.tui.app import AssistantApp
from assistant.tui.screens.chat import ChatScreen
from assistant.tui.screens.plugins import PluginsScreen
from assistant.tui.widgets.messages import NoteLine
from assistant.tui.widgets.prompt import PromptArea
from tests.conftest import CliResult, Repo
from tests.tui.test_chat import send, until


async def test_the_status_bar_says_the_offline_planner_is_in_use() -> None:
    app = AssistantApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.agent()
        await pilot.pause()
        assert "offline planner · ready" in str(app.screen.query_one("#status").render())


async def test_slash_commands_open_plugins_and_help(
    csv_plugin: Repo, cli: Callable[..., CliResult]
) -> None:
    assert cli("plugin", "install", str(csv_plugin.path)).code == 0
    app = AssistantApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "/plugins")
        await until(pilot, lambda: isinstance(app.screen, PluginsScreen) and app.screen.is_mounted)
        detail = app.screen.query_one("#plugin-detail-text")
        await until(pilot, lambda: "csvtool" in str(detail.render()))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChatScreen))
        await send(pilot, "/help")
        await until(
            pilot, lambda: any("/memory" in str(n.render()) for n in app.screen.query(NoteLine))
        )
        await send(pilot, "/nonsense")
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_install_and_workflows_commands(csv_plugin: Repo) -> None:
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/workflows")
        await until(
            pilot,
            lambda: any(
                "No saved workflows" in str(n.render()) for n in app.screen.query(NoteLine)
            ),
        )
        await send(pilot, f"/install {csv_plugin.path}")
        await until(pilot, lambda: isinstance(app.screen, PluginsScreen) and app.screen.is_mounted)
        box = app.screen.query_one("#plugin-source")
        await until(pilot, lambda: box.value == str(csv_plugin.path))  # type: ignore[attr-defined]
        assert box.has_focus


async def test_the_prompt_takes_several_lines_history_and_completion() -> None:
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await app.agent()
        await pilot.press(*"/he", "tab")
        prompt = app.screen.query_one("#prompt", PromptArea)
        assert prompt.value == "/help"
        await pilot.press("enter")
        await pilot.press(*"first", "ctrl+j", *"second")
        assert prompt.value == "first\nsecond"
        await pilot.press("ctrl+q")  # nothing is running: quits without asking
    assert app.return_code == 0


async def test_up_and_down_walk_what_was_sent() -> None:
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await app.agent()
        prompt = app.screen.query_one("#prompt", PromptArea)
        for command in ("/model", "/help"):
            await pilot.press(*command, "enter")
        await pilot.press("up")
        assert prompt.value == "/help"
        await pilot.press("up")
        assert prompt.value == "/model"
        await pilot.press("down", "down")
        assert prompt.value == ""
