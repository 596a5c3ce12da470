"""``mark1 workflow``: validate, run, watch, resume, cancel, save and schedule workflows."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from assistant.cli.context import session
from assistant.cli.output import (
    echo_json,
    json_option,
    local_time,
    run_async,
    table,
    yes_option,
)
from assistant.errors import NotFoundError, UserError

if TYPE_CHECKING:
    from assistant.cli.workflow_view import ProgressView
    from assistant.workflow import events as ev
    from assistant.workflow.journal import StepRow
    from assistant.workflow.loader import LoadedWorkflow
    from memory.store import Store

EXIT_BY_STATUS = {"succeeded": 0, "failed": 1, "cancelled": 130}
input_option = click.option(
    "-i",
    "--input",
    "pairs",
    multiple=True,
    metavar="NAME=VALUE",
    help="A workflow input; repeat for more (typed by the workflow's inputs: block).",
)


@click.group()
def workflow() -> None:
    """Run multi-step workflows of plugin capabilities (YAML, seed §8.2 and more).

    \b
    Examples:
      mark1 workflow validate pipeline.yml
      mark1 workflow run pipeline.yml -i data_file=sales.csv
      mark1 workflow run pipeline.yml --dry-run
      mark1 workflow resume 20261125-101502-3fa2c1
      mark1 workflow save pipeline.yml --name nightly && mark1 workflow schedule nightly --every 1h

    The format (docs/workflows.md): steps with plugin, capability, depends_on, inputs using
    ${workflow.inputs.x} and ${steps.NAME.outputs.KEY}, plus if:, for_each: with parallel:,
    loop: {until, max}, retry:, timeout:, on_error:, approval: required and cache:.
    """


async def _load(store: Store, target: str) -> tuple[LoadedWorkflow, str]:
    """A workflow from a file path or a saved name; returns it and where it came from."""
    from assistant.workflow.library import saved_workflow
    from assistant.workflow.loader import load_workflow

    path = Path(target)
    if path.suffix.lower() in (".yml", ".yaml") or path.exists():
        return load_workflow(path), str(path.resolve())
    saved = await saved_workflow(store, target)
    if saved is None:
        raise NotFoundError(
            f"'{target}' is neither a workflow file nor a saved workflow",
            hint="give a .yml file, a saved workflow's name (`mark1 workflow list`), or a "
            'request in words: mark1 workflow run "clean sales.csv, then chart it"',
        )
    return saved, f"saved:{target}"


@workflow.command(short_help="Check a workflow file; nothing runs.")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
def validate(file: Path, as_json: bool) -> None:
    """Check FILE against the format and the installed plugins, without running anything.

    Every problem is listed with its file:line:column and the fix; the conversions that will
    be applied between steps are shown.
    """
    from assistant.workflow.loader import load_workflow
    from assistant.workflow.validate import check_workflow

    async def go() -> Any:
        async with session() as (_, store):
            return await check_workflow(load_workflow(file), store)

    checked = run_async(go())
    notes = [
        f"{c.source_step} -> {c.step}.{c.input}: {c.source_format} -> {c.target_format} "
        f"({c.description})"
        for c in checked.conversions
    ]
    if as_json:
        echo_json(
            {
                "valid": True,
                "workflow": checked.workflow.name,
                "order": checked.graph.order,
                "conversions": notes,
            }
        )
        return
    click.echo(f"✓ {file}: workflow '{checked.workflow.name}' is valid")
    click.echo(f"  order: {' -> '.join(checked.graph.order)}")
    for note in notes:
        click.echo(f"  converts {note}")


@workflow.command(short_help="Print the JSON Schema of the format.")
def schema() -> None:
    """Print the JSON Schema of the workflow format (for editors and generators)."""
    from assistant.workflow.model import json_schema

    echo_json(json_schema())


@workflow.command(short_help="Run a workflow file or saved workflow.")
@click.argument("target")
@input_option
@click.option("--dry-run", is_flag=True, help="Validate and print the resolved plan; run nothing.")
@click.option("--no-cache", is_flag=True, help="Run every step even if a cached result exists.")
@click.option(
    "--executor",
    metavar="local|dask|tcp://HOST:PORT",
    help="Where steps run (default: workflow.executor setting).",
)
@click.option("-p", "--parallel", type=click.IntRange(1, 256), help="Step instances at once.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds per step run (a step's own timeout: wins).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress, only the result.")
@yes_option
@json_option
def run(
    target: str,
    pairs: tuple[str, ...],
    dry_run: bool,
    no_cache: bool,
    executor: str | None,
    parallel: int | None,
    timeout: float | None,
    quiet: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Run TARGET: a workflow .yml file, the name of a saved workflow, or a request in words.

    \b
    Examples:
      mark1 workflow run examples/workflows/data-processing-pipeline.yml \\
          -i data_file=examples/workflows/sales.csv
      mark1 workflow run nightly --executor dask --parallel 8
      mark1 workflow run "clean sales.csv, then analyse it and chart the results"

    A request in words is planned by the assistant (a model, or the offline planner), the plan
    is shown, and it runs once you approve it (--yes approves; --dry-run only shows it).

    Steps marked `approval: required` ask first (--yes approves them). Ctrl-C stops running
    steps and records them as cancelled; `mark1 workflow resume RUN` continues later.
    Exit status: 0 succeeded, 1 failed, 130 cancelled.
    """
    from assistant.cli.workflow_view import ProgressView
    from assistant.workflow.engine import RunOptions
    from assistant.workflow.inputs import parse_pairs, resolve_inputs
    from assistant.workflow.service import start_run
    from assistant.workflow.validate import check_workflow

    if is_request(target):
        from assistant.cli.agent_cmd import finish, serve

        if pairs:
            raise click.UsageError("-i gives inputs to a workflow file; put them in the request")
        served = serve(target, plan_only=dry_run, yes=yes, as_json=as_json)
        finish(served, as_json, must_run=not dry_run)
    given = parse_pairs(pairs)
    view = ProgressView(quiet=quiet or as_json)

    async def go() -> tuple[str, Any] | dict[str, Any]:
        async with session() as (settings, store):
            loaded, source = await _load(store, target)
            checked = await check_workflow(loaded, store)
            base = Path.cwd()
            inputs = resolve_inputs(checked.workflow, checked.graph, given, base)
            if dry_run:
                return _plan(checked, inputs)
            options = RunOptions.chosen(
                settings,
                checked.workflow,
                base,
                parallel=parallel,
                no_cache=no_cache,
                timeout=timeout,
            )
            with view:
                return await start_run(
                    store,
                    settings,
                    checked,
                    inputs=inputs,
                    options=options,
                    executor=executor or settings.workflow.executor,
                    source=source,
                    on_event=view,
                    approve=_approver(yes, view),
                )

    result = run_async(go())
    if isinstance(result, dict):
        _print_plan(result, as_json)
        return
    _report(*result, as_json=as_json)


