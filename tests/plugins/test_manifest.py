"""The plugin manifest: both authoring forms, their normalisation, located errors, the CLI.

Line and column numbers in the malformed cases are 1-based, as editors count, and point at the
key or value a person has to change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from assistant.errors import ManifestError
from assistant.plugins.manifest import Manifest, parse_size
from assistant.plugins.manifest_loader import load_manifest, parse_manifest

# ---- the seed's two examples, verbatim --------------------------------------------------------

SEED_FLAT = """\
# Auto-generated or user-provided mark1.plugin.yml
name: "awesome-image-processor"
description: "Advanced image processing toolkit"
type: "cli_tool"
version: "1.0.0"
entry_points:
  - command: "compress"
    script: "compress.py"
    capabilities: ["image-compression", "batch-processing"]
  - command: "resize"
    script: "resize.py"
    capabilities: ["image-resizing", "aspect-ratio-preservation"]
inputs:
  - type: "file"
    formats: ["jpg", "png", "webp"]
  - type: "directory"
    recursive: true
outputs:
  - type: "file"
    formats: ["jpg", "png", "webp"]
  - type: "metadata"
    format: "json"
dependencies:
  - "pillow>=9.0.0"
  - "opencv-python>=4.5.0"
execution:
  type: "subprocess"
  isolation: "sandbox"
  timeout: 300
"""

SEED_V1 = """\
# mark1.plugin.yml
schema_version: "1.0"
plugin:
  name: "advanced-data-processor"
  description: "Comprehensive data processing toolkit"
  version: "2.1.0"
  author: "github.com/user"
  license: "MIT"

capabilities:
  - name: "csv-analysis"
    description: "Analyze CSV files and generate insights"
    inputs: ["csv", "xlsx"]
    outputs: ["json", "html"]
  - name: "data-visualization"
    description: "Create charts and graphs from data"
    inputs: ["json", "csv"]
    outputs: ["png", "pdf", "html"]

entry_points:
  - capability: "csv-analysis"
    type: "python_function"
    module: "analyzer.main"
    function: "analyze_csv"
  - capability: "data-visualization"
    type: "cli"
    command: "python visualize.py"

dependencies:
  python: ">=3.8"
  packages:
    - "pandas>=1.5.0"
    - "matplotlib>=3.5.0"
    - "seaborn>=0.11.0"

configuration:
  timeout: 600
  max_memory: "2GB"
  sandbox: true
  environment_variables:
    - "PYTHONPATH"
    - "DATA_PATH"
"""


def test_seed_flat_example_loads() -> None:
    """Seed §5.1 (flat form) loads: one capability per entry point, run with its interpreter."""
    manifest = parse_manifest(SEED_FLAT)

    assert manifest.name == "awesome-image-processor"
    assert manifest.version == "1.0.0"
    assert [c.name for c in manifest.capabilities] == ["compress", "resize"]
    compress = manifest.capability("compress")
    assert compress is not None
    assert compress.entry_point.type == "cli"
    assert compress.entry_point.command == ["python", "compress.py"]
    assert compress.tags == ["image-compression", "batch-processing"]
    assert compress.input_formats == ["jpg", "png", "webp", "directory"]
    assert compress.output_formats == ["jpg", "png", "webp", "json"]
    assert manifest.python_packages == ["pillow>=9.0.0", "opencv-python>=4.5.0"]
    assert manifest.timeout == 300
    assert manifest.sandbox is True


def test_seed_versioned_example_loads() -> None:
    """Seed §8.1 (schema_version 1.0) loads, including its python_function entry point."""
    manifest = parse_manifest(SEED_V1)

    assert manifest.name == "advanced-data-processor"
    assert (manifest.version, manifest.author, manifest.license) == (
        "2.1.0",
        "github.com/user",
        "MIT",
    )
    analysis = manifest.capability("csv-analysis")
    assert analysis is not None
    assert analysis.entry_point.type == "python_function"
    assert (analysis.entry_point.module, analysis.entry_point.function) == (
        "analyzer.main",
        "analyze_csv",
    )
    assert analysis.input_formats == ["csv", "xlsx"]
    charts = manifest.capability("data-visualization")
    assert charts is not None
    assert charts.entry_point.command == ["python", "visualize.py"]
    assert manifest.python_requires == ">=3.8"
    assert manifest.timeout == 600
    assert manifest.resources.max_memory == 2_000_000_000
    assert [(e.name, e.secret) for e in manifest.env] == [
        ("PYTHONPATH", False),
        ("DATA_PATH", False),
    ]


# ---- the two forms normalise to the same model ------------------------------------------------

SAME_PLUGIN_FLAT = """\
name: image-tools
description: Shrinks images
version: 1.2.0
entry_points:
  - command: compress
    script: compress.py
    capabilities: [image-compression]
