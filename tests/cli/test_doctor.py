"""`mark1 doctor` reports on the real machine: the tools, the sandbox, config and database."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from assistant import paths
from tests.agent.openai_server import MODEL, ScriptedModelServer
from tests.conftest import CliResult


def test_doctor_checks_this_machine(cli: Callable[..., CliResult]) -> None:
    result = cli("doctor", "--json")
    report = json.loads(result.out)
    checks = {c["name"]: c for c in report["checks"]}
    assert {"python", "git", "sandbox", "configuration", "database", "workspace"} <= set(checks)
    assert result.code == (0 if report["ok"] else 1)
    assert checks["database"]["detail"] == str(paths.db_path())


def test_doctor_names_a_broken_config_file(cli: Callable[..., CliResult]) -> None:
    paths.config_file().parent.mkdir(parents=True)
    paths.config_file().write_text("[run]\ntimeout = 'soon'\n")
    result = cli("doctor")
    assert result.code == 1
    assert f"✗ configuration: {paths.config_file()}" in result.out


def model_check(cli: Callable[..., CliResult]) -> dict[str, object]:
    checks = {c["name"]: c for c in json.loads(cli("doctor", "--json").out)["checks"]}
    return checks["language model"]


def test_doctor_says_the_offline_planner_plans_when_no_model_is_set(
    cli: Callable[..., CliResult],
) -> None:
    check = model_check(cli)
    assert check["ok"] and "offline planner" in str(check["detail"])


def test_doctor_asks_the_configured_model_server(
    cli: Callable[..., CliResult],
    scripted_model: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server is the scripted OpenAI-compatible one on loopback (it lists one model)."""
    monkeypatch.setenv("OPENAI_BASE_URL", scripted_model.base_url)
    monkeypatch.setenv("MARK1_MODEL", MODEL)
    check = model_check(cli)
    assert check["ok"] and "answers" in str(check["detail"])
    monkeypatch.setenv("MARK1_MODEL", "no-such-model")
    check = model_check(cli)
    assert not check["ok"] and MODEL in str(check["fix"])
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    check = model_check(cli)
    assert not check["ok"] and "does not answer" in str(check["detail"])
    assert "offline planner" in str(check["fix"])
