"""Helpers for analyser tests: write a repository's files into ``tmp_path`` in one call."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from assistant.plugins.analysis.files import RepoFiles

Tree = Mapping[str, str | bytes]


def write_tree(root: Path, tree: Tree) -> Path:
    """Create ``root`` with each file of ``tree`` (text is dedented; a name ending in '*' is
    made executable and the '*' dropped)."""
    for name, content in tree.items():
        executable = name.endswith("*")
        path = root / name.rstrip("*")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
        if executable:
            path.chmod(0o755)
    return root


@pytest.fixture
def repo_files(tmp_path: Path) -> Callable[[Tree], RepoFiles]:
    """``repo_files({"a.py": "..."})`` -> a RepoFiles over a fresh folder with those files."""
    counter = iter(range(1000))

    def make(tree: Tree) -> RepoFiles:
        return RepoFiles(write_tree(tmp_path / f"repo{next(counter)}", tree))

    return make
