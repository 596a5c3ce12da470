"""Node.js projects: what each package.json declares, and what its JavaScript serves.

Every package.json is a sub-project (its folder is the findings' ``root``), so workspaces and
monorepos yield one set of findings per package. The manifest is read as JSON for its values
and tokenised once more for the line each key sits on, because evidence must point at the
line a person would look at. Sources are matched with regular expressions only: the analyser
never runs or imports the code it describes, and a JavaScript parser is not worth a
dependency for recognising a handful of well-known idioms (MCP servers, Express routes).
"""

from __future__ import annotations

import bisect
import json
import posixpath
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import (
    MAX_EVIDENCE,
    Dependency,
    EntryPointFinding,
    Evidence,
    Findings,
    ProjectMeta,
    RiskFinding,
    ToolchainFinding,
)

# section -> whether its packages are only needed to develop the project
DEPENDENCY_SECTIONS = {
    "dependencies": False,
    "optionalDependencies": False,
    "peerDependencies": False,
    "devDependencies": True,
}
# npm runs these itself on `npm install`: code that executes before anyone asked it to
INSTALL_SCRIPTS = ("preinstall", "install", "postinstall", "prepare")
# scripts that serve the project's developers, not its users; "test:unit" counts as "test"
DEVELOPER_SCRIPTS = frozenset(
    {
        "install", "prepare", "prepublish", "prepublishOnly", "test", "lint", "format", "build",
        "dev", "watch", "clean",
    }
)  # fmt: skip
# npm's own events: "pre<event>" / "post<event>" are hooks even without an "<event>" script
NPM_EVENTS = frozenset(
    {
        "install", "uninstall", "publish", "pack", "version", "shrinkwrap", "prepare", "test",
        "start", "stop", "restart",
    }
)  # fmt: skip
SOURCE_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".mts", ".cts")
TYPESCRIPT_SUFFIXES = (".ts", ".mts", ".cts", ".tsx")
SKIPPED_SOURCE_SUFFIXES = (".d.ts", ".min.js")  # declarations and bundles: nothing to run
TEST_FOLDERS = frozenset({"test", "tests", "__tests__", "__mocks__", "spec"})
BUILD_NOTE = "needs `npm run build` before use"
MAX_SNIPPET = 120

_JSON_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:)?|[{}\[\]]')
_MCP_IMPORT = re.compile(
    r"""(?:\bfrom\s*|\brequire\(\s*|\bimport\(\s*)["']@modelcontextprotocol/sdk/server/"""
)
_MCP_SERVER = re.compile(r"\bnew\s+(?:McpServer|Server)\s*\(")
_MCP_SERVER_NAME = re.compile(r"""\bname\s*:\s*(["'`])([^"'`\n]+)\1""")
_MCP_TOOL = re.compile(r"""\.(?:tool|registerTool)\(\s*(["'`])([^"'`\n]+)\1""")
_HTTP_APP = re.compile(
    r"""\b(?:const|let|var)\s+(\w+)\s*=\s*(?:await\s+)?"""
    r"""(?:(express|fastify|Fastify)|require\(\s*["'](express|fastify)["']\s*\))\s*\("""
)
_HTTP_FRAMEWORK_HINTS = ("express", "fastify", "Fastify")
_PORT_FROM_ENV = re.compile(
    r"""process\.env(?:\.PORT\b|\[\s*["']PORT["']\s*\])(?:\s*(?:\|\||\?\?)\s*(\d+))?"""
)
_LISTEN_PORT = re.compile(r"\.listen\(\s*(?:\{\s*port\s*:\s*)?(\d+)")
_DOWNLOADS = re.compile(r"\b(?:curl|wget)\b|\bhttps?://")
_SHELL_PIPE = re.compile(r"(?<!\|)\|(?!\|)")
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9._-]+")


def scan_node(files: RepoFiles) -> Findings:
    """Dependencies, lock files, toolchain, entry points and install-time risks of every
    package.json in the repository (nothing at all when there is none)."""
    findings = Findings()
    packages = _load_packages(files, findings.notes)
    if packages:
        _NodeScan(files, packages, findings).run()
    return findings


