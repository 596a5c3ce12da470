"""library_functions: a library's exported functions, found where they are defined."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.plugins.analysis.files import RepoFiles
from assistant.plugins.analysis.profile import EntryPointFinding, Evidence, Interface
from assistant.plugins.analysis.python_api import library_functions

MakeRepo = Callable[[dict[str, str]], RepoFiles]

LIBRARY = {
    "setup.py": "from setuptools import setup\nsetup(name='imgkit')\n",
    "src/imgkit/__init__.py": '''
        """Image helpers."""
        from .ops import resize, _private, Thumbnailer
        from .convert import to_gray as grayscale
        from ._impl import variadic, keyword_only

        __all__ = ["resize", "grayscale", "Thumbnailer", "VERSION", "variadic", "shout"]
        __all__ += ["keyword_only", "_private"]
        VERSION = "1.0"


        def shout(text: str) -> str:
            """Upper-case the text.

            Loudly.
            """
            return text.upper()
    ''',
    "src/imgkit/ops.py": '''
        from pathlib import Path


        def resize(image: Path, width: int = 800) -> Path:
            """Resize an image to a width.

            Args:
                image: The picture.
                width: Target width in pixels.
            """


        def _private():
            pass


        class Thumbnailer:
            def run(self, image):
                pass
    ''',
    "src/imgkit/convert.py": "from ._gray import to_gray\n",
    "src/imgkit/_gray.py": "def to_gray(path: str, levels: int = 256):\n    pass\n",
    "src/imgkit/_impl.py": """
        def variadic(*args, **kwargs):
            pass


        def keyword_only(*, scale: float):
            pass
    """,
    "tests/__init__.py": "",
    "tests/test_ops.py": "def test_resize():\n    pass\n",
    "examples/demo/__init__.py": "def demo(x):\n    pass\n",
}


def _signature(
    rel: str,
    line: int,
    detail: str,
    properties: dict[str, Any],
    required: list[str],
    description: str = "",
) -> Interface:
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    parameters["additionalProperties"] = False
    return Interface(
        framework="signature",
        description=description,
        parameters=parameters,
        evidence=Evidence(file=rel, line=line, detail=detail),
    )


def _finding(
    name: str,
    module: str,
    rel: str,
    line: int,
    detail: str,
    interface: Interface,
    *,
    confidence: float,
    description: str = "",
    function: str | None = None,
) -> EntryPointFinding:
    return EntryPointFinding(
        kind="python_function",
        name=name,
        module=module,
        function=function or name,
        file=rel,
        line=line,
        description=description,
        interface=interface,
        evidence=[Evidence(file=rel, line=line, detail=detail)],
        confidence=confidence,
    )


def test_exports_of_a_package_with_all(repo_files: MakeRepo) -> None:
    found = library_functions(repo_files(LIBRARY))

    resize_line = "def resize(image: Path, width: int = 800) -> Path:"
    gray_line = "def to_gray(path: str, levels: int = 256):"
    shout_line = "def shout(text: str) -> str:"
    assert found == [
        _finding(
            "resize", "imgkit.ops", "src/imgkit/ops.py", 4, resize_line,
            _signature(
                "src/imgkit/ops.py", 4, resize_line,
                {
                    "image": {"type": "string", "format": "path", "description": "The picture."},
                    "width": {
                        "type": "integer",
                        "description": "Target width in pixels.",
                        "default": 800,
                    },
                },
                ["image"],
                "Resize an image to a width.",
            ),
            description="Resize an image to a width.",
            confidence=0.8,
        ),
        _finding(
            "grayscale", "imgkit._gray", "src/imgkit/_gray.py", 1, gray_line,
            _signature(
                "src/imgkit/_gray.py", 1, gray_line,
                {
                    "path": {"type": "string", "format": "path"},
                    "levels": {"type": "integer", "default": 256},
                },
                ["path"],
            ),
            function="to_gray",
            confidence=0.5,
        ),
        _finding(
            "shout", "imgkit", "src/imgkit/__init__.py", 11, shout_line,
            _signature(
                "src/imgkit/__init__.py", 11, shout_line,
                {"text": {"type": "string"}},
                ["text"],
                "Upper-case the text.",
            ),
            description="Upper-case the text.",
            confidence=0.8,
        ),
        _finding(
            "keyword_only", "imgkit._impl", "src/imgkit/_impl.py", 5,
            "def keyword_only(*, scale: float):",
            _signature(
                "src/imgkit/_impl.py", 5, "def keyword_only(*, scale: float):",
                {"scale": {"type": "number"}},
                ["scale"],
            ),
            confidence=0.5,
        ),
    ]  # fmt: skip


def test_exports_without_all_and_a_project_folder(repo_files: MakeRepo) -> None:
    files = repo_files(
        {
            "tools/geo/geokit/__init__.py": '''
                from os import path
                from .core import distance
                from . import core


                def _hidden():
                    pass


                async def locate(address: str) -> tuple:
                    """Find an address."""
            ''',
            "tools/geo/geokit/core.py": "def distance(a: tuple, b: tuple) -> float:\n    pass\n",
        }
    )

    found = library_functions(files)

    assert [(f.name, f.module, f.function, f.root, f.line) for f in found] == [
        ("distance", "geokit.core", "distance", "tools/geo", 1),
        ("locate", "geokit", "locate", "tools/geo", 10),
    ]
    assert found[1].interface is not None
    assert found[1].interface.parameters == {
        "type": "object",
        "properties": {"address": {"type": "string"}},
        "required": ["address"],
        "additionalProperties": False,
    }
    assert found[0].interface is not None
    assert found[0].interface.parameters["properties"] == {
        "a": {"type": "array"},
        "b": {"type": "array"},
    }


def test_at_most_thirty_functions_per_package(repo_files: MakeRepo) -> None:
    body = "".join(f"def f{i}(x: int):\n    pass\n" for i in range(40))
    found = library_functions(repo_files({"many/__init__.py": body}))

    assert [f.name for f in found] == [f"f{i}" for i in range(30)]
