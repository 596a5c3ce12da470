"""Each plugin's own environment: a uv-built venv, ``node_modules``, and its built programs.

Installing never runs the repository's own code with the network on, and never lets it write
outside the plugin's version folder. With an analysis (``provision(..., profile=...)``) the
work is split in two phases (``builds`` plans and runs them):

* **fetch** -- network on, no repository code runs: third-party packages only. ``uv pip
  install`` of the declared packages (the manifest's and the profile's runtime dependencies)
  and of the project's ``[build-system] requires`` (into a scratch folder, deleted after: the
  point is that uv's cache then holds the build backend for the offline build);
  ``npm ci|install --ignore-scripts``; ``cargo fetch`` and ``go mod download`` with their
  caches (CARGO_HOME, GOMODCACHE) inside the version folder.
* **build** -- inside bwrap (``SandboxPolicy``): network off; writable only the version
  folder (``src`` and ``env``; a linked plugin's own folder) and uv's cache (uv stores what it
  builds there); private ``/tmp``; ``HOME`` inside the version folder; the user's home and
  Mark-1's folders hidden, the toolchain a step runs bound back read-only. Here the
  repository's code runs: ``uv pip install --offline --no-deps .`` (setup.py, the build
  backend), ``npm rebuild`` (the lifecycle scripts skipped before), ``npm run build`` when the
  analysis notes ``"<root>: build with npm run build"``, ``cargo build --release --offline``,
  ``go build -o bin/NAME ./DIR`` (GOFLAGS=-mod=mod, GOPROXY=off), ``make`` for
  ``"<root>: build with make"``.

A missing toolchain is a note saying what to install and how to retry, never a crash; a
failing step raises EnvironmentBuildError with the command and the end of its output. Where
bwrap cannot run, builds run unconfined with a loud note, as runs do.

The interpreter must meet the analysed ``requires-python`` and the manifest's
``python_requires``: the configured one, else this one if it matches, else a matching
``python3.X`` on PATH; else an error naming what the machine has. System programs and apt
packages the analysis names are suggested as ``apt-get install PKG`` notes, never installed.

Without an analysis (a plugin with its own manifest) the packages are installed as before:
the manifest's packages, requirements.txt and the project in one ``uv pip install``.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from adapters.process import run_process
from assistant.errors import EnvironmentBuildError
from assistant.plugins.analysis.profile import Evidence, RepositoryProfile
from assistant.plugins.builds import (
    FETCH_HINT,
    Workspace,
    plan_builds,
    plan_python,
    python_project_file,
    raise_for_failure,
    run_builds,
)
from assistant.plugins.manifest import Manifest

Progress = Callable[[str], None]
_TOOLCHAINS = {  # built from an analysis; without one they are only reported
    "Cargo.toml": ("cargo", "a Rust crate: build it with cargo"),
    "go.mod": ("go", "a Go module: build it with go build"),
}
_UNBUILT = {
    "Gemfile": ("bundle", "Ruby gems: install them with bundle install"),
    "composer.json": ("composer", "PHP packages: install them with composer install"),
}
_PATH_PYTHON = re.compile(r"python3\.(\d+)")
_VERSION = re.compile(r"\d+\.\d+\.\d+")
_PRINT_VERSION = "import sys; print('%d.%d.%d' % sys.version_info[:3])"


@dataclass
class EnvironmentReport:
    """What was provisioned, with what, and what the user still has to provide."""

    python: str | None = None
    python_installed: list[str] = field(default_factory=list)
    node_installed: bool = False
    built: list[str] = field(default_factory=list)  # "<marker>: <command>", confined builds
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def uv_binary() -> str:
    """The ``uv`` executable shipped by the ``uv`` package (a dependency of Mark-1)."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise EnvironmentBuildError(
                "uv is not available", hint="reinstall Mark-1, which depends on the uv package"
            ) from None
        return found


async def create_venv(env_dir: Path, interpreter: str, timeout: float) -> None:
    """An empty virtualenv: it needs nothing from the plugin, so it can be made meanwhile."""
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    argv = [uv_binary(), "venv", "--quiet", "--python", interpreter, str(env_dir)]
    await _run(argv, env_dir.parent, timeout)


