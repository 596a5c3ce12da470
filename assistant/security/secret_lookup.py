"""Reading one secret for a run: the environment wins (CI), then the vault, scoped.

A plugin's secrets live in the vault under the plugin's name, and a run only ever asks for
the names its manifest declares in its own scope, so no plugin can reach another's. The
vault is unlocked only when a run needs a value it holds (a plugin without secrets never asks
for a passphrase), and every value handed out is remembered for masking.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from assistant.security import known_secrets
from assistant.security.vault import Vault, VaultRekeyed
from assistant.security.vault_key import forget, unlocked_vault, vault_path

WORKFLOW_SCOPE = "workflows"  # what ``${secrets.NAME}`` reads in a workflow file


def stored_names(scope: str) -> set[str]:
    """The names the vault holds for ``scope``; read without the key, and re-read only when
    the file changed (every step of a workflow asks, for each variable it declares)."""
    where = vault_path()
    try:
        stat = where.stat()
    except FileNotFoundError:
        return set()
    return set(_names(where, (stat.st_mtime_ns, stat.st_size, stat.st_ino)).get(scope, ()))


@functools.lru_cache(maxsize=4)
def _names(where: Path, _version: tuple[int, int, int]) -> dict[str, frozenset[str]]:
    by_scope: dict[str, set[str]] = {}
    for info in Vault.open(where).entries():
        by_scope.setdefault(info.scope, set()).add(info.name)
    return {scope: frozenset(names) for scope, names in by_scope.items()}


def vault_secret(scope: str, name: str) -> str | None:
    """The vault's value of ``name`` in ``scope`` (unlocking it if need be), or None."""
    if name not in stored_names(scope):
        return None
    try:
        value = _read(scope, name)
    except VaultRekeyed:  # rotated by another process since: unlock it afresh, once
        forget()
        value = _read(scope, name)
    if value:
        known_secrets.remember(value)
    return value


def _read(scope: str, name: str) -> str | None:
    vault = unlocked_vault()
    return vault.get(scope, name) if vault is not None else None


def secret_value(scope: str, name: str) -> str | None:
    """The environment's value of ``name`` if set (it overrides, for CI), else the vault's."""
    value = os.environ.get(name)
    if value is not None:
        return value
    return vault_secret(scope, name)


def workflow_secret(name: str) -> str | None:
    return vault_secret(WORKFLOW_SCOPE, name)


def forget_scope(scope: str) -> int:
    """Delete every secret of ``scope`` from the vault (a removed plugin's); how many."""
    where = vault_path()
    return Vault.open(where).drop(scope) if where.exists() else 0
