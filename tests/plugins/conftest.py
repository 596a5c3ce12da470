"""Real servers for the service checks (``test_services.py``, ``test_local_services.py``).

PostgreSQL and Redis are the real Debian programs, started through ``LocalService`` itself:
the fixtures test the starting code as much as they serve the probes. Nothing is faked.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from assistant.plugins.local_services import (
    LocalPostgres,
    LocalRedis,
    local_service,
    why_not_local,
)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPostgres]:
    """One real PostgreSQL cluster for the session (initdb takes about a second)."""
    reason = why_not_local("postgresql")
    if reason is not None:
        pytest.skip(f"no local PostgreSQL: {reason}")
    service = local_service("postgresql", tmp_path_factory.mktemp("pg") / "service")
    assert isinstance(service, LocalPostgres)
    asyncio.run(service.start())
    yield service
    asyncio.run(service.remove())


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[LocalRedis]:
    """A real redis-server for one test (it starts in a few milliseconds)."""
    reason = why_not_local("redis")
    if reason is not None:
        pytest.skip(f"no local Redis: {reason}")
    service = local_service("redis", tmp_path / "redis")
    assert isinstance(service, LocalRedis)
    async with service:
        yield service


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (it was free an instant ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel completes them) and never says a
    word: what a server behind a dropping firewall or a hung one looks like to a client."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]
