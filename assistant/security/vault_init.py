"""Creating the vault: which kind of key fits this machine, and sealing a new, empty vault.

``mark1 secrets init`` and the setup wizard (which creates the vault when a plugin's first
secret arrives) both come here, so both choose the same way: MARK1_VAULT_KEY when set (a
key, or a passphrase), else a safe OS keyring, else a passphrase typed by the person.
"""

from __future__ import annotations

import os

from assistant.errors import UserError
from assistant.security import vault_key as keys
from assistant.security.vault import Vault, derive_key, new_kdf

MIN_PASSPHRASE = 8
KINDS = ("env", "keyring", "passphrase", "print-key")


def default_kind(can_ask: bool) -> str:
    """The key to use here; ``can_ask``: whether someone can type a passphrase."""
    given = os.environ.get(keys.ENV)
    if given:
        return "env" if keys.decode_key(given) else "passphrase"
    if keys.keyring_backend() is not None:
        return "keyring"
    if can_ask:
        return "passphrase"
    raise UserError(
        "no way to keep the vault key here: no OS keyring, no terminal to type a passphrase",
        hint=f"run `mark1 secrets init --print-key` and keep the key in {keys.ENV}",
    )


def check_passphrase(passphrase: str) -> str | None:
    if len(passphrase) < MIN_PASSPHRASE:
        return f"the passphrase is shorter than {MIN_PASSPHRASE} characters"
    return None


def no_keyring() -> UserError:
    return UserError(
        "no safe OS keyring answers here (a headless machine, or no Secret Service running)",
        hint="use --passphrase, or --print-key and MARK1_VAULT_KEY",
    )


def create(kind: str, passphrase: str | None = None) -> tuple[Vault, bytes]:
    """A new vault sealed the ``kind`` way (``KINDS``); returns it and its key (printed for
    print-key). ``passphrase`` is needed for a passphrase vault."""
    path = keys.vault_path()
    if kind == "passphrase":
        if not passphrase:
            raise UserError("a passphrase vault needs a passphrase")
        kdf = new_kdf()
        key = derive_key(passphrase, kdf)
        vault = Vault.create(path, key, kdf)
    else:
        given = keys.decode_key(os.environ.get(keys.ENV, "")) if kind == "env" else None
        key = given or keys.new_key()
        if kind == "keyring" and not keys.keyring_set(path, key):
            raise no_keyring()
        vault = Vault.create(path, key, None)
    keys.remember(vault)
    return vault, key


def describe(kind: str) -> str:
    return {
        "passphrase": "sealed with your passphrase (asked once per session)",
        "keyring": "its key is in the OS keyring",
        "env": f"its key is the one in {keys.ENV}",
        "print-key": "its key is printed below: keep it safe, it is shown only once",
    }[kind]
