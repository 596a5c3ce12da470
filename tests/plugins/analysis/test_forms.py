"""`mark1 plugin analyze --json` on one small repository per form (see ``forms.py``).

Each test reads the documented JSON the command prints, through the real CLI, and checks
what a person installing the repository relies on: the verdict, the entry points and how
they start, the dependencies (declared and hidden), environment variables, services,
toolchains, risks, and the capabilities of the proposed manifest. Whether a toolchain is
*present* depends on the machine, so only its name is compared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult
from tests.plugins.analysis.conftest import write_tree
from tests.plugins.analysis.forms import FORMS

Cli = Callable[..., CliResult]
UVICORN = ["python", "-m", "uvicorn", "--app-dir", ".", "app:app"]
UVICORN += ["--host", "127.0.0.1", "--port", "{port}"]
NOTHING: dict[str, Any] = {"hidden": [], "env": [], "services": [], "toolchains": [], "risks": []}
EXPECTED: dict[str, dict[str, Any]] = {
    "click-pyproject": {
        "entry_points": [
            ("console_script", "shrinkpic", ["shrinkpic"], "shrinkpic.cli", "main", "click")
        ],
        "dependencies": ["python:click>=8", "python:pillow>=9"],
        "capabilities": [("shrinkpic", "cli")],
    },
    "setup-py-only": {
        "entry_points": [
            ("console_script", "wordcount", ["wordcount"], "wordcount.main", "run", "argparse")
        ],
        "dependencies": ["python:requests>=2.20"],
        "capabilities": [("wordcount", "cli")],
    },
    "argparse-hidden-deps": {
        "entry_points": [
            ("python_script", "thumbs", ["python", "thumbs.py"], None, "main", "argparse")
        ],
        "dependencies": [],
        "hidden": ["pillow", "pyyaml"],
        "capabilities": [("thumbs", "cli")],
    },
    "typer-app": {
        "entry_points": [("python_script", "notes", ["python", "notes.py"], None, "app", "typer")],
        "dependencies": ["python:typer>=0.9"],
        "capabilities": [("add", "cli"), ("list", "cli")],
    },
    "library-no-cli": {
        "entry_points": [
            ("python_function", "word_count", None, "textstats.core", "word_count", None),
            ("python_function", "readability", None, "textstats.core", "readability", None),
        ],
        "dependencies": [],
        "capabilities": [("word_count", "python_function"), ("readability", "python_function")],
    },
    "node-bin": {
        "entry_points": [("node_bin", "jsonpick", ["node", "bin/jsonpick.js"], None, None, None)],
        "dependencies": [],
        "toolchains": ["node"],
        "capabilities": [("jsonpick", "cli")],
    },
    "shell-script": {
        "entry_points": [("shell_script", "backup", ["./backup.sh"], None, None, None)],
        "dependencies": [],
        "capabilities": [("backup", "cli")],
    },
    "makefile-c": {
        "entry_points": [
            ("make_target", "wc2", ["./wc2"], None, None, "make"),
            ("make_target", "clean", ["make", "clean"], None, None, "make"),
        ],
        "dependencies": [],
        "toolchains": ["cc", "make"],
        "capabilities": [("wc2", "cli")],
    },
    "go-main": {
        "entry_points": [("go_main", "greet", ["bin/greet"], None, None, "go")],
        "dependencies": [],
        "toolchains": ["go"],
        "capabilities": [("greet", "cli")],
    },
    "rust-bin": {
        "entry_points": [("rust_bin", "upper", ["target/release/upper"], None, None, "cargo")],
        "dependencies": [],
        "toolchains": ["cargo"],
        "capabilities": [("upper", "cli")],
    },
    "dockerfile-only": {
        "entry_points": [("docker", "app", ["/usr/local/bin/convert.sh"], None, None, "docker")],
        "dependencies": ["apt:ghostscript", "apt:imagemagick"],
        "env": [("OUTPUT_DIR", False, False)],
        "toolchains": ["convert", "docker"],
        "capabilities": [("app", "container")],
    },
    "fastapi-app": {
        "entry_points": [
            ("http_app", "health", UVICORN, "app", "health", "fastapi"),
            ("http_app", "convert", UVICORN, "app", "convert", "fastapi"),
        ],
        "dependencies": ["python:fastapi", "python:uvicorn"],
        "capabilities": [("health", "http"), ("convert", "http")],
    },
    "python-mcp": {
        "entry_points": [
            ("mcp_server", "calculator", ["python", "server.py"], "server", None, "fastmcp")
        ],
        "dependencies": ["python:mcp"],
        "capabilities": [("calculator", "mcp")],
    },
    "node-mcp": {
        "entry_points": [("mcp_server", "notes", ["node", "index.js"], None, None, "mcp")],
        "dependencies": ["node:@modelcontextprotocol/sdk^1.0.0", "node:zod^3.22.0"],
        "toolchains": ["node", "npm"],
        "capabilities": [("notes", "mcp")],
    },
    "langgraph": {
        "entry_points": [("agent", "researcher", None, "agent.graph", "graph", "langgraph")],
        "dependencies": ["python:langchain-openai", "python:langgraph"],
        "env": [("OPENAI_API_KEY", True, True)],
        "capabilities": [("researcher", "agent")],
    },
    "crewai": {
        # The console script run_crew starts the same crew: one capability, not two.
        "entry_points": [("agent", "trip_planner", None, "trip_planner.main", "run", "crewai")],
        "dependencies": ["python:crewai[tools]>=0.80"],
        "capabilities": [("trip_planner", "agent")],
    },
    "notebook-only": {
        "verdict": False,
        "entry_points": [],
        "dependencies": [],
        "capabilities": None,
    },
    "monorepo": {
        "entry_points": [
            (
                "python_script",
                "slugify",
                ["python", "tools/slugify/slugify.py"],
                None,
                "main",
                "argparse",
            ),
            ("node_bin", "count-lines", ["node", "count.js"], None, None, None),
        ],
        "dependencies": [],
        "toolchains": ["node"],
        "capabilities": [("slugify", "cli"), ("count-lines", "cli")],
    },
    "env-and-database": {
        "entry_points": [
            ("python_script", "sync_orders", ["python", "sync_orders.py"], None, "main", "argparse")
        ],
        "dependencies": ["python:psycopg2-binary", "python:requests"],
        "env": [
            ("DATABASE_URL", True, True),
            ("LOG_LEVEL", False, False),
            ("SHIPPING_API_TOKEN", True, True),
        ],
        "services": [("http-api:api.shipping.example.com", None), ("postgresql", "DATABASE_URL")],
        "risks": [("network", "low")],
        "capabilities": [("sync_orders", "cli")],
    },
}


def analyze(cli: Cli, tmp_path: Path, form: str) -> dict[str, Any]:
    folder = write_tree(tmp_path / form, FORMS[form])
    result = cli("plugin", "analyze", str(folder), "--json")
    assert result.code == 0, result.err
    document: dict[str, Any] = json.loads(result.out)
    return document


def summary(document: dict[str, Any]) -> dict[str, Any]:
    """The fields of the --json document each form is checked on."""
    profile, manifest = document["profile"], document["manifest"]
    return {
        "verdict": profile["verdict"]["plugin"],
        "entry_points": [
            (e["kind"], e["name"], e["command"], e["module"], e["function"], e["framework"])
            for e in profile["entry_points"]
        ],
        "dependencies": sorted(
            f"{d['ecosystem']}:{d['name']}{d['spec']}"
            for d in profile["dependencies"]
            if not d["dev"]
        ),
        "hidden": [h["distribution"] for h in profile["hidden_dependencies"]],
        "env": [(v["name"], v["secret"], v["required"]) for v in profile["env_vars"]],
        "services": [(s["name"], s["url_env"]) for s in profile["services"]],
        "toolchains": sorted(t["name"] for t in profile["toolchains"]),
        "risks": [(r["category"], r["severity"]) for r in profile["risks"]],
        "capabilities": [
            (c["name"], e["type"])
            for c, e in zip(manifest["capabilities"], manifest["entry_points"], strict=True)
        ]
        if manifest
        else None,
    }


def test_every_form_is_covered() -> None:
    assert sorted(EXPECTED) == sorted(FORMS)
    assert len(FORMS) >= 15


@pytest.mark.parametrize("form", sorted(EXPECTED))
def test_the_analysis_of_each_form(form: str, cli: Cli, tmp_path: Path) -> None:
    expected = {"verdict": True, **NOTHING, **EXPECTED[form]}
    assert summary(analyze(cli, tmp_path, form)) == expected


def capability(document: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A proposed capability and its entry point, from the --json document."""
    manifest = document["manifest"]
    pairs = zip(manifest["capabilities"], manifest["entry_points"], strict=True)
    return next((c, e) for c, e in pairs if c["name"] == name)


