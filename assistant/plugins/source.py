"""Where a plugin comes from: parsing ``SOURCE[@REF]`` and fetching it with git.

Every fetch is non-interactive (no credential prompts can hang a script), bounded in time,
shallow unless configured otherwise, and pinned: the commit actually checked out is recorded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.errors import RetryableError, SourceError

_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:(?!//)")
# Branch, tag or (abbreviated) commit names; never an option: git would obey "--upload-pack=...".
_REF = re.compile(r"^(?!-)(?!.*\.\.)(?!.*@\{)[A-Za-z0-9._/+-]+(?<![./])$")
# The user's shell may point git at another repository; these would redirect every command.
_GIT_KEEP = ("GIT_SSH", "GIT_SSH_COMMAND", "GIT_PROXY_COMMAND", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH")
_REMOTE_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://")


@dataclass(frozen=True)
class PluginSource:
    """A parsed source: what git fetches (``url``), what the user wrote, the ref, and the
    folder inside the repository that holds the plugin (``subdir``, for monorepos)."""

    url: str
    display: str
    ref: str | None = None
    local_path: Path | None = None
    subdir: str | None = None

    def with_ref(self, ref: str | None) -> PluginSource:
        return replace(self, ref=check_ref(ref) if ref else None)


@dataclass(frozen=True)
class Checkout:
    commit: str
    ref: str | None


def parse_source(text: str, cwd: Path | None = None) -> PluginSource:
    """Split ``SOURCE[#subdirectory=DIR][@REF]`` and classify SOURCE as a URL or a folder.

    The ref is whatever follows the last ``@`` after the last ``/``, so ``git@host:o/r`` has no
    ref while ``git@host:o/r@v2`` and ``./tool@main`` do. A folder inside a repository (not its
    root) is fetched as the whole repository with that folder as the plugin.
    """
    text = text.strip()
    subdir = None
    if "#subdirectory=" in text:
        text, _, rest = text.partition("#subdirectory=")
        subdir, sep, ref_part = rest.partition("@")
        text = f"{text}{sep}{ref_part}"
        subdir = _check_subdir(subdir)
    if not text:
        raise SourceError("empty plugin source", hint="give a Git URL or a folder path")
    if text.startswith("ext::") or "::" in text.split("/")[0]:
        raise SourceError(
            f"'{text}' uses a git transport Mark-1 does not allow",
            hint="use an https://, ssh://, git@host:path or file:// URL, or a path",
        )
    base, ref = text, None
    at = text.rfind("@")
    is_scp_user = bool(_SCP_LIKE.match(text)) and at < text.index(":")
    is_folder = Path(text).expanduser().exists() or ((cwd or Path.cwd()) / text).exists()
    if at > 0 and at > text.rfind("/") and not is_scp_user and not is_folder:
        base, ref = text[:at], check_ref(text[at + 1 :]) if text[at + 1 :] else None
    if base.startswith(_REMOTE_SCHEMES) or _SCP_LIKE.match(base):
        shown = f"{base}#subdirectory={subdir}" if subdir else base
        local = Path(base.removeprefix("file://")) if base.startswith("file://") else None
        return PluginSource(base, shown, ref, local, subdir)
    folder = Path(base).expanduser()
    if not folder.is_absolute():
        folder = (cwd or Path.cwd()) / folder
    folder = folder.resolve()
    if not folder.exists():
        raise SourceError(
            f"'{base}' is neither a Git URL nor an existing folder",
            hint="use https://host/owner/repo, git@host:owner/repo, file:///path or a local path",
        )
    root = _work_tree_root(folder)
    if root is not None and root != folder and subdir is None:
        inner = folder.relative_to(root).as_posix()
        return PluginSource(root.as_uri(), str(folder), ref, root, inner)
    return PluginSource(folder.as_uri(), str(folder), ref, folder, subdir)


def check_ref(ref: str) -> str:
    """``ref`` if it can only be read as a branch, tag or commit name by git."""
    if not _REF.match(ref):
        raise SourceError(
            f"'{ref}' is not a valid branch, tag or commit name",
            hint="refs use letters, digits and . _ / + - and never start with '-'",
        )
    return ref


def _check_subdir(subdir: str) -> str | None:
    parts = [p for p in subdir.split("/") if p not in ("", ".")]
    if subdir.startswith("/") or ".." in parts:
        raise SourceError(
            f"#subdirectory={subdir} leaves the repository",
            hint="give a folder inside the repository, relative to its root",
        )
    return "/".join(parts) or None


def git_env() -> dict[str, str]:
    """The host environment with every way git could stop to ask a question turned off,
    and without GIT_DIR and friends, which would make git act on another repository."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _GIT_KEEP}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GCM_INTERACTIVE"] = "never"
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


