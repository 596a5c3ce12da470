"""The scheduler: runs a checked workflow as an asyncio DAG, durably.

Every top-level step is one task that waits for the steps it depends on, so independent
branches run at once with no polling; a global semaphore bounds the step instances running at
a time, per-plugin semaphores bound each plugin, and ``parallel:`` bounds a map step's items.
Each transition is committed to the run's journal before the engine acts on it and before it
is reported, which is what lets ``resume`` continue a run killed at any moment: instances the
journal says succeeded (or were skipped) are restored, never run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from adapters.base import Event, Notice, OutputLine, PluginResult, Progress
from assistant.config import Settings
from assistant.errors import Mark1Error, UserError
from assistant.security import known_secrets
from assistant.security.secret_lookup import workflow_secret
from assistant.workflow import events as ev
from assistant.workflow.bus import Bus
from assistant.workflow.cache import cache_key
from assistant.workflow.executors import Executor
from assistant.workflow.expressions import ExpressionError, render_value, truthy
from assistant.workflow.journal import Journal, StepRow
from assistant.workflow.logs import LogFile, log_path
from assistant.workflow.model import GlobItems, Step, Workflow
from assistant.workflow.targets import Target
from assistant.workflow.validate import CheckedWorkflow
from memory.converters import ConversionError

EventSink = Callable[[ev.WorkflowEvent], None]
Approver = Callable[[ev.ApprovalRequested], Awaitable[bool]]
RerunConfirmer = Callable[[StepRow], Awaitable[bool]]
# Effects that stay in the step's own folder: safe to run again after a crash, and to cache.
CONTAINED = {"read-only", "writes-workspace"}


@dataclass
class RunOptions:
    """How one run is carried out (not what it does: that is the workflow)."""

    base_dir: Path  # where relative paths and globs are read from: the caller's directory
    parallelism: int = 4
    plugin_limits: dict[str, int] = field(default_factory=dict)
    no_cache: bool = False
    timeout: float | None = None  # per step instance, unless the step says otherwise

    @classmethod
    def chosen(
        cls,
        settings: Settings,
        workflow: Workflow,
        base_dir: Path,
        *,
        parallel: int | None = None,
        no_cache: bool = False,
        timeout: float | None = None,
    ) -> RunOptions:
        """Options for a new run: a flag wins over the workflow, which wins over settings."""
        return cls(
            base_dir=base_dir,
            parallelism=parallel or workflow.parallelism or settings.workflow.parallelism,
            plugin_limits=dict(settings.workflow.plugin_limits),
            no_cache=no_cache,
            timeout=timeout,
        )


@dataclass
class Outcome:
    """How a top-level step ended, as later steps and expressions see it."""

    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    items: list[dict[str, Any]] | None = None
    artifacts: list[str] = field(default_factory=list)
    error: str | None = None

    def scope(self) -> dict[str, Any]:
        return {
            "outputs": self.outputs,
            "status": self.status,
            "items": self.items or [],
            "artifacts": self.artifacts,
            "error": self.error,
        }


@dataclass
class RunOutcome:
    status: str
    outputs: dict[str, Any]
    error: str | None
    steps: dict[str, Outcome]


class Engine:
    """One run of one checked workflow."""

    def __init__(
        self,
        checked: CheckedWorkflow,
        *,
        run_id: str,
        run_dir: Path,
        inputs: dict[str, Any],
        journal: Journal,
        executor: Executor,
        options: RunOptions,
        on_event: EventSink | None = None,
        approve: Approver | None = None,
        confirm_rerun: RerunConfirmer | None = None,
        previous: list[StepRow] | None = None,
    ) -> None:
        self.checked, self.wf = checked, checked.workflow
        self.positions = {s.name: i for i, s in enumerate(self.wf.steps)}  # no scans per step
        self.run_id, self.run_dir, self.inputs = run_id, run_dir, inputs
        self.journal, self.executor, self.options = journal, executor, options
        self._emit = on_event or (lambda _e: None)
        self._approve = approve
        self._confirm_rerun = confirm_rerun
        self.previous = {row.key: row for row in previous or []}
        self.bus = Bus(run_dir)
        self.slots = asyncio.Semaphore(options.parallelism)
        self.plugin_slots = {p: asyncio.Semaphore(n) for p, n in options.plugin_limits.items()}
        self.item_gates: dict[str, _ItemGate] = {}  # a map step's ``parallel:``
        self.done: dict[str, asyncio.Future[Outcome]] = {}
        self.stopping: str | None = None  # why no new step starts (a step failed)
        self.declined = False
        self.secrets = _Secrets(os.environ)
        self.scope: dict[str, Any] = {
            "workflow": {"inputs": inputs, "name": self.wf.name, "run_id": run_id},
            "steps": {},
            "env": dict(os.environ),
            "secrets": self.secrets,
        }

    # ---- the run -----------------------------------------------------------------------

    async def run(self) -> RunOutcome:
        started = time.perf_counter()
        fallbacks = self.checked.graph.fallbacks
        order = [n for n in self.checked.graph.order if n not in fallbacks]
        loop = asyncio.get_running_loop()
        self.done = {name: loop.create_future() for name in order}
        self._emit(ev.RunStarted(self.run_id, self.wf.name, order, resumed=bool(self.previous)))
        tasks = [asyncio.create_task(self._drive(self._step(n)), name=n) for n in order]
        try:
            await asyncio.gather(*tasks)
        except BaseException as exc:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            stopped = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
            reason = "cancelled by the user" if stopped else f"internal error: {exc!r}"
            await asyncio.shield(
                self._stopped(started, "cancelled" if stopped else "failed", reason)
            )
            raise
        outcomes = {n: self.done[n].result() for n in order}
        status, error = self._verdict()
        outputs = self._outputs(outcomes)
        outputs = self.secrets.mask(outputs)
        await self.journal.run_finished(status, outputs, error)
        duration = time.perf_counter() - started
        self._emit(ev.RunFinished(self.run_id, status, duration, outputs, error))
        shown = {n: self.secrets.masked_outcome(o) for n, o in outcomes.items()}
        return RunOutcome(status, outputs, error, shown)

    async def _stopped(self, started: float, status: str, reason: str) -> None:
        """Record a run that did not reach its end: its running steps and itself."""
        await self.journal.steps_cancelled(reason)
        await self.journal.run_finished(status, {}, reason)
        self._emit(ev.RunFinished(self.run_id, status, time.perf_counter() - started, {}, reason))

    def _verdict(self) -> tuple[str, str | None]:
        if self.stopping:
            return "failed", self.stopping
        if self.declined:
            return "cancelled", "a step that needs approval was declined"
        return "succeeded", None

    def _outputs(self, outcomes: dict[str, Outcome]) -> dict[str, Any]:
        if self.wf.outputs:
            try:
                rendered = render_value(self.wf.outputs, self.scope)
            except ExpressionError as exc:
                return {"error": f"the workflow's outputs could not be computed: {exc.message}"}
            return dict(rendered)
        found: dict[str, Any] = {}
        for step in self.wf.steps:
            outcome = outcomes.get(step.name)
            if outcome is not None and outcome.status == "succeeded":
                found.update({alias: outcome.outputs.get(alias) for alias in step.outputs})
        return found

    # ---- one top-level step -------------------------------------------------------------

    async def _drive(self, step: Step) -> None:
        future = self.done[step.name]
        try:
            outcome = await self._decide(step)
        except asyncio.CancelledError:
            future.cancel()
            raise
        self.scope["steps"][step.name] = outcome.scope()
        future.set_result(outcome)

    async def _decide(self, step: Step) -> Outcome:
        deps = [await asyncio.shield(self.done[d]) for d in step.depends_on]
        blocked = next(
            (
                d
                for d, o in zip(step.depends_on, deps, strict=True)
                if o.status in ("skipped", "cancelled")
            ),
            None,
        )
        if blocked is not None:
            return await self._skip(step, f"'{blocked}' did not run")
        if self.stopping:
            return await self._skip(step, f"the run is stopping: {self.stopping}")
        if step.if_ is not None:
            try:
                condition = self.checked.graph.conditions[("steps", self._index(step), "if")]
                holds = truthy(condition.evaluate(self.scope))
            except ExpressionError as exc:
                return self._fail(step, f"its condition could not be evaluated: {exc.message}")
            if not holds:
                return await self._skip(step, f"condition not met: {step.if_}")
        target = self.checked.targets[step.name]
        if step.approval == "required" and not await self._approved(step, target):
            self.declined = True
            return await self._skip(step, "declined by the user")
        stood_in = step.fallback is not None and self._succeeded_before(step.fallback)
        if stood_in:  # its fallback already stood in before the interruption
            outcome = Outcome("failed", error="replaced by its fallback before the interruption")
        elif step.for_each is not None:
            outcome = await self._map(step, target)
        elif step.loop is not None:
            outcome = await self._loop(step, target)
        else:
            outcome = await self._instance(step, target, step.name, {})
        if outcome.status != "succeeded" and step.fallback:
            fallback = self._step(step.fallback)
            outcome = await self._instance(
                fallback, self.checked.targets[fallback.name], fallback.name, {}
            )
            self.scope["steps"][fallback.name] = outcome.scope()
        if outcome.status != "succeeded" and step.on_error != "continue" and not self.stopping:
            self.stopping = (
                f"step '{step.name}' {outcome.status.replace('_', ' ')}: {outcome.error}"
            )
        return outcome

    def _index(self, step: Step) -> int:
        return self.positions[step.name]

    def _step(self, name: str) -> Step:
        return self.wf.steps[self.positions[name]]

    async def _approved(self, step: Step, target: Target) -> bool:
        if self._started_before(step.name):
            return True  # approved (and started) before the run was interrupted
        request = ev.ApprovalRequested(
            self.run_id,
            step.name,
            target.plugin,
            target.capability,
            target.side_effects,
            dict(step.inputs),
        )
        self._emit(request)
        return self._approve is not None and await self._approve(request)

    def _succeeded_before(self, key: str) -> bool:
        row = self.previous.get(key)
        return row is not None and row.status == "succeeded"

    def _started_before(self, name: str) -> bool:
        """Whether an earlier attempt of this run got step ``name`` (any instance) going."""
        return any(row.step == name and row.status != "skipped" for row in self.previous.values())

    async def _skip(self, step: Step, why: str) -> Outcome:
        target = self.checked.targets[step.name]
        if (
            self.previous.get(step.name, None) is None
            or self.previous[step.name].status != "skipped"
        ):
            await self.journal.step_skipped(
                step.name,
                step=step.name,
                plugin=target.plugin,
                capability=target.capability,
                why=why,
            )
        self._emit(ev.StepSkipped(self.run_id, step.name, step.name, why))
        return Outcome("skipped", error=why)

    def _fail(self, step: Step, why: str) -> Outcome:
        if step.on_error == "fail" and not self.stopping:
            self.stopping = f"step '{step.name}' failed: {why}"
        return Outcome("failed", error=why)

    # ---- repetition ---------------------------------------------------------------------

    def _items(self, step: Step) -> list[Any]:
        source = step.for_each
        if isinstance(source, GlobItems):
            pattern = os.path.join(self.options.base_dir, os.path.expanduser(source.glob))
            return [p for p in sorted(glob.glob(pattern, recursive=True)) if os.path.isfile(p)]
        value = render_value(source, self.scope)
        if not isinstance(value, list):
            raise ExpressionError(
                f"for_each gave {type(value).__name__}, not a list", 1, "make it yield a list"
            )
        return value

    async def _map(self, step: Step, target: Target) -> Outcome:
        try:
            items = self._items(step)
        except ExpressionError as exc:
            return self._fail(step, f"its items could not be computed: {exc.message}")
        # ``parallel`` items run at once (``_attempt`` takes the gate around the run itself);
        # as many again are prepared or recorded meanwhile, so launches follow each other
        # without waiting for that bookkeeping.
        gate = self.item_gates[step.name] = _ItemGate(step.parallel, step.on_error != "continue")
        window = asyncio.Semaphore(2 * step.parallel)
        failed = gate.failed

        async def one(index: int, item: Any) -> Outcome:
            key = f"{step.name}[{index}]"
            async with window:
                try:
                    outcome = await self._instance(
                        step, target, key, {step.as_: item, "index": index}, item_index=index
                    )
                except _ItemSkipped as exc:
                    error = f"item {exc} failed"
                    self._emit(
                        ev.StepFinished(self.run_id, key, step.name, "skipped", 0.0, {}, error)
                    )
                    return Outcome("skipped", error=error)
                if outcome.status != "succeeded" and key not in failed:
                    failed.append(key)
                return outcome

        async with asyncio.TaskGroup() as group:  # one item failing badly stops its siblings
            running = [group.create_task(one(i, item)) for i, item in enumerate(items)]
        results = [task.result() for task in running]
        merged = {
            alias: [r.outputs.get(alias) for r in results]
            for alias in dict.fromkeys(k for r in results for k in r.outputs)
        }
        artifacts = [a for r in results for a in r.artifacts]
        per_item = [r.outputs for r in results]
        if failed:
            return Outcome(
                "failed",
                merged,
                per_item,
                artifacts,
                f"{len(failed)} of {len(items)} items failed, first {failed[0]}",
            )
        return Outcome("succeeded", merged, per_item, artifacts)

    async def _loop(self, step: Step, target: Target) -> Outcome:
        assert step.loop is not None
        until = self.checked.graph.conditions[("steps", self._index(step), "loop", "until")]
        previous: dict[str, Any] = {}
        for iteration in range(1, step.loop.max + 1):
            outcome = await self._instance(
                step,
                target,
                f"{step.name}#{iteration}",
                {"iteration": iteration, "previous": previous},
                iteration=iteration,
            )
            if outcome.status != "succeeded":
                return outcome
            scope = {
                **self.scope,
                "steps": {**self.scope["steps"], step.name: outcome.scope()},
                "outputs": outcome.outputs,
                "iteration": iteration,
            }
            try:
                if truthy(until.evaluate(scope)):
                    return outcome
            except ExpressionError as exc:
                return self._fail(step, f"its until condition failed: {exc.message}")
            previous = outcome.outputs
            restored = self._succeeded_before(f"{step.name}#{iteration + 1}")
            if step.loop.delay and iteration < step.loop.max and not restored:
                await asyncio.sleep(step.loop.delay)  # a restored run already waited
        return self._fail(
            step, f"'{step.loop.until}' still did not hold after {step.loop.max} runs"
        )

    # ---- one instance -------------------------------------------------------------------

    async def _instance(
        self,
        step: Step,
        target: Target,
        key: str,
        extra: dict[str, Any],
        *,
        item_index: int | None = None,
        iteration: int | None = None,
    ) -> Outcome:
        row = self.previous.get(key)
        if row is not None and self._succeeded_before(key):
            self._emit(
                ev.StepFinished(
                    self.run_id, key, step.name, "succeeded", 0.0, row.outputs, resumed=True
                )
            )
            return Outcome("succeeded", row.outputs, artifacts=row.artifacts)
        queued = time.time()
        interrupted = row is not None and row.status in ("running", "retrying", "cancelled")
        if interrupted and not await self._may_rerun(row, target):
            why = (
                f"it was stopped part-way and may have had {target.side_effects} side effects; "
                "not run again without your confirmation"
            )
            return await self._refused(
                step, target, key, {}, UserError(why), queued, item_index, iteration
            )
        scope = {**self.scope, **extra} if extra else self.scope
        inputs: dict[str, Any] = {}
        try:
            inputs = render_value(step.inputs, scope)
            inputs = self.bus.deliver(inputs, target, self.options.base_dir)
            job = await self.executor.prepare(
                key, target, inputs, self._workdir(key), step.timeout or self.options.timeout
            )
        except (ExpressionError, ConversionError, Mark1Error, OSError, ValueError) as exc:
            return await self._refused(
                step, target, key, inputs, exc, queued, item_index, iteration
            )
        cache = None
        if (
            step.cache
            and not self.options.no_cache
            and target.side_effects in CONTAINED
            and target.builtin is None
        ):
            cache = cache_key(target, job.inputs, self.run_dir.parent)
            hit = await self.journal.cached(cache)
            if hit is not None:
                return await self._from_cache(
                    step, target, key, job.inputs, cache, hit, queued, item_index, iteration
                )
        attempt = 0
        while True:
            attempt += 1
            result = await self._attempt(
                step, target, key, job, attempt, cache, queued, item_index, iteration
            )
            retry = step.retry
            if (
                result.ok
                or retry is None
                or attempt >= retry.attempts
                or result.status not in retry.on
            ):
                break
            delay = retry.delay(attempt)
            await self.journal.step_retrying(key, result, attempt)
            self._emit(
                ev.StepRetried(self.run_id, key, attempt, delay, result.error or result.status)
            )
            await asyncio.sleep(delay)
        gate = self.item_gates.get(step.name)
        if gate is not None and not result.ok:
            gate.failed.append(key)  # now, before its record: items waiting must not start
        return await self._finish(step, target, key, result, cache)

    async def _may_rerun(self, row: StepRow | None, target: Target) -> bool:
        """Whether an instance interrupted by a crash may run again: it may if its effects stay
        in its workspace, otherwise only when the person says so."""
        if target.side_effects in CONTAINED:
            return True
        return (
            row is not None and self._confirm_rerun is not None and await self._confirm_rerun(row)
        )

    async def _attempt(
        self,
        step: Step,
        target: Target,
        key: str,
        job: Any,
        attempt: int,
        cache: str | None,
        queued: float,
        item_index: int | None,
        iteration: int | None,
    ) -> PluginResult:
        plugin_slot = self.plugin_slots.get(target.plugin)
        item_gate = self.item_gates.get(step.name)
        self._emit(ev.StepQueued(self.run_id, key, step.name))
        if plugin_slot is not None:  # first: a plugin at its limit must not hold global slots
            await plugin_slot.acquire()
        try:
            async with item_gate or contextlib.nullcontext(), self.slots:
                await self._record_start(
                    step, target, key, job.inputs, attempt, cache, queued, item_index, iteration
                )
                self._emit(
                    ev.StepStarted(
                        self.run_id,
                        key,
                        step.name,
                        target.plugin,
                        target.capability,
                        attempt,
                        self.secrets.mask(job.inputs),
                    )
                )
                with LogFile(log_path(self.run_dir, key)) as log:
                    return await self._execute(job, key, log)
        finally:
            if plugin_slot is not None:
                plugin_slot.release()

    async def _execute(self, job: Any, key: str, log: LogFile) -> PluginResult:
        """One run of the job; whatever goes wrong in it fails this step, not the whole run."""
        try:
            return await self.executor.execute(job, self._sink(key, log))
        except Exception as exc:  # noqa: BLE001 - the step's own top-level handler
            return PluginResult("failed", error=f"internal error: {exc!r}")

    async def _record_start(
        self,
        step: Step,
        target: Target,
        key: str,
        inputs: dict[str, Any],
        attempt: int,
        cache: str | None,
        queued: float,
        item_index: int | None,
        iteration: int | None,
    ) -> None:
        """Commit that instance ``key`` starts (a run, a cache hit or a refusal)."""
        await self.journal.step_started(
            key,
            step=step.name,
            plugin=target.plugin,
            version_id=target.record.version_id if target.record else None,
            capability=target.capability,
            side_effects=target.side_effects,
            inputs=self.secrets.mask(inputs),
            attempt=attempt,
            item_index=item_index,
            iteration=iteration,
            cache_key=cache,
            queued_at=queued,
        )

    async def _finish(
        self, step: Step, target: Target, key: str, result: PluginResult, cache: str | None
    ) -> Outcome:
        outputs: dict[str, Any] = {}
        if result.ok:
            try:
                self.bus.keep(result, target, self.run_dir / "steps" / key)
                outputs = self._aliased(step, result)
            except (OSError, ValueError) as exc:
                result.status, result.error = "failed", str(exc)
        if not result.ok:
            outputs = dict(result.outputs)
        recorded, shown = self.secrets.masked_result(result), self.secrets.mask(outputs)
        # The cache keeps the capability's own outputs (names differ between steps); never
        # a result that carried a secret, which must not be stored.
        entry = None
        if cache and result.ok and shown == outputs:
            entry = (cache, target.plugin, target.capability, result.outputs)
        await self.journal.step_finished(key, recorded, outputs=shown, cache_entry=entry)
        duration = float(result.metrics.get("duration_s", 0.0))
        self._emit(
            ev.StepFinished(
                self.run_id, key, step.name, result.status, duration, shown, recorded.error
            )
        )
        return Outcome(result.status, outputs, artifacts=list(result.artifacts), error=result.error)

    async def _from_cache(
        self,
        step: Step,
        target: Target,
        key: str,
        inputs: dict[str, Any],
        cache: str,
        hit: tuple[dict[str, Any], list[str]],
        queued: float,
        item_index: int | None,
        iteration: int | None,
    ) -> Outcome:
        raw, artifacts = hit
        outputs = self._aliased(step, PluginResult("succeeded", outputs=raw, artifacts=artifacts))
        await self._record_start(step, target, key, inputs, 0, cache, queued, item_index, iteration)
        result = PluginResult("succeeded", outputs=outputs, artifacts=artifacts)
        await self.journal.step_finished(key, result, outputs=outputs, cached=True)
        self._emit(
            ev.StepFinished(self.run_id, key, step.name, "succeeded", 0.0, outputs, cached=True)
        )
        return Outcome("succeeded", outputs, artifacts=artifacts)

    async def _refused(
        self,
        step: Step,
        target: Target,
        key: str,
        inputs: dict[str, Any],
        exc: Exception,
        queued: float,
        item_index: int | None,
        iteration: int | None,
    ) -> Outcome:
        """A step that cannot start (its inputs do not resolve or fit): failed, not retried."""
        message = exc.message if isinstance(exc, Mark1Error | ExpressionError) else str(exc)
        message = self.secrets.mask(message)
        await self._record_start(step, target, key, inputs, 1, None, queued, item_index, iteration)
        result = PluginResult("failed", error=message)
        await self.journal.step_finished(key, result, outputs={})
        self._emit(ev.StepFinished(self.run_id, key, step.name, "failed", 0.0, {}, message))
        return Outcome("failed", error=message)

    def _aliased(self, step: Step, result: PluginResult) -> dict[str, Any]:
        """The step's outputs with its ``outputs:`` names added (``name: KEY``)."""
        outputs = dict(result.outputs)
        for alias, source in step.outputs.items():
            if source in result.outputs:
                outputs[alias] = result.outputs[source]
                continue
            saved = self.bus.save_as(result, source) if Path(source).suffix else None
            if saved is None:
                known = ", ".join(result.outputs) or "none"
                raise ValueError(
                    f"outputs: {alias}: '{source}' was not produced (outputs: {known})"
                )
            outputs[alias] = saved
        return outputs

    def _workdir(self, key: str) -> Path:
        folder = self.run_dir / "steps" / key
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _sink(self, key: str, log: LogFile) -> Callable[[Event], None]:
        def sink(event: Event) -> None:
            if isinstance(event, OutputLine):
                text = self.secrets.mask(event.text)
                log.write(f"{event.stream}: {text}")
                self._emit(ev.StepLog(self.run_id, key, event.stream, text))
            elif isinstance(event, Progress):
                message = self.secrets.mask(event.message)
                self._emit(ev.StepProgress(self.run_id, key, event.percent, message))
            elif isinstance(event, Notice):
                log.write(f"notice: {event.text}")
                self._emit(ev.StepLog(self.run_id, key, "notice", event.text))

        return sink


