"""``mark1 config``: read and change layered settings."""

from __future__ import annotations

from pathlib import Path

import click

from assistant import paths
from assistant.cli.output import echo_json, json_option
from assistant.errors import ConfigError

# assistant.config (pydantic) is imported inside each command: `mark1 config --help` stays light.

scope_option = click.option(
    "--project", is_flag=True, help="Write ./.mark1/config.toml instead of the user file."
)


def _target(project: bool) -> Path:
    return paths.PROJECT_CONFIG.resolve() if project else paths.config_file()


@click.group()
def config() -> None:
    """Read and change settings.

    \b
    Layers, later wins: defaults < user config.toml < project .mark1/config.toml
    < MARK1_* environment variables (MARK1_RUN__TIMEOUT=60) < command-line flags.
    """


@config.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Every setting with its effective value."""
    from assistant.config import flatten, known_keys, load_settings

    values = flatten(load_settings().model_dump(mode="json"))
    if as_json:
        echo_json(values)
        return
    docs = known_keys()
    for key, value in values.items():
        click.echo(f"{key} = {value!r}    # {docs.get(key, '')}")


@config.command()
@click.argument("key")
@json_option
def get(key: str, as_json: bool) -> None:
    """Print the effective value of KEY (e.g. run.timeout)."""
    from assistant.config import flatten, load_settings

    values = flatten(load_settings().model_dump(mode="json"))
    if key not in values:
        raise ConfigError(f"unknown setting '{key}'", hint="known: " + ", ".join(values))
    if as_json:
        echo_json(values[key])
    else:
        click.echo("" if values[key] is None else values[key])


@config.command("set")
@click.argument("key")
@click.argument("value")
@scope_option
@json_option
def set_(key: str, value: str, project: bool, as_json: bool) -> None:
    """Set KEY to VALUE in the user (or project) config file, after checking it."""
    from assistant.config import set_value

    target = _target(project)
    stored = set_value(target, key, value)
    if as_json:
        echo_json({"key": key, "value": stored, "file": str(target)})
    else:
        click.echo(f"{key} = {stored!r}  ({target})")


@config.command()
@click.argument("key")
@scope_option
def unset(key: str, project: bool) -> None:
    """Remove KEY from the config file so the default (or a lower layer) applies."""
    from assistant.config import unset_value

    target = _target(project)
    if not unset_value(target, key):
        raise ConfigError(f"'{key}' is not set in {target}")
    click.echo(f"removed {key} from {target}")


@config.command()
@json_option
def path(as_json: bool) -> None:
    """Where the config files are (the project file only if one is found)."""
    found = {"user": str(paths.config_file()), "project": None}
    project = paths.project_config_file()
    if project is not None:
        found["project"] = str(project)
    if as_json:
        echo_json(found)
        return
    click.echo(found["user"])
    if found["project"]:
        click.echo(found["project"])
