"""How long ``mark1 plugin install`` takes next to ``uv tool install`` and ``pipx install``.

Why: installing a plugin is Mark-1's slowest everyday command, and the issue sets two targets:
``mark1 plugin install`` must beat ``pipx install`` and stay within 1.5x of ``uv tool install``,
both with a cold cache (first install on a machine) and a warm one (the packages were
downloaded before).

What is installed: a small Python CLI built here in a temporary folder, a real Git repository
with a ``pyproject.toml`` (hatchling backend, one runtime dependency, ``click``, and a console
script) and a versioned ``mark1.plugin.yml`` whose one capability runs that console script.
Every tool installs it non-editable from the local folder into an isolated environment (Mark-1
clones it first, which the others do not need to do).

Cold: every run gets fresh, empty homes and caches (``MARK1_HOME`` + ``UV_CACHE_DIR`` for
Mark-1; ``UV_TOOL_DIR``/``UV_TOOL_BIN_DIR`` + ``UV_CACHE_DIR`` for uv; ``PIPX_HOME``/
``PIPX_BIN_DIR`` + ``PIP_CACHE_DIR`` or ``UV_CACHE_DIR`` for pipx), so everything (build backend,
``click``, pip for pipx's shared libraries) comes from PyPI. Warm: a fresh home again, but the
cache the tool's last cold run filled. Runs are interleaved tool by tool, round after round, so
drift in network or machine load hits every tool alike; medians are reported.

Fairness notes, printed with the results:

* bytecode: Mark-1 runs ``uv pip install --compile-bytecode``; ``uv tool install`` does not
  compile by default, so it is timed twice, with and without ``--compile-bytecode``; pip (pipx's
  pip backend) compiles by default. Whether ``.pyc`` files were actually written is checked in
  each installed environment, not assumed;
* pipx has two backends. Its default is ``uv`` whenever uv is importable, which it is in this
  venv (Mark-1 depends on it), so both ``--backend pip`` (classic pipx) and ``--backend uv`` are
  timed;
* pip's own configuration is neutralised (``PIP_CONFIG_FILE`` = devnull, no ``PIP_FIND_LINKS``)
  so that every tool resolves against PyPI only, as uv does;
* everything uses the interpreter running this script.

For Mark-1, each run's stderr progress lines are time-stamped as they arrive, which splits the
install into phases (start-up, clone and ``uv venv``, analysis, fetching packages, the confined
build, validation, the capability checks, registry) without touching Mark-1's code. A last table times the building blocks on their own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import PYTHON, mark1_exe, median, ratio, rmtree, secs, table, uv_exe  # noqa: E402

PACKAGE = "bench-hello"
SCRIPT = "bench-hello"
MAX_UV_RATIO = 1.5
RUN_TIMEOUT = 300.0

PYPROJECT = f"""\
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{PACKAGE}"
version = "0.1.0"
description = "A tiny CLI used by Mark-1's install benchmark"
requires-python = ">=3.9"
dependencies = ["click>=8"]

[project.scripts]
{SCRIPT} = "bench_hello.cli:main"

[tool.hatch.build.targets.wheel]
packages = ["src/bench_hello"]
"""

CLI = """\
import click


@click.command()
@click.argument("name", default="world")
@click.option("--shout", is_flag=True, help="Print in capitals.")
def main(name: str, shout: bool) -> None:
    \"\"\"Greet NAME.\"\"\"
    text = f"hello {name}"
    click.echo(text.upper() if shout else text)
"""

MANIFEST = f"""\
schema_version: "1.0"
plugin:
  name: {PACKAGE}
  version: 0.1.0
  description: Greets someone (Mark-1 install benchmark)
capabilities:
  - name: greet
    description: Print a greeting
    side_effects: read-only
    parameters:
      type: object
      properties:
        name: {{type: string, default: world}}
entry_points:
  - capability: greet
    type: cli
    command: {SCRIPT}
    args:
      name: {{position: 0}}
