"""OAuth sign-in for plugins that declare a provider, and tokens kept fresh for their runs.

A plugin's manifest declares an ``oauth:`` block (``OAuthSpec``). ``mark1 plugin configure``
signs the person in once, by the device flow (RFC 8628: open a URL, type a short code) or by the
loopback redirect flow (RFC 8252: the browser comes back to a one-shot server on 127.0.0.1, with
PKCE and a state value). The token is written as JSON to a ``TokenSlot`` (the vault, in the
application) and, before each run, ``access_token`` hands out the access token, refreshing it
first when it is about to expire.

Token values are secrets: they never appear in an error, a ``repr`` or a log line. httpx is
imported inside the functions that talk to the provider, so importing this module stays cheap.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import html
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import SplitResult, parse_qs, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from assistant.errors import RetryableError, UserError

if TYPE_CHECKING:
    import httpx

TIMEOUT = 15.0  # seconds for one request to the provider
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5.0  # RFC 8628 §3.2: poll every 5 s when the provider does not say
SLOW_DOWN_STEP = 5.0  # RFC 8628 §3.5: each slow_down adds 5 s to the interval
CALLBACK_PATH = "/callback"
_SECRET_FIELDS = ("client_secret", "code", "code_verifier", "device_code", "refresh_token")


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1", "[::1]") or host.startswith("127.")


class OAuthError(UserError):
    """Signing in to a plugin's OAuth provider failed or its sign-in can no longer be used."""


class OAuthSpec(BaseModel):
    """The ``oauth:`` block of a plugin manifest: how to sign in to the plugin's provider."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field(
        min_length=1, description="Name of the provider shown to the person, e.g. `github`."
    )
    flow: Literal["device", "redirect"] = Field(
        default="device",
        description="`device`: the person opens a URL and types a short code (works over SSH); "
        "`redirect`: the browser comes back to a one-shot server on 127.0.0.1 (PKCE).",
    )
    client_id: str = Field(min_length=1, description="The OAuth client id registered for Mark-1.")
    client_secret_env: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the secret holding the client secret, for providers that need one; "
        "the secret itself is never written in the manifest.",
    )
    device_authorization_url: HttpUrl | None = Field(
        default=None, description="Device authorization endpoint (RFC 8628); needed by `device`."
    )
    authorization_url: HttpUrl | None = Field(
        default=None, description="Authorization endpoint the browser opens; needed by `redirect`."
    )
    token_url: HttpUrl = Field(
        description="Token endpoint: issues, exchanges and refreshes tokens."
    )
    scopes: list[str] = Field(
        default_factory=list, description="Scopes to ask for; empty asks for the default ones."
    )
    token_env: str = Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Environment variable the plugin reads its access token from, "
        "e.g. `GITHUB_TOKEN`.",
    )

    @field_validator("device_authorization_url", "authorization_url", "token_url")
    @classmethod
    def _https_unless_loopback(cls, url: HttpUrl | None) -> HttpUrl | None:
        if url is not None and url.scheme != "https" and not _is_loopback(url.host or ""):
            raise ValueError(f"{url} must use https (plain http only to this machine)")
        return url

    @model_validator(mode="after")
    def _flow_has_its_urls(self) -> OAuthSpec:
        needed = "device_authorization_url" if self.flow == "device" else "authorization_url"
        if getattr(self, needed) is None:
            raise ValueError(f"the {self.flow} flow needs {needed}: add the provider's endpoint")
        return self


class TokenSlot(Protocol):
    """Where one plugin's token lives, as JSON text; the vault provides it in the application."""

    def read(self) -> str | None: ...

    def write(self, value: str) -> None: ...


@dataclass(frozen=True)
class Token:
    """An OAuth token as stored; ``expires_at`` is in seconds since the epoch (None: no expiry)."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None
    token_type: str = "Bearer"
    scope: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Token:
        """The token stored as ``text``; ValueError when it is not one (a damaged slot)."""
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("access_token"), str):
            raise ValueError("not a stored token")
        if not isinstance(data.get("expires_at"), int | float | None):
            raise ValueError("a stored token with a damaged expiry")
        known = {k: data.get(k) for k in ("refresh_token", "expires_at", "token_type", "scope")}
        return cls(data["access_token"], **{k: v for k, v in known.items() if v is not None})

    def expires_within(self, seconds: float) -> bool:
        return self.expires_at is not None and self.expires_at - time.time() <= seconds


@dataclass(frozen=True)
class DeviceCode:
    """What the person needs to approve a device sign-in: where to go and the code to type."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float
    device_code: str = field(repr=False)

    def instructions(self) -> str:
        if self.verification_uri_complete:
            return f"Open {self.verification_uri_complete} and confirm the code {self.user_code}"
        return f"Open {self.verification_uri} and enter the code {self.user_code}"


