"""`mark1 plugin doctor NAME` and the plugin lines of `mark1 doctor`: each broken case is
found and named with its exact fix, and a healthy plugin passes.

The plugins are installed from real git repositories and set up with the real wizard
(`mark1 plugin configure --from-env`); the vault, the registry, the PostgreSQL server (the
session's ``postgres`` fixture), the HTTP API (a real server on 127.0.0.1), the local SQLite
service and the sandbox probe are real. Things are broken the way they break in life: a
password changed, a server stopped, a file deleted or made world-readable, a wrong key
exported, bubblewrap missing from PATH, a token left to expire.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from adapters.sandbox import bwrap_problem
from assistant.plugins import plugin_doctor
from assistant.plugins.local_services import LocalPostgres
from assistant.security import vault_key
from assistant.security.oauth import Token
from assistant.security.oauth_tokens import VaultSlot
from tests.conftest import CliResult, Repo
from tests.plugins.test_setup_wizard import API_KEY, MANIFEST, WEATHER, wrong_password

Cli = Callable[..., CliResult]


@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A new session with its own vault key; the sandbox probe (cached per process) is
    asked again, since one test takes bubblewrap away."""
    vault_key.forget()
    bwrap_problem.cache_clear()
    monkeypatch.setenv("MARK1_VAULT_KEY", vault_key.encode_key(vault_key.new_key()))
    yield
    vault_key.forget()
    bwrap_problem.cache_clear()


def install(cli: Cli, repo: Repo) -> None:
    done = cli("plugin", "install", str(repo.path), "--yes")
    assert done.code == 0, done.err
    if bwrap_problem() is not None:  # a machine without a sandbox: trust it to stay healthy
        assert cli("plugin", "permissions", repo.path.name, "--trust").code == 0


def configure(cli: Cli, tmp_path: Path, name: str, answers: str) -> None:
    env_file = tmp_path / f"{name}.env"
    env_file.write_text(answers)
    done = cli("plugin", "configure", name, "--from-env", str(env_file), "--non-interactive")
    assert done.code == 0, done.err + done.out


def doctor(cli: Cli, name: str) -> tuple[int, dict[str, dict[str, Any]]]:
    done = cli("plugin", "doctor", name, "--json")
    report = json.loads(done.out)
    assert report["plugin"] == name and report["ok"] == (done.code == 0)
    return done.code, {c["name"]: c for c in report["checks"]}


def machine_doctor(cli: Cli) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in json.loads(cli("doctor", "--json").out)["checks"]}


@pytest.fixture
def weather(make_repo: Callable[..., Repo], cli: Cli) -> Repo:
    """The setup wizard's plugin: a secret API key, two optional settings, a database."""
    repo = make_repo("weather", {"mark1.plugin.yml": MANIFEST, "weather.py": WEATHER})
    install(cli, repo)
    return repo


@pytest.fixture
def configured(weather: Repo, cli: Cli, tmp_path: Path) -> Path:
    """``weather`` set up with its key and an SQLite database; returns the vault file."""
    database = tmp_path / "forecasts.db"
    database.write_bytes(b"")
    answers = f"WEATHER_API_KEY={API_KEY}\nDATABASE_URL=sqlite:///{database}\n"
    configure(cli, tmp_path, "weather", answers)
    return vault_key.vault_path()


