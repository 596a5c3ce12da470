"""``mark1 plugin configure NAME`` (the setup wizard) and ``mark1 plugin doctor NAME``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from assistant.cli.context import session
from assistant.cli.output import echo_json, json_option, run_async

if TYPE_CHECKING:
    from assistant.checks import Check


@click.command("configure")
@click.argument("name")
@click.option(
    "--from-env",
    "env_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Take answers from a KEY=VALUE file (.env style): variables by name, and "
    "timeout, max_memory, cpu_seconds, network, paths, service.NAME, oauth.",
)
@click.option(
    "--interactive/--non-interactive",
    default=None,
    help="Ask at the terminal, or never ask (fail naming what is missing). "
    "Default: ask when there is a terminal.",
)
@json_option
def configure(name: str, env_file: Path | None, interactive: bool | None, as_json: bool) -> None:
    """Set NAME up: its secrets, settings, services, sign-in and limits, then a test run.

    \b
    Each environment variable the plugin reads is asked with what the repository says of
    it: secrets without echo (stored encrypted in the vault), choices from the allowed
    values, text checked against its pattern. Each service is either an existing one
    (its URL is tested live) or a local one Mark-1 starts with the plugin. Run it again
    to change an answer: Enter keeps what is stored.

    \b
    Examples:
      mark1 plugin configure weather-tool
      mark1 plugin configure weather-tool --from-env weather.env --non-interactive
    """
    from assistant.cli.setup_prompts import PromptAsker
    from assistant.plugins import registry
    from assistant.plugins.setup_wizard import Wizard

    presets = read_env_file(env_file) if env_file else {}
    asking = sys.stdin.isatty() if interactive is None else interactive

    async def go() -> dict[str, object]:
        async with session() as (settings, store):
            record = await registry.require_plugin(store, name)
            wizard = Wizard(
                store, settings, record, PromptAsker(), presets=presets, interactive=asking
            )
            report = await wizard.run()
            return {
                "plugin": report.plugin,
                "stored": report.stored,
                "services": report.services,
                "signed_in": report.signed_in,
                "limits": report.limits,
                "test": report.test,
                "ok": report.ok,
            }

    done = run_async(go())
    if as_json:
        echo_json(done)
    sys.exit(0 if done["ok"] else 1)


@click.command("doctor")
@click.argument("name")
@json_option
def plugin_doctor(name: str, as_json: bool) -> None:
    """Check that NAME can run now, and print the exact fix for what cannot.

    \b
    Checks its status, each variable (and where its value comes from, never the value),
    the vault, each service live with the stored credentials (a few seconds at most; a
    local one is started), the OAuth sign-in, its files and programs, and the sandbox.
    Exits 1 when something it needs is broken.

    \b
    Examples:
      mark1 plugin doctor weather-tool
      mark1 plugin doctor weather-tool --json
    """
    from assistant.cli.check_report import show_checks
    from assistant.plugins import registry
    from assistant.plugins.plugin_doctor import diagnose

    async def go() -> list[Check]:
        async with session() as (settings, store):
            return await diagnose(store, settings, await registry.require_plugin(store, name))

    sys.exit(show_checks(run_async(go()), as_json, plugin=name))


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (``export`` and quotes allowed, ``#`` comments); a line that is
    neither is an error naming the file and line."""
    from assistant.errors import ConfigError

    found = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        key, sep, value = text.removeprefix("export ").partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"{path}:{number}: expected KEY=VALUE, found {text[:40]!r}",
                hint="one setting per line, e.g. WEATHER_API_KEY=abc123",
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        found[key.strip()] = value
    return found