def is_request(target: str) -> bool:
    """Words, not a file or a saved workflow's name (names have no spaces)."""
    return len(target.split()) > 1 and not Path(target).exists()


def _approver(yes: bool, view: ProgressView) -> Any:
    async def approve(request: ev.ApprovalRequested) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            click.echo(
                f"step '{request.step}' needs approval and nobody can answer here: declined "
                "(pass --yes to approve in scripts)",
                err=True,
            )
            return False
        shown = ", ".join(f"{k}={v}" for k, v in request.inputs.items())
        return await _ask(
            view,
            f"Run step '{request.step}' ({request.plugin}.{request.capability}, "
            f"{request.side_effects}) with {shown or 'no inputs'}?",
        )

    return approve


async def _ask(view: ProgressView, question: str) -> bool:
    """A yes/no question on stderr (stdout may be --json), asked in a thread so the steps
    already running keep being served while the person thinks."""
    with view.pause():
        return await asyncio.to_thread(click.confirm, question, default=False, err=True)


def _rerun_confirmer(yes: bool, view: ProgressView) -> Any:
    async def confirm(row: StepRow) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            click.echo(
                f"step '{row.key}' ({row.side_effects}) was stopped part-way; not "
                "running it again (pass --yes to re-run it)",
                err=True,
            )
            return False
        return await _ask(
            view,
            f"Step '{row.key}' ({row.side_effects}) was stopped part-way and may have done part "
            "of its work. Run it again?",
        )

    return confirm


