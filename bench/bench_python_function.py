"""How long a trivial ``python_function`` call takes through the adapter, warm, next to the
cost of merely starting the same interpreter.

Why: a ``python_function`` capability is called once per tool call the agent makes, so the
adapter's fixed cost (start the plugin venv's python in the sandbox, send the request as
JSON, import the module, call, send the reply back) is paid again and again. The target is a
warm round-trip of ``add(a, b)`` under 50 ms with the sandbox on (the default).

What is measured: a real plugin (a Git repository with a versioned manifest whose one
capability is ``python_function`` ``benchadd.ops:add``) installed with ``mark1 plugin install``
under a temporary ``MARK1_HOME``. Its spec, sandbox policy and environment come from Mark-1's
own registry and policy code; the adapter is then called directly with asyncio (no CLI, no
run record), so the figure is the adapter's round-trip alone. Warm means after 3 untimed
calls (the file cache holds the interpreter and the plugin's files). Each round times, in
rotating order:

* ``python -c pass``: ``subprocess.run`` of the plugin venv's python doing nothing, the floor
  no out-of-process call can beat;
* ``bwrap python -c pass``: the same inside the sandbox's bwrap command line, the floor of a
  confined call;
* adapter, sandbox off: ``RunContext.sandbox=None`` (a plugin the user trusts);
* adapter, sandbox on: the default, and the figure the target is about.

The plugin's own module has no ``.pyc`` (the installer does not compile the plugin's source,
and the sandbox mounts it read-only), so both adapter rows compile ``benchadd/ops.py`` on
every call, as real sandboxed runs do.

Reported: median, min and 90th percentile in ms, and each median over the bare
``python -c pass`` median.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import REPO_ROOT, mark1_exe, median, ms, rmtree, table  # noqa: E402

sys.path.insert(0, str(REPO_ROOT))

TARGET_MS = 50.0
INPUTS = {"a": 2, "b": 3}

MANIFEST = """\
schema_version: "1.0"
plugin: {name: benchadd, version: 1.0.0, description: Adds two numbers}
capabilities:
  - name: add
    side_effects: read-only
    parameters:
      type: object
      required: [a, b]
      properties:
        a: {type: number}
        b: {type: number}
entry_points:
  - {capability: add, type: python_function, module: benchadd.ops, function: add}
"""

OPS = """\
def add(a, b):
    return a + b
