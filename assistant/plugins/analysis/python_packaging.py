"""Python dependencies, console scripts, required Python and project metadata, read from every
packaging file in the repository as text (``setup.py`` with ``ast``: it is never executed).

A project's ``root`` is the folder holding its pyproject.toml / setup.py / setup.cfg, so a
monorepo yields one ProjectMeta per project. Conventions of the output:

- ``Dependency.name`` is PEP 503-normalised: lower-case, runs of ``-_.`` become ``-``
  (``Pillow`` -> ``pillow``, ``typing_extensions`` -> ``typing-extensions``).
- ``Dependency.spec`` is the rest of the requirement in PEP 508 order: extras and version with
  their whitespace removed, then the marker as written after ``"; "``, so
  ``requests[socks] >= 2 ; python_version<'3.12'`` gives ``[socks]>=2; python_version<'3.12'``;
  a direct reference gives ``@ URL``. Poetry and Pipfile constraints are kept verbatim (``^1.2``,
  ``~1.2``) except ``*`` (any version), which becomes ""; conda's stay in conda syntax (``=1.21``).
- ``python_requires`` values are PEP 440 specifiers, so that one merge can combine them:
  Poetry's ``^3.8`` becomes ``>=3.8,<4.0``, a bare ``3.10`` (Pipfile, conda) ``==3.10.*``; a
  constraint PEP 440 cannot express (``^3.8 || ^3.10``) is kept verbatim.
- Requirements files: ``-r`` includes are followed relative to the including file, each file
  read once. ``-c`` constraint files are not: pip reads them only to pin what something else
  asks for, so their entries are not dependencies. Editable installs, paths and bare URLs
  (``-e .``, ``./lib``, ``https://.../x.whl``) are the project's own code or an archive: skipped.
- ``dev=True`` for files whose path names dev/test/docs/lint, optional-dependency groups,
  extras, Poetry groups, PDM dev-dependencies and Pipfile dev-packages.
- Dynamic versions (setuptools ``attr:``/``file:``, hatch and PDM version files, setup.py's
  ``pkg.__version__`` or ``about["__version__"]``) are the literal ``__version__ = "x.y"`` the
  named module assigns, read with ``ast``; a version only running code would compute stays None.
- Malformed files never raise: a ``notes`` entry names the file and the problem.
"""

from __future__ import annotations

import ast
import configparser
import posixpath
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import yaml

from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import (
    MAX_DETAIL,
    MAX_EVIDENCE,
    Dependency,
    EntryKind,
    EntryPointFinding,
    Evidence,
    Findings,
    Inferred,
    ProjectMeta,
    RiskFinding,
)

DEV_PATH = re.compile(
    r"(?<![a-z])(dev|develop|development|tests?|testing|docs?|lint|linting)(?![a-z])"
)
COMMENT = re.compile(r"(^|\s)#.*$")
INCLUDE = re.compile(r"(?:-r|--requirement)(?:\s*=\s*|\s*)(?P<target>\S+)")
LINE_OPTIONS = re.compile(r"\s--\S.*$")  # --hash=..., --config-settings=... after a requirement
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2")
REQUIREMENT = re.compile(
    r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?P<extras>\[[^\]]*\])?\s*(?P<rest>.*)",
    re.DOTALL,
)
CONDA_PACKAGE = re.compile(r"(?:[^:\s]+::)?(?P<name>[A-Za-z0-9_][A-Za-z0-9_.-]*)\s*(?P<spec>.*)")
SCRIPT_GROUPS: dict[str, EntryKind] = {
    "console_scripts": "console_script",
    "gui_scripts": "gui_script",
}
METADATA_FIELDS = ("name", "version", "description", "license")
VERSION_NAMES = ("__version__", "VERSION")  # what hatch's default version pattern reads
SETUPTOOLS_DIRECTIVES = ("attr:", "file:")

Severity = Literal["low", "medium", "high"]
# What a setup.py may do besides declaring the package, by the calls that do it.
INSTALL_CALLS = {
    "shell": re.compile(r"subprocess\.\w+|os\.(system|popen|exec\w*|spawn\w*)|commands\.\w+"),
    "network": re.compile(
        r"(urllib\.request|urllib2|urllib|requests|httpx|http\.client|ftplib|socket)\.\w+"
    ),
    "writes": re.compile(
        r"shutil\.(copy\w*|move|rmtree)|.*\.write_(text|bytes)"
        r"|os\.(remove|unlink|rmdir|removedirs|makedirs|mkdir|rename|replace|symlink|chmod)"
    ),
}
INSTALL_RISKS: dict[str, tuple[Severity, str]] = {  # worst first: the order of the report
    "shell": ("high", "setup.py runs commands when the package is installed"),
    "network": ("high", "setup.py uses the network when the package is installed"),
    "cmdclass": (
        "medium",
        "setup.py replaces setuptools commands (cmdclass): its own code runs when the "
        "package is built or installed",
    ),
    "writes": ("medium", "setup.py writes or deletes files when the package is installed"),
}
WRITE_OPENERS = frozenset({"open", "io.open", "codecs.open"})


