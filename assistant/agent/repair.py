"""Repairing what small models get slightly wrong in JSON, before anyone is re-asked: code
fences around it, prose before or after it, trailing commas, Python's True/False/None, single
quotes. Anything still broken is an error the model gets back (the re-ask is bounded by the
loop)."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_PYTHON_WORDS = {"True": "true", "False": "false", "None": "null"}


def loads_repaired(text: str) -> Any:
    """Parse ``text`` as JSON, trying the usual repairs in turn; raises ValueError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as first:
        candidate = _FENCE.sub("", text.strip())
        candidate = _outermost(candidate) or candidate
        candidate = _TRAILING_COMMA.sub(r"\1", candidate)
        candidate = re.sub(r"\b(True|False|None)\b", lambda m: _PYTHON_WORDS[m[1]], candidate)
        for attempt in (candidate, _single_to_double_quotes(candidate)):
            try:
                return json.loads(attempt)
            except json.JSONDecodeError:
                continue
        raise ValueError(f"{first.msg} at line {first.lineno} column {first.colno}") from None


def _outermost(text: str) -> str | None:
    """The first balanced {...} in ``text`` (a model's JSON wrapped in prose)."""
    start = text.find("{")
    if start < 0:
        return None
    depth, quoted, escaped = 0, False, False
    for i, char in enumerate(text[start:], start):
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            continue
        if char == '"':
            quoted = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
    return None


def _single_to_double_quotes(text: str) -> str:
    return re.sub(r"'([^'\\]*)'", lambda m: json.dumps(m[1]), text) if '"' not in text else text
