"""`mark1 workflow validate` against really installed plugins: plugins, capabilities, inputs,
types and format conversions, every problem at its file, line and column with the fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_examples import example_repo
from tests.workflow.wftools import Cli

Write = Callable[..., Path]

TABLE_TO_COUNT = """\
name: rows
steps:
  - name: table
    plugin: wftools
    capability: table
    inputs: {rows: 3}
    outputs: {csv: table}
  - name: count
    plugin: wftools
    capability: count
    depends_on: [table]
    inputs:
      data: ${steps.table.outputs.csv}
  - name: nap
    plugin: core
    capability: sleep
    depends_on: [count]
    inputs: {seconds: 0}
"""
CSV_TO_JSON = (
    "csv -> json (CSV -> JSON: each row becomes an object keyed by the header row, "
    "values stay strings)"
)


def invalid(cli: Cli, path: Path) -> str:
    """What `mark1 workflow validate PATH` reports (it must refuse the file)."""
    result = cli("workflow", "validate", str(path))
    assert (result.code, result.out) == (2, ""), result.err
    assert result.err.startswith("error: ") and result.err.endswith("\n")
    return result.err.removeprefix("error: ").removesuffix("\n")


def one_step(body: str, head: str = "") -> str:
    """A workflow of one wftools step written as ``body`` (its keys, indented four spaces)."""
    return f"name: t\n{head}steps:\n  - name: a\n{body}"


@pytest.mark.usefixtures("wftools")
def test_a_valid_workflow_shows_its_order_and_conversions(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(TABLE_TO_COUNT)

    shown = cli("workflow", "validate", str(path))
    as_json = cli("workflow", "validate", str(path), "--json")

    assert (shown.code, shown.err) == (0, "")
    assert shown.out == (
        f"✓ {path}: workflow 'rows' is valid\n"
        "  order: table -> count -> nap\n"
        f"  converts table -> count.data: {CSV_TO_JSON}\n"
    )
    assert json.loads(as_json.out) == {
        "valid": True,
        "workflow": "rows",
        "order": ["table", "count", "nap"],
        "conversions": [f"table -> count.data: {CSV_TO_JSON}"],
    }


def test_core_builtins_need_no_plugin(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        "name: glue\nsteps:\n"
        "  - {name: wait, plugin: core, capability: sleep, inputs: {seconds: 0.5}}\n"
        "  - {name: say, plugin: core, capability: echo, depends_on: [wait],"
        " inputs: {any: [1, 2], slept: '${steps.wait.outputs.slept}'}}\n"
    )
    result = cli("workflow", "validate", str(path))
    assert (result.code, result.out) == (
        0,
        f"✓ {path}: workflow 'glue' is valid\n  order: wait -> say\n",
    )


def test_unknown_plugin_when_none_is_installed(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(one_step("    plugin: wftools\n    capability: emit\n"))
    assert invalid(cli, path) == (
        f"{path}:4:13: steps[0].plugin: plugin 'wftools' is not installed\n"
        "  hint: install it with `mark1 plugin install SOURCE` (installed: none)"
    )


def test_disabled_plugin(cli: Cli, workflow_file: Write, wftools: object) -> None:
    path = workflow_file(one_step("    plugin: wftools\n    capability: emit\n"))
    assert cli("plugin", "disable", "wftools").code == 0

    assert invalid(cli, path) == (
        f"{path}:4:13: steps[0].plugin: plugin 'wftools' is disabled\n"
        "  hint: `mark1 plugin enable wftools`"
    )


@pytest.mark.usefixtures("wftools")
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "    plugin: wftool\n    capability: emit\n",
            "{path}:4:13: steps[0].plugin: plugin 'wftool' is not installed\n"
            "  hint: did you mean 'wftools'? install it with `mark1 plugin install SOURCE` "
            "(installed: wftools)",
            id="unknown-plugin",
        ),
        pytest.param(
            "    plugin: wftools\n    capability: emitt\n",
            "{path}:5:17: steps[0].capability: plugin 'wftools' has no capability 'emitt'\n"
            "  hint: did you mean 'emit'? it has: emit, flaky, slow, fail, table, count, "
            "picture, sneaky, deploy",
            id="unknown-capability",
        ),
        pytest.param(
            "    plugin: core\n    capability: wait\n",
            "{path}:5:17: steps[0].capability: the core plugin has no capability 'wait'\n"
            "  hint: core offers: echo, sleep",
            id="unknown-builtin",
        ),
        pytest.param(
            "    plugin: wftools\n    capability: emit\n    inputs: {valeu: 1, number: 2}\n",
            "{path}:6:14: steps[0].inputs.valeu: wftools.emit has no input 'valeu'\n"
            "  hint: did you mean 'value'? its inputs: value, number, items, sleep",
            id="unknown-input",
        ),
        pytest.param(
            "    plugin: wftools\n    capability: flaky\n",
            "{path}:3:5: steps[0]: wftools.flaky needs the input(s) times\n"
            "  hint: add them under inputs:, e.g. times: ...  (`mark1 capabilities show "
            "wftools.flaky` describes each)",
            id="missing-input-without-inputs",
        ),
        pytest.param(
            "    plugin: core\n    capability: sleep\n    inputs: {second: 1}\n",
            "{path}:6:14: steps[0].inputs.second: core.sleep has no input 'second'\n"
            "  also {path}:6:5: steps[0].inputs: core.sleep needs the input(s) seconds\n"
            "    fix: add them under inputs:, e.g. seconds: ...  (`mark1 capabilities show "
            "core.sleep` describes each)\n"
            "  hint: did you mean 'seconds'? its inputs: seconds",
            id="missing-input-with-a-misspelt-one",
        ),
        pytest.param(
            "    plugin: wftools\n    capability: table\n    inputs: {rows: many}\n",
            "{path}:6:20: steps[0].inputs.rows: 'many' is not of type 'integer'\n"
            "  hint: wftools.table expects integer",
            id="literal-of-the-wrong-type",
        ),
        pytest.param(
            "    plugin: core\n    capability: sleep\n    inputs:\n      seconds: -1\n",
            "{path}:7:16: steps[0].inputs.seconds: -1 is less than the minimum of 0\n"
            "  hint: core.sleep expects number",
            id="literal-out-of-range",
        ),
        pytest.param(
            "    plugin: wftools\n    capability: emit\n"
            "    inputs:\n      number: ${workflow.inputs.count}\n",
            "{path}:10:15: steps[0].inputs.number: number takes number but workflow input "
            "'count' is string\n"
            "  hint: declare the input as type: number, or pass another value",
            id="workflow-input-type",
        ),
    ],
)
def test_each_problem_is_located_with_its_fix(
    cli: Cli, workflow_file: Write, body: str, expected: str
) -> None:
    head = "inputs:\n  count: {type: string}\n  n: {type: integer}\n" if "count" in body else ""
    path = workflow_file(one_step(body, head))
    assert invalid(cli, path) == expected.format(path=path)


@pytest.mark.usefixtures("wftools")
def test_typed_and_untyped_workflow_inputs_that_fit(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        one_step(
            "    plugin: wftools\n    capability: emit\n"
            "    inputs:\n"
            "      number: ${workflow.inputs.n}\n"
            "      items: ${workflow.inputs.list}\n"
            "      value: ${workflow.inputs.anything | default('x')}\n",
            "inputs:\n  n: {type: integer}\n  list: {type: array}\n  anything: {}\n",
        )
    )
    assert cli("workflow", "validate", str(path)).code == 0


@pytest.mark.usefixtures("wftools")
def test_a_file_no_conversion_can_deliver(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        "name: t\nsteps:\n"
        "  - {name: draw, plugin: wftools, capability: picture}\n"
        "  - name: count\n"
        "    plugin: wftools\n"
        "    capability: count\n"
        "    depends_on: [draw]\n"
        "    inputs:\n"
        "      data: ${steps.draw.outputs.image}\n"
    )
    assert invalid(cli, path) == (
        f"{path}:9:13: steps[1].inputs.data: 'draw' gives png, and wftools.count accepts "
        "json; no conversion exists between them\n"
        "  hint: feed it a step whose output it accepts, or add a converting step"
    )


@pytest.mark.usefixtures("wftools")
def test_every_kind_of_problem_in_one_file_is_reported(cli: Cli, workflow_file: Write) -> None:
    path = workflow_file(
        """\
