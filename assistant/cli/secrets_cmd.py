"""``mark1 secrets``: the encrypted vault where plugins' API keys and passwords live."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from assistant.cli.output import echo_json, json_option, table

if TYPE_CHECKING:
    from assistant.security.vault import Vault

NEW_ENV = "MARK1_NEW_VAULT_KEY"  # the new passphrase, for a headless rotate
KEY_CHOICE = [
    click.option(
        "--keyring", "how", flag_value="keyring", help="Keep a random key in the OS keyring."
    ),
    click.option(
        "--passphrase", "how", flag_value="passphrase", help="Derive the key from a passphrase."
    ),
    click.option(
        "--print-key",
        "how",
        flag_value="print-key",
        help="Make a random key and print it once, for MARK1_VAULT_KEY on headless machines.",
    ),
]


def key_choice(command: Any) -> Any:
    for option in reversed(KEY_CHOICE):
        command = option(command)
    return command


@click.group()
def secrets() -> None:
    """Keep plugins' secrets encrypted, each plugin seeing only its own.

    \b
    Secrets are sealed with AES-256-GCM in Mark-1's data folder. The key is kept in the OS
    keyring, derived from a passphrase (asked once per session), or given in MARK1_VAULT_KEY
    on headless machines and CI. A plugin gets its own secrets as environment variables
    when it runs, and they are masked in logs, run records, memory and model prompts. An
    environment variable of the same name overrides the vault (handy in CI).

    \b
    SCOPE is a plugin's name, or "workflows" for ${secrets.NAME} in workflow files.

    \b
    Examples:
      mark1 secrets init
      mark1 secrets set weather-tool WEATHER_API_KEY
      printf %s "$TOKEN" | mark1 secrets set github-tool GITHUB_TOKEN --stdin
      mark1 secrets list
      mark1 secrets rotate
    """


@secrets.command()
@key_choice
def init(how: str | None) -> None:
    """Create the vault.

    \b
    With no option: MARK1_VAULT_KEY if set (a key, or a passphrase), else the OS keyring if
    a safe one answers, else a passphrase typed at the terminal.
    """
    from assistant.security import vault_init
    from assistant.security import vault_key as keys

    how = how or vault_init.default_kind(can_ask=keys.interactive())
    passphrase = _new_passphrase(keys.ENV) if how == "passphrase" else None
    vault, key = vault_init.create(how, passphrase)
    click.echo(f"vault created at {vault.path}: {vault_init.describe(how)}", err=True)
    if how == "print-key":
        click.echo(f"{keys.ENV}={keys.encode_key(key)}")


def _new_passphrase(variable: str) -> str:
    """A new passphrase: the environment ``variable`` when set, else typed twice."""
    from assistant.errors import UserError
    from assistant.security import vault_key as keys
    from assistant.security.vault_init import check_passphrase

    given = os.environ.get(variable)
    if given:
        return given
    if not keys.interactive():
        raise UserError(
            "a passphrase must be typed at a terminal",
            hint=f"run this at a terminal, or set {variable} to the passphrase",
        )
    first = str(click.prompt("New vault passphrase", hide_input=True, err=True))
    problem = check_passphrase(first)
    if problem:
        raise UserError(problem)
    if click.prompt("Repeat it", hide_input=True, err=True) != first:
        raise UserError("the two passphrases differ; nothing was changed")
    return first


def _derived(passphrase: str, kdf: dict[str, Any]) -> bytes:
    from assistant.security.vault import derive_key

    return derive_key(passphrase, kdf)


def _vault() -> Vault:
    """The vault, unlocked (asking for the passphrase if need be)."""
    from assistant.security import vault_key as keys
    from assistant.security.vault import VaultLocked

    vault = keys.unlocked_vault()
    if vault is None:
        raise VaultLocked(
            f"there is no vault at {keys.vault_path()}",
            hint="create one with `mark1 secrets init`",
        )
    return vault


@secrets.command("set")
@click.argument("scope")
@click.argument("name")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the value from standard input.")
def set_(scope: str, name: str, from_stdin: bool) -> None:
    """Store secret NAME for SCOPE (a plugin's name), typed without echo.

    The value is never taken from the command line, where shell history and `ps` would
    keep it.
    """
    from assistant.errors import UserError

    if from_stdin:
        value = sys.stdin.read().rstrip("\r\n")
    elif sys.stdin.isatty():
        value = click.prompt(f"{name} for {scope}", hide_input=True, err=True)
    else:
        raise UserError("no terminal to type the secret at", hint="pipe it in with --stdin")
    if not value:
        raise UserError(f"the value of {name} is empty; nothing was stored")
    vault = _vault()
    replaced = vault.get(scope, name) is not None
    vault.set(scope, name, value)
    click.echo(f"{'replaced' if replaced else 'stored'} {scope}/{name}", err=True)


@secrets.command()
@click.argument("scope")
@click.argument("name")
def get(scope: str, name: str) -> None:
    """Print the value of secret NAME of SCOPE (for scripts: it goes to stdout as is)."""
    from assistant.errors import NotFoundError

    value = _vault().get(scope, name)
    if value is None:
        raise NotFoundError(
            f"no secret {name} for {scope}",
            hint=f"`mark1 secrets list {scope}` shows what is stored",
        )
    click.echo(value)


@secrets.command("list")
@click.argument("scope", required=False)
@json_option
def list_(scope: str | None, as_json: bool) -> None:
    """List the stored secrets' names (never their values); works without the key."""
    from assistant.security import vault_key as keys
    from assistant.security.vault import Vault

    path = keys.vault_path()
    if not path.exists():
        if as_json:
            echo_json({"vault": str(path), "exists": False, "secrets": []})
        else:
            click.echo(f"no vault yet at {path} (mark1 secrets init)")
        return
    vault = Vault.open(path)
    entries = vault.entries(scope)
    sealed = "passphrase" if vault.kdf else "random key (OS keyring or MARK1_VAULT_KEY)"
    if as_json:
        found = [{"scope": e.scope, "name": e.name, "updated_at": e.updated_at} for e in entries]
        echo_json({"vault": str(path), "exists": True, "sealed_with": sealed, "secrets": found})
        return
    click.echo(f"vault {path}, sealed with a {sealed}")
    if not entries:
        click.echo("no secrets stored" + (f" for {scope}" if scope else ""))
        return
    rows = [
        [e.scope, e.name, datetime.fromtimestamp(e.updated_at).strftime("%Y-%m-%d %H:%M")]
        for e in entries
    ]
    table(["SCOPE", "NAME", "UPDATED"], rows)


@secrets.command()
@click.argument("scope")
@click.argument("name")
def rm(scope: str, name: str) -> None:
    """Forget secret NAME of SCOPE."""
    from assistant.errors import NotFoundError

    if not _vault().delete(scope, name):
        raise NotFoundError(f"no secret {name} for {scope}")
    click.echo(f"removed {scope}/{name}", err=True)


@secrets.command()
@key_choice
def rotate(how: str | None) -> None:
    """Re-encrypt every secret under a new key (same kind as now unless an option says).

    \b
    A passphrase vault asks for the new passphrase (headless: set MARK1_NEW_VAULT_KEY to it
    and MARK1_VAULT_KEY to the old one); a keyring vault gets a new random key in the
    keyring; --print-key prints the new random key.
    """
    from assistant.security import vault_key as keys
    from assistant.security.vault import new_kdf
    from assistant.security.vault_init import no_keyring

    vault = _vault()
    has_keyring = keys.keyring_backend() is not None
    how = how or ("passphrase" if vault.kdf else "keyring" if has_keyring else "print-key")
    if how == "keyring" and not has_keyring:
        raise no_keyring()
    kdf = new_kdf() if how == "passphrase" else None
    key = _derived(_new_passphrase(NEW_ENV), kdf) if kdf else keys.new_key()
    count = vault.rotate(key, kdf)
    click.echo(f"re-encrypted {count} secret(s) under the new key", err=True)
    if how == "keyring" and not keys.keyring_set(vault.path, key):
        click.echo("the keyring refused the new key: keep the one printed below", err=True)
        how = "print-key"
    if how == "print-key":
        click.echo(f"{keys.ENV}={keys.encode_key(key)}")
