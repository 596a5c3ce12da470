"""From a RepositoryProfile to a manifest: the one Mark-1 proposes, or the author's, completed.

Without a manifest, every usable entry point becomes a capability (a CLI with subcommands
becomes one per subcommand) carrying the parameter schema, formats, env vars and services the
analysis found. With the author's manifest, the analysis only fills what it leaves empty;
whatever the author wrote stands. Either way ``inferred`` lists each field that came from the
analysis, how sure it is, and the evidence, so the person confirming the install can judge it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from assistant.plugins.analysis.profile import (
    EntryPointFinding,
    Evidence,
    Inferred,
    Interface,
    RepositoryProfile,
)
from assistant.plugins.manifest import (
    NAME_PATTERN,
    ArgSpec,
    Capability,
    EntryPoint,
    EnvVar,
    Manifest,
    Permissions,
    Service,
)

MIN_CONFIDENCE = 0.5
# Kinds offered only when nothing more direct exists in the same project.
FALLBACK_KINDS = ("node_script", "make_target", "docker", "python_function")
ROOT_INSTALLED = ("requirements.txt", "pyproject.toml", "setup.py", "setup.cfg")
BUILT_DIRS = ("target/release/", "bin/")
SCRIPTS = (".py", ".js", ".mjs", ".cjs", ".ts", ".sh")
FORMAT_EVIDENCE = ("reads", "writes", "parameter")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # what EnvVar accepts
# Development chores, documentation and CI: never a capability, even where nothing else is.
DEV_FOLDERS = frozenset(
    {
        "docs", "doc", "docs_src", "examples", "example", ".github", "benchmarks", "fuzz", "ci",
        "packaging",
    }
)  # fmt: skip
DEV_NAMES = frozenset(
    {
        "help", "lint", "format", "fmt", "test", "tests", "check", "clean", "install", "docs",
        "html", "livehtml", "publish", "release", "upload", "deploy", "coverage", "dist",
        "build", "all", "setup", "bump", "changelog", "typecheck", "mypy", "style", "dev",
    }
)  # fmt: skip
_UNSAFE = re.compile(r"[^a-z0-9._-]+")


@dataclass
class Proposal:
    """The manifest to install with, and which of its fields the analysis supplied."""

    manifest: Manifest | None
    inferred: dict[str, Inferred] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "manifest": to_document(self.manifest) if self.manifest else None,
            "inferred": {k: v.model_dump(mode="json") for k, v in self.inferred.items()},
            "notes": self.notes,
        }


def propose(profile: RepositoryProfile, author: Manifest | None = None) -> Proposal:
    """The manifest for ``profile``'s repository (``author``'s own, completed, if it has one)."""
    if author is not None:
        return _complete(author, profile)
    if not profile.verdict.plugin:
        return Proposal(None)  # the verdict's reasons say why
    proposal = Proposal(None)
    capabilities: list[Capability] = []
    for entry in _chosen(profile.entry_points):
        for name, command, interface, description in _commands(entry):
            capability = _capability(profile, entry, _unique(name, capabilities), command,
                                     interface, description)  # fmt: skip
            if capability is None:
                proposal.notes.append(f"{entry.kind} '{entry.name}' cannot be expressed yet")
                continue
            capabilities.append(capability)
            _record_capability(proposal, profile, entry, capability, interface)
    if not capabilities:
        return Proposal(None, notes=["no entry point could be turned into a capability"])
    proposal.manifest = Manifest(
        name=_safe_name(str(profile.name.value)) or "plugin",
        version=_version(profile),
        description=str(profile.description.value)[:300],
        python_requires=profile.python_requires_spec,
        python_packages=_python_packages(profile),
        system_packages=_system_packages(profile),
        env=[_env_var(e) for e in profile.env_vars if ENV_NAME.match(e.name)],
        capabilities=capabilities,
    )
    proposal.inferred["name"] = profile.name
    if profile.env_vars:
        proposal.inferred["env"] = Inferred(
            value=[e.name for e in profile.env_vars],
            confidence=0.8,
            evidence=[e.evidence[0] for e in profile.env_vars if e.evidence][:5],
        )
    return proposal


def _chosen(entries: list[EntryPointFinding]) -> list[EntryPointFinding]:
    """Entry points worth a capability: confident ones, fallbacks only where nothing else is."""
    usable = [
        e
        for e in entries
        if e.confidence >= MIN_CONFIDENCE and e.kind != "gui_script" and not _is_chore(e)
    ]
    direct_roots = {e.root for e in usable if e.kind not in FALLBACK_KINDS}
    return [e for e in usable if e.kind not in FALLBACK_KINDS or e.root not in direct_roots]


def _is_chore(entry: EntryPointFinding) -> bool:
    """Lint/test/release scripts and targets, docs builds and examples: how the project is
    developed, not what it offers."""
    folders = _folders(entry.file or "") | set(PurePosixPath(entry.root).parts)
    stem = PurePosixPath(entry.name).stem.lower().replace("_", "-")
    chore_name = stem in DEV_NAMES or stem.split("-")[0] in DEV_NAMES
    scriptish = entry.kind in ("make_target", "node_script", "shell_script", "python_script")
    return bool(folders & DEV_FOLDERS) or (scriptish and chore_name)


def _folders(path: str) -> set[str]:
    return set(PurePosixPath(path).parts[:-1])


def _commands(
    entry: EntryPointFinding,
) -> list[tuple[str, list[str] | None, Interface | None, str]]:
    """(name, command, interface, description) per capability: one per subcommand if any."""
    command = _from_repo_root(entry)
    interface = entry.interface
    if interface is None or not interface.subcommands:
        return [(entry.name, command, interface, entry.description)]
    prefix = f"{entry.name}-" if entry.kind not in ("python_script", "python_module") else ""
    return [
        (f"{prefix}{sub}", [*(command or []), sub], sub_iface, sub_iface.description)
        for sub, sub_iface in interface.subcommands.items()
    ]


def _from_repo_root(entry: EntryPointFinding) -> list[str] | None:
    """The entry's command with paths relative to the repository, not its sub-project."""
    if entry.command is None or entry.root in (".", ""):
        return entry.command
    root = PurePosixPath(entry.root)
    words = []
    for word in entry.command:
        looks_like_path = word == "." or "/" in word or PurePosixPath(word).suffix in SCRIPTS
        if looks_like_path and not word.startswith(("/", "{")):
            inside = str(root / word.removeprefix("./")).removesuffix("/.")
            word = ("./" if word.startswith("./") else "") + inside
        words.append(word)
    return words


