"""A scripted OpenAI-compatible chat completions server, for driving the agent in tests.

What is faked: the model, and only the model, at the protocol boundary. A real HTTP server on
127.0.0.1 speaks the OpenAI chat completions wire format (JSON responses and ``text/event-stream``
chunks, error bodies, ``retry-after`` headers), so the agent under test uses the real ``openai``
SDK, real ``httpx`` connections and its real retry and streaming code. Instead of thinking, the
server replays model turns a test scripted in advance, one per request, and records every request
body so the test can assert on what the agent sent (messages, tools, tool_choice, stream flag).

    with ScriptedModelServer() as server:
        server.script(Reply.tool_calls(("propose_plan", {"steps": []})), Reply.text("done"))
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test")
        ...
        assert server.requests[0]["tools"][0]["function"]["name"] == "propose_plan"

With no per-reply ``delay`` the server answers at once (one ``send`` per response, Nagle off,
HTTP/1.1 keep-alive), so benchmarks can use it to measure the agent's own overhead.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import pytest

MODEL = "scripted-model"
NO_REPLY_LEFT = "no scripted reply left"
_REASONS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}


@dataclass(frozen=True)
class Usage:
    """Token counts the reply reports; left out, they are estimated from text lengths."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class ToolCall:
    """One tool call of a reply; ``arguments`` is the raw JSON text, sent verbatim.

    Arguments are kept as text, not a dict, so tests can script malformed model output.
    ``id`` defaults to ``call_N`` numbered across the server's life, so ids never collide
    within one conversation.
    """

    name: str
    arguments: str
    id: str | None = None


