"""``mark1 run``: run one capability, stream its output, report and record the result."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from adapters.base import Event, Notice, OutputLine, PluginResult, Progress
from assistant.cli.context import session
from assistant.cli.output import color_enabled, echo_json, json_option, run_async
from assistant.errors import RunFailed

EXIT_BY_STATUS = {"succeeded": 0, "failed": 1, "timed_out": 124, "cancelled": 130}


@click.command(context_settings={"show_default": True})
@click.argument("target")
@click.option(
    "-i",
    "--input",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="An input parameter; repeat for more (lists: repeat the key or a,b,c).",
)
@click.option(
    "-a",
    "--arg",
    "positionals",
    multiple=True,
    metavar="VALUE",
    help="An extra positional argument for the command line; repeatable.",
)
@click.option("--inputs", "inputs_json", metavar="JSON|@FILE", help="All inputs as a JSON object.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds before the run is stopped (default: manifest, then run.timeout).",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Working directory of the run (default: the workspace).",
)
@click.option("-q", "--quiet", is_flag=True, help="Do not stream the plugin's output.")
@click.option(
    "-d",
    "--detach",
    is_flag=True,
    help="Run in the background (long jobs, agents); follow with `mark1 runs show/stop ID`.",
)
@click.option("--run-id", hidden=True, help="The id a detached run was announced with.")
@json_option
def run(
    target: str,
    pairs: tuple[str, ...],
    positionals: tuple[str, ...],
    inputs_json: str | None,
    timeout: float | None,
    workdir: Path | None,
    quiet: bool,
    detach: bool,
    run_id: str | None,
    as_json: bool,
) -> None:
    """Run capability TARGET (PLUGIN.CAPABILITY, or CAPABILITY if only one plugin has it).

    \b
    Examples:
      mark1 run csv-summary.summarize -i file=sales.csv
      mark1 run resize -i input=photo.png -i width=320 --json

    Exit status: 0 succeeded, 1 failed, 124 timed out, 130 cancelled (Ctrl-C).
    With --detach: 0 once the run has started in the background.
    """
    from assistant.cli.inputs import parse_inputs
    from assistant.config import workspace
    from assistant.plugins.invoke import resolve, run_capability

    if detach:
        words = [target, *(f"--input={p}" for p in pairs), *(f"--arg={a}" for a in positionals)]
        words += [f"--inputs={inputs_json}"] if inputs_json else []
        words += [f"--timeout={timeout}"] if timeout else []
        words += [f"--workdir={workdir.resolve()}"] if workdir else []
        _detach(words, as_json)
        return
    stream = not quiet

    def on_event(event: Event) -> None:
        if isinstance(event, Notice):
            warn = event.level == "warning" and color_enabled(sys.stderr)
            click.echo(click.style(event.text, fg="yellow") if warn else event.text, err=True)
        elif stream and isinstance(event, Progress):
            click.echo(f"[{event.percent:3.0f}%] {event.message}".rstrip(), err=True)
        elif stream and isinstance(event, OutputLine):
            to_stderr = as_json or event.stream == "stderr"
            click.echo(event.text, err=to_stderr)

    async def go() -> tuple[str, PluginResult]:
        async with session() as (settings, store):
            plugin, capability = await resolve(store, target)
            inputs = parse_inputs(
                pairs, positionals, inputs_json, capability.parameters, Path.cwd()
            )
            folder = workdir.resolve() if workdir else workspace(settings)
            return await run_capability(
                store,
                settings,
                plugin,
                capability,
                inputs,
                workdir=folder,
                timeout=timeout,
                on_event=on_event,
                run_id=run_id,
            )

    run_id, result = run_async(go())
    code = EXIT_BY_STATUS[result.status]
    if as_json:
        echo_json({"run_id": run_id} | result.to_dict())
        sys.exit(code)
    _summary(run_id, result)
    if result.status == "failed":
        raise RunFailed(
            f"run {run_id} failed: {result.error}",
            hint=f"`mark1 runs show {run_id}` has its full record",
        )
    sys.exit(code)


def _detach(words: list[str], as_json: bool) -> None:
    """Start ``mark1 run WORDS`` as a background process that outlives this one."""
    from assistant import paths
    from memory.ids import new_id

    run_id = new_id()
    log = paths.data_dir() / "runs" / f"{run_id}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    entry = "from assistant.cli.main import main; main()"
    argv = [sys.executable, "-c", entry, "run", *words, "--run-id", run_id, "--json"]
    # posix_spawn, not Popen: nothing here waits for the child, which must outlive us.
    os.posix_spawn(
        sys.executable,
        argv,
        dict(os.environ),
        setsid=True,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
    )
    if as_json:
        echo_json({"run_id": run_id, "status": "started", "log": str(log)})
    else:
        click.echo(f"started run {run_id} in the background")
        click.echo(f"  follow: mark1 runs show {run_id}    stop: mark1 runs stop {run_id}")
        click.echo(f"  log: {log}")


def _summary(run_id: str, result: PluginResult) -> None:
    mark = {"succeeded": "✓", "failed": "✗", "timed_out": "⏱", "cancelled": "✗"}[result.status]
    color = {"succeeded": "green"}.get(result.status, "red")
    head = f"{mark} run {run_id} {result.status.replace('_', ' ')}"
    took = result.metrics.get("duration_s")
    head += f" in {took:.2f} s" if took is not None else ""
    click.echo(click.style(head, fg=color) if color_enabled(sys.stderr) else head, err=True)
    for key, value in result.outputs.items():
        if key != "stdout":
            shown = json.dumps(value) if isinstance(value, dict | list) else value
            click.echo(f"  {key}: {shown}", err=True)
    for path in result.artifacts:
        click.echo(f"  file: {path}", err=True)
