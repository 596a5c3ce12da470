"""Running one capability of one installed plugin, recorded as a run with a single step."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from adapters.base import (
    Adapter,
    AdapterNotFound,
    CapabilitySpec,
    EventSink,
    InputValidationError,
    Notice,
    PluginResult,
    RunContext,
    Status,
    adapter_for,
)
from adapters.process import OUTPUT_LIMIT
from assistant.config import Settings
from assistant.errors import InputError, ManifestError, PluginError, UserError
from assistant.plugins import registry
from assistant.plugins.manifest import Capability
from assistant.plugins.manifest_loader import load_manifest
from assistant.plugins.plugin_env import filled_by_mark1, how_to_set, variable_value
from assistant.plugins.registry import PluginRecord
from assistant.plugins.service_runtime import local_choices, local_service_environment
from assistant.security import known_secrets
from assistant.security.oauth_tokens import oauth_environment
from assistant.security.policy import policy_for, requests
from assistant.workflow import runs
from memory.store import Store


async def refresh_linked(store: Store) -> None:
    """Re-read linked plugins' manifests so new or renamed capabilities are found.

    A linked manifest that is broken right now keeps its last good version here; running one
    of its capabilities reports the error (see ``resolve``).
    """
    for plugin in await registry.list_plugins(store):
        if plugin.linked:
            try:
                await registry.refresh_manifest(store, plugin, load_manifest(plugin.manifest_path))
            except ManifestError:
                continue


async def resolve(store: Store, target: str) -> tuple[PluginRecord, Capability]:
    """The plugin and capability ``target`` names, with linked plugins' manifests re-read."""
    await refresh_linked(store)
    plugin, capability = await registry.resolve_capability(store, target)
    if plugin.linked:
        plugin = await registry.refresh_manifest(store, plugin, load_manifest(plugin.manifest_path))
        fresh = plugin.manifest.capability(capability.name)
        if fresh is None:
            raise UserError(f"'{capability.name}' is no longer in {plugin.manifest_path}")
        capability = fresh
    if not plugin.enabled:
        raise UserError(
            f"plugin '{plugin.name}' is disabled", hint=f"`mark1 plugin enable {plugin.name}`"
        )
    return plugin, capability


async def run_capability(
    store: Store,
    settings: Settings,
    plugin: PluginRecord,
    capability: Capability,
    inputs: dict[str, Any],
    *,
    workdir: Path,
    timeout: float | None = None,
    on_event: EventSink | None = None,
    run_id: str | None = None,
) -> tuple[str, PluginResult]:
    """Validate, record, execute and record again; returns the run id and the result."""
    adapter = new_adapter(capability)
    spec = plugin.spec(capability)
    checked = check_inputs(adapter, spec, plugin, capability, inputs)
    context = await execution_context(  # may refuse (remote, policy): before any record
        store, settings, plugin, capability, checked, workdir=workdir, timeout=timeout
    )
    if on_event is not None:
        context.on_event = lambda event: on_event(known_secrets.mask_event(event))
    qualified = f"{plugin.name}.{capability.name}"
    run_id = await runs.start_run(
        store, kind="capability", target=qualified, inputs=checked, workdir=workdir, run_id=run_id
    )
    await runs.start_step(
        store,
        run_id,
        name=capability.name,
        plugin=plugin.name,
        version_id=plugin.version_id,
        capability=capability.name,
        inputs=checked,
    )
    if not await registry.has_run(store, plugin.name):
        introduce(plugin, context)
    try:
        async with adapter:
            result = await adapter.execute(spec, checked, context)
    except BaseException as exc:
        # Whatever stops the run (Ctrl-C, SIGTERM, a bug) the record must not stay "running".
        cancelled = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
        status: Status = "cancelled" if cancelled else "failed"
        error = "cancelled by the user" if cancelled else f"internal error: {exc!r}"
        await asyncio.shield(
            _record(store, run_id, capability.name, PluginResult(status, error=error))
        )
        raise
    result = known_secrets.mask_result(result)
    await _record(store, run_id, capability.name, result)
    return run_id, result


def new_adapter(capability: Capability) -> Adapter:
    """A fresh adapter for the capability's entry-point type."""
    try:
        return adapter_for(capability.entry_point.type)()
    except AdapterNotFound as exc:
        raise PluginError(str(exc), hint="this entry-point type cannot run yet") from exc


