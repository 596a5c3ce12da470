"""``mark1 capabilities``: what the installed plugins can do."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from assistant.cli.context import session
from assistant.cli.output import echo_json, json_option, run_async, table

if TYPE_CHECKING:
    from assistant.plugins.registry import CapabilityRow


@click.group()
def capabilities() -> None:
    """List and search what installed plugins can do."""


def _rows() -> list[CapabilityRow]:
    from assistant.plugins import registry
    from assistant.plugins.invoke import refresh_linked

    async def go() -> list[CapabilityRow]:
        async with session() as (_, store):
            await refresh_linked(store)
            return await registry.list_capabilities(store)

    return run_async(go())


def _show(rows: list[CapabilityRow], as_json: bool, empty: str) -> None:
    if as_json:
        echo_json([r.summary() for r in rows])
        return
    if not rows:
        click.echo(empty)
        return
    by_plugin: dict[str, list[CapabilityRow]] = {}
    for row in rows:
        by_plugin.setdefault(row.plugin, []).append(row)
    for plugin, group in by_plugin.items():
        disabled = "" if group[0].enabled else " (disabled)"
        table(
            ["capability", "inputs", "outputs", "description"],
            [
                (
                    f"{plugin}.{r.capability.name}",
                    ",".join(r.capability.input_formats) or "-",
                    ",".join(r.capability.output_formats) or "-",
                    r.capability.description,
                )
                for r in group
            ],
            title=f"{plugin}{disabled}",
        )


@capabilities.command("list")
@json_option
def list_(as_json: bool) -> None:
    """Every capability, grouped by plugin, with its input and output formats."""
    _show(_rows(), as_json, "No capabilities: install a plugin with `mark1 plugin install SOURCE`.")


@capabilities.command()
@click.argument("text")
@click.option(
    "-n",
    "--limit",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    metavar="N",
    help="How many capabilities to show.",
)
@json_option
def search(text: str, limit: int, as_json: bool) -> None:
    """Capabilities that do what TEXT describes, by meaning, best first.

    \b
    Examples:
      mark1 capabilities search "shrink my pictures"     finds image compression
      mark1 capabilities search "tell me when my site is down" -n 3 --json

    Search runs offline with a small embedding model; if the model cannot load, it ranks by
    shared words (BM25) and says so on every result.
    """
    from assistant.plugins.capability_search import Found
    from assistant.plugins.capability_search import search as find
    from assistant.plugins.invoke import refresh_linked

    async def go() -> list[Found]:
        async with session() as (settings, store):
            await refresh_linked(store)
            return await find(store, settings, text, limit)

    found = run_async(go())
    if as_json:
        echo_json([f.row.summary() | {"score": f.hit.score, "method": f.hit.method} for f in found])
        return
    if not found:
        click.echo("No capabilities: install a plugin with `mark1 plugin install SOURCE`.")
        return
    methods = {f.hit.method for f in found}
    table(
        ["capability", "score", "description"],
        [
            (
                f"{f.row.plugin}.{f.row.capability.name}"
                + ("" if f.row.enabled else " (disabled)"),
                f"{f.hit.score:.2f}",
                f.row.capability.description,
            )
            for f in found
        ],
        title=f"{', '.join(sorted(methods))} search for '{text}'",
    )


@capabilities.command()
@click.argument("target")
@json_option
def show(target: str, as_json: bool) -> None:
    """One capability in full: its parameters (JSON Schema), entry point and side effects."""
    from assistant.plugins.invoke import resolve
    from assistant.plugins.registry import CapabilityRow

    async def go() -> CapabilityRow:
        async with session() as (_, store):
            plugin, cap = await resolve(store, target)
            return CapabilityRow(plugin.name, plugin.enabled, cap)

    row = run_async(go())
    data = row.summary() | {"entry_point": row.capability.entry_point.model_dump(exclude_none=True)}
    if as_json:
        echo_json(data)
        return
    click.echo(f"{data['qualified_name']}: {data['description']}")
    click.echo(
        f"  runs as: {data['entry_type']} {' '.join(data['entry_point'].get('command') or [])}"
    )
    click.echo(f"  side effects: {data['side_effects']}")
    props = (row.capability.parameters or {}).get("properties")
    if props is None:
        click.echo("  parameters: not declared; -i k=v becomes --k v, -a X a positional")
        return
    required = set((row.capability.parameters or {}).get("required", []))
    for name, prop in props.items():
        flag = " (required)" if name in required else ""
        default = f" [default {prop['default']!r}]" if "default" in prop else ""
        click.echo(
            f"  -i {name}=<{prop.get('type', 'any')}>{flag}{default}  {prop.get('description', '')}"
        )
