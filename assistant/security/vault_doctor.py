"""Health checks of the secrets vault: does it open with the key at hand, and is its file
private. ``mark1 doctor`` shows them for the machine, ``mark1 plugin doctor`` for a plugin
whose secrets are in it. No check ever reads out a secret: opening the vault only proves the
key against its check value.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from assistant.checks import Check
from assistant.errors import UserError
from assistant.security.vault import Vault
from assistant.security.vault_key import ENV, unlocked_vault, vault_path


def vault_checks() -> list[Check]:
    """The vault for ``mark1 doctor``: whether there is one, how it is sealed, whether the
    key is available and opens it, and whether its file is private."""
    where = vault_path()
    if not where.exists():
        detail = "none yet: `mark1 secrets init` or the first stored secret creates it"
        return [Check("vault", True, detail, required=False)]
    try:
        holds = len(Vault.open(where).entries())
    except UserError as exc:  # a damaged file, or not a vault
        return [Check("vault", False, exc.message, exc.hint or "")]
    return [vault_opens(required=holds > 0), private_file(where)]


def vault_opens(required: bool = True) -> Check:
    """Whether the key at hand (MARK1_VAULT_KEY, the keyring or the passphrase) opens the
    vault; a failure says why (no key, wrong key, damaged file) and the fix."""
    try:
        vault = unlocked_vault()
    except UserError as exc:
        return Check("vault", False, exc.message, exc.hint or "", required)
    if vault is None:
        return Check("vault", False, "there is no vault", "mark1 secrets init", required)
    count = len(vault.entries())
    sealed = "a passphrase (Argon2id)" if vault.kdf else "a random key"
    key = ENV if os.environ.get(ENV) else ("the passphrase" if vault.kdf else "the OS keyring")
    detail = f"{vault.path}: {count} secret{'' if count == 1 else 's'}, sealed with {sealed}"
    return Check("vault", True, f"{detail}, opened with {key}", required=required)


def private_file(path: Path) -> Check:
    """The vault file must be readable by its owner only: a copy elsewhere can be attacked
    offline (a passphrase vault) for as long as the attacker likes."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return Check(
            "vault file",
            False,
            f"{path} can be read or changed by others (mode {mode:04o})",
            f"chmod 600 {path}",
        )
    return Check("vault file", True, f"mode {mode:04o}")
