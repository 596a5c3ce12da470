"""How quickly ``mark1-assistant`` paints and how quickly it echoes keys while a run streams.

Why: the chat window must feel like a terminal program, not a web page: it should paint about
as fast as any small Textual app, and typing must stay instant while a workflow step floods it
with progress.

* First paint: each app is started as its own process on a pseudo-terminal of 100x30 (the real
  Linux driver, writing escape codes to a terminal), by this same script in ``--child`` mode, so
  both pay the same interpreter start-up and harness. The child waits until the app's screen has
  its Footer mounted and one refresh has gone out, writes the wall-clock time and exits; the
  figure is that time minus the moment the parent started the process. The baseline is a minimal
  Textual app (Header, Markdown, Input, Footer). Runs alternate after warm-up; median and min.
  Target: ``mark1-assistant`` within 2x of the minimal app.
* Input-to-echo latency: in this process, headless through Textual's Pilot, a key event is
  posted to the app and the time until the prompt's value holds the character is taken, once
  with nothing running and once while a step reports progress (``MARK1_PROGRESS`` lines) about
  every millisecond. Median and p95.

What is faked: only the model, at the protocol boundary: the scripted OpenAI-compatible server
of the tests (a real HTTP server on loopback) proposes the one-step plan. The plugin is a real
git repository installed with ``mark1 plugin install``; its step runs for real. Everything runs
in a temporary MARK1_HOME.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _util import PYTHON, mark1_exe, median, ms, table  # noqa: E402

TARGET_RATIO = 2.0
COLUMNS, ROWS = 100, 30
TICKER_MANIFEST = """\
schema_version: "1.0"
plugin: {name: ticker, version: 1.0.0, description: Reports its progress very often}
capabilities:
  - name: tick
    description: Prints COUNT progress lines, one every EVERY seconds
    side_effects: read-only
    parameters:
      type: object
      required: [count]
      properties: {count: {type: integer}, every: {type: number}}
    stdout: json
entry_points:
  - {capability: tick, type: cli, command: python tick.py}
"""
TICKER = """\
import json, sys, time
if "--help" in sys.argv:
    sys.exit(print("usage: tick.py --count N [--every SECONDS]"))
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
count, every = int(args["--count"]), float(args.get("--every", 0.001))
for i in range(count):
    print(f'MARK1_PROGRESS {100 * i / count:.1f} "tick {i}"', flush=True)
    time.sleep(every)
