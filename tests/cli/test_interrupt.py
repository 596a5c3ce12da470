"""Ctrl-C on a real `mark1 run` process: the plugin stops and the run is recorded cancelled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable

from tests.cli.test_run import TOOLBOX, TOOLBOX_MANIFEST
from tests.conftest import CliResult, Repo


def test_ctrl_c_cancels_and_records(
    make_repo: Callable[..., Repo], cli: Callable[..., CliResult], mark1_exe: str
) -> None:
    repo = make_repo("toolbox", {"mark1.plugin.yml": TOOLBOX_MANIFEST, "tool.py": TOOLBOX})
    assert cli("plugin", "install", str(repo.path)).code == 0
    proc = subprocess.Popen(
        [mark1_exe, "run", "toolbox.nap"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "going to sleep\n"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    run = json.loads(cli("runs", "list", "--json").out)[0]
    assert run["status"] == "cancelled"
    step = json.loads(cli("runs", "show", run["id"], "--json").out)["steps"][0]
    assert step["status"] == "cancelled"
    sleepers = subprocess.run(
        ["pgrep", "-f", f"{repo.path.name}.*tool.py nap"], capture_output=True, text=True
    )
    assert sleepers.stdout == "", "the plugin process was killed"
