"""``mark1 doctor``: what works on this machine, what does not, and the exact fix."""

from __future__ import annotations

import shutil
import sys
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import click

from assistant.cli.output import color_enabled, echo_json, json_option

if TYPE_CHECKING:
    from assistant.config import Settings

MODEL_PROBE_SECONDS = 3.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


@click.command()
@json_option
def doctor(as_json: bool) -> None:
    """Check the tools, sandbox, configuration and database Mark-1 relies on.

    Exits 1 when something required is missing; optional parts only warn.
    """
    checks = [
        _python(),
        _tool("git", "git", "apt-get install git"),
        _uv(),
        _sandbox(),
        _cgroups(),
        _tool("npm", "npm (Node plugins)", "apt-get install npm", required=False),
        *_config_and_store(),
    ]
    failed = [c for c in checks if not c.ok and c.required]
    if as_json:
        echo_json({"ok": not failed, "checks": [asdict(c) for c in checks]})
    else:
        for c in checks:
            mark = "✓" if c.ok else ("✗" if c.required else "!")
            line = f"{mark} {c.name}: {c.detail}"
            color = "green" if c.ok else ("red" if c.required else "yellow")
            click.echo(click.style(line, fg=color) if color_enabled() else line)
            if c.fix and not c.ok:
                click.echo(f"    fix: {c.fix}")
    sys.exit(1 if failed else 0)


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

    problem = bwrap_problem()
    if problem is None:
        return Check("sandbox", True, "bubblewrap confines every plugin run")
    return Check(
        "sandbox",
        False,
        f"{problem}; plugins run with resource limits only",
        "apt-get install bubblewrap, and allow unprivileged user namespaces "
        "(sysctl kernel.unprivileged_userns_clone=1)",
    )


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


def _config_and_store() -> list[Check]:
    import asyncio
    import sqlite3

    from assistant import paths
    from assistant.config import load_settings, workspace
    from assistant.errors import Mark1Error
    from memory.store import Store

    try:
        settings = load_settings()
    except Mark1Error as exc:
        return [Check("configuration", False, exc.render(), "fix the file named above")]
    checks = [Check("configuration", True, str(paths.config_file())), _model(settings)]

    async def open_store() -> None:
        async with Store.open(paths.db_path()):
            pass

    try:
        asyncio.run(open_store())
        checks.append(Check("database", True, str(paths.db_path())))
    except (OSError, sqlite3.Error) as exc:
        checks.append(
            Check(
                "database",
                False,
                f"{paths.db_path()}: {exc}",
                "check the folder's permissions and free disk space",
            )
        )
    folder = workspace(settings)
    probe = folder / ".mark1-doctor"
    try:
        probe.write_text("ok")
        probe.unlink()
        checks.append(Check("workspace", True, str(folder)))
    except OSError as exc:
        checks.append(
            Check(
                "workspace",
                False,
                f"{folder}: {exc.strerror}",
                "mark1 init --workspace DIR with a folder you can write",
            )
        )
    return checks
