"""What confining a ``cli`` step costs: the sandboxed adapter beside a bare subprocess.

Why: every plugin run goes through bubblewrap, rlimits and per-run cgroups; the issue's
target is under +10 ms per call over a bare ``subprocess.run`` of the same command. One short
command (``/bin/true``) is run, interleaved, in four ways:

* ``subprocess.run``: the baseline;
* ``run_process``: Mark-1's process runner alone (process group, pipes, wait4);
* ``cli adapter, trusted``: the whole adapter without a sandbox;
* ``cli adapter, sandboxed``: the whole adapter in bwrap with the default policy.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.base import CapabilitySpec, RunContext  # noqa: E402
from adapters.process import run_process  # noqa: E402
from adapters.sandbox import SandboxPolicy, bwrap_problem  # noqa: E402
from adapters.subprocess_cli import CliAdapter  # noqa: E402

TARGET_MS = 10.0
REPS = 60
COMMAND = ["/bin/true"]


async def main_async() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        spec = CapabilitySpec(
            plugin="bench", name="true", entry={"type": "cli", "command": COMMAND}, source_dir=work
        )
        adapter = CliAdapter()
        policy = SandboxPolicy(workdir=work, hidden=(Path.home(),))

        async def bare() -> None:
            await asyncio.to_thread(subprocess.run, COMMAND, check=True)

        async def runner() -> None:
            await run_process(COMMAND, cwd=work, env={"PATH": "/usr/bin:/bin"}, timeout=30)

        async def trusted() -> None:
            result = await adapter.execute(spec, {}, RunContext(workdir=work, timeout=30))
            assert result.ok, result.error

        async def sandboxed() -> None:
            context = RunContext(workdir=work, timeout=30, sandbox=policy)
            result = await adapter.execute(spec, {}, context)
            assert result.ok, result.error

        ways: dict[str, Callable[[], Awaitable[None]]] = {
            "subprocess.run": bare,
            "run_process": runner,
            "cli adapter, trusted": trusted,
            "cli adapter, sandboxed": sandboxed,
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        for rep in range(REPS + 5):
            for name, way in ways.items():
                start = time.perf_counter()
                await way()
                if rep >= 5:
                    times[name].append((time.perf_counter() - start) * 1000)
    base = statistics.median(times["subprocess.run"])
    print(f"Sandbox overhead of one cli step ({REPS} runs each, interleaved, after 5 warm-up)")
    print(f"{'way':<26} {'median ms':>10} {'min ms':>8} {'+ms over bare':>14}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:<26} {med:>10.2f} {min(values):>8.2f} {med - base:>14.2f}")
    extra = statistics.median(times["cli adapter, sandboxed"]) - base
    verdict = "MEETS" if extra < TARGET_MS else "MISSES"
    print(
        f"sandboxed step: +{extra:.2f} ms over subprocess.run -> {verdict} the < +{TARGET_MS:g} ms target"
    )
    if bwrap_problem():
        print(
            f"note: bwrap is not usable here ({bwrap_problem()}): the sandboxed row ran unconfined"
        )


def main() -> None:
    asyncio.run(main_async())


if __name__ == "__main__":
    main()
