"""The model port: one OpenAI-compatible chat client (OpenAI, Ollama, vLLM, llama.cpp, LM
Studio, OpenRouter all speak the same API), streaming, native tool calls, token usage, and
errors translated into what the person must do.

Retries with backoff on 429, 5xx and timeouts are the SDK's own (``max_retries``; it honours
``retry-after``), so no second retry layer multiplies waits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assistant.agent.profiles import CONFIGURE_HINT, PROFILES, ModelConfig
from assistant.errors import ModelRefused, ModelUnreachable
from assistant.security import known_secrets

if TYPE_CHECKING:
    from openai import AsyncOpenAI

Message = dict[str, Any]
TextSink = Callable[[str], None]


@dataclass(frozen=True)
class ToolCall:
    """One tool call as the model wrote it; ``arguments`` is raw text (it may be malformed)."""

    id: str
    name: str
    arguments: str


@dataclass
class Usage:
    """Tokens one call, or a whole turn, took."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.calls += other.calls


@dataclass
class ModelReply:
    """What one model call produced."""

    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)

    def as_message(self) -> Message:
        """The reply as the assistant message the next call must carry."""
        # "" rather than null: llama.cpp's server refuses a null content
        message: Message = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in self.tool_calls
            ]
        return message


class ChatModel:
    """A client of one configured model. The SDK is imported on first use (0.8 s)."""

    def __init__(self, config: ModelConfig):
        self.config = config
        self._client: AsyncOpenAI | None = None

    @property
    def client(self) -> AsyncOpenAI:
        if self._client is None:
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(
                base_url=self.config.base_url,
                api_key=self.config.api_key,
                timeout=self.config.timeout,
                max_retries=self.config.max_retries,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[dict[str, Any]] | None = None,
        on_text: TextSink | None = None,
    ) -> ModelReply:
        """One chat completion; text is passed to ``on_text`` as it arrives when streaming."""
        import openai

        if self.config.missing_key:
            raise ModelRefused(
                f"{self.config.missing_key} is not set, so {self.config.describe()} cannot be used",
                hint=f"export {self.config.missing_key}=..., or {CONFIGURE_HINT}; until then "
                "the offline planner is used",
            )
        # the last line of defence: a secret handed to a plugin never leaves for the model
        sent = known_secrets.mask(list(messages))
        request: dict[str, Any] = {"model": self.config.model, "messages": sent}
        if tools:
            # explicit: llama.cpp's server ignores the tools when tool_choice is left out
            request["tools"] = list(tools)
            request["tool_choice"] = "auto"
        if self.config.temperature is not None:
            request["temperature"] = self.config.temperature
        try:
            if self.config.stream:
                return await self._streamed(request, on_text)
            response = await self.client.chat.completions.create(**request)
        except (
            openai.APIConnectionError,
            openai.RateLimitError,
            openai.InternalServerError,
        ) as exc:
            raise ModelUnreachable(
                f"{self.config.describe()} did not answer: {_reason(exc)}",
                hint=f"is {_server(self.config)} running? {CONFIGURE_HINT}",
            ) from exc
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise ModelRefused(
                f"{self.config.describe()} refused the API key: {_reason(exc)}",
                hint=f"check the key in {self.config.missing_key or 'OPENAI_API_KEY'}, or "
                f"{CONFIGURE_HINT}; until then the offline planner is used",
            ) from exc
        except openai.APIStatusError as exc:
            raise ModelRefused(
                f"{self.config.describe()} refused the request: {_reason(exc)}",
                hint=f"check the model name (`mark1 config set llm.model NAME`); {CONFIGURE_HINT}",
            ) from exc
        choice = response.choices[0]
        calls = [
            ToolCall(c.id, c.function.name, c.function.arguments or "")
            for c in choice.message.tool_calls or []
            if c.type == "function"
        ]
        content = choice.message.content or ""
        if on_text and content:
            on_text(content)
        return ModelReply(content, calls, _usage(response.usage))

    async def _streamed(self, request: dict[str, Any], on_text: TextSink | None) -> ModelReply:
        stream = await self.client.chat.completions.create(
            **request, stream=True, stream_options={"include_usage": True}
        )
        text: list[str] = []
        calls: dict[int, list[str]] = {}  # index -> [id, name, arguments]
        reply = ModelReply()
        async for chunk in stream:
            if chunk.usage is not None:
                reply.usage = _usage(chunk.usage)
            for choice in chunk.choices:
                delta = choice.delta
                if delta.content:
                    text.append(delta.content)
                    if on_text:
                        on_text(delta.content)
                for part in delta.tool_calls or []:
                    slot = calls.setdefault(part.index, ["", "", ""])
                    slot[0] = part.id or slot[0]
                    if part.function is not None:
                        slot[1] += part.function.name or ""
                        slot[2] += part.function.arguments or ""
        reply.content = "".join(text)
        reply.tool_calls = [
            ToolCall(slot[0] or f"call_{i}", slot[1], slot[2]) for i, slot in sorted(calls.items())
        ]
        reply.usage.calls = 1
        return reply


def _server(config: ModelConfig) -> str:
    """What to start: the profile's kind of server at its usual address, or that address."""
    profile = PROFILES[config.profile]
    return (
        profile.note if config.base_url == profile.base_url else f"the server at {config.base_url}"
    )


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage(calls=1)
    return Usage(usage.prompt_tokens or 0, usage.completion_tokens or 0, 1)


def _reason(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{text} (HTTP {status})" if status else text
