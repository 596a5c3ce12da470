"""A Python CLI's parameters, read from its argparse, click or typer definitions with ``ast``.

The analysed code is never imported: the parser, decorators and signatures are read as
syntax, and only literal values (defaults, choices, help texts) are taken from them. Every
framework's arguments become the same intermediate ``CliParam``; one builder then turns those
into an ``Interface`` whose ``args`` let ``adapters.argv.build_argv`` rebuild a real command line
(positionals by position, options by their long flag, ``--x/--no-x`` switches).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any, TypeGuard

from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import (
    MAX_DETAIL,
    Evidence,
    Framework,
    Interface,
)
from assistant.plugins.analysis.signature import (
    NOT_LITERAL,
    annotation_schema,
    docstring_summary,
    dotted_tail,
    enum_schema,
    json_literal,
    object_schema,
    parameters_with_defaults,
    schema_for_value,
    with_path_format,
)

FRAMEWORK_MODULES = {
    "argparse": "argparse",
    "click": "click",
    "rich_click": "click",
    "typer": "typer",
}
SCALAR_NAMES = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "str": {"type": "string"},
    "Path": {"type": "string", "format": "path"},
}
CLICK_TYPES = {
    "INT": {"type": "integer"},
    "FLOAT": {"type": "number"},
    "STRING": {"type": "string"},
    "UUID": {"type": "string"},
    "IntRange": {"type": "integer"},
    "FloatRange": {"type": "number"},
    "DateTime": {"type": "string"},
    "Path": {"type": "string", "format": "path"},
    "File": {"type": "string", "format": "path"},
}
CLICK_COMMAND_SUFFIXES = frozenset({"command", "cmd", "group", "grp"})
ENUM_BASES = frozenset({"Enum", "StrEnum", "IntEnum"})
GUARD_SKIPPED_CALLS = frozenset({"SystemExit", "exit", "print"})
MAX_SHARED_DEPTH = 3  # names followed from a decorator to the options it applies
# A rich style tag as rich itself recognises one: ``[bold]``, ``[#ff0000 on blue]``, ``[/]``.
RICH_TAG = re.compile(r"\[(?:/|/?[a-z#][a-zA-Z0-9 #]*)\]")


@dataclass
class CliParam:
    """One argument of one command, whatever framework declared it."""

    name: str
    schema: dict[str, Any]
    flag: str | None = None  # None: a positional argument
    false_flag: str | None = None
    required: bool = False
    equals: bool = False  # the value must be attached: ``--color=auto`` (GNU optional values)


@dataclass
class Imports:
    """The names a module binds to each CLI framework: ``import click as c`` binds the module,
    ``from typer import Option`` binds one member."""

    modules: dict[str, set[str]] = field(default_factory=dict)
    members: dict[str, dict[str, str]] = field(default_factory=dict)
    rich: bool = False  # rich_click is imported: its help texts are rich markup

    def member(self, framework: str, node: ast.expr) -> str | None:
        """The framework member ``node`` names (``click.types.Path`` -> "Path"), or None."""
        if isinstance(node, ast.Name):
            return self.members.get(framework, {}).get(node.id)
        root = node
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(node, ast.Attribute) and isinstance(root, ast.Name):
            return node.attr if root.id in self.modules.get(framework, set()) else None
        return None

    def calls(self, node: ast.AST | None, framework: str, *members: str) -> TypeGuard[ast.Call]:
        """Whether ``node`` is a call of one of the framework's ``members``."""
        return isinstance(node, ast.Call) and self.member(framework, node.func) in members


@dataclass
class Source:
    """The file being read: its path and lines for evidence, its tree and imports."""

    rel: str
    tree: ast.Module
    lines: list[str]
    imports: Imports

    def evidence(self, node: ast.AST) -> Evidence:
        line = getattr(node, "lineno", 1)
        detail = self.lines[line - 1].strip() if line <= len(self.lines) else ""
        return Evidence(file=self.rel, line=line, detail=detail[:MAX_DETAIL])

    def functions(self) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield node

    @cached_property
    def definitions(self) -> dict[str, ast.AST]:
        """Module-level functions and ``NAME = value`` values by name: what a decorator's
        name can stand for."""
        found: dict[str, ast.AST] = {}
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found[node.name] = node
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                found[node.targets[0].id] = node.value
        return found


def cli_interface(files: RepoFiles, rel: str, function: str | None = None) -> Interface | None:
    """The command-line interface file ``rel`` defines, or None when it defines none.
    ``function`` (a console script's ``module:function``) picks one CLI when there are several;
    without it the function the module calls to start is taken. A module that only imports
    that function (``__main__.py``: ``from .cli import main; main()``) is followed once."""
    tree = _python_tree(files, rel)
    if tree is None:
        return None
    wanted = function or entry_call(tree)
    found = _defined_interface(files, rel, tree, wanted)
    if found is None and wanted:
        origin = imported_from(files, rel, tree, wanted)
        if origin is not None and origin[0] != rel:
            found = _defined_interface(files, origin[0], files.python(origin[0]), origin[1])
    return found


def _python_tree(files: RepoFiles, rel: str) -> ast.Module | None:
    """The module's tree, for ``.py`` files and scripts with a python shebang only."""
    text = files.text(rel) or ""
    first_line = text.split("\n", 1)[0]
    if rel.endswith(".py") or (first_line.startswith("#!") and "python" in first_line):
        return files.python(rel)
    return None


