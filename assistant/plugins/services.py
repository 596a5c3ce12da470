"""Live checks of the external services a plugin uses: is this URL usable right now?

The setup wizard tests a URL the person types before storing it, and ``mark1 doctor`` tests
the stored ones again, so a wrong password or a stopped server shows up as one plain sentence
and the exact fix instead of a stack trace in the middle of a workflow. Each check really
talks to the service (a query, a ``PING``, a ``GET``): only a real answer proves that the
credentials work. A check never raises for a bad URL or an unreachable server; it returns a
``Probe``. Passwords and API keys never appear in what it returns: URLs are shown with the
password replaced by ``***`` and any secret a server echoes back is masked as well.

Client libraries (psycopg, httpx) are imported inside the checks: the CLI must start without
them.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import socket
import sqlite3
import ssl
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

SUPPORTED = "sqlite:///, postgresql://, postgres://, redis://, rediss://, http:// and https://"
MASK = "***"
MIN_MASKED = 4
_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)([^&#]*)")


@dataclass(frozen=True)
class Probe:
    """What a check found: ``ok`` is None when this kind of URL cannot be tested here (the
    detail says why); ``fix`` is the next step for the person, empty when there is none."""

    ok: bool | None
    detail: str
    fix: str = ""


class _BadUrl(ValueError):
    """The URL cannot be parsed (a port that is not a number, a database that is not one)."""


def shown_url(url: str) -> str:
    """``url`` as it may be printed: its password (in the user part or a ``password=`` query
    parameter) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is not None:  # not urlunsplit: it drops an empty host's "//"
        host = parts.netloc.rpartition("@")[2]
        url = url.replace(parts.netloc, f"{parts.username or ''}:{MASK}@{host}", 1)
    return _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", url)


async def probe_url(
    url: str, *, timeout: float = 3.0, headers: Mapping[str, str] | None = None
) -> Probe:
    """Test the service at ``url`` live, within ``timeout`` seconds.

    ``headers`` go with HTTP requests only (e.g. ``Authorization`` built from a stored API
    key); they are secrets too and never appear in the result.
    """
    scheme = urlsplit(url).scheme.lower()
    try:
        async with asyncio.timeout(timeout):
            probe = await _probe(scheme, url, timeout, headers or {})
    except TimeoutError:
        probe = _no_answer(url, timeout)
    except _BadUrl as exc:
        probe = Probe(False, f"{shown_url(url)} is not a valid URL: {exc}", "correct the URL")
    return _masked(probe, _secrets(url, headers or {}))


async def _probe(scheme: str, url: str, timeout: float, headers: Mapping[str, str]) -> Probe:
    if scheme == "sqlite":
        return await asyncio.to_thread(_probe_sqlite, url, timeout)
    if scheme in ("postgresql", "postgres"):
        return await _probe_postgres(url, timeout)
    if scheme in ("redis", "rediss"):
        return await _probe_redis(url)
    if scheme in ("http", "https"):
        return await _probe_http(url, timeout, headers)
    return Probe(
        None,
        f"Mark-1 cannot test {scheme or 'scheme-less'} URLs: it tests {SUPPORTED}",
        "check this service by hand; Mark-1 will pass the URL to the plugin as it is",
    )


def _secrets(url: str, headers: Mapping[str, str]) -> set[str]:
    """Every spelling of a secret that a message could contain. Not shorter ones: masking
    "1" would garble every address, and no message here quotes a password anyway."""
    parts = urlsplit(url)
    found = {parts.password or ""}
    found.update(match.group(2) for match in _QUERY_PASSWORD.finditer(url))
    for value in headers.values():
        found.update((value, value.rpartition(" ")[2]))  # "Bearer KEY" and KEY alone
    found |= {unquote(secret) for secret in found}
    return {secret for secret in found if len(secret) >= MIN_MASKED}


def _masked(probe: Probe, secrets: set[str]) -> Probe:
    """A last line of defence: servers and client libraries may quote what they were sent."""
    detail, fix = probe.detail, probe.fix
    for secret in sorted(secrets, key=len, reverse=True):
        detail, fix = detail.replace(secret, MASK), fix.replace(secret, MASK)
    return replace(probe, detail=detail, fix=fix)


