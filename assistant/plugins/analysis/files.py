"""The repository's files, listed once and read at most once each, for every scanner.

Vendored and generated trees (``.git``, ``node_modules``, virtualenvs, build output) are
skipped: they describe someone else's code. Text is decoded whatever its encoding (a UTF-16
requirements file from Windows is common), and Python sources are parsed once and shared.
"""

from __future__ import annotations

import ast
import bisect
import codecs
import os
import re
import warnings
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

T = TypeVar("T")

SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", ".venv", "venv", "env", ".env", "__pycache__",
        ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "site-packages",
        "dist", "build", "target", ".idea", ".vscode", ".eggs", "bower_components", "vendor",
    }
)  # fmt: skip
_LINE_END = re.compile(r"\r\n|\r|\n")
MAX_TEXT_BYTES = 1_000_000  # larger files are data, not code or configuration
LANGUAGES = {
    ".py": "python", ".pyi": "python", ".ipynb": "notebook", ".js": "javascript",
    ".mjs": "javascript", ".cjs": "javascript", ".ts": "typescript", ".tsx": "typescript",
    ".go": "go", ".rs": "rust", ".rb": "ruby", ".php": "php", ".sh": "shell", ".bash": "shell",
    ".c": "c", ".h": "c", ".cc": "c++", ".cpp": "c++", ".hpp": "c++", ".java": "java",
    ".kt": "kotlin", ".swift": "swift", ".lua": "lua", ".pl": "perl", ".r": "r", ".R": "r",
    ".md": "markdown", ".rst": "restructuredtext",
}  # fmt: skip


class RepoFiles:
    """A read-only view of a checked-out repository; paths are repo-relative POSIX strings."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self._text: dict[str, str | None] = {}
        self._ast: dict[str, ast.Module | None] = {}
        self._lines: dict[str, list[str]] = {}
        self._derived: dict[Callable[[RepoFiles], Any], Any] = {}

    @cached_property
    def paths(self) -> list[str]:
        """Every file outside skipped folders, sorted (so findings come out in a stable order)."""
        found: list[str] = []
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
            rel = os.path.relpath(folder, self.root)
            prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            found += [prefix + n for n in names]
        return sorted(found)

    def derived(self, compute: Callable[[RepoFiles], T]) -> T:
        """``compute(self)``, computed once: what several scanners derive from the same files
        (which of them are run-time code, say) is worked out for the first that asks."""
        if compute not in self._derived:
            self._derived[compute] = compute(self)
        result: T = self._derived[compute]
        return result

    def exists(self, rel: str) -> bool:
        return rel in self._path_set

    @cached_property
    def _path_set(self) -> frozenset[str]:
        return frozenset(self.paths)

    def with_suffix(self, *suffixes: str) -> list[str]:
        """Files whose name ends with one of ``suffixes`` (e.g. ".py", ".toml")."""
        return [p for p in self.paths if p.endswith(suffixes)]

    def named(self, *names: str) -> list[str]:
        """Files called exactly one of ``names`` in any folder (e.g. "package.json")."""
        wanted = set(names)
        return [p for p in self.paths if p.rpartition("/")[2] in wanted]

    def text(self, rel: str) -> str | None:
        """The file decoded as text, or None if it is binary, too large or unreadable."""
        if rel not in self._text:
            self._text[rel] = self._read(rel)
        return self._text[rel]

    def lines(self, rel: str) -> list[str]:
        """The file's lines, numbered as ``ast`` numbers them (only CR/LF end a line; form
        feeds and other Unicode separators, which ``str.splitlines`` also breaks at, do not)."""
        if rel not in self._lines:
            self._lines[rel] = split_lines(self.text(rel) or "")
        return self._lines[rel]

    def python(self, rel: str) -> ast.Module | None:
        """The parsed module, or None when it is not valid Python 3 (then it is skipped)."""
        if rel not in self._ast:
            source = self.text(rel)
            tree = None
            if source is not None:
                try:
                    with warnings.catch_warnings():  # invalid escapes in old code
                        warnings.simplefilter("ignore")
                        tree = ast.parse(source, filename=rel)
                except (SyntaxError, ValueError):
                    tree = None
            self._ast[rel] = tree
        return self._ast[rel]

    def is_executable(self, rel: str) -> bool:
        return os.access(self.root / rel, os.X_OK)

    def languages(self) -> dict[str, int]:
        """Number of files per language, by extension."""
        counts: dict[str, int] = {}
        for p in self.paths:
            language = LANGUAGES.get(PurePosixPath(p).suffix)
            if language:
                counts[language] = counts.get(language, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def _read(self, rel: str) -> str | None:
        path = self.root / rel
        try:
            if path.is_symlink() or path.stat().st_size > MAX_TEXT_BYTES:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        return decode(data)


INTERPRETER_LANGUAGES = {
    "sh": "shell", "bash": "shell", "dash": "shell", "zsh": "shell", "ksh": "shell",
    "fish": "shell", "python": "python", "node": "javascript", "nodejs": "javascript",
    "bun": "javascript", "deno": "typescript", "perl": "perl", "ruby": "ruby", "php": "php",
    "rscript": "r", "lua": "lua",
}  # fmt: skip


def shebang_program(shebang: str) -> str:
    """The program a ``#!`` line runs: ``#!/usr/bin/env -S bash -e`` -> ``bash``."""
    words = shebang[2:].split() if shebang.startswith("#!") else []
    program = PurePosixPath(words[0]).name if words else ""
    if program == "env":
        operands = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        program = operands[0] if operands else ""
    return program


