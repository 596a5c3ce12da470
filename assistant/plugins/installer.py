"""Installing, updating, linking and removing plugins, all-or-nothing.

Each version gets its own folder: the clone and its venv are made there at the same time,
then dependencies are installed, entry points validated, and only then is the version
registered, in one transaction. Any failure (or Ctrl-C) before that deletes the folder, so the
registry never points at a half-installed plugin and an update leaves the old version active.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import os
import re
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from adapters.process import process_alive
from adapters.subprocess_cli import SYSTEM_PATH, resolve_command
from assistant import paths
from assistant.config import Settings
from assistant.errors import ManifestError, PluginError, SourceError, UserError
from assistant.plugins import registry
from assistant.plugins.analysis.help_text import help_interface
from assistant.plugins.analysis.profile import Evidence, Inferred, RepositoryProfile
from assistant.plugins.analysis.report import (
    Analysis,
    analyze_folder,
    source_name,
    write_manifest,
)
from assistant.plugins.environment import choose_interpreter, create_venv, provision
from assistant.plugins.manifest import ArgSpec, Capability, Manifest
from assistant.plugins.manifest_loader import find_manifest, load_manifest
from assistant.plugins.registry import PluginRecord, PluginVersion
from assistant.plugins.source import Checkout, PluginSource, fetch, parse_source
from assistant.plugins.validation import ValidationReport, validate_plugin
from memory.store import Store

Progress = Callable[[str], None]
Approve = Callable[[Analysis], None]
OWNER_FILE = ".mark1-installing"
LOCAL_COMMAND_TYPES = ("cli", "http", "mcp", "agent")  # entry types whose `command` runs here
SCRIPT_SUFFIXES = (".py", ".sh", ".js", ".mjs", ".rb", ".pl")
NO_MANIFEST_HINT = (
    "`mark1 plugin analyze FOLDER --write-manifest` proposes one to edit; `mark1 plugin schema` "
    "prints its JSON Schema"
)
NOT_A_PLUGIN_HINT = (
    "if it can be run after all, add a mark1.plugin.yml saying how (`mark1 plugin analyze "
    "SOURCE` shows what was found; `mark1 plugin schema` prints the manifest's JSON Schema)"
)


class Installer:
    """Plugin lifecycle operations over one open store."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        progress: Progress | None = None,
        approve: Approve | None = None,
        check: bool = True,
    ):
        """``approve`` sees the analysis of a fetched repository before anything of it is
        installed; it raises to refuse (the fetched files are then deleted). ``check`` False
        skips probing each capability (the version's status is then "unchecked")."""
        self.store = store
        self.settings = settings
        self.progress: Progress = progress or (lambda _msg: None)
        self.approve = approve
        self.check = check

    async def install(
        self, source_text: str, *, ref: str | None = None, force: bool = False
    ) -> PluginRecord:
        """Install from a Git URL or folder; ``force`` re-installs over an existing plugin."""
        source = parse_source(source_text)
        if ref is not None:
            source = source.with_ref(ref)
        return await self._provision(source, expect=None, force=force)

    async def update(
        self, name: str, ref: str | None = None, *, force: bool = False
    ) -> tuple[PluginRecord, bool]:
        """Fetch the plugin again (at ``ref`` if given); returns the record and whether it changed."""
        current = await registry.require_plugin(self.store, name)
        if current.linked:
            raise UserError(
                f"'{name}' is linked to {current.source_path}: it always runs what is there",
                hint=f"to rebuild its environment run `mark1 plugin link {current.source_path}`",
            )
        source = parse_source(current.source).with_ref(ref or current.requested_ref)
        record = await self._provision(source, expect=current, force=True, skip_same=not force)
        return record, record.version_id != current.version_id

    async def link(self, folder: Path) -> PluginRecord:
        """Register a folder under development in place: its manifest is re-read on every run."""
        folder = folder.expanduser().resolve()
        manifest_path = find_manifest(folder)
        if manifest_path is None:
            raise ManifestError(f"{folder} has no mark1.plugin.yml", hint=NO_MANIFEST_HINT)
        manifest = load_manifest(manifest_path)
        existing = await registry.get_plugin(self.store, manifest.name)
        if existing is not None and not existing.linked:
            raise UserError(
                f"a plugin named '{manifest.name}' is already installed from {existing.source}",
                hint=f"`mark1 plugin remove {manifest.name}` first, then link",
            )
        target = new_version_dir()
        new = PluginVersion(
            name=manifest.name,
            source=str(folder),
            requested_ref=None,
            linked=True,
            commit=None,
            ref=None,
            path=target,
            source_path=folder,
            env_path=target / "env",
            manifest_path=manifest_path,
            manifest=manifest,
            environment={},
            analysis={},
            validation={},
        )
        try:
            interpreter = choose_interpreter(self.settings.install.python, manifest)
            self.progress(f"creating the Python environment ({Path(interpreter).name})")
            await create_venv(target / "env", interpreter, self.settings.install.build_timeout)
        except BaseException:
            discard(target)
            raise
        return await self._provision_and_register(new, replace=existing is not None)

    async def import_mcp(self, file: Path) -> list[tuple[str, PluginRecord | None, str]]:
        """Install every stdio server of a Claude-style ``mcpServers`` file as a plugin.

        Returns (name, record or None, note) per server; one that cannot be imported or does
        not start is reported, not fatal for the others.
        """
        from assistant.plugins.mcp_import import read_servers

        outcomes: list[tuple[str, PluginRecord | None, str]] = []
        for server in read_servers(file):
            if server.skipped_reason:
                outcomes.append((server.name, None, server.skipped_reason))
                continue
            folder = new_version_dir()
            try:
                (folder / "src").mkdir()
                manifest_path = folder / "src" / "mark1.plugin.yml"
                manifest_path.write_text(server.manifest, encoding="utf-8")
                manifest = load_manifest(manifest_path)
                interpreter = choose_interpreter(self.settings.install.python, manifest)
                await create_venv(folder / "env", interpreter, self.settings.install.build_timeout)
                new = PluginVersion(
                    name=manifest.name,
                    source=f"{file.resolve()}#{server.name}",
                    requested_ref=None,
                    linked=False,
                    commit=None,
                    ref=None,
                    path=folder,
                    source_path=folder / "src",
                    env_path=folder / "env",
                    manifest_path=manifest_path,
                    manifest=manifest,
                    environment={},
                    analysis={},
                    validation={},
                )
            except BaseException:
                discard(folder)
                raise
            try:
                record = await self._provision_and_register(new, replace=True)
            except PluginError as exc:
                outcomes.append((server.name, None, exc.message))
                continue
            note = (
                "reads " + ", ".join(server.env_names) + " from the environment"
                if server.env_names
                else ""
            )
            outcomes.append((server.name, record, note))
        return outcomes

    async def remove(self, name: str) -> PluginRecord:
        """Delete the plugin's files, environments, secrets and local servers' data; its run
        history stays."""
        from assistant.plugins.service_runtime import remove_local_services
        from assistant.security.secret_lookup import forget_scope

        record = await registry.require_plugin(self.store, name)
        await registry.mark_removed(self.store, record)
        if dropped := forget_scope(name):
            self.progress(f"deleted its {dropped} secret(s) from the vault")
        for service in await remove_local_services(record):
            self.progress(f"deleted its local {service} server and its data")
        await self.sweep()
        await self._index_capabilities()
        return record

    async def sweep(self) -> list[Path]:
        """Delete version folders nothing needs any more; returns them.

        Kept: active versions, versions a live run is using (an update during a long run
        removes the old version once the run ends), and folders an install still in progress
        owns. So a crash or a kill at any point leaves nothing behind for long.
        """
        root = paths.plugins_dir()
        if not root.is_dir():
            return []
        keep = await registry.folders_in_use(self.store)
        gone = [
            f for f in root.iterdir() if f.is_dir() and f not in keep and not _being_installed(f)
        ]
        for folder in gone:
            discard(folder)
        return gone

    async def _provision(
        self,
        source: PluginSource,
        *,
        expect: PluginRecord | None,
        force: bool,
        skip_same: bool = False,
    ) -> PluginRecord:
        folder = new_version_dir()
        try:
            at = f" at {source.ref}" if source.ref else ""
            self.progress(f"fetching {source.display}{at} and creating its Python environment")
            checkout = await self._fetch_with_venv(source, folder)
            if expect is not None and skip_same and checkout.commit == expect.commit:
                self.progress(f"{expect.name} is already at {checkout.commit[:12]}")
                discard(folder)
                return expect
            inner = Path(source.subdir) if source.subdir else Path()
            plugin_root = (folder / "src" / inner).resolve()
            if not plugin_root.is_relative_to((folder / "src").resolve()):
                raise SourceError(f"'{inner}' leads outside {source.display} (a symbolic link?)")
            if not plugin_root.is_dir():
                raise SourceError(
                    f"{source.display} has no folder '{inner}' at {checkout.commit[:12]}",
                    hint="check the #subdirectory= part, and that the folder is committed",
                )
            self.progress("analysing the repository")
            display = f"{source.display}@{checkout.commit[:12]}"
            analysis = await asyncio.to_thread(
                analyze_folder,
                plugin_root,
                display=display,
                commit=checkout.commit,
                name=source_name(source),
            )
            manifest = analysis.proposal.manifest
            if manifest is None:
                raise ManifestError(
                    f"{source.display} is not something Mark-1 can run: "
                    + "; ".join(analysis.profile.verdict.reasons),
                    hint=NOT_A_PLUGIN_HINT,
                )
            choose_interpreter(self.settings.install.python, manifest, analysis.profile)
            await self._check_name(manifest, source, expect, force)
            if self.approve is not None:
                self.approve(analysis)
            found = analysis.profile.manifest_file  # the author's, else the proposal written
            manifest_file = plugin_root / found if found else write_manifest(analysis, folder)
            new = PluginVersion(
                name=manifest.name,
                source=source.display,
                requested_ref=source.ref,
                linked=False,
                commit=checkout.commit,
                ref=checkout.ref,
                path=folder,
                source_path=folder / "src" / inner,
                env_path=folder / "env",
                manifest_path=manifest_file,
                manifest=manifest,
                environment={},
                analysis=analysis.to_dict(),
                validation={},
            )
        except BaseException:
            discard(folder)
            raise
        return await self._provision_and_register(new, replace=force or expect is not None)

    async def _fetch_with_venv(self, source: PluginSource, folder: Path) -> Checkout:
        """Clone into ``folder/src`` while uv creates ``folder/env``: neither needs the other.

        Meanwhile jsonschema (~50 ms to import), which checking the manifest's parameter
        schemas needs next, is imported while this process would otherwise only wait.
        """
        install = self.settings.install
        results = await asyncio.gather(
            asyncio.to_thread(importlib.import_module, "jsonschema"),
            asyncio.to_thread(
                fetch, source, folder / "src", depth=install.depth, timeout=install.clone_timeout
            ),
            create_venv(folder / "env", choose_interpreter(install.python), install.build_timeout),
            return_exceptions=True,
        )
        for outcome in results:
            if isinstance(outcome, BaseException):
                raise outcome
        checkout = results[1]
        assert isinstance(checkout, Checkout)
        return checkout

    async def _provision_and_register(self, new: PluginVersion, *, replace: bool) -> PluginRecord:
        """Install dependencies into the version's venv, build, check every capability,
        register; on any failure before the registration commits, delete the version's folder.

        A version whose capabilities all fail their check is still registered (as "failed",
        with the reason per capability): the person can see why in `mark1 plugin info`, and
        configure or update it, without fetching and building it again.
        """
        assert new.env_path is not None
        try:
            report = await provision(
                new.source_path,
                new.env_path,
                new.manifest,
                timeout=self.settings.install.build_timeout,
                progress=self.progress,
                offline_first=self.settings.install.offline_first,
                editable=new.linked,
                profile=_profile_of(new),
                python=self.settings.install.python,
            )
            self.progress("validating entry points")
            report.notes += validate_entry_points(
                new.manifest, new.source_path, new.env_path, report.notes
            )
            new = dataclasses.replace(
                new, environment=report.to_dict(), manifest=await self._discover_tools(new)
            )
            if self.check:
                validation = await validate_plugin(new, self.settings, self.progress)
                new = with_help_parameters(new, validation)
            record = await registry.register(self.store, new, replace=replace)
        except BaseException:  # registration is the last step: nothing was registered
            discard(new.path)
            raise
        (new.path / OWNER_FILE).unlink(missing_ok=True)
        await self.sweep()
        count = len(new.manifest.capabilities)
        self.progress(f"registered {record.name} with {count} capabilities ({record.status})")
        await self._index_capabilities()
        return record

    async def _index_capabilities(self) -> None:
        """Keep semantic capability search in step with what is installed now."""
        from assistant.plugins.capability_search import sync

        self.progress("indexing capabilities for search")
        problem = await sync(self.store, self.settings)
        if problem is not None:
            self.progress(problem)

    async def _discover_tools(self, new: PluginVersion) -> Manifest:
        """Expand ``tool: "*"`` MCP entry points into one capability per tool the server lists
        (started once, confined, to ask)."""
        wildcard = [
            c
            for c in new.manifest.capabilities
            if c.entry_point.type == "mcp" and c.entry_point.tool == "*"
        ]
        if not wildcard:
            return new.manifest
        from adapters.base import RunContext
        from adapters.mcp_client import McpUnavailable, list_tools
        from assistant.security.policy import policy_for

        expanded = [c for c in new.manifest.capabilities if c not in wildcard]
        scratch = new.path / "discover"
        scratch.mkdir(exist_ok=True)
        for cap in wildcard:
            self.progress(f"asking {new.name}'s MCP server for its tools")
            context = RunContext(
                workdir=scratch,
                timeout=self.settings.install.build_timeout,
                sandbox=policy_for(new, cap, self.settings, scratch, {}),
            )
            try:
                tools = await list_tools(new.spec(cap), context)
            except McpUnavailable as exc:
                raise PluginError(
                    str(exc), hint="check the server's command in the manifest"
                ) from exc
            expanded += [tool_capability(cap, tool) for tool in tools]
        return new.manifest.model_copy(update={"capabilities": expanded})

    async def _check_name(
        self, manifest: Manifest, source: PluginSource, expect: PluginRecord | None, force: bool
    ) -> None:
        if expect is not None:
            if manifest.name != expect.name:
                raise PluginError(
                    f"{source.display} now declares the plugin '{manifest.name}', not '{expect.name}'",
                    hint=f"install it as a new plugin with `mark1 plugin install {source.display}`",
                )
            return
        existing = await registry.get_plugin(self.store, manifest.name)
        if existing is not None and not force:
            raise UserError(
                f"'{manifest.name}' is already installed (from {existing.source})",
                hint=f"`mark1 plugin update {manifest.name}` fetches a new version; "
                "`mark1 plugin install --force SOURCE` re-installs",
            )