def _capability(
    profile: RepositoryProfile,
    entry: EntryPointFinding,
    name: str,
    command: list[str] | None,
    interface: Interface | None,
    description: str,
) -> Capability | None:
    point = _entry_point(entry, command, interface)
    if point is None:
        return None
    network = _uses_network(profile)
    return Capability(
        name=name,
        description=(description or entry.description or f"{entry.kind} {entry.name}")[:300],
        input_formats=entry.input_formats,
        output_formats=entry.output_formats,
        entry_point=point,
        parameters=interface.parameters if interface else None,
        side_effects="external" if network else "writes-workspace",
        permissions=Permissions(network=network),
        services=[Service(name=s.name, kind=s.kind, url_env=s.url_env) for s in profile.services],
    )


def _entry_point(
    entry: EntryPointFinding, command: list[str] | None, interface: Interface | None
) -> EntryPoint | None:
    args = dict(interface.args) if interface else {}
    kind = entry.kind
    if kind == "http_app" and command:
        url = "http://127.0.0.1:{port}" + (entry.url or "/")
        health = "/openapi.json" if entry.framework == "fastapi" else None
        return EntryPoint(type="http", command=command, url=url, method=entry.method or "GET",
                          health=health)  # fmt: skip
    if kind == "mcp_server" and command:
        return EntryPoint(type="mcp", command=command, tool="*")
    if kind == "agent":
        if entry.module and entry.function:
            return EntryPoint(type="agent", module=entry.module, function=entry.function)
        return EntryPoint(type="agent", command=command) if command else None
    if kind == "python_function" and entry.module and entry.function:
        return EntryPoint(type="python_function", module=entry.module, function=entry.function)
    if kind == "docker" and entry.file:
        return EntryPoint(type="container", dockerfile=entry.file)
    if command:
        return EntryPoint(type="cli", command=command, args=args)
    return None