def _plan(checked: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """The resolved plan a dry run prints: order, each step's target, inputs and guards."""
    from assistant.workflow.graph import items_source

    steps = []
    for name in checked.graph.order:
        step = checked.workflow.step(name)
        target = checked.targets[name]
        entry: dict[str, Any] = {
            "step": name,
            "runs": target.qualified,
            "side_effects": target.side_effects,
            "after": step.depends_on,
            "inputs": step.inputs,
        }
        if name in checked.graph.fallbacks:
            entry["fallback_for"] = checked.graph.fallbacks[name]
        for key, value in (
            ("if", step.if_),
            ("for_each", items_source(step) if step.for_each is not None else None),
            ("loop", step.loop.model_dump() if step.loop else None),
            ("retry", step.retry.model_dump() if step.retry else None),
            ("approval", "required" if step.approval == "required" else None),
        ):
            if value is not None:
                entry[key] = value
        steps.append(entry)
    return {
        "workflow": checked.workflow.name,
        "inputs": inputs,
        "steps": steps,
        "conversions": [
            f"{c.source_step} -> {c.step}.{c.input}: {c.source_format} -> {c.target_format}"
            for c in checked.conversions
        ],
    }


def _print_plan(plan: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(plan)
        return
    click.echo(f"plan for '{plan['workflow']}' (dry run: nothing runs)")
    for key, value in plan["inputs"].items():
        click.echo(f"  input {key} = {value}")
    for i, step in enumerate(plan["steps"], 1):
        after = f" after {', '.join(step['after'])}" if step["after"] else ""
        click.echo(f"{i}. {step['step']}: {step['runs']} [{step['side_effects']}]{after}")
        for key in ("if", "for_each", "loop", "retry", "approval", "fallback_for"):
            if key in step:
                click.echo(f"     {key}: {step[key]}")
        for key, value in step["inputs"].items():
            click.echo(f"     {key} = {value}")
    for note in plan["conversions"]:
        click.echo(f"converts {note}")


def _report(run_id: str, outcome: Any, *, as_json: bool) -> None:
    code = EXIT_BY_STATUS.get(outcome.status, 1)
    if as_json:
        echo_json(
            {
                "run_id": run_id,
                "status": outcome.status,
                "error": outcome.error,
                "outputs": outcome.outputs,
                "steps": {n: o.status for n, o in outcome.steps.items()},
            }
        )
        sys.exit(code)
    for key, value in outcome.outputs.items():
        click.echo(f"{key}: {value}")
    if outcome.status != "succeeded":
        click.echo(f"run {run_id} {outcome.status}: {outcome.error}", err=True)
        click.echo(
            f"  details: mark1 workflow show {run_id}    resume: mark1 workflow resume {run_id}",
            err=True,
        )
    sys.exit(code)


@workflow.command(short_help="Continue a run from its unfinished steps.")
@click.argument("run_id")
@click.option("--no-cache", is_flag=True, help="Run the remaining steps even if cached.")
@click.option("--executor", metavar="local|dask|tcp://HOST:PORT", help="Where steps run now.")
@click.option("-q", "--quiet", is_flag=True, help="No progress, only the result.")
@yes_option
@json_option
def resume(
    run_id: str, no_cache: bool, executor: str | None, quiet: bool, yes: bool, as_json: bool
) -> None:
    """Continue RUN_ID from its first unfinished step; finished steps are not run again.

    A step with external or destructive side effects that was running when the run stopped
    is only run again if you confirm (or pass --yes).
    """
    from assistant.cli.workflow_view import ProgressView
    from assistant.workflow.service import resume_run

    view = ProgressView(quiet=quiet or as_json)

    async def go() -> tuple[str, Any]:
        async with session() as (settings, store):
            with view:
                return await resume_run(
                    store,
                    settings,
                    run_id,
                    no_cache=no_cache or None,
                    executor=executor,
                    on_event=view,
                    approve=_approver(yes, view),
                    confirm_rerun=_rerun_confirmer(yes, view),
                )

    _report(*run_async(go()), as_json=as_json)


@workflow.command(short_help="Stop a running workflow run.")
@click.argument("run_id")
@click.option("--wait", default=10.0, show_default=True, help="Seconds to wait for it to stop.")
def cancel(run_id: str, wait: float) -> None:
    """Stop a running workflow: running steps are stopped and recorded as cancelled."""
    import os
    import signal

    from assistant.workflow.service import find_workflow_run

    async def go() -> Any:
        async with session() as (_, store):
            return await find_workflow_run(store, run_id)

    row = run_async(go())
    if row["status"] != "running" or not row["runner_pid"]:
        raise UserError(f"run {row['id']} is not running (it is {row['status']})")
    gone = UserError(
        f"the process of run {row['id']} is gone (Mark-1 stopped without recording it)",
        hint=f"`mark1 workflow resume {row['id']}` continues it",
    )
    if not _is_mark1(row["runner_pid"]):
        raise gone  # the number may belong to another program by now: never signal it
    try:
        os.kill(row["runner_pid"], signal.SIGTERM)
    except ProcessLookupError:
        raise gone from None
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if _status(row["id"]) != "running":
            click.echo(f"run {row['id']} cancelled")
            return
        time.sleep(0.1)
    raise UserError(f"run {row['id']} did not stop within {wait:g} s", hint="try again")


def _is_mark1(pid: int) -> bool:
    """Whether ``pid`` is a Mark-1 process (its command line names mark1 or our entry point)."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(b"mark1" in w or b"assistant.cli.main" in w for w in words)


def _status(run_id: str) -> str:
    async def go() -> str:
        async with session() as (_, store):
            found = await store.fetchone("SELECT status FROM runs WHERE id = ?", (run_id,))
            return str(found[0]) if found else "missing"

    return run_async(go())


def _get(run_id: str) -> dict[str, Any]:
    from assistant.workflow.runs import get_run

    async def go() -> dict[str, Any] | None:
        async with session() as (_, store):
            return await get_run(store, run_id)

    found = run_async(go())
    if found is None or found["kind"] != "workflow":
        raise NotFoundError(
            f"no workflow run matches '{run_id}'", hint="`mark1 workflow history` lists runs"
        )
    return found


@workflow.command()
@click.argument("run_id")
@click.option("-f", "--follow", is_flag=True, help="Keep showing it until the run ends.")
@click.option("--interval", default=0.5, show_default=True, help="Seconds between refreshes.")
@json_option
def status(run_id: str, follow: bool, interval: float, as_json: bool) -> None:
    """The state of each step of RUN_ID (a unique prefix is enough).

    With --follow, each change is printed as it happens (one JSON object per line with
    --json) until the run ends.
    """
    import json

    def line(data: dict[str, Any]) -> None:
        click.echo(json.dumps(data, default=str))

    seen: dict[str, str] = {}
    while True:
        run = _get(run_id)
        if as_json and not follow:
            echo_json(run)
            return
        for step in run["steps"]:
            if seen.get(step["name"]) != step["status"]:
                seen[step["name"]] = step["status"]
                if as_json:
                    line({"step": step["name"], "status": step["status"]})
                else:
                    click.echo(f"{step['name']}: {step['status']}")
        if not follow or run["status"] != "running":
            if as_json:
                line({"run": run["id"], "status": run["status"], "error": run["error"]})
            else:
                click.echo(f"run {run['id']}: {run['status']}")
            return
        time.sleep(interval)


@workflow.command()
@click.argument("run_id")
@json_option
def show(run_id: str, as_json: bool) -> None:
    """RUN_ID as a DAG with each step's state and timing."""
    from assistant.cli.workflow_view import show_run

    run = _get(run_id)
    if as_json:
        echo_json(run)
    else:
        show_run(run)


@workflow.command(short_help="Show what a run's steps printed.")
@click.argument("run_id")
@click.argument("step", required=False)
def logs(run_id: str, step: str | None) -> None:
    """What the steps of RUN_ID printed (only STEP's, if given; items as STEP[0], STEP[1]...)."""
    from assistant.workflow.events import step_of
    from assistant.workflow.logs import log_path

    run = _get(run_id)
    keys = [s["name"] for s in run["steps"]]
    if step is not None:
        chosen = [k for k in keys if k == step or step_of(k) == step]
        if not chosen:
            raise NotFoundError(
                f"run {run['id']} has no step '{step}'", hint=f"steps: {', '.join(keys)}"
            )
        keys = chosen
    for key in keys:
        path = log_path(Path(run["workdir"]), key)
        click.echo(f"== {key} ==")
        click.echo(path.read_text(encoding="utf-8").rstrip() if path.is_file() else "(no output)")


@workflow.command()
@click.option("-n", "--limit", default=20, show_default=True, help="How many, newest first.")
@click.option("--workflow", "name", help="Only runs of this workflow.")
@json_option
def history(limit: int, name: str | None, as_json: bool) -> None:
    """Past workflow runs, newest first."""
    from assistant.cli.runs_cmd import runs_table
    from assistant.workflow.runs import list_runs

    async def go() -> list[dict[str, Any]]:
        async with session() as (_, store):
            return await list_runs(store, limit, kind="workflow", target=name)

    found = run_async(go())
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo("No workflow runs yet.")
        return
    runs_table(found, "workflow")


@workflow.command(short_help="Save a workflow file by name.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="Save under this name (default: the workflow's name).")
def save(file: Path, name: str | None) -> None:
    """Validate FILE and save it by name, to run (`workflow run NAME`) or schedule later."""
    from assistant.workflow.library import save_workflow
    from assistant.workflow.loader import load_workflow
    from assistant.workflow.validate import check_workflow

    async def go() -> str:
        async with session() as (_, store):
            loaded = load_workflow(file)
            await check_workflow(loaded, store)
            return await save_workflow(
                store, loaded, name=name, text=file.read_text(encoding="utf-8")
            )

    saved = run_async(go())
    click.echo(f"saved workflow '{saved}'; run it with: mark1 workflow run {saved}")


@workflow.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Saved workflows."""
    from assistant.workflow.library import list_workflows

    async def go() -> list[dict[str, Any]]:
        async with session() as (_, store):
            return await list_workflows(store)

    found = run_async(go())
    if as_json:
        echo_json(found)
        return
    if not found:
        click.echo("No saved workflows. Save one with: mark1 workflow save FILE")
        return
    table(
        ["name", "runs", "description", "saved from"],
        [(w["name"], w["runs"], w["description"], w["source_path"]) for w in found],
    )


@workflow.command(short_help="Delete a saved workflow.")
@click.argument("name")
def remove(name: str) -> None:
    """Delete saved workflow NAME and its schedules (its run history stays)."""
    from assistant.workflow.library import remove_workflow

    async def go() -> None:
        async with session() as (_, store):
            await remove_workflow(store, name)

    run_async(go())
    click.echo(f"removed workflow '{name}'")


@workflow.command(short_help="Run a saved workflow every N or on cron.")
@click.argument("name")
@click.option("--every", metavar="DURATION", help="e.g. 30s, 5m, 1h30m.")
@click.option("--cron", metavar="EXPR", help="Five-field cron expression, UTC: '*/5 * * * *'.")
@input_option
@json_option
def schedule(
    name: str, every: str | None, cron: str | None, pairs: tuple[str, ...], as_json: bool
) -> None:
    """Run saved workflow NAME on a schedule; `mark1 daemon` carries the schedules out.

    \b
    Example (the seed's "monitor my website every 5 minutes"):
      mark1 workflow save monitor.yml --name site-monitor
      mark1 workflow schedule site-monitor --every 5m -i url=https://example.org
      mark1 daemon
    """
    from assistant.workflow.inputs import parse_pairs
    from assistant.workflow.library import add_schedule, parse_every

    if (every is None) == (cron is None):
        raise UserError("give exactly one of --every and --cron", hint="e.g. --every 5m")
    seconds = parse_every(every) if every is not None else None

    async def go() -> Any:
        async with session() as (_, store):
            return await add_schedule(
                store, name, every=seconds, cron=cron, inputs=dict(parse_pairs(pairs))
            )

    made = run_async(go())
    when = local_time(made.next_at)
    if as_json:
        echo_json({"id": made.id, "workflow": made.workflow, "next_at": made.next_at})
        return
    click.echo(f"schedule {made.id}: '{name}' {made.describe()}; first run at {when}")
    click.echo("  schedules run while `mark1 daemon` is running")


@workflow.command()
@json_option
def schedules(as_json: bool) -> None:
    """The schedules, when each is due and how its last run went."""
    from assistant.workflow.library import list_schedules

    async def go() -> Any:
        async with session() as (_, store):
            return await list_schedules(store)

    found = run_async(go())
    if as_json:
        echo_json([vars(s) for s in found])
        return
    if not found:
        click.echo("No schedules. Add one with: mark1 workflow schedule NAME --every 5m")
        return
    table(
        ["id", "workflow", "when", "next", "last run", "last status"],
        [
            (
                s.id,
                s.workflow,
                s.describe(),
                local_time(s.next_at),
                s.last_run_id or "-",
                s.last_status or "-",
            )
            for s in found
        ],
    )


@workflow.command()
@click.argument("schedule_id", type=int)
def unschedule(schedule_id: int) -> None:
    """Delete schedule SCHEDULE_ID (see `mark1 workflow schedules`)."""
    from assistant.workflow.library import remove_schedule

    async def go() -> None:
        async with session() as (_, store):
            await remove_schedule(store, schedule_id)

    run_async(go())
    click.echo(f"removed schedule {schedule_id}")