def test_click_options_become_a_schema_and_an_argv_mapping(cli: Cli, tmp_path: Path) -> None:
    document = analyze(cli, tmp_path, "click-pyproject")
    cap, entry = capability(document, "shrinkpic")
    assert cap["parameters"] == {
        "type": "object",
        "properties": {
            "source": {"type": "string", "format": "path"},
            "width": {"type": "integer", "description": "Maximum width in pixels.", "default": 800},
            "output": {
                "type": "string",
                "format": "path",
                "description": "Where to write the PNG.",
                "default": "small.png",
            },
        },
        "required": ["source"],
        "additionalProperties": False,
    }
    assert entry["args"] == {
        "source": {"position": 0},
        "width": {"flag": "--width"},
        "output": {"flag": "--output"},
    }
    assert (cap["inputs"], cap["outputs"]) == ([], ["png"])
    assert document["inferred"]["capabilities.shrinkpic.formats"]["evidence"] == [
        {
            "file": "shrinkpic/cli.py",
            "line": 6,
            "detail": "parameter 'output': png",
        }
    ]


def test_typer_subcommands_become_capabilities(cli: Cli, tmp_path: Path) -> None:
    document = analyze(cli, tmp_path, "typer-app")
    add, add_entry = capability(document, "add")
    assert add_entry["command"] == ["python", "notes.py", "add"]
    assert add["parameters"]["properties"] == {
        "text": {"type": "string"},
        "tag": {"type": "string", "description": "Tag for the note", "default": "misc"},
    }
    assert add_entry["args"] == {"text": {"position": 0}, "tag": {"flag": "--tag"}}
    _, list_entry = capability(document, "list")
    assert list_entry["command"] == ["python", "notes.py", "list"]


