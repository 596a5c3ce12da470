"""The secrets vault and `mark1 secrets`: real AES-GCM and Argon2id, a real file on disk.

Only the OS keyring is stood in for: no Secret Service daemon runs here, so the keyring tests
install an in-memory backend through keyring's own ``set_keyring`` (the protocol boundary).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from assistant.security import vault_key
from assistant.security.vault import Vault, WrongVaultKey, new_kdf
from tests.conftest import CliResult

CANARY = "canary-7Hq2vX9pLm4Rt8"
Cli = Callable[..., CliResult]


def init_with_key(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> str:
    """``mark1 secrets init --print-key``; the printed key is put in MARK1_VAULT_KEY."""
    done = cli("secrets", "init", "--print-key")
    assert done.code == 0, done.err
    key = done.out.strip().split("=", 1)[1]
    monkeypatch.setenv("MARK1_VAULT_KEY", key)
    vault_key.forget()
    return key


def store(cli: Cli, monkeypatch: pytest.MonkeyPatch, scope: str, name: str, value: str) -> None:
    monkeypatch.setattr("sys.stdin", _Piped(value))
    done = cli("secrets", "set", scope, name, "--stdin")
    assert done.code == 0, done.err


class _Piped:
    """Standard input that is a pipe holding ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text

    def read(self) -> str:
        return self.text

    def isatty(self) -> bool:
        return False


def test_the_vault_file_never_holds_a_secret_in_clear(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, mark1_home: Path
) -> None:
    init_with_key(cli, monkeypatch)
    store(cli, monkeypatch, "weather", "API_KEY", CANARY)
    store(cli, monkeypatch, "weather", "API_KEY", CANARY + "-2")  # replaced, fresh nonce
    raw = (mark1_home / "data" / "vault.json").read_bytes()
    for form in (
        CANARY.encode(),
        base64.b64encode(CANARY.encode()),
        CANARY.encode().hex().encode(),
    ):
        assert form not in raw
    assert (mark1_home / "data" / "vault.json").stat().st_mode & 0o077 == 0
    listed = cli("secrets", "list", "--json")
    assert json.loads(listed.out)["secrets"][0]["name"] == "API_KEY"
    assert CANARY not in listed.out
    assert cli("secrets", "get", "weather", "API_KEY").out.strip() == CANARY + "-2"


def test_a_wrong_key_fails_cleanly_and_changes_nothing(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, mark1_home: Path
) -> None:
    init_with_key(cli, monkeypatch)
    store(cli, monkeypatch, "weather", "API_KEY", CANARY)
    before = (mark1_home / "data" / "vault.json").read_bytes()
    monkeypatch.setenv("MARK1_VAULT_KEY", base64.urlsafe_b64encode(b"x" * 32).decode())
    vault_key.forget()
    done = cli("secrets", "get", "weather", "API_KEY")
    assert done.code == 2 and "does not open the vault" in done.err
    assert "Traceback" not in done.err and CANARY not in done.err + done.out
    monkeypatch.setenv("MARK1_VAULT_KEY", "not a key at all")
    done = cli("secrets", "get", "weather", "API_KEY")
    assert done.code == 2 and "MARK1_VAULT_KEY is not a vault key" in done.err
    assert (mark1_home / "data" / "vault.json").read_bytes() == before


