"""Durability: a run killed with SIGKILL at any point resumes to the end with every step
instance run exactly once; cancellation stops running steps and records them; steps with
outside effects are not re-run after a crash unless the person says so.

The engine runs as a real ``mark1`` process. ``MARK1_TEST_CRASH_AFTER=N`` makes the journal
SIGKILL its own process right after its N-th commit: a deterministic way to kill the engine
between every pair of transitions. Step processes run in the bubblewrap sandbox
(``--die-with-parent``), so a killed engine takes its running steps with it, as a crash does.

The commit-point test runs one instance at a time. With several in flight, an instance whose
process has already ended but whose result is still queued for the journal is lost with the
engine and runs again on resume: at-least-once for work in flight, as in any engine that runs
outside processes (docs/workflows.md says so). What never happens, at any point, is a recorded
result running again; the mid-step kill test covers a kill that is not at a commit.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant import paths
from tests.workflow.test_engine import ledger, steps_of
from tests.workflow.wftools import Cli

pytestmark = pytest.mark.usefixtures("wftools")


@pytest.fixture(autouse=True)
def no_leftover_cgroups(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An engine killed with SIGKILL cannot remove its runs' cgroups; the next Mark-1 sweeps
    them after a minute. These tests kill engines on purpose, so they sweep at once."""
    from adapters import cgroups

    yield
    monkeypatch.setattr(cgroups, "ABANDONED_AFTER", -1.0)
    cgroups.sweep_abandoned_cgroups.__wrapped__()


CRASHY = """
name: crashy
steps:
  - {name: a, plugin: wftools, capability: emit, inputs: {value: start}}
  - {name: b, plugin: wftools, capability: emit, depends_on: [a], inputs: {number: 2}}
  - {name: c, plugin: wftools, capability: emit, depends_on: [a], inputs: {number: 3}}
  - name: d
    plugin: wftools
    capability: emit
    depends_on: [b, c]
    for_each: [1, 2, 3]
    parallel: 2
    inputs: {number: "${item}"}
  - name: e
    plugin: core
    capability: echo
    depends_on: [d]
    inputs: {total: "${steps.d.outputs.number | sum}", first: "${steps.a.outputs.value}"}
    outputs: {total: total, first: first}
"""
INSTANCES = ["a", "b", "c", "d[0]", "d[1]", "d[2]"]


def latest_run() -> dict[str, Any]:
    conn = sqlite3.connect(paths.db_path())
    conn.row_factory = sqlite3.Row
    row = conn.execute("SELECT * FROM runs ORDER BY created_at DESC LIMIT 1").fetchone()
    conn.close()
    return dict(row)


