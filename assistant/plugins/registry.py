"""The plugin registry in SQLite: plugins, their versions and their capabilities.

A plugin's row outlives its removal (``removed_at``) so the history of its runs keeps a name;
only the active version's capabilities are listed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.base import CapabilitySpec
from adapters.process import process_alive
from assistant.errors import NotFoundError, UserError
from assistant.plugins.manifest import Capability, Manifest
from memory.store import Store, dumps, loads


@dataclass(frozen=True)
class PluginVersion:
    """A provisioned version of a plugin: where it came from, where its files are, its manifest."""

    name: str
    source: str
    requested_ref: str | None
    linked: bool
    commit: str | None
    ref: str | None
    path: Path
    source_path: Path
    env_path: Path | None
    manifest_path: Path
    manifest: Manifest
    environment: dict[str, Any]
    analysis: dict[str, Any]  # the repository analysis (profile, inferred fields), as JSON
    validation: dict[str, Any]  # the check before "ready": status and per-capability results

    @property
    def status(self) -> str:
        """ready, degraded or failed (from validation); "unchecked" for older installs."""
        return str(self.validation.get("status") or "unchecked")

    def spec(self, capability: Capability) -> CapabilitySpec:
        """What an adapter needs to execute ``capability`` of this plugin."""
        return CapabilitySpec(
            plugin=self.name,
            name=capability.name,
            entry=capability.entry_point.model_dump(mode="json", exclude_none=True),
            source_dir=self.source_path,
            env_dir=self.env_path,
            parameters=capability.parameters,
            produces=[p.model_dump() for p in capability.produces],
            stdout=capability.stdout,
        )


@dataclass(frozen=True)
class PluginRecord(PluginVersion):
    """An installed plugin as the registry knows it: its active version plus registry state."""

    id: int
    version_id: int
    enabled: bool
    installed_at: float
    updated_at: float
    grants: dict[str, Any]
    config: dict[str, Any]  # what the setup wizard recorded: env values, services

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description for ``--json`` output."""
        return {
            "name": self.name,
            "version": self.manifest.version,
            "description": self.manifest.description,
            "source": self.source,
            "ref": self.ref,
            "commit": self.commit,
            "linked": self.linked,
            "enabled": self.enabled,
            "path": str(self.path),
            "source_path": str(self.source_path),
            "environment": str(self.env_path) if self.env_path else None,
            "status": self.status,
            "capabilities": [c.name for c in self.manifest.capabilities],
            "installed_at": self.installed_at,
            "updated_at": self.updated_at,
        }


_SELECT = """
SELECT p.id, p.name, p.source, p.requested_ref, p.linked, p.enabled, p.grants_json, p.config_json,
       p.installed_at, p.updated_at, v.id AS version_id, v.commit_sha, v.ref, v.path, v.source_path, v.env_path,
       v.manifest_path, v.manifest_json, v.environment_json, v.analysis_json, v.validation_json
FROM plugins p JOIN plugin_versions v ON v.id = p.active_version_id
WHERE p.removed_at IS NULL
"""


def _record(row: Any) -> PluginRecord:
    return PluginRecord(
        id=row["id"],
        name=row["name"],
        source=row["source"],
        requested_ref=row["requested_ref"],
        linked=bool(row["linked"]),
        enabled=bool(row["enabled"]),
        version_id=row["version_id"],
        commit=row["commit_sha"],
        ref=row["ref"],
        path=Path(row["path"]),
        source_path=Path(row["source_path"]),
        env_path=Path(row["env_path"]) if row["env_path"] else None,
        manifest_path=Path(row["manifest_path"]),
        manifest=Manifest.model_validate_json(row["manifest_json"]),
        environment=loads(row["environment_json"]) or {},
        analysis=loads(row["analysis_json"]) or {},
        validation=loads(row["validation_json"]) or {},
        installed_at=row["installed_at"],
        updated_at=row["updated_at"],
        grants=loads(row["grants_json"]) or {},
        config=loads(row["config_json"]) or {},
    )


async def get_plugin(store: Store, name: str) -> PluginRecord | None:
    row = await store.fetchone(_SELECT + " AND p.name = ?", (name,))
    return _record(row) if row else None


async def require_plugin(store: Store, name: str) -> PluginRecord:
    record = await get_plugin(store, name)
    if record is None:
        names = [p.name for p in await list_plugins(store)]
        raise NotFoundError(
            f"no installed plugin named '{name}'",
            hint=("installed: " + ", ".join(names))
            if names
            else "install one with `mark1 plugin install SOURCE`",
        )
    return record


async def list_plugins(store: Store) -> list[PluginRecord]:
    return [_record(r) for r in await store.fetchall(_SELECT + " ORDER BY p.name")]