def store_secret(cli: Cli, monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """``mark1 secrets set weather NAME --stdin``, as a person changing a stored value."""
    from tests.security.test_vault import store

    store(cli, monkeypatch, "weather", name, value)


# ---- healthy -----------------------------------------------------------------------------


def test_a_healthy_plugin_passes(
    configured: Path, cli: Cli, postgres: LocalPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_secret(cli, monkeypatch, "DATABASE_URL", postgres.url)
    code, checks = doctor(cli, "weather")
    assert code == 0, checks
    assert checks["variable WEATHER_API_KEY"]["detail"] == "set, from the vault"
    assert checks["variable UNITS"]["detail"] == "set, from the manifest's default"
    assert checks["variable CITY_CODE"]["detail"] == "not set (optional)"
    assert "PostgreSQL" in checks["service postgresql"]["detail"]
    assert checks["vault"]["ok"] and "opened with MARK1_VAULT_KEY" in checks["vault"]["detail"]
    assert checks["vault file"] == {**checks["vault file"], "ok": True, "detail": "mode 0600"}
    assert all(c["ok"] for c in checks.values()), [c for c in checks.values() if not c["ok"]]

    shown = cli("plugin", "doctor", "weather")  # the same, for people
    assert shown.code == 0 and "✓ service postgresql: PostgreSQL" in shown.out
    assert API_KEY not in shown.out + shown.err and postgres.password not in shown.out

    machine = machine_doctor(cli)
    assert machine["plugin weather"] == {**machine["plugin weather"], "ok": True, "detail": "ok"}
    assert machine["vault"]["ok"] and machine["vault file"]["ok"]
    assert {"speech model", "speech output (espeak-ng)"} <= set(machine)


# ---- variables and the vault -------------------------------------------------------------


def test_a_missing_required_secret_and_an_unset_database(weather: Repo, cli: Cli) -> None:
    shown = cli("plugin", "doctor", "weather")
    assert shown.code == 1
    assert "✗ variable WEATHER_API_KEY: not set, and it is required" in shown.out
    assert (
        "    fix: mark1 plugin configure weather, or mark1 secrets set weather WEATHER_API_KEY"
        in shown.out
    )
    assert "✗ service postgresql: no URL: DATABASE_URL is not set" in shown.out

    line = machine_doctor(cli)["plugin weather"]
    assert not line["ok"] and line["fix"] == "mark1 plugin doctor weather"
    assert line["detail"] == (
        "2 problems: run `mark1 plugin doctor weather` "
        "(variable WEATHER_API_KEY, service postgresql)"
    )


def test_a_wrong_vault_key_is_named_with_its_hint(
    configured: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARK1_VAULT_KEY", vault_key.encode_key(vault_key.new_key()))
    vault_key.forget()
    code, checks = doctor(cli, "weather")
    assert code == 1
    vault = checks["vault"]
    assert not vault["ok"] and "wrong key or passphrase" in vault["detail"]
    assert vault["fix"] == "check MARK1_VAULT_KEY or the passphrase you typed"
    service = checks["service postgresql"]  # its URL is in the locked vault: said, not raised
    assert not service["ok"] and service["detail"].startswith("cannot read DATABASE_URL")
    assert checks["variable WEATHER_API_KEY"]["detail"] == "set, from the vault"
    assert not machine_doctor(cli)["vault"]["ok"]


def test_a_vault_file_others_can_read_is_found_and_the_fix_works(
    configured: Path, cli: Cli
) -> None:
    configured.chmod(0o644)
    code, checks = doctor(cli, "weather")
    assert code == 1
    assert (
        checks["vault file"]["detail"]
        == f"{configured} can be read or changed by others (mode 0644)"
    )
    assert checks["vault file"]["fix"] == f"chmod 600 {configured}"
    assert machine_doctor(cli)["vault file"]["fix"] == f"chmod 600 {configured}"
    configured.chmod(0o600)  # the fix, as given
    assert doctor(cli, "weather")[0] == 0


# ---- services ----------------------------------------------------------------------------


def test_a_database_refusing_the_password_or_not_listening(
    configured: Path,
    cli: Cli,
    postgres: LocalPostgres,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store_secret(cli, monkeypatch, "DATABASE_URL", wrong_password(postgres.url))
    code, checks = doctor(cli, "weather")
    service = checks["service postgresql"]
    assert code == 1 and "password authentication failed for user mark1" in service["detail"]
    assert "check the user name and password in postgresql://mark1:***@" in service["fix"]
    assert service["fix"].endswith("then store the right URL: mark1 plugin configure weather")

    moved = f"postgresql://mark1:secret-pw@127.0.0.1:{closed_port}/mark1"
    monkeypatch.setenv("DATABASE_URL", moved)  # the environment overrides the vault
    code, checks = doctor(cli, "weather")
    service = checks["service postgresql"]
    assert code == 1 and service["detail"] == f"nothing is listening at 127.0.0.1:{closed_port}"
    assert "is PostgreSQL running" in service["fix"] and "secret-pw" not in json.dumps(checks)
    assert "(the URL comes from the environment variable DATABASE_URL)" in service["fix"]


QUOTES_MANIFEST = """\
schema_version: "1.0"
plugin: {name: quotes, version: 1.0.0, description: Quotes from an API kept in a database}
capabilities:
  - name: quote
    description: Fetch a quote and keep it
    side_effects: read-only
    parameters: {type: object, properties: {}}
    services:
      - {name: quotes-api, kind: api, url_env: QUOTES_API_URL}
      - {name: sqlite, kind: database, url_env: QUOTES_DB}
entry_points:
  - {capability: quote, type: cli, command: python quote.py}
"""

QUOTE = """\
import os, sys
if "--help" in sys.argv:
    print("usage: quote.py"); sys.exit(0)
print(os.environ["QUOTES_API_URL"])
"""


class _Api(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        return None


def stop(api: ThreadingHTTPServer) -> None:
    api.shutdown()
    api.server_close()


@pytest.fixture
def quotes(
    make_repo: Callable[..., Repo], cli: Cli, tmp_path: Path
) -> Iterator[ThreadingHTTPServer]:
    """``quotes`` set up with a live API (yielded, to be stopped) and a local SQLite
    service that Mark-1 runs itself."""
    api = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{api.server_address[1]}/v1"
    install(cli, make_repo("quotes", {"mark1.plugin.yml": QUOTES_MANIFEST, "quote.py": QUOTE}))
    try:
        answers = f"QUOTES_API_URL={url}\nservice.sqlite=start a local one\n"
        configure(cli, tmp_path, "quotes", answers)
        yield api
    finally:
        stop(api)


def test_an_http_api_that_stopped_and_one_that_never_answers(
    quotes: ThreadingHTTPServer,
    cli: Cli,
    silent_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = quotes.server_address[1]
    code, checks = doctor(cli, "quotes")
    assert code == 0, checks
    assert checks["service quotes-api"]["detail"] == f"http://127.0.0.1:{port}/v1 answered 200 OK"
    assert checks["service sqlite"]["detail"].startswith("local, SQLite database")

    stop(quotes)  # the API goes down: nothing listens on its port any more
    code, checks = doctor(cli, "quotes")
    api = checks["service quotes-api"]
    assert code == 1 and api["detail"] == f"nothing is listening at 127.0.0.1:{port}"
    assert api["fix"].startswith(f"is the server running at 127.0.0.1:{port}?")

    monkeypatch.setattr(plugin_doctor, "PROBE_SECONDS", 0.3)  # the test need not wait 3 s
    monkeypatch.setenv("QUOTES_API_URL", f"http://127.0.0.1:{silent_port}/v1")
    code, checks = doctor(cli, "quotes")
    api = checks["service quotes-api"]
    assert code == 1 and api["detail"] == "127.0.0.1 did not answer within 0.3 s"
    assert api["fix"].startswith("you may be offline")


# ---- files, programs and the sandbox -----------------------------------------------------

FORECAST_MANIFEST = """\
schema_version: "1.0"
plugin: {name: forecast, version: 1.0.0, description: A shell tool in its repository}
capabilities:
  - name: today
    description: Say today's forecast
    side_effects: read-only
    parameters: {type: object, properties: {}}
entry_points:
  - {capability: today, type: cli, command: bin/forecast}
"""


@pytest.fixture
def forecast(make_repo: Callable[..., Repo], cli: Cli) -> Path:
    """A plugin whose program is a script in its repository; returns the installed copy."""
    script = "#!/bin/sh\necho sunny\n"
    repo = make_repo(
        "forecast",
        {"mark1.plugin.yml": FORECAST_MANIFEST, "bin/forecast": script},
        executable=("bin/forecast",),
    )
    install(cli, repo)
    return Path(json.loads(cli("plugin", "info", "forecast", "--json").out)["source_path"])


def test_a_missing_program_is_found_and_the_fix_brings_it_back(forecast: Path, cli: Cli) -> None:
    assert doctor(cli, "forecast")[0] == 0
    (forecast / "bin" / "forecast").unlink()
    code, checks = doctor(cli, "forecast")
    program = checks["program bin/forecast"]
    assert code == 1 and program["detail"].startswith("bin/forecast is not found in")
    assert program["fix"] == "mark1 plugin update forecast --force"
    assert cli("plugin", "update", "forecast", "--force").code == 0  # the fix, as given
    assert doctor(cli, "forecast")[0] == 0


@pytest.mark.skipif(bwrap_problem() is not None, reason="no working bubblewrap to take away")
def test_without_bubblewrap_the_sandbox_check_fails_until_the_plugin_is_trusted(
    forecast: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """bwrap really is missing: PATH names only an empty folder, and the real probe looks
    it up there (no monkeypatched result)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    bwrap_problem.cache_clear()  # probed once per process: this is a new one, as it were
    code, checks = doctor(cli, "forecast")
    sandbox = checks["sandbox"]
    assert code == 1 and sandbox["detail"].startswith("bubblewrap (bwrap) is not installed")
    assert sandbox["fix"].startswith("apt-get install bubblewrap")
    assert sandbox["fix"].endswith("mark1 plugin permissions forecast --trust")
    assert cli("plugin", "permissions", "forecast", "--trust").code == 0
    code, checks = doctor(cli, "forecast")
    assert code == 0 and checks["sandbox"]["detail"].startswith("trusted")


# ---- OAuth -------------------------------------------------------------------------------

SIGNED_IN_MANIFEST = """\
schema_version: "1.0"
plugin: {name: hubtool, version: 1.0.0, description: Reads a hub with the person's token}
configuration:
  oauth:
    provider: testhub
    client_id: mark1-test
    device_authorization_url: http://127.0.0.1:9/device
    token_url: http://127.0.0.1:9/token
    token_env: HUB_TOKEN
capabilities:
  - name: whoami
    description: Say who the token belongs to
    side_effects: read-only
    parameters: {type: object, properties: {}}
entry_points:
  - {capability: whoami, type: cli, command: python whoami.py}
"""

WHOAMI = """\
import os, sys
if "--help" in sys.argv:
    print("usage: whoami.py"); sys.exit(0)
print(len(os.environ.get("HUB_TOKEN", "")))
"""


def test_an_expired_token_without_a_refresh_token_asks_to_sign_in_again(
    make_repo: Callable[..., Repo], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.security.test_vault import init_with_key

    repo = make_repo("hubtool", {"mark1.plugin.yml": SIGNED_IN_MANIFEST, "whoami.py": WHOAMI})
    install(cli, repo)
    monkeypatch.delenv("MARK1_VAULT_KEY")
    init_with_key(cli, monkeypatch)
    slot = VaultSlot("hubtool", "testhub")

    code, checks = doctor(cli, "hubtool")
    assert code == 1 and checks["sign-in to testhub"]["detail"] == "nobody has signed in yet"

    slot.write(Token("tok-valid-1234", expires_at=time.time() + 3600).to_json())
    code, checks = doctor(cli, "hubtool")
    assert code == 0 and checks["sign-in to testhub"]["detail"].startswith(
        "signed in: the token is valid until"
    )

    slot.write(Token("tok-expired-5678", expires_at=time.time() - 60).to_json())
    code, checks = doctor(cli, "hubtool")
    sign_in = checks["sign-in to testhub"]
    assert code == 1
    assert sign_in["detail"] == (
        "the sign-in to testhub has expired and the provider gave no refresh token"
    )
    assert sign_in["fix"] == "sign in again: mark1 plugin configure hubtool"
    assert "tok-" not in json.dumps(checks)
