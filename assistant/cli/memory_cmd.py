"""``mark1 memory``: what the assistant remembers: search, list, show, add, forget, export,
import, stats and reindex."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from assistant.cli.context import session
from assistant.cli.output import (
    color_enabled,
    confirm,
    echo_json,
    json_option,
    local_time,
    run_async,
    table,
    yes_option,
)
from assistant.errors import InputError, NotFoundError, UserError
from memory.kinds import KINDS

if TYPE_CHECKING:
    from assistant.config import Settings
    from memory.memories import MemoryStore

T = TypeVar("T")
TEXT_WIDTH = 70
KIND_CHOICE = click.Choice(KINDS)
namespace_option = click.option(
    "--namespace",
    metavar="NS",
    help="Whose memories (default: the memory.namespace setting, 'default').",
)


@click.group()
def memory() -> None:
    """What the assistant remembers across conversations, recalled by meaning.

    \b
    Examples:
      mark1 memory add "my S3 bucket is acme-photos" --kind fact
      mark1 memory search "which bucket do I use"
      mark1 memory forget --before 2026-01-01 --yes
      mark1 memory export memories.jsonl

    Memories live in Mark-1's data folder: texts in SQLite, vectors in Chroma. Secrets
    (API keys, tokens, passwords) are redacted before anything is stored.
    """


def _with_memory(work: Callable[[MemoryStore, Settings], Awaitable[T]]) -> T:
    """Run ``work`` on the opened memory, with the settings it was opened with (whose
    ``memory.namespace`` is the default of ``--namespace``)."""
    from assistant.memory_access import memory_store

    async def go() -> T:
        async with session() as (settings, store):
            return await work(await memory_store(store, settings), settings)

    return run_async(go())


@memory.command(short_help="Remember a fact or preference.")
@click.argument("text")
@click.option("--kind", type=KIND_CHOICE, default="fact", show_default=True)
@namespace_option
@json_option
def add(text: str, kind: str, namespace: str | None, as_json: bool) -> None:
    """Remember TEXT (a fact or preference the assistant should know)."""
    found = _with_memory(
        lambda m, s: m.remember(text, kind=kind, namespace=namespace or s.memory.namespace)  # type: ignore[arg-type]
    )
    if as_json:
        echo_json(found.record())
    else:
        click.echo(f"remembered {found.id}: {found.text}")


@memory.command(short_help="Find memories by meaning.")
@click.argument("text")
@click.option("-n", "--limit", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--kind", "kinds", type=KIND_CHOICE, multiple=True, help="Only these kinds.")
@namespace_option
@json_option
def search(
    text: str, limit: int, kinds: tuple[str, ...], namespace: str | None, as_json: bool
) -> None:
    """Memories that matter for TEXT, by meaning, with recent ones first among equals."""
    found = _with_memory(
        lambda m, s: m.recall(
            text,
            namespace=namespace or s.memory.namespace,
            k=limit,
            budget_tokens=10**9,  # a listing for a person: -n bounds it, not a prompt's budget
            kinds=kinds or None,
        )
    )
    if as_json:
        echo_json(
            {
                "method": found.method,
                "notice": found.notice,
                "results": [
                    r.memory.record() | {"similarity": r.similarity, "score": r.score}
                    for r in found.items
                ],
            }
        )
        return
    if found.notice:
        click.echo(f"note: {found.method} search: {found.notice}", err=True)
    if not found.items:
        click.echo(f"Nothing remembered matches '{text}'.")
        return
    table(
        ["memory", "kind", "when", "similarity", "text"],
        [
            (
                r.memory.id,
                r.memory.kind,
                local_time(r.memory.created_at),
                f"{r.similarity:.2f}",
                _cut(r.memory.text),
            )
            for r in found.items
        ],
        title=f"{found.method} search for '{text}'",
    )


@memory.command("list", short_help="The newest memories.")
@click.option("--kind", type=KIND_CHOICE)
@click.option("--session", "session_id", metavar="ID", help="Only memories of this session.")
@click.option("-n", "--limit", default=20, show_default=True, type=click.IntRange(min=1))
@namespace_option
@json_option
def list_(
    kind: str | None, session_id: str | None, limit: int, namespace: str | None, as_json: bool
) -> None:
    """The newest memories (of every namespace unless --namespace is given)."""
    found = _with_memory(
        lambda m, _: m.list_memories(
            namespace=namespace, kind=kind, session_id=session_id, limit=limit
        )
    )
    if as_json:
        echo_json([m.record() for m in found])
        return
    if not found:
        click.echo("Nothing remembered yet.")
        return
    table(
        ["memory", "kind", "namespace", "when", "text"],
        [(m.id, m.kind, m.namespace, local_time(m.created_at), _cut(m.text)) for m in found],
    )


@memory.command(short_help="One memory in full.")
@click.argument("memory_id", metavar="ID")
@json_option
def show(memory_id: str, as_json: bool) -> None:
    """One memory in full (a unique prefix of ID is enough)."""
    found = _with_memory(lambda m, _: m.get(memory_id))
    if found is None:
        raise NotFoundError(
            f"no single memory matches '{memory_id}'", hint="`mark1 memory list` shows their ids"
        )
    if as_json:
        echo_json(found.record())
        return
    click.echo(f"memory {found.id} ({found.kind}, namespace {found.namespace})")
    click.echo(f"  remembered {local_time(found.created_at)}")
    for label, value in (
        ("role", found.role),
        ("session", found.session_id),
        ("run", found.run_id),
        ("plugins", ", ".join(found.plugins)),
    ):
        if value:
            click.echo(f"  {label}: {value}")
    click.echo("")
    click.echo(found.text)


@memory.command(short_help="Delete memories for good.")
@click.argument("memory_ids", metavar="[ID]...", nargs=-1)
@click.option("--session", "session_id", metavar="ID", help="Everything of this conversation.")
@click.option(
    "--before", metavar="DATE", help="Everything older than DATE (2026-01-31 or 2026-01-31T12:00)."
)
@namespace_option
@yes_option
@json_option
def forget(
    memory_ids: tuple[str, ...],
    session_id: str | None,
    before: str | None,
    namespace: str | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Delete memories for good: from Chroma and SQLite, bytes included.

    \b
    Examples:
      mark1 memory forget 20261207-101502-3fa2c1d4e5f60718
      mark1 memory forget --session 20261207-101502-3fa2c1 --yes
      mark1 memory forget --before 2026-06-01 --yes

    --session and --before also delete the conversation history of that session or time
    (what `mark1 history` shows), since it holds the same words.
    """
    if not memory_ids and session_id is None and before is None:
        raise UserError("say what to forget", hint="give memory IDs, --session ID or --before DATE")
    cutoff = _parse_date(before) if before is not None else None
    what = (
        f"{len(memory_ids)} memories"
        if memory_ids
        else f"everything of session {session_id}"
        if session_id
        else f"everything before {before}"
    )
    confirm(f"Forget {what}? This cannot be undone.", yes)

    async def work(m: MemoryStore, _: Settings) -> dict[str, int]:
        from memory import history

        ids = [await _full_id(m, given) for given in memory_ids]
        forgotten = await m.forget(
            ids=ids, session_id=session_id, before=cutoff, namespace=namespace
        )
        counts = {"memories": forgotten, "sessions": 0, "messages": 0}
        if session_id is not None:
            gone = await history.delete_session(m.store, session_id)
            counts |= {"sessions": gone.sessions, "messages": gone.messages}
        elif cutoff is not None:
            gone = await history.delete_before(m.store, cutoff)
            counts |= {"sessions": gone.sessions, "messages": gone.messages}
        return counts

    counts = _with_memory(work)
    if as_json:
        echo_json(counts)
    else:
        click.echo(
            f"forgot {counts['memories']} memories, {counts['messages']} messages and "
            f"{counts['sessions']} sessions"
        )


