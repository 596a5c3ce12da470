"""The workflow expression language: ``${...}`` references, ``if:``/``until:`` conditions, filters.

Workflows are written by people and by the agent, so their expressions must never run code:
this is a small language read by a hand-written parser (no ``eval``, no attribute access, only
mapping keys and list indexes), bounded in length and nesting so that no input can exhaust the
stack, and compiled once into closures so that resolving a step's inputs costs microseconds.
Every error carries a 1-based column in the text and a hint; docs/expressions.md is the manual.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import operator
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

MAX_LENGTH = 4096
MAX_DEPTH = 50

Scope = Mapping[str, Any]
Eval = Callable[[Scope], Any]
Apply = Callable[[Any, Scope], Any]


class ExpressionError(ValueError):
    """An expression cannot be read or evaluated: what happened, where (column) and the fix.

    ``path`` says where the failing string sits in a value given to render_value or
    template_references (``("files", 2)``); it is empty for a single string.
    """

    def __init__(self, message: str, column: int, hint: str) -> None:
        super().__init__(f"column {column}: {message}")
        self.message = message
        self.column = column
        self.hint = hint
        self.path: tuple[Any, ...] = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.column, self.hint), {"path": self.path})


class EvaluationError(ExpressionError):
    """A well-formed expression met data it cannot use: a missing key, a value of the wrong type."""


@dataclass(frozen=True)
class Reference:
    """A path an expression reads, so the validator can check that it names something upstream."""

    parts: tuple[str | int, ...]
    column: int

    def __str__(self) -> str:
        return _dotted(self.parts)


_MISSING: Any = object()


class _Fail(Exception):
    """Raised by the built-in functions; the caller adds the column."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class Expression:
    """A parsed expression: parse once, evaluate against many scopes."""

    __slots__ = ("_column", "_references", "_run", "source")

    def __init__(self, source: str, run: Eval, references: list[Reference], column: int) -> None:
        self.source = source
        self._run = run
        self._references = tuple(references)
        self._column = column

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        """The expression's value with its names looked up in ``scope`` (roots: steps, env...)."""
        return self._guarded(self._run, scope)

    def references(self) -> list[Reference]:
        """Every path the expression reads, in the order written, so it can be validated early."""
        return list(self._references)

    def _text(self, scope: Scope) -> str:
        return self._guarded(lambda s: _to_text(self._run(s)), scope)

    def _guarded(self, run: Eval, scope: Scope) -> Any:
        # Data comes from plugins and may hold anything (huge integers, cycles, odd objects):
        # whatever it makes Python raise is reported like every other evaluation error.
        try:
            return run(scope)
        except ExpressionError:
            raise
        except _Fail as failure:
            raise EvaluationError(failure.message, self._column, failure.hint) from None
        except RecursionError:
            raise EvaluationError(
                f"the data used by {self.source!r} is nested too deeply to evaluate",
                self._column,
                "flatten the data the step produces, or pick a smaller part of it with a longer path",
            ) from None
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
            raise EvaluationError(
                f"{self.source!r} failed on this data: {type(exc).__name__}: {exc}",
                self._column,
                "check the types of the values it reads, e.g. with json(...) in a log message",
            ) from None


class Template:
    """A YAML string that may hold ``${...}`` parts; literal text is kept as written."""

    __slots__ = ("_parts", "_references", "source")

    def __init__(self, source: str, parts: list[str | Expression]) -> None:
        self.source = source
        self._parts = tuple(parts)
        self._references = tuple(
            r for p in parts if isinstance(p, Expression) for r in p._references
        )

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    @property
    def is_literal(self) -> bool:
        """True when there is nothing to resolve, so the value can be used as it is."""
        return all(isinstance(part, str) for part in self._parts)

    def render(self, scope: Mapping[str, Any]) -> Any:
        """A lone ``${expr}`` keeps its value's type (lists stay lists); mixed text is a string."""
        parts = self._parts
        if len(parts) == 1:
            only = parts[0]
            return only if isinstance(only, str) else only.evaluate(scope)
        return "".join(part if isinstance(part, str) else part._text(scope) for part in parts)

    def references(self) -> list[Reference]:
        """Every path the template's expressions read, in order."""
        return list(self._references)


# --- Reading text -------------------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # "name", "number", "string", "op" or "end"
    value: Any
    start: int
    end: int


_NAME_START = frozenset(string.ascii_letters + "_")
_NAME_CHARS = _NAME_START | frozenset(string.digits)
_DIGITS = frozenset(string.digits)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*\Z")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}
_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "|", "(", ")", "[", "]", ",", ".")
_NO_ARITHMETIC = (
    "there is no arithmetic: '-' only joins words in names (data-extraction) "
    "or starts a negative number (-1)"
)
_MISTAKES = {
    "=": ("'=' alone is not an operator", "compare with '=='"),
    "&": ("'&' alone is not an operator", "write 'and' (or '&&')"),
    "-": ("unexpected '-'", _NO_ARITHMETIC),
    "+": ("unexpected '+'", "there is no arithmetic; compute values in a step"),
    "*": ("unexpected '*'", "there is no arithmetic; compute values in a step"),
    "/": ("unexpected '/'", "there is no arithmetic; compute values in a step"),
    "%": ("unexpected '%'", "there is no arithmetic; compute values in a step"),
    "{": (
        "unexpected '{'",
        "references are written with single braces, ${steps.NAME.outputs.KEY}; "
        "there are no object literals",
    ),
    "}": ("unexpected '}'", "remove it, or open the reference with '${'"),
    "$": ("unexpected '$'", "write paths bare here, without '${ }': steps.NAME.outputs.KEY"),
}
_KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false", "null", "True", "False", "None"})
_CONSTANTS: dict[str, Any] = {
    "true": True,
    "True": True,
    "false": False,
    "False": False,
    "null": None,
    "None": None,
}
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})


