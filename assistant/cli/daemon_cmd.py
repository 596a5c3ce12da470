"""``mark1 daemon``: carry out the schedules of saved workflows and keep their history."""

from __future__ import annotations

import asyncio
import time

import click

from assistant.cli.context import session
from assistant.cli.output import run_async


@click.command()
@click.option("--once", is_flag=True, help="Run what is due now, then exit (for cron or tests).")
@click.option(
    "--poll",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds between looks at the schedules.",
)
def daemon(once: bool, poll: float) -> None:
    """Run scheduled workflows (`mark1 workflow schedule`) until stopped (Ctrl-C or SIGTERM).

    Each run is recorded like any other (`mark1 workflow history`). A schedule that comes due
    while its previous run is still going waits for it: runs of one schedule never overlap,
    and slots missed while the daemon was down are not replayed.
    """
    from assistant.workflow.library import due_schedules, schedule_ran
    from assistant.workflow.service import run_saved

    async def go() -> None:
        async with session() as (settings, store):
            click.echo(f"mark1 daemon: watching schedules (every {poll:g} s)", err=True)
            while True:
                for due in await due_schedules(store, time.time()):
                    click.echo(f"running '{due.workflow}' (schedule {due.id})", err=True)
                    try:
                        run_id, outcome = await run_saved(store, settings, due.workflow, due.inputs)
                        status = outcome.status
                    except Exception as exc:  # noqa: BLE001 - one bad schedule must not stop the rest
                        run_id, status = "-", f"not started: {exc}"
                    await schedule_ran(store, due, run_id, status)
                    click.echo(f"  run {run_id}: {status}", err=True)
                if once:
                    return
                await asyncio.sleep(poll)

    run_async(go())
