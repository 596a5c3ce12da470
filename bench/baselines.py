"""What the workflow engine is compared with: bare launches, bare bwrap and Prefect 3.

Why: the issue's targets are relative (1,000 ``cli`` steps within 1.5x of as many bare launches,
a 100-step workflow at least 10x faster than the same Prefect flow, ...). Figures quoted from
another day or machine mean little beside ours, so ``bench_workflow.py`` measures these in the
same run as Mark-1's engine. Nothing here imports Mark-1: a baseline must not share code with
what it is compared with. Every function prints nothing; failures raise ``RuntimeError`` with
what happened, and ``prefect_env`` returns None with the reason in ``prefect_problem()``.

The launch functions call ``asyncio.run``: from async code, call them through
``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _util import rmtree, uv_exe

PREFECT_REQUIREMENT = "prefect>=3,<4"
FLOW_SCRIPT = Path(__file__).resolve().with_name("baseline_prefect_flow.py")
INSTALL_TIMEOUT = 900
FLOW_TIMEOUT = 600
READY_MARKER = ".mark1-bench-ready"


def bare_launches(argv: list[str], count: int = 1000, concurrency: int = 2) -> float:
    """Wall seconds to run ``argv`` ``count`` times, at most ``concurrency`` at once.

    The floor for ``cli`` steps without a sandbox: asyncio subprocesses with stdout and stderr
    piped and read to the end, as any runner must."""
    return asyncio.run(_launch_many(argv, count, concurrency, cwd=None))


def bare_bwrap_launches(
    argv: list[str], workdir: Path, count: int = 1000, concurrency: int = 2
) -> float:
    """Wall seconds for ``bare_launches`` with each run confined by bwrap, ``workdir`` writable.

    The floor for sandboxed ``cli`` steps: the namespaces and mounts a confinement needs, with
    none of the engine's policy, rlimits or cgroups."""
    exe = shutil.which("bwrap")
    if exe is None:
        raise RuntimeError("bwrap not found: apt-get install bubblewrap")
    ws = str(workdir.resolve())
    wrapped = [
        exe,
        *("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"),
        *("--bind", ws, ws, "--unshare-net", "--unshare-pid", "--die-with-parent", "--clearenv"),
        "--",
        *argv,
    ]
    return asyncio.run(_launch_many(wrapped, count, concurrency, cwd=workdir))


async def _launch_many(
    argv: Sequence[str], count: int, concurrency: int, cwd: Path | None
) -> float:
    gate = asyncio.Semaphore(concurrency)
    failures: list[str] = []

    async def launch() -> None:
        async with gate:
            if failures:
                return
            try:
                process = await asyncio.create_subprocess_exec(
                    *argv,
                    cwd=cwd,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
            except OSError as exc:
                failures.append(f"cannot start: {exc}")
                return
            _, err = await process.communicate()
        if process.returncode != 0:
            failures.append(f"exited {process.returncode}: {err.decode(errors='replace')[-500:]}")

    start = time.perf_counter()
    await asyncio.gather(*(launch() for _ in range(count)))
    elapsed = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"baseline command {list(argv)} {failures[0].strip()}")
    return elapsed


def prefect_env() -> Path | None:
    """The python of a venv with Prefect 3, built on first use; None if it cannot be built.

    Prefect is the baseline, not a dependency, so it gets its own venv in a cache folder
    (``$MARK1_BENCH_CACHE`` or ``~/.cache/mark1-bench``) that later runs reuse."""
    return _prefect_build()[0]


def prefect_problem() -> str | None:
    """Why ``prefect_env()`` returned None (what failed and what to do), else None."""
    return _prefect_build()[1]