print(json.dumps({"ticks": count}))
"""


# --- first paint ---------------------------------------------------------------------------


def child(which: str, out: str) -> None:
    """Run one app until its first paint, then write the time to ``out`` and exit."""
    from textual.app import App, ComposeResult
    from textual.pilot import Pilot
    from textual.widgets import Footer, Header, Input, Markdown

    class Minimal(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Markdown("# Hello\n\nA *minimal* Textual app: header, markdown, input, footer.")
            yield Input(placeholder="Type here")
            yield Footer()

    app: App[Any]
    if which == "mark1":
        from assistant.tui.app import AssistantApp

        app = AssistantApp()
    else:
        app = Minimal()

    async def painted(pilot: Pilot[Any]) -> None:
        while not pilot.app.screen.query(Footer):
            await asyncio.sleep(0.001)
        refreshed = asyncio.Event()
        pilot.app.screen.call_after_refresh(refreshed.set)
        await refreshed.wait()
        Path(out).write_text(repr(time.time()))
        pilot.app.exit()

    app.run(auto_pilot=painted)


def first_paint_once(which: str, env: dict[str, str], tmp: Path) -> float:
    """Seconds from starting the child process to its first paint, on a fresh pty."""
    out = tmp / f"painted-{which}"
    out.unlink(missing_ok=True)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))

    def drain() -> None:  # the terminal: read whatever the app writes until it closes
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    started = time.time()
    proc = subprocess.Popen(
        [PYTHON, __file__, "--child", which, str(out)],
        stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True,
    )  # fmt: skip
    os.close(slave)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(timeout=5)
    os.close(master)
    if not out.exists():
        sys.exit(f"{which}: the app never painted (exit status {proc.returncode})")
    return float(out.read_text()) - started


def first_paint(env: dict[str, str], tmp: Path, reps: int, warmup: int) -> dict[str, list[float]]:
    for _ in range(warmup):
        for which in ("minimal", "mark1"):
            first_paint_once(which, env, tmp)
    times: dict[str, list[float]] = {"minimal": [], "mark1": []}
    for _ in range(reps):
        for which in times:
            times[which].append(first_paint_once(which, env, tmp))
    return times


# --- input-to-echo latency -----------------------------------------------------------------


def install_ticker(tmp: Path, env: dict[str, str]) -> None:
    repo = tmp / "ticker"
    repo.mkdir()
    (repo / "mark1.plugin.yml").write_text(TICKER_MANIFEST)
    (repo / "tick.py").write_text(TICKER)
    git_env = {**env, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid",
               "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid"}  # fmt: skip
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "ticker"]):
        subprocess.run(["git", *argv], cwd=repo, env=git_env, check=True)
    done = subprocess.run(
        [mark1_exe(), "plugin", "install", str(repo), "--yes"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"installing the ticker plugin failed:\n{done.stderr}")


async def echo_latencies(app: Any, count: int) -> list[float]:
    """Post ``count`` key events to the app, one at a time, timing each until it is echoed."""
    from textual import events

    prompt = app.screen.query_one("#prompt")
    prompt.focus()
    latencies = []
    for i in range(count):
        char = "abcdefghij"[i % 10]
        before = prompt.text
        key = events.Key(char, char)
        started = time.perf_counter()
        app.post_message(key)
        deadline = started + 10
        while prompt.text == before:
            if time.perf_counter() > deadline:
                raise RuntimeError("a key was never echoed")
            await asyncio.sleep(0)
        latencies.append(time.perf_counter() - started)
        if len(prompt.text) > 40:
            prompt.value = ""
        await asyncio.sleep(0.01)  # typing speed: keys are not sent back to back
    prompt.value = ""
    return latencies


async def wait_for(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"never got to: {what}")
        await asyncio.sleep(0.01)


async def typing_during_a_run(keys: int) -> tuple[list[float], list[float], float]:
    """Echo latencies idle and while a step streams progress; progress events/s in the latter."""
    from assistant.tui.app import AssistantApp
    from assistant.tui.screens.chat import ChatScreen
    from assistant.tui.screens.plan import PlanScreen
    from assistant.tui.widgets.progress import ProgressPanel
    from assistant.tui.widgets.prompt import PromptArea
    from tests.agent.openai_server import Reply, ScriptedModelServer

    with ScriptedModelServer() as server:
        os.environ["OPENAI_BASE_URL"] = server.base_url
        os.environ["MARK1_MODEL"] = "scripted"
        step = {"name": "tick", "plugin": "ticker", "capability": "tick",
                "inputs": {"count": 60000, "every": 0.001}}  # fmt: skip
        server.script(
            Reply.tool_calls(("propose_plan", {"goal": "tick", "steps": [step]})),
            Reply.text("Stopped."),
        )
        app = AssistantApp()
        async with app.run_test(size=(COLUMNS, ROWS)) as pilot:
            await app.agent()
            await pilot.pause()
            await echo_latencies(app, 10)  # warm-up
            idle = await echo_latencies(app, keys)

            chat = app.screen
            assert isinstance(chat, ChatScreen)
            progress = chat.query_one("#progress", ProgressPanel)
            seen = [0]
            track = progress.track

            def counting(event: Any) -> None:
                seen[0] += type(event).__name__ == "StepProgress"
                track(event)

            progress.track = counting  # type: ignore[method-assign]
            prompt = chat.query_one("#prompt", PromptArea)
            prompt.value = "tick for a minute"
            await pilot.press("enter")
            await wait_for(lambda: isinstance(app.screen, PlanScreen), 30, "the plan")
            await pilot.press("y")
            await wait_for(lambda: seen[0] > 200, 60, "progress streaming")
            before, started = seen[0], time.perf_counter()
            busy = await echo_latencies(app, keys)
            rate = (seen[0] - before) / (time.perf_counter() - started)
            if not app.turn_running:
                raise RuntimeError("the run ended before the measurement did: make it longer")
            chat.action_stop()
            await wait_for(lambda: not app.turn_running, 30, "the run stopped")
    return idle, busy, rate


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("APP", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("-n", "--reps", type=int, default=10, help="timed starts of each (10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed starts first (2)")
    parser.add_argument("--keys", type=int, default=100, help="keys timed per case (100)")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    with tempfile.TemporaryDirectory(prefix="mark1-bench-tui-") as name:
        tmp = Path(name)
        os.environ["MARK1_HOME"] = str(tmp / "home")
        for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MARK1_MODEL", "NO_COLOR"):
            os.environ.pop(var, None)
        env = {**os.environ, "TERM": "xterm-256color"}
        os.chdir(tmp)

        times = first_paint(env, tmp, args.reps, args.warmup)
        install_ticker(tmp, env)
        idle, busy, rate = asyncio.run(typing_during_a_run(args.keys))

    base, ours = median(times["minimal"]), median(times["mark1"])
    assert base is not None and ours is not None
    r = ours / base
    print(
        table(
            ["figure", "mark1-assistant", "baseline", "ratio", "target"],
            [
                [
                    f"start to first paint, median of {args.reps} (ms)",
                    ms(ours),
                    f"minimal app {ms(base)}",
                    f"{r:.2f}x",
                    f"<= {TARGET_RATIO:g}x",
                ],
                [
                    "start to first paint, min (ms)",
                    ms(min(times["mark1"])),
                    f"minimal app {ms(min(times['minimal']))}",
                    f"{min(times['mark1']) / min(times['minimal']):.2f}x",
                    "",
                ],
                [
                    f"key to echo, median of {args.keys} (ms)",
                    f"{ms(statistics.median(busy))} during run",
                    f"idle {ms(statistics.median(idle))}",
                    f"{statistics.median(busy) / statistics.median(idle):.2f}x",
                    "",
                ],
                [
                    "key to echo, p95 (ms)",
                    f"{ms(p95(busy))} during run",
                    f"idle {ms(p95(idle))}",
                    f"{p95(busy) / p95(idle):.2f}x",
                    "",
                ],
            ],
            title=f"TUI (bench/bench_tui.py; pty {COLUMNS}x{ROWS}; during run: a step "
            f"reporting {rate:.0f} progress events/s)",
        )
    )
    verdict = "MEETS" if r <= TARGET_RATIO else "MISSES"
    print(f"\nfirst paint: mark1-assistant is {r:.2f}x the minimal app -> {verdict} the target")


if __name__ == "__main__":
    main()
