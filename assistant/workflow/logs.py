"""Where a step instance's output is kept: one text file per instance in the run's folder,
appended line by line while it runs (``mark1 workflow logs RUN [STEP]`` reads them)."""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any


def log_path(run_dir: Path, key: str) -> Path:
    """The log of instance ``key`` (``resize[3]``, ``poll#2``) of the run in ``run_dir``."""
    return run_dir / "logs" / f"{key}.log"


class LogFile:
    """Opened on the first line, so an instance that prints nothing leaves no file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def __enter__(self) -> LogFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._handle is not None:
            self._handle.close()

    def write(self, line: str) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8", buffering=1)
        self._handle.write(line + "\n")
