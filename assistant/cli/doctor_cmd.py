"""``mark1 doctor``: what works on this machine, what does not, and the exact fix."""

from __future__ import annotations

import shutil
import sys
from typing import TYPE_CHECKING

import click

from assistant.checks import Check
from assistant.cli.output import json_option

if TYPE_CHECKING:
    from assistant.config import Settings

MODEL_PROBE_SECONDS = 3.0


@click.command()
@json_option
def doctor(as_json: bool) -> None:
    """Check the tools, sandbox, configuration, database, vault, voice and every plugin.

    Exits 1 when something required is missing; optional parts (voice, npm, cgroups) only
    warn. Each installed plugin gets one line; `mark1 plugin doctor NAME` details it.
    """
    from assistant.cli.check_report import show_checks
    from assistant.security.vault_doctor import vault_checks
    from assistant.voice.stt import PACKAGED

    checks = [
        _python(),
        _tool("git", "git", "apt-get install git"),
        _uv(),
        _sandbox(),
        _cgroups(),
        _tool("npm", "npm (Node plugins)", "apt-get install npm", required=False),
    ]
    settings, config = _configuration()
    checks += config
    plugins: list[Check] = []
    if settings is not None:
        stored, plugins = _store_and_plugins(settings)
        checks += [stored, _workspace(settings)]
    checks += [*vault_checks(), *_voice(settings.voice.stt_model if settings else PACKAGED)]
    sys.exit(show_checks([*checks, *plugins], as_json))


def _python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return Check(
        "python",
        sys.version_info >= (3, 11),
        f"{version} at {sys.executable}",
        "install Python 3.11 or newer",
    )


def _tool(command: str, name: str, fix: str, required: bool = True) -> Check:
    found = shutil.which(command)
    return Check(name, found is not None, found or "not found", fix, required)


def _uv() -> Check:
    from assistant.errors import EnvironmentBuildError
    from assistant.plugins.environment import uv_binary

    try:
        return Check("uv (plugin environments)", True, uv_binary())
    except EnvironmentBuildError as exc:
        return Check("uv (plugin environments)", False, exc.message, exc.hint or "")


def _sandbox() -> Check:
    from adapters.sandbox import bwrap_problem
    from assistant.plugins.plugin_doctor import SANDBOX_FIX

    problem = bwrap_problem()
    if problem is None:
        return Check("sandbox", True, "bubblewrap confines every plugin run")
    return Check("sandbox", False, f"{problem}; plugins run with resource limits only", SANDBOX_FIX)


def _cgroups() -> Check:
    from adapters.cgroups import RunCgroups

    groups = RunCgroups(1)
    have = sorted(groups.groups)
    groups.close()
    if "pids" in have:
        return Check("per-run cgroups", True, ", ".join(have), required=False)
    return Check(
        "per-run cgroups",
        False,
        "not available: process limits use RLIMIT_NPROC, CPU/memory figures come from wait4",
        "run as root on a host with cgroup v1 pids/cpuacct/memory controllers",
        required=False,
    )


def _model(settings: Settings) -> Check:
    """Whether the configured model answers (asked for its model list, a few seconds at most)."""
    import httpx

    from assistant.agent.profiles import CONFIGURE_HINT, resolve

    name = "language model"
    config = resolve(settings.llm)
    if config is None:
        return Check(name, True, "none configured: the offline planner plans", required=False)
    offline = "until then the offline planner plans"
    if config.missing_key:
        fix = f"export {config.missing_key}=..., or {CONFIGURE_HINT}"
        return Check(name, False, f"{config.missing_key} is not set", fix, required=False)
    try:
        response = httpx.get(
            f"{config.base_url}/models",
            headers={"Authorization": f"Bearer {config.api_key}"},
            timeout=MODEL_PROBE_SECONDS,
        )
    except httpx.HTTPError as exc:
        detail = f"{config.describe()} does not answer: {exc}"
        return Check(name, False, detail, f"start the server; {offline}", required=False)
    if response.status_code in (401, 403):
        detail = f"{config.describe()} refused the key (HTTP {response.status_code})"
        return Check(name, False, detail, f"check the key; {offline}", required=False)
    listed = (
        {m.get("id") for m in (response.json().get("data") or [])} if response.is_success else set()
    )
    if listed and config.model not in listed:
        detail = f"{config.base_url} does not list model {config.model}"
        fix = "mark1 config set llm.model NAME, one of: " + ", ".join(sorted(map(str, listed))[:8])
        return Check(name, False, detail, fix, required=False)
    return Check(name, True, f"{config.describe()} answers", required=False)


