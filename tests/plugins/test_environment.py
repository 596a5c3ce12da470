"""Provisioning from an analysis: third-party packages fetched with the network, the
repository's own code built offline inside bwrap, missing toolchains named precisely.

Every test builds a real version folder (``src`` + a uv venv) in ``tmp_path`` and a
RepositoryProfile by hand; nothing needs a package registry (uv's cache and ``file:``
packages only).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import EnvironmentBuildError
from assistant.plugins.analysis.profile import (
    Dependency,
    EntryPointFinding,
    Evidence,
    Inferred,
    RepositoryProfile,
    ToolchainFinding,
    Verdict,
)
from assistant.plugins.builds import PythonPlan, plan_python
from assistant.plugins.environment import (
    EnvironmentReport,
    choose_interpreter,
    create_venv,
    provision,
)
from assistant.plugins.manifest import Manifest
from assistant.plugins.manifest_loader import parse_manifest
from tests.plugins.analysis.conftest import Tree, write_tree

HERE = ".".join(map(str, sys.version_info[:3]))
CARGO_BIN = Path.home() / ".cargo" / "bin"
MANIFEST = """\
schema_version: "1.0"
plugin: {name: demo}
capabilities:
  - name: run
    parameters: {type: object, properties: {}}
entry_points:
  - {capability: run, type: cli, command: demo}
"""


def manifest(**fields: Any) -> Manifest:
    return parse_manifest(MANIFEST, "mark1.plugin.yml").model_copy(update=fields)


def manifest_running(program: str) -> Manifest:
    """A manifest whose capability runs ``program``: a build is planned only for what runs."""
    return parse_manifest(MANIFEST.replace("command: demo", f"command: {program}"), "m.yml")


def profile(source: Path, **findings: Any) -> RepositoryProfile:
    return RepositoryProfile(
        source=str(source),
        name=Inferred(value="demo", confidence=1.0),
        description=Inferred(value="", confidence=1.0),
        files=0,
        languages={},
        verdict=Verdict(plugin=True, reasons=[]),
        **findings,
    )


async def version_folder(tmp_path: Path, tree: Tree) -> tuple[Path, Path]:
    """A plugin version as the installer lays it out: ``src`` (the files) and ``env``."""
    folder = tmp_path / "plugins" / "v1"
    source = write_tree(folder / "src", tree)
    await create_venv(folder / "env", sys.executable, timeout=60)
    return source, folder / "env"


async def provision_analysed(
    source: Path, env: Path, analysis: RepositoryProfile, **options: Any
) -> EnvironmentReport:
    return await provision(
        source,
        env,
        options.pop("manifest", manifest()),
        timeout=120,
        progress=lambda _message: None,
        profile=analysis,
        **options,
    )


@pytest.fixture
def outside() -> Iterator[Path]:
    """A path no build may write: not under /tmp either (builds get a private /tmp)."""
    path = Path("/var/tmp") / f"mark1-outside-{uuid.uuid4().hex}"
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def path_without_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH is one empty folder: no toolchain (and no other python3.X) can be found."""
    folder = tmp_path / "empty-bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


SETUP_PY = """\
import errno
import socket
from pathlib import Path

from setuptools import setup


def attempt(action):
    try:
        action()
    except OSError as exc:
        return errno.errorcode.get(exc.errno, type(exc).__name__)
    return "done"


def connect():
    with socket.create_connection(("192.0.2.1", 80), timeout=3):
        pass


results = [
    "outside: " + attempt(lambda: Path("{outside}").write_text("escaped")),
    "network: " + attempt(connect),
    "home: " + attempt(lambda: (Path.home() / ".demo-rc").write_text("rc")),
    "secret: " + attempt(lambda: Path("{secret}").read_text()),
]
(Path(__file__).parent / "build-log.txt").write_text("\\n".join(results) + "\\n")
setup(name="demo", version="0.1", py_modules=["demo"], install_requires=["packaging>=20"])
"""


async def test_setup_py_runs_offline_and_writes_only_inside_the_version_folder(
    tmp_path: Path, outside: Path, mark1_home: Path
) -> None:
    """Its dependency is fetched first (here from uv's cache); then setup.py runs (the
    install succeeds) but cannot write outside, cannot reach the network, and its dotfiles
    land in the version folder's HOME. Mark-1's own folders (secrets) are hidden."""
    secret = write_tree(mark1_home / "config", {"vault.txt": "token"}) / "vault.txt"
    setup_py = SETUP_PY.replace("{outside}", str(outside)).replace("{secret}", str(secret))
    source, env = await version_folder(tmp_path, {"setup.py": setup_py, "demo.py": "VALUE = 1\n"})
    declared = Evidence(file="setup.py", line=28, detail="install_requires")
    packaging = Dependency(ecosystem="python", name="packaging", spec=">=20", evidence=declared)
    report = await provision_analysed(source, env, profile(source, dependencies=[packaging]))
    assert report.to_dict() == {
        "python": str(env / "bin" / "python"),
        "python_installed": ["packaging>=20", "."],
        "node_installed": False,
        "built": ["setup.py: uv pip install --offline --no-deps --compile-bytecode ."],
        "notes": [],
    }
    assert not outside.exists()
    log = (source / "build-log.txt").read_text()
    assert log == "outside: EROFS\nnetwork: ENETUNREACH\nhome: done\nsecret: ENOENT\n"
    assert (env.parent / "home" / ".demo-rc").read_text() == "rc"
    installed = {p.name for p in env.glob("lib/python*/site-packages/*")}
    assert {"demo.py", "packaging"} <= installed
    assert not (env.parent / "fetch-scratch").exists()