"""

# Mark-1's progress lines (stderr, one per stage when not on a terminal) and the phase each
# one starts. The phase before the first line is start-up.
MARK1_STAGES = (
    ("fetching for", "fetch packages (network, no repo code)"),
    ("fetching", "clone + uv venv"),
    ("analysing the repository", "analyse the repository"),
    ("building", "build the project (offline, confined)"),
    ("validating entry points", "validate entry points"),
    ("checking", "check each capability (--help)"),
    ("registered", "print result + exit"),
)
STARTUP = "start-up (imports, settings, open DB)"


def make_repo(folder: Path) -> Path:
    """Write the sample CLI project and commit it; returns the repository folder."""
    repo = folder / PACKAGE
    (repo / "src" / "bench_hello").mkdir(parents=True)
    (repo / "pyproject.toml").write_text(PYPROJECT)
    (repo / "README.md").write_text("A tiny CLI for benchmarks.\n")
    (repo / "src" / "bench_hello" / "__init__.py").write_text("")
    (repo / "src" / "bench_hello" / "cli.py").write_text(CLI)
    (repo / "mark1.plugin.yml").write_text(MANIFEST)
    git = [
        "git",
        *("-c", "user.name=bench", "-c", "user.email=bench@example.invalid"),
        *("-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"),
    ]
    for args in (["init", "--quiet"], ["add", "-A"], ["commit", "--quiet", "-m", "0.1.0"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True)
    return repo


@dataclass
class Run:
    seconds: float
    ok: bool
    stamps: list[tuple[float, str]] = field(default_factory=list)  # stderr lines, time-stamped
    output: str = ""


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> Run:
    """Run ``argv`` and time it, time-stamping each stderr line as it arrives."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.PIPE, text=True, bufsize=1
        )
        stamps = []
        assert proc.stderr is not None
        for line in proc.stderr:
            stamps.append((time.perf_counter() - start, line.rstrip("\n")))
        try:
            code = proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        seconds = time.perf_counter() - start
        out.seek(0)
        stdout = out.read().decode(errors="replace")
    text = stdout + "\n".join(line for _, line in stamps)
    return Run(seconds, code == 0, stamps, text)


