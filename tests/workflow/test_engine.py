"""The engine, driven through `mark1 workflow run` with a real plugin in a real sandbox:
every control-flow pattern, data flow, retries, time limits, fallbacks, approval gates,
caching and format conversion, checked against the run's SQLite record."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from assistant import paths
from tests.workflow.wftools import Cli, run_json

pytestmark = pytest.mark.usefixtures("wftools")
Write = Callable[..., Path]


def steps_of(run_id: str) -> dict[str, sqlite3.Row]:
    """The run's step rows by instance key, read straight from the database."""
    conn = sqlite3.connect(paths.db_path())
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
    conn.close()
    return {r["name"]: r for r in rows}


def ledger(run_id: str, key: str) -> list[str]:
    """How many times instance ``key`` of the run really ran (its runs.log)."""
    log = paths.data_dir() / "workflow-runs" / run_id / "steps" / key / "runs.log"
    return log.read_text().split() if log.exists() else []


def test_sequential_steps_pass_values_along(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: chain
inputs:
  start: {type: string}
steps:
  - name: first
    plugin: wftools
    capability: emit
    inputs: {value: "${workflow.inputs.start}"}
  - name: second
    plugin: wftools
    capability: emit
    depends_on: [first]
    inputs: {value: "${steps.first.outputs.value}-and-more"}
    outputs: {final: value}
"""
    )
    code, out, _ = run_json(cli, path, "-i", "start=hello")
    assert code == 0
    assert out["status"] == "succeeded"
    assert out["outputs"] == {"final": "hello-and-more"}
    rows = steps_of(out["run_id"])
    assert list(rows) == ["first", "second"]
    assert json.loads(rows["second"]["inputs_json"])["value"] == "hello-and-more"
    assert rows["first"]["finished_at"] <= rows["second"]["started_at"]


def test_independent_branches_run_at_the_same_time(cli: Cli, workflow_file: Write) -> None:
    """Two slow steps with no dependency overlap in time; the join waits for both."""
    path = workflow_file(
        """
name: fan
steps:
  - {name: left, plugin: wftools, capability: slow, inputs: {seconds: 0.6, tag: l}}
  - {name: right, plugin: wftools, capability: slow, inputs: {seconds: 0.6, tag: r}}
  - name: join
    plugin: core
    capability: echo
    depends_on: [left, right]
    inputs: {tags: ["${steps.left.outputs.tag}", "${steps.right.outputs.tag}"]}
    outputs: {tags: tags}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 0
    assert out["outputs"] == {"tags": ["l", "r"]}
    rows = steps_of(out["run_id"])
    left, right, join = rows["left"], rows["right"], rows["join"]
    assert left["started_at"] < right["finished_at"] and right["started_at"] < left["finished_at"]
    assert join["started_at"] >= max(left["finished_at"], right["finished_at"])


def test_parallelism_limit_serialises_steps(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: narrow
steps:
  - {name: a, plugin: wftools, capability: slow, inputs: {seconds: 0.2}}
  - {name: b, plugin: wftools, capability: slow, inputs: {seconds: 0.2}}
  - {name: c, plugin: wftools, capability: slow, inputs: {seconds: 0.2}}
"""
    )
    code, out, _ = run_json(cli, path, "--parallel", "1")
    assert code == 0
    spans = sorted((r["started_at"], r["finished_at"]) for r in steps_of(out["run_id"]).values())
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))


def test_condition_skips_a_step_and_its_dependents(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: cond
steps:
  - {name: check, plugin: wftools, capability: emit, inputs: {number: 3}}
  - name: big
    plugin: wftools
    capability: emit
    depends_on: [check]
    if: steps.check.outputs.number > 10
    inputs: {value: big}
  - name: after-big
    plugin: wftools
    capability: emit
    depends_on: [big]
    inputs: {value: after}
  - name: small
    plugin: wftools
    capability: emit
    depends_on: [check]
    if: "${steps.check.outputs.number} <= 10"
    inputs: {value: small}
    outputs: {which: value}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 0
    assert out["steps"] == {
        "check": "succeeded",
        "big": "skipped",
        "after-big": "skipped",
        "small": "succeeded",
    }
    rows = steps_of(out["run_id"])
    assert rows["big"]["error"] == "condition not met: steps.check.outputs.number > 10"
    assert rows["after-big"]["error"] == "'big' did not run"
    assert out["outputs"] == {"which": "small"}


def test_loop_runs_until_its_condition_holds(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: poll
steps:
  - name: poll
    plugin: wftools
    capability: emit
    inputs: {number: "${iteration}"}
    loop: {until: outputs.number >= 3, max: 10}
    outputs: {last: number}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 0
    assert out["outputs"] == {"last": 3.0}
    assert list(steps_of(out["run_id"])) == ["poll#1", "poll#2", "poll#3"]


def test_loop_that_never_ends_fails_at_max(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: poll
steps:
  - name: poll
    plugin: wftools
    capability: emit
    inputs: {number: 1}
    loop: {until: outputs.number > 5, max: 2}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 1
    assert out["error"] == (
        "step 'poll' failed: 'outputs.number > 5' still did not hold after 2 runs"
    )


def test_map_then_reduce(cli: Cli, workflow_file: Write) -> None:
    """for_each runs one instance per item (two at a time); the reduce step sees lists."""
    path = workflow_file(
        """
name: mapreduce
inputs:
  numbers: {type: array, default: [1, 2, 3, 4]}
steps:
  - name: square
    plugin: wftools
    capability: emit
    for_each: "${workflow.inputs.numbers}"
    as: n
    parallel: 2
    inputs: {number: "${n}", value: "item ${index}"}
  - name: total
    plugin: core
    capability: echo
    depends_on: [square]
    inputs:
      total: "${steps.square.outputs.number | sum}"
      labels: "${steps.square.outputs.value}"
      count: "${steps.square.items | length}"
    outputs: {total: total, labels: labels, count: count}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 0
    assert out["outputs"] == {
        "total": 10.0,
        "labels": ["item 0", "item 1", "item 2", "item 3"],
        "count": 4,
    }
    rows = steps_of(out["run_id"])
    assert [k for k in rows if k.startswith("square")] == [f"square[{i}]" for i in range(4)]
    assert [rows[f"square[{i}]"]["item_index"] for i in range(4)] == [0, 1, 2, 3]


def test_map_over_a_glob_of_files(
    cli: Cli, workflow_file: Write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("b.png", "a.png", "notes.txt"):
        (photos / name).write_text(name)
    monkeypatch.chdir(tmp_path)
    path = workflow_file(
        """
name: globbing
steps:
  - name: each
    plugin: wftools
    capability: emit
    for_each: {glob: "photos/*.png"}
    inputs: {value: "${item}"}
    outputs: {file: value}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 0
    assert out["outputs"] == {"file": [str(photos / "a.png"), str(photos / "b.png")]}


def test_retry_with_backoff_until_it_works(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: flaky
steps:
  - name: shaky
    plugin: wftools
    capability: flaky
    inputs: {times: 3}
    retry: {attempts: 3, backoff: 0.05}
    outputs: {tries: tries}
"""
    )
    result = cli("workflow", "run", str(path))
    assert result.code == 0, result.err
    assert "↻ shaky failed (exited with status 1: not yet: try 1); retrying in 0.05 s" in result.err
    assert "↻ shaky failed (exited with status 1: not yet: try 2); retrying in 0.1 s" in result.err
    assert "tries: 3" in result.out


def test_retries_run_out(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: flaky
steps:
  - name: shaky
    plugin: wftools
    capability: flaky
    inputs: {times: 5}
    retry: {attempts: 2, backoff: 0}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 1
    row = steps_of(out["run_id"])["shaky"]
    assert (row["status"], row["attempt"]) == ("failed", 2)


def test_timeout_stops_a_step(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: slowpoke
steps:
  - {name: nap, plugin: wftools, capability: slow, inputs: {seconds: 30}, timeout: 0.5}
  - {name: next, plugin: wftools, capability: emit, depends_on: [nap], inputs: {value: x}}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 1
    assert out["steps"] == {"nap": "timed_out", "next": "skipped"}
    assert steps_of(out["run_id"])["nap"]["error"] == "stopped after the 0.5 s time limit"


def test_fallback_stands_in_for_a_failed_step(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: fallback
steps:
  - name: primary
    plugin: wftools
    capability: fail
    inputs: {message: primary is down}
    on_error: {fallback: backup}
  - {name: backup, plugin: wftools, capability: emit, inputs: {value: from-backup}}
  - name: use
    plugin: core
    capability: echo
    depends_on: [primary]
    inputs: {got: "${steps.primary.outputs.value}"}
    outputs: {got: got}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 0
    assert out["outputs"] == {"got": "from-backup"}
    rows = steps_of(out["run_id"])
    assert rows["primary"]["status"] == "failed"
    assert rows["backup"]["status"] == "succeeded"


def test_on_error_continue_keeps_the_run_going(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: tolerant
steps:
  - {name: flop, plugin: wftools, capability: fail, on_error: continue}
  - name: report
    plugin: core
    capability: echo
    depends_on: [flop]
    inputs: {status: "${steps.flop.status}"}
    outputs: {status: status}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 0
    assert out["outputs"] == {"status": "failed"}


def test_a_failure_stops_new_steps(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: strict
steps:
  - {name: flop, plugin: wftools, capability: fail, inputs: {message: no disk}}
  - {name: after, plugin: wftools, capability: emit, depends_on: [flop]}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 1
    assert out["error"] == "step 'flop' failed: exited with status 3: no disk"
    assert out["steps"] == {"flop": "failed", "after": "skipped"}


def test_a_failed_item_stops_the_items_not_started_yet(cli: Cli, workflow_file: Write) -> None:
    """One item at a time: the first fails, and the rest never start (the next one, already
    prepared and waiting for its turn, included)."""
    path = workflow_file(
        """
name: stopping
steps:
  - name: each
    plugin: wftools
    capability: fail
    for_each: [1, 2, 3, 4]
    parallel: 1
    inputs: {message: "item ${index}"}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 1
    assert "1 of 4 items failed, first each[0]" in out["error"]
    assert list(steps_of(out["run_id"])) == ["each[0]"], "no other item was started"


APPROVAL = """
name: gated
steps:
  - name: ship
    plugin: wftools
    capability: deploy
    approval: required
    inputs: {target: prod}
    outputs: {where: deployed}
"""


def test_approval_gate_declines_without_an_answer(cli: Cli, workflow_file: Write) -> None:
    """No terminal and no --yes: nobody can approve, so the gated step does not run."""
    code, out, err = run_json(cli, workflow_file(APPROVAL))
    assert code == 130
    assert out["status"] == "cancelled"
    assert out["steps"] == {"ship": "skipped"}
    assert "step 'ship' needs approval and nobody can answer here: declined" in err
    assert ledger(out["run_id"], "ship") == []


def test_approval_gate_with_yes_runs(cli: Cli, workflow_file: Write) -> None:
    code, out, _ = run_json(cli, workflow_file(APPROVAL), "--yes")
    assert code == 0
    assert out["outputs"] == {"where": "prod"}
    assert ledger(out["run_id"], "ship") == ["deploy"]


CACHED = """
name: cached
steps:
  - {name: make, plugin: wftools, capability: table, inputs: {rows: 3}}
  - name: use
    plugin: wftools
    capability: count
    depends_on: [make]
    inputs: {data: "${steps.make.outputs.table}"}
    outputs: {records: records}
  - name: side
    plugin: wftools
    capability: deploy
    inputs: {target: x}
"""


def test_cache_hits_misses_and_no_cache(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(CACHED)
    _, first, _ = run_json(cli, path)
    _, second, _ = run_json(cli, path)
    _, third, _ = run_json(cli, path, "--no-cache")
    assert first["outputs"] == second["outputs"] == third["outputs"] == {"records": 3}

    def cached(out: dict[str, Any]) -> dict[str, int]:
        return {k: r["cached"] for k, r in steps_of(out["run_id"]).items()}

    assert cached(first) == {"make": 0, "use": 0, "side": 0}
    assert cached(second) == {"make": 1, "use": 1, "side": 0}, "external steps always run"
    assert cached(third) == {"make": 0, "use": 0, "side": 0}
    assert ledger(second["run_id"], "side") == ["deploy"]


def test_cache_misses_when_an_input_file_changes(
    cli: Cli, workflow_file: Write, tmp_path: Path
) -> None:
    data = tmp_path / "records.json"
    data.write_text("[1, 2]")
    path = workflow_file(
        f"""
name: filecache
steps:
  - {{name: count, plugin: wftools, capability: count, inputs: {{data: "{data}"}}}}
"""
    )
    _, first, _ = run_json(cli, path)
    _, second, _ = run_json(cli, path)
    data.write_text("[1, 2, 3]")
    _, third, _ = run_json(cli, path)
    assert [steps_of(o["run_id"])["count"]["cached"] for o in (first, second, third)] == [0, 1, 0]
    assert json.loads(steps_of(third["run_id"])["count"]["outputs_json"])["records"] == 3


def test_csv_output_is_converted_for_a_json_input(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: convert
steps:
  - {name: make, plugin: wftools, capability: table, inputs: {rows: 2}}
  - name: use
    plugin: wftools
    capability: count
    depends_on: [make]
    inputs: {data: "${steps.make.outputs.table}"}
    outputs: {first: first, records: records}
"""
    )
    validated = cli("workflow", "validate", str(path))
    assert validated.code == 0
    assert "converts make -> use.data: csv -> json" in validated.out
    code, out, _ = run_json(cli, path)
    assert code == 0
    assert out["outputs"] == {"first": {"n": "0", "square": "0"}, "records": 2}
    given = json.loads(steps_of(out["run_id"])["use"]["inputs_json"])["data"]
    assert given.endswith("/table.json") and "/artifacts/" in given


def test_inline_values_become_a_file_for_a_path_input(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: inline
steps:
  - {name: list, plugin: core, capability: echo, inputs: {rows: [{a: 1}, {a: 2}, {a: 3}]}}
  - name: use
    plugin: wftools
    capability: count
    depends_on: [list]
    inputs: {data: "${steps.list.outputs.rows}"}
    outputs: {records: records}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 0
    assert out["outputs"] == {"records": 3}


def test_same_file_is_stored_once(cli: Cli, workflow_file: Write) -> None:
    """Two map items produce identical files: the run's artifact store keeps one copy."""
    path = workflow_file(
        """
name: dedupe
steps:
  - {name: make, plugin: wftools, capability: table, for_each: [1, 2], inputs: {rows: 4}}
"""
    )
    code, out, err = run_json(cli, path)
    assert code == 0, (out, err)
    store = paths.data_dir() / "workflow-runs" / out["run_id"] / "artifacts"
    stored = [p for p in store.rglob("*.csv")]
    assert len(stored) == 1
    rows = steps_of(out["run_id"])
    given = [json.loads(rows[k]["outputs_json"])["table"] for k in ("make[0]", "make[1]")]
    assert given == [str(stored[0]), str(stored[0])]


@pytest.mark.parametrize("source", ["environment", "vault"])
def test_secrets_reach_the_step_but_never_its_records(
    cli: Cli, workflow_file: Write, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """``${secrets.X}`` reads the environment, else the vault's ``workflows`` scope."""
    if source == "environment":
        monkeypatch.setenv("MY_TOKEN", "s3cr3t-t0ken")
    else:
        from tests.security.test_vault import init_with_key, store

        init_with_key(cli, monkeypatch)
        store(cli, monkeypatch, "workflows", "MY_TOKEN", "s3cr3t-t0ken")
    path = workflow_file(
        """
name: secretive
steps:
  - name: use
    plugin: wftools
    capability: emit
    inputs: {value: "Bearer ${secrets.MY_TOKEN}"}
  - name: check
    plugin: core
    capability: echo
    depends_on: [use]
    if: "steps.use.outputs.value == 'Bearer s3cr3t-t0ken'"
    inputs: {ok: true}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 0
    assert out["steps"] == {"use": "succeeded", "check": "succeeded"}, "the real value flowed"
    rows = steps_of(out["run_id"])
    assert json.loads(rows["use"]["inputs_json"]) == {"value": "Bearer ***", "sleep": 0}
    assert json.loads(rows["use"]["outputs_json"]) == {"value": "Bearer ***"}
    assert "s3cr3t" not in (rows["use"]["command_json"] + rows["use"]["stdout_tail"])
    log = paths.data_dir() / "workflow-runs" / out["run_id"] / "logs" / "use.log"
    assert "s3cr3t" not in log.read_text()


def test_a_failing_fallback_fails_the_run(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: double-fault
steps:
  - name: primary
    plugin: wftools
    capability: fail
    inputs: {message: primary is down}
    on_error: {fallback: backup}
  - {name: backup, plugin: wftools, capability: fail, inputs: {message: backup is down too}}
  - {name: after, plugin: wftools, capability: emit, depends_on: [primary]}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 1
    assert out["error"] == "step 'primary' failed: exited with status 3: backup is down too"
    assert out["steps"] == {"primary": "failed", "after": "skipped"}


def test_per_plugin_limit_runs_one_instance_at_a_time(
    cli: Cli, workflow_file: Write, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Independent steps of one plugin, 4 allowed at once overall but 1 for wftools."""
    monkeypatch.setenv("MARK1_WORKFLOW__PLUGIN_LIMITS", '{"wftools": 1}')
    path = workflow_file(
        """
name: limited
steps:
  - {name: a, plugin: wftools, capability: slow, inputs: {seconds: 0.3, tag: a}}
  - {name: b, plugin: wftools, capability: slow, inputs: {seconds: 0.3, tag: b}}
  - {name: c, plugin: wftools, capability: slow, inputs: {seconds: 0.3, tag: c}}
"""
    )
    code, out, _ = run_json(cli, path, "--parallel", "4", "--no-cache")
    assert code == 0
    spans = sorted((r["started_at"], r["finished_at"]) for r in steps_of(out["run_id"]).values())
    assert all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1))


def test_a_produced_symlink_to_an_outside_file_is_refused(
    cli: Cli, workflow_file: Write, tmp_path: Path
) -> None:
    """Mark-1 collects step files unconfined: it must not read or lock a file for a plugin."""
    secret = tmp_path / "private.txt"
    secret.write_text("only mine")
    secret.chmod(0o640)
    path = workflow_file(
        f"""
name: sneaky
steps:
  - {{name: grab, plugin: wftools, capability: sneaky, inputs: {{target: "{secret}"}}}}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 1
    error = steps_of(out["run_id"])["grab"]["error"]
    assert error.endswith("which is a symbolic link or lies outside its own folder: refused")
    assert secret.stat().st_mode & 0o777 == 0o640
    store = paths.data_dir() / "workflow-runs" / out["run_id"] / "artifacts"
    assert not store.exists() or not any(p.is_file() for p in store.rglob("*"))


def test_cached_results_take_each_steps_own_output_names(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """
name: aliases
steps:
  - {name: a, plugin: wftools, capability: emit, inputs: {value: same}, outputs: {first: value}}
  - name: b
    plugin: wftools
    capability: emit
    depends_on: [a]
    inputs: {value: same}
    outputs: {second: value}
  - name: both
    plugin: core
    capability: echo
    depends_on: [b]
    inputs: {pair: ["${steps.a.outputs.first}", "${steps.b.outputs.second}"]}
    outputs: {pair: pair}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 0
    assert out["outputs"] == {"first": "same", "second": "same", "pair": ["same", "same"]}
    assert steps_of(out["run_id"])["b"]["cached"] == 1


def test_a_glob_may_be_absolute(cli: Cli, workflow_file: Write, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.csv").write_text("a\n")
    path = workflow_file(
        f"""
name: absolute
steps:
  - name: each
    plugin: core
    capability: echo
    for_each: {{glob: "{tmp_path}/in/*.csv"}}
    inputs: {{file: "${{item}}"}}
    outputs: {{file: file}}
"""
    )
    code, out, _ = run_json(cli, path)
    assert code == 0
    assert out["outputs"] == {"file": [str(tmp_path / "in" / "x.csv")]}
