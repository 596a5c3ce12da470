"""Containers and system packages: Dockerfiles, compose files and install instructions in docs.

A Dockerfile is the most precise install recipe a repository can carry: the system packages it
``apt-get install``s, the environment it sets and the command it runs. A compose file names
the databases and queues next to the app and the variables that connect them. READMEs name the
system packages a person is told to install. All of it is read as text (compose with PyYAML's
node API, which keeps line numbers); nothing is built, pulled or run.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import yaml

from assistant.plugins.analysis.files import RepoFiles, split_lines
from assistant.plugins.analysis.native import (
    base_name,
    folder_of,
    is_internal,
    merge_findings,
    toolchain,
)
from assistant.plugins.analysis.profile import (
    MAX_DETAIL,
    Dependency,
    EntryPointFinding,
    EnvVarFinding,
    Evidence,
    Findings,
    RiskFinding,
    ServiceFinding,
    evidence_at,
)
from assistant.plugins.manifest import is_secret_name

# Variables an image sets for its own plumbing; nobody configures a plugin through them.
PLUMBING_ENV = frozenset(
    {
        "PATH", "HOME", "LANG", "LANGUAGE", "TERM", "DEBIAN_FRONTEND", "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONHASHSEED", "VIRTUAL_ENV",
    }
)  # fmt: skip
PLUMBING_PREFIXES = ("LC_", "PIP_", "POETRY_", "UV_")


def scan_containers(files: RepoFiles) -> Findings:
    """Dockerfiles, then compose files, then install docs, each in path order."""
    return merge_findings(
        [
            *(_dockerfile(files, path) for path in files.paths if _is_dockerfile(path)),
            *(_compose(files, path) for path in files.paths if _is_compose_file(path)),
            *(_install_doc(files, path) for path in files.paths if _is_install_doc(path)),
        ]
    )


def _env_var(name: str, value: str | None, evidence: Evidence) -> EnvVarFinding:
    """Set by the container or compose file, so never required. A value made from other
    variables (``$PORT``, ``${DB_PASSWORD:-x}``) is filled in at build or run time: it is not
    a default anyone could use."""
    default = None if value is None or "$" in value else value
    return EnvVarFinding(
        name=name, secret=is_secret_name(name), default=default, evidence=[evidence]
    )


def _is_plumbing(name: str) -> bool:
    return name in PLUMBING_ENV or name.startswith(PLUMBING_PREFIXES)


# --- shell commands (Dockerfile RUN steps and commands in docs) -------------------------------


@dataclass(frozen=True)
class Snippet:
    """Shell text that may span continued lines, with each physical line's number, so evidence
    can point at the exact line a package is named on."""

    lines: tuple[tuple[int, str], ...]

    @property
    def text(self) -> str:
        return " ".join(line.strip().removesuffix("\\") for _, line in self.lines)

    @property
    def first_line(self) -> int:
        return self.lines[0][0]

    def line_of(self, word: str) -> int:
        """The first physical line naming ``word`` (a whole word), else the first line."""
        pattern = re.compile(rf"(?<![\w.+-]){re.escape(word)}(?![\w.+-])")
        return next((n for n, line in self.lines if pattern.search(line)), self.first_line)


def _continued(numbered: Iterable[tuple[int, str]]) -> Iterator[Snippet]:
    """Join lines ending in a backslash with the lines that continue them."""
    pending: list[tuple[int, str]] = []
    for number, line in numbered:
        pending.append((number, line))
        if not line.rstrip().endswith("\\"):
            yield Snippet(tuple(pending))
            pending = []
    if pending:
        yield Snippet(tuple(pending))


COMMAND_SEPARATOR = re.compile(r"&&|\|\||[;|`()]")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
COMMAND_PREFIXES = frozenset({"sudo", "env", "exec", "command", "nohup", "time"})
APT_PROGRAMS = frozenset({"apt-get", "apt", "aptitude"})
APT_VALUE_FLAGS = frozenset({"-o", "--option", "-t", "--target-release", "-c", "--config-file"})
APK_VALUE_FLAGS = frozenset({"-t", "--virtual", "-X", "--repository", "-p", "--root"})
PIP_VALUE_FLAGS = frozenset(
    {
        "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
        "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root",
        "--platform", "--python-version", "--implementation", "--abi", "--trusted-host",
        "--cache-dir", "--src", "--upgrade-strategy", "--progress-bar", "--python",
    }
)  # fmt: skip
DEBIAN_PACKAGE = re.compile(r"^([a-z0-9][a-z0-9+.\-]+)(?::[a-z0-9]+)?(=\S+)?$")
APK_PACKAGE = re.compile(r"^([a-z0-9][a-z0-9+.\-_]*)(?:[=~<>]\S*)?$")
PIP_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(.*)$")
PIP_TOOLING = frozenset({"pip", "setuptools", "wheel"})  # `pip install -U pip`: not a need
PYTHON = re.compile(r"^python[\d.]*$")
PIP = re.compile(r"^pip[\d.]*$")


def _commands(text: str) -> Iterator[list[str]]:
    """Each simple command's words, with ``sudo``, ``VAR=value`` and the like stripped."""
    for part in COMMAND_SEPARATOR.split(text):
        words = _words(part)
        while words and (
            words[0] in COMMAND_PREFIXES
            or words[0].startswith("-")
            or ENV_ASSIGNMENT.match(words[0])
        ):
            words = words[1:]
        if words:
            yield words


