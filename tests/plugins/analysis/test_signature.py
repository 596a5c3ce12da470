"""function_interface: a Python function's keyword inputs from its hints, defaults and docstring."""

from __future__ import annotations

import ast
from collections.abc import Callable

from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import Evidence
from assistant.plugins.analysis.signature import function_interface

MakeRepo = Callable[[dict[str, str]], RepoFiles]


def _function(files: RepoFiles, rel: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    tree = files.python(rel)
    assert tree is not None
    node = tree.body[-1]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    return node


def test_google_docstring_and_type_hints(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "imaging.py": '''
                from pathlib import Path
                from typing import Literal, Optional


                def resize(
                    self,
                    image: Path,
                    width: int,
                    height: Optional[int] = None,
                    mode: Literal["fit", "fill"] = "fit",
                    tags: list[str] = (),
                    options: "ResizeOptions | None" = None,
                    *extra,
                    out_file="out.png",
                    quality: float = 0.9,
                    strip: bool = False,
                    **more,
                ) -> Path:
                    """Resize an image
                    to the given size.

                    Longer explanation that is not the summary.

                    Args:
                        image (Path): The picture
                            to resize.
                        width: Target width in pixels.
                        mode: How to fit the box.

                    Returns:
                        The written file.
                    """
            '''
        }
    )
    evidence = Evidence(file="imaging.py", line=5)

    interface = function_interface(_function(files, "imaging.py"), evidence)

    assert interface.model_dump() == {
        "framework": "signature",
        "description": "Resize an image to the given size.",
        "parameters": {
            "type": "object",
            "properties": {
                "image": {
                    "type": "string",
                    "format": "path",
                    "description": "The picture to resize.",
                },
                "width": {"type": "integer", "description": "Target width in pixels."},
                "height": {"type": "integer"},
                "mode": {
                    "type": "string",
                    "enum": ["fit", "fill"],
                    "description": "How to fit the box.",
                    "default": "fit",
                },
                "tags": {"type": "array", "items": {"type": "string"}, "default": []},
                "options": {"type": "object"},
                "out_file": {"type": "string", "format": "path", "default": "out.png"},
                "quality": {"type": "number", "default": 0.9},
                "strip": {"type": "boolean", "default": False},
            },
            "required": ["image", "width"],
            "additionalProperties": False,
        },
        "args": {},
        "subcommands": {},
        "evidence": {"file": "imaging.py", "line": 5, "detail": ""},
    }


def test_numpy_docstring(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "stats.py": '''
                from typing import Sequence, Union


                async def summarize(values: Sequence[float], ddof: int = 0, by: Union[str, int] = "all", weights: dict = None):
                    """Summary statistics of a sample.

                    Parameters
                    ----------
                    values : sequence of float
                        The observations.
                    ddof : int, optional
                        Delta degrees
                        of freedom.

                    Returns
                    -------
                    dict
                        Mean and spread.
                    """
            '''
        }
    )

    interface = function_interface(_function(files, "stats.py"))

    assert interface.model_dump(exclude={"evidence"}) == {
        "framework": "signature",
        "description": "Summary statistics of a sample.",
        "parameters": {
            "type": "object",
            "properties": {
                "values": {
                    "type": "array",
                    "items": {"type": "number"},
                    "description": "The observations.",
                },
                "ddof": {
                    "type": "integer",
                    "description": "Delta degrees of freedom.",
                    "default": 0,
                },
                "by": {
                    "anyOf": [{"type": "string"}, {"type": "integer"}],
                    "default": "all",
                },
                "weights": {"type": "object"},
            },
            "required": ["values"],
            "additionalProperties": False,
        },
        "args": {},
        "subcommands": {},
    }


def test_sphinx_docstring_and_untyped_parameters(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "convert.py": '''
                def convert(source, scale=1.5, label="x"):
                    """Convert a file.

                    :param source: the file
                        to read
                    :param float scale: how much to scale
                    :returns: the converted text
                    """
            '''
        }
    )

    interface = function_interface(_function(files, "convert.py"))

    assert interface.parameters == {
        "type": "object",
        "properties": {
            "source": {"description": "the file to read"},
            "scale": {"type": "number", "description": "how much to scale", "default": 1.5},
            "label": {"type": "string", "default": "x"},
        },
        "required": ["source"],
        "additionalProperties": False,
    }
    assert interface.description == "Convert a file."
