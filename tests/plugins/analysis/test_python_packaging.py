"""Python packaging files, each form in a real folder: exact dependencies, scripts, Python
constraints, metadata, install-time risks and notes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import (
    Dependency,
    EntryKind,
    EntryPointFinding,
    Evidence,
    Findings,
    Inferred,
    ProjectMeta,
    RiskFinding,
)
from assistant.plugins.analysis.python_packaging import (
    python_constraint,
    scan_python_packaging,
    split_requirement,
)

MakeRepo = Callable[[dict[str, str | bytes]], RepoFiles]


def ev(file: str, line: int | None, detail: str = "") -> Evidence:
    return Evidence(file=file, line=line, detail=detail)


def py(name: str, spec: str, evidence: Evidence, dev: bool = False) -> Dependency:
    return Dependency(ecosystem="python", name=name, spec=spec, dev=dev, evidence=evidence)


def python_requires(value: str, evidence: Evidence) -> Inferred:
    return Inferred(value=value, confidence=1.0, evidence=[evidence])


def script(
    name: str,
    target: str,
    evidence: Evidence,
    kind: EntryKind = "console_script",
    root: str = ".",
    file: str | None = None,
    line: int | None = None,
) -> EntryPointFinding:
    """The finding a console/gui script declaration must give: everything else at defaults."""
    module, function = target.split(":")
    return EntryPointFinding(
        kind=kind,
        name=name,
        root=root,
        command=[name],
        module=module,
        function=function,
        file=file,
        line=line,
        evidence=[evidence],
    )


def test_utf16_requirements_follow_includes_once_and_skip_options_paths_and_hashes(
    repo_files: MakeRepo,
) -> None:
    requirements = (
        "# the app\n"
        "-r base.txt\n"
        "--index-url https://pypi.example/simple\n"
        'requests[socks] >= 2.0 ; python_version < "3.12"  # network\n'
        "Pillow==10.0 \\\n"
        "    --hash=sha256:abc\n"
        "-e .\n"
        "./local/pkg\n"
        "-c constraints.txt\n"
        "typing_extensions\n"
        "-r missing.txt\n"
    )
    files = repo_files(
        {
            "requirements.txt": requirements.encode("utf-16"),
            "base.txt": "numpy>=1.2\n-r requirements.txt\n-r base.txt\n",
            "constraints.txt": "urllib3<2\n",
            "dev-requirements.txt": "-r requirements.txt\n-r lint.txt\npytest>=8\n",
            "lint.txt": "ruff\n",
            "requirements/docs.txt": "sphinx\n",
        }
    )

    assert scan_python_packaging(files) == Findings(
        dependencies=[
            py("ruff", "", ev("lint.txt", 1, "ruff"), dev=True),
            py("pytest", ">=8", ev("dev-requirements.txt", 3, "pytest>=8"), dev=True),
            py("numpy", ">=1.2", ev("base.txt", 1, "numpy>=1.2")),
            py(
                "requests",
                '[socks]>=2.0; python_version < "3.12"',
                ev(
                    "requirements.txt",
                    4,
                    'requests[socks] >= 2.0 ; python_version < "3.12"  # network',
                ),
            ),
            py("pillow", "==10.0", ev("requirements.txt", 5, "Pillow==10.0 \\")),
            py("typing-extensions", "", ev("requirements.txt", 10, "typing_extensions")),
            py("sphinx", "", ev("requirements/docs.txt", 1, "sphinx"), dev=True),
        ],
        notes=["requirements.txt:11: includes missing.txt, which is not in the repo"],
    )


def test_unreadable_requirement_line_is_noted(repo_files: MakeRepo) -> None:
    files = repo_files({"requirements.txt": "flask\nthis is not a requirement\n"})

    found = scan_python_packaging(files)

    assert [d.name for d in found.dependencies] == ["flask"]
    assert found.notes == ["requirements.txt:2: not a requirement: 'this is not a requirement'"]


PEP621 = """
    [build-system]
    requires = ["hatchling"]

    [project]
    name = "shrink"
    version = "0.3.0"
    description = "Makes images smaller"
    license = {text = "MIT"}
    requires-python = ">=3.10"
    dependencies = [
      "Pillow>=10",
      "click>=8.1,<9",
    ]

    [project.optional-dependencies]
    test = ["pytest>=8"]

    [project.scripts]
    shrink = "shrink.cli:main"
    shrink-all = "shrink.batch:run [fast]"

    [project.gui-scripts]
    shrink-gui = "shrink.gui:App"

    [dependency-groups]
    lint = ["ruff"]
