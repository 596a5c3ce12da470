"""One pass over a repository: run every scanner, connect what they found, give a verdict.

Scanners each see one ecosystem or one concern and know nothing of each other; this module
is where their findings meet: declared dependencies decide which imports are hidden, entry
points get their parameter schemas from the interface readers, duplicates (a console script
and the ``__main__`` block of the same file) collapse into one, and the verdict says whether
anything here can be called at all.
"""

from __future__ import annotations

import ast
import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from assistant import paths
from assistant.plugins.analysis import formats
from assistant.plugins.analysis.cli_static import cli_interface
from assistant.plugins.analysis.containers import scan_containers
from assistant.plugins.analysis.env_vars import scan_env_vars
from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.native import merge_findings, scan_native
from assistant.plugins.analysis.node import scan_node
from assistant.plugins.analysis.profile import (
    EntryPointFinding,
    Evidence,
    Findings,
    Inferred,
    ProjectMeta,
    RepositoryProfile,
    Verdict,
)
from assistant.plugins.analysis.python_api import library_functions
from assistant.plugins.analysis.python_entries import scan_python_entries
from assistant.plugins.analysis.python_imports import hidden_dependencies
from assistant.plugins.analysis.python_packaging import scan_python_packaging
from assistant.plugins.analysis.resources import detect_resources
from assistant.plugins.analysis.risks import detect_risks
from assistant.plugins.analysis.services import detect_services
from assistant.plugins.analysis.signature import function_interface, route_interface

SCANNERS = (
    scan_python_packaging,
    scan_python_entries,
    scan_node,
    scan_native,
    scan_env_vars,  # before containers: what the code requires wins over a compose default
    scan_containers,
)
# A Python project with one of these is a program; without, its public functions are its API.
PYTHON_PROGRAMS = (
    "console_script",
    "gui_script",
    "python_module",
    "http_app",
    "mcp_server",
    "agent",
)
CLI_KINDS = ("console_script", "gui_script", "python_module", "python_script")
CALLABLE_KINDS = ("python_function", "http_app", "agent")
# A file that one of these describes also has a `__main__` block; the script finding is the
# same program seen from a weaker angle.
STRONGER_THAN_SCRIPT = ("console_script", "mcp_server", "http_app", "agent")
LAUNCHERS = ("console_script", "python_module", "python_script")
C_SOURCES = (".c", ".cc", ".cpp")
DOC_LANGUAGES = frozenset({"markdown", "restructuredtext"})
_README = re.compile(r"^readme(\.(md|rst|txt))?$", re.IGNORECASE)


def analyze(
    root: Path,
    *,
    source: str | None = None,
    commit: str | None = None,
    name_hint: str | None = None,
) -> RepositoryProfile:
    """Read the repository checked out at ``root`` (nothing is installed or executed).

    ``name_hint`` names the plugin when no package file does (the repository's name: a
    clone's folder is called whatever the installer chose)."""
    with _collector_paused():
        return _analyze(root, source, commit, name_hint)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Syntax trees are millions of small objects without cycles: the cyclic garbage
    collector would walk them again and again (it doubled the analysis time) for nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _analyze(
    root: Path, source: str | None, commit: str | None, name_hint: str | None
) -> RepositoryProfile:
    files = RepoFiles(root)
    found = Findings()
    for scanner in SCANNERS:
        _extend(found, scanner(files))
    found.hidden_dependencies = hidden_dependencies(files, found.dependencies)
    found.services += detect_services(files, found.dependencies, found.env_vars)
    _extend(found, detect_resources(files, found.dependencies))
    found.risks += detect_risks(files)
    found = merge_findings([found])  # one env var, service, toolchain per name
    entries = [_as_built_program(files, e) for e in _without_duplicates(found.entry_points)]
    if not any(e.kind in PYTHON_PROGRAMS for e in entries):
        entries += library_functions(files)  # a library whose modules have demo main blocks
    found.entry_points = [_with_interface(files, e) for e in entries]
    found.entry_points = [formats.with_formats(files, e) for e in found.entry_points]
    languages = files.languages()
    manifest_file = next((n for n in paths.MANIFEST_NAMES if files.exists(n)), None)
    return RepositoryProfile(
        **found.model_dump(),
        source=source or str(root),
        commit=commit,
        name=_name(found.projects, name_hint or root.resolve().name),
        description=_description(files, found.projects),
        python_requires_spec=_python_requires(found),
        files=len(files.paths),
        languages=languages,
        manifest_file=manifest_file,
        verdict=verdict(found.entry_points, languages, manifest_file),
    )


