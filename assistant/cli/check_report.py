"""How both doctors print their findings: one ✓/✗/! line per check, the fix under each
failure, or JSON for scripts; the exit code says whether anything required failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import click

from assistant.checks import Check
from assistant.cli.output import color_enabled, echo_json


def show_checks(checks: Sequence[Check], as_json: bool, **about: Any) -> int:
    """Print ``checks`` (``about`` adds top-level keys to the JSON, e.g. the plugin's name);
    returns the exit code: 1 when a required check failed, else 0."""
    failed = any(c.failed for c in checks)
    if as_json:
        echo_json({**about, "ok": not failed, "checks": [asdict(c) for c in checks]})
        return 1 if failed else 0
    for c in checks:
        mark = "✓" if c.ok else ("✗" if c.required else "!")
        line = f"{mark} {c.name}: {c.detail}"
        color = "green" if c.ok else ("red" if c.required else "yellow")
        click.echo(click.style(line, fg=color) if color_enabled() else line)
        if c.fix and not c.ok:
            click.echo(f"    fix: {c.fix}")
    return 1 if failed else 0
