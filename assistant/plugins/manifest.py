"""The normalised plugin manifest: the one model every other part of Mark-1 reads.

Authors write either form from the seed (see ``manifest_forms``); both become a ``Manifest``.
Everything here is plain data so it can be stored as JSON in the registry and handed to the
adapters without them importing this package.
"""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from assistant.located_yaml import NAME_PATTERN
from assistant.security.oauth import OAuthSpec

EntryType = Literal["cli", "python_function", "http", "container", "ssh", "mcp", "agent"]
SideEffects = Literal["read-only", "writes-workspace", "external", "destructive"]
StdoutFormat = Literal["auto", "json", "text"]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$", re.IGNORECASE)
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:KEY|APIKEY|TOKEN|PASS|AUTH|DSN|COOKIE|CREDENTIALS?)$"  # the last word
    r"|(?:^|_)(?:SECRET|PASSWORD|PASSWD|PASSPHRASE|PRIVATE)(?:_|$)"  # or anywhere
    r"|^DATABASE_URL$|CONN(?:ECTION)?_STRING",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """Whether a variable called ``name`` holds a secret: OPENAI_API_KEY, GITHUB_TOKEN,
    DB_PASSWORD, SECRET_KEY_BASE, SENTRY_DSN, DATABASE_URL (credentials inside)... but not
    KEYBOARD_LAYOUT, AUTHOR_NAME, ACCESS_TOKEN_EXPIRE_MINUTES or DOCKER_AUTH_VERSION: words
    are matched whole, and KEY/TOKEN/AUTH only as the last word (after it, a setting about
    the secret, not the secret)."""
    return _SECRET_NAME.search(name) is not None


def parse_size(value: Any) -> int | None:
    """``"2GB"`` -> 2000000000, ``"512MiB"`` -> 536870912; ints pass through."""
    if isinstance(value, bool) or (isinstance(value, int) and value < 0):
        raise ValueError(f"{value!r} is not a size; write e.g. 512MB, 2GB or 1GiB")
    if value is None or isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"'{value}' is not a size; write e.g. 512MB, 2GB or 1GiB")
    number, unit = float(match[1]), (match[2] or "").lower()
    base = 1024 if "i" in unit else 1000
    power = "bkmgt".index(unit[0]) if unit else 0
    return int(number * base**power)


# ``json_schema_input_type``: the schema shows what authors may write ("2GB", a bare name),
# not only what validation turns it into.
Size = Annotated[int | None, BeforeValidator(parse_size, json_schema_input_type=int | str | None)]


class Strict(BaseModel):
    """Unknown keys are typos until proven otherwise."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class ArgSpec(Strict):
    """How one input parameter appears on a command line."""

    flag: str | None = Field(None, description="Option name, e.g. --width; default --<name>.")
    position: int | None = Field(None, ge=0, description="Positional index instead of a flag.")
    style: Literal["separate", "equals"] = Field(
        "separate", description="'--k v' (separate) or '--k=v' (equals)."
    )
    false_flag: str | None = Field(None, description="Flag to pass when a boolean is false.")
    join: str | None = Field(None, description="Join list values with this instead of repeating.")
    nargs: int | None = Field(
        None,
        ge=2,
        description="Values that follow one flag (--size W H); a list of such lists "
        "repeats the flag per list.",
    )


class EnvVar(Strict):
    """An environment variable the plugin reads."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    description: str = ""
    secret: bool = False
    required: bool = True
    default: str | None = None
    choices: list[str] = Field(
        default_factory=list, description="The only values allowed; the setup wizard offers them."
    )
    pattern: str | None = Field(
        None, description="A regular expression a value must match in full (checked at setup)."
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"the pattern is not a regular expression: {exc}") from None
        return value


def env_var(value: Any) -> Any:
    """Accept a bare name; names like ``*_API_KEY`` are taken to be secrets."""
    if isinstance(value, str):
        return {"name": value, "secret": is_secret_name(value)}
    return value


EnvVarItem = Annotated[EnvVar, BeforeValidator(env_var, json_schema_input_type=EnvVar | str)]


class Permissions(Strict):
    """What the plugin asks to reach beyond its workspace."""

    network: bool = False
    paths: list[str] = Field(
        default_factory=list, description="Extra paths, each 'PATH:ro' or 'PATH:rw'."
    )


class Service(Strict):
    """An external service the plugin talks to."""

    name: str
    kind: Literal["database", "cache", "queue", "api", "storage", "other"] = "other"
    url_env: str | None = Field(None, description="Env var that holds the service's URL.")
    description: str = ""


class Resources(Strict):
    """Limits the plugin needs or must be held to."""

    max_memory: Size = None
    cpu_seconds: int | None = Field(None, gt=0)
    max_processes: int | None = Field(None, gt=0)


class Produced(Strict):
    """A file a capability writes, reported as an output and an artifact."""

    name: str
    path: str = Field(description="Relative to the workspace; {param} is replaced by inputs.")
    format: str | None = None
    required: bool = True


