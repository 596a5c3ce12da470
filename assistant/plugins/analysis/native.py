"""Native projects: Rust crates, Go modules, Ruby and PHP dependencies, Makefiles, shell scripts.

A repository that is not a Python or Node package can still be a plugin: it builds a binary or
ships a script. The proposal needs the commands those produce, and the provisioner needs the
toolchain that builds them and whether this machine already has it (``shutil.which`` at
analysis time). Everything is read as text (Cargo.toml with ``tomllib``): nothing is built or run.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import Any, TypeVar

from assistant.plugins.analysis.files import (
    RepoFiles,
    interpreter_language,
    shebang_program,
    split_lines,
)
from assistant.plugins.analysis.profile import (
    MAX_EVIDENCE,
    Dependency,
    EntryPointFinding,
    EnvVarFinding,
    Evidence,
    Findings,
    Interface,
    ProjectMeta,
    RiskFinding,
    ServiceFinding,
    ToolchainFinding,
    evidence_at,
)


def scan_native(files: RepoFiles) -> Findings:
    """Everything native the repository declares, in a fixed order of ecosystems."""
    return merge_findings(
        [
            _scan_rust(files),
            _scan_go(files),
            _scan_ruby(files),
            _scan_php(files),
            _scan_makefiles(files),
            _scan_shell_scripts(files),
        ]
    )


# --- shared helpers (containers.py uses them too) -------------------------------------------


def merge_findings(parts: Iterable[Findings]) -> Findings:
    """Concatenate findings, then keep one toolchain/env var/service per name (with the evidence
    of all) and one copy of a dependency declared twice in the same file, so the analyzer never
    sees the same fact repeated by one scanner."""
    merged = Findings()
    for part in parts:
        for field in Findings.model_fields:
            getattr(merged, field).extend(getattr(part, field))
    merged.toolchains = _one_per_name(merged.toolchains)
    merged.env_vars = _one_per_name(merged.env_vars)
    merged.services = _one_per_name(merged.services)
    merged.dependencies = _unique_dependencies(merged.dependencies)
    merged.notes = list(dict.fromkeys(merged.notes))
    return merged


Named = TypeVar("Named", ToolchainFinding, EnvVarFinding, ServiceFinding)


def _one_per_name(items: list[Named]) -> list[Named]:
    """The first finding of each name, carrying the evidence of the later ones (capped)."""
    first: dict[str, Named] = {}
    for item in items:
        kept = first.setdefault(item.name, item)
        if kept is not item:
            for evidence in item.evidence:
                add_evidence(kept.evidence, evidence)
    return list(first.values())


def _unique_dependencies(dependencies: list[Dependency]) -> list[Dependency]:
    """The first of each (ecosystem, name, spec, dev, file): ``apt-get install curl`` in two RUN
    steps of one Dockerfile is one need."""
    seen: set[tuple[str, str, str, bool, str]] = set()
    unique: list[Dependency] = []
    for dependency in dependencies:
        key = (
            dependency.ecosystem,
            dependency.name,
            dependency.spec,
            dependency.dev,
            dependency.evidence.file,
        )
        if key not in seen:
            seen.add(key)
            unique.append(dependency)
    return unique


def add_evidence(evidence: list[Evidence], more: Evidence) -> None:
    """Append ``more`` unless it is already there or the list is full: five places prove a
    point, a hundred only bloat the profile."""
    if len(evidence) < MAX_EVIDENCE and more not in evidence:
        evidence.append(more)


def toolchain(name: str, debian_package: str, evidence: Evidence) -> ToolchainFinding:
    """A toolchain the repository needs, and whether this machine has it right now."""
    return ToolchainFinding(
        name=name,
        kind="toolchain",
        found=shutil.which(name) is not None,
        debian_package=debian_package,
        evidence=[evidence],
    )


def base_name(path: str) -> str:
    """The file name of a repo-relative POSIX path, by string splitting: the filters that call
    it run on every path of the repository, where a ``PurePosixPath`` each is measurable."""
    return path.rpartition("/")[2]


def folder_of(path: str) -> str:
    """The folder holding ``path``: the (sub-)project root its findings belong to."""
    return PurePosixPath(path).parent.as_posix()


def in_root(root: str, path: str) -> str:
    """``path`` (relative to ``root``) as a repo-relative path."""
    return path if root == "." else f"{root}/{path}"


INTERNAL_FOLDERS = frozenset({"test", "tests", "testing", "testdata", "spec", "__tests__", "ci"})


def is_internal(path: str) -> bool:
    """Whether ``path`` is hidden or sits in a hidden, test or CI folder: fixtures and the
    project's own tooling there are not what the repository offers."""
    parts = path.split("/")
    return any(p.startswith(".") for p in parts) or any(p in INTERNAL_FOLDERS for p in parts[:-1])


