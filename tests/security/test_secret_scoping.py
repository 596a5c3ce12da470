"""Plugins' secrets at run time: each plugin gets its own, nobody else's, and a secret a
plugin prints is masked in everything Mark-1 keeps or sends.

Real plugins installed from git repositories run in the bubblewrap sandbox; the vault,
SQLite, Chroma and the log files are real files read back byte by byte. The model is the
scripted OpenAI-compatible HTTP server (no model can run here), whose captured requests are
what a real model would have been sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.agent.events import Approve
from tests.agent.driver import Script, agent_for, drive
from tests.agent.openai_server import Reply, ScriptedModelServer
from tests.conftest import CliResult, Repo
from tests.security.test_vault import CANARY, init_with_key, store

Cli = Callable[..., CliResult]

SHOW_ENV = """\
import json, os, sys
token = os.environ.get("LEAKY_TOKEN")
print(f"debug: calling the API with token {token}", file=sys.stderr)
print(f'MARK1_PROGRESS 50 "signed in as {token}"', file=sys.stderr, flush=True)
print(json.dumps({"names": sorted(os.environ), "token": token, "length": len(token or "")}))
"""


def manifest(name: str, required: bool) -> str:
    return f"""\
schema_version: "1.0"
plugin: {{name: {name}, version: 1.0.0, description: Shows its environment}}
configuration:
  environment_variables:
    - {{name: LEAKY_TOKEN, secret: true, required: {str(required).lower()}}}
capabilities:
  - name: show
    description: Print the environment the plugin was given
    side_effects: read-only
    parameters: {{type: object, properties: {{}}}}
    stdout: json
entry_points:
  - {{capability: show, type: cli, command: python show.py}}
"""


@pytest.fixture
def two_plugins(make_repo: Callable[..., Repo], cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """``leaky`` owns LEAKY_TOKEN (in the vault); ``nosy`` declares the same name, hoping."""
    for name, required in [("leaky", True), ("nosy", False)]:
        repo = make_repo(name, {"mark1.plugin.yml": manifest(name, required), "show.py": SHOW_ENV})
        done = cli("plugin", "install", str(repo.path), "--yes")
        assert done.code == 0, done.err
    init_with_key(cli, monkeypatch)
    store(cli, monkeypatch, "leaky", "LEAKY_TOKEN", CANARY)
    monkeypatch.setenv("ANOTHER_API_KEY", "host-secret-not-declared")


def test_a_plugin_reads_its_own_secret_and_never_anothers(two_plugins: None, cli: Cli) -> None:
    nosy = cli("run", "nosy.show", "--json")
    assert nosy.code == 0, nosy.err
    seen = json.loads(nosy.out)["outputs"]
    assert seen["token"] is None and "LEAKY_TOKEN" not in seen["names"]
    assert "MARK1_VAULT_KEY" not in seen["names"] and "ANOTHER_API_KEY" not in seen["names"]
    assert CANARY not in nosy.out + nosy.err

    leaky = cli("run", "leaky.show", "--json")
    assert leaky.code == 0, leaky.err
    got = json.loads(leaky.out)["outputs"]
    assert got["length"] == len(CANARY)  # the plugin had the real value...
    assert got["token"] == "***" and CANARY not in leaky.out + leaky.err  # ...we show none of it
    shown = cli("run", "leaky.show")  # output and progress streamed to the terminal
    assert shown.code == 0 and CANARY not in shown.out + shown.err
    assert "signed in as ***" in shown.err and "with token ***" in shown.err


def test_the_environment_overrides_the_vault_for_ci(
    two_plugins: None, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKY_TOKEN", "from-the-ci-environment")
    done = cli("run", "leaky.show", "--json")
    assert json.loads(done.out)["outputs"]["length"] == len("from-the-ci-environment")


def test_a_missing_required_secret_names_the_fix(make_repo: Callable[..., Repo], cli: Cli) -> None:
    repo = make_repo("leaky", {"mark1.plugin.yml": manifest("leaky", True), "show.py": SHOW_ENV})
    assert cli("plugin", "install", str(repo.path), "--yes").code == 0
    done = cli("run", "leaky.show")
    assert done.code == 2 and "LEAKY_TOKEN" in done.err
    assert "mark1 plugin configure leaky" in done.err and "mark1 secrets set leaky" in done.err


async def test_a_canary_secret_reaches_no_log_database_vector_store_or_model(
    two_plugins: None, scripted_model: ScriptedModelServer, mark1_home: Path, tmp_path: Path
) -> None:
    scripted_model.script(
        Reply.tool_calls(
            (
                "propose_plan",
                {
                    "goal": "show the environment",
                    "steps": [{"name": "show", "plugin": "leaky", "capability": "show"}],
                },
            )
        ),
        Reply.text("The plugin ran and printed its environment."),
    )
    async with agent_for(scripted_model.base_url, tmp_path) as agent:
        t = await drive(agent, "show me what leaky sees", Script([Approve()]))
        memory = await agent.builtins.memory()  # opened before the secret was handed out
        await memory.remember(f"the leaky token is {CANARY}", kind="fact")
    assert t.finished.status == "answered"
    sent = json.dumps(scripted_model.requests)
    assert "***" in sent and CANARY not in sent  # the result reached the model, masked
    kept = [p for p in mark1_home.rglob("*") if p.is_file() and p.name != "vault.json"]
    assert any(p.suffix == ".log" for p in kept) and any("chroma" in p.parts for p in kept)
    assert any(p.name.startswith("mark1.db") for p in kept)
    leaks = [p for p in kept if CANARY.encode() in p.read_bytes()]
    assert leaks == []