def _tokenize(text: str, pos: int, mode: str) -> tuple[list[_Token], int]:
    """Tokens from ``pos``; in "template" mode up to the first ``}`` (returns the offset after it).

    "condition" mode also knows ``${`` and ``}``, which group like parentheses there.
    """
    tokens: list[_Token] = []
    size = len(text)
    first = pos
    while True:
        while pos < size and text[pos].isspace():
            pos += 1
        if pos - first > MAX_LENGTH:
            raise ExpressionError(
                f"the expression is longer than {MAX_LENGTH} characters",
                pos + 1,
                "split the work across steps or shorten the expression",
            )
        if pos >= size:
            if mode == "template":
                raise _unclosed(first - 2)
            tokens.append(_Token("end", None, pos, pos))
            return tokens, pos
        char = text[pos]
        if char in _NAME_START:
            end = pos + 1
            while end < size and (
                text[end] in _NAME_CHARS
                or (text[end] == "-" and end + 1 < size and text[end + 1] in _NAME_CHARS)
            ):
                end += 1
            tokens.append(_Token("name", text[pos:end], pos, end))
        elif char in _DIGITS or (char == "-" and pos + 1 < size and text[pos + 1] in _DIGITS):
            number, end = _read_number(text, pos)
            tokens.append(_Token("number", number, pos, end))
        elif char in "'\"":
            value, end = _read_string(text, pos)
            tokens.append(_Token("string", value, pos, end))
        elif mode == "template" and char == "}":
            tokens.append(_Token("end", "}", pos, pos + 1))
            return tokens, pos + 1
        elif mode == "template" and text.startswith("${", pos):
            raise ExpressionError(
                "'${' cannot appear inside '${ }'",
                pos + 1,
                "write paths bare inside the braces: ${steps.a.outputs.x == steps.b.outputs.y}",
            )
        elif mode == "condition" and (char == "}" or text.startswith("${", pos)):
            end = pos + (1 if char == "}" else 2)
            tokens.append(_Token("op", text[pos:end], pos, end))
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, pos)), None)
            if op is None:
                message, hint = _MISTAKES.get(
                    char,
                    (f"unexpected character {char!r}", "remove it; see docs/expressions.md"),
                )
                raise ExpressionError(message, pos + 1, hint)
            end = pos + len(op)
            tokens.append(_Token("op", op, pos, end))
        pos = end


def _unclosed(dollar: int) -> ExpressionError:
    return ExpressionError(
        "this '${' is never closed",
        dollar + 1,
        "end the reference with '}', or write '$${' for a literal '${'",
    )


def _read_number(text: str, pos: int) -> tuple[int | float, int]:
    size = len(text)
    end = pos + 1
    while end < size and text[end] in _DIGITS:
        end += 1
    is_float = False
    if end + 1 < size and text[end] == "." and text[end + 1] in _DIGITS:
        is_float = True
        end += 2
        while end < size and text[end] in _DIGITS:
            end += 1
    if end < size and text[end] in "eE":
        exponent = end + 1
        if exponent < size and text[exponent] in "+-":
            exponent += 1
        if exponent < size and text[exponent] in _DIGITS:
            is_float = True
            end = exponent
            while end < size and text[end] in _DIGITS:
                end += 1
    if end < size and text[end] in _NAME_START:
        word = text[pos:end]
        while end < size and text[end] in _NAME_CHARS:
            end += 1
        raise ExpressionError(
            f"{text[pos:end]!r} is neither a number nor a name",
            pos + 1,
            f'names cannot start with a digit; write the key as ["{text[pos:end]}"] '
            f"or separate the number {word} from what follows",
        )
    literal = text[pos:end]
    if not is_float:
        return int(literal), end
    value = float(literal)
    if not math.isfinite(value):
        raise ExpressionError(
            f"the number {literal} is too large", pos + 1, "use a number below 1e308"
        )
    return value, end


def _read_string(text: str, pos: int) -> tuple[str, int]:
    quote = text[pos]
    size = len(text)
    chunks: list[str] = []
    index = chunk = pos + 1
    while index < size:
        char = text[index]
        if char == quote:
            chunks.append(text[chunk:index])
            return "".join(chunks), index + 1
        if char == "\\" and index + 1 < size:
            escaped = _ESCAPES.get(text[index + 1])
            if escaped is None:
                raise ExpressionError(
                    f"unknown escape '\\{text[index + 1]}' in a string",
                    index + 1,
                    "the escapes are \\n \\t \\\\ \\' and \\\"; write \\\\ for a backslash",
                )
            chunks.append(text[chunk:index])
            chunks.append(escaped)
            index += 2
            chunk = index
            continue
        index += 1
    raise ExpressionError(
        "this string is never closed",
        pos + 1,
        f"end it with {quote}; inside it write \\{quote} for a {quote} character",
    )


