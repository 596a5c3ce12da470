"""A command's parameters read from its ``--help`` output, for programs whose source says
nothing readable (compiled tools, shell wrappers, CLIs built dynamically).

The output is only text, so this is best effort, but precise on what argparse, click, typer
(rich boxes included) and GNU tools print: the usage line gives the positionals and their
order, option lines give flags, metavars (a value) or none (a switch), choices (``{a,b}``,
``[a|b]``), defaults (``[default: X]``, ``(default: X)``) and ``[required]`` marks, and a
"Commands" section (or argparse's ``{a,b}`` chooser) gives the subcommands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from assistant.plugins.analysis.cli_static import (
    CliParam,
    build_interface,
    identifier,
    long_flag,
    switch_schema,
    with_default,
    with_description,
)
from assistant.plugins.analysis.profile import Interface
from assistant.plugins.analysis.signature import NOT_LITERAL, enum_schema

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BOX = re.compile(r"[\u2500-\u257f]")
USAGE = re.compile(r"^\s*usage:\s*(.*)$", re.IGNORECASE)
HEADER = re.compile(r"^\s{0,2}([A-Za-z][\w ()/,'-]{0,48}):$")
OPTION_START = re.compile(r"^(\*\s+)?-{1,2}[\w?]")
CELL_GAP = re.compile(r"\s{2,}")
HEAD_TOKEN = re.compile(r"\[[^\]]*\](?:\.\.\.)?|\{[^}]*\}|<[^>]*>|[^\s,]+")
FLAG = re.compile(r"^(-{1,2}[\w?][\w.-]*)(\[?=([^\]]*)\]?)?$")
METAVAR_CELL = re.compile(
    r"^(\*|[A-Z][A-Z0-9_.-]*( [A-Z][A-Z0-9_.-]*)*|\[[^\]]*\|[^\]]*\]|\{.*\}|<.*>)$"
)
DEFAULT = re.compile(r"[\[(]default:\s*([^\])]*)[\])]", re.IGNORECASE)
DEFAULT_MARK = re.compile(r"\s*\[default:[^\]]*\]", re.IGNORECASE)  # click's and typer's
REQUIRED_MARK = re.compile(r"\s*\[required\]", re.IGNORECASE)
ENV_MARK = re.compile(r"\s*\[env var:[^\]]*\]", re.IGNORECASE)

SKIPPED_FLAGS = frozenset(
    {"-h", "--help", "--version", "--install-completion", "--show-completion"}
)
NOT_POSITIONALS = frozenset({"OPTIONS", "OPTION", "ARGS", "ARGUMENTS", "FLAGS"})
COMMAND_WORDS = frozenset({"COMMAND", "SUBCOMMAND", "CMD", "COMMANDS"})
INTEGER_METAVARS = frozenset({"INTEGER", "INT", "NUM", "NUMBER"})
NUMBER_METAVARS = frozenset({"FLOAT", "DECIMAL"})
PATH_METAVARS = frozenset({"PATH", "FILE", "FILENAME", "DIRECTORY", "DIR", "FOLDER"})


@dataclass
class Entry:
    """One item of a section: its first line and the deeper lines that continue it."""

    line: str
    more: list[str] = field(default_factory=list)


@dataclass
class Head:
    """The left column of an option or argument line, taken apart."""

    flags: list[str] = field(default_factory=list)
    negations: list[str] = field(default_factory=list)
    metavars: list[str] = field(default_factory=list)
    equals: bool = False  # GNU ``--width=N``: the value must be attached
    required: bool = False  # typer's ``*`` column


@dataclass
class UsageArgument:
    name: str
    optional: bool
    variadic: bool


@dataclass
class Usage:
    """What a usage line shows: positionals in order, options outside brackets (required),
    and the subcommands of an argparse ``{a,b}`` chooser."""

    arguments: list[UsageArgument] = field(default_factory=list)
    required_flags: set[str] = field(default_factory=set)
    commands: list[str] = field(default_factory=list)


@dataclass
class Parsed:
    """What the sections yielded, before it becomes an Interface."""

    options: list[CliParam] = field(default_factory=list)
    positionals: dict[str, tuple[Head, str]] = field(default_factory=dict)
    commands: dict[str, str] = field(default_factory=dict)


def help_interface(text: str) -> Interface:
    """The interface a ``--help`` text describes (framework "help")."""
    lines = clean_lines(text)
    usage, rest = split_usage(lines)
    description, rest = split_description(rest)
    parsed = Parsed()
    for kind, body in sections(rest):
        for entry in split_entries(body):
            _read_entry(parsed, kind, entry)
    usage_line = read_usage(usage)
    for name in usage_line.commands:
        parsed.commands.setdefault(name, "")
    options = [
        replace(option, required=option.required or option.flag in usage_line.required_flags)
        for option in merge_negations(parsed.options)
    ]
    params = [*_positional_params(usage_line.arguments, parsed.positionals), *options]
    subcommands = {
        name: Interface(framework="help", description=summary)
        for name, summary in parsed.commands.items()
    }
    return build_interface("help", description, params, None, subcommands)


def clean_lines(text: str) -> list[str]:
    """Plain lines: colours removed, a rich box's title line turned into a ``Title:`` header
    and its borders into spaces (so columns keep their places)."""
    cleaned: list[str] = []
    for raw in ANSI.sub("", text).expandtabs().splitlines():
        if "╭" in raw:
            title = BOX.sub(" ", raw).strip()
            cleaned.append(f"{title}:" if title else "")
        else:
            cleaned.append(BOX.sub(" ", raw).rstrip())
    return cleaned


def split_usage(lines: list[str]) -> tuple[str, list[str]]:
    """The usage line (with argparse's indented continuation lines) and the lines after it."""
    for index, line in enumerate(lines):
        match = USAGE.match(line)
        if not match:
            continue
        parts = [match[1]]
        end = index + 1
        while end < len(lines) and lines[end].startswith(" ") and lines[end].strip():
            if HEADER.match(lines[end]) or OPTION_START.match(lines[end].strip()):
                break
            parts.append(lines[end].strip())
            end += 1
        return " ".join(parts), lines[end:]
    return "", lines


def split_description(lines: list[str]) -> tuple[str, list[str]]:
    """The first paragraph of prose after the usage, and the lines after it."""
    start = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    end = start
    while end < len(lines) and lines[end].strip() and not _starts_section(lines[end]):
        end += 1
    paragraph = " ".join(line.strip() for line in lines[start:end])
    return paragraph, lines[end:]


def _starts_section(line: str) -> bool:
    return bool(HEADER.match(line) or OPTION_START.match(line.strip()))


def sections(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(kind, lines) per section; kind is "commands", "arguments" or "options" (the default,
    also for argparse's custom argument groups and GNU's topic headers)."""
    found: list[tuple[str, list[str]]] = [("options", [])]
    for line in lines:
        header = HEADER.match(line)
        if header:
            found.append((_section_kind(header[1]), []))
        else:
            found[-1][1].append(line)
    return found


def _section_kind(title: str) -> str:
    lowered = title.lower()
    if lowered.endswith(("command", "commands")):  # not "Command line usage"
        return "commands"
    if "positional" in lowered or lowered in ("arguments", "args"):
        return "arguments"
    return "options"


def split_entries(body: list[str]) -> list[Entry]:
    """Items start at the section's indentation (or are option lines indented a little more,
    like GNU's ``      --long-only``); deeper lines continue the item above."""
    entries: list[Entry] = []
    base: int | None = None
    for line in body:
        text = line.strip()
        if not text:
            continue
        indent = len(line) - len(line.lstrip())
        base = indent if base is None else base
        starts = indent <= base or (OPTION_START.match(text) is not None and indent <= base + 6)
        if starts or not entries:
            entries.append(Entry(line))
        else:
            entries[-1].more.append(line)
    return entries


def _read_entry(parsed: Parsed, kind: str, entry: Entry) -> None:
    head_cells, description = split_cells(entry)
    if OPTION_START.match(entry.line.strip()):
        option = _option(parse_head(head_cells), description)
        if option is not None:
            parsed.options.append(option)
    elif head_cells and head_cells[0].startswith("{"):
        _read_chooser(parsed, entry)
    elif kind == "commands":
        parsed.commands.setdefault(entry.line.split()[0].rstrip(","), description)
    elif kind == "arguments":
        marked = head_cells[0] == "*" and len(head_cells) > 1
        name, *metavars = " ".join(head_cells[1:] if marked else head_cells).split()
        head = parse_head(metavars)
        head.required = marked
        parsed.positionals[_positional_name(name)] = (head, description)


def _read_chooser(parsed: Parsed, entry: Entry) -> None:
    """argparse's ``{compress,resize}`` line, with one indented line per subcommand below."""
    for child in split_entries(entry.more):
        cells, description = split_cells(child)
        parsed.commands[cells[0].split()[0]] = description
    for name in entry.line.strip().split()[0].strip("{}").split(","):
        parsed.commands.setdefault(name, "")


def split_cells(entry: Entry) -> tuple[list[str], str]:
    """The head cells (flags, metavars, ``*``) and the description: columns are separated by
    two or more spaces, and the description goes on in the continuation lines."""
    cells = CELL_GAP.split(entry.line.strip())
    length = 2 if cells[0] == "*" and len(cells) > 1 else 1  # typer's required mark, then name
    while length < len(cells) and (cells[length][0] == "-" or METAVAR_CELL.match(cells[length])):
        length += 1
    text = " ".join([*cells[length:], *(line.strip() for line in entry.more)])
    return cells[:length], text


def parse_head(cells: list[str]) -> Head:
    """``-w, --width INTEGER``, ``--keep / --no-keep``, ``--format [png|jpg]``,
    ``--color[=WHEN]``, typer's ``* --name TEXT``."""
    head = Head()
    negative = False
    collecting = True  # argparse repeats the metavar per flag (``-n N, --count N``): keep one
    for token in HEAD_TOKEN.findall(" ".join(cells)):
        flag = FLAG.match(token)
        if token == "*":
            head.required = True
        elif token == "/":
            negative = True
        elif flag:
            (head.negations if negative else head.flags).append(flag[1])
            collecting = not head.metavars
            if flag[2] and collecting:
                head.equals = True
                head.metavars.append(flag[3])
        elif collecting:
            head.metavars.append(token)
    return head


def _option(head: Head, description: str) -> CliParam | None:
    if not head.flags or any(f in SKIPPED_FLAGS for f in [*head.flags, *head.negations]):
        return None
    negations = [*head.negations, *(f for f in head.flags if _negates(f, head.flags))]
    flags = [f for f in head.flags if f not in negations]
    flag = long_flag(flags)
    text, default, required = _marks(description)
    name = identifier(flag)
    if not head.metavars:
        return _switch(name, flag, negations, text, _switch_default(default, flags, negations))
    schema = _value_schema(head.metavars, text, default, _is_list(head.metavars))
    return CliParam(name, schema, flag, required=required or head.required, equals=head.equals)


def _is_list(metavars: list[str]) -> bool:
    """``--size W H`` or ``--files FILES [FILES ...]``: the option takes several values."""
    return len(metavars) > 1 or any("..." in m for m in metavars)


def _switch(
    name: str, flag: str, negations: list[str], text: str, default: bool | None
) -> CliParam:
    """A boolean option. A ``--x/--no-x`` pair whose default the help does not show gets
    none: passing ``--no-x`` for an assumed False could override the program's own default."""
    if negations and default is None:
        return CliParam(name, with_description({"type": "boolean"}, text), flag, negations[0])
    schema = switch_schema(NOT_LITERAL if default is None else default, text)
    return CliParam(name, schema, flag, negations[0] if negations else None)


def merge_negations(options: list[CliParam]) -> list[CliParam]:
    """GNU lists ``--no-x`` on a line of its own: it becomes the ``false_flag`` of the switch
    ``--x``, whose default is then unknown (the help shows none for the pair)."""
    switches = {o.flag: o for o in options if o.flag and o.schema.get("type") == "boolean"}
    negations = {
        flag for flag in switches if flag.startswith("--no-") and "--" + flag[5:] in switches
    }
    merged = []
    for option in options:
        if option.flag in negations:
            continue
        negation = "--no-" + (option.flag or "")[2:]
        if negation in negations and not option.false_flag:
            schema = {k: v for k, v in option.schema.items() if k != "default"}
            option = replace(option, schema=schema, false_flag=negation)
        merged.append(option)
    return merged


def _negates(flag: str, flags: list[str]) -> bool:
    """typer prints ``--formal  --no-formal`` side by side: the second negates the first."""
    return flag.startswith("--no-") and "--" + flag[5:] in flags


def _switch_default(default: str | None, flags: list[str], negations: list[str]) -> bool | None:
    """``[default: no-formal]`` / ``[default: True]`` -> the switch's boolean default."""
    if default is None:
        return None
    word = default.strip().lower()
    if word in ("true", "yes", "on") or "--" + word in flags:
        return True
    if word in ("false", "no", "off") or "--" + word in negations:
        return False
    return None


def _marks(description: str) -> tuple[str, str | None, bool]:
    """The description without the ``[default: X]``, ``[required]`` and ``[env var: X]``
    marks click and typer add (an author's own "(default: X)" stays), the default's text, and
    whether it is required."""
    default = DEFAULT.search(description)
    required = REQUIRED_MARK.search(description) is not None
    for mark in (DEFAULT_MARK, REQUIRED_MARK, ENV_MARK):
        description = mark.sub("", description)
    return description.strip(), default[1].strip() if default else None, required


def _value_schema(
    metavars: list[str], text: str, default: str | None, is_list: bool
) -> dict[str, Any]:
    """The schema the first metavar implies, as a list's items for list-valued arguments."""
    schema = metavar_schema(metavars[0])
    if is_list:
        schema = {"type": "array", "items": schema}
    value = _typed_default(default, schema)
    return with_default(with_description(schema, text), value)


def metavar_schema(metavar: str) -> dict[str, Any]:
    """``INTEGER`` -> integer, ``FILE`` -> path, ``{a,b}``/``[a|b]`` -> enum, else string."""
    if metavar.startswith("{") or (metavar.startswith("[") and "|" in metavar):
        choices = re.split(r"[,|]", metavar.strip("{}[].").strip())
        values: list[Any] = [int(c) if re.fullmatch(r"-?\d+", c) else c for c in choices]
        return enum_schema(values)
    word = metavar.strip("<>[]. ").split(" ")[0].upper()
    if word in INTEGER_METAVARS:
        return {"type": "integer"}
    if word in NUMBER_METAVARS:
        return {"type": "number"}
    if word in PATH_METAVARS:
        return {"type": "string", "format": "path"}
    return {"type": "string"}


def _typed_default(default: str | None, schema: dict[str, Any]) -> Any:
    """The default's text as the schema's type, when it is a value: prose such as "(default:
    no shebang line)", a choice not offered, ``None`` or an unreadable number are left out,
    since a default is passed to the program as if the user had typed it."""
    kind = schema.get("type")
    if default is None or kind == "array" or default in ("None", "") or " " in default:
        return NOT_LITERAL
    try:
        value = _converted(default, kind)
    except ValueError:
        return NOT_LITERAL
    return value if value in schema.get("enum", [value]) else NOT_LITERAL


def _converted(text: str, kind: str | None) -> Any:
    if kind == "integer":
        return int(text)
    if kind == "number":
        return float(text)
    return text.strip("'\"")


def read_usage(usage: str) -> Usage:
    """The usage line's positionals, required options and chooser. A ``COMMAND`` word ends
    it: what follows belongs to the subcommand."""
    found = Usage()
    option_metavar = False  # argparse shows a required option unbracketed: --out OUT
    for token in _after_program(usage_tokens(usage)):
        bare = token.strip("[]<>.")
        if token == "..." and found.arguments:
            found.arguments[-1].variadic = True
        elif token.startswith("{"):
            found.commands = token.strip("{}").split(",")
            break
        elif bare.upper() in COMMAND_WORDS:
            break
        elif token.startswith("-"):
            found.required_flags.add(token.split("=")[0])
            option_metavar = True
            continue
        elif not (option_metavar and bare.isupper()) and _is_positional(bare):
            argument = UsageArgument(bare.split()[0], token.startswith("["), "..." in token)
            found.arguments.append(argument)
        option_metavar = False
    return found


def _after_program(tokens: list[str]) -> list[str]:
    """The usage's words after the program: ``python -m tool`` and the lower-case words of a
    subcommand path (``tool resize``) are part of it."""
    if len(tokens) > 2 and tokens[0].startswith("python") and tokens[1] == "-m":
        tokens = tokens[2:]
    rest = tokens[1:]
    while rest and re.fullmatch(r"[a-z][\w.-]*", rest[0]):
        rest.pop(0)
    return rest


def _is_positional(bare: str) -> bool:
    """Not an option, nor argparse's ``(-a X | -b Y)`` group of required alternatives."""
    return bool(bare) and not bare.startswith(("-", "(")) and bare.upper() not in NOT_POSITIONALS


def usage_tokens(usage: str) -> list[str]:
    """Words of a usage line, a bracketed group (``[--out OUT]``, ``[FILE]...``,
    ``(-a | -b)``) staying one."""
    tokens: list[str] = []
    current = ""
    depth = 0
    for char in usage:
        depth += (char in "[{<(") - (char in "]}>)")
        depth = max(depth, 0)
        if char.isspace() and depth == 0:
            tokens += [current] if current else []
            current = ""
        else:
            current += char
    return tokens + ([current] if current else [])


def _positional_params(
    arguments: list[UsageArgument], described: dict[str, tuple[Head, str]]
) -> list[CliParam]:
    """Positionals in usage order, with what the arguments section says of them; any it
    describes that the usage does not show come last (required when marked so)."""
    params = []
    for argument in arguments:
        name = _positional_name(argument.name)
        head, description = described.pop(name, (Head(metavars=[argument.name]), ""))
        params.append(_positional(name, head, description, argument.variadic, argument.optional))
    for name, (head, description) in described.items():
        marked = head.required or REQUIRED_MARK.search(description) is not None
        params.append(_positional(name, head, description, False, not marked))
    return params


def _positional(
    name: str, head: Head, description: str, variadic: bool, optional: bool
) -> CliParam:
    text, default, _ = _marks(description)
    metavars = head.metavars or [name]
    schema = _value_schema(metavars, text, default, variadic or _is_list(head.metavars))
    return CliParam(name, schema, required=not optional)


def _positional_name(text: str) -> str:
    return identifier(text.strip("[]<>.").lower())
