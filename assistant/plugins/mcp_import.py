"""Reading a Claude-style ``mcpServers`` file into plugin manifests.

``{"mcpServers": {"name": {"command": "npx", "args": [...], "env": {"KEY": "..."}}}}`` becomes
one plugin per server whose capabilities are the server's tools (discovered at install). Env
values in such files are often secrets: only the variable names are kept (the plugin reads them
from the environment, later from the vault), never the values.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.errors import Location, ManifestError


@dataclass(frozen=True)
class ImportedServer:
    name: str
    manifest: str
    env_names: list[str]
    skipped_reason: str | None = None


def read_servers(file: Path) -> list[ImportedServer]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"cannot read {file}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"not JSON: {exc.msg}",
            where=Location(file, exc.lineno, exc.colno),
            hint='expected {"mcpServers": {"name": {"command": ..., "args": [...]}}}',
        ) from exc
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict) or not servers:
        raise ManifestError(
            "no mcpServers in the file",
            where=Location(file),
            hint='expected {"mcpServers": {"name": {"command": ..., "args": [...]}}}',
        )
    return [_server(name, conf) for name, conf in servers.items()]


def _server(name: str, conf: Any) -> ImportedServer:
    plugin = re.sub(r"[^a-z0-9._-]+", "-", str(name).lower()).strip("-._")[:64] or "mcp-server"
    if not isinstance(conf, dict) or not isinstance(conf.get("command"), str):
        reason = "only stdio servers (with a command) can be imported"
        return ImportedServer(plugin, "", [], reason)
    args = [str(a) for a in conf.get("args") or []]
    env_names = sorted(str(k) for k in (conf.get("env") or {}))
    manifest = {
        "schema_version": "1.0",
        "plugin": {"name": plugin, "description": f"MCP server '{name}' (imported)"},
        "capabilities": [
            {
                "name": "tools",
                "description": f"the tools of MCP server {name}",
                "env": [{"name": n, "secret": True, "required": False} for n in env_names],
            }
        ],
        "entry_points": [
            {"capability": "tools", "type": "mcp", "command": [conf["command"], *args], "tool": "*"}
        ],
    }
    return ImportedServer(plugin, yaml.safe_dump(manifest, sort_keys=False), env_names)
