"""The http adapter against real HTTP servers on loopback: a plugin's own service (started,
health-checked and stopped by Mark-1, inside the sandbox) and a remote API needing a token."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import CliResult, Repo

Cli = Callable[..., CliResult]

SERVICE_MANIFEST = """\
schema_version: "1.0"
plugin: {name: wordsvc}
capabilities:
  - name: count
    parameters: {type: object, required: [text], properties: {text: {type: string}}}
  - name: echo
  - name: reject
entry_points:
  - capability: count
    type: http
    command: python server.py --port {port}
    url: http://127.0.0.1:{port}/count
    health: /health
  - capability: echo
    type: http
    command: python server.py --port {port}
    url: http://127.0.0.1:{port}/echo
    method: GET
    health: /health
  - capability: reject
    type: http
    command: python server.py --port {port}
    url: http://127.0.0.1:{port}/reject
    health: /health
"""

SERVER = """\
import argparse, json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

class Handler(BaseHTTPRequestHandler):
    def reply(self, status, data):
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/health":
            self.reply(200, {"ok": True})
        else:
            self.reply(200, {"query": parse_qs(url.query), "pid": os.getpid()})

    def do_POST(self):
        data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/count":
            self.reply(200, {"words": len(data["text"].split())})
        else:
            self.reply(422, {"detail": "this endpoint refuses everything"})

    def log_message(self, *args):
        pass

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int)
ThreadingHTTPServer(("127.0.0.1", parser.parse_args().port), Handler).serve_forever()
"""


@pytest.fixture
def service_plugin(make_repo: Callable[..., Repo], cli: Cli) -> Repo:
    repo = make_repo("wordsvc", {"mark1.plugin.yml": SERVICE_MANIFEST, "server.py": SERVER})
    assert cli("plugin", "install", str(repo.path)).code == 0
    return repo


def test_service_is_started_called_and_stopped(service_plugin: Repo, cli: Cli) -> None:
    result = cli("run", "wordsvc.count", "-i", "text=one two three", "--json")
    assert result.code == 0, result.out + result.err
    data = json.loads(result.out)
    assert data["outputs"] == {"words": 3}
    if os.geteuid() == 0 and os.path.isdir("/sys/fs/cgroup/cpuacct"):
        assert data["metrics"]["cpu_s"] >= 0 and data["metrics"]["peak_memory_bytes"] > 0
    assert data["command"][0] == "POST"
    port = int(data["command"][1].split(":")[2].split("/")[0])
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
        pass  # the service was stopped when the run ended


def test_get_sends_inputs_as_query_and_the_service_is_confined(
    service_plugin: Repo, cli: Cli
) -> None:
    result = cli("run", "wordsvc.echo", "-i", "color=red", "--json")
    data = json.loads(result.out)
    assert data["outputs"]["query"] == {"color": ["red"]}
    assert data["outputs"]["pid"] < 10, "the service runs in its own PID namespace"


def test_error_status_fails_the_run(service_plugin: Repo, cli: Cli) -> None:
    result = cli("run", "wordsvc.reject", "--json")
    assert result.code == 1
    assert "HTTP 422" in json.loads(result.out)["error"]


def test_a_service_that_dies_at_start_is_explained(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    crash = "import sys\nprint('cannot open the database', file=sys.stderr)\nsys.exit(2)\n"
    repo = make_repo(
        "crashsvc",
        {"mark1.plugin.yml": SERVICE_MANIFEST.replace("wordsvc", "crashsvc"), "server.py": crash},
    )
    installed = cli("plugin", "install", str(repo.path))
    assert installed.code == 1, "registered, but its check failed: nothing of it works"
    assert "crashsvc 0.0.0" in installed.out and "): failed" in installed.out
    assert "count does not work: " in installed.out and "cannot open the database" in installed.out
    result = cli("run", "crashsvc.count", "-i", "text=x", "--json")
    assert result.code == 1
    error = json.loads(result.out)["error"]
    assert "exited with status 2" in error and "cannot open the database" in error


@pytest.fixture
def remote_api() -> Iterator[int]:
    """A remote API (on loopback) that wants a bearer token."""

    class Api(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.headers.get("Authorization") == "Bearer s3cret"
            body = json.dumps({"hello": "world"} if ok else {"error": "unauthorized"}).encode()
            self.send_response(200 if ok else 401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_remote_api_with_a_token_from_the_environment(
    make_repo: Callable[..., Repo], cli: Cli, remote_api: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = f"""\
