"""Finding and running a plugin's own test suite (``mark1 plugin test NAME``).

The suite is recognised from the repository's files alone (nothing is executed to find it),
then run confined like any plugin run: network off, the plugin's environment first on PATH,
a time limit. Tests write files (caches, fixtures, outputs), so they run in a scratch copy of
the plugin's files inside its version folder, never in the installed files themselves.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from adapters.base import RunContext
from adapters.process import LineSink, ProcessOutcome
from adapters.sandbox import run_confined
from adapters.subprocess_cli import plugin_environment
from assistant.config import Settings
from assistant.errors import UserError
from assistant.plugins.environment import install_packages
from assistant.plugins.registry import PluginVersion
from assistant.plugins.validation import declared_values
from assistant.security.policy import policy_for

SuiteKind = Literal["pytest", "unittest", "npm", "go", "cargo", "make"]
RunStatus = Literal["passed", "failed", "error"]
Progress = Callable[[str], None]

LOOKED_FOR = (
    "looked for: Python tests (test_*.py or *_test.py files; pytest when a dependency file or "
    "pytest.ini/tox.ini/[tool.pytest.ini_options] names it, else unittest when they import "
    "it), a `test` script in package.json, go.mod, Cargo.toml, and a Makefile with a `test` "
    "or `check` target"
)
# Folders that hold other people's code or build output, never the repository's own tests.
SKIP_DIRS = frozenset(
    {".git", ".hg", ".tox", ".nox", ".venv", "venv", "env", "node_modules", "site-packages"}
    | {"build", "dist", "__pycache__", ".mypy_cache", ".pytest_cache", "target"}
)
# Where a repository names pytest: its configuration files, then its dependency files.
PYTEST_DECLARED_IN = (
    "pytest.ini",
    "pyproject.toml",
    "setup.cfg",
    "tox.ini",
    "setup.py",
    "Pipfile",
    "environment.yml",
    "mark1.plugin.yml",
    "*requirements*.txt",
    "requirements/*.txt",
)
TEST_FILES_KEPT = 20  # enough to name one and see whether they use unittest
OUTPUT_LINES_KEPT = 50  # the end of the output, where every runner prints its summary
NPM_DEFAULT_TEST = "no test specified"
_MENTIONS_PYTEST = re.compile(r"\bpytest\b")
_IMPORTS_UNITTEST = re.compile(r"^\s*(import unittest\b|from unittest\b)", re.MULTILINE)
_MAKE_TARGET = re.compile(r"^(test|check)\s*:(?!=)", re.MULTILINE)
_PYTEST_LAST_LINE = re.compile(r"^=+ (.+?) =+$")
_TIMING = re.compile(r" in [\d.]+s( \([^)]*\))?$")
PYTEST_ERROR_CODES = (2, 3, 4, 5)  # interrupted (e.g. collection errors), internal, usage, none


@dataclass(frozen=True)
class TestSuite:
    """How a repository's tests are run, and what in the repository says so."""

    __test__ = False  # not a pytest test class, whatever its name

    kind: SuiteKind
    command: tuple[str, ...]
    evidence: str


@dataclass
class TestRun:
    """The outcome of running a test suite once."""

    __test__ = False

    suite: TestSuite
    status: RunStatus
    exit_code: int | None
    summary: str
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect_test_suite(source: Path) -> TestSuite | None:
    """The test suite the repository at ``source`` declares, or None (see ``LOOKED_FOR``)."""
    for detect in (_python_suite, _npm_suite, _go_suite, _cargo_suite, _make_suite):
        found = detect(source)
        if found is not None:
            return found
    return None


