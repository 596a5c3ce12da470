"""What the secrets vault costs (issue 11), in one process, beside the plain alternatives.

* Unlock with a passphrase: Argon2id (64 MiB, 3 passes, 4 lanes) plus the key check, beside
  the same check with a random key (keyring / MARK1_VAULT_KEY: no derivation).
* Secret lookup in an unlocked vault of 100 secrets: what a plugin run does for each declared
  secret (read the vault's names, decrypt one value), beside ``os.environ.get``, the plain
  text way other tools keep secrets.
* Writing one secret (sealed, file rewritten atomically with fsync), beside writing the same
  value to a plain file.

Median of repeated rounds; the machine's figures, not a target, except that unlocking must
stay well under a second since it happens once per session.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import ms, table  # noqa: E402

SECRETS = 100
ROUNDS = 7
LOOKUPS = 2000


def timed(action: Callable[[], object], rounds: int = ROUNDS) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return median(times)


def per_call(action: Callable[[], object], calls: int = LOOKUPS) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - started) / calls


def main() -> None:
    os.environ["MARK1_HOME"] = tempfile.mkdtemp(prefix="bench-vault-")
    from assistant.security import vault_key
    from assistant.security.secret_lookup import vault_secret
    from assistant.security.vault import Vault, derive_key, new_kdf

    passphrase = "correct horse battery staple"
    kdf = new_kdf()
    path = vault_key.vault_path()
    Vault.create(path, derive_key(passphrase, kdf), kdf)
    vault = Vault.open(path)
    vault.unlock(derive_key(passphrase, kdf))
    for i in range(SECRETS):
        vault.set(f"plugin{i % 10}", f"TOKEN_{i}", f"value-{i:04d}-" + "x" * 32)

    def unlock_passphrase() -> None:
        Vault.open(path).unlock(derive_key(passphrase, kdf))

    random_key = vault_key.new_key()
    other = Path(os.environ["MARK1_HOME"]) / "random.json"
    Vault.create(other, random_key, None)

    def unlock_random() -> None:
        Vault.open(other).unlock(random_key)

    vault_key.remember(vault)
    os.environ["BENCH_TOKEN"] = "value-0042-" + "x" * 32
    lookup = per_call(lambda: vault_secret("plugin2", "TOKEN_42"))
    environ = per_call(lambda: os.environ.get("BENCH_TOKEN"))
    write = timed(lambda: vault.set("plugin0", "TOKEN_0", "changed-" + "y" * 32))
    plain = Path(os.environ["MARK1_HOME"]) / "plain.txt"
    write_plain = timed(lambda: plain.write_text("changed-" + "y" * 32))
    print(
        table(
            ["figure", "Mark-1", "baseline"],
            [
                [
                    "unlock, passphrase (Argon2id 64 MiB)",
                    ms(timed(unlock_passphrase)),
                    f"random key {timed(unlock_random) * 1e6:.0f} µs",
                ],
                [
                    f"secret lookup ({SECRETS} stored)",
                    f"{lookup * 1e6:.0f} µs",
                    f"os.environ.get {environ * 1e6:.2f} µs",
                ],
                ["store one secret (atomic, fsync)", ms(write), f"plain write {ms(write_plain)}"],
            ],
            title="vault (bench/bench_vault.py)",
        )
    )


if __name__ == "__main__":
    main()