def _words(text: str) -> list[str]:
    """Shell words; text with unbalanced quotes (a fragment of prose) splits on spaces."""
    try:
        return shlex.split(text, comments=False)
    except ValueError:
        return text.split()


def _install(words: list[str]) -> tuple[str, list[str]] | None:
    """``(manager, operands)`` for apt/apk/pip/brew install commands, else None."""
    program = base_name(words[0])
    if program in APT_PROGRAMS:
        return _operands_after(words, "install", "apt", APT_VALUE_FLAGS)
    if program == "apk":
        return _operands_after(words, "add", "apk", APK_VALUE_FLAGS)
    if program == "brew":
        return _operands_after(words, "install", "brew", frozenset())
    if PIP.match(program) or (PYTHON.match(program) and words[1:3] == ["-m", "pip"]):
        return _operands_after(words, "install", "pip", PIP_VALUE_FLAGS)
    if program == "uv" and words[1:2] == ["pip"]:
        return _operands_after(words, "install", "pip", PIP_VALUE_FLAGS)
    return None


def _operands_after(
    words: list[str], verb: str, manager: str, value_flags: frozenset[str]
) -> tuple[str, list[str]] | None:
    """The words after ``verb`` that are neither options nor an option's value."""
    if verb not in words:
        return None
    operands: list[str] = []
    skip_next = False
    for word in words[words.index(verb) + 1 :]:
        if skip_next or word.startswith("-"):
            skip_next = not skip_next and word in value_flags
            continue
        operands.append(word)
    return manager, operands


def _package_dependency(manager: str, word: str, evidence: Evidence) -> Dependency | None:
    """A Dependency for one operand, or None for a variable, a path or a URL."""
    if manager == "apt" and (match := DEBIAN_PACKAGE.match(word)):
        return Dependency(ecosystem="apt", name=match[1], spec=match[2] or "", evidence=evidence)
    if manager == "apk" and (match := APK_PACKAGE.match(word)):
        return Dependency(ecosystem="apt", name=match[1], spec="apk", evidence=evidence)
    if manager == "pip" and not any(c in word for c in "/$:@") and not word.startswith("."):
        match = PIP_REQUIREMENT.match(word)
        if match and match[1].lower() not in PIP_TOOLING:
            name = re.sub(r"[-_.]+", "-", match[1]).lower()
            return Dependency(ecosystem="python", name=name, spec=match[2], evidence=evidence)
    return None


