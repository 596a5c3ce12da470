"""help_interface: parameters read back from the --help texts argparse, click, typer and GNU
tools print."""

from __future__ import annotations

from assistant.plugins.analysis.help_text import help_interface

ARGPARSE_HELP = """\
usage: pack.py [-h] [--level {1,2,3}] [-o OUT_FILE] [--fast | --no-cache]
               [--sizes SIZES SIZES] [--dry-run | --no-dry-run] --name NAME
               input [extra ...]

Compress files quickly.

positional arguments:
  input                 The file to read.
  extra                 More files to add to the
                        archive.

options:
  -h, --help            show this help message and exit
  --level {1,2,3}       Compression level (default: 2)
  -o OUT_FILE, --out-file OUT_FILE
                        Where to write.
  --fast                Trade size for speed.
  --no-cache            Skip the cache.
  --sizes SIZES SIZES   Width and height.
  --dry-run, --no-dry-run
                        Only show what would happen. (default: False)
  --name NAME           Archive name.
"""

ARGPARSE_SUBCOMMANDS_HELP = """\
usage: archive.py [-h] {pack,unpack,list} ...

Archive tool.

positional arguments:
  {pack,unpack,list}
    pack              Pack files.
    unpack            Unpack an archive into a folder, keeping the
                      permissions.

options:
  -h, --help          show this help message and exit
"""

CLICK_HELP = """\
Usage: resize [OPTIONS] SRC [DST]...

  Resize images.

  The second paragraph is not the summary.

Options:
  -w, --width INTEGER      Target width.  [default: 800]
  --format [png|jpg|webp]  Output format.  [default: png]
  --keep / --no-keep       Keep metadata.
  --name TEXT              A name.  [required]
  -v, --verbose            Verbose output.
  --help                   Show this message and exit.
"""

CLICK_GROUP_HELP = """\
Usage: images [OPTIONS] COMMAND [ARGS]...

  Image tools.

Options:
  --debug / --no-debug  Debug output.  [default: no-debug]
  --help                Show this message and exit.

Commands:
  compress  Compress images.
  resize    Resize images.
"""

TYPER_HELP = """\
\x1b[1m                                                                                \x1b[0m
\x1b[1m \x1b[0m\x1b[1;33mUsage: \x1b[0m\x1b[1mgreet.py [OPTIONS] NAME\x1b[0m\x1b[1m                                                   \x1b[0m
\x1b[1m                                                                                \x1b[0m
 Say hi to NAME.                                                                \n\
                                                                                \n\
╭─ Arguments ──────────────────────────────────────────────────────────────────╮
│ *    name      TEXT  Who to greet. [default: None] [required]                │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ Options ────────────────────────────────────────────────────────────────────╮
│ --count               -c      INTEGER      How many times. [default: 1]      │
│ --formal                  --no-formal      Say it formally.                  │
│                                            [default: no-formal]              │
│ --tone                        [warm|cold]  Tone of voice. [default: warm]    │
│ --install-completion                       Install completion for the        │
│                                            current shell.                    │
│ --show-completion                          Show completion for the current   │
│                                            shell, to copy it or customize    │
│                                            the installation.                 │
│ --help                                     Show this message and exit.       │
╰──────────────────────────────────────────────────────────────────────────────╯
"""

TYPER_COMMANDS_HELP = """\

 Usage: users [OPTIONS] COMMAND [ARGS]...

╭─ Options ────────────────────────────────────────────────────────────────────╮
│ --help          Show this message and exit.                                  │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ Commands ───────────────────────────────────────────────────────────────────╮
│ add-user   Add a user.                                                       │
│ rm         Remove a user.                                                    │
╰──────────────────────────────────────────────────────────────────────────────╯
"""

GNU_HELP = """\
Usage: grep [OPTION]... PATTERNS [FILE]...
Search for PATTERNS in each FILE.
Example: grep -i 'hello world' menu.h main.c

Pattern selection and interpretation:
  -E, --extended-regexp     PATTERNS are extended regular expressions
  -e, --regexp=PATTERNS     use PATTERNS for matching
  -i, --ignore-case         ignore case distinctions in patterns and data
      --no-ignore-case      do not ignore case distinctions (default)

Output control:
  -m, --max-count=NUM       stop after NUM selected lines
      --color[=WHEN]        use markers to highlight the matching strings;
                            WHEN is 'always', 'never', or 'auto'
  -V, --version             display version information and exit
      --help                display this help text and exit
"""


