"""The analysis's data model: what `mark1 plugin analyze --json` prints, field for field.

Every finding carries its evidence (file and line) and, where it was inferred rather than
declared, a confidence between 0 and 1, so a person (or the setup wizard) can see why the
analyser believes it. ``SCHEMA_VERSION`` changes whenever a field changes meaning.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
MAX_EVIDENCE = 5  # five places prove a point; a hundred only bloat the profile
MAX_DETAIL = 200  # snippets are for reading, not a copy of the file

Ecosystem = Literal["python", "conda", "node", "rust", "go", "ruby", "php", "apt", "docker"]
EntryKind = Literal[
    "console_script",  # [project.scripts] / setup.py console_scripts / Poetry scripts
    "gui_script",
    "python_module",  # a package with __main__.py: python -m pkg
    "python_script",  # a file with `if __name__ == "__main__":`
    "python_function",  # a public function of a library without a CLI
    "node_bin",  # package.json "bin"
    "node_script",  # package.json "scripts" entry
    "shell_script",  # an executable text file with a shebang
    "make_target",
    "go_main",
    "rust_bin",
    "docker",  # Dockerfile ENTRYPOINT / CMD
    "http_app",  # FastAPI / Flask / Express service
    "mcp_server",  # Python mcp / FastMCP or Node @modelcontextprotocol/sdk
    "agent",  # CrewAI crew, LangGraph graph, AutoGPT-style agent
]
Framework = Literal["argparse", "click", "typer", "signature", "help"]
RiskCategory = Literal[
    "install_code",  # runs at install: setup.py logic, npm lifecycle scripts, build.rs
    "writes_outside",  # home dotfiles, /usr/local, /etc ...
    "network",
    "shell",  # subprocess with shell=True, os.system, child_process.exec
    "destructive",  # rm -rf, shutil.rmtree on computed paths, DROP TABLE ...
    "dynamic_code",  # eval/exec of computed strings, base64-decoded payloads
]


class Model(BaseModel):
    """Findings are plain, stable JSON: unknown keys are a bug in a scanner."""

    model_config = ConfigDict(extra="forbid")


class Evidence(Model):
    """Where a finding comes from: a repo-relative POSIX path, a 1-based line, and a snippet."""

    file: str
    line: int | None = None
    detail: str = ""


class Inferred(Model):
    """A value the analyser guessed, with how sure it is and why."""

    value: Any
    confidence: float = Field(ge=0, le=1)
    evidence: list[Evidence] = Field(default_factory=list)


class Dependency(Model):
    """A package the repository declares (or, for ``apt``, names in a Dockerfile/README)."""

    ecosystem: Ecosystem
    name: str  # normalised as the ecosystem spells it (PEP 503 lower-case for Python)
    spec: str = ""  # version constraint or full requirement text after the name, e.g. ">=2.0"
    dev: bool = False  # test/dev/optional group
    evidence: Evidence


class HiddenDependency(Model):
    """A Python module imported by the code that no dependency file declares."""

    module: str  # top-level import name, e.g. "PIL"
    distribution: str  # what to pip install, e.g. "pillow"
    evidence: list[Evidence]


class Interface(Model):
    """A command's (or function's) parameters as JSON Schema, and how they go on its argv.

    ``parameters`` is a JSON Schema ``type: object``: per property ``type``, ``description``
    (help text), ``default``, ``enum`` (choices), ``items`` (nargs / multiple), ``format: path``
    for file/directory arguments; ``required`` lists the required ones. ``args`` maps each
    property to the manifest's ArgSpec fields: ``{"position": 0}`` for positionals,
    ``{"flag": "--out-file"}`` for options, plus ``false_flag`` for ``--x/--no-x`` switches.
    ``subcommands`` holds one Interface per subcommand (click groups, typer apps, argparse
    subparsers); the proposal turns each into its own capability.
    """

    framework: Framework
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    args: dict[str, dict[str, Any]] = Field(default_factory=dict)
    subcommands: dict[str, Interface] = Field(default_factory=dict)
    evidence: Evidence | None = None


class EntryPointFinding(Model):
    """Something in the repository that can be run or called."""

    kind: EntryKind
    name: str  # a capability-name seed: script name, bin name, target, function...
    root: str = "."  # the sub-project folder it belongs to (monorepos), repo-relative
    command: list[str] | None = None  # argv from the (sub-)project root, e.g. ["python", "tool.py"]
    module: str | None = None  # dotted module (python kinds, agents, apps)
    function: str | None = None  # callable / object name in ``module`` (e.g. "main", "app")
    url: str | None = None  # http_app: route path, e.g. "/resize"
    method: str | None = None  # http_app: GET, POST...
    file: str | None = None  # repo-relative file that defines it
    line: int | None = None
    framework: str | None = None  # argparse, click, typer, fastapi, flask, express, fastmcp,
    #                               mcp, langgraph, crewai, autogpt, make, cargo, go ...
    language: str = "python"
    description: str = ""
    interface: Interface | None = None
    input_formats: list[str] = Field(default_factory=list)  # extensions without dot: csv, png
    output_formats: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    confidence: float = Field(1.0, ge=0, le=1)


class EnvVarFinding(Model):
    """An environment variable the code or its configuration reads."""

    name: str
    secret: bool = False
    required: bool = (
        False  # read without a default (os.environ["X"], pydantic field without default)
    )
    default: str | None = None
    description: str = ""
    choices: list[str] = Field(default_factory=list)  # a Literal[...] annotation's values
    evidence: list[Evidence] = Field(default_factory=list)


class ServiceFinding(Model):
    """An external service the plugin talks to."""

    name: str  # postgresql, mysql, mongodb, redis, rabbitmq, kafka, s3, gcs, openai, anthropic, http-api...
    kind: Literal["database", "cache", "queue", "api", "storage", "other"]
    url_env: str | None = None  # the env var that holds its URL/credentials, when one is found
    evidence: list[Evidence] = Field(default_factory=list)


class ResourceFinding(Model):
    """A resource the code needs beyond a plain CPU process."""

    kind: Literal["gpu", "large_model", "memory"]
    detail: str
    evidence: list[Evidence] = Field(default_factory=list)


class ToolchainFinding(Model):
    """A language toolchain or system binary the repository needs to build or run."""

    name: str  # python, node, cargo, go, ruby, php, make, cc, docker, tesseract, ffmpeg...
    kind: Literal["toolchain", "binary"]
    found: bool  # present on this machine (shutil.which)
    debian_package: str | None = None  # what `apt-get install` provides it
    evidence: list[Evidence] = Field(default_factory=list)


class RiskFinding(Model):
    """Something a person should know before installing or running the repository's code."""

    category: RiskCategory
    severity: Literal["low", "medium", "high"]
    detail: str
    evidence: list[Evidence] = Field(default_factory=list)


