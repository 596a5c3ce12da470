"""Shared output and plumbing for commands: JSON, tables, progress, confirmation, asyncio.

Humans at a terminal get colour, tables and spinners; pipes and scripts get plain text (or
JSON with --json) and never a prompt they cannot answer.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from assistant.errors import Terminated, UserError

T = TypeVar("T")

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
yes_option = click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")


def color_enabled(stream: Any = None) -> bool:
    stream = stream or sys.stdout
    return "NO_COLOR" not in os.environ and stream.isatty()


def run_async(coro: Awaitable[T]) -> T:
    """Run a command's coroutine; SIGTERM and SIGHUP cancel it like Ctrl-C does.

    Cancelling (rather than dying) lets every ``finally`` run: the plugin's process group is
    killed and the run is recorded as cancelled instead of staying "running" for ever.
    """
    received: list[int] = []

    async def guarded() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        handled = []

        def stop(signum: int) -> None:
            received.append(signum)
            task.cancel()

        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                loop.add_signal_handler(sig, stop, sig)
                handled.append(sig)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
                break
        try:
            return await coro
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            services = sys.modules.get("assistant.plugins.service_runtime")
            if services is not None:  # local servers a plugin used end with the command
                await services.stop_all()

    try:
        return asyncio.run(guarded())
    except asyncio.CancelledError:
        if not received:
            raise
        raise Terminated(received[0]) from None


def local_time(timestamp: float) -> str:
    """A recorded time as listings show it: local, to the second."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    """A rich table on a terminal, aligned plain columns elsewhere."""
    if color_enabled():
        from rich.console import Console
        from rich.table import Table

        t = Table(*headers, title=title, title_justify="left", header_style="bold")
        for row in rows:
            t.add_row(*("" if v is None else str(v) for v in row))
        Console().print(t)
        return
    cells = [list(headers)] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    if title:
        click.echo(title)
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


class Reporter:
    """Reports the stages of long work; ``paused()`` clears the spinner for a question."""

    def __init__(self, report: Callable[[str], None], status: Any = None):
        self._report = report
        self._status = status

    def __call__(self, message: str) -> None:
        self._report(message)

    @contextmanager
    def paused(self) -> Iterator[None]:
        if self._status is None:
            yield
            return
        self._status.stop()
        try:
            yield
        finally:
            self._status.start()


@contextmanager
def progress(quiet: bool = False) -> Iterator[Reporter]:
    """A reporter for long work: a spinner on a terminal, one line per stage otherwise."""
    if quiet:
        yield Reporter(lambda _msg: None)
        return
    if not color_enabled(sys.stderr):
        yield Reporter(lambda msg: click.echo(f"... {msg}", err=True))
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("starting") as status:
        last: list[str] = []

        def report(msg: str) -> None:
            if last:
                console.print(f"[green]✓[/] {last[0]}")
                last.clear()
            last.append(msg)
            status.update(msg)

        yield Reporter(report, status)
        if last:
            console.print(f"[green]✓[/] {last[0]}")


def confirm(question: str, yes: bool) -> None:
    """Ask before doing something destructive; scripts must pass --yes instead."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UserError(f"{question} (needs confirmation)", hint="pass --yes to confirm in scripts")
    if not click.confirm(question, default=False):
        raise click.exceptions.Abort()
