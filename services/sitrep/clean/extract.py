"""Main-text extraction: trafilatura on the parsed tree, and when a fallback is worth it."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import trafilatura

from sitrep.clean.lines import clean_paragraphs
from sitrep.clean.options import DEFAULT_OPTIONS, MIN_TEXT_WORDS, CleanOptions
from sitrep.clean.provenance import extractor_name, package_version_of
from sitrep.clean.text import fold_whitespace, word_count


@dataclass
class Extraction:
    """The main text and how it was obtained."""

    paragraphs: list[str]
    source: str  # "page" or "fallback:<name>"
    extractor: str
    dropped: list[tuple[str, str]] = field(default_factory=list)
    pruned: int = 0

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def _fallback_baseline(tree: Any, url: str | None) -> str:
    from trafilatura.baseline import baseline

    _, text, _ = baseline(tree)
    return "\n".join(text.splitlines())


def _fallback_readability(tree: Any, url: str | None) -> str:
    from trafilatura.external import try_readability

    body = try_readability(tree)
    return "\n".join(
        fold_whitespace(p.text_content()) for p in body.iter("p", "li", "h2", "h3", "blockquote")
    )


def _fallback_justext(tree: Any, url: str | None) -> str:
    from trafilatura.external import try_justext

    body = try_justext(tree, url, None)
    return "\n".join(fold_whitespace("".join(p.itertext())) for p in body.iter("p"))


#: Tried in this order when trafilatura's own result is too short; see MIN_TEXT_WORDS.
FALLBACKS: dict[str, Callable[[Any, str | None], str]] = {
    "readability": _fallback_readability,
    "trafilatura-baseline": _fallback_baseline,
    "justext": _fallback_justext,
}
_FALLBACK_PACKAGES = {
    "trafilatura-baseline": "trafilatura", "readability": "trafilatura", "justext": "justext",
}


def extract_text(
    tree: Any, url: str | None, options: CleanOptions = DEFAULT_OPTIONS,
    declared_words: int = 0, pruned: int = 0,
) -> Extraction:
    """Main text of a parsed page, already pruned by :func:`prune_boilerplate` (``pruned``:
    how many elements that removed, for the provenance).

    ``declared_words``: length of the body the page declares in its JSON-LD
    ``articleBody``. Script-rendered sites ship the text only there, and trafilatura then
    returns a related-links list long enough to pass MIN_TEXT_WORDS; a declared body much
    longer than the extraction sends the page down the cascade too.
    """
    document = trafilatura.bare_extraction(tree, url=url, **options.trafilatura)
    raw = (getattr(document, "text", None) or "") if document is not None else ""
    paragraphs, dropped = clean_paragraphs(raw, options.line_rules)
    result = Extraction(paragraphs, "page", extractor_name(), dropped, pruned)
    words = word_count(result.text)
    suspicious = words < MIN_TEXT_WORDS or declared_words > 2 * words + MIN_TEXT_WORDS
    if not options.cascade or not suspicious:
        return result
    for name, fallback in FALLBACKS.items():
        try:
            candidate_raw = fallback(deepcopy(tree), url)  # readability edits its input
        except Exception:  # a fallback's bug must not lose the article
            continue
        candidate, candidate_dropped = clean_paragraphs(candidate_raw, options.line_rules)
        candidate_words = word_count("\n".join(candidate))
        if candidate_words > 1.5 * word_count(result.text) + 10:
            version = package_version_of(_FALLBACK_PACKAGES[name])
            extractor = f"{extractor_name()}; fallback {name} {version}"
            result = Extraction(candidate, f"fallback:{name}", extractor, candidate_dropped, pruned)
            if candidate_words >= MIN_TEXT_WORDS and candidate_words * 2 + MIN_TEXT_WORDS >= (
                declared_words
            ):
                break
    return result