class ProjectMeta(Model):
    """Name/version/description as a package file declares them."""

    name: str | None = None
    version: str | None = None
    description: str | None = None
    license: str | None = None
    root: str = "."
    evidence: Evidence | None = None


class Findings(Model):
    """What one scanner found; ``analyzer`` concatenates these into the profile."""

    projects: list[ProjectMeta] = Field(default_factory=list)
    python_requires: list[Inferred] = Field(default_factory=list)  # value: specifier string
    dependencies: list[Dependency] = Field(default_factory=list)
    hidden_dependencies: list[HiddenDependency] = Field(default_factory=list)
    entry_points: list[EntryPointFinding] = Field(default_factory=list)
    env_vars: list[EnvVarFinding] = Field(default_factory=list)
    services: list[ServiceFinding] = Field(default_factory=list)
    resources: list[ResourceFinding] = Field(default_factory=list)
    toolchains: list[ToolchainFinding] = Field(default_factory=list)
    risks: list[RiskFinding] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Verdict(Model):
    """Whether the repository can become a plugin, and why (or why not)."""

    plugin: bool
    reasons: list[str]


class RepositoryProfile(Findings):
    """Everything the analyser learned about one repository, without running any of it."""

    schema_version: int = SCHEMA_VERSION
    source: str
    commit: str | None = None
    name: Inferred
    description: Inferred
    python_requires_spec: str | None = None  # the merged constraint the environment must meet
    files: int
    languages: dict[str, int]  # language -> number of files
    manifest_file: str | None = None  # the repository's own mark1.plugin.yml, if any
    verdict: Verdict


def evidence_at(path: str, lines: list[str], line: int | None) -> Evidence:
    """Evidence pointing at ``line`` (1-based) of ``path``, with that line as the snippet."""
    detail = lines[line - 1].strip()[:MAX_DETAIL] if line and line <= len(lines) else ""
    return Evidence(file=path, line=line, detail=detail)


def capped_evidence(items: Iterable[Evidence]) -> list[Evidence]:
    """The first ``MAX_EVIDENCE`` distinct items: enough to convince, short enough to read."""
    seen: set[tuple[str, int | None, str]] = set()
    kept: list[Evidence] = []
    for item in items:
        key = (item.file, item.line, item.detail)
        if key not in seen and len(kept) < MAX_EVIDENCE:
            seen.add(key)
            kept.append(item)
    return kept