def split_command(value: Any) -> Any:
    """A command written as one string is split like a shell would (quotes respected)."""
    if not isinstance(value, str):
        return value
    try:
        return shlex.split(value)
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise ValueError(f"cannot split the command: {exc}") from None


def check_command(value: list[str] | None) -> list[str] | None:
    """A command names a program to run: it has at least one word and the first is not empty."""
    if value is not None and not value:
        raise ValueError("the command is empty: write the program to run and its arguments")
    if value and not value[0]:
        raise ValueError("the command's first word (the program to run) is empty")
    return value


Command = Annotated[
    list[str] | None,
    BeforeValidator(split_command, json_schema_input_type=str | list[str]),
    AfterValidator(check_command),
]


REQUIRED_BY_TYPE: dict[str, tuple[str, ...]] = {
    "cli": ("command",),
    "python_function": ("module", "function"),
    "http": ("url",),
    "container": (),  # image or dockerfile: checked below
    "ssh": ("host", "command"),
    "mcp": ("command", "tool"),
    "agent": (),
}


class EntryPoint(Strict):
    """How a capability is executed; which fields apply depends on ``type``."""

    type: EntryType
    command: Command = None
    module: str | None = None
    function: str | None = None
    url: str | None = Field(
        None, description="http: the endpoint; {port} is the port Mark-1 gives the service."
    )
    method: str | None = None
    health: str | None = Field(
        None, description="http: path or URL that answers once the service is up."
    )
    operation: str | None = Field(
        None, description="http: operationId in the service's OpenAPI document to call."
    )
    openapi: str | None = Field(
        None, description="http: path or URL of the OpenAPI document (default /openapi.json)."
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="http: request headers; ${env.NAME} is replaced."
    )
    image: str | None = None
    dockerfile: str | None = Field(
        None,
        description="container: Dockerfile in the repository to build the image from when it "
        "is not on this machine (images are never pulled).",
    )
    host: str | None = None
    tool: str | None = None
    args: dict[str, ArgSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fields_for_type(self) -> EntryPoint:
        missing = [f for f in REQUIRED_BY_TYPE[self.type] if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a '{self.type}' entry point needs {' and '.join(missing)}")
        if self.type == "container" and not (self.image or self.dockerfile):
            raise ValueError("a 'container' entry point needs image or dockerfile")
        if self.type == "agent" and not (self.command or (self.module and self.function)):
            raise ValueError("an 'agent' entry point needs module and function, or command")
        return self


class CapabilityOptions(Strict):
    """What a capability may declare beyond its name, identically in both authoring forms."""

    tags: list[str] = Field(default_factory=list)
    parameters: dict[str, Any] | None = Field(
        None, description="JSON Schema (type object) of the inputs; None accepts any inputs."
    )
    side_effects: SideEffects = "writes-workspace"
    permissions: Permissions = Field(default_factory=Permissions)
    env: list[EnvVarItem] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    timeout: float | None = Field(None, gt=0)
    resources: Resources = Field(default_factory=Resources)
    produces: list[Produced] = Field(default_factory=list)
    stdout: StdoutFormat = "auto"

    @field_validator("parameters")
    @classmethod
    def _parameters_are_an_object_schema(cls, value: dict[str, Any] | None) -> Any:
        # A field validator, so the error points at `parameters`, not at the whole entry.
        if value is not None and value.get("type", "object") != "object":
            raise ValueError("parameters must be a JSON Schema with type: object")
        return value

    def options(self) -> dict[str, Any]:
        """These fields as keyword arguments, to carry them from a form into a ``Capability``."""
        return {k: getattr(self, k) for k in CapabilityOptions.model_fields}


class Capability(CapabilityOptions):
    """One thing a plugin can do; becomes one tool for the agent."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    input_formats: list[str] = Field(default_factory=list)
    output_formats: list[str] = Field(default_factory=list)
    entry_point: EntryPoint


class PluginIdentity(Strict):
    """Who a plugin is, written the same way in both authoring forms."""

    name: str = Field(pattern=NAME_PATTERN)
    version: str = "0.0.0"
    description: str = ""
    author: str | None = None
    license: str | None = None

    def identity(self) -> dict[str, Any]:
        """These fields as keyword arguments, to carry them from a form into a ``Manifest``."""
        return {k: getattr(self, k) for k in PluginIdentity.model_fields}


class Manifest(PluginIdentity):
    """A plugin, whichever form its author wrote."""

    python_requires: str | None = None
    python_packages: list[str] = Field(default_factory=list)
    system_packages: list[str] = Field(default_factory=list)
    sandbox: bool = True
    timeout: float | None = Field(None, gt=0)
    resources: Resources = Field(default_factory=Resources)
    env: list[EnvVarItem] = Field(default_factory=list)
    oauth: OAuthSpec | None = Field(
        None, description="The provider to sign in to; its token reaches the plugin in token_env."
    )
    capabilities: list[Capability] = Field(min_length=1)

    def capability(self, name: str) -> Capability | None:
        return next((c for c in self.capabilities if c.name == name), None)
