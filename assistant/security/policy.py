"""Deciding how a run is confined: the manifest asks, the user grants, settings set limits.

A plugin is sandboxed unless the user trusts it (``mark1 plugin permissions NAME --trust``);
a manifest cannot opt out by itself. The network and extra paths are opened only by the
user's grants; what the manifest asks for is shown so the user can decide.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from adapters.inputs import named_paths
from adapters.sandbox import SandboxPolicy
from assistant import paths
from assistant.config import Settings
from assistant.errors import UserError
from assistant.plugins.manifest import Capability, Size
from assistant.plugins.registry import PluginRecord, PluginVersion


class Grants(BaseModel):
    """What the user allows one plugin beyond the default sandbox, and the limits they chose
    for it (in the setup wizard); a limit the user set wins over the manifest's."""

    trusted: bool = False
    network: bool = False
    paths: list[str] = Field(default_factory=list)
    timeout: float | None = Field(None, gt=0)
    max_memory: Size = None
    cpu_seconds: int | None = Field(None, gt=0)

    @field_validator("paths")
    @classmethod
    def _path_grants(cls, value: list[str]) -> list[str]:
        return [normalise_path_grant(v) for v in value]

    def path_modes(self) -> list[tuple[Path, str]]:
        return [(Path(p.rsplit(":", 1)[0]), p.rsplit(":", 1)[1]) for p in self.paths]


def normalise_path_grant(text: str) -> str:
    """``~/data:ro`` -> ``/home/me/data:ro``; the mode defaults to ro."""
    path, sep, mode = text.rpartition(":")
    if not sep or mode not in ("ro", "rw"):
        path, mode = text, "ro"
    return f"{Path(path).expanduser().resolve()}:{mode}"


def grants_of(plugin: PluginRecord) -> Grants:
    return Grants.model_validate(plugin.grants)


def policy_for(
    plugin: PluginVersion,
    capability: Capability,
    settings: Settings,
    workdir: Path,
    inputs: dict[str, Any],
) -> SandboxPolicy | None:
    """The confinement of one run, or None when the user trusts the plugin (or turned the
    sandbox off in the settings). A version not registered yet (being installed) has no grants."""
    grants = grants_of(plugin) if isinstance(plugin, PluginRecord) else Grants()
    if grants.trusted or not settings.sandbox.enabled:
        return None
    limits = settings.sandbox
    wanted = capability.resources
    granted = grants.path_modes()
    hidden = hidden_paths()
    folder = workdir.resolve()
    resolved = zip(hidden, _resolved(tuple(hidden)), strict=True)
    exposed = [h for h, real in resolved if real.is_relative_to(folder)]
    if exposed:
        raise UserError(
            f"the working folder {workdir} contains {exposed[0]}, which plugins must not see",
            hint="use a dedicated folder: mark1 init --workspace ~/mark1-workspace",
        )
    return SandboxPolicy(
        workdir=workdir,
        network=grants.network,
        hidden=tuple(hidden),
        read_only=(
            *interpreter_prefix(plugin.env_path),
            plugin.source_path,
            *([plugin.env_path] if plugin.env_path else []),
            *_input_files(inputs, workdir),
            *_command_files(capability.entry_point.command or [], workdir),
            *(p for p, mode in granted if mode == "ro"),
        ),
        read_write=tuple(p for p, mode in granted if mode == "rw"),
        max_memory=grants.max_memory
        or wanted.max_memory
        or plugin.manifest.resources.max_memory
        or limits.max_memory,
        cpu_seconds=grants.cpu_seconds or wanted.cpu_seconds or limits.cpu_seconds,
        max_open_files=limits.max_open_files,
        max_processes=wanted.max_processes or limits.max_processes,
        cpus=limits.cpus,
    )


def requests(plugin: PluginRecord) -> list[str]:
    """What the manifest asks for that the user has not granted, in words."""
    grants = grants_of(plugin)
    asked = []
    wants_network = any(c.permissions.network for c in plugin.manifest.capabilities)
    if wants_network and not grants.network:
        asked.append(f"network access (mark1 plugin permissions {plugin.name} --grant network)")
    granted = {p.rsplit(":", 1)[0] for p in grants.paths}
    for cap in plugin.manifest.capabilities:
        for path in cap.permissions.paths:
            if normalise_path_grant(path).rsplit(":", 1)[0] not in granted:
                asked.append(
                    f"the path {path} (mark1 plugin permissions {plugin.name} --grant-path {path})"
                )
    if not plugin.manifest.sandbox and not grants.trusted:
        asked.append(f"to run unsandboxed (mark1 plugin permissions {plugin.name} --trust)")
    return list(dict.fromkeys(asked))


def hidden_paths() -> list[Path]:
    """Where secrets and other plugins live: the home folder and all of Mark-1's folders."""
    found = [Path.home()]
    home = paths.mark1_home()
    if home is not None:
        found.append(home)
    found += [paths.config_dir(), paths.data_dir(), paths.cache_dir(), paths.log_dir()]
    return found


@functools.lru_cache(maxsize=8)
def _resolved(found: tuple[Path, ...]) -> tuple[Path, ...]:
    """The hidden folders with symlinks resolved, once per process: a workflow asks for
    every step, and resolving them cost more than the rest of the policy."""
    return tuple(path.resolve() for path in found)


def interpreter_prefix(env_dir: Path | None) -> list[Path]:
    """The Python installation a venv runs on (it may live in the hidden home, e.g. pyenv)."""
    if env_dir is None:
        return []
    return list(_interpreter_prefix(env_dir))


@functools.lru_cache(maxsize=256)
def _interpreter_prefix(env_dir: Path) -> tuple[Path, ...]:
    """Read once per environment and process: a workflow asks for every step of a plugin."""
    try:
        lines = (env_dir / "pyvenv.cfg").read_text(encoding="utf-8").splitlines()
    except OSError:
        return ()
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "home":
            return (Path(value.strip()).resolve().parent,)
    return ()


def _command_files(command: list[str], workdir: Path) -> list[Path]:
    """What a manifest's command names by absolute path, shared read-only (it cannot run
    without it). An interpreter inside a virtualenv brings the venv and the Python it is
    built on (an imported MCP server's "command": "/x/.venv/bin/python" is common)."""
    found = []
    for path in _input_files({"command": command}, workdir):
        venv = next((p for p in path.parents if (p / "pyvenv.cfg").is_file()), None)
        found += [venv, *interpreter_prefix(venv)] if venv else [path]
    for word in command:  # the symlink itself, e.g. .venv/bin/python -> /usr/bin/python3.11
        if os.path.isabs(word) and os.path.islink(word):
            venv = next((p for p in Path(word).parents if (p / "pyvenv.cfg").is_file()), None)
            if venv is not None:
                found += [venv, *interpreter_prefix(venv)]
    return list(dict.fromkeys(found))


def _input_files(inputs: dict[str, Any], workdir: Path) -> list[Path]:
    """Files and folders named by absolute paths in the inputs: the user chose to share them
    (read-only) with this run."""
    found = [Path(value).resolve() for value in named_paths(inputs)]
    return [path for path in found if not path.is_relative_to(workdir)]
