"""Every filesystem location Mark-1 uses, computed on each call.

Functions (not constants) so that ``MARK1_HOME`` and the XDG variables are read at call time:
tests point everything at a temporary directory by setting one variable, and nothing touches
the disk at import time.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

APP_NAME = "mark1"
MANIFEST_NAMES = ("mark1.plugin.yml", "mark1.plugin.yaml")
PROJECT_CONFIG = Path(".mark1") / "config.toml"


def mark1_home() -> Path | None:
    """The single directory that overrides every other location, when ``MARK1_HOME`` is set."""
    value = os.environ.get("MARK1_HOME")
    return _resolved(value) if value else None


@functools.lru_cache(maxsize=8)
def _resolved(value: str) -> Path:
    """Resolved once per value: every sandboxed step asks for all of Mark-1's folders."""
    return Path(value).expanduser().resolve()


def _located(kind: str) -> Path:
    home = mark1_home()
    if home is not None:
        return home / kind
    import platformdirs

    finder = {
        "config": platformdirs.user_config_dir,
        "data": platformdirs.user_data_dir,
        "cache": platformdirs.user_cache_dir,
        "logs": platformdirs.user_log_dir,
    }[kind]
    return Path(finder(APP_NAME, appauthor=False))


def config_dir() -> Path:
    return _located("config")


def data_dir() -> Path:
    return _located("data")


def cache_dir() -> Path:
    return _located("cache")


def log_dir() -> Path:
    return _located("logs")


def config_file() -> Path:
    """The user's layered configuration file."""
    return config_dir() / "config.toml"


def db_path() -> Path:
    """The SQLite database holding the plugin registry, runs and history."""
    return data_dir() / "mark1.db"


def vectors_dir() -> Path:
    """The Chroma database: vectors of memories and capabilities (their texts are in SQLite)."""
    return data_dir() / "chroma"


def plugins_dir() -> Path:
    """Where installed plugins live: one folder per installed version (see the registry)."""
    return data_dir() / "plugins"


def default_workspace() -> Path:
    """The workspace used until ``mark1 init --workspace`` chooses another."""
    home = mark1_home()
    return home / "workspace" if home is not None else Path.home() / "mark1-workspace"


def project_config_file(start: Path | None = None) -> Path | None:
    """The nearest ``.mark1/config.toml`` at or above ``start`` (the current directory)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_CONFIG
        if candidate.is_file():
            return candidate
    return None
