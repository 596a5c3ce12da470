"""`mark1 plugin install` at a terminal: the analysis is shown, then the question is asked.

A real pseudo-terminal stands in for the person (stdin is a TTY, so Mark-1 asks instead of
demanding --yes); the answers are typed into it.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import git
from tests.plugins.analysis.conftest import write_tree
from tests.plugins.analysis.forms import FORMS

MARK1 = str(Path(sys.executable).parent / "mark1")
QUESTION = b"Install it with this manifest?"


def converse(argv: list[str], answer: bytes, deadline: float = 120.0) -> tuple[int, str]:
    """Run ``argv`` on a pseudo-terminal, type ``answer`` once the question shows, and return
    the exit status and everything it printed."""
    main, child = pty.openpty()
    proc = subprocess.Popen(argv, stdin=child, stdout=child, stderr=child, close_fds=True)
    os.close(child)
    seen, answered = b"", False
    until = time.monotonic() + deadline
    try:
        while time.monotonic() < until:
            ready, _, _ = select.select([main], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(main, 65536)
                except OSError:  # the child closed the terminal
                    break
                seen += chunk
                if not answered and QUESTION in seen:
                    os.write(main, answer)
                    answered = True
            elif proc.poll() is not None:
                break
        return proc.wait(timeout=10), seen.decode(errors="replace")
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def repository(tmp_path: Path) -> Path:
    folder = write_tree(tmp_path / "jsonpick", FORMS["node-bin"])
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "initial")
    return folder


def test_the_analysis_is_shown_and_yes_installs(tmp_path: Path) -> None:
    code, said = converse([MARK1, "plugin", "install", str(repository(tmp_path))], b"y\n")
    assert code == 0, said
    before = said.index("Install it with this manifest?")
    assert "verdict: can become a plugin" in said[:before]
    assert "proposed manifest (mark1.plugin.yml)" in said[:before]
    assert "node_bin jsonpick: node bin/jsonpick.js" in said[:before]
    assert "installed jsonpick 2.0.1" in said[before:]


def test_no_installs_nothing(tmp_path: Path) -> None:
    code, said = converse([MARK1, "plugin", "install", str(repository(tmp_path))], b"n\n")
    assert code == 130, said  # declined: like an interrupt, nothing was done
    listed = subprocess.run([MARK1, "plugin", "list"], capture_output=True, text=True, check=True)
    assert "No plugins installed" in listed.stdout
