"""Small helpers shared by the benchmark scripts: locating tools, timing, tables, cleanup.

Only the standard library is used, so the benchmarks run with the project venv's interpreter
and nothing else.
"""

from __future__ import annotations

import os
import shutil
import stat
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def venv_bin() -> Path:
    """The folder holding the interpreter running the benchmark (the project venv's bin/)."""
    return Path(PYTHON).parent


def mark1_exe() -> str:
    """The ``mark1`` console script next to this interpreter, else the one on PATH."""
    here = venv_bin() / "mark1"
    if here.exists():
        return str(here)
    found = shutil.which("mark1")
    if found is None:
        sys.exit(
            "mark1 not found: run the benchmarks with the project venv's python "
            "(.venv/bin/python bench/run.py)"
        )
    return found


def uv_exe() -> str:
    """The ``uv`` binary shipped by the ``uv`` package, the same one Mark-1 uses."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            sys.exit("uv not found: install the project (it depends on the uv package)")
        return found


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def secs(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b <= 0:
        return "-"
    return f"{a / b:.2f}x"


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str = "") -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        return "  ".join(parts).rstrip()

    out = [title, "=" * len(title)] if title else []
    out.append(line(cells[0]))
    out.append("  ".join("-" * w for w in widths))
    out.extend(line(r) for r in cells[1:])
    return "\n".join(out)


def rmtree(path: Path) -> None:
    """Delete a folder even when tools left read-only files in it (uv's cache does)."""

    def retry(func: Callable[[str], object], target: str, _exc: object) -> None:
        try:
            os.chmod(target, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
            parent = os.path.dirname(target)
            os.chmod(parent, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
            func(target)
        except OSError:
            pass

    if path.exists():
        shutil.rmtree(path, onerror=retry)