@functools.cache
def _prefect_build() -> tuple[Path | None, str | None]:
    cache = Path(os.environ.get("MARK1_BENCH_CACHE") or Path.home() / ".cache" / "mark1-bench")
    venv = cache / "prefect3"
    python = venv / "bin" / "python"
    if (venv / READY_MARKER).is_file() and python.is_file():
        return python, None
    rmtree(venv)
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return None, f"cannot create the benchmark cache {cache}: {exc}; set MARK1_BENCH_CACHE"
    uv = uv_exe()
    steps = [
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python)]
        + [PREFECT_REQUIREMENT],
        [str(python), "-c", "import prefect, sys; sys.exit(prefect.__version__[0] != '3')"],
    ]
    for argv in steps:
        problem = _problem_running(argv, INSTALL_TIMEOUT)
        if problem:
            rmtree(venv)
            return None, (
                f"cannot build a venv with {PREFECT_REQUIREMENT} in {venv}: {problem}; "
                "check that PyPI is reachable, or set MARK1_BENCH_CACHE to a writable folder"
            )
    (venv / READY_MARKER).write_text(PREFECT_REQUIREMENT + "\n")
    return python, None


def prefect_per_task_overhead(python: Path, tasks: int = 200) -> float:
    """Prefect 3's seconds per trivial in-process task inside a running flow, start-up excluded.

    The baseline for the engine's per-step overhead: inside one flow body, ``tasks`` task calls
    minus the same loop calling the plain function, divided by ``tasks``. A first flow in the
    same process starts the ephemeral server, so neither imports nor start-up count."""
    with tempfile.TemporaryDirectory(prefix="mark1-prefect-", ignore_cleanup_errors=True) as home:
        output = _run_flow(python, ["--per-task", str(tasks)], Path(home))
    lines = [line for line in output.splitlines() if line.startswith("{")]
    try:
        figures = json.loads(lines[-1])
        return (float(figures["flow"]) - float(figures["empty_loop"])) / tasks
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(
            f"{FLOW_SCRIPT.name} --per-task printed no timings on stdout: {output[-500:]!r}"
        ) from exc


def prefect_flow_process(python: Path, tasks: int = 100) -> float:
    """Wall seconds of a whole Prefect process running ``tasks`` trivial sequential tasks.

    What a user waits for, interpreter start to exit, the ephemeral server included. A first,
    untimed run creates Prefect's database in the throw-away PREFECT_HOME, as any earlier use of
    Prefect would have, so the timed run is the one a regular user sees."""
    with tempfile.TemporaryDirectory(prefix="mark1-prefect-", ignore_cleanup_errors=True) as home:
        _run_flow(python, [str(tasks)], Path(home))
        start = time.perf_counter()
        _run_flow(python, [str(tasks)], Path(home))
        return time.perf_counter() - start


def _run_flow(python: Path, args: list[str], home: Path) -> str:
    """Run the flow script in its own session and return its stdout; raise if it fails.

    Prefect starts its ephemeral server as a child process: the whole session is killed at the
    end so no server outlives a timeout or a crash."""
    argv = [str(python), str(FLOW_SCRIPT), *args]
    process = subprocess.Popen(
        argv,
        env=_prefect_environment(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=FLOW_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        _kill_session(process)
        process.communicate()
        raise RuntimeError(f"`{' '.join(argv)}` took over {FLOW_TIMEOUT} s and was killed") from exc
    finally:
        _kill_session(process)
    if process.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` exited {process.returncode}: {err.strip()[-1500:]}")
    return out


def _kill_session(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _prefect_environment(home: Path) -> dict[str, str]:
    """Prefect's defaults (an ephemeral local server) with a throw-away home and nothing sent
    out: no telemetry, no analytics, no API URL or profile inherited from the user."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ALLOW_EPHEMERAL_MODE="true",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY="false",
        DO_NOT_TRACK="1",
    )
    return env


def _problem_running(argv: list[str], timeout: float) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"`{' '.join(argv)}` took over {timeout:g} s"
    except OSError as exc:
        return f"`{' '.join(argv)}` cannot start: {exc}"
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-800:]
        return f"`{' '.join(argv)}` exited {done.returncode}: {output}"
    return None