def _defined_interface(
    files: RepoFiles, rel: str, tree: ast.Module | None, wanted: str | None
) -> Interface | None:
    """The CLI defined in ``rel`` itself; the text is checked for each framework's name
    first, which rules out most files without walking their tree."""
    text = files.text(rel) or ""
    if tree is None or not any(marker in text for marker in ("typer", "click", "ArgumentParser")):
        return None
    source = Source(rel, tree, files.lines(rel), collect_imports(tree))
    if "typer" in text and (found := typer_interface(source, wanted)):
        return found
    if "click" in text and (found := click_interface(source, wanted)):
        return found
    if "ArgumentParser" in text:
        return argparse_interface(source, wanted)
    return None


def collect_imports(tree: ast.Module) -> Imports:
    """Every import of a CLI framework, at any depth (``main`` often imports argparse itself)."""
    imports = Imports()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                framework = FRAMEWORK_MODULES.get(alias.name)
                if framework:
                    imports.modules.setdefault(framework, set()).add(alias.asname or alias.name)
                    imports.rich |= alias.name == "rich_click"
        elif isinstance(node, ast.ImportFrom) and node.module in FRAMEWORK_MODULES:
            imports.rich |= node.module == "rich_click"
            members = imports.members.setdefault(FRAMEWORK_MODULES[node.module], {})
            for alias in node.names:
                members[alias.asname or alias.name] = alias.name
    return imports


def entry_call(tree: ast.Module) -> str | None:
    """The function a module calls to start: the one ``if __name__ == "__main__":`` calls
    (``main()``, ``sys.exit(cli())``), else the last one called at top level."""
    guards = [n for n in tree.body if isinstance(n, ast.If) and "__main__" in ast.unparse(n.test)]
    statements = guards or [n for n in tree.body if isinstance(n, ast.Expr)][-1:]
    for statement in statements:
        for inner in ast.walk(statement):
            if (
                isinstance(inner, ast.Call)
                and isinstance(inner.func, ast.Name)
                and inner.func.id not in GUARD_SKIPPED_CALLS
            ):
                return inner.func.id
    return None


def imported_from(
    files: RepoFiles, rel: str, tree: ast.Module, name: str
) -> tuple[str, str] | None:
    """(file, original name) of the repository module ``name`` is imported from, if any."""
    for node in tree.body:
        if not isinstance(node, ast.ImportFrom):
            continue
        for alias in node.names:
            if (alias.asname or alias.name) == name:
                origin = module_file(files, rel, node)
                return (origin, alias.name) if origin else None
    return None


def module_file(files: RepoFiles, rel: str, node: ast.ImportFrom) -> str | None:
    """The file ``from X import ...`` in ``rel`` reads: relative to ``rel``'s folder, or for
    an absolute name, under the nearest folder above ``rel`` that holds it."""
    folder = PurePosixPath(rel).parent
    parts = (node.module or "").split(".") if node.module else []
    if node.level:
        ups = node.level - 1  # ``from ..x``: one folder up
        if ups > len(folder.parents):
            return None
        bases = [folder.parents[ups - 1] if ups else folder]
    else:
        bases = [folder, *folder.parents]
    for base in bases:
        stem = "/".join([*([str(base)] if str(base) != "." else []), *parts])
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if files.exists(candidate):
                return candidate
    return None


def build_interface(
    framework: Framework,
    description: str,
    params: list[CliParam],
    evidence: Evidence | None,
    subcommands: dict[str, Interface] | None = None,
    markup: bool = False,
) -> Interface:
    """The Interface for ``params`` in declaration order; positionals are numbered as they come
    and the first parameter of a name wins (argparse lets two options share a dest). With
    ``markup`` the texts are rich markup, shown without their style tags."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    args: dict[str, dict[str, Any]] = {}
    positions = 0
    for param in params:
        if param.name in properties:
            continue
        schema = with_path_format(param.name, param.schema)
        if markup and "description" in schema:
            schema = {**schema, "description": without_markup(schema["description"])}
        properties[param.name] = schema
        if param.required:
            required.append(param.name)
        args[param.name] = _arg_spec(param, positions, properties[param.name])
        positions += param.flag is None
    return Interface(
        framework=framework,
        description=without_markup(description) if markup else description,
        parameters=object_schema(properties, required),
        args=args,
        subcommands=subcommands or {},
        evidence=evidence,
    )


def without_markup(text: str) -> str:
    """A help text as rich prints it: ``"Run in [blue]dev[/blue] mode"`` -> ``"Run in dev mode"``."""
    return RICH_TAG.sub("", text)


def _arg_spec(param: CliParam, position: int, schema: dict[str, Any]) -> dict[str, Any]:
    if param.flag is None:
        return {"position": position}
    spec: dict[str, Any] = {"flag": param.flag}
    inner = schema.get("items")
    fixed = inner if isinstance(inner, dict) and inner.get("type") == "array" else schema
    if fixed.get("type") == "array" and fixed.get("minItems", 0) > 1:
        spec["nargs"] = fixed["minItems"]  # --size W H: one flag, then that many values
    if param.false_flag:
        spec["false_flag"] = param.false_flag
    if param.equals:
        spec["style"] = "equals"
    return spec


def identifier(text: str) -> str:
    """A property name from a dest or flag: ``--out-file`` -> ``out_file``."""
    name = re.sub(r"\W", "_", text.lstrip("-")).strip("_") or "arg"
    return f"_{name}" if name[0].isdigit() else name


def long_flag(flags: list[str]) -> str:
    """The flag a command line should use: the first long form, else the first given."""
    return next((f for f in flags if f.startswith("--")), flags[0])


def keywords(call: ast.Call) -> dict[str, ast.expr]:
    return {k.arg: k.value for k in call.keywords if k.arg}


def string_args(call: ast.Call) -> list[str]:
    """The call's leading string-literal positional arguments (flags, names)."""
    found: list[str] = []
    for arg in call.args:
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            break
        found.append(arg.value)
    return found


