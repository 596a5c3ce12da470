"""The plugins screen driven with Textual's Pilot over a real app: a real plugin (a git
repository) installed after its analysis is approved, shown with its capability and
permissions, disabled, enabled and removed; a declined install leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable, Log

from assistant import paths
from assistant.plugins import registry
from assistant.tui.app import AssistantApp
from assistant.tui.screens.plugins import InstallApprovalScreen, PluginsScreen, open_plugins
from assistant.tui.screens.question import ConfirmScreen
from tests.conftest import Repo
from tests.tui.test_chat import until


def rows(screen: PluginsScreen) -> list[str]:
    table = screen.query_one("#plugins-table", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def detail(screen: PluginsScreen) -> str:
    return str(screen.query_one("#plugin-detail-text").render())


def log(screen: PluginsScreen) -> str:
    return "\n".join(screen.query_one("#plugins-log", Log).lines)


async def test_a_plugin_is_installed_toggled_and_removed(csv_plugin: Repo) -> None:
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        agent = await app.agent()
        screen = PluginsScreen()
        app.push_screen(screen)
        await until(pilot, lambda: screen.is_mounted and "No plugins" in detail(screen))

        await pilot.press("i")
        screen.query_one("#plugin-source").value = str(csv_plugin.path)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, InstallApprovalScreen))
        report = str(app.screen.query_one("#approval-text").render())
        assert "csvtool" in report and "proposed manifest" in report
        await pilot.press("y")
        await until(pilot, lambda: app.screen is screen and rows(screen) == ["csvtool"], 120)

        shown = detail(screen)
        assert "csvtool 1.0.0  ready" in shown
        assert "count writes-workspace (cli)" in shown
        assert "Count the rows of a CSV file" in shown
        assert "granted: nothing beyond the sandbox" in shown and "network off" in shown
        assert "installed csvtool 1.0.0: ready" in log(screen)
        assert "analysing the repository" in log(screen)  # the Installer's progress

        await pilot.press("t")
        await until(pilot, lambda: "disabled" in detail(screen))
        record = await registry.get_plugin(agent.store, "csvtool")
        assert record is not None and not record.enabled

        await pilot.press("space")
        await until(pilot, lambda: "disabled" not in detail(screen))
        record = await registry.get_plugin(agent.store, "csvtool")
        assert record is not None and record.enabled

        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: rows(screen) == [] and "removed csvtool" in log(screen), 60)
        assert await registry.get_plugin(agent.store, "csvtool") is None

        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "ChatScreen")


async def test_a_declined_install_leaves_nothing_and_errors_are_notified(
    csv_plugin: Repo, tmp_path: Path
) -> None:
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        agent = await app.agent()
        open_plugins(app)
        await until(pilot, lambda: isinstance(app.screen, PluginsScreen) and app.screen.is_mounted)
        screen = app.screen
        assert isinstance(screen, PluginsScreen)

        await pilot.press("i")
        screen.query_one("#plugin-source").value = str(csv_plugin.path)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, InstallApprovalScreen))
        await pilot.press("n")
        await until(pilot, lambda: "did not install" in log(screen), 60)
        assert await registry.get_plugin(agent.store, "csvtool") is None
        assert list(paths.plugins_dir().iterdir()) == []  # the fetched files are gone

        await pilot.press("i")
        screen.query_one("#plugin-source").value = str(tmp_path / "nowhere")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: "hint:" in log(screen))  # the error as the CLI prints it
        assert "nowhere" in log(screen)
        assert not any(w.is_running for w in app.workers if w.group == "plugin-op")
        assert app.is_running  # a Mark1Error is a notification, not a crash

        await pilot.press("u")  # nothing selected: a warning, nothing runs
        assert rows(screen) == []
        await pilot.press("i", "escape")  # escape closes the source box first
        assert screen.query_one("#plugin-source").has_class("hidden") and app.screen is screen
