"""Demo mode: real saved pages from a YAML manifest, served as small news sites.

The manifest (see :func:`load_manifest`) lists sites and articles; every site gets an RSS
feed at ``/sites/{site}/feed.xml`` with the manifest's titles, summaries, dates, authors
and tags, and every article's saved HTML file is served at ``/sites/{site}/{slug}.html``.
Pages are read from disk when first asked for, so a large manifest starts instantly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from .generated import base_url, status_response
from .http import RSS_TYPE, Body, Validators, conditional_response
from .render import Channel, Item, render
from .state import ServerState
from .textgen import Entry, short_hash

log = logging.getLogger(__name__)


class ManifestError(ValueError):
    """The demo manifest is missing, unreadable or malformed."""


@dataclass(frozen=True, slots=True)
class DemoSite:
    """A site of the manifest."""

    key: str
    name: str
    path: str


@dataclass(frozen=True, slots=True)
class DemoArticle:
    """An article of the manifest; ``file`` is resolved against the manifest's folder."""

    slug: str
    file: Path
    site: str
    title: str
    summary: str
    published: datetime
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    language: str


@dataclass(frozen=True, slots=True)
class DemoManifest:
    """The parsed manifest; ``digest`` changes whenever the manifest file does."""

    sites: dict[str, DemoSite]
    articles: tuple[DemoArticle, ...]
    digest: str

    def site_articles(self, key: str) -> list[DemoArticle]:
        """The site's articles, newest first."""
        chosen = [a for a in self.articles if a.site == key]
        return sorted(chosen, key=lambda a: (a.published, a.slug), reverse=True)


def _text(item: dict[str, Any], name: str, where: str, default: str | None = None) -> str:
    value = item.get(name, default)
    if value is None:
        raise ManifestError(f"{where}: missing '{name}'")
    if not isinstance(value, str | int | float):
        raise ManifestError(f"{where}: '{name}' must be a string")
    return str(value)


def _strings(item: dict[str, Any], name: str, where: str) -> tuple[str, ...]:
    value = item.get(name) or []
    if not isinstance(value, list):
        raise ManifestError(f"{where}: '{name}' must be a list")
    return tuple(str(v) for v in value)


