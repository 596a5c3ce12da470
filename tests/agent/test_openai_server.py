"""The scripted model server speaks the protocol the real ``openai`` SDK expects.

Agent tests trust this server to stand in for the model; these tests check it against the real
SDK client (non-streaming, streaming, parallel tool calls, errors, retries, keep-alive), so a
failure in an agent test is the agent's and not a wire-format mismatch in the fake.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import openai
import pytest
from openai.types.chat import (
    ChatCompletionFunctionToolParam,
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
)

from tests.agent.openai_server import NO_REPLY_LEFT, Reply, ScriptedModelServer, ToolCall, Usage

USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": "plan my day"}]
TOOLS: list[ChatCompletionFunctionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "propose_plan",
            "description": "Propose a plan",
            "parameters": {
                "type": "object",
                "properties": {"steps": {"type": "array", "items": {"type": "string"}}},
                "required": ["steps"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "ask_user",
            "description": "Ask the user a question",
            "parameters": {
                "type": "object",
                "properties": {"question": {"type": "string"}},
                "required": ["question"],
            },
        },
    },
]
LONG_TEXT = "Here is a plan with several steps: first read the CSV, then count its rows. Done."


def function_calls(message: ChatCompletionMessage) -> list[ChatCompletionMessageFunctionToolCall]:
    """The message's tool calls, checked to be function calls (the SDK types allow custom ones)."""
    calls = message.tool_calls or []
    assert all(isinstance(call, ChatCompletionMessageFunctionToolCall) for call in calls)
    return [call for call in calls if isinstance(call, ChatCompletionMessageFunctionToolCall)]


@pytest.fixture
async def client(scripted_model: ScriptedModelServer) -> AsyncIterator[openai.AsyncOpenAI]:
    """The real SDK client, without retries so an unexpected error surfaces at once."""
    async with openai.AsyncOpenAI(
        base_url=scripted_model.base_url, api_key="test", max_retries=0
    ) as sdk:
        yield sdk


async def test_non_streaming_text(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI
) -> None:
    scripted_model.script(Reply.text("hello", usage=Usage(12, 3)))

    completion = await client.chat.completions.create(model="gpt-test", messages=USER)

    choice = completion.choices[0]
    assert choice.message.content == "hello"
    assert choice.message.role == "assistant"
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert completion.model == "gpt-test"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (12, 3)
    assert completion.usage.total_tokens == 15
    assert scripted_model.remaining == 0


async def test_default_usage_is_estimated_from_lengths(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI
) -> None:
    scripted_model.script(Reply.text(LONG_TEXT, finish_reason="length"))

    completion = await client.chat.completions.create(model="m", messages=USER)

    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens == pytest.approx(len(LONG_TEXT) / 4, abs=1)


async def test_streaming_text_deltas_concatenate_and_usage_arrives(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI
) -> None:
    scripted_model.script(Reply.text(LONG_TEXT, usage=Usage(20, 7)))

    stream = await client.chat.completions.create(
        model="m",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]

    with_choices = [c for c in chunks if c.choices]
    assert with_choices[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta.content for c in with_choices if c.choices[0].delta.content]
    assert len(deltas) > 3, "text should arrive in several deltas"
    assert "".join(deltas) == LONG_TEXT
    assert with_choices[-1].choices[0].finish_reason == "stop"
    usage = [c.usage for c in chunks if c.usage is not None]
    assert len(usage) == 1 and not chunks[-1].choices
    assert (usage[0].prompt_tokens, usage[0].completion_tokens) == (20, 7)
    assert scripted_model.requests[0]["stream"] is True


