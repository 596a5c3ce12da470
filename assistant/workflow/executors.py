"""Where step instances execute: in this process (the default) or on a Dask cluster.

The engine decides what runs when; an executor only turns one prepared step into a
``PluginResult``. Preparation (schema check, sandbox policy, declared environment) always
happens here in the engine's process, so a refusal is reported before anything runs and a
remote worker receives a complete, self-contained job.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from adapters.base import Adapter, CapabilitySpec, EventSink, Notice, PluginResult, RunContext
from adapters.cgroups import reusing_cgroups
from adapters.inputs import validate
from assistant.config import Settings
from assistant.errors import InputError, UserError
from assistant.plugins import invoke
from assistant.workflow.builtins import run_builtin
from assistant.workflow.targets import Target
from memory.store import Store


@dataclass
class Job:
    """One step instance ready to run: inputs checked against the schema, defaults filled."""

    key: str
    target: Target
    inputs: dict[str, Any]
    context: RunContext | None = None  # plugins only
    spec: CapabilitySpec | None = None


class Executor(Protocol):
    """Runs prepared jobs; an async context manager that releases what it opened."""

    name: str

    async def __aenter__(self) -> Executor: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def prepare(
        self, key: str, target: Target, inputs: dict[str, Any], workdir: Path, timeout: float | None
    ) -> Job: ...

    async def execute(self, job: Job, on_event: EventSink | None) -> PluginResult: ...


class LocalExecutor:
    """Runs each plugin through its adapter in this process (plugins still run in their own
    sandboxed processes); one adapter session per plugin for the whole run, so a plugin that
    starts a service starts it once."""

    name = "local"

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store, self.settings = store, settings
        self._stack = AsyncExitStack()
        self._adapters: dict[str, Adapter] = {}
        self._introduced: set[str] = set()

    async def __aenter__(self) -> LocalExecutor:
        await self._stack.__aenter__()
        self._stack.enter_context(reusing_cgroups())  # steps reuse run cgroups: far cheaper
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.__aexit__(None, None, None)

    async def prepare(
        self, key: str, target: Target, inputs: dict[str, Any], workdir: Path, timeout: float | None
    ) -> Job:
        """Check inputs and decide how the job runs; raises ``UserError`` when it cannot."""
        if target.builtin is not None:
            from adapters.base import InputValidationError

            try:
                checked = validate(target.parameters, inputs)
            except InputValidationError as exc:
                raise InputError(
                    f"invalid inputs for {target.qualified}: " + "; ".join(exc.problems)
                ) from exc
            return Job(key, target, checked)
        record, capability = target.record, target.spec
        assert record is not None and capability is not None
        adapter = await self._adapter(target)
        spec = record.spec(capability)
        checked = invoke.check_inputs(adapter, spec, record, capability, inputs)
        context = await invoke.execution_context(
            self.store, self.settings, record, capability, checked, workdir=workdir, timeout=timeout
        )
        return Job(key, target, checked, context, spec)

    async def _adapter(self, target: Target) -> Adapter:
        assert target.spec is not None
        slot = f"{target.plugin}:{target.spec.entry_point.type}"
        if slot not in self._adapters:
            adapter = invoke.new_adapter(target.spec)
            self._adapters[slot] = await self._stack.enter_async_context(adapter)
        return self._adapters[slot]

    async def execute(self, job: Job, on_event: EventSink | None) -> PluginResult:
        if job.target.builtin is not None:
            return await run_builtin(job.target.capability, job.inputs)
        assert job.context is not None and job.spec is not None
        context = replace(job.context, on_event=on_event)
        if job.target.plugin not in self._introduced and job.target.record is not None:
            self._introduced.add(job.target.plugin)
            invoke.introduce(job.target.record, context)
        adapter = await self._adapter(job.target)
        return await adapter.execute(job.spec, job.inputs, context)


class DaskExecutor(LocalExecutor):
    """Runs plugin steps on the workers of a Dask cluster: a ``LocalCluster`` it starts
    (``address="local"``) or an existing scheduler (``tcp://host:port``).

    Workers must see the same paths as this process (plugin folders, the run's workspace): on
    one machine they do; across machines, mount Mark-1's data folder at the same path on every
    worker (docs/workflows.md). Built-in ``core`` steps stay in-process: shipping them costs
    more than running them.
    """

    name = "dask"

    def __init__(self, store: Store, settings: Settings, address: str, workers: int = 2) -> None:
        super().__init__(store, settings)
        self.address, self.workers = address, workers
        self._client: Any = None
        self._cluster: Any = None

    async def __aenter__(self) -> DaskExecutor:
        await super().__aenter__()
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise InputError(
                "the Dask executor needs the 'distributed' package",
                hint="install Mark-1 with its dask extra: uv pip install 'mark1[dask]'",
            ) from exc
        try:
            if self.address == "local":
                self._cluster = await LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    asynchronous=True,
                    dashboard_address=None,
                    host="127.0.0.1",
                )
                self._client = await Client(self._cluster, asynchronous=True)
            else:
                self._client = await Client(self.address, asynchronous=True, timeout="5s")
        except BaseException as exc:
            await self.__aexit__(None, None, None)  # workers already started must not linger
            if isinstance(exc, OSError | TimeoutError) and self.address != "local":
                raise UserError(
                    f"cannot reach the Dask scheduler at {self.address}: {exc}",
                    hint="start one (`dask scheduler`, then `dask worker ADDRESS` on each "
                    "machine) or use --executor dask for a cluster on this machine",
                ) from exc
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._client is not None:
                await self._client.close()
            if self._cluster is not None:
                await self._cluster.close()
        finally:
            await super().__aexit__(*exc)

    async def execute(self, job: Job, on_event: EventSink | None) -> PluginResult:
        if job.target.builtin is not None:
            return await super().execute(job, on_event)
        assert job.context is not None and job.spec is not None and job.target.spec is not None
        future = self._client.submit(
            execute_on_worker,
            job.target.spec.entry_point.type,
            job.spec,
            job.inputs,
            replace(job.context, on_event=None),
            key=f"mark1-{job.key}-{id(job)}",
            pure=False,
        )
        try:
            result, worker = await future
        except asyncio.CancelledError:
            await self._client.cancel(future, force=True)
            raise
        if on_event is not None:
            on_event(Notice(f"ran on Dask worker {worker}"))
        return result


def execute_on_worker(
    entry_type: str, spec: CapabilitySpec, inputs: dict[str, Any], context: RunContext
) -> tuple[PluginResult, str]:
    """What a Dask worker runs: the capability through its adapter, in a fresh event loop.
    Returns the result and the worker's address (shown in the step's log)."""
    from distributed import get_worker

    from adapters.base import adapter_for

    async def go() -> PluginResult:
        async with adapter_for(entry_type)() as adapter:
            return await adapter.execute(spec, inputs, context)

    return asyncio.run(go()), get_worker().address
