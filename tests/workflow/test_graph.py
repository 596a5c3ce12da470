"""The graph checks that need no plugin: order, dependencies, cycles, references, fallbacks and
steps that can never run, each problem at its file, line and column with the fix."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.errors import Location, WorkflowError
from assistant.workflow.graph import Graph, check_graph, items_source
from assistant.workflow.loader import parse_workflow

FUZZ = settings(database=None, deadline=None, max_examples=300)


def graph_of(text: str) -> Graph:
    """The graph of a workflow that has no problem."""
    graph, problems = check_graph(parse_workflow(text, "wf.yml"))
    assert problems == []
    return graph


def problems(text: str) -> str:
    """Every problem of the workflow in ``text``, rendered as the person sees them."""
    loaded = parse_workflow(text, "wf.yml")
    _, found = check_graph(loaded)
    assert found, "expected problems"
    return loaded.error(found).render()


def steps(*lines: str) -> str:
    """A workflow whose steps are core.echo calls, one flow mapping of extra keys per line."""
    body = "".join(f"  - {{plugin: core, capability: echo, {line}}}\n" for line in lines)
    return f"name: t\nsteps:\n{body}"


DIAMOND = """\
name: diamond
steps:
  - name: top
    plugin: core
    capability: echo
    inputs: {n: 1}
  - name: left
    plugin: core
    capability: echo
    depends_on: [top]
    inputs: {n: "${steps.top.outputs.n}"}
  - name: right
    plugin: core
    capability: echo
    depends_on: [top]
    on_error: {fallback: spare}
  - name: spare
    plugin: core
    capability: echo
    depends_on: [top]
  - name: bottom
    plugin: core
    capability: echo
    depends_on: [right, left]
    if: ${steps.left.outputs.n} > 0
    inputs:
      both: "${steps.top.outputs.n} and ${steps.right.outputs.n}"
outputs:
  all: ${steps.bottom.outputs}
  spare: ${steps.spare.status}
"""


def test_order_upstream_and_fallbacks() -> None:
    graph = graph_of(DIAMOND)

    assert graph.order == ["top", "left", "right", "spare", "bottom"]
    assert graph.upstream == {
        "top": set(),
        "left": {"top"},
        "right": {"top"},
        "spare": {"top"},
        "bottom": {"top", "left", "right"},
    }
    assert graph.fallbacks == {"spare": "right"}
    assert graph.unreachable == {}
    assert list(graph.templates) == [
        ("steps", 1, "inputs", "n"),
        ("steps", 4, "inputs", "both"),
        ("outputs", "all"),
        ("outputs", "spare"),
    ]
    assert list(graph.conditions) == [("steps", 4, "if")]


def test_steps_listed_before_their_dependencies_run_after_them() -> None:
    graph = graph_of(steps("name: c, depends_on: [b]", "name: b, depends_on: [a]", "name: a"))
    assert graph.order == ["a", "b", "c"]


def test_names_each_kind_of_step_may_read() -> None:
    graph_of(
        """\
name: scopes
inputs: {files: {type: array}}
steps:
  - name: map
    plugin: core
    capability: echo
    for_each: ${workflow.inputs.files}
    as: file
    parallel: 2
    inputs: {path: "${file}", at: "${index}", home: "${env.HOME}", key: "${secrets.K}"}
  - name: reduce
    plugin: core
    capability: echo
    depends_on: [map]
    inputs: {all: "${steps.map.outputs.path}", each: "${steps.map.items}"}
  - name: poll
    plugin: core
    capability: echo
    depends_on: [reduce]
    inputs: {n: "${iteration}", last: "${previous.n}"}
    loop: {until: "outputs.n >= 3 and steps.poll.status == 'succeeded' and iteration > 1"}
  - name: listed
    plugin: core
    capability: echo
    for_each: [1, "${workflow.inputs.files}"]
    inputs: {x: "${item}"}
  - name: globbed
    plugin: core
    capability: echo
    for_each: {glob: "data/*.csv"}
    parallel: 8
