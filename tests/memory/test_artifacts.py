"""The artifact store: content addressing, hard links, copies across file systems, crash
leftovers, read-only files, and the file-hash cache."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory.artifacts import Artifact, ArtifactStore, file_sha256

CONTENT = "name,city\nZoë,Kraków\n".encode()
DIGEST = hashlib.sha256(CONTENT).hexdigest()


def _write(path: Path, data: bytes = CONTENT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def other_fs() -> Iterator[Path]:
    """A directory on another file system than tmp_path, where hard links cannot reach."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tempfile.gettempdir()).st_dev:
        pytest.skip("this machine has no second file system at /dev/shm to copy across")
    folder = Path(tempfile.mkdtemp(dir=shm))
    yield folder
    shutil.rmtree(folder)


def test_put_stores_by_content_and_links_the_source(tmp_path: Path) -> None:
    source = _write(tmp_path / "work" / "out.csv")
    store = ArtifactStore(tmp_path / "artifacts")
    artifact = store.put(source)
    stored = tmp_path / "artifacts" / DIGEST[:2] / DIGEST / "out.csv"
    assert artifact == Artifact(DIGEST, len(CONTENT), "out.csv", stored, "csv")
    assert stored.read_bytes() == CONTENT
    assert os.stat(stored).st_ino == os.stat(source).st_ino
    assert _files(tmp_path / "artifacts") == [f"{DIGEST[:2]}/{DIGEST}/out.csv"]


def test_the_same_content_is_stored_once(tmp_path: Path) -> None:
    first = _write(tmp_path / "a" / "out.csv")
    second = _write(tmp_path / "b" / "out.csv")
    store = ArtifactStore(tmp_path / "artifacts")
    one, two = store.put(first), store.put(second)
    assert one == two
    assert os.stat(one.path).st_ino == os.stat(first).st_ino
    assert os.stat(second).st_nlink == 1, "the second source is neither linked nor changed"
    assert _mode(second) & stat.S_IWUSR == stat.S_IWUSR
    assert _files(tmp_path / "artifacts") == [f"{DIGEST[:2]}/{DIGEST}/out.csv"]
    assert store.put(one.path) == one, "putting a stored file again changes nothing"


def test_other_names_of_the_same_content_are_hard_links(tmp_path: Path) -> None:
    source = _write(tmp_path / "out.csv")
    store = ArtifactStore(tmp_path / "artifacts")
    first = store.put(source, link=False)
    renamed = store.put(source, name="people.csv", format="text/csv")
    from_bytes = store.put_bytes(CONTENT, "copy.txt")
    folder = tmp_path / "artifacts" / DIGEST[:2] / DIGEST
    assert (renamed.path, renamed.name, renamed.format) == (
        folder / "people.csv",
        "people.csv",
        "csv",
    )
    assert (from_bytes.path, from_bytes.format) == (folder / "copy.txt", "text")
    assert {os.stat(a.path).st_ino for a in (first, renamed, from_bytes)} == {
        os.stat(first.path).st_ino
    }
    assert os.stat(first.path).st_nlink == 3
    assert sorted(os.listdir(folder)) == ["copy.txt", "out.csv", "people.csv"]


def test_link_false_copies_and_leaves_the_source_alone(tmp_path: Path) -> None:
    source = _write(tmp_path / "input.csv")
    source.chmod(0o644)
    artifact = ArtifactStore(tmp_path / "artifacts").put(source, link=False)
    assert os.stat(artifact.path).st_ino != os.stat(source).st_ino
    assert artifact.path.read_bytes() == CONTENT
    assert (_mode(source), _mode(artifact.path)) == (0o644, 0o444)


def test_stored_files_are_read_only(tmp_path: Path) -> None:
    source = _write(tmp_path / "out.csv")
    source.chmod(0o664)
    store = ArtifactStore(tmp_path / "artifacts")
    linked = store.put(source)
    written = store.put_bytes(b"other bytes", "other.bin")
    assert _mode(linked.path) == 0o444
    assert (_mode(written.path) & 0o222, _mode(written.path) & stat.S_IRUSR) == (0, stat.S_IRUSR)
    assert _mode(source) == 0o444, "a linked source shares the inode, so it is read-only too"


def test_across_file_systems_the_file_is_copied(tmp_path: Path, other_fs: Path) -> None:
    source = _write(other_fs / "out.csv")
    source.chmod(0o644)
    artifact = ArtifactStore(tmp_path / "artifacts").put(source)
    assert os.stat(artifact.path).st_dev != os.stat(source).st_dev
    assert artifact.path.read_bytes() == CONTENT
    assert (_mode(source), _mode(artifact.path)) == (0o644, 0o444)
    assert os.listdir(tmp_path / "artifacts" / ".staging") == []