HATCH_PROJECT: Tree = {
    "pyproject.toml": """
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "greeter"
        version = "0.1.0"

        [project.scripts]
        greeter = "greeter:main"
    """,
    "greeter.py": "def main():\n    print('hello')\n",
}


async def test_build_backend_is_fetched_then_used_offline(tmp_path: Path) -> None:
    """hatchling comes from uv's cache (filled in the fetch phase) for the confined build;
    the console script lands in the venv."""
    source, env = await version_folder(tmp_path, HATCH_PROJECT)
    report = await provision_analysed(source, env, profile(source))
    assert report.built == [
        "pyproject.toml: uv pip install --offline --no-deps --compile-bytecode ."
    ]
    assert (env / "bin" / "greeter").is_file()


HELPER_POSTINSTALL = """\
const fs = require("fs");
fs.writeFileSync("inside.txt", "ran");
let outcome = "written";
try {
  fs.writeFileSync("{outside}", "escaped");
} catch (error) {
  outcome = error.code;
}
fs.writeFileSync("outside-attempt.txt", outcome);
"""


async def test_npm_lifecycle_scripts_run_confined_after_an_install_without_scripts(
    tmp_path: Path, outside: Path
) -> None:
    """postinstall scripts (the package's and a dependency's) run in the build phase: a
    marker inside the plugin's folder is written, one outside is refused."""
    source, env = await version_folder(
        tmp_path,
        {
            "package.json": """
                {"name": "demo", "version": "1.0.0", "private": true,
                 "scripts": {"postinstall": "node -e \\"require('fs').writeFileSync('root-ran.txt', 'yes')\\""},
                 "dependencies": {"helper": "file:./vendor/helper"}}
            """,
            "vendor/helper/package.json": """
                {"name": "helper", "version": "1.0.0",
                 "scripts": {"postinstall": "node postinstall.js"}}
            """,
            "vendor/helper/postinstall.js": HELPER_POSTINSTALL.replace("{outside}", str(outside)),
        },
    )
    report = await provision_analysed(source, env, profile(source))
    assert (report.node_installed, report.built, report.notes) == (
        True,
        ["package.json: npm rebuild"],
        [],
    )
    assert (source / "root-ran.txt").read_text() == "yes"
    assert (source / "vendor/helper/inside.txt").read_text() == "ran"
    assert (source / "vendor/helper/outside-attempt.txt").read_text() == "EROFS"
    assert not outside.exists()


async def test_npm_package_is_built_when_the_analysis_says_so(tmp_path: Path) -> None:
    """A ``build`` script that writes dist/cli.js runs for the ".: build with npm run build" cue."""
    build = (
        "node -e \\\"const fs = require('fs'); fs.mkdirSync('dist', {recursive: true}); "
        "fs.writeFileSync('dist/cli.js', 'console.log(1)')\\\""
    )
    source, env = await version_folder(
        tmp_path,
        {
            "package.json": f"""
                {{"name": "demo", "version": "1.0.0", "bin": {{"demo": "dist/cli.js"}},
                 "scripts": {{"build": "{build}"}}}}
            """
        },
    )
    analysis = profile(source, notes=[".: build with npm run build"])
    report = await provision_analysed(source, env, analysis)
    assert report.built == ["package.json: npm rebuild", "package.json: npm run build"]
    assert (source / "dist" / "cli.js").read_text() == "console.log(1)"


CRATE: Tree = {
    "Cargo.toml": '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n',
    "src/main.rs": 'fn main() { println!("hello from rust"); }\n',
}
RUST_BIN = EntryPointFinding(kind="rust_bin", name="hello", file="src/main.rs", language="rust")
RUNS_HELLO = manifest_running("target/release/hello")


