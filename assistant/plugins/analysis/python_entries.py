"""Python entry points that packaging metadata does not declare: scripts, ``python -m``
packages, HTTP apps, MCP servers and agent projects.

Console scripts are the packaging scanner's; this one finds what a person would run by hand
and what a framework serves or loads. Code is read with ``ast`` and never imported. Every
file is first filtered on its text (a file without "FastAPI" cannot define a FastAPI app), so
only the few files that can matter are parsed, and each of those once.

Commands and modules are given from the finding's ``root``: the nearest folder upwards that
holds a project file, because that is where the plugin's environment is built and run.
"""

from __future__ import annotations

import ast
import json
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from assistant.plugins.analysis.files import RepoFiles, split_lines
from assistant.plugins.analysis.profile import (
    EntryPointFinding,
    Evidence,
    Findings,
    Interface,
    capped_evidence,
    evidence_at,
)
from assistant.plugins.analysis.signature import (
    annotation_schema,
    docstring_summary,
    dotted_tail,
    model_interface,
    object_schema,
    parameter_schema,
)

ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "langgraph.json")
NOT_ENTRY_DIRS = frozenset({"tests", "test", "testing", "docs", "doc"})
NOT_ENTRY_FILES = frozenset({"setup.py", "conftest.py"})
EXAMPLE_DIRS = frozenset({"examples", "example"})
PACKAGE_FILES = ("__main__.py", "__init__.py")

SCRIPT_CONFIDENCE = 0.9
EXAMPLE_CONFIDENCE = 0.5
CREW_CLASS_CONFIDENCE = 0.6  # only the crew class is known, not what kicks it off
COMPILED_GRAPH_CONFIDENCE = 0.7  # no langgraph.json names it
UNCERTAIN_APP_CONFIDENCE = 0.6  # a URL prefix only known at run time, or an app the server
#                                may not find in the file it is given
AUTOGPT_STARTED_CONFIDENCE = 0.8
AUTOGPT_UNSTARTED_CONFIDENCE = 0.5

# Checked in this order: typer is built on click, and both files often import argparse too.
CLI_FRAMEWORKS = ("typer", "click", "argparse")
_CLI_IMPORT = re.compile(r"^\s*(?:from|import)\s+(typer|click|argparse)\b", re.MULTILINE)
# `sys.exit(main())`: the wrapped call is the entry point; `typer.run(main)`: the argument is.
WRAPPING_CALLS = frozenset({"sys.exit", "exit", "SystemExit", "asyncio.run"})
CALLABLE_RUNNERS = frozenset({"typer.run", "anyio.run"})

HTTP_APPS = {"fastapi.FastAPI": "fastapi", "flask.Flask": "flask"}
HTTP_ROUTERS = {
    "fastapi.APIRouter": "fastapi",
    "fastapi.routing.APIRouter": "fastapi",
    "flask.Blueprint": "flask",
}
ROUTE_VERBS = frozenset({"get", "post", "put", "delete", "patch", "head", "options"})
ROUTE_ANY_VERB = frozenset({"route", "api_route"})  # methods=[...], GET when absent
INCLUDE_CALLS = frozenset({"include_router", "register_blueprint"})
PREFIX_KEYWORDS = ("prefix", "url_prefix")
FLASK_APP_NAMES = frozenset({"app", "application"})  # what `flask --app FILE` looks for first
FLASK_FACTORIES = frozenset({"create_app", "make_app"})  # ... and the factories it calls
_ROUTE_DECORATOR = re.compile(
    r"^\s*@[\w.]+\.(?:" + "|".join(sorted(ROUTE_VERBS | ROUTE_ANY_VERB)) + r")\(", re.MULTILINE
)

MCP_SERVERS = {
    "mcp.server.fastmcp.FastMCP": "fastmcp",
    "mcp.server.mcpserver.MCPServer": "fastmcp",  # mcp 2.x's name for FastMCP
    "fastmcp.FastMCP": "fastmcp",
    "mcp.server.Server": "mcp",
    "mcp.server.lowlevel.Server": "mcp",
    "mcp.server.lowlevel.server.Server": "mcp",
}
GRAPH_BUILDERS = frozenset(
    {
        "langgraph.graph.StateGraph",
        "langgraph.graph.MessageGraph",
        "langgraph.graph.state.StateGraph",
    }
)
GRAPH_FACTORIES = frozenset({"langgraph.prebuilt.create_react_agent"})  # return compiled graphs
GRAPH_INPUT_KEYWORDS = ("input_schema", "input")  # langgraph's newer and older spelling
AUTOGPT_IMPORTS = ("autogpt", "forge", "agent_protocol")

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def scan_python_entries(files: RepoFiles) -> Findings:
    """Every Python program, service and agent the repository offers beyond its packaging."""
    repo = _Repo(files)
    entries = [
        *_package_entries(repo),
        *_script_entries(repo),
        *_HttpApps(repo).entries(),
        *_mcp_entries(repo),
        *_crewai_entries(repo),
        *_langgraph_entries(repo),
        *_autogpt_entries(repo),
    ]
    return Findings(entry_points=entries)


# --- the repository and its sources ------------------------------------------------------