def _extend(into: Findings, more: Findings) -> None:
    for field in Findings.model_fields:
        getattr(into, field).extend(getattr(more, field))


def _without_duplicates(entries: list[EntryPointFinding]) -> list[EntryPointFinding]:
    """Drop a finding that another, more precise one already describes, since both would
    run the same program: a script whose file is also a console script, server or agent; a
    ``python -m`` package with a console script of its own; a console script that starts an
    agent found as such; the launchers of a project's MCP server; a shell script that a
    Dockerfile's entry point runs."""
    strong_files = {e.file for e in entries if e.kind in STRONGER_THAN_SCRIPT and e.file}
    scripted = {(e.module or "").split(".")[0] for e in entries if e.kind == "console_script"}
    agents = {(e.module, e.function) for e in entries if e.kind == "agent"}
    servers = {e.root for e in entries if e.kind == "mcp_server"}
    in_images = {
        PurePosixPath(word).name for e in entries if e.kind == "docker" for word in e.command or []
    }
    kept = []
    for entry in entries:
        if entry.kind == "python_script" and entry.file in strong_files:
            continue
        if entry.kind == "python_module" and (entry.module or "").split(".")[0] in scripted:
            continue
        if entry.kind == "console_script" and (entry.module, entry.function) in agents:
            continue
        if entry.kind in LAUNCHERS and entry.language == "python" and entry.root in servers:
            continue  # starts the project's MCP server: over stdio, not a command to call
        if entry.kind == "shell_script" and PurePosixPath(entry.file or "").name in in_images:
            continue
        kept.append(entry)
    return kept


def _as_built_program(files: RepoFiles, entry: EntryPointFinding) -> EntryPointFinding:
    """A Makefile target named after a C source (``wc2: wc2.c``) builds that program; the
    capability runs the program (``make`` runs at install), not ``make wc2`` each time."""
    if entry.kind != "make_target":
        return entry
    folder = "" if entry.root in (".", "") else entry.root + "/"
    if not any(files.exists(f"{folder}{entry.name}{ext}") for ext in C_SOURCES):
        return entry
    return entry.model_copy(
        update={"command": [f"./{entry.name}"], "confidence": max(entry.confidence, 0.8)}
    )


def _with_interface(files: RepoFiles, entry: EntryPointFinding) -> EntryPointFinding:
    """Fill the entry's parameters from its argparse/click/typer code or its signature."""
    if entry.interface is not None or entry.file is None or not entry.file.endswith(".py"):
        return entry
    interface = None
    if entry.kind in CLI_KINDS:
        interface = cli_interface(files, entry.file, entry.function)
    elif entry.kind in CALLABLE_KINDS and entry.function:
        tree = files.python(entry.file)
        node = _function_def(tree, entry.function) if tree else None
        if tree is not None and node is not None:
            evidence = Evidence(file=entry.file, line=node.lineno)
            if entry.framework == "fastapi":
                interface = route_interface(node, evidence, tree)
            else:
                interface = function_interface(node, evidence)
    if interface is None:
        return entry
    return entry.model_copy(
        update={
            "interface": interface,
            "description": entry.description or interface.description,
            "framework": entry.framework or interface.framework,
        }
    )