def _installed(path: str, command: str, snippet: Snippet, managers: frozenset[str]) -> Findings:
    """Packages ``command`` (the shell text of ``snippet``) installs with one of ``managers``;
    Homebrew ones become a note (macOS packages say nothing about a Debian machine)."""
    found = Findings()
    for words in _commands(command):
        install = _install(words)
        if install is None or install[0] not in managers:
            continue
        manager, operands = install
        if manager == "brew" and operands:
            found.notes.append(f"{path}:{snippet.first_line}: brew install {' '.join(operands)}")
            continue
        for word in operands:
            line = snippet.line_of(word)
            dependency = _package_dependency(manager, word, _evidence(path, snippet, line))
            if dependency:
                found.dependencies.append(dependency)
    return found


def _evidence(path: str, snippet: Snippet, line: int) -> Evidence:
    """Evidence at one physical line of ``snippet``, without its continuation backslash."""
    text = dict(snippet.lines).get(line, "")
    detail = text.strip().removesuffix("\\").strip()[:MAX_DETAIL]
    return Evidence(file=path, line=line, detail=detail)


# --- Dockerfiles ------------------------------------------------------------------------------

PIPE_TO_SHELL = re.compile(
    r"\b(?:curl|wget)\b[^|;&]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:ba|z|da|k)?sh\b"
    r"|\bsh\s+-c\s+[\"']?\$\((?:curl|wget)\b"
)
DOCKERFILE_SUFFIX = ".dockerfile"
GENERIC_DOCKER_FOLDERS = frozenset({"docker", "dockerfiles", "containers", "deploy", "build", "ci"})


def _is_dockerfile(path: str) -> bool:
    """Dockerfile, Dockerfile.dev, api.dockerfile, Containerfile (any case)."""
    name = base_name(path).lower()
    named_so = name.split(".", 1)[0] in ("dockerfile", "containerfile")
    return (named_so or name.endswith(DOCKERFILE_SUFFIX)) and not is_internal(path)


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, continuation lines joined."""

    keyword: str  # upper-case: FROM, RUN, ENV...
    arguments: str  # everything after the keyword, continuation lines joined
    snippet: Snippet


def _instructions(lines: list[str]) -> Iterator[Instruction]:
    """The Dockerfile's instructions; comment lines (also inside a continued one) are skipped."""
    numbered = ((n, line) for n, line in enumerate(lines, 1) if not line.lstrip().startswith("#"))
    for snippet in _continued((n, line) for n, line in numbered if line.strip()):
        keyword, _, arguments = snippet.text.strip().partition(" ")
        yield Instruction(keyword.upper(), arguments.strip(), snippet)


@dataclass
class Stage:
    """What one build stage would run. A stage built ``FROM`` an earlier one inherits its
    ENTRYPOINT and CMD; setting an ENTRYPOINT drops an inherited CMD (Docker's rule)."""

    entrypoint: Instruction | None = None
    cmd: Instruction | None = None
    cmd_inherited: bool = False

    def child(self) -> Stage:
        return Stage(self.entrypoint, self.cmd, cmd_inherited=self.cmd is not None)

    def set(self, instruction: Instruction) -> None:
        if instruction.keyword == "CMD":
            self.cmd, self.cmd_inherited = instruction, False
        else:
            self.entrypoint = instruction
            if self.cmd_inherited:
                self.cmd, self.cmd_inherited = None, False