"""


def test_pep621_pyproject_with_scripts_in_a_src_layout(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "pyproject.toml": PEP621,
            "src/shrink/__init__.py": "",
            "src/shrink/cli.py": "import click\n\n\ndef main():\n    pass\n",
            "src/shrink/gui.py": "class App:\n    pass\n",
        }
    )

    assert scan_python_packaging(files) == Findings(
        projects=[
            ProjectMeta(
                name="shrink",
                version="0.3.0",
                description="Makes images smaller",
                license="MIT",
                evidence=ev("pyproject.toml", 5, 'name = "shrink"'),
            )
        ],
        python_requires=[
            python_requires(">=3.10", ev("pyproject.toml", 9, 'requires-python = ">=3.10"'))
        ],
        dependencies=[
            py("pillow", ">=10", ev("pyproject.toml", 11, '"Pillow>=10",')),
            py("click", ">=8.1,<9", ev("pyproject.toml", 12, '"click>=8.1,<9",')),
            py("pytest", ">=8", ev("pyproject.toml", 16, 'test = ["pytest>=8"]'), dev=True),
            py("ruff", "", ev("pyproject.toml", 26, 'lint = ["ruff"]'), dev=True),
        ],
        entry_points=[
            script(
                "shrink",
                "shrink.cli:main",
                ev("pyproject.toml", 19, 'shrink = "shrink.cli:main"'),
                file="src/shrink/cli.py",
                line=4,
            ),
            script(
                "shrink-all",
                "shrink.batch:run",
                ev("pyproject.toml", 20, 'shrink-all = "shrink.batch:run [fast]"'),
            ),
            script(
                "shrink-gui",
                "shrink.gui:App",
                ev("pyproject.toml", 23, 'shrink-gui = "shrink.gui:App"'),
                kind="gui_script",
                file="src/shrink/gui.py",
                line=1,
            ),
        ],
    )


POETRY = """
    [tool.poetry]
    name = "Weather-Bot"
    version = "1.2.0"
    description = "Posts the forecast"
    license = "Apache-2.0"

    [tool.poetry.dependencies]
    python = "^3.9"
    requests = "^2.31"
    PyYAML = "~6.0"
    httpx = {version = "*", extras = ["http2"]}
    boto3 = {version = ">=1.28", optional = true}
    mylib = {path = "../mylib"}
    tools = {git = "https://example.org/tools.git", tag = "v1"}

    [tool.poetry.group.test.dependencies]
    pytest = "^8.0"

    [tool.poetry.dev-dependencies]
    black = "*"

    [tool.poetry.scripts]
    weather = "weather_bot.main:cli"

    [tool.pdm.dev-dependencies]
    lint = ["flake8>=7"]