def text_of(node: ast.expr | None) -> str:
    """A help text, when it is a literal string."""
    value = json_literal(node)
    return value.strip() if isinstance(value, str) else ""


def literal_default(node: ast.expr | None) -> Any:
    """A default worth showing: a literal that is not None, else NOT_LITERAL."""
    value = json_literal(node)
    return NOT_LITERAL if value is None else value


def value_schema(
    declared: dict[str, Any], default: Any, is_array: bool, help_text: str, width: int = 1
) -> dict[str, Any]:
    """A value-taking argument's schema: its declared type, else its default's, else a string;
    ``width`` values of it at a time (``nargs=2``) make an array of exactly that many; an
    array of those for list-valued arguments (whose default is then a list too)."""
    schema = declared or _type_from_default(default) or {"type": "string"}
    if width > 1 and schema.get("type") != "array":
        schema = fixed_array([schema] * width)
    if is_array:
        schema = {"type": "array", "items": schema}
        default = default if default is NOT_LITERAL or isinstance(default, list) else [default]
    return with_default(with_description(schema, help_text), default)


def fixed_array(items: list[dict[str, Any]]) -> dict[str, Any]:
    """An array of exactly ``len(items)`` values (a click tuple type, ``nargs=2``): one
    ``items`` schema when they agree, else one schema per position (``prefixItems``)."""
    count = len(items)
    shape = {"items": items[0]} if all(i == items[0] for i in items) else {"prefixItems": items}
    return {"type": "array", **shape, "minItems": count, "maxItems": count}


def _type_from_default(default: Any) -> dict[str, Any]:
    """The type an untyped argument's default implies (a list default: its items' type)."""
    if default is NOT_LITERAL:
        return {}
    if isinstance(default, list):
        return schema_for_value(default[0]) if default else {}
    return schema_for_value(default)


def split_switches(declared: list[str]) -> tuple[list[str], list[str]]:
    """Flags and their negations from click/typer declarations: ``"--shout/--no-shout"``."""
    flags = [d.split("/")[0].strip() for d in declared if d.startswith("-")]
    negations = [d.split("/", 1)[1].strip() for d in declared if "/" in d]
    return flags, negations


def registrations(tree: ast.Module, method: str) -> Iterator[tuple[str, str, ast.Call]]:
    """Module-level ``group.method(member, ...)`` calls (click ``add_command``, typer
    ``add_typer``) as (group variable, member variable, call)."""
    for statement in tree.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == method
            and isinstance(call.func.value, ast.Name)
            and call.args
            and isinstance(call.args[0], ast.Name)
        ):
            yield call.func.value.id, call.args[0].id, call


def with_default(schema: dict[str, Any], default: Any) -> dict[str, Any]:
    return schema if default is NOT_LITERAL else {**schema, "default": default}


def switch_schema(default: Any, help_text: str) -> dict[str, Any]:
    """A boolean switch: off unless its default says otherwise."""
    value = False if default is NOT_LITERAL else default
    return with_default(with_description({"type": "boolean"}, help_text), value)