@dataclass
class Tool:
    """One way to install the sample repository."""

    name: str
    argv: Callable[[Path], list[str]]  # repo -> command
    env: Callable[[Path, Path], dict[str, str]]  # home, cache -> extra environment
    bytecode_why: str
    cold: list[Run] = field(default_factory=list)
    warm: list[Run] = field(default_factory=list)
    warm_cache: Path | None = None
    pyc: bool | None = None
    works: bool | None = None
    failure: str = ""

    def seconds(self, runs: list[Run]) -> float | None:
        return median([r.seconds for r in runs if r.ok]) if all(r.ok for r in runs) else None


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIPX_"))}
    for key in ("VIRTUAL_ENV", "PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        env.pop(key, None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["NO_COLOR"] = "1"
    return env


def make_tools() -> list[Tool]:
    mark1, uv = mark1_exe(), uv_exe()

    def pipx_env(home: Path, cache: Path, backend: str) -> dict[str, str]:
        env = {
            "PIPX_HOME": str(home / "pipx"),
            "PIPX_BIN_DIR": str(home / "bin"),
            "PIPX_MAN_DIR": str(home / "man"),
        }
        env["PIP_CACHE_DIR" if backend == "pip" else "UV_CACHE_DIR"] = str(cache)
        return env

    def uv_tool_env(home: Path, cache: Path) -> dict[str, str]:
        return {
            "UV_TOOL_DIR": str(home / "tools"),
            "UV_TOOL_BIN_DIR": str(home / "bin"),
            "UV_CACHE_DIR": str(cache),
        }

    pipx = [PYTHON, "-m", "pipx", "install", "--python", PYTHON]
    return [
        Tool(
            "mark1 plugin install",
            lambda repo: [mark1, "plugin", "install", str(repo)],
            lambda home, cache: {"MARK1_HOME": str(home), "UV_CACHE_DIR": str(cache)},
            "uv pip install --compile-bytecode",
        ),
        Tool(
            "mark1 (install.offline_first=false)",
            lambda repo: [mark1, "plugin", "install", str(repo)],
            lambda home, cache: {
                "MARK1_HOME": str(home),
                "UV_CACHE_DIR": str(cache),
                "MARK1_INSTALL__OFFLINE_FIRST": "false",
            },
            "uv pip install --compile-bytecode",
        ),
        Tool(
            "uv tool install",
            lambda repo: [uv, "tool", "install", "--python", PYTHON, str(repo)],
            uv_tool_env,
            "off by default in uv",
        ),
        Tool(
            "uv tool install --compile-bytecode",
            lambda repo: [
                uv,
                "tool",
                "install",
                "--compile-bytecode",
                "--python",
                PYTHON,
                str(repo),
            ],
            uv_tool_env,
            "--compile-bytecode",
        ),
        Tool(
            "pipx install --backend pip",
            lambda repo: [*pipx, "--backend", "pip", str(repo)],
            lambda home, cache: pipx_env(home, cache, "pip"),
            "on by default in pip",
        ),
        Tool(
            "pipx install --backend uv",
            lambda repo: [*pipx, "--backend", "uv", str(repo)],
            lambda home, cache: pipx_env(home, cache, "uv"),
            "pipx runs uv pip install without it",
        ),
    ]


def installed_pyc(home: Path) -> bool | None:
    """Whether the dependency installed under ``home`` (click) was byte-compiled."""
    for package in home.glob("**/site-packages/click"):
        return any((package / "__pycache__").glob("*.pyc"))
    return None


def console_script_works(home: Path) -> bool:
    for script in home.glob(f"**/bin/{SCRIPT}"):
        done = subprocess.run([str(script), "bench"], capture_output=True, text=True, timeout=60)
        if done.returncode == 0 and done.stdout.strip() == "hello bench":
            return True
    return False


def one_install(tool: Tool, repo: Path, root: Path, cache: Path, env: dict[str, str]) -> Run:
    home = Path(tempfile.mkdtemp(prefix="home-", dir=root))
    try:
        run = timed(tool.argv(repo), {**env, **tool.env(home, cache)}, cwd=root)
        if not run.ok:
            tool.failure = run.output.strip()[-2000:]
        elif tool.pyc is None:
            tool.pyc = installed_pyc(home)
            tool.works = console_script_works(home)
        return run
    finally:
        rmtree(home)


def mark1_phases(runs: list[Run]) -> dict[str, float]:
    """Median seconds per phase of Mark-1's install, from time-stamped progress lines."""
    per_phase: dict[str, list[float]] = {}
    for run in runs:
        marks = [(0.0, STARTUP)]
        for stamp, line in run.stamps:
            text = line.removeprefix("... ")
            for prefix, phase in MARK1_STAGES:
                if text.startswith(prefix):
                    if phase != marks[-1][1]:  # several lines of one phase: one span
                        marks.append((stamp, phase))
                    break
        marks.append((run.seconds, ""))
        for (begin, phase), (end, _) in zip(marks, marks[1:], strict=False):
            per_phase.setdefault(phase, []).append(end - begin)
    return {phase: median(values) or 0.0 for phase, values in per_phase.items()}


def building_blocks(
    repo: Path, root: Path, env: dict[str, str], cache: Path, reps: int
) -> dict[str, tuple[float, float]]:
    """Time what ``mark1 plugin install`` is made of, each step on its own (warm cache).

    ``uv pip install`` runs four ways: with and without ``--compile-bytecode`` (the bytecode
    cost) and online or ``--offline`` (the cost of revalidating the cache with the index).
    Each gets its own fresh clone, as Mark-1 installs from a new folder every time.
    """
    uv = uv_exe()
    env = {**env, "UV_CACHE_DIR": str(cache)}
    imports = (
        "import assistant.cli.plugin_cmd, assistant.plugins.installer, "
        "assistant.plugins.manifest_loader, memory.store, git"
    )
    variants = {
        "uv pip install --compile-bytecode (as mark1)": ["--compile-bytecode"],
        "uv pip install": [],
        "uv pip install --offline --compile-bytecode": ["--offline", "--compile-bytecode"],
        "uv pip install --offline": ["--offline"],
    }
    steps: dict[str, list[float]] = {}

    def step(name: str, argv: list[str], cwd: Path = root) -> None:
        run = timed(argv, env, cwd)
        if not run.ok:
            raise RuntimeError(f"{name} failed:\n{run.output}")
        steps.setdefault(name, []).append(run.seconds)

    clone = ["git", "clone", "--quiet", "--no-tags", "--depth=1", repo.as_uri()]
    for i in range(reps):
        work = root / f"blocks-{i}"
        work.mkdir()
        step("python -c pass", [PYTHON, "-c", "pass"])
        step("python -c 'import <install-path modules>'", [PYTHON, "-c", imports])
        step(
            "  same, gc off while importing, gc.freeze() after",
            [PYTHON, "-c", f"import gc; gc.disable(); {imports}; gc.freeze(); gc.enable()"],
        )
        step("git clone --depth=1 --no-tags file://repo", [*clone, str(work / "clone")])
        for n, (name, flags) in enumerate(variants.items()):
            src, venv = work / f"src{n}", work / f"env{n}"
            subprocess.run([*clone, str(src)], check=True, env=env)
            step("uv venv", [uv, "venv", "--quiet", "--python", PYTHON, str(venv)], src)
            python = str(venv / "bin" / "python")
            step(name, [uv, "pip", "install", "--quiet", *flags, "--python", python, "."], src)
        rmtree(work)
    return {name: (median(v) or 0.0, min(v)) for name, v in steps.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=2, help="cold runs per tool (2)")
    parser.add_argument("--warm", type=int, default=3, help="warm runs per tool (3)")
    parser.add_argument("--no-blocks", action="store_true", help="skip the building-blocks table")
    args = parser.parse_args()

    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="mark1-bench-install-"))
    try:
        repo = make_repo(root)
        env = base_env()
        tools = make_tools()
        caches: dict[str, list[Path]] = {t.name: [] for t in tools}

        for round_no in range(args.cold):
            for tool in tools:
                if tool.failure:
                    continue
                cache = Path(tempfile.mkdtemp(prefix="cache-", dir=root))
                caches[tool.name].append(cache)
                tool.cold.append(one_install(tool, repo, root, cache, env))
                print(
                    f"  cold {round_no + 1}/{args.cold} {tool.name}: {tool.cold[-1].seconds:.2f} s",
                    file=sys.stderr,
                )
        for tool in tools:  # keep the last cold cache of each tool as its warm cache
            if caches[tool.name]:
                *old, tool.warm_cache = caches[tool.name]
                for cache in old:
                    rmtree(cache)
        pip_cache = next(t.warm_cache for t in tools if t.name.endswith("--backend pip"))
        pip_http_entries = (
            sum(1 for p in pip_cache.glob("http*/**/*") if p.is_file()) if pip_cache else 0
        )
        for round_no in range(args.warm):
            for tool in tools:
                if tool.failure or tool.warm_cache is None:
                    continue
                tool.warm.append(one_install(tool, repo, root, tool.warm_cache, env))
                print(
                    f"  warm {round_no + 1}/{args.warm} {tool.name}: {tool.warm[-1].seconds:.2f} s",
                    file=sys.stderr,
                )

        report(tools, args, pip_http_entries)
        mark1 = tools[0]
        if mark1.cold and mark1.warm and not mark1.failure:
            phase_table(mark1)
        if not args.no_blocks and mark1.warm_cache is not None and not mark1.failure:
            blocks = building_blocks(repo, root, env, mark1.warm_cache, max(args.warm, 5))
            print_blocks(blocks)
        print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")
    finally:
        rmtree(root)


