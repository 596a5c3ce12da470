"""Fixtures for agent tests: the model is a scripted OpenAI-compatible server on loopback.

The agent talks to it through the real ``openai`` SDK over real HTTP; only the model's turns
are scripted (see ``tests/agent/openai_server.py``). Loopback is what ``loopback_only`` allows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.agent.openai_server import NO_REPLY_LEFT, ScriptedModelServer


@pytest.fixture
def scripted_model() -> Iterator[ScriptedModelServer]:
    """A started server with an empty script; stopped (threads joined, sockets closed) after.

    A request that found no scripted reply already failed in the agent with HTTP 500, but the
    agent may have swallowed that error; teardown fails the test too, so a missing script line
    is never silent. Tests that mean to hit an empty queue clear ``unscripted`` themselves.
    """
    with ScriptedModelServer() as server:
        yield server
    if server.unscripted:
        pytest.fail(
            f"{NO_REPLY_LEFT}: {len(server.unscripted)} request(s) to the scripted model had no"
            f" reply; first one's last message: {_last_message(server.unscripted[0])}"
        )


def _last_message(body: dict[str, object]) -> object:
    messages = body.get("messages")
    return messages[-1] if isinstance(messages, list) and messages else None
