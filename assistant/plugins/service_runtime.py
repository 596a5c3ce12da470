"""Local servers the setup wizard chose for a plugin ("start a local one"), started when the
plugin first runs in this process and stopped when the command ends.

The server's URL, password included, is never stored: it reaches the plugin through the
variable its manifest names for the service, and is masked like any other secret. Each
server keeps its data in Mark-1's data folder, under the plugin's and the service's names,
so the next start finds the same database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from assistant import paths
from assistant.errors import UserError
from assistant.loop_locks import loop_lock
from assistant.plugins.local_services import LocalService, local_service, why_not_local
from assistant.plugins.registry import PluginRecord, PluginVersion
from assistant.security import known_secrets

_running: dict[Path, LocalService] = {}


def service_folder(plugin: str, service: str) -> Path:
    return paths.data_dir() / "services" / plugin / service


def local_choices(plugin: PluginVersion) -> dict[str, dict[str, Any]]:
    """The services of ``plugin`` the person chose to run locally: name -> its record."""
    if not isinstance(plugin, PluginRecord):
        return {}
    chosen = plugin.config.get("services", {})
    return {name: c for name, c in chosen.items() if c.get("mode") == "local" and c.get("url_env")}


def local_variables(plugin: PluginVersion) -> set[str]:
    """The variables a local server fills at run time (nobody has to set them)."""
    return {c["url_env"] for c in local_choices(plugin).values()}


async def started(plugin: str, name: str, kind: str) -> LocalService:
    """The local server for one service of ``plugin``, running (started once per process)."""
    folder = service_folder(plugin, name)
    async with loop_lock("local services"):
        server = _running.get(folder)
        if server is None:
            server = local_service(kind, folder)
            if server is None:
                raise UserError(
                    f"{plugin} uses a local {kind} server, which cannot run here: "
                    f"{why_not_local(kind)}",
                    hint=f"install it, or `mark1 plugin configure {plugin}` to use another",
                )
            await server.start()
            _running[folder] = server
    known_secrets.remember(server.url)
    return server


async def local_service_environment(plugin: PluginVersion) -> dict[str, str]:
    """``{url_env: url}`` for each local server of ``plugin``, starting those not running."""
    found = {}
    for name, choice in local_choices(plugin).items():
        server = await started(plugin.name, name, choice["kind"])
        found[choice["url_env"]] = server.url
    return found


async def stop_all() -> None:
    """Stop every server this process started (the command is ending)."""
    servers = list(_running.values())
    _running.clear()
    await asyncio.gather(*(s.stop() for s in servers), return_exceptions=True)


async def remove_local_services(plugin: PluginVersion) -> list[str]:
    """Stop the plugin's local servers and delete their data (the plugin is being removed);
    returns the services' names."""
    removed = []
    for name, choice in local_choices(plugin).items():
        folder = service_folder(plugin.name, name)
        server = _running.pop(folder, None) or local_service(choice["kind"], folder)
        if server is not None:
            await server.remove()
            removed.append(name)
    return removed
