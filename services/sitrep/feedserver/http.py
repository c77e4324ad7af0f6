"""HTTP plumbing shared by all handlers: validators, conditional GET, compression, caching.

The 304 path is the hot path of a polling benchmark (10,000 feeds, most of them
unchanged), so it must not touch feed generation at all: handlers look up precomputed
:class:`Validators` and answer with :func:`not_modified_response` before any body exists.
Bodies, once rendered, are cached with their compressed variants in a bounded LRU so that
repeated unconditional fetches do not pay for rendering or zlib again.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Generic, TypeVar

from aiohttp import web

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
JSON_TYPE = "application/json"
#: Generated feeds and articles may be cached briefly, as on a typical news CDN.
CACHE_CONTROL = "public, max-age=60"


def http_date(moment: datetime) -> str:
    """An aware ``moment`` as an IMF-fixdate (``Mon, 06 Jan 2025 12:00:00 GMT``)."""
    return format_datetime(moment.astimezone(UTC), usegmt=True)


@dataclass(frozen=True, slots=True)
class Validators:
    """The ETag and Last-Modified of one representation.

    ``etag`` is the quoted strong form (``"abc"``); ``opaque`` is the text between the
    quotes, kept for the weak comparison If-None-Match requires.
    """

    etag: str
    last_modified: str
    last_modified_ts: int
    opaque: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "opaque", self.etag.removeprefix("W/").strip('"'))

    @classmethod
    def of(cls, opaque: str, modified: datetime) -> Validators:
        """Validators for the ETag ``"opaque"`` and the Last-Modified ``modified``."""
        return cls(f'"{opaque}"', http_date(modified), int(modified.timestamp()))


def etag_matches(if_none_match: str, opaque: str) -> bool:
    """Whether an If-None-Match header matches the ETag ``opaque``, by weak comparison.

    Weak comparison (RFC 9110 13.1.2) is the rule for If-None-Match; it is also what makes
    a gzip-weakened ``W/"x"`` sent back by a client match the strong ``"x"``.
    """
    value = if_none_match.strip()
    if value == "*":
        return True
    for candidate in value.split(","):
        tag = candidate.strip().removeprefix("W/").strip('"')
        if tag == opaque:
            return True
    return False


def is_not_modified(request: web.BaseRequest, validators: Validators) -> bool:
    """Whether the request's conditional headers are satisfied by ``validators``.

    If-None-Match wins over If-Modified-Since when both are present, as RFC 9110 says; a
    date in the past of Last-Modified (or an unparseable one) means "send the body".
    """
    headers = request.headers
    inm = headers.get("If-None-Match")
    if inm is not None:
        return etag_matches(inm, validators.opaque)
    ims = headers.get("If-Modified-Since")
    if ims is None:
        return False
    try:
        since = parsedate_to_datetime(ims)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        return False
    return validators.last_modified_ts <= since.timestamp()


def is_conditional(request: web.BaseRequest) -> bool:
    """Whether the client sent any validator at all (used for politeness statistics)."""
    headers = request.headers
    return "If-None-Match" in headers or "If-Modified-Since" in headers


def not_modified_response(request: web.BaseRequest, validators: Validators) -> web.Response:
    """A bodyless 304 carrying the validators a 200 would have carried.

    That includes the weakened ETag a compressed 200 would have had, so a client sees one
    consistent ETag whichever way it asks.
    """
    coding = choose_encoding(request.headers.get("Accept-Encoding", ""))
    return web.Response(
        status=304,
        headers={
            "ETag": f"W/{validators.etag}" if coding else validators.etag,
            "Last-Modified": validators.last_modified,
            "Cache-Control": CACHE_CONTROL,
        },
    )


@functools.lru_cache(maxsize=256)
def choose_encoding(accept_encoding: str) -> str | None:
    """``"gzip"``, ``"deflate"`` or ``None`` for an Accept-Encoding header.

    Honours ``q=0`` exclusions; prefers gzip, like most servers. Cached, because a
    client sends the same header on every request and this is on the 304 path.
    """
    if not accept_encoding:
        return None
    accepted: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        accepted[coding.strip()] = quality
    for coding in ("gzip", "deflate"):
        quality = accepted.get(coding, accepted.get("*", 0.0))
        if quality > 0:
            return coding
    return None


class Body:
    """A rendered body with lazily computed, remembered compressed variants."""

    __slots__ = ("_deflate", "_gzip", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._gzip: bytes | None = None
        self._deflate: bytes | None = None

    def encoded(self, coding: str | None) -> bytes:
        """The body in content-coding ``coding`` (``None``: identity)."""
        if coding == "gzip":
            if self._gzip is None:
                # mtime=0 keeps the compressed bytes deterministic.
                self._gzip = gzip.compress(self.raw, compresslevel=6, mtime=0)
            return self._gzip
        if coding == "deflate":
            if self._deflate is None:
                # HTTP "deflate" is the zlib format (RFC 1950), not raw deflate.
                self._deflate = zlib.compress(self.raw, 6)
            return self._deflate
        return self.raw


class LRU(Generic[K, V]):
    """A small bounded mapping that forgets the least recently used item."""

    __slots__ = ("_data", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The cached value, refreshed as most recently used, or ``None``."""
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> V:
        """Store ``value`` (evicting the oldest item when full) and return it."""
        if self.maxsize <= 0:
            return value
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget everything."""
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


def body_response(
    request: web.BaseRequest,
    body: Body,
    content_type: str,
    validators: Validators | None = None,
    *,
    status: int = 200,
    compress: bool = True,
    extra_headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A full response for ``body``, compressed if the client accepts it.

    When compressing, the ETag is weakened (``W/"..."``) as nginx does: the compressed
    bytes are a different representation, and weak comparison still lets a client that
    echoes either form get its 304.
    """
    coding = choose_encoding(request.headers.get("Accept-Encoding", "")) if compress else None
    headers: dict[str, str] = {"Content-Type": content_type}
    if compress:
        headers["Vary"] = "Accept-Encoding"
    if validators is not None:
        headers["ETag"] = f"W/{validators.etag}" if coding else validators.etag
        headers["Last-Modified"] = validators.last_modified
        headers["Cache-Control"] = CACHE_CONTROL
    if coding:
        headers["Content-Encoding"] = coding
    if extra_headers:
        headers.update(extra_headers)
    return web.Response(status=status, body=body.encoded(coding), headers=headers)


def conditional_response(
    request: web.BaseRequest,
    body_factory: Callable[[], Body],
    content_type: str,
    validators: Validators,
) -> web.Response:
    """304 if the request's validators match, else the (lazily built) body."""
    if is_not_modified(request, validators):
        return not_modified_response(request, validators)
    return body_response(request, body_factory(), content_type, validators)
