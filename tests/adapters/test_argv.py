"""Inputs -> command line."""

from __future__ import annotations

from adapters.argv import POSITIONAL_KEY, build_argv

SCHEMA = {
    "type": "object",
    "properties": {
        "input": {"type": "string"},
        "width": {"type": "integer"},
        "verbose": {"type": "boolean"},
        "tags": {"type": "array"},
        "dry_run": {"type": "boolean"},
        "meta": {"type": "object"},
    },
}


def test_defaults_flags_in_schema_order() -> None:
    inputs = {"width": 3, "input": "a.png", "verbose": True, "dry_run": False, "tags": ["x", "y"]}
    assert build_argv(["tool"], inputs, SCHEMA) == [
        "tool",
        "--input",
        "a.png",
        "--width",
        "3",
        "--verbose",
        "--tags",
        "x",
        "--tags",
        "y",
    ]


def test_mappings_positions_styles_joins_and_false_flags() -> None:
    args = {
        "input": {"position": 0},
        "width": {"flag": "-w", "style": "equals"},
        "tags": {"join": ","},
        "dry_run": {"false_flag": "--no-dry-run"},
    }
    inputs = {
        "input": "a.png",
        "width": 3,
        "tags": ["x", "y"],
        "dry_run": False,
        "meta": {"k": 1},
        POSITIONAL_KEY: ["extra"],
    }
    assert build_argv(["tool", "go"], inputs, SCHEMA, args) == [
        "tool",
        "go",
        "a.png",
        "extra",
        "-w=3",
        "--tags",
        "x,y",
        "--no-dry-run",
        "--meta",
        '{"k": 1}',
    ]


def test_none_is_left_out_and_undeclared_inputs_follow() -> None:
    assert build_argv(["t"], {"width": None, "other_thing": 1.5}, SCHEMA) == [
        "t",
        "--other-thing",
        "1.5",
    ]


def test_a_flag_followed_by_several_values() -> None:
    """click ``type=(int, int)`` / argparse ``nargs=2``: ``--size 640 480``, once per pair."""
    args = {"size": {"flag": "--size", "nargs": 2}, "box": {"flag": "--box", "nargs": 2}}
    argv = build_argv(["tool"], {"size": [640, 480], "box": [[1, 2], [3, 4]]}, None, args)
    assert argv == ["tool", "--size", "640", "480", "--box", "1", "2", "--box", "3", "4"]
