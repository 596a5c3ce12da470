"""The secrets vault: plugin secrets encrypted at rest in one JSON file.

Every secret is sealed on its own with AES-256-GCM under the vault key, with a fresh random
nonce each time it is written and its scope and name as associated data: a ciphertext copied
to another plugin's slot fails to open instead of leaking there. The file holds no secret in
clear, only names, nonces and ciphertexts, so it can be listed without the key and backed up
like any other file.

The key is 32 bytes. It is either random (kept in the OS keyring, or in ``MARK1_VAULT_KEY`` on
a headless machine) or derived from a passphrase with Argon2id; the header says which, and
holds the salt and cost of the derivation so they can be raised later. A check value sealed
with the key tells a wrong key or passphrase from a damaged file before anything is read.

Writes go to a temporary file that replaces the vault in one rename, under an exclusive lock:
a crash or a second process never leaves half a vault behind. Where the key comes from is
``vault_key``'s business; this module only needs the 32 bytes.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import ConfigError, UserError

FORMAT = "mark1-vault/1"
KEY_BYTES = 32
NONCE_BYTES = 12
CHECK_TEXT = b"mark1 vault key check"
# Argon2id as RFC 9106 recommends when memory is not scarce: 64 MiB, 3 passes, 4 lanes
# (~0.1 s here). Stored per vault, so a later release can raise it without breaking old files.
KDF_DEFAULTS = {"name": "argon2id", "memory_kib": 65536, "iterations": 3, "lanes": 4}


class VaultLocked(UserError):
    """The vault's key is not available (no keyring entry, no passphrase, no MARK1_VAULT_KEY)."""


class WrongVaultKey(UserError):
    """The key or passphrase given does not open this vault."""


class VaultRekeyed(WrongVaultKey):
    """Another process rotated the vault's key after this one unlocked it."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def derive_key(passphrase: str, kdf: dict[str, Any]) -> bytes:
    """The vault key for ``passphrase`` under the header's derivation parameters."""
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    if kdf.get("name") != "argon2id":
        raise ConfigError(f"the vault uses an unknown key derivation {kdf.get('name')!r}")
    return Argon2id(
        salt=_unb64(kdf["salt"]),
        length=KEY_BYTES,
        iterations=int(kdf["iterations"]),
        lanes=int(kdf["lanes"]),
        memory_cost=int(kdf["memory_kib"]),
    ).derive(passphrase.encode("utf-8"))


def new_kdf() -> dict[str, Any]:
    """Derivation parameters with a fresh salt, for a new passphrase."""
    return {**KDF_DEFAULTS, "salt": _b64(os.urandom(16))}


@dataclass(frozen=True)
class SecretInfo:
    """What ``list`` shows of a secret: never its value."""

    scope: str
    name: str
    updated_at: float


