"""Redaction: secrets taken out of text before it is stored, embedded, logged or prompted.

What memory is given it keeps (SQLite rows, Chroma documents, the embeddings made from them),
and logs and model prompts travel further still, so a secret has to be gone before any of
them sees the text. Two kinds of secret are found. Values known to be secret (vault values,
secret environment variables) are matched exactly. Strings shaped like a secret are matched
by pattern: the keys and tokens of well-known services, JWTs, private key blocks, passwords
in URLs, ``Bearer``/``Basic`` credentials, ``password=...`` style assignments, "my password
is ..." in prose, and long random-looking tokens. Each is replaced by ``REDACTED``.

Redacting is idempotent: text passes through several layers (the agent, the store, the log)
and must come out of them as it came out of the first. Where a pattern has to guess, it errs
towards redacting: a missed secret is kept for good, an over-eager redaction costs a word.
What is left alone is what memory needs intact and only looks random: commit hashes and
other hex digests, UUIDs, file paths, e-mail addresses, and URLs (all but a password or a
token put in one).

The ``memory`` package must not import ``assistant``, so this module needs nothing but ``re``;
the agent imports it from here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

REDACTED = "[REDACTED]"

_MIN_KNOWN = 6
_MAX_PASSES = 8
_MARKER = re.escape(REDACTED)

# A secret's name starts after a non-alphanumeric (so ``AWS_``, ``x-`` and quotes may lead) or
# at a camelCase hump (``dbPassword``), and ends the key: ``token_count`` names no secret.
_NAME_START = r"(?:(?<![A-Za-z0-9])|(?<=[a-z0-9])(?=[A-Z]))"
_SECRET_NAME = (
    r"(?i:pass(?:word|wd|phrase|code)|pwd|secret[_-]?key|secret|token|api[_-]?key"
    r"|access[_-]?key|private[_-]?key|auth|credentials?)"
)
_SECRET_KEY = re.compile(_NAME_START + r"(?:" + _SECRET_NAME + r"|(?i:authorization))\Z")

_KNOWN_SERVICE_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"sk-(?:ant-|proj-)?(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}"
    r"|gh[pousr]_[A-Za-z0-9]{36,255}"
    r"|github_pat_[A-Za-z0-9_]{22,255}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|(?:AKIA|ASIA)[A-Z0-9]{16}"
    r"|AIza[A-Za-z0-9_-]{35}"
    r"|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}"
    r"|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"
    r")(?![A-Za-z0-9_-])"
)

_PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:(?:(?!-----BEGIN ).)*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"|(?:(?:\r?\n|\\n)(?:[A-Za-z0-9+/=]+|(?:Proc-Type|DEK-Info):[^\n]*))*)",
    re.DOTALL,
)

_URL_CREDENTIALS = re.compile(
    r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@\[\]]*:(?P<secret>[^\s/?#]+)@"
)

_AUTHORIZATION_HEADER = re.compile(
    r"(?<![A-Za-z0-9-])(?i:(?:proxy-)?authorization)[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?i:(?:bearer|basic|token)[ \t]+)?+(?P<secret>[^\s\"',;\[\]]+)"
)

_SCHEME_CREDENTIAL = re.compile(
    r"(?<![A-Za-z0-9])(?i:bearer|basic)[ \t]+(?P<secret>[A-Za-z0-9._~+/-]+=*)"
)

_VALUE = (
    r"(?:\"(?P<dq>(?:[^\"\\\n]|\\.)*)\""
    r"|'(?P<sq>(?:[^'\\\n]|\\.)*)'"
    r"|\\(?P<eq_quote>[\"'])(?P<eq>[^\n]*?)\\(?P=eq_quote)"
    r"|(?!=)[\"']?(?P<bare>(?:" + _MARKER + r"|[^\s\"'`,;&<>(){}\]])+))"
)
_VALUE_GROUPS = ("dq", "sq", "eq", "bare")

_ASSIGNMENT = re.compile(
    _NAME_START
    + _SECRET_NAME
    + r"\\?[\"']?[ \t]*(?::=|=>|[:=])[ \t]*(?i:(?:bearer|basic)[ \t]+)?+"
    + _VALUE
)

_FLAG = re.compile(
    r"(?<![A-Za-z0-9-])--(?:[A-Za-z0-9]+[_-])*" + _SECRET_NAME + r"[ \t]+(?!-)" + _VALUE
)

_SPOKEN = re.compile(
    r"(?<![A-Za-z0-9])(?i:pass(?:word|phrase|code)|pin(?:[ \t]+(?:code|number))?"
    r"|api[ \t_-]?key|access[ \t_-]?key|secret(?:[ \t]+key)?|token)"
    # what it is for: "the password for the staging db is ..." (up to four words)
    r"(?:[ \t]+(?i:for|of|to|on|at)(?:[ \t]+[\w.@:/-]+){1,4}?)?"
    r"(?:[ \t]+(?i:is|was)\b(?:[ \t]*:[ \t]*|[ \t]+)|[ \t]*:[ \t]*)"
    r"(?:\"(?P<dq>[^\"\n]+)\"|'(?P<sq>[^'\n]+)'|(?P<word>[^\s\"'`\[\]]+))"
)
_SPOKEN_GROUPS = ("dq", "sq", "word")
_TRAILING_PUNCTUATION = ".,;:!?)]}>"
_WORD = re.compile(r"[A-Za-z][a-z]*(?:[-'][a-z]+)*")

_OPAQUE_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}+=*(?![A-Za-z0-9+/_-])")
_URL_PATH = re.compile(
    r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?:" + _MARKER + r"|[^\s?#\"'<>()\[\]{}\\])*"
)
_URL_SEGMENT_RUN = re.compile(r"(?<![A-Za-z0-9+_-])[A-Za-z0-9+_-]{32,}+=*(?![A-Za-z0-9+_-])")
_RUN_PIECE_SEPARATOR = re.compile(r"[/+_-]")
_HEX = re.compile(r"(?:0[xX])?[0-9a-fA-F]+")
_LETTER_DIGIT_SWITCH = re.compile(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")
_LETTER_RUN = re.compile(r"[A-Z]?[a-z]{3,}")
_VOWEL = re.compile(r"[aeiouy]")
_CONSONANTS = re.compile(r"[b-df-hj-np-tv-xz]{4}")


class Redactor:
    """Replaces secrets in text with ``REDACTED``.

    It replaces the exact values it was given and whatever is shaped like a secret. It holds
    secret values, so its ``repr`` shows how many, never which.
    """

    __slots__ = ("_known", "_known_pattern")

    def __init__(self, known: Iterable[str] = ()) -> None:
        """Keep ``known``, exact secret values (vault values, secret environment variables).

        Values shorter than 6 characters are ignored (they would redact ordinary words), as
        are values inside ``REDACTED`` itself (they would redact the redaction). A value with
        surrounding whitespace, as read from a file, is also looked for without it.
        """
        values: set[str] = set()
        for value in known:
            if not isinstance(value, str):
                continue
            for candidate in (value, value.strip()):
                if len(candidate) >= _MIN_KNOWN and candidate not in REDACTED:
                    values.add(candidate)
        self._known = frozenset(values)
        # Longest first: a value that contains another is replaced whole.
        ordered = sorted(values, key=lambda value: (-len(value), value))
        self._known_pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __repr__(self) -> str:
        """Show how many values are known, never the values."""
        return f"Redactor(<{len(self._known)} known values>)"

    def with_known(self, more: Iterable[str]) -> Redactor:
        """Return a new redactor that also knows ``more``; this one is unchanged."""
        return Redactor([*self._known, *more])

    def redact(self, text: str) -> str:
        """Return ``text`` with every known value and secret-shaped string made ``REDACTED``.

        The patterns overlap, and what one of them has replaced another can take up again
        (a value redacted in prose can also be the value of an assignment), so the passes
        repeat until nothing changes: that is what makes redacting twice the same as
        redacting once.
        """
        for _ in range(_MAX_PASSES):
            redacted = self._redact_once(text)
            if redacted == text:
                break
            text = redacted
        return text

    def redact_value(self, value: Any) -> Any:
        """Return ``value`` with every string in it redacted, through dicts, lists and tuples.

        Dict keys are kept. A non-empty string stored under a key that names a secret
        (``password``, ``api_key``, ``DB_PASSWORD``, ``Authorization``...) is replaced
        whole, since a password need not look like one. Other values pass through.
        """
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {key: self._redact_entry(key, item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redact_value(item) for item in value]
        if isinstance(value, tuple):
            items = [self.redact_value(item) for item in value]
            return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
        return value

    def _redact_entry(self, key: Any, value: Any) -> Any:
        if isinstance(key, str) and isinstance(value, str) and value and _is_secret_key(key):
            return REDACTED
        return self.redact_value(value)

    def _redact_once(self, text: str) -> str:
        if self._known_pattern is not None:
            text = self._known_pattern.sub(REDACTED, text)
        text = _PRIVATE_KEY_BLOCK.sub(REDACTED, text)
        text = _KNOWN_SERVICE_TOKEN.sub(REDACTED, text)
        text = _URL_CREDENTIALS.sub(_redact_secret_group, text)
        text = _AUTHORIZATION_HEADER.sub(_redact_secret_group, text)
        text = _SCHEME_CREDENTIAL.sub(_redact_scheme_credential, text)
        text = _ASSIGNMENT.sub(_redact_assigned_value, text)
        text = _FLAG.sub(_redact_assigned_value, text)
        text = _SPOKEN.sub(_redact_spoken_value, text)
        return _redact_opaque(text)


def _is_secret_key(name: str) -> bool:
    return _SECRET_KEY.search(name) is not None


def _replace_span(match: re.Match[str], start: int, end: int) -> str:
    """Return the matched text with ``[start, end)`` (offsets in the whole string) redacted."""
    whole = match.group(0)
    if start >= end or whole[start - match.start() : end - match.start()] == REDACTED:
        return whole
    return whole[: start - match.start()] + REDACTED + whole[end - match.start() :]


def _redact_secret_group(match: re.Match[str]) -> str:
    return _replace_span(match, *match.span("secret"))


def _redact_scheme_credential(match: re.Match[str]) -> str:
    """Redact the credential after "Bearer"/"Basic" if it looks like one.

    Outside an ``Authorization`` header the word may begin a sentence, so what follows is
    taken for a credential only with 20 or more characters, or 8 or more with a digit or
    base64's ``+/=``.
    """
    start, end = match.span("secret")
    credential = match.group("secret").rstrip(".")
    end = start + len(credential)
    looks_like_one = len(credential) >= 20 or (
        len(credential) >= 8 and any(c.isdigit() or c in "+/=" for c in credential)
    )
    return _replace_span(match, start, end) if looks_like_one else match.group(0)


def _redact_assigned_value(match: re.Match[str]) -> str:
    for group in _VALUE_GROUPS:
        start, end = match.span(group)
        if start >= 0:
            return _replace_span(match, start, end)
    return match.group(0)


def _redact_spoken_value(match: re.Match[str]) -> str:
    """Redact the value told in prose if it looks like a secret, not a word.

    "The password is required" gives no password; a quoted value, or one with a digit, a
    symbol or a capital inside, is taken to be one.
    """
    for group in _SPOKEN_GROUPS:
        start, end = match.span(group)
        if start < 0:
            continue
        if group == "word":
            word = match.group(group).rstrip(_TRAILING_PUNCTUATION)
            end = start + len(word)
            if not word or _WORD.fullmatch(word):
                return match.group(0)
        return _replace_span(match, start, end)
    return match.group(0)


def _redact_opaque(text: str) -> str:
    """Redact long random-looking runs; in a URL's path, one segment at a time.

    So a URL keeps its words and commit hashes, but not a token that was put in its path.
    """
    parts: list[str] = []
    position = 0
    for url in _URL_PATH.finditer(text):
        parts.append(_OPAQUE_RUN.sub(_redact_opaque_run, text[position : url.start()]))
        parts.append(_URL_SEGMENT_RUN.sub(_redact_opaque_run, url.group(0)))
        position = url.end()
    parts.append(_OPAQUE_RUN.sub(_redact_opaque_run, text[position:]))
    return "".join(parts)


def _redact_opaque_run(match: re.Match[str]) -> str:
    run = match.group(0)
    return REDACTED if _is_opaque(run.rstrip("=")) else run


def _is_opaque(run: str) -> bool:
    """Tell whether a run of base64-ish characters is a secret.

    It is when it mixes upper case, lower case and digits (lower-case hex digests and UUIDs
    do not), and at least half of it is in random-looking pieces, not in words, numbers and
    hex (as paths and identifiers are).
    """
    if not (_has_upper(run) and _has_lower(run) and any(c.isdigit() for c in run)):
        return False
    pieces = _RUN_PIECE_SEPARATOR.split(run)
    return 2 * sum(len(piece) for piece in pieces if _is_random_piece(piece)) >= len(run)


def _is_random_piece(piece: str) -> bool:
    if _HEX.fullmatch(piece):
        return False
    if _has_upper(piece) and _has_lower(piece):
        return not _is_wordy(piece)
    return len(_LETTER_DIGIT_SWITCH.findall(piece)) >= 3


def _is_wordy(piece: str) -> bool:
    """Tell whether ``piece`` is mostly pronounceable words (``UserProfileCard``).

    Random text rarely is: here a word has a vowel in every four letters and no four
    consonants in a row.
    """
    wordy = 0
    for word in _LETTER_RUN.findall(piece):
        letters = word.lower()
        if 4 * len(_VOWEL.findall(letters)) >= len(letters) and not _CONSONANTS.search(letters):
            wordy += len(word)
    return 2 * wordy >= len(piece)


def _has_upper(text: str) -> bool:
    return any("A" <= c <= "Z" for c in text)


def _has_lower(text: str) -> bool:
    return any("a" <= c <= "z" for c in text)


_PATTERNS_ONLY = Redactor()


def redact(text: str) -> str:
    """Return ``text`` with every secret-shaped string replaced by ``REDACTED``.

    Patterns only; a ``Redactor`` also replaces known values.
    """
    return _PATTERNS_ONLY.redact(text)