def test_a_passphrase_vault_opens_with_its_passphrase_only(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARK1_VAULT_KEY", "correct horse battery staple")
    assert cli("secrets", "init", "--passphrase").code == 0
    store(cli, monkeypatch, "mailer", "SMTP_PASSWORD", CANARY)
    vault_key.forget()
    monkeypatch.setenv("MARK1_VAULT_KEY", "correct horse battery stapler")
    done = cli("secrets", "get", "mailer", "SMTP_PASSWORD")
    assert done.code == 2 and "wrong key or passphrase" in done.err
    vault_key.forget()
    monkeypatch.delenv("MARK1_VAULT_KEY")
    done = cli("secrets", "get", "mailer", "SMTP_PASSWORD")  # no terminal to ask at
    assert done.code == 2 and "sealed with a passphrase" in done.err
    assert "MARK1_VAULT_KEY" in done.err  # the fix is named


def test_rotation_reseals_every_secret_under_the_new_key(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, mark1_home: Path
) -> None:
    old = init_with_key(cli, monkeypatch)
    for scope, name in [("a", "TOKEN"), ("a", "PASSWORD"), ("b", "TOKEN")]:
        store(cli, monkeypatch, scope, name, f"{CANARY}-{scope}-{name}")
    path = mark1_home / "data" / "vault.json"
    before = json.loads(path.read_text())
    done = cli("secrets", "rotate", "--print-key")
    assert done.code == 0 and "re-encrypted 3 secret(s)" in done.err
    new = done.out.strip().split("=", 1)[1]
    after = json.loads(path.read_text())
    for scope, entries in before["secrets"].items():
        for name, entry in entries.items():
            assert after["secrets"][scope][name]["sealed"] != entry["sealed"]
            assert after["secrets"][scope][name]["nonce"] != entry["nonce"]
    vault = Vault.open(path)
    with pytest.raises(WrongVaultKey):
        vault.unlock(base64.urlsafe_b64decode(old))
    vault.unlock(base64.urlsafe_b64decode(new))
    assert vault.get("b", "TOKEN") == f"{CANARY}-b-TOKEN"


def test_a_ciphertext_moved_to_another_plugins_slot_does_not_open(tmp_path: Path) -> None:
    key = vault_key.new_key()
    vault = Vault.create(tmp_path / "vault.json", key, None)
    vault.set("alpha", "TOKEN", CANARY)
    data = json.loads(vault.path.read_text())
    data["secrets"]["beta"] = {"TOKEN": data["secrets"]["alpha"]["TOKEN"]}
    vault.path.write_text(json.dumps(data))
    moved = Vault.open(vault.path)
    moved.unlock(key)
    assert moved.get("alpha", "TOKEN") == CANARY
    with pytest.raises(WrongVaultKey, match="beta/TOKEN"):
        moved.get("beta", "TOKEN")


def test_a_damaged_vault_file_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "vault.json"
    path.write_text('{\n "format": "mark1-vault/1",\n "kdf": nul\n}\n')
    with pytest.raises(Exception, match=r"vault.json:3: the vault file is damaged"):
        Vault.open(path)


def test_a_new_passphrase_derivation_uses_a_fresh_salt() -> None:
    assert new_kdf()["salt"] != new_kdf()["salt"]
    assert new_kdf()["name"] == "argon2id" and new_kdf()["memory_kib"] >= 65536


class MemoryKeyring(KeyringBackend):
    """An OS keyring stand-in that keeps passwords in a dict (no Secret Service here)."""

    priority = 5  # type: ignore[assignment]
    viable = False  # type: ignore[assignment]  # only where a test installs it, never found

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


def test_the_os_keyring_keeps_the_key_when_one_answers(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, mark1_home: Path
) -> None:
    ring = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(ring)
    try:
        done = cli("secrets", "init")  # no option: the keyring is the first choice
        assert done.code == 0 and "OS keyring" in done.err and done.out == ""
        store(cli, monkeypatch, "weather", "API_KEY", CANARY)
        vault_key.forget()
        assert cli("secrets", "get", "weather", "API_KEY").out.strip() == CANARY
        (stored,) = ring.items.values()
        assert CANARY not in stored
        assert cli("secrets", "rotate").code == 0  # the new key goes to the keyring
        vault_key.forget()
        assert ring.items and next(iter(ring.items.values())) != stored
        assert cli("secrets", "get", "weather", "API_KEY").out.strip() == CANARY
    finally:
        keyring.set_keyring(previous)


def test_without_a_keyring_or_terminal_init_says_how(cli: Cli) -> None:
    done = cli("secrets", "init")
    assert done.code == 2 and "--print-key" in done.err and "MARK1_VAULT_KEY" in done.err


def test_secrets_are_never_taken_from_the_command_line(cli: Cli) -> None:
    done = cli("secrets", "set", "weather", "API_KEY", CANARY)
    assert done.code == 2 and "unexpected extra argument" in done.err.lower()


def test_a_long_running_process_sees_secrets_another_one_stored(tmp_path: Path) -> None:
    key = vault_key.new_key()
    assistant = Vault.create(tmp_path / "vault.json", key, None)  # e.g. the TUI, unlocked
    assert assistant.get("weather", "API_KEY") is None
    cli = Vault.open(assistant.path)  # `mark1 secrets set` in another terminal
    cli.unlock(key)
    cli.set("weather", "API_KEY", CANARY)
    assert assistant.get("weather", "API_KEY") == CANARY
    assistant.set("weather", "OTHER", "x" * 8)  # and writing keeps what the other wrote
    assert Vault.open(assistant.path).entries("weather")[0].name == "API_KEY"
    assert len(Vault.open(assistant.path).entries("weather")) == 2


def test_a_removed_plugins_secrets_are_dropped_without_the_key(tmp_path: Path) -> None:
    key = vault_key.new_key()
    vault = Vault.create(tmp_path / "vault.json", key, None)
    vault.set("gone", "TOKEN", CANARY)
    vault.set("kept", "TOKEN", "still-here")
    locked = Vault.open(vault.path)  # nobody typed a passphrase for this
    assert locked.drop("gone") == 1 and locked.drop("never-there") == 0
    assert [e.scope for e in Vault.open(vault.path).entries()] == ["kept"]
    assert CANARY.encode() not in vault.path.read_bytes()


def test_a_long_running_process_follows_a_rotation_made_elsewhere(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant.security.secret_lookup import vault_secret

    init_with_key(cli, monkeypatch)
    store(cli, monkeypatch, "weather", "API_KEY", CANARY)
    assert vault_secret("weather", "API_KEY") == CANARY  # e.g. the window, unlocked
    elsewhere = Vault.open(vault_key.vault_path())  # `mark1 secrets rotate` in a terminal
    elsewhere.unlock(base64.urlsafe_b64decode(os.environ["MARK1_VAULT_KEY"]))
    new = vault_key.new_key()
    elsewhere.rotate(new, None)
    monkeypatch.setenv("MARK1_VAULT_KEY", vault_key.encode_key(new))
    assert vault_secret("weather", "API_KEY") == CANARY  # unlocked again with the new key