def test_hidden_dependencies_and_formats_of_a_bare_script(cli: Cli, tmp_path: Path) -> None:
    document = analyze(cli, tmp_path, "argparse-hidden-deps")
    cap, _ = capability(document, "thumbs")
    assert (cap["inputs"], cap["outputs"]) == (["yaml"], ["png"])
    assert document["manifest"]["dependencies"] == {"packages": ["pillow", "pyyaml"]}
    hidden = document["profile"]["hidden_dependencies"]
    assert hidden[0] == {
        "module": "PIL",
        "distribution": "pillow",
        "evidence": [{"file": "thumbs.py", "line": 5, "detail": "from PIL import Image"}],
    }


def test_a_fastapi_body_model_is_the_capability_schema(cli: Cli, tmp_path: Path) -> None:
    document = analyze(cli, tmp_path, "fastapi-app")
    cap, entry = capability(document, "convert")
    assert cap["parameters"] == {
        "type": "object",
        "properties": {
            "celsius": {"type": "number", "description": "Temperature in degrees Celsius"},
            "label": {"type": "string", "default": ""},
        },
        "required": ["celsius"],
        "additionalProperties": False,
    }
    assert entry == {
        "capability": "convert",
        "type": "http",
        "command": UVICORN,
        "url": "http://127.0.0.1:{port}/convert",
        "method": "POST",
        "health": "/openapi.json",
    }


def test_env_vars_carry_descriptions_and_database_credentials_are_secret(
    cli: Cli, tmp_path: Path
) -> None:
    document = analyze(cli, tmp_path, "env-and-database")
    env = {v["name"]: v for v in document["profile"]["env_vars"]}
    assert env["DATABASE_URL"]["description"] == "PostgreSQL connection string"
    assert env["DATABASE_URL"]["default"] is None  # the example's value is not a default
    assert env["SHIPPING_API_TOKEN"]["description"] == "Token for the shipping API"
    assert env["LOG_LEVEL"]["default"] == "info"
    cap, _ = capability(document, "sync_orders")
    assert cap["side_effects"] == "external"
    assert cap["permissions"] == {"network": True}
    assert [s["name"] for s in cap["services"]] == [
        "http-api:api.shipping.example.com",
        "postgresql",
    ]
    assert document["manifest"]["configuration"]["environment_variables"][0] == {
        "name": "DATABASE_URL",
        "description": "PostgreSQL connection string",
        "secret": True,
    }


