"""Splitting a request into action clauses, the unit the offline planner matches to capabilities.

"Compress all images in ./input/, then upload them, and send me a summary" is three actions; a
capability is found for each. Sequencing words ("then", "and then", "after that", "finally",
";", a full stop) always end a clause. A comma or an "and" ends one only when an action verb
follows it: "resize to 800x600 and quality 80" and "cats and dogs" stay whole, while "clean
it, analyse it and chart it" is three. Quoted strings are never split (a title may hold "and").

The verb test is a short list of the verbs people use for tasks plus the verb endings
-ize/-ise/-ify. It errs on the side of not splitting: a missed split leaves two actions in one
clause (the planner then finds the one it matches best), a wrong split cuts an action from its
object (the planner then asks for the missing input), and both end in a question, not a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ACTION_VERBS = frozenset(
    """
    analyse analyze archive back backup build calculate chart check classify clean clear combine
    compress compute convert copy count create crop delete deploy describe detect download draw
    email encode encrypt export extract fetch filter find generate get give graph import list
    load mail make merge monitor move notify optimise optimize parse plot post prepare print
    process produce publish push read reduce remove rename render resize rotate run scale scan
    schedule search send share show shrink sort split store summarise summarize sync tidy
    transcribe transform translate trim turn upload visualise visualize zip
    """.split()  # noqa: SIM905 - one block of words reads better than a hundred quoted strings
)
# Verbs that, followed by a preposition ("save it as out.webp", "write to report.pdf"), name
# where the previous action's result goes rather than a new action.
OUTPUT_VERBS = frozenset({"save", "store", "write", "put", "keep", "name", "call", "output"})
_OUTPUT_PHRASE = re.compile(r"^(?:it|them|this|that|the\s+\w+)?\s*(?:as|to|into|in|under)\b")
_VERB_ENDING = re.compile(r"^[a-z]{3,}(?:ize|ise|ify)$")
_FILLER = frozenset({"also", "please", "then", "and", "just", "now", "finally", "to", "i"})
_OPENERS = re.compile(
    r"^(?:(?:can|could|would|will)\s+you\s+|i\s+(?:want|need|would\s+like|'d\s+like)\s+"
    r"(?:you\s+)?to\s+|help\s+me\s+|let'?s\s+)",
    re.IGNORECASE,
)
_QUOTED = re.compile(r'"[^"]*"|“[^”]*”|‘[^’]*’|(?<![\w\'])\'[^\']+\'(?![\w\'])')
_STRONG = re.compile(
    r"\s*(?:;|\.(?=\s|$)|,?\s*\b(?:and\s+)?(?:then|after\s+that|afterwards|finally)\b,?)\s*",
    re.IGNORECASE,
)
_WEAK = re.compile(r"\s*(?:,\s*(?:and\s+)?|\band\s+|&\s*)", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z']+")
_TRIM = " \t\n,.;:!?"


@dataclass(frozen=True)
class Clause:
    """One action of a request: its text (connectors trimmed) and where it is in the request."""

    text: str
    start: int
    end: int


def split_clauses(request: str) -> list[Clause]:
    """The action clauses of ``request``, in order; quoted strings kept whole."""
    masked = _mask_quotes(request)
    clauses: list[Clause] = []
    for start, end in _pieces(masked, _STRONG, 0, len(masked)):
        for piece_start, piece_end in _weak_pieces(masked, start, end):
            clause = _trimmed(request, piece_start, piece_end)
            if clause is not None:
                clauses.append(clause)
    return clauses


def is_action(text: str) -> bool:
    """Whether ``text`` begins with an action ("then compress it", "generate a report"), after
    filler words ("also", "please") and openers ("can you", "I want to")."""
    words = _WORD.findall(_OPENERS.sub("", text.strip().lower()))
    while words and words[0] in _FILLER:
        words.pop(0)
    if not words:
        return False
    first = words[0]
    if first in OUTPUT_VERBS:
        rest = text.lower().split(first, 1)[1].strip()
        return not _OUTPUT_PHRASE.match(rest)
    return first in ACTION_VERBS or _VERB_ENDING.match(first) is not None


def _mask_quotes(text: str) -> str:
    """``text`` with every character inside quotes replaced, so no separator is found there
    (positions are unchanged)."""
    return _QUOTED.sub(lambda m: m[0][0] + "_" * (len(m[0]) - 2) + m[0][-1], text)


def _pieces(masked: str, separator: re.Pattern[str], start: int, end: int) -> list[tuple[int, int]]:
    """The spans between matches of ``separator`` in ``masked[start:end]``."""
    spans, position = [], start
    for match in separator.finditer(masked, start, end):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, end))
    return spans


def _weak_pieces(masked: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split at commas and "and" only where an action follows; otherwise keep the text joined."""
    spans: list[tuple[int, int]] = []
    piece_start = start
    for match in _WEAK.finditer(masked, start, end):
        if match.start() <= piece_start or not is_action(masked[match.end() : end]):
            continue
        spans.append((piece_start, match.start()))
        piece_start = match.end()
    spans.append((piece_start, end))
    return spans


def _trimmed(request: str, start: int, end: int) -> Clause | None:
    """The clause at ``request[start:end]`` without surrounding punctuation or a leading
    connector ("and", "then"); None when nothing is left."""
    text = request[start:end]
    left = len(text) - len(text.lstrip(_TRIM))
    text = text.strip(_TRIM)
    connector = re.match(r"(?:and|then|also|&)\s+", text, re.IGNORECASE)
    if connector:
        left += connector.end()
        text = text[connector.end() :]
    if not text:
        return None
    return Clause(text, start + left, start + left + len(text))