class Vault:
    """One vault file. Opened without a key (names and header only); ``unlock`` gives the key.

    ``kdf`` is None for a random key (keyring or MARK1_VAULT_KEY) and the derivation
    parameters for a passphrase.
    """

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self._data = data
        self._cipher: Any = None
        self._stamp = _stamp(path)

    # ---- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path) -> Vault:
        """The vault at ``path``; it must exist (``mark1 secrets init`` makes it)."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise VaultLocked(
                f"there is no vault at {path}", hint="create one with `mark1 secrets init`"
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{path}:{exc.lineno}: the vault file is damaged ({exc.msg})",
                hint="restore it from a backup, or move it away and run `mark1 secrets init`",
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ConfigError(
                f"{path} is not a Mark-1 vault (format {data.get('format')!r})"
                if isinstance(data, dict)
                else f"{path} is not a Mark-1 vault",
                hint="point MARK1_HOME at the right folder, or move the file away",
            )
        return cls(path, data)

    @classmethod
    def create(cls, path: Path, key: bytes, kdf: dict[str, Any] | None) -> Vault:
        """A new, empty vault sealed with ``key``. Refuses to replace an existing one."""
        if path.exists():
            raise UserError(
                f"a vault already exists at {path}",
                hint="`mark1 secrets rotate` changes its key; remove the file to start over",
            )
        vault = cls(path, {"format": FORMAT, "kdf": kdf, "check": {}, "secrets": {}})
        vault._use(key)
        vault._data["check"] = vault._seal(CHECK_TEXT, "", "")
        path.parent.mkdir(parents=True, exist_ok=True)
        with vault._locked():
            vault._write()
        return vault

    @property
    def kdf(self) -> dict[str, Any] | None:
        kdf = self._data.get("kdf")
        return dict(kdf) if kdf else None

    @property
    def unlocked(self) -> bool:
        return self._cipher is not None

    def unlock(self, key: bytes) -> None:
        """Check ``key`` against the vault's check value, then keep it for reads and writes."""
        self._use(key)
        try:
            opened = self._open_sealed(self._data["check"], "", "")
        except WrongVaultKey:
            self._cipher = None
            raise
        if opened != CHECK_TEXT:
            self._cipher = None
            raise WrongVaultKey(f"the key does not open the vault at {self.path}")

    def _use(self, key: bytes) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if len(key) != KEY_BYTES:
            raise WrongVaultKey(f"a vault key is {KEY_BYTES} bytes, not {len(key)}")
        self._cipher = AESGCM(key)

    # ---- reading -----------------------------------------------------------------------

    def entries(self, scope: str | None = None) -> list[SecretInfo]:
        """Names of the secrets (of one scope), sorted; works on a locked vault."""
        found = []
        for owner, entries in sorted(self._data["secrets"].items()):
            if scope is None or owner == scope:
                found += [SecretInfo(owner, n, e["updated_at"]) for n, e in sorted(entries.items())]
        return found

    def get(self, scope: str, name: str) -> str | None:
        if _stamp(self.path) != self._stamp:  # another process wrote: read what it wrote
            with self._locked():
                self._reload()
        entry = self._data["secrets"].get(scope, {}).get(name)
        if entry is None:
            return None
        return self._open_sealed(entry, scope, name).decode("utf-8")

    def scope(self, scope: str) -> dict[str, str]:
        """Every secret of one plugin (a plugin only ever sees its own scope)."""
        return {
            name: value
            for name in self._data["secrets"].get(scope, {})
            if (value := self.get(scope, name)) is not None
        }

    # ---- writing -----------------------------------------------------------------------

    def set(self, scope: str, name: str, value: str) -> None:
        """Store ``value``, replacing any earlier one; the file is rewritten atomically."""
        with self._locked():
            self._reload()
            sealed = self._seal(value.encode("utf-8"), scope, name)
            self._data["secrets"].setdefault(scope, {})[name] = sealed
            self._write()

    def delete(self, scope: str, name: str) -> bool:
        """Forget one secret; False when there was none."""
        with self._locked():
            self._reload()
            entries = self._data["secrets"].get(scope, {})
            if entries.pop(name, None) is None:
                return False
            if not entries:
                del self._data["secrets"][scope]
            self._write()
            return True

    def drop(self, scope: str) -> int:
        """Forget every secret of ``scope`` (a removed plugin); works without the key.
        Returns how many there were."""
        with self._locked():
            self._reload()
            dropped = self._data["secrets"].pop(scope, {})
            if dropped:
                self._write()
        return len(dropped)

    def rotate(self, key: bytes, kdf: dict[str, Any] | None) -> int:
        """Re-seal every secret under a new key (fresh nonces too); returns how many."""
        with self._locked():
            self._reload()
            opened = {
                (scope, name): self._open_sealed(entry, scope, name)
                for scope, entries in self._data["secrets"].items()
                for name, entry in entries.items()
            }
            self._use(key)
            self._data["kdf"] = kdf
            self._data["check"] = self._seal(CHECK_TEXT, "", "")
            for (scope, name), plain in opened.items():
                updated = self._data["secrets"][scope][name]["updated_at"]
                self._data["secrets"][scope][name] = self._seal(plain, scope, name, updated)
            self._write()
        return len(opened)

    # ---- sealing -----------------------------------------------------------------------

    def _seal(
        self, plain: bytes, scope: str, name: str, updated_at: float | None = None
    ) -> dict[str, Any]:
        if self._cipher is None:
            raise VaultLocked(f"the vault at {self.path} is locked")
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher.encrypt(nonce, plain, _associated(scope, name))
        stamp = time.time() if updated_at is None else updated_at
        return {"nonce": _b64(nonce), "sealed": _b64(sealed), "updated_at": stamp}

    def _open_sealed(self, entry: dict[str, Any], scope: str, name: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        if self._cipher is None:
            raise VaultLocked(f"the vault at {self.path} is locked")
        try:
            return bytes(
                self._cipher.decrypt(
                    _unb64(entry["nonce"]), _unb64(entry["sealed"]), _associated(scope, name)
                )
            )
        except InvalidTag:
            what = "the key does not open the vault" if not name else f"{scope}/{name} fails"
            raise WrongVaultKey(
                f"{self.path}: {what} (wrong key or passphrase, or a damaged file)",
                hint="check MARK1_VAULT_KEY or the passphrase you typed",
            ) from None
        except (KeyError, ValueError, TypeError):
            raise ConfigError(
                f"{self.path}: the entry for {scope}/{name or 'the key check'} is damaged",
                hint=f"set it again with `mark1 secrets set {scope} {name}`"
                if name
                else "restore the file from a backup",
            ) from None

    # ---- the file ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive access for a read-modify-write, across processes."""
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _reload(self) -> None:
        """Another process may have written since we read: start from the file's state."""
        with contextlib.suppress(FileNotFoundError):
            fresh = json.loads(self.path.read_text(encoding="utf-8"))
            if fresh.get("check") != self._data.get("check"):
                raise VaultRekeyed(
                    f"the vault at {self.path} was re-keyed by another process",
                    hint="run the command again",
                )
            self._data = fresh
            self._stamp = _stamp(self.path)

    def _write(self) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self._data, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.path)
        self._stamp = _stamp(self.path)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file is rewritten (a new inode, at least)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def _associated(scope: str, name: str) -> bytes:
    """Binds a ciphertext to its slot: moved to another scope or name, it no longer opens."""
    return f"{FORMAT}\0{scope}\0{name}".encode()