@dataclass
class _Package:
    """One package.json: its parsed values, and the line each key was written on."""

    manifest: str  # repo-relative path of the package.json
    data: dict[str, Any]
    lines: list[str]
    key_lines: dict[tuple[str, ...], int]

    @property
    def root(self) -> str:
        return posixpath.dirname(self.manifest) or "."

    def path(self, relative: str) -> str:
        """The repo-relative path of a file the manifest names relative to its own folder."""
        return posixpath.normpath(posixpath.join(self.root, relative))

    def evidence(self, *key: str) -> Evidence:
        """The line of ``key`` (a path of object keys), or of its nearest declared parent:
        a string ``bin`` has no ``("bin", name)`` key, only ``("bin",)``."""
        while key and key not in self.key_lines:
            key = key[:-1]
        line = self.key_lines.get(key)
        detail = self.lines[line - 1].strip()[:MAX_SNIPPET] if line else ""
        return Evidence(file=self.manifest, line=line, detail=detail)

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        return value if isinstance(value, str) else None

    def table(self, key: str) -> dict[str, str]:
        """An object field's string values (npm ignores anything else in these maps)."""
        value = self.data.get(key)
        if not isinstance(value, dict):
            return {}
        return {name: item for name, item in value.items() if isinstance(item, str)}

    @property
    def unscoped_name(self) -> str | None:
        name = self.text("name")
        return name.rsplit("/", 1)[-1] if name else None

    @cached_property
    def scripts(self) -> dict[str, str]:
        return self.table("scripts")

    @cached_property
    def bins(self) -> dict[str, str]:
        """Command name -> file, relative to the package; the string form is named after the
        package without its scope, as npm links it."""
        declared = self.data.get("bin")
        if isinstance(declared, str):
            return {self.unscoped_name: declared} if self.unscoped_name else {}
        return self.table("bin")

    @property
    def license(self) -> str | None:
        """The SPDX string, or the legacy ``{"type": ...}`` object's type."""
        declared = self.data.get("license")
        if isinstance(declared, dict):
            declared = declared.get("type")
        return declared if isinstance(declared, str) else None