@dataclass
class _Source:
    """One parsed Python file, with what its imports make its names mean."""

    rel: str
    text: str
    tree: ast.Module

    @cached_property
    def lines(self) -> list[str]:
        return split_lines(self.text)

    @cached_property
    def statements(self) -> list[ast.stmt]:
        """Module-level statements, including those in module-level if/try blocks (optional
        imports, platform switches), but not the `__main__` block: what it defines is not
        there when the module is imported."""
        return list(_flatten(self.tree.body))

    @cached_property
    def imported(self) -> list[tuple[str, str, int]]:
        """Module-level imports as (local name, dotted name, line): ('FastMCP',
        'mcp.server.fastmcp.FastMCP', 1); relative ones keep their dots ('.routers.items')."""
        return _imports(self.statements)

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Local name -> the dotted name it was imported as."""
        return {local: dotted for local, dotted, _ in self.imported}

    @cached_property
    def functions(self) -> list[FunctionNode]:
        return [s for s in self.statements if isinstance(s, FunctionNode)]

    @cached_property
    def assignments(self) -> list[tuple[str, ast.expr, int]]:
        """Module-level `name = value` bindings, as (name, value, line)."""
        return _assignments(self.statements)

    @cached_property
    def bound_names(self) -> frozenset[str]:
        """Names the module defines or imports: what a `__main__` block can call."""
        defined = {s.name for s in self.statements if isinstance(s, FunctionNode | ast.ClassDef)}
        return frozenset(defined | {name for name, _, _ in self.assignments} | set(self.aliases))

    @cached_property
    def main_block(self) -> ast.If | None:
        for stmt in self.tree.body:
            if isinstance(stmt, ast.If) and _is_main_test(stmt.test):
                return stmt
        return None

    @cached_property
    def calls(self) -> list[tuple[str, ast.Call]]:
        """Every call in the file, at any depth, with the dotted name it calls, in line order."""
        found = [
            (called, node)
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Call) and (called := self.qualified(node.func))
        ]
        return sorted(found, key=lambda pair: (pair[1].lineno, pair[1].col_offset))

    @cached_property
    def has_relative_imports(self) -> bool:
        return any(alias.startswith(".") for alias in self.aliases.values())

    def qualified(self, node: ast.expr) -> str | None:
        """The dotted name an expression refers to, through the imports ('web.FastAPI' after
        `import fastapi as web` -> 'fastapi.FastAPI')."""
        return _qualified(node, self.aliases)

    def called(self, node: ast.expr) -> str | None:
        """The dotted name of the function a call expression calls, None if not a call."""
        return self.qualified(node.func) if isinstance(node, ast.Call) else None

    def import_line(self, *packages: str) -> int | None:
        """The line of the first module-level import from one of ``packages`` ('crewai')."""
        return next(
            (
                line
                for _, dotted, line in self.imported
                for package in packages
                if dotted == package or dotted.startswith(package + ".")
            ),
            None,
        )

    def evidence(self, line: int | None) -> Evidence:
        return evidence_at(self.rel, self.lines, line)


class _Repo:
    """The repository seen as Python projects: which project (root) each file belongs to,
    where its imports start, and its sources parsed at most once."""

    def __init__(self, files: RepoFiles):
        self.files = files
        self._special = files.named(*ROOT_MARKERS, "__main__.py")  # one pass over the paths
        self._project_dirs = frozenset(
            _folder(p) for p in self._special if p.rpartition("/")[2] in ROOT_MARKERS
        )
        self._sources: dict[str, _Source | None] = {}

    def candidates(self, *needles: str) -> Iterator[str]:
        """Python files that may be entry points and whose text holds one of ``needles``."""
        for rel in self.files.with_suffix(".py"):
            if _is_test_or_doc(rel):
                continue
            text = self.files.text(rel)
            if text is not None and any(needle in text for needle in needles):
                yield rel

    @cached_property
    def mains(self) -> list[str]:
        """Every `__main__.py` outside tests and documentation."""
        return [
            p
            for p in self._special
            if p.rpartition("/")[2] == "__main__.py" and not _is_test_or_doc(p)
        ]

    @cached_property
    def langgraph_configs(self) -> list[str]:
        return [p for p in self._special if p.rpartition("/")[2] == "langgraph.json"]

    def source(self, rel: str) -> _Source | None:
        if rel not in self._sources:
            text, tree = self.files.text(rel), self.files.python(rel)
            self._sources[rel] = None if text is None or tree is None else _Source(rel, text, tree)
        return self._sources[rel]

    def root_of(self, rel: str) -> str:
        """The nearest folder above ``rel`` holding a project file, "." for the repository."""
        folder = _folder(rel)
        while folder not in self._project_dirs and folder:
            folder = _folder(folder)
        return folder or "."

    def module_of(self, rel: str, root: str) -> str | None:
        """The dotted module of a file as imported from the project ``root``, whose imports
        start at `src/` in a src layout; None when the path is not importable."""
        base = _import_root(rel, root)
        parts = posixpath.splitext(rel[len(base) + 1 :] if base else rel)[0].split("/")
        if parts[-1] == "__init__":
            parts.pop()
        if not parts or not all(part.isidentifier() for part in parts):
            return None
        return ".".join(parts)

    def module_file(self, from_rel: str, dotted: str) -> str | None:
        """The repository file an import of ``dotted`` from ``from_rel`` loads, if it is here."""
        level = len(dotted) - len(dotted.lstrip("."))
        if level:
            folder = _folder(from_rel)
            for _ in range(level - 1):
                folder = _folder(folder)
        else:
            folder = _import_root(from_rel, self.root_of(from_rel))
        path = _join(folder, dotted[level:].replace(".", "/"))
        for candidate in (path + ".py", _join(path, "__init__.py")):
            if self.files.exists(candidate):
                return candidate
        return None

    def package_of_main(self, main: str, root: str) -> str | None:
        """The package `python -m` runs for a `__main__.py`, None when its folder is not an
        importable package (the repository's or the import root's own `__main__.py`)."""
        module = self.module_of(main, root)
        package = module.removesuffix(".__main__") if module else None
        return None if package in (None, "__main__") else package

    def package_folders(self, rel: str, root: str) -> list[str]:
        """The folders from ``rel``'s own up to its import root, innermost first: its package
        and the packages around it."""
        stop = _import_root(rel, root)
        folders = [_folder(rel)]
        while folders[-1] != stop and folders[-1]:
            folders.append(_folder(folders[-1]))
        return folders

    def existing_source(self, rel: str) -> _Source | None:
        return self.source(rel) if self.files.exists(rel) else None

    def run_file(self, source: _Source, root: str) -> tuple[list[str], str | None]:
        """How to run a file as a program, and the module that runs: by path, unless its
        relative imports only work when it runs as a module of its package."""
        module = self.module_of(source.rel, root)
        if source.has_relative_imports and module:
            return ["python", "-m", module], module
        return ["python", _relative(source.rel, root)], None


def _imports(statements: Iterable[ast.stmt]) -> list[tuple[str, str, int]]:
    """The imports among ``statements`` as (local name, dotted name, line)."""
    found = []
    for stmt in statements:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                local = alias.asname or alias.name.split(".")[0]
                found.append((local, alias.name if alias.asname else local, stmt.lineno))
        elif isinstance(stmt, ast.ImportFrom):
            base = "." * stmt.level + (stmt.module or "")
            separator = "" if base.endswith(".") else "."
            for alias in stmt.names:
                found.append(
                    (alias.asname or alias.name, base + separator + alias.name, stmt.lineno)
                )
    return found


def _assignments(statements: Iterable[ast.stmt]) -> list[tuple[str, ast.expr, int]]:
    """The `name = value` bindings among ``statements``, as (name, value, line)."""
    found = []
    for stmt in statements:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            target = stmt.target
        else:
            continue
        if isinstance(target, ast.Name) and stmt.value is not None:
            found.append((target.id, stmt.value, stmt.lineno))
    return found


def _qualified(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The dotted name an expression refers to, through imports given as ``aliases``."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        base = _qualified(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


def _split_import(dotted: str) -> tuple[str, str]:
    """An imported name's module and name, relative dots kept: '.bp' -> ('.', 'bp'),
    'app.main.bp' -> ('app.main', 'bp'); a bare name has no module ('bp' -> ('', 'bp'))."""
    rest = dotted.lstrip(".")
    module, _, name = rest.rpartition(".")
    return dotted[: len(dotted) - len(rest)] + module, name


def _flatten(statements: Iterable[ast.stmt]) -> Iterator[ast.stmt]:
    for stmt in statements:
        if isinstance(stmt, ast.If):
            if not _is_main_test(stmt.test):
                yield from _flatten([*stmt.body, *stmt.orelse])
        elif isinstance(stmt, ast.Try):
            handlers = [s for handler in stmt.handlers for s in handler.body]
            yield from _flatten([*stmt.body, *handlers, *stmt.orelse, *stmt.finalbody])
        else:
            yield stmt


def _is_main_test(test: ast.expr) -> bool:
    """`__name__ == "__main__"`, either way round."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    sides = [test.left, test.comparators[0]]
    return (
        isinstance(test.ops[0], ast.Eq)
        and any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
        and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
    )


