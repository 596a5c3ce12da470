"""A Python function's parameters as JSON Schema, read from its source (type hints, defaults,
docstring) and never by importing it.

Library functions become ``python_function`` capabilities called as ``function(**inputs)``, so
their schema is all a caller has: names, types and what each parameter means. The small
building blocks here (literal defaults, annotation types, path-like names, the object schema)
are shared with the CLI and ``--help`` readers so every interface spells schemas the same way.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from typing import Any

from assistant.plugins.analysis.profile import Evidence, Interface

# What FastAPI fills in itself: dependencies, the request and friends, typed sessions.
INJECTED = re.compile(
    r"\b(Depends|Security)\(|^(Request|Response|BackgroundTasks|WebSocket|Session)$"
    r"|Dep$|^Session\w*Dep$|CurrentUser"
)
NOT_LITERAL = object()  # a default that is computed, so no value can be shown for it

PATH_NAMES = frozenset(
    {"file", "path", "input", "output", "dir", "directory", "folder", "filename", "infile",
     "outfile"}
)  # fmt: skip
PATH_SUFFIXES = ("_file", "_path", "_dir", "_directory", "_folder", "_filename")

SCALARS = {
    "str": {"type": "string"},
    "bytes": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "Path": {"type": "string", "format": "path"},
    "PurePath": {"type": "string", "format": "path"},
    "PathLike": {"type": "string", "format": "path"},
    "StrPath": {"type": "string", "format": "path"},
    "Any": {},
    "object": {},
}
SEQUENCES = frozenset(
    {"list", "List", "Sequence", "MutableSequence", "Iterable", "Collection", "tuple", "Tuple",
     "set", "Set", "frozenset", "FrozenSet", "AbstractSet"}
)  # fmt: skip
MAPPINGS = frozenset({"dict", "Dict", "Mapping", "MutableMapping", "TypedDict"})
TRANSPARENT = frozenset({"Optional", "Annotated", "Final", "ClassVar", "Required", "NotRequired"})

GOOGLE_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other Parameters):\s*$"
)
GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
NUMPY_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?::.*)?$")
SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?\*{0,2}(\w+)\s*:\s*(.*)$")


def function_interface(
    func: ast.FunctionDef | ast.AsyncFunctionDef, evidence: Evidence | None = None
) -> Interface:
    """The function's keyword inputs: ``args`` stays empty because a Python call has no argv."""
    docstring = ast.get_docstring(func) or ""
    documented = docstring_params(docstring)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for arg, default in parameters_with_defaults(func.args):
        if arg.arg in ("self", "cls"):
            continue
        properties[arg.arg] = parameter_schema(
            arg.arg, annotation_schema(arg.annotation), default, documented.get(arg.arg, "")
        )
        if default is None:
            required.append(arg.arg)
    return Interface(
        framework="signature",
        description=docstring_summary(docstring),
        parameters=object_schema(properties, required),
        evidence=evidence,
    )


def route_interface(
    route: ast.FunctionDef | ast.AsyncFunctionDef,
    evidence: Evidence | None = None,
    module: ast.Module | None = None,
) -> Interface:
    """A FastAPI route's inputs. What FastAPI injects (``Depends(...)``, a Request, a
    database session) is no input: the caller never sends it. A route whose one remaining
    parameter is a pydantic model of ``module`` reads its JSON body as that model, so the
    inputs are the model's fields."""
    injected = {
        arg.arg
        for arg, default in parameters_with_defaults(route.args)
        if any(INJECTED.search(ast.unparse(x)) for x in (arg.annotation, default) if x)
    }
    inputs = [a for a, _ in parameters_with_defaults(route.args) if a.arg not in injected]
    model = _body_model(module, inputs[0]) if module and len(inputs) == 1 else None
    if model is not None:
        where = evidence.model_copy(update={"line": model.lineno}) if evidence else None
        return model_interface(model, where)
    interface = function_interface(route, evidence)
    schema = dict(interface.parameters)
    schema["properties"] = {k: v for k, v in schema["properties"].items() if k not in injected}
    if "required" in schema:
        schema["required"] = [r for r in schema["required"] if r not in injected]
    return interface.model_copy(update={"parameters": schema})


