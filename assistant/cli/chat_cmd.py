"""``mark1 chat``: the assistant in a plain terminal (prompt-toolkit), for when the Textual app
is not wanted: over ssh, in a small terminal, in a screen reader.

Enter sends, Alt-Enter (or Esc then Enter) starts a new line, Up/Down walk the history (kept
across sessions), Ctrl-C stops what is running (the run is recorded as cancelled and can be
resumed) or clears the line, Ctrl-D or /quit leaves.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, Any

import click

from assistant.cli.output import run_async, yes_option

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

    from assistant.agent.loop import Agent
    from assistant.cli.agent_console import AgentConsole

GREETING = (
    "Mark-1 chat ({planner}). Say what you want done; plans are shown before they run.\n"
    "Enter sends, Alt-Enter adds a line, Ctrl-C stops a run, Ctrl-D or /quit leaves."
)


@click.command()
@yes_option
def chat(yes: bool) -> None:
    """Talk to the assistant in this terminal.

    \b
    Example session:
      > analyse sales.csv and chart it
      I'll use csv-processor for extract-data, data-analyzer for statistical-analysis, ...
      Proceed? (y/n, e to edit, or say what to change) y

    --yes approves every plan without asking (questions are still asked).
    """
    from assistant.cli.agent_cmd import open_agent

    async def go() -> None:
        async with open_agent() as agent:
            await converse(agent, new_session(), yes=yes)

    run_async(go())


def new_session(**io: Any) -> PromptSession[str]:
    """A prompt with history on disk and Alt-Enter for new lines; ``io`` (input/output) is for
    tests, which feed keys through a pipe."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory
    from prompt_toolkit.key_binding import KeyBindings

    from assistant import paths

    keys = KeyBindings()

    @keys.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    history_file = paths.data_dir() / "chat-history"
    history_file.parent.mkdir(parents=True, exist_ok=True)
    return PromptSession(history=FileHistory(str(history_file)), key_bindings=keys, **io)


async def converse(agent: Agent, session: PromptSession[str], *, yes: bool = False) -> None:
    """Read requests until the person leaves; each is one turn of ``agent``."""
    from assistant.cli.agent_console import AgentConsole

    async def ask_line(prompt: str) -> str:
        # Ctrl-C at a prompt is a key press (the terminal is raw); prompt-toolkit's own SIGINT
        # handler would replace the one that stops a running turn.
        return await session.prompt_async(f"{prompt} ", handle_sigint=False)

    console = AgentConsole(yes=yes, interactive=True, ask_line=ask_line)
    click.echo(GREETING.format(planner=agent.planner_name), err=True)
    while True:
        try:
            text = (await ask_line(">")).strip()
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        except EOFError:
            return
        if text in ("/quit", "/exit"):
            return
        if text in ("/help", "?"):
            click.echo(GREETING.format(planner=agent.planner_name), err=True)
            continue
        if text:
            await _turn(console, agent, text)


async def _turn(console: AgentConsole, agent: Agent, text: str) -> None:
    """One turn that Ctrl-C cancels (the conversation goes on)."""
    from assistant.errors import Mark1Error

    task = asyncio.create_task(console.run(agent, text))
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, task.cancel)
        installed = True
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread (tests)
        installed = False
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
        click.echo(
            "stopped; the run is recorded as cancelled (mark1 workflow resume RUN)", err=True
        )
    except Mark1Error as exc:
        click.echo(exc.render(), err=True)
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
