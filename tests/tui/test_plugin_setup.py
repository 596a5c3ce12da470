"""The plugins screen's setup wizard and update, driven with Textual's Pilot over a real app:
a real plugin installed from a git repository goes on into the wizard, whose dialogs store a
secret in the real vault, a choice and a checked value in the registry, and a database URL
tested live against a real SQLite file; a new commit in the repository is picked up by
update."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Label

from assistant.plugins import registry
from assistant.security import vault_key
from assistant.tui.app import AssistantApp
from assistant.tui.screens.plugins import InstallApprovalScreen, PluginsScreen
from assistant.tui.screens.setup import SetupQuestionScreen
from tests.conftest import CliResult, Repo
from tests.plugins.test_setup_wizard import API_KEY, MANIFEST, WEATHER
from tests.tui.test_chat import send, until
from tests.tui.test_plugins_screen import detail, log, rows

pytestmark = pytest.mark.usefixtures("random_vault_key")


def question(app: AssistantApp) -> str:
    return str(app.screen.query_one("#question-text", Label).render())


async def answer(pilot: Pilot[None], app: AssistantApp, expected: str, text: str | None) -> None:
    """Wait for the dialog asking ``expected``; type ``text`` (None: take the highlighted
    choice) and press Enter; wait for that dialog to go (the next may ask the same again)."""
    await asked(pilot, app, expected)
    dialog = app.screen
    if text is not None:
        dialog.query_one("#question-answer", Input).value = text
    await pilot.press("enter")
    await until(pilot, lambda: app.screen is not dialog)


async def installed(pilot: Pilot[None], app: AssistantApp, source: Path) -> PluginsScreen:
    """The plugins screen after installing ``source`` from it (its analysis approved)."""
    screen = PluginsScreen(str(source))
    app.push_screen(screen)
    await until(pilot, lambda: screen.is_mounted)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, InstallApprovalScreen), 60)
    await pilot.press("y")
    return screen


async def asked(pilot: Pilot[None], app: AssistantApp, expected: str) -> None:
    await until(
        pilot, lambda: isinstance(app.screen, SetupQuestionScreen) and expected in question(app)
    )


async def test_an_install_goes_on_into_the_setup_wizard(
    make_repo: Callable[..., Repo], tmp_path: Path
) -> None:
    repo = make_repo("weather", {"mark1.plugin.yml": MANIFEST, "weather.py": WEATHER})
    database = tmp_path / "forecasts.db"
    database.write_bytes(b"")
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        agent = await app.agent()
        screen = await installed(pilot, app, repo.path)
        await answer(pilot, app, "WEATHER_API_KEY", API_KEY)
        await asked(pilot, app, "UNITS")
        await pilot.press("down")  # metric -> imperial
        await pilot.press("enter")
        await answer(pilot, app, "CITY_CODE", "oslo")
        problem = app.screen.query_one("#setup-problem", Label).render()
        assert "must match the pattern [A-Z]{3}" in str(problem)  # asked again, saying why
        await answer(pilot, app, "CITY_CODE", "OSL")
        await answer(pilot, app, "postgresql", None)  # use an existing one
        await answer(pilot, app, "DATABASE_URL", f"sqlite:///{database}")
        await answer(pilot, app, "Time limit", "")
        await answer(pilot, app, "Memory limit", "")
        await answer(pilot, app, "CPU time", "")
        await answer(pilot, app, "network", None)
        await answer(pilot, app, "Folders", "")
        await until(pilot, lambda: "weather is ready" in log(screen), 60)
        await until(pilot, lambda: rows(screen) == ["weather"] and "ready" in detail(screen))

        record = await registry.require_plugin(agent.store, "weather")
        assert record.config["env"] == {"UNITS": "imperial", "CITY_CODE": "OSL"}
        assert record.config["services"]["postgresql"]["mode"] == "existing"
        assert API_KEY not in json.dumps(record.config) and API_KEY not in log(screen)
        vault = vault_key.unlocked_vault()
        assert vault is not None and vault.get("weather", "WEATHER_API_KEY") == API_KEY


async def test_escape_stops_the_wizard_and_keeps_earlier_answers(
    make_repo: Callable[..., Repo],
) -> None:
    repo = make_repo("weather", {"mark1.plugin.yml": MANIFEST, "weather.py": WEATHER})
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        agent = await app.agent()
        screen = await installed(pilot, app, repo.path)
        await answer(pilot, app, "WEATHER_API_KEY", API_KEY)
        await asked(pilot, app, "UNITS")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await until(
            pilot, lambda: any("setup stopped" in str(n.message) for n in app._notifications)
        )
        vault = vault_key.unlocked_vault()
        assert vault is not None and vault.get("weather", "WEATHER_API_KEY") == API_KEY

        await pilot.press("c")  # configure again: the stored secret is offered, not required
        await until(pilot, lambda: isinstance(app.screen, SetupQuestionScreen))
        assert "stored; press Enter to keep it" in question(app)
        await pilot.press("escape")
        record = await registry.require_plugin(agent.store, "weather")
        assert record.config.get("env", {}) == {}


async def test_update_picks_up_a_new_commit(csv_plugin: Repo) -> None:
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await installed(pilot, app, csv_plugin.path)
        await until(pilot, lambda: rows(screen) == ["csvtool"] and "1.0.0" in detail(screen), 120)

        manifest = (csv_plugin.path / "mark1.plugin.yml").read_text()
        csv_plugin.commit({"mark1.plugin.yml": manifest.replace("1.0.0", "1.1.0")}, "release 1.1")
        await pilot.press("u")
        await until(pilot, lambda: "updated csvtool to 1.1.0" in log(screen), 120)
        await until(pilot, lambda: "csvtool 1.1.0" in detail(screen))


async def test_a_passphrase_vault_is_opened_through_a_dialog(
    make_repo: Callable[..., Repo], cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo("weather", {"mark1.plugin.yml": MANIFEST, "weather.py": WEATHER})
    monkeypatch.setenv("MARK1_VAULT_KEY", "a long enough passphrase")
    assert cli("secrets", "init", "--passphrase").code == 0
    assert cli("plugin", "install", str(repo.path), "--yes").code == 0
    monkeypatch.delenv("MARK1_VAULT_KEY")
    vault_key.forget()
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = PluginsScreen()
        app.push_screen(screen)
        await until(pilot, lambda: screen.is_mounted and rows(screen) == ["weather"])
        await pilot.press("c")
        await answer(pilot, app, "Passphrase of the secrets vault", "not the passphrase")
        problem = app.screen.query_one("#setup-problem", Label).render()
        assert "does not open the vault" in str(problem)
        await answer(pilot, app, "Passphrase of the secrets vault", "a long enough passphrase")
        await answer(pilot, app, "WEATHER_API_KEY", API_KEY)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
    vault = vault_key.unlocked_vault()
    assert vault is not None and vault.get("weather", "WEATHER_API_KEY") == API_KEY


async def test_unlock_opens_a_passphrase_vault_from_the_chat(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARK1_VAULT_KEY", "a long enough passphrase")
    assert cli("secrets", "init", "--passphrase").code == 0
    monkeypatch.delenv("MARK1_VAULT_KEY")
    vault_key.forget()
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "/unlock")
        await answer(pilot, app, "Passphrase of the secrets vault", "a long enough passphrase")
        await until(
            pilot, lambda: any("vault is open" in str(n.message) for n in app._notifications)
        )
    assert vault_key.locked_passphrase_vault() is None  # this process has it open now
