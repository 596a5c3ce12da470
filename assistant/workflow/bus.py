"""The context bus: how data moves from one step to the next.

Small values travel inline in the step's outputs (JSON). Files become artifacts of the run,
stored once by content (``memory.artifacts``) so a file that several steps read, or that two
map items produce identically, is never copied twice. When a step takes a file in a format it
does not accept, the bus converts it (``memory.converters``) and keeps the converted file as an
artifact too, so a resumed run finds it instead of converting again. A list or object handed to
a file parameter is written as a JSON artifact: plugins get files where they ask for paths.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from adapters.base import PluginResult
from assistant.workflow.targets import Target
from memory.artifacts import ArtifactStore
from memory.converters import (
    Conversion,
    ConversionError,
    conversion,
    convert_file,
    format_of_path,
)


def plan_conversion(source: str, accepted: list[str]) -> Conversion | None:
    """How a file in ``source`` format reaches a capability accepting ``accepted``: as it is
    (an identity conversion: the same format, or ``image`` and a picture format), converted to
    the first accepted format that can be reached, or not at all (None)."""
    found = [c for a in accepted if (c := conversion(source, a)) is not None]
    return next((c for c in found if c.identity), next(iter(found), None))


class Bus:
    """A run's artifacts (``RUN_DIR/artifacts``) and the formats of the files in it."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.store = ArtifactStore(run_dir / "artifacts")
        self.formats: dict[str, str] = {}

    def keep(self, result: PluginResult, target: Target, workdir: Path) -> None:
        """Move the files a step produced into the artifact store and point its outputs at
        the stored copies (hard links: nothing is copied on the same filesystem).

        Only regular files inside the step's own folder are taken: a plugin that declares a
        symbolic link (to ~/.ssh/id_rsa, say) or a path outside its folder must not get Mark-1,
        which runs unconfined, to read that file for it (or link and lock it).
        """
        if not result.artifacts:
            return
        folder = os.path.realpath(workdir) + os.sep
        for path in result.artifacts:
            if os.path.islink(path) or not os.path.realpath(path).startswith(folder):
                raise ValueError(
                    f"the step declared {path} as its file, which is a symbolic link or lies "
                    "outside its own folder: refused"
                )
        produced = {v: k for k, v in result.outputs.items() if isinstance(v, str)}
        moved: dict[str, str] = {}
        for path in result.artifacts:
            name = produced.get(path)
            fmt = target.produces.get(name) if name else None
            artifact = self.store.put(Path(path), format=fmt or format_of_path(Path(path)))
            moved[path] = str(artifact.path)
            if artifact.format:
                self.formats[str(artifact.path)] = artifact.format
        result.artifacts = [moved[p] for p in result.artifacts]
        result.outputs = {k: _swap(v, moved) for k, v in result.outputs.items()}

    def save_as(self, result: PluginResult, file_name: str) -> str | None:
        """The artifact a step produced that ``outputs: {x: file_name}`` names: the one with that
        name, else the only one of that type; stored under ``file_name``."""
        suffix = Path(file_name).suffix.lower()
        named = [a for a in result.artifacts if Path(a).name == file_name]
        typed = [a for a in result.artifacts if Path(a).suffix.lower() == suffix]
        chosen = named or (typed if len(typed) == 1 else [])
        if not chosen:
            return None
        artifact = self.store.put(Path(chosen[0]), name=file_name)
        return str(artifact.path)

    def deliver(self, inputs: dict[str, Any], target: Target, base: Path) -> dict[str, Any]:
        """The inputs as ``target`` needs them: its file parameters given files it accepts."""
        files = target.file_inputs()
        if not files:
            return inputs
        delivered = dict(inputs)
        for name in files & set(inputs):
            delivered[name] = self._file(name, inputs[name], target, base)
        return delivered

    def _file(self, name: str, value: Any, target: Target, base: Path) -> Any:
        if isinstance(value, dict | list) and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            data = json.dumps(value, ensure_ascii=False, indent=1).encode()
            artifact = self.store.put_bytes(data, name=f"{name}.json", format="json")
            self.formats[str(artifact.path)] = "json"
            return self._converted(str(artifact.path), target, name)
        if isinstance(value, str) and value:
            path = Path(value) if Path(value).is_absolute() else base / value
            return self._converted(str(path), target, name)
        return value

    def _converted(self, path: str, target: Target, name: str) -> str:
        fmt = self.formats.get(path) or format_of_path(Path(path))
        if fmt is None or not target.input_formats or not Path(path).is_file():
            return path
        planned = plan_conversion(fmt, target.input_formats)
        if planned is None or planned.identity:
            return path
        with tempfile.TemporaryDirectory(dir=self.run_dir) as scratch:
            try:
                out = convert_file(Path(path), planned.source, planned.target, Path(scratch))
            except ConversionError as exc:
                raise ConversionError(f"input '{name}' of {target.qualified}: {exc}") from exc
            artifact = self.store.put(out, format=planned.target)
        self.formats[str(artifact.path)] = planned.target
        return str(artifact.path)


def _swap(value: Any, moved: dict[str, str]) -> Any:
    if isinstance(value, str):
        return moved.get(value, value)
    if isinstance(value, list):
        return [_swap(v, moved) for v in value]
    return value