def scan_python_packaging(files: RepoFiles) -> Findings:
    """Everything the repository's Python packaging files declare, in path order."""
    out = Findings()
    requirements = RequirementsReader(files, out)
    for path in files.paths:
        reader = READERS.get(posixpath.basename(path))
        if reader is not None:
            reader(files, path, out)
        elif is_requirements_file(path):
            requirements.read(path, is_dev_path(path))
    out.projects = merge_projects(out.projects)
    return out


# --- shared helpers ----------------------------------------------------------------------


def normalize_name(name: str) -> str:
    """PEP 503: how pip compares names, so `Pillow`, `pillow` and `PILLOW` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def split_requirement(text: str) -> tuple[str, str] | None:
    """(normalised name, spec) of a PEP 508 requirement string; None when it is not one."""
    match = REQUIREMENT.fullmatch(text.strip())
    if match is None:
        return None
    body, _, marker = match["rest"].partition(";")
    body = body.strip()
    if body.startswith("@"):
        version = "@ " + body[1:].strip()
    else:
        version = re.sub(r"\s+", "", body).removeprefix("(").removesuffix(")")
        if version and version[0] not in "<>=!~":
            return None
    extras = re.sub(r"\s+", "", match["extras"] or "")
    marker = marker.strip()
    return normalize_name(match["name"]), extras + version + (f"; {marker}" if marker else "")


def is_requirements_file(path: str) -> bool:
    """requirements*.txt, dev-requirements.txt, requirements/*.txt: read on their own."""
    name = posixpath.basename(path).lower()
    folder = posixpath.basename(posixpath.dirname(path)).lower()
    return name.endswith(".txt") and ("requirement" in name or folder == "requirements")


def is_dev_path(path: str) -> bool:
    """Whether the file's path says it serves development (dev, test, docs, lint)."""
    return DEV_PATH.search(path.lower()) is not None


def is_installable_text(text: str) -> bool:
    """False for options, editables, paths and URLs: not a package from an index."""
    return not (
        text.startswith(("-", ".", "/", "~")) or URL.match(text) or text.lower().endswith(ARCHIVES)
    )


def project_root(path: str) -> str:
    return posixpath.dirname(path) or "."


def table(data: Any, *keys: str) -> dict[str, Any]:
    """The nested table at ``keys``, or {} when any level is missing or not a table."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def text_field(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def license_text(value: Any) -> str | None:
    """PEP 621 allows `license = "MIT"` and `license = {text = "MIT"}`."""
    return text_field(value.get("text")) if isinstance(value, dict) else text_field(value)


def one_line(error: Exception) -> str:
    return " ".join(str(error).split())[:MAX_DETAIL]


def where(evidence: Evidence) -> str:
    return f"{evidence.file}:{evidence.line}" if evidence.line else evidence.file


class SourceLines:
    """One file's lines, to point at a value whose parser forgets positions (TOML, INI, YAML)."""

    def __init__(self, files: RepoFiles, path: str):
        self.path = path
        self.lines = files.lines(path)

    def header(self, section: str) -> int:
        """0-based index of the ``[section]`` header line; 0 (search everything) without one."""
        wanted = f"[{section}]"
        return next(
            (i for i, line in enumerate(self.lines) if line.replace(" ", "").strip() == wanted),
            0,
        )

    def find_item(self, value: str, start: int = 0) -> int | None:
        """1-based line of a list item (`"x",`, `- x`, `x`), else of any line containing it."""
        return self._first(lambda line: bare_item(line) == value, start) or self._first(
            lambda line: value in line, start
        )

    def find_key(self, key: str, start: int = 0) -> int | None:
        """1-based line where ``key =`` (or ``key:``) is assigned, from ``start`` on."""
        pattern = re.compile(rf"\s*[\"']?{re.escape(key)}[\"']?\s*[=:]")
        return self._first(lambda line: pattern.match(line) is not None, start)

    def evidence(self, line: int | None) -> Evidence:
        detail = self.lines[line - 1].strip()[:MAX_DETAIL] if line else ""
        return Evidence(file=self.path, line=line, detail=detail)

    def _first(self, matches: Callable[[str], bool], start: int) -> int | None:
        """Search from the section's start, then the whole file (a value may sit elsewhere,
        e.g. in an inline table)."""
        for first in dict.fromkeys((start, 0)):
            for index in range(first, len(self.lines)):
                if matches(self.lines[index]):
                    return index + 1
        return None


def bare_item(line: str) -> str:
    """A list item's text without its punctuation: `- x`, `"x",`, `'x'`."""
    return line.strip().removeprefix("- ").strip().rstrip(",").strip().strip("\"'")


def add_requirement(out: Findings, text: str, evidence: Evidence, dev: bool) -> None:
    parsed = split_requirement(text)
    if parsed is None:
        out.notes.append(f"{where(evidence)}: not a requirement: {text!r}")
        return
    name, spec = parsed
    out.dependencies.append(
        Dependency(ecosystem="python", name=name, spec=spec, dev=dev, evidence=evidence)
    )


def add_requirement_list(
    src: SourceLines, start: int, items: Any, dev: bool, out: Findings
) -> None:
    """PEP 508 strings of one TOML array / INI value / YAML list."""
    for item in items if isinstance(items, list) else []:
        if isinstance(item, str) and is_installable_text(item.strip()):
            add_requirement(out, item, src.evidence(src.find_item(item.strip(), start)), dev)


def add_requirement_groups(
    src: SourceLines, section: str, groups: dict[str, Any], out: Findings
) -> None:
    """Named optional groups (extras, PDM / PEP 735 groups): all of them are dev."""
    start = src.header(section)
    for items in groups.values():
        add_requirement_list(src, start, items, True, out)


def add_python_requires(out: Findings, spec: str, evidence: Evidence) -> None:
    if spec:
        out.python_requires.append(Inferred(value=spec, confidence=1.0, evidence=[evidence]))


def project_meta(src: SourceLines, root: str, section: str, fields: dict[str, Any]) -> ProjectMeta:
    start = src.header(section)
    return ProjectMeta(
        name=text_field(fields.get("name")),
        version=text_field(fields.get("version")),
        description=text_field(fields.get("description")),
        license=license_text(fields.get("license")),
        root=root,
        evidence=src.evidence(src.find_key("name", start)),
    )


def merge_projects(projects: list[ProjectMeta]) -> list[ProjectMeta]:
    """One entry per project root: the first file in path order (pyproject.toml before
    setup.cfg before setup.py) wins, later ones fill only what it left empty."""
    by_root: dict[str, ProjectMeta] = {}
    for meta in projects:
        first = by_root.setdefault(meta.root, meta)
        for name in METADATA_FIELDS:
            if getattr(first, name) is None:
                setattr(first, name, getattr(meta, name))
    return list(by_root.values())


# --- Python version constraints ------------------------------------------------------------


def python_constraint(constraint: str) -> str:
    """A Poetry / Pipfile / conda Python constraint as a PEP 440 specifier (verbatim when
    PEP 440 cannot say it), so every source merges into one constraint for the venv."""
    text = constraint.strip()
    if "|" in text:
        return text
    text = re.sub(r"([<>=!~^])\s+", r"\1", text)
    clauses = [c for c in re.split(r"[,\s]+", text) if c and c != "*"]
    return ",".join(map(pep440_clause, clauses))


def pep440_clause(clause: str) -> str:
    if clause.startswith("^"):
        return bounded(clause[1:], caret=True) or clause
    if clause.startswith("~") and not clause.startswith("~="):
        return bounded(clause[1:], caret=False) or clause
    if clause.startswith("=") and not clause.startswith("=="):
        return version_pin(clause[1:].split("=")[0])  # conda `=3.10=build`
    if clause[0].isdigit():
        return version_pin(clause)
    return clause


def version_pin(version: str) -> str:
    """A bare version: `3.10` means any 3.10.x to Poetry, Pipenv and conda."""
    return f"=={version}" if version.endswith("*") or version.count(".") >= 2 else f"=={version}.*"


def bounded(version: str, caret: bool) -> str | None:
    """Poetry's ^ (up to the next change of the first non-zero part) and ~ (of the minor)."""
    try:
        numbers = [int(part) for part in version.split(".")]
    except ValueError:
        return None
    if caret:
        position = next((i for i, n in enumerate(numbers) if n), len(numbers) - 1)
    else:
        position = min(1, len(numbers) - 1)
    upper = numbers[:position] + [numbers[position] + 1] + [0] * (len(numbers) - position - 1)
    return f">={version},<{'.'.join(map(str, upper))}"


# --- dynamic versions ----------------------------------------------------------------------


def literal_assignment(files: RepoFiles, file: str | None, names: tuple[str, ...]) -> str | None:
    """The string a module assigns at top level to the first of ``names`` it assigns
    (``__version__ = "1.2"``), read as syntax: the module is never imported."""
    tree = files.python(file) if file else None
    found: dict[str, str] = {}
    for node in tree.body if tree else []:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        value = getattr(node, "value", None)
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            for target in targets:
                if isinstance(target, ast.Name) and target.id in names:
                    found.setdefault(target.id, value.value.strip())
    return next((found[name] for name in names if found.get(name)), None)


def attribute_version(files: RepoFiles, root: str, dotted: str) -> str | None:
    """``pkg.__version__``: the literal that module assigns to that name (setuptools ``attr:``)."""
    module, _, attribute = dotted.strip().rpartition(".")
    file = module_file(files, root, module) if module else None
    return literal_assignment(files, file, (attribute,))


def repo_path(root: str, relative: str) -> str:
    return posixpath.normpath(posixpath.join(root, relative.strip()))


def file_version(files: RepoFiles, root: str, relative: str) -> str | None:
    """The first line of a plain version file (setuptools ``file: VERSION``)."""
    lines = (files.text(repo_path(root, relative)) or "").strip().splitlines()
    return lines[0].strip() if lines else None


def setuptools_version(files: RepoFiles, root: str, directive: str, argument: str) -> str | None:
    """setuptools' ``attr: pkg.__version__`` / ``file: VERSION`` (setup.cfg or pyproject)."""
    if directive == "attr":
        return attribute_version(files, root, argument)
    return file_version(files, root, argument)


def pyproject_dynamic_version(files: RepoFiles, root: str, data: dict[str, Any]) -> str | None:
    """The version a build backend reads from the code: setuptools' ``[tool.setuptools.dynamic]``
    ``version = {attr = ...}`` or ``{file = ...}``, hatch's ``[tool.hatch.version] path``, PDM's
    ``[tool.pdm.version] source = "file"``."""
    setuptools = table(data, "tool", "setuptools", "dynamic", "version")
    for directive in ("attr", "file"):
        if isinstance(setuptools.get(directive), str):
            return setuptools_version(files, root, directive, setuptools[directive])
    hatch = table(data, "tool", "hatch", "version")
    pdm = table(data, "tool", "pdm", "version")
    path = hatch.get("path") or (pdm.get("path") if pdm.get("source") == "file" else None)
    if isinstance(path, str):
        return literal_assignment(files, repo_path(root, path), VERSION_NAMES)
    return None


# --- console scripts -----------------------------------------------------------------------


def script_entry(
    files: RepoFiles, root: str, kind: EntryKind, name: str, target: str, evidence: Evidence
) -> EntryPointFinding:
    """A console/gui script from its `pkg.cli:main [extra]` target."""
    module, _, function = target.split("[")[0].strip().partition(":")
    module, function = module.strip(), function.strip()
    file = module_file(files, root, module)
    return EntryPointFinding(
        kind=kind,
        name=name,
        root=root,
        command=[name],
        module=module,
        function=function or None,
        file=file,
        line=definition_line(files, file, function),
        language="python",
        evidence=[evidence],
        confidence=1.0,
    )


def module_file(files: RepoFiles, root: str, module: str) -> str | None:
    """The repo-relative file defining ``module`` under the project root (flat or src/ layout)."""
    base = module.replace(".", "/")
    prefix = "" if root == "." else root + "/"
    for folder in (prefix, prefix + "src/"):
        for candidate in (f"{folder}{base}.py", f"{folder}{base}/__init__.py"):
            if files.exists(candidate):
                return candidate
    return None


def definition_line(files: RepoFiles, file: str | None, function: str) -> int | None:
    """Where the script's callable (a def, class or `app = ...`) is defined in its module."""
    tree = files.python(file) if file and function else None
    wanted = function.split(".")[0]
    for node in tree.body if tree else []:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == wanted:
                return node.lineno
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == wanted for t in node.targets
        ):
            return node.lineno
    return None


def script_target(value: Any) -> str | None:
    """`module:function` of a script table value (Poetry also writes `{callable = "..."}`);
    None for Poetry's file scripts, which are not Python callables."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and value.get("type", "console") == "console":
        target = value.get("callable") or value.get("reference")
        return target if isinstance(target, str) else None
    return None


def add_script_table(
    files: RepoFiles,
    src: SourceLines,
    root: str,
    kind: EntryKind,
    section: str,
    scripts: dict[str, Any],
    out: Findings,
) -> None:
    start = src.header(section)
    for name, value in scripts.items():
        target = script_target(value)
        if target:
            evidence = src.evidence(src.find_key(name, start))
            out.entry_points.append(script_entry(files, root, kind, name, target, evidence))


def entry_point_item(
    files: RepoFiles, root: str, kind: EntryKind, item: str, evidence: Evidence
) -> EntryPointFinding | None:
    """A `name = pkg.cli:main` line of setup.py / setup.cfg entry points."""
    name, separator, target = item.partition("=")
    if not separator:
        return None
    return script_entry(files, root, kind, name.strip(), target.strip(), evidence)


# --- requirements files --------------------------------------------------------------------


def logical_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(number of the first physical line, text) of each requirement line: backslash
    continuations joined, comments, hash options and blank lines dropped."""
    parts: list[str] = []
    first = 1
    for number, line in enumerate([*lines, ""], 1):  # the sentinel ends a dangling continuation
        if not parts:
            first = number
        if line.endswith("\\") and not line.lstrip().startswith("#"):
            parts.append(line[:-1])
            continue
        text = LINE_OPTIONS.sub("", COMMENT.sub("", "".join([*parts, line]))).strip()
        parts = []
        if text:
            yield first, text


@dataclass
class RequirementsReader:
    """Reads requirements files and the files they ``-r`` include, each file once."""

    files: RepoFiles
    out: Findings
    seen: set[str] = field(default_factory=set)

    def read(self, path: str, dev: bool) -> None:
        self.seen.add(path)
        lines = self.files.lines(path)
        for number, text in logical_lines(lines):
            include = INCLUDE.fullmatch(text)
            if include:
                self.follow(path, number, include["target"], dev)
            elif is_installable_text(text):
                evidence = Evidence(file=path, line=number, detail=lines[number - 1].strip())
                add_requirement(self.out, text, evidence, dev)

    def follow(self, path: str, number: int, target: str, dev: bool) -> None:
        """Read an included file, unless it is read on its own (a requirements*.txt, whose own
        name says whether it is dev) or was read already (include loops)."""
        included = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if not self.files.exists(included):
            self.out.notes.append(f"{path}:{number}: includes {target}, which is not in the repo")
        elif not is_requirements_file(included) and included not in self.seen:
            self.read(included, dev or is_dev_path(included))


# --- pyproject.toml and Pipfile ------------------------------------------------------------


def load_toml(files: RepoFiles, path: str, out: Findings) -> dict[str, Any] | None:
    try:
        return tomllib.loads(files.text(path) or "")
    except tomllib.TOMLDecodeError as error:
        out.notes.append(f"{path}: invalid TOML ({one_line(error)}); not read")
        return None


def read_pyproject(files: RepoFiles, path: str, out: Findings) -> None:
    data = load_toml(files, path, out)
    if data is None:
        return
    src = SourceLines(files, path)
    root = project_root(path)
    read_pep621(files, src, root, pep621_project(files, root, data), out)
    read_poetry(files, src, root, table(data, "tool", "poetry"), out)
    pdm_dev = table(data, "tool", "pdm", "dev-dependencies")
    add_requirement_groups(src, "tool.pdm.dev-dependencies", pdm_dev, out)
    add_requirement_groups(src, "dependency-groups", table(data, "dependency-groups"), out)


def pep621_project(files: RepoFiles, root: str, data: dict[str, Any]) -> dict[str, Any]:
    """The ``[project]`` table, its version filled in when it is declared dynamic."""
    project = table(data, "project")
    dynamic = project.get("dynamic")
    if project and isinstance(dynamic, list) and "version" in dynamic:
        return {**project, "version": pyproject_dynamic_version(files, root, data)}
    return project


def read_pep621(
    files: RepoFiles, src: SourceLines, root: str, project: dict[str, Any], out: Findings
) -> None:
    if not project:
        return
    start = src.header("project")
    out.projects.append(project_meta(src, root, "project", project))
    requires_python = text_field(project.get("requires-python"))
    if requires_python:
        evidence = src.evidence(src.find_key("requires-python", start))
        add_python_requires(out, requires_python, evidence)
    add_requirement_list(src, start, project.get("dependencies"), False, out)
    extras = table(project, "optional-dependencies")
    add_requirement_groups(src, "project.optional-dependencies", extras, out)
    scripts = table(project, "scripts")
    add_script_table(files, src, root, "console_script", "project.scripts", scripts, out)
    gui = table(project, "gui-scripts")
    add_script_table(files, src, root, "gui_script", "project.gui-scripts", gui, out)


def read_poetry(
    files: RepoFiles, src: SourceLines, root: str, poetry: dict[str, Any], out: Findings
) -> None:
    if not poetry:
        return
    out.projects.append(project_meta(src, root, "tool.poetry", poetry))
    main = table(poetry, "dependencies")
    add_table_dependencies(src, "tool.poetry.dependencies", main, False, out)
    dev = table(poetry, "dev-dependencies")
    add_table_dependencies(src, "tool.poetry.dev-dependencies", dev, True, out)
    for group, body in table(poetry, "group").items():
        section = f"tool.poetry.group.{group}.dependencies"
        add_table_dependencies(src, section, table(body, "dependencies"), True, out)
    scripts = table(poetry, "scripts")
    add_script_table(files, src, root, "console_script", "tool.poetry.scripts", scripts, out)


def read_pipfile(files: RepoFiles, path: str, out: Findings) -> None:
    data = load_toml(files, path, out)
    if data is None:
        return
    src = SourceLines(files, path)
    add_table_dependencies(src, "packages", table(data, "packages"), False, out)
    add_table_dependencies(src, "dev-packages", table(data, "dev-packages"), True, out)
    requires = table(data, "requires")
    for key in ("python_full_version", "python_version"):
        if isinstance(requires.get(key), str):
            evidence = src.evidence(src.find_key(key, src.header("requires")))
            add_python_requires(out, python_constraint(requires[key]), evidence)
            return


def add_table_dependencies(
    src: SourceLines, section: str, dependencies: dict[str, Any], dev: bool, out: Findings
) -> None:
    """`name = constraint-or-table` dependencies (Poetry, Pipfile); Poetry's `python` key is
    the required Python, and a list of tables (per-platform constraints) gives one each."""
    start = src.header(section)
    for name, value in dependencies.items():
        evidence = src.evidence(src.find_key(name, start))
        if name.lower() == "python":
            if isinstance(value, str):
                add_python_requires(out, python_constraint(value), evidence)
            continue
        for constraint in value if isinstance(value, list) else [value]:
            spec = table_spec(constraint)
            if spec is not None:
                optional = isinstance(constraint, dict) and constraint.get("optional") is True
                out.dependencies.append(
                    Dependency(
                        ecosystem="python",
                        name=normalize_name(name),
                        spec=spec,
                        dev=dev or optional,
                        evidence=evidence,
                    )
                )


def table_spec(value: Any) -> str | None:
    """The spec of a Poetry / Pipfile dependency value; None for a local path (own code)."""
    if isinstance(value, str):
        return "" if value.strip() == "*" else value.strip()
    if not isinstance(value, dict) or "path" in value or "file" in value:
        return None
    extras = value.get("extras")
    spec = f"[{','.join(map(str, extras))}]" if isinstance(extras, list) and extras else ""
    if isinstance(value.get("git"), str):
        ref = next((value[k] for k in ("rev", "tag", "branch", "ref") if k in value), None)
        return f"{spec}@ git+{value['git']}" + (f"@{ref}" if ref else "")
    if isinstance(value.get("url"), str):
        return f"{spec}@ {value['url']}"
    spec += table_spec(value.get("version", "*")) or ""
    markers = text_field(value.get("markers"))
    return spec + (f"; {markers}" if markers else "")


# --- setup.cfg -----------------------------------------------------------------------------


def cfg_list(value: str) -> list[str]:
    """A multi-line setup.cfg value as its items, comments dropped."""
    items = (line.strip() for line in value.splitlines())
    return [item for item in items if item and not item.startswith("#")]


def cfg_metadata(files: RepoFiles, root: str, metadata: dict[str, str]) -> dict[str, Any]:
    """``[metadata]`` values; of the ``attr:``/``file:`` directives only the version is
    resolved (a ``file:`` description is a whole README, not a one-line description)."""
    fields: dict[str, Any] = {
        k: v for k, v in metadata.items() if not v.startswith(SETUPTOOLS_DIRECTIVES)
    }
    version = metadata.get("version", "")
    if version.startswith(SETUPTOOLS_DIRECTIVES):
        directive, _, argument = version.partition(":")
        fields["version"] = setuptools_version(files, root, directive, argument)
    return fields


def read_setup_cfg(files: RepoFiles, path: str, out: Findings) -> None:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(files.text(path) or "", source=path)
    except configparser.Error as error:
        out.notes.append(f"{path}: invalid INI ({one_line(error)}); not read")
        return
    src = SourceLines(files, path)
    root = project_root(path)
    sections = {name: dict(parser[name]) for name in parser.sections()}
    if "metadata" in sections:
        metadata = cfg_metadata(files, root, sections["metadata"])
        out.projects.append(project_meta(src, root, "metadata", metadata))
    options = sections.get("options", {})
    start = src.header("options")
    python = text_field(options.get("python_requires"))
    if python:
        add_python_requires(out, python, src.evidence(src.find_key("python_requires", start)))
    add_requirement_list(src, start, cfg_list(options.get("install_requires", "")), False, out)
    extras = {k: cfg_list(v) for k, v in sections.get("options.extras_require", {}).items()}
    add_requirement_groups(src, "options.extras_require", extras, out)
    entry_points = sections.get("options.entry_points", {})
    start = src.header("options.entry_points")
    for group, kind in SCRIPT_GROUPS.items():
        for item in cfg_list(entry_points.get(group, "")):
            evidence = src.evidence(src.find_item(item, start))
            entry = entry_point_item(files, root, kind, item, evidence)
            if entry:
                out.entry_points.append(entry)


# --- setup.py ------------------------------------------------------------------------------


class Unresolved(Exception):
    """A setup() argument that only running setup.py would compute."""


def read_setup_py(files: RepoFiles, path: str, out: Findings) -> None:
    tree = files.python(path)
    if tree is None:
        out.notes.append(f"{path}: not valid Python 3; not read")
        return
    SetupPy(files, path, tree, out).read()


def dotted_name(node: ast.expr, aliases: dict[str, str]) -> str:
    """`a.b.c` of a call's target with import aliases undone; a computed base reads as ''
    (`Path(x).write_text` -> `.write_text`)."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        return f"{dotted_name(node.value, aliases)}.{node.attr}"
    return ""


def string_arguments(call: ast.Call) -> list[str]:
    """The call's positional string literals (path parts: ``join(here, "pkg", "about.py")``)."""
    return [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def opens_for_writing(call: ast.Call, name: str) -> bool:
    if name not in WRITE_OPENERS:
        return False
    modes = [*call.args[1:2], *(k.value for k in call.keywords if k.arg == "mode")]
    return any(
        isinstance(mode, ast.Constant)
        and isinstance(mode.value, str)
        and set(mode.value) & set("wax+")
        for mode in modes
    )


@dataclass
class SetupPy:
    """A setup.py read with ``ast``: the ``setup(...)`` call's literal arguments (module-level
    constants followed), and what else the file would do when pip runs it."""

    files: RepoFiles
    path: str
    tree: ast.Module
    out: Findings

    @cached_property
    def src(self) -> SourceLines:
        return SourceLines(self.files, self.path)

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Local name -> what it was imported as (`sp` -> `subprocess`, `call` -> ...)."""
        found: dict[str, str] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    top = alias.name.split(".")[0]
                    found[alias.asname or top] = alias.name if alias.asname else top
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
        return found

    @cached_property
    def constants(self) -> dict[str, ast.expr]:
        """Module-level `NAME = value` assignments (the last one wins)."""
        found: dict[str, ast.expr] = {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign):
                found.update({t.id: node.value for t in node.targets if isinstance(t, ast.Name)})
            elif (
                isinstance(node, ast.AnnAssign) and node.value and isinstance(node.target, ast.Name)
            ):
                found[node.target.id] = node.value
        return found

    @cached_property
    def setup_call(self) -> ast.Call | None:
        return next(
            (
                node
                for node in ast.walk(self.tree)
                if isinstance(node, ast.Call)
                and dotted_name(node.func, self.aliases).split(".")[-1] == "setup"
            ),
            None,
        )

    def read(self) -> None:
        call = self.setup_call
        if call is None:
            self.out.notes.append(f"{self.path}: no setup() call found")
        else:
            self.read_call(call)
        self.out.risks += self.risks()

    def read_call(self, call: ast.Call) -> None:
        arguments = self.arguments(call)
        root = project_root(self.path)
        metadata = {name: self.string(arguments.get(name)) for name in METADATA_FIELDS}
        metadata["version"] = self.version(arguments.get("version"))
        self.out.projects.append(
            ProjectMeta(**metadata, root=root, evidence=self.src.evidence(call.lineno))
        )
        if "python_requires" in arguments:
            node = arguments["python_requires"]
            spec = self.string(node)
            add_python_requires(self.out, spec or "", self.src.evidence(node.lineno))
        for keyword, dev in (("install_requires", False), ("tests_require", True)):
            if keyword in arguments:
                self.requirements(keyword, arguments[keyword], dev)
        if "extras_require" in arguments:
            for _, node in self.mapping_or_note("extras_require", arguments["extras_require"]):
                self.requirements("extras_require", node, True)
        if "entry_points" in arguments:
            self.entry_points(root, arguments["entry_points"])

    def arguments(self, call: ast.Call) -> dict[str, ast.expr]:
        """setup()'s keyword arguments, `**metadata` dicts unpacked."""
        found: dict[str, ast.expr] = {}
        for keyword in call.keywords:
            if keyword.arg:
                found[keyword.arg] = keyword.value
            else:
                found.update(self.mapping_or_note("**", keyword.value))
        return found

    def requirements(self, keyword: str, node: ast.expr, dev: bool) -> None:
        try:
            items = self.strings(node)
        except Unresolved:
            self.note_computed(keyword, node)
            return
        for text, line in items:
            if is_installable_text(text):
                add_requirement(self.out, text, self.src.evidence(line), dev)

    def entry_points(self, root: str, node: ast.expr) -> None:
        """`{"console_scripts": ["x = pkg:main"]}`, or the same as an INI string."""
        resolved = self.follow(node)
        if isinstance(resolved, ast.Constant) and isinstance(resolved.value, str):
            groups = ini_groups(resolved.value, resolved.lineno)
        else:
            groups = []
            for group, value in self.mapping_or_note("entry_points", node):
                try:
                    groups += [(group, item, line) for item, line in self.strings(value)]
                except Unresolved:
                    self.note_computed(f"entry_points[{group!r}]", value)
        for group, item, line in groups:
            kind = SCRIPT_GROUPS.get(group)
            if kind is None:
                continue
            entry = entry_point_item(self.files, root, kind, item, self.src.evidence(line))
            if entry:
                self.out.entry_points.append(entry)

    def follow(self, node: ast.expr) -> ast.expr:
        """The value behind a module-level constant's name (and a constant naming another)."""
        seen: set[str] = set()
        while isinstance(node, ast.Name) and node.id in self.constants and node.id not in seen:
            seen.add(node.id)
            node = self.constants[node.id]
        return node

    def string(self, node: ast.expr | None) -> str | None:
        resolved = self.follow(node) if node is not None else None
        if isinstance(resolved, ast.Constant) and isinstance(resolved.value, str):
            return resolved.value.strip() or None
        return None

    def version(self, node: ast.expr | None) -> str | None:
        """A literal version, else the literal the code it comes from assigns: an imported
        ``pkg.__version__``, or a name (``__version__``, ``about["__version__"]``) that a
        file setup.py names and executes defines."""
        literal = self.string(node)
        if literal or node is None:
            return literal
        node = self.follow(node)
        if isinstance(node, ast.Subscript):
            key = self.string(node.slice)
            return self.executed_version(key) if key else None
        name = dotted_name(node, self.aliases)
        if "." in name.lstrip("."):
            return attribute_version(self.files, project_root(self.path), name)
        return self.executed_version(name) if isinstance(node, ast.Name) else None

    def executed_version(self, name: str) -> str | None:
        """``name``'s literal in the first Python file setup.py names (``open("pkg/about.py")``,
        ``os.path.join(here, "pkg", "__version__.py")``) that assigns it."""
        for file in self.named_python_files:
            found = literal_assignment(self.files, file, (name,))
            if found:
                return found
        return None

    @cached_property
    def named_python_files(self) -> list[str]:
        """Repository .py files a call's string arguments spell, joined as path parts."""
        root = project_root(self.path)
        found: list[str] = []
        for node in ast.walk(self.tree):
            parts = string_arguments(node) if isinstance(node, ast.Call) else []
            if parts and parts[-1].endswith(".py"):
                path = repo_path(root, "/".join(parts))
                if self.files.exists(path) and path not in found:
                    found.append(path)
        return found

    def strings(self, node: ast.expr) -> list[tuple[str, int]]:
        """Each string (with its line) of a literal list, following constants, `+` and `*x`."""
        node = self.follow(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [(part.strip(), node.lineno) for part in cfg_list(node.value)]
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            items: list[tuple[str, int]] = []
            for element in node.elts:
                items += self.strings(
                    element.value if isinstance(element, ast.Starred) else element
                )
            return items
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self.strings(node.left) + self.strings(node.right)
        raise Unresolved

    def mapping(self, node: ast.expr) -> list[tuple[str, ast.expr]]:
        """Key/value nodes of a literal dict or `dict(k=v)` (constants and `**x` followed)."""
        node = self.follow(node)
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "dict"
        ):
            return [(k.arg, k.value) for k in node.keywords if k.arg]
        if not isinstance(node, ast.Dict):
            raise Unresolved
        items: list[tuple[str, ast.expr]] = []
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                items += self.mapping(value)
                continue
            name = self.string(key)
            if name is None:
                raise Unresolved
            items.append((name, value))
        return items

    def mapping_or_note(self, keyword: str, node: ast.expr) -> list[tuple[str, ast.expr]]:
        try:
            return self.mapping(node)
        except Unresolved:
            self.note_computed(keyword, node)
            return []

    def note_computed(self, keyword: str, node: ast.expr) -> None:
        read = self.text_files_read(node)
        hint = f" (it reads {', '.join(read)})" if read else ""
        self.out.notes.append(
            f"{self.path}:{node.lineno}: setup() {keyword} is computed when setup.py runs; "
            f"not read{hint}"
        )

    def text_files_read(self, node: ast.expr) -> list[str]:
        """.txt files an argument's code names (`open("requirements.txt")`), looking one step
        into the module-level function or constant it uses."""
        definitions: dict[str, ast.AST] = {
            **self.constants,
            **{n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef)},
        }
        parts: list[ast.AST] = [node]
        parts += [
            definitions[n.id]
            for n in ast.walk(node)
            if isinstance(n, ast.Name) and n.id in definitions
        ]
        return sorted(
            {
                c.value
                for part in parts
                for c in ast.walk(part)
                if isinstance(c, ast.Constant)
                and isinstance(c.value, str)
                and c.value.endswith(".txt")
            }
        )

    def risks(self) -> list[RiskFinding]:
        """What the file does besides declaring the package, worst first; none for a plain
        declarative setup.py."""
        lines = self.risky_lines()
        return [
            RiskFinding(
                category="install_code",
                severity=severity,
                detail=detail,
                evidence=[self.src.evidence(n) for n in sorted(set(lines[kind]))[:MAX_EVIDENCE]],
            )
            for kind, (severity, detail) in INSTALL_RISKS.items()
            if lines.get(kind)
        ]

    def risky_lines(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        call = self.setup_call
        cmdclass = [k for k in call.keywords if k.arg == "cmdclass"] if call else []
        found["cmdclass"] = [k.value.lineno for k in cmdclass]
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            name = dotted_name(node.func, self.aliases)
            for kind, pattern in INSTALL_CALLS.items():
                if pattern.fullmatch(name) or (kind == "writes" and opens_for_writing(node, name)):
                    found.setdefault(kind, []).append(node.lineno)
        return found


def ini_groups(text: str, line: int) -> list[tuple[str, str, int]]:
    """(group, item, line) of entry points written as an INI string: `[console_scripts]\\nx = m:f`."""
    group = ""
    found: list[tuple[str, str, int]] = []
    for item in cfg_list(text):
        if item.startswith("[") and item.endswith("]"):
            group = item[1:-1].strip()
        else:
            found.append((group, item, line))
    return found


# --- environment.yml -----------------------------------------------------------------------


def read_conda_environment(files: RepoFiles, path: str, out: Findings) -> None:
    try:
        data = yaml.safe_load(files.text(path) or "")
    except yaml.YAMLError as error:
        out.notes.append(f"{path}: invalid YAML ({yaml_problem(error)}); not read")
        return
    dependencies = data.get("dependencies") if isinstance(data, dict) else None
    src = SourceLines(files, path)
    for item in dependencies if isinstance(dependencies, list) else []:
        if isinstance(item, str):
            add_conda_dependency(src, item, out)
        elif isinstance(item, dict):
            add_requirement_list(src, 0, item.get("pip"), False, out)


def yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's message without the source snippet and caret it quotes."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return one_line(error)


def add_conda_dependency(src: SourceLines, item: str, out: Findings) -> None:
    """A conda package (channel prefix dropped); `python=3.10` is the required Python."""
    match = CONDA_PACKAGE.fullmatch(item.strip())
    evidence = src.evidence(src.find_item(item.strip()))
    if match is None:
        out.notes.append(f"{where(evidence)}: not a conda package: {item!r}")
        return
    name, spec = match["name"].lower(), match["spec"].strip()
    if name == "python":
        add_python_requires(out, python_constraint(spec), evidence)
    else:
        out.dependencies.append(
            Dependency(ecosystem="conda", name=name, spec=spec, evidence=evidence)
        )


READERS: dict[str, Callable[[RepoFiles, str, Findings], None]] = {
    "pyproject.toml": read_pyproject,
    "setup.py": read_setup_py,
    "setup.cfg": read_setup_cfg,
    "Pipfile": read_pipfile,
    "environment.yml": read_conda_environment,
    "environment.yaml": read_conda_environment,
}