def _folder(rel: str) -> str:
    return rel.rpartition("/")[0]


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder and name else folder or name


def _relative(rel: str, root: str) -> str:
    return rel if root == "." else rel.removeprefix(root + "/")


def _import_root(rel: str, root: str) -> str:
    """Where imports start for ``rel``: the project's `src/` in a src layout, else the project."""
    base = "" if root == "." else root
    src = _join(base, "src")
    return src if rel.startswith(src + "/") else base


def _is_test_or_doc(rel: str) -> bool:
    """Tests, documentation and packaging files run under a harness, not as programs."""
    *folders, name = rel.split("/")
    return (
        any(folder in NOT_ENTRY_DIRS for folder in folders)
        or name in NOT_ENTRY_FILES
        or name.startswith("test_")
        or name.endswith("_test.py")
    )


def _summary(tree: ast.Module | FunctionNode | ast.ClassDef, *, first_line: bool = False) -> str:
    """A docstring's first paragraph on one line (or just its first line)."""
    docstring = ast.get_docstring(tree) or ""
    paragraph = docstring.strip().split("\n\n")[0]
    if first_line:
        return paragraph.split("\n")[0].strip()
    return " ".join(line.strip() for line in paragraph.splitlines())


def _cli_framework(text: str) -> str | None:
    imported = set(_CLI_IMPORT.findall(text))
    return next((framework for framework in CLI_FRAMEWORKS if framework in imported), None)


def _string(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _keyword(call: ast.Call, *names: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg in names), None)


def _argument(call: ast.Call, position: int, *keywords: str) -> ast.expr | None:
    """A call's argument given either by position or by one of the keyword names."""
    if len(call.args) > position and not isinstance(call.args[position], ast.Starred):
        return call.args[position]
    return _keyword(call, *keywords)


def _object_attribute(node: ast.expr) -> tuple[str, str] | None:
    """`obj.attr` -> (obj, attr): a method of a module-level object such as an app."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id, node.attr
    return None


def _decorator_parts(decorator: ast.expr) -> tuple[str, str, ast.Call | None] | None:
    """`@obj.attr(...)` or `@obj.attr` -> (obj, attr, the call or None)."""
    call = decorator if isinstance(decorator, ast.Call) else None
    found = _object_attribute(call.func if call else decorator)
    return (*found, call) if found else None


def _sanitised_name(text: str) -> str:
    """A capability-name seed from free text ('Weather Server' -> 'weather-server')."""
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._")[:64]


# --- python -m packages and scripts ------------------------------------------------------


def _package_entries(repo: _Repo) -> Iterator[EntryPointFinding]:
    """`python -m pkg` for every package with a `__main__.py`."""
    for rel in repo.mains:
        source = repo.source(rel)
        if source is None:
            continue
        root = repo.root_of(rel)
        package = repo.package_of_main(rel, root)
        if package is None:  # not importable: python runs the folder itself
            command, module = ["python", _relative(_folder(rel), root) or "."], None
        else:
            command, module = ["python", "-m", package], f"{package}.__main__"
        line = source.main_block.lineno if source.main_block else 1  # the whole file runs
        yield EntryPointFinding(
            kind="python_module",
            name=package or _folder(rel).rpartition("/")[2] or "main",
            root=root,
            command=command,
            module=module,
            file=rel,
            line=line,
            framework=_cli_framework(source.text),
            description=_summary(source.tree),
            evidence=[source.evidence(line)],
        )


def _script_entries(repo: _Repo) -> Iterator[EntryPointFinding]:
    """Every file with a module-level `if __name__ == "__main__":` block. A package's
    `__main__.py` is a python_module; an `__init__.py`'s block runs only when the file is run
    by path, which its package's relative imports forbid."""
    for rel in repo.candidates("__main__"):
        is_package_file = rel.rpartition("/")[2] in PACKAGE_FILES
        source = None if is_package_file else repo.source(rel)
        block = source.main_block if source else None
        if source is None or block is None:
            continue
        root = repo.root_of(rel)
        command, module = repo.run_file(source, root)
        in_examples = any(folder in EXAMPLE_DIRS for folder in rel.split("/")[:-1])
        yield EntryPointFinding(
            kind="python_script",
            name=posixpath.splitext(posixpath.basename(rel))[0],
            root=root,
            command=command,
            module=module,
            function=_main_function(source, block),
            file=rel,
            line=block.lineno,
            framework=_cli_framework(source.text),
            description=_summary(source.tree),
            evidence=[source.evidence(block.lineno)],
            confidence=EXAMPLE_CONFIDENCE if in_examples else SCRIPT_CONFIDENCE,
        )


