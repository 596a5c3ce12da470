"""The setup wizard end to end: `mark1 plugin configure` typed through prompt-toolkit's pipe
input, on a plugin installed from a real git repository that needs a secret, a choice, a
database URL and a resource limit. The database is a real PostgreSQL server (the session's
``postgres`` fixture) or a real SQLite file; the vault, the registry and the run are real.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from adapters.base import RunContext
from assistant import paths
from assistant.config import load_settings
from assistant.plugins import registry
from assistant.plugins.invoke import execution_context
from assistant.plugins.local_services import LocalPostgres, local_service
from assistant.plugins.service_runtime import service_folder
from memory.store import Store
from tests.conftest import CliResult, Repo

Cli = Callable[..., CliResult]
API_KEY = "owm-4f9c2a7d1e"

MANIFEST = """\
schema_version: "1.0"
plugin: {name: weather, version: 1.0.0, description: Forecasts cached in a database}
configuration:
  environment_variables:
    - {name: WEATHER_API_KEY, secret: true, description: API key from openweathermap.org}
    - {name: UNITS, required: false, default: metric, choices: [metric, imperial]}
    - {name: CITY_CODE, required: false, pattern: "[A-Z]{3}", description: Home city code}
capabilities:
  - name: forecast
    description: Show the forecast for the home city
    side_effects: read-only
    parameters: {type: object, properties: {}}
    stdout: json
    services:
      - {name: postgresql, kind: database, url_env: DATABASE_URL}
entry_points:
  - {capability: forecast, type: cli, command: python weather.py}
"""

WEATHER = """\
import json, os, sys
if "--help" in sys.argv:
    print("usage: weather.py"); sys.exit(0)
print(json.dumps({
    "units": os.environ.get("UNITS"),
    "city": os.environ.get("CITY_CODE"),
    "key_length": len(os.environ.get("WEATHER_API_KEY", "")),
    "database": os.environ.get("DATABASE_URL", "").split("://")[0],
}))
"""


pytestmark = pytest.mark.usefixtures("random_vault_key")


@pytest.fixture
def weather(make_repo: Callable[..., Repo], cli: Cli) -> Repo:
    repo = make_repo("weather", {"mark1.plugin.yml": MANIFEST, "weather.py": WEATHER})
    done = cli("plugin", "install", str(repo.path), "--yes")
    assert done.code == 0, done.err
    return repo


def typed(cli: Cli, lines: list[str], *args: str, plugin: str = "weather") -> CliResult:
    """``mark1 plugin configure PLUGIN ARGS`` with ``lines`` typed at its prompts."""
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        pipe.send_text("".join(f"{line}\n" for line in lines))
        return cli("plugin", "configure", plugin, "--interactive", "--json", *args)


def wrong_password(url: str) -> str:
    scheme, rest = url.split("://", 1)
    user, after = rest.split(":", 1)
    return f"{scheme}://{user}:not-the-password@{after.split('@', 1)[1]}"


def test_the_wizard_asks_checks_and_stores_every_answer(
    weather: Repo, cli: Cli, postgres: LocalPostgres, mark1_home: Path, tmp_path: Path
) -> None:
    (tmp_path / "maps").mkdir()
    done = typed(
        cli,
        [
            API_KEY,  # the secret, typed without echo
            "2",  # UNITS: the second choice, imperial
            "oslo",  # CITY_CODE: does not match [A-Z]{3}...
            "OSL",  # ...asked again
            "1",  # postgresql: use an existing one
            wrong_password(postgres.url),  # tested live: refused...
            postgres.url,  # ...asked again
            "45",  # time limit
            "1GiB",  # memory limit
            "",  # CPU limit: keep the default
            "no",  # network
            f"{tmp_path}/nowhere",  # folders: one that does not exist...
            f"{tmp_path}/maps:ro",  # ...asked again
        ],
    )
    assert done.code == 0, done.err + done.out
    report = json.loads(done.out[done.out.index("{") :])
    assert report["stored"] == ["WEATHER_API_KEY", "UNITS", "CITY_CODE", "DATABASE_URL"]
    assert "PostgreSQL" in report["services"]["postgresql"]
    assert report["limits"] == {
        "timeout": 45.0,
        "max_memory": 1 << 30,
        "cpu_seconds": 600,
        "network": False,
        "paths": [f"{tmp_path}/maps:ro"],
    }
    assert report["test"]["status"] == "ready"
    assert postgres.password not in done.out + done.err and API_KEY not in done.out + done.err

    info = json.loads(cli("plugin", "info", "weather", "--json").out)
    assert info["config"]["env"] == {"UNITS": "imperial", "CITY_CODE": "OSL"}
    assert API_KEY not in json.dumps(info) and postgres.password not in json.dumps(info)
    vault = (mark1_home / "data" / "vault.json").read_bytes()
    assert API_KEY.encode() not in vault and postgres.password.encode() not in vault

    ran = cli("run", "weather.forecast", "--json")
    assert ran.code == 0, ran.err
    assert json.loads(ran.out)["outputs"] == {
        "units": "imperial",
        "city": "OSL",
        "key_length": len(API_KEY),
        "database": "postgresql",
    }


def test_enter_keeps_what_is_stored_on_a_second_run(
    weather: Repo, cli: Cli, postgres: LocalPostgres
) -> None:
    first = [API_KEY, "1", "", "1", postgres.url, "", "", "", "", ""]
    assert typed(cli, first).code == 0
    again = typed(cli, ["", "", "", "", "", "", "", "", "", ""])  # Enter everywhere
    assert again.code == 0, again.err
    ran = json.loads(cli("run", "weather.forecast", "--json").out)["outputs"]
    assert ran["key_length"] == len(API_KEY) and ran["database"] == "postgresql"
    assert ran["units"] == "metric"  # the manifest's default, taken...
    info = json.loads(cli("plugin", "info", "weather", "--json").out)
    assert info["config"]["env"] == {}  # ...but not frozen: a new default would apply


def test_answers_from_an_env_file_without_a_terminal(
    weather: Repo, cli: Cli, tmp_path: Path
) -> None:
    database = tmp_path / "forecasts.db"
    database.write_bytes(b"")  # an empty file is a valid SQLite database
    answers = tmp_path / "weather.env"
    answers.write_text(
        f"# answers for CI\nexport WEATHER_API_KEY='{API_KEY}'\nUNITS=imperial\n"
        f"DATABASE_URL=sqlite:///{database}\ntimeout=30\nmax_memory=300MiB\nnetwork=no\n"
    )
    done = cli(
        "plugin", "configure", "weather", "--from-env", str(answers), "--non-interactive", "--json"
    )
    assert done.code == 0, done.err
    report = json.loads(done.out)
    assert report["limits"]["timeout"] == 30.0 and "SQLite" in report["services"]["postgresql"]
    ran = json.loads(cli("run", "weather.forecast", "--json").out)["outputs"]
    assert ran["units"] == "imperial" and ran["database"] == "sqlite"
    (tmp_path / "work").mkdir()
    context = asyncio.run(run_context("weather", tmp_path / "work"))
    assert context.timeout == 30.0  # the limits chosen are the ones a run gets
    assert context.sandbox is not None and context.sandbox.max_memory == 300 << 20
    assert not context.sandbox.network


async def run_context(name: str, workdir: Path) -> RunContext:
    """How a run of ``name``'s first capability would be confined, as the engine asks."""
    async with Store.open(paths.db_path()) as store:
        record = await registry.require_plugin(store, name)
        capability = record.manifest.capabilities[0]
        return await execution_context(
            store, load_settings(), record, capability, {}, workdir=workdir
        )