def _endpoint(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        return parts.hostname or "localhost", parts.port or default_port
    except ValueError as exc:  # "Port out of range 0-65535", "invalid literal for int()"
        raise _BadUrl(str(exc)) from None


def _no_such_host(url: str) -> Probe:
    return Probe(
        False,
        f"cannot reach {urlsplit(url).hostname}: the name does not resolve; you may be offline, "
        "or the URL is wrong",
        f"check your network connection and the host name in {shown_url(url)}",
    )


def _nothing_listening(url: str, where: str, service: str) -> Probe:
    return Probe(
        False,
        f"nothing is listening at {where}",
        f"is {service} running at {where}? Start it, or correct the address in {shown_url(url)}",
    )


def _no_answer(url: str, seconds: float) -> Probe:
    return Probe(
        False,
        f"{urlsplit(url).hostname or 'the server'} did not answer within {seconds:g} s",
        f"you may be offline, a firewall may block the port, or the URL is wrong: {shown_url(url)}",
    )


# -- SQLite ------------------------------------------------------------------------------------


def sqlite_path(url: str) -> Path:
    """The file of ``sqlite:///abs/path`` (or ``sqlite:////abs/path``): always absolute.
    ValueError for ``sqlite://name/...``, which names no absolute file."""
    parts = urlsplit(url)
    if parts.netloc:
        raise _BadUrl("an SQLite URL names an absolute file: sqlite:////folder/file.db")
    return Path("/" + unquote(parts.path).lstrip("/"))


def _probe_sqlite(url: str, timeout: float) -> Probe:
    """Open the existing file for reading and writing, read its schema and take the write
    lock for an instant: what the plugin will need."""
    path = sqlite_path(url)
    if path.name == ":memory:":
        return Probe(None, "an in-memory SQLite database lives inside the plugin: nothing to test")
    if path.is_dir():
        return Probe(
            False,
            f"{path} is a folder, not an SQLite database file",
            f"name a file inside it, e.g. sqlite:///{path / 'data.db'}",
        )
    if not path.exists():
        return Probe(
            False,
            f"there is no database file at {path}",
            "correct the path, or choose 'start a local one' and Mark-1 creates the database",
        )
    if not (os.access(path, os.R_OK | os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)):
        return _no_permission(path)  # SQLite would open it read-only, and say nothing
    try:  # half the time for a lock held by another program: a busy file is said as such
        return _query_sqlite(path, timeout / 2)
    except sqlite3.DatabaseError as exc:
        return _sqlite_failure(path, str(exc))


def _query_sqlite(path: Path, timeout: float) -> Probe:
    location = f"file:{quote(str(path))}?mode=rw"
    with closing(sqlite3.connect(location, uri=True, timeout=timeout, isolation_level=None)) as db:
        (tables,) = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
        db.execute("BEGIN IMMEDIATE")  # waits, then fails, while another program writes
        db.execute("ROLLBACK")
    tables_said = f"{tables} table{'' if tables == 1 else 's'}"
    return Probe(True, f"SQLite database {path} ({tables_said}, SQLite {sqlite3.sqlite_version})")


def _sqlite_failure(path: Path, message: str) -> Probe:
    if "not a database" in message:
        return Probe(
            False,
            f"{path} is not an SQLite database",
            "name the plugin's database file, or move this file away and start a local one",
        )
    if "readonly" in message or "unable to open" in message:
        return _no_permission(path)
    if "locked" in message:
        return Probe(
            False,
            f"{path} is locked by another program",
            "wait for it to finish (or stop it), then test again",
        )
    return Probe(False, f"SQLite cannot use {path}: {message}")


def _no_permission(path: Path) -> Probe:
    user = _user_name()
    return Probe(
        False,
        f"cannot read and write {path} (and its journal beside it): permission denied",
        f"give {user} read and write access to the file and its folder: "
        f"sudo chown {user} {path} {path.parent}",
    )


def _user_name() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


# -- PostgreSQL --------------------------------------------------------------------------------


async def _probe_postgres(url: str, timeout: float) -> Probe:
    """Log in and ask the server who we are: proves host, port, user, password and database."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise _BadUrl(str(exc).splitlines()[0]) from None
    try:
        # libpq's connect_timeout (whole seconds, at least 2) is only a backstop: the exact
        # asyncio deadline around the probe comes first and says the same for every service.
        conn = await psycopg.AsyncConnection.connect(
            url, connect_timeout=max(2, math.ceil(timeout) + 1)
        )
    except psycopg.OperationalError as exc:
        return _postgres_failure(url, str(exc), params)
    async with conn:
        query = "SELECT current_setting('server_version'), current_database(), current_user"
        row = await (await conn.execute(query)).fetchone()
    assert row is not None
    version, database, user = row
    return Probe(
        True, f"PostgreSQL {version} at {_pg_where(params)}: database {database}, user {user}"
    )


def _pg_where(params: Mapping[str, object]) -> str:
    host, port = str(params.get("host") or ""), str(params.get("port") or "5432")
    if not host or host.startswith("/"):
        return f"the socket {host or 'the default folder'}/.s.PGSQL.{port}"
    return f"{host}:{port}"


def _pg_client_args(params: Mapping[str, object]) -> str:
    """``-h HOST -p PORT -U USER`` for createdb/createuser, as far as the URL says them."""
    flags = (("-h", "host"), ("-p", "port"), ("-U", "user"))
    return "".join(f" {flag} {params[key]}" for flag, key in flags if params.get(key))


def _postgres_failure(url: str, message: str, params: Mapping[str, object]) -> Probe:
    where, user = _pg_where(params), str(params.get("user") or _user_name())
    named = re.search(r'"([^"]+)" does not exist', message)
    if "password authentication failed" in message:
        return Probe(
            False,
            f"password authentication failed for user {user} at {where}",
            f"check the user name and password in {shown_url(url)}",
        )
    if "no password supplied" in message:
        return Probe(
            False,
            f"the server at {where} asks for a password and the URL gives none",
            f"add it: postgresql://{user}:PASSWORD@{where}/DATABASE",
        )
    if named and "database" in message:
        return Probe(
            False,
            f'database "{named[1]}" does not exist at {where}',
            f"create it: createdb{_pg_client_args(params)} {named[1]}",
        )
    if named and "role" in message:
        return Probe(
            False,
            f'user "{named[1]}" does not exist at {where}',
            f"create it (as a superuser): createuser{_pg_client_args(dict(params, user=''))} "
            f"--pwprompt {named[1]}",
        )
    if "no pg_hba.conf entry" in message:
        return Probe(
            False,
            f"the server at {where} does not accept user {user} from this machine",
            "add a line for this host, user and database to the server's pg_hba.conf, then "
            "reload it (SELECT pg_reload_conf())",
        )
    if "failed to resolve host" in message or "could not translate host name" in message:
        return _no_such_host(url)
    if "Connection refused" in message or "No such file or directory" in message:
        return _nothing_listening(url, where, "PostgreSQL")
    return Probe(False, f"PostgreSQL at {where}: {_first_line(message)}")


def _first_line(message: str) -> str:
    return message.removeprefix("connection failed: ").splitlines()[0]


# -- Redis -------------------------------------------------------------------------------------


class _RedisError(Exception):
    """The server answered with an error reply (``-ERR ...``, ``-NOAUTH ...``)."""


class _NotRedis(Exception):
    """The server's answer is not the Redis protocol (RESP)."""


async def _probe_redis(url: str) -> Probe:
    """Speak RESP over a plain stream: ``AUTH`` if the URL has a password, ``SELECT`` its
    database, then ``INFO server``, which needs both to have worked and names the version."""
    parts = urlsplit(url)
    host, port = _endpoint(url, 6379)
    database = _redis_database(parts.path)
    where = f"{host}:{port}"
    tls = ssl.create_default_context() if parts.scheme.lower() == "rediss" else None
    try:
        reader, writer = await asyncio.open_connection(host, port, ssl=tls)
    except OSError as exc:
        return _connect_failure(url, exc, where, "Redis")
    try:
        if parts.password is not None:
            login = [unquote(parts.username)] if parts.username else []
            await _redis_call(reader, writer, "AUTH", *login, unquote(parts.password))
        if database:
            await _redis_call(reader, writer, "SELECT", str(database))
        info = await _redis_call(reader, writer, "INFO", "server")
    except _RedisError as exc:
        return _redis_failure(url, str(exc), where)
    except _NotRedis:
        return Probe(
            False,
            f"the server at {where} does not speak Redis",
            f"correct the port in {shown_url(url)}",
        )
    except (asyncio.IncompleteReadError, ConnectionError):
        return Probe(
            False,
            f"the server at {where} closed the connection without answering",
            "check that Redis listens there (and whether it wants TLS: rediss://), then test again",
        )
    finally:
        writer.close()
        await _closed(writer)
    version = re.search(r"redis_version:(\S+)", info)
    name = f"Redis {version[1]}" if version else "Redis"
    return Probe(True, f"{name} at {where}, database {database}")


async def _closed(writer: asyncio.StreamWriter) -> None:
    """Wait for the connection to close; the server may already have dropped it."""
    try:
        await writer.wait_closed()
    except (ConnectionError, ssl.SSLError):
        return


def _redis_database(path: str) -> int:
    try:
        return int(path.strip("/") or 0)
    except ValueError:
        raise _BadUrl(f"the Redis database must be a number, not {path.strip('/')!r}") from None


async def _redis_call(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *args: str
) -> str:
    """Send one command and read its reply: a status, an error or a bulk string."""
    encoded = [arg.encode() for arg in args]
    writer.write(
        f"*{len(encoded)}\r\n".encode()
        + b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in encoded)
    )
    await writer.drain()
    line = (await reader.readline()).decode(errors="replace").rstrip("\r\n")
    kind, rest = line[:1], line[1:]
    if kind == "+":
        return rest
    if kind == "-":
        raise _RedisError(rest)
    if kind == "$" and rest.isdigit():
        return (await reader.readexactly(int(rest) + 2))[:-2].decode(errors="replace")
    raise _NotRedis(line)


