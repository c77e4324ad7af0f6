"""Page metadata other than dates and language: title, authors, canonical URL, JSON-LD."""

from __future__ import annotations

import contextlib
import re
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from htmldate import find_date
from trafilatura.metadata import (
    Document,
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
)

from sitrep.clean.dates import declared_day, jsonld_values, published_date, updated_date
from sitrep.clean.language import page_language
from sitrep.clean.text import fold_whitespace, word_count
from sitrep.urls import canonical_url

#: pages. Byline dates in other languages are read by :func:`_byline_date` instead.
DATE_OPTIONS: dict[str, Any] = {"extensive_search": False, "original_date": True}
_HOST = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$")


def plausible_url(url: str | None) -> bool:
    """Absolute http(s) on a real-looking host name (not localhost, not an IP, a dot in it)."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and bool(_HOST.match(host))


def _page_canonical(tree: Any, fetched: str | None) -> tuple[str | None, str | None]:
    """(URL, "link_canonical" | "og_url") the page claims, when believable.

    A canonical pointing at the site's home page (a common CMS misconfiguration) is
    ignored when the fetched URL has a path of its own.
    """
    candidates: list[tuple[str | None, str]] = []
    for link in tree.iterfind(".//link[@rel][@href]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            candidates.append((link.get("href"), "link_canonical"))
            break
    for meta in tree.iterfind(".//meta[@content]"):
        if (meta.get("property") or meta.get("name") or "").lower() == "og:url":
            candidates.append((meta.get("content"), "og_url"))
            break
    fetched_path = urlsplit(fetched).path.strip("/") if fetched else ""
    for url, how in candidates:
        if not plausible_url(url):
            continue
        assert url is not None
        if fetched_path and not urlsplit(url.strip()).path.strip("/"):
            continue
        return canonical_url(url), how
    return None, None




#: Bylines that name a desk or the wires, not a person: "Crescent Online staff",
#: "With agencies", "Reuters Staff", "News Desk".
_NOT_A_PERSON = re.compile(
    r"\b(?:staff|agencies|agency|newsroom|desk|bureau|wires?|editors?|team)\b|^(?:with|and)\s",
    re.IGNORECASE,
)


def _split_authors(value: str | None, site_name: str | None) -> list[str]:
    """trafilatura's "A; B" author string as a list of people (no outlet, desk or wires)."""
    if not value:
        return []
    site = (site_name or "").strip().lower()
    authors: list[str] = []
    for part in re.split(r"\s*;\s*", value):
        name = part.strip()
        if name and name.lower() != site and not _NOT_A_PERSON.search(name) and (
            name not in authors
        ):
            authors.append(name)
    return authors


def _metadata(tree: Any, url: str | None, latest: date) -> Document:
    """trafilatura's metadata steps that pay, on the tree the stage already parsed.

    The same order as ``trafilatura.extract_metadata`` (meta tags, then JSON-LD, then the
    title element), without the parts that cost most and that the stage does not use or
    reads better itself: the author search in the body (a deep copy of the whole tree for
    every page without a meta author), the category and tag link scan of the body (its
    "categories" are mostly the site's menu), the licence, and the URL (the stage has its
    own canonical logic). htmldate runs as there, without its extensive search, unless the
    page declares its publication day in machine-readable form (:func:`declared_day`).
    """
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None  # a one-word "author" is a handle or the site (as trafilatura)
    with contextlib.suppress(Exception):  # a bug in JSON-LD parsing is not our failure
        meta = extract_meta_json(tree, meta)
    if not meta.title:
        meta.title = extract_title(tree)
    meta.date = declared_day(tree, latest) or find_date(
        tree, url=url, **DATE_OPTIONS, max_date=latest.isoformat(),
    )
    if not meta.sitename:
        meta.sitename = extract_sitename(tree)
    if meta.sitename:
        meta.sitename = meta.sitename.lstrip("@")
        if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
            meta.sitename = meta.sitename.title()
    meta.clean_and_trim()
    return meta


def read_page(tree: Any, url: str | None, latest: date) -> dict[str, Any]:
    """Metadata of the page (its <head>, JSON-LD, byline), from the one parsed tree."""
    language, language_how = page_language(tree)
    canonical, canonical_how = _page_canonical(tree, url)
    meta = _metadata(tree, url or canonical, latest)
    published = published_date(tree, url, latest, meta.date)
    site_name = fold_whitespace(meta.sitename or "") or None
    image = meta.image if plausible_url(meta.image) else None
    return {
        "title": fold_whitespace(meta.title or "") or None,
        "description": fold_whitespace(meta.description or "") or None,
        "authors": _split_authors(meta.author, site_name),
        "site_name": site_name,
        "published": published,
        "updated": updated_date(tree, published),
        "image": image,
        "categories": [c for c in (meta.categories or []) if c],
        "tags": [t for t in (meta.tags or []) if t],
        "language": language,
        "language_how": language_how,
        "canonical_url": canonical,
        "canonical_how": canonical_how,
        "declared_words": max(
            (word_count(body) for body in jsonld_values(tree, "articleBody")), default=0,
        ),
    }


