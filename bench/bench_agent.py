"""What the agent costs on top of the model, beside the raw HTTP round trip (issue 8).

* Overhead per turn: a conversational turn (recall memory, build the prompt and tool list
  from the installed capabilities, one streamed model call, record history and memory) with
  a zero-latency scripted model, beside the same streamed request made directly with the
  openai SDK to the same server. Target: under 50 ms more per turn.
* Model calls per multi-step request: the seed's pipeline request answered with one plan of
  four steps, run, and summarised. The scripted server fails any call it has no reply for, so
  the count is what the agent really made. Target: 2 (plan + summary).

The model is the scripted OpenAI-compatible server of the tests (a real HTTP server on
loopback); everything else is real: plugins installed from the examples, SQLite, Chroma.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _util import mark1_exe, ms, table  # noqa: E402

TURNS = 50
ROUNDS = 5
PIPELINE = ("csv-processor", "data-analyzer", "chart-generator", "report-builder")


def install_examples() -> None:
    for name in PIPELINE:
        subprocess.run(
            [mark1_exe(), "plugin", "install", str(ROOT / "examples" / name), "--yes"],
            check=True,
            capture_output=True,
        )


async def raw_round_trips(base_url: str, server: object, turns: int) -> float:
    """Seconds per streamed request made straight with the SDK (same prompt size)."""
    from openai import AsyncOpenAI

    from tests.agent.openai_server import Reply

    server.script(*[Reply.text("ok") for _ in range(turns)])  # type: ignore[attr-defined]
    client = AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    messages = [{"role": "user", "content": "hello"}]
    started = time.perf_counter()
    for _ in range(turns):
        stream = await client.chat.completions.create(
            model="m", messages=messages, stream=True, stream_options={"include_usage": True}
        )
        async for _chunk in stream:
            pass
    took = (time.perf_counter() - started) / turns
    await client.close()
    return took


async def agent_turns(agent: object, server: object, turns: int) -> float:
    """Seconds per conversational turn of the agent."""
    from tests.agent.openai_server import Reply

    server.script(*[Reply.text("ok") for _ in range(turns)])  # type: ignore[attr-defined]
    started = time.perf_counter()
    for _ in range(turns):
        async for _event in agent.turn("hello"):  # type: ignore[attr-defined]
            pass
    return (time.perf_counter() - started) / turns


async def model_calls_for_pipeline(agent: object, server: object, data: Path) -> tuple[int, str]:
    from assistant.agent.events import Approve, PlanProposed, TurnFinished
    from tests.agent.openai_server import Reply

    def step(name: str, plugin: str, capability: str, after: list[str], **inputs: str) -> dict:
        return {
            "name": name,
            "plugin": plugin,
            "capability": capability,
            "inputs": inputs,
            "depends_on": after,
        }

    plan = {
        "goal": "sales report",
        "steps": [
            step("extract", "csv-processor", "extract-data", [], file=str(data)),
            step("analyse", "data-analyzer", "statistical-analysis", ["extract"],
                 data="${steps.extract.outputs.data}"),
            step("chart", "chart-generator", "create-charts", ["analyse"],
                 insights="${steps.analyse.outputs.insights}"),
            step("report", "report-builder", "pdf-report", ["analyse", "chart"],
                 insights="${steps.analyse.outputs.insights}",
                 charts="${steps.chart.outputs.charts}"),
        ],
    }  # fmt: skip
    before = len(server.requests)  # type: ignore[attr-defined]
    server.script(Reply.tool_calls(("propose_plan", plan)), Reply.text("Report written."))  # type: ignore[attr-defined]
    status = ""
    request = "Analyze this CSV file, generate visualizations, and create a PDF report"
    async for event in agent.turn(request):  # type: ignore[attr-defined]
        if isinstance(event, PlanProposed) and event.needs_approval:
            event.reply(Approve())
        if isinstance(event, TurnFinished):
            status = f"{event.status}, {len(event.run_ids)} run"
    return len(server.requests) - before, status  # type: ignore[attr-defined]


async def measure(root: Path) -> None:
    from assistant import paths
    from assistant.agent.loop import Agent
    from assistant.agent.profiles import ModelConfig
    from assistant.config import load_settings
    from memory.store import Store
    from tests.agent.openai_server import ScriptedModelServer

    data = root / "sales.csv"
    shutil.copy(ROOT / "examples" / "workflows" / "sales.csv", data)
    with ScriptedModelServer() as server:
        config = ModelConfig("openai", server.base_url, "m", "bench", None, 30.0, 0, stream=True)
        async with Store.open(paths.db_path()) as store:
            agent = Agent(store, load_settings(), model=config, base_dir=root)
            await agent_turns(agent, server, 3)  # warm: the SDK, Chroma, the embedder
            await raw_round_trips(server.base_url, server, 3)
            raw, ours = [], []
            for _ in range(ROUNDS):
                raw.append(await raw_round_trips(server.base_url, server, TURNS))
                ours.append(await agent_turns(agent, server, TURNS))
            calls, status = await model_calls_for_pipeline(agent, server, data)
            await agent.aclose()
    raw_ms, ours_ms = median(raw), median(ours)
    print(
        table(
            ["figure", "Mark-1", "baseline", "target"],
            [
                [
                    f"one conversational turn (median of {ROUNDS} x {TURNS})",
                    ms(ours_ms),
                    f"raw SDK round trip {ms(raw_ms)}",
                    "",
                ],
                ["agent overhead per turn", ms(ours_ms - raw_ms), "", "< 50 ms"],
                [f"model calls, 4-step pipeline request ({status})", calls, "", "2"],
            ],
            title="agent (bench/bench_agent.py)",
        )
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["MARK1_HOME"] = str(root / "home")
        for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "MARK1_MODEL"):
            os.environ.pop(var, None)
        install_examples()
        asyncio.run(measure(root))


if __name__ == "__main__":
    main()
