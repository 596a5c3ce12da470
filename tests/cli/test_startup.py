"""`mark1 --help` stays fast: it must not import the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.cli.main import COMMANDS

HEAVY = (
    "pydantic",
    "pydantic_settings",
    "git",
    "aiosqlite",
    "textual",
    "jsonschema",
    "yaml",
    "rich",
    "openai",
    "chromadb",
    "onnxruntime",
    "tokenizers",
    "numpy",
    "faster_whisper",
    "ctranslate2",
    "pyttsx3",
    "sounddevice",
    "cryptography",
    "keyring",
    "psycopg",
    "httpx",
    "docker",
    "asyncio",
)

PROBE = """
import json, sys
from assistant.cli.main import run
run(sys.argv[1:])
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def imported_by(*args: str) -> tuple[str, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True
    )
    return done.stdout, set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_heavy_module() -> None:
    out, modules = imported_by("--help")
    assert "plugin" in out and "Exit codes" in out
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == [], f"mark1 --help imported {heavy}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_help_is_light(command: str) -> None:
    """`mark1 COMMAND --help` imports the command's module but none of the heavy libraries."""
    out, modules = imported_by(command, "--help")
    assert "Usage: mark1" in out
    assert not {m for m in modules if m.split(".")[0] in ("git", "aiosqlite", "pydantic")}
