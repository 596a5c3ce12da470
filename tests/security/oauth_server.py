"""A test OAuth 2 authorization server: a real HTTP server on 127.0.0.1 playing the provider.

What is faked: the provider (GitHub, Google, ...), and only at the protocol boundary, because no
real provider is reachable here. The code under test talks to it with real httpx requests, and
the test plays the person's browser with real requests too. It speaks:

- device authorization (RFC 8628): ``POST /device/code``; the verification page ``/device``
  where the "person" approves or denies a user code (the page's form, posted);
- authorization code with PKCE (RFC 6749 §4.1, RFC 7636): ``GET /authorize`` redirects the
  browser to the client's ``redirect_uri`` with a code and the state (or ``access_denied``);
- the token endpoint ``POST /token``: the device_code grant (authorization_pending, slow_down,
  access_denied, expired_token), the authorization_code grant (S256 verified, single use) and
  the refresh_token grant (rotating the refresh token unless told not to);
- a protected resource ``GET /api/user`` that accepts a live bearer token only.

Access tokens live ``expires_in`` seconds by the server's clock. Every request is recorded with
the OAuth error it was answered with, so tests can assert on the exchange.

    with AuthServer(expires_in=30) as server:
        spec = OAuthSpec(provider="test", client_id=server.client_id, token_url=server.token_url, ...)
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class Recorded:
    """One request the server received: query (GET) or form (POST) fields, and its answer."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    status: int
    error: str | None  # the OAuth error code answered, if any


@dataclass
class _Device:
    device_code: str
    user_code: str
    scope: str
    issued: float
    decision: str | None = None  # "approve" or "deny", once the person has chosen
    used: bool = False


@dataclass(frozen=True)
class _Code:
    redirect_uri: str
    challenge: str
    scope: str


@dataclass
class _Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None


def _json(status: int, body: dict[str, Any], **headers: str) -> _Answer:
    return _Answer(
        status,
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "Cache-Control": "no-store", **headers},
        body.get("error"),
    )


def _page(status: int, text: str) -> _Answer:
    return _Answer(status, f"<!doctype html><p>{text}</p>".encode(), {"Content-Type": "text/html"})


