"""Read a workflow YAML file into a ``Workflow`` that remembers where each part was written,
so later checks (references, plugins, formats) can point at the line and column to fix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assistant.errors import Location, WorkflowError
from assistant.located_yaml import Loc, Marks, compose, dotted, indent, mark_for, validation_error
from assistant.workflow.model import Workflow

DOCUMENT = "workflow files"
SKELETON = """name: my-pipeline
inputs:
  data_file: {type: string, format: path}
steps:
  - name: extract
    plugin: csv-processor
    capability: extract-data
    inputs: {file: "${workflow.inputs.data_file}"}
  - name: analyse
    plugin: data-analyzer
    capability: statistical-analysis
    depends_on: [extract]
    inputs: {data: "${steps.extract.outputs.data}"}"""
SHAPE_HINT = f"the expected shape (`mark1 workflow schema` has every field):\n{indent(SKELETON)}"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a workflow, at a data path inside it (``("steps", 2, "inputs")``)."""

    loc: Loc
    message: str
    hint: str
    column_offset: int | None = None  # inside a string value: where the bad part starts


@dataclass
class LoadedWorkflow:
    """A parsed workflow and the positions of everything in its source."""

    workflow: Workflow
    path: Path | str
    marks: Marks = field(default_factory=dict)

    def where(self, loc: Loc, column_offset: int | None = None) -> Location:
        """The place of ``loc``; ``column_offset`` counts from the start of a string's text
        (a block scalar's text starts on a later line, so it is pointed at as a whole)."""
        if not self.marks:
            return Location(self.path)
        if column_offset is not None and ("<text>", *loc) in self.marks:
            line, column = self.marks[("<text>", *loc)]
            return Location(self.path, line, column + column_offset)
        return Location(self.path, *mark_for(loc, self.marks))

    def error(self, problems: Sequence[Problem]) -> WorkflowError:
        """One error naming every problem at its place; the first one's hint is the hint."""
        located = [(self.where(p.loc, p.column_offset), p) for p in problems]
        first_where, first = located[0]
        head = f"{_prefix(first.loc)}{first.message}"
        more = "".join(
            f"\n  also {w}: {_prefix(p.loc)}{p.message}\n    fix: {p.hint}" for w, p in located[1:]
        )
        return WorkflowError(
            head + more,
            where=first_where,
            hint=first.hint,
            problems=[(w, p.message, p.hint) for w, p in located],
        )


def load_workflow(path: Path) -> LoadedWorkflow:
    """Read and check the shape of the workflow in ``path`` (not yet its plugins)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise WorkflowError(
            f"no workflow file at {path}",
            hint="give the path of a .yml file, or the name of a saved workflow "
            "(`mark1 workflow list`)",
        ) from exc
    except IsADirectoryError as exc:
        raise WorkflowError(f"{path} is a folder", hint="give the workflow's .yml file") from exc
    except UnicodeDecodeError as exc:
        raise WorkflowError("the workflow is not UTF-8 text", where=Location(path)) from exc
    return parse_workflow(text, path)


def parse_workflow(text: str, path: Path | str = "workflow.yml") -> LoadedWorkflow:
    data, marks = compose(text, path, document=DOCUMENT, error=WorkflowError, word_keys=True)
    if not isinstance(data, dict):
        raise WorkflowError(
            "the workflow is empty" if data is None else "a workflow must be a mapping of keys",
            where=Location(path, 1, 1),
            hint=SHAPE_HINT,
        )
    return from_data(data, path, marks)


def from_data(
    data: dict[str, Any], path: Path | str = "plan", marks: Marks | None = None
) -> LoadedWorkflow:
    """A workflow from plain data (a plan the agent made, a saved definition)."""
    try:
        workflow = Workflow.model_validate(data)
    except ValidationError as exc:
        raise validation_error(
            exc, Workflow, marks or {}, path, SHAPE_HINT, WorkflowError, data
        ) from None
    return LoadedWorkflow(workflow, path, marks or {})


def _prefix(loc: Loc) -> str:
    shown = loc[1:] if loc[:1] == ("<key>",) else loc
    return f"{dotted(shown)}: " if shown else ""