# --- Building evaluators ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    run: Eval
    start: int
    end: int
    find: Eval | None = None  # paths only: like run, but _MISSING instead of an error


@dataclass(frozen=True, slots=True)
class _Function:
    impl: Callable[..., Any] | None  # None for default and exists, which look at missing paths
    min_args: int
    max_args: int | None
    usage: str


class _Parser:
    def __init__(self, text: str, tokens: list[_Token], mode: str) -> None:
        self.text = text
        self.tokens = tokens
        self.mode = mode
        self.index = 0
        self.depth = 0
        self.references: list[Reference] = []

    @property
    def tok(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def next_is(self, kind: str, value: str) -> bool:
        token = self.tokens[min(self.index + 1, len(self.tokens) - 1)]
        return token.kind == kind and token.value == value

    def at_op(self, value: str) -> bool:
        token = self.tokens[self.index]
        return token.kind == "op" and token.value == value

    def at_word(self, value: str) -> bool:
        token = self.tokens[self.index]
        return token.kind == "name" and token.value == value

    def expression_object(self) -> Expression:
        first = self.tok
        if first.kind == "end":
            raise ExpressionError(
                "the expression is empty",
                first.start + 1,
                "write a path such as steps.NAME.outputs.KEY, or a condition such as x == 'y'"
                + ("; write $${ for a literal ${" if self.mode == "template" else ""),
            )
        node = self.expression()
        if self.tok.kind != "end":
            raise ExpressionError(
                f"unexpected {self.describe(self.tok)} after a complete expression",
                self.tok.start + 1,
                self.trailing_hint(),
            )
        source = self.text[first.start : self.tok.start].rstrip()
        return Expression(source, node.run, self.references, first.start + 1)

    def trailing_hint(self) -> str:
        token = self.tok
        if self.mode == "condition" and "${" in self.text:
            return (
                "a condition is one expression: outside '${...}' only operators may follow, "
                "e.g. ${steps.check.outputs.status} == 'down'"
            )
        if token.kind == "name" and token.value == "is":
            return "compare with == (or != for 'is not')"
        if token.kind == "op" and token.value == "(":
            return "there are no methods: call functions as length(x) or x | length"
        if token.kind == "op" and token.value in (")", "]"):
            return f"remove the extra '{token.value}'"
        if token.kind == "op" and token.value == "}":
            return "remove the '}' or open the reference with '${'"
        return (
            "join conditions with and/or, compare with == or in, filter with |, "
            "and quote text: 'two words'"
        )

    def describe(self, token: _Token) -> str:
        if token.kind == "end":
            return "'}'" if token.value == "}" else "the end of the text"
        written = self.text[token.start : token.end]
        return repr(written if len(written) <= 30 else written[:27] + "...")

    def error_here(self, message: str, hint: str) -> ExpressionError:
        return ExpressionError(message, self.tok.start + 1, hint)

    def opened(self, bracket: _Token) -> None:
        """Counts brackets so that deep nesting is an error, never a RecursionError."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(
                f"brackets nest deeper than {MAX_DEPTH} levels",
                bracket.start + 1,
                "split the expression into simpler conditions or steps",
            )

    def expect(self, value: str, opener: _Token) -> _Token:
        """Consumes the bracket that closes ``opener``."""
        self.depth -= 1
        if not self.at_op(value):
            raise self.error_here(
                f"expected '{value}' to close the '{opener.value}' at column {opener.start + 1}, "
                f"found {self.describe(self.tok)}",
                f"add '{value}', or check the brackets and quotes before this point",
            )
        return self.advance()

    # Grammar, loosest first: or, and, not, comparison, pipe, postfix (.key [i]), primary.

    def expression(self) -> _Node:
        return self.logical("or", "||", self.conjunction, True)

    def conjunction(self) -> _Node:
        return self.logical("and", "&&", self.negation, False)

    def logical(self, word: str, symbol: str, operand: Callable[[], _Node], stop: bool) -> _Node:
        operands = [operand()]
        while self.at_word(word) or self.at_op(symbol):
            self.advance()
            operands.append(operand())
        if len(operands) == 1:
            return operands[0]
        runs = tuple(node.run for node in operands)

        def run(scope: Scope) -> bool:
            for each in runs:
                if truthy(each(scope)) is stop:
                    return stop
            return not stop

        return _Node(run, operands[0].start, operands[-1].end)

    def negation(self) -> _Node:
        start = self.tok.start
        count = 0
        while self.at_word("not") or self.at_op("!"):
            self.advance()
            count += 1
        node = self.comparison()
        if not count:
            return node
        inner = node.run
        if count % 2:
            return _Node(lambda scope: not truthy(inner(scope)), start, node.end)
        return _Node(lambda scope: truthy(inner(scope)), start, node.end)

    def comparison_operator(self) -> str | None:
        token = self.tok
        if token.kind == "op" and token.value in _COMPARISONS:
            return str(token.value)
        if token.kind == "name" and token.value == "in":
            return "in"
        if token.kind == "name" and token.value == "not" and self.next_is("name", "in"):
            return "not in"
        return None

    def comparison(self) -> _Node:
        left = self.pipe()
        op = self.comparison_operator()
        if op is None:
            return left
        column = self.tok.start + 1
        self.advance()
        if op == "not in":
            self.advance()
        right = self.pipe()
        if self.comparison_operator() is not None:
            raise self.error_here(
                "comparisons cannot be chained",
                "join them with and: a < b and b < c",
            )
        return _Node(_compare(op, left.run, right.run, column), left.start, right.end)

    def pipe(self) -> _Node:
        node = self.postfix()
        if not self.at_op("|"):
            return node
        stages: list[Apply] = []
        get = node.run
        while self.at_op("|"):
            self.advance()
            name = self.tok
            if name.kind != "name":
                raise self.error_here(
                    f"expected a function name after '|', found {self.describe(name)}",
                    "for example x | length, x | join(', '), x | default('none')",
                )
            self.advance()
            args = self.items(self.advance(), ")") if self.at_op("(") else []
            function = self.function(name, len(args) + 1)
            if not stages:
                get = self.first_argument(function, name, node)
            elif function.impl is None and name.value == "exists":
                raise ExpressionError(
                    "exists must come first after a path: path | exists",
                    name.start + 1,
                    "apply it to the path itself, e.g. steps.NAME.outputs.KEY | exists",
                )
            stages.append(self.apply(function, name, args))
        chain = tuple(stages)

        def run(scope: Scope) -> Any:
            value = get(scope)
            for stage in chain:
                value = stage(value, scope)
            return value

        return _Node(run, node.start, self.tokens[self.index - 1].end)

    def postfix(self) -> _Node:
        token = self.tok
        if token.kind == "name" and token.value not in _KEYWORDS and not self.next_is("op", "("):
            self.advance()
            slot = len(self.references)
            self.references.append(Reference((token.value,), token.start + 1))
            keys: list[tuple[Any, int]] = [(token.value, token.start + 1)]
            self.keys(keys, slot)
            return self.path(None, keys, token.start)
        if token.kind in ("number", "string") or (
            token.kind == "name" and token.value in _CONSTANTS
        ):
            return self.literal()
        node = self.primary()
        if not (self.at_op(".") or self.at_op("[")):
            return node
        keys = []
        self.keys(keys, None)
        return self.path(node, keys, node.start)

    def keys(self, keys: list[tuple[Any, int]], slot: int | None) -> None:
        """Reads ``.key`` and ``[index]`` parts; a rooted path's reference ends at the first
        index that is computed, which is itself read (and referenced) next."""
        while True:
            if self.at_op("."):
                self.advance()
                token = self.tok
                if token.kind == "number":
                    raise self.error_here(
                        "a list index cannot follow '.'",
                        f"write the index in brackets: [{self.text[token.start : token.end]}]",
                    )
                if token.kind != "name":
                    raise self.error_here(
                        f"expected a key name after '.', found {self.describe(token)}",
                        'write keys as .name, or ["any text"] for keys with other characters',
                    )
                keys.append((token.value, token.start + 1))
                self.advance()
            elif self.at_op("["):
                opener = self.advance()
                self.opened(opener)
                token = self.tok
                if token.kind in ("number", "string") and self.next_is("op", "]"):
                    if isinstance(token.value, float):
                        raise self.error_here(
                            f"a list index must be a whole number, not {token.value}",
                            "use an integer such as [0] or [-1]",
                        )
                    keys.append((token.value, token.start + 1))
                    self.advance()
                else:
                    if slot is not None:
                        self.freeze(keys, slot)
                        slot = None
                    keys.append((self.expression(), token.start + 1))
                self.expect("]", opener)
            else:
                break
        if slot is not None:
            self.freeze(keys, slot)

    def freeze(self, keys: list[tuple[Any, int]], slot: int) -> None:
        root = self.references[slot]
        self.references[slot] = Reference(tuple(key for key, _ in keys), root.column)

    def path(self, base: _Node | None, keys: list[tuple[Any, int]], start: int) -> _Node:
        end = self.tokens[self.index - 1].end
        prefix = "" if base is None else self.text[base.start : base.end]
        return _path(base, tuple(keys), prefix, self.text[start:end], start, end)

    def literal(self) -> _Node:
        token = self.advance()
        value = _CONSTANTS[token.value] if token.kind == "name" else token.value
        if self.mode == "condition" and isinstance(value, str) and "${" in value:
            raise ExpressionError(
                "'${' inside a quoted string is plain text, not a reference",
                token.start + 1,
                "remove the quotes around the reference: ${steps.check.outputs.status} == 'down'",
            )
        return _Node(lambda scope: value, token.start, token.end)

    def primary(self) -> _Node:
        token = self.tok
        if token.kind == "op" and token.value in ("(", "${"):
            self.opened(self.advance())
            inner = self.expression()
            close = self.expect(")" if token.value == "(" else "}", token)
            return _Node(inner.run, token.start, close.end, inner.find)
        if token.kind == "op" and token.value == "[":
            self.advance()
            runs = tuple(node.run for node in self.items(token, "]"))
            return _Node(
                lambda scope: [each(scope) for each in runs],
                token.start,
                self.tokens[self.index - 1].end,
            )
        if token.kind == "name" and token.value not in _KEYWORDS:
            self.advance()
            args = self.items(self.advance(), ")")
            function = self.function(token, len(args))
            get = self.first_argument(function, token, args[0])
            apply = self.apply(function, token, args[1:])
            return _Node(
                lambda scope: apply(get(scope), scope), token.start, self.tokens[self.index - 1].end
            )
        if token.kind == "name" and token.value == "not":
            hint = "put a negation inside parentheses here: a == (not b)"
        elif token.kind == "name":
            hint = f"put a value before '{token.value}'"
        else:
            hint = _VALUE_HINT
        raise self.error_here(f"expected a value, found {self.describe(token)}", hint)

    def items(self, opener: _Token, close: str) -> list[_Node]:
        self.opened(opener)
        nodes: list[_Node] = []
        while not self.at_op(close):
            nodes.append(self.expression())
            if self.at_op(","):
                self.advance()
            elif not self.at_op(close):
                raise self.error_here(
                    f"expected ',' or '{close}', found {self.describe(self.tok)}",
                    f"separate items with ',' and close the '{opener.value}' at column "
                    f"{opener.start + 1} with '{close}'",
                )
        self.depth -= 1
        self.advance()
        return nodes

    def function(self, name: _Token, count: int) -> _Function:
        function = _FUNCTIONS.get(name.value)
        if function is None:
            close = difflib.get_close_matches(name.value, _FUNCTIONS, n=1)
            known = "the functions are " + ", ".join(_FUNCTIONS)
            raise ExpressionError(
                f"unknown function {name.value!r}",
                name.start + 1,
                f"did you mean {close[0]!r}? {known}" if close else known,
            )
        most = function.max_args
        if count < function.min_args or (most is not None and count > most):
            raise ExpressionError(
                f"{name.value} takes {_arity(function)}, got {count}",
                name.start + 1,
                f"write {function.usage} (with |, the value before it is the first argument)",
            )
        return function

    def first_argument(self, function: _Function, name: _Token, node: _Node) -> Eval:
        if function.impl is not None:
            return node.run
        if node.find is not None:
            return node.find
        if name.value == "exists":
            raise ExpressionError(
                "exists needs a path, not a computed value",
                node.start + 1,
                "write exists(steps.NAME.outputs.KEY) or steps.NAME.outputs.KEY | exists",
            )
        return node.run

    def apply(self, function: _Function, name: _Token, args: list[_Node]) -> Apply:
        column = name.start + 1
        if function.impl is None:
            if name.value == "exists":
                return lambda value, scope: value is not _MISSING
            fallback = args[0].run
            return lambda value, scope: (
                fallback(scope) if value is None or value is _MISSING else value
            )
        impl = function.impl
        label = str(name.value)
        runs = tuple(node.run for node in args)

        def call(value: Any, scope: Scope) -> Any:
            try:
                return impl(value, *[each(scope) for each in runs])
            except _Fail as failure:
                raise EvaluationError(f"{label}: {failure.message}", column, failure.hint) from None

        return call


_VALUE_HINT = (
    "values are paths (steps.NAME.outputs.KEY), 'text', numbers, true/false/null, "
    "[lists] and function calls such as length(x)"
)


def _arity(function: _Function) -> str:
    low, high = function.min_args, function.max_args
    plural = "" if low == 1 and high == 1 else "s"
    if high is None:
        return f"{low} or more arguments"
    return f"{low} argument{plural}" if low == high else f"{low} to {high} arguments"


# --- Paths --------------------------------------------------------------------------------------


def _lookup(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        return value.get(key, _MISSING)
    if isinstance(value, list | tuple) and type(key) is int and -len(value) <= key < len(value):
        return value[key]
    return _MISSING


def _index(value: Any, column: int) -> str | int:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise EvaluationError(
        f"an index must be a whole number or text, got {_describe(value)}",
        column,
        "convert it with int(...) or string(...)",
    )


def _path(
    base: _Node | None,
    keys: tuple[tuple[Any, int], ...],
    prefix: str,
    written: str,
    start: int,
    end: int,
) -> _Node:
    computed = any(isinstance(key, _Node) for key, _ in keys)
    literal = tuple(key for key, _ in keys)
    base_run = None if base is None else base.run

    def walk(scope: Scope, strict: bool) -> Any:
        value: Any = scope if base_run is None else base_run(scope)
        used: list[Any] = []
        for position, (key, column) in enumerate(keys):
            if computed:
                if isinstance(key, _Node):
                    key = _index(key.run(scope), column)
                used.append(key)
            found = _lookup(value, key)
            if found is _MISSING:
                if not strict:
                    return _MISSING
                tried = used if computed else literal[: position + 1]
                raise _missing(scope, written, prefix, tried, value, column)
            value = found
        return value

    return _Node(lambda scope: walk(scope, True), start, end, lambda scope: walk(scope, False))


def _missing(
    scope: Scope, written: str, prefix: str, tried: Any, container: Any, column: int
) -> EvaluationError:
    """Names the whole path as written, the part that is missing and what is there instead."""
    *before, key = tried
    if not prefix and not before:
        return EvaluationError(f"{key!r} is not defined", column, _root_hint(scope, key))
    where = prefix + _suffix(before) if prefix else _dotted(before)
    head = f"{written} not found: {where}"
    fallback = f"give a fallback with default({written}, ...)"
    if isinstance(container, Mapping):
        close = difflib.get_close_matches(str(key), [str(k) for k in container], n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        listing = f"keys of {where}: {_listing(container)}" if container else f"{where} is empty"
        return EvaluationError(
            f"{head} has no key {key!r}", column, f"{guess}{listing}; or {fallback}"
        )
    if isinstance(container, list | tuple) and isinstance(key, int):
        size = len(container)
        return EvaluationError(
            f"{head} has {size} item{'' if size == 1 else 's'}, so there is no [{key}]",
            column,
            f"indexes run from 0 to {size - 1} (or -{size} to -1); or {fallback}"
            if size
            else f"the list is empty: test it with {where} | empty, or {fallback}",
        )
    if isinstance(container, list | tuple):
        return EvaluationError(
            f"{head} is a list, which has no key {key!r}",
            column,
            f"pick an item with {where}[0], or count them with {where} | length",
        )
    return EvaluationError(
        f"{head} is {_describe(container)}, not an object or a list",
        column,
        fallback if container is None else f"end the path at {where}",
    )


def _root_hint(scope: Scope, name: Any) -> str:
    hints = []
    close = difflib.get_close_matches(str(name), [str(root) for root in scope], n=1)
    if close:
        hints.append(f"did you mean {close[0]!r}?")
    owner = next(
        (root for root, value in scope.items() if isinstance(value, Mapping) and name in value),
        None,
    )
    if owner is not None:
        hints.append(
            f"did you mean {owner}.{name}? (to pass ${{{name}}} on as text, write $${{{name}}})"
        )
    if name in _FUNCTIONS:
        hints.append(f"{name} is a function: write {name}(x) or x | {name}")
    if "-" in str(name):
        hints.append(_NO_ARITHMETIC)
    hints.append(
        f"the names defined here are {_listing(scope)}" if scope else "no names are defined here"
    )
    return "; ".join(hints)


def _listing(mapping: Mapping[Any, Any], shown: int = 8) -> str:
    names = [str(key) for _, key in zip(range(shown), mapping, strict=False)]
    more = len(mapping) - len(names)
    return ", ".join(names) + (f" (and {more} more)" if more > 0 else "")


def _dotted(parts: Any) -> str:
    """``steps.data-extraction.outputs.rows[0]``: how a path is written, for messages."""
    if not parts:
        return ""
    return str(parts[0]) + _suffix(parts[1:])


def _suffix(parts: Any) -> str:
    written = []
    for part in parts:
        if isinstance(part, str) and _NAME.match(part):
            written.append(f".{part}")
        elif isinstance(part, str):
            written.append(f"[{json.dumps(part)}]")
        else:
            written.append(f"[{part}]")
    return "".join(written)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 64:
        return "a very large number"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the text {value[:30] + '...' if len(value) > 30 else value!r}"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, Mapping):
        return f"an object with {len(value)} key{'' if len(value) == 1 else 's'}"
    return f"a {type(value).__name__}"


# --- Operators ----------------------------------------------------------------------------------

_FALSE_WORDS = frozenset({"", "false", "no", "0"})


def truthy(value: Any) -> bool:
    """Whether a condition holds. Step outputs are often text, so the words false/no/0 are false.

    False: null, false, 0, 0.0, '', [], {} and text that is 'false', 'no' or '0' once trimmed
    (any case); everything else is true.
    """
    if isinstance(value, str):
        return value.strip().lower() not in _FALSE_WORDS
    if value is None or value is False:
        return False
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, Mapping | list | tuple):
        return len(value) > 0
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if left is right:
        return True
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, list | tuple) and isinstance(right, list | tuple):
        return len(left) == len(right) and all(map(_equal, left, right))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return len(left) == len(right) and all(
            key in right and _equal(value, right[key]) for key, value in left.items()
        )
    if isinstance(left, list | tuple | Mapping) or isinstance(right, list | tuple | Mapping):
        return False
    return bool(left == right)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        if isinstance(item, str):
            return item in container
        raise _Fail(
            f"text can only contain text, not {_describe(item)}",
            "convert the value with string(...) first",
        )
    if isinstance(container, list | tuple):
        return any(_equal(item, each) for each in container)
    if isinstance(container, Mapping):
        if isinstance(item, str | int | float | bool) or item is None:
            return item in container
        raise _Fail(
            f"object keys are text, so {_describe(item)} cannot be one",
            "look for a key name (text) in an object",
        )
    raise _Fail(
        f"{_describe(container)} is not text, a list or an object, so nothing can be in it",
        "give a fallback with default(x, [])" if container is None else "check the path",
    )


def _check_ordered(left: Any, right: Any, op: str) -> None:
    if (_is_number(left) and _is_number(right)) or (
        isinstance(left, str) and isinstance(right, str)
    ):
        return
    if left is None or right is None:
        hint = "one side is null: give it a fallback with default(x, 0)"
    elif (_is_number(left) and isinstance(right, str)) or (
        isinstance(left, str) and _is_number(right)
    ):
        hint = "convert the text to a number first: int(x) or float(x)"
    else:
        hint = f"'{op}' orders two numbers or two texts; compare sizes with length(x)"
    raise _Fail(f"cannot compare {_describe(left)} with {_describe(right)} using '{op}'", hint)


_ORDERINGS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(op: str, left: Eval, right: Eval, column: int) -> Eval:
    if op == "==":
        return lambda scope: _equal(left(scope), right(scope))
    if op == "!=":
        return lambda scope: not _equal(left(scope), right(scope))
    ordering = _ORDERINGS.get(op)

    def run(scope: Scope) -> bool:
        a, b = left(scope), right(scope)
        try:
            if ordering is None:
                return _contains(b, a) is (op == "in")
            _check_ordered(a, b, op)
        except _Fail as failure:
            raise EvaluationError(failure.message, column, failure.hint) from None
        return bool(ordering(a, b))

    return run


# --- Functions ----------------------------------------------------------------------------------


def _wrong(value: Any, wanted: str) -> _Fail:
    if value is None:
        return _Fail(f"expects {wanted}, got null", "give a fallback with default(x, ...)")
    return _Fail(
        f"expects {wanted}, got {_describe(value)}",
        "convert the value first with string(...), int(...) or float(...)",
    )


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _wrong(value, "text")


def _items(value: Any) -> list[Any] | tuple[Any, ...]:
    if isinstance(value, list | tuple):
        return value
    raise _wrong(value, "a list")


def _object(value: Any) -> Mapping[Any, Any]:
    if isinstance(value, Mapping):
        return value
    raise _wrong(value, "an object")


def _ordered(values: Any) -> list[Any]:
    values = list(_items(values))
    if all(_is_number(v) for v in values) or all(isinstance(v, str) for v in values):
        return values
    raise _Fail(
        "can only order a list of numbers or a list of texts",
        "convert the items first, or pick a key of each object before ordering",
    )


def _to_json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _Fail(
            f"the value cannot be written as JSON ({exc})",
            "pick the parts that are text, numbers, booleans, null, lists and objects",
        ) from None


def _to_text(value: Any) -> str:
    """How a value reads inside text: null is empty, booleans are true/false, lists are JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list | tuple):
        return _to_json(value)
    return str(value)


