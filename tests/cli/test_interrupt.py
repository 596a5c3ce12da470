"""Ctrl-C, SIGTERM and SIGHUP on a real `mark1 run`: the plugin stops, the run is recorded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, Repo, gone_within

NAP_MANIFEST = """\
schema_version: "1.0"
plugin: {name: napper}
capabilities: [{name: nap, env: [NAP_PID_FILE]}]
entry_points: [{capability: nap, type: cli, command: python nap.py}]
"""

NAP = """\
import os, time
open(os.environ["NAP_PID_FILE"], "w").write(str(os.getpid()))
print("going to sleep", flush=True)
time.sleep(600)
"""


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
    tmp_path: Path,
    sig: signal.Signals,
    code: int,
    phrase: str,
) -> None:
    repo = make_repo("napper", {"mark1.plugin.yml": NAP_MANIFEST, "nap.py": NAP})
    assert cli("plugin", "install", str(repo.path)).code == 0
    pid_file = tmp_path / "plugin.pid"
    env = {**os.environ, "NAP_PID_FILE": str(pid_file)}
    proc = subprocess.Popen(
        [mark1_exe, "run", "napper.nap"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "going to sleep\n"
    plugin_pid = int(pid_file.read_text())
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert phrase in err
    run = json.loads(cli("runs", "list", "--json").out)[0]
    assert run["status"] == "cancelled"
    step = json.loads(cli("runs", "show", run["id"], "--json").out)["steps"][0]
    assert step["status"] == "cancelled"
    assert gone_within(plugin_pid), f"plugin process {plugin_pid} survived {sig.name}"