async def test_streaming_without_include_usage_sends_no_usage(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI
) -> None:
    scripted_model.script(Reply.text("short"))

    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    chunks = [chunk async for chunk in stream]

    assert all(c.usage is None and c.choices for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "short"


async def test_streamed_parallel_tool_calls_accumulate_in_the_sdk(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI
) -> None:
    plan = {"steps": ["read the csv file given", "count its rows"]}
    question = {"question": "Which file?"}
    scripted_model.script(Reply.tool_calls(("propose_plan", plan), ("ask_user", question)))
    strict: list[ChatCompletionFunctionToolParam] = [  # the stream helper wants strict tools
        {
            "type": "function",
            "function": {
                **t["function"],
                "strict": True,
                "parameters": {**t["function"]["parameters"], "additionalProperties": False},
            },
        }
        for t in TOOLS
    ]

    async with client.chat.completions.stream(
        model="m",
        messages=USER,
        tools=strict,
        stream_options={"include_usage": True},
    ) as stream:
        async for _event in stream:
            pass
        final = await stream.get_final_completion()

    message = final.choices[0].message
    assert final.choices[0].finish_reason == "tool_calls"
    first, second = function_calls(message)
    assert first.type == second.type == "function"
    assert (first.function.name, json.loads(first.function.arguments)) == ("propose_plan", plan)
    assert (second.function.name, json.loads(second.function.arguments)) == ("ask_user", question)
    assert first.id != second.id and first.id.startswith("call_")
    assert final.usage is not None and final.usage.completion_tokens > 0


async def test_streamed_tool_calls_follow_openai_delta_shape(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI
) -> None:
    """First delta per call carries index, id, type, name and empty arguments; then fragments."""
    plan = {"steps": ["a long first step", "a long second step"]}
    scripted_model.script(
        Reply.tool_calls(("propose_plan", plan), ("ask_user", {"question": "ok?"}), content="Hm.")
    )

    stream = await client.chat.completions.create(
        model="m",
        messages=USER,
        tools=TOOLS,
        stream=True,
    )
    calls: dict[int, dict[str, str]] = {}
    heads: list[int] = []
    content = ""
    async for chunk in stream:
        delta = chunk.choices[0].delta
        content += delta.content or ""
        for part in delta.tool_calls or []:
            if part.id is not None:
                assert part.type == "function" and part.function is not None
                assert part.function.arguments == ""
                heads.append(part.index)
                calls[part.index] = {"id": part.id, "name": part.function.name or "", "args": ""}
            else:
                assert part.function is not None and part.function.name is None
                calls[part.index]["args"] += part.function.arguments or ""

    assert content == "Hm."
    assert heads == [0, 1]
    assert [calls[i]["name"] for i in (0, 1)] == ["propose_plan", "ask_user"]
    assert json.loads(calls[0]["args"]) == plan
    assert json.loads(calls[1]["args"]) == {"question": "ok?"}


async def test_non_streaming_tool_calls(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI
) -> None:
    scripted_model.script(
        Reply.tool_calls(
            ("propose_plan", {"steps": ["x"]}), ToolCall("ask_user", '{"question": "?"}', id="c9")
        )
    )

    completion = await client.chat.completions.create(model="m", messages=USER, tools=TOOLS)

    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    assert [(c.id, c.function.name) for c in function_calls(message)] == [
        ("call_1", "propose_plan"),
        ("c9", "ask_user"),
    ]


@pytest.mark.parametrize("stream", [False, True])
async def test_raw_malformed_arguments_pass_through_verbatim(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI, stream: bool
) -> None:
    broken = '{"steps": [ broken json'
    scripted_model.script(Reply.raw_tool_call("propose_plan", broken))

    if stream:
        chunks = await client.chat.completions.create(
            model="m",
            messages=USER,
            tools=TOOLS,
            stream=True,
        )
        arguments = ""
        async for chunk in chunks:
            for part in chunk.choices[0].delta.tool_calls or []:
                arguments += part.function.arguments or "" if part.function else ""
    else:
        completion = await client.chat.completions.create(model="m", messages=USER, tools=TOOLS)
        arguments = function_calls(completion.choices[0].message)[0].function.arguments

    assert arguments == broken


async def test_429_with_retry_after_is_retried_by_the_sdk(
    scripted_model: ScriptedModelServer,
) -> None:
    scripted_model.script(Reply.status(429, retry_after="0"), Reply.text("after the limit"))

    async with openai.AsyncOpenAI(
        base_url=scripted_model.base_url, api_key="test", max_retries=1
    ) as sdk:
        completion = await sdk.chat.completions.create(model="m", messages=USER)

    assert completion.choices[0].message.content == "after the limit"
    assert len(scripted_model.requests) == 2
    assert scripted_model.requests[0] == scripted_model.requests[1]


async def test_error_reply_has_openai_error_body_and_headers(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI
) -> None:
    scripted_model.script(Reply.status(429, "slow down", retry_after="7"), Reply.status(500))

    with pytest.raises(openai.RateLimitError) as limited:
        await client.chat.completions.create(model="m", messages=USER)
    with pytest.raises(openai.InternalServerError) as failed:
        await client.chat.completions.create(model="m", messages=USER)

    assert limited.value.status_code == 429
    assert limited.value.response.headers["retry-after"] == "7"
    assert limited.value.body == {
        "message": "slow down",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert failed.value.status_code == 500


async def test_empty_queue_is_a_clear_api_error_and_not_retried(
    scripted_model: ScriptedModelServer,
) -> None:
    async with openai.AsyncOpenAI(
        base_url=scripted_model.base_url, api_key="test", max_retries=2
    ) as sdk:
        with pytest.raises(openai.APIStatusError) as error:
            await sdk.chat.completions.create(model="m", messages=USER)

    assert error.value.status_code == 500
    assert NO_REPLY_LEFT in error.value.message
    assert len(scripted_model.requests) == 1, "x-should-retry: false stops the SDK's retries"
    assert scripted_model.unscripted == scripted_model.requests
    scripted_model.unscripted.clear()  # expected here; the fixture fails tests that leave it


async def test_requests_are_recorded_with_tools_and_flags(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI
) -> None:
    scripted_model.script(Reply.text("one"), Reply.text("two"))

    await client.chat.completions.create(
        model="m",
        messages=USER,
        tools=TOOLS,
        tool_choice="required",
        parallel_tool_calls=True,
    )
    stream = await client.chat.completions.create(
        model="m",
        messages=[*USER, {"role": "assistant", "content": "one"}],
        stream=True,
    )
    async for _chunk in stream:
        pass

    first, second = scripted_model.requests
    assert first["messages"] == USER
    assert [t["function"]["name"] for t in first["tools"]] == ["propose_plan", "ask_user"]
    assert first["tool_choice"] == "required"
    assert first.get("stream") in (None, False)
    assert second["stream"] is True
    assert second["messages"][-1] == {"role": "assistant", "content": "one"}
    assert "tools" not in second


async def test_models_endpoint_lists_one_model(client: openai.AsyncOpenAI) -> None:
    models = [model async for model in client.models.list()]

    assert [m.id for m in models] == ["scripted-model"]


async def test_sdk_reuses_its_keep_alive_connection(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI
) -> None:
    """Benchmarks measure agent overhead through this server: no reconnect per request."""
    scripted_model.script(*[Reply.text(f"reply {i}") for i in range(5)])

    for _ in range(5):
        await client.chat.completions.create(model="m", messages=USER)

    assert scripted_model.connections == 1


async def test_delay_lets_a_client_cancel_and_the_server_still_stops_cleanly(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI
) -> None:
    scripted_model.script(Reply.text("too late", delay=30))

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(
            client.chat.completions.create(model="m", messages=USER),
            timeout=0.1,
        )

    assert len(scripted_model.requests) == 1  # stop() interrupts the delay at teardown


async def test_chunk_delay_lets_a_client_cancel_mid_stream(
    scripted_model: ScriptedModelServer, client: openai.AsyncOpenAI
) -> None:
    scripted_model.script(Reply.text(LONG_TEXT, chunk_delay=0.02), Reply.text("next"))

    stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
    received = ""
    async for chunk in stream:
        received += chunk.choices[0].delta.content or ""
        if len(received) >= 8:
            break
    await stream.close()

    assert LONG_TEXT.startswith(received) and received != LONG_TEXT
    completion = await client.chat.completions.create(model="m", messages=USER)
    assert completion.choices[0].message.content == "next"


def test_context_manager_serves_and_frees_the_port() -> None:
    with ScriptedModelServer(Reply.text("hi")) as server:
        url = server.base_url
        with httpx.Client() as http:
            models = http.get(f"{url}/models").json()
            answer = http.post(f"{url}/chat/completions", json={"model": "m", "messages": []})
    assert models["data"][0]["id"] == "scripted-model"
    assert answer.json()["choices"][0]["message"]["content"] == "hi"
    assert server.remaining == 0
    with pytest.raises(RuntimeError):
        _ = server.base_url
