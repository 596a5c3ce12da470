"""Entry point of ``mark1``: the command table and the one place errors become exit codes."""

from __future__ import annotations

import gc
import os
import sys

import click

from assistant import __version__
from assistant.cli.lazy import LazyGroup

COMMANDS = {
    "init": (
        "assistant.cli.init_cmd:init",
        "Create the workspace and show where everything lives.",
    ),
    "config": (
        "assistant.cli.config_cmd:config",
        "Read and change settings (get, set, list, path).",
    ),
    "plugin": (
        "assistant.cli.plugin_cmd:plugin",
        "Install, update, link, inspect and remove plugins.",
    ),
    "capabilities": (
        "assistant.cli.capabilities_cmd:capabilities",
        "List and search what installed plugins can do.",
    ),
    "run": ("assistant.cli.run_cmd:run", "Run one capability: mark1 run PLUGIN.CAPABILITY -i k=v."),
    "runs": ("assistant.cli.runs_cmd:runs", "Show past runs and their results."),
    "history": (
        "assistant.cli.history_cmd:history",
        "Show past conversations and their tool calls.",
    ),
    "memory": (
        "assistant.cli.memory_cmd:memory",
        "Search, add, forget, export and import what the assistant remembers.",
    ),
    "plan": ("assistant.cli.agent_cmd:plan", "Show the plan for a request in words; nothing runs."),
    "ask": ("assistant.cli.agent_cmd:ask", "Ask the assistant once: plan, approve, run, answer."),
    "chat": ("assistant.cli.chat_cmd:chat", "Talk to the assistant in this terminal."),
    "workflow": (
        "assistant.cli.workflow_cmd:workflow",
        "Validate, run, resume, save and schedule multi-step workflows.",
    ),
    "daemon": ("assistant.cli.daemon_cmd:daemon", "Run scheduled workflows until stopped."),
    "doctor": (
        "assistant.cli.doctor_cmd:doctor",
        "Check tools, sandbox, config, database, vault, voice and plugins.",
    ),
    "remote": (
        "assistant.cli.remote_cmd:remote",
        "Configure the remote hosts ssh capabilities run on.",
    ),
    "secrets": (
        "assistant.cli.secrets_cmd:secrets",
        "Keep plugins' API keys and passwords encrypted (init, set, list, rotate).",
    ),
    "voice": (
        "assistant.cli.voice_cmd:voice",
        "Speech: transcribe a WAV, speak text, list audio devices.",
    ),
}

EPILOG = """\b
Examples:
  mark1 init --workspace ~/my-workspace
  mark1 plugin install https://github.com/user/image-processor@v1.2
  mark1 capabilities list
  mark1 run csv-summary.summarize -i file=sales.csv --json
  mark1 workflow run "summarise sales.csv, then chart it"
  mark1 chat

Exit codes: 0 ok, 1 the run failed, 2 fix your input, 3 the plugin needs fixing,
4 temporary problem (try again), 130 interrupted."""


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "-V", "--version", prog_name="mark1")
def cli() -> None:
    """Mark-1 turns any Git repository into a plugin and runs its capabilities.

    Every command that prints data takes --json; set MARK1_HOME to keep all of Mark-1's files
    in one folder, NO_COLOR to turn colour off.
    """


def main(argv: list[str] | None = None) -> None:
    """The ``mark1`` console script: run the CLI and exit with its status.

    The cyclic garbage collector is off for the life of the command and everything is frozen
    before exit: a CLI process is short, its imports create hundreds of thousands of objects,
    and collecting them (during imports and again at interpreter teardown) cost ~130 ms of
    every command (bench/bench_install.py). Reference counting still frees memory as usual.
    """
    gc.disable()
    code = run(argv)
    gc.freeze()
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure becomes a message on stderr and a meaningful exit code."""
    from assistant.errors import Mark1Error

    try:
        cli.main(args=argv, prog_name="mark1", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Mark1Error as exc:
        return _fail(exc.render(), exc.exit_code)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        return _fail("interrupted", 130)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # the top-level handler: a bug must not reach the user raw
        return _fail(f"internal error: {exc!r}\n  hint: {_save_traceback()}", 70)
    return 0


def _save_traceback() -> str:
    """Write the current traceback to the log folder; say where (or print it if we cannot)."""
    import time
    import traceback

    from assistant import paths

    text = traceback.format_exc()
    try:
        folder = paths.log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / time.strftime("crash-%Y%m%d-%H%M%S.log")
        log.write_text(text, encoding="utf-8")
    except OSError:
        return "the traceback follows; please report it\n" + text
    return f"this is a bug in Mark-1; the details are in {log}, please report it"


def _fail(text: str, code: int) -> int:
    color = sys.stderr.isatty() and "NO_COLOR" not in os.environ
    prefix = click.style("error:", fg="red", bold=True) if color else "error:"
    click.echo(f"{prefix} {text}", err=True)
    return code
