"""Main-text extraction: trafilatura on the parsed tree, and when a fallback is worth it."""

from __future__ import annotations

from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import trafilatura
from lxml import etree

from sitrep.clean.lines import clean_paragraphs
from sitrep.clean.options import DEFAULT_OPTIONS, MIN_TEXT_WORDS, CleanOptions
from sitrep.clean.provenance import extractor_name, package_version_of
from sitrep.clean.prune import boilerplate_lines
from sitrep.clean.text import fold_whitespace, word_count


@dataclass
class Extraction:
    """The main text and how it was obtained."""

    paragraphs: list[str]
    source: str  # "page" or "fallback:<name>"
    extractor: str
    dropped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def pruned(self) -> int:
        """Lines dropped because the markup marks them as page furniture."""
        return sum(1 for kind, _ in self.dropped if kind == "furniture")

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


#: A line of prose: this many characters at least (menus and tag clouds are short lines),
#: mostly letters (not a script's source). Characters, not words: Chinese and Japanese
#: text has no spaces.
PROSE_MIN_CHARS = 50
PROSE_MIN_LETTERS = 0.7


def _is_prose(line: str) -> bool:
    if len(line) < PROSE_MIN_CHARS:
        return False
    visible = len(line) - line.count(" ")
    return sum(map(str.isalpha, line)) >= PROSE_MIN_LETTERS * visible


def prose_chars(text: str) -> int:
    """Characters in prose lines: how two candidate texts are compared. A longer text is
    not a better one when the extra length is a menu dump or a script's source."""
    return sum(len(line) for line in text.split("\n") if _is_prose(line))


def _without_code(tree: Any) -> Any:
    """A copy of the tree without scripts and styles: the bundled fallbacks edit their
    input (readability), and jusText would otherwise return inline JavaScript as text."""
    copied = deepcopy(tree)
    etree.strip_elements(copied, "script", "style", "noscript", "template", with_tail=False)
    return copied


def _trafilatura_text(tree: Any, url: str | None, settings: dict[str, Any]) -> str:
    document = trafilatura.bare_extraction(tree, url=url, **settings)
    return (getattr(document, "text", None) or "") if document is not None else ""


def _clean(
    tree: Any, raw: str, options: CleanOptions,
) -> tuple[list[str], list[tuple[str, str]]]:
    lines = [line for line in (fold_whitespace(part) for part in raw.split("\n")) if line]
    furniture = (
        boilerplate_lines(tree, lines) if options.prune and options.line_rules else None
    )
    return clean_paragraphs("\n".join(lines), options.line_rules, furniture)


def extract_text(
    tree: Any, url: str | None, options: CleanOptions = DEFAULT_OPTIONS,
    declared_words: int = 0,
) -> Extraction:
    """Main text of a parsed page: one trafilatura pass, a second only when it is worth it.

    trafilatura's fast mode skips its comparison with readability and jusText on every
    page (half its time). That comparison pays on the pages where the fast pass found
    little, so it is run (trafilatura with ``fast=False``, on the same tree) only when
    the fast text has fewer than ``options.compare_below`` characters of prose (a short article, or
    a menu dump instead of one), and kept when it has clearly more prose.
    The furniture lines and line rules then clean whichever text won.

    ``declared_words``: length of the body the page declares in its JSON-LD
    ``articleBody``. Script-rendered sites ship the text only there; a declared body much
    longer than the extraction sends the page to the bundled fallbacks too.
    """
    settings = dict(options.trafilatura)
    raw = _trafilatura_text(tree, url, settings)
    source, extractor = "page", extractor_name()
    if options.cascade and settings.get("fast") and prose_chars(raw) < options.compare_below:
        compared = _trafilatura_text(tree, url, {**settings, "fast": False})
        if prose_chars(compared) > 1.2 * prose_chars(raw) + 100:
            raw = compared
    paragraphs, dropped = _clean(tree, raw, options)
    result = Extraction(paragraphs, source, extractor, dropped)
    words = word_count(result.text)
    suspicious = words < MIN_TEXT_WORDS or declared_words > 2 * words + MIN_TEXT_WORDS
    if not options.cascade or not suspicious:
        return result
    for name, fallback in FALLBACKS.items():
        try:
            candidate_raw = fallback(_without_code(tree), url)
        except Exception:  # a fallback's bug must not lose the article
            continue
        candidate, candidate_dropped = _clean(tree, candidate_raw, options)
        candidate_words = word_count("\n".join(candidate))
        if prose_chars("\n".join(candidate)) > 1.5 * prose_chars(result.text) + 60:
            version = package_version_of(_FALLBACK_PACKAGES[name])
            extractor = f"{extractor_name()}; fallback {name} {version}"
            result = Extraction(candidate, f"fallback:{name}", extractor, candidate_dropped)
            if candidate_words >= MIN_TEXT_WORDS and candidate_words * 2 + MIN_TEXT_WORDS >= (
                declared_words
            ):
                break
    return result
