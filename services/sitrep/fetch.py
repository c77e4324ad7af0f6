"""Polite HTTP for the poller: limits per host, robots.txt, timeouts and size caps.

Thousands of feeds often live on a few hosts, so politeness is per host: at most
``http_per_host`` requests in flight and ``http_host_delay`` seconds between two requests to
one host, inside a global ``http_concurrency``. Every request has connect, read and total
timeouts, follows at most ``http_max_redirects`` redirects, and reads at most a cap of bytes:
one slow, huge or looping site cannot stall or exhaust the poller. Failures are returned as
values (``FetchResult.error_kind``), never raised, because for the poller a broken site is
data to record, not an exception.

Unless ``allow_private_urls``, no request reaches a private, loopback or link-local address:
a feed is somebody else's document, and its article links and redirects must not turn the
poller into a way to read internal services (SSRF) into a searchable index. See
:func:`outbound_session`, which webhook deliveries use too.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import aiohttp

from sitrep.config import Settings
from sitrep.logs import get_logger
from sitrep.urls import UnsafeURLError, literal_host_refusal, non_public_reason

log = get_logger(__name__)

#: Response headers worth keeping with a fetched article (lower case).
KEPT_HEADERS = (
    "content-type", "content-length", "content-language", "last-modified", "etag", "date",
    "cache-control", "expires", "x-robots-tag", "link",
)
HTML_TYPES = ("text/html", "application/xhtml+xml")
ROBOTS_TTL = 24 * 3600.0
ROBOTS_RETRY = 600.0


@dataclass
class FetchResult:
    """What one GET produced; ``error_kind`` is None when a response was read."""

    url: str
    final_url: str
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    body_bytes: int = 0
    truncated: bool = False
    error_kind: str | None = None
    error: str | None = None
    elapsed: float = 0.0
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"').lower()
        return None

    @property
    def ok(self) -> bool:
        return self.error_kind is None and self.status is not None and 200 <= self.status < 300


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks us to wait (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# --- outbound guard (SSRF) -----------------------------------------------------------------


class NonPublicAddressError(OSError):
    """A connection refused because the name resolved to a non-public address."""


class PublicOnlyResolver(aiohttp.ThreadedResolver):
    """Name resolution that refuses non-public addresses at connection time.

    A URL checked when it was registered can resolve elsewhere later, and a hostile DNS server
    can answer a public address to the check and ``127.0.0.1`` to the connection (DNS
    rebinding). Checking the addresses the connection will actually use closes that gap.
    """

    async def resolve(self, host: str, port: int = 0, family: Any = 0) -> Any:
        results = await super().resolve(host, port, family)
        for result in results:
            reason = non_public_reason(ipaddress.ip_address(result["host"]))
            if reason is not None:  # errno + text: aiohttp shows the text in its error
                raise NonPublicAddressError(
                    errno.EACCES, f"{host} resolves to a non-public address ({reason})"
                )
        return results


async def refuse_non_public_literals(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Client middleware, run for every hop of a redirect chain.

    aiohttp never asks the resolver about an IP literal, so without this a public feed that
    redirects to ``http://169.254.169.254/`` would walk past :class:`PublicOnlyResolver`.
    """
    refusal = literal_host_refusal(request.url.host)
    if refusal is not None:
        raise UnsafeURLError(f"refusing {request.url}: {refusal} (SITREP_ALLOW_PRIVATE_URLS)")
    return await handler(request)


def outbound_session(
    *, allow_private: bool, connector: Mapping[str, Any] | None = None, **session: Any
) -> aiohttp.ClientSession:
    """An aiohttp session that can only reach public addresses unless ``allow_private``.

    ``connector`` holds TCPConnector options; the rest goes to the session.
    """
    options = dict(connector or {})
    if allow_private:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(**options), **session)
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=PublicOnlyResolver(), **options),
        middlewares=(refuse_non_public_literals,),
        **session,
    )


def refused_as_non_public(error: BaseException) -> bool:
    """Whether an aiohttp error is the outbound guard's refusal rather than a network fault."""
    if isinstance(error, UnsafeURLError):
        return True
    return isinstance(error, aiohttp.ClientConnectorError) and isinstance(
        error.os_error, NonPublicAddressError
    )


class HostGate:
    """Per-host concurrency and spacing of requests."""

    def __init__(self, per_host: int, delay: float) -> None:
        self._per_host = per_host
        self._delay = delay
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def __call__(self, host: str) -> asyncio.Semaphore:
        """Wait for our turn at ``host``; returns the acquired slot (release it after)."""
        slot = self._slots.setdefault(host, asyncio.Semaphore(self._per_host))
        await slot.acquire()
        try:
            if self._delay > 0:
                lock = self._locks.setdefault(host, asyncio.Lock())
                async with lock:
                    now = time.monotonic()
                    start = max(now, self._next_start.get(host, 0.0))
                    self._next_start[host] = start + self._delay
                if start > now:
                    await asyncio.sleep(start - now)
        except BaseException:  # cancelled while waiting our turn: give the slot back
            slot.release()
            raise
        return slot