outputs:
  errors: ${steps.map.error}
  artifacts: ${steps.globbed.artifacts}
"""
    )


def test_items_source_describes_each_kind() -> None:
    wf = parse_workflow(
        steps(
            "name: a, for_each: {glob: '*.csv'}",
            "name: b, for_each: [1, 2, 3]",
            "name: c, for_each: '${workflow.inputs.x}'",
        )
    ).workflow
    assert [items_source(s) for s in wf.steps] == [
        "files matching *.csv",
        "3 listed items",
        "${workflow.inputs.x}",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            steps("name: a", "name: b, inputs: {x: '${steps.a.outputs.y}'}"),
            "wf.yml:4:62: steps[1].inputs.x: step 'b' uses the result of 'a', which does not "
            "run before it\n"
            "  hint: add 'a' to the depends_on of 'b'",
            id="not-upstream",
        ),
        pytest.param(
            steps("name: a", "name: b, if: steps.a.status == 'failed'"),
            "wf.yml:4:51: steps[1].if: step 'b' uses the result of 'a', which does not run "
            "before it\n"
            "  hint: add 'a' to the depends_on of 'b'",
            id="not-upstream-in-condition",
        ),
        pytest.param(
            steps(
                "name: extract", "name: b, depends_on: [extract], inputs: {x: '${steps.extrct}'}"
            ),
            "wf.yml:4:85: steps[1].inputs.x: 'steps.extrct' does not name a step's result\n"
            "  hint: write steps.NAME.outputs.KEY (or .status, .items, .artifacts, .error)",
            id="no-field",
        ),
        pytest.param(
            steps("name: extract", "name: b, inputs: {x: '${steps.extrct.outputs.y}'}"),
            "wf.yml:4:62: steps[1].inputs.x: there is no step 'extrct'\n"
            "  hint: did you mean 'extract'? use one of the steps: extract, b",
            id="missing-step",
        ),
        pytest.param(
            steps("name: a, inputs: {x: 'from ${step.a.outputs.y}'}"),
            "wf.yml:3:67: steps[0].inputs.x: 'step' is not something a reference can start "
            "with here (step.a.outputs.y)\n"
            "  hint: start with one of: workflow, steps, env, secrets (did you mean 'steps'?)",
            id="unknown-root",
        ),
        pytest.param(
            steps("name: a, inputs: {x: '${item}'}"),
            "wf.yml:3:62: steps[0].inputs.x: 'item' is not something a reference can start "
            "with here (item)\n"
            "  hint: start with one of: workflow, steps, env, secrets",
            id="item-without-for-each",
        ),
        pytest.param(
            steps("name: a, inputs: {x: '${workflow.name}'}"),
            "wf.yml:3:62: steps[0].inputs.x: 'workflow.name' names no input\n"
            "  hint: write workflow.inputs.NAME",
            id="workflow-without-inputs",
        ),
        pytest.param(
            "name: t\ninputs: {data_file: {}, limit: {type: integer}}\nsteps:\n"
            "  - name: a\n    plugin: core\n    capability: echo\n"
            "    inputs:\n      x: ${workflow.inputs.datafile}\n",
            "wf.yml:8:12: steps[0].inputs.x: the workflow declares no input 'datafile'\n"
            "  hint: declare it under inputs:, or use one of: data_file, limit (did you mean "
            "'data_file'?)",
            id="undeclared-input",
        ),
        pytest.param(
            steps("name: a, inputs: {x: '${steps.a.outputs.y}'}"),
            "wf.yml:3:62: steps[0].inputs.x: step 'a' cannot use its own result\n"
            "  hint: use an earlier step's result (a loop's until: reads this step's "
            "outputs.KEY)",
            id="own-result",
        ),
        pytest.param(
            steps("name: a, inputs: {x: 'total: ${1 +}'}"),
            "wf.yml:3:71: steps[0].inputs.x: unexpected '+'\n"
            "  hint: there is no arithmetic; compute values in a step",
            id="syntax-in-quoted",
        ),
        pytest.param(
            "name: t\nsteps:\n  - name: a\n    plugin: core\n    capability: echo\n"
            "    inputs:\n      x: total ${steps.a.outputs.x | nosuch}\n",
            "wf.yml:7:38: steps[0].inputs.x: unknown function 'nosuch'\n"
            "  hint: the functions are length, lower, upper, trim, default, join, split, first, "
            "last, keys, values, int, float, string, bool, contains, startswith, endswith, "
            "exists, empty, round, min, max, sum, sort, unique, json",
            id="syntax-in-plain",
        ),
        pytest.param(
            steps('name: a, if: "1 == = 2"'),
            "wf.yml:3:57: steps[0].if: '=' alone is not an operator\n  hint: compare with '=='",
            id="syntax-in-condition",
        ),
        pytest.param(
            steps("name: a, loop: {until: 'outputs.n >'}"),
            "wf.yml:3:73: steps[0].loop.until: expected a value, found the end of the text\n"
            "  hint: values are paths (steps.NAME.outputs.KEY), 'text', numbers, "
            "true/false/null, [lists] and function calls such as length(x)",
            id="syntax-in-until",
        ),
        pytest.param(
            steps("name: a, for_each: '${workflow.inputs.files'"),
            "wf.yml:3:58: steps[0].for_each: this '${' is never closed\n"
            "  hint: end the reference with '}', or write '$${' for a literal '${'",
            id="syntax-in-for-each",
        ),
        pytest.param(
            steps(
                "name: a, depends_on: [c]",
                "name: b, depends_on: [a]",
                "name: c, depends_on: [b]",
            ),
            "wf.yml:3:47: steps[0].depends_on: the steps depend on each other in a circle: "
            "a -> c -> b -> a\n"
            "  hint: remove 'c' from the depends_on of 'a' (or break the circle elsewhere)",
            id="cycle",
        ),
        pytest.param(
            steps("name: x", "name: a, depends_on: [b, x]", "name: b, depends_on: [a]"),
            "wf.yml:4:47: steps[1].depends_on: the steps depend on each other in a circle: "
            "a -> b -> a\n"
            "  hint: remove 'b' from the depends_on of 'a' (or break the circle elsewhere)",
            id="two-step-cycle",
        ),
        pytest.param(
            steps("name: a", "name: a"),
            "wf.yml:4:44: steps[1].name: a second step is named 'a'\n"
            "  hint: rename one of them: step names must be unique",
            id="duplicate-name",
        ),
        pytest.param(
            steps("name: extract", "name: b, depends_on: [extrat]"),
            "wf.yml:4:60: steps[1].depends_on[0]: depends on 'extrat', which is not a step of "
            "this workflow\n"
            "  hint: did you mean 'extract'? use one of the steps: extract, b",
            id="unknown-dependency",
        ),
        pytest.param(
            steps("name: a, depends_on: [a]"),
            "wf.yml:3:60: steps[0].depends_on[0]: a step cannot depend on itself\n"
            "  hint: remove 'a' from its depends_on",
            id="self-dependency",
        ),
        pytest.param(
            steps("name: a, parallel: 4"),
            "wf.yml:3:57: steps[0].parallel: parallel only applies to the items of for_each\n"
            "  hint: add for_each, or remove parallel (independent steps already run at once)",
            id="parallel-without-for-each",
        ),
        pytest.param(
            steps("name: a, on_error: {fallback: spar}", "name: spare"),
            "wf.yml:3:68: steps[0].on_error.fallback: fallback 'spar' is not a step\n"
            "  hint: did you mean 'spare'? use one of the steps: a, spare",
            id="missing-fallback",
        ),
        pytest.param(
            steps("name: a, on_error: {fallback: a}"),
            "wf.yml:3:68: steps[0].on_error.fallback: a step cannot be its own fallback\n"
            "  hint: name another step",
            id="own-fallback",
        ),
        pytest.param(
            steps(
                "name: a, on_error: {fallback: spare}",
                "name: b, on_error: {fallback: spare}",
                "name: spare",
            ),
            "wf.yml:4:68: steps[1].on_error.fallback: 'spare' is already the fallback of 'a'\n"
            "  hint: give 'b' its own fallback: a copy of 'spare' under another name",
            id="shared-fallback",
        ),
        pytest.param(
            steps(
                "name: x",
                "name: a, on_error: {fallback: spare}",
                "name: spare, depends_on: [x]",
            ),
            "wf.yml:5:51: steps[2].depends_on: fallback 'spare' waits for ['x'], which 'a' "
            "does not wait for\n"
            "  hint: a fallback runs in place of 'a': depend only on its dependencies",
            id="fallback-waits-for-more",
        ),
        pytest.param(
            steps(
                "name: a, on_error: {fallback: spare}",
                "name: spare",
                "name: after, depends_on: [spare]",
            ),
            "wf.yml:5:51: steps[2].depends_on: 'spare' only runs as the fallback of 'a'\n"
            "  hint: depend on 'a' instead: its outputs are the fallback's when it fails",
            id="depends-on-fallback",
        ),
        pytest.param(
            steps(
                "name: a, on_error: {fallback: spare}",
                "name: spare, inputs: {e: '${steps.a.error}'}",
            ),
            "wf.yml:4:66: steps[1].inputs.e: fallback 'spare' runs in place of 'a' and cannot "
            "use its result\n"
            "  hint: give it what 'a' reads: results of the steps 'a' depends on",
            id="fallback-reads-its-step",
        ),
        pytest.param(
            steps("name: a, if: 1 > 2", "name: b, depends_on: [a]", "name: c, depends_on: [b]"),
            "wf.yml:3:51: steps[0].if: step 'a' can never run: its condition '1 > 2' is always "
            "false\n"
            "  also wf.yml:4:47: steps[1].depends_on: step 'b' can never run: it waits for 'a', "
            "which never runs\n"
            "    fix: remove the step or fix its condition\n"
            "  also wf.yml:5:47: steps[2].depends_on: step 'c' can never run: it waits for 'a', "
            "which never runs\n"
            "    fix: remove the step or fix its condition\n"
            "  hint: remove the step or fix its condition",
            id="unreachable",
        ),
        pytest.param(
            steps("name: a", "name: b, if: \"false and ${steps.a.status == 'x'}\""),
            "wf.yml:4:64: steps[1].if: step 'b' uses the result of 'a', which does not run "
            "before it\n"
            "  hint: add 'a' to the depends_on of 'b'",
            id="condition-with-a-reference-is-not-constant",
        ),
        pytest.param(
            "name: t\nsteps:\n  - {name: a, plugin: core, capability: echo}\n"
            "outputs:\n  r: ${steps.b.outputs.x}\n",
            "wf.yml:5:8: outputs.r: there is no step 'b'\n  hint: use one of the steps: a",
            id="workflow-output",
        ),
    ],
)
def test_each_problem_is_located_with_its_fix(text: str, expected: str) -> None:
    assert problems(text) == expected


def test_several_problems_are_all_reported() -> None:
    text = """\
