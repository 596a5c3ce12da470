"""The adapter contract and the types shared across the adapter boundary."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol, Self, runtime_checkable

from adapters.process import OUTPUT_LIMIT

if TYPE_CHECKING:
    from adapters.sandbox import SandboxPolicy

ENTRY_POINT_GROUP = "mark1.adapters"
Status = Literal["succeeded", "failed", "timed_out", "cancelled"]


@dataclass(frozen=True)
class CapabilitySpec:
    """Everything an adapter needs to know about one capability of one installed plugin."""

    plugin: str
    name: str
    entry: dict[str, Any]
    source_dir: Path
    env_dir: Path | None = None
    parameters: dict[str, Any] | None = None
    produces: list[dict[str, Any]] = field(default_factory=list)
    stdout: str = "auto"


@dataclass
class OutputLine:
    """A line the plugin printed, as it was printed."""

    stream: Literal["stdout", "stderr"]
    text: str


@dataclass
class RunStarted:
    """The plugin process started with this command line."""

    command: list[str]
    pid: int | None = None


@dataclass
class Progress:
    """The plugin reported how far it is (``MARK1_PROGRESS 40 "resizing"`` or ``40%``)."""

    percent: float
    message: str = ""


@dataclass
class Notice:
    """Something the person should know about this run (e.g. it is not sandboxed)."""

    text: str
    level: Literal["info", "warning"] = "info"


Event = OutputLine | RunStarted | Progress | Notice
EventSink = Callable[[Event], None]


@dataclass
class RunContext:
    """Where and how one execution happens."""

    workdir: Path
    timeout: float
    kill_grace: float = 3.0
    env: dict[str, str] = field(default_factory=dict)
    on_event: EventSink | None = None
    sandbox: SandboxPolicy | None = None  # None: the user trusts the plugin, no confinement
    remote: dict[str, Any] | None = None  # ssh: the configured host the capability runs on
    output_limit: int = OUTPUT_LIMIT

    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)


@dataclass
class PluginResult:
    """The typed outcome of one execution: outputs, files, logs and how it ended."""

    status: Status
    outputs: dict[str, Any] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    command: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class InputValidationError(ValueError):
    """Inputs do not satisfy the capability's parameter schema; ``problems`` says each way."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class AdapterNotFound(LookupError):
    """No adapter is registered for an entry-point type."""


@runtime_checkable
class Adapter(Protocol):
    """One per plugin session: ``async with adapter: await adapter.execute(...)``."""

    async def __aenter__(self) -> Adapter: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def validate_inputs(self, spec: CapabilitySpec, inputs: dict[str, Any]) -> dict[str, Any]: ...

    async def execute(
        self, spec: CapabilitySpec, inputs: dict[str, Any], context: RunContext
    ) -> PluginResult: ...


class AdapterBase:
    """What every adapter shares: it is its own async context manager, releases what it opened
    (servers, connections) in ``aclose``, and checks inputs against the capability's schema."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop whatever the adapter started for this session (nothing, by default)."""

    def validate_inputs(self, spec: CapabilitySpec, inputs: dict[str, Any]) -> dict[str, Any]:
        from adapters.inputs import validate

        return validate(spec.parameters, inputs)


def adapter_for(entry_type: str) -> type[Adapter]:
    """The adapter class registered (as a ``mark1.adapters`` entry point) for ``entry_type``."""
    from importlib import metadata  # ~20 ms: only when an adapter is actually needed

    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == entry_type:
            cls: type[Adapter] = ep.load()
            return cls
    known = sorted(ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP))
    raise AdapterNotFound(
        f"no adapter is installed for entry points of type '{entry_type}' "
        f"(installed: {', '.join(known) or 'none'})"
    )