def test_argparse_help() -> None:
    assert help_interface(ARGPARSE_HELP).model_dump() == {
        "framework": "help",
        "description": "Compress files quickly.",
        "parameters": {
            "type": "object",
            "properties": {
                "input": {"type": "string", "description": "The file to read.", "format": "path"},
                "extra": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "More files to add to the archive.",
                },
                "level": {
                    "type": "integer",
                    "enum": [1, 2, 3],
                    "description": "Compression level (default: 2)",
                    "default": 2,
                },
                "out_file": {"type": "string", "description": "Where to write.", "format": "path"},
                "fast": {
                    "type": "boolean",
                    "description": "Trade size for speed.",
                    "default": False,
                },
                "no_cache": {"type": "boolean", "description": "Skip the cache.", "default": False},
                "sizes": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Width and height.",
                },
                "dry_run": {
                    "type": "boolean",
                    "description": "Only show what would happen. (default: False)",
                    "default": False,
                },
                "name": {"type": "string", "description": "Archive name."},
            },
            "required": ["input", "name"],
            "additionalProperties": False,
        },
        "args": {
            "input": {"position": 0},
            "extra": {"position": 1},
            "level": {"flag": "--level"},
            "out_file": {"flag": "--out-file"},
            "fast": {"flag": "--fast"},
            "no_cache": {"flag": "--no-cache"},
            "sizes": {"flag": "--sizes"},
            "dry_run": {"flag": "--dry-run", "false_flag": "--no-dry-run"},
            "name": {"flag": "--name"},
        },
        "subcommands": {},
        "evidence": None,
    }


def test_argparse_subcommands_help() -> None:
    interface = help_interface(ARGPARSE_SUBCOMMANDS_HELP)

    assert interface.description == "Archive tool."
    assert interface.parameters == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }
    assert {name: sub.model_dump() for name, sub in interface.subcommands.items()} == {
        name: {
            "framework": "help",
            "description": description,
            "parameters": {"type": "object", "properties": {}},
            "args": {},
            "subcommands": {},
            "evidence": None,
        }
        for name, description in [
            ("pack", "Pack files."),
            ("unpack", "Unpack an archive into a folder, keeping the permissions."),
            ("list", ""),
        ]
    }


def test_click_help() -> None:
    assert help_interface(CLICK_HELP).model_dump(exclude={"evidence", "subcommands"}) == {
        "framework": "help",
        "description": "Resize images.",
        "parameters": {
            "type": "object",
            "properties": {
                "src": {"type": "string"},
                "dst": {"type": "array", "items": {"type": "string"}},
                "width": {"type": "integer", "description": "Target width.", "default": 800},
                "format": {
                    "type": "string",
                    "enum": ["png", "jpg", "webp"],
                    "description": "Output format.",
                    "default": "png",
                },
                "keep": {"type": "boolean", "description": "Keep metadata."},
                "name": {"type": "string", "description": "A name."},
                "verbose": {"type": "boolean", "description": "Verbose output.", "default": False},
            },
            "required": ["src", "name"],
            "additionalProperties": False,
        },
        "args": {
            "src": {"position": 0},
            "dst": {"position": 1},
            "width": {"flag": "--width"},
            "format": {"flag": "--format"},
            "keep": {"flag": "--keep", "false_flag": "--no-keep"},
            "name": {"flag": "--name"},
            "verbose": {"flag": "--verbose"},
        },
    }


def test_click_group_help() -> None:
    interface = help_interface(CLICK_GROUP_HELP)

    assert interface.description == "Image tools."
    assert interface.parameters["properties"] == {
        "debug": {"type": "boolean", "description": "Debug output.", "default": False}
    }
    assert interface.args == {"debug": {"flag": "--debug", "false_flag": "--no-debug"}}
    assert {n: s.description for n, s in interface.subcommands.items()} == {
        "compress": "Compress images.",
        "resize": "Resize images.",
    }


