"""The two authoring forms of ``mark1.plugin.yml`` from the seed, and their normalisation.

* the flat form (seed §5.1): ``name``, ``entry_points`` of ``command`` + ``script``, top-level
  ``inputs``/``outputs``/``dependencies``/``execution``;
* the versioned form (seed §8.1): ``schema_version: "1.0"``, ``plugin``, ``capabilities``,
  ``entry_points`` keyed by capability, ``dependencies``, ``configuration``.

Both accept the same optional per-capability extras (``parameters`` as JSON Schema, ``args``,
``side_effects``, ``permissions``, ``env``, ``produces``, ...). Field paths mirror the YAML so
validation errors can be located in the file.
"""

from __future__ import annotations

import reprlib
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from assistant.plugins.manifest import (
    NAME_PATTERN,
    ArgSpec,
    Capability,
    CapabilityOptions,
    EntryPoint,
    EnvVarItem,
    Manifest,
    PluginIdentity,
    Resources,
    Size,
    Strict,
    check_command,
    split_command,
)
from assistant.security.oauth import OAuthSpec

SCHEMA_VERSIONS = ("1.0",)
Problem = tuple[tuple[str | int, ...], str]
_INTERPRETERS = {".py": "python", ".sh": "bash", ".js": "node", ".mjs": "node", ".rb": "ruby"}


# ---- flat form (seed §5.1) -------------------------------------------------------------------


class FlatEntryPoint(CapabilityOptions):
    command: str = Field(pattern=NAME_PATTERN, description="The capability's name.")
    script: str | None = Field(
        None, min_length=1, description="Script in the repo, run with its interpreter."
    )
    run: str | list[str] | None = Field(None, description="Full command line, instead of script.")
    description: str = ""
    capabilities: list[str] = Field(default_factory=list, description="Tags for the capability.")
    args: dict[str, ArgSpec] = Field(default_factory=dict)

    @field_validator("run")
    @classmethod
    def _run_is_a_command(cls, value: str | list[str] | None) -> str | list[str] | None:
        # Split now, so a broken command is an error at `run`, not a crash in normalise().
        check_command(split_command(value))
        return value

    @model_validator(mode="after")
    def _one_way_to_run(self) -> FlatEntryPoint:
        if (self.script is None) == (self.run is None):
            raise ValueError("give exactly one of 'script' (a file in the repo) or 'run'")
        return self

    def argv(self) -> list[str]:
        if self.run is not None:
            return list(split_command(self.run))
        assert self.script is not None
        interpreter = _INTERPRETERS.get(PurePosixPath(self.script).suffix)
        return [interpreter, self.script] if interpreter else [self.script]


class FlatIO(Strict):
    type: str
    formats: list[str] = Field(default_factory=list)
    format: str | None = None
    recursive: bool = False

    def names(self) -> list[str]:
        found = [*self.formats, *([self.format] if self.format else [])]
        return found or [self.type]


class FlatExecution(Strict):
    type: Literal["subprocess"] = Field(
        "subprocess",
        description="The flat form runs scripts; use schema_version 1.0 for other entry types.",
    )
    isolation: Literal["sandbox", "none"] = "sandbox"
    timeout: float | None = Field(None, gt=0)
    max_memory: Size = None


class FlatManifest(PluginIdentity):
    """Seed §5.1."""

    type: str = "cli_tool"
    entry_points: list[FlatEntryPoint] = Field(min_length=1)
    inputs: list[FlatIO] = Field(default_factory=list)
    outputs: list[FlatIO] = Field(default_factory=list)
    dependencies: list[str] = Field(default_factory=list)
    python: str | None = None
    execution: FlatExecution = Field(default_factory=FlatExecution)
    env: list[EnvVarItem] = Field(default_factory=list)

    def cross_check(self) -> list[Problem]:
        """Rules beyond one field: capability names are unique, ``parameters`` are JSON Schemas."""
        problems: list[Problem] = []
        seen: set[str] = set()
        for i, entry in enumerate(self.entry_points):
            if entry.command in seen:
                problems.append(
                    (("entry_points", i, "command"), f"command '{entry.command}' is declared twice")
                )
            seen.add(entry.command)
            problems += _schema_problems(entry.parameters, ("entry_points", i, "parameters"))
        return problems

    def normalise(self) -> Manifest:
        input_formats = _unique(n for io in self.inputs for n in io.names())
        output_formats = _unique(n for io in self.outputs for n in io.names())
        capabilities = [
            Capability(
                name=entry.command,
                description=entry.description,
                input_formats=input_formats,
                output_formats=output_formats,
                entry_point=EntryPoint(type="cli", command=entry.argv(), args=entry.args),
                **{**entry.options(), "tags": _unique([*entry.capabilities, *entry.tags])},
            )
            for entry in self.entry_points
        ]
        return Manifest(
            **self.identity(),
            python_requires=self.python,
            python_packages=self.dependencies,
            sandbox=self.execution.isolation == "sandbox",
            timeout=self.execution.timeout,
            resources=Resources(max_memory=self.execution.max_memory),
            env=self.env,
            capabilities=capabilities,
        )


