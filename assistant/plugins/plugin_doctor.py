"""``mark1 plugin doctor NAME``: can this plugin run now, and if not, the exact fix.

A run needs more than a passing install: its variables given, the vault open, its services
reachable with the stored credentials, its sign-in valid, its files and programs in place
and the sandbox working. Each is checked the way a run would meet it, live where that is the
only proof (a database is logged in to, an API is asked, a local server is started), each
within a few seconds. The findings are ``Check`` values, so ``mark1 doctor`` can summarise
them for every plugin. No value is ever shown: a variable is named with where its value
comes from, and URLs have their password masked by the probe.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from assistant.checks import Check
from assistant.config import Settings
from assistant.errors import Mark1Error, UserError
from assistant.plugins.local_services import why_not_local
from assistant.plugins.manifest import Service
from assistant.plugins.plugin_env import filled_by_mark1, how_to_set, value_source
from assistant.plugins.plugin_needs import asked_variables, declared_services
from assistant.plugins.registry import PluginRecord
from assistant.plugins.services import Probe, probe_url
from assistant.security.oauth import OAuthSpec
from assistant.security.policy import grants_of
from assistant.security.secret_lookup import secret_value, stored_names
from assistant.security.vault_doctor import private_file, vault_opens
from assistant.security.vault_key import vault_path
from memory.store import Store

PROBE_SECONDS = 3.0  # per service: long enough for a slow login, short enough to say "offline"
SANDBOX_FIX = (
    "apt-get install bubblewrap, and allow unprivileged user namespaces "
    "(sysctl kernel.unprivileged_userns_clone=1)"
)


async def diagnose(store: Store, settings: Settings, plugin: PluginRecord) -> list[Check]:
    """Every check of ``plugin``, in the order a person would fix them."""
    stored, vault = _vault(plugin)
    return [
        _status(plugin),
        *_variables(plugin, stored),
        *vault,
        *[await _service(plugin, service) for service in declared_services(plugin.manifest)],
        *([await _sign_in(plugin, plugin.manifest.oauth)] if plugin.manifest.oauth else []),
        *await _remotes(store, plugin),
        *_files(plugin),
        *_programs(plugin),
        _sandbox(plugin, settings),
    ]


def _status(plugin: PluginRecord) -> Check:
    """What the install's (or the wizard's) test run found, and whether it is switched on."""
    if not plugin.enabled:
        fix = f"mark1 plugin enable {plugin.name}"
        return Check("status", False, f"disabled ({plugin.status})", fix, required=False)
    if plugin.status in ("ready", "unchecked"):
        return Check("status", True, f"enabled, {plugin.status}")
    failed = [c for c in plugin.validation.get("checks") or [] if c.get("status") == "failed"]
    first = failed[0] if failed else {}
    detail = f"{plugin.status}: {first.get('name')} did not work: {first.get('reason')}"
    fix = first.get("next_step") or f"mark1 plugin update {plugin.name} --force"
    return Check("status", False, detail if failed else plugin.status, fix)


def _vault(plugin: PluginRecord) -> tuple[set[str], list[Check]]:
    """The names the vault holds for the plugin and, when it holds any, whether the vault
    opens and is private: a run must unlock it to hand them out."""
    try:
        stored = stored_names(plugin.name)
    except UserError as exc:  # a damaged vault file
        return set(), [Check("vault", False, exc.message, exc.hint or "")]
    if not stored:
        return stored, []
    return stored, [vault_opens(), private_file(vault_path())]


def _variables(plugin: PluginRecord, stored: set[str]) -> list[Check]:
    """Each variable the person gives, with where its value comes from (the order a run
    reads them in: ``plugin_env``)."""
    filled = filled_by_mark1(plugin)
    checks = []
    for var in asked_variables(plugin.manifest):
        if var.name in filled:
            continue
        where = value_source(plugin, var, stored)
        name = f"variable {var.name}"
        if where is not None:
            checks.append(Check(name, True, f"set, from {where}"))
        elif not var.required:
            checks.append(Check(name, True, "not set (optional)"))
        else:
            about = f" ({var.description})" if var.description else ""
            detail = f"not set, and it is required{about}"
            checks.append(Check(name, False, detail, how_to_set(plugin, var)))
    return checks


# ---- services ---------------------------------------------------------------------------


async def _service(plugin: PluginRecord, service: Service) -> Check:
    """An existing service is probed at its stored URL; a local one is started and probed."""
    name = f"service {service.name}"
    configure = f"mark1 plugin configure {plugin.name}"
    chosen = plugin.config.get("services", {}).get(service.name, {})
    if chosen.get("mode") == "local":
        return await _local(plugin, service.name, chosen["kind"])
    if not service.url_env:
        if chosen:
            return Check(name, True, "an existing one (the plugin finds it: no URL to test)")
        return Check(name, False, "not set up", configure)
    try:
        url = secret_value(plugin.name, service.url_env)
    except UserError as exc:  # the vault does not open: its own check says why
        return Check(name, False, f"cannot read {service.url_env}: {exc.message}", exc.hint or "")
    if url is None:
        detail = f"no URL: {service.url_env} is not set"
        fix = f"{configure}, or mark1 secrets set {plugin.name} {service.url_env}"
        return Check(name, False, detail, fix)
    if service.url_env in os.environ:
        change = f"(the URL comes from the environment variable {service.url_env})"
    else:
        change = f"then store the right URL: {configure}"
    return _probed(name, await probe_url(url, timeout=PROBE_SECONDS), change)


async def _local(plugin: PluginRecord, service: str, kind: str) -> Check:
    from assistant.plugins.service_runtime import started

    name = f"service {service}"
    configure = f"mark1 plugin configure {plugin.name}"
    reason = why_not_local(kind)
    if reason is not None:
        detail = f"the local {kind} server cannot run here: {reason}"
        return Check(name, False, detail, f"install it, or {configure} to use an existing one")
    try:
        server = await started(plugin.name, service, kind)
    except UserError as exc:
        return Check(name, False, exc.message, exc.hint or configure)
    probe = await probe_url(server.url, timeout=PROBE_SECONDS)
    return _probed(name, Probe(probe.ok, f"local, {probe.detail}", probe.fix), configure)


def _probed(name: str, probe: Probe, change: str) -> Check:
    """A probe as a check: one that cannot be tested here only warns."""
    if probe.ok:
        return Check(name, True, probe.detail)
    fix = f"{probe.fix}; {change}" if probe.fix else change
    return Check(name, False, probe.detail, fix, required=probe.ok is False)


# ---- sign-in and remotes ----------------------------------------------------------------


async def _sign_in(plugin: PluginRecord, spec: OAuthSpec) -> Check:
    """A stored token that has not expired passes as it is; an expired one is refreshed, as
    the next run would, so a refresh the provider refuses shows up here first."""
    from assistant.security.oauth import Token, access_token
    from assistant.security.oauth_tokens import VaultSlot, client_secret

    name = f"sign-in to {spec.provider}"
    again = f"mark1 plugin configure {plugin.name}"
    if os.environ.get(spec.token_env):
        return Check(name, True, f"the token comes from the environment ({spec.token_env})")
    slot = VaultSlot(plugin.name, spec.provider)
    try:
        text = slot.read()
    except UserError as exc:
        return Check(name, False, f"cannot read the token: {exc.message}", exc.hint or "")
    if text is None:
        return Check(name, False, "nobody has signed in yet", again)
    try:
        token = Token.from_json(text)
    except ValueError:
        return Check(name, False, "the stored token is unreadable", f"sign in again: {again}")
    if not token.expires_within(0):
        until = (
            "does not expire"
            if token.expires_at is None
            else time.strftime("is valid until %Y-%m-%d %H:%M", time.localtime(token.expires_at))
        )
        renew = ", then is refreshed" if token.refresh_token and token.expires_at else ""
        return Check(name, True, f"signed in: the token {until}{renew}")
    try:
        await access_token(
            spec, slot, plugin=plugin.name, client_secret=client_secret(plugin.name, spec)
        )
    except Mark1Error as exc:  # refused (sign in again) or unreachable (try again)
        return Check(name, False, exc.message, exc.hint or again)
    return Check(name, True, "the token had expired and was refreshed")


async def _remotes(store: Store, plugin: PluginRecord) -> list[Check]:
    """Each remote an ssh capability runs on must be configured (reaching it is
    ``mark1 remote``'s business)."""
    from assistant.plugins.invoke import remote_for

    checks: dict[str, Check] = {}
    for cap in plugin.manifest.capabilities:
        host = cap.entry_point.host
        if cap.entry_point.type != "ssh" or host is None or host in checks:
            continue
        try:
            await remote_for(store, plugin, cap)
            checks[host] = Check(f"remote {host}", True, "configured")
        except UserError as exc:
            checks[host] = Check(f"remote {host}", False, exc.message, exc.hint or "")
    return list(checks.values())


# ---- files, programs and the sandbox ----------------------------------------------------


def _rebuild(plugin: PluginRecord) -> str:
    """The command that puts a plugin's files and environment back."""
    if plugin.linked:
        return f"mark1 plugin link {plugin.source_path}"
    return f"mark1 plugin update {plugin.name} --force"


def _files(plugin: PluginRecord) -> list[Check]:
    """Its folders readable, its environment's Python able to start, granted paths there."""
    folders = [plugin.source_path, *([plugin.env_path] if plugin.env_path else [])]
    checks = [_folder(plugin, folder) for folder in folders]
    if plugin.env_path is not None:
        python = plugin.env_path / "bin" / "python"
        if os.access(python, os.X_OK):
            checks.append(Check("interpreter", True, f"{python} -> {python.resolve()}"))
        else:  # a venv's python is a link to the interpreter it was made from
            detail = f"{python} cannot start: it, or the interpreter it links to, is gone"
            checks.append(Check("interpreter", False, detail, _rebuild(plugin)))
    for path, mode in grants_of(plugin).path_modes():
        if not path.exists():
            revoke = f"mark1 plugin permissions {plugin.name} --revoke-path {path}"
            checks.append(
                Check(
                    f"granted path {path}",
                    False,
                    f"does not exist, so runs cannot see it ({mode})",
                    f"mkdir -p {path}, or {revoke}",
                    required=False,
                )
            )
    return checks


def _folder(plugin: PluginRecord, folder: Path) -> Check:
    name = "environment folder" if folder == plugin.env_path else "source folder"
    if not folder.is_dir():
        return Check(name, False, f"{folder} is missing", _rebuild(plugin))
    if not os.access(folder, os.R_OK | os.X_OK):
        return Check(name, False, f"{folder} cannot be read", f"chmod -R u+rX {folder}")
    return Check(name, True, str(folder))


def _programs(plugin: PluginRecord) -> list[Check]:
    """Each program an entry point starts, found as a run finds it: the plugin's environment,
    its node_modules, its folder, then the system's folders."""
    from adapters.base import RunContext
    from adapters.subprocess_cli import plugin_environment, resolve_command
    from assistant.plugins.installer import LOCAL_COMMAND_TYPES, SCRIPT_SUFFIXES

    caps = plugin.manifest.capabilities
    path = plugin_environment(plugin.spec(caps[0]), RunContext(plugin.source_path, 0))["PATH"]
    found: dict[str, list[str]] = {}
    for cap in caps:
        command = cap.entry_point.command
        if cap.entry_point.type not in LOCAL_COMMAND_TYPES or not command:
            continue
        has_script = len(command) > 1 and Path(command[1]).suffix in SCRIPT_SUFFIXES
        words = command[:2] if has_script else command[:1]
        found.setdefault(" ".join(words), resolve_command(words, plugin.source_path, path))
    return [_program(plugin, shown, resolved, path) for shown, resolved in found.items()]


def _program(plugin: PluginRecord, shown: str, resolved: list[str], path: str) -> Check:
    program, *script = resolved
    name = f"program {shown}"
    if script and not os.path.isabs(script[0]):
        detail = f"the script {script[0]} is not in {plugin.source_path}"
        return Check(name, False, detail, _rebuild(plugin))
    if os.path.isabs(program) and os.access(program, os.X_OK):
        return Check(name, True, program)
    detail = f"{program} is not found in {plugin.source_path} or on {path}"
    packages = plugin.manifest.system_packages
    if packages and "/" not in program:
        fix = f"apt-get install {' '.join(packages)}, or {_rebuild(plugin)}"
        return Check(name, False, detail, fix)
    return Check(name, False, detail, _rebuild(plugin))


def _sandbox(plugin: PluginRecord, settings: Settings) -> Check:
    """Whether this plugin's runs are confined: by bubblewrap, or not at all by choice."""
    from adapters.sandbox import bwrap_problem

    if grants_of(plugin).trusted:
        untrust = f"mark1 plugin permissions {plugin.name} --untrust confines it"
        return Check("sandbox", True, f"trusted: runs without a sandbox ({untrust})")
    if not settings.sandbox.enabled:
        return Check("sandbox", True, "off for every plugin (sandbox.enabled = false)")
    problem = bwrap_problem()
    if problem is None:
        return Check("sandbox", True, "bubblewrap confines its runs")
    trust = f"or, if you trust it, mark1 plugin permissions {plugin.name} --trust"
    detail = f"{problem}; its runs get resource limits only"
    return Check("sandbox", False, detail, f"{SANDBOX_FIX}; {trust}")