def _record_capability(
    proposal: Proposal,
    profile: RepositoryProfile,
    entry: EntryPointFinding,
    capability: Capability,
    interface: Interface | None,
) -> None:
    where = f"capabilities.{capability.name}"
    evidence = entry.evidence[:5] or _entry_evidence(entry)
    proposal.inferred[f"{where}.entry_point"] = Inferred(
        value=capability.entry_point.model_dump(mode="json", exclude_none=True, exclude={"args"}),
        confidence=entry.confidence,
        evidence=evidence,
    )
    if interface is not None:
        proposal.inferred[f"{where}.parameters"] = Inferred(
            value=interface.framework,
            confidence=0.9 if interface.framework != "help" else 0.6,
            evidence=[interface.evidence] if interface.evidence else evidence,
        )
    if _has_formats(entry):
        proposal.inferred[f"{where}.formats"] = _formats_inferred(entry)
    if capability.side_effects == "external":
        proposal.inferred[f"{where}.side_effects"] = Inferred(
            value="external",
            confidence=0.6,
            evidence=[e for r in profile.risks if r.category == "network" for e in r.evidence][:3]
            + [e for s in profile.services for e in s.evidence][:3],
        )


def _has_formats(entry: EntryPointFinding) -> bool:
    return bool(entry.input_formats or entry.output_formats)


def _formats_inferred(entry: EntryPointFinding) -> Inferred:
    """Formats are guessed from code and help texts: worth a look, hence 0.6."""
    return Inferred(
        value={"inputs": entry.input_formats, "outputs": entry.output_formats},
        confidence=0.6,
        evidence=[e for e in entry.evidence if e.detail.startswith(FORMAT_EVIDENCE)][:5],
    )


def _entry_evidence(entry: EntryPointFinding) -> list[Evidence]:
    return [Evidence(file=entry.file, line=entry.line)] if entry.file else []


def _complete(author: Manifest, profile: RepositoryProfile) -> Proposal:
    """The author's manifest with the gaps the analysis can fill; nothing written is changed."""
    proposal = Proposal(None)
    capabilities = []
    for cap in author.capabilities:
        entry, interface = _match(cap, profile.entry_points)
        update: dict[str, Any] = {}
        where = f"capabilities.{cap.name}"
        if cap.parameters is None and interface is not None:
            update["parameters"] = interface.parameters
            if not cap.entry_point.args and interface.args:
                update["entry_point"] = cap.entry_point.model_copy(
                    update={"args": {k: ArgSpec(**v) for k, v in interface.args.items()}}
                )
            proposal.inferred[f"{where}.parameters"] = Inferred(
                value=interface.framework,
                confidence=0.9,
                evidence=[interface.evidence] if interface.evidence else [],
            )
        authored_formats = cap.input_formats or cap.output_formats
        if entry is not None and not authored_formats and _has_formats(entry):
            update["input_formats"] = entry.input_formats
            update["output_formats"] = entry.output_formats
            proposal.inferred[f"{where}.formats"] = _formats_inferred(entry)
        capabilities.append(cap.model_copy(update=update) if update else cap)
    declared = {e.name for e in author.env} | {e.name for c in author.capabilities for e in c.env}
    extra_env = [
        _env_var(e) for e in profile.env_vars if e.name not in declared and ENV_NAME.match(e.name)
    ]
    if extra_env:
        proposal.inferred["env"] = Inferred(
            value=[e.name for e in extra_env],
            confidence=0.8,
            evidence=[e.evidence[0] for e in profile.env_vars if e.evidence][:5],
        )
    proposal.manifest = author.model_copy(
        update={
            "capabilities": capabilities,
            "env": [*author.env, *extra_env],
            "python_requires": author.python_requires or profile.python_requires_spec,
        }
    )
    return proposal


