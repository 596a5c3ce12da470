"""The ``http`` adapter: a capability is an HTTP endpoint, of a service the plugin runs or of
a remote API.

When the entry point has a ``command``, the adapter starts it (confined like any run, but with
the network shared, since Mark-1 must reach it) on a free loopback port given as ``{port}`` in
the command and URL and as ``$PORT``, waits until its health URL answers, and stops it when the
adapter session ends. Inputs travel as a JSON body (POST/PUT/PATCH) or a query string (GET,
DELETE); a JSON reply becomes the outputs. ``${env.NAME}`` in headers is filled from the
variables the plugin declares, so credentials come from the environment (and later the vault).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from adapters.base import AdapterBase, CapabilitySpec, Notice, PluginResult, RunContext
from adapters.sandbox import Service
from adapters.subprocess_cli import plugin_environment, resolve_command

BODY_METHODS = ("POST", "PUT", "PATCH")
HEALTH_TIMEOUT = 30.0
IDLE_SECONDS = 300.0  # a service nobody called for this long is stopped
_ENV_REF = re.compile(r"\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}")


class HttpAdapter(AdapterBase):
    """One session: at most one service per plugin, started on first use."""

    def __init__(self) -> None:
        self.services: dict[str, tuple[Service, int]] = {}
        self.documents: dict[str, dict[str, Any]] = {}  # OpenAPI documents by URL
        self.idle_timers: dict[str, asyncio.TimerHandle] = {}
        self.idle_seconds = IDLE_SECONDS

    async def aclose(self) -> None:
        for timer in self.idle_timers.values():
            timer.cancel()
        self.idle_timers.clear()
        for service, _ in self.services.values():
            await asyncio.to_thread(service.stop)
        self.services.clear()

    def _touch(self, plugin: str) -> None:
        """(Re)start the countdown after which an unused service is stopped."""
        if plugin in self.idle_timers:
            self.idle_timers[plugin].cancel()
        loop = asyncio.get_running_loop()
        self.idle_timers[plugin] = loop.call_later(
            self.idle_seconds, lambda: asyncio.ensure_future(self._stop_idle(plugin))
        )

    async def _stop_idle(self, plugin: str) -> None:
        self.idle_timers.pop(plugin, None)
        known = self.services.pop(plugin, None)
        if known is not None:
            await asyncio.to_thread(known[0].stop)

    async def execute(
        self, spec: CapabilitySpec, inputs: dict[str, Any], context: RunContext
    ) -> PluginResult:
        entry = spec.entry
        started = time.monotonic()
        port = None
        if entry.get("command"):
            try:
                port = await self.service_port(spec, context)
            except ServiceFailed as exc:
                return PluginResult("failed", error=str(exc), stderr=exc.log)
            self._touch(spec.plugin)
        url = entry["url"].replace("{port}", str(port or ""))
        method = (entry.get("method") or "POST").upper()
        headers = {k: _expand(v, context.env) for k, v in (entry.get("headers") or {}).items()}
        if entry.get("operation"):
            try:
                method, url, inputs = await self._operation(spec, url, inputs, headers)
            except OperationNotFound as exc:
                return PluginResult("failed", command=[url], error=str(exc))
        cgroups = self.services[spec.plugin][0].cgroups if spec.plugin in self.services else None
        before = cgroups.usage() if cgroups else {}
        try:
            status, body, kind = await asyncio.wait_for(
                asyncio.to_thread(_call, method, url, inputs, headers, context.timeout),
                context.timeout,
            )
        except TimeoutError:
            return PluginResult(
                "timed_out",
                command=[method, url],
                error=f"no answer within the {context.timeout:g} s time limit",
            )
        except OSError as exc:
            return PluginResult("failed", command=[method, url], error=f"cannot reach {url}: {exc}")
        result = PluginResult(
            "succeeded",
            exit_code=status,
            stdout=body,
            command=[method, url],
            metrics={
                "duration_s": round(time.monotonic() - started, 4),
                **(cgroups.since(before) if cgroups else {}),
            },
        )
        value: Any = body
        if "json" in kind:
            try:
                value = json.loads(body)
            except json.JSONDecodeError:
                value = body
        result.outputs = value if isinstance(value, dict) else {"result": value}
        if status >= 400:
            result.status = "failed"
            result.error = f"HTTP {status} from {url}: {body.strip()[:300]}"
        return result

    async def _operation(
        self, spec: CapabilitySpec, base: str, inputs: dict[str, Any], headers: dict[str, str]
    ) -> tuple[str, str, dict[str, Any]]:
        """Method and URL of the entry's ``operation`` from the service's OpenAPI document;
        path parameters (``/items/{item_id}``) are taken out of the inputs."""
        where = spec.entry.get("openapi") or "/openapi.json"
        doc_url = where if "://" in where else urllib.parse.urljoin(base, where)
        if doc_url not in self.documents:
            status, body, _ = await asyncio.to_thread(_call, "GET", doc_url, {}, headers, 30.0)
            if status >= 400:
                raise OperationNotFound(f"no OpenAPI document at {doc_url} (HTTP {status})")
            self.documents[doc_url] = json.loads(body)
        wanted = spec.entry["operation"]
        for path, operations in (self.documents[doc_url].get("paths") or {}).items():
            for verb, operation in operations.items():
                if isinstance(operation, dict) and operation.get("operationId") == wanted:
                    rest = dict(inputs)
                    for name in re.findall(r"\{([^}]+)\}", path):
                        value = rest.pop(name, "")
                        path = path.replace(f"{{{name}}}", urllib.parse.quote(str(value), safe=""))
                    return verb.upper(), base.rstrip("/") + path, rest
        raise OperationNotFound(f"the OpenAPI document at {doc_url} has no operation '{wanted}'")

    async def service_port(self, spec: CapabilitySpec, context: RunContext) -> int:
        """The port of the plugin's service, started (and its health URL awaited) if needed."""
        known = self.services.get(spec.plugin)
        if known is not None:
            if known[0].proc.poll() is None:
                return known[1]
            await asyncio.to_thread(known[0].stop)  # it died: release its cgroups first
            del self.services[spec.plugin]
        port = _free_port()
        env = {**plugin_environment(spec, context), "PORT": str(port)}
        command = [w.replace("{port}", str(port)) for w in spec.entry["command"]]
        command = resolve_command(command, spec.source_dir, env["PATH"])
        context.emit(Notice(f"starting {spec.plugin}'s service on port {port}"))
        service = Service.start(command, env=env, context=context, network=True)
        self.services[spec.plugin] = (service, port)
        health = spec.entry.get("health") or ""
        base = spec.entry["url"].replace("{port}", str(port))
        target = (
            health.replace("{port}", str(port))
            if "://" in health
            else (urllib.parse.urljoin(base, health) if health else base)
        )
        await _wait_healthy(service, target, context)
        return port