def _body_model(module: ast.Module, parameter: ast.arg) -> ast.ClassDef | None:
    """The pydantic model, defined in ``module``, that ``parameter`` is annotated with."""
    wanted = dotted_tail(parameter.annotation) if parameter.annotation else ""
    for node in module.body:
        if isinstance(node, ast.ClassDef) and node.name == wanted:
            return node if "BaseModel" in {dotted_tail(b) for b in node.bases} else None
    return None


def model_interface(model: ast.ClassDef, evidence: Evidence | None = None) -> Interface:
    """A pydantic model's fields as inputs: a FastAPI route that takes one model reads its
    JSON body as that model, so the body's keys are the model's fields, not the parameter."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for node in model.body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        name = node.target.id
        if name.startswith("_") or dotted_tail(node.annotation) == "ClassVar":
            continue
        default, description = _field_default(node.value)
        properties[name] = parameter_schema(
            name, annotation_schema(node.annotation), default, description
        )
        if default is None:
            required.append(name)
    return Interface(
        framework="signature",
        description=docstring_summary(ast.get_docstring(model) or ""),
        parameters=object_schema(properties, required),
        evidence=evidence,
    )


def _field_default(value: ast.expr | None) -> tuple[ast.expr | None, str]:
    """(default expression, description) of a field: ``= 3`` or ``= Field(3, description=..)``."""
    if isinstance(value, ast.Call) and dotted_tail(value.func) == "Field":
        default = value.args[0] if value.args else None
        keywords = {k.arg: k.value for k in value.keywords}
        default = keywords.get("default", default)
        if isinstance(default, ast.Constant) and default.value is Ellipsis:
            default = None  # Field(...): required
        text = json_literal(keywords.get("description"))
        return default, text if isinstance(text, str) else ""
    return value, ""


def parameters_with_defaults(
    arguments: ast.arguments,
) -> Iterator[tuple[ast.arg, ast.expr | None]]:
    """Each named parameter (``*args``/``**kwargs`` excluded) with its default expression, or
    None when it has none: Python aligns positional defaults to the last parameters."""
    positional = [*arguments.posonlyargs, *arguments.args]
    padding: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    yield from zip(positional, [*padding, *arguments.defaults], strict=True)
    yield from zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)


def parameter_schema(
    name: str, schema: dict[str, Any], default: ast.expr | None, description: str
) -> dict[str, Any]:
    """One property: the annotation's schema, completed by the default's type and value."""
    value = json_literal(default) if default is not None else NOT_LITERAL
    result = dict(schema)
    if not result and value not in (NOT_LITERAL, None):  # no hint: the default's type
        result.update(schema_for_value(value))
    result = with_path_format(name, result)
    if description:
        result["description"] = description
    if value is not NOT_LITERAL and value is not None:
        result["default"] = value
    return result


def object_schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """The ``type: object`` schema every interface uses; ``required`` only when not empty."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def is_path_name(name: str) -> bool:
    """Whether a parameter's name says it holds a file or folder (``out_file``, ``input``)."""
    lowered = name.lower()
    return lowered in PATH_NAMES or lowered.endswith(PATH_SUFFIXES)


