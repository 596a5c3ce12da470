"""A plugin's own test suite: recognised from its files, run with `mark1 plugin test NAME` in a
sandboxed scratch copy with the plugin's environment (real plugins, real runners)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.plugins.test_suites import LOOKED_FOR, TestSuite, detect_test_suite
from tests.conftest import CliResult, Repo
from tests.plugins.analysis.conftest import write_tree

Cli = Callable[..., CliResult]

MANIFEST = """\
schema_version: "1.0"
plugin: {name: NAME}
capabilities:
  - name: add
entry_points:
  - {capability: add, type: cli, command: python tool.py}
"""
TOOL = """\
import argparse
from calc import add
parser = argparse.ArgumentParser()
parser.add_argument("a", type=int)
parser.add_argument("b", type=int)
args = parser.parse_args()
print(add(args.a, args.b))
"""
CALC = "def add(a, b):\n    return a + b\n"

PYTEST_TESTS = """\
import socket
from pathlib import Path

import pytest

from calc import add


def test_add():
    assert add(2, 3) == 5


def test_writes_files_and_has_no_network():
    Path("written-by-a-test.txt").write_text("x")
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.1", 80), timeout=2)
"""

FAILING_TESTS = """\
from calc import add


def test_add():
    assert add(2, 3) == 5


def test_wrong():
    assert add(2, 2) == 5
"""

UNITTESTS = """\
import unittest

from calc import add


class AddTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)

    def test_negative(self):
        self.assertEqual(add(-2, 1), -1)
"""


def plugin_repo(make_repo: Callable[..., Repo], name: str, files: dict[str, str]) -> Repo:
    base = {"mark1.plugin.yml": MANIFEST.replace("NAME", name), "tool.py": TOOL, "calc.py": CALC}
    return make_repo(name, base | files)


def install(cli: Cli, repo: Repo) -> dict[str, object]:
    result = cli("plugin", "install", str(repo.path), "--json")
    assert result.code == 0, result.err
    info: dict[str, object] = json.loads(result.out)
    return info


def test_a_passing_pytest_suite(make_repo: Callable[..., Repo], cli: Cli) -> None:
    """pytest comes from requirements.txt; the tests write into a copy, offline."""
    repo = plugin_repo(
        make_repo,
        "adder",
        {"requirements.txt": "pytest\n", "tests/test_calc.py": PYTEST_TESTS},
    )
    info = install(cli, repo)
    result = cli("plugin", "test", "adder", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report | {"seconds": 0} == {
        "plugin": "adder",
        "suite": {
            "kind": "pytest",
            "command": ["python", "-m", "pytest"],
            "evidence": "test files such as tests/test_calc.py; pytest in requirements.txt",
        },
        "status": "passed",
        "exit_code": 0,
        "summary": "2 passed",
        "seconds": 0,
        "notes": [],
    }
    assert "tests/test_calc.py .." in result.err, "the output streams (to stderr with --json)"
    source = Path(str(info["source_path"]))
    assert not (source / "written-by-a-test.txt").exists(), "the installed files are untouched"
    left = {p.name for p in source.parent.iterdir()}
    assert left <= {"env", "src", "home"}, "no scratch left (home: the builds' HOME)"


def test_a_failing_pytest_suite_installs_pytest_and_exits_1(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    """pytest.ini names pytest, which the plugin's environment lacks: it is installed first."""
    repo = plugin_repo(
        make_repo,
        "wrongadder",
        {"pytest.ini": "[pytest]\n", "tests/test_calc.py": FAILING_TESTS},
    )
    install(cli, repo)
    result = cli("plugin", "test", "wrongadder")
    assert result.code == 1
    lines = result.out.splitlines()
    assert "FAILED tests/test_calc.py::test_wrong - assert 4 == 5" in lines
    assert lines[-1].startswith("wrongadder: tests failed: 1 failed, 1 passed (python -m pytest, ")
    assert "... pytest is not in the plugin's environment: installing it with uv" in result.err
    again = cli("plugin", "test", "wrongadder", "--json")
    assert again.code == 1
    report = json.loads(again.out)
    assert (report["status"], report["exit_code"], report["summary"]) == (
        "failed",
        1,
        "1 failed, 1 passed",
    )
    assert report["notes"] == [], "pytest stays installed for the next run"


def test_a_unittest_suite(make_repo: Callable[..., Repo], cli: Cli) -> None:
    repo = plugin_repo(make_repo, "uadder", {"tests/test_calc.py": UNITTESTS})
    install(cli, repo)
    result = cli("plugin", "test", "uadder", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["suite"] == {
        "kind": "unittest",
        "command": ["python", "-m", "unittest", "discover", "-s", "tests"],
        "evidence": "test files such as tests/test_calc.py, which import unittest",
    }
    assert (report["status"], report["summary"]) == ("passed", "Ran 2 tests: OK")


def test_npm_test(make_repo: Callable[..., Repo], cli: Cli) -> None:
    package = {"name": "jsadder", "version": "1.0.0", "private": True}
    package["scripts"] = {"test": "node test.js"}
    repo = plugin_repo(
        make_repo,
        "jsadder",
        {
            "package.json": json.dumps(package),
            "test.js": "console.log(1 + 2 === 3 ? 'all 1 checks passed' : 'broken');\n",
        },
    )
    install(cli, repo)
    result = cli("plugin", "test", "jsadder")
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1].startswith(
        "jsadder: tests passed: all 1 checks passed (npm test, "
    )
    assert "> node test.js" in result.out


