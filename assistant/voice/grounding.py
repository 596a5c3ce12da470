"""Speech recognisers drop plurals and mishear names ("photos" -> "photo"): a word of a spoken
request that names nothing here, but is one letter or so from a file or folder that does exist
in the working folder, is taken to mean that one. Typed requests are left as they are."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

MIN_LENGTH = 4  # short words ("a", "the", "to") are never file names worth guessing
CUTOFF = 0.85


def grounded(text: str, folder: Path) -> str:
    """``text`` with each word that closely matches an entry of ``folder`` replaced by it."""
    try:
        names = [p.name for p in folder.iterdir() if not p.name.startswith(".")]
    except OSError:
        return text
    if not names:
        return text

    def replace(match: re.Match[str]) -> str:
        word = match[0]
        if len(word) < MIN_LENGTH or (folder / word).exists():
            return word
        close = difflib.get_close_matches(word, names, n=1, cutoff=CUTOFF)
        return close[0] if close else word

    return re.sub(r"[\w.-]+", replace, text)