def mark1(
    exe: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [exe, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        timeout=120,
        check=False,
    )


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def step_status(run_id: str, key: str) -> str | None:
    row = steps_of(run_id).get(key)
    return None if row is None else str(row["status"])


def test_sigkill_after_every_commit_then_resume_runs_each_step_once(
    mark1_exe: str, workflow_file: Callable[..., Path]
) -> None:
    path = workflow_file(CRASHY)
    crashes = 0
    for crash_after in range(1, 200):
        killed = mark1(
            mark1_exe,
            "workflow",
            "run",
            str(path),
            "--no-cache",  # every instance must really run: its ledger counts the runs
            "--parallel",  # one instance in flight: at every commit, each instance has
            "1",  # either not started or been recorded (see the module docstring)
            env={"MARK1_TEST_CRASH_AFTER": str(crash_after)},
        )
        if killed.returncode == 0:
            break  # the run needs fewer commits than this: every point has been tried
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        crashes += 1
        run = latest_run()
        if run["status"] != "succeeded":  # killed after its last commit: nothing to resume
            resumed = mark1(mark1_exe, "workflow", "resume", run["id"], "--json")
            assert resumed.returncode == 0, (crash_after, resumed.stdout, resumed.stderr)
        final = latest_run()
        assert final["status"] == "succeeded"
        assert json.loads(final["outputs_json"]) == {"total": 6.0, "first": "start"}
        ran = {key: ledger(run["id"], key) for key in INSTANCES}
        assert ran == {key: ["emit"] for key in INSTANCES}, f"crash after commit {crash_after}"
        assert {k: r["status"] for k, r in steps_of(run["id"]).items()} == {
            **{key: "succeeded" for key in INSTANCES},
            "e": "succeeded",
        }
    assert crashes >= 14, "every transition of the run was a crash point"


def test_sigkill_while_steps_run_then_resume(
    mark1_exe: str, workflow_file: Callable[..., Path]
) -> None:
    """Killed mid-step (not at a commit): the interrupted step runs again, finished ones not."""
    path = workflow_file(
        """
name: midway
steps:
  - {name: quick, plugin: wftools, capability: emit, inputs: {value: 1}}
  - {name: long, plugin: wftools, capability: slow, depends_on: [quick], inputs: {seconds: 1.5}}
"""
    )
    proc = subprocess.Popen(
        [mark1_exe, "workflow", "run", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: latest_run_or_none() is not None)
        run_id = str(latest_run()["id"])
        wait_for(lambda: step_status(run_id, "long") == "running")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert ledger(run_id, "long") == [], "the sandboxed step died with the engine"
    resumed = mark1(mark1_exe, "workflow", "resume", run_id)
    assert resumed.returncode == 0, resumed.stderr
    assert ledger(run_id, "quick") == ["emit"]
    assert ledger(run_id, "long") == ["slow"]


def latest_run_or_none() -> dict[str, Any] | None:
    try:
        return latest_run()
    except (TypeError, sqlite3.OperationalError):
        return None


def test_external_step_interrupted_by_a_crash_is_not_rerun_without_consent(
    mark1_exe: str, workflow_file: Callable[..., Path]
) -> None:
    path = workflow_file(
        """
name: risky
steps:
  - {name: ship, plugin: wftools, capability: deploy, inputs: {target: prod, seconds: 2}}
"""
    )
    proc = subprocess.Popen(
        [mark1_exe, "workflow", "run", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: latest_run_or_none() is not None)
        run_id = str(latest_run()["id"])
        wait_for(lambda: step_status(run_id, "ship") == "running")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    refused = mark1(mark1_exe, "workflow", "resume", run_id)
    assert refused.returncode == 1
    assert (
        "step 'ship' (external) was stopped part-way; not running it again "
        "(pass --yes to re-run it)" in refused.stderr
    )
    assert ledger(run_id, "ship") == []
    with_consent = mark1(mark1_exe, "workflow", "resume", run_id, "--yes")
    assert with_consent.returncode == 0, with_consent.stderr
    assert ledger(run_id, "ship") == ["deploy"]


def test_resume_after_a_failure_reruns_only_what_did_not_succeed(
    cli: Cli, workflow_file: Callable[..., Path]
) -> None:
    path = workflow_file(
        """
name: second-chance
steps:
  - {name: one, plugin: wftools, capability: emit, inputs: {value: 1}}
  - {name: two, plugin: wftools, capability: flaky, depends_on: [one], inputs: {times: 2}}
"""
    )
    first = cli("workflow", "run", str(path), "--json")
    assert first.code == 1
    run_id = json.loads(first.out)["run_id"]
    again = cli("workflow", "resume", run_id, "--json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["status"] == "succeeded"
    assert ledger(run_id, "one") == ["emit"]
    assert ledger(run_id, "two") == ["flaky"]
    finished = cli("workflow", "resume", run_id)
    assert finished.code == 2
    assert f"run {run_id} already succeeded; there is nothing to resume" in finished.err


@pytest.mark.parametrize("how", ["cancel-command", "sigint"])
def test_cancel_stops_running_steps_and_records_them(
    how: str, mark1_exe: str, workflow_file: Callable[..., Path]
) -> None:
    path = workflow_file(
        """
name: long
steps:
  - {name: nap, plugin: wftools, capability: slow, inputs: {seconds: 60}}
  - {name: after, plugin: wftools, capability: emit, depends_on: [nap]}
"""
    )
    proc = subprocess.Popen(
        [mark1_exe, "workflow", "run", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: latest_run_or_none() is not None)
        run_id = str(latest_run()["id"])
        wait_for(lambda: step_status(run_id, "nap") == "running")
        if how == "sigint":
            proc.send_signal(signal.SIGINT)
        else:
            cancelled = mark1(mark1_exe, "workflow", "cancel", run_id)
            assert cancelled.returncode == 0, cancelled.stderr
            assert cancelled.stdout.strip() == f"run {run_id} cancelled"
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (130, 143)
    run = latest_run()
    assert (run["status"], run["error"]) == ("cancelled", "cancelled by the user")
    rows = steps_of(run_id)
    assert (rows["nap"]["status"], rows["nap"]["error"]) == ("cancelled", "cancelled by the user")
    assert "after" not in rows
    assert ledger(run_id, "nap") == []


def test_cancel_of_a_run_whose_engine_died_points_to_resume(
    mark1_exe: str, workflow_file: Callable[..., Path]
) -> None:
    path = workflow_file(CRASHY)
    killed = mark1(mark1_exe, "workflow", "run", str(path), env={"MARK1_TEST_CRASH_AFTER": "3"})
    assert killed.returncode == -signal.SIGKILL
    run_id = str(latest_run()["id"])
    result = mark1(mark1_exe, "workflow", "cancel", run_id)
    assert result.returncode == 2
    assert (
        f"the process of run {run_id} is gone (Mark-1 stopped without recording it)"
        in result.stderr
    )
    assert f"hint: `mark1 workflow resume {run_id}` continues it" in result.stderr


def test_resume_keeps_a_fallback_that_already_stood_in(
    cli: Cli, workflow_file: Callable[..., Path]
) -> None:
    path = workflow_file(
        """
name: stand-in
steps:
  - name: primary
    plugin: wftools
    capability: fail
    on_error: {fallback: backup}
  - {name: backup, plugin: wftools, capability: emit, inputs: {value: b}}
  - {name: last, plugin: wftools, capability: flaky, depends_on: [primary], inputs: {times: 2}}
"""
    )
    first = cli("workflow", "run", str(path), "--json", "--no-cache")
    assert first.code == 1
    run_id = json.loads(first.out)["run_id"]
    before = steps_of(run_id)["primary"]["started_at"]
    again = cli("workflow", "resume", run_id, "--json")
    assert again.code == 0, again.err
    assert steps_of(run_id)["primary"]["started_at"] == before, "the failed primary stays"
    assert ledger(run_id, "backup") == ["emit"]
    assert ledger(run_id, "last") == ["flaky"]