def _function_def(tree: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    return None


def verdict(
    entries: list[EntryPointFinding], languages: dict[str, int], manifest_file: str | None
) -> Verdict:
    """Whether anything here can be run or called, with the reasons either way."""
    if manifest_file:
        return Verdict(plugin=True, reasons=[f"the repository declares itself in {manifest_file}"])
    usable = [e for e in entries if e.confidence >= 0.5]
    if usable:
        kinds = sorted({e.kind for e in usable})
        return Verdict(
            plugin=True,
            reasons=[f"{len(usable)} entry point(s) found: {', '.join(kinds)}"],
        )
    reasons = []
    code = {k: v for k, v in languages.items() if k not in DOC_LANGUAGES | {"notebook"}}
    if languages.get("notebook") and not code:
        reasons.append(
            f"only Jupyter notebooks ({languages['notebook']}): a notebook is not a program "
            "Mark-1 can call; export the code to a script with a command-line interface"
        )
    elif not code:
        reasons.append("no source code: the repository holds documentation or data only")
    else:
        spoken = ", ".join(f"{n} {lang}" for lang, n in code.items())
        reasons.append(
            f"source code ({spoken} files) but nothing callable: no command-line program, "
            "script with a main block, service, MCP server, agent, or public function"
        )
    if entries:
        reasons.append(
            "low-confidence candidates only: " + ", ".join(sorted({e.name for e in entries}))
        )
    reasons.append("add a mark1.plugin.yml that says how to run it (`mark1 plugin schema`)")
    return Verdict(plugin=False, reasons=reasons)


def _name(projects: list[ProjectMeta], fallback: str) -> Inferred:
    top = _top_project(projects)
    if top is not None and top.name:
        evidence = [top.evidence] if top.evidence else []
        return Inferred(value=top.name, confidence=1.0, evidence=evidence)
    return Inferred(
        value=fallback,
        confidence=0.5,
        evidence=[Evidence(file=".", detail="the repository's name")],
    )


def _description(files: RepoFiles, projects: list[ProjectMeta]) -> Inferred:
    top = _top_project(projects)
    if top is not None and top.description:
        evidence = [top.evidence] if top.evidence else []
        return Inferred(value=top.description, confidence=1.0, evidence=evidence)
    readme = next((p for p in files.paths if "/" not in p and _README.match(p)), None)
    if readme:
        line, text = _first_paragraph(files.lines(readme))
        if text:
            return Inferred(value=text, confidence=0.7, evidence=[Evidence(file=readme, line=line)])
    return Inferred(value="", confidence=0.0)


def _top_project(projects: list[ProjectMeta]) -> ProjectMeta | None:
    """The project at the repository's root: a monorepo's tools do not name the whole."""
    return next((p for p in projects if p.root in (".", "")), None)


def _first_paragraph(lines: list[str]) -> tuple[int, str]:
    """The README's first prose paragraph (skipping titles, badges, HTML and blank lines)."""
    start, collected = 0, list[str]()
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        skip = line.startswith(("#", "[![", "![", "<", "=", "-", "```", ".. ")) or (
            not collected and not line
        )
        if collected and (not line or line.startswith("#")):
            break
        if skip:
            continue
        start = start or number
        collected.append(line)
    return start, " ".join(collected)[:300]


def _python_requires(found: Findings) -> str | None:
    """The Python constraints declared at the repository's root, joined (scanners give PEP
    440 specifiers). A monorepo's sub-projects may each want another Python; joining theirs
    could ask for the impossible, so without a root constraint the first one stands."""
    specs: list[str] = []
    at_root = [i for i in found.python_requires if all("/" not in e.file for e in i.evidence)]
    for inferred in at_root or found.python_requires[:1]:
        for part in str(inferred.value).split(","):
            if part.strip() and part.strip() not in specs:
                specs.append(part.strip())
    return ",".join(specs) or None