# ---- versioned form (seed §8.1) --------------------------------------------------------------


class V1Plugin(PluginIdentity):
    """The ``plugin:`` section."""


class V1Capability(CapabilityOptions):
    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    inputs: list[str] = Field(default_factory=list, description="Input formats, e.g. csv.")
    outputs: list[str] = Field(default_factory=list, description="Output formats, e.g. json.")


class V1EntryPoint(EntryPoint):
    """An entry point, bound to its capability by name."""

    capability: str

    def entry(self) -> EntryPoint:
        return EntryPoint(**self.model_dump(exclude={"capability"}))


class V1Dependencies(Strict):
    python: str | None = None
    packages: list[str] = Field(default_factory=list)
    system: list[str] = Field(default_factory=list)


class V1Configuration(Strict):
    timeout: float | None = Field(None, gt=0)
    max_memory: Size = None
    sandbox: bool = True
    environment_variables: list[EnvVarItem] = Field(default_factory=list)
    oauth: OAuthSpec | None = None


class V1Manifest(Strict):
    """Seed §8.1."""

    schema_version: Literal["1.0"]
    plugin: V1Plugin
    capabilities: list[V1Capability] = Field(min_length=1)
    entry_points: list[V1EntryPoint] = Field(min_length=1)
    dependencies: V1Dependencies = Field(default_factory=V1Dependencies)
    configuration: V1Configuration = Field(default_factory=V1Configuration)

    def cross_check(self) -> list[Problem]:
        """Problems between sections or beyond one field, as (path in the YAML, message)."""
        names = [c.name for c in self.capabilities]
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            if name in seen:
                problems.append(
                    (("capabilities", i, "name"), f"capability '{name}' is declared twice")
                )
            seen.setdefault(name, i)
        for i, capability in enumerate(self.capabilities):
            problems += _schema_problems(capability.parameters, ("capabilities", i, "parameters"))
        bound: dict[str, int] = {}
        for i, entry in enumerate(self.entry_points):
            where = ("entry_points", i, "capability")
            if entry.capability not in seen:
                problems.append(
                    (
                        where,
                        f"no capability named '{entry.capability}'; declared: {', '.join(names)}",
                    )
                )
            elif entry.capability in bound:
                problems.append(
                    (
                        where,
                        f"capability '{entry.capability}' already has an entry "
                        f"point (entry_points[{bound[entry.capability]}])",
                    )
                )
            bound.setdefault(entry.capability, i)
        for name, i in seen.items():
            if name not in bound:
                problems.append(
                    (
                        ("capabilities", i, "name"),
                        f"capability '{name}' has no entry point; add one to entry_points",
                    )
                )
        return problems

    def normalise(self) -> Manifest:
        entries = {e.capability: e.entry() for e in self.entry_points}
        capabilities = [
            Capability(
                name=c.name,
                description=c.description,
                input_formats=c.inputs,
                output_formats=c.outputs,
                entry_point=entries[c.name],
                **c.options(),
            )
            for c in self.capabilities
        ]
        config = self.configuration
        return Manifest(
            **self.plugin.identity(),
            python_requires=self.dependencies.python,
            python_packages=self.dependencies.packages,
            system_packages=self.dependencies.system,
            sandbox=config.sandbox,
            timeout=config.timeout,
            resources=Resources(max_memory=config.max_memory),
            env=config.environment_variables,
            oauth=config.oauth,
            capabilities=capabilities,
        )


def _schema_problems(
    parameters: dict[str, Any] | None, where: tuple[str | int, ...]
) -> list[Problem]:
    """``parameters`` checked against the JSON Schema meta-schema, as ``mark1 run`` will use it.

    Here rather than in a pydantic validator: the stored ``Manifest`` is re-validated on every
    registry read, and importing jsonschema is slow; this runs only when a manifest is loaded.
    """
    if parameters is None:
        return []
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import Draft202012Validator

    try:
        Draft202012Validator.check_schema(parameters)
    except SchemaError as exc:
        message = exc.message
        shown = repr(exc.instance)
        if len(shown) > 40 and message.startswith(shown):  # "[...] is not of type 'object'"
            message = reprlib.repr(exc.instance) + message[len(shown) :]
        # Located at the offending value; the rendered path names it (...parameters.properties.a).
        return [((*where, *exc.path), f"parameters is not a valid JSON Schema: {message}")]
    return []


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))