def _main_function(source: _Source, block: ast.If) -> str | None:
    """The function the `__main__` block hands control to; the last such call wins, since
    setup (logging, environment) comes before it."""
    found = None
    for stmt in block.body:
        call = stmt.exc if isinstance(stmt, ast.Raise) else getattr(stmt, "value", None)
        if isinstance(call, ast.Call):
            found = _entry_call(source, call) or found
    return found


def _entry_call(source: _Source, call: ast.Call) -> str | None:
    """`main()`, `sys.exit(main())`, `asyncio.run(main())`, `typer.run(main)` -> "main"."""
    called = source.qualified(call.func)
    argument = call.args[0] if call.args else None
    if called in WRAPPING_CALLS:
        return _entry_call(source, argument) if isinstance(argument, ast.Call) else None
    if called in CALLABLE_RUNNERS:
        return argument.id if isinstance(argument, ast.Name) else None
    if isinstance(call.func, ast.Name) and call.func.id in source.bound_names:
        return call.func.id
    return None


# --- HTTP apps -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _HttpObject:
    """An app or a router (APIRouter, Blueprint) bound to a module-level name."""

    framework: str
    is_app: bool
    prefix: str | None
    line: int


@dataclass(frozen=True)
class _Route:
    owner: str
    path: str
    methods: tuple[str, ...]
    function: FunctionNode
    line: int


@dataclass(frozen=True)
class _Include:
    """`owner.include_router(target, prefix=...)` / `owner.register_blueprint(target, ...)`."""

    owner: str
    target: ast.expr
    prefix: str | None


@dataclass(frozen=True)
class _HttpModule:
    """The apps, routers, routes and includes of one scope: a module's top level, or the body
    of an app factory, which also sees its module's names and imports."""

    source: _Source
    objects: dict[str, _HttpObject]
    routes: list[_Route]
    includes: list[_Include]
    aliases: dict[str, str]
    factory: FunctionNode | None = None


class _HttpApps:
    """FastAPI and Flask apps (module-level or built by a Flask factory), one finding per route
    and method, following routers that an app includes from its own file or from another file
    of the repository, and routes that other files declare on an app or router they import."""

    def __init__(self, repo: _Repo):
        self.repo = repo
        self._modules: dict[str, _HttpModule | None] = {}

    def entries(self) -> Iterator[EntryPointFinding]:
        for rel in self.repo.candidates("FastAPI(", "Flask("):
            module = self.module(rel)
            if module is None:
                continue
            for var, found in module.objects.items():
                if found.is_app:
                    yield from self._app_entries(module, var, found)
            for factory, var in _flask_factories(module):
                yield from self._app_entries(factory, var, factory.objects[var])

    def module(self, rel: str) -> _HttpModule | None:
        if rel not in self._modules:
            source = self.repo.source(rel)
            self._modules[rel] = _read_http_module(source) if source else None
        return self._modules[rel]

    def _app_entries(
        self, app_module: _HttpModule, var: str, app: _HttpObject
    ) -> Iterator[EntryPointFinding]:
        root = self.repo.root_of(app_module.source.rel)
        target = self.repo.module_of(app_module.source.rel, root)
        rel = app_module.source.rel
        command = _serve_command(app.framework, rel, root, target, var) if target else None
        located = _found_by_server(app_module, var, app)
        app_evidence = app_module.source.evidence(app.line)
        for module, route, url in self._routes(app_module, var, _Url(), set()):
            for method in route.methods:
                suffix = f"_{method.lower()}" if len(route.methods) > 1 else ""
                yield EntryPointFinding(
                    kind="http_app",
                    name=route.function.name + suffix,
                    root=root,
                    command=command,
                    module=self.repo.module_of(module.source.rel, root),
                    function=route.function.name,
                    url=url.path,
                    method=method,
                    file=module.source.rel,
                    line=route.line,
                    framework=app.framework,
                    description=_summary(route.function, first_line=True),
                    evidence=capped_evidence([module.source.evidence(route.line), app_evidence]),
                    confidence=1.0 if url.exact and located else UNCERTAIN_APP_CONFIDENCE,
                )

    def _routes(
        self, module: _HttpModule, var: str, prefix: _Url, seen: set[tuple[str, str, str]]
    ) -> Iterator[tuple[_HttpModule, _Route, _Url]]:
        """The routes of one app or router: its own first, then those other files declare on
        it, then those of what it includes."""
        scope = module.factory.name if module.factory else ""
        if (module.source.rel, scope, var) in seen:
            return
        seen.add((module.source.rel, scope, var))
        prefix = prefix.join(module.objects[var].prefix)
        attached = [] if module.factory else self._imported_routes.get((module.source.rel, var))
        owned = [(module, route) for route in module.routes if route.owner == var]
        for declaring, route in [*owned, *(attached or [])]:
            yield declaring, route, prefix.join(route.path)
        for include in module.includes:
            included = self._resolve(module, include.target) if include.owner == var else None
            if included:
                yield from self._routes(*included, prefix.join(include.prefix), seen)

    @cached_property
    def _imported_routes(self) -> dict[tuple[str, str], list[tuple[_HttpModule, _Route]]]:
        """Routes declared on an app or router the declaring file imports (`from app.main
        import bp`, then `@bp.route(...)`), keyed by the file and name that define it."""
        found: dict[tuple[str, str], list[tuple[_HttpModule, _Route]]] = {}
        for rel in self.repo.candidates("@"):
            if not _ROUTE_DECORATOR.search(self.repo.files.text(rel) or ""):
                continue
            module = self.module(rel)
            for route in module.routes if module else []:
                where = self._owner_elsewhere(module, route) if module else None
                if module and where:
                    found.setdefault(where, []).append((module, route))
        return found

    def _owner_elsewhere(self, module: _HttpModule, route: _Route) -> tuple[str, str] | None:
        """(file, name) of a route's app or router when the route's file imports it."""
        if route.owner in module.objects or route.owner not in module.aliases:
            return None
        return self._import_target(module, module.aliases[route.owner])

    def _resolve(self, module: _HttpModule, target: ast.expr) -> tuple[_HttpModule, str] | None:
        """The router an include names: in the same scope, imported by name
        (`from .items import router`) or through its module (`items.router`)."""
        if isinstance(target, ast.Name) and target.id in module.objects:
            return module, target.id
        where = self._import_target(module, _qualified(target, module.aliases) or "")
        other = self.module(where[0]) if where else None
        return (other, where[1]) if other and where and where[1] in other.objects else None

    def _import_target(self, module: _HttpModule, dotted: str) -> tuple[str, str] | None:
        """(file, name) of an imported name when its module is a file of the repository."""
        package, name = _split_import(dotted)
        rel = self.repo.module_file(module.source.rel, package) if package else None
        return (rel, name) if rel else None