async def device_flow(
    spec: OAuthSpec,
    slot: TokenSlot,
    *,
    show: Callable[[DeviceCode], None],
    client: httpx.AsyncClient | None = None,
    client_secret: str | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> Token:
    """Sign in by the device flow: ``show`` the code, poll until approved, store the token.

    ``sleep`` waits between polls; it is a parameter so a test can compress the provider's
    intervals while the protocol (pending, slow_down, denial, expiry) stays real.
    """
    assert spec.device_authorization_url is not None  # the spec's validator ensures it
    secret = _client_secret(spec, client_secret)
    async with _http(client) as http:
        form = _with_secret({"client_id": spec.client_id, "scope": " ".join(spec.scopes)}, secret)
        body = await _post(http, spec, str(spec.device_authorization_url), form)
        code = _device_code(spec, body)
        show(code)
        token = await _poll(http, spec, code, secret, sleep)
    slot.write(token.to_json())
    return token


async def redirect_flow(
    spec: OAuthSpec,
    slot: TokenSlot,
    *,
    open_url: Callable[[str], None],
    client: httpx.AsyncClient | None = None,
    client_secret: str | None = None,
    timeout: float = 300,
) -> Token:
    """Sign in by the browser: authorization code with PKCE (S256) and state, answered on a
    one-shot loopback server; ``open_url`` shows the person the URL (or opens a browser)."""
    assert spec.authorization_url is not None  # the spec's validator ensures it
    secret = _client_secret(spec, client_secret)
    verifier = secrets.token_urlsafe(64)
    state = secrets.token_urlsafe(24)
    async with _Loopback(spec.provider, state) as loopback:
        open_url(_authorization_request(spec, loopback.redirect_uri, state, verifier))
        code = await loopback.code(timeout)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": loopback.redirect_uri,
        "client_id": spec.client_id,
        "code_verifier": verifier,
    }
    form = _with_secret(form, secret)
    async with _http(client) as http:
        body = await _post(http, spec, str(spec.token_url), form)
    token = _token(spec, body, form)
    slot.write(token.to_json())
    return token


async def access_token(
    spec: OAuthSpec,
    slot: TokenSlot,
    *,
    leeway: float = 60,
    client: httpx.AsyncClient | None = None,
    client_secret: str | None = None,
    plugin: str | None = None,
) -> str:
    """The stored access token, refreshed first when it expires within ``leeway`` seconds.

    ``plugin`` names the plugin in the "sign in again" hint. Concurrent callers for one slot
    should be serialised by the caller: a provider that rotates refresh tokens accepts each
    refresh token once.
    """
    token = _stored(spec, slot, plugin)
    if not token.expires_within(leeway):
        return token.access_token
    if token.refresh_token is None:
        raise _sign_in_again(spec, plugin, "has expired and the provider gave no refresh token")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": token.refresh_token,
        "client_id": spec.client_id,
    }
    form = _with_secret(form, _client_secret(spec, client_secret))
    async with _http(client) as http:
        body = await _post(http, spec, str(spec.token_url), form)
    if "error" in body:
        raise _sign_in_again(spec, plugin, f"could not be refreshed ({_reason(body, form)})")
    fresh = _token(spec, body, form, previous=token)
    slot.write(fresh.to_json())
    return fresh.access_token


def _stored(spec: OAuthSpec, slot: TokenSlot, plugin: str | None) -> Token:
    text = slot.read()
    if text is None:
        raise _sign_in_again(spec, plugin, "is missing: nobody has signed in yet")
    try:
        return Token.from_json(text)
    except ValueError:
        raise _sign_in_again(spec, plugin, "is unreadable") from None


def _sign_in_again(spec: OAuthSpec, plugin: str | None, what: str) -> OAuthError:
    return OAuthError(
        f"the sign-in to {spec.provider} {what}",
        hint=f"sign in again: mark1 plugin configure {plugin or '<plugin>'}",
    )