def with_description(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {**schema, "description": description} if description else schema


# --- argparse ---------------------------------------------------------------------------------


@dataclass
class Parser:
    """One ``ArgumentParser`` (or sub-parser) and the ``add_argument`` calls made on it."""

    call: ast.Call
    description: str
    actions: list[ast.Call] = field(default_factory=list)
    children: dict[str, Parser] = field(default_factory=dict)


class ArgparseScope:
    """The parsers one function (or the module body) builds, followed through the variables
    that hold them, their argument groups and their sub-parsers."""

    def __init__(self, source: Source):
        self.source = source
        self.roots: list[Parser] = []
        self._parsers: dict[str, Parser] = {}
        self._subparsers: dict[str, Parser] = {}

    def read(self, body: list[ast.stmt]) -> ArgparseScope:
        assigned: dict[int, str] = {}
        calls: list[ast.Call] = []
        for node in _scope_nodes(body):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    assigned[id(node.value)] = target.id
            elif isinstance(node, ast.Call):
                calls.append(node)
        for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
            self._record(call, assigned.get(id(call)))
        return self

    def _record(self, call: ast.Call, target: str | None) -> None:
        if self.source.imports.calls(call, "argparse", "ArgumentParser"):
            self._bind(target, self._root(call), self._parsers)
            return
        if not isinstance(call.func, ast.Attribute):
            return
        method, receiver = call.func.attr, call.func.value
        if method == "add_parser" and isinstance(receiver, ast.Name):
            self._bind(target, self._child(call, self._subparsers.get(receiver.id)), self._parsers)
            return
        parser = self._parser_of(receiver)
        if parser is None:
            return
        if method == "add_argument":
            parser.actions.append(call)
        elif method == "add_subparsers":
            self._bind(target, parser, self._subparsers)
        elif method in ("add_argument_group", "add_mutually_exclusive_group"):
            self._bind(target, parser, self._parsers)

    @staticmethod
    def _bind(target: str | None, parser: Parser | None, into: dict[str, Parser]) -> None:
        if target and parser is not None:
            into[target] = parser

    def _root(self, call: ast.Call) -> Parser:
        parser = Parser(call, self._description(keywords(call).get("description")))
        self.roots.append(parser)
        return parser

    def _child(self, call: ast.Call, parent: Parser | None) -> Parser | None:
        names = string_args(call)
        if parent is None or not names:
            return None
        options = keywords(call)
        description = text_of(options.get("help")) or self._description(options.get("description"))
        parent.children[names[0]] = Parser(call, description)
        return parent.children[names[0]]

    def _description(self, node: ast.expr | None) -> str:
        """A literal description, or the module docstring's first paragraph for ``__doc__``."""
        if isinstance(node, ast.Name) and node.id == "__doc__":
            return docstring_summary(ast.get_docstring(self.source.tree) or "")
        return text_of(node)

    def _parser_of(self, node: ast.expr) -> Parser | None:
        """The parser an expression stands for, through groups made inline
        (``parser.add_argument_group("x").add_argument(...)``)."""
        if isinstance(node, ast.Name):
            return self._parsers.get(node.id)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("add_argument_group", "add_mutually_exclusive_group")
        ):
            return self._parser_of(node.func.value)
        return None


def _scope_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every node of ``body`` outside nested functions and classes (their code runs later,
    if ever, and builds parsers of its own)."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def argparse_interface(source: Source, wanted: str | None) -> Interface | None:
    """The parser ``wanted`` builds (or one a function it calls builds, like
    ``build_parser()``), else the module's own, else the first any function builds."""
    functions = {f.name: f for f in source.functions()}
    candidates = dict.fromkeys([*_called_by(functions.get(wanted or "")), None, *functions])
    for name in candidates:
        if name is not None and name not in functions:
            continue
        body = source.tree.body if name is None else functions[name].body
        roots = ArgparseScope(source).read(body).roots
        if roots:
            return _parser_interface(source, roots[0])
    return None