class AuthServer:
    """The provider; ``with AuthServer() as server`` serves on a free port until the block ends.

    Knobs a test may turn at any time: ``expires_in`` (lifetime of access tokens issued from now
    on), ``rotate_refresh``, ``slow_down_polls`` (1-based device-poll numbers answered with
    ``slow_down``, as a provider under load would), ``user_decision`` (what the person answers on
    the authorization page), ``echo_secrets`` (error descriptions repeat what the client sent, to
    check the client never shows them).
    """

    def __init__(
        self,
        *,
        client_id: str = "mark1-test-client",
        client_secret: str | None = None,
        expires_in: int = 3600,
        interval: int = 5,
        device_expires_in: int = 600,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in
        self.interval = interval
        self.device_expires_in = device_expires_in
        self.rotate_refresh = True
        self.slow_down_polls: set[int] = set()
        self.user_decision = "approve"
        self.echo_secrets = False
        self.requests: list[Recorded] = []
        self._devices: dict[str, _Device] = {}
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, float] = {}  # access token -> when it expires (monotonic)
        self._refresh: dict[str, str] = {}  # live refresh token -> scope
        self._polls = itertools.count(1)
        self._changed = threading.Condition()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,))

    def __enter__(self) -> AuthServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._thread.join()
        self._httpd.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def device_authorization_url(self) -> str:
        return f"{self.base_url}/device/code"

    @property
    def verification_url(self) -> str:
        return f"{self.base_url}/device"

    @property
    def authorization_url(self) -> str:
        return f"{self.base_url}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def resource_url(self) -> str:
        return f"{self.base_url}/api/user"

    def revoke_refresh_tokens(self) -> None:
        """Revoke every refresh token, as a person removing the app's access would."""
        with self._changed:
            self._refresh.clear()

    def wait_until(self, done: Callable[[list[Recorded]], bool], timeout: float = 10) -> bool:
        """Block until ``done(requests)`` holds (checked after each request), or time out."""
        with self._changed:
            return self._changed.wait_for(lambda: done(self.requests), timeout)

    def shown_codes(self) -> list[str]:
        """The user codes handed out and not decided yet: what a person reads on the screen
        of the device that is signing in."""
        with self._changed:
            return [d.user_code for d in self._devices.values() if d.decision is None]

    def answered(self, path: str) -> list[str | None]:
        """The OAuth errors (None: success) the server answered at ``path``, in order."""
        with self._changed:
            return [r.error for r in self.requests if r.path == path]

    def handle(
        self, method: str, path: str, params: dict[str, str], headers: dict[str, str]
    ) -> _Answer:
        with self._changed:
            routes = {
                ("POST", "/device/code"): self._device_authorization,
                ("GET", "/device"): self._device_page,
                ("POST", "/device"): self._verify_device,
                ("GET", "/authorize"): self._authorize,
                ("POST", "/token"): self._token,
                ("GET", "/api/user"): self._resource,
            }
            route = routes.get((method, path))
            answer = route(params, headers) if route else _page(404, "not found")
            self.requests.append(
                Recorded(method, path, params, headers, answer.status, answer.error)
            )
            self._changed.notify_all()
            return answer

    # endpoints (called with the lock held)

    def _client_ok(self, params: dict[str, str], headers: dict[str, str]) -> bool:
        """Client authentication: client_secret_post or HTTP Basic (RFC 6749 §2.3.1)."""
        client_id, secret = params.get("client_id"), params.get("client_secret")
        basic = headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        if client_id != self.client_id:
            return False
        return self.client_secret is None or secret == self.client_secret

    def _device_authorization(self, params: dict[str, str], headers: dict[str, str]) -> _Answer:
        if not self._client_ok(params, headers):
            return _json(401, {"error": "invalid_client"})
        user_code = "-".join(secrets.token_hex(2).upper() for _ in range(2))
        device = _Device(
            secrets.token_urlsafe(24), user_code, params.get("scope", ""), time.monotonic()
        )
        self._devices[device.device_code] = device
        return _json(
            200,
            {
                "device_code": device.device_code,
                "user_code": user_code,
                "verification_uri": self.verification_url,
                "verification_uri_complete": f"{self.verification_url}?user_code={user_code}",
                "expires_in": self.device_expires_in,
                "interval": self.interval,
            },
        )

    def _device_page(self, params: dict[str, str], headers: dict[str, str]) -> _Answer:
        code = html.escape(params.get("user_code", ""))
        return _page(
            200,
            f'<form method=post><input name=user_code value="{code}">'
            "<button name=decision value=approve>Approve</button>"
            "<button name=decision value=deny>Deny</button></form>",
        )

    def _verify_device(self, params: dict[str, str], headers: dict[str, str]) -> _Answer:
        found = [d for d in self._devices.values() if d.user_code == params.get("user_code")]
        if not found or params.get("decision") not in ("approve", "deny"):
            return _page(400, "unknown code")
        found[0].decision = params["decision"]
        return _page(200, f"Device {params['decision']}d. You can return to your device.")

    def _authorize(self, params: dict[str, str], headers: dict[str, str]) -> _Answer:
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id or not redirect_uri.startswith(
            "http://127.0.0.1:"
        ):
            return _page(400, "unknown client or redirect_uri")  # never redirect: RFC 6749 §4.1.2.1
        if params.get("response_type") != "code" or params.get("code_challenge_method") != "S256":
            answer = {"error": "invalid_request", "state": params.get("state", "")}
        elif self.user_decision != "approve":
            answer = {"error": "access_denied", "state": params.get("state", "")}
        else:
            code = secrets.token_urlsafe(16)
            self._codes[code] = _Code(
                redirect_uri, params.get("code_challenge", ""), params.get("scope", "")
            )
            answer = {"code": code, "state": params.get("state", "")}
        return _Answer(302, b"", {"Location": f"{redirect_uri}?{urlencode(answer)}"})

    def _token(self, params: dict[str, str], headers: dict[str, str]) -> _Answer:
        if not self._client_ok(params, headers):
            return _json(401, {"error": "invalid_client"}, **{"WWW-Authenticate": "Basic"})
        grants = {
            DEVICE_GRANT: self._device_grant,
            "authorization_code": self._code_grant,
            "refresh_token": self._refresh_grant,
        }
        grant = grants.get(params.get("grant_type", ""))
        return grant(params) if grant else _json(400, {"error": "unsupported_grant_type"})

    def _device_grant(self, params: dict[str, str]) -> _Answer:
        device = self._devices.get(params.get("device_code", ""))
        poll = next(self._polls)
        if device is None or device.used:
            return self._refuse(params, "device_code")
        if time.monotonic() - device.issued >= self.device_expires_in:
            return _json(400, {"error": "expired_token"})
        if device.decision == "deny":
            return _json(400, {"error": "access_denied"})
        if poll in self.slow_down_polls:
            return _json(400, {"error": "slow_down"})
        if device.decision is None:
            return _json(400, {"error": "authorization_pending"})
        device.used = True
        return self._issue(device.scope)

    def _code_grant(self, params: dict[str, str]) -> _Answer:
        code = self._codes.pop(params.get("code", ""), None)  # single use
        verifier = params.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if (
            code is None
            or params.get("redirect_uri") != code.redirect_uri
            or challenge.decode() != code.challenge
        ):
            return self._refuse(params, "code")
        return self._issue(code.scope)

    def _refresh_grant(self, params: dict[str, str]) -> _Answer:
        refresh_token = params.get("refresh_token", "")
        if refresh_token not in self._refresh:
            return self._refuse(params, "refresh_token")
        scope = self._refresh[refresh_token]
        if not self.rotate_refresh:
            return self._issue(scope, keep_refresh=True)
        del self._refresh[refresh_token]
        return self._issue(scope)

    def _refuse(self, params: dict[str, str], name: str) -> _Answer:
        said = f" {params.get(name)}" if self.echo_secrets else ""
        return _json(
            400, {"error": "invalid_grant", "error_description": f"{name}{said} is invalid"}
        )

    def _issue(self, scope: str, *, keep_refresh: bool = False) -> _Answer:
        access = f"at-{secrets.token_urlsafe(16)}"
        self._access[access] = time.monotonic() + self.expires_in
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "scope": scope,
        }
        if not keep_refresh:
            body["refresh_token"] = f"rt-{secrets.token_urlsafe(16)}"
            self._refresh[body["refresh_token"]] = scope
        return _json(200, body)

    def _resource(self, params: dict[str, str], headers: dict[str, str]) -> _Answer:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self._access.get(token, 0) > time.monotonic():
            return _json(200, {"login": "test-user"})
        challenge = 'Bearer error="invalid_token"'
        return _json(401, {"error": "invalid_token"}, **{"WWW-Authenticate": challenge})


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() joins the handler threads
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], owner: AuthServer):
        self.owner = owner
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0, one request per connection: nothing is left open when the test ends."""

    server: _HTTPServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self._answer("GET", url.path, url.query)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._answer("POST", urlsplit(self.path).path, self.rfile.read(length).decode())

    def _answer(self, method: str, path: str, encoded: str) -> None:
        params = {k: v[0] for k, v in parse_qs(encoded).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.server.owner.handle(method, path, params, headers)
        self.send_response(answer.status)
        for name, value in {**answer.headers, "Content-Length": str(len(answer.body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the recorded requests say what happened."""
