"""The public functions of a Python library, as ``python_function`` entry points.

A library without a command line is still callable: what its top-level package exports
(``__all__``, else the public functions its ``__init__.py`` defines or imports from its own
submodules) is its API. Each function is reported where it is *defined*, because that is the
module the python_function adapter imports, with a schema read from its signature.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import PurePosixPath

from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import EntryPointFinding, Evidence
from assistant.plugins.analysis.signature import (
    function_interface,
    json_literal,
    parameters_with_defaults,
)

MAX_FUNCTIONS = 30  # per package: a capability list longer than this is noise
NOT_API_DIRS = frozenset({"tests", "test", "testing", "docs", "doc", "examples", "example"})
MAX_REEXPORT_DEPTH = 3  # pkg/__init__ -> pkg/api -> pkg/_impl is as far as real packages go
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Package:
    """A top-level package: its ``__init__.py``, the folder it is imported from, and the
    (sub-)project root it belongs to (the folder above ``src/`` in a src layout)."""

    init: str
    import_root: PurePosixPath
    project_root: str

    @property
    def name(self) -> str:
        return PurePosixPath(self.init).parent.name


@dataclass(frozen=True)
class Imported:
    """A name a module binds with ``from module import name``."""

    module: str
    name: str


Binding = FunctionNode | Imported | None  # None: bound to something that is not a function


def library_functions(files: RepoFiles) -> list[EntryPointFinding]:
    """The exported functions of every top-level package, in declaration order."""
    found: list[EntryPointFinding] = []
    for package in top_level_packages(files):
        found += _package_functions(files, package)
    return found


def top_level_packages(files: RepoFiles) -> list[Package]:
    """Folders with an ``__init__.py`` whose parent has none, outside tests, docs and
    examples."""
    packages = []
    for init in files.named("__init__.py"):
        folder = PurePosixPath(init).parent
        parent = folder.parent
        if folder == PurePosixPath(".") or NOT_API_DIRS & set(folder.parts):
            continue
        if files.exists(_join(parent, "__init__.py")):
            continue
        project = parent.parent if parent.name == "src" else parent
        packages.append(Package(init, parent, str(project)))
    return packages


def _join(folder: PurePosixPath, name: str) -> str:
    return str(folder / name) if folder != PurePosixPath(".") else name


def _package_functions(files: RepoFiles, package: Package) -> list[EntryPointFinding]:
    tree = files.python(package.init)
    if tree is None:
        return []
    modules = PackageModules(files, package)
    bindings = modules.bindings(package.name)
    exported = exported_names(tree, bindings[1] if bindings else {}, package.name)
    found = []
    for name in [n for n in exported if not n.startswith("_")]:
        resolved = modules.resolve(package.name, name, MAX_REEXPORT_DEPTH)
        if resolved is not None:
            module, rel, function = resolved
            found.append(_finding(files, package, name, module, rel, function))
        if len(found) == MAX_FUNCTIONS:
            break
    return found


def exported_names(tree: ast.Module, bindings: dict[str, Binding], package: str) -> list[str]:
    """``__all__`` when the package declares it; else its public functions and the names it
    imports from its own submodules, in the order they appear."""
    declared = dunder_all(tree)
    if declared is not None:
        return declared
    return [
        name
        for name, binding in bindings.items()
        if isinstance(binding, ast.FunctionDef | ast.AsyncFunctionDef)
        or (isinstance(binding, Imported) and _within(binding.module, package))
    ]


def dunder_all(tree: ast.Module) -> list[str] | None:
    """The literal names of ``__all__ = [...]`` (and ``__all__ += [...]``), or None."""
    names: list[str] | None = None
    for node in tree.body:
        target, value = _assignment(node)
        if not (isinstance(target, ast.Name) and target.id == "__all__"):
            continue
        literal = json_literal(value)
        if not isinstance(literal, list):
            continue
        listed = [v for v in literal if isinstance(v, str)]
        names = [*(names or []), *listed] if isinstance(node, ast.AugAssign) else listed
    return names


def _assignment(node: ast.stmt) -> tuple[ast.expr | None, ast.expr | None]:
    """(target, value) of ``x = v``, ``x += v`` or ``x: T = v``."""
    if isinstance(node, ast.Assign):
        return node.targets[0], node.value
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        return node.target, node.value
    return None, None


def module_bindings(tree: ast.Module, module: str, is_package: bool) -> dict[str, Binding]:
    """What each top-level name of a module is bound to; the last binding wins, as in Python
    (so an ``@overload`` stub gives way to the implementation)."""
    bindings: dict[str, Binding] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            bindings[node.name] = node
        elif isinstance(node, ast.ClassDef):
            bindings[node.name] = None
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            source = _absolute_module(module, is_package, node)
            for alias in node.names:
                bindings[alias.asname or alias.name] = Imported(source, alias.name)
    return bindings


def _absolute_module(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """``from .core import x`` inside ``pkg`` (or ``pkg.api``) -> ``pkg.core``."""
    if node.level == 0:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


class PackageModules:
    """A package's modules, each one's bindings computed at most once (``__all__`` often
    names hundreds of things from the same few submodules)."""

    def __init__(self, files: RepoFiles, package: Package):
        self.files = files
        self.package = package
        self._bindings: dict[str, tuple[str, dict[str, Binding]] | None] = {}

    def resolve(self, module: str, name: str, depth: int) -> tuple[str, str, FunctionNode] | None:
        """(defining module, its file, the def) for ``name`` as seen from ``module``,
        following re-exports within the package."""
        found = self.bindings(module)
        if found is None:
            return None
        rel, bindings = found
        binding = bindings.get(name)
        if isinstance(binding, ast.FunctionDef | ast.AsyncFunctionDef):
            return (module, rel, binding) if expressible(binding) else None
        if (
            isinstance(binding, Imported)
            and depth > 0
            and _within(binding.module, self.package.name)
        ):
            return self.resolve(binding.module, binding.name, depth - 1)
        return None

    def bindings(self, module: str) -> tuple[str, dict[str, Binding]] | None:
        """The module's file and top-level bindings; None outside the API's files."""
        if module not in self._bindings:
            self._bindings[module] = self._read(module)
        return self._bindings[module]

    def _read(self, module: str) -> tuple[str, dict[str, Binding]] | None:
        stem = _join(self.package.import_root, module.replace(".", "/"))
        candidates = (stem + ".py", stem + "/__init__.py")
        rel = next((p for p in candidates if self.files.exists(p)), None)
        tree = self.files.python(rel) if rel and _is_api_file(rel) else None
        if rel is None or tree is None:
            return None
        return rel, module_bindings(tree, module, rel.endswith("__init__.py"))


def _is_api_file(rel: str) -> bool:
    path = PurePosixPath(rel)
    return path.name != "setup.py" and not NOT_API_DIRS & set(path.parts[:-1])


def expressible(function: FunctionNode) -> bool:
    """Whether keyword inputs can call it: positional-only parameters cannot be passed by
    name, and ``*args``/``**kwargs`` alone say nothing of what to pass."""
    if function.args.posonlyargs:
        return False
    named = [a for a, _ in parameters_with_defaults(function.args) if a.arg not in ("self", "cls")]
    return bool(named) or not (function.args.vararg or function.args.kwarg)


def _finding(
    files: RepoFiles, package: Package, name: str, module: str, rel: str, function: FunctionNode
) -> EntryPointFinding:
    docstring = ast.get_docstring(function) or ""
    lines = files.lines(rel)
    detail = lines[function.lineno - 1].strip() if function.lineno <= len(lines) else ""
    evidence = Evidence(file=rel, line=function.lineno, detail=detail)
    return EntryPointFinding(
        kind="python_function",
        name=name,
        root=package.project_root,
        module=module,
        function=function.name,
        file=rel,
        line=function.lineno,
        language="python",
        description=(docstring.splitlines() or [""])[0].strip(),
        interface=function_interface(function, evidence),
        evidence=[evidence],
        confidence=0.8 if docstring else 0.5,
    )