"""


def test_poetry_pyproject_keeps_constraints_verbatim_and_converts_python(
    repo_files: MakeRepo,
) -> None:
    files = repo_files({"bot/pyproject.toml": POETRY, "bot/weather_bot/main.py": "cli = 1\n"})
    file = "bot/pyproject.toml"

    assert scan_python_packaging(files) == Findings(
        projects=[
            ProjectMeta(
                name="Weather-Bot",
                version="1.2.0",
                description="Posts the forecast",
                license="Apache-2.0",
                root="bot",
                evidence=ev(file, 2, 'name = "Weather-Bot"'),
            )
        ],
        python_requires=[python_requires(">=3.9,<4.0", ev(file, 8, 'python = "^3.9"'))],
        dependencies=[
            py("requests", "^2.31", ev(file, 9, 'requests = "^2.31"')),
            py("pyyaml", "~6.0", ev(file, 10, 'PyYAML = "~6.0"')),
            py("httpx", "[http2]", ev(file, 11, 'httpx = {version = "*", extras = ["http2"]}')),
            py(
                "boto3",
                ">=1.28",
                ev(file, 12, 'boto3 = {version = ">=1.28", optional = true}'),
                dev=True,
            ),
            py(
                "tools",
                "@ git+https://example.org/tools.git@v1",
                ev(file, 14, 'tools = {git = "https://example.org/tools.git", tag = "v1"}'),
            ),
            py("black", "", ev(file, 20, 'black = "*"'), dev=True),
            py("pytest", "^8.0", ev(file, 17, 'pytest = "^8.0"'), dev=True),
            py("flake8", ">=7", ev(file, 26, 'lint = ["flake8>=7"]'), dev=True),
        ],
        entry_points=[
            script(
                "weather",
                "weather_bot.main:cli",
                ev(file, 23, 'weather = "weather_bot.main:cli"'),
                root="bot",
                file="bot/weather_bot/main.py",
                line=1,
            )
        ],
    )


SETUP_PY = """
    from setuptools import find_packages, setup

    NAME = "imgtool"
    REQUIRES = [
        "numpy>=1.21",
        "opencv-python",
    ]
    EXTRAS = {"dev": ["pytest"], "gpu": ["cupy"]}
    META = dict(description="Image tools", license="BSD")

    setup(
        name=NAME,
        version="2.0.1",
        packages=find_packages(),
        long_description=open("README.md", encoding="utf-8").read(),
        install_requires=REQUIRES + ["tqdm"],
        extras_require=EXTRAS,
        python_requires=">=3.8",
        entry_points={
            "console_scripts": ["imgtool = imgtool.cli:main"],
            "gui_scripts": ["imgtool-view=imgtool.view:show"],
        },
        **META,
    )
