"""``mark1 remote``: the hosts ssh capabilities run on."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from assistant.cli.context import session
from assistant.cli.output import echo_json, json_option, run_async, table

if TYPE_CHECKING:
    from adapters.ssh_remote import SshError
    from assistant.errors import Mark1Error
    from assistant.plugins.remotes import Remote


@click.group()
def remote() -> None:
    """Configure the remote hosts that ssh capabilities run on.

    \b
    A manifest's ssh entry point names a remote (host: gpu); tell Mark-1 once where it is
    and how to log in. Host keys are always checked: against ~/.ssh/known_hosts, a file
    you name, or (with --trust-host-key) a key Mark-1 fetches once and keeps in its own file.
    """


def _error(exc: SshError) -> Mark1Error:
    """An ssh failure as the CLI reports it: the message and what to do about it."""
    from assistant.errors import RetryableError, UserError

    kind = RetryableError if exc.kind == "network" else UserError
    return kind(exc.message, hint=exc.fix)


@remote.command()
@click.argument("name")
@click.option("--host", required=True, help="Host name or address.")
@click.option("--port", default=22, show_default=True, type=click.IntRange(1, 65535))
@click.option("--user", help="Login name (default: your local user name).")
@click.option(
    "--key",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Private key file (default: ssh-agent and ~/.ssh/id_*).",
)
@click.option(
    "--known-hosts",
    type=click.Path(dir_okay=False, path_type=Path),
    help="known_hosts file to check the host key against (default: ~/.ssh/known_hosts).",
)
@click.option(
    "--trust-host-key",
    is_flag=True,
    help="Fetch the host's key now and trust it from then on (in Mark-1's own known_hosts).",
)
@json_option
def add(
    name: str,
    host: str,
    port: int,
    user: str | None,
    key: Path | None,
    known_hosts: Path | None,
    trust_host_key: bool,
    as_json: bool,
) -> None:
    """Add remote NAME (the name ssh entry points use as their host).

    \b
    --trust-host-key connects once, prints the server's key fingerprint and records the
    key; compare the fingerprint with the one on the host (ssh-keygen -lf
    /etc/ssh/ssh_host_ed25519_key.pub) before you rely on it.

    \b
    Examples:
      mark1 remote add gpu --host gpu.lan --user me --key ~/.ssh/id_ed25519
      mark1 remote add lab --host 10.0.0.7 --port 2222 --trust-host-key
    """
    from adapters.ssh_remote import SshError, fetch_host_key, host_pattern
    from assistant.errors import UserError
    from assistant.plugins import remotes

    if trust_host_key and known_hosts is not None:
        raise UserError(
            "--trust-host-key and --known-hosts cannot be combined",
            hint="--trust-host-key keeps the key in Mark-1's own known_hosts file",
        )

    async def go() -> tuple[Remote, str | None]:
        async with session() as (_, store):
            remotes.check_new(name, host, port)
            if await remotes.get_remote(store, name) is not None:  # before connecting anywhere
                raise UserError(
                    f"a remote named '{name}' already exists",
                    hint=f"`mark1 remote remove {name}` first, or choose another name",
                )
            fingerprint = line = None
            if trust_host_key:
                try:
                    line, fingerprint = await fetch_host_key(host, port)
                except SshError as exc:
                    raise _error(exc) from None
            own = remotes.own_known_hosts() if trust_host_key else known_hosts
            record = await remotes.add_remote(
                store, name, host, port=port, user=user, key_path=key, known_hosts_path=own
            )
            if line is not None:
                remotes.trust_host_key(record.known_hosts, host_pattern(host, port), line)
            return record, fingerprint

    record, fingerprint = run_async(go())
    known = _known(record)
    if as_json:
        echo_json(record.summary() | {"fingerprint": fingerprint, "host_key_known": known})
        return
    click.echo(f"added remote {record.name}: {_where(record)}")
    if fingerprint is not None:
        click.echo(f"  trusted host key {fingerprint}")
        click.echo(f"  (kept in {record.known_hosts}; compare it with the host's own fingerprint)")
    elif known is False:
        click.echo(
            f"  note: {host_pattern(record.host, record.port)} is not in {record.known_hosts}; "
            f"connections will be refused until it is (add it again with --trust-host-key, "
            f"or ssh to it once)"
        )


def _known(record: Remote) -> bool | None:
    """Whether the remote's known_hosts has a key for it (None: cannot tell without asyncssh)."""
    from adapters.ssh_remote import SshError, known_keys

    try:
        return known_keys(record.known_hosts, record.host, record.port) > 0
    except SshError:
        return None


def _where(record: Remote) -> str:
    user = f"{record.user}@" if record.user else ""
    return f"{user}{record.host}:{record.port}"


@remote.command("list")
@json_option
def list_(as_json: bool) -> None:
    """The configured remotes."""
    from assistant.plugins import remotes

    async def go() -> list[Remote]:
        async with session() as (_, store):
            return await remotes.list_remotes(store)

    found = run_async(go())
    if as_json:
        echo_json([r.summary() for r in found])
        return
    if not found:
        click.echo("No remotes. Try: mark1 remote add NAME --host HOST --trust-host-key")
        return
    table(
        ["remote", "host", "port", "user", "key", "known_hosts"],
        [(r.name, r.host, r.port, r.user or "", r.key_path or "", r.known_hosts) for r in found],
    )


@remote.command()
@click.argument("name")
@json_option
def show(name: str, as_json: bool) -> None:
    """Everything about remote NAME."""
    from assistant.plugins import remotes

    async def go() -> Remote:
        async with session() as (_, store):
            return await remotes.require_remote(store, name)

    record = run_async(go())
    summary: dict[str, Any] = record.summary() | {"host_key_known": _known(record)}
    if as_json:
        echo_json(summary)
        return
    for key, value in summary.items():
        if key != "created_at":
            click.echo(f"{key:<15} {'' if value is None else value}")


@remote.command()
@click.argument("name")
@json_option
def remove(name: str, as_json: bool) -> None:
    """Forget remote NAME (and the host key Mark-1 trusted for it)."""
    from assistant.plugins import remotes

    async def go() -> Remote:
        async with session() as (_, store):
            return await remotes.remove_remote(store, name)

    record = run_async(go())
    if as_json:
        echo_json({"removed": record.name})
    else:
        click.echo(f"removed remote {record.name}")


@remote.command()
@click.argument("name")
@click.option(
    "--timeout",
    default=15.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds to wait for the host.",
)
@json_option
def test(name: str, timeout: float, as_json: bool) -> None:
    """Check that NAME works: connect, verify its host key, log in, run `true`.

    Prints how long connecting and the command took.
    """
    from adapters.ssh_remote import SshError, probe
    from assistant.plugins import remotes

    async def go() -> tuple[Remote, dict[str, float]]:
        async with session() as (_, store):
            record = await remotes.require_remote(store, name)
        try:
            return record, await probe(record.connection(), timeout)
        except SshError as exc:
            raise _error(exc) from None

    record, times = run_async(go())
    if as_json:
        echo_json({"name": record.name, "ok": True} | times)
        return
    click.echo(
        f"ok: {_where(record)} ran `true` in {times['total_ms']:.0f} ms "
        f"(connect {times['connect_ms']:.0f} ms, command {times['command_ms']:.0f} ms)"
    )
