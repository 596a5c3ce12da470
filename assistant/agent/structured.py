"""Structured output through ``instructor``: when the model's plan does not parse or does not
fit the schema, the plan is asked for again as a forced tool call of the ``Plan`` model, with
the validation errors fed back, a bounded number of times."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from assistant.agent.model import ChatModel, Message, Usage
from assistant.errors import ModelOutputError

T = TypeVar("T", bound=BaseModel)


async def reask(
    model: ChatModel, messages: list[Message], response_model: type[T], retries: int
) -> tuple[T, Usage]:
    """``response_model`` from the model, re-asked up to ``retries`` times on invalid output."""
    import instructor
    from instructor.core.exceptions import InstructorRetryException

    client = instructor.from_openai(model.client, mode=instructor.Mode.TOOLS)
    usage = Usage()
    client.on("completion:response", lambda response: usage.add(_usage_of(response)))
    try:
        value = await client.chat.completions.create(
            model=model.config.model,
            messages=messages,  # type: ignore[arg-type]
            response_model=response_model,
            max_retries=retries,
        )
    except InstructorRetryException as exc:
        raise ModelOutputError(
            f"the model's {response_model.__name__} was still invalid after {retries} re-asks: "
            f"{exc}",
            hint="try again, rephrase the request, or use a stronger model "
            "(`mark1 config set llm.model NAME`)",
        ) from exc
    return value, usage


def _usage_of(response: object) -> Usage:
    tokens = getattr(response, "usage", None)
    if tokens is None:
        return Usage(calls=1)
    return Usage(tokens.prompt_tokens or 0, tokens.completion_tokens or 0, 1)