class OperationNotFound(Exception):
    """The OpenAPI document is missing or does not describe the operation."""


class ServiceFailed(Exception):
    def __init__(self, message: str, log: str):
        super().__init__(message)
        self.log = log


async def _wait_healthy(service: Service, url: str, context: RunContext) -> None:
    deadline = time.monotonic() + min(HEALTH_TIMEOUT, context.timeout)
    while time.monotonic() < deadline:
        if service.proc.poll() is not None:
            log = service.log_tail(context.workdir)
            raise ServiceFailed(
                f"the service exited with status {service.proc.returncode} before it was ready"
                + (f": {log.splitlines()[-1]}" if log else ""),
                log,
            )
        try:
            status, _, _ = await asyncio.to_thread(_call, "GET", url, {}, {}, 2.0)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        if status < 500:
            return
        await asyncio.sleep(0.05)
    raise ServiceFailed(
        f"the service did not answer {url} in time", service.log_tail(context.workdir)
    )


def _call(
    method: str, url: str, inputs: dict[str, Any], headers: dict[str, str], timeout: float
) -> tuple[int, str, str]:
    """One request; returns (status, body text, content type). HTTP errors are answers too."""
    data = None
    if method in BODY_METHODS:
        data = json.dumps(inputs).encode()
        headers = {"Content-Type": "application/json", **headers}
    elif inputs:
        query = urllib.parse.urlencode(
            {k: v if isinstance(v, str) else json.dumps(v) for k, v in inputs.items()}
        )
        url += ("&" if "?" in url else "?") + query
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            return (
                reply.status,
                reply.read().decode("utf-8", "replace"),
                reply.headers.get("Content-Type", ""),
            )
    except urllib.error.HTTPError as reply:
        return (
            reply.code,
            reply.read().decode("utf-8", "replace"),
            reply.headers.get("Content-Type", ""),
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _expand(value: str, env: dict[str, str]) -> str:
    return _ENV_REF.sub(lambda m: env.get(m[1], ""), value)
