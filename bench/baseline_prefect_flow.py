"""The Prefect 3 side of the workflow benchmarks, run with the interpreter of a Prefect venv.

Why a separate script: Prefect is not a Mark-1 dependency, so it lives in its own venv (built by
``baselines.prefect_env``) and this file is what that venv's python runs. It imports nothing
from Mark-1.

Usage::

    python baseline_prefect_flow.py N             # one flow of N trivial sequential tasks, exit
    python baseline_prefect_flow.py --per-task N  # one JSON line on stdout: the timings
                                                  # baselines.py turns into a cost per task

The settings (ephemeral local server, no telemetry, a throw-away PREFECT_HOME) come from the
environment that ``baselines.py`` sets. Prefect logs to stderr, so stdout holds only the JSON.
"""

from __future__ import annotations

import argparse
import json
import time

from prefect import flow, task


@task
def noop(value: int) -> int:
    return value


@flow
def sequential(tasks: int) -> None:
    for i in range(tasks):
        noop(i)


@flow
def timed(tasks: int) -> dict[str, float]:
    start = time.perf_counter()
    for i in range(tasks):
        noop.fn(i)
    plain = time.perf_counter()
    for i in range(tasks):
        noop(i)
    end = time.perf_counter()
    return {"empty_loop": plain - start, "flow": end - plain}


def per_task(tasks: int) -> dict[str, float]:
    """Timings of the flow body only: a first flow starts the server and warms the client."""
    start = time.perf_counter()
    timed(1)
    warm_up = time.perf_counter() - start
    return {**timed(tasks), "warm_up": warm_up}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", type=int)
    parser.add_argument("--per-task", action="store_true")
    args = parser.parse_args()
    if args.per_task:
        print(json.dumps(per_task(args.tasks)), flush=True)
    else:
        sequential(args.tasks)


if __name__ == "__main__":
    main()
