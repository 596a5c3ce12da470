"""OAuth sign-in and token refresh against a real HTTP authorization server on 127.0.0.1.

The provider is ``tests.security.oauth_server.AuthServer``: a real server faked at the protocol
boundary only, because no real provider is reachable here. The tests play the person too, with
real HTTP requests as a browser would make them: approving a device code on the verification
page, following the authorization redirect back to the flow's loopback server.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import ValidationError

from assistant.security.oauth import (
    DeviceCode,
    OAuthError,
    OAuthSpec,
    Token,
    access_token,
    device_flow,
    redirect_flow,
)
from tests.security.oauth_server import DEVICE_GRANT, AuthServer

PENDING = "authorization_pending"


class MemorySlot:
    """A token slot in memory (the vault provides the real one)."""

    def __init__(self, value: str | None = None) -> None:
        self.value = value

    def read(self) -> str | None:
        return self.value

    def write(self, value: str) -> None:
        self.value = value

    @property
    def token(self) -> Token:
        assert self.value is not None
        return Token.from_json(self.value)


class CompressedSleep:
    """Waits a thousandth of the seconds asked (a provider second lasts a millisecond) and
    records what was asked, so a test sees the intervals the client honoured."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await asyncio.sleep(seconds / 1000)


@pytest.fixture
def auth() -> Iterator[AuthServer]:
    with AuthServer(interval=3) as server:
        yield server


def spec_for(server: AuthServer, flow: str = "device", **extra: object) -> OAuthSpec:
    return OAuthSpec.model_validate(
        {
            "provider": "testhub",
            "flow": flow,
            "client_id": server.client_id,
            "device_authorization_url": server.device_authorization_url,
            "authorization_url": server.authorization_url,
            "token_url": server.token_url,
            "scopes": ["repo", "read:user"],
            "token_env": "TESTHUB_TOKEN",
            **extra,
        }
    )


async def until(server: AuthServer, path: str, error: str | None) -> None:
    """Wait (in a thread, with a deadline) until the server has answered ``error`` at ``path``."""
    seen = await asyncio.to_thread(
        server.wait_until, lambda reqs: any(r.path == path and r.error == error for r in reqs)
    )
    assert seen, f"the server never answered {error} at {path}: {server.answered(path)}"


async def decide(code: DeviceCode, decision: str) -> None:
    """The person, in a browser, on the verification page: approve or deny the shown code."""
    async with httpx.AsyncClient() as browser:
        page = await browser.get(code.verification_uri_complete or code.verification_uri)
        assert page.status_code == 200 and code.user_code in page.text
        done = await browser.post(
            code.verification_uri, data={"user_code": code.user_code, "decision": decision}
        )
        assert done.status_code == 200


async def device_sign_in(
    server: AuthServer, spec: OAuthSpec, slot: MemorySlot, decision: str = "approve"
) -> tuple[asyncio.Task[Token], CompressedSleep]:
    """Start the device flow, let it poll at least once, then have the person decide."""
    shown: list[DeviceCode] = []
    sleep = CompressedSleep()
    flow = asyncio.create_task(device_flow(spec, slot, show=shown.append, sleep=sleep))
    await until(server, "/token", PENDING)
    await decide(shown[0], decision)
    return flow, sleep


async def browser_sign_in(spec: OAuthSpec, slot: MemorySlot) -> tuple[Token, httpx.Response]:
    """Run the redirect flow with the test as the browser, following every redirect."""
    opened: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    flow = asyncio.create_task(redirect_flow(spec, slot, open_url=opened.set_result, timeout=10))
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        page = await browser.get(await asyncio.wait_for(opened, 10))
    return await flow, page


async def resource(server: AuthServer, token: str) -> int:
    async with httpx.AsyncClient() as http:
        answer = await http.get(server.resource_url, headers={"Authorization": f"Bearer {token}"})
    return answer.status_code


# the manifest block


def test_spec_requires_the_urls_of_its_flow() -> None:
    base = {"provider": "p", "client_id": "c", "token_url": "https://p.example/token"}
    with pytest.raises(ValidationError, match="device flow needs device_authorization_url"):
        OAuthSpec.model_validate({**base, "token_env": "P_TOKEN"})
    with pytest.raises(ValidationError, match="redirect flow needs authorization_url"):
        OAuthSpec.model_validate({**base, "token_env": "P_TOKEN", "flow": "redirect"})
    with pytest.raises(ValidationError, match="must use https"):
        OAuthSpec.model_validate(
            {**base, "token_env": "T", "device_authorization_url": "http://p.example/device"}
        )
    with pytest.raises(ValidationError, match="Extra inputs"):
        OAuthSpec.model_validate(
            {
                **base,
                "token_env": "T",
                "device_authorization_url": "https://p.example/d",
                "secret": 1,
            }
        )
    schema = OAuthSpec.model_json_schema()
    assert all(prop.get("description") for prop in schema["properties"].values())


