"""Ctrl-C, SIGTERM and SIGHUP on a real `mark1 run`: the plugin stops, the run is recorded."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, Repo, gone_within

NAP_MANIFEST = """\
schema_version: "1.0"
plugin: {name: napper}
capabilities: [{name: nap}]
entry_points: [{capability: nap, type: cli, command: python nap.py}]
"""

NAP = """\
import time
print("going to sleep", flush=True)
time.sleep(600)
"""


def processes_mentioning(text: str) -> list[int]:
    """Host pids whose command line contains ``text`` (the plugin, and bwrap around it)."""
    done = subprocess.run(["pgrep", "-f", text], capture_output=True, text=True, check=False)
    return [int(pid) for pid in done.stdout.split()]


@pytest.mark.parametrize(
    ("sig", "code", "phrase"),
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "stopped by SIGTERM"),
        (signal.SIGHUP, 129, "stopped by SIGHUP"),
    ],
)
def test_signals_stop_the_plugin_and_record_the_run(
    make_repo: Callable[..., Repo],
    cli: Callable[..., CliResult],
    mark1_exe: str,
    mark1_home: Path,
    sig: signal.Signals,
    code: int,
    phrase: str,
) -> None:
    repo = make_repo("napper", {"mark1.plugin.yml": NAP_MANIFEST, "nap.py": NAP})
    assert cli("plugin", "install", str(repo.path)).code == 0
    proc = subprocess.Popen(
        [mark1_exe, "run", "napper.nap"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "going to sleep\n"
        plugin_pids = processes_mentioning(str(mark1_home))
        assert plugin_pids, "the plugin process is visible from the host"
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()  # a failed assertion above must not leave a 10-minute sleeper behind
    assert proc.returncode == code, err
    assert phrase in err
    run = json.loads(cli("runs", "list", "--json").out)[0]
    assert run["status"] == "cancelled"
    step = json.loads(cli("runs", "show", run["id"], "--json").out)["steps"][0]
    assert step["status"] == "cancelled"
    survivors = [pid for pid in plugin_pids if not gone_within(pid)]
    assert survivors == [], f"{survivors} survived {sig.name}"


def test_a_detached_run_goes_on_in_the_background_and_stops_on_request(
    make_repo: Callable[..., Repo], cli: Callable[..., CliResult], mark1_home: Path
) -> None:
    repo = make_repo("napper", {"mark1.plugin.yml": NAP_MANIFEST, "nap.py": NAP})
    assert cli("plugin", "install", str(repo.path)).code == 0
    started = cli("run", "napper.nap", "--detach", "--json")
    assert started.code == 0, started.err
    run_id = json.loads(started.out)["run_id"]
    log = Path(json.loads(started.out)["log"])
    try:
        deadline = time.monotonic() + 30  # the background process announces itself in its log
        while not (log.exists() and "going to sleep" in log.read_text()):
            assert time.monotonic() < deadline, "the detached run did not start"
            time.sleep(0.05)
        shown = json.loads(cli("runs", "show", run_id, "--json").out)
        assert shown["status"] == "running"
        plugin_pids = processes_mentioning(str(mark1_home / "data"))
    finally:
        stopped = cli("runs", "stop", run_id, "--json")  # never leave a sleeper behind
    assert json.loads(stopped.out)["status"] == "cancelled"
    assert [pid for pid in plugin_pids if not gone_within(pid)] == []
