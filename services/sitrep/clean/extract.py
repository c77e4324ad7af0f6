"""Main-text extraction: trafilatura on the parsed tree, and when a fallback is worth it."""

from __future__ import annotations

import re
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import trafilatura
from lxml import etree
from trafilatura.utils import load_html

from sitrep.clean.lines import clean_paragraphs
from sitrep.clean.options import DEFAULT_OPTIONS, MIN_TEXT_WORDS, CleanOptions
from sitrep.clean.provenance import extractor_name, package_version_of
from sitrep.clean.prune import boilerplate_lines
from sitrep.clean.text import fold_lines, fold_whitespace, word_count


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


#: A fast-pass text with less prose than this is a menu or a link list whatever its
#: length: the comparison pass is worth running on it.
MENU_DUMP_PROSE_CHARS = 150


def _is_prose(line: str) -> bool:
    if len(line) < PROSE_MIN_CHARS:
        return False
    visible = len(line) - line.count(" ")
    return sum(map(str.isalpha, line)) >= PROSE_MIN_LETTERS * visible


def has_prose(text: str, at_least: int) -> bool:
    """Whether ``text`` has ``at_least`` characters of prose (:func:`prose_chars`), reading
    only as far as it takes: the test runs on every page, most of which pass in a line."""
    found = 0
    for line in text.split("\n"):
        if _is_prose(line):
            found += len(line)
            if found >= at_least:
                return True
    return False


def prose_chars(text: str) -> int:
    """Characters in prose lines: how two candidate texts are compared. A longer text is
    not a better one when the extra length is a menu dump or a script's source."""
    return sum(len(line) for line in text.split("\n") if _is_prose(line))


def _without_code(tree: Any) -> Any:
    """The tree without scripts and styles: jusText would otherwise return inline
    JavaScript as text. JSON-LD stays: trafilatura's baseline reads the declared
    ``articleBody`` of script-rendered pages from it."""
    for element in list(tree.iter("script", "style", "noscript", "template")):
        if element.tag == "script" and "ld+json" in (element.get("type") or "").lower():
            continue
        parent = element.getparent()
        if parent is not None:
            element.drop_tree()
    return tree


#: Han, kana and hangul: scripts written without spaces, where ``\w+`` sees a sentence
#: as one "word".
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def text_words(text: str) -> int:
    """Length in words, with two characters of an unspaced script counted as a word (so a
    Japanese article is not "too short" and sent to the fallbacks)."""
    return word_count(text) + len(_UNSPACED.findall(text)) // 2


#: bare_extraction's keyword arguments -> trafilatura's Extractor options.
_EXTRACTOR_KEYS = {
    "fast": "fast", "favor_precision": "precision", "favor_recall": "recall",
    "include_comments": "comments", "include_formatting": "formatting",
    "include_links": "links", "include_images": "images", "include_tables": "tables",
    "deduplicate": "dedup",
}


def _trafilatura_text(tree: Any, url: str | None, settings: dict[str, Any]) -> str:
    """trafilatura's text of a tree it may consume: the same cascade and output as
    ``bare_extraction(tree, **settings).text``, without its defensive deep copy of the
    tree (1 ms of a 20 ms page). The stage parses each page once and reads its metadata
    before extracting; a second pass (the fallback comparison) re-parses the page.

    Uses trafilatura's cascade function, which its authors call internal: the version is
    pinned in constraints.txt, and if the function moves this falls back to
    ``bare_extraction``, the public path (with its copy).
    """
    try:
        from trafilatura.core import trafilatura_sequence
        from trafilatura.settings import Extractor
        from trafilatura.xml import xmltotxt
    except ImportError:  # pragma: no cover - a trafilatura release moved them
        document = trafilatura.bare_extraction(tree, url=url, **settings)
        return (getattr(document, "text", None) or "") if document is not None else ""
    switches = {_EXTRACTOR_KEYS[k]: v for k, v in settings.items() if k in _EXTRACTOR_KEYS}
    options = Extractor(output_format="python", url=url, **switches)
    try:
        body, text, _, comments = trafilatura_sequence(tree, options, url)
    except (TypeError, ValueError):  # as bare_extraction: a page it cannot read
        return ""
    if len(text) < options.min_output_size and len(comments) < options.min_output_comm_size:
        return ""
    if options.max_tree_size and len(body) > options.max_tree_size:
        etree.strip_tags(body, "hi")
        if len(body) > options.max_tree_size:
            return ""
    return str(xmltotxt(body, options.formatting))


