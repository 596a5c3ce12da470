"""``mark1 plugin test NAME``: run an installed plugin's own test suite, sandboxed."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from assistant.cli.context import session
from assistant.cli.output import echo_json, json_option, run_async

if TYPE_CHECKING:
    from assistant.plugins.test_suites import TestRun


@click.command("test")
@click.argument("name")
@json_option
def plugin_test(name: str, as_json: bool) -> None:
    """Run NAME's own test suite in a sandboxed copy of its files.

    \b
    Recognised: pytest, unittest, npm test, go test, cargo test, make test/check.
    The tests run with the plugin's environment, the network off, and the run time
    limit (run.timeout); their output streams as they run (to stderr with --json).

    \b
    Exit status: 0 the tests passed, 1 they failed or could not run,
    2 no such plugin or no test suite.
    """
    from assistant.plugins import registry
    from assistant.plugins.test_suites import run_test_suite

    def on_line(stream: str, text: str) -> None:
        click.echo(text, err=as_json or stream == "stderr")

    def say(message: str) -> None:
        click.echo(f"... {message}", err=True)

    async def go() -> TestRun:
        async with session() as (settings, store):
            record = await registry.require_plugin(store, name)
            return await run_test_suite(record, settings, on_line, progress=say)

    outcome = run_async(go())
    if as_json:
        echo_json({"plugin": name} | outcome.to_dict())
    else:
        runner = " ".join(outcome.suite.command)
        click.echo(
            f"{name}: tests {outcome.status}: {outcome.summary} ({runner}, {outcome.seconds:.1f} s)"
        )
    sys.exit(0 if outcome.status == "passed" else 1)