@dataclass(frozen=True)
class _Job:
    """One provisioning: the plugin's files, its venv, and how to install into it."""

    source: Path
    env_dir: Path
    manifest: Manifest
    timeout: float
    progress: Progress
    offline_first: bool
    editable: bool


async def provision(
    source: Path,
    env_dir: Path,
    manifest: Manifest,
    *,
    timeout: float,
    progress: Progress,
    offline_first: bool = True,
    editable: bool = False,
    profile: RepositoryProfile | None = None,
    python: str | None = None,
) -> EnvironmentReport:
    """Install the plugin's dependencies into the venv ``env_dir`` and build what it needs.

    ``profile`` (the repository's analysis) drives the two-phase, confined builds described
    above; without it only the manifest's declarations are installed. ``python`` is the
    configured interpreter (``install.python``); without one, a venv that does not meet the
    Python requirement is made again with an interpreter that does.

    ``editable`` installs a Python project in place (for linked plugins: edits take effect).

    With ``offline_first`` the packages are first installed from uv's cache alone, and only
    if that cannot satisfy them is the index asked: a warm reinstall then never waits on the
    network to re-validate what it already has (~300 ms per install against PyPI here).
    """
    job = _Job(source, env_dir, manifest, timeout, progress, offline_first, editable)
    await _meet_python_requirement(job, profile, python)
    report = EnvironmentReport(python=str(env_dir / "bin" / "python"))
    compiled = asyncio.ensure_future(_compile_sources(source, env_dir, timeout, editable))
    try:
        if profile is None:
            await _install_declared(job, report)
        else:
            await _build_analysed(job, profile, report)
    except BaseException:
        compiled.cancel()
        raise
    await compiled
    report.notes += _unbuilt_notes(source, _UNBUILT)
    report.notes += _apt_notes(manifest, profile)
    return report


async def _install_declared(job: _Job, report: EnvironmentReport) -> None:
    """A plugin with its own manifest: its packages, requirements.txt and project in one
    ``uv pip install``, ``npm install`` for a package.json; other toolchains are named."""
    source, timeout = job.source, job.timeout
    targets = _python_targets(source, job.manifest, job.editable)
    if targets:
        shown = ", ".join(_short(t, source) for t in targets)
        job.progress(f"installing Python dependencies: {shown}")
        await install_packages(job.env_dir, targets, source, timeout, job.offline_first)
        report.python_installed = [_short(t, source) for t in targets]
    if (source / "package.json").is_file():
        report.node_installed = await _install_node(source, timeout, job.progress, report)
    report.notes += _unbuilt_notes(source, _TOOLCHAINS)


async def install_packages(
    env_dir: Path, targets: list[str], cwd: Path, timeout: float, offline_first: bool
) -> None:
    """``uv pip install TARGETS`` into the venv ``env_dir``: from uv's cache alone first
    (when ``offline_first`` and the cache has index data), the package index only if needed."""
    install = [uv_binary(), "pip", "install", "--quiet", "--compile-bytecode"]
    install += ["--python", str(env_dir / "bin" / "python"), *targets]
    offline = offline_first and _has_indexes(await _uv_cache(timeout))
    if not offline or not await _succeeds([*install, "--offline"], cwd, timeout):
        await _run(install, cwd, timeout)


async def _build_analysed(job: _Job, profile: RepositoryProfile, report: EnvironmentReport) -> None:
    """An analysed repository: fetch with the network, then build confined (see above)."""
    cache = await _uv_cache(job.timeout)
    ws = Workspace(
        source=job.source,
        env_dir=job.env_dir,
        plugin=job.manifest.name,
        uv=uv_binary(),
        uv_cache=cache,
        timeout=job.timeout,
        offline_first=job.offline_first and _has_indexes(cache),
        linked=job.editable,
    )
    python = plan_python(job.source, profile, job.manifest.python_packages, editable=job.editable)
    python_build = python.build(ws)
    builds = [python_build] if python_build else []
    programs = {
        c.entry_point.command[0] for c in job.manifest.capabilities if c.entry_point.command
    }
    outcome = await run_builds([*builds, *plan_builds(profile, ws, programs)], ws, job.progress)
    report.python_installed = python.installed()
    report.node_installed = any(line.startswith("package.json: ") for line in outcome.built)
    report.built = outcome.built
    report.notes += [*python.notes, *outcome.notes]


