"""``mark1 plugin``: the plugin lifecycle."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from assistant.cli.context import session
from assistant.cli.output import (
    Reporter,
    confirm,
    echo_json,
    json_option,
    progress,
    run_async,
    table,
    yes_option,
)
from assistant.cli.plugin_setup_cmd import configure, plugin_doctor
from assistant.cli.plugin_test_cmd import plugin_test

if TYPE_CHECKING:
    from assistant.plugins.analysis.report import Analysis
    from assistant.plugins.registry import PluginRecord


@click.group()
def plugin() -> None:
    """Analyse, install, check, update, link, inspect and remove plugins.

    \b
    Any Git repository can be a plugin: `analyze` shows what Mark-1 finds in it and the
    mark1.plugin.yml it proposes (a repository may carry its own). Each plugin gets its
    own environment (a uv-built venv, node_modules, its builds) so plugins never clash.
    """


def _print_record(record: PluginRecord, as_json: bool, verb: str) -> None:
    if as_json:
        echo_json(
            record.summary()
            | {"notes": record.environment.get("notes", []), "checks": _checks(record)}
        )
        return
    where = (
        record.source_path if record.linked else f"{record.source} @ {(record.commit or '')[:12]}"
    )
    click.echo(f"{verb} {record.name} {record.manifest.version} ({where}): {record.status}")
    for cap in record.manifest.capabilities:
        click.echo(f"  {record.name}.{cap.name}  {cap.description}")
    for check in _checks(record):
        if check.get("status") == "failed":
            click.echo(f"  {check['name']} does not work: {check['reason']}")
            if check.get("next_step"):
                click.echo(f"    next: {check['next_step']}")
    for note in record.environment.get("notes", []):
        click.echo(f"  note: {note}")


def _checks(record: PluginRecord) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = record.validation.get("checks") or []
    return checks


@plugin.command()
@click.argument("source")
@click.option("--ref", help="Branch, tag or commit (instead of @REF; e.g. for names with '/').")
@click.option("--force", is_flag=True, help="Re-install even if a plugin of that name exists.")
@click.option(
    "--write-manifest",
    is_flag=True,
    help="Also write the manifest used into SOURCE (a local folder without one) to edit.",
)
@click.option(
    "--no-check",
    is_flag=True,
    help="Do not probe each capability (--help, MCP tools, health URL); status 'unchecked'.",
)
@yes_option
@json_option
def install(
    source: str,
    ref: str | None,
    force: bool,
    write_manifest: bool,
    no_check: bool,
    yes: bool,
    as_json: bool,
) -> None:
    """Install a plugin from SOURCE[@REF]: any Git repository or folder.

    \b
    SOURCE is an https/ssh Git URL (https://host/owner/repo, git@host:owner/repo),
    a file:// URL or a local folder that is a Git repository. REF is a branch, tag or
    commit; the commit actually installed is recorded.

    \b
    The repository is analysed first (nothing of it runs): what it needs, what it
    offers, what it risks, and the manifest it will be installed with - its own
    mark1.plugin.yml, completed, or one Mark-1 proposes. You confirm, or pass --yes
    (scripts must, unless the repository carries its own manifest and nothing
    high-risk was found). Then its environment is built, each capability is checked
    (help, MCP tools, health URL) and the plugin is registered as ready, degraded
    (some capabilities failed: see `mark1 plugin info`) or not at all.

    \b
    Examples:
      mark1 plugin install https://github.com/user/image-processor
      mark1 plugin install ./examples/csv-summary@main
      mark1 plugin install ./my-tool --yes --write-manifest
    """
    from assistant.plugins.installer import Installer

    async def go() -> PluginRecord:
        async with session() as (settings, store):
            with progress(quiet=as_json) as report:
                approve = _approval(report, yes=yes, quiet=as_json)
                installer = Installer(store, settings, report, approve, check=not no_check)
                return await installer.install(source, ref=ref, force=force)

    record = run_async(go())
    if write_manifest:
        _write_installed_manifest(source, record, as_json)
    _print_record(record, as_json, "installed")
    if record.status == "failed":  # registered, so `plugin info` can tell; but not usable
        sys.exit(1)


def _approval(report: Reporter, *, yes: bool, quiet: bool) -> Callable[[Analysis], None]:
    """Show the analysis and ask before anything of the repository is installed."""

    def approve(analysis: Analysis) -> None:
        from assistant.cli.analysis_view import show_analysis
        from assistant.errors import UserError

        high = [r for r in analysis.profile.risks if r.severity == "high"]
        authored = analysis.profile.manifest_file is not None
        if yes or (not sys.stdin.isatty() and authored and not high):
            return
        with report.paused():
            if not quiet:
                show_analysis(analysis)
            if not sys.stdin.isatty():
                why = "it has high risks" if high else "its manifest was proposed by Mark-1"
                raise UserError(
                    f"installing {analysis.profile.source} needs confirmation: {why}",
                    hint="review `mark1 plugin analyze SOURCE`, then pass --yes",
                )
            if not click.confirm("Install it with this manifest?", default=not high):
                raise click.exceptions.Abort()

    return approve


def _write_installed_manifest(source: str, record: PluginRecord, as_json: bool) -> None:
    """Copy the manifest a plugin was installed with into its local source folder."""
    from assistant.errors import UserError
    from assistant.plugins.source import parse_source

    folder = parse_source(source).local_path
    if folder is None:
        raise UserError("--write-manifest writes into a local folder; SOURCE is a URL")
    target = folder / "mark1.plugin.yml"
    if target.exists():
        if not as_json:
            click.echo(f"{target} exists already: left as it is")
        return
    shutil.copyfile(record.manifest_path, target)
    if not as_json:
        click.echo(f"wrote {target}: edit and commit it")


@plugin.command()
@click.argument("source")
@click.option("--ref", help="Branch, tag or commit (instead of @REF).")
@click.option(
    "--write-manifest",
    is_flag=True,
    help="Write the proposed mark1.plugin.yml into SOURCE (a local folder) to edit and commit.",
)
@click.option("--force", is_flag=True, help="With --write-manifest: overwrite an existing one.")
@json_option
def analyze(source: str, ref: str | None, write_manifest: bool, force: bool, as_json: bool) -> None:
    """Show what SOURCE needs, offers and risks, without installing or running anything.

    \b
    Reads dependency files of every ecosystem, entry points (console scripts, scripts,
    Node bins, Makefiles, Go/Rust programs, Dockerfiles, web apps, MCP servers, agents),
    command-line parameters, environment variables, services and risky code, then
    proposes the manifest `mark1 plugin install` would use. --json prints it all in
    the documented shape (docs/analysis.md).

    \b
    Examples:
      mark1 plugin analyze ./my-tool
      mark1 plugin analyze https://github.com/user/repo@v2 --json
      mark1 plugin analyze ./my-tool --write-manifest
    """
    from assistant.cli.analysis_view import show_analysis
    from assistant.config import load_settings
    from assistant.errors import UserError
    from assistant.plugins.analysis import report
    from assistant.plugins.source import parse_source

    install = load_settings().install
    analysis = report.analyze_source(
        source, ref=ref, depth=install.depth, timeout=install.clone_timeout
    )
    written = None
    if write_manifest:
        folder = parse_source(source).local_path
        if folder is None:
            raise UserError(
                "--write-manifest writes into a local folder",
                hint="clone the repository, then run `mark1 plugin analyze FOLDER --write-manifest`",
            )
        written = report.write_manifest(analysis, Path(analysis.profile.source), force=force)
    if as_json:
        echo_json(analysis.to_dict() | ({"written": str(written)} if written else {}))
        return
    show_analysis(analysis)
    if written:
        click.echo(f"wrote {written}: edit it, then `mark1 plugin install {source}`")


@plugin.command()
@click.argument("name")
@click.option("--ref", help="Branch, tag or commit to move to (default: the one installed from).")
@click.option("--force", is_flag=True, help="Rebuild even if the commit is unchanged.")
@json_option
def update(name: str, ref: str | None, force: bool, as_json: bool) -> None:
    """Fetch NAME again and switch to the new version once it validates.

    The old version stays active until the new one is fully installed.
    """
    from assistant.plugins.installer import Installer

    async def go() -> tuple[PluginRecord, bool]:
        async with session() as (settings, store):
            with progress(quiet=as_json) as report:
                return await Installer(store, settings, report).update(name, ref, force=force)

    record, changed = run_async(go())
    if as_json:
        echo_json(record.summary() | {"changed": changed})
    elif changed:
        _print_record(record, False, "updated")
    else:
        click.echo(f"{name} is up to date ({(record.commit or '')[:12]})")


@plugin.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@json_option
def link(path: Path, as_json: bool) -> None:
    """Use the plugin in folder PATH in place, for development.

    Edits to its code and mark1.plugin.yml take effect on the next run; run link again
    after changing its dependencies. `mark1 plugin remove` never deletes PATH.
    """
    from assistant.plugins.installer import Installer

    async def go() -> PluginRecord:
        async with session() as (settings, store):
            with progress(quiet=as_json) as report:
                return await Installer(store, settings, report).link(path)

    _print_record(run_async(go()), as_json, "linked")


@plugin.command()
@click.argument("name")
@yes_option
@json_option
def remove(name: str, yes: bool, as_json: bool) -> None:
    """Remove NAME: its files, environment, secrets and local servers go; its run history
    stays."""
    from assistant.plugins.installer import Installer

    confirm(f"Remove plugin '{name}', its environment and its secrets?", yes)

    async def go() -> PluginRecord:
        async with session() as (settings, store):
            with progress(quiet=as_json) as report:
                return await Installer(store, settings, report).remove(name)

    record = run_async(go())
    if as_json:
        echo_json({"removed": record.name})
    else:
        click.echo(f"removed {record.name}")


@plugin.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Installed plugins."""
    from assistant.plugins import registry

    async def go() -> list[PluginRecord]:
        async with session() as (_, store):
            return await registry.list_plugins(store)

    records = run_async(go())
    if as_json:
        echo_json([r.summary() for r in records])
        return
    if not records:
        click.echo("No plugins installed. Try: mark1 plugin install SOURCE")
        return
    table(
        ["plugin", "version", "status", "capabilities", "enabled", "source"],
        [
            (
                r.name,
                r.manifest.version,
                r.status,
                len(r.manifest.capabilities),
                "yes" if r.enabled else "no",
                f"{r.source} (linked)" if r.linked else f"{r.source} @ {(r.commit or '')[:12]}",
            )
            for r in records
        ],
    )


@plugin.command()
@click.argument("name")
@json_option
def info(name: str, as_json: bool) -> None:
    """Everything about NAME: source, commit, paths, environment, capabilities."""
    from assistant.plugins import registry

    async def go() -> PluginRecord:
        async with session() as (_, store):
            return await registry.require_plugin(store, name)

    record = run_async(go())
    if as_json:
        echo_json(
            record.summary()
            | {
                "manifest": record.manifest.model_dump(mode="json"),
                "environment_report": record.environment,
                "validation": record.validation,
                "analysis": record.analysis,
                "grants": record.grants,
                "config": record.config,
            }
        )
        return
    summary = record.summary()
    for key in (
        "name",
        "version",
        "description",
        "status",
        "source",
        "ref",
        "commit",
        "linked",
        "enabled",
        "source_path",
        "environment",
    ):
        click.echo(f"{key:<12} {summary[key]}")
    click.echo("capabilities:")
    for cap in record.manifest.capabilities:
        params = ", ".join((cap.parameters or {}).get("properties", {})) or "any inputs"
        click.echo(f"  {cap.name} [{cap.entry_point.type}, {cap.side_effects}] ({params})")
        if cap.description:
            click.echo(f"      {cap.description}")
    for check in _checks(record):
        if check.get("status") == "failed":
            click.echo(f"failing: {check['name']}: {check['reason']}")
            if check.get("next_step"):
                click.echo(f"    next: {check['next_step']}")
    for risk in (record.analysis.get("profile") or {}).get("risks", []):
        click.echo(f"risk ({risk['severity']}): {risk['category']}: {risk['detail']}")
    for note in record.environment.get("notes", []):
        click.echo(f"note: {note}")


def _toggle(name: str, enabled: bool, as_json: bool) -> None:
    from assistant.plugins import registry

    async def go() -> PluginRecord:
        async with session() as (_, store):
            return await registry.set_enabled(store, name, enabled)

    record = run_async(go())
    if as_json:
        echo_json({"name": record.name, "enabled": record.enabled})
    else:
        click.echo(f"{record.name} {'enabled' if enabled else 'disabled'}")


@plugin.command()
@click.argument("name")
@json_option
def enable(name: str, as_json: bool) -> None:
    """Let NAME's capabilities run again."""
    _toggle(name, True, as_json)


@plugin.command()
@click.argument("name")
@json_option
def disable(name: str, as_json: bool) -> None:
    """Keep NAME installed but refuse to run its capabilities."""
    _toggle(name, False, as_json)


@plugin.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@json_option
def validate(path: Path, as_json: bool) -> None:
    """Check a manifest (or a folder's mark1.plugin.yml) without installing anything."""
    from assistant.errors import ManifestError
    from assistant.plugins.manifest_loader import find_manifest, load_manifest

    manifest_path = find_manifest(path) if path.is_dir() else path
    if manifest_path is None:
        raise ManifestError(f"{path} has no mark1.plugin.yml")
    manifest = load_manifest(manifest_path)
    if as_json:
        echo_json(manifest.model_dump(mode="json"))
        return
    names = ", ".join(c.name for c in manifest.capabilities)
    click.echo(f"{manifest_path}: valid; plugin '{manifest.name}' with capabilities: {names}")


@plugin.command()
def schema() -> None:
    """Print the JSON Schema of mark1.plugin.yml (both forms), for editors and CI."""
    from assistant.plugins.manifest_loader import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


@plugin.command()
@click.argument("name")
@click.option(
    "--grant",
    "grant",
    multiple=True,
    type=click.Choice(["network"]),
    help="Allow the plugin something the sandbox denies.",
)
@click.option(
    "--revoke", "revoke", multiple=True, type=click.Choice(["network"]), help="Take a grant back."
)
@click.option(
    "--grant-path",
    multiple=True,
    metavar="PATH[:ro|rw]",
    help="Let the plugin read (ro, default) or write (rw) PATH.",
)
@click.option("--revoke-path", multiple=True, metavar="PATH", help="Take a path grant back.")
@click.option(
    "--trust/--untrust",
    default=None,
    help="Run the plugin without any sandbox (only for code you trust).",
)
@json_option
def permissions(
    name: str,
    grant: tuple[str, ...],
    revoke: tuple[str, ...],
    grant_path: tuple[str, ...],
    revoke_path: tuple[str, ...],
    trust: bool | None,
    as_json: bool,
) -> None:
    """Show or change how NAME is confined.

    \b
    Every plugin runs in a sandbox: no network, writes only to the run's workspace, your
    home and Mark-1's data hidden, memory/CPU/process limits. The manifest can ask for more;
    only you can grant it.

    \b
    Examples:
      mark1 plugin permissions image-resizer
      mark1 plugin permissions fetcher --grant network
      mark1 plugin permissions backup --grant-path ~/Documents:ro --grant-path /srv/out:rw
    """
    from assistant.config import workspace
    from assistant.plugins import registry
    from assistant.security.policy import Grants, grants_of, normalise_path_grant, requests

    async def go() -> tuple[PluginRecord, list[str], list[str]]:
        async with session() as (settings, store):
            record = await registry.require_plugin(store, name)
            grants = grants_of(record)
            changed = bool(grant or revoke or grant_path or revoke_path or trust is not None)
            if changed:
                network = (grants.network or "network" in grant) and "network" not in revoke
                dropped = {normalise_path_grant(p).rsplit(":", 1)[0] for p in revoke_path}
                kept = [p for p in grants.paths if p.rsplit(":", 1)[0] not in dropped]
                new = grants.model_copy(
                    update={
                        "trusted": grants.trusted if trust is None else trust,
                        "network": network,
                        "paths": list(dict.fromkeys(Grants(paths=[*kept, *grant_path]).paths)),
                    }
                )
                record = await registry.set_grants(store, name, new.model_dump())
            return record, _policy_lines(record, settings, workspace(settings)), requests(record)

    record, lines, asked = run_async(go())
    if as_json:
        echo_json({"name": record.name, "grants": record.grants, "policy": lines, "asks": asked})
        return
    click.echo(f"{record.name}:")
    for line in lines:
        click.echo(f"  {line}")
    for request in asked:
        click.echo(f"  asks for {request}")


def _policy_lines(record: PluginRecord, settings: Any, workdir: Path) -> list[str]:
    from assistant.security.policy import policy_for

    cap = record.manifest.capabilities[0]
    policy = policy_for(record, cap, settings, workdir, {})
    if policy is None:
        return ["runs WITHOUT a sandbox (trusted)"]
    return ["sandboxed", *policy.describe()]


@plugin.command("import-mcp")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def import_mcp(file: Path, as_json: bool) -> None:
    """Install the MCP servers of a Claude-style config FILE ({"mcpServers": {...}}).

    Each stdio server becomes a plugin whose capabilities are its tools. Env values in the
    file are not copied (they are often secrets): export them before running.
    """
    from assistant.plugins.installer import Installer

    async def go() -> list[tuple[str, PluginRecord | None, str]]:
        async with session() as (settings, store):
            with progress(quiet=as_json) as report:
                return await Installer(store, settings, report).import_mcp(file)

    outcomes = run_async(go())
    if as_json:
        echo_json(
            [
                {"server": name, "plugin": r.summary() if r else None, "note": note}
                for name, r, note in outcomes
            ]
        )
        return
    for name, record, note in outcomes:
        if record is None:
            click.echo(f"skipped {name}: {note}")
        else:
            tools = ", ".join(c.name for c in record.manifest.capabilities)
            click.echo(f"imported {record.name}: {tools}" + (f" ({note})" if note else ""))


plugin.add_command(plugin_test)
plugin.add_command(configure)
plugin.add_command(plugin_doctor)