def _line_matching(text: str, pattern: re.Pattern[str]) -> int | None:
    """1-based line of the first match of ``pattern`` in ``text``."""
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _leading_comments(lines: Iterable[str], marker: str) -> Iterator[str]:
    """The lines up to the first one that is not a ``marker`` comment."""
    for line in lines:
        if not line.lstrip().startswith(marker):
            return
        yield line


def _lines_above(lines: list[str], index: int) -> Iterator[str]:
    """The lines before ``index``, nearest first (without copying the list)."""
    return (lines[i] for i in range(index - 1, -1, -1))


def _comment_block(lines: Iterable[str], marker: str) -> str:
    """The first paragraph of the leading ``marker`` comment lines, markers stripped."""
    words: list[str] = []
    for line in _leading_comments(lines, marker):
        content = line.strip().removeprefix(marker).lstrip(marker[-1]).strip()
        if not content and words:
            break
        if content:
            words.append(content)
    return " ".join(words)


# --- Rust -------------------------------------------------------------------------------------

CARGO_DEPENDENCY_TABLES = (
    ("dependencies", False),
    ("dev-dependencies", True),
    ("build-dependencies", False),
)
TOML_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")
TOML_KEY = re.compile(r"""^\s*("[^"]+"|'[^']+'|[\w\-]+)\s*[=.]""")
CARGO_BIN_HEADER = re.compile(r"^\s*\[\[\s*bin\s*\]\]")
RUST_MAIN = re.compile(r"^[ \t]*(?:pub\s+)?(?:async\s+)?fn\s+main\s*\(", re.MULTILINE)
CLAP_USE = re.compile(r"\buse\s+clap\b|\bclap::")


def _scan_rust(files: RepoFiles) -> Findings:
    return merge_findings(_cargo_crate(files, manifest) for manifest in files.named("Cargo.toml"))


def _cargo_crate(files: RepoFiles, manifest: str) -> Findings:
    """One Cargo.toml: its package, dependencies, binaries and build script."""
    data = _toml(files, manifest)
    if data is None:
        return Findings(notes=[f"{manifest}: not valid TOML, skipped"])
    lines = files.lines(manifest)
    key_lines = _toml_key_lines(lines)
    found = Findings(
        dependencies=_cargo_dependencies(data, manifest, lines, key_lines),
        toolchains=[toolchain("cargo", "cargo", Evidence(file=manifest))],
    )
    package = data.get("package")
    if isinstance(package, dict):
        root = folder_of(manifest)
        meta = _cargo_project(
            package, root, evidence_at(manifest, lines, key_lines.get(("package", "")))
        )
        found.projects.append(meta)
        found.entry_points = _cargo_binaries(files, data, meta, manifest, lines)
        found.risks = _cargo_build_script(files, package, root)
    return found


def _toml(files: RepoFiles, path: str) -> dict[str, Any] | None:
    try:
        return tomllib.loads(files.text(path) or "")
    except tomllib.TOMLDecodeError:
        return None


def _toml_key_lines(lines: list[str]) -> dict[tuple[str, str], int]:
    """Where each key is first set: ``(table, key) -> line``, with ``(table, "")`` for a header
    and ``[dependencies.serde]`` indexed as ``("dependencies", "serde")``. ``tomllib`` keeps no
    line numbers, and one pass here saves a search per dependency."""
    index: dict[tuple[str, str], int] = {}
    table = ""
    for number, line in enumerate(lines, 1):
        header = TOML_HEADER.match(line)
        if header:
            table = re.sub(r"[\s\"']", "", header.group(1))
            parent, _, key = table.rpartition(".")
            index.setdefault((table, ""), number)
            index.setdefault((parent, key), number)
            continue
        key_match = TOML_KEY.match(line)
        if key_match:
            index.setdefault((table, key_match.group(1).strip("\"'")), number)
    return index


