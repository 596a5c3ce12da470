"""`mark1 workflow` commands around a run: dry run, schema, status, logs, show, history,
saved workflows, schedules and the daemon, and the errors a person meets on the way."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant import paths
from tests.workflow.wftools import Cli, run_json

pytestmark = pytest.mark.usefixtures("wftools")
Write = Callable[..., Path]

TWO_STEPS = """
name: two-steps
description: emit then echo
inputs:
  word: {type: string, default: hi}
  times: {type: integer, default: 2}
steps:
  - {name: say, plugin: wftools, capability: emit, inputs: {value: "${workflow.inputs.word}"}}
  - name: repeat
    plugin: core
    capability: echo
    depends_on: [say]
    if: workflow.inputs.times > 1
    inputs: {text: "${steps.say.outputs.value} x${workflow.inputs.times}"}
    outputs: {text: text}
"""


def test_dry_run_prints_the_resolved_plan_and_runs_nothing(cli: Cli, workflow_file: Write) -> None:
    result = cli("workflow", "run", str(workflow_file(TWO_STEPS)), "--dry-run", "-i", "times=3")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "plan for 'two-steps' (dry run: nothing runs)",
        "  input word = hi",
        "  input times = 3",
        "1. say: wftools.emit [read-only]",
        "     value = ${workflow.inputs.word}",
        "2. repeat: core.echo [read-only] after say",
        "     if: workflow.inputs.times > 1",
        "     text = ${steps.say.outputs.value} x${workflow.inputs.times}",
    ]
    conn = sqlite3.connect(paths.db_path())
    assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    conn.close()


def test_inputs_are_typed_and_checked(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(TWO_STEPS)
    wrong = cli("workflow", "run", str(path), "-i", "times=many")
    assert wrong.code == 2
    assert "input 'times' must be integer: cannot read 'many'" in wrong.err
    assert "hint: e.g. --input times=3" in wrong.err
    unknown = cli("workflow", "run", str(path), "-i", "colour=red")
    assert unknown.code == 2
    assert "the workflow 'two-steps' has no input colour" in unknown.err
    assert "hint: its inputs: word, times" in unknown.err
    code, out, _ = run_json(cli, path, "-i", "word=yo", "-i", "times=3")
    assert (code, out["outputs"]) == (0, {"text": "yo x3"})


def test_undeclared_inputs_of_the_seed_style_are_required(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: seed-style
steps:
  - {name: say, plugin: wftools, capability: emit, inputs: {value: "${workflow.inputs.word}"}}
"""
    )
    missing = cli("workflow", "run", str(path))
    assert missing.code == 2
    assert "the workflow 'seed-style' needs the input(s) word" in missing.err
    assert "hint: pass them as --input word=..." in missing.err


def test_unknown_target_explains_files_names_and_plain_words(cli: Cli) -> None:
    result = cli("workflow", "run", "nightly")
    assert result.code == 2
    assert "'nightly' is neither a workflow file nor a saved workflow" in result.err


def test_words_nothing_installed_can_do_say_so_and_fail(cli: Cli) -> None:
    """Words are planned by the agent (tests/cli/test_agent_cmd.py); here nothing fits."""
    result = cli("workflow", "run", "compress my photos")
    assert result.code == 1
    assert "Nothing installed can 'compress my photos'" in result.out
    assert "mark1 capabilities search" in result.out
    assert result.out.count("Nothing installed") == 1


def test_schema_is_published(cli: Cli) -> None:
    result = cli("workflow", "schema")
    assert result.code == 0
    schema = json.loads(result.out)
    assert schema["title"] == "Mark-1 workflow"
    step = schema["$defs"]["Step"]["properties"]
    assert {"if", "for_each", "as", "loop", "retry", "on_error", "approval", "cache"} <= set(step)