def test_put_after_a_crash_ignores_the_leftovers(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    leftover = _write(root / ".staging" / "5f0c2d", CONTENT[:5])
    (root / DIGEST[:2] / DIGEST).mkdir(parents=True)
    store = ArtifactStore(root)
    assert store.get(DIGEST) is None, "an empty hash folder holds no artifact"
    artifact = store.put(_write(tmp_path / "out.csv"))
    assert artifact.path.read_bytes() == CONTENT
    assert os.listdir(root / ".staging") == [leftover.name]
    assert store.get(DIGEST) == artifact


def test_get_finds_stored_content_only(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    store = ArtifactStore(root)
    assert store.get(DIGEST) is None
    assert root.exists() is False, "the store is created by the first put, not by reads"
    store.put_bytes(CONTENT, "b.csv")
    store.put_bytes(CONTENT, "a.json", format="csv")
    assert store.get(DIGEST) == Artifact(
        DIGEST, len(CONTENT), "a.json", root / DIGEST[:2] / DIGEST / "a.json", "json"
    )
    assert store.get(hashlib.sha256(b"never stored").hexdigest()) is None


NOT_A_NAME = (
    "Artifact name {!r} is not a plain file name; give one without '/', such as 'report.csv'."
)
NOT_A_DIGEST = "{!r} is not a SHA-256 digest (64 lowercase hex digits)."


@pytest.mark.parametrize(
    ("digest", "name", "message"),
    [
        (DIGEST, "../escape.csv", NOT_A_NAME.format("../escape.csv")),
        (DIGEST, "..", NOT_A_NAME.format("..")),
        (DIGEST, "", NOT_A_NAME.format("")),
        ("../" + DIGEST[3:], "x.csv", NOT_A_DIGEST.format("../" + DIGEST[3:])),
        (DIGEST.upper(), "x.csv", NOT_A_DIGEST.format(DIGEST.upper())),
    ],
)
def test_paths_stay_inside_the_store(tmp_path: Path, digest: str, name: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        ArtifactStore(tmp_path).path_for(digest, name)
    assert str(raised.value) == message


def test_put_bytes_with_a_bad_name_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Artifact name 'a/b' is not a plain file name"):
        ArtifactStore(tmp_path / "artifacts").put_bytes(CONTENT, "a/b")
    assert (tmp_path / "artifacts").exists() is False


def _age(path: Path, seconds: int) -> int:
    """Backdate the file so the hash cache may keep it; returns the new mtime in ns."""
    mtime = time.time_ns() - seconds * 1_000_000_000
    os.utime(path, ns=(mtime, mtime))
    return mtime


def test_file_sha256_is_remembered_while_the_file_is_unchanged(tmp_path: Path) -> None:
    path = _write(tmp_path / "input.csv")
    mtime = _age(path, 3600)
    assert file_sha256(path) == DIGEST
    with path.open("r+b") as file:
        file.write(b"X")
    os.utime(path, ns=(mtime, mtime))
    assert file_sha256(path) == DIGEST, "same size, mtime and inode: the cached digest"
    changed = hashlib.sha256(b"X" + CONTENT[1:]).hexdigest()
    _age(path, 1800)
    assert file_sha256(path) == changed, "a new mtime invalidates the cache"


def test_file_sha256_sees_changes_of_size_and_inode(tmp_path: Path) -> None:
    path = _write(tmp_path / "input.csv")
    mtime = _age(path, 3600)
    assert file_sha256(path) == DIGEST
    path.write_bytes(CONTENT + b"more\n")
    os.utime(path, ns=(mtime, mtime))
    assert file_sha256(path) == hashlib.sha256(CONTENT + b"more\n").hexdigest()
    replacement = _write(tmp_path / "new.csv", b"Y" + CONTENT[1:])
    os.utime(replacement, ns=(mtime, mtime))
    os.replace(replacement, path)
    assert file_sha256(path) == hashlib.sha256(b"Y" + CONTENT[1:]).hexdigest()


def test_file_sha256_does_not_cache_files_with_a_recent_mtime(tmp_path: Path) -> None:
    path = _write(tmp_path / "input.csv")
    recent = time.time_ns() + 1_000_000_000
    os.utime(path, ns=(recent, recent))
    assert file_sha256(path) == DIGEST
    with path.open("r+b") as file:
        file.write(b"Z")
    os.utime(path, ns=(recent, recent))
    assert file_sha256(path) == hashlib.sha256(b"Z" + CONTENT[1:]).hexdigest()


def test_file_sha256_streams_large_files(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = _write(tmp_path / "big.bin", data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
