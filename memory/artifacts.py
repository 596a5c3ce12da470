"""Content-addressed storage for the files steps produce, so a run's workspace holds each content
once however many steps, retries and cache hits hand it around, and the database can name a
file by its hash.

Layout: ``<root>/<sha[:2]>/<sha>/<name>``. Every name in one hash folder is a hard link to the
same data, so storing known bytes under another name costs a directory entry, not a copy. New
content is staged in ``<root>/.staging`` (hard-linked from the source on the same file system,
else copied), made read-only, then moved into place with ``os.replace``: a crash leaves at
worst an orphan in ``.staging``, never a partial file under a final name.

A hard link shares the source's inode, so the source becomes read-only as well; a program that
later rewrites it in place fails instead of silently changing stored content. Pass
``link=False`` for files the run does not own (a user's input) to copy them instead. Read-only
bits do not stop root.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from memory.converters import format_of_path, normalise_format

_CHUNK = 1 << 20
_CACHE_SIZE = 4096
_RACY_NS = 2_000_000_000
_STAGING = ".staging"
_DIGEST = re.compile(r"[0-9a-f]{64}")
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH

_StatKey = tuple[str, int, int, int, int]
_hashes: dict[_StatKey, str] = {}


@dataclass(frozen=True)
class Artifact:
    """One stored file: its content hash and the name a step gave it."""

    sha256: str
    size: int
    name: str
    path: Path
    format: str | None


class ArtifactStore:
    """The artifacts of one run under ``root``, created on the first put."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(
        self, path: Path, name: str | None = None, format: str | None = None, *, link: bool = True
    ) -> Artifact:
        """Store a step's file by content; known content is linked, never copied again."""
        digest, hashed = _hash(path)

        def stage(temporary: Path) -> None:
            if not (link and _try_link(path, temporary)):
                shutil.copyfile(path, temporary)
            if _stat_key(path, os.stat(path)) != _stat_key(path, hashed):
                raise ValueError(
                    f"{path} changed while it was being stored; store it again once whatever "
                    "writes it has finished."
                )

        return self._place(digest, path.name if name is None else name, format, stage)

    def put_bytes(self, data: bytes, name: str, format: str | None = None) -> Artifact:
        """Store output a step returned in memory, so it is kept like any file it wrote."""

        def stage(temporary: Path) -> None:
            temporary.write_bytes(data)

        return self._place(hashlib.sha256(data).hexdigest(), name, format, stage)

    def get(self, sha256: str) -> Artifact | None:
        """A stored file with this content (the first of its names), or None."""
        stored = self._stored(sha256)
        return None if stored is None else _artifact(sha256, stored, None)

    def path_for(self, sha256: str, name: str) -> Path:
        """Where content ``sha256`` lives under ``name``, whether or not it is stored yet."""
        if not name or name in {".", ".."} or "/" in name or "\0" in name:
            raise ValueError(
                f"Artifact name {name!r} is not a plain file name; give one without '/', "
                "such as 'report.csv'."
            )
        return self._folder(sha256) / name

    def _folder(self, sha256: str) -> Path:
        if not _DIGEST.fullmatch(sha256):
            raise ValueError(f"{sha256!r} is not a SHA-256 digest (64 lowercase hex digits).")
        return self.root / sha256[:2] / sha256

    def _stored(self, sha256: str) -> Path | None:
        folder = self._folder(sha256)
        names = sorted(os.listdir(folder)) if folder.is_dir() else []
        return folder / names[0] if names else None

    def _place(
        self, digest: str, name: str, format: str | None, stage: Callable[[Path], None]
    ) -> Artifact:
        target = self.path_for(digest, name)
        if not target.exists():
            stored = self._stored(digest)
            if stored is None or not _try_link(stored, target):
                self._install(stage, target)
        return _artifact(digest, target, format)

    def _install(self, stage: Callable[[Path], None], target: Path) -> None:
        staging = self.root / _STAGING
        staging.mkdir(parents=True, exist_ok=True)
        temporary = staging / uuid.uuid4().hex
        try:
            stage(temporary)
            os.chmod(temporary, stat.S_IMODE(os.stat(temporary).st_mode) & ~_WRITE_BITS)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    """The file's SHA-256, remembered while it stays unchanged: the engine hashes the same
    inputs for every cache lookup."""
    return _hash(path)[0]


def _hash(path: Path) -> tuple[str, os.stat_result]:
    """The digest and the stat it belongs to, from the cache when size, mtime and inode match.

    Files modified in the last two seconds are not cached: a rewrite of the same size within
    the file system's timestamp granularity would otherwise keep the old digest.
    """
    before = os.stat(path)
    key = _stat_key(path, before)
    cached = _hashes.get(key)
    if cached is not None:
        return cached, before
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    found = digest.hexdigest()
    settled = time.time_ns() - before.st_mtime_ns > _RACY_NS
    if settled and _stat_key(path, os.stat(path)) == key:
        if len(_hashes) >= _CACHE_SIZE:
            del _hashes[next(iter(_hashes))]
        _hashes[key] = found
    return found, before


def _stat_key(path: Path, status: os.stat_result) -> _StatKey:
    return (
        os.path.abspath(path),
        status.st_size,
        status.st_mtime_ns,
        status.st_ino,
        status.st_dev,
    )


def _try_link(source: Path, link: Path) -> bool:
    try:
        os.link(source, link)
    except OSError:
        return False
    return True


def _artifact(digest: str, path: Path, format: str | None) -> Artifact:
    return Artifact(
        sha256=digest,
        size=path.stat().st_size,
        name=path.name,
        path=path,
        format=normalise_format(format) if format else format_of_path(path),
    )