"""


def test_setup_py_read_with_ast_following_constants(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "setup.py": SETUP_PY,
            "imgtool/__init__.py": "",
            "imgtool/cli.py": "import sys\n\ndef main():\n    pass\n",
        }
    )
    entry_lines = ev("setup.py", 20, '"console_scripts": ["imgtool = imgtool.cli:main"],')

    assert scan_python_packaging(files) == Findings(
        projects=[
            ProjectMeta(
                name="imgtool",
                version="2.0.1",
                description="Image tools",
                license="BSD",
                evidence=ev("setup.py", 11, "setup("),
            )
        ],
        python_requires=[python_requires(">=3.8", ev("setup.py", 18, 'python_requires=">=3.8",'))],
        dependencies=[
            py("numpy", ">=1.21", ev("setup.py", 5, '"numpy>=1.21",')),
            py("opencv-python", "", ev("setup.py", 6, '"opencv-python",')),
            py("tqdm", "", ev("setup.py", 16, 'install_requires=REQUIRES + ["tqdm"],')),
            py(
                "pytest",
                "",
                ev("setup.py", 8, 'EXTRAS = {"dev": ["pytest"], "gpu": ["cupy"]}'),
                dev=True,
            ),
            py(
                "cupy",
                "",
                ev("setup.py", 8, 'EXTRAS = {"dev": ["pytest"], "gpu": ["cupy"]}'),
                dev=True,
            ),
        ],
        entry_points=[
            script("imgtool", "imgtool.cli:main", entry_lines, file="imgtool/cli.py", line=3),
            script(
                "imgtool-view",
                "imgtool.view:show",
                ev("setup.py", 21, '"gui_scripts": ["imgtool-view=imgtool.view:show"],'),
                kind="gui_script",
            ),
        ],
    )


def test_setup_py_requirements_computed_from_a_file_are_noted(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "setup.py": """
                import setuptools

                def read_requirements():
                    with open("requirements.txt") as f:
                        return f.read().splitlines()

                setuptools.setup(name="x", install_requires=read_requirements())
            """
        }
    )

    found = scan_python_packaging(files)

    assert found.dependencies == []
    assert found.risks == []
    assert found.notes == [
        "setup.py:7: setup() install_requires is computed when setup.py runs; not read "
        "(it reads requirements.txt)"
    ]


def test_risky_setup_py_reports_install_code_with_lines(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "setup.py": """
                import os
                import subprocess as sp
                from urllib.request import urlretrieve
                from setuptools import setup
                from setuptools.command.install import install


                class PostInstall(install):
                    def run(self):
                        install.run(self)
                        os.system("echo hi >> ~/.bashrc")


                urlretrieve("https://example.org/model.bin", "model.bin")
                sp.check_call(["make", "-C", "native"])
                with open(os.path.expanduser("~/.toolrc"), "w") as rc:
                    rc.write("x")
                setup(name="risky", cmdclass={"install": PostInstall})
            """
        }
    )

    assert scan_python_packaging(files).risks == [
        RiskFinding(
            category="install_code",
            severity="high",
            detail="setup.py runs commands when the package is installed",
            evidence=[
                ev("setup.py", 11, 'os.system("echo hi >> ~/.bashrc")'),
                ev("setup.py", 15, 'sp.check_call(["make", "-C", "native"])'),
            ],
        ),
        RiskFinding(
            category="install_code",
            severity="high",
            detail="setup.py uses the network when the package is installed",
            evidence=[
                ev("setup.py", 14, 'urlretrieve("https://example.org/model.bin", "model.bin")')
            ],
        ),
        RiskFinding(
            category="install_code",
            severity="medium",
            detail="setup.py replaces setuptools commands (cmdclass): its own code runs when "
            "the package is built or installed",
            evidence=[ev("setup.py", 18, 'setup(name="risky", cmdclass={"install": PostInstall})')],
        ),
        RiskFinding(
            category="install_code",
            severity="medium",
            detail="setup.py writes or deletes files when the package is installed",
            evidence=[ev("setup.py", 16, 'with open(os.path.expanduser("~/.toolrc"), "w") as rc:')],
        ),
    ]


def test_declarative_setup_py_has_no_risk(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "setup.py": """
                from pathlib import Path
                from setuptools import setup

                setup(name="calm", long_description=Path("README.md").read_text())
            """
        }
    )

    assert scan_python_packaging(files) == Findings(
        projects=[
            ProjectMeta(
                name="calm",
                evidence=ev(
                    "setup.py",
                    4,
                    'setup(name="calm", long_description=Path("README.md").read_text())',
                ),
            )
        ]
    )


SETUP_CFG = """
    [metadata]
    name = csvkit-lite
    version = attr: csvkit_lite.__version__
    description = Small CSV tools
    license = MIT

    [options]
    packages = find:
    python_requires = >=3.8
    install_requires =
        agate>=1.6
        # openpyxl is optional
        python-dateutil; python_version < "3.9"

    [options.extras_require]
    test =
        pytest

    [options.entry_points]
    console_scripts =
        csvcut = csvkit_lite.cut:launch

    [flake8]
    max-line-length = 100
