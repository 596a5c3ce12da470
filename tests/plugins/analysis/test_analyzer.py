"""Cases found by running the analyser on real public repositories (see the issue's closing
note): each is the smallest repository that showed the mistake, and what it must give now."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.plugins.analysis.analyzer import analyze
from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.proposal import propose
from assistant.plugins.manifest import is_secret_name

Make = Callable[[dict[str, str]], RepoFiles]


def capabilities(files: RepoFiles) -> list[tuple[str, list[str] | None]]:
    manifest = propose(analyze(files.root)).manifest
    assert manifest is not None
    return [(c.name, c.entry_point.command) for c in manifest.capabilities]


def test_a_tab_in_a_dockerfile_env_line_separates_name_and_value(repo_files: Make) -> None:
    """jessfraz/dockerfiles: `ENV TERM<TAB>xterm-256color` used to crash the analysis."""
    files = repo_files({"Dockerfile": 'FROM alpine\nENV LEVEL\tdebug\nCMD ["run"]\n'})
    profile = analyze(files.root)
    assert [(v.name, v.default) for v in profile.env_vars] == [("LEVEL", "debug")]


def test_docs_builds_ci_scripts_and_chores_are_not_capabilities(repo_files: Make) -> None:
    """sqlite-utils, httpie, requests: Sphinx make targets, lint/test scripts and CI-only
    variables were proposed as capabilities and configuration."""
    files = repo_files(
        {
            "docs/Makefile": "help:\n\t@echo help\nlivehtml:\n\tsphinx-autobuild . _build\n",
            "lint.sh*": "#!/bin/sh\nruff check .\n",
            ".github/scripts/release.sh*": '#!/bin/sh\necho "$RELEASE_TOKEN"\n',
            "tool.py": 'import argparse\n\nif __name__ == "__main__":\n'
            "    argparse.ArgumentParser().parse_args()\n",
        }
    )
    assert capabilities(files) == [("tool", ["python", "tool.py"])]
    assert analyze(files.root).env_vars == []


def test_fastapi_injected_parameters_are_not_inputs(repo_files: Make) -> None:
    """full-stack-fastapi-template: `session: SessionDep` and `Depends(...)` became required
    inputs; FastAPI fills them, the caller never sends them."""
    files = repo_files(
        {
            "app.py": """
                from fastapi import Depends, FastAPI, Request

                app = FastAPI()


                def db():
                    return None


                @app.get("/items")
                def items(request: Request, limit: int = 10, session=Depends(db)):
                    return []
            """
        }
    )
    (entry,) = analyze(files.root).entry_points
    assert entry.interface is not None
    assert list(entry.interface.parameters["properties"]) == ["limit"]
    assert entry.interface.parameters.get("required", []) == []


def test_a_librarys_demo_main_block_does_not_hide_its_functions(repo_files: Make) -> None:
    """psf/requests: `help.py` has a __main__ block, which switched the library scan off."""
    files = repo_files(
        {
            "pyproject.toml": '[project]\nname = "fetchlib"\nversion = "1.0"\n',
            "fetchlib/__init__.py": "from fetchlib.api import get\n\n__all__ = ['get']\n",
            "fetchlib/api.py": 'def get(url: str) -> str:\n    """Fetch a URL."""\n    return url\n',
            "fetchlib/help.py": 'if __name__ == "__main__":\n    print("debug info")\n',
        }
    )
    names = [name for name, _ in capabilities(files)]
    assert "get" in names


def test_a_console_script_that_starts_an_mcp_server_is_not_a_cli(repo_files: Make) -> None:
    """modelcontextprotocol/servers: mcp-server-fetch was proposed as a CLI (it would wait
    on stdio) and as an MCP server; it is an MCP server."""
    files = repo_files(
        {
            "pyproject.toml": '[project]\nname = "mcp-server-time"\nversion = "1.0"\n'
            '[project.scripts]\nmcp-server-time = "mcp_server_time:main"\n',
            "src/mcp_server_time/__init__.py": "from .server import serve\n\n"
            "def main():\n    serve()\n",
            "src/mcp_server_time/server.py": """
                from mcp.server.fastmcp import FastMCP

                mcp = FastMCP("time")


                @mcp.tool()
                def now() -> str:
                    return "noon"


                def serve():
                    mcp.run()
            """,
        }
    )
    manifest = propose(analyze(files.root)).manifest
    assert manifest is not None
    assert [c.entry_point.type for c in manifest.capabilities] == ["mcp"]


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("ACCESS_TOKEN_EXPIRE_MINUTES", False),
        ("DOCKER_AUTH_VERSION", False),
        ("SECRET_KEY_BASE", True),
        ("LINKEDIN_COOKIE", True),
        ("GITHUB_TOKEN", True),
        ("AUTHOR_NAME", False),
    ],
)
def test_which_names_hold_secrets(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_analysis_of_this_repository_names_the_cli() -> None:
    """Mark-1 itself: a real project with tests, docs and examples."""
    profile = analyze(Path(__file__).resolve().parents[3])
    scripts = {e.name for e in profile.entry_points if e.kind == "console_script"}
    assert scripts == {"mark1", "mark1-assistant"}
    assert profile.verdict.plugin


def test_examples_windows_only_and_python2_imports_are_not_packages_to_install(
    repo_files: Make,
) -> None:
    """python-sdk and the Data Science Handbook: imports in examples/, `win32job` and the
    Python 2 name `SocketServer` were listed as packages to install."""
    files = repo_files(
        {
            "app.py": "import SocketServer\n\ntry:\n    import yaml\nexcept ImportError:\n"
            "    yaml = None\n\nimport win32job\nimport requests\n",
            "examples/demo.py": "import numpy\n",
        }
    )
    assert [h.distribution for h in analyze(files.root).hidden_dependencies] == ["requests"]


def test_a_monorepos_sub_projects_python_constraints_are_not_joined(repo_files: Make) -> None:
    """crewAI-examples: `>=3.10,<3.12` and `>=3.12` from two examples made an impossible
    requirement; the root's constraint is the plugin's."""
    files = repo_files(
        {
            "pyproject.toml": '[project]\nname = "all"\nrequires-python = ">=3.10"\n',
            "a/pyproject.toml": '[project]\nname = "a"\nrequires-python = ">=3.10,<3.12"\n',
            "b/pyproject.toml": '[project]\nname = "b"\nrequires-python = ">=3.12"\n',
        }
    )
    assert analyze(files.root).python_requires_spec == ">=3.10"


def test_go_major_versions_and_alpine_packages(repo_files: Make) -> None:
    """glow: the plugin was named `v2`; irssi: Alpine build packages became apt packages."""
    files = repo_files(
        {
            "go.mod": "module github.com/charmbracelet/glow/v2\n\ngo 1.21\n",
            "main.go": "package main\n\nfunc main() {}\n",
            "Dockerfile": "FROM alpine\nRUN apk add --no-cache gcc musl-dev\n"
            'RUN echo hi\nENTRYPOINT ["glow"]\n',
        }
    )
    manifest = propose(analyze(files.root)).manifest
    assert manifest is not None
    assert manifest.name == "glow"
    assert {"gcc", "musl-dev"}.isdisjoint(manifest.system_packages)


def test_a_cuda_file_type_is_not_a_gpu(repo_files: Make) -> None:
    """ripgrep: the file-type table entry `&["cuda"]` was read as a GPU requirement."""
    files = repo_files({"src/types.rs": 'pub const TYPES: &[&str] = &["cuda", "c"];\n'})
    assert analyze(files.root).resources == []


def test_compose_and_code_findings_merge_into_one_per_name(repo_files: Make) -> None:
    """A compose file's services used to be replaced by the code's, and a variable set in
    compose and required by the code appeared twice, disagreeing."""
    files = repo_files(
        {
            "docker-compose.yml": """
                services:
                  cache:
                    image: valkey/valkey:7
                  app:
                    build: .
                    environment:
                      DATABASE_URL: postgres://app:pw@db/app
            """,
            "app.py": "import os\n\nimport psycopg2\n\npsycopg2.connect(os.environ['DATABASE_URL'])\n",
            "requirements.txt": "psycopg2\n",
        }
    )
    profile = analyze(files.root)
    assert [v.name for v in profile.env_vars] == ["DATABASE_URL"]
    assert profile.env_vars[0].required is True
    assert len(profile.env_vars[0].evidence) == 2
    assert sorted(s.name for s in profile.services) == ["postgresql", "redis"]


def test_one_shebang_reader_for_every_scanner() -> None:
    """env_vars had its own, weaker copy: `env -S bash -e` and `bun` were not recognised,
    so the env, risk, service and resource scanners skipped such scripts."""
    from assistant.plugins.analysis.env_vars import shebang_language

    lines = ("#!/usr/bin/env -S bash -e", "#!/usr/bin/env bun", "#!/usr/bin/env perl", "# x")
    assert [shebang_language(line) for line in lines] == ["shell", "javascript", None, None]
