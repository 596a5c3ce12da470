"""Everything that can be known about a workflow before it runs, checked at once.

After the graph checks: every step's plugin and capability is installed and enabled, its inputs
fit the capability's parameter schema, literal values and typed workflow inputs have the right
types, and where one step's file feeds another in a different format, the conversion that will
be applied is found (or the file is refused because none exists). All problems are reported
together, each at its line and column, so one edit round fixes them all.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.plugins import registry
from assistant.plugins.registry import PluginRecord
from assistant.workflow.builtins import BUILTINS, CORE_PLUGIN
from assistant.workflow.bus import plan_conversion
from assistant.workflow.graph import Graph, check_graph
from assistant.workflow.loader import LoadedWorkflow, Problem
from assistant.workflow.model import Step, Workflow
from assistant.workflow.targets import Target, builtin_target, plugin_target
from memory.store import Store

_SINGLE_REFERENCE = re.compile(r"^\$\{\s*[^${}|()]+\s*\}$")


@dataclass(frozen=True)
class ConversionNote:
    """A file that will be converted between two steps, shown in the plan."""

    step: str
    input: str
    source_step: str
    source_format: str
    target_format: str
    description: str


@dataclass
class CheckedWorkflow:
    """A workflow that passed every check, with what the engine needs to run it."""

    loaded: LoadedWorkflow
    graph: Graph
    targets: dict[str, Target]
    conversions: list[ConversionNote] = field(default_factory=list)

    @property
    def workflow(self) -> Workflow:
        return self.loaded.workflow


async def check_workflow(loaded: LoadedWorkflow, store: Store) -> CheckedWorkflow:
    """Check ``loaded`` against the graph rules and the installed plugins; raise
    ``WorkflowError`` listing every problem, or return what the engine needs."""
    from assistant.plugins.invoke import refresh_linked

    graph, problems = check_graph(loaded)
    await refresh_linked(store)
    installed = {p.name: p for p in await registry.list_plugins(store)}
    conversions: list[ConversionNote] = []
    wf = loaded.workflow
    found = [_target(step, i, installed, problems) for i, step in enumerate(wf.steps)]
    targets = {s.name: t for s, t in zip(wf.steps, found, strict=True) if t is not None}
    for i, (step, target) in enumerate(zip(wf.steps, found, strict=True)):
        if target is not None:  # each step's own target, even when two share a name
            _check_inputs(step, i, target, targets, wf, problems, conversions)
    if problems:
        raise loaded.error(problems)
    return CheckedWorkflow(loaded, graph, targets, conversions)


def _target(
    step: Step, i: int, installed: dict[str, PluginRecord], problems: list[Problem]
) -> Target | None:
    if step.plugin == CORE_PLUGIN:
        builtin = BUILTINS.get(step.capability)
        if builtin is None:
            problems.append(
                Problem(
                    ("steps", i, "capability"),
                    f"the core plugin has no capability '{step.capability}'",
                    f"core offers: {', '.join(BUILTINS)}",
                )
            )
            return None
        return builtin_target(builtin)
    record = installed.get(step.plugin)
    if record is None:
        guess = difflib.get_close_matches(step.plugin, list(installed), n=1)
        problems.append(
            Problem(
                ("steps", i, "plugin"),
                f"plugin '{step.plugin}' is not installed",
                (f"did you mean '{guess[0]}'? " if guess else "")
                + f"install it with `mark1 plugin install SOURCE` (installed: "
                f"{', '.join(sorted(installed)) or 'none'})",
            )
        )
        return None
    if not record.enabled:
        problems.append(
            Problem(
                ("steps", i, "plugin"),
                f"plugin '{step.plugin}' is disabled",
                f"`mark1 plugin enable {step.plugin}`",
            )
        )
        return None
    capability = record.manifest.capability(step.capability)
    if capability is None:
        names = [c.name for c in record.manifest.capabilities]
        guess = difflib.get_close_matches(step.capability, names, n=1)
        problems.append(
            Problem(
                ("steps", i, "capability"),
                f"plugin '{step.plugin}' has no capability '{step.capability}'",
                (f"did you mean '{guess[0]}'? " if guess else "") + f"it has: {', '.join(names)}",
            )
        )
        return None
    return plugin_target(record, capability)


def _check_inputs(
    step: Step,
    i: int,
    target: Target,
    targets: dict[str, Target],
    wf: Workflow,
    problems: list[Problem],
    conversions: list[ConversionNote],
) -> None:
    schema = target.parameters or {}
    props: dict[str, Any] = schema.get("properties") or {}
    loc = ("steps", i, "inputs")
    if schema.get("additionalProperties") is False:
        for name in step.inputs:
            if name not in props:
                guess = difflib.get_close_matches(name, list(props), n=1)
                problems.append(
                    Problem(
                        ("<key>", *loc, name),
                        f"{target.qualified} has no input '{name}'",
                        (f"did you mean '{guess[0]}'? " if guess else "")
                        + f"its inputs: {', '.join(props) or 'none'}",
                    )
                )
    missing = [
        name
        for name in schema.get("required") or []
        if name not in step.inputs and "default" not in (props.get(name) or {})
    ]
    if missing:
        problems.append(
            Problem(
                loc if step.inputs else ("steps", i),
                f"{target.qualified} needs the input(s) {', '.join(missing)}",
                f"add them under inputs:, e.g. {missing[0]}: ...  "
                f"(`mark1 capabilities show {target.qualified}` describes each)",
            )
        )
    for name, value in step.inputs.items():
        prop = props.get(name)
        if isinstance(prop, dict):
            _check_value(
                step, (*loc, name), name, value, prop, target, targets, wf, problems, conversions
            )


def _check_value(
    step: Step,
    loc: tuple[Any, ...],
    name: str,
    value: Any,
    prop: dict[str, Any],
    target: Target,
    targets: dict[str, Target],
    wf: Workflow,
    problems: list[Problem],
    conversions: list[ConversionNote],
) -> None:
    if not _has_reference(value):
        from jsonschema import Draft202012Validator

        error = next(iter(Draft202012Validator(prop).iter_errors(value)), None)
        if error is not None:
            problems.append(
                Problem(
                    loc,
                    error.message,
                    f"{target.qualified} expects {_describe(prop)}",
                )
            )
        return
    if not (isinstance(value, str) and _SINGLE_REFERENCE.match(value.strip())):
        return
    parts = _parts(value)
    if parts[:2] == ["workflow", "inputs"] and len(parts) == 3:
        declared = wf.inputs.get(parts[2])
        wanted = prop.get("type")
        if (
            declared is not None
            and isinstance(wanted, str)
            and not _types_fit(declared.type, wanted)
        ):
            problems.append(
                Problem(
                    loc,
                    f"{name} takes {wanted} but workflow input '{parts[2]}' is {declared.type}",
                    f"declare the input as type: {wanted}, or pass another value",
                )
            )
    elif parts[0] == "steps" and len(parts) >= 4 and parts[2] == "outputs":
        source = wf.step(parts[1])
        if source is None or source.name not in targets or name not in target.file_inputs():
            return
        fmt = output_format(source, targets[source.name], parts[3])
        if fmt is None or not target.input_formats:
            return
        planned = plan_conversion(fmt, target.input_formats)
        if planned is None:
            problems.append(
                Problem(
                    loc,
                    f"'{source.name}' gives {fmt}, and {target.qualified} accepts "
                    f"{', '.join(target.input_formats)}; no conversion exists between them",
                    "feed it a step whose output it accepts, or add a converting step",
                )
            )
        elif not planned.identity:
            conversions.append(
                ConversionNote(
                    step.name,
                    name,
                    source.name,
                    planned.source,
                    planned.target,
                    planned.description,
                )
            )


def output_format(step: Step, target: Target, key: str) -> str | None:
    """The format of file output ``key`` of ``step`` (through its ``outputs:`` aliases)."""
    real = step.outputs.get(key, key)
    if real in target.produces:
        return target.produces[real]
    suffix = Path(real).suffix.lstrip(".").lower()
    return suffix or None


def _has_reference(value: Any) -> bool:
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, dict):
        return any(_has_reference(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_reference(v) for v in value)
    return False


def _parts(value: str) -> list[str]:
    from assistant.workflow.expressions import parse_template

    refs = parse_template(value.strip()).references()
    return [str(p) for p in refs[0].parts] if len(refs) == 1 else []


def _types_fit(given: str, wanted: str) -> bool:
    return given == wanted or (given == "integer" and wanted == "number")


def _describe(prop: dict[str, Any]) -> str:
    kind = prop.get("type", "a value")
    extra = f" (one of {', '.join(map(str, prop['enum']))})" if "enum" in prop else ""
    return f"{kind}{extra}" + (f": {prop['description']}" if prop.get("description") else "")
