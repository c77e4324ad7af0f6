"""Boilerplate, first layer: DOM pruning by class/id vocabulary."""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise
from typing import Any

from sitrep.clean.text import word_count

#: Words that, in a class or id name, mark an element as not being article text. They are
#: the vocabulary of CMS templates generally (WordPress, Arc, Drupal themes, BEM
#: components), not of any one site.
_BOILERPLATE_WORDS = frozenset({
    "newsletter", "newsletters", "signup", "subscribe", "subscription", "related",
    "promo", "promotion", "cookie", "cookies", "consent", "gdpr", "share", "sharing",
    "social", "comments", "comment", "caption", "credit", "credits", "advert",
    "advertisement", "ad", "ads", "sponsored", "outbrain", "taboola", "paywall",
    "breadcrumb", "breadcrumbs", "readmore", "alsoread", "seealso",
})
_BOILERPLATE_PAIRS = frozenset({
    ("read", "more"), ("also", "read"), ("read", "also"), ("see", "also"), ("most", "read"),
    ("most", "popular"), ("sign", "up"), ("more", "stories"), ("more", "news"),
})
_BOILERPLATE_TAGS = frozenset({"figcaption", "aside", "form", "nav", "footer", "button"})
_NEVER_PRUNE = frozenset({"html", "body", "main", "article"})
_CLASS_SPLIT = re.compile(r"[-_\s]+|(?<=[a-z])(?=[A-Z])")
#: An element holding this share of the page's text, in several long paragraphs, is the
#: article itself whatever its class says (WordPress puts "comments-open" on <article>).
_PRUNE_MAX_SHARE = 0.3
LONG_PARAGRAPH_WORDS = 25


@lru_cache(maxsize=8192)
def _names_look_like_boilerplate(names: str) -> bool:
    """Whether a class/id string names boilerplate; cached, as templates repeat them."""
    for name in names.split():
        words = [w.lower() for w in _CLASS_SPLIT.split(name) if w]
        if _BOILERPLATE_WORDS.intersection(words):
            return True
        if any(pair in _BOILERPLATE_PAIRS for pair in pairwise(words)):
            return True
    return False


def looks_like_boilerplate(element: Any) -> bool:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _NEVER_PRUNE:
        return False
    if tag in _BOILERPLATE_TAGS:
        return True
    names = f"{element.get('class') or ''} {element.get('id') or ''}"
    if not names.strip() or (element.get("itemprop") or "").lower() == "articlebody":
        return False
    return _names_look_like_boilerplate(names)


def _is_main_text(element: Any, page_chars: int) -> bool:
    chars = len(element.text_content())
    if page_chars == 0 or chars < _PRUNE_MAX_SHARE * page_chars:
        return False
    long_paragraphs = sum(
        1 for p in element.iter("p") if word_count(p.text_content()) >= LONG_PARAGRAPH_WORDS
    )
    return long_paragraphs >= 3


def prune_boilerplate(tree: Any) -> int:
    """Remove boilerplate elements in place (keeping their tail text); return how many."""
    body = tree.find(".//body")
    if body is None:
        return 0
    page_chars = len(body.text_content())
    candidates = [
        el for el in body.iter() if isinstance(el.tag, str) and looks_like_boilerplate(el)
    ]
    removed = 0
    for element in candidates:
        parent = element.getparent()
        if parent is None or _is_main_text(element, page_chars):
            continue
        element.drop_tree()
        removed += 1
    return removed


