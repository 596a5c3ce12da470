"""Scale-out: a map step's items run on the workers of a real Dask cluster on this machine,
one started by `--executor dask` and one already running (`--executor tcp://...`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.workflow.wftools import Cli, run_json

pytestmark = pytest.mark.usefixtures("wftools")

MAP = """
name: fanout
steps:
  - name: square
    plugin: wftools
    capability: emit
    for_each: [1, 2, 3, 4]
    parallel: 4
    inputs: {number: "${item}"}
  - name: total
    plugin: core
    capability: echo
    depends_on: [square]
    inputs: {total: "${steps.square.outputs.number | sum}"}
    outputs: {total: total}
"""
WORKER = re.compile(r"^notice: ran on Dask worker (tcp://127\.0\.0\.1:\d+)$", re.M)


@pytest.fixture
def cluster() -> Iterator[str]:
    """A running Dask cluster (scheduler and two worker processes) on loopback."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as running:
        yield running.scheduler_address


def workers_used(cli: Cli, run_id: str) -> set[str]:
    logs = cli("workflow", "logs", run_id, "square")
    assert logs.code == 0, logs.err
    return set(WORKER.findall(logs.out))


def test_map_step_on_a_local_cluster(cli: Cli, workflow_file: Callable[..., Path]) -> None:
    code, out, err = run_json(cli, workflow_file(MAP), "--executor", "dask", "--no-cache")
    assert code == 0, err
    assert out["outputs"] == {"total": 10.0}
    assert len(workers_used(cli, out["run_id"])) >= 1


def test_map_step_on_an_existing_cluster(
    cli: Cli, workflow_file: Callable[..., Path], cluster: str
) -> None:
    code, out, err = run_json(cli, workflow_file(MAP), "--executor", cluster, "--no-cache")
    assert code == 0, err
    assert out["outputs"] == {"total": 10.0}
    used = workers_used(cli, out["run_id"])
    assert used and all(address != cluster for address in used), "workers, not the scheduler"
    shown = json.loads(cli("workflow", "show", out["run_id"], "--json").out)
    assert [s["status"] for s in shown["steps"]] == ["succeeded"] * 5


def test_an_unreachable_scheduler_is_explained(
    cli: Cli, workflow_file: Callable[..., Path]
) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = cli(
        "workflow", "run", str(workflow_file(MAP)), "--executor", f"tcp://127.0.0.1:{port}"
    )
    assert result.code == 2
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in result.err
    assert "hint: start one (`dask scheduler`" in result.err