def _read_http_module(source: _Source) -> _HttpModule:
    objects = _http_objects(source.assignments, source.aliases)
    return _http_scope(source, source.statements, objects, source.aliases)


def _http_scope(
    source: _Source,
    statements: list[ast.stmt],
    objects: dict[str, _HttpObject],
    aliases: dict[str, str],
    factory: FunctionNode | None = None,
) -> _HttpModule:
    """A scope's routes and includes; a route's owner may also be an imported name, which
    names an app or router of another file."""
    owners = set(objects) | set(aliases)
    routes = [
        route
        for function in statements
        if isinstance(function, FunctionNode)
        for decorator in function.decorator_list
        if (route := _route(decorator, function, owners))
    ]
    includes = _includes(statements, objects)
    return _HttpModule(source, objects, routes, includes, aliases, factory)


def _http_objects(
    assignments: list[tuple[str, ast.expr, int]], aliases: dict[str, str]
) -> dict[str, _HttpObject]:
    """The apps and routers among ``assignments`` (`app = Flask(__name__)`)."""
    objects: dict[str, _HttpObject] = {}
    for name, value, line in assignments:
        called = _qualified(value.func, aliases) if isinstance(value, ast.Call) else None
        framework = HTTP_APPS.get(called or "") or HTTP_ROUTERS.get(called or "")
        if framework and isinstance(value, ast.Call):
            objects[name] = _HttpObject(framework, called in HTTP_APPS, _prefix(value), line)
    return objects


def _flask_factories(module: _HttpModule) -> Iterator[tuple[_HttpModule, str]]:
    """Flask application factories: module-level functions that build a Flask app and return
    it (`def create_app(): app = Flask(__name__); ...; return app`), each as the scope of its
    body (with the imports made there) and the name of the app it returns."""
    for function in module.source.functions:
        body = list(_flatten(function.body))
        aliases = {**module.aliases, **{local: dotted for local, dotted, _ in _imports(body)}}
        built = _http_objects(_assignments(body), aliases)
        returned = [
            stmt.value.id
            for stmt in body
            if isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Name)
        ]
        app = next((var for var in returned if var in built and built[var].is_app), None)
        if app and built[app].framework == "flask":
            objects = {**module.objects, **built}
            yield _http_scope(module.source, body, objects, aliases, function), app


def _route(decorator: ast.expr, function: FunctionNode, owners: set[str]) -> _Route | None:
    """`@app.get("/p")`, `@bp.route("/p", methods=["POST"])` -> the route, else None."""
    found = _decorator_parts(decorator)
    if found is None:
        return None
    owner, verb, call = found
    if owner not in owners or call is None:
        return None
    path = _string(_argument(call, 0, "path", "rule"))
    if path is None:
        return None
    if verb in ROUTE_VERBS:
        methods: tuple[str, ...] = (verb.upper(),)
    elif verb in ROUTE_ANY_VERB:
        listed = _keyword(call, "methods")
        elements = listed.elts if isinstance(listed, ast.List | ast.Tuple) else []
        methods = tuple(m.upper() for e in elements if (m := _string(e))) or ("GET",)
    else:
        return None
    return _Route(owner, path, methods, function, decorator.lineno)


def _includes(statements: list[ast.stmt], objects: dict[str, _HttpObject]) -> list[_Include]:
    found = []
    for stmt in statements:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and call.args):
            continue
        method = _object_attribute(call.func)
        if method and method[0] in objects and method[1] in INCLUDE_CALLS:
            found.append(_Include(method[0], call.args[0], _prefix(call)))
    return found


def _prefix(call: ast.Call) -> str | None:
    """A router's or an include's URL prefix: "" when none is given, None when computed."""
    given = _keyword(call, *PREFIX_KEYWORDS)
    return "" if given is None else _string(given)


@dataclass(frozen=True)
class _Url:
    """A route's URL built from the app down; no longer exact once a part of it is computed
    (`prefix=settings.API_PREFIX`): that part is then missing from ``path``."""

    path: str = ""
    exact: bool = True

    def join(self, part: str | None) -> _Url:
        if part is None:
            return _Url(self.path, exact=False)
        if self.path and part.startswith("/"):
            return _Url(self.path.rstrip("/") + part, self.exact)
        return _Url(self.path + part, self.exact)


def _serve_command(framework: str, rel: str, root: str, target: str, var: str) -> list[str]:
    """How the app is served on the free port Mark-1's http adapter puts in ``{port}``.

    Runs start in a scratch folder, not the repository, so the app is located by path: the
    adapter turns a word into an absolute path only when the whole word names one of the
    plugin's files (``.``, ``app.py``, ``app``), so Flask is given a bare path and finds the
    app (or the factory) in it by itself; a package is given as its folder.
    """
    here = rel if root in (".", "") else rel.removeprefix(root.rstrip("/") + "/")
    serve = ["--host", "127.0.0.1", "--port", "{port}"]
    if framework == "fastapi":
        module_file = target.replace(".", "/") + ".py"
        app_dir = here.removesuffix(module_file).rstrip("/") or "."
        return ["python", "-m", "uvicorn", "--app-dir", app_dir, f"{target}:{var}", *serve]
    is_package = posixpath.basename(here) == "__init__.py"
    location = (_folder(here) or ".") if is_package else here
    return ["python", "-m", "flask", "--app", location, "run", *serve]


