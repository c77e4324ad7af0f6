"""Mutable server state: run-time feed mutations, request statistics and caches.

All state lives in one :class:`ServerState` per application and is only touched from the
event loop thread, so no locking is needed; in-process tests call the same methods the
admin endpoints call.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from aiohttp import web

from .config import FeedServerConfig
from .http import LRU, Body, Validators
from .textgen import Entry, FeedMeta, entry_times, feed_meta, make_entry, short_hash

#: Statuses a feed can be switched to at run time (200 switches it back to normal).
SETTABLE_STATUSES = frozenset({200, 404, 410, 429, 500, 503})

#: Request kinds counted in the statistics.
KINDS = (
    "feeds",
    "stale",
    "articles",
    "robots",
    "bad",
    "private",
    "demo_feeds",
    "demo_pages",
    "other",
)

Track = Literal["feed", "article"] | None
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class PathCounter:
    """Per-path counters of a feed-like resource, for politeness assertions."""

    requests: int = 0
    conditional: int = 0
    not_modified: int = 0
    ok: int = 0
    errors: int = 0
    first_at: float = 0.0
    last_at: float = 0.0
    last_monotonic: float = 0.0
    #: Smallest time between two consecutive requests for this path, in seconds.
    min_gap_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return {
            "requests": self.requests,
            "conditional": self.conditional,
            "not_modified": self.not_modified,
            "ok": self.ok,
            "errors": self.errors,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "min_gap_s": self.min_gap_s,
        }


class Stats:
    """Request counters: per kind, per status, per feed path and per article path.

    Admin requests are counted separately so that reading the statistics does not change
    them.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Zero every counter."""
        self.started = time.time()
        self.requests = 0
        self.admin = 0
        self.kinds: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.not_modified = 0
        self.conditional = 0
        self.per_feed: dict[str, PathCounter] = {}
        self.per_article: Counter[str] = Counter()
        self.user_agents: Counter[str] = Counter()

    def record(
        self,
        kind: str,
        track: Track,
        path: str,
        status: int,
        conditional: bool,
        user_agent: str,
    ) -> None:
        """Count one answered request."""
        self.requests += 1
        self.kinds[kind] += 1
        self.statuses[status] += 1
        self.user_agents[user_agent] += 1
        if status == 304:
            self.not_modified += 1
        if conditional:
            self.conditional += 1
        if track == "feed":
            counter = self.per_feed.get(path)
            now_wall = time.time()
            now = time.monotonic()
            if counter is None:
                counter = self.per_feed[path] = PathCounter(first_at=now_wall)
            else:
                gap = now - counter.last_monotonic
                if counter.min_gap_s is None or gap < counter.min_gap_s:
                    counter.min_gap_s = gap
            counter.last_at = now_wall
            counter.last_monotonic = now
            counter.requests += 1
            if conditional:
                counter.conditional += 1
            if status == 304:
                counter.not_modified += 1
            elif status < 400:
                counter.ok += 1
            else:
                counter.errors += 1
        elif track == "article":
            self.per_article[path] += 1

    def snapshot(self, per_path: bool = True) -> dict[str, Any]:
        """Everything as a JSON-ready dict; ``per_path=False`` leaves out the big maps."""
        data: dict[str, Any] = {
            "uptime_s": round(time.time() - self.started, 3),
            "requests": self.requests,
        }
        data.update({kind: self.kinds.get(kind, 0) for kind in KINDS})
        data.update(
            {
                "not_modified": self.not_modified,
                "conditional": self.conditional,
                "admin": self.admin,
                "statuses": {str(code): count for code, count in sorted(self.statuses.items())},
                "user_agents": dict(self.user_agents),
            }
        )
        if per_path:
            data["per_feed"] = {path: c.as_dict() for path, c in self.per_feed.items()}
            data["per_article"] = dict(self.per_article)
        return data


@dataclass(slots=True)
class Override:
    """Run-time changes to one generated feed."""

    added: int = 0
    status: int | None = None
    retry_after: int | None = None


class FeedStore:
    """The generated feeds: metadata, entries and validators, computed on demand.

    Feed ``n``'s content depends only on the configuration and on how many entries were
    added to it at run time, so its ETag is a hash of exactly that: no body has to be
    rendered to answer a conditional request, and two servers with the same configuration
    and mutations agree on every ETag.
    """

    def __init__(self, config: FeedServerConfig) -> None:
        self.config = config
        self._meta: dict[int, FeedMeta] = {}
        self._overrides: dict[int, Override] = {}
        self._validators: dict[int, Validators] = {}
        self._stale_validators: dict[int, Validators] = {}

    def exists(self, n: int) -> bool:
        """Whether feed ``n`` is one of the configured feeds."""
        return 0 <= n < self.config.feeds

    def _check(self, n: int) -> None:
        if not self.exists(n):
            raise KeyError(f"no feed {n} (the server has {self.config.feeds} feeds)")

    def meta(self, n: int) -> FeedMeta:
        """Feed ``n``'s metadata (cached: it is small and needed for every 200)."""
        meta = self._meta.get(n)
        if meta is None:
            meta = self._meta[n] = feed_meta(self.config.seed, n, self.config.atom_share)
        return meta

    def count(self, n: int) -> int:
        """How many entries feed ``n`` has now."""
        override = self._overrides.get(n)
        return self.config.entries + (override.added if override else 0)

    def entry_times(self, n: int, index: int) -> tuple[datetime, datetime]:
        """Published and updated times of entry ``index`` of feed ``n``."""
        cfg = self.config
        return entry_times(
            cfg.seed, str(n), index, cfg.entries - 1, cfg.base_time, self.meta(n).interval
        )

    def entry(self, n: int, index: int) -> Entry:
        """Entry ``index`` of feed ``n`` (0 is the oldest)."""
        published, updated = self.entry_times(n, index)
        return make_entry(
            self.config.seed, str(n), index, published, updated, f"/articles/{n}/{index}.html"
        )

    def entries(self, n: int) -> list[Entry]:
        """Feed ``n``'s entries, newest first."""
        return [self.entry(n, i) for i in range(self.count(n) - 1, -1, -1)]

    def _validators_for(self, n: int, count: int) -> Validators:
        modified = self.config.base_time if count == 0 else self.entry_times(n, count - 1)[1]
        return Validators.of(short_hash(self.config.fingerprint, "feed", n, count), modified)

    def validators(self, n: int) -> Validators:
        """ETag and Last-Modified of feed ``n`` as it is now."""
        validators = self._validators.get(n)
        if validators is None:
            validators = self._validators[n] = self._validators_for(n, self.count(n))
        return validators

    def stale_validators(self, n: int) -> Validators:
        """The validators ``/stale/{n}.xml`` keeps answering with: those of the start."""
        validators = self._stale_validators.get(n)
        if validators is None:
            validators = self._stale_validators[n] = self._validators_for(n, self.config.entries)
        return validators

    def add_entries(self, n: int, count: int = 1) -> list[Entry]:
        """Publish ``count`` new entries at the top of feed ``n``; returns them, newest first."""
        self._check(n)
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        override = self._overrides.setdefault(n, Override())
        first = self.count(n)
        override.added += count
        self._validators.pop(n, None)
        return [self.entry(n, i) for i in range(first + count - 1, first - 1, -1)]

    def set_status(self, n: int, status: int, retry_after: int | None = None) -> None:
        """Make feed ``n`` (and its stale twin) answer ``status``; 200 restores it."""
        self._check(n)
        if status not in SETTABLE_STATUSES:
            allowed = ", ".join(str(s) for s in sorted(SETTABLE_STATUSES))
            raise ValueError(f"status must be one of {allowed}, got {status}")
        if retry_after is not None and retry_after < 0:
            raise ValueError(f"retry_after must be >= 0, got {retry_after}")
        override = self._overrides.setdefault(n, Override())
        if status == 200:
            override.status = None
            override.retry_after = None
        else:
            override.status = status
            override.retry_after = retry_after

    def failure(self, n: int) -> Override | None:
        """The override of feed ``n`` if it is set to fail, else ``None``."""
        override = self._overrides.get(n)
        if override is None or override.status is None:
            return None
        return override

    def reset(self) -> None:
        """Undo every run-time mutation."""
        self._overrides.clear()
        self._validators.clear()