def report(tools: list[Tool], args: argparse.Namespace, pip_http_entries: int) -> None:
    by_name = {t.name: t for t in tools}
    uv_plain = by_name["uv tool install"]
    uv_bc = by_name["uv tool install --compile-bytecode"]
    pipx_pip = by_name["pipx install --backend pip"]
    pipx_uv = by_name["pipx install --backend uv"]
    refs = {"uv": uv_plain, "uv+bc": uv_bc, "pipx(pip)": pipx_pip, "pipx(uv)": pipx_uv}
    times, ratios = [], []
    for tool in tools:
        cold, warm = tool.seconds(tool.cold), tool.seconds(tool.warm)
        pyc = {True: "yes", False: "no", None: "?"}[tool.pyc]
        times.append([tool.name, secs(cold), secs(warm), f"{pyc} ({tool.bytecode_why})"])
        row = [tool.name]
        for ref in refs.values():
            row += [ratio(cold, ref.seconds(ref.cold)), ratio(warm, ref.seconds(ref.warm))]
        ratios.append(row)
    print(
        table(
            ["tool", "cold s", "warm s", ".pyc written (why)"],
            times,
            title=f"Install a small CLI repo (hatchling + click): median of {args.cold} cold / "
            f"{args.warm} warm runs",
        )
    )
    print()
    headers = ["ratio: row / reference"]
    for label in refs:
        headers += [f"cold/{label}", f"warm/{label}"]
    print(table(headers, ratios))
    print(
        "\n.pyc written: whether the installed click has byte-compiled files (checked on disk). "
        "uv = uv tool install, uv+bc = uv tool install --compile-bytecode, "
        "pipx(pip)/pipx(uv) = pipx install --backend pip/uv."
    )
    for tool in tools:
        if tool.failure:
            print(f"\n{tool.name} FAILED:\n{textwrap.indent(tool.failure, '    ')}")
        elif tool.works is False:
            print(f"\nwarning: {tool.name}: the installed {SCRIPT} did not run as expected")

    mark1 = tools[0]
    print("\nTargets (issue):")
    for kind in ("cold", "warm"):
        mine = mark1.seconds(getattr(mark1, kind))
        checks = [
            ("faster than pipx --backend pip", pipx_pip, lambda m, r: m < r),
            ("faster than pipx --backend uv (pipx's default here)", pipx_uv, lambda m, r: m < r),
            (
                f"within {MAX_UV_RATIO}x of uv tool install",
                uv_plain,
                lambda m, r: m <= MAX_UV_RATIO * r,
            ),
            (
                f"within {MAX_UV_RATIO}x of uv tool install --compile-bytecode (same work)",
                uv_bc,
                lambda m, r: m <= MAX_UV_RATIO * r,
            ),
        ]
        for text, ref, ok in checks:
            theirs = ref.seconds(getattr(ref, kind))
            if mine is None or theirs is None:
                verdict = "n/a"
            else:
                verdict = "MEETS " if ok(mine, theirs) else "MISSES"
            print(f"  {kind}: {verdict} {text} ({secs(mine)} s vs {secs(theirs)} s)")
    if pip_http_entries == 0 and pipx_pip.cold and not pipx_pip.failure:
        print(
            "\nnote: pip's HTTP cache stayed empty after the cold pipx --backend pip run (responses "
            "without cache headers are not stored: some proxies strip them), so its 'warm' runs "
            "download again; its pip wheel cache holds no local builds either."
        )
    print(
        "note: pipx --backend pip also creates its shared pip venv and upgrades pip in every "
        "fresh PIPX_HOME; that is part of its figures, as a first install would pay it."
    )
    print(
        f"note: mark1 clones the repository first (git clone --depth=1 file://...); the others "
        f"read the folder directly. PYTHONDONTWRITEBYTECODE="
        f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '(unset)')} is inherited by every tool."
    )