def test_without_a_terminal_a_missing_answer_names_what_to_give(
    weather: Repo, cli: Cli, tmp_path: Path
) -> None:
    answers = tmp_path / "weather.env"
    answers.write_text("UNITS=kelvin\n")
    done = cli("plugin", "configure", "weather", "--from-env", str(answers), "--non-interactive")
    assert done.code == 2 and "WEATHER_API_KEY" in done.err and "--from-env" in done.err


def test_a_bad_line_in_the_env_file_names_file_and_line(
    weather: Repo, cli: Cli, tmp_path: Path
) -> None:
    answers = tmp_path / "weather.env"
    answers.write_text("UNITS=metric\nthis is not a setting\n")
    done = cli("plugin", "configure", "weather", "--from-env", str(answers))
    assert done.code == 2 and f"{answers}:2: expected KEY=VALUE" in done.err


def test_a_local_server_is_started_with_the_plugin(
    weather: Repo, cli: Cli, postgres: LocalPostgres
) -> None:
    try:
        done = typed(cli, [API_KEY, "", "", "2", "", "", "", "", ""])  # postgresql: a local one
        assert done.code == 0, done.err
        report = json.loads(done.out[done.out.index("{") :])
        assert "PostgreSQL" in report["services"]["postgresql"]
        ran = cli("run", "weather.forecast", "--json")
        assert ran.code == 0, ran.err
        assert json.loads(ran.out)["outputs"]["database"] == "postgresql"

        removed = cli("plugin", "remove", "weather", "--yes")
        assert removed.code == 0, removed.err
        assert "deleted its 1 secret(s) from the vault" in removed.err
        assert "deleted its local postgresql server and its data" in removed.err
        assert not service_folder("weather", "postgresql").exists()
        assert cli("secrets", "list", "weather", "--json").out.count('"name"') == 0
    finally:  # its data lives outside the test's folder when running as root
        server = local_service("postgresql", service_folder("weather", "postgresql"))
        assert server is not None
        asyncio.run(server.remove())
