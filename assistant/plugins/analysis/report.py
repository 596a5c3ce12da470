"""Analysing a plugin source the way `mark1 plugin analyze` does: read, never install or run.

A local folder is read in place (it need not be a Git repository yet: analysing is how one
finds out what a manifest should say); anything else is cloned into a temporary folder that
is deleted afterwards.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import ManifestError, SourceError
from assistant.plugins.analysis.analyzer import analyze
from assistant.plugins.analysis.profile import SCHEMA_VERSION, RepositoryProfile
from assistant.plugins.analysis.proposal import Proposal, propose
from assistant.plugins.manifest import Manifest
from assistant.plugins.manifest_loader import parse_manifest
from assistant.plugins.source import PluginSource, fetch, parse_source


@dataclass
class Analysis:
    """The profile of a repository and the manifest proposed for it."""

    profile: RepositoryProfile
    proposal: Proposal

    def to_dict(self) -> dict[str, Any]:
        """The documented `--json` shape (docs/analysis.md)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "profile": self.profile.model_dump(mode="json"),
            **self.proposal.to_dict(),
        }


def analyze_folder(
    root: Path, *, display: str, commit: str | None = None, name: str | None = None
) -> Analysis:
    """Analyse the checked-out plugin folder ``root`` and propose its manifest.

    A manifest the repository carries is read (its errors raised, located in the file) and
    completed rather than replaced.
    """
    profile = analyze(root, source=display, commit=commit, name_hint=name)
    author: Manifest | None = None
    if profile.manifest_file:
        manifest_path = root / profile.manifest_file
        author = parse_manifest(
            manifest_path.read_text(encoding="utf-8"), f"{display}:{profile.manifest_file}"
        )
    return Analysis(profile, propose(profile, author))


def analyze_source(
    text: str, *, ref: str | None = None, depth: int = 1, timeout: float = 120
) -> Analysis:
    """Analyse ``SOURCE[@REF][#subdirectory=DIR]`` (a folder, or a Git URL cloned to a temp dir)."""
    source = parse_source(text)
    if ref is not None:
        source = source.with_ref(ref)
    if source.local_path is not None and source.ref is None:
        root = _inside(source.local_path, source.subdir, source)
        return analyze_folder(root, display=str(root))
    with tempfile.TemporaryDirectory(prefix="mark1-analyze-") as scratch:
        checkout = fetch(source, Path(scratch), depth=depth, timeout=timeout)
        root = _inside(Path(scratch), source.subdir, source)
        return analyze_folder(
            root, display=source.display, commit=checkout.commit, name=source_name(source)
        )


def source_name(source: PluginSource) -> str:
    """The repository's (or its plugin folder's) own name: ``https://host/o/tool.git`` ->
    ``tool``, ``...#subdirectory=tools/x`` -> ``x``."""
    if source.subdir:
        return source.subdir.rstrip("/").rsplit("/", 1)[-1]
    tail = source.url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail.removesuffix(".git") or "plugin"


def _inside(folder: Path, subdir: str | None, source: PluginSource) -> Path:
    root = (folder / subdir).resolve() if subdir else folder.resolve()
    if not root.is_relative_to(folder.resolve()):
        raise SourceError(f"'{subdir}' leads outside {source.display} (a symbolic link?)")
    if not root.is_dir():
        raise SourceError(
            f"{source.display} has no folder '{subdir}'",
            hint="check the #subdirectory= part, and that the folder exists",
        )
    return root


def write_manifest(analysis: Analysis, folder: Path, *, force: bool = False) -> Path:
    """Write the proposed manifest as ``folder/mark1.plugin.yml`` for the author to edit."""
    import yaml

    manifest = analysis.proposal.manifest
    if manifest is None:
        raise ManifestError(
            "there is no manifest to write: " + "; ".join(analysis.profile.verdict.reasons)
        )
    target = folder / "mark1.plugin.yml"
    if target.exists() and not force:
        raise ManifestError(
            f"{target} already exists", hint="pass --force to overwrite it, or edit it by hand"
        )
    header = (
        "# Proposed by `mark1 plugin analyze`: check the commands, parameters and side effects,\n"
        "# then commit it. Fields the analysis inferred are listed by `mark1 plugin analyze`.\n"
    )
    body = yaml.safe_dump(analysis.proposal.to_dict()["manifest"], sort_keys=False, width=100)
    target.write_text(header + body, encoding="utf-8")
    return target