def print_blocks(blocks: dict[str, tuple[float, float]]) -> None:
    rows = [[name, f"{med * 1000:.0f}", f"{low * 1000:.0f}"] for name, (med, low) in blocks.items()]
    print()
    print(
        table(
            ["step (warm uv cache, run alone)", "median ms", "min ms"],
            rows,
            title="Building blocks of mark1 plugin install",
        )
    )
    low = {name: value[1] for name, value in blocks.items()}  # minima: least noisy for CPU work
    online, offline = low["uv pip install"], low["uv pip install --offline"]
    offline_bc = low["uv pip install --offline --compile-bytecode"]
    online_bc = low["uv pip install --compile-bytecode (as mark1)"]
    print(
        f"\nfrom the minima: bytecode compilation costs {1000 * (offline_bc - offline):.0f} ms "
        f"(offline pair) / {1000 * (online_bc - online):.0f} ms (online pair); revalidating the "
        f"warm cache with the index costs {1000 * (online - offline):.0f} ms"
        "\n(the index responses seen here carry no freshness lifetime, so uv revalidates every "
        "cached page and wheel on each run; uv tool install pays the same)"
    )


def phase_table(mark1: Tool) -> None:
    cold, warm = mark1_phases(mark1.cold), mark1_phases(mark1.warm)
    total_warm = sum(warm.values()) or 1.0
    names = [STARTUP, *(phase for _, phase in MARK1_STAGES)]
    rows = [
        [
            name,
            f"{cold.get(name, 0) * 1000:.0f}",
            f"{warm.get(name, 0) * 1000:.0f}",
            f"{100 * warm.get(name, 0) / total_warm:.0f}%",
        ]
        for name in names
        if name in cold or name in warm
    ]
    rows.append(
        [
            "total (sum of medians)",
            f"{sum(cold.values()) * 1000:.0f}",
            f"{total_warm * 1000:.0f}",
            "100%",
        ]
    )
    print()
    print(
        table(
            ["phase (from progress lines)", "cold ms", "warm ms", "warm %"],
            rows,
            title="Where mark1 plugin install spends its time (median per phase)",
        )
    )


if __name__ == "__main__":
    main()
