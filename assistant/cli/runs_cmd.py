"""``mark1 runs``: the record of what ran."""

from __future__ import annotations

from typing import Any

import click

from assistant.cli.context import session
from assistant.cli.output import echo_json, json_option, local_time, run_async, table
from assistant.errors import NotFoundError


@click.group()
def runs() -> None:
    """Show past runs and their results."""


@runs.command("list")
@click.option("-n", "--limit", default=20, show_default=True, help="How many, newest first.")
@json_option
def list_(limit: int, as_json: bool) -> None:
    """Recent runs."""
    from assistant.workflow.runs import list_runs

    async def go() -> list[dict[str, Any]]:
        async with session() as (_, store):
            return await list_runs(store, limit)

    found = run_async(go())
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo("No runs yet.")
        return
    runs_table(found, "target")


def runs_table(found: list[dict[str, Any]], target: str) -> None:
    """Runs as a table: id, what ran (headed ``target``), status, start time and seconds."""
    table(
        ["run", target, "status", "started", "seconds"],
        [
            (
                r["id"],
                r["target"],
                r["status"],
                local_time(r["started_at"]),
                f"{r['finished_at'] - r['started_at']:.2f}" if r["finished_at"] else "-",
            )
            for r in found
        ],
    )


@runs.command()
@click.argument("run_id")
@json_option
def show(run_id: str, as_json: bool) -> None:
    """One run with its steps, outputs, files and the tail of its logs (RUN_ID may be a prefix)."""
    from assistant.workflow.runs import get_run

    async def go() -> dict[str, Any] | None:
        async with session() as (_, store):
            return await get_run(store, run_id)

    run = run_async(go())
    if run is None:
        raise NotFoundError(f"no single run matches '{run_id}'", hint="`mark1 runs list`")
    if as_json:
        echo_json(run)
        return
    click.echo(f"run {run['id']}: {run['target']} {run['status']}")
    click.echo(f"  workdir: {run['workdir']}")
    if run["error"]:
        click.echo(f"  error: {run['error']}")
    for step in run["steps"]:
        click.echo(
            f"  step {step['name']} ({step['plugin']}): {step['status']}, exit {step['exit_code']}"
        )
        click.echo(f"    command: {' '.join(step['command'] or [])}")
        for key, value in (step["outputs"] or {}).items():
            click.echo(f"    output {key}: {value}")
        for path in step["artifacts"]:
            click.echo(f"    file: {path}")
        if step["stderr_tail"]:
            click.echo("    stderr (tail):")
            for line in step["stderr_tail"].splitlines()[-10:]:
                click.echo(f"      {line}")


@runs.command()
@click.argument("run_id")
@click.option("--wait", default=15.0, show_default=True, help="Seconds to wait for it to stop.")
@json_option
def stop(run_id: str, wait: float, as_json: bool) -> None:
    """Stop a running run (e.g. a detached one): its plugin is stopped and the run recorded."""
    import asyncio
    import os
    import signal

    from adapters.process import process_alive
    from assistant.workflow.runs import abandon, get_run, runner_pids

    async def go() -> dict[str, Any]:
        async with session() as (_, store):
            run = await get_run(store, run_id)
            if run is None:
                raise NotFoundError(f"no single run matches '{run_id}'", hint="`mark1 runs list`")
            if run["status"] != "running":
                return run
            pids = [p for p in await runner_pids(store, run["id"]) if process_alive(p)]
            if not pids:
                await abandon(store, run["id"], "the process running it is gone")
            for pid in pids:
                os.kill(pid, signal.SIGTERM)  # the runner cancels: plugin killed, run recorded
            for _ in range(int(wait * 10)):
                run = await get_run(store, run["id"]) or run
                if run["status"] != "running":
                    break
                await asyncio.sleep(0.1)
            return run

    run = run_async(go())
    if as_json:
        echo_json({"run_id": run["id"], "status": run["status"]})
    else:
        click.echo(f"run {run['id']}: {run['status']}")