def _dockerfile(files: RepoFiles, path: str) -> Findings:
    """Base images, ports, ENV, installed packages, risky RUN steps, and the final stage's
    ENTRYPOINT/CMD as a ``docker`` entry point."""
    lines = files.lines(path)
    found = Findings(toolchains=[toolchain("docker", "docker.io", Evidence(file=path))])
    run_steps: list[Findings] = []
    stages: dict[str, Stage] = {}
    stage = Stage()
    for instruction in _instructions(lines):
        keyword = instruction.keyword
        if keyword == "FROM":
            stage = _new_stage(path, instruction, stages, found.notes)
        elif keyword == "ENV":
            found.env_vars += _dockerfile_env(path, instruction)
        elif keyword == "EXPOSE":
            found.notes.append(
                f"{path}:{instruction.snippet.first_line}: exposes port {instruction.arguments}"
            )
        elif keyword == "RUN":
            run_steps.append(_run_step(path, instruction))
        elif keyword in ("ENTRYPOINT", "CMD"):
            stage.set(instruction)
    if stage.entrypoint or stage.cmd:
        found.entry_points.append(_docker_entry(path, lines, stage.entrypoint, stage.cmd))
    return merge_findings([found, *run_steps])


def _new_stage(
    path: str, instruction: Instruction, stages: dict[str, Stage], notes: list[str]
) -> Stage:
    """The stage a ``FROM`` starts (registered under its ``AS`` name); an image that is not an
    earlier stage of this file is noted as a base image."""
    words = [w for w in instruction.arguments.split() if not w.startswith("--")]
    image = words[0].lower() if words else ""
    parent = stages.get(image)
    if parent is None and words:
        notes.append(f"{path}:{instruction.snippet.first_line}: base image {words[0]}")
    stage = parent.child() if parent else Stage()
    if len(words) >= 3 and words[1].lower() == "as":
        stages[words[2].lower()] = stage
    return stage


def _dockerfile_env(path: str, instruction: Instruction) -> list[EnvVarFinding]:
    """``ENV A=1 B="two words"`` and the legacy ``ENV NAME the value``."""
    words = _words(instruction.arguments)
    if words and "=" not in words[0]:
        name, value = (instruction.arguments.split(None, 1) + [""])[:2]  # any whitespace
        pairs = [(name, value.strip())]
    else:
        pairs = [(name, value) for name, _, value in (w.partition("=") for w in words)]
    snippet = instruction.snippet
    return [
        _env_var(name, value, _evidence(path, snippet, snippet.line_of(name)))
        for name, value in pairs
        if name and not _is_plumbing(name)
    ]


def _run_step(path: str, instruction: Instruction) -> Findings:
    """Packages a RUN step installs, and whether it runs a script fresh from the network (code
    nobody reviewed, run as root at build time)."""
    managers = frozenset({"apt", "apk", "pip"})
    found = _installed(path, instruction.arguments, instruction.snippet, managers)
    match = PIPE_TO_SHELL.search(instruction.arguments)
    if match:
        line = instruction.snippet.line_of(match.group(0).split()[0])
        found.risks.append(
            RiskFinding(
                category="install_code",
                severity="high",
                detail=f"{path}: a RUN step pipes a downloaded script into a shell",
                evidence=[_evidence(path, instruction.snippet, line)],
            )
        )
    return found


def _docker_entry(
    path: str, lines: list[str], entrypoint: Instruction | None, cmd: Instruction | None
) -> EntryPointFinding:
    """The image as a command; less certain than a declared script, since what it runs also
    depends on its base image and on what the build put in it."""
    declared = [i for i in (entrypoint, cmd) if i is not None]
    first = declared[0].snippet.first_line
    return EntryPointFinding(
        kind="docker",
        name=_docker_name(path),
        root=folder_of(path),
        command=_docker_argv(entrypoint, cmd),
        file=path,
        line=first,
        framework="docker",
        language="docker",
        evidence=[evidence_at(path, lines, i.snippet.first_line) for i in declared],
        confidence=0.7,
    )


