"""Each plugin's own isolated environment: a uv-built venv for Python, ``node_modules`` for Node.

What cannot be provisioned automatically (other toolchains, system packages) is reported in
``EnvironmentReport.notes`` rather than silently ignored.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from adapters.process import run_process
from assistant.errors import EnvironmentBuildError
from assistant.plugins.manifest import Manifest

Progress = Callable[[str], None]
_PYTHON_PROJECT = ("pyproject.toml", "setup.py", "setup.cfg")
_TOOLCHAINS = {
    "Cargo.toml": ("cargo", "a Rust crate: build it with cargo"),
    "go.mod": ("go", "a Go module: build it with go build"),
    "Gemfile": ("bundle", "Ruby gems: install them with bundle install"),
    "composer.json": ("composer", "PHP packages: install them with composer install"),
}


@dataclass
class EnvironmentReport:
    """What was provisioned, with what, and what the user still has to provide."""

    python: str | None = None
    python_installed: list[str] = field(default_factory=list)
    node_installed: bool = False
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


async def provision(
    source: Path,
    env_dir: Path,
    manifest: Manifest,
    *,
    timeout: float,
    progress: Progress,
    offline_first: bool = True,
    editable: bool = False,
) -> EnvironmentReport:
    """Install the plugin's dependencies into the venv ``env_dir`` (and its node_modules).

    ``editable`` installs a Python project in place (for linked plugins: edits take effect).

    With ``offline_first`` the packages are first installed from uv's cache alone, and only
    if that cannot satisfy them is the index asked: a warm reinstall then never waits on the
    network to re-validate what it already has (~300 ms per install against PyPI here).
    """
    report = EnvironmentReport(python=str(env_dir / "bin" / "python"))
    targets = _python_targets(source, manifest, editable)
    compiled = asyncio.ensure_future(_compile_sources(source, env_dir, timeout, editable))
    if targets:
        progress("installing Python dependencies: " + ", ".join(_short(t, source) for t in targets))
        install = [uv_binary(), "pip", "install", "--quiet", "--compile-bytecode"]
        install += ["--python", report.python or "", *targets]
        offline = offline_first and await _uv_cache_has_indexes(timeout)
        if not offline or not await _succeeds([*install, "--offline"], source, timeout):
            await _run(install, source, timeout)
        report.python_installed = [_short(t, source) for t in targets]
    await compiled
    if (source / "package.json").is_file():
        report.node_installed = await _install_node(source, timeout, progress, report)
    for marker, (tool, what) in _TOOLCHAINS.items():
        if (source / marker).is_file():
            status = "found" if shutil.which(tool) else "not found"
            report.notes.append(f"{marker}: {what} ({tool} {status}); Mark-1 does not build it yet")
    for package in manifest.system_packages:
        report.notes.append(
            f"needs the system package '{package}' (e.g. apt-get install {package})"
        )
    return report


async def _compile_sources(source: Path, env_dir: Path, timeout: float, editable: bool) -> None:
    """Byte-compile the plugin's own Python files (meanwhile, with the venv's interpreter).

    The sandbox mounts the plugin's files read-only, so without this every run would compile
    them again. A linked plugin's folder is the author's: Mark-1 writes nothing there.
    """
    if editable or not any(source.rglob("*.py")):
        return
    argv = [str(env_dir / "bin" / "python"), "-m", "compileall", "-q", "-j", "0", str(source)]
    await run_process(argv, cwd=source, env=_uv_env(), timeout=timeout)  # best effort


def choose_interpreter(python: str | None, manifest: Manifest | None = None) -> str:
    """The configured interpreter, else this one checked against the plugin's requirement."""
    chosen = python or sys.executable
    if manifest is not None and manifest.python_requires and python is None:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            wanted = SpecifierSet(manifest.python_requires)
        except InvalidSpecifier as exc:
            raise EnvironmentBuildError(
                f"python requirement '{manifest.python_requires}' is not a version specifier",
                hint="write it like >=3.9 or >=3.10,<3.13",
            ) from exc
        here = ".".join(map(str, sys.version_info[:3]))
        if here not in wanted:
            raise EnvironmentBuildError(
                f"the plugin needs Python {manifest.python_requires}; Mark-1 runs on {here}",
                hint="install a matching Python and set `mark1 config set install.python PATH`",
            )
    return chosen


def _python_targets(source: Path, manifest: Manifest, editable: bool) -> list[str]:
    """What to ``pip install``: declared packages, requirements files, and the project itself."""
    targets = list(manifest.python_packages)
    requirements = source / "requirements.txt"
    if requirements.is_file():
        targets += ["-r", str(requirements)]
    if any((source / name).is_file() for name in _PYTHON_PROJECT):
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


async def _uv_cache_has_indexes(timeout: float) -> bool:
    """Whether uv's cache holds any index data; a cold cache cannot install offline anyway."""
    done = await run_process(
        [uv_binary(), "cache", "dir"], cwd=Path.cwd(), env=_uv_env(), timeout=timeout
    )
    folder = Path(done.stdout.strip())
    return done.exit_code == 0 and any(folder.glob("simple-v*/*"))


async def _succeeds(argv: list[str], cwd: Path, timeout: float) -> bool:
    try:
        await _run(argv, cwd, timeout)
    except EnvironmentBuildError:
        return False
    return True


async def _run(argv: list[str], cwd: Path, timeout: float) -> None:
    done = await run_process(argv, cwd=cwd, env=_uv_env(), timeout=timeout)
    if done.timed_out:
        raise EnvironmentBuildError(
            f"`{Path(argv[0]).name} {argv[1]}` took longer than {timeout:g} s",
            hint="raise `mark1 config set install.build_timeout SECONDS` or check the network",
        )
    if done.exit_code != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise EnvironmentBuildError(
            f"`{Path(argv[0]).name} {argv[1]}` failed (exit {done.exit_code}):\n{tail}",
            hint="fix the plugin's dependency declarations, or check the network",
        )


def _uv_env() -> dict[str, str]:
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.pop("VIRTUAL_ENV", None)
    return env


def _short(target: str, source: Path) -> str:
    return "." if target == str(source) else target.replace(str(source) + "/", "")