def with_path_format(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` marked ``format: path`` when it is a plain string named like a path, so the
    runner knows to share that file with the sandbox."""
    if schema.get("type") == "string" and "enum" not in schema and is_path_name(name):
        return {**schema, "format": "path"}
    return schema


def json_literal(node: ast.expr | None) -> Any:
    """The JSON value a literal expression denotes (tuples and sets become lists), or
    NOT_LITERAL for anything that would need running code to know."""
    if node is None:
        return NOT_LITERAL
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_LITERAL
    return _as_json(value)


def _as_json(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        items = [_as_json(v) for v in value]
        return NOT_LITERAL if NOT_LITERAL in items else items
    if isinstance(value, set | frozenset):
        return _as_json(sorted(value, key=repr))
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        entries = {k: _as_json(v) for k, v in value.items()}
        return NOT_LITERAL if NOT_LITERAL in entries.values() else entries
    return NOT_LITERAL  # bytes, complex numbers: nothing JSON can carry


def schema_for_value(value: Any) -> dict[str, Any]:
    """The JSON type of a Python literal (bool before int: ``True`` is an int in Python)."""
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string"}
    if isinstance(value, list):
        return {"type": "array"}
    if isinstance(value, dict):
        return {"type": "object"}
    return {}


def annotation_schema(
    node: ast.expr | None, named: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The JSON Schema of a type hint. ``named`` gives schemas for classes the caller knows
    (a module's Enums); any other class is taken to be a structured (pydantic-like) object."""
    if node is None:
        return {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _string_annotation(node.value, named)
    if isinstance(node, ast.Constant) and node.value is None:
        return {}
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union_schema([node.left, node.right], named)
    if isinstance(node, ast.Subscript):
        return _generic_schema(dotted_tail(node.value), _type_arguments(node.slice), named)
    return _named_schema(dotted_tail(node), named)


def _named_schema(name: str, named: Mapping[str, dict[str, Any]] | None) -> dict[str, Any]:
    """A bare type name: a builtin or typing name, a class the caller knows, or a model."""
    if named and name in named:
        return dict(named[name])
    if name in SCALARS:
        return dict(SCALARS[name])
    if name in SEQUENCES:
        return {"type": "array"}
    if name in MAPPINGS:
        return {"type": "object"}
    return {"type": "object"} if name else {}


def dotted_tail(node: ast.expr) -> str:
    """The last name of ``a.b.C`` or ``C`` (``typing.List`` and ``List`` mean the same)."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def _string_annotation(text: str, named: Mapping[str, dict[str, Any]] | None) -> dict[str, Any]:
    """A quoted (forward-reference) hint, read like the unquoted one."""
    try:
        parsed = ast.parse(text, mode="eval")
    except SyntaxError:
        return {}
    return annotation_schema(parsed.body, named)


def _type_arguments(node: ast.expr) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def _generic_schema(
    base: str, arguments: list[ast.expr], named: Mapping[str, dict[str, Any]] | None
) -> dict[str, Any]:
    """``list[int]``, ``Optional[X]``, ``Union[...]``, ``Literal[...]``, ``dict[str, X]``."""
    if base in TRANSPARENT:
        return annotation_schema(arguments[0], named)
    if base == "Union":
        return _union_schema(arguments, named)
    if base == "Literal":
        return _literal_schema(arguments)
    if base in SEQUENCES:
        items = annotation_schema(arguments[0], named)
        return {"type": "array", "items": items} if items else {"type": "array"}
    if base in MAPPINGS:
        return {"type": "object"}
    return _named_schema(base, named)


def _union_schema(
    members: list[ast.expr], named: Mapping[str, dict[str, Any]] | None
) -> dict[str, Any]:
    """``X | None`` is X (leaving it out is how a caller passes None); wider unions are anyOf."""
    schemas = [annotation_schema(m, named) for m in members if not _is_none(m)]
    distinct = [s for i, s in enumerate(schemas) if s not in schemas[:i]]
    if len(distinct) == 1:
        return distinct[0]
    return {"anyOf": distinct} if all(distinct) else {}


def _is_none(node: ast.expr) -> bool:
    return (isinstance(node, ast.Constant) and node.value is None) or dotted_tail(node) == "None"


def _literal_schema(arguments: list[ast.expr]) -> dict[str, Any]:
    values = [json_literal(a) for a in arguments]
    values = [v for v in values if v is not NOT_LITERAL and v is not None]
    return enum_schema(values)


def enum_schema(values: list[Any]) -> dict[str, Any]:
    """Choices with their common type, when they share one (``{"type": "string", "enum": ...}``)."""
    types = {schema_for_value(v).get("type") for v in values}
    common = types.pop() if len(types) == 1 else None
    return {"type": common, "enum": values} if common else {"enum": values}


def docstring_summary(docstring: str) -> str:
    """The docstring's first paragraph on one line: what the function does, not how."""
    paragraph = docstring.strip().split("\n\n", 1)[0]
    return " ".join(line.strip() for line in paragraph.splitlines() if line.strip())


def docstring_params(docstring: str) -> dict[str, str]:
    """Each documented parameter's description, whichever of the Google, NumPy or Sphinx
    conventions the docstring follows (the first one that documents anything wins)."""
    if not docstring:
        return {}
    lines = docstring.splitlines()
    for reader in (_google_params, _numpy_params, _sphinx_params):
        found = reader(lines)
        if found:
            return found
    return {}


def _google_params(lines: list[str]) -> dict[str, str]:
    """``Args:`` then ``name (type): text`` entries, indented; the section ends at a line
    indented no deeper than its header (``Returns:``)."""
    found: dict[str, str] = {}
    for start, line in enumerate(lines):
        if not GOOGLE_SECTION.match(line.strip()):
            continue
        found.update(_entries(_indented_block(lines[start + 1 :], _indent(line)), GOOGLE_ENTRY))
    return found


def _numpy_params(lines: list[str]) -> dict[str, str]:
    """``Parameters`` underlined with dashes, then ``name : type`` with the text indented below;
    the section ends at the next underlined header."""
    found: dict[str, str] = {}
    for start in range(len(lines) - 1):
        if lines[start].strip() not in ("Parameters", "Other Parameters"):
            continue
        if not _is_underline(lines[start + 1]):
            continue
        rest = lines[start + 2 :]
        end = next((i for i in range(len(rest) - 1) if _is_underline(rest[i + 1])), len(rest))
        found.update(_numpy_entries(rest[:end]))
    return found


def _numpy_entries(body: list[str]) -> dict[str, str]:
    base = min((_indent(line) for line in body if line.strip()), default=0)
    found: dict[str, str] = {}
    current: str | None = None
    for line in body:
        match = NUMPY_ENTRY.match(line.strip()) if _indent(line) == base else None
        if match:
            current = match[1]
            found[current] = ""
        elif current and line.strip():
            found[current] = f"{found[current]} {line.strip()}".strip()
    return found


def _sphinx_params(lines: list[str]) -> dict[str, str]:
    """``:param name: text`` (or ``:param type name: text``), continued on indented lines."""
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith(":param")), None)
    if start is None:
        return {}
    return _entries(lines[start:], SPHINX_PARAM)


def _indented_block(lines: list[str], header_indent: int) -> list[str]:
    """The lines up to the first non-blank one indented no deeper than the header."""
    end = next(
        (i for i, line in enumerate(lines) if line.strip() and _indent(line) <= header_indent),
        len(lines),
    )
    return lines[:end]


def _entries(body: list[str], entry: re.Pattern[str]) -> dict[str, str]:
    """Entries that start at the shallowest indentation (or match ``entry`` when they start
    with ``:``), each continued by the deeper lines that follow it."""
    base = min((_indent(line) for line in body if line.strip()), default=0)
    found: dict[str, str] = {}
    current: str | None = None
    for line in body:
        text = line.strip()
        starts_entry = _indent(line) == base or text.startswith(":")
        match = entry.match(text) if starts_entry else None
        if match:
            current = match[1]
            found[current] = match[2].strip()
        elif starts_entry and text:
            current = None  # another field (``:returns:``) ends the parameter's text
        elif current and text:
            found[current] = f"{found[current]} {text}".strip()
    return found


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_underline(line: str) -> bool:
    text = line.strip()
    return len(text) >= 3 and set(text) == {"-"}
