"""Tools from plain typed functions: the name from the function, the description from its
docstring, the JSON Schema of the arguments from its signature, and argument checking by the
same pydantic model, so what the model is told and what is accepted cannot drift apart."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from assistant.agent.repair import loads_repaired


class ArgumentsError(ValueError):
    """The model's arguments for a tool do not parse or do not fit its schema; the message is
    written for the model, which gets it back to correct itself."""


@dataclass(frozen=True)
class FunctionTool:
    """A typed function offered to the model."""

    function: Callable[..., Any]
    arguments: type[BaseModel]

    @property
    def name(self) -> str:
        return self.function.__name__

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.function.__doc__ or "").split("\n\n")[0].replace("\n", " ")

    def spec(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry."""
        schema = self.arguments.model_json_schema()
        schema.pop("title", None)
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": schema},
        }

    def parse(self, raw: str) -> dict[str, Any]:
        """Checked keyword arguments from the model's raw argument text (repaired if need be)."""
        data = arguments_object(raw, self.name)
        try:
            checked = self.arguments.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ArgumentsError(f"the arguments of {self.name} do not fit: {problems}") from exc
        return {name: getattr(checked, name) for name in type(checked).model_fields}

    def call(self, raw: str) -> Any:
        """Parse ``raw`` and call the function (a coroutine for async functions)."""
        return self.function(**self.parse(raw))


def arguments_object(raw: str, tool: str) -> dict[str, Any]:
    """The JSON object of a tool call's raw arguments, repaired if need be."""
    try:
        data = loads_repaired(raw) if raw.strip() else {}
    except ValueError as exc:
        raise ArgumentsError(f"the arguments of {tool} are not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ArgumentsError(f"the arguments of {tool} must be a JSON object")
    return data


def function_tool(function: Callable[..., Any]) -> FunctionTool:
    """Describe ``function`` (a plain or bound function with annotated parameters) as a tool."""
    fields: dict[str, Any] = {}
    for name, parameter in inspect.signature(function, eval_str=True).parameters.items():
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[name] = (parameter.annotation, default)
    model = create_model(
        f"{function.__name__}_arguments",
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )
    return FunctionTool(function, model)


def dumps_result(value: Any) -> str:
    """A tool's result as the text the model reads."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return json.dumps(value, default=str, ensure_ascii=False)