def _found_by_server(module: _HttpModule, var: str, app: _HttpObject) -> bool:
    """Whether the server finds the app in the file it is given: Flask takes an `app` or
    `application`, else the module's only Flask app, else a `create_app`/`make_app` factory."""
    if app.framework != "flask":
        return True
    if module.factory:
        return module.factory.name in FLASK_FACTORIES
    apps = [name for name, found in module.objects.items() if found.is_app]
    return var in FLASK_APP_NAMES or apps == [var]


# --- MCP servers ---------------------------------------------------------------------------


def _mcp_entries(repo: _Repo) -> Iterator[EntryPointFinding]:
    """FastMCP servers, and low-level `mcp.server.Server`s that speak stdio."""
    for rel in repo.candidates("FastMCP", "MCPServer", "stdio"):
        source = repo.source(rel)
        if source is None or "mcp" not in source.text:
            continue
        for var, call, framework in _mcp_servers(source):
            if framework == "fastmcp" or "stdio" in source.text:
                yield _mcp_entry(repo, source, var, call, framework)


def _mcp_servers(source: _Source) -> list[tuple[str, ast.Call, str]]:
    """`var = FastMCP(...)` / `var = Server(...)` anywhere in the file (low-level servers are
    usually built inside `main()`), in line order, as (var, constructor call, framework)."""
    found = []
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            framework = MCP_SERVERS.get(source.called(node.value) or "")
            if framework and isinstance(node.value, ast.Call):
                found.append((node.targets[0].id, node.value, framework))
    return sorted(found, key=lambda server: server[1].lineno)


def _mcp_entry(
    repo: _Repo, source: _Source, var: str, constructor: ast.Call, framework: str
) -> EntryPointFinding:
    root = repo.root_of(source.rel)
    command = _server_command(repo, source, root)
    module = repo.module_of(source.rel, root)
    declared = _string(_argument(constructor, 0, "name"))
    stem = posixpath.splitext(posixpath.basename(source.rel))[0]
    tools = _fastmcp_tools(source, var) if framework == "fastmcp" else _lowlevel_tools(source)
    return EntryPointFinding(
        kind="mcp_server",
        name=_sanitised_name(declared or "") or stem,
        root=root,
        command=command,
        module=module,
        file=source.rel,
        line=constructor.lineno,
        framework=framework,
        description=f"MCP server with tools: {', '.join(tools)}" if tools else "MCP server",
        evidence=[source.evidence(constructor.lineno)],
    )


def _server_command(repo: _Repo, source: _Source, root: str) -> list[str]:
    """How a server file starts: run it when it has a `__main__` block, else `python -m` the
    nearest enclosing package that has a `__main__.py` (servers built in a `serve()` that the
    package's entry point calls), else `python -m` the module itself."""
    if source.main_block:
        return repo.run_file(source, root)[0]
    for folder in repo.package_folders(source.rel, root):
        main = _join(folder, "__main__.py")
        package = repo.package_of_main(main, root) if repo.files.exists(main) else None
        if package:
            return ["python", "-m", package]
    module = repo.module_of(source.rel, root)
    return ["python", "-m", module] if module else ["python", _relative(source.rel, root)]


def _fastmcp_tools(source: _Source, server: str) -> list[str]:
    """Functions decorated `@server.tool()` / `@server.tool`, by their declared tool name."""
    tools = []
    for function in source.functions:
        for decorator in function.decorator_list:
            found = _decorator_parts(decorator)
            if found and found[:2] == (server, "tool"):
                declared = _string(_keyword(found[2], "name")) if found[2] else None
                tools.append(declared or function.name)
    return tools


def _lowlevel_tools(source: _Source) -> list[str]:
    """`Tool(name="...")` as a low-level server's `list_tools` handler returns them."""
    return [
        name
        for called, call in source.calls
        if called.rpartition(".")[2] == "Tool" and (name := _string(_keyword(call, "name")))
    ]


# --- agents --------------------------------------------------------------------------------


def _crewai_entries(repo: _Repo) -> Iterator[EntryPointFinding]:
    """CrewAI crews, each with the function that kicks it off (the project template's
    `main.py: run()` next to `crew.py`)."""
    seen: set[tuple[str, str]] = set()
    for rel in repo.candidates("CrewBase", "Crew("):
        source = repo.source(rel)
        crew_line = (
            _crew_line(source) if source and source.import_line("crewai") is not None else None
        )
        if source is None or crew_line is None:
            continue
        starter = _crew_starter(repo, source)
        if starter is None or (starter[0].rel, starter[1].name) in seen:
            continue
        start_source, start_node, confidence = starter
        seen.add((start_source.rel, start_node.name))
        root = repo.root_of(start_source.rel)
        module = repo.module_of(start_source.rel, root)
        package = module.rpartition(".")[0] if module else ""
        yield EntryPointFinding(
            kind="agent",
            name=package or posixpath.splitext(posixpath.basename(source.rel))[0],
            root=root,
            module=module,
            function=start_node.name,
            file=start_source.rel,
            line=start_node.lineno,
            framework="crewai",
            evidence=capped_evidence(
                [source.evidence(crew_line), start_source.evidence(start_node.lineno)]
            ),
            confidence=confidence,
        )


def _crew_line(source: _Source) -> int | None:
    """Where the crew is defined: a `@CrewBase` class, or else a `Crew(...)` construction."""
    classes = _crew_classes(source)
    if classes:
        return classes[0][1].lineno
    return next((call.lineno for name, call in source.calls if name == "crewai.Crew"), None)


def _crew_classes(source: _Source) -> list[tuple[ast.ClassDef, ast.expr]]:
    """Module-level `@CrewBase` classes, each with that decorator."""
    return [
        (stmt, decorator)
        for stmt in source.statements
        if isinstance(stmt, ast.ClassDef)
        for decorator in stmt.decorator_list
        if (source.qualified(decorator) or "").endswith("CrewBase")
    ]


