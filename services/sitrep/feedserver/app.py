"""The aiohttp application: routes, statistics middleware and the admin API.

The admin API (``/admin/...``) lets a test that runs the server in another process do
what in-process tests do through :class:`~sitrep.feedserver.server.FeedServer`: add
entries, make feeds fail, reset, and read request statistics.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler as AiohttpHandler
from aiohttp.typedefs import Middleware

from .config import FeedServerConfig
from .demo import DemoSites, load_manifest
from .generated import GeneratedFeeds, base_url
from .http import is_conditional
from .misbehaviour import Misbehaviours
from .pages import ROBOTS_TXT
from .state import ServerState
from .textgen import Entry

STATE_KEY = web.AppKey("sitrep.feedserver.state", ServerState)


def entry_json(entry: Entry, base: str) -> dict[str, Any]:
    """What the admin API tells about an entry."""
    return {
        "index": entry.index,
        "guid": entry.guid,
        "title": entry.title,
        "link": f"{base}{entry.path}" if entry.path else None,
        "published": entry.published.isoformat(),
    }


def _stats_middleware(state: ServerState) -> Middleware:
    """Count every request by route kind, status and (for feeds/articles) path.

    Counting happens here rather than in each handler so that nothing, not even a 404
    for an unknown path or a redirect raised as an exception, escapes the statistics.
    """
    kinds = state.route_kinds
    stats = state.stats

    def record(request: web.Request, status: int) -> None:
        name = request.match_info.route.name
        if name is not None and name.startswith("admin:"):
            stats.admin += 1
            return
        kind, track = kinds.get(name or "", ("other", None))
        stats.record(
            kind,
            track,
            request.path,
            status,
            is_conditional(request),
            request.headers.get("User-Agent", ""),
        )

    @web.middleware
    async def middleware(request: web.Request, handler: AiohttpHandler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            record(request, exc.status)
            raise
        except Exception:
            record(request, 500)
            raise
        record(request, response.status)
        return response

    return middleware


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


def _int_field(data: dict[str, Any], name: str, default: int | None) -> int | None:
    value = data.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise web.HTTPBadRequest(text=f"'{name}' must be an integer")
    return value


class Admin:
    """``/admin/`` handlers and the small informational endpoints."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    def _feed(self, request: web.Request) -> int:
        n = int(request.match_info["n"])
        if not self.state.store.exists(n):
            raise web.HTTPNotFound(text=f"no feed {n}")
        return n

    async def add_entries(self, request: web.Request) -> web.Response:
        """``POST /admin/feeds/{n}/entries`` [{"count": k}]: publish new top entries."""
        n = self._feed(request)
        data = await _json_body(request)
        count = _int_field(data, "count", 1) or 0
        try:
            added = self.state.store.add_entries(n, count)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        validators = self.state.store.validators(n)
        base = base_url(request)
        return web.json_response(
            {
                "feed": n,
                "added": [entry_json(e, base) for e in added],
                "entries": self.state.store.count(n),
                "etag": validators.etag,
                "last_modified": validators.last_modified,
            },
            status=201,
        )

    async def set_status(self, request: web.Request) -> web.Response:
        """``POST /admin/feeds/{n}/status`` {"status": 410[, "retry_after": s]}."""
        n = self._feed(request)
        data = await _json_body(request)
        status = _int_field(data, "status", None)
        if status is None:
            raise web.HTTPBadRequest(text="'status' is required")
        retry_after = _int_field(data, "retry_after", None)
        try:
            self.state.store.set_status(n, status, retry_after)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        return web.json_response({"feed": n, "status": status, "retry_after": retry_after})

    async def reset(self, request: web.Request) -> web.Response:
        """``POST /admin/reset``: undo all mutations and zero the statistics."""
        self.state.reset()
        return web.json_response({"reset": True})

    async def reset_stats(self, request: web.Request) -> web.Response:
        """``POST /admin/stats/reset``: zero the statistics only."""
        self.state.stats.reset()
        return web.json_response({"reset": True})

    async def stats(self, request: web.Request) -> web.Response:
        """``GET /admin/stats[?per_path=0]``: request counters as JSON."""
        per_path = request.query.get("per_path", "1") not in ("0", "false", "no")
        return web.json_response(self.state.stats.snapshot(per_path=per_path))

    async def robots(self, request: web.Request) -> web.Response:
        """``GET /robots.txt``: disallows ``/private/``."""
        return web.Response(body=ROBOTS_TXT, content_type="text/plain", charset="utf-8")

    async def root(self, request: web.Request) -> web.Response:
        """``GET /``: what this server simulates, and where."""
        config = self.state.config
        base = base_url(request)
        return web.json_response(
            {
                "server": "sitrep feedserver",
                "feeds": config.feeds,
                "entries": config.entries,
                "seed": config.seed,
                "atom_share": config.atom_share,
                "base_time": config.base_time.isoformat(),
                "demo": config.demo_manifest is not None,
                "endpoints": {
                    "feed": f"{base}/feeds/{{n}}.xml",
                    "stale_feed": f"{base}/stale/{{n}}.xml",
                    "article": f"{base}/articles/{{n}}/{{i}}.html",
                    "misbehaviours": f"{base}/bad/",
                    "demo_sites": f"{base}/sites/",
                    "stats": f"{base}/admin/stats",
                },
            }
        )

    def add_routes(self, app: web.Application) -> None:
        """Register the admin, robots and root routes."""
        router = app.router
        router.add_post("/admin/feeds/{n:\\d+}/entries", self.add_entries, name="admin:add")
        router.add_post("/admin/feeds/{n:\\d+}/status", self.set_status, name="admin:status")
        router.add_post("/admin/reset", self.reset, name="admin:reset")
        router.add_post("/admin/stats/reset", self.reset_stats, name="admin:reset-stats")
        router.add_get("/admin/stats", self.stats, name="admin:stats")
        self.state.add_get(app, "/robots.txt", self.robots, "robots", "robots", None)
        self.state.add_get(app, "/", self.root, "root", "other", None)


def build_app(config: FeedServerConfig) -> web.Application:
    """The feed fixture server as an :class:`aiohttp.web.Application`.

    Raises :class:`~sitrep.feedserver.demo.ManifestError` if ``config.demo_manifest`` is
    set but cannot be loaded, so a typo fails at start-up rather than as 404s later.
    """
    state = ServerState(config)
    app = web.Application(middlewares=[_stats_middleware(state)])
    app[STATE_KEY] = state
    GeneratedFeeds(state).add_routes(app)
    Misbehaviours(state).add_routes(app)
    if config.demo_manifest is not None:
        DemoSites(state, load_manifest(config.demo_manifest)).add_routes(app)
    Admin(state).add_routes(app)
    return app
