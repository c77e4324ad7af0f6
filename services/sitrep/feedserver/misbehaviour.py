"""The misbehaving endpoints under ``/bad/``: every way a real site makes a poller's life hard.

Each misbehaviour has a stable path and an entry in :data:`MISBEHAVIOURS`, which
``GET /bad/`` returns as JSON so that tests can iterate over all of them and know what to
expect (status, content type, entry counts). Feed-shaped misbehaviours are rendered once
per server address and cached; the huge ones are streamed and never held in memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web
from aiohttp.web_response import ContentCoding

from .generated import base_url, status_response
from .http import (
    HTML_TYPE,
    RSS_TYPE,
    Body,
    Validators,
    body_response,
    choose_encoding,
    http_date,
    is_not_modified,
    not_modified_response,
)
from .pages import Site, article_html, html_not_a_feed, huge_html_chunk, pdf_document
from .render import (
    Channel,
    Item,
    render,
    rss_head,
    rss_item,
    rss_tail,
)
from .state import Handler, ServerState
from .textgen import Entry, entry_times, make_entry, short_hash

#: Size of ``/bad/huge-body`` unless ``?bytes=`` says otherwise.
HUGE_BODY_BYTES = 50 * 1024 * 1024
#: Upper bound for ``?bytes=`` so a typo cannot make the server stream forever.
MAX_HUGE_BODY_BYTES = 1024 * 1024 * 1024
HUGE_FEED_ENTRIES = 10_000
#: Upper bound for ``/bad/slow?delay=``.
MAX_SLOW_DELAY_S = 600.0
DEFAULT_SLOW_DELAY_S = 30.0
PDF_TYPE = "application/pdf"
BAD_SITE = "Misbehaving Media"

#: Tracking parameters carried by ``/bad/tracking-links.xml``, by entry (see the index).
TRACKING_QUERIES = (
    (0, "utm_source=rss&utm_medium=feed&utm_campaign=daily"),
    (1, "utm_source=rss&fbclid=IwAR0sitrepTEST&ref=rss"),
    (0, "utm_source=twitter&utm_medium=social&gclid=Cj0KsitrepTEST"),
    (2, "id=42&utm_content=top&mc_cid=abc123&mc_eid=def456"),
    (3, "_ga=2.1234.5678&igshid=sitrep&utm_term=news"),
)
#: Which GUID group each entry of ``/bad/duplicate-guids.xml`` belongs to.
DUPLICATE_GUID_GROUPS = (0, 0, 1, 1, 1, 2, 3, 3)


@dataclass(frozen=True, slots=True)
class Misbehaviour:
    """One entry of the ``/bad/`` index."""

    name: str
    path: str
    description: str
    #: Status of the first response (before following any redirect).
    status: int
    content_type: str | None = None
    #: Whether the body is meant to be read as a feed.
    feed: bool = False
    expect: dict[str, Any] = field(default_factory=dict)


MISBEHAVIOURS: tuple[Misbehaviour, ...] = (
    Misbehaviour(
        "malformed",
        "/bad/malformed.xml",
        "RSS with a bare '&', a mismatched tag and a truncated end; a lenient parser still "
        "recovers the first entries.",
        200,
        RSS_TYPE,
        True,
        {"well_formed": False, "min_entries": 3},
    ),
    Misbehaviour(
        "latin1-declared-utf8",
        "/bad/latin1-declared-utf8.xml",
        "Bytes in ISO-8859-1 while the XML declaration and Content-Type say UTF-8; names "
        "are accented.",
        200,
        RSS_TYPE,
        True,
        {"entries": 4, "encoding": "iso-8859-1", "author": "José Müller"},
    ),
    Misbehaviour(
        "html-instead-of-feed",
        "/bad/html-instead-of-feed",
        "An HTML home page with 200 and text/html where a feed was expected.",
        200,
        HTML_TYPE,
        False,
    ),
    Misbehaviour(
        "empty",
        "/bad/empty.xml",
        "A valid RSS feed with no entries.",
        200,
        RSS_TYPE,
        True,
        {"entries": 0},
    ),
    Misbehaviour(
        "huge-feed",
        "/bad/huge-feed.xml",
        "A valid RSS feed with 10,000 entries, streamed without Content-Length.",
        200,
        RSS_TYPE,
        True,
        {"entries": HUGE_FEED_ENTRIES},
    ),
    Misbehaviour(
        "duplicate-guids",
        "/bad/duplicate-guids.xml",
        "8 entries with different titles and links but only 4 distinct GUIDs.",
        200,
        RSS_TYPE,
        True,
        {"entries": len(DUPLICATE_GUID_GROUPS), "distinct_guids": len(set(DUPLICATE_GUID_GROUPS))},
    ),
    Misbehaviour(
        "no-links",
        "/bad/no-links.xml",
        "Entries without <link> (non-permalink GUIDs; the text is in the feed).",
        200,
        RSS_TYPE,
        True,
        {"entries": 5},
    ),
    Misbehaviour(
        "relative-links",
        "/bad/relative-links.xml",
        "RSS entries whose links are root-, document-, dot-, parent- and "
        "protocol-relative; all resolve (against the feed URL) to /bad/articles/relative/.",
        200,
        RSS_TYPE,
        True,
        {"entries": 5},
    ),
    Misbehaviour(
        "relative-links-atom",
        "/bad/relative-links-atom.xml",
        "Atom variant: xml:base on <feed> and on one <entry>, relative hrefs; all resolve "
        "to /bad/articles/relative/{i}.html.",
        200,
        "application/atom+xml; charset=utf-8",
        True,
        {"entries": 4},
    ),
    Misbehaviour(
        "redirect-loop",
        "/bad/redirect-loop",
        "302 to /bad/redirect-loop-b, which 302s back: A->B->A forever.",
        302,
    ),
    Misbehaviour(
        "redirect-loop-b",
        "/bad/redirect-loop-b",
        "The other half of the redirect loop.",
        302,
    ),
    Misbehaviour("redirect-self", "/bad/redirect-self", "302 to itself.", 302),
    Misbehaviour(
        "redirect-ok",
        "/bad/redirect-ok",
        "A chain of three 301s (absolute, root-relative, absolute Location) ending at "
        "/bad/redirect-target.xml.",
        301,
        None,
        False,
        {"redirects": 3, "final": "/bad/redirect-target.xml"},
    ),
    Misbehaviour(
        "redirect-target",
        "/bad/redirect-target.xml",
        "A well-behaved feed (end of redirect-ok; also the body of /bad/slow).",
        200,
        RSS_TYPE,
        True,
        {"entries": 5},
    ),
    Misbehaviour(
        "slow",
        "/bad/slow?delay=30",
        "Stalls for `delay` seconds (max 600): mode=headers (default) sends headers then "
        "stalls before the body, mode=sleep answers nothing until the delay is over, "
        "mode=trickle spreads the body over the delay.",
        200,
        RSS_TYPE,
        True,
        {"entries": 5, "modes": ["headers", "sleep", "trickle"]},
    ),
    Misbehaviour("404", "/bad/404", "Not Found.", 404, HTML_TYPE),
    Misbehaviour("410", "/bad/410", "Gone: the poller should stop polling it.", 410, HTML_TYPE),
    Misbehaviour(
        "429",
        "/bad/429",
        "Too Many Requests with Retry-After: 120 (?retry_after=N, ?format=date for an HTTP-date).",
        429,
        HTML_TYPE,
        False,
        {"retry_after": 120},
    ),
    Misbehaviour(
        "503",
        "/bad/503",
        "Service Unavailable with Retry-After: 300 (?retry_after=N, ?format=date).",
        503,
        HTML_TYPE,
        False,
        {"retry_after": 300},
    ),
    Misbehaviour(
        "huge-body",
        "/bad/huge-body",
        "50 MiB of text/html streamed with chunked encoding, no Content-Length "
        "(?bytes=N to change the size).",
        200,
        HTML_TYPE,
        False,
        {"bytes": HUGE_BODY_BYTES, "content_length": False},
    ),
    Misbehaviour(
        "huge-body-length",
        "/bad/huge-body-length",
        "The same 50 MiB, announced with Content-Length.",
        200,
        HTML_TYPE,
        False,
        {"bytes": HUGE_BODY_BYTES, "content_length": True},
    ),
    Misbehaviour(
        "pdf-article",
        "/bad/pdf-article.pdf",
        "A real one-page PDF where HTML was expected.",
        200,
        PDF_TYPE,
    ),
    Misbehaviour(
        "pdf-feed",
        "/bad/pdf-feed.xml",
        "A feed whose only entry links to /bad/pdf-article.pdf (with an enclosure).",
        200,
        RSS_TYPE,
        True,
        {"entries": 1},
    ),
    Misbehaviour(
        "wrong-content-type",
        "/bad/wrong-content-type.xml",
        "A valid RSS feed served as text/plain.",
        200,
        "text/plain; charset=utf-8",
        True,
        {"entries": 5},
    ),
    Misbehaviour(
        "article-404-feed",
        "/bad/article-404-feed.xml",
        "A valid feed whose entries link to articles that answer 404.",
        200,
        RSS_TYPE,
        True,
        {"entries": 3, "article_status": 404},
    ),
    Misbehaviour(
        "tracking-links",
        "/bad/tracking-links.xml",
        "Entry links with utm_*, fbclid, gclid, mc_*, _ga and igshid parameters; entries 0 "
        "and 2 link the same article with different tracking parameters.",
        200,
        RSS_TYPE,
        True,
        {"entries": len(TRACKING_QUERIES), "distinct_articles": 4},
    ),
    Misbehaviour(
        "robots-blocked-feed",
        "/bad/robots-blocked-feed.xml",
        "A feed whose entries link to /private/..., which /robots.txt disallows.",
        200,
        RSS_TYPE,
        True,
        {"entries": 3},
    ),
    Misbehaviour(
        "no-validators",
        "/bad/no-validators.xml",
        "A valid feed without ETag or Last-Modified: only a body hash tells it is unchanged.",
        200,
        RSS_TYPE,
        True,
        {"entries": 5},
    ),
    Misbehaviour(
        "changing-etag",
        "/bad/changing-etag.xml",
        "Same content on every request, but a new ETag and Last-Modified each time.",
        200,
        RSS_TYPE,
        True,
        {"entries": 5},
    ),
    Misbehaviour(
        "bom",
        "/bad/bom.xml",
        "A valid feed preceded by a UTF-8 byte order mark.",
        200,
        RSS_TYPE,
        True,
        {"entries": 3},
    ),
    Misbehaviour(
        "bad-dates",
        "/bad/bad-dates.xml",
        "Entries with a missing, an unparseable, a far-future and an ISO-8601 (not "
        "RFC 822) pubDate.",
        200,
        RSS_TYPE,
        True,
        {"entries": 4},
    ),
)


def index_json() -> list[dict[str, Any]]:
    """The ``/bad/`` index as JSON-ready dicts."""
    return [asdict(m) for m in MISBEHAVIOURS]


def _query_number(request: web.BaseRequest, name: str, default: float, high: float) -> float:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"{name} must be a number") from exc
    return min(max(value, 0.0), high)


class Misbehaviours:
    """Handlers for ``/bad/`` and ``/private/``."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.seed = state.config.seed
        self.base_time = state.config.base_time
        self._huge_chunk = huge_html_chunk()
        self._changing = 0

    # -- building blocks -------------------------------------------------------------

    def entries(
        self,
        key: str,
        count: int,
        path: Callable[[int], str | None] | None = None,
        guid: Callable[[int], str] | None = None,
    ) -> list[Entry]:
        """``count`` entries of the misbehaving feed ``key``, newest first, an hour apart."""
        result = []
        for i in range(count - 1, -1, -1):
            published, updated = entry_times(
                self.seed, key, i, count - 1, self.base_time, timedelta(hours=1)
            )
            link = path(i) if path else f"/bad/articles/{key}/{i}.html"
            result.append(
                make_entry(self.seed, key, i, published, updated, link, guid(i) if guid else None)
            )
        return result

    def channel(self, title: str, base: str, self_path: str, **extra: Any) -> Channel:
        """Channel data for a misbehaving feed."""
        return Channel(
            title=title,
            home_url=f"{base}/bad/",
            self_url=f"{base}{self_path}",
            description=f"{BAD_SITE}: {title}",
            language="en",
            updated=self.base_time,
            tz=self.base_time.tzinfo or UTC,
            feed_id=f"tag:sitrep.test,2025:bad{self_path}",
            **extra,
        )

    def simple_feed(self, key: str, title: str, count: int, base: str, self_path: str) -> bytes:
        """A well-formed RSS feed of ``count`` entries linking ``/bad/articles/{key}/``."""
        items = [Item(e, f"{base}{e.path}") for e in self.entries(key, count)]
        return render(self.channel(title, base, self_path), items, atom=False)

    def cached(self, name: str, base: str, build: Callable[[], bytes]) -> Body:
        """``build()`` through the body cache, keyed by misbehaviour and address."""
        key = ("bad", name, base)
        body = self.state.bodies.get(key)
        if body is None:
            body = self.state.bodies.put(key, Body(build()))
        return body

    def validators_for(self, body: Body) -> Validators:
        """Content-hash validators with the base time as Last-Modified."""
        return Validators.of(short_hash(body.raw, size=10), self.base_time)

    def feed_handler(
        self,
        name: str,
        build: Callable[[str, str], bytes],
        content_type: str = RSS_TYPE,
        validators: bool = True,
    ) -> Handler:
        """A handler serving ``build(base, path)`` with (optional) conditional GET."""

        async def handler(request: web.Request) -> web.StreamResponse:
            base = base_url(request)
            body = self.cached(name, base, lambda: build(base, request.path))
            if not validators:
                return body_response(request, body, content_type)
            checks = self.validators_for(body)
            if is_not_modified(request, checks):
                return not_modified_response(request, checks)
            return body_response(request, body, content_type, checks)

        handler.__doc__ = f"``GET /bad/{name}``"
        return handler

    # -- feed bodies -----------------------------------------------------------------

    def malformed(self, base: str, path: str) -> bytes:
        """Three good items, a bare ampersand, a mismatched tag, then a truncated item.

        Entries are newest first, so the good ones are indexes 5, 4, 3 and the broken
        ones 2, 1, 0 (each with its own GUID and article).
        """
        channel = self.channel("Malformed & Co", base, path)
        entries = self.entries("malformed", 6)
        good = [rss_item(Item(e, f"{base}{e.path}"), channel) for e in entries[:3]]
        bare_amp = (
            "<item>\n<title>AT&T and Procter & Gamble sign deal</title>\n"
            f"<link>{base}/bad/articles/malformed/2.html?a=1&b=2</link>\n"
            '<guid isPermaLink="false">tag:sitrep.test,2025:malformed/2</guid>\n'
            "</item>\n"
        )
        mismatched = (
            "<item>\n<title>Unclosed <b>bold headline</title>\n"
            f"<link>{base}/bad/articles/malformed/1.html</link>\n"
            "<description>Text with <i>an unclosed italic</description>\n"
            '<guid isPermaLink="false">tag:sitrep.test,2025:malformed/1</guid>\n'
            "</item>\n"
        )
        truncated = (
            f"<item>\n<title>{escape(entries[5].title)}</title>\n"
            f"<link>{base}/bad/articles/malformed/0.html</link>\n<descrip"
        )
        text = rss_head(channel) + "".join(good) + bare_amp + mismatched + truncated
        # The bytes are truncated mid-element on purpose: no </channel></rss>.
        return text.encode("utf-8")

    def latin1(self, base: str, path: str) -> bytes:
        """Accented text encoded as ISO-8859-1 under a UTF-8 declaration."""
        people = ("José Müller", "Françoise Lefèvre", "Zoë Ångström", "Søren Kierkegård")
        titles = (
            "Café owners in Montréal protest new rules",
            "Über die Grenze: Zürich's budget débâcle",
            "Crème brûlée festival draws record crowds",
            "Señora Núñez elected mayor of São Tomé",
        )
        items = []
        for i, (who, title) in enumerate(zip(people, titles, strict=True)):
            items.append(
                "<item>\n"
                f"<title>{escape(title)}</title>\n"
                f"<link>{base}/bad/articles/latin1/{i}.html</link>\n"
                f"<description>{escape(who)} reports from the scene.</description>\n"
                f"<dc:creator>{escape(who)}</dc:creator>\n"
                f'<guid isPermaLink="false">tag:sitrep.test,2025:latin1/{i}</guid>\n'
                f"<pubDate>{format_datetime(self.base_time - timedelta(hours=i))}</pubDate>\n"
                "</item>\n"
            )
        channel = self.channel("Nouvelles du Québec – édition spéciale", base, path)
        text = rss_head(channel).replace("–", "-") + "".join(items) + rss_tail()
        return text.encode("iso-8859-1")

    def empty(self, base: str, path: str) -> bytes:
        """A channel without items."""
        return render(self.channel("Nothing to see", base, path), [], atom=False)

    def duplicate_guids(self, base: str, path: str) -> bytes:
        """Entries sharing GUIDs in groups (see :data:`DUPLICATE_GUID_GROUPS`)."""
        entries = self.entries(
            "duplicate-guids",
            len(DUPLICATE_GUID_GROUPS),
            guid=lambda i: f"tag:sitrep.test,2025:duplicate/{DUPLICATE_GUID_GROUPS[i]}",
        )
        items = [Item(e, f"{base}{e.path}") for e in entries]
        return render(self.channel("Déjà vu Daily", base, path), items, atom=False)

    def no_links(self, base: str, path: str) -> bytes:
        """Entries without links; the full text is in the feed instead."""
        entries = self.entries("no-links", 5, path=lambda i: None)
        items = [Item(e, None, content_html=f"<p>{escape(e.summary)}</p>") for e in entries]
        return render(self.channel("Linkless Ledger", base, path), items, atom=False)

    def relative_links(self, base: str, path: str) -> bytes:
        """RSS with every flavour of relative link (RSS has no xml:base)."""
        host = base.split("://", 1)[1]
        links = (
            "/bad/articles/relative/0.html",
            "articles/relative/1.html",
            "./articles/relative/2.html",
            "../bad/articles/relative/3.html",
            f"//{host}/bad/articles/relative/4.html",
        )
        entries = self.entries("relative", len(links))
        items = [Item(e, links[e.index]) for e in entries]
        return render(self.channel("Relative Times", base, path), items, atom=False)

    def relative_links_atom(self, base: str, path: str) -> bytes:
        """Atom with a relative xml:base on the feed and a nested one on one entry."""
        entries = self.entries("relative", 4)
        items = [
            Item(e, "1.html", xml_base="relative/")
            if e.index == 1
            else Item(e, f"relative/{e.index}.html")
            for e in entries
        ]
        channel = self.channel("Relative Times (Atom)", base, path, xml_base="/bad/articles/")
        return render(channel, items, atom=True)

    def redirect_target(self, base: str, path: str) -> bytes:
        """The good feed at the end of the redirect chain."""
        return self.simple_feed("redirect-target", "Arrived Safely", 5, base, path)

    def pdf_feed(self, base: str, path: str) -> bytes:
        """One entry linking to a PDF, with a matching enclosure."""
        entry = self.entries("pdf", 1, path=lambda i: "/bad/pdf-article.pdf")[0]
        pdf = self.pdf_bytes()
        enclosure = (
            f'<enclosure url="{base}/bad/pdf-article.pdf" length="{len(pdf)}" type="{PDF_TYPE}"/>\n'
        )
        items = [Item(entry, f"{base}/bad/pdf-article.pdf", extra=enclosure)]
        return render(self.channel("Annual Reports Weekly", base, path), items, atom=False)

    def article_404_feed(self, base: str, path: str) -> bytes:
        """Entries linking to articles that do not exist."""
        entries = self.entries("missing", 3, path=lambda i: f"/bad/missing/{i}.html")
        items = [Item(e, f"{base}{e.path}") for e in entries]
        return render(self.channel("Broken Links Bulletin", base, path), items, atom=False)

    def tracking_links(self, base: str, path: str) -> bytes:
        """Links with tracking parameters; one article linked twice."""
        entries = self.entries(
            "tracking",
            len(TRACKING_QUERIES),
            path=lambda i: "/bad/articles/tracking/{}.html?{}".format(*TRACKING_QUERIES[i]),
        )
        items = [Item(e, f"{base}{e.path}") for e in entries]
        return render(self.channel("Campaign Chronicle", base, path), items, atom=False)

    def robots_blocked(self, base: str, path: str) -> bytes:
        """Entries whose articles live under the robots-disallowed /private/."""
        entries = self.entries("private", 3, path=lambda i: f"/private/articles/{i}.html")
        items = [Item(e, f"{base}{e.path}") for e in entries]
        return render(self.channel("Members Only", base, path), items, atom=False)

    def bom(self, base: str, path: str) -> bytes:
        """A feed starting with a UTF-8 byte order mark."""
        return b"\xef\xbb\xbf" + self.simple_feed("bom", "Byte Order Daily", 3, base, path)

    def bad_dates(self, base: str, path: str) -> bytes:
        """Dates a poller must survive: missing, garbage, far future, ISO instead of RFC 822."""
        entries = self.entries("bad-dates", 4)
        future = self.base_time + timedelta(days=3650)
        variants: dict[int, Item] = {
            3: Item(entries[0], f"{base}{entries[0].path}", omit_date=True),
            2: Item(entries[1], f"{base}{entries[1].path}", date_text="yesterday-ish, 25:61"),
            1: Item(entries[2], f"{base}{entries[2].path}", date_text=format_datetime(future)),
            0: Item(
                entries[3], f"{base}{entries[3].path}", date_text=entries[3].published.isoformat()
            ),
        }
        items = [variants[e.index] for e in entries]
        return render(self.channel("Calendar Confusion", base, path), items, atom=False)

    def pdf_bytes(self) -> bytes:
        """The PDF served at /bad/pdf-article.pdf."""
        return pdf_document(
            "Annual Report on Regional Infrastructure",
            [
                "This document is a PDF, not an HTML article.",
                "A poller should record it as a non-HTML resource, not extract it as a page.",
                "Generated by the sitrep feed fixture server.",
            ],
        )

    # -- non-feed handlers -----------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        """``GET /bad/``: every misbehaviour, as JSON."""
        return web.json_response({"misbehaviours": index_json()})

    async def html_instead_of_feed(self, request: web.Request) -> web.Response:
        """``GET /bad/html-instead-of-feed``: 200 text/html."""
        body = self.cached(
            "html", base_url(request), lambda: html_not_a_feed("/bad/redirect-target.xml")
        )
        return body_response(request, body, HTML_TYPE)

    async def redirect_loop(self, request: web.Request) -> web.Response:
        """``GET /bad/redirect-loop``: 302 to B."""
        raise web.HTTPFound("/bad/redirect-loop-b")

    async def redirect_loop_b(self, request: web.Request) -> web.Response:
        """``GET /bad/redirect-loop-b``: 302 back to A."""
        raise web.HTTPFound("/bad/redirect-loop")

    async def redirect_self(self, request: web.Request) -> web.Response:
        """``GET /bad/redirect-self``: 302 to itself."""
        raise web.HTTPFound(f"{base_url(request)}/bad/redirect-self")

    async def redirect_ok(self, request: web.Request) -> web.Response:
        """``GET /bad/redirect-ok[/hop/{k}]``: three 301s ending at a good feed."""
        hop = int(request.match_info.get("hop", "0"))
        base = base_url(request)
        if hop == 0:
            raise web.HTTPMovedPermanently(f"{base}/bad/redirect-ok/hop/1")
        if hop == 1:
            raise web.HTTPMovedPermanently("/bad/redirect-ok/hop/2")
        if hop == 2:
            raise web.HTTPMovedPermanently(f"{base}/bad/redirect-target.xml")
        return status_response(404)

    async def slow(self, request: web.Request) -> web.StreamResponse:
        """``GET /bad/slow?delay=S&mode=headers|sleep|trickle``: a stalling server."""
        delay = _query_number(request, "delay", DEFAULT_SLOW_DELAY_S, MAX_SLOW_DELAY_S)
        mode = request.query.get("mode", "headers")
        body = self.cached(
            "redirect-target",
            base_url(request),
            lambda: self.redirect_target(base_url(request), "/bad/redirect-target.xml"),
        ).raw
        if mode == "sleep":
            await asyncio.sleep(delay)
            return web.Response(body=body, headers={"Content-Type": RSS_TYPE})
        if mode not in ("headers", "trickle"):
            raise web.HTTPBadRequest(text="mode must be headers, sleep or trickle")
        response = web.StreamResponse(headers={"Content-Type": RSS_TYPE})
        await response.prepare(request)  # sends the status line and headers now
        try:
            if mode == "headers":
                await asyncio.sleep(delay)
                await response.write(body)
            else:
                pieces = 20
                step = -(-len(body) // pieces)
                for start in range(0, len(body), step):
                    await asyncio.sleep(delay / pieces)
                    await response.write(body[start : start + step])
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client gave up, which is what a good poller does
        return response

    def status_handler(self, status: int, default_retry_after: int | None) -> Handler:
        """A handler answering ``status`` with an HTML page and maybe Retry-After."""

        async def handler(request: web.Request) -> web.Response:
            if default_retry_after is None:
                return status_response(status)
            retry = int(_query_number(request, "retry_after", default_retry_after, 86_400))
            response = status_response(status, retry)
            if request.query.get("format") == "date":
                when = datetime.now(UTC) + timedelta(seconds=retry)
                response.headers["Retry-After"] = http_date(when)
            return response

        handler.__doc__ = f"``GET /bad/{status}``"
        return handler

    def huge_body_handler(self, with_length: bool) -> Handler:
        """A handler streaming ``?bytes=`` (default 50 MiB) of HTML."""

        async def handler(request: web.Request) -> web.StreamResponse:
            total = int(_query_number(request, "bytes", HUGE_BODY_BYTES, MAX_HUGE_BODY_BYTES))
            prefix = b"<!DOCTYPE html>\n<html><head><title>Endless</title></head><body>\n"
            suffix = b"</body></html>\n"
            response = web.StreamResponse(headers={"Content-Type": HTML_TYPE})
            if with_length:
                response.content_length = total
            await response.prepare(request)
            if request.method == "HEAD":
                return response
            try:
                await self._stream_filler(response, total, prefix, suffix)
                await response.write_eof()
            except ConnectionResetError:
                pass  # a poller that stops reading is the point of this endpoint
            return response

        return handler

    async def _stream_filler(
        self, response: web.StreamResponse, total: int, prefix: bytes, suffix: bytes
    ) -> None:
        if total < len(prefix) + len(suffix):
            await response.write(huge_html_chunk(total))
            return
        await response.write(prefix)
        remaining = total - len(prefix) - len(suffix)
        chunk = self._huge_chunk
        while remaining > 0:
            piece = chunk if remaining >= len(chunk) else chunk[:remaining]
            await response.write(piece)
            remaining -= len(piece)
        await response.write(suffix)

    async def huge_feed(self, request: web.Request) -> web.StreamResponse:
        """``GET /bad/huge-feed.xml``: 10,000 entries, generated while streaming."""
        validators = Validators.of(
            short_hash(self.state.config.fingerprint, "huge-feed", size=10), self.base_time
        )
        if is_not_modified(request, validators):
            return not_modified_response(request, validators)
        base = base_url(request)
        channel = self.channel("The Neverending Story", base, request.path)
        coding = choose_encoding(request.headers.get("Accept-Encoding", ""))
        response = web.StreamResponse(
            headers={
                "Content-Type": RSS_TYPE,
                "ETag": f"W/{validators.etag}" if coding else validators.etag,
                "Last-Modified": validators.last_modified,
            }
        )
        if coding:
            response.enable_compression(ContentCoding(coding))
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        try:
            await response.write(rss_head(channel).encode())
            batch: list[str] = []
            last = HUGE_FEED_ENTRIES - 1
            for i in range(last, -1, -1):
                published, updated = entry_times(
                    self.seed, "huge", i, last, self.base_time, timedelta(minutes=5)
                )
                entry = make_entry(
                    self.seed, "huge", i, published, updated, f"/bad/articles/huge/{i}.html"
                )
                batch.append(rss_item(Item(entry, f"{base}{entry.path}"), channel))
                if len(batch) == 250:
                    await response.write("".join(batch).encode())
                    batch.clear()
            batch.append(rss_tail())
            await response.write("".join(batch).encode())
            await response.write_eof()
        except ConnectionResetError:
            pass
        return response

    async def pdf_article(self, request: web.Request) -> web.Response:
        """``GET /bad/pdf-article.pdf``: a real PDF."""
        body = self.cached("pdf", "", self.pdf_bytes)
        validators = self.validators_for(body)
        if is_not_modified(request, validators):
            return not_modified_response(request, validators)
        return body_response(request, body, PDF_TYPE, validators, compress=False)

    async def changing_etag(self, request: web.Request) -> web.Response:
        """``GET /bad/changing-etag.xml``: fresh validators on every request, same bytes."""
        base = base_url(request)
        body = self.cached(
            "changing-etag",
            base,
            lambda: self.simple_feed("changing-etag", "Groundhog Gazette", 5, base, request.path),
        )
        self._changing += 1
        modified = self.base_time + timedelta(seconds=self._changing)
        validators = Validators.of(f"v{self._changing}", modified)
        if is_not_modified(request, validators):  # cannot happen for a past ETag
            return not_modified_response(request, validators)
        return body_response(request, body, RSS_TYPE, validators)

    async def missing_article(self, request: web.Request) -> web.Response:
        """``GET /bad/missing/{i}.html``: always 404."""
        return status_response(404)

    def _article(self, request: web.Request, key: str, canonical_path: str) -> web.Response:
        i = int(request.match_info["i"])
        base = base_url(request)
        # The feed linking here is not known from the URL, so the page is dated at the
        # base time; title, summary and authors match the feed's entry ``i`` of ``key``.
        published, updated = entry_times(self.seed, key, i, i, self.base_time, timedelta(hours=1))
        entry = make_entry(self.seed, key, i, published, updated, canonical_path)
        validators = Validators.of(short_hash(self.seed, "bad-article", key, i), updated)
        if is_not_modified(request, validators):
            return not_modified_response(request, validators)
        body = self.cached(
            f"article:{key}:{i}",
            base,
            lambda: article_html(
                self.seed,
                entry,
                Site(BAD_SITE, f"{base}/bad/", f"{base}/bad/redirect-target.xml"),
                f"{base}{canonical_path}",
            ),
        )
        return body_response(request, body, HTML_TYPE, validators)

    async def bad_article(self, request: web.Request) -> web.Response:
        """``GET /bad/articles/{slug}/{i}.html``: articles linked from misbehaving feeds.

        Query strings (tracking parameters) are ignored; the canonical link has none.
        """
        slug = request.match_info["slug"]
        return self._article(request, slug, f"/bad/articles/{slug}/{request.match_info['i']}.html")

    async def private_article(self, request: web.Request) -> web.Response:
        """``GET /private/articles/{i}.html``: served, but disallowed by robots.txt."""
        return self._article(
            request, "private", f"/private/articles/{request.match_info['i']}.html"
        )

    # -- routing ---------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """Register every ``/bad/`` and ``/private/`` route."""
        add = self.state.add_get
        add(app, "/bad/", self.index, "bad:index", "bad", None)
        feeds: dict[str, tuple[Callable[[str, str], bytes], str, bool]] = {
            "malformed.xml": (self.malformed, RSS_TYPE, True),
            "latin1-declared-utf8.xml": (self.latin1, RSS_TYPE, True),
            "empty.xml": (self.empty, RSS_TYPE, True),
            "duplicate-guids.xml": (self.duplicate_guids, RSS_TYPE, True),
            "no-links.xml": (self.no_links, RSS_TYPE, True),
            "relative-links.xml": (self.relative_links, RSS_TYPE, True),
            "relative-links-atom.xml": (
                self.relative_links_atom,
                "application/atom+xml; charset=utf-8",
                True,
            ),
            "redirect-target.xml": (self.redirect_target, RSS_TYPE, True),
            "pdf-feed.xml": (self.pdf_feed, RSS_TYPE, True),
            "wrong-content-type.xml": (
                lambda base, path: self.simple_feed("wrong-type", "Plain Text Post", 5, base, path),
                "text/plain; charset=utf-8",
                True,
            ),
            "article-404-feed.xml": (self.article_404_feed, RSS_TYPE, True),
            "tracking-links.xml": (self.tracking_links, RSS_TYPE, True),
            "robots-blocked-feed.xml": (self.robots_blocked, RSS_TYPE, True),
            "no-validators.xml": (
                lambda base, path: self.simple_feed(
                    "no-validators", "Validator-free Voice", 5, base, path
                ),
                RSS_TYPE,
                False,
            ),
            "bom.xml": (self.bom, RSS_TYPE, True),
            "bad-dates.xml": (self.bad_dates, RSS_TYPE, True),
        }
        for filename, (build, content_type, with_validators) in feeds.items():
            name = filename.removesuffix(".xml")
            handler = self.feed_handler(name, build, content_type, with_validators)
            add(app, f"/bad/{filename}", handler, f"bad:{name}", "bad", "feed")
        add(app, "/bad/huge-feed.xml", self.huge_feed, "bad:huge-feed", "bad", "feed")
        add(app, "/bad/changing-etag.xml", self.changing_etag, "bad:changing-etag", "bad", "feed")
        add(app, "/bad/slow", self.slow, "bad:slow", "bad", "feed")
        add(app, "/bad/html-instead-of-feed", self.html_instead_of_feed, "bad:html", "bad", "feed")
        add(app, "/bad/redirect-loop", self.redirect_loop, "bad:redirect-loop", "bad", "feed")
        add(app, "/bad/redirect-loop-b", self.redirect_loop_b, "bad:redirect-loop-b", "bad", "feed")
        add(app, "/bad/redirect-self", self.redirect_self, "bad:redirect-self", "bad", "feed")
        add(app, "/bad/redirect-ok", self.redirect_ok, "bad:redirect-ok", "bad", "feed")
        add(
            app,
            "/bad/redirect-ok/hop/{hop:\\d+}",
            self.redirect_ok,
            "bad:redirect-hop",
            "bad",
            "feed",
        )
        for status, retry in ((404, None), (410, None), (429, 120), (503, 300)):
            handler = self.status_handler(status, retry)
            add(app, f"/bad/{status}", handler, f"bad:{status}", "bad", "feed")
        add(app, "/bad/huge-body", self.huge_body_handler(False), "bad:huge-body", "bad", None)
        add(
            app,
            "/bad/huge-body-length",
            self.huge_body_handler(True),
            "bad:huge-body-length",
            "bad",
            None,
        )
        add(app, "/bad/pdf-article.pdf", self.pdf_article, "bad:pdf-article", "bad", "article")
        add(
            app, "/bad/missing/{i:\\d+}.html", self.missing_article, "bad:missing", "bad", "article"
        )
        add(
            app,
            "/bad/articles/{slug:[a-z0-9-]+}/{i:\\d{1,6}}.html",
            self.bad_article,
            "bad:article",
            "bad",
            "article",
        )
        add(
            app,
            "/private/articles/{i:\\d{1,6}}.html",
            self.private_article,
            "private:article",
            "private",
            "article",
        )