def _client_secret(spec: OAuthSpec, given: str | None) -> str | None:
    if spec.client_secret_env is None or given is not None:
        return given
    found = os.environ.get(spec.client_secret_env)
    if not found:
        raise OAuthError(
            f"{spec.provider} needs a client secret and {spec.client_secret_env} is not set",
            hint=f"store {spec.client_secret_env} with `mark1 plugin configure` or export it",
        )
    return found


def _with_secret(form: dict[str, str], secret: str | None) -> dict[str, str]:
    """The form as sent: empty fields left out, the client secret (client_secret_post) added."""
    kept = {k: v for k, v in form.items() if v}
    return {**kept, "client_secret": secret} if secret else kept


@contextlib.asynccontextmanager
async def _http(client: httpx.AsyncClient | None) -> AsyncIterator[httpx.AsyncClient]:
    if client is not None:
        yield client
        return
    import httpx

    async with httpx.AsyncClient(timeout=TIMEOUT) as own:
        yield own


async def _post(
    http: httpx.AsyncClient, spec: OAuthSpec, url: str, form: dict[str, str]
) -> dict[str, Any]:
    """The provider's JSON answer to ``form``, OAuth errors included (the caller judges them)."""
    import httpx

    try:
        response = await http.post(url, data=form, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise RetryableError(
            f"{spec.provider} did not answer at {url}: {type(exc).__name__}",
            hint="check the connection and try again",
        ) from None
    if response.status_code >= 500:
        raise RetryableError(
            f"{spec.provider} failed at {url} (HTTP {response.status_code})", hint="try again later"
        )
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise OAuthError(
            f"{spec.provider} answered {url} with something other than a JSON object "
            f"(HTTP {response.status_code})",
            hint="check the URLs in the plugin's oauth manifest block",
        )
    return body


def _reason(body: dict[str, Any], form: dict[str, str]) -> str:
    """The provider's stated reason, short and with any secret we sent blanked out."""
    text = " ".join(str(body.get(k) or "") for k in ("error", "error_description")).strip()
    for name in _SECRET_FIELDS:
        if form.get(name):
            text = text.replace(form[name], "***")
    return text[:300] or "no reason given"


def _token(
    spec: OAuthSpec, body: dict[str, Any], form: dict[str, str], previous: Token | None = None
) -> Token:
    """The token in the token endpoint's answer (RFC 6749 §5.1), or the refusal as an error."""
    if "error" in body or not isinstance(body.get("access_token"), str):
        raise OAuthError(
            f"{spec.provider} refused the sign-in: {_reason(body, form)}",
            hint="check the plugin's oauth client_id and scopes, then sign in again",
        )
    kept_refresh = previous.refresh_token if previous else None
    kept_scope = previous.scope if previous else " ".join(spec.scopes) or None
    return Token(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token") or kept_refresh,
        expires_at=_expiry(body.get("expires_in")),
        token_type=str(body.get("token_type") or "Bearer"),
        scope=body.get("scope") or kept_scope,
    )


def _expiry(expires_in: object) -> float | None:
    """When a token given ``expires_in`` seconds to live expires (None: no expiry, or unreadable)."""
    try:
        return time.time() + float(expires_in)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _device_code(spec: OAuthSpec, body: dict[str, Any]) -> DeviceCode:
    try:
        return DeviceCode(
            user_code=str(body["user_code"]),
            verification_uri=str(body.get("verification_uri") or body["verification_url"]),
            verification_uri_complete=body.get("verification_uri_complete"),
            expires_in=float(body["expires_in"]),
            interval=float(body.get("interval") or DEFAULT_INTERVAL),
            device_code=str(body["device_code"]),
        )
    except (KeyError, TypeError, ValueError):
        raise OAuthError(
            f"{spec.provider} did not start a device sign-in: {_reason(body, {})}",
            hint="check the plugin's oauth client_id, scopes and device_authorization_url",
        ) from None


async def _poll(
    http: httpx.AsyncClient,
    spec: OAuthSpec,
    code: DeviceCode,
    secret: str | None,
    sleep: Callable[[float], Awaitable[object]],
) -> Token:
    """Poll the token endpoint as RFC 8628 §3.4-3.5 asks until the person decides."""
    form = {
        "grant_type": DEVICE_GRANT,
        "device_code": code.device_code,
        "client_id": spec.client_id,
    }
    form = _with_secret(form, secret)
    interval, deadline = code.interval, time.monotonic() + code.expires_in
    while True:
        await sleep(interval)
        body = await _post(http, spec, str(spec.token_url), form)
        error = body.get("error")
        if error == "slow_down":
            interval += SLOW_DOWN_STEP
        elif error == "access_denied":
            raise OAuthError(
                f"the sign-in to {spec.provider} was denied",
                hint="start the sign-in again and approve it in the browser",
            )
        elif error == "expired_token" or (
            error == "authorization_pending" and time.monotonic() > deadline
        ):
            raise OAuthError(
                f"the code for {spec.provider} expired before the sign-in was approved",
                hint="start the sign-in again and enter the new code sooner",
            )
        elif error != "authorization_pending":
            return _token(spec, body, form)


def _authorization_request(spec: OAuthSpec, redirect_uri: str, state: str, verifier: str) -> str:
    challenge = hashlib.sha256(verifier.encode("ascii")).digest()
    params = {
        "response_type": "code",
        "client_id": spec.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(spec.scopes),
        "state": state,
        "code_challenge": base64.urlsafe_b64encode(challenge).rstrip(b"=").decode("ascii"),
        "code_challenge_method": "S256",
    }
    parts = urlsplit(str(spec.authorization_url))
    query = "&".join(
        q for q in (parts.query, urlencode({k: v for k, v in params.items() if v})) if q
    )
    return urlunsplit(parts._replace(query=query))


class _Loopback:
    """A one-shot HTTP server on 127.0.0.1 that takes the browser's return from the provider.

    It answers any path but ``/callback`` with 404 (browsers also ask for an icon), checks the
    state of the first callback and shows the person a page saying they can close the window.
    """

    def __init__(self, provider: str, state: str) -> None:
        self.provider = provider
        self.state = state
        self.redirect_uri = ""
        self._answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> _Loopback:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.redirect_uri = f"http://127.0.0.1:{port}{CALLBACK_PATH}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def code(self, timeout: float) -> str:
        try:
            return await asyncio.wait_for(self._answer, timeout)
        except TimeoutError:
            raise OAuthError(
                f"the browser did not come back from {self.provider} within {timeout:g} s",
                hint="start the sign-in again and finish it in the browser",
            ) from None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            target = await _request_target(reader)
            if target is not None:
                await self._answer_browser(writer, urlsplit(target))
        except (ConnectionError, TimeoutError, ValueError):
            return  # a browser that went away or sent garbage; the flow keeps waiting
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _answer_browser(self, writer: asyncio.StreamWriter, url: SplitResult) -> None:
        if url.path != CALLBACK_PATH or self._answer.done():
            await _respond(writer, 404, "Nothing here. You can close this window.")
            return
        try:
            self._answer.set_result(self._judge(parse_qs(url.query)))
        except OAuthError as exc:
            self._answer.set_exception(exc)
            await _respond(writer, 400, f"Sign-in did not complete: {exc.message}.")
            return
        await _respond(writer, 200, f"Signed in to {self.provider}. You can close this window.")

    def _judge(self, params: dict[str, list[str]]) -> str:
        """The authorization code in the provider's answer, or why the answer is refused."""
        state = params.get("state", [""])[0]
        if not secrets.compare_digest(state.encode(), self.state.encode()):
            raise OAuthError(
                f"the answer from {self.provider} did not carry the state Mark-1 sent",
                hint="start the sign-in again; if it repeats, another program may be "
                "answering in the browser's place",
            )
        if "error" in params:
            reason = _reason({k: v[0] for k, v in params.items()}, {})
            raise OAuthError(
                f"{self.provider} refused the sign-in: {reason}",
                hint="start the sign-in again and approve it in the browser",
            )
        if not params.get("code"):
            raise OAuthError(
                f"{self.provider} came back without an authorization code",
                hint="start the sign-in again",
            )
        return params["code"][0]


async def _request_target(reader: asyncio.StreamReader) -> str | None:
    """The target of an HTTP GET read from ``reader`` (its headers read and dropped)."""
    request_line = await asyncio.wait_for(reader.readline(), TIMEOUT)
    for _ in range(100):
        if (await asyncio.wait_for(reader.readline(), TIMEOUT)).strip() == b"":
            break
    parts = request_line.decode("latin-1").split()
    return parts[1] if len(parts) == 3 and parts[0] == "GET" else None


async def _respond(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found"}
    page = (
        f"<!doctype html><meta charset=utf-8><title>Mark-1</title><p>{html.escape(text)}</p>"
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reasons[status]}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(page)}\r\n"
        "Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode("ascii") + page)
    await writer.drain()
