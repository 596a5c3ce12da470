"""Fixtures shared by every test.

Every test gets its own MARK1_HOME (so no test sees another's plugins, database or config), and
a guard that fails any network connection to something other than this machine. Git
repositories used as plugin sources are real repositories built in ``tmp_path``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistant.cli.main import run
from assistant.security import vault_key

# fixtures shared across folders: the workflow test plugin and the scripted model server
pytest_plugins = ("tests.workflow.wftools", "tests.agent.openai_server")
BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"  # the example plugins and data
LOOPBACK = ("127.", "::1", "localhost")


@pytest.fixture(autouse=True)
def mark1_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "mark1-home"
    monkeypatch.setenv("MARK1_HOME", str(home))
    for var in [v for v in os.environ if v.startswith("MARK1_") and v != "MARK1_HOME"]:
        monkeypatch.delenv(var)
    monkeypatch.delenv("NO_COLOR", raising=False)
    vault_key.forget()  # a new session: no vault unlocked yet
    return home


@pytest.fixture
def random_vault_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh random vault key in MARK1_VAULT_KEY, as a headless machine or CI keeps it."""
    key = vault_key.encode_key(vault_key.new_key())
    monkeypatch.setenv("MARK1_VAULT_KEY", key)
    return key


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not str(host).startswith(LOOPBACK):
            raise AssertionError(f"test tried to reach {address}: only loopback is allowed")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


def gone_within(pid: int, seconds: float = 5.0) -> bool:
    """Whether process ``pid`` has ended, waiting up to ``seconds`` (killing is asynchronous)."""
    from adapters.process import process_alive

    deadline = time.monotonic() + seconds
    while process_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@dataclass
class Repo:
    """A real git repository that tests commit files into."""

    path: Path

    def commit(
        self,
        files: dict[str, str],
        message: str = "change",
        tag: str | None = None,
        executable: tuple[str, ...] = (),
    ) -> str:
        for name, text in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            if name in executable:
                target.chmod(0o755)
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "-m", message)
        if tag:
            git(self.path, "tag", tag)
        return git(self.path, "rev-parse", "HEAD")

    @property
    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD")


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Repo]:
    """``make_repo("name", {"file": "text"})`` -> a repository with one commit on ``main``."""

    def make(name: str, files: dict[str, str], executable: tuple[str, ...] = ()) -> Repo:
        path = tmp_path / "repos" / name
        path.mkdir(parents=True)
        git(path, "init", "-q", "-b", "main")
        repo = Repo(path)
        repo.commit(files, "initial", executable=executable)
        return repo

    return make


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``mark1 ARGS`` in this process, as the console script does (minus its gc tuning)."""

    def invoke(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            code = run(list(args))
        else:  # inside an async test: the CLI's own asyncio.run needs a thread without a loop
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                code = pool.submit(run, list(args)).result()
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def mark1_exe() -> Iterator[str]:
    """The installed ``mark1`` console script, for tests that need a separate process."""
    exe = BIN / "mark1"
    assert exe.exists(), f"{exe} missing: install the project (./scripts/setup)"
    yield str(exe)


CSV_PLUGIN_MANIFEST = """\
schema_version: "1.0"
plugin: {name: csvtool, version: 1.0.0, description: Count rows of a CSV}
capabilities:
  - name: count
    description: Count the rows of a CSV file and write the count to a file
    inputs: [csv]
    outputs: [json]
    parameters:
      type: object
      required: [file]
      properties:
        file: {type: string, format: path}
        out: {type: string, default: count.json}
    produces:
      - {name: report, path: "{out}", format: json}
entry_points:
  - capability: count
    type: cli
    command: python count.py
    args:
      file: {position: 0}
"""

CSV_PLUGIN_SCRIPT = """\
import argparse, csv, json
p = argparse.ArgumentParser()
p.add_argument("file")
p.add_argument("--out")
a = p.parse_args()
rows = list(csv.reader(open(a.file)))
json.dump({"rows": len(rows) - 1}, open(a.out, "w"))
print(json.dumps({"rows": len(rows) - 1}))
"""


@pytest.fixture
def csv_plugin(make_repo: Callable[..., Repo]) -> Repo:
    """A small real plugin: a Python CLI that counts CSV rows, prints JSON and writes a file."""
    return make_repo(
        "csvtool", {"mark1.plugin.yml": CSV_PLUGIN_MANIFEST, "count.py": CSV_PLUGIN_SCRIPT}
    )
