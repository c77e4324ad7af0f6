"""Text normalisation shared by every part of the clean stage."""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
_WS_IN_LINE = re.compile(r"[^\S\n]+")
_WORD = re.compile(r"\w+")


def fold_whitespace(text: str) -> str:
    """NFC, every whitespace run (no-break spaces included) to one space, trimmed."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def fold_lines(text: str) -> list[str]:
    """The non-empty lines of ``text``, each folded as by :func:`fold_whitespace`.

    One normalisation and one substitution over the whole text instead of one per line
    (the same result: a newline composes with nothing under NFC, and after the
    substitution a line's only whitespace is single spaces).
    """
    folded = _WS_IN_LINE.sub(" ", unicodedata.normalize("NFC", text))
    return [line for line in (part.strip() for part in folded.split("\n")) if line]


def normalise_text(text: str) -> str:
    """The form both hashes are computed on: lower-case, whitespace folded.

    Paragraph breaks fold too, so a copy re-flowed by another CMS hashes the same.
    """
    return fold_whitespace(text).lower()

def text_tokens(text: str) -> list[str]:
    """Words of the normalised text (Unicode ``\\w+``: Arabic and French included)."""
    # The whitespace folding of normalise_text cannot move a word boundary (whitespace is
    # never part of a \w+ run), so it is skipped: the same tokens in half the time.
    return _WORD.findall(unicodedata.normalize("NFC", text).lower())


def word_count(text: str) -> int:
    return len(_WORD.findall(text))