class ServerState:
    """Everything one application instance owns."""

    def __init__(self, config: FeedServerConfig) -> None:
        self.config = config
        self.store = FeedStore(config)
        self.stats = Stats()
        self.bodies: LRU[tuple[object, ...], Body] = LRU(config.body_cache_size)
        #: route name -> (stats kind, per-path tracking)
        self.route_kinds: dict[str, tuple[str, Track]] = {}

    def reset(self) -> None:
        """Undo mutations and zero statistics."""
        self.store.reset()
        self.stats.reset()
        self.bodies.clear()

    def add_get(
        self,
        app: web.Application,
        path: str,
        handler: Handler,
        name: str,
        kind: str,
        track: Track,
    ) -> None:
        """Route ``GET path`` (and HEAD) to ``handler``, counted as ``kind`` in the stats.

        ``track`` says whether requests are also counted per path, as a feed (with
        timing and conditional-request counters) or as an article.
        """
        # aiohttp wants route names made of identifiers joined by ".", "-" or ":".
        safe = ".".join(
            f"_{part}" if part[:1].isdigit() else part for part in name.replace("-", "_").split(":")
        )
        if safe in self.route_kinds:
            raise ValueError(f"duplicate route name {name!r}")
        app.router.add_get(path, handler, name=safe)
        self.route_kinds[safe] = (kind, track)