async def _compile_sources(source: Path, env_dir: Path, timeout: float, editable: bool) -> None:
    """Byte-compile the plugin's own Python files (meanwhile, with the venv's interpreter).

    The sandbox mounts the plugin's files read-only, so without this every run would compile
    them again. A linked plugin's folder is the author's: Mark-1 writes nothing there.
    """
    if editable or not any(source.rglob("*.py")):
        return
    argv = [str(env_dir / "bin" / "python"), "-m", "compileall", "-q", "-j", "0", str(source)]
    await run_process(argv, cwd=source, env=_uv_env(), timeout=timeout)  # best effort


def python_requirement(
    manifest: Manifest | None, profile: RepositoryProfile | None
) -> SpecifierSet | None:
    """The Python versions the plugin accepts: the manifest's and the analysed constraint."""
    texts = [manifest.python_requires if manifest else None]
    texts.append(profile.python_requires_spec if profile else None)
    wanted = None
    for text in filter(None, texts):
        try:
            spec = SpecifierSet(text)
        except InvalidSpecifier as exc:
            raise EnvironmentBuildError(
                f"python requirement '{text}' is not a version specifier",
                hint="write it like >=3.9 or >=3.10,<3.13",
            ) from exc
        wanted = spec if wanted is None else wanted & spec
    return wanted


def choose_interpreter(
    python: str | None,
    manifest: Manifest | None = None,
    profile: RepositoryProfile | None = None,
) -> str:
    """The configured interpreter, else this one if it meets the plugin's requirement, else
    a matching ``python3.X`` on PATH (newest first); else an error naming what there is."""
    wanted = python_requirement(manifest, profile)
    if python is not None or wanted is None:
        return python or sys.executable
    seen = []
    for version, path in _interpreters():
        if wanted.contains(version, prereleases=True):
            return path
        seen.append(f"{version} ({path})")
    raise EnvironmentBuildError(
        f"the repository needs Python {wanted}; this machine has {', '.join(seen)}",
        hint="install a matching Python (e.g. `apt-get install python3.X`), or point Mark-1 "
        "at one: `mark1 config set install.python PATH`",
    )


def _interpreters() -> Iterator[tuple[str, str]]:
    """This Python, then each other ``python3.X`` on PATH that runs, as (version, path).

    Each candidate is asked its version: a pyenv shim exists for versions that are not
    active, and fails when run."""
    yield ".".join(map(str, sys.version_info[:3])), sys.executable
    seen = {os.path.realpath(sys.executable)}
    for path in _path_pythons():
        real = os.path.realpath(path)
        version = None if real in seen else _probe(path)
        seen.add(real)
        if version is not None:
            yield version, path


def _path_pythons() -> list[str]:
    """``python3.X`` executables on PATH, the first of each name as a shell finds it,
    newest minor version first."""
    found: dict[str, str] = {}
    for folder in filter(None, os.environ.get("PATH", "").split(os.pathsep)):
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            if _PATH_PYTHON.fullmatch(name) and name not in found and os.access(path, os.X_OK):
                found[name] = path
    return sorted(found.values(), key=lambda p: -int(Path(p).name.split(".")[1]))