"""


def test_setup_cfg(repo_files: MakeRepo) -> None:
    files = repo_files({"setup.cfg": SETUP_CFG, "csvkit_lite/cut.py": "def launch():\n    pass\n"})

    assert scan_python_packaging(files) == Findings(
        projects=[
            ProjectMeta(
                name="csvkit-lite",
                description="Small CSV tools",
                license="MIT",
                evidence=ev("setup.cfg", 2, "name = csvkit-lite"),
            )
        ],
        python_requires=[python_requires(">=3.8", ev("setup.cfg", 9, "python_requires = >=3.8"))],
        dependencies=[
            py("agate", ">=1.6", ev("setup.cfg", 11, "agate>=1.6")),
            py(
                "python-dateutil",
                '; python_version < "3.9"',
                ev("setup.cfg", 13, 'python-dateutil; python_version < "3.9"'),
            ),
            py("pytest", "", ev("setup.cfg", 17, "pytest"), dev=True),
        ],
        entry_points=[
            script(
                "csvcut",
                "csvkit_lite.cut:launch",
                ev("setup.cfg", 21, "csvcut = csvkit_lite.cut:launch"),
                file="csvkit_lite/cut.py",
                line=1,
            )
        ],
    )


def test_pipfile(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "Pipfile": """
                [[source]]
                url = "https://pypi.org/simple"

                [packages]
                flask = "*"
                "Flask-Cors" = ">=4"
                requests = {version = "==2.31.0", extras = ["socks"]}

                [dev-packages]
                pytest = "*"

                [requires]
                python_version = "3.11"
            """
        }
    )

    assert scan_python_packaging(files) == Findings(
        python_requires=[python_requires("==3.11.*", ev("Pipfile", 13, 'python_version = "3.11"'))],
        dependencies=[
            py("flask", "", ev("Pipfile", 5, 'flask = "*"')),
            py("flask-cors", ">=4", ev("Pipfile", 6, '"Flask-Cors" = ">=4"')),
            py(
                "requests",
                "[socks]==2.31.0",
                ev("Pipfile", 7, 'requests = {version = "==2.31.0", extras = ["socks"]}'),
            ),
            py("pytest", "", ev("Pipfile", 10, 'pytest = "*"'), dev=True),
        ],
    )


def test_environment_yml_with_a_pip_section(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "environment.yml": """
                name: seg
                channels:
                  - conda-forge
                dependencies:
                  - python=3.10
                  - conda-forge::numpy>=1.24
                  - pytorch 2.1.*
                  - pip
                  - pip:
                    - segment-anything==1.0
                    - -r requirements-extra.txt
            """
        }
    )
    file = "environment.yml"

    assert scan_python_packaging(files) == Findings(
        python_requires=[python_requires("==3.10.*", ev(file, 5, "- python=3.10"))],
        dependencies=[
            Dependency(
                ecosystem="conda",
                name="numpy",
                spec=">=1.24",
                evidence=ev(file, 6, "- conda-forge::numpy>=1.24"),
            ),
            Dependency(
                ecosystem="conda",
                name="pytorch",
                spec="2.1.*",
                evidence=ev(file, 7, "- pytorch 2.1.*"),
            ),
            Dependency(ecosystem="conda", name="pip", evidence=ev(file, 8, "- pip")),
            py("segment-anything", "==1.0", ev(file, 10, "- segment-anything==1.0")),
        ],
    )


def test_malformed_files_are_noted_not_raised(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "a/pyproject.toml": "[project\nname = 'x'\n",
            "b/environment.yml": "dependencies: [numpy\n",
            "c/setup.py": "from setuptools import setup\nsetup(name='x'\n",
            "d/setup.cfg": "name = no section\n",
            "e/Pipfile": "[packages]\nflask = \n",
        }
    )

    assert scan_python_packaging(files).notes == [
        "a/pyproject.toml: invalid TOML (Expected ']' at the end of a table declaration "
        "(at line 1, column 9)); not read",
        "b/environment.yml: invalid YAML (expected ',' or ']', but got '<stream end>' "
        "at line 2, column 1); not read",
        "c/setup.py: not valid Python 3; not read",
        "d/setup.cfg: invalid INI (File contains no section headers. file: 'd/setup.cfg', "
        "line: 1 'name = no section\\n'); not read",
        "e/Pipfile: invalid TOML (Invalid value (at line 2, column 9)); not read",
    ]


def test_monorepo_projects_each_keep_their_root_and_merge_per_root(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "tools/a/pyproject.toml": '[project]\nname = "a"\ndynamic = ["version"]\n',
            "tools/a/setup.py": 'from setuptools import setup\nsetup(version="1.0")\n',
            "tools/b/setup.cfg": "[metadata]\nname = b\n",
        }
    )

    assert scan_python_packaging(files).projects == [
        ProjectMeta(
            name="a",
            version="1.0",
            root="tools/a",
            evidence=ev("tools/a/pyproject.toml", 2, 'name = "a"'),
        ),
        ProjectMeta(name="b", root="tools/b", evidence=ev("tools/b/setup.cfg", 2, "name = b")),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pillow", ("pillow", "")),
        ("typing_extensions>=4", ("typing-extensions", ">=4")),
        (
            "requests [ socks ] >= 2 ; python_version<'3.12'",
            ("requests", "[socks]>=2; python_version<'3.12'"),
        ),
        ("pkg @ https://example.org/pkg.whl", ("pkg", "@ https://example.org/pkg.whl")),
        ("zope.interface (>=5)", ("zope-interface", ">=5")),
        ("not a requirement", None),
    ],
)
def test_split_requirement(text: str, expected: tuple[str, str] | None) -> None:
    assert split_requirement(text) == expected


@pytest.mark.parametrize(
    ("constraint", "expected"),
    [
        ("^3.8", ">=3.8,<4.0"),
        ("^0.2.3", ">=0.2.3,<0.3.0"),
        ("~3.9", ">=3.9,<3.10"),
        (">= 3.8, < 3.13", ">=3.8,<3.13"),
        ("3.10", "==3.10.*"),
        ("3.10.4", "==3.10.4"),
        ("=3.10=h12_0", "==3.10.*"),
        ("~=3.9", "~=3.9"),
        ("*", ""),
        ("^3.8 || ^3.10", "^3.8 || ^3.10"),
    ],
)
def test_python_constraint_as_pep440(constraint: str, expected: str) -> None:
    assert python_constraint(constraint) == expected


PYPROJECT_DYNAMIC = """
    [project]
    name = "pkg"
    dynamic = ["version"]