@dataclass
class _Source:
    """A JavaScript/TypeScript file with the sub-project it belongs to."""

    path: str
    text: str
    package: _Package | None  # the nearest package.json above it

    @property
    def root(self) -> str:
        return self.package.root if self.package else "."

    @property
    def package_name(self) -> str:
        """The package's name without its scope, else the file's stem."""
        if self.package and self.package.unscoped_name:
            return self.package.unscoped_name
        return posixpath.splitext(posixpath.basename(self.path))[0]

    @cached_property
    def _newlines(self) -> list[int]:
        return [match.start() for match in re.finditer("\n", self.text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self._newlines, offset) + 1

    def evidence(self, offset: int) -> Evidence:
        line = self.line(offset)
        start = self._newlines[line - 2] + 1 if line > 1 else 0
        end = self._newlines[line - 1] if line <= len(self._newlines) else len(self.text)
        return Evidence(
            file=self.path, line=line, detail=self.text[start:end].strip()[:MAX_SNIPPET]
        )

    @property
    def command(self) -> list[str]:
        """``node FILE`` from the sub-project's folder, where its node_modules will be."""
        relative = self.path if self.root == "." else posixpath.relpath(self.path, self.root)
        return ["node", relative]


class _NodeScan:
    """One pass over the packages; MCP servers and HTTP apps are found in the sources first
    because a ``bin`` that launches one is described as that server, not as a plain CLI."""

    def __init__(self, files: RepoFiles, packages: list[_Package], findings: Findings):
        self.files = files
        self.packages = packages
        self.findings = findings
        sources = _sources(files, {package.root: package for package in packages})
        self.servers = {
            source.path: server for source in sources if (server := _mcp_server(source))
        }
        self.routes = [route for source in sources for route in _http_routes(source)]
        self.http_frameworks = {route.file: route.framework for route in self.routes}

    def run(self) -> None:
        for package in self.packages:
            self.add_package(package)
        self.findings.entry_points += [*self.servers.values(), *self.routes]
        self.findings.toolchains += _toolchains(self.packages)

    def add_package(self, package: _Package) -> None:
        findings = self.findings
        if meta := _project(package):
            findings.projects.append(meta)
        findings.dependencies += _dependencies(package)
        findings.notes += _lock_notes(self.files, package)
        findings.entry_points += self.bins(package)
        findings.entry_points += _scripts(package)
        findings.risks += _install_risks(package)
        findings.notes += self.build_notes(package)

    def bins(self, package: _Package) -> list[EntryPointFinding]:
        """One ``node_bin`` per command, except those that start an MCP server found in the
        sources: that server's finding takes the bin's command instead."""
        entries = []
        for name, target in package.bins.items():
            file = package.path(target)
            description = package.text("description") or ""
            if self.needs_build(package, file):
                description = _with_note(description, BUILD_NOTE)
            evidence = package.evidence("bin", name)
            if self.claim_server(package, target, evidence, description):
                continue
            entries.append(
                EntryPointFinding(
                    kind="node_bin",
                    name=name,
                    root=package.root,
                    command=["node", posixpath.normpath(target)],
                    file=file,
                    framework=self.http_frameworks.get(file),
                    language=_language(file),
                    description=description,
                    evidence=[evidence],
                )
            )
        return entries

    def claim_server(
        self, package: _Package, target: str, evidence: Evidence, description: str
    ) -> bool:
        """Give the MCP server this bin launches the bin's command; False when it is no server."""
        source = next(
            (path for path in _source_candidates(package, target) if path in self.servers), None
        )
        if source is None:
            return False
        server = self.servers[source]
        if BUILD_NOTE in description:
            server.description = _with_note(server.description, BUILD_NOTE)
        server.command = ["node", posixpath.normpath(target)]
        server.evidence = [*server.evidence, evidence][:MAX_EVIDENCE]
        return True

    def needs_build(self, package: _Package, file: str) -> bool:
        """A file the build script must produce first: it is missing (dist/ is rarely
        committed) or TypeScript, which node does not run as it is."""
        if "build" not in package.scripts:
            return False
        return _language(file) == "typescript" or self.missing(file)

    def missing(self, file: str) -> bool:
        """Asked of the disk, not of ``files.paths``, which leaves out dist/ and build/."""
        return not (self.files.root / file).is_file()

    def build_notes(self, package: _Package) -> list[str]:
        """The provisioner's cue (the exact text matters) when a bin or main needs a build,
        and which bins nothing can make."""
        targets = [package.path(target) for target in package.bins.values()]
        if main := package.text("main"):
            targets.append(package.path(main))
        if any(self.needs_build(package, target) for target in targets):
            return [f"{package.root}: build with npm run build"]
        return [
            f"{package.manifest}: bin {name!r} points to {package.path(target)}, which is missing"
            for name, target in package.bins.items()
            if self.missing(package.path(target))
        ]


def _load_packages(files: RepoFiles, notes: list[str]) -> list[_Package]:
    """Every readable package.json (node_modules is never listed); broken ones are noted."""
    packages = []
    for manifest in files.named("package.json"):
        text = files.text(manifest)
        data = _json_object(text)
        if text is None or data is None:
            notes.append(f"{manifest}: not a readable JSON object, skipped")
            continue
        packages.append(_Package(manifest, data, files.lines(manifest), _key_lines(text)))
    return packages


def _json_object(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Each object key's path (``("dependencies", "express")``) -> its 1-based line.

    One regular-expression pass over strings and brackets: a string followed by ``:`` is a
    key, brackets open and close nesting. Strings are matched whole, so brackets inside them
    do not count; duplicate keys keep their first line.
    """
    found: dict[tuple[str, ...], int] = {}
    nesting: list[str] = []  # the key that opened each enclosing bracket ("" for top/array)
    last_key = ""
    line, counted_to = 1, 0
    for token in _JSON_TOKEN.finditer(text):
        symbol = token.group(0)
        if symbol in ("{", "["):
            nesting.append(last_key)
            last_key = ""
        elif symbol in ("}", "]"):
            if nesting:
                nesting.pop()
            last_key = ""
        elif token.group(2):
            line += text.count("\n", counted_to, token.start())
            counted_to = token.start()
            last_key = _unescape(token.group(1))
            found.setdefault((*nesting[1:], last_key), line)
    return found


def _unescape(raw: str) -> str:
    if "\\" not in raw:
        return raw
    try:
        decoded = json.loads(f'"{raw}"')
    except json.JSONDecodeError:
        return raw
    return decoded if isinstance(decoded, str) else raw


def _project(package: _Package) -> ProjectMeta | None:
    """Name, version, description, license; None for a nameless workspace root."""
    meta = ProjectMeta(
        name=package.text("name"),
        version=package.text("version"),
        description=package.text("description"),
        license=package.license,
        root=package.root,
        evidence=package.evidence("name"),
    )
    declared = (meta.name, meta.version, meta.description, meta.license)
    return meta if any(value is not None for value in declared) else None


def _dependencies(package: _Package) -> list[Dependency]:
    return [
        Dependency(
            ecosystem="node",
            name=name,
            spec=spec,
            dev=dev,
            evidence=package.evidence(section, name),
        )
        for section, dev in DEPENDENCY_SECTIONS.items()
        for name, spec in package.table(section).items()
    ]


def _lock_notes(files: RepoFiles, package: _Package) -> list[str]:
    """How many packages each lock file beside the manifest pins (what `npm ci` installs)."""
    notes = []
    for name, count in LOCK_FILES.items():
        lock = package.path(name)
        if not files.exists(lock):
            continue
        pinned = count(files.text(lock) or "")
        notes.append(f"{lock} pins {pinned} packages" if pinned is not None else f"{lock} found")
    return notes


def _count_npm_lock(text: str) -> int | None:
    """package-lock v2/v3 list every installed folder under "packages" (minus the root and
    workspace links); v1 only has the "dependencies" tree, counted at its top."""
    lock = _json_object(text)
    if lock is None:
        return None
    installed = lock.get("packages")
    if isinstance(installed, dict):
        return sum("node_modules/" in folder for folder in installed)
    dependencies = lock.get("dependencies")
    return len(dependencies) if isinstance(dependencies, dict) else 0


def _count_yarn_lock(text: str) -> int:
    """Entries are the unindented ``"name@range", ...:`` headers (berry adds __metadata)."""
    return sum(
        1
        for line in text.splitlines()
        if line.endswith(":") and line[:1] not in ("", " ", "\t", "#", "_")
    )


def _count_pnpm_lock(text: str) -> int:
    """Entries are the two-space-indented keys of the top-level ``packages:`` block."""
    count, inside = 0, False
    for line in text.splitlines():
        if line[:1] not in ("", " ", "\t", "#"):
            inside = line.rstrip() == "packages:"
        elif inside and line.startswith("  ") and line[2:3] not in (" ", "#"):
            count += line.rstrip().endswith(":")
    return count


LOCK_FILES: dict[str, Callable[[str], int | None]] = {
    "package-lock.json": _count_npm_lock,
    "npm-shrinkwrap.json": _count_npm_lock,
    "yarn.lock": _count_yarn_lock,
    "pnpm-lock.yaml": _count_pnpm_lock,
}


def _scripts(package: _Package) -> list[EntryPointFinding]:
    """The scripts a user would run (``start`` and custom ones) as ``npm run NAME``."""
    return [
        _script(package, name, script)
        for name, script in package.scripts.items()
        if not _is_developer_script(name, package.scripts)
    ]


def _script(package: _Package, name: str, script: str) -> EntryPointFinding:
    """``start`` is the conventional way in, so it is likelier to be the tool than the rest."""
    evidence = package.evidence("scripts", name)
    return EntryPointFinding(
        kind="node_script",
        name=name,
        root=package.root,
        command=["npm", "run", "--silent", name],
        file=package.manifest,
        line=evidence.line,
        language="javascript",
        description=script,
        evidence=[evidence],
        confidence=0.8 if name == "start" else 0.6,
    )


def _is_developer_script(name: str, scripts: dict[str, str]) -> bool:
    """Lifecycle hooks and build/test chores. ``pre``/``post`` only make a hook when what
    follows is a script or an npm event: "preview" and "postgres" are commands of their own."""
    if name.split(":", 1)[0] in DEVELOPER_SCRIPTS:
        return True
    for prefix in ("pre", "post"):
        event = name.removeprefix(prefix)
        if event != name and (event in scripts or event in NPM_EVENTS):
            return True
    return False


def _install_risks(package: _Package) -> list[RiskFinding]:
    """Scripts npm runs on install; downloading or piping into a shell makes them high risk."""
    return [
        RiskFinding(
            category="install_code",
            severity=_install_severity(script),
            detail=f"npm runs the {name!r} script on install: {script}",
            evidence=[package.evidence("scripts", name)],
        )
        for name in INSTALL_SCRIPTS
        if (script := package.scripts.get(name)) is not None
    ]


def _install_severity(script: str) -> Literal["medium", "high"]:
    """Fetching code or piping into a shell at install runs what the repository cannot show."""
    return "high" if _DOWNLOADS.search(script) or _SHELL_PIPE.search(script) else "medium"


def _toolchains(packages: list[_Package]) -> list[ToolchainFinding]:
    """node for every package (evidence: engines.node where declared), npm to install or run
    scripts (Debian ships it apart from nodejs)."""
    node = [
        package.evidence("engines", "node")
        if "node" in package.table("engines")
        else Evidence(file=package.manifest)
        for package in packages
    ]
    npm = [
        Evidence(file=package.manifest)
        for package in packages
        if package.scripts or any(package.table(section) for section in DEPENDENCY_SECTIONS)
    ]
    toolchains = [_toolchain("node", "nodejs", node)]
    if npm:
        toolchains.append(_toolchain("npm", "npm", npm))
    return toolchains


def _toolchain(name: str, debian_package: str, evidence: list[Evidence]) -> ToolchainFinding:
    return ToolchainFinding(
        name=name,
        kind="toolchain",
        found=shutil.which(name) is not None,
        debian_package=debian_package,
        evidence=evidence[:MAX_EVIDENCE],
    )


def _sources(files: RepoFiles, packages: dict[str, _Package]) -> list[_Source]:
    """JavaScript/TypeScript files worth matching: not tests, declarations or bundles."""
    sources = []
    for path in files.with_suffix(*SOURCE_SUFFIXES):
        if path.endswith(SKIPPED_SOURCE_SUFFIXES) or _is_test_file(path):
            continue
        text = files.text(path)
        if text is not None:
            sources.append(_Source(path, text, _owner(path, packages)))
    return sources


def _is_test_file(path: str) -> bool:
    *folders, name = path.split("/")
    return not TEST_FOLDERS.isdisjoint(folders) or ".test." in name or ".spec." in name


def _owner(path: str, packages: dict[str, _Package]) -> _Package | None:
    """The nearest package.json above ``path``: its folder holds the node_modules it uses."""
    folder = posixpath.dirname(path)
    while folder and folder not in packages:
        folder = posixpath.dirname(folder)
    return packages.get(folder or ".")


def _source_candidates(package: _Package, target: str) -> list[str]:
    """Files a bin may have been built from: itself, or for ``dist/x.js`` (and build/, lib/,
    out/) the matching ``src/x`` or ``x`` in TypeScript or JavaScript, the two usual
    ``rootDir`` layouts."""
    built = posixpath.normpath(target)
    candidates = [package.path(built)]
    folder, _, rest = built.partition("/")
    if folder in ("dist", "build", "lib", "out") and rest:
        stem = posixpath.splitext(rest)[0]
        candidates += [
            package.path(f"{source_root}{stem}{suffix}")
            for source_root in ("src/", "")
            for suffix in SOURCE_SUFFIXES
        ]
    return candidates


def _mcp_server(source: _Source) -> EntryPointFinding | None:
    """A stdio server built on ``@modelcontextprotocol/sdk``, with the tools it registers."""
    text = source.text
    if "@modelcontextprotocol/sdk" not in text or "StdioServerTransport" not in text:
        return None
    imported = _MCP_IMPORT.search(text)
    created = _MCP_SERVER.search(text)
    if imported is None or created is None:
        return None
    tools = list(dict.fromkeys(match.group(2) for match in _MCP_TOOL.finditer(text)))
    declared = _MCP_SERVER_NAME.search(text, created.end(), _first_object_end(text, created.end()))
    return EntryPointFinding(
        kind="mcp_server",
        name=_slug(declared.group(2) if declared else source.package_name, "server"),
        root=source.root,
        command=source.command,
        file=source.path,
        line=source.line(created.start()),
        framework="mcp",
        language=_language(source.path),
        description="MCP server over stdio" + (f"; tools: {', '.join(tools)}" if tools else ""),
        evidence=[source.evidence(imported.start()), source.evidence(created.start())],
        confidence=0.9,
    )


def _first_object_end(text: str, start: int) -> int:
    """Where the constructor's first object literal closes: its ``name:`` is the server's,
    a later one may be a tool's."""
    end = text.find("}", start, start + 400)
    return end if end != -1 else start + 400


def _http_routes(source: _Source) -> list[EntryPointFinding]:
    """``app.get("/x", ...)``-style routes on an ``express()`` / ``fastify()`` object."""
    text = source.text
    if not any(hint in text for hint in _HTTP_FRAMEWORK_HINTS):
        return []
    apps = {
        match.group(1): (match.group(2) or match.group(3)).lower()
        for match in _HTTP_APP.finditer(text)
    }
    if not apps:
        return []
    route = re.compile(
        rf"\b({'|'.join(map(re.escape, apps))})\s*\.\s*(get|post|put|patch|delete)\s*\(\s*"
        r"""(["'`])(/[^"'`\n]*)\3"""
    )
    found = [(match, match.group(4), match.group(2).upper()) for match in route.finditer(text)]
    names = _route_names((url, method) for _, url, method in found)
    port = _port_hint(text)
    return [
        _http_route(source, apps[match.group(1)], url, method, name, match.start(), port)
        for (match, url, method), name in zip(found, names, strict=True)
    ]


def _http_route(
    source: _Source, framework: str, url: str, method: str, name: str, offset: int, port: str
) -> EntryPointFinding:
    label = framework.capitalize()
    return EntryPointFinding(
        kind="http_app",
        name=name,
        root=source.root,
        command=source.command,
        url=url,
        method=method,
        file=source.path,
        line=source.line(offset),
        framework=framework,
        language=_language(source.path),
        description=_with_note(f"{label} route {method} {url}", port),
        evidence=[source.evidence(offset)],
        confidence=0.8,
    )


def _route_names(routes: Iterable[tuple[str, str]]) -> list[str]:
    """Names from the paths ("/api/users/:id" -> "api-users-id"), prefixed with the method
    only where two routes of the file share a path."""
    routes = list(routes)
    slugs = [_slug(url, "root") for url, _ in routes]
    repeated = Counter(slugs)
    return [
        slug if repeated[slug] == 1 else f"{method.lower()}-{slug}"
        for slug, (_, method) in zip(slugs, routes, strict=True)
    ]


def _port_hint(text: str) -> str:
    """Where the app takes its port from: Express apps usually read PORT."""
    if from_env := _PORT_FROM_ENV.search(text):
        default = from_env.group(1)
        return "the app reads its port from PORT" + (f" (default {default})" if default else "")
    if fixed := _LISTEN_PORT.search(text):
        return f"the app listens on port {fixed.group(1)}"
    return ""


def _language(path: str) -> str:
    return "typescript" if path.endswith(TYPESCRIPT_SUFFIXES) else "javascript"


def _slug(text: str, fallback: str) -> str:
    """A capability-name seed: lower-case letters, digits, '.', '_' and '-', at most 64."""
    return _NOT_NAME_CHARS.sub("-", text.lower()).strip("-._")[:64] or fallback


def _with_note(text: str, note: str) -> str:
    return "; ".join(part for part in (text, note) if part)