@functools.lru_cache(maxsize=32)  # the install checks, then provisioning chooses again
def _probe(interpreter: str) -> str | None:
    """The interpreter's version, or None when it does not run."""
    try:
        done = subprocess.run(
            [interpreter, "-I", "-c", _PRINT_VERSION], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    version = done.stdout.strip()
    return version if done.returncode == 0 and _VERSION.fullmatch(version) else None


async def _meet_python_requirement(
    job: _Job, profile: RepositoryProfile | None, python: str | None
) -> None:
    """Make the venv again with a matching interpreter when the one it was made with (before
    the requirement was known) does not match. A configured interpreter is the user's call."""
    wanted = python_requirement(job.manifest, profile)
    if wanted is None or python is not None:
        return
    version = _venv_version(job.env_dir)
    if version is not None and wanted.contains(version, prereleases=True):
        return
    interpreter = choose_interpreter(None, job.manifest, profile)
    job.progress(f"making the Python environment again with {interpreter} (needs Python {wanted})")
    shutil.rmtree(job.env_dir, ignore_errors=True)
    await create_venv(job.env_dir, interpreter, job.timeout)


def _venv_version(env_dir: Path) -> str | None:
    """The Python version a venv runs, from its pyvenv.cfg (uv: version_info; venv: version)."""
    try:
        lines = (env_dir / "pyvenv.cfg").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    values = dict(line.partition("=")[::2] for line in lines)
    values = {key.strip(): value.strip() for key, value in values.items()}
    return values.get("version_info") or values.get("version")


def _python_targets(source: Path, manifest: Manifest, editable: bool) -> list[str]:
    """What to ``pip install``: declared packages, requirements files, and the project itself."""
    targets = list(manifest.python_packages)
    requirements = source / "requirements.txt"
    if requirements.is_file():
        targets += ["-r", str(requirements)]
    if python_project_file(source):  # not a pyproject.toml that only configures tools
        targets += ["-e", str(source)] if editable else [str(source)]
    return targets


async def _install_node(
    source: Path, timeout: float, progress: Progress, report: EnvironmentReport
) -> bool:
    npm = shutil.which("npm")
    if npm is None:
        report.notes.append("package.json: Node packages not installed (npm not found)")
        return False
    verb = "ci" if (source / "package-lock.json").is_file() else "install"
    progress(f"installing Node packages (npm {verb})")
    await _run(
        [npm, verb, "--prefix", str(source), "--no-audit", "--no-fund", "--loglevel=error"],
        source,
        timeout,
    )
    return True


def _unbuilt_notes(source: Path, toolchains: dict[str, tuple[str, str]]) -> list[str]:
    """What Mark-1 leaves to the user for these toolchains, and whether the tool is here."""
    notes = []
    for marker, (tool, what) in toolchains.items():
        if (source / marker).is_file():
            status = "found" if shutil.which(tool) else "not found"
            notes.append(f"{marker}: {what} ({tool} {status}); Mark-1 does not build it yet")
    return notes


def _apt_notes(manifest: Manifest, profile: RepositoryProfile | None) -> list[str]:
    """``apt-get install PKG`` suggestions (never run) for the system programs and packages
    the analysis and the manifest name, one per package, with why."""
    reasons: dict[str, str] = {}
    missing: list[str] = []
    for tool in profile.toolchains if profile else []:
        if tool.kind == "binary" and not tool.found:
            if tool.debian_package:
                reasons.setdefault(tool.debian_package, f"provides {tool.name}, not found here")
            else:
                missing.append(f"needs the program '{tool.name}', which is not found here")
    for dep in profile.dependencies if profile else []:
        if dep.ecosystem == "apt":
            reasons.setdefault(dep.name, f"named in {_where(dep.evidence)}")
    for package in manifest.system_packages:
        reasons.setdefault(package, "the manifest asks for it")
    return [f"apt-get install {pkg} ({why})" for pkg, why in reasons.items()] + missing


def _where(evidence: Evidence) -> str:
    return f"{evidence.file}:{evidence.line}" if evidence.line else evidence.file


async def _uv_cache(timeout: float) -> Path:
    """uv's cache folder, as uv resolves it (UV_CACHE_DIR, its config, XDG)."""
    argv = [uv_binary(), "cache", "dir"]
    done = await run_process(argv, cwd=Path.cwd(), env=_uv_env(), timeout=timeout)
    raise_for_failure(done, "uv cache dir", timeout, FETCH_HINT)
    return Path(done.stdout.strip())


def _has_indexes(cache: Path) -> bool:
    """Whether uv's cache holds any index data; a cold cache cannot install offline anyway."""
    return any(cache.glob("simple-v*/*"))


async def _succeeds(argv: list[str], cwd: Path, timeout: float) -> bool:
    try:
        await _run(argv, cwd, timeout)
    except EnvironmentBuildError:
        return False
    return True


async def _run(argv: list[str], cwd: Path, timeout: float) -> None:
    done = await run_process(argv, cwd=cwd, env=_uv_env(), timeout=timeout)
    command = f"{Path(argv[0]).name} {argv[1]}"
    raise_for_failure(
        done, command, timeout, "fix the plugin's dependency declarations, or check the network"
    )


def _uv_env() -> dict[str, str]:
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.pop("VIRTUAL_ENV", None)
    return env


def _short(target: str, source: Path) -> str:
    return "." if target == str(source) else target.replace(str(source) + "/", "")