def _profile_of(version: PluginVersion) -> RepositoryProfile | None:
    """The analysis stored with a version (none for linked plugins and MCP imports)."""
    profile = version.analysis.get("profile")
    return RepositoryProfile.model_validate(profile) if profile else None


def with_help_parameters(version: PluginVersion, validation: ValidationReport) -> PluginVersion:
    """Record the validation, and give command-line capabilities that still have no parameter
    schema the one their ``--help`` output shows (the analysis's fallback when the code could
    not be read statically, e.g. a compiled program)."""
    helps = {c.name: c.help_text for c in validation.checks if c.help_text}
    capabilities, inferred = [], dict(version.analysis.get("inferred") or {})
    for cap in version.manifest.capabilities:
        text = helps.get(cap.name, "")
        interface = help_interface(text) if text and cap.parameters is None else None
        if interface is None or not interface.parameters.get("properties"):
            capabilities.append(cap)
            continue
        entry = cap.entry_point.model_copy(
            update={"args": {k: ArgSpec(**v) for k, v in interface.args.items()}}
        )
        capabilities.append(
            cap.model_copy(update={"parameters": interface.parameters, "entry_point": entry})
        )
        inferred[f"capabilities.{cap.name}.parameters"] = Inferred(
            value="help", confidence=0.6, evidence=[Evidence(file="--help", detail=text[:200])]
        ).model_dump(mode="json")
    manifest = version.manifest.model_copy(update={"capabilities": capabilities})
    analysis = {**version.analysis, "inferred": inferred} if version.analysis else {}
    return dataclasses.replace(
        version, manifest=manifest, validation=validation.to_dict(), analysis=analysis
    )