def test_a_suite_that_hangs_is_stopped_at_the_run_time_limit(
    make_repo: Callable[..., Repo], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    hangs = "import time\n\n\ndef test_waits():\n    time.sleep(600)\n"
    repo = plugin_repo(
        make_repo, "slowadder", {"requirements.txt": "pytest\n", "tests/test_slow.py": hangs}
    )
    install(cli, repo)
    monkeypatch.setenv("MARK1_RUN__TIMEOUT", "2")
    result = cli("plugin", "test", "slowadder", "--json")
    assert result.code == 1
    report = json.loads(result.out)
    assert (report["status"], report["summary"]) == ("error", "stopped after the 2 s time limit")


MAKEFILE = """\
.PHONY: build test

build:
\t@echo nothing to build

test:
\t@python check.py
"""


def test_make_test_runs_with_the_plugin_environment(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    check = "import sys\nfrom calc import add\nprint(sys.prefix.endswith('/env'), add(1, 1))\n"
    files = {"Makefile": MAKEFILE, "check.py": check, "test/data.txt": "a folder named test\n"}
    repo = plugin_repo(make_repo, "madder", files)
    install(cli, repo)
    result = cli("plugin", "test", "madder", "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["suite"] == {
        "kind": "make",
        "command": ["make", "test"],
        "evidence": "Makefile target 'test'",
    }
    assert (report["status"], report["summary"]) == ("passed", "True 2")


def test_no_test_suite_is_a_usage_error(make_repo: Callable[..., Repo], cli: Cli) -> None:
    install(cli, plugin_repo(make_repo, "bare", {}))
    result = cli("plugin", "test", "bare")
    assert result.code == 2
    assert result.err == (
        f"error: bare has no test suite Mark-1 recognises\n  hint: {LOOKED_FOR}\n"
    )
    missing = cli("plugin", "test", "nope")
    assert missing.code == 2 and "no installed plugin named 'nope'" in missing.err


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        (
            {"tests/test_a.py": "def test_a(): pass\n", "requirements-dev.txt": "pytest>=8\n"},
            TestSuite(
                "pytest",
                ("python", "-m", "pytest"),
                "test files such as tests/test_a.py; pytest in requirements-dev.txt",
            ),
        ),
        (
            {
                "src/pkg/a_test.py": "def test_a(): pass\n",
                "pyproject.toml": "[tool.pytest.ini_options]\naddopts = '-q'\n",
            },
            TestSuite(
                "pytest",
                ("python", "-m", "pytest"),
                "test files such as src/pkg/a_test.py; pytest in pyproject.toml",
            ),
        ),
        (
            {"test_a.py": "def test_a(): pass\n"},
            TestSuite(
                "pytest",
                ("python", "-m", "pytest"),
                "test files such as test_a.py with plain test functions (pytest style)",
            ),
        ),
        (
            {"test_a.py": "import unittest\n"},
            TestSuite(
                "unittest",
                ("python", "-m", "unittest", "discover"),
                "test files such as test_a.py, which import unittest",
            ),
        ),
        (
            {"package.json": '{"scripts": {"test": "jest"}}'},
            TestSuite("npm", ("npm", "test"), "package.json scripts.test: jest"),
        ),
        ({"go.mod": "module x\n"}, TestSuite("go", ("go", "test", "./..."), "go.mod")),
        (
            {"Cargo.toml": "[package]\nname = 'x'\n"},
            TestSuite("cargo", ("cargo", "test", "--offline"), "Cargo.toml"),
        ),
        (
            {"Makefile": "all:\n\tcc x.c\ncheck: all\n\t./x --self-test\n"},
            TestSuite("make", ("make", "check"), "Makefile target 'check'"),
        ),
    ],
    ids=[
        "pytest-requirements",
        "pytest-config",
        "pytest-style",
        "unittest",
        "npm",
        "go",
        "cargo",
        "make",
    ],
)
def test_suites_are_recognised(
    tmp_path: Path, tree: dict[str, str | bytes], expected: TestSuite
) -> None:
    assert detect_test_suite(write_tree(tmp_path / "repo", tree)) == expected


@pytest.mark.parametrize(
    "tree",
    [
        {"README.md": "# nothing to test\n"},
        {"package.json": '{"scripts": {"test": "echo \\"Error: no test specified\\" && exit 1"}}'},
        {"Makefile": "TEST := yes\nbuild:\n\tcc x.c\n"},
        {"node_modules/dep/test_x.py": "def test_x(): pass\n"},
    ],
    ids=["nothing", "npm-placeholder", "make-without-target", "vendored-tests"],
)
def test_no_suite_is_recognised(tmp_path: Path, tree: dict[str, str | bytes]) -> None:
    assert detect_test_suite(write_tree(tmp_path / "repo", tree)) is None
