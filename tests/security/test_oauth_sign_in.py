"""Signing a plugin in from the setup wizard, and its token at run time: `mark1 plugin
configure` typed through prompt-toolkit's pipe input runs the device flow against the test's
real authorization server (``oauth_server.AuthServer``, the provider faked at the protocol
boundary since none is reachable here), the token goes to the real vault, and a later run
refreshes it before it expires and hands the plugin the new one, masked in what is shown."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from assistant.security import vault_key
from tests.conftest import CliResult, Repo
from tests.plugins.test_setup_wizard import typed
from tests.security.oauth_server import AuthServer

Cli = Callable[..., CliResult]

WHOAMI = """\
import json, os, sys
if "--help" in sys.argv:
    print("usage: whoami.py"); sys.exit(0)
token = os.environ.get("HUB_TOKEN", "")
print(json.dumps({"token": token, "length": len(token)}))
"""


def manifest(auth: AuthServer) -> str:
    return f"""\
schema_version: "1.0"
plugin: {{name: hubtool, version: 1.0.0, description: Reads a hub with the person's token}}
configuration:
  oauth:
    provider: testhub
    client_id: {auth.client_id}
    device_authorization_url: {auth.device_authorization_url}
    token_url: {auth.token_url}
    scopes: [read:user]
    token_env: HUB_TOKEN
capabilities:
  - name: whoami
    description: Say who the token belongs to
    side_effects: read-only
    parameters: {{type: object, properties: {{}}}}
    stdout: json
entry_points:
  - {{capability: whoami, type: cli, command: python whoami.py}}
"""


pytestmark = pytest.mark.usefixtures("random_vault_key")


def approve_when_shown(auth: AuthServer) -> threading.Thread:
    """The person: reads the code the wizard shows and approves it in a browser."""

    def approve() -> None:
        deadline = time.monotonic() + 20
        while not auth.shown_codes() and time.monotonic() < deadline:
            time.sleep(0.05)
        (code,) = auth.shown_codes()
        httpx.post(auth.verification_url, data={"user_code": code, "decision": "approve"})

    thread = threading.Thread(target=approve)
    thread.start()
    return thread


def stored_token() -> dict[str, object]:
    vault = vault_key.unlocked_vault()
    assert vault is not None
    return json.loads(vault.get("hubtool", "oauth.testhub") or "{}")


def test_the_wizard_signs_in_and_a_run_refreshes_the_token(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    with AuthServer(interval=1, expires_in=30) as auth:  # 30 s: inside the refresh leeway
        repo = make_repo("hubtool", {"mark1.plugin.yml": manifest(auth), "whoami.py": WHOAMI})
        assert cli("plugin", "install", str(repo.path), "--yes").code == 0
        person = approve_when_shown(auth)
        done = typed(cli, ["yes", "", "", "", "", ""], plugin="hubtool")  # sign in; default limits
        person.join()
        assert done.code == 0, done.err
        assert json.loads(done.out[done.out.index("{") :])["signed_in"] == "testhub"
        signed_in = stored_token()
        assert signed_in["refresh_token"] and str(signed_in["access_token"]) not in done.out

        auth.expires_in = 3600
        ran = cli("run", "hubtool.whoami", "--json")
        assert ran.code == 0, ran.err
        refreshed = stored_token()
        assert refreshed["access_token"] != signed_in["access_token"]
        assert auth.answered("/token")[-1] is None  # the refresh grant was accepted
        outputs = json.loads(ran.out)["outputs"]
        assert outputs == {"token": "***", "length": len(str(refreshed["access_token"]))}

        again = cli("run", "hubtool.whoami", "--json")  # fresh now: no new refresh
        assert stored_token() == refreshed and again.code == 0


def test_without_a_sign_in_a_run_says_how_to_sign_in(
    make_repo: Callable[..., Repo], cli: Cli
) -> None:
    with AuthServer() as auth:
        repo = make_repo("hubtool", {"mark1.plugin.yml": manifest(auth), "whoami.py": WHOAMI})
        assert cli("plugin", "install", str(repo.path), "--yes").code == 0
        ran = cli("run", "hubtool.whoami")
    assert ran.code == 2 and "mark1 plugin configure hubtool" in ran.err