def test_status_show_logs_and_history(cli: Cli, workflow_file: Write) -> None:
    code, out, _ = run_json(cli, workflow_file(TWO_STEPS))
    assert code == 0
    run_id = out["run_id"]

    status = cli("workflow", "status", run_id)
    assert status.out.splitlines() == [
        "say: succeeded",
        "repeat: succeeded",
        f"run {run_id}: succeeded",
    ]
    followed = cli("workflow", "status", run_id[:12], "--follow", "--json")
    assert [json.loads(line) for line in followed.out.splitlines()] == [
        {"step": "say", "status": "succeeded"},
        {"step": "repeat", "status": "succeeded"},
        {"run": run_id, "status": "succeeded", "error": None},
    ]
    record = json.loads(cli("workflow", "status", run_id, "--json").out)
    assert [s["name"] for s in record["steps"]] == ["say", "repeat"]
    assert record["definition"]["name"] == "two-steps"

    logs = cli("workflow", "logs", run_id, "say")
    assert logs.code == 0
    assert logs.out.splitlines()[0] == "== say =="
    assert 'stdout: {"value": "hi"}' in logs.out.splitlines()
    missing = cli("workflow", "logs", run_id, "nope")
    assert missing.code == 2
    assert f"run {run_id} has no step 'nope'" in missing.err

    history = json.loads(cli("workflow", "history", "--json").out)
    assert [(r["id"], r["target"], r["status"]) for r in history] == [
        (run_id, "two-steps", "succeeded")
    ]


def test_save_run_by_name_list_and_remove(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(TWO_STEPS)
    saved = cli("workflow", "save", str(path), "--name", "greeter")
    assert saved.code == 0, saved.err
    assert saved.out.strip() == "saved workflow 'greeter'; run it with: mark1 workflow run greeter"
    path.unlink()  # a saved workflow no longer needs its file
    code, out, _ = run_json(cli, Path("greeter"), "-i", "word=hey")
    assert (code, out["outputs"]) == (0, {"text": "hey x2"})
    listed = json.loads(cli("workflow", "list", "--json").out)
    assert [(w["name"], w["runs"], w["description"]) for w in listed] == [
        ("greeter", 1, "emit then echo")
    ]
    assert cli("workflow", "remove", "greeter").code == 0
    assert json.loads(cli("workflow", "list", "--json").out) == []


def test_schedule_and_daemon(cli: Cli, workflow_file: Write) -> None:
    assert cli("workflow", "save", str(workflow_file(TWO_STEPS))).code == 0
    bad = cli("workflow", "schedule", "two-steps", "--every", "5 minutes")
    assert bad.code == 2
    assert "'5 minutes' is not a duration" in bad.err
    cron = cli("workflow", "schedule", "two-steps", "--cron", "every day")
    assert cron.code == 2
    assert "'every day' is not a cron expression" in cron.err
    made = cli("workflow", "schedule", "two-steps", "--every", "1s", "-i", "word=tick", "--json")
    assert made.code == 0, made.err
    schedule_id = json.loads(made.out)["id"]

    deadline = time.monotonic() + 30
    while True:
        ran = cli("daemon", "--once")
        assert ran.code == 0, ran.err
        listed = json.loads(cli("workflow", "schedules", "--json").out)
        if listed[0]["last_run_id"]:
            break
        assert time.monotonic() < deadline, "the schedule never came due"
        time.sleep(0.1)
    assert (listed[0]["id"], listed[0]["last_status"]) == (schedule_id, "succeeded")
    run = json.loads(cli("workflow", "show", listed[0]["last_run_id"], "--json").out)
    assert run["outputs"] == {"text": "tick x2"}
    assert run["source"] == "saved:two-steps"
    assert listed[0]["next_at"] > run["started_at"]
    assert cli("workflow", "unschedule", str(schedule_id)).code == 0
    assert json.loads(cli("workflow", "schedules", "--json").out) == []


def test_cancel_and_resume_name_unknown_runs(cli: Cli) -> None:
    for command in ("cancel", "resume", "show"):
        result = cli("workflow", command, "20990101-000000-abcdef")
        assert result.code == 2
        assert "no workflow run matches '20990101-000000-abcdef'" in result.err
