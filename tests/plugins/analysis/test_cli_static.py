"""cli_interface: argparse, click and typer CLIs read as syntax, never imported or run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.argv import build_argv
from assistant.plugins.analysis.cli_static import cli_interface
from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import Evidence

MakeRepo = Callable[[dict[str, str]], RepoFiles]

ARGPARSE_TOOL = '''
    """Compress or pack files.

    Long description that the summary leaves out.
    """
    import argparse
    from pathlib import Path


    def build_parser():
        parser = argparse.ArgumentParser(description=__doc__)
        parser.add_argument("input", type=argparse.FileType("rb"), help="File to read.")
        parser.add_argument("extra", nargs="*", help="More files.")
        parser.add_argument("--level", type=int, choices=[1, 2, 3], default=2,
                            help="Level (default: %(default)s).")
        parser.add_argument("-o", "--out-file", type=Path, help="Where to write.")
        speed = parser.add_mutually_exclusive_group()
        speed.add_argument("--fast", action="store_true", help="Trade size for speed.")
        speed.add_argument("--no-cache", dest="cache", action="store_false", help="Skip the cache.")
        parser.add_argument("--sizes", type=int, nargs=2, help="Width and height.")
        parser.add_argument("--tag", action="append", default=[], help="A tag.")
        parser.add_argument("--version", action="version", version="1.0")
        return parser


    def main():
        args = build_parser().parse_args()
        print(args)


    if __name__ == "__main__":
        main()
'''

ARGPARSE_SUBCOMMANDS = """
    import argparse

    parser = argparse.ArgumentParser(description="Archive tool.")
    parser.add_argument("-q", "--quiet", action="store_true")
    commands = parser.add_subparsers(dest="command", required=True)
    pack = commands.add_parser("pack", help="Pack files.")
    pack.add_argument("files", nargs="+", help="Files to pack.")
    pack.add_argument("--format", choices=["zip", "tar"], default="zip")
    unpack = commands.add_parser("unpack", help="Unpack an archive.")
    unpack.add_argument("archive")
    unpack.add_argument("--dest-dir", default=".")
    unpack.set_defaults(func=print)
    args = parser.parse_args()