async def run_test_suite(
    version: PluginVersion,
    settings: Settings,
    on_line: LineSink,
    progress: Progress | None = None,
) -> TestRun:
    """Run the plugin's test suite confined in a scratch copy of its files, streaming each
    line to ``on_line(stream, text)``; raises UserError when there is no suite."""
    say = progress or (lambda _msg: None)
    suite = detect_test_suite(version.source_path)
    if suite is None:
        raise UserError(f"{version.name} has no test suite Mark-1 recognises", hint=LOOKED_FOR)
    notes = []
    if suite.kind == "pytest" and not _has_pytest(version.env_path):
        say("pytest is not in the plugin's environment: installing it with uv")
        await _install_pytest(version, settings)
        notes.append("installed pytest into the plugin's environment (it was not there)")
    scratch = Path(tempfile.mkdtemp(prefix="test-", dir=version.path))
    try:
        copy = scratch / "src"
        await asyncio.to_thread(_copy_sources, version.source_path, copy)
        say(f"running `{' '.join(suite.command)}` ({suite.evidence}) in a sandboxed copy")
        return await _run_in(copy, suite, version, settings, on_line, notes)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


async def _run_in(
    copy: Path,
    suite: TestSuite,
    version: PluginVersion,
    settings: Settings,
    on_line: LineSink,
    notes: list[str],
) -> TestRun:
    """Run ``suite`` in ``copy`` with the plugin's environment, as its first capability's
    sandbox allows (the tests get no more than the plugin itself)."""
    capability = version.manifest.capabilities[0]
    context = RunContext(
        workdir=copy,
        timeout=settings.run.timeout,
        kill_grace=settings.run.kill_grace,
        env=declared_values(version, version.manifest.capabilities),
        sandbox=policy_for(version, capability, settings, copy, {}),
    )
    spec = dataclasses.replace(version.spec(capability), source_dir=copy)
    env = plugin_environment(spec, context)
    # Only the program is looked up: the other words are the runner's ("make test" must not
    # become "make /path/to/test" in a repository with a test/ folder).
    program = shutil.which(suite.command[0], path=env["PATH"])
    if program is None:
        summary = (
            f"{suite.command[0]} is not installed (looked on the plugin's PATH: {env['PATH']})"
        )
        return TestRun(suite, "error", None, summary, 0.0, notes)
    argv = [program, *suite.command[1:]]
    tail: deque[str] = deque(maxlen=OUTPUT_LINES_KEPT)

    def keep(stream: str, text: str) -> None:
        tail.append(text)
        on_line(stream, text)

    done = await run_confined(argv, env=env, context=context, on_line=keep)
    return TestRun(
        suite,
        _status(suite.kind, done),
        done.exit_code,
        _summary(suite.kind, done, list(tail), context.timeout),
        round(done.duration, 3),
        notes,
    )


def _status(kind: SuiteKind, done: ProcessOutcome) -> RunStatus:
    """passed, failed (tests ran and some failed) or error (the suite could not run)."""
    if done.timed_out or done.output_exceeded:
        return "error"
    if done.exit_code == 0:
        return "passed"
    if kind == "pytest" and done.exit_code in PYTEST_ERROR_CODES:
        return "error"
    return "failed"


def _summary(kind: SuiteKind, done: ProcessOutcome, lines: list[str], timeout: float) -> str:
    """One line that says how it went: pytest's last line, unittest's count and verdict, or
    the last line another runner printed; timings are left out (the run has its own)."""
    if done.timed_out:
        return f"stopped after the {timeout:g} s time limit"
    if done.output_exceeded:
        return "stopped: it printed more output than a run may print"
    printed = [line.strip() for line in lines if line.strip()]
    if not printed:
        return f"exited with status {done.exit_code} without printing anything"
    last = printed[-1]
    if kind == "pytest":
        match = _PYTEST_LAST_LINE.match(last)
        last = match[1] if match else last
    elif kind == "unittest":
        ran = next((line for line in reversed(printed) if line.startswith("Ran ")), None)
        last = f"{_TIMING.sub('', ran)}: {last}" if ran else last
    return _TIMING.sub("", last)