def _crew_starter(
    repo: _Repo, crew: _Source
) -> tuple[_Source, FunctionNode | ast.ClassDef, float] | None:
    """What starts the crew: a function calling `.kickoff()` (`run` preferred) in a `main.py`
    of its package or of a package around it (a flow running several crews), or in the crew's
    own file; else the `@CrewBase` class itself."""
    folders = repo.package_folders(crew.rel, repo.root_of(crew.rel))
    mains = [repo.existing_source(_join(folder, "main.py")) for folder in folders]
    for source in [*(m for m in mains if m), crew]:
        starters = [f for f in source.functions if _calls_kickoff(f)]
        starters.sort(key=lambda f: f.name != "run")
        if starters:
            return source, starters[0], 1.0
    classes = _crew_classes(crew)
    return (crew, classes[0][0], CREW_CLASS_CONFIDENCE) if classes else None


def _calls_kickoff(function: FunctionNode) -> bool:
    return any(
        isinstance(node, ast.Attribute) and node.attr.startswith("kickoff")
        for node in ast.walk(function)
    )


def _langgraph_entries(repo: _Repo) -> Iterator[EntryPointFinding]:
    """Graphs that `langgraph.json` declares, then compiled graphs no configuration names."""
    declared: set[tuple[str, str]] = set()
    for config in repo.langgraph_configs:
        for entry in _configured_graphs(repo, config):
            declared.add((entry.file or "", entry.function or ""))
            yield entry
    for rel in repo.candidates("langgraph"):
        source = repo.source(rel)
        if source is None or source.import_line("langgraph") is None:
            continue
        for var, line in _compiled_graphs(source):
            if (rel, var) not in declared:
                yield _compiled_graph_entry(repo, source, var, line)


def _configured_graphs(repo: _Repo, config: str) -> Iterator[EntryPointFinding]:
    """`"graphs": {"name": "./path/file.py:var"}` (or `{"path": ...}`) -> one agent each."""
    text = repo.files.text(config) or ""
    try:
        data = json.loads(text)
    except ValueError:
        return
    graphs = data.get("graphs") if isinstance(data, dict) else None
    lines = split_lines(text)
    root = repo.root_of(config)
    for name, spec in graphs.items() if isinstance(graphs, dict) else ():
        target = spec.get("path") if isinstance(spec, dict) else spec
        where, _, var = target.rpartition(":") if isinstance(target, str) else ("", "", "")
        if not (where and var):
            continue
        rel = _graph_file(repo, config, where)
        config_line = next((i for i, t in enumerate(lines, 1) if f'"{name}"' in t), None)
        evidence = [evidence_at(config, lines, config_line)]
        source = repo.source(rel) if rel else None
        line = _binding_line(source, var) if source else None
        if source and line:
            evidence.append(source.evidence(line))
        yield EntryPointFinding(
            kind="agent",
            name=name,
            root=root,
            module=repo.module_of(rel, root) if rel else _dotted_or_none(where),
            function=var,
            file=rel or config,
            line=line if rel else config_line,
            framework="langgraph",
            description=_summary(source.tree) if source else "",
            interface=_graph_interface(source, var) if source else None,
            evidence=evidence,
        )


def _graph_file(repo: _Repo, config: str, where: str) -> str | None:
    """The Python file a graph path names: './src/agent/graph.py' or 'agent.graph'."""
    folder = _folder(config)
    if where.endswith(".py"):
        rel = posixpath.normpath(_join(folder, where))
        return rel if repo.files.exists(rel) else None
    return repo.module_file(config, where)  # a dotted module, imported from the project


def _dotted_or_none(where: str) -> str | None:
    """A graph path that names a module of an uninstalled package is still its module."""
    return None if where.endswith(".py") else where


def _binding_line(source: _Source, name: str) -> int | None:
    """The line that binds ``name`` at module level (an assignment or a factory def)."""
    lines = [line for var, _, line in source.assignments if var == name]
    lines += [f.lineno for f in source.functions if f.name == name]
    return min(lines, default=None)


def _compiled_graphs(source: _Source) -> Iterator[tuple[str, int]]:
    """Module-level `graph = builder.compile()` of a StateGraph builder, or a prebuilt
    agent (`create_react_agent(...)`)."""
    builders = {
        var for var, value, _ in source.assignments if source.called(value) in GRAPH_BUILDERS
    }
    for var, value, line in source.assignments:
        if source.called(value) in GRAPH_FACTORIES:
            yield var, line
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
            receiver = value.func.value
            built = source.called(receiver) in GRAPH_BUILDERS or (
                isinstance(receiver, ast.Name) and receiver.id in builders
            )
            if value.func.attr == "compile" and built:
                yield var, line


def _compiled_graph_entry(repo: _Repo, source: _Source, var: str, line: int) -> EntryPointFinding:
    root = repo.root_of(source.rel)
    return EntryPointFinding(
        kind="agent",
        name=var,
        root=root,
        module=repo.module_of(source.rel, root),
        function=var,
        file=source.rel,
        line=line,
        framework="langgraph",
        description=_summary(source.tree),
        interface=_graph_interface(source, var),
        evidence=[source.evidence(line)],
        confidence=COMPILED_GRAPH_CONFIDENCE,
    )


def _graph_interface(source: _Source, var: str) -> Interface | None:
    """What a graph is invoked with: the fields of its input state (the builder's input
    schema, else its state), when that class is defined in the graph's own file."""
    builder = _graph_builder(source, var)
    if builder is None:
        return None
    chosen = _keyword(builder, *GRAPH_INPUT_KEYWORDS) or _argument(builder, 0, "state_schema")
    classes = {s.name: s for s in source.statements if isinstance(s, ast.ClassDef)}
    state = classes.get(chosen.id) if isinstance(chosen, ast.Name) else None
    return _state_interface(source, state, classes) if state else None


def _graph_builder(source: _Source, var: str) -> ast.Call | None:
    """The `StateGraph(...)` call a graph comes from: the receiver of `var = b.compile()` (a
    builder bound at module level, or built in place), or the first in a factory `def var`."""
    bound = {name: value for name, value, _ in source.assignments}
    value = bound.get(var)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        receiver = value.func.value
        builder = bound.get(receiver.id) if isinstance(receiver, ast.Name) else receiver
        if value.func.attr != "compile" or not isinstance(builder, ast.Call):
            return None
        return builder if source.called(builder) in GRAPH_BUILDERS else None
    factory = next((f for f in source.functions if f.name == var), None)
    if factory is None:
        return None
    end = factory.end_lineno or factory.lineno
    return next(
        (
            call
            for called, call in source.calls
            if called in GRAPH_BUILDERS and factory.lineno <= call.lineno <= end
        ),
        None,
    )