async def register(store: Store, new: PluginVersion, *, replace: bool) -> PluginRecord:
    """Make ``new`` the active version in one transaction.

    Unless ``replace``, an installed plugin of the same name is an error, checked under the
    write lock so two concurrent installs cannot both win. Superseded versions' folders are
    left for ``folders_in_use``-based clean-up: a run may still be using them.
    """
    now = time.time()
    async with store.transaction() as db:
        row = await (
            await db.execute(
                "SELECT id, removed_at, source FROM plugins WHERE name = ?", (new.name,)
            )
        ).fetchone()
        if row is not None and row[1] is None and not replace:
            raise UserError(
                f"'{new.name}' is already installed (from {row[2]})",
                hint=f"`mark1 plugin update {new.name}` fetches a new version; "
                "`mark1 plugin install --force SOURCE` re-installs",
            )
        if row is None:
            cursor = await db.execute(
                "INSERT INTO plugins(name, source, requested_ref, linked, enabled, installed_at,"
                " updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)",
                (new.name, new.source, new.requested_ref, int(new.linked), now, now),
            )
            plugin_id = int(cursor.lastrowid or 0)
        else:
            plugin_id = row[0]
            await db.execute(
                "UPDATE plugins SET source = ?, requested_ref = ?, linked = ?, updated_at = ?,"
                " installed_at = CASE WHEN removed_at IS NULL THEN installed_at ELSE ? END,"
                " enabled = CASE WHEN removed_at IS NULL THEN enabled ELSE 1 END,"
                " removed_at = NULL WHERE id = ?",
                (new.source, new.requested_ref, int(new.linked), now, now, plugin_id),
            )
        await db.execute(
            "UPDATE plugin_versions SET status = 'superseded' WHERE plugin_id = ? AND status = 'active'",
            (plugin_id,),
        )
        cursor = await db.execute(
            "INSERT INTO plugin_versions(plugin_id, version, commit_sha, ref, path, source_path,"
            " env_path, manifest_path, manifest_json, environment_json, analysis_json,"
            " validation_json, status, installed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?)",
            (
                plugin_id,
                new.manifest.version,
                new.commit,
                new.ref,
                str(new.path),
                str(new.source_path),
                str(new.env_path) if new.env_path else None,
                str(new.manifest_path),
                new.manifest.model_dump_json(),
                dumps(new.environment),
                dumps(new.analysis),
                dumps(new.validation),
                now,
            ),
        )
        version_id = int(cursor.lastrowid or 0)
        await db.execute(
            "UPDATE plugins SET active_version_id = ? WHERE id = ?", (version_id, plugin_id)
        )
        await _replace_capabilities(db, plugin_id, version_id, new.manifest)
        record = await get_plugin(store, new.name)  # inside: COMMIT is the last thing awaited
    assert record is not None
    return record


async def refresh_manifest(store: Store, record: PluginRecord, manifest: Manifest) -> PluginRecord:
    """Store a re-read manifest for a linked plugin (its folder is the source of truth)."""
    if manifest == record.manifest:
        return record
    if manifest.name != record.name:
        raise UserError(
            f"{record.manifest_path} now names the plugin '{manifest.name}', not '{record.name}'",
            hint=f"rename it back, or `mark1 plugin remove {record.name}` and link it again",
        )
    async with store.transaction() as db:
        await db.execute(
            "UPDATE plugin_versions SET manifest_json = ?, version = ? WHERE id = ?",
            (manifest.model_dump_json(), manifest.version, record.version_id),
        )
        await _replace_capabilities(db, record.id, record.version_id, manifest)
    fresh = await get_plugin(store, record.name)
    assert fresh is not None
    return fresh


async def _replace_capabilities(
    db: Any, plugin_id: int, version_id: int, manifest: Manifest
) -> None:
    await db.execute("DELETE FROM capabilities WHERE plugin_id = ?", (plugin_id,))
    await db.executemany(
        "INSERT INTO capabilities(plugin_id, version_id, name, description, entry_type,"
        " side_effects, input_formats, output_formats, tags, spec_json)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                plugin_id,
                version_id,
                c.name,
                c.description,
                c.entry_point.type,
                c.side_effects,
                dumps(c.input_formats),
                dumps(c.output_formats),
                dumps(c.tags),
                c.model_dump_json(),
            )
            for c in manifest.capabilities
        ],
    )


