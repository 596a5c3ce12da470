"""Live service checks against real services: SQLite files, a PostgreSQL cluster and a Redis
server started by ``LocalService``, and a stdlib HTTP server in a thread. Nothing is faked:
a "server that never answers" is a real listening socket nobody reads, "nothing listening" a
real closed port, and the unknown host ``nohost.invalid`` a real DNS lookup (the reserved
``.invalid`` domain never resolves; the test network guard only stops connections, not name
lookups). Every check also asserts that no password or key leaks into what is shown.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.plugins.local_services import LocalPostgres, LocalRedis
from assistant.plugins.services import Probe, probe_url, shown_url, sqlite_path

TOKEN = "right-token-123456"


def hidden(probe: Probe, *secrets: str) -> Probe:
    """``probe``, after checking that none of ``secrets`` shows in it."""
    for secret in secrets:
        assert secret not in probe.detail and secret not in probe.fix, probe
    return probe


# -- URLs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ann:s3cr%40t@db:5432/app", "postgresql://ann:***@db:5432/app"),
        ("redis://:hunter22@127.0.0.1:6379/1", "redis://:***@127.0.0.1:6379/1"),
        (
            "postgresql:///app?host=/run/pg&password=pw12",
            "postgresql:///app?host=/run/pg&password=***",
        ),
        ("https://api.example.com/v1", "https://api.example.com/v1"),
        ("sqlite:////var/data/app.db", "sqlite:////var/data/app.db"),
    ],
)
def test_shown_url_masks_passwords(url: str, shown: str) -> None:
    assert shown_url(url) == shown


def test_both_sqlite_spellings_name_an_absolute_file() -> None:
    assert sqlite_path("sqlite:///var/data/app.db") == Path("/var/data/app.db")
    assert sqlite_path("sqlite:////var/data/app.db") == Path("/var/data/app.db")


async def test_unknown_schemes_are_not_tested_and_say_what_is() -> None:
    probe = await probe_url("mysql://root:pw1234@127.0.0.1/app")
    assert probe.ok is None
    assert "cannot test mysql" in probe.detail and "postgresql://" in probe.detail


async def test_a_malformed_url_is_a_result_not_an_exception() -> None:
    probe = hidden(await probe_url("redis://:pw5678@127.0.0.1:99999/0"), "pw5678")
    assert probe.ok is False and "not a valid URL" in probe.detail


# -- SQLite ------------------------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    return path


async def test_sqlite_database_opens(database: Path) -> None:
    probe = await probe_url(f"sqlite:///{database}")
    assert probe.ok is True
    assert str(database) in probe.detail and "1 table," in probe.detail


async def test_sqlite_missing_file(tmp_path: Path) -> None:
    probe = await probe_url(f"sqlite:///{tmp_path}/nothing.db")
    assert probe.ok is False and "no database file" in probe.detail
    assert "start a local one" in probe.fix


async def test_sqlite_folder(tmp_path: Path) -> None:
    probe = await probe_url(f"sqlite:///{tmp_path}")
    assert probe.ok is False and "is a folder" in probe.detail
    assert f"{tmp_path}/data.db" in probe.fix


async def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("just some words, long enough to be a page " * 200)
    probe = await probe_url(f"sqlite:///{tmp_path}/notes.txt")
    assert probe.ok is False and "is not an SQLite database" in probe.detail


async def test_sqlite_locked_by_another_program(database: Path) -> None:
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        probe = await probe_url(f"sqlite:///{database}", timeout=0.4)
    finally:
        holder.close()
    assert probe.ok is False and "locked by another program" in probe.detail


def probe_without_root_powers(url: str) -> Probe:
    """Check ``url`` in a child process for which file permissions hold: as root, inside a
    user namespace (``unshare --user``), where root keeps its files but not its power to
    ignore their permissions."""
    code = (
        "import asyncio, json, sys; from assistant.plugins.services import probe_url; "
        "p = asyncio.run(probe_url(sys.argv[1])); print(json.dumps([p.ok, p.detail, p.fix]))"
    )
    argv = [sys.executable, "-c", code, url]
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("running as root without unshare: file permissions cannot hold")
        argv = ["unshare", "--user", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0 and "unshare" in done.stderr:
        pytest.skip(f"user namespaces are not allowed here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    return Probe(*json.loads(done.stdout))


@pytest.mark.parametrize("mode", [0o000, 0o444])
def test_sqlite_without_permission_to_write(database: Path, mode: int) -> None:
    database.chmod(mode)
    probe = probe_without_root_powers(f"sqlite:///{database}")
    assert probe.ok is False and "permission denied" in probe.detail
    assert "sudo chown" in probe.fix and str(database) in probe.fix


async def test_sqlite_in_memory_cannot_be_tested() -> None:
    assert (await probe_url("sqlite:///:memory:")).ok is None


# -- PostgreSQL --------------------------------------------------------------------------------


def pg_url(service: LocalPostgres, *, password: str | None = None, database: str = "mark1") -> str:
    secret = service.password if password is None else password
    return f"postgresql://mark1:{secret}@127.0.0.1:{service.port}/{database}"


async def test_postgres_good_url(postgres: LocalPostgres) -> None:
    probe = hidden(await probe_url(postgres.url), postgres.password)
    assert probe.ok is True
    assert probe.detail.startswith("PostgreSQL 1") and "database mark1, user mark1" in probe.detail


async def test_postgres_scheme_alias_and_socket_folder(postgres: LocalPostgres) -> None:
    url = f"postgres://mark1:{postgres.password}@/mark1?host={postgres.home}&port={postgres.port}"
    probe = hidden(await probe_url(url), postgres.password)
    assert probe.ok is True and f"the socket {postgres.home}/.s.PGSQL." in probe.detail


async def test_postgres_wrong_password(postgres: LocalPostgres) -> None:
    probe = hidden(await probe_url(pg_url(postgres, password="not-it-9876")), "not-it-9876")
    assert probe.ok is False
    assert "password authentication failed for user mark1" in probe.detail
    assert "postgresql://mark1:***@" in probe.fix


async def test_postgres_password_missing(postgres: LocalPostgres) -> None:
    probe = await probe_url(f"postgresql://mark1@127.0.0.1:{postgres.port}/mark1")
    assert probe.ok is False and "gives none" in probe.detail
    assert probe.fix.startswith("add it: postgresql://mark1:PASSWORD@")


async def test_postgres_missing_database(postgres: LocalPostgres) -> None:
    probe = hidden(await probe_url(pg_url(postgres, database="shop")), postgres.password)
    assert probe.ok is False and 'database "shop" does not exist' in probe.detail
    assert probe.fix == f"create it: createdb -h 127.0.0.1 -p {postgres.port} -U mark1 shop"


async def test_postgres_missing_user(postgres: LocalPostgres) -> None:
    url = f"postgresql://ghost:pw4321@127.0.0.1:{postgres.port}/mark1"
    probe = hidden(await probe_url(url), "pw4321")
    # scram hides whether the user exists: the server reports a failed password for both
    assert probe.ok is False and "user ghost" in probe.detail


async def test_postgres_password_in_query(postgres: LocalPostgres) -> None:
    url = f"postgresql://mark1@127.0.0.1:{postgres.port}/mark1?password={postgres.password}"
    assert hidden(await probe_url(url), postgres.password).ok is True
    probe = hidden(await probe_url(url + "-not"), postgres.password)
    assert probe.ok is False and "password=***" in probe.fix


async def test_postgres_nothing_listening(closed_port: int) -> None:
    probe = hidden(await probe_url(f"postgresql://u:pw2468@127.0.0.1:{closed_port}/db"), "pw2468")
    assert probe.ok is False
    assert probe.detail == f"nothing is listening at 127.0.0.1:{closed_port}"
    assert probe.fix.startswith(f"is PostgreSQL running at 127.0.0.1:{closed_port}?")


async def test_postgres_unknown_host() -> None:
    probe = hidden(await probe_url("postgresql://u:pw1357@nohost.invalid/db"), "pw1357")
    assert probe.ok is False
    assert "cannot reach nohost.invalid" in probe.detail and "offline" in probe.detail


async def test_postgres_server_that_never_answers(silent_port: int) -> None:
    url = f"postgresql://u:pw8642@127.0.0.1:{silent_port}/db"
    probe = hidden(await probe_url(url, timeout=0.3), "pw8642")
    assert probe.ok is False and "did not answer within 0.3 s" in probe.detail


# -- Redis -------------------------------------------------------------------------------------


async def test_redis_good_url(redis: LocalRedis) -> None:
    probe = hidden(await probe_url(redis.url), redis.password)
    assert probe.ok is True and probe.detail.startswith("Redis 7") and "database 0" in probe.detail


async def test_redis_other_database(redis: LocalRedis) -> None:
    probe = await probe_url(redis.url.replace("/0", "/3"))
    assert probe.ok is True and "database 3" in probe.detail


async def test_redis_wrong_password(redis: LocalRedis) -> None:
    probe = hidden(await probe_url(f"redis://:bad-pw-777@127.0.0.1:{redis.port}/0"), "bad-pw-777")
    assert probe.ok is False and "refused the password" in probe.detail
    assert f"redis://:***@127.0.0.1:{redis.port}/0" in probe.fix


async def test_redis_password_missing(redis: LocalRedis) -> None:
    probe = await probe_url(f"redis://127.0.0.1:{redis.port}/0")
    assert probe.ok is False and "wants a password" in probe.detail


async def test_redis_database_out_of_range(redis: LocalRedis) -> None:
    probe = hidden(await probe_url(redis.url.replace("/0", "/999")), redis.password)
    assert probe.ok is False and "fewer databases" in probe.detail


async def test_rediss_against_a_server_without_tls(http_base: str) -> None:
    probe = hidden(await probe_url(http_base.replace("http://", "rediss://:pw3579@")), "pw3579")
    assert probe.ok is False and "TLS handshake" in probe.detail


async def test_redis_nothing_listening(closed_port: int) -> None:
    probe = await probe_url(f"redis://127.0.0.1:{closed_port}")
    assert probe.ok is False and probe.fix.startswith("is Redis running at")


async def test_redis_unknown_host() -> None:
    probe = await probe_url("redis://nohost.invalid:6379/0")
    assert probe.ok is False and "cannot reach nohost.invalid" in probe.detail


async def test_redis_url_pointing_at_another_server(http_base: str) -> None:
    probe = await probe_url(http_base.replace("http://", "redis://:pw9753@"))
    assert probe.ok is False and "does not speak Redis" in probe.detail


async def test_redis_server_that_never_answers(silent_port: int) -> None:
    probe = await probe_url(f"redis://127.0.0.1:{silent_port}/0", timeout=0.3)
    assert probe.ok is False and "did not answer within 0.3 s" in probe.detail


# -- HTTP --------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    """Answers by path: /ok 200, /moved 302, /missing 404, /broken 500, /private 200 with the
    right bearer token else 401."""

    STATUS = {"/ok": 200, "/moved": 302, "/missing": 404, "/broken": 500, "/teapot": 418}

    def do_GET(self) -> None:
        status = self.STATUS.get(self.path, 404)
        if self.path == "/private":
            status = 200 if self.headers.get("Authorization") == f"Bearer {TOKEN}" else 401
        self.send_response(status)
        if status == 302:
            self.send_header("Location", "/ok")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def http_base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(("path", "answer"), [("/ok", "200 OK"), ("/moved", "302 Found")])
async def test_http_answer_below_400_is_ok(http_base: str, path: str, answer: str) -> None:
    probe = await probe_url(http_base + path)
    assert probe.ok is True and probe.detail == f"{http_base}{path} answered {answer}"


async def test_http_reachable_but_unusual_answer_is_ok(http_base: str) -> None:
    assert (await probe_url(http_base + "/teapot")).ok is True


async def test_http_with_the_right_key(http_base: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    probe = hidden(await probe_url(http_base + "/private", headers=headers), TOKEN)
    assert probe.ok is True


async def test_http_without_credentials(http_base: str) -> None:
    probe = await probe_url(http_base + "/private")
    assert probe.ok is False and "the server wants credentials" in probe.detail


async def test_http_refused_credentials(http_base: str) -> None:
    headers = {"Authorization": "Bearer wrong-token-24680"}
    probe = hidden(await probe_url(http_base + "/private", headers=headers), "wrong-token-24680")
    assert probe.ok is False and "refused the credentials" in probe.detail
    assert "API key" in probe.fix


async def test_http_password_in_url(http_base: str) -> None:
    url = http_base.replace("http://", "http://ann:basic-pw-1122@") + "/private"
    probe = hidden(await probe_url(url), "basic-pw-1122")
    assert probe.ok is False and "http://ann:***@127.0.0.1" in probe.detail


async def test_http_wrong_path(http_base: str) -> None:
    probe = await probe_url(http_base + "/missing")
    assert probe.ok is False and "404" in probe.detail and "URL is wrong" in probe.fix


async def test_http_server_error(http_base: str) -> None:
    probe = await probe_url(http_base + "/broken")
    assert probe.ok is False and "has a problem" in probe.detail


async def test_http_nothing_listening(closed_port: int) -> None:
    probe = await probe_url(f"http://127.0.0.1:{closed_port}/v1")
    assert probe.ok is False and probe.detail == f"nothing is listening at 127.0.0.1:{closed_port}"


async def test_http_unknown_host() -> None:
    probe = await probe_url("https://nohost.invalid/v1")
    assert probe.ok is False and probe.detail.startswith("cannot reach nohost.invalid")
    assert "offline" in probe.detail and "URL is wrong" in probe.detail


async def test_http_server_that_never_answers(silent_port: int) -> None:
    probe = await probe_url(f"http://127.0.0.1:{silent_port}/", timeout=0.3)
    assert probe.ok is False and "did not answer within 0.3 s" in probe.detail
