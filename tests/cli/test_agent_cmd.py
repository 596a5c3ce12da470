"""``mark1 plan``, ``ask``, ``workflow run "REQUEST"`` and ``chat`` over real installed
example plugins. With no model configured the offline planner plans; where a model is used it
is the scripted OpenAI-compatible server on loopback (the one part faked, at the protocol
boundary), or nothing listening at all."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.agent.openai_server import Reply, ScriptedModelServer
from tests.conftest import EXAMPLES, CliResult

Cli = Callable[..., CliResult]
PIPELINE = ("csv-processor", "data-analyzer", "chart-generator", "report-builder")


@pytest.fixture
def pipeline_plugins(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The seed's four pipeline plugins installed, and a folder holding sales.csv as cwd."""
    for name in PIPELINE:
        result = cli("plugin", "install", str(EXAMPLES / name), "--yes")
        assert result.code == 0, result.err
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(EXAMPLES / "workflows" / "sales.csv", work / "sales.csv")
    monkeypatch.chdir(work)
    return work


SEED_REQUEST = "Analyze this CSV file sales.csv, generate visualizations, and create a PDF report"


def test_plan_shows_the_seed_pipeline_and_runs_nothing(cli: Cli, pipeline_plugins: Path) -> None:
    result = cli("plan", SEED_REQUEST, "--json")
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    steps = shown["plan"]["steps"]
    assert [f"{s['plugin']}.{s['capability']}" for s in steps] == [
        "csv-processor.extract-data",
        "data-analyzer.statistical-analysis",
        "chart-generator.create-charts",
        "report-builder.pdf-report",
    ]
    assert shown["status"] == "planned" and shown["run_ids"] == []
    assert shown["plan"]["workflow"]["steps"][0]["inputs"]["file"] == "sales.csv"
    assert any("offline planner" in n for n in shown["notes"])
    assert cli("runs", "--json").out.strip() in ("[]", "")


def test_workflow_run_a_request_plans_and_runs_it_with_yes(
    cli: Cli, pipeline_plugins: Path
) -> None:
    result = cli("workflow", "run", SEED_REQUEST, "--yes", "--json")
    assert result.code == 0, result.err
    done = json.loads(result.out)
    assert done["status"] == "answered" and len(done["run_ids"]) == 1
    assert "pdf-report: succeeded" in done["answer"]
    shown = cli("workflow", "show", done["run_ids"][0], "--json")
    assert json.loads(shown.out)["status"] == "succeeded"


def test_a_plan_needing_approval_is_declined_where_nobody_can_answer(
    cli: Cli, pipeline_plugins: Path
) -> None:
    result = cli("ask", "clean sales.csv")
    assert result.code == 2
    assert "needs your approval" in result.err and "--yes" in result.err
    assert "csv-processor.extract-data" in result.err  # the plan was shown first


def test_a_question_nobody_can_answer_says_what_is_missing(
    cli: Cli, pipeline_plugins: Path
) -> None:
    result = cli("ask", "clean a csv file", "--yes")
    assert result.code == 2
    assert "the assistant needs to know" in result.err and "CSV" in result.err


def test_a_request_in_words_takes_no_workflow_inputs(cli: Cli, pipeline_plugins: Path) -> None:
    result = cli("workflow", "run", "clean sales.csv", "-i", "x=1")
    assert result.code == 2 and "put them in the request" in result.err


def test_ask_answers_through_a_configured_model(
    cli: Cli,
    pipeline_plugins: Path,
    scripted_model: ScriptedModelServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", scripted_model.base_url)
    monkeypatch.setenv("MARK1_MODEL", "scripted")
    scripted_model.script(Reply.text("You have four plugins."))
    result = cli("ask", "what can you do?")
    assert result.code == 0, result.err
    assert result.out.strip() == "You have four plugins."
    sent = scripted_model.requests[0]
    assert sent["model"] == "scripted"
    names = {t["function"]["name"] for t in sent["tools"]}
    assert {"propose_plan", "ask_user", "csv-processor__extract-data"} <= names


def test_a_missing_key_is_explained_and_the_offline_planner_takes_over(
    cli: Cli, pipeline_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("MARK1_LLM__PROFILE", "openai")
    result = cli("plan", "clean sales.csv")
    assert result.code == 0, result.err
    assert "OPENAI_API_KEY is not set" in result.err
    assert "offline planner" in result.err and "mark1 config set llm.profile" in result.err
    assert "csv-processor.extract-data" in result.err


def test_an_unreachable_model_falls_back_to_the_offline_planner(
    cli: Cli, pipeline_plugins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # discard port: refused
    monkeypatch.setenv("MARK1_LLM__MAX_RETRIES", "0")
    result = cli("plan", "clean sales.csv", "--json")
    assert result.code == 0, result.err
    shown = json.loads(result.out)
    assert any("did not answer" in n for n in shown["notes"])
    assert any("is the server at http://127.0.0.1:9/v1 running?" in n for n in shown["notes"])
    assert shown["plan"]["steps"][0]["capability"] == "extract-data"