"""


def make_plugin(folder: Path) -> Path:
    """A real Git repository holding the plugin."""
    repo = folder / "benchadd-repo"
    (repo / "benchadd").mkdir(parents=True)
    (repo / "mark1.plugin.yml").write_text(MANIFEST)
    (repo / "benchadd" / "__init__.py").write_text("")
    (repo / "benchadd" / "ops.py").write_text(OPS)
    identity = {
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    }
    env = {**os.environ, **identity}
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "plugin"]):
        subprocess.run(["git", *argv], cwd=repo, env=env, check=True, capture_output=True)
    return repo


def install(repo: Path) -> None:
    done = subprocess.run(
        [mark1_exe(), "plugin", "install", str(repo)], capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"mark1 plugin install failed ({done.returncode}):\n{done.stderr}")


async def prepare(workdir: Path) -> tuple[Any, Any, Any, Any]:
    """The adapter, spec and both contexts, as ``mark1 run benchadd.add`` would build them."""
    from adapters.base import RunContext, adapter_for
    from assistant.cli.context import session
    from assistant.plugins.invoke import declared_environment, resolve
    from assistant.security.policy import policy_for

    async with session() as (settings, store):
        plugin, capability = await resolve(store, "benchadd.add")
    adapter = adapter_for(capability.entry_point.type)()
    spec = plugin.spec(capability)
    checked = adapter.validate_inputs(spec, INPUTS)
    policy = policy_for(plugin, capability, settings, workdir, checked)
    if policy is None:
        sys.exit("the sandbox is off in the settings: cannot measure the default")
    confined = RunContext(
        workdir=workdir,
        timeout=60.0,
        kill_grace=settings.run.kill_grace,
        env=declared_environment(plugin, capability),
        sandbox=policy,
    )
    # Unconfined, the plugin could write .pyc files into its installed source, which the
    # confined calls would then enjoy; as installed (and in the sandbox) there are none.
    trusted = replace(confined, sandbox=None, env={**confined.env, "PYTHONDONTWRITEBYTECODE": "1"})
    return adapter, spec, confined, trusted


def timed_subprocess(argv: list[str], cwd: Path) -> Callable[[], Awaitable[float]]:
    async def once() -> float:
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"{argv[0]} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
        return elapsed

    return once


def timed_call(adapter: Any, spec: Any, context: Any) -> Callable[[], Awaitable[float]]:
    async def once() -> float:
        start = time.perf_counter()
        checked = adapter.validate_inputs(spec, INPUTS)
        result = await adapter.execute(spec, checked, context)
        elapsed = time.perf_counter() - start
        if result.status != "succeeded" or result.outputs != {"result": 5}:
            sys.exit(f"the call did not return 5: {result.status} {result.error} {result.outputs}")
        return elapsed

    return once


async def measure(workdir: Path, reps: int, warmup: int) -> tuple[dict[str, list[float]], Any]:
    from adapters.sandbox import bwrap_problem, wrap

    adapter, spec, confined, trusted = await prepare(workdir)
    python = str(spec.env_dir / "bin" / "python")
    candidates: dict[str, Callable[[], Awaitable[float]]] = {
        "python -c pass": timed_subprocess([python, "-c", "pass"], workdir),
    }
    problem = bwrap_problem()
    if problem is None:
        bare = wrap([python, "-c", "pass"], confined.sandbox)
        candidates["bwrap python -c pass"] = timed_subprocess(bare, workdir)
    candidates["adapter, sandbox off"] = timed_call(adapter, spec, trusted)
    candidates["adapter, sandbox on"] = timed_call(adapter, spec, confined)
    names = list(candidates)
    for _ in range(warmup):
        for name in names:
            await candidates[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(reps):
        shift = i % len(names)  # rotate the order so no candidate always runs first
        for name in names[shift:] + names[:shift]:
            times[name].append(await candidates[name]())
    return times, problem


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--reps", type=int, default=30, help="timed calls of each (30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first (3)")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="mark1-bench-pyfn-"))
    os.environ["MARK1_HOME"] = str(scratch / "home")
    try:
        install(make_plugin(scratch))
        workdir = scratch / "work"
        workdir.mkdir()
        times, problem = asyncio.run(measure(workdir, args.reps, args.warmup))
    finally:
        rmtree(scratch)

    floor = median(times["python -c pass"])
    assert floor is not None
    rows = []
    for name, values in times.items():
        med = median(values)
        assert med is not None
        rows.append([name, ms(med), ms(min(values)), ms(p90(values)), f"{med / floor:.1f}x"])
    print(
        table(
            ["call", "median ms", "min ms", "p90 ms", "x pass (med)"],
            rows,
            title=f"python_function round-trip, add(2, 3) ({args.reps} calls each after "
            f"{args.warmup} warm-up, Python {sys.version.split()[0]})",
        )
    )
    ours = median(times["adapter, sandbox on"])
    assert ours is not None
    print()
    verdict = "MEETS" if ours * 1000 < TARGET_MS else "MISSES"
    print(
        f"adapter, sandbox on: {ms(ours)} ms median warm -> {verdict} the < {TARGET_MS:g} ms target"
    )
    off = median(times["adapter, sandbox off"])
    assert off is not None
    print(
        f"the sandbox adds {ms(ours - off)} ms; the adapter adds {ms(off - floor)} ms over "
        "starting the interpreter (runner, JSON both ways, import, asyncio pipes)"
    )
    if problem is not None:
        print(f"note: NOT isolated here ({problem}); 'sandbox on' had only resource limits")


if __name__ == "__main__":
    main()