def fetch(source: PluginSource, dest: Path, *, depth: int, timeout: float) -> Checkout:
    """Fetch ``source`` into the empty folder ``dest`` and check out its ref (or default branch)."""
    import git

    if source.local_path is not None and _work_tree_root(source.local_path) is None:
        raise SourceError(
            f"{source.local_path} is not a Git repository",
            hint="run `git init && git add -A && git commit -m init` there, "
            "or use `mark1 plugin link PATH` for a folder under development",
        )
    dest.mkdir(parents=True, exist_ok=True)
    runner = git.Git(str(dest))
    shallow = [f"--depth={depth}"] if depth > 0 else []

    def run(*args: str) -> str:
        try:
            out: str = runner.execute(
                ["git", *args], env=git_env(), kill_after_timeout=timeout, stdout_as_string=True
            )
            return out
        except git.GitCommandError as exc:
            if exc.status == -9 or "Timeout" in str(exc.stderr):
                raise RetryableError(
                    f"git {args[0]} of {source.display} took longer than {timeout:g} s",
                    hint="check the network, or raise `mark1 config set install.clone_timeout`",
                ) from exc
            raise _explain(source, exc) from exc

    if source.ref is None:
        run("clone", "--quiet", "--no-tags", *shallow, "--", source.url, ".")
        branch = run("rev-parse", "--abbrev-ref", "HEAD").strip()
        ref = None if branch == "HEAD" else branch
    else:
        run("init", "--quiet")
        run("remote", "add", "origin", source.url)
        try:
            run("fetch", "--quiet", "--no-tags", *shallow, "--end-of-options", "origin", source.ref)
            target = "FETCH_HEAD"
        except SourceError:
            # Some servers refuse to send a bare (possibly abbreviated) commit id: fetch it all.
            run("fetch", "--quiet", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*")
            target = _find_commit(run, source)
        run("checkout", "--quiet", "--detach", target)  # FETCH_HEAD or a full commit id
        ref = source.ref
    commit = run("rev-parse", "HEAD").strip()
    return Checkout(commit=commit, ref=ref)


def _find_commit(run: Callable[..., str], source: PluginSource) -> str:
    for candidate in (source.ref, f"origin/{source.ref}"):
        try:
            return run("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}").strip()
        except SourceError:
            continue
    raise SourceError(
        f"could not fetch {source.display} at {source.ref}",
        hint=f"'{source.ref}' is not a branch, tag or commit of {source.display}",
    )


def _work_tree_root(folder: Path) -> Path | None:
    return next((p for p in (folder, *folder.parents) if (p / ".git").exists()), None)


def _explain(source: PluginSource, exc: Exception) -> SourceError:
    stderr = str(getattr(exc, "stderr", "") or exc).strip()
    lines = [ln.strip().removeprefix("stderr:").strip(" '") for ln in stderr.splitlines()]
    lines = [ln for ln in lines if ln]
    detail = lines[-1] if lines else "git failed"
    hint = "check the URL and that the repository exists"
    low = stderr.lower()
    if source.ref and (
        "couldn't find remote ref" in low
        or "did not match" in low
        or "not our ref" in low
        or "unknown revision" in low
    ):
        hint = f"'{source.ref}' is not a branch, tag or commit of {source.display}"
    elif "authentication" in low or "could not read username" in low or "permission denied" in low:
        hint = "the repository needs credentials: set up an SSH key or a git credential helper"
    elif "could not resolve host" in low or "unable to access" in low:
        hint = "the host cannot be reached: check the network or the URL"
    return SourceError(f"could not fetch {source.display}: {detail}", hint=hint)