def _match(
    cap: Capability, entries: list[EntryPointFinding]
) -> tuple[EntryPointFinding | None, Interface | None]:
    """The analysed entry point an authored capability runs, and the interface for it (for
    ``python tool.py compress``, the ``compress`` subcommand of tool.py's CLI)."""
    point = cap.entry_point
    words = point.command or []
    for entry in entries:
        if point.module and point.function:
            if (entry.module, entry.function) == (point.module, point.function):
                return entry, entry.interface
            continue
        command = entry.command or []
        if not command or words[: len(command)] != command:
            continue
        rest = words[len(command) :]
        interface = entry.interface
        if interface is not None and rest and rest[0] in interface.subcommands:
            return entry, interface.subcommands[rest[0]]
        return entry, interface if not rest else None
    return None, None


def _env_var(finding: Any) -> EnvVar:
    return EnvVar(
        name=finding.name,
        description=finding.description,
        secret=finding.secret,
        required=finding.required,
        default=finding.default,
        choices=finding.choices,
    )


def _python_packages(profile: RepositoryProfile) -> list[str]:
    """What the environment must install beyond what its project files already bring in:
    hidden imports, and runtime dependencies declared in files the installer does not read
    (a Pipfile, environment.yml, a sub-project's requirements)."""
    packages = []
    for dep in profile.dependencies:
        if dep.ecosystem != "python" or dep.dev or dep.evidence.file in ROOT_INSTALLED:
            continue
        packages.append(dep.name + dep.spec.split(";")[0].strip() if dep.spec else dep.name)
    packages += [h.distribution for h in profile.hidden_dependencies]
    return list(dict.fromkeys(packages))


def _system_packages(profile: RepositoryProfile) -> list[str]:
    names = [
        d.name
        for d in profile.dependencies
        if d.ecosystem == "apt" and d.spec != "apk" and not DEV_FOLDERS & _folders(d.evidence.file)
    ]
    names += [t.debian_package for t in profile.toolchains if t.debian_package and not t.found]
    return list(dict.fromkeys(names))


def _uses_network(profile: RepositoryProfile) -> bool:
    return bool(profile.services) or any(r.category == "network" for r in profile.risks)


def _version(profile: RepositoryProfile) -> str:
    versions = [p.version for p in profile.projects if p.version and p.root == "."]
    return versions[0] if versions else "0.0.0"


def _safe_name(text: str) -> str:
    """A plugin name from a package name; for a Go module path its last element that is not
    a major version (``github.com/charmbracelet/glow/v2`` -> ``glow``)."""
    parts = [p for p in text.lower().split("/") if p and not re.fullmatch(r"v\d+", p)]
    name = _UNSAFE.sub("-", parts[-1] if parts else "").strip("-._")[:64]
    return name if re.match(NAME_PATTERN, name) else ""


def _unique(name: str, taken: list[Capability]) -> str:
    base = _safe_name(name) or "run"
    names = {c.name for c in taken}
    candidate, n = base, 2
    while candidate in names:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def to_document(manifest: Manifest) -> dict[str, Any]:
    """``manifest`` in the seed's versioned form (§8.1), ready to write as mark1.plugin.yml."""
    capabilities, entry_points = [], []
    for cap in manifest.capabilities:
        body = cap.model_dump(
            mode="json",
            exclude_defaults=True,
            exclude={"name", "description", "input_formats", "output_formats", "entry_point"},
        )
        capabilities.append(
            {
                "name": cap.name,
                "description": cap.description,
                "inputs": cap.input_formats,
                "outputs": cap.output_formats,
                **body,
            }
        )
        point = cap.entry_point.model_dump(mode="json", exclude_defaults=True)
        entry_points.append({"capability": cap.name, **point})
    configuration: dict[str, Any] = {}
    if manifest.timeout:
        configuration["timeout"] = manifest.timeout
    if manifest.env:
        configuration["environment_variables"] = [
            e.model_dump(mode="json", exclude_defaults=True) for e in manifest.env
        ]
    dependencies = {
        "python": manifest.python_requires,
        "packages": manifest.python_packages,
        "system": manifest.system_packages,
    }
    return {
        "schema_version": "1.0",
        "plugin": manifest.model_dump(
            mode="json",
            include={"name", "version", "description", "author", "license"},
            exclude_none=True,
        ),  # fmt: skip
        "capabilities": capabilities,
        "entry_points": entry_points,
        "dependencies": {k: v for k, v in dependencies.items() if v},
        "configuration": configuration,
    }
