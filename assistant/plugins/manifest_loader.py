"""Read ``mark1.plugin.yml`` into a ``Manifest``, with errors that point into the file
(``located_yaml`` keeps every position; the authoring forms mirror the YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from assistant import paths
from assistant.errors import Location, ManifestError
from assistant.located_yaml import Marks, compose, indent, located, validation_error
from assistant.plugins.manifest import Manifest
from assistant.plugins.manifest_forms import SCHEMA_VERSIONS, FlatManifest, V1Manifest

DOCUMENT = "mark1.plugin.yml"

SKELETON_V1 = """schema_version: "1.0"
plugin: {name: my-tool, description: What it does}
capabilities:
  - name: do-thing
    description: What this capability does
entry_points:
  - {capability: do-thing, type: cli, command: python tool.py}"""

SKELETON_FLAT = """name: my-tool
entry_points:
  - command: do-thing
    script: tool.py"""


def find_manifest(folder: Path) -> Path | None:
    """The manifest at the root of a plugin folder, if there is one."""
    return next((folder / n for n in paths.MANIFEST_NAMES if (folder / n).is_file()), None)


def load_manifest(path: Path) -> Manifest:
    """Load and normalise the manifest at ``path``; raise ``ManifestError`` pointing into it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ManifestError(f"no manifest at {path}", hint="create mark1.plugin.yml") from exc
    except UnicodeDecodeError as exc:
        raise ManifestError("the manifest is not UTF-8 text", where=Location(path)) from exc
    return parse_manifest(text, path)


def parse_manifest(text: str, path: Path | str = paths.MANIFEST_NAMES[0]) -> Manifest:
    data, marks = compose(text, path, document=DOCUMENT, error=ManifestError)
    if data is None:
        raise ManifestError(
            "the manifest is empty",
            where=Location(path, 1, 1),
            hint=f"a minimal manifest is:\n{indent(SKELETON_V1)}",
        )
    if not isinstance(data, dict):
        raise ManifestError(
            "a manifest must be a mapping of keys to values",
            where=Location(path, 1, 1),
            hint=f"a minimal manifest is:\n{indent(SKELETON_V1)}",
        )
    form_cls, skeleton = _detect_form(data, marks, path)
    try:
        form = form_cls.model_validate(data)
    except ValidationError as exc:
        raise validation_error(
            exc, form_cls, marks, path, _shape(skeleton), ManifestError
        ) from None
    problems = form.cross_check()
    if problems:
        raise located(problems, marks, path, _shape(skeleton), ManifestError)
    return form.normalise()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of both authoring forms, for editors and `mark1 plugin schema`."""
    schema = TypeAdapter(V1Manifest | FlatManifest).json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Mark-1 plugin manifest (mark1.plugin.yml)"
    return schema


def _detect_form(data: dict[str, Any], marks: Marks, path: Path | str) -> tuple[Any, str]:
    if "schema_version" in data:
        version = str(data["schema_version"])
        if version not in SCHEMA_VERSIONS:
            line, col = marks.get(("schema_version",), (1, 1))
            raise ManifestError(
                f"schema_version '{version}' is not supported by this Mark-1",
                where=Location(path, line, col),
                hint=f'supported: {", ".join(SCHEMA_VERSIONS)}; write schema_version: "1.0" '
                "(quoted), or upgrade Mark-1",
            )
        data["schema_version"] = version
        return V1Manifest, SKELETON_V1
    if "plugin" in data or "capabilities" in data and "name" not in data:
        raise ManifestError(
            "this looks like the versioned form but has no schema_version",
            where=Location(path, 1, 1),
            hint='add schema_version: "1.0" as the first line',
        )
    return FlatManifest, SKELETON_FLAT


def _shape(skeleton: str) -> str:
    return f"the expected shape (see `mark1 plugin schema` for every field):\n{indent(skeleton)}"
