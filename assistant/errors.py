"""The one exception tree of Mark-1, split by who has to act.

Every error carries what happened (the message), where (file, line and column when a file is
to blame) and what to do next (the hint). The CLI's top-level handler prints these three and
exits with the error's code; nothing below it prints tracebacks at the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Location:
    """A place in a file, 1-based, as editors count."""

    file: Path | str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [str(self.file)]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class Mark1Error(Exception):
    """Base of every error Mark-1 raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, where: Location | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where

    def render(self) -> str:
        """The full text a person sees: place, message and the next step."""
        head = f"{self.where}: {self.message}" if self.where else self.message
        return f"{head}\n  hint: {self.hint}" if self.hint else head


class UserError(Mark1Error):
    """The person must change something: a flag, an input, a file they wrote."""

    exit_code = 2


class ConfigError(UserError):
    """A configuration file or setting is invalid or unknown."""


class InputError(UserError):
    """Inputs given to a capability do not match what it declares."""


class NotFoundError(UserError):
    """A plugin, capability or run named by the user does not exist."""


class SourceError(UserError):
    """A plugin source (Git URL, path, ref) cannot be read."""


class ManifestError(UserError):
    """A ``mark1.plugin.yml`` is missing, unreadable or does not match the schema."""


class WorkflowError(UserError):
    """A workflow file (or plan) is unreadable, malformed or does not fit the installed plugins;
    ``problems`` lists every one found, each with its own place."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        where: Location | None = None,
        problems: list[tuple[Location, str, str]] | None = None,
    ):
        super().__init__(message, hint=hint, where=where)
        self.problems = problems or []


class VoiceUnavailable(UserError):
    """Speech cannot work here as asked: no microphone or speaker, PortAudio or espeak-ng
    missing, the speech model absent or damaged. Never a crash: the hint always says what to
    install or do instead (e.g. write the speech to a file)."""

    def __init__(self, message: str, *, hint: str) -> None:
        super().__init__(message, hint=hint)


class PluginError(Mark1Error):
    """The plugin's author (or its repository) must change something for it to work."""

    exit_code = 3


class EnvironmentBuildError(PluginError):
    """The plugin's isolated environment could not be built."""


class RetryableError(Mark1Error):
    """Something outside our control failed and trying again may work."""

    exit_code = 4


class ModelUnreachable(RetryableError):
    """The language model's server did not answer (down, timing out, or rate-limiting past
    every retry); the agent falls back to the offline planner."""


class ModelRefused(UserError):
    """The model's server answered but refused: a missing or wrong key, an unknown model."""


class ModelOutputError(RetryableError):
    """The model kept answering with output that could not be repaired, re-asks included."""


class RunFailed(Mark1Error):
    """A capability ran and reported failure; its record is kept."""

    exit_code = 1


class Terminated(Mark1Error):
    """A signal (SIGTERM, SIGHUP) stopped the command after it cleaned up."""

    def __init__(self, signum: int):
        import signal

        name = signal.Signals(signum).name
        super().__init__(f"stopped by {name}; running plugins were stopped and recorded")
        self.exit_code = 128 + signum
