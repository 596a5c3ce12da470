"""Run cgroups: kept and reused during a workflow run, reset between runs, removed after;
left-overs of a killed Mark-1 swept, a live one's kept groups never.

Real cgroup v1 folders under /sys/fs/cgroup: these tests need root and the pids controller.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from adapters import cgroups
from adapters.cgroups import RunCgroups, reusing_cgroups, run_cgroups

pytestmark = pytest.mark.skipif(
    not os.access(cgroups.CGROUP_ROOT / "pids", os.W_OK), reason="needs root and a pids cgroup"
)

BURN = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"


def run_inside(groups: RunCgroups, script: str) -> None:
    """Run ``script`` in a shell that first joins ``groups``, as the sandbox's launcher does."""
    joins = "; ".join(f"echo $$ > {f}" for f in groups.procs_files())
    subprocess.run(["/bin/sh", "-c", f"{joins}; {script}"], check=True)


def test_groups_are_reused_with_counters_reset_and_removed_at_the_end() -> None:
    with reusing_cgroups():
        first = run_cgroups(10)
        folders = list(first.groups.values())
        run_inside(first, BURN)
        burned = first.usage().get("cpu_s", 0.0)
        first.close()
        again = run_cgroups(20)
        assert list(again.groups.values()) == folders, "the same groups, not new ones"
        assert (folders[0] / "pids.max").read_text().strip() == "20", "the new process cap"
        if "cpuacct" in again.groups:
            assert burned > 0.01 and again.usage()["cpu_s"] < burned / 10, "CPU starts again"
        run_inside(again, "true")
        again.close()
    assert not any(folder.exists() for folder in folders), "removed when the run ends"


def test_outside_a_workflow_run_groups_are_removed_when_closed() -> None:
    groups = run_cgroups(5)
    folders = list(groups.groups.values())
    run_inside(groups, "true")
    groups.close()
    assert not any(folder.exists() for folder in folders)


def test_the_sweep_removes_a_dead_owners_groups_and_keeps_a_live_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cgroups, "ABANDONED_AFTER", -1.0)
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid now names nobody (reuse within the test is all but impossible)
    made = int(time.time()) - 3600
    names = {
        "live": f"mark1-{made}-{os.getpid()}-aaaa0001",
        "dead": f"mark1-{made}-{dead.pid}-aaaa0002",
        "old-style": f"mark1-{made}-aaaa0003",
    }
    folders = {k: cgroups.CGROUP_ROOT / "pids" / name for k, name in names.items()}
    for folder in folders.values():
        folder.mkdir()
    try:
        cgroups.sweep_abandoned_cgroups.__wrapped__()
        assert folders["live"].exists(), "a running Mark-1's kept group stays"
        assert not folders["dead"].exists()
        assert not folders["old-style"].exists()
    finally:
        for folder in folders.values():
            if folder.exists():
                folder.rmdir()


def test_a_group_that_cannot_be_emptied_is_not_kept() -> None:
    """A group with a group of its own inside (made by an engine, e.g. podman) is not handed to
    the next run: it is removed, the inner one first."""
    with reusing_cgroups():
        groups = run_cgroups(5)
        folders = list(groups.groups.values())
        (folders[0] / "inner").mkdir()
        groups.close()
        fresh = run_cgroups(5)
        assert list(fresh.groups.values()) != folders
        fresh.close()
    assert not any(folder.exists() for folder in folders)