def _length(value: Any) -> int:
    if isinstance(value, str | list | tuple | Mapping):
        return len(value)
    raise _wrong(value, "text, a list or an object")


def _join(values: Any, separator: Any = ", ") -> str:
    return _text(separator).join(_to_text(v) for v in _items(values))


def _split(value: Any, separator: Any = None) -> list[str]:
    if separator is None:
        return _text(value).split()
    if _text(separator) == "":
        raise _Fail("the separator is empty", "give a separator such as ',' or leave it out")
    return _text(value).split(separator)


def _end(value: Any, position: int) -> Any:
    if isinstance(value, str | list | tuple):
        return value[position] if value else None
    raise _wrong(value, "a list or text")


def _int(value: Any) -> int:
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                value = float(value.strip())
            except ValueError:
                raise _Fail(
                    f"{_describe(value)} is not a number", "check the value, or use default(...)"
                ) from None
    if isinstance(value, float):
        if math.isfinite(value):
            return int(value)
        raise _Fail(f"{value} has no whole-number value", "check the value before converting")
    raise _wrong(value, "a number, text or a boolean")


def _float(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise _Fail(
                f"{_describe(value)} is not a number", "check the value, or use default(...)"
            ) from None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            raise _Fail("the number is too large for a float", "keep it a whole number") from None
    raise _wrong(value, "a number, text or a boolean")


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | tuple | Mapping) and not value)


