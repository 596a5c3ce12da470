"""Run Mark-1's benchmarks and print their tables.

Usage, from the repository root with the project venv's interpreter::

    .venv/bin/python bench/run.py                # every bench/bench_*.py
    .venv/bin/python bench/run.py help install   # only these (bench_help.py, bench_install.py)

Each benchmark runs as its own process with this interpreter, so one cannot skew another
through imports or caches, and prints its own tables. Progress chatter goes to stderr; the
tables go to stdout, so ``bench/run.py > results.txt`` keeps just the figures. The exit status
is non-zero if any benchmark failed (a missed target is a result, not a failure).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(names: list[str]) -> list[Path]:
    """``bench_*.py`` in this folder, or the ones named (``help``, ``bench_help``, a path)."""
    available = sorted(HERE.glob("bench_*.py"))
    if not names:
        return available
    chosen = []
    for name in names:
        stem = Path(name).stem
        stem = stem if stem.startswith("bench_") else f"bench_{stem}"
        path = HERE / f"{stem}.py"
        if not path.is_file():
            known = ", ".join(p.stem.removeprefix("bench_") for p in available)
            sys.exit(f"no benchmark '{name}' (available: {known})")
        chosen.append(path)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description="Run Mark-1's benchmarks.")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = parser.parse_args()

    scripts = discover(args.names)
    if not (Path(sys.executable).parent / "mark1").exists():
        print(
            f"warning: no mark1 next to {sys.executable}; run this with the project venv's "
            "python (.venv/bin/python bench/run.py)",
            file=sys.stderr,
        )
    print(
        f"Mark-1 benchmarks: Python {platform.python_version()} ({sys.executable}), "
        f"{platform.system()} {platform.machine()}, {_cpus()} CPUs"
    )
    failed = []
    started = time.perf_counter()
    for script in scripts:
        title = f" {script.name} "
        print(f"\n{title:#^100}\n", flush=True)
        t0 = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)])
        print(f"\n[{script.name}: exit {code}, {time.perf_counter() - t0:.0f} s]", flush=True)
        if code != 0:
            failed.append(script.name)
    print(f"\nAll done in {time.perf_counter() - started:.0f} s.")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        sys.exit(1)


def _cpus() -> str:
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return str(count)


if __name__ == "__main__":
    main()
