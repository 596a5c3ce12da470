"""How an analysis reads at a terminal: what the repository is, needs and risks, and the
manifest Mark-1 would install it with. Shared by `plugin analyze` and `plugin install`."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from assistant.plugins.analysis.profile import Evidence, RepositoryProfile
    from assistant.plugins.analysis.report import Analysis

SEVERITY_COLOURS = {"high": "red", "medium": "yellow", "low": "cyan"}


def show_analysis(analysis: Analysis, *, manifest: bool = True) -> None:
    """Print the profile, its risks and (unless ``manifest`` is False) the proposed manifest."""
    profile = analysis.profile
    _section(f"{profile.name.value} ({profile.source})")
    if profile.description.value:
        click.echo(f"  {profile.description.value}")
    langs = ", ".join(f"{lang} {n}" for lang, n in list(profile.languages.items())[:6])
    click.echo(f"  files: {profile.files} ({langs or 'no source files'})")
    verdict = "can become a plugin" if profile.verdict.plugin else "NOT a plugin"
    click.echo(f"  verdict: {verdict}")
    for reason in profile.verdict.reasons:
        click.echo(f"    - {reason}")
    _dependencies(profile)
    _list("entry points", [
        f"{e.kind} {e.name}: {' '.join(e.command or []) or f'{e.module}:{e.function}'}"
        f"  ({_where(e.file, e.line)}, confidence {e.confidence:.1f})"
        for e in profile.entry_points
    ])  # fmt: skip
    _list("environment variables", [
        f"{v.name}{' (secret)' if v.secret else ''}{' required' if v.required else ''}"
        f"{f' - {v.description}' if v.description else ''}"
        for v in profile.env_vars
    ])  # fmt: skip
    _list("services", [f"{s.name} ({s.kind}){_ev(s.evidence)}" for s in profile.services])
    _list("resources", [f"{r.kind}: {r.detail}{_ev(r.evidence)}" for r in profile.resources])
    _list("toolchains and programs", [
        f"{t.name}: {'found' if t.found else 'MISSING'}"
        f"{f' (apt-get install {t.debian_package})' if t.debian_package and not t.found else ''}"
        for t in profile.toolchains
    ])  # fmt: skip
    _risks(profile)
    _list("notes", profile.notes + analysis.proposal.notes)
    if manifest:
        _manifest(analysis)


def _dependencies(profile: RepositoryProfile) -> None:
    counts = Counter(d.ecosystem for d in profile.dependencies if not d.dev)
    lines = [f"{eco}: {n}" for eco, n in sorted(counts.items())]
    if profile.python_requires_spec:
        lines.append(f"python {profile.python_requires_spec}")
    lines += [
        f"hidden: {h.distribution} (imported as {h.module}{_ev(h.evidence)})"
        for h in profile.hidden_dependencies
    ]
    _list("dependencies", lines)


def _risks(profile: RepositoryProfile) -> None:
    if not profile.risks:
        _list("risks", ["none found"])
        return
    _section("risks")
    for risk in profile.risks:
        label = click.style(risk.severity.upper(), fg=SEVERITY_COLOURS[risk.severity])
        click.echo(f"  {label} {risk.category}: {risk.detail}{_ev(risk.evidence)}")


def _manifest(analysis: Analysis) -> None:
    import yaml

    document = analysis.proposal.to_dict()["manifest"]
    if document is None:
        return
    _section("proposed manifest (mark1.plugin.yml)")
    click.echo(yaml.safe_dump(document, sort_keys=False, width=100).rstrip())
    inferred = analysis.proposal.inferred
    if inferred:
        _list(
            "inferred by the analysis",
            [f"{k}: confidence {v.confidence:.1f}{_ev(v.evidence)}" for k, v in inferred.items()],
        )


def _list(title: str, lines: list[str]) -> None:
    if not lines:
        return
    _section(title)
    for line in lines:
        click.echo(f"  {line}")


def _section(title: str) -> None:
    click.echo(click.style(title, bold=True))


def _where(file: str | None, line: int | None) -> str:
    return f"{file}:{line}" if file and line else file or "?"


def _ev(evidence: list[Evidence]) -> str:
    return f" [{_where(evidence[0].file, evidence[0].line)}]" if evidence else ""