def _redis_failure(url: str, message: str, where: str) -> Probe:
    shown = shown_url(url)
    if message.startswith("NOAUTH"):
        return Probe(
            False,
            f"the Redis server at {where} wants a password and the URL gives none",
            f"add it: redis://:PASSWORD@{where}/0",
        )
    if message.startswith("WRONGPASS") or "invalid password" in message:
        return Probe(
            False,
            f"the Redis server at {where} refused the password (or user name)",
            f"check the password in {shown}: it must match the server's requirepass or ACL user",
        )
    if "without any password configured" in message:
        return Probe(
            False,
            f"the Redis server at {where} has no password, but the URL gives one",
            f"remove the password from {shown}",
        )
    if "DB index is out of range" in message:
        return Probe(
            False,
            f"the Redis server at {where} has fewer databases than the URL's number",
            f"use a lower database number (0 always exists) in {shown}",
        )
    return Probe(False, f"the Redis server at {where} answered: {message}")


# -- HTTP --------------------------------------------------------------------------------------


async def _probe_http(url: str, timeout: float, headers: Mapping[str, str]) -> Probe:
    """One ``GET``, redirects not followed: any answer below 400 proves the server is there
    and takes these credentials."""
    import httpx

    host, port = _endpoint(url, 443 if url.lower().startswith("https") else 80)
    try:
        async with httpx.AsyncClient(timeout=timeout, headers=dict(headers)) as client:
            response = await client.get(url)
    except httpx.TimeoutException:
        return _no_answer(url, timeout)
    except httpx.ConnectError as exc:
        return _connect_failure(url, exc, f"{host}:{port}", "the server")
    except httpx.HTTPError as exc:
        return Probe(False, f"{shown_url(url)} failed: {exc}", "check the URL")
    return _http_answer(url, response.status_code, response.reason_phrase, bool(headers))


