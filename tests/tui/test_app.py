"""The first screen of mark1-assistant, driven with Textual's Pilot."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Static

from assistant.tui.app import AssistantApp
from tests.conftest import CliResult, Repo


async def test_shows_installed_plugins_and_quits(
    csv_plugin: Repo, cli: Callable[..., CliResult]
) -> None:
    """The screen lists what the registry holds (read in a worker) and q quits."""
    assert cli("plugin", "install", str(csv_plugin.path)).code == 0
    app = AssistantApp()
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = str(app.query_one("#plugins", Static).render())
        assert "csvtool" in text
        assert "not built yet" in str(app.query_one("#welcome", Static).render())
        await pilot.press("q")
    assert app.return_code == 0


async def test_empty_registry_says_so() -> None:
    """A fresh home has no plugins and says how to get one."""
    app = AssistantApp()
    async with app.run_test() as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "No plugins installed" in str(app.query_one("#plugins", Static).render())
