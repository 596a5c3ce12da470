"""The shape of a workflow as a graph: names, dependencies, cycles, references, reachability.

These checks need no installed plugin, so they run first and on any machine (an agent's plan
is checked the same way before it is shown). Every problem keeps the data path of the part at
fault so the loader can name its line and column.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.workflow.expressions import (
    Expression,
    ExpressionError,
    Reference,
    Template,
    parse_condition,
    parse_template,
)
from assistant.workflow.loader import LoadedWorkflow, Problem
from assistant.workflow.model import GlobItems, Step, Workflow

STEP_FIELDS = ("outputs", "status", "items", "artifacts", "error")
RUN_ROOTS = ("workflow", "steps", "env", "secrets")


@dataclass
class Graph:
    """Dependencies resolved: who waits for whom, in an order that respects it."""

    order: list[str]
    upstream: dict[str, set[str]]  # every step a step (transitively) waits for
    fallbacks: dict[str, str]  # fallback step -> the step it stands in for
    unreachable: dict[str, str] = field(default_factory=dict)  # step -> why it never runs
    templates: dict[tuple[Any, ...], Template] = field(default_factory=dict)
    conditions: dict[tuple[Any, ...], Expression] = field(default_factory=dict)


def check_graph(loaded: LoadedWorkflow) -> tuple[Graph, list[Problem]]:
    """The graph of ``loaded`` and every structural problem in it."""
    wf = loaded.workflow
    problems: list[Problem] = []
    index = {s.name: i for i, s in enumerate(wf.steps)}
    seen: set[str] = set()
    for i, step in enumerate(wf.steps):
        if step.name in seen:
            problems.append(
                Problem(
                    ("steps", i, "name"),
                    f"a second step is named '{step.name}'",
                    "rename one of them: step names must be unique",
                )
            )
        seen.add(step.name)
    for i, step in enumerate(wf.steps):
        for j, dep in enumerate(step.depends_on):
            if dep not in index:
                problems.append(
                    Problem(
                        ("steps", i, "depends_on", j),
                        f"depends on '{dep}', which is not a step of this workflow",
                        _did_you_mean(dep, list(index)),
                    )
                )
            elif dep == step.name:
                problems.append(
                    Problem(
                        ("steps", i, "depends_on", j),
                        "a step cannot depend on itself",
                        f"remove '{dep}' from its depends_on",
                    )
                )
    fallbacks = _fallbacks(wf, index, problems)
    cycle = _find_cycle(wf, index)
    if cycle:
        first = index[cycle[0]]
        problems.append(
            Problem(
                ("steps", first, "depends_on"),
                "the steps depend on each other in a circle: " + " -> ".join(cycle),
                f"remove '{cycle[1]}' from the depends_on of '{cycle[0]}' (or break the circle "
                "elsewhere)",
            )
        )
        return Graph([s.name for s in wf.steps], {s.name: set() for s in wf.steps}, {}), problems
    order = _topological(wf, index)
    upstream: dict[str, set[str]] = {}
    for name in order:
        step = wf.steps[index[name]]
        found: set[str] = set()
        for dep in step.depends_on:
            if dep in index and dep != name:
                found |= {dep, *upstream.get(dep, set())}
        upstream[name] = found
    graph = Graph(order, upstream, fallbacks)
    _check_fallback_placement(wf, index, graph, problems)
    _check_expressions(loaded, graph, index, problems)
    _find_unreachable(wf, graph)
    for name, why in graph.unreachable.items():
        problems.append(
            Problem(
                ("steps", index[name], "if" if wf.steps[index[name]].if_ else "depends_on"),
                f"step '{name}' can never run: {why}",
                "remove the step or fix its condition",
            )
        )
    return graph, problems


def _fallbacks(wf: Workflow, index: dict[str, int], problems: list[Problem]) -> dict[str, str]:
    found: dict[str, str] = {}
    for i, step in enumerate(wf.steps):
        target = step.fallback
        if target is None:
            continue
        loc = ("steps", i, "on_error", "fallback")
        if target not in index:
            problems.append(
                Problem(
                    loc, f"fallback '{target}' is not a step", _did_you_mean(target, list(index))
                )
            )
        elif target == step.name:
            problems.append(Problem(loc, "a step cannot be its own fallback", "name another step"))
        elif target in found:
            problems.append(
                Problem(
                    loc,
                    f"'{target}' is already the fallback of '{found[target]}'",
                    f"give '{step.name}' its own fallback: a copy of '{target}' under another name",
                )
            )
        else:
            found[target] = step.name
    return found


def _check_fallback_placement(
    wf: Workflow, index: dict[str, int], graph: Graph, problems: list[Problem]
) -> None:
    """A fallback runs in its primary's place, so it may only wait for what the primary waits
    for, and nothing may wait for the fallback itself (they wait for the primary)."""
    for fallback, primary in graph.fallbacks.items():
        extra = graph.upstream[fallback] - graph.upstream[primary]
        if extra:
            problems.append(
                Problem(
                    ("steps", index[fallback], "depends_on"),
                    f"fallback '{fallback}' waits for {sorted(extra)}, which '{primary}' "
                    "does not wait for",
                    f"a fallback runs in place of '{primary}': depend only on its dependencies",
                )
            )
        for name in graph.order:
            if name != primary and fallback in wf.steps[index[name]].depends_on:
                problems.append(
                    Problem(
                        ("steps", index[name], "depends_on"),
                        f"'{fallback}' only runs as the fallback of '{primary}'",
                        f"depend on '{primary}' instead: its outputs are the fallback's when it "
                        "fails",
                    )
                )


def _find_cycle(wf: Workflow, index: dict[str, int]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for dep in wf.steps[index[name]].depends_on:
            if dep not in index or dep == name:
                continue
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return None

    for step in wf.steps:
        if step.name not in state:
            cycle = visit(step.name)
            if cycle:
                return cycle
    return None


def _topological(wf: Workflow, index: dict[str, int]) -> list[str]:
    """Steps in file order, each after everything it depends on."""
    done: list[str] = []
    placed: set[str] = set()

    def place(name: str) -> None:
        if name in placed:
            return
        placed.add(name)
        for dep in wf.steps[index[name]].depends_on:
            if dep in index and dep != name:
                place(dep)
        done.append(name)

    for step in wf.steps:
        place(step.name)
    return done


def _check_expressions(
    loaded: LoadedWorkflow, graph: Graph, index: dict[str, int], problems: list[Problem]
) -> None:
    """Parse every ``${...}`` and condition once, and check what each one refers to."""
    wf = loaded.workflow
    for i, step in enumerate(wf.steps):
        base = ("steps", i)
        scope = _step_roots(step)
        for loc, text in _strings(step.inputs, (*base, "inputs")):
            _parse_and_check(
                graph.templates, parse_template, graph, loc, text, step, scope, wf, problems
            )
        if isinstance(step.for_each, str):
            _parse_and_check(
                graph.templates,
                parse_template,
                graph,
                (*base, "for_each"),
                step.for_each,
                step,
                RUN_ROOTS,
                wf,
                problems,
            )
        elif isinstance(step.for_each, list):
            for loc, text in _strings(step.for_each, (*base, "for_each")):
                _parse_and_check(
                    graph.templates, parse_template, graph, loc, text, step, RUN_ROOTS, wf, problems
                )
        elif step.parallel > 1 and step.for_each is None:
            problems.append(
                Problem(
                    (*base, "parallel"),
                    "parallel only applies to the items of for_each",
                    "add for_each, or remove parallel (independent steps already run at once)",
                )
            )
        if step.if_ is not None:
            _parse_and_check(
                graph.conditions,
                parse_condition,
                graph,
                (*base, "if"),
                step.if_,
                step,
                RUN_ROOTS,
                wf,
                problems,
            )
        if step.loop is not None:
            roots = (*RUN_ROOTS, "outputs", "iteration")
            _parse_and_check(
                graph.conditions,
                parse_condition,
                graph,
                (*base, "loop", "until"),
                step.loop.until,
                step,
                roots,
                wf,
                problems,
            )
    for loc, text in _strings(wf.outputs, ("outputs",)):
        _parse_and_check(
            graph.templates, parse_template, graph, loc, text, None, RUN_ROOTS, wf, problems
        )


def _step_roots(step: Step) -> tuple[str, ...]:
    if step.for_each is not None:
        return (*RUN_ROOTS, step.as_, "index")
    if step.loop is not None:
        return (*RUN_ROOTS, "iteration", "previous")
    return RUN_ROOTS


def _strings(value: Any, loc: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str):
        return [(loc, value)]
    if isinstance(value, dict):
        return [found for k, v in value.items() for found in _strings(v, (*loc, k))]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in _strings(v, (*loc, i))]
    return []


def _parse_and_check(
    into: dict[tuple[Any, ...], Any],
    parser: Callable[[str], Template | Expression],
    graph: Graph,
    loc: tuple[Any, ...],
    text: str,
    step: Step | None,
    roots: tuple[str, ...],
    wf: Workflow,
    problems: list[Problem],
) -> None:
    """Parse ``text`` once (kept in ``into`` for the engine) and check what it refers to."""
    try:
        parsed = parser(text)
    except ExpressionError as exc:
        problems.append(Problem(loc, exc.message, exc.hint, exc.column - 1))
        return
    into[loc] = parsed
    for ref in parsed.references():
        _reference(graph, loc, ref, step, roots, wf, problems)


def _reference(
    graph: Graph,
    loc: tuple[Any, ...],
    ref: Reference,
    step: Step | None,
    roots: tuple[str, ...],
    wf: Workflow,
    problems: list[Problem],
) -> None:
    parts, offset = ref.parts, ref.column - 1
    root = str(parts[0])
    shown = ".".join(str(p) for p in parts)
    if root not in roots:
        problems.append(
            Problem(
                loc,
                f"'{root}' is not something a reference can start with here ({shown})",
                f"start with one of: {', '.join(roots)}" + _guess(root, list(roots)),
                offset,
            )
        )
    elif root == "workflow":
        if len(parts) < 3 or parts[1] != "inputs":
            problems.append(
                Problem(loc, f"'{shown}' names no input", "write workflow.inputs.NAME", offset)
            )
        elif wf.inputs and parts[2] not in wf.inputs:
            problems.append(
                Problem(
                    loc,
                    f"the workflow declares no input '{parts[2]}'",
                    f"declare it under inputs:, or use one of: {', '.join(wf.inputs)}"
                    + _guess(str(parts[2]), list(wf.inputs)),
                    offset,
                )
            )
    elif root == "steps":
        _step_reference(graph, loc, ref, step, wf, problems)


def _step_reference(
    graph: Graph,
    loc: tuple[Any, ...],
    ref: Reference,
    step: Step | None,
    wf: Workflow,
    problems: list[Problem],
) -> None:
    parts, offset = ref.parts, ref.column - 1
    names = list(dict.fromkeys(s.name for s in wf.steps))
    if len(parts) < 3 or parts[2] not in STEP_FIELDS:
        problems.append(
            Problem(
                loc,
                f"'{'.'.join(map(str, parts))}' does not name a step's result",
                f"write steps.NAME.outputs.KEY (or .{', .'.join(STEP_FIELDS[1:])})",
                offset,
            )
        )
        return
    target = str(parts[1])
    if target not in names:
        problems.append(
            Problem(loc, f"there is no step '{target}'", _did_you_mean(target, names), offset)
        )
        return
    if step is None:  # workflow outputs: read after every step has ended
        return
    if target == step.name and loc[2:4] == ("loop", "until"):
        return  # a loop's condition reads the run that just ended
    upstream = graph.upstream.get(step.name, set())
    primary = graph.fallbacks.get(step.name)
    if primary is not None:
        upstream = upstream | graph.upstream.get(primary, set())
    if target == step.name:
        problems.append(
            Problem(
                loc,
                f"step '{step.name}' cannot use its own result",
                "use an earlier step's result (a loop's until: reads this step's outputs.KEY)",
                offset,
            )
        )
    elif target == primary:
        problems.append(
            Problem(
                loc,
                f"fallback '{step.name}' runs in place of '{target}' and cannot use its result",
                f"give it what '{target}' reads: results of the steps '{target}' depends on",
                offset,
            )
        )
    elif target not in upstream:
        problems.append(
            Problem(
                loc,
                f"step '{step.name}' uses the result of '{target}', which does not run before it",
                f"add '{target}' to the depends_on of '{step.name}'",
                offset,
            )
        )


def _find_unreachable(wf: Workflow, graph: Graph) -> None:
    """Steps whose condition cannot hold (it refers to nothing and is false), and the steps
    that wait for them without ``on_error: continue``-like tolerance: they would always be
    skipped, which is almost always a mistake in the file."""
    from assistant.workflow.expressions import truthy

    for i, step in enumerate(wf.steps):
        condition = graph.conditions.get(("steps", i, "if"))
        if condition is not None and not condition.references():
            try:
                holds = truthy(condition.evaluate({}))
            except ExpressionError:
                continue
            if not holds:
                graph.unreachable[step.name] = f"its condition '{step.if_}' is always false"
    for name in graph.order:
        if name in graph.unreachable:
            continue
        blocked = sorted(graph.upstream[name] & set(graph.unreachable))
        if blocked:
            graph.unreachable[name] = f"it waits for '{blocked[0]}', which never runs"


def items_source(step: Step) -> str:
    """How the step's items are described in a plan: the glob or the expression."""
    if isinstance(step.for_each, GlobItems):
        return f"files matching {step.for_each.glob}"
    if isinstance(step.for_each, list):
        return f"{len(step.for_each)} listed items"
    return str(step.for_each)


def _did_you_mean(name: str, options: list[str]) -> str:
    guess = difflib.get_close_matches(name, options, n=1)
    known = ", ".join(options[:10])
    return (f"did you mean '{guess[0]}'? " if guess else "") + f"use one of the steps: {known}"


def _guess(name: str, options: list[str]) -> str:
    guess = difflib.get_close_matches(name, options, n=1)
    return f" (did you mean '{guess[0]}'?)" if guess else ""