@dataclass(frozen=True)
class Reply:
    """One scripted model turn: an assistant message, or an HTTP error the API would return.

    Build it with the constructors (``Reply.text``, ``Reply.tool_calls``, ``Reply.raw_tool_call``,
    ``Reply.status``) rather than by hand. ``delay`` (seconds) is waited before answering, for
    cancellation and timeout tests; ``chunk_delay`` is waited between streamed chunks, so a test
    can cancel mid-stream. Both default to zero: no sleep at all.
    """

    content: str | None = None
    tool_calls_: tuple[ToolCall, ...] = ()
    finish_reason: str | None = None
    usage: Usage | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    status_code: int = 200
    error_message: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def text(
        cls,
        content: str,
        *,
        usage: Usage | None = None,
        finish_reason: str | None = None,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
    ) -> Reply:
        """A plain assistant message."""
        return cls(
            content=content,
            usage=usage,
            finish_reason=finish_reason,
            delay=delay,
            chunk_delay=chunk_delay,
        )

    @classmethod
    def tool_calls(
        cls,
        *calls: tuple[str, dict[str, Any]] | ToolCall,
        content: str | None = None,
        usage: Usage | None = None,
        finish_reason: str | None = None,
        delay: float = 0.0,
        chunk_delay: float = 0.0,
    ) -> Reply:
        """An assistant message calling tools (several = parallel tool calls).

        Each call is ``(name, arguments_dict)`` (serialised as JSON) or a ``ToolCall``.
        """
        built = tuple(
            call if isinstance(call, ToolCall) else ToolCall(call[0], json.dumps(call[1]))
            for call in calls
        )
        return cls(
            content=content,
            tool_calls_=built,
            usage=usage,
            finish_reason=finish_reason,
            delay=delay,
            chunk_delay=chunk_delay,
        )

    @classmethod
    def raw_tool_call(
        cls,
        name: str,
        arguments: str,
        *,
        usage: Usage | None = None,
        finish_reason: str | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """A single tool call whose ``arguments`` text is passed through verbatim (even broken)."""
        return cls(
            tool_calls_=(ToolCall(name, arguments),),
            usage=usage,
            finish_reason=finish_reason,
            delay=delay,
        )

    @classmethod
    def status(
        cls,
        code: int,
        message: str | None = None,
        *,
        retry_after: str | None = None,
        retry_after_ms: str | None = None,
        should_retry: bool | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """An HTTP error with an OpenAI-style JSON error body.

        The SDK ignores ``retry-after: 0`` and backs off ~0.4-0.5 s itself; ``retry_after_ms``
        (the SDK's ``retry-after-ms`` header, read first) makes a retry test fast.
        ``should_retry`` sets ``x-should-retry``, which overrides the SDK's own decision.
        """
        headers: list[tuple[str, str]] = []
        if retry_after is not None:
            headers.append(("retry-after", retry_after))
        if retry_after_ms is not None:
            headers.append(("retry-after-ms", retry_after_ms))
        if should_retry is not None:
            headers.append(("x-should-retry", "true" if should_retry else "false"))
        return cls(
            status_code=code,
            error_message=message or f"scripted HTTP {code}",
            headers=tuple(headers),
            delay=delay,
        )


def _tokens(text: str) -> int:
    """A rough token count (about four characters a token), so usage looks plausible."""
    return max(1, (len(text) + 3) // 4) if text else 0


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _error_body(message: str, code: int) -> dict[str, Any]:
    kind, error_code = _REASONS.get(
        code, ("invalid_request_error" if code < 500 else "server_error", None)
    )
    return {"error": {"message": message, "type": kind, "param": None, "code": error_code}}


@dataclass
class _Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    events: list[bytes] = field(default_factory=list)  # a stream's SSE events
    chunk_delay: float = 0.0  # > 0: send events one by one (chunked), waiting between them


class ScriptedModelServer:
    """An OpenAI chat completions endpoint on 127.0.0.1 that replays scripted replies.

    Attributes: ``base_url`` (``http://127.0.0.1:PORT/v1``), ``port``, ``requests`` (every
    parsed request body to ``/v1/chat/completions``, in order), ``unscripted`` (the bodies that
    found the queue empty and got HTTP 500), ``connections`` (TCP connections accepted, to check
    keep-alive reuse), ``remaining`` (replies still queued). ``chunk_chars`` is the size of the
    streamed content and argument fragments.
    """

    def __init__(self, *replies: Reply, model: str = MODEL, chunk_chars: int = 8) -> None:
        self.model = model
        self.chunk_chars = chunk_chars
        self.requests: list[dict[str, Any]] = []
        self.unscripted: list[dict[str, Any]] = []
        self.connections = 0
        self._queue: deque[Reply] = deque(replies)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._call_ids = itertools.count(1)
        self._request_ids = itertools.count(1)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> ScriptedModelServer:
        """Bind a free port and serve in a background thread."""
        if self._httpd is not None:
            raise RuntimeError("server already started")
        self._stopping.clear()
        httpd = _Server(("127.0.0.1", 0), _Handler, self)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="scripted-openai-server",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open keep-alive connections and join every thread.

        Idle keep-alive connections would otherwise leave handler threads blocked on a read
        (and sockets open) after the test: pytest runs with warnings as errors.
        """
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()  # wakes replies waiting out a delay
        httpd.shutdown()
        thread.join()
        httpd.drop_connections()
        httpd.server_close()  # joins the handler threads
        self._httpd = self._thread = None

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # script

    def script(self, *replies: Reply) -> ScriptedModelServer:
        """Append replies to the queue, answered one per request in order."""
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # protocol

    def _next(self, body: dict[str, Any]) -> Reply | None:
        with self._lock:
            self.requests.append(body)
            if self._queue:
                return self._queue.popleft()
            self.unscripted.append(body)
            return None

    def _wait(self, seconds: float) -> bool:
        """Sleep (interruptibly); False when the server is stopping."""
        return seconds <= 0 or not self._stopping.wait(seconds)

    def _answer(self, body: dict[str, Any]) -> _Response:
        reply = self._next(body)
        if reply is None:
            text = f"{NO_REPLY_LEFT} for request {len(self.requests)} to the scripted model"
            return self._error(500, text, [("x-should-retry", "false")])
        if not self._wait(reply.delay):
            return self._error(503, "server stopping", [])
        if reply.status_code != 200:
            return self._error(
                reply.status_code, reply.error_message or "error", list(reply.headers)
            )
        model = str(body.get("model") or self.model)
        completion_id = f"chatcmpl-{next(self._ids)}"
        calls = [(call.id or f"call_{next(self._call_ids)}", call) for call in reply.tool_calls_]
        finish = reply.finish_reason or ("tool_calls" if calls else "stop")
        usage = self._usage(body, reply)
        if body.get("stream"):
            options = body.get("stream_options") or {}
            events = self._chunks(
                completion_id,
                model,
                reply,
                calls,
                finish,
                usage,
                bool(options.get("include_usage")),
            )
            headers = [("content-type", "text/event-stream; charset=utf-8")]
            return _Response(200, headers, events=events, chunk_delay=reply.chunk_delay)
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
        if calls:
            message["tool_calls"] = [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call_id, call in calls
            ]
        completion = {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            ],
            "usage": usage,
            "system_fingerprint": None,
        }
        return _Response(
            200, [("content-type", "application/json")], json.dumps(completion).encode()
        )

    def _usage(self, body: dict[str, Any], reply: Reply) -> dict[str, int]:
        if reply.usage is not None:
            prompt, completion = reply.usage.prompt_tokens, reply.usage.completion_tokens
        else:
            prompt = _tokens(json.dumps(body.get("messages", [])))
            completion = _tokens(
                (reply.content or "") + "".join(c.name + c.arguments for c in reply.tool_calls_)
            )
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _chunks(
        self,
        completion_id: str,
        model: str,
        reply: Reply,
        calls: list[tuple[str, ToolCall]],
        finish: str,
        usage: dict[str, int],
        include_usage: bool,
    ) -> list[bytes]:
        """The SSE events OpenAI sends: role, content pieces, tool-call pieces, finish, usage."""
        created = int(time.time())

        def chunk(
            choices: list[dict[str, Any]], chunk_usage: dict[str, int] | None = None
        ) -> bytes:
            data: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": choices,
            }
            if include_usage:
                data["usage"] = chunk_usage
            return b"data: " + json.dumps(data).encode() + b"\n\n"

        def delta(d: dict[str, Any], finish_reason: str | None = None) -> bytes:
            return chunk(
                [{"index": 0, "delta": d, "logprobs": None, "finish_reason": finish_reason}]
            )

        size = max(1, self.chunk_chars)
        first_content = "" if reply.content is not None or not calls else None
        events = [delta({"role": "assistant", "content": first_content, "refusal": None})]
        events += [delta({"content": piece}) for piece in _pieces(reply.content or "", size)]
        for index, (call_id, call) in enumerate(calls):
            head = {"name": call.name, "arguments": ""}
            events.append(
                delta(
                    {
                        "tool_calls": [
                            {"index": index, "id": call_id, "type": "function", "function": head}
                        ]
                    }
                )
            )
            events += [
                delta({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                for piece in _pieces(call.arguments, size)
            ]
        events.append(delta({}, finish))
        if include_usage:
            events.append(chunk([], usage))
        events.append(b"data: [DONE]\n\n")
        return events

    def _error(self, code: int, message: str, headers: list[tuple[str, str]]) -> _Response:
        body = json.dumps(_error_body(message, code)).encode()
        return _Response(code, [("content-type", "application/json"), *headers], body)

    def _models(self) -> _Response:
        listing = {
            "object": "list",
            "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "tests"}],
        }
        return _Response(200, [("content-type", "application/json")], json.dumps(listing).encode())


class _Server(ThreadingHTTPServer):
    """Tracks accepted connections so ``stop`` can close idle keep-alive ones."""

    daemon_threads = False  # so server_close() joins handler threads
    block_on_close = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        owner: ScriptedModelServer,
    ) -> None:
        self.owner = owner
        self.open_connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self.open_connections.add(request)
            self.owner.connections += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self._connections_lock:
            live = list(self.open_connections)
        for conn in live:
            with contextlib.suppress(OSError):  # the client closed it first
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet about clients hanging up (cancellation tests do that); loud about bugs."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the SDK reuses its connection
    disable_nagle_algorithm = True  # no 40 ms Nagle/delayed-ACK stalls on small writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send(self.server.owner._models())
        else:
            self._send(self.server.owner._error(404, f"no route {self.path}", []))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        owner = self.server.owner
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._send(owner._error(404, f"no route {self.path}", []))
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send(owner._error(400, "request body is not JSON", []))
            return
        self._send(owner._answer(body))

    def _send(self, response: _Response) -> None:
        head = [f"HTTP/1.1 {response.status} {self.responses.get(response.status, ('',))[0]}"]
        head += [f"{name}: {value}" for name, value in response.headers]
        head.append(f"x-request-id: req_{next(self.server.owner._request_ids)}")
        events = response.events
        if events and response.chunk_delay > 0:
            head.append("transfer-encoding: chunked")
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            for event in events:
                if not self.server.owner._wait(response.chunk_delay):
                    self.close_connection = True
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.write(b"0\r\n\r\n")
            return
        payload = b"".join(events) if events else response.body
        head.append(f"content-length: {len(payload)}")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)


@pytest.fixture
def scripted_model() -> Iterator[ScriptedModelServer]:
    """A started server with an empty script; stopped (threads joined, sockets closed) after.

    A request that found no scripted reply already failed in the agent with HTTP 500, but the
    agent may have swallowed that error; teardown fails the test too, so a missing script line
    is never silent. Tests that mean to hit an empty queue clear ``unscripted`` themselves.
    """
    with ScriptedModelServer() as server:
        yield server
    if server.unscripted:
        pytest.fail(
            f"{NO_REPLY_LEFT}: {len(server.unscripted)} request(s) to the scripted model had no"
            f" reply; first one's last message: {_last_message(server.unscripted[0])}"
        )


def _last_message(body: dict[str, object]) -> object:
    messages = body.get("messages")
    return messages[-1] if isinstance(messages, list) and messages else None