def _configuration() -> tuple[Settings | None, list[Check]]:
    from assistant import paths
    from assistant.config import load_settings
    from assistant.errors import Mark1Error

    try:
        settings = load_settings()
    except Mark1Error as exc:
        return None, [Check("configuration", False, exc.render(), "fix the file named above")]
    return settings, [Check("configuration", True, str(paths.config_file())), _model(settings)]


def _store_and_plugins(settings: Settings) -> tuple[Check, list[Check]]:
    """The database, and one line per installed plugin from its ``diagnose`` (the plugins
    are checked together: each may wait a few seconds on a service)."""
    import asyncio
    import sqlite3

    from assistant import paths
    from assistant.cli.output import run_async
    from assistant.plugins import registry
    from assistant.plugins.plugin_doctor import diagnose
    from memory.store import Store

    async def check_plugins() -> list[Check]:
        async with Store.open(paths.db_path()) as store:
            plugins = await registry.list_plugins(store)
            found = await asyncio.gather(*(diagnose(store, settings, p) for p in plugins))
        return [_plugin_line(p.name, checks) for p, checks in zip(plugins, found, strict=True)]

    try:
        plugins = run_async(check_plugins())
    except (OSError, sqlite3.Error) as exc:
        fix = "check the folder's permissions and free disk space"
        return Check("database", False, f"{paths.db_path()}: {exc}", fix), []
    return Check("database", True, str(paths.db_path())), plugins


def _plugin_line(name: str, checks: list[Check]) -> Check:
    """One plugin's ``diagnose`` in a line: ok, or how many problems and where to see them."""
    problems = [c.name for c in checks if c.failed]
    if not problems:
        warned = sum(not c.ok for c in checks)
        note = f" ({warned} warning{'s' * (warned > 1)})" if warned else ""
        return Check(f"plugin {name}", True, f"ok{note}")
    count = f"{len(problems)} problem{'s' * (len(problems) > 1)}"
    fix = f"mark1 plugin doctor {name}"
    return Check(f"plugin {name}", False, f"{count}: run `{fix}` ({', '.join(problems)})", fix)


def _workspace(settings: Settings) -> Check:
    from assistant.config import workspace

    folder = workspace(settings)
    probe = folder / ".mark1-doctor"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        fix = "mark1 init --workspace DIR with a folder you can write"
        return Check("workspace", False, f"{folder}: {exc.strerror}", fix)
    return Check("workspace", True, str(folder))


def _voice(stt_model: str) -> list[Check]:
    """Speaking needs espeak-ng, listening PortAudio, a microphone and the speech model; all
    optional: typed requests and written answers work without them."""
    from assistant.errors import VoiceUnavailable
    from assistant.voice.audio import DEVICES_HINT, devices
    from assistant.voice.stt import model_folder

    checks = [_tool("espeak-ng", "speech output (espeak-ng)", "apt-get install espeak-ng", False)]
    try:
        checks.append(Check("speech model", True, str(model_folder(stt_model)), required=False))
    except VoiceUnavailable as exc:
        checks.append(Check("speech model", False, exc.message, exc.hint or "", required=False))
    try:
        found = devices()
    except VoiceUnavailable as exc:
        return [*checks, Check("audio (PortAudio)", False, exc.message, exc.hint or "", False)]
    for kind, what in (("inputs", "microphone"), ("outputs", "speaker")):
        names = [d.name for d in found if getattr(d, kind)]
        detail = ", ".join(names) if names else f"no {what} found"
        fix = f"connect a {what}; {DEVICES_HINT}"
        checks.append(Check(what, bool(names), detail, fix, required=False))
    return checks
