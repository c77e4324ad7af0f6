"""The stage entry points: raw message (or HTML, or text) in, ``articles.clean`` document out."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from trafilatura.utils import load_html

from sitrep.clean.dates import parse_timestamp
from sitrep.clean.extract import Extraction, extract_text
from sitrep.clean.fingerprints import minhash, text_hash
from sitrep.clean.language import choose_language
from sitrep.clean.lines import clean_paragraphs
from sitrep.clean.metadata import plausible_url, read_page
from sitrep.clean.options import DEFAULT_OPTIONS, CleanError, CleanOptions
from sitrep.clean.provenance import extractor_name
from sitrep.clean.text import fold_whitespace, word_count
from sitrep.urls import article_id, canonical_url

CLEAN_TOPIC = "articles.clean"
CLEAN_SCHEMA = "articles.clean/1"

def _drop_headline_repeat(extraction: Extraction, title: str) -> None:
    """Drop the headline when the extractor took it as the first paragraph.

    Only the headline: a first paragraph equal to the meta description may be the lede
    itself (many CMSs copy it there), and losing the lede is worse than keeping a standfirst.
    """
    key = fold_whitespace(title).lower()
    while extraction.paragraphs and extraction.paragraphs[0].lower() == key:
        extraction.dropped.append(("headline_repeat", extraction.paragraphs.pop(0)))


def _strip_markup(text: str | None) -> str:
    """Feed summaries are often HTML fragments: their text, one paragraph a line."""
    if not text:
        return ""
    text = re.sub(r"(?i)<\s*br\s*/?>|</\s*(?:p|div|li|h[1-6])\s*>", "\n", text)
    text = re.sub(r"<[^>]+>", " ", text)
    return html_lib.unescape(text)


def _empty_feed(feed: dict[str, Any] | None) -> dict[str, Any]:
    feed = feed or {}
    return {
        "id": feed.get("id"),
        "name": feed.get("name") or feed.get("title"),
        "tags": list(feed.get("tags") or []),
        "language": feed.get("language"),
    }


@dataclass
class _Inputs:
    """Everything an article can be built from; the HTML part may be missing."""

    html: str | None
    url: str | None
    feed: dict[str, Any] | None
    entry: dict[str, Any] = field(default_factory=dict)
    raw_id: str | None = None
    raw_canonical: str | None = None
    fetched_at: str | None = None
    fetch_status: str | None = None


def _today_bound(fetched_at: str | None) -> date:
    """Latest acceptable publication day: the fetch day plus one (time zones ahead of UTC)."""
    moment = parse_timestamp(fetched_at) if fetched_at else None
    return ((moment or datetime.now(UTC)) + timedelta(days=1)).date()


def _build(inputs: _Inputs, options: CleanOptions) -> dict[str, Any]:
    entry = inputs.entry
    fields: dict[str, str | None] = {}
    latest = _today_bound(inputs.fetched_at)
    page: dict[str, Any] = {}
    extraction: Extraction | None = None
    tree = load_html(inputs.html) if inputs.html and inputs.html.strip() else None
    if tree is not None:
        page = read_page(tree, inputs.url, latest)
        extraction = extract_text(
            tree, inputs.url, options, page["declared_words"], inputs.html,
        )

    def pick(name: str, page_value: Any, feed_value: Any) -> Any:
        if page_value:
            fields[name] = "page"
            return page_value
        if feed_value:
            fields[name] = "feed"
            return feed_value
        fields[name] = None
        return page_value if page_value is not None else feed_value

    title = pick("title", page.get("title"), fold_whitespace(entry.get("title") or "") or None)
    if extraction is not None and title:
        _drop_headline_repeat(extraction, title)
    if extraction is not None and extraction.paragraphs:
        text, fields["text"] = extraction.text, extraction.source
    else:
        summary, _ = clean_paragraphs(_strip_markup(entry.get("summary")), options.line_rules)
        text = "\n\n".join(summary)
        fields["text"] = "feed_summary" if text else None
    if not text and not title:
        where = "the page has no article text" if tree is not None else "there is no page"
        raise CleanError(f"nothing usable: {where} and the feed entry has no title or summary")

    description = pick(
        "description", page.get("description"),
        fold_whitespace(_strip_markup(entry.get("summary"))) or None,
    )
    site_name = pick("site_name", page.get("site_name"), _empty_feed(inputs.feed)["name"])
    authors = pick("authors", page.get("authors"), list(entry.get("authors") or []))
    published = pick("published", page.get("published"), entry.get("published"))
    updated = pick("updated", page.get("updated"), entry.get("updated"))
    image = pick("image", page.get("image"), None)
    categories = pick("categories", page.get("categories"), None) or []
    tags = pick("tags", page.get("tags"), list(entry.get("tags") or [])) or []

    feed_language = entry.get("language") or (inputs.feed or {}).get("language")
    language, language_how = choose_language(
        page.get("language"), page.get("language_how"), text, feed_language,
    )
    fields["language"] = (
        None if language_how is None else "feed" if language_how == "feed"
        else "detector" if language_how == "detector" else "page"
    )

    if page.get("canonical_url"):
        canonical, canonical_how = page["canonical_url"], page["canonical_how"]
    elif inputs.raw_canonical:
        canonical, canonical_how = inputs.raw_canonical, "raw"
    elif plausible_url(inputs.url):
        assert inputs.url is not None
        canonical, canonical_how = canonical_url(inputs.url), "url"
    else:
        canonical, canonical_how = None, None
    fields["canonical_url"] = (
        "page" if canonical_how in ("link_canonical", "og_url") else canonical_how
    )

    hash_value = text_hash(text)
    if inputs.raw_id:
        doc_id = inputs.raw_id
    elif canonical:
        doc_id = article_id(canonical)
    else:
        doc_id = hash_value[:32]
    provenance: dict[str, Any] = {
        "extractor": extraction.extractor if extraction else extractor_name(),
        "fetch_status": inputs.fetch_status,
        "fields": fields,
        "canonical_url": canonical_how,
        "language": language_how,
        "boilerplate": {
            "pruned_elements": extraction.pruned if extraction else 0,
            "dropped_lines": [
                {"kind": kind, "text": line[:200]} for kind, line in extraction.dropped
            ] if extraction else [],
        },
    }
    return {
        "schema": CLEAN_SCHEMA,
        "id": doc_id,
        "url": inputs.url,
        "canonical_url": canonical,
        "feed": _empty_feed(inputs.feed),
        "title": title,
        "text": text,
        "description": description,
        "authors": authors or [],
        "published": published,
        "updated": updated,
        "site_name": site_name,
        "language": language,
        "categories": categories,
        "tags": tags,
        "image": image,
        "fetched_at": inputs.fetched_at,
        "word_count": word_count(text),
        "text_hash": hash_value,
        "minhash": minhash(text),
        "provenance": provenance,
    }


def clean_html(
    html: str, url: str | None = None, feed: dict[str, Any] | None = None,
    *, options: CleanOptions = DEFAULT_OPTIONS,
) -> dict[str, Any]:
    """Clean one HTML page into an ``articles.clean`` document (the CLI's path).

    ``feed`` is a raw message's feed block (id, name, tags, language) when known. The id is
    the hash of the canonical URL (the page's own when it has one), as everywhere in sitrep.
    Unlike :func:`clean_article` there is no feed summary to fall back on, so a page without
    article text raises :class:`CleanError`.
    """
    if not html or not html.strip():
        raise CleanError("empty page")
    article = _build(_Inputs(html=html, url=url, feed=feed), options)
    if not article["text"]:
        # No feed summary to stand in here: a title alone is not an article.
        raise CleanError("no article text found in the page")
    return article


def clean_article(
    raw: dict[str, Any], *, options: CleanOptions = DEFAULT_OPTIONS,
) -> dict[str, Any]:
    """``articles.raw`` message -> ``articles.clean`` message (the stage's pure function).

    A failed fetch (non_html, http_error, timeout, no_link, robots_disallowed ...) still makes
    an article, from the feed entry, with every such field marked "feed". Raises
    :class:`CleanError` only when there is neither page text nor a feed title or summary.
    """
    status = (raw.get("fetch") or {}).get("status")
    html = raw.get("html") if status == "ok" else None
    return _build(
        _Inputs(
            html=html,
            url=raw.get("url") or (raw.get("entry") or {}).get("link"),
            feed=raw.get("feed"),
            entry=raw.get("entry") or {},
            raw_id=raw.get("id"),
            raw_canonical=raw.get("canonical_url"),
            fetched_at=raw.get("fetched_at"),
            fetch_status=status,
        ),
        options,
    )


_TEXT_DATE_HEADER = re.compile(r"^\s*date\s*:?\s*(\d{4}-\d{2}-\d{2})\s*", re.IGNORECASE)
_HEADLINE_MAX_WORDS = 30


def clean_text(text: str, url: str | None = None) -> dict[str, Any]:
    """Already-extracted plain text (``.txt``): first line the title when it reads as one.

    A leading ``date YYYY-MM-DD`` header gives the publication date. The line rules still
    run: text copied from a page often carries its captions and "Related:" lines.
    """
    if not text.strip():
        raise CleanError("empty text")
    published = None
    match = _TEXT_DATE_HEADER.match(text)
    if match:
        published = match.group(1)
        text = text[match.end() :]
    blocks = [b for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    title = None
    first_lines = blocks[0].split("\n") if blocks else []
    if first_lines and _looks_like_headline(first_lines[0]):
        title = fold_whitespace(first_lines[0])
        blocks[0] = "\n".join(first_lines[1:])
    paragraphs, dropped = clean_paragraphs("\n".join(fold_whitespace(b) for b in blocks), True)
    body = "\n\n".join(paragraphs)
    if not body and not title:
        raise CleanError("no text")
    fields: dict[str, str | None] = {
        "title": "text_file" if title else None,
        "text": "text_file",
        "published": "text_file" if published else None,
    }
    language, how = choose_language(None, None, body, None)
    fields["language"] = "detector" if how else None
    canonical = canonical_url(url) if url and plausible_url(url) else None
    hash_value = text_hash(body)
    return {
        "schema": CLEAN_SCHEMA,
        "id": article_id(canonical) if canonical else hash_value[:32],
        "url": url,
        "canonical_url": canonical,
        "feed": _empty_feed(None),
        "title": title,
        "text": body,
        "description": None,
        "authors": [],
        "published": published,
        "updated": None,
        "site_name": None,
        "language": language,
        "categories": [],
        "tags": [],
        "image": None,
        "fetched_at": None,
        "word_count": word_count(body),
        "text_hash": hash_value,
        "minhash": minhash(body),
        "provenance": {
            "extractor": "plain text",
            "fetch_status": None,
            "fields": fields,
            "canonical_url": "url" if canonical else None,
            "language": how,
            "boilerplate": {
                "pruned_elements": 0,
                "dropped_lines": [{"kind": k, "text": line[:200]} for k, line in dropped],
            },
        },
    }


def _looks_like_headline(line: str) -> bool:
    text = line.strip()
    return 0 < word_count(text) <= _HEADLINE_MAX_WORDS and text[-1] not in ".!?\"”"