name: many
inputs: {limit: {type: integer}}
steps:
  - name: fetch
    plugin: core
    capability: echo
    depends_on: [fetch]
    inputs: {n: "${workflow.inputs.limt}"}
  - name: fetch
    plugin: core
    capability: echo
    parallel: 2
    inputs:
      a: ${steps.nothing.outputs.x}
      b: "${oops(}"
"""
    loaded = parse_workflow(text, "wf.yml")
    with pytest.raises(WorkflowError) as caught:
        _, found = check_graph(loaded)
        raise loaded.error(found)

    assert caught.value.render() == (
        "wf.yml:9:11: steps[1].name: a second step is named 'fetch'\n"
        "  also wf.yml:7:18: steps[0].depends_on[0]: a step cannot depend on itself\n"
        "    fix: remove 'fetch' from its depends_on\n"
        "  also wf.yml:8:20: steps[0].inputs.n: the workflow declares no input 'limt'\n"
        "    fix: declare it under inputs:, or use one of: limit (did you mean 'limit'?)\n"
        "  also wf.yml:14:12: steps[1].inputs.a: there is no step 'nothing'\n"
        "    fix: use one of the steps: fetch\n"
        "  also wf.yml:15:18: steps[1].inputs.b: expected a value, found '}'\n"
        "    fix: values are paths (steps.NAME.outputs.KEY), 'text', numbers, true/false/null, "
        "[lists] and function calls such as length(x)\n"
        "  also wf.yml:12:15: steps[1].parallel: parallel only applies to the items of for_each\n"
        "    fix: add for_each, or remove parallel (independent steps already run at once)\n"
        "  hint: rename one of them: step names must be unique"
    )
    assert [(where, message) for where, message, _ in caught.value.problems] == [
        (Location("wf.yml", 9, 11), "a second step is named 'fetch'"),
        (Location("wf.yml", 7, 18), "a step cannot depend on itself"),
        (Location("wf.yml", 8, 20), "the workflow declares no input 'limt'"),
        (Location("wf.yml", 14, 12), "there is no step 'nothing'"),
        (Location("wf.yml", 15, 18), "expected a value, found '}'"),
        (Location("wf.yml", 12, 15), "parallel only applies to the items of for_each"),
    ]


# ---- fuzzing: any well-formed workflow gives a graph or located problems -----------------

NAMES = st.sampled_from(["a", "b", "c", "d"])
TEXTS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        ["${steps.a.outputs.x}", "${steps.b.items}", "${workflow.inputs.x}", "${", "1 ==", "false"]
        + ["true", "${item}", "${index}", "${steps.c.status == 'x'}", "outputs.x", "$${x}"]
        + ["${steps}", "${x | length}", "${steps.d.outputs.k[0]}", "${iteration}", "1 == 2"]
    ),
)
VALUES = st.recursive(
    st.one_of(st.none(), st.integers(), TEXTS),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["k", "x"]), inner, max_size=3)
    ),
    max_leaves=6,
)
STEPS = st.fixed_dictionaries(
    {"name": NAMES, "plugin": st.just("core"), "capability": st.just("echo")},
    optional={
        "depends_on": st.lists(NAMES, max_size=3),
        "inputs": st.dictionaries(st.sampled_from(["k", "x"]), VALUES, max_size=3),
        "if": TEXTS,
        "for_each": st.one_of(TEXTS, st.lists(VALUES, max_size=3)),
        "parallel": st.integers(1, 4),
        "on_error": st.one_of(
            st.sampled_from(["fail", "continue"]), st.builds(dict, fallback=NAMES)
        ),
        "as": st.sampled_from(["item", "f"]),
    },
)
WORKFLOWS: st.SearchStrategy[dict[str, Any]] = st.fixed_dictionaries(
    {"name": st.just("t"), "steps": st.lists(STEPS, min_size=1, max_size=4)},
    optional={"inputs": st.dictionaries(st.sampled_from(["x", "y"]), st.just({}), max_size=2)},
)


@FUZZ
@given(WORKFLOWS, st.booleans())
def test_any_workflow_gives_a_graph_or_located_problems(data: dict[str, Any], flow: bool) -> None:
    try:
        loaded = parse_workflow(yaml.safe_dump(data, default_flow_style=flow), "fuzz.yml")
    except WorkflowError:
        return  # for_each with loop, say: the loader's own tests cover these
    try:
        graph, found = check_graph(loaded)
    except Exception as exc:
        pytest.fail(f"{type(exc).__name__}: {exc} for {data!r}")
    if found:
        error = loaded.error(found)
        assert all(w.line is not None and w.column is not None for w, _, _ in error.problems)
    else:
        assert sorted(graph.order) == sorted({s["name"] for s in data["steps"]})
