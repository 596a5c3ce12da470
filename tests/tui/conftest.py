"""Fixtures of the window's tests: the agent talks to the scripted model (tests/agent/
openai_server.py, a real HTTP server on loopback) and works in the test's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.agent.openai_server import ScriptedModelServer


@pytest.fixture
def model_env(
    scripted_model: ScriptedModelServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> ScriptedModelServer:
    monkeypatch.setenv("OPENAI_BASE_URL", scripted_model.base_url)
    monkeypatch.setenv("MARK1_MODEL", "scripted")
    monkeypatch.chdir(tmp_path)
    return scripted_model
