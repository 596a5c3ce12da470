"""Reading workflow files: the format's fields, and every YAML-level or shape mistake reported at
its file, line and column with the fix; fuzzing shows nothing but WorkflowError escapes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from assistant.errors import Location, WorkflowError
from assistant.workflow.loader import SHAPE_HINT, LoadedWorkflow, from_data, load_workflow
from assistant.workflow.loader import parse_workflow as parse
from assistant.workflow.model import Fallback, GlobItems, Loop, Retry

Write = Callable[..., Path]
FUZZ = settings(database=None, deadline=None, max_examples=400)
SHAPE = f"\n  hint: {SHAPE_HINT}"

EVERY_FIELD = """\
schema_version: "1.0"
name: every-field
description: Uses each field of the format once
parallelism: 3
inputs:
  files: {type: array, description: Paths to read, default: []}
  site: {type: string, required: true, format: path, enum: [a.txt, b.txt]}
steps:
  - name: map
    plugin: core
    capability: echo
    description: One run per file
    for_each: ${workflow.inputs.files}
    as: file
    parallel: 4
    inputs: {path: "${file}", n: "${index}"}
    outputs: {path: path}
    retry: {attempts: 2, backoff: 0.5, max_backoff: 2, "on": [timed_out]}
    timeout: 30
    on_error: continue
  - name: poll
    plugin: core
    capability: sleep
    depends_on: [map]
    if: ${steps.map.status} == 'succeeded'
    loop: {until: "outputs.slept >= 0", max: 5, delay: 1.5}
    inputs: {seconds: 0}
    on_error: {fallback: rescue}
    approval: required
    cache: false
  - name: rescue
    plugin: core
    capability: echo
    depends_on: [map]
  - name: files
    plugin: core
    capability: echo
    for_each: {glob: "*.csv"}
outputs:
  paths: ${steps.map.outputs.path}
