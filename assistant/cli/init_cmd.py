"""``mark1 init``: create the workspace, the database and the config file, and say where."""

from __future__ import annotations

from pathlib import Path

import click

from assistant import paths
from assistant.cli.output import echo_json, json_option, run_async


@click.command()
@click.option(
    "--workspace",
    "workspace_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder where runs work and write their files (remembered in config.toml).",
)
@json_option
def init(workspace_dir: Path | None, as_json: bool) -> None:
    """Create the workspace and show where Mark-1 keeps everything.

    Safe to run again: existing files are kept; a new --workspace replaces the old setting.
    """
    from assistant.config import load_settings, set_value, workspace
    from memory.store import Store

    if workspace_dir is not None:
        set_value(paths.config_file(), "workspace", str(workspace_dir.expanduser().resolve()))
    settings = load_settings()
    folder = workspace(settings)
    for d in (paths.config_dir(), paths.data_dir(), paths.cache_dir(), paths.plugins_dir()):
        d.mkdir(parents=True, exist_ok=True)

    async def create_db() -> None:
        async with Store.open(paths.db_path()):
            pass

    run_async(create_db())
    places = {
        "workspace": str(folder),
        "config_file": str(paths.config_file()),
        "database": str(paths.db_path()),
        "plugins": str(paths.plugins_dir()),
        "cache": str(paths.cache_dir()),
        "logs": str(paths.log_dir()),
    }
    if as_json:
        echo_json(places)
        return
    click.echo("Mark-1 is ready. It keeps:")
    for key, value in places.items():
        click.echo(f"  {key.replace('_', ' '):<12} {value}")
    click.echo(
        "\nNext: mark1 plugin install SOURCE   (a Git URL or a folder with mark1.plugin.yml)"
    )