async def mark_removed(store: Store, record: PluginRecord) -> None:
    """Unregister a plugin, keeping its row and version history (its folders become unused)."""
    async with store.transaction() as db:
        await db.execute("DELETE FROM capabilities WHERE plugin_id = ?", (record.id,))
        await db.execute(
            "UPDATE plugin_versions SET status = 'removed' WHERE plugin_id = ?", (record.id,)
        )
        await db.execute(
            "UPDATE plugins SET removed_at = ?, active_version_id = NULL WHERE id = ?",
            (time.time(), record.id),
        )


async def folders_in_use(store: Store) -> set[Path]:
    """Version folders that must stay: active versions, and versions a live run is using."""
    active = await store.fetchall(
        "SELECT v.path FROM plugins p JOIN plugin_versions v ON v.id = p.active_version_id"
        " WHERE p.removed_at IS NULL"
    )
    running = await store.fetchall(
        "SELECT v.path, s.runner_pid FROM steps s"
        " JOIN plugin_versions v ON v.id = s.plugin_version_id WHERE s.status = 'running'"
    )
    return {Path(r[0]) for r in active} | {Path(r[0]) for r in running if process_alive(r[1])}


async def set_grants(store: Store, name: str, grants: dict[str, Any]) -> PluginRecord:
    """Replace what the user grants plugin ``name`` beyond the default sandbox."""
    return await _set_json(store, name, "grants_json", grants)


async def set_config(store: Store, name: str, config: dict[str, Any]) -> PluginRecord:
    """Replace what the setup wizard recorded for plugin ``name`` (never secrets)."""
    return await _set_json(store, name, "config_json", config)


async def _set_json(store: Store, name: str, column: str, value: dict[str, Any]) -> PluginRecord:
    record = await require_plugin(store, name)
    async with store.transaction() as db:
        await db.execute(
            f"UPDATE plugins SET {column} = ?, updated_at = ? WHERE id = ?",
            (dumps(value), time.time(), record.id),
        )
    return await require_plugin(store, name)


async def has_run(store: Store, plugin: str) -> bool:
    """Whether any capability of ``plugin`` has been run before (to introduce its sandbox)."""
    return (
        await store.fetchone("SELECT 1 FROM steps WHERE plugin = ? LIMIT 1", (plugin,)) is not None
    )


async def set_enabled(store: Store, name: str, enabled: bool) -> PluginRecord:
    record = await require_plugin(store, name)
    async with store.transaction() as db:
        await db.execute(
            "UPDATE plugins SET enabled = ?, updated_at = ? WHERE id = ?",
            (int(enabled), time.time(), record.id),
        )
    return await require_plugin(store, name)


@dataclass(frozen=True)
class CapabilityRow:
    plugin: str
    enabled: bool
    capability: Capability

    def summary(self) -> dict[str, Any]:
        c = self.capability
        return {
            "plugin": self.plugin,
            "name": c.name,
            "qualified_name": f"{self.plugin}.{c.name}",
            "description": c.description,
            "entry_type": c.entry_point.type,
            "side_effects": c.side_effects,
            "input_formats": c.input_formats,
            "output_formats": c.output_formats,
            "tags": c.tags,
            "parameters": c.parameters,
            "enabled": self.enabled,
        }


async def list_capabilities(store: Store) -> list[CapabilityRow]:
    rows = await store.fetchall(
        "SELECT p.name AS plugin, p.enabled, c.spec_json FROM capabilities c"
        " JOIN plugins p ON p.id = c.plugin_id WHERE p.removed_at IS NULL"
        " ORDER BY p.name, c.id"
    )
    return [
        CapabilityRow(
            r["plugin"], bool(r["enabled"]), Capability.model_validate_json(r["spec_json"])
        )
        for r in rows
    ]


async def resolve_capability(store: Store, target: str) -> tuple[PluginRecord, Capability]:
    """Find ``PLUGIN.CAPABILITY``, or a bare ``CAPABILITY`` that exactly one plugin has."""
    rows = await list_capabilities(store)
    matches = [r for r in rows if f"{r.plugin}.{r.capability.name}" == target] or [
        r for r in rows if r.capability.name == target
    ]
    if not matches:
        close = [
            f"{r.plugin}.{r.capability.name}"
            for r in rows
            if target.split(".")[-1] in r.capability.name
        ]
        raise NotFoundError(
            f"no capability '{target}' is installed",
            hint=(f"did you mean: {', '.join(close[:5])}? " if close else "")
            + "`mark1 capabilities list` shows them all",
        )
    if len(matches) > 1:
        names = ", ".join(f"{r.plugin}.{r.capability.name}" for r in matches)
        raise UserError(
            f"'{target}' is offered by several plugins: {names}",
            hint="name it as PLUGIN.CAPABILITY",
        )
    plugin = await require_plugin(store, matches[0].plugin)
    capability = plugin.manifest.capability(matches[0].capability.name)
    assert capability is not None
    return plugin, capability