def _http_answer(url: str, status: int, reason: str, sent_headers: bool) -> Probe:
    shown, answered = shown_url(url), f"answered {status} {reason}".rstrip()
    if status in (401, 403):
        if not sent_headers and urlsplit(url).password is None:
            return Probe(
                False,
                f"{shown} {answered}: the server wants credentials",
                "give the API key or token for this service",
            )
        return Probe(
            False,
            f"{shown} {answered}: the server refused the credentials",
            "check the API key or token for this service: it may be wrong, expired or lack access",
        )
    if status == 404:
        return Probe(
            False,
            f"{shown} {answered}: there is nothing at this address",
            "the URL is wrong: check its path (an API's base URL often ends in /v1)",
        )
    if status >= 500:
        return Probe(
            False,
            f"{shown} {answered}: the server has a problem",
            "try again later; if it lasts, the service's operators must fix it",
        )
    return Probe(True, f"{shown} {answered}")


# -- shared ------------------------------------------------------------------------------------


def _connect_failure(url: str, exc: BaseException, where: str, service: str) -> Probe:
    """Name why a connection failed: the name, nothing listening, TLS, or what the OS said."""
    errors = list(_causes(exc))
    if any(isinstance(error, socket.gaierror) for error in errors):
        return _no_such_host(url)
    if any(isinstance(error, ConnectionRefusedError) for error in errors):
        return _nothing_listening(url, where, service)
    tls = next((error for error in errors if isinstance(error, ssl.SSLError)), None)
    if tls is not None:
        return Probe(
            False,
            f"the TLS handshake with {where} failed: {tls.reason or tls}",
            "check that the server speaks TLS on this port and that its certificate is valid",
        )
    return Probe(False, f"cannot connect to {where}: {exc}", f"check the URL: {shown_url(url)}")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, what caused it, and the members of exception groups among them: httpx wraps
    the OS's error twice, and anyio groups one error per address it tried."""
    yield exc
    if isinstance(exc, BaseExceptionGroup):
        for member in exc.exceptions:
            yield from _causes(member)
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        yield from _causes(cause)