def test_token_json_round_trip_and_repr_hides_secrets() -> None:
    token = Token("at-secret", "rt-secret", 1700000000.5, "bearer", "repo")
    assert Token.from_json(token.to_json()) == token
    assert "secret" not in repr(token)
    with pytest.raises(ValueError):
        Token.from_json('{"access_token": "a", "expires_at": "soon"}')


def test_importing_oauth_does_not_import_httpx() -> None:
    code = "import sys, assistant.security.oauth; sys.exit('httpx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# device flow (RFC 8628)


async def test_device_flow_completes_after_the_person_approves(auth: AuthServer) -> None:
    spec, slot = spec_for(auth), MemorySlot()
    flow, sleep = await device_sign_in(auth, spec, slot)
    token = await flow

    assert slot.token == token
    assert token.refresh_token and token.expires_at and token.scope == "repo read:user"
    answers = auth.answered("/token")
    assert answers[0] == PENDING and answers[-1] is None
    assert set(sleep.asked) == {3}  # the server's interval, not the RFC's default of 5
    device_request, poll = auth.requests[0], auth.requests[1]
    assert device_request.params == {"client_id": auth.client_id, "scope": "repo read:user"}
    assert poll.params["grant_type"] == DEVICE_GRANT
    assert poll.headers["accept"] == "application/json"
    assert await resource(auth, token.access_token) == 200


async def test_device_flow_slows_down_when_asked(auth: AuthServer) -> None:
    auth.slow_down_polls = {2}
    flow, sleep = await device_sign_in(auth, spec_for(auth), MemorySlot())
    await flow
    assert auth.answered("/token")[:2] == [PENDING, "slow_down"]
    assert sleep.asked[:3] == [3, 3, 8] and set(sleep.asked[2:]) == {8}


async def test_device_flow_denied_says_so(auth: AuthServer) -> None:
    slot = MemorySlot()
    flow, _ = await device_sign_in(auth, spec_for(auth), slot, decision="deny")
    with pytest.raises(OAuthError, match="sign-in to testhub was denied") as denied:
        await flow
    assert "approve" in (denied.value.hint or "")
    assert slot.value is None


async def test_device_flow_expired_code_says_so() -> None:
    with AuthServer(device_expires_in=0) as server:
        shown: list[DeviceCode] = []
        flow = device_flow(
            spec_for(server), MemorySlot(), show=shown.append, sleep=CompressedSleep()
        )
        with pytest.raises(OAuthError, match="expired before the sign-in was approved"):
            await flow
    assert shown[0].instructions().startswith(f"Open {server.verification_url}?user_code=")


# redirect flow (authorization code + PKCE + state, loopback redirect)


