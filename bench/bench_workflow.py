"""What the workflow engine costs, beside baselines measured in the same run (issue 6).

* Engine overhead per in-process step: 1,000 ``core.echo`` steps (a chain, and all
  independent), whole run divided by steps; beside Prefect 3's cost per trivial task inside
  one flow. Target: under 1 ms per step.
* 1,000 trivial ``cli`` steps (``true``) as one map step with ``parallel: 2``, sandbox off and
  on, beside 1,000 bare launches of ``true`` (and of ``bwrap ... true``) at concurrency 2.
  Target: within 1.5x of the bare launches both times. Every step is recorded in SQLite and
  its output kept, which the bare launches do not do; the sandboxed steps also get the full
  policy (hidden home and data, the plugin's files bound back, rlimits, run cgroups), which
  bare bwrap does not. Five interleaved rounds, medians compared: this machine is shared.
* A 100-step workflow as a whole ``mark1 workflow run`` process beside the same 100-task
  Prefect flow as a whole process. Target: at least 10x faster.

Prefect runs from its own cached venv (bench/baselines.py builds it once); without network
access to PyPI its rows say why they are missing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import mark1_exe, ms, ratio, secs, table  # noqa: E402
from baselines import (  # noqa: E402
    bare_bwrap_launches,
    bare_launches,
    prefect_env,
    prefect_flow_process,
    prefect_per_task_overhead,
    prefect_problem,
)

STEPS = 1000
CLI_STEPS = 1000
ROUNDS = 5
PROCESS_STEPS = 100
TRUE_PLUGIN = """\
schema_version: "1.0"
plugin: {name: nothing, version: 1.0.0}
capabilities:
  - {name: nothing, side_effects: read-only, parameters: {type: object, properties: {n: {}}}}
entry_points:
  - {capability: nothing, type: cli, command: "true"}
"""


def chain(steps: int, independent: bool) -> dict[str, Any]:
    return {
        "name": "bench-chain",
        "steps": [
            {
                "name": f"s{i}",
                "plugin": "core",
                "capability": "echo",
                "inputs": {"i": i},
                **({} if independent or i == 0 else {"depends_on": [f"s{i - 1}"]}),
            }
            for i in range(steps)
        ],
    }


def true_map(count: int) -> dict[str, Any]:
    return {
        "name": "bench-true",
        "steps": [
            {
                "name": "each",
                "plugin": "nothing",
                "capability": "nothing",
                "for_each": list(range(count)),
                "parallel": 2,
                "cache": False,
                "inputs": {"n": "${item}"},
            }
        ],
    }


async def run_data(data: dict[str, Any], parallelism: int, sandbox: bool = True) -> float:
    """Validate and run ``data`` in this process; seconds from the first record to the last."""
    from assistant import paths
    from assistant.config import load_settings
    from assistant.workflow.engine import RunOptions
    from assistant.workflow.loader import from_data
    from assistant.workflow.service import start_run
    from assistant.workflow.validate import check_workflow
    from memory.store import Store

    settings = load_settings()
    settings.sandbox.enabled = sandbox
    async with Store.open(paths.db_path()) as store:
        checked = await check_workflow(from_data(data), store)
        options = RunOptions(base_dir=Path.cwd(), parallelism=parallelism, no_cache=True)
        started = time.perf_counter()
        _, outcome = await start_run(
            store, settings, checked, inputs={}, options=options, source="bench"
        )
        took = time.perf_counter() - started
    assert outcome.status == "succeeded", outcome.error
    return took


def install_true_plugin(root: Path) -> None:
    repo = root / "nothing"
    repo.mkdir()
    (repo / "mark1.plugin.yml").write_text(TRUE_PLUGIN)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@x",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@x",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    subprocess.run(
        [mark1_exe(), "plugin", "install", str(repo), "--yes"], check=True, capture_output=True
    )


def whole_process(root: Path) -> float:
    import json

    path = root / "hundred.yml"
    path.write_text(json.dumps(chain(PROCESS_STEPS, independent=False)))  # JSON is YAML
    subprocess.run([mark1_exe(), "workflow", "run", str(path), "-q"], check=True)  # warm caches
    started = time.perf_counter()
    subprocess.run([mark1_exe(), "workflow", "run", str(path), "-q"], check=True)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["MARK1_HOME"] = str(root / "home")
        print("... in-process steps", file=sys.stderr)
        chained = asyncio.run(run_data(chain(STEPS, independent=False), parallelism=4))
        fanned = asyncio.run(run_data(chain(STEPS, independent=True), parallelism=4))
        print("... building Prefect's venv (first time only)", file=sys.stderr)
        python = prefect_env()
        prefect_task = prefect_per_task_overhead(python) if python else None
        print(
            table(
                ["in-process steps", "per step (ms)", "vs Prefect task"],
                [
                    [
                        "Mark-1, 1000-step chain",
                        ms(chained / STEPS),
                        ratio(chained / STEPS, prefect_task),
                    ],
                    [
                        "Mark-1, 1000 independent",
                        ms(fanned / STEPS),
                        ratio(fanned / STEPS, prefect_task),
                    ],
                    ["Prefect 3, per task", ms(prefect_task) if prefect_task else "-", ""],
                ],
                title="Engine overhead per step (target: under 1 ms)",
            )
        )

        print("... cli steps", file=sys.stderr)
        install_true_plugin(root)
        work = root / "bwrap-ws"
        work.mkdir()
        rounds: list[tuple[float, float, float, float]] = []
        for _ in range(ROUNDS):  # interleaved: a shared machine's slow spell hits both sides
            rounds.append(
                (
                    asyncio.run(run_data(true_map(CLI_STEPS), parallelism=2, sandbox=False)),
                    bare_launches(["true"], CLI_STEPS, 2),
                    asyncio.run(run_data(true_map(CLI_STEPS), parallelism=2, sandbox=True)),
                    bare_bwrap_launches(["true"], work, CLI_STEPS, 2),
                )
            )
        unconfined, bare, confined, bare_bwrap = (median(r[i] for r in rounds) for i in range(4))
        print(
            table(
                ["1000 'true' steps, 2 at once", "seconds", "baseline (s)", "ratio"],
                [
                    [
                        "sandbox off vs bare launches",
                        secs(unconfined),
                        secs(bare),
                        ratio(unconfined, bare),
                    ],
                    [
                        "sandbox on vs bare bwrap",
                        secs(confined),
                        secs(bare_bwrap),
                        ratio(confined, bare_bwrap),
                    ],
                ],
                title=f"cli steps beside bare launches, median of {ROUNDS} rounds "
                "(target: within 1.5x)",
            )
        )

        print("... whole processes", file=sys.stderr)
        ours = whole_process(root)
        theirs = prefect_flow_process(python, PROCESS_STEPS) if python else None
        print(
            table(
                ["100-step workflow, whole process", "seconds", "speed-up"],
                [
                    ["mark1 workflow run", secs(ours), ""],
                    ["Prefect 3 flow of 100 tasks", secs(theirs), ratio(theirs, ours)],
                ],
                title="Whole process (target: at least 10x faster than Prefect)",
            )
        )
        if python is None:
            print(f"Prefect rows missing: {prefect_problem()}")


if __name__ == "__main__":
    main()