inputs:
  - type: file
    formats: [jpg, png]
outputs:
  - type: file
    formats: [jpg]
dependencies: ["pillow>=9.0.0"]
execution:
  isolation: none
  timeout: 120
  max_memory: 512MiB
"""

SAME_PLUGIN_V1 = """\
schema_version: "1.0"
plugin:
  name: image-tools
  description: Shrinks images
  version: 1.2.0
capabilities:
  - name: compress
    tags: [image-compression]
    inputs: [jpg, png]
    outputs: [jpg]
entry_points:
  - capability: compress
    type: cli
    command: python compress.py
dependencies:
  packages: ["pillow>=9.0.0"]
configuration:
  timeout: 120
  max_memory: 512MiB
  sandbox: false
"""


def test_flat_and_versioned_forms_normalise_to_the_same_model() -> None:
    """The same plugin written in either form is the same ``Manifest``, field for field."""
    flat = parse_manifest(SAME_PLUGIN_FLAT)
    versioned = parse_manifest(SAME_PLUGIN_V1)

    assert isinstance(flat, Manifest)
    assert flat == versioned
    assert flat.model_dump() == versioned.model_dump()


def test_normalised_fields_of_the_shared_plugin() -> None:
    """Normalisation fills the fields the rest of Mark-1 reads, not just something equal."""
    manifest = parse_manifest(SAME_PLUGIN_V1)

    (capability,) = manifest.capabilities
    assert capability.name == "compress"
    assert capability.entry_point.type == "cli"
    assert capability.entry_point.command == ["python", "compress.py"]
    assert capability.tags == ["image-compression"]
    assert capability.input_formats == ["jpg", "png"]
    assert capability.output_formats == ["jpg"]
    assert manifest.timeout == 120
    assert manifest.python_packages == ["pillow>=9.0.0"]
    assert manifest.sandbox is False
    assert manifest.resources.max_memory == 512 * 1024**2


# ---- malformed manifests: where and what ------------------------------------------------------

V1_ENTRY = (
    'schema_version: "1.0"\n'
    "plugin: {name: tool}\n"
    "capabilities:\n"
    "  - name: a\n"
    "entry_points:\n"
    "  - capability: a\n"
    "    type: cli\n"
    "    %s\n"
)

# Nine levels of nine aliases: 9**9 (387 million) strings if the aliases were expanded.
BILLION_LAUGHS = "name: tool\nl0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 10)
)

MALFORMED = [
    pytest.param(
        "name: tool\nentry_points:\n  - command: a\n   script: a.py\n",
        (4, 4),
        "invalid YAML",
        "indentation",
        id="yaml-bad-indentation",
    ),
    pytest.param(
        "name: tool\nentry_points: [{command: a, script: a.py}\n",
        (2, 15),  # the '[' that is never closed, not the end of the file
        "flow sequence that starts here is never closed",
        None,
        id="yaml-unclosed-bracket",
    ),
    pytest.param("", (1, 1), "the manifest is empty", 'schema_version: "1.0"', id="empty-file"),
    pytest.param(
        "- name: tool\n- name: other\n",
        (1, 1),
        "must be a mapping of keys to values",
        "a minimal manifest is",
        id="top-level-list",
    ),
    pytest.param(
        "name: tool\nentrypoints:\n  - command: a\n    script: a.py\n",
        (2, 1),  # the misspelt key, ahead of the "entry_points is required" it causes
        "unknown key 'entrypoints'; did you mean 'entry_points'?",
        "mark1 plugin schema",
        id="unknown-top-level-key",
    ),
    pytest.param(
        "name: tool\nentry_points:\n  - command: a\n    scrpt: a.py\n",
        (4, 5),
        "unknown key 'scrpt'; did you mean 'script'?",
        None,
        id="unknown-nested-key",
    ),
    pytest.param(
        "description: no name\nentry_points:\n  - command: a\n    script: a.py\n",
        (1, 1),
        "'name' is required here",
        None,
        id="missing-required-field",
    ),
    pytest.param(
        "name: My-Tool\nentry_points:\n  - command: a\n    script: a.py\n",
        (1, 7),
        "'My-Tool' is not a valid name: use lowercase",
        None,
        id="uppercase-plugin-name",
    ),
    pytest.param(
        'schema_version: "2.0"\nplugin: {name: tool}\n',
        (1, 17),
        "schema_version '2.0' is not supported",
        'write schema_version: "1.0"',
        id="unsupported-schema-version",
    ),
    pytest.param(
        "plugin:\n  name: tool\ncapabilities:\n  - name: a\n",
        (1, 1),
        "looks like the versioned form but has no schema_version",
        'add schema_version: "1.0"',
        id="versioned-without-schema-version",
    ),
    pytest.param(
        'schema_version: "1.0"\n'
        "plugin: {name: tool}\n"
        "capabilities:\n"
        "  - name: a\n"
        "entry_points:\n"
        "  - capability: a\n"
        "    type: clii\n"
        "    command: run-a\n",
        (7, 11),
        "Input should be 'cli', 'python_function'",
        None,
        id="entry-point-type-typo",
    ),
    pytest.param(
        'schema_version: "1.0"\n'
        "plugin: {name: tool}\n"
        "capabilities:\n"
        "  - name: a\n"
        "entry_points:\n"
        "  - capability: a\n"
        "    type: cli\n",
        (6, 5),
        "a 'cli' entry point needs command",
        None,
        id="cli-without-command",
    ),
    pytest.param(
        'schema_version: "1.0"\n'
        "plugin: {name: tool}\n"
        "capabilities:\n"
        "  - name: a\n"
        "entry_points:\n"
        "  - capability: a\n"
        "    type: python_function\n"
        "    module: tool.main\n",
        (6, 5),
        "a 'python_function' entry point needs function",
        None,
        id="python-function-without-function",
    ),
    pytest.param(
        'schema_version: "1.0"\n'
        "plugin: {name: tool}\n"
        "capabilities:\n"
        "  - name: a\n"
        "entry_points:\n"
        "  - {capability: a, type: cli, command: run-a}\n"
        "  - {capability: b, type: cli, command: run-b}\n",
        (7, 18),
        "no capability named 'b'; declared: a",
        None,
        id="entry-point-for-unknown-capability",
    ),
    pytest.param(
        'schema_version: "1.0"\n'
        "plugin: {name: tool}\n"
        "capabilities:\n"
        "  - name: a\n"
        "  - name: b\n"
        "entry_points:\n"
        "  - {capability: a, type: cli, command: run-a}\n",
        (5, 11),
        "capability 'b' has no entry point",
        None,
        id="capability-without-entry-point",
    ),
    pytest.param(
        'schema_version: "1.0"\n'
        "plugin: {name: tool}\n"
        "capabilities:\n"
        "  - name: a\n"
        "  - name: a\n"
        "entry_points:\n"
        "  - {capability: a, type: cli, command: run-a}\n",
        (5, 11),
        "capability 'a' is declared twice",
        None,
        id="duplicate-capability",
    ),
    pytest.param(
        "name: tool\nentry_points:\n  - command: a\n    script: a.py\nname: other\n",
        (5, 1),
        "key 'name' appears twice in the same mapping",
        "keep one of them",
        id="duplicate-yaml-key",
    ),
    pytest.param(
        'schema_version: "1.0"\n'
        "plugin: {name: tool}\n"
        "capabilities:\n"
        "  - name: a\n"
        "entry_points:\n"
        "  - {capability: a, type: cli, command: run-a}\n"
        "configuration:\n"
        "  max_memory: 2 lightyears\n",
        (8, 15),
        "'2 lightyears' is not a size",
        None,
        id="bad-size-string",
    ),
    pytest.param(
        "name: tool\nentry_points:\n  - command: a\n    script: a.py\nexecution:\n  timeout: -5\n",
        (6, 12),
        "execution.timeout: Input should be greater than 0",
        None,
        id="negative-timeout",
    ),
    pytest.param(
        "name: tool\nentry_points:\n  - command: a\n    script: a.py\n    run: python a.py\n",
        (3, 5),  # the entry as a whole: neither key alone is wrong
        "give exactly one of 'script' (a file in the repo) or 'run'",
        None,
        id="flat-entry-with-script-and-run",
    ),
    pytest.param(
        "name: tool\n"
        "entry_points:\n"
        "  - command: a\n"
        "    script: a.py\n"
        "    parameters:\n"
        "      type: array\n",
        (5, 5),
        "parameters must be a JSON Schema with type: object",
        None,
        id="parameters-not-an-object-schema",
    ),
    pytest.param(
        "name: tool\n"
        "entry_points:\n"
        "  - command: a\n"
        "    script: a.py\n"
        "  - command: a\n"
        "    script: b.py\n",
        (5, 14),
        "command 'a' is declared twice",
        None,
        id="flat-duplicate-command",
    ),
    pytest.param(
        'name: tool\nentry_points:\n  - command: a\n    run: "python \'x"\n',
        (4, 10),
        "entry_points[0].run: cannot split the command: No closing quotation",
        None,
        id="flat-run-unclosed-quote",
    ),
    pytest.param(
        V1_ENTRY % 'command: "python \'x"',
        (8, 14),
        "entry_points[0].command: cannot split the command: No closing quotation",
        None,
        id="versioned-command-unclosed-quote",
    ),
    pytest.param(
        V1_ENTRY % 'command: ""',
        (8, 14),
        "entry_points[0].command: the command is empty",
        None,
        id="versioned-empty-command",
    ),
    pytest.param(
        V1_ENTRY % "command: []",
        (8, 5),
        "entry_points[0].command: the command is empty",
        None,
        id="versioned-empty-command-list",
    ),
    pytest.param(
        V1_ENTRY % 'command: ["", tool.py]',
        (8, 5),
        "the command's first word (the program to run) is empty",
        None,
        id="versioned-command-without-program",
    ),
    pytest.param(
        "name: tool\nentry_points:\n  - command: a\n    run: '  '\n",
        (4, 10),
        "entry_points[0].run: the command is empty",
        None,
        id="flat-empty-run",
    ),
    pytest.param(
        "name: tool\nentry_points: &entries\n  - command: a\n    script: a.py\n"
        "    tags: *entries\n",
        (5, 11),  # the alias, not the anchor
        "YAML aliases (*entries) are not supported in mark1.plugin.yml: write the value out",
        None,
        id="yaml-recursive-alias",
    ),
    pytest.param(
        BILLION_LAUGHS,
        (3, 10),  # the first alias
        "YAML aliases (*l0) are not supported",
        None,
        id="yaml-alias-bomb",
    ),
    pytest.param(
        "name: tool\nentry_points:\n  - &entry {command: a, script: a.py}\n  - *entry\n",
        (4, 5),
        "YAML aliases (*entry) are not supported",
        None,
        id="yaml-alias",
    ),
    pytest.param(
        "name: tool\nentry_points:\n  - <<: {command: a}\n    script: a.py\n",
        (3, 5),
        "YAML merge keys (<<) are not supported",
        None,
        id="yaml-merge-key",
    ),
    pytest.param(
        "name: tool\n? [a, b]\n: 1\nentry_points:\n  - command: a\n    script: a.py\n",
        (2, 3),
        "keys must be plain names, not a list",
        None,
        id="yaml-complex-key",
    ),
    pytest.param(
        "name: tool\n"
        "entry_points:\n"
        "  - command: a\n"
        "    script: a.py\n"
        "    parameters:\n"
        "      properties:\n"
        "        yes: {type: boolean}\n",
        (7, 9),  # YAML 1.1 reads yes/no/on/off as booleans: the property would be "True"
        "keys must be plain names; YAML reads 'yes' as bool",
        "quote the key",
        id="yaml-boolean-key",
    ),
    pytest.param(
        "name: !!python/name:os.system tool\nentry_points:\n  - command: a\n    script: a.py\n",
        (1, 7),
        "could not determine a constructor for the tag",
        None,
        id="yaml-python-tag",
    ),
    pytest.param(
        "name: tool\nversion: 2024-13-01\nentry_points:\n  - command: a\n    script: a.py\n",
        (2, 10),  # looks like a date to YAML, but is not one
        "cannot read the value '2024-13-01': month must be in 1..12",
        "quote the value",
        id="yaml-impossible-date",
    ),
    pytest.param(
        "name: tool\nx: " + "[" * 200 + "]" * 200 + "\n",
        (2, 67),
        "nested more than 64 levels deep",
        None,
        id="yaml-nested-too-deep",
    ),
    pytest.param(
        "name: tool\n"
        "entry_points:\n"
        "  - command: a\n"
        "    script: a.py\n"
        "    parameters:\n"
        "      properties:\n"
        "        a: {type: strnig}\n",
        (7, 19),  # at the offending value inside the schema
        "entry_points[0].parameters.properties.a.type: parameters is not a valid JSON Schema: "
        "'strnig' is not valid under any of the given schemas",
        None,
        id="flat-parameters-invalid-json-schema",
    ),
    pytest.param(
        'schema_version: "1.0"\n'
        "plugin: {name: tool}\n"
        "capabilities:\n"
        "  - name: a\n"
        "    parameters:\n"
        "      properties: [a, b]\n"
        "entry_points:\n"
        "  - {capability: a, type: cli, command: run-a}\n",
        (6, 7),
        "capabilities[0].parameters.properties: parameters is not a valid JSON Schema: "
        "['a', 'b'] is not of type 'object'",
        None,
        id="versioned-parameters-properties-not-a-mapping",
    ),
]


@pytest.mark.parametrize(("text", "where", "phrase", "hint"), MALFORMED)
def test_malformed_manifest_is_located(
    text: str, where: tuple[int, int], phrase: str, hint: str | None
) -> None:
    """Each mistake is reported at the line and column of the thing to change, with a clue."""
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text, "mark1.plugin.yml")

    err = caught.value
    assert err.where is not None
    assert (err.where.line, err.where.column) == where, err.render()
    assert phrase in err.message
    if hint is not None:
        assert err.hint is not None and hint in err.hint
    assert err.exit_code == 2


@pytest.mark.timeout(10)
def test_alias_bomb_is_refused_before_any_expansion() -> None:
    """A "billion laughs" manifest is refused at its first alias, before any expansion (an
    expanding loader would exhaust memory here; the timeout mark only guards against a hang)."""
    with pytest.raises(ManifestError, match="YAML aliases") as err:
        parse_manifest(BILLION_LAUGHS, "mark1.plugin.yml")
    assert err.value.where is not None and err.value.where.line == 3


def test_anchors_commands_and_schemas_that_are_fine() -> None:
    """The new checks do not refuse what is valid: an unused anchor, quoted arguments, an empty
    argument after the program, and a nested JSON Schema with quoted keys."""
    manifest = parse_manifest(
        "name: &n tool\n"
        "entry_points:\n"
        "  - command: a\n"
        "    run: python 'a b.py' --sep ''\n"
        "    parameters:\n"
        "      type: object\n"
        "      properties:\n"
        "        'yes': {type: boolean, default: false}\n"
        "        size: {type: array, items: {type: integer, minimum: 1}}\n"
        "      required: [size]\n"
    )

    (capability,) = manifest.capabilities
    assert manifest.name == "tool"
    assert capability.entry_point.command == ["python", "a b.py", "--sep", ""]
    assert capability.parameters is not None
    assert list(capability.parameters["properties"]) == ["yes", "size"]


def test_error_location_names_the_file(tmp_path: Path) -> None:
    """Errors from a file on disk carry its path, rendered as ``file:line:col: message``."""
    path = tmp_path / "mark1.plugin.yml"
    path.write_text(
        "name: tool\nentry_points:\n  - command: a\n    scrpt: a.py\n", encoding="utf-8"
    )

    with pytest.raises(ManifestError) as caught:
        load_manifest(path)

    assert caught.value.render().startswith(f"{path}:4:5: entry_points[0].scrpt: unknown key")


# ---- the CLI ----------------------------------------------------------------------------------

RunCli = Callable[..., Any]  # the `cli` fixture: mark1 ARGS -> CliResult


def test_cli_validate_accepts_a_good_file(cli: RunCli, tmp_path: Path) -> None:
    """`mark1 plugin validate FILE` exits 0 and names the plugin and its capabilities."""
    path = tmp_path / "mark1.plugin.yml"
    path.write_text(SEED_V1, encoding="utf-8")

    result = cli("plugin", "validate", str(path))

    assert result.code == 0, result.err
    assert "valid" in result.out
    assert "advanced-data-processor" in result.out
    assert "csv-analysis, data-visualization" in result.out


def test_cli_validate_rejects_a_bad_file_with_its_location(cli: RunCli, tmp_path: Path) -> None:
    """A broken manifest exits 2 (the user must act) and stderr points at file:line:col."""
    path = tmp_path / "broken.yml"
    path.write_text(
        "name: tool\nentry_points:\n  - command: a\n    scrpt: a.py\n", encoding="utf-8"
    )

    result = cli("plugin", "validate", str(path))

    assert result.code == 2
    assert f"{path}:4:5" in result.err
    assert "did you mean 'script'?" in result.err
    assert result.out == ""


def test_cli_validate_finds_the_manifest_in_a_folder(cli: RunCli, tmp_path: Path) -> None:
    """Given a folder, validate reads the mark1.plugin.yml at its root."""
    (tmp_path / "mark1.plugin.yml").write_text(SEED_FLAT, encoding="utf-8")

    result = cli("plugin", "validate", str(tmp_path))

    assert result.code == 0, result.err
    assert str(tmp_path / "mark1.plugin.yml") in result.out
    assert "awesome-image-processor" in result.out


def test_cli_validate_folder_without_manifest(cli: RunCli, tmp_path: Path) -> None:
    """A folder with no manifest is a user error, not a crash."""
    result = cli("plugin", "validate", str(tmp_path))

    assert result.code == 2
    assert "has no mark1.plugin.yml" in result.err


@pytest.fixture
def manifest_schema(cli: RunCli) -> dict[str, Any]:
    """The JSON Schema printed by `mark1 plugin schema`, checked to be a valid schema."""
    result = cli("plugin", "schema")
    assert result.code == 0, result.err
    schema = json.loads(result.out)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


@pytest.mark.parametrize("text", [SEED_FLAT, SEED_V1], ids=["seed-flat", "seed-versioned"])
def test_schema_accepts_the_seed_examples(manifest_schema: dict[str, Any], text: str) -> None:
    """Editors using the schema agree with the loader about the seed's two examples."""
    jsonschema.Draft202012Validator(manifest_schema).validate(yaml.safe_load(text))


def test_schema_rejects_an_unknown_top_level_key(manifest_schema: dict[str, Any]) -> None:
    """The schema is closed, like the loader: a misspelt top-level key is an error."""
    data = yaml.safe_load(SEED_V1) | {"entrypoints": []}

    assert not jsonschema.Draft202012Validator(manifest_schema).is_valid(data)


# ---- sizes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2GB", 2_000_000_000),
        ("512MiB", 512 * 1024**2),
        ("1.5 GB", 1_500_000_000),
        ("1KiB", 1024),
        ("64k", 64_000),
        ("100", 100),
        (4096, 4096),
        (None, None),
    ],
)
def test_parse_size(value: object, expected: int | None) -> None:
    """Decimal units are powers of 1000, 'i' units powers of 1024; ints pass through."""
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["2 lightyears", "GB", "-1GB", "", True, -5])
def test_parse_size_rejects_non_sizes(value: object) -> None:
    """Anything that is not a non-negative amount with a known unit is refused, not guessed."""
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(value)
