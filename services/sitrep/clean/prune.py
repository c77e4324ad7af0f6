"""Boilerplate, first layer: furniture the markup names (class/id vocabulary, tags)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from itertools import pairwise
from typing import Any

from lxml.etree import XPath

#: Words that, in a class or id name, mark an element as not being article text. They are
#: the vocabulary of CMS templates generally (WordPress, Arc, Drupal themes, BEM
#: components), not of any one site.
_BOILERPLATE_WORDS = frozenset({
    "newsletter", "newsletters", "signup", "subscribe", "subscription", "related",
    "promo", "promotion", "cookie", "cookies", "consent", "gdpr", "share", "sharing",
    "social", "comments", "comment", "caption", "credit", "credits", "advert",
    "advertisement", "ad", "ads", "sponsored", "outbrain", "taboola", "paywall",
    "breadcrumb", "breadcrumbs", "alsoread", "seealso",
})
_BOILERPLATE_PAIRS = frozenset({
    ("also", "read"), ("read", "also"), ("see", "also"), ("most", "read"),
    ("most", "popular"), ("sign", "up"), ("more", "stories"), ("more", "news"),
})
#: Not "form": ASP.NET pages and shop templates wrap the article or a product's description
#: in one. Not "read more": that class marks the collapsed rest of the article, not a link.
_BOILERPLATE_TAGS = frozenset({"figcaption", "aside", "nav", "footer", "button"})
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
    """Whether an element's tag or class/id names say it is page furniture."""
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _NEVER_PRUNE:
        return False
    if tag in _BOILERPLATE_TAGS:
        return True
    names = f"{element.get('class') or ''} {element.get('id') or ''}"
    if not names.strip() or (element.get("itemprop") or "").lower() == "articlebody":
        return False
    return _names_look_like_boilerplate(names)


#: What is worth a look, in document order: class and id *values* (strings, so that the
#: cached vocabulary test runs on them without touching their element) and the furniture
#: tags. One XPath (in C) instead of a Python visit of every element of the page.
#: (Measured slower: filtering the values inside the XPath with translate()/contains(),
#: and an XPath built per page from the furniture values a regex found in the source.)
_CANDIDATES = XPath(
    "//body//@class | //body//@id | //body//aside | //body//figcaption | //body//nav"
    " | //body//footer | //body//button"
)


def _candidates(tree: Any) -> Iterator[Any]:
    for found in _CANDIDATES(tree):
        if not isinstance(found, str):
            yield found
        elif _names_look_like_boilerplate(found):
            yield found.getparent()  # type: ignore[attr-defined]


#: An element whose text holds this share of the extracted article is the article (or its
#: wrapper), whatever its class says: ``div.entry-content-read-more``, ``div.paywall`` and
#: WordPress's ``article.comments-open`` hold the whole story.
MAIN_TEXT_SHARE = 0.25


def _folded_text(element: Any) -> str:
    return " ".join(element.text_content().split())


def boilerplate_lines(tree: Any, lines: list[str]) -> set[int]:
    """Indices of extracted ``lines`` that come from page furniture; the article is safe.

    The markup's class/id vocabulary (newsletter, related, share, caption ...) marks page
    furniture, but on real pages the same words name the article's own wrapper. So the
    tree is not pruned before extraction (which once lost whole articles); instead, after
    the one extraction pass, a line is dropped only when it is part of the text of a
    furniture element that does not itself hold MAIN_TEXT_SHARE of the extracted text.
    Nested candidates are judged one by one: a spared wrapper's share box is still a share
    box.
    """
    total = sum(len(line) for line in lines)
    body = tree.find(".//body") if tree is not None else None
    if not total or body is None:
        return set()
    taken: set[Any] = set()
    texts: list[str] = []
    seen: set[Any] = set()
    for element in _candidates(tree):
        if element in seen or not looks_like_boilerplate(element):
            continue
        seen.add(element)
        if taken and any(ancestor in taken for ancestor in element.iterancestors()):
            continue
        text = _folded_text(element)
        if not text:
            continue
        if len(text) >= MAIN_TEXT_SHARE * total and sum(
            len(line) for line in lines if line in text
        ) >= MAIN_TEXT_SHARE * total:
            continue  # the article's own wrapper: spared (its inner furniture is not)
        taken.add(element)
        texts.append(text)
    if not texts:
        return set()
    # A line that the page also shows outside the furniture (the headline in a breadcrumb,
    # the lede in a "most read" teaser, a town name in a tag cloud) is article text.
    furniture = "\n".join(texts)
    page = " ".join(body.text_content().split())
    return {
        i for i, line in enumerate(lines)
        if line in furniture and furniture.count(line) >= page.count(line)
    }
