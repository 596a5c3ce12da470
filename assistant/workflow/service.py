"""Starting and resuming workflow runs: the one entry point the CLI, the agent and the daemon use.

A run is recorded (definition, inputs, options) before its first step, so ``resume`` needs
nothing but the run id: not the file, which may have changed, nor the directory it was started
from.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from adapters.process import process_alive
from assistant import paths
from assistant.config import Settings, workspace
from assistant.errors import NotFoundError, UserError
from assistant.workflow.engine import (
    Approver,
    Engine,
    EventSink,
    RerunConfirmer,
    RunOptions,
    RunOutcome,
)
from assistant.workflow.executors import DaskExecutor, Executor, LocalExecutor
from assistant.workflow.journal import Journal
from assistant.workflow.loader import from_data
from assistant.workflow.remembered import remember_run
from assistant.workflow.validate import CheckedWorkflow, check_workflow
from memory.ids import new_id
from memory.store import Store, loads


def run_dir(run_id: str) -> Path:
    """Where a workflow run keeps its step folders, artifacts and logs."""
    return paths.data_dir() / "workflow-runs" / run_id


def make_executor(name: str, store: Store, settings: Settings) -> Executor:
    """``local``, ``dask`` (a LocalCluster started for the run) or a scheduler address."""
    if name == "local":
        return LocalExecutor(store, settings)
    if name == "dask":
        return DaskExecutor(store, settings, "local", settings.workflow.dask_workers)
    if name.startswith(("tcp://", "tls://", "ws://", "inproc://")):
        return DaskExecutor(store, settings, name)
    raise UserError(
        f"unknown executor '{name}'",
        hint="use local, dask (starts a local Dask cluster) or tcp://HOST:PORT",
    )


async def start_run(
    store: Store,
    settings: Settings,
    checked: CheckedWorkflow,
    *,
    inputs: dict[str, Any],
    options: RunOptions,
    executor: str = "local",
    source: str,
    run_id: str | None = None,
    on_event: EventSink | None = None,
    approve: Approver | None = None,
) -> tuple[str, RunOutcome]:
    """Record and run ``checked`` from its first step."""
    run_id = run_id or new_id()
    folder = run_dir(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    recorded = asdict(options) | {"base_dir": str(options.base_dir), "executor": executor}
    async with (
        Journal(store.path, run_id) as journal,
        make_executor(executor, store, settings) as ex,
    ):
        await journal.run_started(
            name=checked.workflow.name,
            definition=checked.workflow.to_document(),
            inputs=inputs,
            options=recorded,
            workdir=folder,
            source=source,
        )
        engine = Engine(
            checked,
            run_id=run_id,
            run_dir=folder,
            inputs=inputs,
            journal=journal,
            executor=ex,
            options=options,
            on_event=on_event,
            approve=approve,
        )
        outcome = await engine.run()
    await remember_run(store, settings, checked.workflow, run_id, outcome)
    return run_id, outcome


async def resume_run(
    store: Store,
    settings: Settings,
    run_id: str,
    *,
    no_cache: bool | None = None,
    executor: str | None = None,
    on_event: EventSink | None = None,
    approve: Approver | None = None,
    confirm_rerun: RerunConfirmer | None = None,
) -> tuple[str, RunOutcome]:
    """Continue run ``run_id`` from its first unfinished step instance."""
    row = await find_workflow_run(store, run_id)
    run_id = row["id"]
    if row["status"] == "succeeded":
        raise UserError(f"run {run_id} already succeeded; there is nothing to resume")
    pid = row["runner_pid"]
    if row["status"] == "running" and pid and pid != os.getpid() and process_alive(pid):
        raise UserError(
            f"run {run_id} is still running (process {pid})",
            hint=f"`mark1 workflow cancel {run_id}` stops it; resume it afterwards",
        )
    loaded = from_data(loads(row["definition_json"]), f"run {run_id}")
    checked = await check_workflow(loaded, store)
    recorded = loads(row["options_json"]) or {}
    options = RunOptions(
        base_dir=Path(recorded.get("base_dir") or Path.cwd()),
        parallelism=recorded.get("parallelism", settings.workflow.parallelism),
        plugin_limits=recorded.get("plugin_limits") or {},
        no_cache=recorded.get("no_cache", False) if no_cache is None else no_cache,
        timeout=recorded.get("timeout"),
    )
    folder = Path(row["workdir"])
    chosen = executor or recorded.get("executor") or "local"
    async with Journal(store.path, run_id) as journal, make_executor(chosen, store, settings) as ex:
        previous = await journal.steps()
        if not await journal.run_resumed(row["status"], pid):
            raise UserError(
                f"run {run_id} was resumed by another process just now",
                hint=f"`mark1 workflow status {run_id} --follow` shows its progress",
            )
        engine = Engine(
            checked,
            run_id=run_id,
            run_dir=folder,
            inputs=loads(row["inputs_json"]) or {},
            journal=journal,
            executor=ex,
            options=options,
            on_event=on_event,
            approve=approve,
            confirm_rerun=confirm_rerun,
            previous=previous,
        )
        outcome = await engine.run()
    await remember_run(store, settings, checked.workflow, run_id, outcome)
    return run_id, outcome


async def run_saved(
    store: Store,
    settings: Settings,
    name: str,
    inputs: dict[str, Any],
    *,
    on_event: EventSink | None = None,
) -> tuple[str, RunOutcome]:
    """Run saved workflow ``name`` unattended (the daemon): steps needing approval are
    declined, since nobody is there to answer."""
    from assistant.workflow.inputs import resolve_inputs
    from assistant.workflow.library import saved_workflow

    loaded = await saved_workflow(store, name)
    if loaded is None:
        raise NotFoundError(f"no saved workflow '{name}'", hint="`mark1 workflow list`")
    checked = await check_workflow(loaded, store)
    base = workspace(settings)  # relative paths and globs of scheduled runs start here
    options = RunOptions.chosen(settings, checked.workflow, base)
    return await start_run(
        store,
        settings,
        checked,
        inputs=resolve_inputs(checked.workflow, checked.graph, inputs, base),
        options=options,
        executor=settings.workflow.executor,
        source=f"saved:{name}",
        on_event=on_event,
    )


async def find_workflow_run(store: Store, run_id: str) -> Any:
    """The runs row of workflow run ``run_id`` (a unique prefix is enough)."""
    rows = await store.fetchall(
        "SELECT * FROM runs WHERE kind = 'workflow' AND id LIKE ? || '%' LIMIT 2", (run_id,)
    )
    if len(rows) != 1:
        what = "no" if not rows else "more than one"
        raise NotFoundError(
            f"{what} workflow run matches '{run_id}'",
            hint="`mark1 workflow history` lists runs",
        )
    return rows[0]
