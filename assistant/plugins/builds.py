"""A plugin's builds, planned from its analysis and run in two phases.

Each ``Build`` is one sub-project's recipe: ``fetch`` steps that only download third-party
packages (run with the network, no repository code) and ``build`` steps that run the
repository's own code (run confined by bwrap, network off, writing only into the plugin's
version folder and uv's cache). ``environment`` describes the design; this module plans the
builds from a ``RepositoryProfile`` and runs them.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement

from adapters.base import Event, Notice, RunContext
from adapters.process import ProcessOutcome, run_process
from adapters.sandbox import SandboxPolicy, run_confined
from assistant.errors import EnvironmentBuildError
from assistant.plugins.analysis.profile import Dependency, EntryPointFinding, RepositoryProfile
from assistant.security.policy import hidden_paths, interpreter_prefix

Progress = Callable[[str], None]
BUILD_NOTE = re.compile(r"(?P<root>.+): build with (?P<how>npm run build|make)")
OUTPUT_TAIL = 20  # lines of a failed step's output shown to the user
# What pip and uv build a project with when its pyproject.toml names no build backend.
SANDBOX_TMP = Path("/tmp")  # noqa: S108 - a mount point inside bwrap, not a file we write
DEFAULT_BUILD_REQUIRES = ("setuptools>=40.8.0",)
FETCH_HINT = "check the dependency declarations and the network"
BUILD_HINT = "the repository's own build failed (offline, confined to the plugin's folder)"
TIMEOUT_HINT = "raise `mark1 config set install.build_timeout SECONDS` or check the network"
# Offline switches of every package manager: inside the sandbox there is no network anyway,
# these make a missing package fail at once with a clear message instead of a DNS error.
OFFLINE_ENV = {
    "UV_OFFLINE": "1",
    "npm_config_offline": "true",
    "CARGO_NET_OFFLINE": "true",
    "GOPROXY": "off",
}


@dataclass(frozen=True)
class Step:
    """One command; ``argv[0]`` is a program name, located when the step runs."""

    argv: tuple[str, ...]
    cwd: Path
    offline_first: bool = False  # uv: try with its cache alone before asking the index
    meanwhile: bool = False  # a fetch no build step needs: it runs while the builds do

    def display(self) -> str:
        return " ".join(self.argv)


@dataclass(frozen=True)
class Toolchain:
    """The program a build cannot do without, and what to tell the user when it is missing."""

    program: str
    name: str  # in words
    debian_package: str


UV = Toolchain("uv", "uv", "")  # never missing: Mark-1 depends on the uv package
NPM = Toolchain("npm", "npm", "npm")
CARGO = Toolchain("cargo", "cargo", "cargo")
GO = Toolchain("go", "Go", "golang-go")
MAKE = Toolchain("make", "make", "make")


@dataclass(frozen=True)
class Build:
    """One sub-project's recipe: downloads with the network, then its own code confined."""

    marker: str  # the repo-relative file that calls for the build: "go.mod", "tools/Makefile"
    toolchain: Toolchain
    target: str  # what gets built, in words
    fetch: tuple[Step, ...] = ()
    build: tuple[Step, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # both phases: caches in the folder
    read_only: tuple[Path, ...] = ()  # what the build's toolchain reads besides its binary


@dataclass(frozen=True)
class Workspace:
    """One plugin version being built: its folders, and how to reach uv and the network."""

    source: Path  # the plugin's files (a linked plugin's own folder)
    env_dir: Path  # its virtualenv; its parent is the version folder
    plugin: str
    uv: str
    uv_cache: Path
    timeout: float
    offline_first: bool = True
    linked: bool = False

    @property
    def folder(self) -> Path:
        return self.env_dir.parent

    @property
    def home(self) -> Path:
        """HOME during builds: tools that write dotfiles write them here."""
        return self.folder / "home"

    @property
    def scratch(self) -> Path:
        """Where build backends are downloaded to fill uv's cache; deleted after fetching."""
        return self.folder / "fetch-scratch"

    def locate(self, program: str) -> str | None:
        return self.uv if program == "uv" else shutil.which(program)

    def retry(self) -> str:
        """The command that provisions this plugin again once the user has fixed something."""
        if self.linked:
            return f"mark1 plugin link {self.source}"
        return f"mark1 plugin update {self.plugin}"


@dataclass
class BuildOutcome:
    built: list[str] = field(default_factory=list)  # "Cargo.toml: cargo build --release ..."
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PythonPlan:
    """What the plugin's venv gets: index packages (fetched), local paths and the project
    itself (built confined, without dependencies: those were fetched)."""

    remote: tuple[str, ...]
    local: tuple[str, ...]
    project_file: str | None
    build_requires: tuple[str, ...]
    editable: bool
    notes: tuple[str, ...] = ()

    def own(self) -> list[str]:
        """What installing runs the repository's code for: local paths and the project."""
        project = (["-e", "."] if self.editable else ["."]) if self.project_file else []
        return [*self.local, *project]

    def installed(self) -> list[str]:
        return [*self.remote, *self.own()]

    def build(self, ws: Workspace) -> Build | None:
        fetch = []
        if self.remote:
            argv = ("uv", "pip", "install", "--compile-bytecode", *self.remote)
            # The project is built --no-deps: its build needs only the backend, not these.
            fetch.append(Step(argv, ws.folder, offline_first=True, meanwhile=True))
        if self.project_file and self.build_requires:
            argv = ("uv", "pip", "install", "--target", str(ws.scratch), *self.build_requires)
            fetch.append(Step(argv, ws.folder, offline_first=True))
        build: tuple[Step, ...] = ()
        if own := self.own():
            argv = ("uv", "pip", "install", "--offline", "--no-deps", "--compile-bytecode", *own)
            build = (Step(argv, ws.source),)
        if not fetch and not build:
            return None
        marker = self.project_file or "dependencies"
        return Build(marker, UV, target=".", fetch=tuple(fetch), build=build)


def plan_python(
    source: Path, profile: RepositoryProfile, declared: Iterable[str], *, editable: bool
) -> PythonPlan:
    """The manifest's packages and the profile's runtime dependencies, split into what comes
    from an index and what is the repository's own code."""
    notes: list[str] = []
    wanted = list(declared)
    for dep in profile.dependencies:
        if dep.ecosystem == "python" and not dep.dev:
            wanted.append(_requirement(dep, notes))
    unique = list(dict.fromkeys(wanted))
    pyproject = _read_toml(source / "pyproject.toml")
    project_file = _python_project_file(source, pyproject)
    return PythonPlan(
        remote=tuple(r for r in unique if not _is_local(r)),
        local=tuple(r for r in unique if _is_local(r)),
        project_file=project_file,
        build_requires=_build_requires(pyproject) if project_file else (),
        editable=editable,
        notes=tuple(notes),
    )


def _requirement(dep: Dependency, notes: list[str]) -> str:
    """``name`` + ``spec`` as pip reads it; a constraint pip cannot read (Poetry's ``^2.1``)
    is dropped with a note rather than failing the whole install."""
    text = dep.name + dep.spec
    try:
        Requirement(text)
    except InvalidRequirement:
        notes.append(
            f"{dep.evidence.file}: '{dep.spec}' is not a pip version constraint; "
            f"installed the newest {dep.name}"
        )
        return dep.name
    return text


def _is_local(requirement: str) -> bool:
    """A path into the repository: installing it runs the repository's code."""
    return requirement.startswith((".", "/", "~", "file:")) or "@ file:" in requirement


def _read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's tables, empty when it is missing or broken (the build then says why)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def python_project_file(source: Path) -> str | None:
    """The file that makes ``source`` an installable Python project, if any."""
    return _python_project_file(source, _read_toml(source / "pyproject.toml"))


def _python_project_file(source: Path, pyproject: dict[str, Any]) -> str | None:
    """The file that makes the root an installable Python project; a pyproject.toml that
    only configures tools (ruff, black) does not."""
    if "project" in pyproject or "build-system" in pyproject:
        return "pyproject.toml"
    return next((n for n in ("setup.py", "setup.cfg") if (source / n).is_file()), None)


def _build_requires(pyproject: dict[str, Any]) -> tuple[str, ...]:
    system = pyproject.get("build-system")
    if not isinstance(system, dict) or "requires" not in system:
        return DEFAULT_BUILD_REQUIRES
    return tuple(str(r) for r in system["requires"])


def plan_builds(profile: RepositoryProfile, ws: Workspace, programs: set[str]) -> list[Build]:
    """Node, Rust, Go and make builds the analysis calls for, in a stable order.

    ``programs`` are the programs the manifest's capabilities run, as written: a Rust, Go or
    make build happens only when one of them is a path to its output, so a Cargo.toml or
    Makefile nobody runs cannot fail (or slow down) the install.
    """
    notes = _build_notes(profile)
    make_roots = {r for r in notes.get("make", set()) if _builds_one_of(ws, r, "", programs)}
    return [
        *_node_builds(profile, ws, notes.get("npm run build", set())),
        *_cargo_builds(profile, ws, programs),
        *_go_builds(profile, ws, programs),
        *_make_builds(ws, make_roots),
    ]


def _builds_one_of(ws: Workspace, root: str, output_dir: str, programs: set[str]) -> bool:
    """Whether a program the capabilities run is a path in ``root/output_dir`` that is not
    already a file of the repository (so it must be the build's output)."""
    prefix = "" if root in (".", "") else root.rstrip("/") + "/"
    paths = {p.removeprefix("./") for p in programs if "/" in p}
    return any(p.startswith(prefix + output_dir) and not (ws.source / p).exists() for p in paths)


def _build_notes(profile: RepositoryProfile) -> dict[str, set[str]]:
    """Roots per build cue: ``{"make": {"tools/c"}, "npm run build": {"."}}``."""
    cues: dict[str, set[str]] = {}
    for note in profile.notes:
        if found := BUILD_NOTE.fullmatch(note):
            cues.setdefault(found["how"], set()).add(found["root"])
    return cues


def _node_builds(profile: RepositoryProfile, ws: Workspace, to_build: set[str]) -> list[Build]:
    bins = [e.root for e in profile.entry_points if e.kind in ("node_bin", "node_script")]
    roots = {".", *to_build, *bins}
    builds = []
    for root in _roots_with(ws.source, roots, "package.json"):
        folder = ws.source / root
        verb = "ci" if (folder / "package-lock.json").is_file() else "install"
        fetch = ("npm", verb, "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline")
        build = [Step(("npm", "rebuild"), folder)]
        if root in to_build:
            build.append(Step(("npm", "run", "build"), folder))
        marker = _in_root(root, "package.json")
        builds.append(
            Build(marker, NPM, _label(root, ws), fetch=(Step(fetch, folder),), build=tuple(build))
        )
    return builds


def _used_roots(
    profile: RepositoryProfile, ws: Workspace, kind: str, output_dir: str, programs: set[str]
) -> tuple[dict[str, list[EntryPointFinding]], set[str]]:
    """Entry points of ``kind`` per root, and the roots whose build output a capability runs."""
    found = _entries_by_root(profile, kind)
    return found, {root for root in found if _builds_one_of(ws, root, output_dir, programs)}


def _cargo_builds(profile: RepositoryProfile, ws: Workspace, programs: set[str]) -> list[Build]:
    bins, used = _used_roots(profile, ws, "rust_bin", "target/", programs)
    builds = []
    for root in _roots_with(ws.source, used, "Cargo.toml"):
        folder = ws.source / root
        rustup = _rustup_home()
        env = {
            "CARGO_HOME": str(ws.folder / "cargo-home"),
            "CARGO_TARGET_DIR": str(folder / "target"),
        }
        env |= {"RUSTUP_HOME": str(rustup)} if rustup else {}
        target = ", ".join(e.name for e in bins.get(root, [])) or _label(root, ws)
        builds.append(
            Build(
                _in_root(root, "Cargo.toml"),
                CARGO,
                target,
                fetch=(Step(("cargo", "fetch"), folder),),
                build=(Step(("cargo", "build", "--release", "--offline"), folder),),
                env=env,
                read_only=(rustup,) if rustup else (),
            )
        )
    return builds


def _rustup_home() -> Path | None:
    """Where rustup keeps the toolchains its ``cargo`` proxy runs (HOME moves during builds)."""
    folder = Path(os.environ.get("RUSTUP_HOME") or Path.home() / ".rustup")
    return folder if folder.is_dir() else None


def _go_builds(profile: RepositoryProfile, ws: Workspace, programs: set[str]) -> list[Build]:
    mains, used = _used_roots(profile, ws, "go_main", "bin/", programs)
    builds = []
    for root in _roots_with(ws.source, used, "go.mod"):
        folder = ws.source / root
        packages = {entry.name: _package_dir(entry) for entry in mains[root]}
        steps = tuple(
            Step(
                ("go", "build", "-o", f"bin/{name}", "." if package == "." else f"./{package}"),
                folder,
            )
            for name, package in sorted(packages.items())
        )
        cache = ws.folder / "go"
        env = {
            "GOPATH": str(cache),
            "GOMODCACHE": str(cache / "mod"),
            "GOCACHE": str(cache / "build"),
            "GOFLAGS": "-mod=mod",
            "GOTOOLCHAIN": "local",
        }
        target = ", ".join(p if p != "." else n for n, p in sorted(packages.items()))
        fetch = (Step(("go", "mod", "download"), folder),)
        marker = _in_root(root, "go.mod")
        builds.append(Build(marker, GO, target, fetch=fetch, build=steps, env=env))
    return builds


def _package_dir(entry: EntryPointFinding) -> str:
    """The Go package folder of a ``main``, relative to its module root."""
    if entry.file is None:
        return "."
    folder = PurePosixPath(entry.file).parent
    return folder.relative_to(entry.root).as_posix() if entry.root != "." else folder.as_posix()


def _make_builds(ws: Workspace, roots: set[str]) -> list[Build]:
    return [
        Build(
            _in_root(root, "Makefile"),
            MAKE,
            _label(root, ws),
            build=(Step(("make",), ws.source / root),),
        )
        for root in sorted(roots)
    ]


def _entries_by_root(profile: RepositoryProfile, kind: str) -> dict[str, list[EntryPointFinding]]:
    found: dict[str, list[EntryPointFinding]] = {}
    for entry in profile.entry_points:
        if entry.kind == kind:
            found.setdefault(entry.root, []).append(entry)
    return found


def _roots_with(source: Path, roots: Iterable[str], marker: str) -> list[str]:
    """The roots that hold ``marker``, sorted; a root leading out of the source is ignored."""
    inside = source.resolve()
    return sorted(
        root
        for root in set(roots)
        if (source / root / marker).is_file() and (source / root).resolve().is_relative_to(inside)
    )


def _in_root(root: str, name: str) -> str:
    return name if root == "." else f"{root}/{name}"


def _label(root: str, ws: Workspace) -> str:
    """A root in words: its folder, or the plugin's name for the repository itself."""
    return ws.plugin if root == "." else root


async def run_builds(builds: list[Build], ws: Workspace, progress: Progress) -> BuildOutcome:
    """Fetch every build's packages, then run every build confined; a build whose program
    is missing becomes a note saying what to install."""
    outcome = BuildOutcome()
    ready = []
    for build in builds:
        tool = build.toolchain
        if ws.locate(tool.program) is None:
            outcome.notes.append(
                f"{build.marker}: needs {tool.name} to build {build.target}; install it with "
                f"`apt-get install {tool.debian_package}`, then `{ws.retry()}`"
            )
        else:
            ready.append(build)
    meanwhile = []
    for build, step in ((b, s) for b in ready for s in b.fetch if s.meanwhile):
        progress(f"fetching for {build.marker}: {step.display()}")
        meanwhile.append(asyncio.ensure_future(_run_fetch_step(step, build, ws)))
    try:
        await _fetch_then_build(ready, ws, progress, outcome)
        await asyncio.gather(*meanwhile)
    finally:
        for task in meanwhile:
            task.cancel()
        await asyncio.gather(*meanwhile, return_exceptions=True)
    outcome.notes = list(dict.fromkeys(outcome.notes))
    return outcome


async def _fetch_then_build(
    ready: list[Build], ws: Workspace, progress: Progress, outcome: BuildOutcome
) -> None:
    try:
        for build in ready:
            for step in (s for s in build.fetch if not s.meanwhile):
                progress(f"fetching for {build.marker}: {step.display()}")
                await _run_fetch_step(step, build, ws)
    finally:
        shutil.rmtree(ws.scratch, ignore_errors=True)
    ws.home.mkdir(parents=True, exist_ok=True)
    for build in ready:
        for step in build.build:
            progress(f"building {build.marker} (offline, confined): {step.display()}")
            outcome.notes += await _run_confined_step(step, build, ws)
            outcome.built.append(f"{build.marker}: {step.display()}")


async def _run_fetch_step(step: Step, build: Build, ws: Workspace) -> None:
    """Run a download step with the network, from uv's cache alone first where allowed."""
    argv = _located(step, ws)
    env = {**os.environ, **_common_env(ws), **build.env}
    if step.offline_first and ws.offline_first:
        done = await run_process([*argv, "--offline"], cwd=step.cwd, env=env, timeout=ws.timeout)
        if done.exit_code == 0:
            return
    done = await run_process(argv, cwd=step.cwd, env=env, timeout=ws.timeout)
    raise_for_failure(done, step.display(), ws.timeout, FETCH_HINT)


async def _run_confined_step(step: Step, build: Build, ws: Workspace) -> list[str]:
    """Run a step of the repository's own code confined; returns the sandbox's notices
    (e.g. that bwrap is missing and the step ran unconfined)."""
    notices: list[str] = []

    def keep(event: Event) -> None:
        if isinstance(event, Notice):
            notices.append(f"{build.marker}: {event.text}")

    context = RunContext(
        workdir=step.cwd, timeout=ws.timeout, sandbox=_policy(step, build, ws), on_event=keep
    )
    env = {**_common_env(ws), **_confined_env(ws), **build.env}
    done = await run_confined(_located(step, ws), env=env, context=context)
    raise_for_failure(done, step.display(), ws.timeout, BUILD_HINT)
    return notices


def _located(step: Step, ws: Workspace) -> list[str]:
    program = ws.locate(step.argv[0])
    assert program is not None  # run_builds only runs builds whose program was found
    return [program, *step.argv[1:]]


def _common_env(ws: Workspace) -> dict[str, str]:
    return {"VIRTUAL_ENV": str(ws.env_dir), "UV_PYTHON_DOWNLOADS": "never"}


def _confined_env(ws: Workspace) -> dict[str, str]:
    """The whole environment of a confined step: nothing of the user's but PATH."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(ws.home),
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "UV_CACHE_DIR": str(ws.uv_cache),
        **OFFLINE_ENV,
    }


def _policy(step: Step, build: Build, ws: Workspace) -> SandboxPolicy:
    """Network off; writable: the version folder, the plugin's files and uv's cache; the
    home and Mark-1's folders hidden except the toolchain the step runs. No memory or CPU
    cap (compilers need both): the build timeout bounds it."""
    hidden = tuple(hidden_paths())
    tools = [*_program_folders(_located(step, ws)[0]), *build.read_only]
    tools += interpreter_prefix(ws.env_dir)
    masked = (*hidden, SANDBOX_TMP)  # the sandbox's own /tmp hides the host's
    return SandboxPolicy(
        workdir=step.cwd,
        network=False,
        hidden=hidden,
        read_only=tuple(p for p in tools if any(p.is_relative_to(h) for h in masked)),
        read_write=(ws.folder, ws.source, ws.uv_cache),
        max_memory=None,
        cpu_seconds=None,
        max_open_files=4096,
        max_processes=1024,
    )


def _program_folders(program: str) -> list[Path]:
    """The folder a program is found in and, when it is a link elsewhere, the installation
    it belongs to (npm -> lib/node_modules/npm/bin/npm-cli.js needs lib/node_modules/npm)."""
    path = Path(program)
    real = path.resolve()
    return [path.parent] if real.parent == path.parent else [path.parent, real.parent.parent]


def raise_for_failure(done: ProcessOutcome, command: str, timeout: float, hint: str) -> None:
    """EnvironmentBuildError naming the command and the end of its output, if it failed."""
    if done.timed_out:
        raise EnvironmentBuildError(
            f"`{command}` took longer than {timeout:g} s", hint=TIMEOUT_HINT
        )
    if done.exit_code != 0:
        lines = (done.stdout.strip() + "\n" + done.stderr.strip()).strip().splitlines()
        tail = "\n".join(lines[-OUTPUT_TAIL:])
        raise EnvironmentBuildError(
            f"`{command}` failed (exit {done.exit_code}):\n{tail}", hint=hint
        )