def _round(value: Any, digits: Any = None) -> int | float:
    if not _is_number(value):
        raise _wrong(value, "a number")
    if digits is None:
        if isinstance(value, float) and not math.isfinite(value):
            raise _Fail(f"{value} cannot be rounded", "check the value before rounding")
        return round(value)
    if not isinstance(digits, int) or isinstance(digits, bool) or not -20 <= digits <= 20:
        raise _Fail(
            f"the number of digits must be a whole number from -20 to 20, got {_describe(digits)}",
            "write round(x, 2) for two decimals",
        )
    return round(value, digits)


def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    def choose(*values: Any) -> Any:
        items = _ordered(values[0] if len(values) == 1 else values)
        return pick(items) if items else None

    return choose


def _sum(values: Any) -> int | float:
    items = _items(values)
    if not all(_is_number(v) for v in items):
        raise _Fail(
            "can only add up a list of numbers", "convert the items with int(...) or float(...)"
        )
    try:
        return sum(items)
    except OverflowError:
        raise _Fail("the sum is too large for a float", "add up whole numbers only") from None


def _unique(values: Any) -> list[Any]:
    kept: list[Any] = []
    seen: set[Any] = set()
    for value in _items(values):
        try:
            key = ("bool" if isinstance(value, bool) else "value", value)
            hash(key)
        except TypeError:
            if not any(_equal(value, other) for other in kept):
                kept.append(value)
            continue
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return kept