schema_version: "1.0"
plugin: {{name: greeter-api}}
capabilities:
  - name: hello
    env: [API_TOKEN]
entry_points:
  - capability: hello
    type: http
    url: http://127.0.0.1:{remote_api}/hello
    method: GET
    headers: {{Authorization: "Bearer ${{env.API_TOKEN}}"}}
"""
    repo = make_repo("greeter-api", {"mark1.plugin.yml": manifest})
    assert cli("plugin", "install", str(repo.path)).code == 0
    monkeypatch.setenv("API_TOKEN", "wrong")
    denied = cli("run", "greeter-api.hello", "--json")
    assert denied.code == 1 and "HTTP 401" in json.loads(denied.out)["error"]
    monkeypatch.setenv("API_TOKEN", "s3cret")
    allowed = cli("run", "greeter-api.hello", "--json")
    assert allowed.code == 0 and json.loads(allowed.out)["outputs"] == {"hello": "world"}


OPENAPI_MANIFEST = """\
schema_version: "1.0"
plugin: {name: itemsvc}
capabilities:
  - name: item
    parameters: {type: object, required: [item_id], properties: {item_id: {type: string}}}
  - name: missing
entry_points:
  - capability: item
    type: http
    command: python api.py {port}
    url: http://127.0.0.1:{port}
    operation: getItem
    health: /openapi.json
  - capability: missing
    type: http
    command: python api.py {port}
    url: http://127.0.0.1:{port}
    operation: noSuchOperation
    health: /openapi.json
"""

OPENAPI_SERVER = """\
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DOC = {"openapi": "3.0.0", "info": {"title": "items", "version": "1"},
       "paths": {"/items/{item_id}": {"get": {"operationId": "getItem"}}}}

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        data = DOC if self.path == "/openapi.json" else {"item": self.path.split("/")[-1]}
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def test_operations_are_found_in_the_openapi_document(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    repo = make_repo("itemsvc", {"mark1.plugin.yml": OPENAPI_MANIFEST, "api.py": OPENAPI_SERVER})
    assert cli("plugin", "install", str(repo.path)).code == 0
    result = cli("run", "itemsvc.item", "-i", "item_id=a b", "--json")
    assert result.code == 0, result.out
    data = json.loads(result.out)
    assert data["outputs"] == {"item": "a%20b"}, "the path parameter is filled and quoted"
    assert data["command"][0] == "GET" and data["command"][1].endswith("/items/a%20b")
    missing = cli("run", "itemsvc.missing", "--json")
    assert (
        missing.code == 1 and "no operation 'noSuchOperation'" in json.loads(missing.out)["error"]
    )


async def test_an_idle_service_is_stopped(service_plugin: Repo, mark1_home: object) -> None:
    """Within one adapter session (a workflow, the assistant) an unused service is stopped."""
    import asyncio

    from adapters.base import RunContext
    from adapters.http_service import HttpAdapter
    from assistant import paths
    from assistant.plugins import registry
    from memory.store import Store

    async with Store.open(paths.db_path()) as store:
        plugin = await registry.require_plugin(store, "wordsvc")
    capability = plugin.manifest.capability("count")
    assert capability is not None
    work = paths.default_workspace()
    work.mkdir(parents=True, exist_ok=True)
    async with HttpAdapter() as adapter:
        adapter.idle_seconds = 0.3
        result = await adapter.execute(
            plugin.spec(capability), {"text": "a b"}, RunContext(workdir=work, timeout=30)
        )
        assert result.outputs == {"words": 2}
        service = adapter.services["wordsvc"][0]
        for _ in range(100):
            if service.proc.poll() is not None:
                break
            await asyncio.sleep(0.05)
        assert service.proc.poll() is not None and "wordsvc" not in adapter.services
