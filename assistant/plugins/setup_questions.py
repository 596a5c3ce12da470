"""The questions of the setup wizard, and how an answer is checked, apart from any screen.

The CLI asks them with prompt-toolkit and the TUI with its own screens; both get the same
``Question`` and give back text, which ``check`` turns into the value to store or a message
saying what is wrong with it (and the wizard asks again).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from assistant.plugins.manifest import EnvVar, parse_size

Kind = Literal["secret", "choice", "text"]
YES, NO = "yes", "no"


@dataclass(frozen=True)
class Question:
    """One thing to ask. ``default`` is what an empty answer means (for a secret: keep the
    stored one); ``check`` returns a problem to show, or None when the answer is fine."""

    key: str  # "env.API_KEY", "service.db", "service.db.url", "limit.timeout", "oauth"
    title: str
    kind: Kind = "text"
    help: str = ""
    choices: tuple[str, ...] = ()
    default: str | None = None
    required: bool = True
    check: Callable[[str], str | None] = field(default=lambda _answer: None, compare=False)

    def problem(self, answer: str) -> str | None:
        """What is wrong with ``answer`` (already defaulted), or None."""
        if not answer:
            return "an answer is needed" if self.required else None
        if self.choices and answer not in self.choices:
            return f"choose one of: {', '.join(self.choices)}"
        return self.check(answer)


class Asker(Protocol):
    """A front end: asks a question (showing ``problem`` from the last attempt, if any) and
    tells the person what is going on."""

    async def ask(self, question: Question, problem: str | None) -> str: ...

    def tell(self, text: str) -> None: ...


def env_question(var: EnvVar, stored: bool, current: str | None) -> Question:
    """The question for one variable: hidden input for a secret, a choice when the repository
    lists the allowed values, else text checked against the declared pattern."""
    label = f"{var.name}" + (f": {var.description}" if var.description else "")
    if var.secret:
        keep = " (stored; press Enter to keep it)" if stored else ""
        return Question(
            f"env.{var.name}",
            label + keep,
            kind="secret",
            help=var.description,
            required=var.required and not stored,
        )
    default = current if current is not None else var.default
    if var.choices:
        return Question(
            f"env.{var.name}",
            label,
            kind="choice",
            choices=tuple(var.choices),
            default=default if default in var.choices else var.choices[0],
        )
    return Question(
        f"env.{var.name}",
        label,
        default=default,
        required=var.required,
        check=pattern_check(var.pattern),
    )


def pattern_check(pattern: str | None) -> Callable[[str], str | None]:
    if pattern is None:
        return lambda _answer: None
    compiled = re.compile(pattern)
    return lambda answer: (
        None if compiled.fullmatch(answer) else f"the value must match the pattern {pattern}"
    )


def number_check(answer: str) -> str | None:
    try:
        value = float(answer)
    except ValueError:
        return "write a number of seconds, e.g. 120"
    return None if value > 0 else "the number must be above 0"


def size_check(answer: str) -> str | None:
    if answer == "none":
        return None
    try:
        parse_size(answer)
    except ValueError:
        return "write a size like 512M or 2G (or none)"
    return None


def yes_no(key: str, title: str, default: bool, help: str = "") -> Question:
    return Question(
        key, title, kind="choice", choices=(YES, NO), default=YES if default else NO, help=help
    )


def path_grants(answer: str) -> list[str]:
    """``"~/data:ro, /srv/out:rw"`` -> normalised grants (the mode defaults to ro)."""
    from assistant.security.policy import normalise_path_grant

    if answer.strip() in ("", "none"):
        return []
    return [normalise_path_grant(p.strip()) for p in answer.split(",") if p.strip()]


def paths_check(answer: str) -> str | None:
    for grant in path_grants(answer):
        path = Path(grant.rsplit(":", 1)[0])
        if not path.exists():
            return f"{path} does not exist"
    return None
