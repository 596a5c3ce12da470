"""Local servers started for a plugin: real SQLite files, the real Debian PostgreSQL and
redis-server, started, probed, stopped and restarted. Nothing is faked; a killed Mark-1 is a
real child process killed with SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from assistant.plugins.local_services import (
    LocalPostgres,
    LocalRedis,
    LocalServiceError,
    LocalSqlite,
    local_service,
    why_not_local,
)
from assistant.plugins.services import probe_url


def test_what_cannot_run_locally_says_why() -> None:
    assert why_not_local("sqlite") is None
    assert local_service("mysql", Path("/nowhere")) is None
    reason = why_not_local("mysql")
    assert reason is not None and "use an existing mysql server" in reason


async def test_sqlite_is_a_file_in_the_folder(tmp_path: Path) -> None:
    service = local_service("sqlite", tmp_path / "db")
    assert isinstance(service, LocalSqlite)
    assert service.url == f"sqlite:///{tmp_path}/db/data.db"
    async with service:
        assert service.running and service.path.is_file()
        assert (await probe_url(service.url)).ok is True
    assert not service.running and service.path.is_file()  # stopping keeps the data
    await service.remove()
    assert not service.folder.exists()


async def test_postgres_restart_keeps_data_password_and_url(postgres: LocalPostgres) -> None:
    url = postgres.url
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute("CREATE TABLE kept (n int)")
    await postgres.stop()
    try:
        assert not postgres.running
        assert (await probe_url(url)).detail.startswith("nothing is listening")
        again = local_service("postgresql", postgres.folder)  # as a new Mark-1 process would
        assert isinstance(again, LocalPostgres) and again.url == url
    finally:
        await postgres.start()
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await conn.execute("DROP TABLE kept")


async def test_postgres_already_running_is_adopted(postgres: LocalPostgres) -> None:
    again = local_service("postgresql", postgres.folder)  # e.g. a second Mark-1 command
    assert again is not None
    await again.start()
    assert again.running and again.url == postgres.url
    assert (await probe_url(again.url)).ok is True


async def test_postgres_that_cannot_start_says_why(tmp_path: Path) -> None:
    if why_not_local("postgresql") is not None:
        pytest.skip(f"no local PostgreSQL: {why_not_local('postgresql')}")
    service = local_service("postgresql", tmp_path / "pg")
    assert isinstance(service, LocalPostgres)
    service.data_dir.mkdir(parents=True)
    (service.data_dir / "PG_VERSION").write_text("7\n")  # a cluster from another age
    try:
        with pytest.raises(LocalServiceError) as failed:
            await service.start()
    finally:
        await service.remove()
    assert "pg_ctl failed for the local PostgreSQL" in failed.value.message
    assert failed.value.hint is not None and str(service.log) in failed.value.hint
    assert not service.running


def test_postgres_state_is_private(postgres: LocalPostgres) -> None:
    state_file = postgres.folder / "service.json"
    assert state_file.stat().st_mode & 0o777 == 0o600
    state = json.loads(state_file.read_text())
    assert state == {"kind": "postgresql", "port": postgres.port, "password": postgres.password}
    assert not (postgres.home / "pwfile").exists()


async def test_postgres_listens_on_loopback_only(postgres: LocalPostgres) -> None:
    async with await psycopg.AsyncConnection.connect(postgres.url) as conn:
        row = await (await conn.execute("SHOW listen_addresses")).fetchone()
    assert row == ("127.0.0.1",)


async def test_redis_restart_keeps_password_and_url(redis: LocalRedis) -> None:
    url = redis.url
    await redis.stop()
    assert (await probe_url(url)).detail.startswith("nothing is listening")
    again = local_service("redis", redis.folder)
    assert again is not None and again.url == url
    async with again:
        assert (await probe_url(url)).ok is True
    assert (redis.folder / "redis.conf").stat().st_mode & 0o777 == 0o600


async def test_redis_removed(redis: LocalRedis) -> None:
    await redis.remove()
    assert not redis.running and not redis.folder.exists()


async def test_redis_that_cannot_start_says_why(tmp_path: Path) -> None:
    service = LocalRedis(tmp_path / "redis", program="/bin/false")  # a server that exits
    with pytest.raises(LocalServiceError, match="did not start") as failed:
        await service.start()
    assert failed.value.hint is not None and "redis.log" in failed.value.hint
    assert not service.running


def test_unreadable_state_says_how_to_start_afresh(tmp_path: Path) -> None:
    (tmp_path / "service.json").write_text("{not json")
    with pytest.raises(LocalServiceError, match="cannot read") as failed:
        LocalRedis(tmp_path, program="redis-server")
    assert failed.value.hint is not None and f"delete {tmp_path}" in failed.value.hint


KILLED_PARENT = """
import asyncio, os, signal, sys
from pathlib import Path
from assistant.plugins.local_services import local_service

async def main():
    service = local_service("redis", Path(sys.argv[1]))
    await service.start()
    print(service.url, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


async def test_a_killed_mark1_leaves_no_server_behind(tmp_path: Path) -> None:
    reason = why_not_local("redis")
    if reason is not None:
        pytest.skip(f"no local Redis: {reason}")
    done = subprocess.run(
        [sys.executable, "-c", KILLED_PARENT, str(tmp_path / "redis")],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == -9, done.stderr
    url = done.stdout.strip()
    deadline = time.monotonic() + 10
    while not (probe := await probe_url(url, timeout=1)).detail.startswith("nothing is listening"):
        assert time.monotonic() < deadline, (
            f"the server outlived the Mark-1 that started it: {probe}"
        )
        await asyncio.sleep(0.05)


def test_postgres_runs_unprivileged(postgres: LocalPostgres) -> None:
    pid = int((postgres.data_dir / "postmaster.pid").read_text().split()[0])
    assert os.stat(f"/proc/{pid}").st_uid != 0