def _state_interface(
    source: _Source, state: ast.ClassDef, classes: dict[str, ast.ClassDef]
) -> Interface | None:
    """A state class's fields as inputs, rendered like a function's parameters: a pydantic
    model's through its own reader; a TypedDict's or a dataclass's with those of the classes
    it extends in the same file first. None for any other kind of class."""
    evidence = source.evidence(state.lineno)
    ancestry = _ancestry(state, classes, frozenset())
    if "BaseModel" in {dotted_tail(base) for cls in ancestry for base in cls.bases}:
        return model_interface(state, evidence)
    is_dataclass = any(dotted_tail(_called_or_self(d)) == "dataclass" for d in state.decorator_list)
    is_typeddict = "TypedDict" in {dotted_tail(base) for cls in ancestry for base in cls.bases}
    if not (is_dataclass or is_typeddict):
        return None
    properties: dict[str, dict[str, object]] = {}
    is_required: dict[str, bool] = {}
    for owner in ancestry:
        for field in _state_fields(owner):
            name = field.target.id if isinstance(field.target, ast.Name) else ""
            default = _dataclass_default(field.value) if is_dataclass else None
            schema = annotation_schema(field.annotation)
            properties[name] = parameter_schema(name, schema, default, "")
            is_required[name] = (
                default is None if is_dataclass else _typeddict_key_required(owner, field)
            )
    required = [name for name in properties if is_required[name]]
    return Interface(
        framework="signature",
        description=docstring_summary(ast.get_docstring(state) or ""),
        parameters=object_schema(properties, required),
        evidence=evidence,
    )


def _ancestry(
    cls: ast.ClassDef, classes: dict[str, ast.ClassDef], seen: frozenset[str]
) -> list[ast.ClassDef]:
    """The class after the classes of the same file it extends, bases first (their fields
    come first, and the class's own fields override theirs)."""
    found: list[ast.ClassDef] = []
    for base in cls.bases:
        parent = classes.get(base.id) if isinstance(base, ast.Name) else None
        if parent and parent.name not in seen | {cls.name}:
            found += [c for c in _ancestry(parent, classes, seen | {cls.name}) if c not in found]
    return [*found, cls]


def _state_fields(cls: ast.ClassDef) -> list[ast.AnnAssign]:
    """The class's annotated fields, class variables excepted."""
    return [
        node
        for node in cls.body
        if isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and dotted_tail(_subscripted_or_self(node.annotation)) != "ClassVar"
    ]


def _dataclass_default(value: ast.expr | None) -> ast.expr | None:
    """A dataclass field's default: `= 3`, `field(default=3)`, or the factory of
    `field(default_factory=list)` (computed: it makes the field optional, shows no value)."""
    if isinstance(value, ast.Call) and dotted_tail(value.func) == "field":
        return _keyword(value, "default", "default_factory")
    return value


def _typeddict_key_required(owner: ast.ClassDef, field: ast.AnnAssign) -> bool:
    """`Required[...]` / `NotRequired[...]` decide; else the declaring class's `total=`."""
    wrapper = dotted_tail(_subscripted_or_self(field.annotation))
    if wrapper in ("Required", "NotRequired"):
        return wrapper == "Required"
    total = next((k.value for k in owner.keywords if k.arg == "total"), None)
    return not (isinstance(total, ast.Constant) and total.value is False)


def _called_or_self(node: ast.expr) -> ast.expr:
    """`@dataclass(frozen=True)` -> `dataclass`; `@dataclass` stays."""
    return node.func if isinstance(node, ast.Call) else node


def _subscripted_or_self(node: ast.expr) -> ast.expr:
    """`NotRequired[int]` -> `NotRequired`; `int` stays."""
    return node.value if isinstance(node, ast.Subscript) else node


def _autogpt_entries(repo: _Repo) -> Iterator[EntryPointFinding]:
    """AutoGPT Forge / Agent Protocol agents: one per file that starts one (a `__main__`
    block or a package's `__main__.py`), or one unstarted finding when none is visible."""
    users = [
        source
        for rel in repo.candidates("autogpt", "agent_protocol", "from forge", "import forge")
        if (source := repo.source(rel)) and source.import_line(*AUTOGPT_IMPORTS)
    ]
    mains = [source for rel in repo.mains if (source := repo.source(rel))]
    starters = {s.rel: s for s in users if s.main_block}
    starters |= {m.rel: m for m in mains if _in_package_of(m, users)}
    for rel in sorted(starters):
        yield _autogpt_entry(repo, starters[rel], started=True)
    if users and not starters:
        yield _autogpt_entry(repo, users[0], started=False)


def _in_package_of(main: _Source, users: list[_Source]) -> bool:
    """Whether a `__main__.py` belongs to a package whose modules use an agent framework."""
    package = _folder(main.rel) + "/"
    return any(user.rel.startswith(package) for user in users)


def _autogpt_entry(repo: _Repo, source: _Source, *, started: bool) -> EntryPointFinding:
    root = repo.root_of(source.rel)
    module = repo.module_of(source.rel, root)
    is_package_main = posixpath.basename(source.rel) == "__main__.py"
    package = repo.package_of_main(source.rel, root) if is_package_main else None
    if package:
        command: list[str] | None = ["python", "-m", package]
    elif started:
        command = repo.run_file(source, root)[0]
    else:
        command = None
    folder_or_stem = _folder(source.rel) if is_package_main else source.rel.removesuffix(".py")
    block = source.main_block
    line = block.lineno if block else source.import_line(*AUTOGPT_IMPORTS)
    return EntryPointFinding(
        kind="agent",
        name=folder_or_stem.rpartition("/")[2] or "agent",
        root=root,
        command=command,
        module=module,
        file=source.rel,
        line=line,
        framework="autogpt",
        description=_summary(source.tree),
        evidence=[source.evidence(line)],
        confidence=AUTOGPT_STARTED_CONFIDENCE if started else AUTOGPT_UNSTARTED_CONFIDENCE,
    )