def _text_or_none(value: Any) -> str | None:
    """A plain string value with its whitespace collapsed (TOML descriptions are often wrapped
    over lines); workspace-inherited fields (``{workspace = true}``) say nothing."""
    return " ".join(value.split()) if isinstance(value, str) else None


def _cargo_project(package: dict[str, Any], root: str, evidence: Evidence) -> ProjectMeta:
    return ProjectMeta(
        name=_text_or_none(package.get("name")),
        version=_text_or_none(package.get("version")),
        description=_text_or_none(package.get("description")),
        license=_text_or_none(package.get("license")),
        root=root,
        evidence=evidence,
    )


def _cargo_dependencies(
    data: dict[str, Any],
    manifest: str,
    lines: list[str],
    key_lines: dict[tuple[str, str], int],
) -> list[Dependency]:
    found: list[Dependency] = []
    for table, dev in CARGO_DEPENDENCY_TABLES:
        section = data.get(table)
        if not isinstance(section, dict):
            continue
        for name, value in section.items():
            line = key_lines.get((table, name))
            found.append(
                Dependency(
                    ecosystem="rust",
                    name=name,
                    spec=value if isinstance(value, str) else _inline_toml(value),
                    dev=dev,
                    evidence=evidence_at(manifest, lines, line),
                )
            )
    return found


def _inline_toml(value: Any) -> str:
    """``value`` in TOML's inline syntax, e.g. ``{git = "https://…", branch = "main"}``: the
    whole requirement on one line, as a person would write it."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_inline_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline_toml(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def _cargo_binaries(
    files: RepoFiles, data: dict[str, Any], meta: ProjectMeta, manifest: str, lines: list[str]
) -> list[EntryPointFinding]:
    """Explicit ``[[bin]]`` targets, then the ones Cargo infers (src/main.rs, src/bin/*), the way
    ``cargo build --release`` names them; an explicit target wins over an inferred one."""
    targets = list(_explicit_bins(files, data, meta.root, manifest, lines))
    package = data["package"]
    if package.get("autobins", True) and meta.name:
        taken = {name for name, _, _ in targets} | {source for _, source, _ in targets}
        targets += [
            target
            for target in _implicit_bins(files, meta.name, meta.root)
            if target[0] not in taken and target[1] not in taken
        ]
    single = len(targets) == 1
    return [
        _rust_bin(
            files, target, meta.root, meta.description if single or target[0] == meta.name else None
        )
        for target in targets
    ]


BinTarget = tuple[str, str, Evidence | None]  # name, repo-relative source, where it is declared


def _explicit_bins(
    files: RepoFiles, data: dict[str, Any], root: str, manifest: str, lines: list[str]
) -> Iterator[BinTarget]:
    """``[[bin]]`` tables in order; the n-th header line is the n-th table's evidence (an inline
    ``bin = [...]`` array has no header, hence no line)."""
    headers = [number for number, line in enumerate(lines, 1) if CARGO_BIN_HEADER.match(line)]
    entries = data.get("bin")
    for position, entry in enumerate(entries if isinstance(entries, list) else []):
        line = headers[position] if position < len(headers) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            continue
        default = f"src/bin/{name}.rs"
        if not files.exists(in_root(root, default)):
            default = "src/main.rs"
        source = entry.get("path") if isinstance(entry.get("path"), str) else default
        yield (
            name,
            in_root(root, source),
            Evidence(file=manifest, line=line, detail=f'[[bin]] name = "{name}"'),
        )


def _implicit_bins(files: RepoFiles, package_name: str, root: str) -> Iterator[BinTarget]:
    """src/main.rs (named after the package), src/bin/NAME.rs and src/bin/NAME/main.rs."""
    main = in_root(root, "src/main.rs")
    if files.exists(main):
        yield package_name, main, None
    prefix = in_root(root, "src/bin/")
    for path in _paths_under(files, prefix):
        if not path.endswith(".rs"):
            continue
        inner = PurePosixPath(path[len(prefix) :])
        if len(inner.parts) == 1:
            yield inner.stem, path, None
        elif len(inner.parts) == 2 and inner.name == "main.rs":
            yield inner.parts[0], path, None


def _paths_under(files: RepoFiles, prefix: str) -> Iterator[str]:
    """Paths starting with ``prefix``: a binary search into the sorted list, not a full scan
    per crate (a workspace can hold hundreds of crates)."""
    paths = files.paths
    for index in range(bisect_left(paths, prefix), len(paths)):
        if not paths[index].startswith(prefix):
            return
        yield paths[index]


def _rust_bin(
    files: RepoFiles, target: BinTarget, root: str, package_description: str | None
) -> EntryPointFinding:
    """A binary, described by its ``//!`` doc, else by the package's description when it is the
    package's only or namesake binary."""
    name, source, declared = target
    text = files.text(source) or ""
    main_line = _line_matching(text, RUST_MAIN)
    evidence = [declared] if declared else []
    if main_line:
        evidence.append(evidence_at(source, files.lines(source), main_line))
    described = _comment_block(split_lines(text), "//!")
    return EntryPointFinding(
        kind="rust_bin",
        name=name,
        root=root,
        command=[f"target/release/{name}"],
        file=source,
        line=main_line,
        framework="clap" if CLAP_USE.search(text) else "cargo",
        language="rust",
        description=described or package_description or "",
        evidence=evidence,
    )


def _cargo_build_script(files: RepoFiles, package: dict[str, Any], root: str) -> list[RiskFinding]:
    """A build script is arbitrary Rust that runs on ``cargo build``, before any binary exists."""
    declared = package.get("build", "build.rs")
    if not isinstance(declared, str):
        return []
    script = in_root(root, declared)
    if not files.exists(script):
        return []
    return [
        RiskFinding(
            category="install_code",
            severity="medium",
            detail=f"{script} is a Cargo build script: it runs code at `cargo build`",
            evidence=[Evidence(file=script)],
        )
    ]


# --- Go ---------------------------------------------------------------------------------------

GO_MODULE = re.compile(r"^module\s+(\S+)")
GO_DIRECTIVE = re.compile(r"^go\s+(\d[\w.]*)")
GO_BLOCK_START = re.compile(r"^(\w+)\s*\($")
GO_REQUIREMENT = re.compile(r"^(\S+)\s+(v\S+)(\s*//\s*indirect\b)?")
GO_PACKAGE_MAIN = re.compile(r"^package\s+main\b", re.MULTILINE)
GO_FUNC_MAIN = re.compile(r"^func\s+main\s*\(\s*\)", re.MULTILINE)
GO_BUILD_IGNORE = re.compile(r"^//[ \t]*(?:go:build|\+build)[ \t]+ignore\b", re.MULTILINE)
GO_MAJOR_VERSION = re.compile(r"^v\d+$")
COBRA_IMPORT = '"github.com/spf13/cobra"'