def _published(value: object, where: str) -> datetime:
    # YAML turns unquoted timestamps into datetime (or date) objects itself.
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ManifestError(f"{where}: 'published' is not ISO 8601: {value!r}") from exc
    else:
        raise ManifestError(f"{where}: missing or invalid 'published'")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def load_manifest(path: Path) -> DemoManifest:
    """Parse and validate the demo manifest at ``path``.

    Raises :class:`ManifestError` with the offending entry named. Article files are not
    opened here (a missing page answers 404 and is logged), only their paths resolved.
    A site's ``path`` is kept for reference; routes are always ``/sites/{key}/...`` so
    that URLs stay predictable whatever the manifest says.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ManifestError(f"cannot read demo manifest {path}: {exc}") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ManifestError(f"demo manifest {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"demo manifest {path} must be a mapping with 'sites' and 'articles'")
    sites: dict[str, DemoSite] = {}
    for number, item in enumerate(data.get("sites") or []):
        where = f"sites[{number}]"
        if not isinstance(item, dict):
            raise ManifestError(f"{where} must be a mapping")
        key = _text(item, "key", where)
        if not key.replace("-", "").replace("_", "").isalnum():
            raise ManifestError(f"{where}: key {key!r} must be letters, digits, '-' or '_'")
        if key in sites:
            raise ManifestError(f"{where}: duplicate site key {key!r}")
        sites[key] = DemoSite(
            key=key,
            name=_text(item, "name", where, key),
            path=_text(item, "path", where, f"/sites/{key}/"),
        )
    articles: list[DemoArticle] = []
    seen: set[tuple[str, str]] = set()
    for number, item in enumerate(data.get("articles") or []):
        where = f"articles[{number}]"
        if not isinstance(item, dict):
            raise ManifestError(f"{where} must be a mapping")
        slug = _text(item, "slug", where)
        site = _text(item, "site", where)
        if site not in sites:
            raise ManifestError(f"{where}: unknown site {site!r}")
        if "/" in slug or slug.startswith("."):
            raise ManifestError(f"{where}: slug {slug!r} must not contain '/'")
        if (site, slug) in seen:
            raise ManifestError(f"{where}: duplicate slug {slug!r} in site {site!r}")
        seen.add((site, slug))
        articles.append(
            DemoArticle(
                slug=slug,
                file=(path.parent / _text(item, "file", where)).resolve(),
                site=site,
                title=_text(item, "title", where, slug),
                summary=_text(item, "summary", where, ""),
                published=_published(item.get("published"), where),
                authors=_strings(item, "authors", where),
                tags=_strings(item, "tags", where),
                language=_text(item, "language", where, "en"),
            )
        )
    return DemoManifest(sites, tuple(articles), short_hash(raw, size=10))


class DemoSites:
    """Handlers for ``/sites/``."""

    def __init__(self, state: ServerState, manifest: DemoManifest) -> None:
        self.state = state
        self.manifest = manifest
        self._types: dict[tuple[str, str], str] = {}

    def _site(self, request: web.Request) -> DemoSite:
        site = self.manifest.sites.get(request.match_info["site"])
        if site is None:
            raise web.HTTPNotFound(text="no such demo site")
        return site

    async def index(self, request: web.Request) -> web.Response:
        """``GET /sites/``: the demo sites and their feed URLs, as JSON."""
        base = base_url(request)
        sites = [
            {
                "key": s.key,
                "name": s.name,
                "feed": f"{base}/sites/{s.key}/feed.xml",
                "articles": len(self.manifest.site_articles(s.key)),
            }
            for s in self.manifest.sites.values()
        ]
        return web.json_response({"sites": sites})

    def _render(self, site: DemoSite, base: str, articles: list[DemoArticle]) -> bytes:
        updated = articles[0].published if articles else self.state.config.base_time
        language = articles[0].language if articles else "en"
        channel = Channel(
            title=site.name,
            home_url=f"{base}/sites/{site.key}/",
            self_url=f"{base}/sites/{site.key}/feed.xml",
            description=f"{site.name} (sitrep demo)",
            language=language,
            updated=updated,
            tz=UTC,
            feed_id=f"tag:sitrep.test,2025:demo/{site.key}",
        )
        items = [
            Item(
                Entry(
                    key=f"demo-{site.key}",
                    index=number,
                    guid=f"tag:sitrep.test,2025:demo/{site.key}/{a.slug}",
                    title=a.title,
                    summary=a.summary,
                    published=a.published,
                    updated=a.published,
                    authors=a.authors,
                    categories=a.tags,
                    path=f"/sites/{site.key}/{a.slug}.html",
                ),
                f"{base}/sites/{site.key}/{a.slug}.html",
            )
            for number, a in enumerate(articles)
        ]
        return render(channel, items, atom=False)

    async def feed(self, request: web.Request) -> web.Response:
        """``GET /sites/{site}/feed.xml``: RSS 2.0 of the site's manifest articles."""
        site = self._site(request)
        articles = self.manifest.site_articles(site.key)
        modified = articles[0].published if articles else self.state.config.base_time
        validators = Validators.of(short_hash(self.manifest.digest, site.key), modified)
        base = base_url(request)

        def build() -> Body:
            key = ("demo-feed", site.key, base)
            body = self.state.bodies.get(key)
            if body is None:
                body = self.state.bodies.put(key, Body(self._render(site, base, articles)))
            return body

        return conditional_response(request, build, RSS_TYPE, validators)

    async def page(self, request: web.Request) -> web.Response:
        """``GET /sites/{site}/{slug}.html``: the saved page, as it is on disk."""
        site = self._site(request)
        slug = request.match_info["slug"]
        article = next(
            (a for a in self.manifest.articles if a.site == site.key and a.slug == slug), None
        )
        if article is None:
            return status_response(404)
        key: tuple[str, str, str] = ("demo-page", site.key, slug)
        body = self.state.bodies.get(key)
        if body is None:
            try:
                raw = article.file.read_bytes()
            except OSError as exc:
                log.warning("demo page %s/%s unreadable: %s", site.key, slug, exc)
                return status_response(404)
            body = self.state.bodies.put(key, Body(raw))
        content_type = self._types.get(key[1:])
        if content_type is None:
            try:
                body.raw.decode("utf-8")
                content_type = "text/html; charset=utf-8"
            except UnicodeDecodeError:
                content_type = "text/html"  # let the client sniff the <meta charset>
            self._types[key[1:]] = content_type
        page = body
        validators = Validators.of(short_hash(page.raw, size=10), article.published)
        return conditional_response(request, lambda: page, content_type, validators)

    def add_routes(self, app: web.Application) -> None:
        """Register the ``/sites/`` routes."""
        add = self.state.add_get
        add(app, "/sites/", self.index, "demo:index", "demo_feeds", None)
        add(app, "/sites/{site}/feed.xml", self.feed, "demo:feed", "demo_feeds", "feed")
        add(app, "/sites/{site}/{slug}.html", self.page, "demo:page", "demo_pages", "article")
