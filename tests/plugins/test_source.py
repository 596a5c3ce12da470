"""SOURCE[#subdirectory=DIR][@REF] parsing, and what git may and may not be told."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import SourceError
from assistant.plugins.source import git_env, parse_source


@pytest.mark.parametrize(
    ("text", "url", "ref", "subdir"),
    [
        ("https://github.com/u/r", "https://github.com/u/r", None, None),
        ("https://github.com/u/r@v1.2", "https://github.com/u/r", "v1.2", None),
        ("https://x@github.com/u/r", "https://x@github.com/u/r", None, None),
        ("git@github.com:u/r", "git@github.com:u/r", None, None),
        ("git@github.com:u/r@main", "git@github.com:u/r", "main", None),
        ("ssh://git@host/u/r.git@0a1b2c3", "ssh://git@host/u/r.git", "0a1b2c3", None),
        ("https://h/o/r#subdirectory=tools/x@main", "https://h/o/r", "main", "tools/x"),
        ("https://h/o/r#subdirectory=./a/b/", "https://h/o/r", None, "a/b"),
    ],
)
def test_urls(text: str, url: str, ref: str | None, subdir: str | None) -> None:
    source = parse_source(text)
    assert (source.url, source.ref, source.subdir) == (url, ref, subdir)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("https://h/o/r@--upload-pack=touch", "not a valid branch, tag or commit"),
        ("https://h/o/r@-x", "not a valid branch"),
        ("https://h/o/r@a..b", "not a valid branch"),
        ("https://h/o/r#subdirectory=../../etc", "leaves the repository"),
        ("https://h/o/r#subdirectory=/etc", "leaves the repository"),
        ("ext::sh -c touch% /tmp/pwned", "transport Mark-1 does not allow"),
        ("", "empty plugin source"),
        ("./no/such/folder", "neither a Git URL nor an existing folder"),
    ],
)
def test_refused(text: str, phrase: str) -> None:
    with pytest.raises(SourceError, match=phrase.replace(".", r"\.")):
        parse_source(text)


def test_folders(tmp_path: Path) -> None:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "tools" / "x").mkdir(parents=True)
    (tmp_path / "odd@name").mkdir()
    whole = parse_source(str(tmp_path / "repo") + "@v2")
    assert (whole.url, whole.ref, whole.subdir) == ((tmp_path / "repo").as_uri(), "v2", None)
    inner = parse_source("tools/x", cwd=tmp_path / "repo")
    assert (inner.local_path, inner.subdir) == (tmp_path / "repo", "tools/x")
    odd = parse_source(str(tmp_path / "odd@name"))
    assert odd.local_path == tmp_path / "odd@name" and odd.ref is None, "an existing path wins"


def test_git_never_inherits_repository_redirects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_DIR", "/somewhere/else/.git")
    monkeypatch.setenv("GIT_WORK_TREE", "/somewhere/else")
    monkeypatch.setenv("GIT_SSH_COMMAND", "ssh -i key")
    env = git_env()
    assert "GIT_DIR" not in env and "GIT_WORK_TREE" not in env
    assert env["GIT_SSH_COMMAND"] == "ssh -i key" and env["GIT_TERMINAL_PROMPT"] == "0"