def _scan_go(files: RepoFiles) -> Findings:
    modules = [_go_module(files, path) for path in files.named("go.mod")]
    module_paths = {meta.root: meta.name for part in modules for meta in part.projects if meta.name}
    mains = Findings(entry_points=_go_mains(files, module_paths))
    mains.toolchains = [toolchain("go", "golang-go", e.evidence[0]) for e in mains.entry_points]
    return merge_findings([*modules, mains])


def _go_module(files: RepoFiles, path: str) -> Findings:
    """go.mod: the module path, the ``go`` directive and every ``require`` (block or single)."""
    lines = files.lines(path)
    found = Findings()
    go_line: int | None = None
    block = ""
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if block:
            block = "" if line.startswith(")") else block
            if block == "require":
                found.dependencies += _go_requirement(line, evidence_at(path, lines, number))
        elif start := GO_BLOCK_START.match(line):
            block = start.group(1)
        elif line.startswith("require "):
            found.dependencies += _go_requirement(
                line[len("require ") :], evidence_at(path, lines, number)
            )
        elif module := GO_MODULE.match(line):
            found.projects.append(
                ProjectMeta(
                    name=module.group(1),
                    root=folder_of(path),
                    evidence=evidence_at(path, lines, number),
                )
            )
        elif GO_DIRECTIVE.match(line) and go_line is None:
            go_line = number
    found.toolchains = [toolchain("go", "golang-go", evidence_at(path, lines, go_line))]
    return found


def _go_requirement(line: str, evidence: Evidence) -> list[Dependency]:
    """``path v1.2.3 // indirect`` -> a Dependency whose spec keeps the ``// indirect`` mark:
    indirect modules are still needed to build, so they are not "dev"."""
    match = GO_REQUIREMENT.match(line.strip())
    if not match:
        return []
    spec = match.group(2) + (" // indirect" if match.group(3) else "")
    return [Dependency(ecosystem="go", name=match.group(1), spec=spec, evidence=evidence)]