async def test_redirect_flow_with_pkce_and_state_completes(
    auth: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth.client_secret = "client-s3cret"
    monkeypatch.setenv("TESTHUB_CLIENT_SECRET", "client-s3cret")
    spec = spec_for(auth, "redirect", client_secret_env="TESTHUB_CLIENT_SECRET")
    slot = MemorySlot()

    token, page = await browser_sign_in(spec, slot)

    assert page.status_code == 200 and "You can close this window" in page.text
    assert slot.token == token and await resource(auth, token.access_token) == 200
    authorize = next(r for r in auth.requests if r.path == "/authorize")
    exchange = next(r for r in auth.requests if r.path == "/token")
    assert authorize.params["code_challenge_method"] == "S256"
    assert authorize.params["redirect_uri"].startswith("http://127.0.0.1:")
    assert len(authorize.params["state"]) >= 32
    assert exchange.params["grant_type"] == "authorization_code"
    assert exchange.params["redirect_uri"] == authorize.params["redirect_uri"]
    assert 43 <= len(exchange.params["code_verifier"]) <= 128  # RFC 7636 §4.1
    assert exchange.params["client_secret"] == "client-s3cret"
    assert exchange.error is None  # the server checked the verifier against the challenge


async def test_redirect_flow_rejects_a_wrong_state(auth: AuthServer) -> None:
    opened: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    slot = MemorySlot()
    flow = asyncio.create_task(
        redirect_flow(spec_for(auth, "redirect"), slot, open_url=opened.set_result, timeout=10)
    )
    async with httpx.AsyncClient() as browser:
        redirect = await browser.get(await asyncio.wait_for(opened, 10))
        back = urlsplit(redirect.headers["location"])
        forged = {**{k: v[0] for k, v in parse_qs(back.query).items()}, "state": "forged"}
        page = await browser.get(back._replace(query="").geturl(), params=forged)

    assert page.status_code == 400 and "did not carry the state" in page.text
    with pytest.raises(OAuthError, match="did not carry the state Mark-1 sent"):
        await flow
    assert not any(r.path == "/token" for r in auth.requests) and slot.value is None


async def test_redirect_flow_refused_by_the_person(auth: AuthServer) -> None:
    auth.user_decision = "deny"
    with pytest.raises(OAuthError, match="refused the sign-in: access_denied"):
        await browser_sign_in(spec_for(auth, "redirect"), MemorySlot())


async def test_redirect_flow_gives_up_when_the_browser_never_returns(auth: AuthServer) -> None:
    opened: list[str] = []
    with pytest.raises(OAuthError, match="did not come back from testhub"):
        await redirect_flow(
            spec_for(auth, "redirect"), MemorySlot(), open_url=opened.append, timeout=0.05
        )
    assert opened and opened[0].startswith(auth.authorization_url + "?")


async def test_missing_client_secret_fails_before_any_request(auth: AuthServer) -> None:
    spec = spec_for(auth, "redirect", client_secret_env="TESTHUB_CLIENT_SECRET")
    with pytest.raises(OAuthError, match="TESTHUB_CLIENT_SECRET is not set"):
        await redirect_flow(spec, MemorySlot(), open_url=lambda url: None)
    assert auth.requests == []


# access tokens and refresh


async def test_fresh_token_is_used_as_it_is(auth: AuthServer) -> None:
    spec, slot = spec_for(auth, "redirect"), MemorySlot()
    token, _ = await browser_sign_in(spec, slot)
    assert await access_token(spec, slot) == token.access_token
    assert auth.answered("/token") == [None]  # the sign-in only: no refresh


async def test_token_is_refreshed_before_it_expires(auth: AuthServer) -> None:
    spec, slot = spec_for(auth, "redirect"), MemorySlot()
    auth.expires_in = 30
    first, _ = await browser_sign_in(spec, slot)
    assert await resource(auth, first.access_token) == 200  # still valid, but within the leeway
    auth.expires_in = 3600

    fresh = await access_token(spec, slot, leeway=60)

    assert fresh != first.access_token and await resource(auth, fresh) == 200
    refresh = auth.requests[-2]
    assert refresh.params["grant_type"] == "refresh_token" and refresh.error is None
    assert refresh.params["refresh_token"] == first.refresh_token
    stored = slot.token
    assert stored.access_token == fresh and stored.refresh_token != first.refresh_token  # rotated
    assert stored.expires_at and stored.expires_at > time.time() + 3000
    assert await access_token(spec, slot, leeway=60) == fresh  # no second refresh


async def test_refresh_keeps_the_refresh_token_the_server_did_not_rotate(auth: AuthServer) -> None:
    spec, slot = spec_for(auth, "redirect"), MemorySlot()
    auth.expires_in, auth.rotate_refresh = 0, False
    first, _ = await browser_sign_in(spec, slot)
    assert await resource(auth, first.access_token) == 401  # already expired
    auth.expires_in = 3600

    fresh = await access_token(spec, slot)

    assert await resource(auth, fresh) == 200
    assert slot.token.refresh_token == first.refresh_token


async def test_refused_refresh_asks_to_sign_in_again_without_showing_tokens(
    auth: AuthServer,
) -> None:
    spec, slot = spec_for(auth, "redirect"), MemorySlot()
    auth.expires_in = 30
    first, _ = await browser_sign_in(spec, slot)
    auth.revoke_refresh_tokens()
    auth.echo_secrets = True  # the provider repeats the refresh token in its error

    with pytest.raises(OAuthError, match="sign-in to testhub could not be refreshed") as refused:
        await access_token(spec, slot, plugin="hubtool")

    text = refused.value.render()
    assert "mark1 plugin configure hubtool" in text and "invalid_grant" in text
    assert first.refresh_token and first.refresh_token not in text
    assert first.access_token not in text and "***" in text
    assert slot.token == first  # nothing overwritten


@pytest.mark.parametrize(
    ("stored", "says"),
    [
        (None, "is missing"),
        ("{not json", "is unreadable"),
        (Token("at-old", None, time.time() - 1).to_json(), "gave no refresh token"),
    ],
)
async def test_unusable_stored_token_asks_to_sign_in_again(
    auth: AuthServer, stored: str | None, says: str
) -> None:
    with pytest.raises(OAuthError, match=says) as unusable:
        await access_token(spec_for(auth), MemorySlot(stored), plugin="hubtool")
    assert unusable.value.hint == "sign in again: mark1 plugin configure hubtool"
    assert "at-old" not in unusable.value.render() and auth.requests == []
