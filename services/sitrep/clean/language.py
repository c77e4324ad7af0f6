"""The language of a page: its declaration, corrected by a detector when sure."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

_LANG_TAG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_].*)?$")


def _primary_language(value: str | None) -> str | None:
    if not value:
        return None
    match = _LANG_TAG.match(value.strip().split(",")[0].strip())
    if not match:
        return None
    code = match.group(1).lower()
    return None if code in ("und", "mul", "zxx", "xx") else code


def page_language(tree: Any) -> tuple[str | None, str | None]:
    """(language, "html_lang" | "meta") as the page declares it."""
    lang = _primary_language(tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang"))
    if lang:
        return lang, "html_lang"
    for meta in tree.iterfind(".//head/meta"):
        key = (meta.get("http-equiv") or meta.get("name") or meta.get("property") or "").lower()
        if key in ("content-language", "language", "og:locale", "dc.language"):
            lang = _primary_language(meta.get("content"))
            if lang:
                return lang, "meta"
    return None, None


@cache
def _language_identifier() -> Any:
    """py3langid's bundled model (shipped in the wheel), with normalised probabilities."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


#: The detector overrides the page's own declaration only when it is this sure, on at least
#: DETECT_MIN_CHARS of text: templates often hard-code lang="en" on every edition.
DETECT_CONFIDENCE = 0.95
DETECT_MIN_CHARS = 200
DETECT_MAX_CHARS = 1000


def detect_language(text: str) -> tuple[str | None, float]:
    if len(text.strip()) < 20:
        return None, 0.0
    lang, probability = _language_identifier().classify(text[:DETECT_MAX_CHARS])
    return str(lang), float(probability)


def choose_language(
    declared: str | None, declared_how: str | None, text: str, feed_language: str | None,
) -> tuple[str | None, str | None]:
    """(language, how): the page's declaration unless the text clearly says otherwise.

    A declared language the detector does not know (Sorani Kurdish, "ckb", looks like
    Arabic or Persian to it) is never overridden.
    """
    detected, confidence = detect_language(text)
    confident = detected is not None and confidence >= DETECT_CONFIDENCE
    if declared:
        known = declared in _language_identifier().nb_classes
        if known and confident and detected != declared and len(text) >= DETECT_MIN_CHARS:
            return detected, "detector"
        return declared, declared_how
    if detected and (confident or len(text) >= DETECT_MIN_CHARS):
        return detected, "detector"
    feed_lang = _primary_language(feed_language)
    if feed_lang:
        return feed_lang, "feed"
    return detected, "detector" if detected else None