def _python_suite(source: Path) -> TestSuite | None:
    """pytest when the repository names it (or its tests are plain functions), unittest when
    its tests import unittest and nothing names pytest."""
    test_files = list(_python_test_files(source))
    if not test_files:
        return None
    first = test_files[0].relative_to(source).as_posix()
    seen = f"test files such as {first}"
    declared_in = _pytest_declared_in(source)
    if declared_in is not None:
        return TestSuite("pytest", ("python", "-m", "pytest"), f"{seen}; pytest in {declared_in}")
    if any(_IMPORTS_UNITTEST.search(_read(path)) for path in test_files):
        top = Path(first).parts[0] if "/" in first else None
        start = ("-s", top) if top else ()
        command = ("python", "-m", "unittest", "discover", *start)
        return TestSuite("unittest", command, f"{seen}, which import unittest")
    return TestSuite(
        "pytest", ("python", "-m", "pytest"), f"{seen} with plain test functions (pytest style)"
    )


def _python_test_files(source: Path) -> Iterator[Path]:
    """``test_*.py`` and ``*_test.py`` files in file order, skipping vendored and build
    folders; at most ``TEST_FILES_KEPT``."""
    found = 0
    for folder, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
                yield Path(folder, name)
                found += 1
                if found == TEST_FILES_KEPT:
                    return


def _pytest_declared_in(source: Path) -> str | None:
    """The first dependency or configuration file that names pytest (repo-relative)."""
    for pattern in PYTEST_DECLARED_IN:
        for path in sorted(source.glob(pattern)):
            if path.is_file() and _MENTIONS_PYTEST.search(_read(path)):
                return path.relative_to(source).as_posix()
    return None


def _npm_suite(source: Path) -> TestSuite | None:
    """``npm test`` when package.json has a test script other than npm's placeholder."""
    try:
        package = json.loads(_read(source / "package.json") or "{}")
    except json.JSONDecodeError:
        return None
    scripts = package.get("scripts") if isinstance(package, dict) else None
    test = scripts.get("test") if isinstance(scripts, dict) else None
    if not isinstance(test, str) or not test.strip() or NPM_DEFAULT_TEST in test:
        return None
    return TestSuite("npm", ("npm", "test"), f"package.json scripts.test: {test}")


def _go_suite(source: Path) -> TestSuite | None:
    if not (source / "go.mod").is_file():
        return None
    return TestSuite("go", ("go", "test", "./..."), "go.mod")


def _cargo_suite(source: Path) -> TestSuite | None:
    if not (source / "Cargo.toml").is_file():
        return None
    return TestSuite("cargo", ("cargo", "test", "--offline"), "Cargo.toml")


def _make_suite(source: Path) -> TestSuite | None:
    """``make test`` (or ``make check``) when a Makefile defines that target."""
    for name in ("GNUmakefile", "Makefile", "makefile"):
        targets = set(_MAKE_TARGET.findall(_read(source / name)))
        for target in ("test", "check"):
            if target in targets:
                return TestSuite("make", ("make", target), f"{name} target '{target}'")
    return None


def _read(path: Path) -> str:
    """A small text file's content, "" when it is absent or unreadable."""
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _has_pytest(env_dir: Path | None) -> bool:
    return env_dir is not None and (env_dir / "bin" / "pytest").is_file()


async def _install_pytest(version: PluginVersion, settings: Settings) -> None:
    """Add pytest to the plugin's venv with uv: from the package cache first, like installs."""
    env_dir = version.env_path or version.path / "env"
    install = settings.install
    await install_packages(
        env_dir, ["pytest"], version.path, install.build_timeout, install.offline_first
    )


def _copy_sources(source: Path, target: Path) -> None:
    """The plugin's files for the tests to write among; git data and caches are left out."""
    skipped = shutil.ignore_patterns(".git", ".venv", "venv", ".tox", "__pycache__", ".*_cache")
    shutil.copytree(source, target, symlinks=True, ignore=skipped)
