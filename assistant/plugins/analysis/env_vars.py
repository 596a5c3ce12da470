"""Environment variables a repository reads, and whether each one must be set.

The setup wizard asks the user for every required variable (hiding secrets as they are typed),
so this scanner looks wherever a variable is declared or read: example ``.env`` files (the
author's own list, often commented), Python ``os.environ``/``getenv`` and pydantic settings,
``process.env`` in JavaScript/TypeScript, Go ``os.Getenv``, Rust ``env::var`` and shell
``${X:?}``/``${X:-}`` expansions. Reads of one name in several places merge into one finding.

The helpers above ``scan_env_vars`` (``runtime_sources``, ``grep_lines``, ``line_evidence``,
``capped_evidence``) are shared by the other run-time scanners: services, resources and risks.
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from assistant.plugins.analysis.files import (
    MentionedLines,
    RepoFiles,
    interpreter_language,
    shebang_program,
)
from assistant.plugins.analysis.profile import (
    MAX_DETAIL,
    EnvVarFinding,
    Evidence,
    Findings,
    capped_evidence,
)
from assistant.plugins.manifest import is_secret_name

SUFFIX_LANGUAGES = {
    ".py": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
    ".jsx": "javascript", ".ts": "typescript", ".tsx": "typescript", ".mts": "typescript",
    ".cts": "typescript", ".go": "go", ".rs": "rust", ".sh": "shell", ".bash": "shell",
}  # fmt: skip
COMMENT_PREFIXES = {
    "python": "#", "shell": "#", "config": "#", "javascript": "//", "typescript": "//",
    "go": "//", "rust": "//",
}  # fmt: skip
# Tests, documentation, tutorials and CI: what they read or run is not what the plugin needs.
NON_RUNTIME_DIRS = frozenset(
    {"test", "tests", "doc", "docs", "docs_src", ".github", ".circleci", "benchmarks", "fuzz"}
)
TEST_FILE = re.compile(
    r"^(test_.*\.py|conftest\.py|.*_test\.(py|go)|.*\.(test|spec)\.[cm]?[jt]sx?)$"
)


def is_runtime_path(path: str) -> bool:
    """False for tests and documentation: what they read or run is not what the plugin needs."""
    *folders, name = path.split("/")
    return not NON_RUNTIME_DIRS.intersection(folders) and not TEST_FILE.match(name)


def source_language(files: RepoFiles, path: str) -> str | None:
    """The language a file is written in, by extension or, for executable scripts, shebang."""
    suffix = posixpath.splitext(path)[1]
    if suffix or not files.is_executable(path):
        return SUFFIX_LANGUAGES.get(suffix)
    return shebang_language((files.text(path) or "").partition("\n")[0])


def shebang_language(first_line: str) -> str | None:
    """``#!/usr/bin/env python3`` -> python, ``#!/bin/bash -e`` -> shell, ``node`` -> javascript;
    None for what these scanners do not read (and for a line that is no shebang)."""
    program = shebang_program(first_line)
    language = interpreter_language(program) if program else None
    return language if language in CODE_READERS else None


def runtime_sources(files: RepoFiles) -> list[tuple[str, str]]:
    """``(path, language)`` of the code that runs when the plugin runs, in path order
    (worked out once per repository: four scanners ask)."""
    return files.derived(_runtime_sources)


def _runtime_sources(files: RepoFiles) -> list[tuple[str, str]]:
    found = []
    for path in files.paths:
        language = source_language(files, path) if is_runtime_path(path) else None
        if language:
            found.append((path, language))
    return found


def grep_lines(
    files: RepoFiles, path: str, language: str, keywords: Iterable[str]
) -> list[tuple[int, str]]:
    """``(line number, line)`` of the non-comment lines holding one of ``keywords``, in order.

    Scanners call this before any regular expression: substring searches run at C speed over
    the whole text, and only the lines they hit are cut out and numbered, so a large file
    with a keyword on three lines costs three lines of Python work.
    """
    text = files.text(path) or ""
    starts = sorted({start for k in keywords for start in line_starts(text, k)})
    comment = COMMENT_PREFIXES.get(language, "\0")
    found = []
    number, counted = 1, 0
    for start in starts:
        number += text.count("\n", counted, start)
        counted = start
        end = text.find("\n", start)
        line = text[start : len(text) if end < 0 else end].rstrip("\r")
        if not line.lstrip().startswith(comment):
            found.append((number, line))
    return found


def line_starts(text: str, keyword: str) -> Iterator[int]:
    """Where each line holding ``keyword`` starts (once per line)."""
    position = text.find(keyword)
    while position >= 0:
        start = text.rfind("\n", 0, position) + 1
        yield start
        end = text.find("\n", position)
        position = -1 if end < 0 else text.find(keyword, end)


def line_evidence(path: str, number: int, line: str) -> Evidence:
    return Evidence(file=path, line=number, detail=line.strip()[:MAX_DETAIL])


# Set by the system, the desktop session or the CI runner, never by whoever installs the
# plugin (XDG_* directories are ignored by prefix).
IGNORED_NAMES = frozenset(
    {
        "PATH", "HOME", "USER", "USERNAME", "LOGNAME", "PWD", "OLDPWD", "SHELL", "TERM", "LANG",
        "LANGUAGE", "LC_ALL", "TMPDIR", "TEMP", "TMP", "PYTHONPATH", "CI", "HOSTNAME", "EDITOR",
        "VISUAL", "DISPLAY", "WAYLAND_DISPLAY", "APPDATA", "LOCALAPPDATA", "USERPROFILE",
        "PROGRAMFILES", "PROGRAMW6432", "SYSTEMROOT", "WINDIR", "COMSPEC",
    }
)  # fmt: skip
DOTENV_NAMES = (".env.example", ".env.sample", ".env_example", ".env.template", "example.env")
DOTENV_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")
PLACEHOLDER = re.compile(
    r"^$|^[x*.]+$|^<.*>$|^\{\{.*\}\}$|your|change.?me|replace|placeholder|example|xxx|todo|fixme"
    r"|\.\.\.",
    re.IGNORECASE,
)
SECRET_TYPES = frozenset({"SecretStr", "SecretBytes"})
ALIAS_KEYWORDS = ("validation_alias", "alias", "env")  # env: pydantic v1's Field(env="X")


@dataclass(frozen=True)
class EnvRead:
    """One place that declares or reads a variable; several merge into an EnvVarFinding."""

    name: str
    required: bool
    evidence: Evidence
    default: str | None = None
    description: str = ""
    secret: bool = False
    example: bool = False  # from an example .env file: its value shows a shape, not a default
    choices: tuple[str, ...] = ()  # the only values allowed (a Literal[...] annotation)


Access = tuple[str, bool, str | None]  # (name, required, default) of one read
Reader = Callable[[RepoFiles, str, str], list[EnvRead]]  # (files, path, language) -> reads


def scan_env_vars(files: RepoFiles) -> Findings:
    """Every variable the repository declares or reads, merged by name and sorted by name.

    Example ``.env`` files come first so that their comments become the descriptions.
    """
    reads: list[EnvRead] = []
    for path in files.named(*DOTENV_NAMES):
        if is_runtime_path(path):
            reads += dotenv_reads(files, path)
    for path, language in runtime_sources(files):
        reads += CODE_READERS[language](files, path, language)
    return Findings(env_vars=merge_reads(reads))


def merge_reads(reads: Iterable[EnvRead]) -> list[EnvVarFinding]:
    by_name: dict[str, list[EnvRead]] = {}
    for read in reads:
        if not is_system_variable(read.name):
            by_name.setdefault(read.name, []).append(read)
    return [merged_finding(name, group) for name, group in sorted(by_name.items())]


def is_system_variable(name: str) -> bool:
    return name.upper() in IGNORED_NAMES or name.startswith("XDG_")


def merged_finding(name: str, reads: list[EnvRead]) -> EnvVarFinding:
    """A default in code makes the variable optional: the code copes without it. A value in
    an example .env file only shows what one looks like (``postgresql://user:pass@...``):
    it is the default only when no code insists on the variable."""
    in_code = next((r.default for r in reads if not r.example and r.default is not None), None)
    required = in_code is None and any(r.required for r in reads)
    example = next((r.default for r in reads if r.example and r.default is not None), None)
    secret = is_secret_name(name) or any(r.secret for r in reads)
    description = next((r.description for r in reads if r.description), "")
    choices = next((list(r.choices) for r in reads if r.choices), [])
    if required and example is not None and not secret:
        description = f"{description} (e.g. {example})".strip()
    return EnvVarFinding(
        name=name,
        secret=secret,
        required=required,
        default=in_code if in_code is not None else None if required else example,
        description=description,
        choices=choices,
        evidence=capped_evidence(r.evidence for r in reads),
    )


# --- example .env files ------------------------------------------------------------------


def dotenv_reads(files: RepoFiles, path: str) -> Iterator[EnvRead]:
    """``KEY=value`` lines; the comment lines right above a key describe it.

    A commented-out assignment (``# DEBUG=1``) or a blank line ends a description, so a
    section header far above does not stick to every key below it.
    """
    comments: list[str] = []
    for number, raw in enumerate(files.lines(path), 1):
        line = raw.strip()
        comment = line.lstrip("#").strip()
        if line.startswith("#") and not DOTENV_LINE.match(comment):
            comments += [comment] if comment else []
            continue
        match = DOTENV_LINE.match(line)
        if match:
            value = dotenv_value(match.group(2))
            placeholder = bool(PLACEHOLDER.search(value))
            yield EnvRead(
                name=match.group(1),
                required=placeholder,
                default=None if placeholder else value,
                description=" ".join(comments),
                evidence=line_evidence(path, number, raw),
                example=True,
            )
        comments = []


def dotenv_value(raw: str) -> str:
    """The value without quotes or a trailing ``# comment``."""
    if raw[:1] in {'"', "'"}:
        return raw[1:].partition(raw[0])[0]
    return raw.partition(" #")[0].strip()


# --- Python --------------------------------------------------------------------------------

PYTHON_KEYWORDS = ("environ", "getenv", "BaseSettings")


def python_reads(files: RepoFiles, path: str, _language: str) -> list[EnvRead]:
    """Reads through ``os.environ``/``getenv`` and pydantic settings fields, in line order."""
    text = files.text(path)
    if not text or not any(k in text for k in PYTHON_KEYWORDS):
        return []
    tree = files.python(path)
    if tree is None:
        return []
    lines = files.lines(path)
    reads = list(environ_reads(tree, path, lines, MentionedLines(text, *PYTHON_KEYWORDS)))
    if "BaseSettings" in text:
        reads += settings_reads(tree, path, lines)
    return sorted(reads, key=lambda read: read.evidence.line or 0)


def environ_reads(
    tree: ast.Module, path: str, lines: list[str], mentions: MentionedLines
) -> Iterator[EnvRead]:
    for node in (n for n in mentions.walk(tree) if isinstance(n, ast.expr)):
        access = environ_access(node)
        if access:
            name, required, default = access
            evidence = line_evidence(path, node.lineno, lines[node.lineno - 1])
            yield EnvRead(name=name, required=required, default=default, evidence=evidence)


def environ_access(node: ast.expr) -> Access | None:
    """``(name, required, default)`` when ``node`` reads a variable by a literal name.

    ``os.environ["X"]`` raises when X is unset, so it is required; ``getenv``, ``.get`` and
    ``.setdefault`` cope, so they are optional (with a default when it is a literal).
    """
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
        name = literal_str(node.slice) if is_environ(node.value) else None
        return (name, True, None) if name else None
    if isinstance(node, ast.Call) and is_environ_getter(node.func) and node.args:
        name = literal_str(node.args[0])
        fallback = node.args[1] if len(node.args) > 1 else keyword_value(node, "default")
        return (name, False, literal_default(fallback)) if name else None
    return None


def is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def is_environ_getter(func: ast.expr) -> bool:
    """``os.getenv``, a bare ``getenv``, ``os.environ.get`` or ``os.environ.setdefault``."""
    if isinstance(func, ast.Attribute):
        return func.attr == "getenv" or (
            func.attr in {"get", "setdefault"} and is_environ(func.value)
        )
    return isinstance(func, ast.Name) and func.id == "getenv"


def keyword_value(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def literal_str(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def literal_default(node: ast.expr | None) -> str | None:
    """A default's text when it is a plain constant; None (no default) otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int | float | bool):
        return str(node.value)
    return None


def settings_reads(tree: ast.Module, path: str, lines: list[str]) -> Iterator[EnvRead]:
    for cls in settings_classes(tree):
        prefix = env_prefix(cls)
        for name, field in settings_fields(cls):
            evidence = line_evidence(path, field.lineno, lines[field.lineno - 1])
            yield settings_field_read(name, field, prefix, evidence)


def settings_classes(tree: ast.Module) -> Iterator[ast.ClassDef]:
    """``BaseSettings`` subclasses, including subclasses of those defined in the same module."""
    known = {"BaseSettings"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(dotted_tail(b) in known for b in node.bases):
            known.add(node.name)
            yield node


def dotted_tail(node: ast.expr) -> str | None:
    """``pydantic_settings.BaseSettings`` -> "BaseSettings"; ``Field`` -> "Field"."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else None


def settings_fields(cls: ast.ClassDef) -> Iterator[tuple[str, ast.AnnAssign]]:
    """``(name, statement)`` of each annotated field that pydantic fills from the environment."""
    for statement in cls.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            name = statement.target.id
            private = name == "model_config" or name.startswith("_")
            if not private and "ClassVar" not in annotation_names(statement.annotation):
                yield name, statement


def annotation_names(annotation: ast.expr) -> set[str]:
    """The identifiers a type annotation mentions: ``SecretStr | None`` -> {SecretStr, None}."""
    return set(re.findall(r"\w+", ast.unparse(annotation)))


def literal_choices(annotation: ast.expr) -> tuple[str, ...]:
    """The strings of a ``Literal["a", "b"]`` annotation (optional or not): the only values
    the setting accepts, which the setup wizard offers as a choice."""
    for node in ast.walk(annotation):
        if isinstance(node, ast.Subscript) and dotted_tail(node.value) == "Literal":
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            found = [i.value for i in items if isinstance(i, ast.Constant)]
            strings = [v for v in found if isinstance(v, str)]
            if strings and len(strings) == len(items):
                return tuple(strings)
    return ()


def env_prefix(cls: ast.ClassDef) -> str:
    """The prefix from ``model_config = SettingsConfigDict(env_prefix=...)`` (or a dict), or
    from pydantic v1's inner ``class Config: env_prefix = ...``."""
    for statement in cls.body:
        if isinstance(statement, ast.ClassDef) and statement.name == "Config":
            return env_prefix(statement)
        target, value = assignment(statement)
        if target == "env_prefix":
            return literal_str(value) or ""
        if target == "model_config" and isinstance(value, ast.Call):
            return literal_str(keyword_value(value, "env_prefix")) or ""
        if target == "model_config" and isinstance(value, ast.Dict):
            keys = [literal_str(k) for k in value.keys]
            if "env_prefix" in keys:
                return literal_str(value.values[keys.index("env_prefix")]) or ""
    return ""


def assignment(statement: ast.stmt) -> tuple[str | None, ast.expr | None]:
    """``(name, value)`` of ``name = value`` or ``name: T = value``; ``(None, None)`` otherwise."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        return dotted_tail(statement.targets[0]), statement.value
    if isinstance(statement, ast.AnnAssign):
        return dotted_tail(statement.target), statement.value
    return None, None


def settings_field_read(
    name: str, field: ast.AnnAssign, prefix: str, evidence: Evidence
) -> EnvRead:
    """An alias names the variable outright; otherwise it is the prefix plus the field name."""
    options = field_options(field.value)
    alias = next(filter(None, (alias_name(options.get(k)) for k in ALIAS_KEYWORDS)), None)
    required, default = field_requirement(field.value, options)
    return EnvRead(
        name=(alias or prefix + name).upper(),
        required=required,
        default=default,
        description=literal_str(options.get("description")) or "",
        secret=bool(SECRET_TYPES & annotation_names(field.annotation)),
        choices=literal_choices(field.annotation),
        evidence=evidence,
    )


def field_options(value: ast.expr | None) -> dict[str, ast.expr]:
    """The keyword arguments of ``Field(...)``; empty for a plain default."""
    if isinstance(value, ast.Call) and dotted_tail(value.func) == "Field":
        return {k.arg: k.value for k in value.keywords if k.arg}
    return {}


def alias_name(node: ast.expr | None) -> str | None:
    """A literal alias, or the first name of ``AliasChoices("A", "B")``."""
    if isinstance(node, ast.Call) and dotted_tail(node.func) == "AliasChoices" and node.args:
        return literal_str(node.args[0])
    return literal_str(node)


def field_requirement(
    value: ast.expr | None, options: dict[str, ast.expr]
) -> tuple[bool, str | None]:
    """``(required, default)``: no value, ``Field()`` and ``Field(...)`` are required."""
    if not isinstance(value, ast.Call) or dotted_tail(value.func) != "Field":
        return value is None, literal_default(value)
    given = value.args[0] if value.args else options.get("default")
    if given is None:
        return "default_factory" not in options, None
    if isinstance(given, ast.Constant) and given.value is Ellipsis:
        return True, None
    return False, literal_default(given)


# --- JavaScript/TypeScript, Go, Rust, shell: one regular expression per line ---------------

JS_ENV = re.compile(
    r"process\.env(?:\.(?P<dotted>[A-Za-z_]\w*)|\[\s*(?P<quote>[\"'`])(?P<key>[A-Za-z_]\w*)(?P=quote)\s*\])"
    r"\s*(?P<op>\|\||\?\?|[!=]==?|=|\?)?\s*(?:(?P<q>[\"'`])(?P<text>[^\"'`]*)(?P=q)|(?P<number>-?\d[\d.]*))?"
)
GO_ENV = re.compile(r"os\.(?:Getenv|LookupEnv)\(\s*\"(?P<name>[A-Za-z_]\w*)\"\s*\)")
RUST_ENV = re.compile(r"env::var(?:_os)?\(\s*\"(?P<name>[A-Za-z_]\w*)\"\s*\)(?P<rest>.*)")
RUST_DEFAULT = re.compile(r"^\s*\.unwrap_or(?:_else)?\(\s*(?:\|_\|\s*)?\"(?P<text>[^\"]*)\"")
RUST_FAILS_WHEN_UNSET = re.compile(r"^\s*(?:\.unwrap\(\)|\.expect\(|\?)")
# Shell expansions are limited to UPPER_CASE names: lower-case ones are the script's own locals.
SHELL_ENV = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?P<op>:?[-=?])(?P<word>[^}]*)\}")


def js_access(match: re.Match[str]) -> Access | None:
    """Required unless a ``||``/``??`` fallback follows, or the value is only compared/tested;
    an assignment (``process.env.X = ...``) sets the variable rather than needing it."""
    name = match["dotted"] or match["key"]
    op = match["op"]
    if op == "=":
        return None
    if op in {"||", "??"}:
        return name, False, match["text"] if match["text"] is not None else match["number"]
    return name, op is None, None


def go_access(match: re.Match[str]) -> Access:
    """``os.Getenv`` returns "" for an unset variable: the code decides, so it is optional."""
    return match["name"], False, None


def rust_access(match: re.Match[str]) -> Access:
    """``env::var`` returns a Result: required when unwrapped, optional when given a fallback."""
    default = RUST_DEFAULT.match(match["rest"])
    required = bool(RUST_FAILS_WHEN_UNSET.match(match["rest"]))
    return match["name"], required, default["text"] if default else None


def shell_access(match: re.Match[str]) -> Access:
    """``${X:?msg}`` stops the script when X is unset; ``${X:-word}`` falls back to word."""
    if match["op"].endswith("?"):
        return match["name"], True, None
    word = match["word"].strip("\"'")
    return match["name"], False, word if word and "$" not in word and "`" not in word else None


def pattern_reader(
    keywords: tuple[str, ...],
    pattern: re.Pattern[str],
    access: Callable[[re.Match[str]], Access | None],
) -> Reader:
    """A reader for languages whose reads one regular expression per line can find."""

    def read(files: RepoFiles, path: str, language: str) -> list[EnvRead]:
        reads = []
        for number, line in grep_lines(files, path, language, keywords):
            for found in filter(None, map(access, pattern.finditer(line))):
                name, required, default = found
                reads.append(EnvRead(name, required, line_evidence(path, number, line), default))
        return reads

    return read


js_reads = pattern_reader(("process.env",), JS_ENV, js_access)
CODE_READERS: dict[str, Reader] = {
    "python": python_reads,
    "javascript": js_reads,
    "typescript": js_reads,
    "go": pattern_reader(("os.Getenv", "os.LookupEnv"), GO_ENV, go_access),
    "rust": pattern_reader(("env::var",), RUST_ENV, rust_access),
    "shell": pattern_reader(("${",), SHELL_ENV, shell_access),
}