def _docker_argv(entrypoint: Instruction | None, cmd: Instruction | None) -> list[str]:
    """What ``docker run IMAGE`` executes: an exec-form ENTRYPOINT followed by CMD; a
    shell-form ENTRYPOINT ignores CMD; shell forms run as ``/bin/sh -c TEXT``."""
    if entrypoint is not None:
        argv, exec_form = _argv(entrypoint.arguments)
        if not exec_form:
            return argv
        return argv + (_argv(cmd.arguments)[0] if cmd else [])
    return _argv(cmd.arguments)[0] if cmd else []


def _argv(arguments: str) -> tuple[list[str], bool]:
    """``(argv, exec_form)``: a JSON array as written, else the shell form."""
    if arguments.startswith("["):
        try:
            value = json.loads(arguments)
        except json.JSONDecodeError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value, True
    return ["/bin/sh", "-c", arguments], False


def _docker_name(path: str) -> str:
    """A capability-name seed: the folder (``api/Dockerfile`` -> api) unless it only says
    "docker", else the variant (``Dockerfile.worker`` / ``worker.dockerfile`` -> worker), else
    app (the clone folder's name says nothing reliable)."""
    folder = base_name(folder_of(path)).removeprefix(".")
    if folder and folder not in GENERIC_DOCKER_FOLDERS:
        return folder
    name = base_name(path)
    if name.lower().endswith(DOCKERFILE_SUFFIX):
        return name[: -len(DOCKERFILE_SUFFIX)]
    return name.split(".", 1)[1] if "." in name else "app"


# --- compose files ----------------------------------------------------------------------------

COMPOSE_FILE = re.compile(r"^(?:docker-)?compose(?:\.[\w-]+)?\.ya?ml$")
ServiceKind = Literal["database", "cache", "queue", "api", "storage", "other"]
BACKING_SERVICES: dict[str, tuple[str, ServiceKind]] = {
    "postgres": ("postgresql", "database"), "postgresql": ("postgresql", "database"),
    "postgis": ("postgresql", "database"), "pgvector": ("postgresql", "database"),
    "timescaledb": ("postgresql", "database"), "mysql": ("mysql", "database"),
    "mariadb": ("mysql", "database"), "mongo": ("mongodb", "database"),
    "mongodb": ("mongodb", "database"), "redis": ("redis", "cache"), "valkey": ("redis", "cache"),
    "rabbitmq": ("rabbitmq", "queue"), "kafka": ("kafka", "queue"),
    "zookeeper": ("zookeeper", "other"), "minio": ("s3", "storage"),
    "elasticsearch": ("elasticsearch", "database"), "opensearch": ("elasticsearch", "database"),
}  # fmt: skip
YAML_NULL = "tag:yaml.org,2002:null"


def _is_compose_file(path: str) -> bool:
    return COMPOSE_FILE.match(base_name(path)) is not None and not is_internal(path)