class _Secrets(dict[str, str]):
    """What ``${secrets.NAME}`` reads: the environment first (CI overrides), then the vault's
    ``workflows`` scope. Every value read is remembered, and with the secrets handed to
    plugins (``known_secrets``) masked wherever the run records or reports anything."""

    def __init__(self, source: Mapping[str, str]) -> None:
        super().__init__(source)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        value = super().get(key)
        if value is None:
            value = workflow_secret(key)
        if isinstance(value, str) and value:
            self.read.add(value)
            return value
        return default

    def masked_result(self, result: PluginResult) -> PluginResult:
        """``result`` as it may be recorded."""
        return known_secrets.mask_result(result, self.read)

    def masked_outcome(self, outcome: Outcome) -> Outcome:
        """A step's outcome as the run reports it (later steps saw the real values)."""
        return replace(
            outcome,
            outputs=self.mask(outcome.outputs),
            items=self.mask(outcome.items),
            error=self.mask(outcome.error),
        )

    def mask(self, value: Any) -> Any:
        """``value`` with every secret read or handed out so far replaced by ``***``."""
        return known_secrets.mask(value, self.read)


class _ItemSkipped(Exception):
    """An item of a map step did not start: another item (named) had failed."""


class _ItemGate:
    """A map step's ``parallel:`` slots. Once an item has failed (and the step does not
    continue on errors), an item that gets a slot does not start."""

    def __init__(self, parallel: int, stops: bool) -> None:
        self.slots = asyncio.Semaphore(parallel)
        self.failed: list[str] = []
        self.stops = stops

    async def __aenter__(self) -> None:
        await self.slots.acquire()
        if self.failed and self.stops:
            self.slots.release()
            raise _ItemSkipped(self.failed[0])

    async def __aexit__(self, *exc: object) -> None:
        self.slots.release()