def check_inputs(
    adapter: Adapter,
    spec: CapabilitySpec,
    plugin: PluginRecord,
    capability: Capability,
    inputs: dict[str, Any],
) -> dict[str, Any]:
    """``inputs`` checked against the capability's schema, defaults filled in."""
    try:
        return adapter.validate_inputs(spec, inputs)
    except InputValidationError as exc:
        raise InputError(
            f"invalid inputs for {plugin.name}.{capability.name}: " + "; ".join(exc.problems),
            hint=f"`mark1 capabilities show {plugin.name}.{capability.name}` lists its parameters",
        ) from exc


async def execution_context(
    store: Store,
    settings: Settings,
    plugin: PluginRecord,
    capability: Capability,
    checked: dict[str, Any],
    *,
    workdir: Path,
    timeout: float | None = None,
) -> RunContext:
    """Where and how the capability runs: time limit, declared environment, remote host and
    sandbox policy. Raises before anything runs when one of them cannot be granted."""
    chosen = plugin.grants.get("timeout")  # the user's limit (validated when it was stored)
    limit = (
        timeout or chosen or capability.timeout or plugin.manifest.timeout or settings.run.timeout
    )
    granted = declared_environment(plugin, capability)
    if plugin.manifest.oauth:
        granted |= await oauth_environment(plugin)
    if local_choices(plugin):
        granted |= await local_service_environment(plugin)
    remote = await remote_for(store, plugin, capability)
    policy = policy_for(plugin, capability, settings, workdir, checked)
    return RunContext(
        workdir=workdir,
        timeout=limit,
        kill_grace=settings.run.kill_grace,
        output_limit=settings.run.output_limit or OUTPUT_LIMIT,
        env=granted,
        sandbox=policy,
        remote=remote,
    )


def introduce(plugin: PluginRecord, context: RunContext) -> None:
    """Before a plugin's first run, say how it is confined and what it asks for. (A remote
    run is introduced by the ssh adapter: Mark-1's sandbox does not apply there.)"""
    if context.remote is not None:
        pass
    elif context.sandbox is None:
        context.emit(Notice(f"{plugin.name} runs unsandboxed: you trust it", "warning"))
    else:
        context.emit(
            Notice(f"{plugin.name} runs in a sandbox: " + "; ".join(context.sandbox.describe()))
        )
    for request in requests(plugin):
        context.emit(Notice(f"{plugin.name} asks for {request}"))


def declared_environment(plugin: PluginRecord, capability: Capability) -> dict[str, str]:
    """The environment variables the manifest declares, and nothing else (the rest of the
    environment is scrubbed), valued as ``plugin_env`` says. A required variable with no
    value stops the run before it starts, naming the fix."""
    granted: dict[str, str] = {}
    missing = []
    declared = [*plugin.manifest.env, *capability.env]
    filled = filled_by_mark1(plugin) if declared else set()
    for var in declared:
        if var.name in filled:
            continue
        value = variable_value(plugin, var)
        if value is not None:
            granted[var.name] = value
        elif var.required:
            missing.append(var)
    if missing:
        names = ", ".join(v.name for v in missing)
        raise UserError(
            f"{plugin.name}.{capability.name} needs the environment variable(s) {names}",
            hint=how_to_set(plugin, missing[0]),
        )
    return granted


async def _record(store: Store, run_id: str, step: str, result: PluginResult) -> None:
    await runs.finish_step(store, run_id, step, result)
    await runs.finish_run(
        store, run_id, status=result.status, outputs=result.outputs, error=result.error
    )


async def remote_for(
    store: Store, plugin: PluginRecord, capability: Capability
) -> dict[str, Any] | None:
    """Where an ssh capability runs: the settings of the remote its entry point names."""
    entry = capability.entry_point
    if entry.type != "ssh" or entry.host is None:
        return None
    from assistant.plugins.remotes import get_remote

    found = await get_remote(store, entry.host)
    if found is None:
        raise UserError(
            f"{plugin.name}.{capability.name} runs on the remote '{entry.host}', "
            "which is not configured",
            hint=f"`mark1 remote add {entry.host} --host HOSTNAME [--user USER] [--key PATH] "
            "--trust-host-key`",
        )
    return found.connection()
