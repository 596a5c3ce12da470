"""Where the vault's key comes from, and the process's one unlocked vault.

In order: ``MARK1_VAULT_KEY`` (headless machines and CI: the random key, or the passphrase of
a passphrase vault), the key already unlocked in this process, the OS keyring (a desktop with
Secret Service, macOS Keychain, Windows Credential Locker), then the passphrase, asked once
per process through whatever prompt the front end installed (a hidden terminal prompt in the
CLI). A keyring that stores in plain text, or none at all (a server over SSH), is never used:
that is where other assistants fail or leak, and the passphrase covers it.
"""

from __future__ import annotations

import base64
import binascii
import os
import sys
from collections.abc import Callable
from pathlib import Path

from assistant import paths
from assistant.security.vault import (
    KEY_BYTES,
    Vault,
    VaultLocked,
    WrongVaultKey,
    derive_key,
)

ENV = "MARK1_VAULT_KEY"
KEYRING_SERVICE = "mark1-vault"
# Backends that exist but keep nothing safe: the placeholder that fails, the one that
# forgets, and keyrings.alt's files (one of them plain text).
UNSAFE_BACKENDS = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")

PassphrasePrompt = Callable[[str], str]

_unlocked: dict[Path, Vault] = {}


def vault_path() -> Path:
    return paths.data_dir() / "vault.json"


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def terminal_prompt(message: str) -> str:
    """Ask at the terminal without echo; nothing when there is no terminal to ask at."""
    import getpass

    return getpass.getpass(message) if interactive() else ""


_prompt: PassphrasePrompt | None = terminal_prompt


def set_passphrase_prompt(prompt: PassphrasePrompt | None) -> None:
    """How this process asks for the passphrase: a full-screen app cannot use the terminal
    prompt, so it installs its own, or None to fail with the fix instead of asking."""
    global _prompt
    _prompt = prompt


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def decode_key(text: str) -> bytes | None:
    """A random vault key as printed by ``mark1 secrets init --print-key``; None otherwise."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return key if len(key) == KEY_BYTES else None


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


# ---- the OS keyring ---------------------------------------------------------------------


def keyring_backend() -> object | None:
    """The OS keyring when it is a safe one and answers; None on a headless machine."""
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        if type(backend).__module__.startswith(UNSAFE_BACKENDS) or backend.priority < 1:
            return None
    except KeyringError:
        return None
    return backend


def keyring_get(vault: Path) -> bytes | None:
    backend = keyring_backend()
    if backend is None:
        return None
    from keyring.errors import KeyringError

    try:
        stored = backend.get_password(KEYRING_SERVICE, str(vault))  # type: ignore[attr-defined]
    except KeyringError:
        return None
    return decode_key(stored) if stored else None


def keyring_set(vault: Path, key: bytes) -> bool:
    """Keep ``key`` in the OS keyring; False when there is no safe keyring that accepts it."""
    backend = keyring_backend()
    if backend is None:
        return False
    from keyring.errors import KeyringError

    try:
        backend.set_password(KEYRING_SERVICE, str(vault), encode_key(key))  # type: ignore[attr-defined]
    except KeyringError:
        return False
    return True


# ---- unlocking --------------------------------------------------------------------------


def key_for(vault: Vault) -> bytes:
    """The 32-byte key that should open ``vault``, from the first source that has one."""
    given = os.environ.get(ENV)
    if vault.kdf is None:
        if given:
            key = decode_key(given)
            if key is None:
                raise WrongVaultKey(
                    f"{ENV} is not a vault key",
                    hint="it is the 44-character text `mark1 secrets init --print-key` printed",
                )
            return key
        key = keyring_get(vault.path)
        if key is None:
            raise VaultLocked(
                f"the key of the vault at {vault.path} is not in a keyring here",
                hint=f"set {ENV} to the key `mark1 secrets init --print-key` printed",
            )
        return key
    passphrase = given or (_prompt("Vault passphrase: ") if _prompt else "")
    if not passphrase:
        raise VaultLocked(
            f"the vault at {vault.path} is sealed with a passphrase and none was given",
            hint=f"run the command at a terminal to type it, or set {ENV} to it",
        )
    return derive_key(passphrase, vault.kdf)


def unlocked_vault(path: Path | None = None) -> Vault | None:
    """The vault, unlocked once per process; None when none was ever created."""
    where = path or vault_path()
    cached = _unlocked.get(where)
    if cached is not None:
        return cached
    if not where.exists():
        return None
    vault = Vault.open(where)
    vault.unlock(key_for(vault))
    _unlocked[where] = vault
    return vault


def locked_passphrase_vault(path: Path | None = None) -> Vault | None:
    """The vault when it is sealed with a passphrase that nobody has given yet (neither in
    this process nor in MARK1_VAULT_KEY): a front end then asks for it in its own way."""
    where = path or vault_path()
    if where in _unlocked or os.environ.get(ENV) or not where.exists():
        return None
    vault = Vault.open(where)
    return vault if vault.kdf is not None else None


def remember(vault: Vault) -> None:
    """Keep a vault this process created or re-keyed, so it is not unlocked again."""
    _unlocked[vault.path] = vault


def forget() -> None:
    """Drop every unlocked vault (tests, and ``secrets rotate`` before re-reading)."""
    _unlocked.clear()