"""


def failure(text: str) -> str:
    """The rendered error of parsing ``text`` as wf.yml (which must fail)."""
    with pytest.raises(WorkflowError) as caught:
        parse(text, "wf.yml")
    assert caught.value.exit_code == 2
    return caught.value.render()


def step(extra: str) -> str:
    """A workflow of one core.echo step with ``extra`` (flow-style keys) added to it."""
    return f"name: t\nsteps:\n  - {{name: a, plugin: core, capability: echo, {extra}}}\n"


def test_every_field_is_read(workflow_file: Write) -> None:
    loaded = load_workflow(workflow_file(EVERY_FIELD))
    wf = loaded.workflow
    map_, poll, rescue, files = wf.steps

    assert (wf.name, wf.parallelism, wf.schema_version) == ("every-field", 3, "1.0")
    assert wf.inputs["files"].type == "array" and wf.inputs["files"].is_required is False
    assert (wf.inputs["site"].format, wf.inputs["site"].enum) == ("path", ["a.txt", "b.txt"])
    assert (map_.for_each, map_.as_, map_.parallel) == ("${workflow.inputs.files}", "file", 4)
    assert map_.retry == Retry(attempts=2, backoff=0.5, max_backoff=2, on=["timed_out"])
    assert (map_.timeout, map_.on_error, map_.outputs) == (30, "continue", {"path": "path"})
    assert poll.if_ == "${steps.map.status} == 'succeeded'"
    assert poll.loop == Loop(until="outputs.slept >= 0", max=5, delay=1.5)
    assert (poll.on_error, poll.fallback) == (Fallback(fallback="rescue"), "rescue")
    assert (poll.approval, poll.cache, poll.depends_on) == ("required", False, ["map"])
    assert (rescue.fallback, rescue.cache, rescue.approval) == (None, True, "none")
    assert files.for_each == GlobItems(glob="*.csv")
    assert wf.outputs == {"paths": "${steps.map.outputs.path}"}


def test_defaults_and_round_trip() -> None:
    wf = parse(step("inputs: {x: 1}")).workflow
    only = wf.steps[0]

    assert (only.as_, only.parallel, only.on_error, only.approval, only.cache) == (
        "item",
        1,
        "fail",
        "none",
        True,
    )
    assert (only.loop, only.retry, only.timeout, only.if_, only.for_each) == (None,) * 5
    assert Retry().delay(1) == 1.0 and Retry().delay(3) == 4.0
    assert Retry(backoff=10, max_backoff=15).delay(2) == 15.0
    document = parse(EVERY_FIELD).workflow.to_document()
    assert document["steps"][1]["if"] == "${steps.map.status} == 'succeeded'"
    assert document["steps"][0]["as"] == "file"
    assert parse(yaml.safe_dump(document)).workflow == parse(EVERY_FIELD).workflow


def test_where_points_at_values_keys_and_text_inside_quotes() -> None:
    loaded = parse(EVERY_FIELD, "wf.yml")

    assert loaded.where(("steps", 1, "if")) == Location("wf.yml", 25, 9)
    assert loaded.where(("steps", 1, "if"), 2) == Location("wf.yml", 25, 11)
    assert loaded.where(("steps", 0, "inputs", "path")) == Location("wf.yml", 16, 20)
    assert loaded.where(("steps", 0, "inputs", "path"), 2) == Location("wf.yml", 16, 23)
    assert loaded.where(("<key>", "steps", 0, "inputs", "n")) == Location("wf.yml", 16, 31)
    assert loaded.where(("steps", 0, "retry")) == Location("wf.yml", 18, 5)
    assert loaded.where(("steps", 9, "inputs")) == Location("wf.yml", 8, 1)
    plan = {"name": "p", "steps": [{"name": "a", "plugin": "core", "capability": "echo"}]}
    assert from_data(plan, "plan").where(("steps",)) == Location("plan")


def test_a_block_scalar_is_pointed_at_as_a_whole() -> None:
    loaded = parse(
        "name: t\nsteps:\n  - name: a\n    plugin: core\n    capability: echo\n"
        "    if: |\n      1 ==\n",
        "wf.yml",
    )

    assert loaded.where(("steps", 0, "if"), 4) == Location("wf.yml", 6, 9)


def test_file_errors(tmp_path: Path) -> None:
    (tmp_path / "latin1.yml").write_bytes(b"name: caf\xe9\n")
    with pytest.raises(WorkflowError) as missing:
        load_workflow(tmp_path / "nope.yml")
    with pytest.raises(WorkflowError) as folder:
        load_workflow(tmp_path)
    with pytest.raises(WorkflowError) as latin1:
        load_workflow(tmp_path / "latin1.yml")

    assert missing.value.render() == (
        f"no workflow file at {tmp_path / 'nope.yml'}\n"
        "  hint: give the path of a .yml file, or the name of a saved workflow "
        "(`mark1 workflow list`)"
    )
    assert folder.value.render() == f"{tmp_path} is a folder\n  hint: give the workflow's .yml file"
    assert latin1.value.render() == f"{tmp_path / 'latin1.yml'}: the workflow is not UTF-8 text"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "name: t\nsteps: [\n  {name: a\n",
            "wf.yml:3:3: invalid YAML: a flow mapping that starts here is never closed "
            "(expected ',' or '}', but got '<stream end>')\n"
            "  hint: check indentation (spaces, not tabs) and quote values containing ': ' "
            "or '#'",
            id="unclosed-bracket",
        ),
        pytest.param(
            "name: t\nsteps:\n  - name: a\n   plugin: core\n",
            "wf.yml:4:4: invalid YAML: expected <block end>, but found '<block mapping start>'\n"
            "  hint: check indentation (spaces, not tabs) and quote values containing ': ' "
            "or '#'",
            id="bad-indentation",
        ),
        pytest.param(
            "name: t\nsteps:\n  - {name: a, plugin: core, capability: echo, inputs: {x: ${y}}}\n",
            "wf.yml:3:60: invalid YAML: expected ',' or '}', but got '{'\n"
            "  hint: check indentation (spaces, not tabs) and quote values containing ': ' "
            "or '#'",
            id="unquoted-reference-in-flow-mapping",
        ),
        pytest.param(
            "name: &n t\nsteps:\n  - {name: *n, plugin: core, capability: echo}\n",
            "wf.yml:3:12: YAML aliases (*n) are not supported in workflow files: write the "
            "value out\n"
            "  hint: repeat the value where it is needed instead of using &anchor and *alias",
            id="alias",
        ),
        pytest.param(
            "name: t\nsteps:\n  - <<: {name: a}\n    plugin: core\n",
            "wf.yml:3:5: YAML merge keys (<<) are not supported in workflow files: write the "
            "keys out",
            id="merge-key",
        ),
        pytest.param(
            "name: t\nsteps:\n  - name: a\n    plugin: core\n    name: b\n",
            "wf.yml:5:5: key 'name' appears twice in the same mapping\n"
            "  hint: keep one of them; YAML would silently drop the first",
            id="duplicate-key",
        ),
        pytest.param(
            step("name: B"),
            "wf.yml:3:47: key 'name' appears twice in the same mapping\n"
            "  hint: keep one of them; YAML would silently drop the first",
            id="duplicate-in-flow",
        ),
        pytest.param(
            "name: t\nsteps:\n  - {name: a, plugin: core, capability: echo, 1: x}\n",
            "wf.yml:3:47: keys must be plain names; YAML reads '1' as int\n"
            "  hint: quote the key if it is meant as a name: '1':",
            id="number-key",
        ),
        pytest.param(
            "name: !!python/name:os.system t\nsteps: []\n",
            "wf.yml:1:7: cannot read the value 't': could not determine a constructor for the "
            "tag 'tag:yaml.org,2002:python/name:os.system'\n"
            "  hint: quote the value to keep it as text, and drop any !tag",
            id="unsafe-tag",
        ),
        pytest.param(
            "name: t\nsteps:\n  - name: a\x07\n",
            "wf.yml:3:12: the file contains the character U+0007, which YAML does not allow\n"
            "  hint: delete it (or write it as an escape like \\u0007 inside double quotes)",
            id="control-character",
        ),
        pytest.param("", f"wf.yml:1:1: the workflow is empty{SHAPE}", id="empty"),
        pytest.param(
            "# nothing yet\n\n", f"wf.yml:1:1: the workflow is empty{SHAPE}", id="only-comments"
        ),
        pytest.param(
            "- name: a\n- name: b\n",
            f"wf.yml:1:1: a workflow must be a mapping of keys{SHAPE}",
            id="list",
        ),
        pytest.param(
            "just words\n", f"wf.yml:1:1: a workflow must be a mapping of keys{SHAPE}", id="text"
        ),
    ],
)
def test_yaml_level_errors(text: str, expected: str) -> None:
    assert failure(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "name: t\nstep:\n  - {name: a, plugin: core, capability: echo}\n",
            "wf.yml:2:1: step: unknown key 'step'; did you mean 'steps'? (allowed here: "
            "schema_version, name, description, inputs, steps, outputs, parallelism)\n"
            "  also wf.yml:1:1: steps: 'steps' is required here",
            id="top-level-typo",
        ),
        pytest.param(
            "name: t\nsteps:\n  - name: a\n    plugin: core\n    capabilty: echo\n",
            "wf.yml:5:5: steps[0].capabilty: unknown key 'capabilty'; did you mean "
            "'capability'? (allowed here: name, plugin, capability, description, depends_on, "
            "inputs, outputs, if, for_each, as, parallel, loop, retry, timeout, on_error, "
            "approval, cache)\n"
            "  also wf.yml:3:5: steps[0].capability: 'capability' is required here",
            id="step-typo",
        ),
        pytest.param(
            "name: t\ninputs:\n  n: {typ: number}\nsteps:\n  - {name: a, plugin: core, "
            "capability: echo}\n",
            "wf.yml:3:7: inputs.n.typ: unknown key 'typ'; did you mean 'type'? (allowed here: "
            "type, description, default, required, format, enum)",
            id="input-typo",
        ),
        pytest.param(
            step("retry: {atempts: 2}"),
            "wf.yml:3:55: steps[0].retry.atempts: unknown key 'atempts'; did you mean "
            "'attempts'? (allowed here: attempts, backoff, max_backoff, on)",
            id="retry-typo",
        ),
        pytest.param(
            step("loop: {untill: x}"),
            "wf.yml:3:54: steps[0].loop.untill: unknown key 'untill'; did you mean 'until'? "
            "(allowed here: until, max, delay)\n"
            "  also wf.yml:3:47: steps[0].loop.until: 'until' is required here",
            id="loop-typo",
        ),
        pytest.param(
            "description: no name\nsteps: []\n",
            "wf.yml:2:1: steps: List should have at least 1 item after validation, not 0\n"
            "  also wf.yml:1:1: name: 'name' is required here",
            id="no-name-no-steps",
        ),
        pytest.param(
            "name: t\nsteps:\n  - {name: Extract Data, plugin: core, capability: echo}\n",
            "wf.yml:3:12: steps[0].name: 'Extract Data' is not a valid name: use lowercase "
            "letters, digits, '.', '_' or '-', starting with a letter or digit (at most 64)",
            id="bad-name",
        ),
        pytest.param(
            step("on_error: stop"),
            "wf.yml:3:57: steps[0].on_error: should be 'fail' or 'continue', or a mapping with "
            "fallback (got 'stop')",
            id="on-error-word",
        ),
        pytest.param(
            step("on_error: {fallbak: b}"),
            "wf.yml:3:58: steps[0].on_error.fallbak: unknown key 'fallbak'; did you mean "
            "'fallback'? (allowed here: fallback)\n"
            "  also wf.yml:3:47: steps[0].on_error.fallback: 'fallback' is required here",
            id="on-error-mapping-typo",
        ),
        pytest.param(
            step("for_each: 5"),
            "wf.yml:3:57: steps[0].for_each: should be a valid string, or a valid list, or a "
            "mapping with glob (got 5)",
            id="for-each-number",
        ),
        pytest.param(
            step("for_each: [1], loop: {until: 'true'}"),
            "wf.yml:3:5: steps[0]: a step cannot have both for_each and loop: split it in two "
            "steps",
            id="for-each-and-loop",
        ),
        pytest.param(
            step("as: Item, parallel: 0, timeout: -1, approval: maybe"),
            "wf.yml:3:51: steps[0].as: String should match pattern '^[a-z_][a-z0-9_]*$' "
            "(got 'Item')\n"
            "  also wf.yml:3:67: steps[0].parallel: Input should be greater than or equal to 1 "
            "(got 0)\n"
            "  also wf.yml:3:79: steps[0].timeout: Input should be greater than 0 (got -1)\n"
            "  also wf.yml:3:93: steps[0].approval: Input should be 'required' or 'none' "
            "(got 'maybe')",
            id="bounds",
        ),
        pytest.param(
            'schema_version: "2.0"\nname: t\nsteps:\n  - {name: a, plugin: core, '
            "capability: echo}\n",
            "wf.yml:1:17: schema_version: Input should be '1.0' (got '2.0')",
            id="schema-version",
        ),
    ],
)
def test_shape_errors(text: str, expected: str) -> None:
    assert failure(text) == expected + SHAPE


def test_several_shape_problems_are_all_reported() -> None:
    text = (
        "name: t\n"
        "steps:\n"
        "  - name: a\n"
        "    plugin: Core\n"
        "    capability: echo\n"
        "    retry: {attempts: 0}\n"
        "  - name: b\n"
        "    plugin: core\n"
        "    capability: echo\n"
        "    cache: sometimes\n"
        "    dependson: [a]\n"
    )
    assert failure(text) == (
        "wf.yml:4:13: steps[0].plugin: 'Core' is not a valid name: use lowercase letters, "
        "digits, '.', '_' or '-', starting with a letter or digit (at most 64)\n"
        "  also wf.yml:6:23: steps[0].retry.attempts: Input should be greater than or equal to 1 "
        "(got 0)\n"
        "  also wf.yml:10:12: steps[1].cache: Input should be a valid boolean, unable to "
        "interpret input (got 'sometimes')\n"
        "  also wf.yml:11:5: steps[1].dependson: unknown key 'dependson'; did you mean "
        "'depends_on'? (allowed here: name, plugin, capability, description, depends_on, "
        "inputs, outputs, if, for_each, as, parallel, loop, retry, timeout, on_error, "
        f"approval, cache){SHAPE}"
    )


def test_a_plan_without_a_file_names_the_plan() -> None:
    with pytest.raises(WorkflowError) as caught:
        from_data({"name": "p", "steps": [{"name": "a", "plugin": "core"}]}, "plan")
    assert caught.value.render() == (
        f"plan: steps[0].capability: 'capability' is required here{SHAPE}"
    )
    assert caught.value.where == Location("plan")


# ---- fuzzing: nothing but WorkflowError, always with a place ----------------------------

YAMLISH = st.lists(
    st.sampled_from(
        [*":-[]{},'\"#&*!|>? \n\t%@`$.0\x07\x85\ufeff\u2028"]
        + ["<<", "name", "steps", "plugin", "capability", "!!binary", "!!int", "!!float"]
        + ["!!timestamp", "${", "}", "core", "echo", "  - ", "\n  ", "*a", "&a"]
    ),
    max_size=60,
).map("".join)


def loads_or_is_located(text: str) -> LoadedWorkflow | None:
    """Parse ``text``; a WorkflowError must carry a file position, anything else is a bug."""
    try:
        return parse(text, "fuzz.yml")
    except WorkflowError as exc:
        assert exc.where is not None and exc.where.file == "fuzz.yml", exc.render()
        assert exc.where.line is not None and exc.where.line >= 1, exc.render()
        return None
    except Exception as exc:  # everything else fails the test, with the input that caused it
        pytest.fail(f"{type(exc).__name__}: {exc} for {text!r}")


@FUZZ
@given(YAMLISH)
@example("!!float")  # each of these once escaped as something else than WorkflowError
@example("!!timestamp")
@example("name: a\x07")
def test_random_text_raises_only_located_workflow_errors(text: str) -> None:
    loads_or_is_located(text)


KEYS = ["name", "steps", "plugin", "capability", "inputs", "outputs", "depends_on", "if"]
KEYS += ["for_each", "as", "parallel", "loop", "until", "retry", "attempts", "on", "timeout"]
KEYS += ["on_error", "fallback", "approval", "cache", "glob", "type", "default", "x", "Y"]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 300),
    st.floats(allow_nan=True),
    st.text(max_size=6),
    st.sampled_from(["core", "echo", "fail", "continue", "required", "${steps.a.outputs.x}"]),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=25,
)
STEPS = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b"]), "plugin": st.just("core"), "capability": SCALARS},
    optional={k: DOCUMENTS for k in KEYS if k not in ("name", "plugin", "capability")},
)
WORKFLOWS = st.fixed_dictionaries(
    {"name": SCALARS, "steps": st.lists(STEPS, max_size=3)},
    optional={"inputs": DOCUMENTS, "outputs": DOCUMENTS, "parallelism": SCALARS},
)


@FUZZ
@given(st.one_of(DOCUMENTS, WORKFLOWS), st.booleans())
def test_random_documents_raise_only_located_workflow_errors(data: Any, flow: bool) -> None:
    loads_or_is_located(yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True))


@FUZZ
@given(WORKFLOWS)
def test_random_plans_raise_only_workflow_errors(data: dict[str, Any]) -> None:
    try:
        from_data(data, "plan")
    except WorkflowError as exc:
        assert exc.where == Location("plan"), exc.render()
    except Exception as exc:
        pytest.fail(f"{type(exc).__name__}: {exc} for {data!r}")


def test_a_bare_on_key_is_the_word_on() -> None:
    """YAML 1.1 reads `on:` as true; in a workflow it is retry's `on` as written."""
    loaded = parse(step("retry: {on: [failed], attempts: 2}"), "wf.yml")
    retry = loaded.workflow.steps[0].retry
    assert retry is not None
    assert (retry.on, retry.attempts) == (["failed"], 2)
    with pytest.raises(WorkflowError) as caught:
        parse(step("yes: 1"), "wf.yml")
    assert caught.value.message.startswith("steps[0].yes: unknown key 'yes'")