name: many
steps:
  - name: make
    plugin: wftools
    capability: tabel
  - name: use
    plugin: wftools
    capability: count
    inputs: {data: "${steps.make.outputs.table}", extra: 1}
  - name: use
    plugin: nothere
    capability: x
  - name: wait
    plugin: core
    capability: sleep
    parallel: 2
    inputs: {seconds: soon}
"""
    )
    assert invalid(cli, path) == (
        f"{path}:10:11: steps[2].name: a second step is named 'use'\n"
        f"  also {path}:9:23: steps[1].inputs.data: step 'use' uses the result of 'make', "
        "which does not run before it\n"
        "    fix: add 'make' to the depends_on of 'use'\n"
        f"  also {path}:16:15: steps[3].parallel: parallel only applies to the items of "
        "for_each\n"
        "    fix: add for_each, or remove parallel (independent steps already run at once)\n"
        f"  also {path}:5:17: steps[0].capability: plugin 'wftools' has no capability 'tabel'\n"
        "    fix: did you mean 'table'? it has: emit, flaky, slow, fail, table, count, "
        "picture, sneaky, deploy\n"
        f"  also {path}:11:13: steps[2].plugin: plugin 'nothere' is not installed\n"
        "    fix: install it with `mark1 plugin install SOURCE` (installed: wftools)\n"
        f"  also {path}:17:23: steps[3].inputs.seconds: 'soon' is not of type 'number'\n"
        "    fix: core.sleep expects number\n"
        "  hint: rename one of them: step names must be unique"
    )


RESIZE_THEN_COMPRESS = """\
name: smaller
steps:
  - name: image-resize
    plugin: image-resizer
    capability: resize
    inputs: {input: photo.jpg, width: 640}
  - name: compress
    plugin: image-resizer
    capability: compress
    depends_on: [image-resize]
    inputs: {input: "${steps.image-resize.outputs.image}"}
"""


def test_an_image_output_feeds_an_image_input_as_it_is(
    cli: Cli, workflow_file: Write, tmp_path: Path
) -> None:
    """image-resizer writes "image" (whatever picture it was asked for) and reads png, jpeg,
    ...: the generic format fits every picture format, with nothing to convert."""
    repo = example_repo("image-resizer", tmp_path)
    installed = cli("plugin", "install", str(repo.path), "--yes")
    assert installed.code == 0, installed.err
    path = workflow_file(RESIZE_THEN_COMPRESS)

    result = cli("workflow", "validate", str(path))

    assert (result.code, result.err) == (0, ""), result.err
    assert result.out == (
        f"✓ {path}: workflow 'smaller' is valid\n  order: image-resize -> compress\n"
    )