_FUNCTIONS: dict[str, _Function] = {
    "length": _Function(_length, 1, 1, "length(x)"),
    "lower": _Function(lambda v: _text(v).lower(), 1, 1, "lower(text)"),
    "upper": _Function(lambda v: _text(v).upper(), 1, 1, "upper(text)"),
    "trim": _Function(lambda v: _text(v).strip(), 1, 1, "trim(text)"),
    "default": _Function(None, 2, 2, "default(path, fallback)"),
    "join": _Function(_join, 1, 2, "join(list, separator=', ')"),
    "split": _Function(_split, 1, 2, "split(text, separator=whitespace)"),
    "first": _Function(lambda v: _end(v, 0), 1, 1, "first(list)"),
    "last": _Function(lambda v: _end(v, -1), 1, 1, "last(list)"),
    "keys": _Function(lambda v: list(_object(v).keys()), 1, 1, "keys(object)"),
    "values": _Function(lambda v: list(_object(v).values()), 1, 1, "values(object)"),
    "int": _Function(_int, 1, 1, "int(x)"),
    "float": _Function(_float, 1, 1, "float(x)"),
    "string": _Function(_to_text, 1, 1, "string(x)"),
    "bool": _Function(truthy, 1, 1, "bool(x)"),
    "contains": _Function(_contains, 2, 2, "contains(container, item)"),
    "startswith": _Function(
        lambda v, p: _text(v).startswith(_text(p)), 2, 2, "startswith(text, prefix)"
    ),
    "endswith": _Function(lambda v, s: _text(v).endswith(_text(s)), 2, 2, "endswith(text, suffix)"),
    "exists": _Function(None, 1, 1, "exists(path)"),
    "empty": _Function(_empty, 1, 1, "empty(x)"),
    "round": _Function(_round, 1, 2, "round(number, digits=0)"),
    "min": _Function(_extreme(min), 1, None, "min(list) or min(a, b, ...)"),
    "max": _Function(_extreme(max), 1, None, "max(list) or max(a, b, ...)"),
    "sum": _Function(_sum, 1, 1, "sum(list)"),
    "sort": _Function(lambda v: sorted(_ordered(v)), 1, 1, "sort(list)"),
    "unique": _Function(_unique, 1, 1, "unique(list)"),
    "json": _Function(_to_json, 1, 1, "json(x)"),
}