def _called_by(function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> list[str]:
    """``function``'s own name, then the names it calls, in order of appearance."""
    if function is None:
        return []
    called = [
        node.func.id
        for node in _scope_nodes(function.body)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    ]
    return [function.name, *sorted(set(called), key=called.index)]


def _parser_interface(source: Source, parser: Parser) -> Interface:
    subcommands = {name: _parser_interface(source, c) for name, c in parser.children.items()}
    params = argparse_params(source.imports, parser.actions)
    return build_interface(
        "argparse", parser.description, params, source.evidence(parser.call), subcommands
    )


def argparse_params(imports: Imports, actions: list[ast.Call]) -> list[CliParam]:
    """The parameters of ``add_argument`` calls; a ``store_false`` sharing its dest with an
    earlier switch (``--cache`` / ``--no-cache``) becomes that switch's ``false_flag``."""
    params: list[CliParam] = []
    switches: dict[str, CliParam] = {}
    for call in actions:
        flags = string_args(call)
        options = keywords(call)
        action = _action_name(imports, options.get("action"))
        if not flags or action in ("help", "version") or _suppressed(imports, options):
            continue
        if not flags[0].startswith("-"):
            params.append(_positional(imports, flags[0], options))
            continue
        dest = text_of(options.get("dest")) or identifier(long_flag(flags))
        if action == "store_false" and dest in switches:
            switches[dest].false_flag = long_flag(flags)
            continue
        param = _option(imports, flags, dest, action, options)
        if param.schema.get("type") == "boolean":
            switches[dest] = param
        params.append(param)
    return params


def _action_name(imports: Imports, node: ast.expr | None) -> str:
    if node is None:
        return "store"
    if imports.member("argparse", node) == "BooleanOptionalAction":
        return "boolean_optional"
    return text_of(node) or "custom"


def _suppressed(imports: Imports, options: dict[str, ast.expr]) -> bool:
    """Hidden arguments (``help=argparse.SUPPRESS``) are not part of the interface."""
    help_node = options.get("help")
    return help_node is not None and imports.member("argparse", help_node) == "SUPPRESS"


def _positional(imports: Imports, name: str, options: dict[str, ast.expr]) -> CliParam:
    nargs = _nargs(imports, options.get("nargs"))
    schema = _value_schema(imports, options, nargs)
    return CliParam(identifier(name), schema, required=nargs not in ("?", "*", "..."))


def _option(
    imports: Imports, flags: list[str], dest: str, action: str, options: dict[str, ast.expr]
) -> CliParam:
    flag = long_flag(flags)
    default = literal_default(options.get("default"))
    help_text = _help(options, default)
    if action in ("store_true", "boolean_optional"):
        false_flag = "--no-" + flag[2:] if action == "boolean_optional" else None
        return CliParam(identifier(dest), switch_schema(default, help_text), flag, false_flag)
    if action in ("store_false", "store_const", "append_const"):
        # These store a value of their own under ``dest``, often one shared with other flags
        # (``--tab`` stores "\t" in ``indent``): as a property each is named after its flag,
        # True meaning "pass the flag", as build_argv does.
        return CliParam(identifier(flag), switch_schema(False, help_text), flag)
    if action == "count":  # repeated (-vv); no default: build_argv would pass it a value
        schema = {"type": "integer", "minimum": 0}
        return CliParam(identifier(dest), with_description(schema, help_text), flag)
    nargs = _nargs(imports, options.get("nargs"))
    if action in ("append", "extend") and nargs not in ("+", "*", "..."):
        nargs = "*"
    schema = _value_schema(imports, options, nargs)
    required = json_literal(options.get("required")) is True
    return CliParam(identifier(dest), schema, flag, required=required)


def _nargs(imports: Imports, node: ast.expr | None) -> str | int | None:
    if node is not None and imports.member("argparse", node) == "REMAINDER":
        return "..."
    value = json_literal(node)
    return value if isinstance(value, str | int) else None


def _value_schema(
    imports: Imports, options: dict[str, ast.expr], nargs: str | int | None
) -> dict[str, Any]:
    """Type, choices, list-ness, help and default of a value-taking argument."""
    default = literal_default(options.get("default"))
    declared = _argparse_type(imports, options.get("type"))
    choices = json_literal(options.get("choices"))
    if isinstance(choices, list):
        declared = {**declared, "enum": choices} if declared else enum_schema(choices)
    is_array = nargs in ("+", "*", "...")
    width = nargs if isinstance(nargs, int) else 1
    return value_schema(declared, default, is_array, _help(options, default), width)


def _argparse_type(imports: Imports, node: ast.expr | None) -> dict[str, Any]:
    if node is None:
        return {}
    if imports.calls(node, "argparse", "FileType"):
        return {"type": "string", "format": "path"}
    return dict(SCALAR_NAMES.get(dotted_tail(node), {"type": "string"}))


def _help(options: dict[str, ast.expr], default: Any) -> str:
    """The help text as ``--help`` shows it (``%(default)s`` filled when it is a literal)."""
    text = text_of(options.get("help"))
    if default is not NOT_LITERAL:
        text = text.replace("%(default)s", str(default))
    return text.replace("%%", "%")


# --- click ------------------------------------------------------------------------------------


@dataclass
class ClickCommand:
    """A function a click decorator turned into a command or group."""

    function: ast.FunctionDef | ast.AsyncFunctionDef
    decorator: ast.expr
    name: str
    group: bool
    parent: str | None  # the function name of the group it belongs to


def click_interface(source: Source, wanted: str | None) -> Interface | None:
    """The command or group ``wanted`` names, else the first top-level group, else the first
    top-level command."""
    commands = _click_commands(source)
    if not commands:
        return None
    if wanted in commands:
        return _click_command_interface(source, commands, commands[wanted])
    roots = [c for c in commands.values() if c.parent not in commands]
    root = next((c for c in roots if c.group), roots[0] if roots else None)
    return _click_command_interface(source, commands, root) if root else None


def _click_commands(source: Source) -> dict[str, ClickCommand]:
    commands: dict[str, ClickCommand] = {}
    for function in source.functions():
        for decorator in function.decorator_list:
            command = _click_command(source.imports, commands, function, decorator)
            if command:
                commands[function.name] = command
                break
    _attach_added_commands(source.tree, commands)
    return commands


def _click_command(
    imports: Imports,
    known: dict[str, ClickCommand],
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    decorator: ast.expr,
) -> ClickCommand | None:
    """``@click.command()``, ``@click.group()``, or ``@cli.command("name")`` on a group defined
    above (``@bot.command()`` of some other library is not click's)."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    kind = imports.member("click", target)
    parent = None
    if (
        kind is None
        and isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id in known
        and known[target.value.id].group
    ):
        kind, parent = target.attr, target.value.id
    if kind not in ("command", "group"):
        return None
    name = _explicit_name(decorator) or _click_command_name(function.name)
    return ClickCommand(function, decorator, name, kind == "group", parent)


def _explicit_name(decorator: ast.expr) -> str:
    """The name given to a ``command(...)``/``add_command(...)`` call, positionally or not."""
    if not isinstance(decorator, ast.Call):
        return ""
    names = string_args(decorator)
    return names[0] if names else text_of(keywords(decorator).get("name"))


def _click_command_name(function_name: str) -> str:
    """click's own naming: ``build_cmd`` -> ``build``, ``do_thing`` -> ``do-thing``."""
    name = function_name.lower().replace("_", "-")
    stem, dash, suffix = name.rpartition("-")
    return stem if dash and stem and suffix in CLICK_COMMAND_SUFFIXES else name


def _attach_added_commands(tree: ast.Module, commands: dict[str, ClickCommand]) -> None:
    """``cli.add_command(build)`` or ``cli.add_command(build, "make")`` at module level."""
    for group, member, call in registrations(tree, "add_command"):
        command = commands.get(member)
        if command is None:
            continue
        command.parent = group
        renamed = [text_of(a) for a in call.args[1:2]] or [text_of(keywords(call).get("name"))]
        command.name = renamed[0] or command.name


def _click_command_interface(
    source: Source, commands: dict[str, ClickCommand], command: ClickCommand
) -> Interface:
    subcommands = {
        child.name: _click_command_interface(source, commands, child)
        for child in commands.values()
        if command.group and child.parent == command.function.name
    }
    declarations = [
        call
        for decorator in command.function.decorator_list
        if decorator is not command.decorator
        for call in _option_calls(source, decorator, MAX_SHARED_DEPTH, frozenset())
    ]
    params = [
        param for call in declarations if (param := _click_param(source.imports, call)) is not None
    ]
    return build_interface(
        "click",
        _click_description(command),
        params,
        source.evidence(command.decorator),
        subcommands,
        markup=source.imports.rich,
    )


def _option_calls(
    source: Source, node: ast.AST, depth: int, seen: frozenset[str]
) -> list[ast.Call]:
    """The ``click.option``/``click.argument`` calls in ``node``, in source order. Names of
    module-level functions and variables are followed ``depth`` deep, so options declared once
    and shared by several commands (``@shared_options()``, ``@output_options``, a list a helper
    applies) count as written on each command."""
    if source.imports.calls(node, "click", "option", "argument"):
        return [node]
    if isinstance(node, ast.Name):
        return _named_option_calls(source, node.id, depth, seen)
    return [
        call
        for child in ast.iter_child_nodes(node)
        for call in _option_calls(source, child, depth, seen)
    ]


def _named_option_calls(
    source: Source, name: str, depth: int, seen: frozenset[str]
) -> list[ast.Call]:
    """The option calls of the definition ``name`` names: a function's body (its own
    decorators belong to it, not to its callers) or a variable's value."""
    definition = source.definitions.get(name)
    if definition is None or depth == 0 or name in seen:
        return []
    parts = (
        definition.body
        if isinstance(definition, ast.FunctionDef | ast.AsyncFunctionDef)
        else [definition]
    )
    inner = seen | {name}
    return [call for part in parts for call in _option_calls(source, part, depth - 1, inner)]


def _click_description(command: ClickCommand) -> str:
    """``help=`` on the decorator, else the docstring."""
    if isinstance(command.decorator, ast.Call):
        given = text_of(keywords(command.decorator).get("help"))
        if given:
            return given
    return docstring_of(command.function)


def _click_param(imports: Imports, decorator: ast.expr) -> CliParam | None:
    """The parameter an ``@click.option``/``@click.argument`` declares (other decorators:
    None)."""
    if not isinstance(decorator, ast.Call):
        return None
    kind = imports.member("click", decorator.func)
    if kind not in ("option", "argument"):
        return None
    options = keywords(decorator)
    if json_literal(options.get("hidden")) is True:
        return None
    declared = string_args(decorator)
    if kind == "argument":
        return _click_argument(imports, declared, options) if declared else None
    return _click_option(imports, declared, options)


def _click_argument(
    imports: Imports, declared: list[str], options: dict[str, ast.expr]
) -> CliParam:
    nargs = json_literal(options.get("nargs"))
    default = literal_default(options.get("default"))
    required = json_literal(options.get("required"))
    if not isinstance(required, bool):
        required = default is NOT_LITERAL and nargs != -1
    schema = _click_value_schema(imports, options, nargs, multiple=False)
    return CliParam(identifier(declared[0].lower()), schema, required=required)


def _click_option(
    imports: Imports, declared: list[str], options: dict[str, ast.expr]
) -> CliParam | None:
    """``@click.option("--shout/--no-shout")``, ``("-n", "--count", type=int)``, ``("--name",
    "dest")``: the name is the explicit identifier, else the first long flag's."""
    flags, negatives = split_switches(declared)
    if not flags:
        return None
    explicit = next((d for d in declared if d.isidentifier()), None)
    name = identifier(explicit or long_flag(flags).lower())
    flag, help_text = long_flag(flags), text_of(options.get("help"))
    default = literal_default(options.get("default"))
    required = json_literal(options.get("required")) is True
    if json_literal(options.get("count")) is True:
        schema = with_description({"type": "integer", "minimum": 0}, help_text)
        return CliParam(name, schema, flag, required=required)
    if negatives or json_literal(options.get("is_flag")) is True or "flag_value" in options:
        schema = switch_schema(default, help_text)
        return CliParam(name, schema, flag, negatives[0] if negatives else None, required)
    multiple = json_literal(options.get("multiple")) is True
    schema = _click_value_schema(imports, options, json_literal(options.get("nargs")), multiple)
    return CliParam(name, schema, flag, required=required)


def _click_value_schema(
    imports: Imports, options: dict[str, ast.expr], nargs: Any, multiple: bool
) -> dict[str, Any]:
    """``nargs=2`` and tuple types take that many values at once; ``multiple=True`` and
    ``nargs=-1`` repeat them."""
    is_array = multiple or nargs == -1
    width = nargs if isinstance(nargs, int) else 1
    declared = _click_type(imports, options.get("type"))
    default = literal_default(options.get("default"))
    return value_schema(declared, default, is_array, text_of(options.get("help")), width)


def _click_type(imports: Imports, node: ast.expr | None) -> dict[str, Any]:
    """``int``, ``click.INT``, ``click.Choice([...])``, ``click.Path(...)``, ``click.File()``,
    and tuples of those: ``(str, int)``, ``click.Tuple([str, int])``."""
    if node is None:
        return {}
    member = imports.member("click", node.func if isinstance(node, ast.Call) else node)
    elements = _tuple_elements(node, member)
    if elements:
        return fixed_array([_click_type(imports, e) or {"type": "string"} for e in elements])
    if member == "Choice" and isinstance(node, ast.Call) and node.args:
        choices = json_literal(node.args[0])
        return enum_schema(choices) if isinstance(choices, list) else {"type": "string"}
    if member in CLICK_TYPES:
        return dict(CLICK_TYPES[member])
    return dict(SCALAR_NAMES.get(dotted_tail(node), {}))


def _tuple_elements(node: ast.expr, member: str | None) -> list[ast.expr]:
    """The member types of a tuple type: ``(str, int)`` or ``click.Tuple([str, int])``."""
    if member == "Tuple" and isinstance(node, ast.Call) and node.args:
        node = node.args[0]
    return node.elts if isinstance(node, ast.Tuple | ast.List) else []


# --- typer ------------------------------------------------------------------------------------


@dataclass
class TyperApp:
    """A ``typer.Typer()`` and what is registered on it."""

    variable: str
    call: ast.Call
    commands: list[tuple[str, ast.expr, ast.FunctionDef | ast.AsyncFunctionDef]] = field(
        default_factory=list
    )  # (name, decorator, function)
    callback: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    sub_apps: list[tuple[str, str]] = field(default_factory=list)  # (name, app variable)
    added: bool = False  # registered inside another app with add_typer


@dataclass
class EnumClass:
    """An Enum the module defines: its choices, and each member's value for defaults."""

    schema: dict[str, Any]
    members: dict[str, Any]


def typer_interface(source: Source, wanted: str | None) -> Interface | None:
    """The app ``wanted`` names, else the function ``typer.run`` runs, else the first app that
    is not part of another."""
    apps = _typer_apps(source)
    enums = _enums(source.tree)
    if wanted in apps:
        return _app_interface(source, apps, enums, apps[wanted])
    run = _typer_run(source)
    if run is not None:
        call, function = run
        return _typer_command_interface(source, enums, function, call, None)
    root = next((app for app in apps.values() if not app.added and _has_commands(app)), None)
    return _app_interface(source, apps, enums, root) if root else None


def _has_commands(app: TyperApp) -> bool:
    return bool(app.commands or app.sub_apps or app.callback)


def _typer_apps(source: Source) -> dict[str, TyperApp]:
    apps: dict[str, TyperApp] = {}
    for statement in source.tree.body:
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.targets[0], ast.Name)
            and source.imports.calls(statement.value, "typer", "Typer")
        ):
            name = statement.targets[0].id
            apps[name] = TyperApp(name, statement.value)
    for function in source.functions():
        _register_typer_function(apps, function)
    _register_sub_apps(source.tree, apps)
    return apps