def interpreter_language(interpreter: str) -> str:
    """``python3.11`` -> python, ``bash`` -> shell; an unknown interpreter names itself."""
    base = re.sub(r"[\d.]+$", "", interpreter).lower()
    return INTERPRETER_LANGUAGES.get(base, base or "shell")


def split_lines(text: str) -> list[str]:
    """``text``'s lines numbered as ``ast`` numbers them: only CR/LF end a line (form feeds
    and the Unicode separators that ``str.splitlines`` also breaks at do not)."""
    parts = _LINE_END.split(text) if "\r" in text else text.split("\n")
    return parts[:-1] if parts and parts[-1] == "" else parts


class MentionedLines:
    """The numbers of the lines that mention one of some words: a statement spanning none
    of them cannot hold what a scanner looks for, so its walk skips it (most function bodies)
    without visiting a single node inside."""

    def __init__(self, text: str, *words: str):
        self.numbers: list[int] = []
        if "\r" in text and "\n" not in text:  # old Mac line ends: number them the slow way
            lines = _LINE_END.split(text)
            self.numbers = [n for n, line in enumerate(lines, 1) if any(w in line for w in words)]
            return
        # The words are rare: find them, then count the line ends before each (one pass).
        found = sorted(i for word in words for i in _occurrences(text, word))
        line, last = 1, 0
        for offset in found:
            line += text.count("\n", last, offset)
            last = offset
            if not self.numbers or self.numbers[-1] != line:
                self.numbers.append(line)

    def within(self, statement: ast.stmt) -> bool:
        first = bisect.bisect_left(self.numbers, statement.lineno)
        last = statement.end_lineno or statement.lineno
        return first < len(self.numbers) and self.numbers[first] <= last

    def walk(self, tree: ast.Module) -> Iterator[ast.AST]:
        """Every node of ``tree`` except those inside statements that mention none of the
        words (in no particular order)."""
        stack: list[ast.AST] = list(tree.body)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.stmt) and not self.within(node):
                continue
            yield node
            stack.extend(ast.iter_child_nodes(node))


def _occurrences(text: str, word: str) -> Iterator[int]:
    start = text.find(word)
    while start != -1:
        yield start
        start = text.find(word, start + len(word))


def decode(data: bytes) -> str | None:
    """Text in whatever encoding it was saved in; None for binary data."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if b"\x00" in data[:8192]:
        if len(data) >= 2 and data[1:2] == b"\x00" and data[0:1] != b"\x00":
            return data.decode("utf-16-le", errors="replace")  # UTF-16 without a BOM
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
