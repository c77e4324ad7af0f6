"""Handlers for the generated feeds, their stale twins and their article pages.

``/feeds/{n}.xml`` is the hot path: a 304 costs a dict lookup and a string comparison.
Bodies are rendered only on a miss of the bounded body cache.
"""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web

from .http import (
    ATOM_TYPE,
    HTML_TYPE,
    RSS_TYPE,
    Body,
    Validators,
    body_response,
    is_not_modified,
    not_modified_response,
)
from .pages import Site, article_html, error_html, index_html, lead_html
from .render import Channel, Item, render
from .state import ServerState
from .textgen import short_hash


def base_url(request: web.BaseRequest) -> str:
    """Scheme and authority the client used, so links point back at this server."""
    return f"{request.scheme}://{request.host}"


def status_response(status: int, retry_after: int | None = None) -> web.Response:
    """An HTML error page with ``status`` and, if given, a Retry-After in seconds."""
    headers = {"Content-Type": HTML_TYPE}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return web.Response(
        status=status, body=error_html(status, HTTPStatus(status).phrase), headers=headers
    )


def _feed_number(request: web.Request, state: ServerState) -> int:
    n = int(request.match_info["n"])
    if not state.store.exists(n):
        raise web.HTTPNotFound(text=error_html(404, "Not Found").decode(), content_type="text/html")
    return n


class GeneratedFeeds:
    """``/feeds/``, ``/stale/`` and ``/articles/`` handlers over one :class:`ServerState`."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def site(self, n: int, base: str) -> Site:
        """The site of feed ``n`` as seen from ``base``."""
        meta = self.state.store.meta(n)
        return Site(
            name=meta.title,
            home_url=f"{base}/articles/{n}/",
            feed_url=f"{base}/feeds/{n}.xml",
            language=meta.language,
        )

    def render_feed(self, n: int, base: str, self_path: str, validators: Validators) -> Body:
        """Render feed ``n`` (through the body cache)."""
        store = self.state.store
        key = ("feed", n, store.count(n), base, self_path)
        cached = self.state.bodies.get(key)
        if cached is not None:
            return cached
        meta = store.meta(n)
        seed = self.state.config.seed
        entries = store.entries(n)
        channel = Channel(
            title=meta.title,
            home_url=f"{base}/articles/{n}/",
            self_url=f"{base}{self_path}",
            description=meta.description,
            language=meta.language,
            updated=entries[0].updated if entries else self.state.config.base_time,
            tz=meta.tz,
            feed_id=f"tag:sitrep.test,2025:feed/{n}",
            html_summary=meta.html_summary,
        )
        items = [
            Item(
                entry=e,
                link=f"{base}{e.path}",
                content_html=lead_html(seed, e.key, e.index) if meta.full_content else None,
            )
            for e in entries
        ]
        return self.state.bodies.put(key, Body(render(channel, items, meta.atom)))

    def _answer(self, request: web.Request, n: int, validators: Validators) -> web.Response:
        failure = self.state.store.failure(n)
        if failure is not None:
            assert failure.status is not None
            return status_response(failure.status, failure.retry_after)
        if is_not_modified(request, validators):
            return not_modified_response(request, validators)
        base = base_url(request)
        body = self.render_feed(n, base, request.path, validators)
        content_type = ATOM_TYPE if self.state.store.meta(n).atom else RSS_TYPE
        return body_response(request, body, content_type, validators)

    async def feed(self, request: web.Request) -> web.Response:
        """``GET /feeds/{n}.xml``: RSS 2.0 or Atom, with working validators."""
        n = _feed_number(request, self.state)
        return self._answer(request, n, self.state.store.validators(n))

    async def stale(self, request: web.Request) -> web.Response:
        """``GET /stale/{n}.xml``: current content, but the validators of the start.

        A poller that only ever sends conditional requests never sees entries added to
        this feed; it has to fetch unconditionally now and then and compare a body hash.
        """
        n = _feed_number(request, self.state)
        return self._answer(request, n, self.state.store.stale_validators(n))

    async def article(self, request: web.Request) -> web.Response:
        """``GET /articles/{n}/{i}.html``: the article page of entry ``i`` of feed ``n``."""
        n = _feed_number(request, self.state)
        store = self.state.store
        i = int(request.match_info["i"])
        count = store.count(n)
        if i >= count:
            return status_response(404)
        entry = store.entry(n, i)
        validators = Validators.of(
            short_hash(self.state.config.fingerprint, "article", n, i), entry.updated
        )
        if is_not_modified(request, validators):
            return not_modified_response(request, validators)
        base = base_url(request)
        key = ("article", n, i, base)
        body = self.state.bodies.get(key)
        if body is None:
            neighbours = [j for j in (i + 1, i - 1, i + 2, i - 2) if 0 <= j < count]
            related = [
                (f"{base}/articles/{n}/{j}.html", store.entry(n, j).title) for j in neighbours
            ]
            html = article_html(
                self.state.config.seed,
                entry,
                self.site(n, base),
                f"{base}{entry.path}",
                related,
            )
            body = self.state.bodies.put(key, Body(html))
        return body_response(request, body, HTML_TYPE, validators)

    async def section(self, request: web.Request) -> web.Response:
        """``GET /articles/{n}/``: the site's front page, linking every article."""
        n = _feed_number(request, self.state)
        base = base_url(request)
        links = [(f"{base}{e.path}", e.title) for e in self.state.store.entries(n)]
        return body_response(request, Body(index_html(self.site(n, base), links)), HTML_TYPE)

    def add_routes(self, app: web.Application) -> None:
        """Register this module's routes."""
        add = self.state.add_get
        add(app, "/feeds/{n:\\d+}.xml", self.feed, "feed", "feeds", "feed")
        add(app, "/stale/{n:\\d+}.xml", self.stale, "stale", "stale", "feed")
        add(app, "/articles/{n:\\d+}/{i:\\d+}.html", self.article, "article", "articles", "article")
        add(app, "/articles/{n:\\d+}/", self.section, "section", "articles", None)