async def test_cargo_crate_is_built_offline_and_confined(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{CARGO_BIN}{os.pathsep}/usr/bin{os.pathsep}/bin")
    source, env = await version_folder(tmp_path, CRATE)
    analysis = profile(source, entry_points=[RUST_BIN])
    report = await provision_analysed(source, env, analysis, manifest=RUNS_HELLO)
    assert (report.built, report.notes) == (["Cargo.toml: cargo build --release --offline"], [])
    program = source / "target" / "release" / "hello"
    done = subprocess.run([program], capture_output=True, text=True, check=True)
    assert done.stdout == "hello from rust\n"
    assert (env.parent / "cargo-home").is_dir()


async def test_missing_cargo_is_a_precise_note(tmp_path: Path, path_without_tools: Path) -> None:
    source, env = await version_folder(tmp_path, CRATE)
    analysis = profile(source, entry_points=[RUST_BIN])
    report = await provision_analysed(source, env, analysis, manifest=RUNS_HELLO)
    assert (report.built, report.notes) == (
        [],
        [
            "Cargo.toml: needs cargo to build hello; install it with `apt-get install cargo`, "
            "then `mark1 plugin update demo`"
        ],
    )
    assert not (source / "target").exists()


async def test_go_module_without_go_is_a_precise_note(
    tmp_path: Path, path_without_tools: Path
) -> None:
    """The note names the package to build, the Debian package and the retry; a linked
    plugin is retried with `plugin link`."""
    source, env = await version_folder(
        tmp_path,
        {
            "go.mod": "module example.com/tool\n\ngo 1.22\n",
            "cmd/tool/main.go": 'package main\n\nfunc main() { println("hi") }\n',
        },
    )
    main = EntryPointFinding(kind="go_main", name="tool", file="cmd/tool/main.go", language="go")
    analysis = profile(source, entry_points=[main])
    runs_tool = manifest_running("bin/tool")
    installed = await provision_analysed(source, env, analysis, manifest=runs_tool)
    linked = await provision_analysed(source, env, analysis, editable=True, manifest=runs_tool)
    fix = "install it with `apt-get install golang-go`, then"
    assert installed.notes == [
        f"go.mod: needs Go to build cmd/tool; {fix} `mark1 plugin update demo`"
    ]
    assert linked.notes == [
        f"go.mod: needs Go to build cmd/tool; {fix} `mark1 plugin link {source}`"
    ]


C_TOOL: Tree = {
    "Makefile": "tool: tool.c\n\tcc -o tool tool.c\n",
    "tool.c": '#include <stdio.h>\nint main(void) { puts("hello from c"); return 0; }\n',
}


async def test_make_builds_a_c_tool(tmp_path: Path) -> None:
    source, env = await version_folder(tmp_path, C_TOOL)
    analysis = profile(source, notes=[".: build with make"])
    report = await provision_analysed(source, env, analysis, manifest=manifest_running("./tool"))
    assert report.built == ["Makefile: make"]
    done = subprocess.run([source / "tool"], capture_output=True, text=True, check=True)
    assert done.stdout == "hello from c\n"


async def test_a_failing_build_names_the_command_and_its_output(tmp_path: Path) -> None:
    source, env = await version_folder(
        tmp_path, {"tools/c/Makefile": "all:\n\t@echo compiling\n\t@echo broken >&2; false\n"}
    )
    analysis = profile(source, notes=["tools/c: build with make"])
    with pytest.raises(EnvironmentBuildError) as caught:
        await provision_analysed(source, env, analysis, manifest=manifest_running("tools/c/c"))
    assert caught.value.message == (
        "`make` failed (exit 2):\ncompiling\nbroken\nmake: *** [Makefile:3: all] Error 1"
    )
    assert caught.value.hint == (
        "the repository's own build failed (offline, confined to the plugin's folder)"
    )


async def test_a_python_the_machine_lacks_is_a_precise_error(
    tmp_path: Path, path_without_tools: Path
) -> None:
    source, env = await version_folder(tmp_path, {"tool.py": "print('hi')\n"})
    analysis = profile(source, python_requires_spec=">=3.99")
    with pytest.raises(EnvironmentBuildError) as caught:
        await provision_analysed(source, env, analysis)
    assert caught.value.message == (
        f"the repository needs Python >=3.99; this machine has {HERE} ({sys.executable})"
    )
    assert caught.value.hint == (
        "install a matching Python (e.g. `apt-get install python3.X`), or point Mark-1 at one: "
        "`mark1 config set install.python PATH`"
    )


async def test_a_venv_on_a_python_that_does_not_match_is_made_again(
    tmp_path: Path, path_without_tools: Path
) -> None:
    """The installer makes the venv before the requirement is known; provisioning makes it
    again with an interpreter that matches (here: this one)."""
    source, env = await version_folder(tmp_path, {"tool.py": "print('hi')\n"})
    config = env / "pyvenv.cfg"
    config.write_text(config.read_text().replace(f"version_info = {HERE}", "version_info = 3.8.0"))
    await provision_analysed(source, env, profile(source, python_requires_spec=">=3.11"))
    assert f"version_info = {HERE}\n" in config.read_text()


def test_interpreter_choice_asks_each_python_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A python3.X that does not run (a pyenv shim) is skipped; the newest match wins; a
    configured interpreter is taken as it is."""
    write_tree(
        tmp_path / "bin",
        {"python3.98*": "#!/bin/sh\necho 3.98.0\n", "python3.97*": "#!/bin/sh\nexit 127\n"},
    )
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    needs = manifest(python_requires=">=3.98")
    assert choose_interpreter(None, needs) == str(tmp_path / "bin" / "python3.98")
    assert choose_interpreter("/opt/python", needs) == "/opt/python"
    assert choose_interpreter(None, manifest()) == sys.executable
    with pytest.raises(EnvironmentBuildError) as caught:
        choose_interpreter(None, needs, profile(tmp_path, python_requires_spec="<3.98"))
    found = f"{HERE} ({sys.executable}), 3.98.0 ({tmp_path / 'bin' / 'python3.98'})"
    assert caught.value.message == (
        f"the repository needs Python <3.98,>=3.98; this machine has {found}"
    )


async def test_system_programs_and_apt_packages_become_suggestions(
    tmp_path: Path, path_without_tools: Path
) -> None:
    """One `apt-get install` line per package (analysis first, then the manifest), never run."""
    source, env = await version_folder(tmp_path, {"ocr.sh*": '#!/bin/sh\ntesseract "$1" -\n'})
    evidence = Evidence(file="Dockerfile", line=3, detail="apt-get install -y ffmpeg")
    analysis = profile(
        source,
        toolchains=[
            ToolchainFinding(
                name="tesseract", kind="binary", found=False, debian_package="tesseract-ocr"
            ),
            ToolchainFinding(name="sh", kind="binary", found=True, debian_package="dash"),
            ToolchainFinding(name="frobnicate", kind="binary", found=False),
        ],
        dependencies=[Dependency(ecosystem="apt", name="ffmpeg", evidence=evidence)],
    )
    wants = manifest(system_packages=["ffmpeg", "libmagic1"])
    report = await provision_analysed(source, env, analysis, manifest=wants)
    assert report.notes == [
        "apt-get install tesseract-ocr (provides tesseract, not found here)",
        "apt-get install ffmpeg (named in Dockerfile:3)",
        "apt-get install libmagic1 (the manifest asks for it)",
        "needs the program 'frobnicate', which is not found here",
    ]


def test_python_plan_separates_index_packages_from_the_repositorys_own_code(
    tmp_path: Path,
) -> None:
    """Index packages are fetched; local paths and the project are built confined; a
    constraint pip cannot read is dropped with a note; dev dependencies are left out."""
    source = write_tree(
        tmp_path / "src",
        {
            "pyproject.toml": """
                [build-system]
                requires = ["hatchling>=1.25"]
                build-backend = "hatchling.build"

                [project]
                name = "demo"
                version = "0.1.0"
            """
        },
    )

    def dep(name: str, spec: str = "", dev: bool = False) -> Dependency:
        return Dependency(
            ecosystem="python",
            name=name,
            spec=spec,
            dev=dev,
            evidence=Evidence(file="pyproject.toml"),
        )

    analysis = profile(
        source,
        dependencies=[dep("rich", ">=13"), dep("requests", "^2.31"), dep("pytest", dev=True)],
    )
    plan = plan_python(source, analysis, ["./vendor/helper", "rich>=13"], editable=True)
    assert plan == PythonPlan(
        remote=("rich>=13", "requests"),
        local=("./vendor/helper",),
        project_file="pyproject.toml",
        build_requires=("hatchling>=1.25",),
        editable=True,
        notes=(
            "pyproject.toml: '^2.31' is not a pip version constraint; installed the newest requests",
        ),
    )
    assert plan.installed() == ["rich>=13", "requests", "./vendor/helper", "-e", "."]


def test_a_pyproject_that_only_configures_tools_is_not_a_project(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "src", {"pyproject.toml": "[tool.ruff]\nline-length = 100\n"})
    plan = plan_python(source, profile(source), [], editable=False)
    assert (plan.project_file, plan.build_requires, plan.installed()) == (None, (), [])


async def test_without_an_analysis_other_toolchains_are_only_reported(
    tmp_path: Path, path_without_tools: Path
) -> None:
    """profile=None keeps the manifest-only behaviour: a Cargo.toml is named, not built."""
    source, env = await version_folder(tmp_path, CRATE)
    report = await provision(source, env, manifest(), timeout=60, progress=lambda _message: None)
    assert report.to_dict() == {
        "python": str(env / "bin" / "python"),
        "python_installed": [],
        "node_installed": False,
        "built": [],
        "notes": [
            "Cargo.toml: a Rust crate: build it with cargo (cargo not found); Mark-1 does not build it yet"
        ],
    }