"""

CLICK_COMMAND = '''
    import click


    @click.command()
    @click.argument("src", type=click.Path(exists=True))
    @click.option("--format", "fmt", type=click.Choice(["png", "jpg"]), default="png",
                  help="Output format.")
    @click.option("-w", "--width", type=int, required=True, help="Target width.")
    @click.option("--tag", multiple=True, help="Tag to add.")
    @click.option("-v", "--verbose", is_flag=True, help="Say more.")
    @click.option("--strip/--no-strip", default=True, help="Strip metadata.")
    @click.version_option("1.0")
    def resize(src, fmt, width, tag, verbose, strip):
        """Resize an image.
        \\f
        Internal notes click does not show.
        """


    if __name__ == "__main__":
        resize()
'''

CLICK_GROUP = '''
    import click


    @click.group()
    @click.option("--debug/--no-debug", default=False, help="Debug output.")
    def cli(debug):
        """Image tools."""


    @cli.command()
    @click.argument("files", nargs=-1, type=click.File("rb"))
    @click.option("--level", type=click.IntRange(1, 9), default=6)
    def compress_cmd(files, level):
        """Compress images."""


    @click.command(help="Show image details.")
    @click.argument("image")
    def info(image):
        pass


    cli.add_command(info, "inspect")
'''

TYPER_SINGLE = '''
    from enum import Enum
    from pathlib import Path
    from typing import List, Optional

    import typer
    from typing_extensions import Annotated

    app = typer.Typer(help="Greeting tool.")


    class Tone(str, Enum):
        warm = "warm"
        cold = "cold"


    @app.command()
    def greet(
        name: Annotated[str, typer.Argument(help="Who to greet.")],
        count: int = 1,
        formal: bool = False,
        tone: Tone = Tone.warm,
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file."),
        tags: List[str] = typer.Option([], help="Tags."),
        force: Annotated[bool, typer.Option("--force", help="Overwrite.")] = False,
    ):
        """Say hello."""


    if __name__ == "__main__":
        app()
'''

TYPER_TWO_COMMANDS = '''
    import typer

    app = typer.Typer()


    @app.command()
    def add_user(ctx: typer.Context, name: str, admin: bool = False):
        """Add a user."""


    @app.command("rm", help="Remove a user.")
    def remove_user(name: str = typer.Argument(..., help="The user.")):
        pass
'''


def _interface(repo_files: MakeRepo, source: str, function: str | None = None) -> dict[str, Any]:
    files = repo_files({"tool.py": source})
    interface = cli_interface(files, "tool.py", function)
    assert interface is not None
    return interface.model_dump()


def test_argparse_parser_built_by_a_helper_function(repo_files: MakeRepo) -> None:
    assert _interface(repo_files, ARGPARSE_TOOL) == {
        "framework": "argparse",
        "description": "Compress or pack files.",
        "parameters": {
            "type": "object",
            "properties": {
                "input": {"type": "string", "format": "path", "description": "File to read."},
                "extra": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "More files.",
                },
                "level": {
                    "type": "integer",
                    "enum": [1, 2, 3],
                    "description": "Level (default: 2).",
                    "default": 2,
                },
                "out_file": {"type": "string", "format": "path", "description": "Where to write."},
                "fast": {
                    "type": "boolean",
                    "description": "Trade size for speed.",
                    "default": False,
                },
                "no_cache": {"type": "boolean", "description": "Skip the cache.", "default": False},
                "sizes": {
                    "type": "array",
                    "items": {"type": "integer"},
                    "minItems": 2,
                    "maxItems": 2,
                    "description": "Width and height.",
                },
                "tag": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "A tag.",
                    "default": [],
                },
            },
            "required": ["input"],
            "additionalProperties": False,
        },
        "args": {
            "input": {"position": 0},
            "extra": {"position": 1},
            "level": {"flag": "--level"},
            "out_file": {"flag": "--out-file"},
            "fast": {"flag": "--fast"},
            "no_cache": {"flag": "--no-cache"},
            "sizes": {"flag": "--sizes", "nargs": 2},
            "tag": {"flag": "--tag"},
        },
        "subcommands": {},
        "evidence": {
            "file": "tool.py",
            "line": 10,
            "detail": "parser = argparse.ArgumentParser(description=__doc__)",
        },
    }


def test_argparse_subparsers(repo_files: MakeRepo) -> None:
    interface = _interface(repo_files, ARGPARSE_SUBCOMMANDS)

    assert interface["parameters"] == {
        "type": "object",
        "properties": {"quiet": {"type": "boolean", "default": False}},
        "additionalProperties": False,
    }
    assert interface["args"] == {"quiet": {"flag": "--quiet"}}
    assert interface["description"] == "Archive tool."
    assert interface["subcommands"] == {
        "pack": {
            "framework": "argparse",
            "description": "Pack files.",
            "parameters": {
                "type": "object",
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Files to pack.",
                    },
                    "format": {"type": "string", "enum": ["zip", "tar"], "default": "zip"},
                },
                "required": ["files"],
                "additionalProperties": False,
            },
            "args": {"files": {"position": 0}, "format": {"flag": "--format"}},
            "subcommands": {},
            "evidence": {
                "file": "tool.py",
                "line": 6,
                "detail": 'pack = commands.add_parser("pack", help="Pack files.")',
            },
        },
        "unpack": {
            "framework": "argparse",
            "description": "Unpack an archive.",
            "parameters": {
                "type": "object",
                "properties": {
                    "archive": {"type": "string"},
                    "dest_dir": {"type": "string", "format": "path", "default": "."},
                },
                "required": ["archive"],
                "additionalProperties": False,
            },
            "args": {"archive": {"position": 0}, "dest_dir": {"flag": "--dest-dir"}},
            "subcommands": {},
            "evidence": {
                "file": "tool.py",
                "line": 9,
                "detail": 'unpack = commands.add_parser("unpack", help="Unpack an archive.")',
            },
        },
    }


def test_argparse_store_false_paired_with_a_switch_is_its_false_flag(repo_files: MakeRepo) -> None:
    source = """
        import argparse
        p = argparse.ArgumentParser()
        p.add_argument("--cache", action="store_true", help="Use the cache.")
        p.add_argument("--no-cache", dest="cache", action="store_false")
        p.add_argument("-v", "--verbose", action="count", default=0)
        p.add_argument("--dry-run", action=argparse.BooleanOptionalAction, default=True)
        p.add_argument("--secret", help=argparse.SUPPRESS)
    """
    interface = _interface(repo_files, source)

    assert interface["parameters"]["properties"] == {
        "cache": {"type": "boolean", "description": "Use the cache.", "default": False},
        "verbose": {"type": "integer", "minimum": 0},
        "dry_run": {"type": "boolean", "default": True},
    }
    assert interface["args"] == {
        "cache": {"flag": "--cache", "false_flag": "--no-cache"},
        "verbose": {"flag": "--verbose"},
        "dry_run": {"flag": "--dry-run", "false_flag": "--no-dry-run"},
    }


def test_click_command(repo_files: MakeRepo) -> None:
    assert _interface(repo_files, CLICK_COMMAND) == {
        "framework": "click",
        "description": "Resize an image.",
        "parameters": {
            "type": "object",
            "properties": {
                "src": {"type": "string", "format": "path"},
                "fmt": {
                    "type": "string",
                    "enum": ["png", "jpg"],
                    "description": "Output format.",
                    "default": "png",
                },
                "width": {"type": "integer", "description": "Target width."},
                "tag": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Tag to add.",
                },
                "verbose": {"type": "boolean", "description": "Say more.", "default": False},
                "strip": {"type": "boolean", "description": "Strip metadata.", "default": True},
            },
            "required": ["src", "width"],
            "additionalProperties": False,
        },
        "args": {
            "src": {"position": 0},
            "fmt": {"flag": "--format"},
            "width": {"flag": "--width"},
            "tag": {"flag": "--tag"},
            "verbose": {"flag": "--verbose"},
            "strip": {"flag": "--strip", "false_flag": "--no-strip"},
        },
        "subcommands": {},
        "evidence": {"file": "tool.py", "line": 4, "detail": "@click.command()"},
    }


def test_click_group_with_decorated_and_added_commands(repo_files: MakeRepo) -> None:
    interface = _interface(repo_files, CLICK_GROUP)

    assert interface["description"] == "Image tools."
    assert interface["parameters"]["properties"] == {
        "debug": {"type": "boolean", "description": "Debug output.", "default": False}
    }
    assert interface["args"] == {"debug": {"flag": "--debug", "false_flag": "--no-debug"}}
    assert interface["subcommands"] == {
        "compress": {
            "framework": "click",
            "description": "Compress images.",
            "parameters": {
                "type": "object",
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "path"}},
                    "level": {"type": "integer", "default": 6},
                },
                "additionalProperties": False,
            },
            "args": {"files": {"position": 0}, "level": {"flag": "--level"}},
            "subcommands": {},
            "evidence": {"file": "tool.py", "line": 10, "detail": "@cli.command()"},
        },
        "inspect": {
            "framework": "click",
            "description": "Show image details.",
            "parameters": {
                "type": "object",
                "properties": {"image": {"type": "string"}},
                "required": ["image"],
                "additionalProperties": False,
            },
            "args": {"image": {"position": 0}},
            "subcommands": {},
            "evidence": {
                "file": "tool.py",
                "line": 17,
                "detail": '@click.command(help="Show image details.")',
            },
        },
    }


def test_function_picks_one_command_of_several(repo_files: MakeRepo) -> None:
    interface = _interface(repo_files, CLICK_GROUP, function="info")

    assert interface["description"] == "Show image details."
    assert list(interface["parameters"]["properties"]) == ["image"]


def test_typer_single_command_is_the_program(repo_files: MakeRepo) -> None:
    assert _interface(repo_files, TYPER_SINGLE) == {
        "framework": "typer",
        "description": "Say hello.",
        "parameters": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "Who to greet."},
                "count": {"type": "integer", "default": 1},
                "formal": {"type": "boolean", "default": False},
                "tone": {"type": "string", "enum": ["warm", "cold"], "default": "warm"},
                "out": {"type": "string", "format": "path", "description": "Output file."},
                "tags": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Tags.",
                    "default": [],
                },
                "force": {"type": "boolean", "description": "Overwrite.", "default": False},
            },
            "required": ["name"],
            "additionalProperties": False,
        },
        "args": {
            "name": {"position": 0},
            "count": {"flag": "--count"},
            "formal": {"flag": "--formal", "false_flag": "--no-formal"},
            "tone": {"flag": "--tone"},
            "out": {"flag": "--out"},
            "tags": {"flag": "--tags"},
            "force": {"flag": "--force"},
        },
        "subcommands": {},
        "evidence": {
            "file": "tool.py",
            "line": 8,
            "detail": 'app = typer.Typer(help="Greeting tool.")',
        },
    }


def test_typer_app_with_two_commands(repo_files: MakeRepo) -> None:
    assert _interface(repo_files, TYPER_TWO_COMMANDS) == {
        "framework": "typer",
        "description": "",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
        "args": {},
        "subcommands": {
            "add-user": {
                "framework": "typer",
                "description": "Add a user.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "admin": {"type": "boolean", "default": False},
                    },
                    "required": ["name"],
                    "additionalProperties": False,
                },
                "args": {
                    "name": {"position": 0},
                    "admin": {"flag": "--admin", "false_flag": "--no-admin"},
                },
                "subcommands": {},
                "evidence": {"file": "tool.py", "line": 6, "detail": "@app.command()"},
            },
            "rm": {
                "framework": "typer",
                "description": "Remove a user.",
                "parameters": {
                    "type": "object",
                    "properties": {"name": {"type": "string", "description": "The user."}},
                    "required": ["name"],
                    "additionalProperties": False,
                },
                "args": {"name": {"position": 0}},
                "subcommands": {},
                "evidence": {
                    "file": "tool.py",
                    "line": 11,
                    "detail": '@app.command("rm", help="Remove a user.")',
                },
            },
        },
        "evidence": {"file": "tool.py", "line": 3, "detail": "app = typer.Typer()"},
    }


def test_typer_run(repo_files: MakeRepo) -> None:
    source = """
        import typer

        def main(path: str, loud: bool = typer.Option(False, "--loud/--quiet")):
            print(path)

        if __name__ == "__main__":
            typer.run(main)
    """
    interface = _interface(repo_files, source)

    assert interface["parameters"]["properties"] == {
        "path": {"type": "string", "format": "path"},
        "loud": {"type": "boolean", "default": False},
    }
    assert interface["args"] == {
        "path": {"position": 0},
        "loud": {"flag": "--loud", "false_flag": "--quiet"},
    }
    assert interface["evidence"]["detail"] == "typer.run(main)"


def test_a_file_without_a_cli_has_no_interface(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "lib.py": "def click(x):\n    return x\n",
            "notes.txt": "ArgumentParser",
            "broken.py": "import argparse\nparser = argparse.ArgumentParser(\n",
        }
    )

    assert cli_interface(files, "lib.py") is None
    assert cli_interface(files, "notes.txt") is None
    assert cli_interface(files, "broken.py") is None


def test_build_argv_rebuilds_the_argparse_command_line(repo_files: MakeRepo) -> None:
    files = repo_files({"tool.py": ARGPARSE_TOOL})
    interface = cli_interface(files, "tool.py")
    assert interface is not None
    inputs = {
        "input": "a.txt",
        "extra": ["b.txt", "c.txt"],
        "level": 3,
        "out_file": "out.gz",
        "fast": True,
        "no_cache": True,
        "tag": ["x", "y"],
    }

    argv = build_argv(["python", "tool.py"], inputs, interface.parameters, interface.args)

    assert argv == [
        "python", "tool.py", "a.txt", "b.txt", "c.txt", "--level", "3", "--out-file", "out.gz",
        "--fast", "--no-cache", "--tag", "x", "--tag", "y",
    ]  # fmt: skip


def test_build_argv_rebuilds_the_click_command_line(repo_files: MakeRepo) -> None:
    files = repo_files({"tool.py": CLICK_COMMAND})
    interface = cli_interface(files, "tool.py")
    assert interface is not None
    inputs = {"src": "in.png", "fmt": "jpg", "width": 640, "tag": ["a", "b"], "strip": False}

    argv = build_argv(["resize"], inputs, interface.parameters, interface.args)

    assert argv == [
        "resize", "in.png", "--format", "jpg", "--width", "640", "--tag", "a", "--tag", "b",
        "--no-strip",
    ]  # fmt: skip


def test_main_module_that_imports_its_cli_is_followed(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "src/tool/__main__.py": "from .cli import cli\n\ncli()\n",
            "src/tool/cli.py": CLICK_GROUP,
            "bin/tool*": "#!/usr/bin/env python3\nfrom tool.cli import main\nmain()\n",
            "scripts/run*": "#!/usr/bin/env python3\nfrom helpers import main\nmain()\n",
            "scripts/helpers.py": """
                import argparse

                def main():
                    parser = argparse.ArgumentParser()
                    commands = parser.add_subparsers()
                    commands.add_parser("pack")
                    commands.add_parser("unpack")
                    parser.parse_args()
            """,
        }
    )

    via_main = cli_interface(files, "src/tool/__main__.py")
    assert via_main is not None
    assert via_main.evidence == Evidence(file="src/tool/cli.py", line=4, detail="@click.group()")
    assert list(via_main.subcommands) == ["compress", "inspect"]
    assert cli_interface(files, "bin/tool") is None  # tool.cli is not under bin/ nor above it
    via_script = cli_interface(files, "scripts/run")
    assert via_script is not None
    assert list(via_script.subcommands) == ["pack", "unpack"]
    assert via_script.evidence is not None
    assert via_script.evidence.file == "scripts/helpers.py"


CLICK_SHARED_FACTORY = '''
    import click


    @click.group()
    def cli():
        """Database tool."""


    def insert_upsert_options(*, require_pk=False):
        def decorator(fn):
            for decorator in reversed(
                (
                    click.argument("path", type=click.Path(dir_okay=False)),
                    click.option("--pk", help="Primary key column.", required=require_pk),
                    click.option("--batch-size", type=int, default=100, help="Rows per batch."),
                    click.option("--secret", hidden=True),
                )
            ):
                fn = decorator(fn)
            return fn

        return decorator


    @cli.command()
    @insert_upsert_options()
    @click.option("--replace", is_flag=True, help="Replace rows.")
    def insert(path, pk, batch_size, replace):
        """Insert rows."""


    @cli.command()
    @insert_upsert_options(require_pk=True)
    def upsert(path, pk, batch_size):
        """Upsert rows."""
'''

SHARED_PARAMETERS = {
    "path": {"type": "string", "format": "path"},
    "pk": {"type": "string", "description": "Primary key column."},
    "batch_size": {"type": "integer", "description": "Rows per batch.", "default": 100},
}
SHARED_ARGS = {
    "path": {"position": 0},
    "pk": {"flag": "--pk"},
    "batch_size": {"flag": "--batch-size"},
}


def test_click_options_from_a_shared_decorator_factory(repo_files: MakeRepo) -> None:
    interface = _interface(repo_files, CLICK_SHARED_FACTORY)

    assert interface["subcommands"] == {
        "insert": {
            "framework": "click",
            "description": "Insert rows.",
            "parameters": {
                "type": "object",
                "properties": {
                    **SHARED_PARAMETERS,
                    "replace": {
                        "type": "boolean",
                        "description": "Replace rows.",
                        "default": False,
                    },
                },
                "required": ["path"],
                "additionalProperties": False,
            },
            "args": {**SHARED_ARGS, "replace": {"flag": "--replace"}},
            "subcommands": {},
            "evidence": {"file": "tool.py", "line": 25, "detail": "@cli.command()"},
        },
        "upsert": {
            "framework": "click",
            "description": "Upsert rows.",
            "parameters": {
                "type": "object",
                "properties": SHARED_PARAMETERS,
                "required": ["path"],  # required=require_pk is not a literal
                "additionalProperties": False,
            },
            "args": SHARED_ARGS,
            "subcommands": {},
            "evidence": {"file": "tool.py", "line": 32, "detail": "@cli.command()"},
        },
    }


CLICK_SHARED_VARIABLES = '''
    import click

    output_option = click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    common = [
        click.option("--db", default="data.db", help="Database file."),
        click.option("--quiet", is_flag=True),
    ]


    def common_options(fn):
        for option in reversed(common):
            fn = option(fn)
        return fn


    @click.command()
    @click.argument("table")
    @common_options
    @output_option
    def rows(table, db, quiet, as_json):
        """List rows."""
'''


def test_click_options_from_module_level_variables(repo_files: MakeRepo) -> None:
    assert _interface(repo_files, CLICK_SHARED_VARIABLES) == {
        "framework": "click",
        "description": "List rows.",
        "parameters": {
            "type": "object",
            "properties": {
                "table": {"type": "string"},
                "db": {"type": "string", "description": "Database file.", "default": "data.db"},
                "quiet": {"type": "boolean", "default": False},
                "as_json": {"type": "boolean", "description": "Output JSON.", "default": False},
            },
            "required": ["table"],
            "additionalProperties": False,
        },
        "args": {
            "table": {"position": 0},
            "db": {"flag": "--db"},
            "quiet": {"flag": "--quiet"},
            "as_json": {"flag": "--json"},
        },
        "subcommands": {},
        "evidence": {"file": "tool.py", "line": 16, "detail": "@click.command()"},
    }


def test_click_tuple_types_and_fixed_nargs(repo_files: MakeRepo) -> None:
    source = """
        import click

        @click.command()
        @click.option("--size", type=(int, int), default=(640, 480))
        @click.option("--label", type=click.Tuple([str, int]))
        @click.option("--header", type=(str, str), multiple=True)
        @click.option("--point", nargs=2, type=float)
        @click.argument("pair", nargs=2)
        def draw(size, label, header, point, pair):
            pass
    """
    assert _interface(repo_files, source)["parameters"]["properties"] == {
        "size": {
            "type": "array",
            "items": {"type": "integer"},
            "minItems": 2,
            "maxItems": 2,
            "default": [640, 480],
        },
        "label": {
            "type": "array",
            "prefixItems": [{"type": "string"}, {"type": "integer"}],
            "minItems": 2,
            "maxItems": 2,
        },
        "header": {
            "type": "array",
            "items": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 2,
                "maxItems": 2,
            },
        },
        "point": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "pair": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
    }


def test_rich_markup_is_stripped_from_typer_help(repo_files: MakeRepo) -> None:
    source = '''
        import typer

        app = typer.Typer(rich_markup_mode="rich")

        @app.command()
        def serve(
            port: int = typer.Option(8000, help="Port to [bold #ff0000 on white]bind[/]."),
            note: str = typer.Option("", help="Keep [y/n], [1, 2] and [Upper] as written."),
        ):
            """Run the app in [blue]development[/blue] mode."""
    '''
    interface = _interface(repo_files, source)

    assert interface["description"] == "Run the app in development mode."
    assert interface["parameters"]["properties"] == {
        "port": {"type": "integer", "description": "Port to bind.", "default": 8000},
        "note": {
            "type": "string",
            "description": "Keep [y/n], [1, 2] and [Upper] as written.",
            "default": "",
        },
    }


def test_rich_markup_is_stripped_only_for_rich_click(repo_files: MakeRepo) -> None:
    command = '''
        import {module} as click

        @click.command()
        @click.option("--name", help="Who to [bold]greet[/bold].")
        def hello(name):
            """Say [green]hello[/]."""
    '''
    rich = _interface(repo_files, command.format(module="rich_click"))
    plain = _interface(repo_files, command.format(module="click"))

    assert (rich["description"], rich["parameters"]["properties"]["name"]) == (
        "Say hello.",
        {"type": "string", "description": "Who to greet."},
    )
    assert (plain["description"], plain["parameters"]["properties"]["name"]) == (
        "Say [green]hello[/].",
        {"type": "string", "description": "Who to [bold]greet[/bold]."},
    )