def test_a_notebook_is_not_a_plugin_and_says_why(cli: Cli, tmp_path: Path) -> None:
    folder = write_tree(tmp_path / "nb", FORMS["notebook-only"])
    result = cli("plugin", "analyze", str(folder))
    assert result.code == 0
    assert "verdict: NOT a plugin" in result.out
    assert "only Jupyter notebooks (1): a notebook is not a program Mark-1 can call" in result.out
    assert "proposed manifest" not in result.out


def test_write_manifest_then_the_repository_validates(cli: Cli, tmp_path: Path) -> None:
    """The proposal round-trips: written as mark1.plugin.yml, it loads as a valid manifest."""
    folder = write_tree(tmp_path / "shrink", FORMS["click-pyproject"])
    result = cli("plugin", "analyze", str(folder), "--write-manifest")
    assert result.code == 0, result.err
    assert f"wrote {folder / 'mark1.plugin.yml'}" in result.out
    checked = cli("plugin", "validate", str(folder), "--json")
    assert checked.code == 0, checked.err
    assert json.loads(checked.out)["capabilities"][0]["entry_point"]["command"] == ["shrinkpic"]
    again = cli("plugin", "analyze", str(folder), "--write-manifest")
    assert again.code == 2
    assert "already exists" in again.err


AUTHORED = {
    "mark1.plugin.yml": """
        schema_version: "1.0"
        plugin: {name: imgtool, description: Compress and resize images}
        capabilities:
          - {name: compress, description: Make images smaller on disk}
          - name: resize
            description: Scale an image
            parameters:
              type: object
              properties: {width: {type: integer, description: "The author's own words"}}
        entry_points:
          - {capability: compress, type: cli, command: python tool.py compress}
          - {capability: resize, type: cli, command: python tool.py resize}
    """,
    "tool.py": """
        import argparse
        import os


        def main():
            parser = argparse.ArgumentParser(description="Image tools")
            commands = parser.add_subparsers(dest="command")
            compress = commands.add_parser("compress", help="Compress an image")
            compress.add_argument("image", help="The image file")
            compress.add_argument("--quality", type=int, default=80, help="JPEG quality")
            resize = commands.add_parser("resize", help="Resize an image")
            resize.add_argument("image")
            resize.add_argument("--width", type=int, required=True)
            args = parser.parse_args()
            print(args, os.environ.get("IMGTOOL_CACHE", "/tmp"))


        if __name__ == "__main__":
            main()
    """,
}


def test_an_authors_manifest_is_completed_never_overridden(cli: Cli, tmp_path: Path) -> None:
    """The analysis fills the compress subcommand's parameters (from argparse), and the
    env var the code reads; the author's descriptions and resize's own schema stand."""
    folder = write_tree(tmp_path / "imgtool", AUTHORED)
    result = cli("plugin", "analyze", str(folder), "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["profile"]["manifest_file"] == "mark1.plugin.yml"
    compress, compress_entry = capability(document, "compress")
    assert compress["description"] == "Make images smaller on disk"
    assert compress["parameters"] == {
        "type": "object",
        "properties": {
            "image": {"type": "string", "description": "The image file"},
            "quality": {"type": "integer", "description": "JPEG quality", "default": 80},
        },
        "required": ["image"],
        "additionalProperties": False,
    }
    assert compress_entry["args"] == {"image": {"position": 0}, "quality": {"flag": "--quality"}}
    resize, resize_entry = capability(document, "resize")
    assert resize["parameters"] == {
        "type": "object",
        "properties": {"width": {"type": "integer", "description": "The author's own words"}},
    }
    assert "args" not in resize_entry
    assert sorted(document["inferred"]) == ["capabilities.compress.parameters", "env"]
    assert document["manifest"]["configuration"]["environment_variables"] == [
        {"name": "IMGTOOL_CACHE", "required": False, "default": "/tmp"}
    ]


@pytest.mark.parametrize(
    ("tree", "reason"),
    [
        ({"README.md": "# Notes\n\nJust notes.\n", "docs/a.md": "x"}, "no source code"),
        (
            {"lib.py": "def _helper():\n    return 1\n"},
            "source code (1 python files) but nothing callable",
        ),
    ],
)
def test_documentation_and_uncallable_code_are_not_plugins(
    tree: dict[str, str], reason: str, cli: Cli, tmp_path: Path
) -> None:
    folder = write_tree(tmp_path / "repo", tree)
    document = json.loads(cli("plugin", "analyze", str(folder), "--json").out)
    assert document["profile"]["verdict"]["plugin"] is False
    assert document["profile"]["verdict"]["reasons"][0].startswith(reason)
    assert document["manifest"] is None