def _clean(
    tree: Any, raw: str, options: CleanOptions,
) -> tuple[list[str], list[tuple[str, str]]]:
    lines = fold_lines(raw)
    furniture = (
        boilerplate_lines(tree, lines) if options.prune and options.line_rules else None
    )
    return clean_paragraphs("\n".join(lines), options.line_rules, furniture)


def extract_text(
    tree: Any, url: str | None, options: CleanOptions = DEFAULT_OPTIONS,
    declared_words: int = 0, html: str | None = None,
) -> Extraction:
    """Main text of a parsed page: one trafilatura pass, a second only when it is worth it.

    trafilatura's fast mode skips its comparison with readability and jusText on every
    page (half its time). That comparison pays on the pages where the fast pass found
    little, so it is run (trafilatura with ``fast=False``, on the same tree) only when
    the fast text is shorter than ``options.compare_below`` characters or is a menu dump
    (under MENU_DUMP_PROSE_CHARS of prose), and kept when it has clearly more prose.
    The furniture lines and line rules then clean whichever text won.

    The tree is consumed (trafilatura prunes it); ``html``, the source it was parsed
    from, gives fresh trees for a second pass and the fallbacks (without it, the tree is
    copied first). ``declared_words``: length of the body the page declares in its JSON-LD
    ``articleBody``. Script-rendered sites ship the text only there; a declared body much
    longer than the extraction sends the page to the bundled fallbacks too.
    """
    settings = dict(options.trafilatura)
    pristine = None if html else deepcopy(tree)

    def fresh() -> Any:
        return load_html(html) if html else deepcopy(pristine)

    raw = _trafilatura_text(tree, url, settings)  # consumes the tree
    tree = fresh() if options.prune else None  # the furniture test reads an intact one
    source, extractor = "page", extractor_name()
    if options.cascade and settings.get("fast") and (
        len(raw) < options.compare_below or not has_prose(raw, MENU_DUMP_PROSE_CHARS)
    ):
        compared = _trafilatura_text(fresh(), url, {**settings, "fast": False})
        if prose_chars(compared) > 1.2 * prose_chars(raw) + 100:
            raw = compared
    paragraphs, dropped = _clean(tree, raw, options)
    result = Extraction(paragraphs, source, extractor, dropped)
    words = text_words(result.text)
    suspicious = words < MIN_TEXT_WORDS or declared_words > 2 * words + MIN_TEXT_WORDS
    if not options.cascade or not suspicious:
        return result
    for name, fallback in FALLBACKS.items():
        try:
            candidate_raw = fallback(_without_code(fresh()), url)
        except Exception:  # a fallback's bug must not lose the article
            continue
        candidate, candidate_dropped = _clean(tree, candidate_raw, options)
        candidate_words = text_words("\n".join(candidate))
        if prose_chars("\n".join(candidate)) > 1.5 * prose_chars(result.text) + 60:
            version = package_version_of(_FALLBACK_PACKAGES[name])
            extractor = f"{extractor_name()}; fallback {name} {version}"
            result = Extraction(candidate, f"fallback:{name}", extractor, candidate_dropped)
            if candidate_words >= MIN_TEXT_WORDS and candidate_words * 2 + MIN_TEXT_WORDS >= (
                declared_words
            ):
                break
    return result