def new_version_dir() -> Path:
    """A fresh folder for one version of a plugin: ``src`` (its files) and ``env`` (its venv).

    Named at random rather than after the plugin because the name is only known once the
    manifest is read, and a venv cannot be moved after it is created; the registry maps
    names to folders (`mark1 plugin info NAME` shows them).
    """
    folder = paths.plugins_dir() / uuid.uuid4().hex[:12]
    folder.mkdir(parents=True)
    (folder / OWNER_FILE).write_text(str(os.getpid()), encoding="utf-8")
    return folder


def _being_installed(folder: Path) -> bool:
    """Whether a live process is still building this folder (see ``new_version_dir``)."""
    try:
        pid = int((folder / OWNER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return process_alive(pid)


def discard(folder: Path) -> None:
    """Delete a version folder (files and environment)."""
    shutil.rmtree(folder, ignore_errors=True)


def _check_module(capability: str, module: str, source: Path, env_dir: Path) -> None:
    """A python_function's module must be importable from the repo or the plugin's venv."""
    import subprocess

    relative = Path(*module.split("."))
    if (source / relative.with_suffix(".py")).is_file() or (source / relative).is_dir():
        return
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec(sys.argv[1]) is None)"
    done = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", probe, module],
        cwd=source,
        capture_output=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise PluginError(
            f"capability '{capability}' calls a function in module '{module}', which is neither "
            "in the repository nor installed in the plugin's environment",
            hint="fix `module:` in mark1.plugin.yml (a dotted path from the repo root)",
        )


def _raise_if_unbuilt(capability: str, program: str, notes: Sequence[str]) -> None:
    """A missing program that a build would have made: say which toolchain it needed."""
    unbuilt = next((n for n in notes if " needs " in n and " to build " in n), None)
    if unbuilt is not None:
        reason = unbuilt.split(", then ")[0]
        raise PluginError(
            f"capability '{capability}' runs '{program}', which was not built: {reason}",
            hint="then run the install again",
        )


def tool_capability(template: Capability, tool: dict[str, Any]) -> Capability:
    """The capability for one MCP tool, inheriting the declaring capability's settings."""
    name = re.sub(r"[^a-z0-9._-]+", "-", tool["name"].lower()).strip("-._")[:64] or "tool"
    entry = template.entry_point.model_copy(update={"tool": tool["name"]})
    schema = tool.get("input_schema") or {"type": "object"}
    return template.model_copy(
        update={
            "name": name,
            "description": tool.get("description", ""),
            "parameters": schema,
            "entry_point": entry,
        }
    )


def validate_entry_points(
    manifest: Manifest, source: Path, env_dir: Path, build_notes: Sequence[str] = ()
) -> list[str]:
    """Check every local program and Python module exists; note entry types that cannot run.

    ``build_notes`` are provisioning's notes: a program missing because its toolchain is
    missing is reported as such, with the toolchain to install."""
    from adapters.base import AdapterNotFound, adapter_for

    notes = []
    path = os.pathsep.join([str(env_dir / "bin"), SYSTEM_PATH])
    for cap in manifest.capabilities:
        entry = cap.entry_point
        if entry.type in LOCAL_COMMAND_TYPES and entry.command:
            program, *rest = resolve_command(entry.command, source, path)
            scripts = [w for w in rest[:1] if Path(w).suffix in SCRIPT_SUFFIXES]
            missing = [w for w in scripts if not Path(w).is_absolute()]
            if missing:
                raise PluginError(
                    f"capability '{cap.name}' runs the script '{missing[0]}', which is not in "
                    "the repository",
                    hint="fix the script path in mark1.plugin.yml (relative to the repo root)",
                )
            if not (os.path.isabs(program) and os.access(program, os.X_OK)):
                _raise_if_unbuilt(cap.name, entry.command[0], build_notes)
                raise PluginError(
                    f"capability '{cap.name}' runs '{entry.command[0]}', which is neither in the "
                    "plugin's environment nor an executable file in the repository",
                    hint="declare the package that provides it under dependencies, or fix the "
                    "command in mark1.plugin.yml",
                )
            continue
        if entry.type in ("python_function", "agent") and entry.module:
            _check_module(cap.name, entry.module, source, env_dir)
        try:
            adapter_for(entry.type)
        except AdapterNotFound:
            notes.append(
                f"capability '{cap.name}' is a {entry.type} entry point; no adapter for that "
                "type is installed yet, so it cannot run"
            )
    return notes
