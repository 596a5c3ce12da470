"""``mark1 plan`` and ``mark1 ask``: one request to the agent, from a shell or a script."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from assistant.cli.output import echo_json, json_option, run_async, yes_option

if TYPE_CHECKING:
    from assistant.agent.loop import Agent
    from assistant.cli.agent_console import TurnResult

EXIT_BY_STATUS = {"answered": 0, "planned": 0, "rejected": 1, "failed": 1, "cancelled": 130}
MODEL_HELP = """\b
With no model configured the built-in offline planner plans (no key, no server). To use a
model: mark1 config set llm.profile ollama   (or openai, vllm, llamacpp, lmstudio, openrouter)
       export OPENAI_API_KEY=...  /  OPENAI_BASE_URL=http://host:port/v1  /  MARK1_MODEL=name"""


@asynccontextmanager
async def open_agent(*, plan_only: bool = False) -> AsyncIterator[Agent]:
    """An agent on the user's settings and store, working in the current directory."""
    from assistant.agent.loop import Agent
    from assistant.cli.context import session

    async with session() as (settings, store):
        agent = Agent(store, settings, plan_only=plan_only)
        try:
            yield agent
        finally:
            await agent.aclose()


def serve(request: str, *, plan_only: bool, yes: bool, as_json: bool) -> TurnResult:
    """Serve one request in a terminal (or a script) and return how it ended."""
    from assistant.cli.agent_console import AgentConsole

    text = " ".join(request.split())
    if not text:
        raise click.UsageError("the request is empty: say what you want done")

    async def go() -> TurnResult:
        async with open_agent(plan_only=plan_only) as agent:
            return await AgentConsole(yes=yes, as_json=as_json).run(agent, text)

    return run_async(go())


def finish(result: TurnResult, as_json: bool, *, must_run: bool = False) -> None:
    """Print --json output and exit with the status the turn came to; ``must_run``: a turn
    that ran nothing (nothing installed could do it) failed."""
    if as_json:
        echo_json(asdict(result))
    code = EXIT_BY_STATUS.get(result.status, 1)
    sys.exit(1 if must_run and not result.run_ids and code == 0 else code)


@click.command(epilog=MODEL_HELP)
@click.argument("request")
@json_option
def plan(request: str, as_json: bool) -> None:
    """Show the plan for REQUEST; nothing runs.

    \b
    Examples:
      mark1 plan "analyse sales.csv, chart it and make a PDF report"
      mark1 plan "resize photo.jpg to 800px wide" --json > plan.json

    The plan is a workflow: --json includes it under "workflow", ready for
    `mark1 workflow save` or `mark1 workflow run FILE`.
    """
    result = serve(request, plan_only=True, yes=False, as_json=as_json)
    if result.plan is None and not as_json:
        click.echo("no plan: " + (result.answer or "nothing installed fits"), err=True)
    finish(result, as_json)


@click.command(epilog=MODEL_HELP)
@click.argument("request", required=False)
@click.option(
    "--voice",
    "voice_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Take the request from this recording (a WAV file) instead.",
)
@yes_option
@json_option
def ask(request: str | None, voice_file: Path | None, yes: bool, as_json: bool) -> None:
    """Ask the assistant once and print its answer.

    \b
    Examples:
      mark1 ask "what plugins do I have?"
      mark1 ask "summarise sales.csv" --yes
      mark1 ask --voice request.wav --yes       # a spoken request, transcribed offline

    A plan is shown and runs after you approve it (--yes approves in scripts); questions the
    assistant must ask are asked here. Exit status: 0 answered, 1 failed or rejected.
    """
    if voice_file is not None:
        if request:
            raise click.UsageError("give a REQUEST or --voice FILE, not both")
        request = heard(voice_file, quiet=as_json)
    if not request:
        raise click.UsageError('say what you want: mark1 ask "REQUEST" or --voice FILE.wav')
    finish(serve(request, plan_only=False, yes=yes, as_json=as_json), as_json)


def heard(recording: Path, *, quiet: bool) -> str:
    """The words spoken in ``recording``; nothing heard is an error worth a clear message."""
    from assistant.config import load_settings
    from assistant.errors import InputError
    from assistant.voice.grounding import grounded
    from assistant.voice.stt import transcriber

    spoken = transcriber(load_settings().voice.stt_model).transcribe(recording).text.strip()
    text = grounded(spoken, Path.cwd())
    if not text:
        raise InputError(
            f"no speech heard in {recording}",
            hint="record the request again, closer to the microphone, or type it",
        )
    if not quiet:
        click.echo(f"heard: {text}", err=True)
    return text