def _go_mains(files: RepoFiles, module_paths: dict[str, str]) -> list[EntryPointFinding]:
    """One entry per folder whose Go files make a ``package main`` with ``func main()``."""
    by_folder: dict[str, list[str]] = {}
    for path in files.with_suffix(".go"):
        if _is_go_main_file(files, path):
            by_folder.setdefault(folder_of(path), []).append(path)
    found = [_go_main(files, folder, paths, module_paths) for folder, paths in by_folder.items()]
    return [entry for entry in found if entry is not None]


def _is_go_main_file(files: RepoFiles, path: str) -> bool:
    """A buildable ``package main`` file: not a test, not under a folder the go tool ignores
    (``testdata``, ``_x``, ``.x``), not excluded by an ``ignore`` build tag (code generators)."""
    parts = path.split("/")
    if path.endswith("_test.go") or any(p.startswith(("_", ".")) or p == "testdata" for p in parts):
        return False
    text = files.text(path) or ""
    return (
        "package main" in text
        and GO_PACKAGE_MAIN.search(text) is not None
        and GO_BUILD_IGNORE.search(text) is None
    )


def _go_main(
    files: RepoFiles, folder: str, paths: list[str], module_paths: dict[str, str]
) -> EntryPointFinding | None:
    main_file = next((p for p in paths if GO_FUNC_MAIN.search(files.text(p) or "")), None)
    if main_file is None:
        return None
    text = files.text(main_file) or ""
    lines = split_lines(text)
    root = _go_module_root(folder, module_paths)
    name = _go_binary_name(folder, root, module_paths) or files.root.name
    main_line = _line_matching(text, GO_FUNC_MAIN)
    cobra = any(COBRA_IMPORT in (files.text(p) or "") for p in paths)
    return EntryPointFinding(
        kind="go_main",
        name=name,
        root=root,
        command=[f"bin/{name}"],
        file=main_file,
        line=main_line,
        framework="cobra" if cobra else "go",
        language="go",
        description=_go_doc(lines),
        evidence=[evidence_at(main_file, lines, main_line)],
    )


def _go_module_root(folder: str, module_paths: dict[str, str]) -> str:
    """The nearest folder at or above ``folder`` holding a go.mod ("." when there is none)."""
    candidates = [r for r in module_paths if r == "." or folder == r or folder.startswith(r + "/")]
    return max(candidates, key=len, default=".")


def _go_binary_name(folder: str, root: str, module_paths: dict[str, str]) -> str | None:
    """What ``go build`` names the binary: the folder, or for the module root the module path's
    last element (skipping a ``/v2`` major-version suffix)."""
    if folder != root:
        return PurePosixPath(folder).name
    elements = module_paths.get(root, "").split("/")
    if len(elements) > 1 and GO_MAJOR_VERSION.match(elements[-1]):
        elements.pop()
    return elements[-1] or None


def _go_doc(lines: list[str]) -> str:
    """The doc comment right above ``package main`` ("// Command x does y")."""
    for index, line in enumerate(lines):
        if GO_PACKAGE_MAIN.match(line):
            above = list(_leading_comments(_lines_above(lines, index), "//"))
            return _comment_block(reversed(above), "//")
    return ""


# --- Ruby and PHP -----------------------------------------------------------------------------

GEM_LINE = re.compile(r"""^\s*gem\s*\(?\s*["']([^"']+)["'](.*)$""")
GEMSPEC_LINE = re.compile(
    r"""\.add_(runtime_|development_)?dependency\s*\(?\s*["']([^"']+)["'](.*)$"""
)
GEM_OPTION = re.compile(r",\s*(?::?\w+\s*=>|\w+:)")
RUBY_COMMENT = re.compile(r"\s#.*$")
QUOTED = re.compile(r"""["']([^"']*)["']""")
GEM_GROUP = re.compile(r"^\s*group\s+(.+?)\s+do\b")
RUBY_BLOCK = re.compile(r"\bdo\s*(?:\|[^|]*\|)?\s*$")
RUBY_END = re.compile(r"^\s*end\b")
DEV_GROUP = re.compile(r""":(?:development|test)\b|["'](?:development|test)["']""")
COMPOSER_PLATFORM = re.compile(r"^(php|hhvm|composer(-plugin|-runtime)?-api|ext-.+|lib-.+)$")
JSON_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:')