"""
PYPROJECT_EVIDENCE = ev("pyproject.toml", 2, 'name = "pkg"')
SETUP_CFG_EVIDENCE = ev("setup.cfg", 2, "name = pkg")
SETUP_PY_EVIDENCE = ev("setup.py", 3, "setup(name='pkg', version=version)")
VERSION_MODULE = '"""Package."""\nimport os\n\nVERSION = "0.1"\n__version__: str = "1.4.2"\n'


@pytest.mark.parametrize(
    ("tree", "evidence"),
    [
        pytest.param(
            {
                "pyproject.toml": PYPROJECT_DYNAMIC
                + '[tool.setuptools.dynamic]\nversion = {attr = "pkg.__version__"}\n',
                "src/pkg/__init__.py": VERSION_MODULE,
            },
            PYPROJECT_EVIDENCE,
            id="setuptools-attr-src-layout",
        ),
        pytest.param(
            {
                "pyproject.toml": PYPROJECT_DYNAMIC
                + '[tool.setuptools.dynamic]\nversion = {file = "VERSION"}\n',
                "VERSION": "\n1.4.2\n",
            },
            PYPROJECT_EVIDENCE,
            id="setuptools-file",
        ),
        pytest.param(
            {
                "pyproject.toml": PYPROJECT_DYNAMIC
                + '[tool.hatch.version]\npath = "pkg/__about__.py"\n',
                "pkg/__about__.py": '__version__ = "1.4.2"\n',
            },
            PYPROJECT_EVIDENCE,
            id="hatch-path",
        ),
        pytest.param(
            {
                "pyproject.toml": PYPROJECT_DYNAMIC
                + '[tool.pdm.version]\nsource = "file"\npath = "pkg/version.py"\n',
                "pkg/version.py": 'VERSION = "1.4.2"\n',
            },
            PYPROJECT_EVIDENCE,
            id="pdm-file",
        ),
        pytest.param(
            {
                "setup.cfg": "[metadata]\nname = pkg\nversion = attr: pkg.__version__\n",
                "pkg/__init__.py": VERSION_MODULE,
            },
            SETUP_CFG_EVIDENCE,
            id="setup-cfg-attr",
        ),
        pytest.param(
            {
                "setup.cfg": "[metadata]\nname = pkg\nversion = file: pkg/VERSION.txt\n",
                "pkg/VERSION.txt": "1.4.2\n",
            },
            SETUP_CFG_EVIDENCE,
            id="setup-cfg-file",
        ),
        pytest.param(
            {
                "setup.py": "import pkg\nversion = pkg.__version__\n"
                "setup(name='pkg', version=version)\n",
                "pkg/__init__.py": VERSION_MODULE,
            },
            SETUP_PY_EVIDENCE,
            id="setup-py-module-attribute",
        ),
        pytest.param(
            {
                "setup.py": "from pkg.about import __version__ as version\nfrom setuptools import"
                " setup\nsetup(name='pkg', version=version)\n",
                "pkg/about.py": VERSION_MODULE,
            },
            SETUP_PY_EVIDENCE,
            id="setup-py-imported-name",
        ),
        pytest.param(
            {
                "setup.py": """
                    about = {}; exec(open(os.path.join(here, "pkg", "__version__.py")).read(), about)
                    version = about["__version__"]
                    setup(name='pkg', version=version)
                """,
                "pkg/__version__.py": VERSION_MODULE,
            },
            SETUP_PY_EVIDENCE,
            id="setup-py-about-dict",
        ),
        pytest.param(
            {
                "setup.py": """
                    exec(open("pkg/version.py").read())
                    version = __version__
                    setup(name='pkg', version=version)
                """,
                "pkg/version.py": VERSION_MODULE,
            },
            SETUP_PY_EVIDENCE,
            id="setup-py-executed-file",
        ),
    ],
)
def test_dynamic_version_is_read_from_the_code_it_names(
    repo_files: MakeRepo, tree: dict[str, str | bytes], evidence: Evidence
) -> None:
    projects = scan_python_packaging(repo_files(tree)).projects

    assert projects == [ProjectMeta(name="pkg", version="1.4.2", evidence=evidence)]


def test_dynamic_version_without_a_literal_stays_unknown(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "pyproject.toml": PYPROJECT_DYNAMIC + "[tool.hatch.version]\nsource = 'vcs'\n",
            "tools/a/setup.cfg": "[metadata]\nname = a\nversion = attr: a.__version__\n",
            "tools/a/a/__init__.py": "from importlib.metadata import version\n"
            "__version__ = version('a')\n",
            "tools/b/setup.py": "import b\nsetup(name='b', version=b.get_version())\n",
        }
    )

    assert scan_python_packaging(files).projects == [
        ProjectMeta(name="pkg", evidence=PYPROJECT_EVIDENCE),
        ProjectMeta(name="a", root="tools/a", evidence=ev("tools/a/setup.cfg", 2, "name = a")),
        ProjectMeta(
            name="b",
            root="tools/b",
            evidence=ev("tools/b/setup.py", 2, "setup(name='b', version=b.get_version())"),
        ),
    ]


def test_static_version_wins_over_tool_configuration(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "pyproject.toml": '[project]\nname = "pkg"\nversion = "2.0"\n'
            '[tool.hatch.version]\npath = "pkg/__about__.py"\n',
            "pkg/__about__.py": '__version__ = "1.4.2"\n',
        }
    )

    assert scan_python_packaging(files).projects == [
        ProjectMeta(name="pkg", version="2.0", evidence=PYPROJECT_EVIDENCE)
    ]
