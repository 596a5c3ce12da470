"""``mark1-assistant`` in a real terminal: the installed console script started in a detached
tmux session of 100x30, read back with ``capture-pane`` and typed into with ``send-keys``.

Why: the Pilot tests drive the app inside pytest's process, headless; this one proves the
shipped entry point starts in a terminal, paints, reads keys (including ctrl+q, which a terminal
left in flow-control mode would swallow) and exits cleanly, as a person would use it.

Nothing is faked: no model is configured, so the app plans with the offline planner; the plugin
is the real ``csv-processor`` example installed from ``examples/``. The tmux server is a private
one (its own socket, no user configuration), killed at the end whatever happens.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, CliResult

ASSISTANT = Path(sys.executable).parent / "mark1-assistant"
TMUX = shutil.which("tmux")
EXITED = "mark1-assistant exited with status"

pytestmark = pytest.mark.skipif(
    TMUX is None, reason="tmux is not installed (scripts/setup installs it when run as root)"
)


@dataclass
class Pane:
    """The one pane of a detached session on a private tmux server."""

    socket: str
    session: str
    env: dict[str, str]

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run(
            [TMUX, "-L", self.socket, "-f", os.devnull, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, f"tmux {' '.join(args)}: {done.stderr}"
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def info(self, fmt: str) -> str:
        return self.tmux("display-message", "-p", "-t", self.session, fmt).strip()

    def wait_for(self, check: Callable[[str], bool], what: str, seconds: float = 60.0) -> str:
        """Poll the screen until ``check`` holds; fail with the screen shown otherwise."""
        deadline = time.monotonic() + seconds
        while True:
            text = self.screen()
            if check(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {what} within {seconds:g}s; the screen:\n{text}")
            time.sleep(0.1)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def press(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)


@pytest.fixture
def pane(tmp_path: Path, mark1_home: Path) -> Iterator[Callable[[Path], Pane]]:
    """Starts ``mark1-assistant`` in a folder; the tmux server is killed afterwards."""
    assert ASSISTANT.exists(), f"{ASSISTANT} missing: install the project (./scripts/setup)"
    # The app must plan offline whatever the developer's shell holds: no model settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TMUX"))}
    socket = f"mark1-smoke-{os.getpid()}-{tmp_path.name}"
    started: list[Pane] = []
    sockets: list[Path] = []

    def start(folder: Path) -> Pane:
        p = Pane(socket, "assistant", env)
        p.tmux(
            "new-session", "-d", "-s", p.session, "-x", "100", "-y", "30", "-c", str(folder),
            "-e", f"MARK1_HOME={mark1_home}",
            # the shell waits for the app and says how it ended, which proves it is gone, then
            # keeps the pane open to be read (tmux's own remain-on-exit was not reliable here:
            # #{pane_dead_status} was sometimes never filled in, the app left a zombie)
            "sh", "-c", f'"$0"; echo "{EXITED} $?"; exec sleep 600', str(ASSISTANT),
        )  # fmt: skip
        started.append(p)
        sockets.append(Path(p.info("#{socket_path}")))
        return p

    try:
        yield start
    finally:
        for p in started:
            subprocess.run(
                [TMUX or "tmux", "-L", p.socket, "kill-server"], env=env, capture_output=True
            )
        for path in sockets:
            path.unlink(missing_ok=True)


def test_the_assistant_starts_plans_and_quits_in_a_terminal(
    pane: Callable[[Path], Pane], cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    assert cli("plugin", "install", str(EXAMPLES / "csv-processor"), "--yes").code == 0
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(EXAMPLES / "workflows" / "sales.csv", work / "sales.csv")

    p = pane(work)
    p.wait_for(lambda s: "offline planner · ready" in s, "the offline planner ready")

    p.type("/help")
    p.press("Enter")
    p.wait_for(lambda s: "/memory TEXT search memory" in s, "the help text")

    p.type("clean sales.csv")
    p.press("Enter")
    plan = p.wait_for(lambda s: "Proceed?" in s, "the plan dialog")
    assert "csv-processor" in plan

    p.press("C-q")  # the turn waits on the plan: quitting asks first
    p.wait_for(lambda s: "Stop it and quit?" in s, "the quit confirmation", 15)
    p.press("y")
    ended = p.wait_for(lambda s: EXITED in s, "the app exit", 15)
    assert f"{EXITED} 0" in ended, ended