def _scan_ruby(files: RepoFiles) -> Findings:
    parts = [_gemfile(files, path) for path in files.named("Gemfile")]
    parts += [_gemspec(files, path) for path in files.with_suffix(".gemspec")]
    return merge_findings(parts)


def _gemfile(files: RepoFiles, path: str) -> Findings:
    """Gemfile ``gem`` lines; those in a development/test group (block or ``group:``) are dev."""
    lines = files.lines(path)
    dependencies: list[Dependency] = []
    groups: list[bool] = []  # one per open ``do`` block: is it a dev group?
    for number, line in enumerate(lines, 1):
        if group := GEM_GROUP.match(line):
            groups.append(DEV_GROUP.search(group.group(1)) is not None)
        elif RUBY_BLOCK.search(line):
            groups.append(False)
        elif RUBY_END.match(line):
            groups = groups[:-1]
        elif gem := GEM_LINE.match(line):
            versions, options = _gem_arguments(gem.group(2))
            dev = any(groups) or ("group" in options and DEV_GROUP.search(options) is not None)
            dependencies.append(_gem(gem.group(1), versions, dev, evidence_at(path, lines, number)))
    return Findings(dependencies=dependencies, toolchains=_ruby_toolchains(path, with_bundler=True))


def _gemspec(files: RepoFiles, path: str) -> Findings:
    """A gem's own ``add_dependency`` / ``add_development_dependency`` lines."""
    lines = files.lines(path)
    dependencies = [
        _gem(
            match.group(2),
            _gem_arguments(match.group(3))[0],
            match.group(1) == "development_",
            evidence_at(path, lines, number),
        )
        for number, line in enumerate(lines, 1)
        if (match := GEMSPEC_LINE.search(line))
    ]
    return Findings(
        dependencies=dependencies, toolchains=_ruby_toolchains(path, with_bundler=False)
    )


def _gem_arguments(rest: str) -> tuple[str, str]:
    """The version constraints (``"~> 1.0", ">= 1.0.2"``) and the options after them; a
    trailing ``# comment`` is neither."""
    rest = RUBY_COMMENT.sub("", rest)
    versions = GEM_OPTION.split(rest, maxsplit=1)[0]
    return ", ".join(QUOTED.findall(versions)), rest[len(versions) :]


def _gem(name: str, spec: str, dev: bool, evidence: Evidence) -> Dependency:
    return Dependency(ecosystem="ruby", name=name, spec=spec, dev=dev, evidence=evidence)


def _ruby_toolchains(path: str, with_bundler: bool) -> list[ToolchainFinding]:
    found = [toolchain("ruby", "ruby", Evidence(file=path))]
    if with_bundler:
        found.append(toolchain("bundle", "ruby-bundler", Evidence(file=path)))
    return found


def _scan_php(files: RepoFiles) -> Findings:
    return merge_findings(_composer(files, path) for path in files.named("composer.json"))


def _composer(files: RepoFiles, path: str) -> Findings:
    """composer.json: the package, its ``require``/``require-dev`` packages (platform entries
    like ``php`` and ``ext-*`` are needs of the interpreter, not packages), php and composer."""
    try:
        data = json.loads(files.text(path) or "")
    except json.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return Findings(notes=[f"{path}: not a JSON object, skipped"])
    lines = files.lines(path)
    key_lines = _json_key_lines(lines)
    found = Findings(
        projects=[
            _composer_project(
                data, folder_of(path), evidence_at(path, lines, key_lines.get("name"))
            )
        ],
        toolchains=[
            toolchain("php", "php-cli", evidence_at(path, lines, key_lines.get("php"))),
            toolchain("composer", "composer", Evidence(file=path)),
        ],
    )
    for section, dev in (("require", False), ("require-dev", True)):
        requirements = data.get(section)
        for name, spec in requirements.items() if isinstance(requirements, dict) else ():
            if not COMPOSER_PLATFORM.match(name):
                evidence = evidence_at(path, lines, key_lines.get(name))
                found.dependencies.append(
                    Dependency(
                        ecosystem="php", name=name, spec=str(spec), dev=dev, evidence=evidence
                    )
                )
    return found


def _json_key_lines(lines: list[str]) -> dict[str, int]:
    """The line where each JSON key first appears (``json`` keeps no positions)."""
    index: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        for key in JSON_KEY.findall(line):
            index.setdefault(key, number)
    return index