async def _full_id(m: MemoryStore, given: str) -> str:
    found = await m.get(given)
    if found is None:
        raise NotFoundError(
            f"no single memory matches '{given}'", hint="`mark1 memory list` shows their ids"
        )
    return found.id


@memory.command(short_help="Write memories to a JSON Lines file.")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@namespace_option
@json_option
def export(file: Path, namespace: str | None, as_json: bool) -> None:
    """Write every memory to FILE as JSON Lines (one memory per line, oldest first)."""
    count = _with_memory(lambda m, _: m.export(file, namespace=namespace))
    if as_json:
        echo_json({"exported": count, "file": str(file)})
    else:
        click.echo(f"exported {count} memories to {file}")


@memory.command("import", short_help="Add memories from a JSON Lines file.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def import_(file: Path, as_json: bool) -> None:
    """Add the memories of a JSON Lines FILE (as `export` writes it).

    Every line is checked first: one bad line imports nothing and is named with the fix.
    Memories already here (same id, or the same words) are skipped; texts are redacted again.
    """
    from memory.memories import MemoryFileError

    async def work(m: MemoryStore, _: Settings) -> tuple[int, int]:
        with _bar("embedding imported memories", as_json) as report:
            try:
                return await m.import_(file, progress=report)
            except MemoryFileError as exc:
                raise InputError(str(exc)) from exc

    added, skipped = _with_memory(work)
    if as_json:
        echo_json({"added": added, "skipped": skipped})
    else:
        click.echo(f"imported {added} memories ({skipped} already here)")


@memory.command(short_help="Counts, model and disk use.")
@json_option
def stats(as_json: bool) -> None:
    """How much is remembered, by kind and namespace, and the embedding model in use."""
    found: dict[str, Any] = _with_memory(lambda m, _: m.stats())
    if as_json:
        echo_json(found)
        return
    click.echo(f"{found['memories']} memories")
    for label, counts in (("by kind", found["by_kind"]), ("by namespace", found["by_namespace"])):
        if counts:
            click.echo(f"  {label}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    click.echo(f"  model: {found['model']} ({found['dimension']} dimensions)")
    if found["reindex"]:
        r = found["reindex"]
        click.echo(
            f"  re-embedding with {r['to']}: {r['done']} of {r['total']} done;"
            " `mark1 memory reindex` finishes it"
        )
    if found["waiting_to_embed"]:
        click.echo(f"  waiting to be embedded: {found['waiting_to_embed']}")
    click.echo(f"  vectors on disk: {found['vectors_bytes'] / 1e6:.1f} MB")


@memory.command(short_help="Re-embed memories with the configured model.")
@json_option
def reindex(as_json: bool) -> None:
    """Re-embed every memory with the configured model (after `mark1 config set memory.model`).

    Recall keeps working on the old vectors until the new ones are complete; an interrupted
    reindex continues where it stopped. Memories not embedded yet are embedded too.
    """
    from memory.embedder import EmbedderUnavailable

    async def work(m: MemoryStore, _: Settings) -> dict[str, Any]:
        with _bar("re-embedding memories", as_json) as report:
            try:
                changed = await m.reindex(report)
                caught_up = await m.catch_up(report)
            except EmbedderUnavailable as exc:
                raise UserError(exc.message, hint=exc.hint) from exc
        found = await m.stats()
        return {"reembedded": changed, "embedded": caught_up, "model": found["model"]}

    done = _with_memory(work)
    if as_json:
        echo_json(done)
    elif done["reembedded"] or done["embedded"]:
        click.echo(
            f"re-embedded {done['reembedded']} and embedded {done['embedded']} memories;"
            f" recall uses {done['model']}"
        )
    else:
        click.echo(f"nothing to do: every memory is embedded with {done['model']}")


@contextmanager
def _bar(label: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal, a line per tenth otherwise, nothing with ``quiet``."""
    if quiet:
        yield lambda _done, _total: None
        return
    if not color_enabled(sys.stderr):
        shown = [-1]

        def line(done: int, total: int) -> None:
            tenth = done * 10 // max(total, 1)
            if tenth != shown[0]:
                shown[0] = tenth
                click.echo(f"... {label}: {done}/{total}", err=True)

        yield line
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _parse_date(text: str) -> float:
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise InputError(
            f"'{text}' is not a date", hint="write it as 2026-01-31 or 2026-01-31T12:00"
        ) from None


def _cut(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= TEXT_WIDTH else flat[: TEXT_WIDTH - 1] + "…"