def _compose(files: RepoFiles, path: str) -> Findings:
    """Backing services by image; the ``environment`` of every other (app) service."""
    try:
        document = yaml.compose(files.text(path) or "", Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return Findings(notes=[f"{path}: not valid YAML, skipped"])
    lines = files.lines(path)
    services: dict[str, ServiceFinding] = {}
    env_vars: list[EnvVarFinding] = []
    for key, node in _mapping(_mapping(document).get("services")).items():
        service = _backing_service(path, lines, node)
        if service:
            services[key] = service
        else:
            env_vars += _compose_environment(path, lines, _mapping(node).get("environment"))
    for key, service in services.items():
        service.url_env = next((e.name for e in env_vars if _points_at(e.default, key)), None)
    return Findings(services=list(services.values()), env_vars=env_vars)


def _mapping(node: yaml.Node | None) -> dict[str, yaml.Node]:
    """A YAML mapping's scalar keys -> value nodes (merge keys ``<<`` skipped)."""
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {
        key.value: value
        for key, value in node.value
        if isinstance(key, yaml.ScalarNode) and key.value != "<<"
    }


def _backing_service(path: str, lines: list[str], node: yaml.Node) -> ServiceFinding | None:
    """A database/cache/queue recognised by its image: ``bitnami/postgresql:16`` ->
    postgresql, ``confluentinc/cp-kafka`` -> kafka."""
    image = _mapping(node).get("image")
    if not isinstance(image, yaml.ScalarNode):
        return None
    repository = base_name(str(image.value).split("@")[0].split(":")[0]).lower()
    known = next(
        (BACKING_SERVICES[w] for w in re.split(r"[-_]", repository) if w in BACKING_SERVICES), None
    )
    if known is None:
        return None
    name, kind = known
    line = image.start_mark.line + 1
    evidence = evidence_at(path, lines, line)
    return ServiceFinding(name=name, kind=kind, evidence=[evidence])


def _compose_environment(
    path: str, lines: list[str], node: yaml.Node | None
) -> list[EnvVarFinding]:
    """``environment:`` as a mapping (``KEY: value``) or a list (``- KEY=value`` / ``- KEY``)."""
    entries: list[tuple[str, str | None, int]] = []
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            has_value = isinstance(value, yaml.ScalarNode) and value.tag != YAML_NULL
            entries.append(
                (str(key.value), str(value.value) if has_value else None, key.start_mark.line + 1)
            )
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            name, equals, value = str(item.value).partition("=")
            entries.append((name, value if equals else None, item.start_mark.line + 1))
    return [
        _env_var(name, value, evidence_at(path, lines, line))
        for name, value, line in entries
        if not _is_plumbing(name)
    ]


def _points_at(value: str | None, host: str) -> bool:
    """Whether an env value names compose service ``host``: ``redis://redis:6379/0`` or ``db``."""
    if not value:
        return False
    if value == host:
        return True
    try:
        return "://" in value and urlsplit(value).hostname == host.lower()
    except ValueError:
        return False


# --- install instructions in docs -------------------------------------------------------------

INSTALL_DOC = re.compile(
    r"^(?:readme|install(?:ation|ing)?|building)(?:\.(?:md|markdown|rst|txt))?$", re.IGNORECASE
)
FENCE = re.compile(r"^\s*(?:```|~~~)")
INLINE_CODE = re.compile(r"`([^`]+)`")
COMMAND_LINE = re.compile(r"^[\s>$#*\-]*((?:sudo\s+)?(?:apt-get|apt|aptitude|apk|brew)\s.*)$")
DOC_MANAGERS = frozenset({"apt", "apk", "brew"})  # each install command names its manager


def _is_install_doc(path: str) -> bool:
    return INSTALL_DOC.match(base_name(path)) is not None and not is_internal(path)


def _install_doc(files: RepoFiles, path: str) -> Findings:
    """System packages a README tells a person to install: commands in code blocks, in inline
    code, or on a line of their own. Prose is not parsed (``apt install ffmpeg and then…``
    would make "and" a package). ``pip install`` lines are the Python scanner's business."""
    text = files.text(path) or ""
    if not any(keyword in text for keyword in DOC_MANAGERS):
        return Findings()
    return merge_findings(
        _installed(path, snippet.text, snippet, DOC_MANAGERS) for snippet in _doc_commands(text)
    )


def _doc_commands(text: str) -> Iterator[Snippet]:
    """Shell snippets in file order: each fenced block's commands when it closes, inline code
    spans, and command lines outside fences."""
    fenced: list[tuple[int, str]] = []
    in_fence = False
    for number, line in enumerate(split_lines(text), 1):
        if FENCE.match(line):
            if in_fence:
                yield from _continued(fenced)
                fenced = []
            in_fence = not in_fence
        elif in_fence:
            fenced.append((number, line))
        elif any(keyword in line for keyword in DOC_MANAGERS):
            yield from (Snippet(((number, code),)) for code in INLINE_CODE.findall(line))
            command = COMMAND_LINE.match(line)
            if command and "`" not in line:
                yield Snippet(((number, command.group(1)),))
    yield from _continued(fenced)