def test_typer_rich_help() -> None:
    assert help_interface(TYPER_HELP).model_dump(exclude={"evidence", "subcommands"}) == {
        "framework": "help",
        "description": "Say hi to NAME.",
        "parameters": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "Who to greet."},
                "count": {"type": "integer", "description": "How many times.", "default": 1},
                "formal": {"type": "boolean", "description": "Say it formally.", "default": False},
                "tone": {
                    "type": "string",
                    "enum": ["warm", "cold"],
                    "description": "Tone of voice.",
                    "default": "warm",
                },
            },
            "required": ["name"],
            "additionalProperties": False,
        },
        "args": {
            "name": {"position": 0},
            "count": {"flag": "--count"},
            "formal": {"flag": "--formal", "false_flag": "--no-formal"},
            "tone": {"flag": "--tone"},
        },
    }


def test_typer_rich_commands_help() -> None:
    interface = help_interface(TYPER_COMMANDS_HELP)

    assert interface.parameters["properties"] == {}
    assert {n: s.description for n, s in interface.subcommands.items()} == {
        "add-user": "Add a user.",
        "rm": "Remove a user.",
    }


def test_gnu_help() -> None:
    assert help_interface(GNU_HELP).model_dump(exclude={"evidence", "subcommands"}) == {
        "framework": "help",
        "description": "Search for PATTERNS in each FILE. Example: grep -i 'hello world' menu.h main.c",
        "parameters": {
            "type": "object",
            "properties": {
                "patterns": {"type": "string"},
                "file": {"type": "array", "items": {"type": "string", "format": "path"}},
                "extended_regexp": {
                    "type": "boolean",
                    "description": "PATTERNS are extended regular expressions",
                    "default": False,
                },
                "regexp": {"type": "string", "description": "use PATTERNS for matching"},
                "ignore_case": {
                    "type": "boolean",
                    "description": "ignore case distinctions in patterns and data",
                },
                "max_count": {"type": "integer", "description": "stop after NUM selected lines"},
                "color": {
                    "type": "string",
                    "description": "use markers to highlight the matching strings; WHEN is "
                    "'always', 'never', or 'auto'",
                },
            },
            "required": ["patterns"],
            "additionalProperties": False,
        },
        "args": {
            "patterns": {"position": 0},
            "file": {"position": 1},
            "extended_regexp": {"flag": "--extended-regexp"},
            "regexp": {"flag": "--regexp", "style": "equals"},
            "ignore_case": {"flag": "--ignore-case", "false_flag": "--no-ignore-case"},
            "max_count": {"flag": "--max-count", "style": "equals"},
            "color": {"flag": "--color", "style": "equals"},
        },
    }


def test_text_without_usage_or_options() -> None:
    assert help_interface("Just a tool.\n").model_dump() == {
        "framework": "help",
        "description": "Just a tool.",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
        "args": {},
        "subcommands": {},
        "evidence": None,
    }


def test_prose_defaults_and_required_alternatives_are_not_values() -> None:
    text = """\
usage: serve.py [-h] [-p VERSION] [-b ADDRESS] (-l FILE | -x FILE) [port]

Command line usage:
    serve.py -l index.txt 8080

positional arguments:
  port                  bind to this port (default: 8000)

options:
  -h, --help            show this help message and exit
  -p VERSION, --protocol VERSION
                        conform to this HTTP version (default: HTTP/1.0)
  -b ADDRESS            bind to this address (default: all interfaces)
  -l FILE, --list FILE  List the index.
  -x FILE               Extract the index.
"""
    interface = help_interface(text)

    assert interface.parameters == {
        "type": "object",
        "properties": {
            "port": {
                "type": "string",
                "description": "bind to this port (default: 8000)",
                "default": "8000",
            },
            "protocol": {
                "type": "string",
                "description": "conform to this HTTP version (default: HTTP/1.0)",
                "default": "HTTP/1.0",
            },
            "b": {
                "type": "string",
                "description": "bind to this address (default: all interfaces)",
            },
            "list": {"type": "string", "format": "path", "description": "List the index."},
            "x": {"type": "string", "format": "path", "description": "Extract the index."},
        },
        "additionalProperties": False,
    }
    assert interface.args == {
        "port": {"position": 0},
        "protocol": {"flag": "--protocol"},
        "b": {"flag": "-b"},
        "list": {"flag": "--list"},
        "x": {"flag": "-x"},
    }
    assert interface.subcommands == {}