class Fetcher:
    """One aiohttp session with the poller's limits; use as an async context manager."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._gate = HostGate(settings.http_per_host, settings.http_host_delay)
        self._global = asyncio.Semaphore(settings.http_concurrency)
        self._robots: dict[str, tuple[float, RobotFileParser | None, str | None]] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Fetcher:
        s = self.settings
        self._session = outbound_session(
            allow_private=s.allow_private_urls,
            connector={"limit": s.http_concurrency, "limit_per_host": s.http_per_host,
                       "ttl_dns_cache": 300},
            timeout=aiohttp.ClientTimeout(
                total=s.http_total_timeout, connect=s.http_connect_timeout,
                sock_read=s.http_read_timeout,
            ),
            headers={"User-Agent": s.user_agent},
            auto_decompress=True,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def get(
        self,
        url: str,
        max_bytes: int,
        headers: Mapping[str, str] | None = None,
        accept_types: tuple[str, ...] | None = None,
    ) -> FetchResult:
        """GET ``url`` politely; read at most ``max_bytes`` of the body.

        With ``accept_types``, a response of another content type is not read at all (a PDF
        or a video linked from a feed costs one header exchange, not megabytes).
        """
        assert self._session is not None, "use Fetcher as an async context manager"
        result = FetchResult(url=url, final_url=url)
        host = urlsplit(url).netloc.lower()
        started = time.monotonic()
        async with self._global:
            slot = await self._gate(host)
            try:
                async with self._session.get(
                    url, headers=dict(headers or {}), allow_redirects=True,
                    max_redirects=self.settings.http_max_redirects,
                ) as response:
                    result.status = response.status
                    result.final_url = str(response.url)
                    result.redirects = [str(r.url) for r in response.history]
                    result.headers = {
                        k.lower(): v for k, v in response.headers.items()
                        if k.lower() in KEPT_HEADERS or k.lower() == "retry-after"
                    }
                    if accept_types and result.content_type and not any(
                        result.content_type == t for t in accept_types
                    ):
                        length = response.headers.get("content-length")
                        result.body_bytes = int(length) if length and length.isdigit() else 0
                    else:
                        await self._read_capped(response, result, max_bytes)
            except UnsafeURLError as exc:  # a redirect to a non-public IP literal
                result.error_kind, result.error = "unsafe_url", str(exc)
            except aiohttp.TooManyRedirects as exc:
                result.error_kind, result.error = "too_many_redirects", _describe(exc)
                result.redirects = [str(r.url) for r in exc.history]
            except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
                result.error_kind = "timeout"
                result.error = f"no complete answer within the timeouts ({_describe(exc)})"
            except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError) as exc:
                if refused_as_non_public(exc):
                    result.error_kind = "unsafe_url"
                    result.error = f"refused: {_describe(exc)} (SITREP_ALLOW_PRIVATE_URLS)"
                else:
                    result.error_kind, result.error = "connection_error", _describe(exc)
            except (aiohttp.InvalidURL, ValueError) as exc:
                result.error_kind, result.error = "error", f"invalid URL: {_describe(exc)}"
            except aiohttp.ClientError as exc:
                result.error_kind, result.error = "error", _describe(exc)
            finally:
                slot.release()
        result.elapsed = time.monotonic() - started
        return result

    @staticmethod
    async def _read_capped(
        response: aiohttp.ClientResponse, result: FetchResult, max_bytes: int
    ) -> None:
        chunks: list[bytes] = []
        received = 0
        async for chunk in response.content.iter_chunked(64 * 1024):
            received += len(chunk)
            if received > max_bytes:
                keep = max_bytes - (received - len(chunk))
                chunks.append(chunk[:keep])
                result.truncated = True
                break
            chunks.append(chunk)
        result.body = b"".join(chunks)
        length = response.headers.get("content-length")
        declared = int(length) if length and length.isdigit() else 0
        result.body_bytes = max(received, declared) if result.truncated else received

    async def allowed(self, url: str) -> tuple[bool, str | None]:
        """May we fetch ``url`` under its site's robots.txt? (allowed, reason if not)."""
        if not self.settings.respect_robots:
            return True, None
        parts = urlsplit(url)
        site = f"{parts.scheme}://{parts.netloc}"
        lock = self._robots_locks.setdefault(site, asyncio.Lock())
        async with lock:
            expires, rules, problem = self._robots.get(site, (0.0, None, None))
            if time.monotonic() >= expires:
                rules, problem, ttl = await self._load_robots(site)
                self._robots[site] = (time.monotonic() + ttl, rules, problem)
        if problem:
            return False, problem
        if rules is None or rules.can_fetch(self.settings.user_agent, url):
            return True, None
        return False, f"disallowed by {site}/robots.txt"

    async def _load_robots(self, site: str) -> tuple[RobotFileParser | None, str | None, float]:
        """Rules, or why everything is refused for now (RFC 9309: unreachable = disallow)."""
        result = await self.get(f"{site}/robots.txt", max_bytes=500_000)
        if result.error_kind:
            return None, f"robots.txt unreachable ({result.error_kind})", ROBOTS_RETRY
        assert result.status is not None
        if result.status >= 500:
            return None, f"robots.txt unreachable (HTTP {result.status})", ROBOTS_RETRY
        if result.status >= 400:
            return None, None, ROBOTS_TTL  # no robots.txt: everything is allowed
        rules = RobotFileParser()
        rules.parse(result.body.decode("utf-8", errors="replace").splitlines())
        return rules, None, ROBOTS_TTL


def _describe(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"[:500]