def _register_typer_function(
    apps: dict[str, TyperApp], function: ast.FunctionDef | ast.AsyncFunctionDef
) -> None:
    """``@app.command()`` / ``@app.command("name")`` and ``@app.callback()``."""
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if not (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)):
            continue
        app = apps.get(target.value.id)
        if app is None:
            continue
        if target.attr == "command":
            name = _explicit_name(decorator) or function.name.lower().replace("_", "-")
            app.commands.append((name, decorator, function))
        elif target.attr == "callback":
            app.callback = function


def _register_sub_apps(tree: ast.Module, apps: dict[str, TyperApp]) -> None:
    """``app.add_typer(users_app, name="users")``."""
    for parent, member, call in registrations(tree, "add_typer"):
        if parent not in apps or member not in apps:
            continue
        child = apps[member]
        name = text_of(keywords(call).get("name")) or text_of(keywords(child.call).get("name"))
        if name:
            apps[parent].sub_apps.append((name, member))
            child.added = True


def _typer_run(
    source: Source,
) -> tuple[ast.Call, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    """``typer.run(main)`` anywhere in the module, with the function it runs."""
    functions = {f.name: f for f in source.functions()}
    for node in ast.walk(source.tree):
        if (
            source.imports.calls(node, "typer", "run")
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in functions
        ):
            return node, functions[node.args[0].id]
    return None


def _app_interface(
    source: Source, apps: dict[str, TyperApp], enums: dict[str, EnumClass], app: TyperApp
) -> Interface:
    """One command and no callback: that command is the program. Otherwise each command (and
    each added app) is a subcommand and the callback's options belong to the program."""
    help_text = text_of(keywords(app.call).get("help"))
    if len(app.commands) == 1 and not app.sub_apps and app.callback is None:
        _, decorator, function = app.commands[0]
        command = _typer_command_interface(source, enums, function, decorator, help_text)
        return command.model_copy(update={"evidence": source.evidence(app.call)})
    subcommands = {
        name: _typer_command_interface(source, enums, function, decorator, None)
        for name, decorator, function in app.commands
    }
    for name, variable in app.sub_apps:
        subcommands[name] = _app_interface(source, apps, enums, apps[variable])
    callback = app.callback
    params = _typer_params(source.imports, enums, callback) if callback else []
    description = help_text or docstring_of(callback)
    evidence = source.evidence(app.call)
    return build_interface("typer", description, params, evidence, subcommands, markup=True)


def docstring_of(function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> str:
    """A command's help as click (and typer) show it: the docstring up to the ``\\f`` mark."""
    return (ast.get_docstring(function) or "").split("\f")[0].strip() if function else ""


def _typer_command_interface(
    source: Source,
    enums: dict[str, EnumClass],
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    registration: ast.expr,
    fallback_help: str | None,
) -> Interface:
    """A command: ``help=`` on its registration, else its docstring, else the app's help."""
    given = (
        text_of(keywords(registration).get("help")) if isinstance(registration, ast.Call) else ""
    )
    description = given or docstring_of(function) or fallback_help or ""
    params = _typer_params(source.imports, enums, function)
    evidence = source.evidence(registration)
    return build_interface("typer", description, params, evidence, markup=True)


def _typer_params(
    imports: Imports, enums: dict[str, EnumClass], function: ast.FunctionDef | ast.AsyncFunctionDef
) -> list[CliParam]:
    params: list[CliParam] = []
    named = {name: enum.schema for name, enum in enums.items()}
    for arg, default in parameters_with_defaults(function.args):
        annotation, info = _typer_annotation(imports, arg.annotation)
        if info is None and imports.calls(default, "typer", "Option", "Argument"):
            info, default = default, _info_default(default)
        if annotation is not None and dotted_tail(annotation) == "Context":
            continue
        schema = annotation_schema(annotation, named)
        params.append(_typer_param(imports, enums, arg.arg, schema, default, info))
    return params


def _typer_annotation(
    imports: Imports, annotation: ast.expr | None
) -> tuple[ast.expr | None, ast.Call | None]:
    """``Annotated[int, typer.Option(...)]`` -> (int, the Option call)."""
    if not (
        isinstance(annotation, ast.Subscript)
        and dotted_tail(annotation.value) == "Annotated"
        and isinstance(annotation.slice, ast.Tuple)
    ):
        return annotation, None
    base, *metadata = annotation.slice.elts
    for item in metadata:
        if imports.calls(item, "typer", "Option", "Argument"):
            return base, item
    return base, None


def _info_default(info: ast.Call) -> ast.expr | None:
    """The default an old-style ``typer.Option(default, "--flag")`` carries (``...``: none)."""
    given = keywords(info).get("default")
    if given is None and info.args and not _is_flag(info.args[0]):
        given = info.args[0]
    if isinstance(given, ast.Constant) and given.value is Ellipsis:
        return None
    return given


def _is_flag(node: ast.expr) -> TypeGuard[ast.Constant]:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value[:1] == "-"


def _declared_flags(info: ast.Call | None) -> list[str]:
    """The flags an Option declares, wherever they stand (old-style calls put the default
    first: ``typer.Option(..., "--out", "-o")``)."""
    return [str(a.value) for a in info.args if _is_flag(a)] if info else []


def _typer_param(
    imports: Imports,
    enums: dict[str, EnumClass],
    name: str,
    schema: dict[str, Any],
    default: ast.expr | None,
    info: ast.Call | None,
) -> CliParam:
    """No default or ``typer.Argument`` -> positional; otherwise an option named after the
    parameter."""
    value = _typer_default(enums, default)
    declared = schema or _type_from_default(value) or {"type": "string"}
    help_text = text_of(keywords(info).get("help")) if info else ""
    schema = with_default(with_description(declared, help_text), value)
    is_argument = imports.member("typer", info.func) == "Argument" if info else default is None
    if is_argument:
        return CliParam(name, schema, required=default is None)
    flag, false_flag = _typer_flags(name, _declared_flags(info), schema.get("type") == "boolean")
    return CliParam(name, schema, flag, false_flag, required=default is None)


def _typer_flags(name: str, declared: list[str], switch: bool) -> tuple[str, str | None]:
    """The option's flag, and for a bool the flag that passes False: typer adds ``--no-x``
    unless the declaration names the flags itself (``"--force"`` alone has no negation)."""
    if not declared:
        flag = "--" + name.replace("_", "-")
        return flag, "--no-" + flag[2:] if switch else None
    flags, negations = split_switches(declared)
    return long_flag(flags), negations[0] if switch and negations else None


def _typer_default(enums: dict[str, EnumClass], default: ast.expr | None) -> Any:
    """A literal default, or an Enum member's value (``Color.red`` -> ``"red"``)."""
    if (
        isinstance(default, ast.Attribute)
        and isinstance(default.value, ast.Name)
        and default.value.id in enums
    ):
        return enums[default.value.id].members.get(default.attr, NOT_LITERAL)
    return literal_default(default)


def _enums(tree: ast.Module) -> dict[str, EnumClass]:
    """The module's Enum classes with their members' literal values, in order."""
    enums: dict[str, EnumClass] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        if not any(dotted_tail(base) in ENUM_BASES for base in node.bases):
            continue
        members: dict[str, Any] = {}
        for statement in node.body:
            if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
                value = json_literal(statement.value)
                if value is not NOT_LITERAL:
                    members[statement.targets[0].id] = value
        enums[node.name] = EnumClass(enum_schema(list(members.values())), members)
    return enums
