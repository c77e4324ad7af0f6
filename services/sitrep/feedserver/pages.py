"""Article pages and the other non-feed documents the server hands out.

Article pages look like a real news site's: metadata in ``<head>`` (Open Graph, JSON-LD,
canonical link), a cookie banner, navigation, the ``<article>`` with byline, figure and
several paragraphs, related links, a newsletter box and a footer. The boilerplate is there
on purpose, so that the extraction stage has something to strip. Each page is 10-40 kB,
its size and text chosen deterministically from (seed, feed, entry).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html import escape

from .textgen import Entry, headline, paragraph, person, rng, unit

MIN_ARTICLE_BYTES = 10_000
MAX_ARTICLE_BYTES = 40_000


@dataclass(frozen=True, slots=True)
class Site:
    """The site an article belongs to, with absolute URLs."""

    name: str
    home_url: str
    feed_url: str
    language: str = "en"


def body_paragraphs(seed: int, key: str, index: int) -> Iterator[str]:
    """The article's paragraphs as plain text, endlessly.

    One generator feeds both the article page and the feeds' full-content variant, so the
    first paragraphs of a page always equal the content the feed carries for it.
    """
    r = rng(seed, "body", key, index)
    while True:
        yield paragraph(r)


def lead_html(seed: int, key: str, index: int, count: int = 2) -> str:
    """The first ``count`` paragraphs as HTML, for content:encoded / atom:content."""
    paragraphs = itertools.islice(body_paragraphs(seed, key, index), count)
    return "".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)


def _target_size(seed: int, key: str, index: int) -> int:
    span = MAX_ARTICLE_BYTES - MIN_ARTICLE_BYTES - 4_000  # room for the last paragraph
    return MIN_ARTICLE_BYTES + 500 + int(unit(seed, "size", key, index) * span)


def _head(entry: Entry, site: Site, canonical_url: str, description: str) -> str:
    published = entry.published.isoformat()
    modified = entry.updated.isoformat()
    json_ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": entry.title,
        "datePublished": published,
        "dateModified": modified,
        "author": [{"@type": "Person", "name": a} for a in entry.authors],
        "publisher": {"@type": "Organization", "name": site.name},
        "mainEntityOfPage": canonical_url,
        "keywords": list(entry.categories),
    }
    # "</" must not appear inside a script element.
    ld_text = json.dumps(json_ld, ensure_ascii=False).replace("</", "<\\/")
    authors = "".join(f'<meta name="author" content="{escape(a)}">\n' for a in entry.authors)
    tags = "".join(
        f'<meta property="article:tag" content="{escape(t)}">\n' for t in entry.categories
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{escape(site.language)}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(entry.title)} | {escape(site.name)}</title>\n"
        f'<meta name="description" content="{escape(description)}">\n'
        f"{authors}"
        f'<link rel="canonical" href="{escape(canonical_url)}">\n'
        f'<link rel="alternate" type="application/rss+xml" title="{escape(site.name)}"'
        f' href="{escape(site.feed_url)}">\n'
        '<meta property="og:type" content="article">\n'
        f'<meta property="og:title" content="{escape(entry.title)}">\n'
        f'<meta property="og:description" content="{escape(description)}">\n'
        f'<meta property="og:url" content="{escape(canonical_url)}">\n'
        f'<meta property="og:site_name" content="{escape(site.name)}">\n'
        f'<meta property="article:published_time" content="{published}">\n'
        f'<meta property="article:modified_time" content="{modified}">\n'
        f"{tags}"
        '<link rel="stylesheet" href="/static/css/site.css">\n'
        f'<script type="application/ld+json">{ld_text}</script>\n'
        "<script>window.dataLayer=window.dataLayer||[];"
        "function gtag(){dataLayer.push(arguments);}gtag('js',new Date());</script>\n"
        "</head>\n"
    )


def _header(site: Site, categories: Sequence[str]) -> str:
    sections = ["World", "Politics", "Business", "Science", "Sport", "Culture", "Opinion"]
    nav = "".join(
        f'<li><a href="{escape(site.home_url)}?section={s.lower()}">{s}</a></li>' for s in sections
    )
    crumbs = " &rsaquo; ".join(escape(c) for c in categories) or "News"
    return (
        '<body class="article-page">\n'
        '<div id="cookie-banner" class="consent" role="dialog">We use cookies to improve'
        " your experience and to show personalised advertising. "
        '<button class="accept">Accept all</button> <button class="reject">Reject</button>'
        "</div>\n"
        '<header class="site-header">\n'
        f'<a class="logo" href="{escape(site.home_url)}">{escape(site.name)}</a>\n'
        f'<nav class="main-nav" aria-label="Sections"><ul>{nav}</ul></nav>\n'
        '<form class="search" action="/search"><input name="q" placeholder="Search">'
        "</form>\n"
        "</header>\n"
        f'<div class="breadcrumbs">Home &rsaquo; {crumbs}</div>\n'
        '<div class="ad ad-leaderboard" data-slot="top">Advertisement</div>\n'
    )


def _byline(entry: Entry) -> str:
    published = entry.published.isoformat()
    names = ", ".join(
        f'<a rel="author" href="/authors/{escape(a.lower().replace(" ", "-"))}">{escape(a)}</a>'
        for a in entry.authors
    )
    by = f'<span class="byline">By {names}</span> ' if names else ""
    shown = entry.published.strftime("%d %B %Y, %H:%M")
    return f'<p class="meta">{by}<time datetime="{published}">{shown}</time></p>\n'


def _figure(seed: int, entry: Entry) -> str:
    r = rng(seed, "figure", entry.key, entry.index)
    image = f"/static/img/{entry.key}-{entry.index}-{r.randrange(10**6):06d}.jpg"
    caption = headline(r)
    return (
        '<figure class="lead-image">\n'
        f'<img src="{escape(image)}" alt="{escape(caption)}" width="1200" height="675"'
        ' loading="lazy">\n'
        f"<figcaption>{escape(caption)}. Photo: {escape(person(r))} / Agency</figcaption>\n"
        "</figure>\n"
    )


def _footer(site: Site, related: Sequence[tuple[str, str]]) -> str:
    links = "".join(
        f'<li><a href="{escape(url)}">{escape(title)}</a></li>\n' for url, title in related
    )
    return (
        '<aside class="related" aria-label="Related stories">\n<h2>Related</h2>\n'
        f"<ul>\n{links}</ul>\n</aside>\n"
        '<aside class="newsletter"><h2>Get the morning briefing</h2>'
        '<form action="/newsletter"><input type="email" name="email" placeholder="Email">'
        "<button>Sign up</button></form></aside>\n"
        '<section class="comments"><h2>Comments</h2><p>Comments are closed for this'
        " article.</p></section>\n"
        '<footer class="site-footer">\n'
        f"<p>&copy; 2025 {escape(site.name)}. All rights reserved.</p>\n"
        '<ul><li><a href="/about">About us</a></li><li><a href="/privacy">Privacy</a></li>'
        '<li><a href="/terms">Terms</a></li><li><a href="/contact">Contact</a></li></ul>\n'
        "</footer>\n"
        '<script src="/static/js/app.js" defer></script>\n'
        "</body>\n</html>\n"
    )


def article_html(
    seed: int,
    entry: Entry,
    site: Site,
    canonical_url: str,
    related: Sequence[tuple[str, str]] = (),
) -> bytes:
    """The full article page for ``entry``, as UTF-8 bytes of 10-40 kB."""
    head = _head(entry, site, canonical_url, entry.summary)
    opening = (
        _header(site, entry.categories)
        + '<main id="content">\n<article class="story">\n'
        + f"<h1>{escape(entry.title)}</h1>\n"
        + f'<p class="standfirst">{escape(entry.summary, quote=False)}</p>\n'
        + _byline(entry)
        + _figure(seed, entry)
        + '<div class="story-body">\n'
    )
    closing = "</div>\n</article>\n</main>\n" + _footer(site, related)
    size = len(head.encode()) + len(opening.encode()) + len(closing.encode())
    target = _target_size(seed, entry.key, entry.index)
    r = rng(seed, "layout", entry.key, entry.index)
    body: list[str] = []
    for number, text in enumerate(body_paragraphs(seed, entry.key, entry.index)):
        if size >= target and number >= 3:
            break
        if number and number % 5 == 0:
            extra = f"<h2>{escape(headline(r))}</h2>\n"
        elif number and number % 7 == 3:
            extra = f"<blockquote><p>{escape(paragraph(r, 1, 2), quote=False)}</p></blockquote>\n"
        else:
            extra = ""
        chunk = f"{extra}<p>{escape(text, quote=False)}</p>\n"
        body.append(chunk)
        size += len(chunk.encode())
    return (head + opening + "".join(body) + closing).encode("utf-8")


def index_html(site: Site, links: Sequence[tuple[str, str]]) -> bytes:
    """A section front page listing ``links`` (url, title)."""
    items = "".join(
        f'<li><a href="{escape(url)}">{escape(title)}</a></li>\n' for url, title in links
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{escape(site.language)}"><head><meta charset="utf-8">'
        f"<title>{escape(site.name)}</title>\n"
        f'<link rel="alternate" type="application/rss+xml" href="{escape(site.feed_url)}">'
        f"</head>\n<body><h1>{escape(site.name)}</h1>\n<ul>\n{items}</ul>\n</body></html>\n"
    ).encode()


def pdf_document(title: str, lines: Sequence[str]) -> bytes:
    """A small but valid one-page PDF 1.4 with ``title`` and ``lines`` in Helvetica.

    Byte offsets in the cross-reference table are computed, so strict PDF readers accept
    it; only ASCII text is written (other characters become ``?``).
    """

    def pdf_string(text: str) -> str:
        ascii_text = text.encode("ascii", "replace").decode("ascii")
        return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    ops = ["BT", "/F1 20 Tf", "72 720 Td", f"({pdf_string(title)}) Tj", "/F1 11 Tf"]
    for line in lines:
        ops += ["0 -18 Td", f"({pdf_string(line)}) Tj"]
    ops.append("ET")
    stream = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (%s) /Producer (sitrep feedserver) >>" % pdf_string(title).encode(),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def html_not_a_feed(feed_url: str) -> bytes:
    """A site's home page, served where a poller expected a feed.

    It advertises the real feed with ``<link rel="alternate">``, as such pages do, so a
    poller with feed autodiscovery could recover.
    """
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Welcome to The Example Times</title>\n"
        f'<link rel="alternate" type="application/rss+xml" title="RSS"'
        f' href="{escape(feed_url)}">\n'
        "</head><body><h1>The Example Times</h1>"
        "<p>Our feed has moved. This is the home page, not a feed.</p>"
        '<ul><li><a href="/bad/articles/html/0.html">Top story</a></li></ul>'
        "</body></html>\n"
    ).encode()


def error_html(status: int, reason: str) -> bytes:
    """A small branded error page, as sites return for 4xx/5xx."""
    return (
        f"<!DOCTYPE html><html><head><title>{status} {escape(reason)}</title></head>"
        f"<body><h1>{status} {escape(reason)}</h1><p>Sorry, something went wrong.</p>"
        "</body></html>\n"
    ).encode()


ROBOTS_TXT = b"""# sitrep feed fixture server
User-agent: *
Disallow: /private/
Disallow: /admin/
"""


def huge_html_chunk(size: int = 64 * 1024) -> bytes:
    """``size`` bytes of repetitive HTML paragraphs for the huge-body endpoint."""
    unit_text = b"<p>This page never ends. Pollers must cap how much they read.</p>\n"
    repeated = unit_text * (size // len(unit_text) + 1)
    return repeated[:size]