# --- Entry points -------------------------------------------------------------------------------


def _check_length(text: str) -> None:
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is longer than {MAX_LENGTH} characters",
            MAX_LENGTH + 1,
            "split the work across steps or shorten the expression",
        )


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> Expression:
    """Read a bare expression (no ``${ }``) once, to evaluate it as often as needed."""
    _check_length(text)
    tokens, _ = _tokenize(text, 0, "plain")
    return _Parser(text, tokens, "plain").expression_object()


@functools.lru_cache(maxsize=1024)
def parse_condition(text: str) -> Expression:
    """Read an ``if:``/``until:`` value, written bare or wrapped in ``${ }`` as people do.

    ``${...}`` inside a condition groups like parentheses, so ``${steps.a.outputs.x} == 'up'``
    is the comparison it looks like; literal text around it is an error, not a string.
    """
    _check_length(text)
    if not text.strip():
        raise ExpressionError(
            "the condition is empty", 1, "write a condition such as steps.check.outputs.count > 0"
        )
    tokens, _ = _tokenize(text, 0, "condition")
    return _Parser(text, tokens, "condition").expression_object()


@functools.lru_cache(maxsize=4096)
def parse_template(text: str) -> Template:
    """Read a YAML string value once: its literal text and its ``${...}`` expressions."""
    parts: list[str | Expression] = []
    literal = ""
    pos = 0
    while (dollar := text.find("$", pos)) >= 0:
        if text.startswith("$${", dollar):
            literal += text[pos:dollar] + "${"
            pos = dollar + 3
        elif text.startswith("${", dollar):
            if text.find("}", dollar) < 0:
                raise _unclosed(dollar)
            literal += text[pos:dollar]
            if literal:
                parts.append(literal)
                literal = ""
            tokens, pos = _tokenize(text, dollar + 2, "template")
            parts.append(_Parser(text, tokens, "template").expression_object())
        else:
            literal += text[pos : dollar + 1]
            pos = dollar + 1
    literal += text[pos:]
    if literal:
        parts.append(literal)
    return Template(text, parts)


def render_value(value: Any, scope: Mapping[str, Any]) -> Any:
    """Resolve a whole step's inputs in one call: every string in nested dicts and lists.

    On failure the error's ``path`` says where in ``value`` the failing string is.
    """
    return _map_strings(
        value, lambda text: parse_template(text).render(scope) if "${" in text else text
    )


def template_references(value: Any) -> list[Reference]:
    """Every reference in the strings of nested dicts and lists, for validation before a run."""
    found: list[Reference] = []
    _map_strings(
        value,
        lambda text: found.extend(parse_template(text).references()) if "${" in text else None,
    )
    return found


def _map_strings(value: Any, change: Callable[[str], Any]) -> Any:
    if isinstance(value, str):
        return change(value)
    if isinstance(value, Mapping):
        pairs: Any = value.items()
    elif isinstance(value, list | tuple):
        pairs = enumerate(value)
    else:
        return value
    changed = {}
    for key, item in pairs:
        try:
            changed[key] = _map_strings(item, change)
        except ExpressionError as err:
            err.path = (key, *err.path)
            raise
    return changed if isinstance(value, Mapping) else list(changed.values())