def _composer_project(data: dict[str, Any], root: str, evidence: Evidence) -> ProjectMeta:
    license_ = data.get("license")
    if isinstance(license_, list):
        license_ = " OR ".join(str(item) for item in license_)
    return ProjectMeta(
        name=_text_or_none(data.get("name")),
        version=_text_or_none(data.get("version")),
        description=_text_or_none(data.get("description")),
        license=_text_or_none(license_),
        root=root,
        evidence=evidence,
    )


# --- Makefiles --------------------------------------------------------------------------------

MAKEFILE_NAMES = ("Makefile", "makefile", "GNUmakefile")
# A rule line: target names (no ``%`` patterns, no ``.SPECIAL``, no ``$(VAR)``), then ``:`` or
# ``::`` that is not an assignment (``:=``, ``::=``).
MAKE_RULE = re.compile(
    r"^([A-Za-z0-9_][\w.\-/]*(?:[ \t]+[A-Za-z0-9_][\w.\-/]*)*)[ \t]*::?+(?!=)(.*)$"
)
MAKE_TARGET_VARIABLE = re.compile(r"^\s*(?:export\s+|override\s+)?[A-Za-z_][\w.]*\s*[:+?!]?=")
GENERIC_TARGETS = frozenset({"all", "clean", "install", "test"})
COMPILES_C = re.compile(r"\$[({]CC[)}]|(?<![\w-])(?:gcc|clang|cc)\s|[\w\-/]+\.c\b")
OUTPUT_FLAG = re.compile(r"^\t.*\s-o\s*\S")


def _scan_makefiles(files: RepoFiles) -> Findings:
    return merge_findings(
        _makefile(files, path) for path in files.named(*MAKEFILE_NAMES) if not is_internal(path)
    )


def _makefile(files: RepoFiles, path: str) -> Findings:
    """Targets a person would run by name, the make toolchain, a C compiler when the recipes
    compile C, and a "build with make" note when a recipe writes an output (``-o``)."""
    text = files.text(path) or ""
    lines = split_lines(text)
    root = folder_of(path)
    found = Findings(
        entry_points=list(_make_targets(path, lines)),
        toolchains=[toolchain("make", "make", Evidence(file=path))],
    )
    compile_line = _line_matching(text, COMPILES_C)
    if compile_line:
        found.toolchains.append(toolchain("cc", "gcc", evidence_at(path, lines, compile_line)))
    if compile_line or any(OUTPUT_FLAG.match(line) for line in lines):
        found.notes.append(f"{root}: build with make")
    return found


def _make_targets(path: str, lines: list[str]) -> Iterator[EntryPointFinding]:
    """Each named target once, in file order. Names with a dot or slash are files the rules
    produce (``main.o``, ``bin/tool``), not tasks; ``define`` bodies are text, not rules."""
    seen: set[str] = set()
    in_define = False
    for index, line in enumerate(lines):
        word = line.split(maxsplit=1)[0] if line.strip() else ""
        if word in ("define", "endef"):
            in_define = word == "define"
            continue
        rule = MAKE_RULE.match(line)
        if in_define or not rule or MAKE_TARGET_VARIABLE.match(rule.group(2)):
            continue
        for target in rule.group(1).split():
            if target not in seen and not any(c in target for c in "./"):
                seen.add(target)
                yield _make_target(path, lines, index, target, rule.group(2))


def _make_target(
    path: str, lines: list[str], index: int, target: str, rest: str
) -> EntryPointFinding:
    """A target; its description is the ``target: ## text`` help convention, else the comment
    right above the rule."""
    _, _, help_text = rest.partition("##")
    above = list(_leading_comments(_lines_above(lines, index), "#"))
    description = help_text.strip() or _comment_block(reversed(above), "#")
    return EntryPointFinding(
        kind="make_target",
        name=target,
        root=folder_of(path),
        command=["make", target],
        file=path,
        line=index + 1,
        framework="make",
        language="make",
        description=description,
        evidence=[evidence_at(path, lines, index + 1)],
        confidence=0.4 if target in GENERIC_TARGETS else 0.6,
    )


# --- shell scripts and other shebang scripts --------------------------------------------------

OWNED_ELSEWHERE = (".py", ".js", ".mjs", ".cjs", ".ts")  # the Python and Node scanners' files
SHELL_SUFFIXES = (".sh", ".bash")
COMMENT_DIRECTIVE = re.compile(
    r"^#\s*(?:shellcheck\s|-\*-|vim?:|(?:en)?coding[:=]|frozen_string_literal:|usage\b)",
    re.IGNORECASE,
)
USAGE = re.compile(r"\busage:[ \t]*([^\"'`\n]+)", re.IGNORECASE)
USAGE_PARAMETER = re.compile(
    r"^(?P<optional>\[)?(?:<(?P<angle>[A-Za-z][\w-]*)>|(?P<upper>[A-Z][A-Z0-9_-]*))"
    r"(?P<many>\.\.\.)?\]?(?P<many_after>\.\.\.)?$"
)
NOT_PARAMETERS = frozenset({"options", "option", "flags", "opts"})
PATH_LIKE = re.compile(
    r"(?:file|path|dir|directory|folder|input|output|image|src|dest|source)s?$|^(?:in|out)$"
)


def _scan_shell_scripts(files: RepoFiles) -> Findings:
    scripts = (_shell_script(files, path) for path in files.paths if _may_be_script(files, path))
    return Findings(entry_points=[script for script in scripts if script is not None])


def _may_be_script(files: RepoFiles, path: str) -> bool:
    """Cheap checks first: a name the other scanners do not own, outside hidden and test
    folders, and either a shell suffix or the executable bit."""
    if path.endswith(OWNED_ELSEWHERE) or is_internal(path):
        return False
    return path.endswith(SHELL_SUFFIXES) or files.is_executable(path)


def _shell_script(files: RepoFiles, path: str) -> EntryPointFinding | None:
    """A file with a shebang: run as ``./path``. A script without the executable bit needs a
    ``chmod`` first, so it is less certain to be meant as a command."""
    lines = files.lines(path)
    if not lines or not lines[0].startswith("#!"):
        return None
    interpreter = shebang_program(lines[0])
    description = _script_description(lines[1:])
    return EntryPointFinding(
        kind="shell_script",
        name=PurePosixPath(path).stem,
        command=[f"./{path}"],
        file=path,
        line=1,
        language=interpreter_language(interpreter),
        description=description,
        interface=_usage_interface(path, files.text(path) or "", description),
        evidence=[evidence_at(path, lines, 1)],
        confidence=0.7 if files.is_executable(path) else 0.5,
    )


def _script_description(lines: list[str]) -> str:
    """The first comment paragraph after the shebang, minus editor/linter directives and the
    usage line (which becomes the interface)."""
    comments = _leading_comments(lines, "#")
    return _comment_block((c for c in comments if not COMMENT_DIRECTIVE.match(c.strip())), "#")


def _usage_interface(path: str, text: str, description: str) -> Interface | None:
    """Positional parameters from a ``Usage: resize.sh INPUT WIDTH`` line: upper-case or
    ``<angle>`` words after the program name, ``[optional]``, ``MANY...``; options skipped."""
    match = USAGE.search(text)
    if not match:
        return None
    words = match.group(1).split()
    program = PurePosixPath(path)
    start = next(
        (
            i
            for i, w in enumerate(words)
            if "$0" in w or "${0" in w or program.name in w or w == program.stem
        ),
        None,
    )
    if start is None:
        return None
    parameters = [p for p in map(USAGE_PARAMETER.match, words[start + 1 :]) if p]
    line = text.count("\n", 0, match.start()) + 1
    usage = f"Usage: {match.group(1).strip()}"
    return _positional_interface(
        parameters, description, Evidence(file=path, line=line, detail=usage)
    )


def _positional_interface(
    parameters: list[re.Match[str]], description: str, evidence: Evidence
) -> Interface:
    """The JSON Schema of the usage line's positionals, in order: a script's usage line is the
    only interface a person wrote down for it, so the proposal can offer typed arguments."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in parameters:
        name = (parameter["angle"] or parameter["upper"]).lower().replace("-", "_")
        if name in properties or name in NOT_PARAMETERS:
            continue
        value: dict[str, Any] = {"type": "string"}
        if PATH_LIKE.search(name):
            value["format"] = "path"
        many = parameter["many"] or parameter["many_after"]
        properties[name] = {"type": "array", "items": value} if many else value
        if not parameter["optional"]:
            required.append(name)
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    return Interface(
        framework="help",
        description=description,
        parameters=schema,
        args={name: {"position": position} for position, name in enumerate(properties)},
        evidence=evidence,
    )
