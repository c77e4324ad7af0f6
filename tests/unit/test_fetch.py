"""The poller's HTTP fetcher (sitrep.fetch) against the in-process feed fixture server.

Every test starts the fixture server on an ephemeral 127.0.0.1 port and runs its body with
asyncio.run inside a plain sync test (no pytest plugin). Timing assertions are politeness
checks with loose bounds, not benchmarks.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, TypeVar

import aiohttp
import pytest

from sitrep.config import Settings
from sitrep.feedserver import FeedServer, FeedServerConfig, serve
from sitrep.fetch import HTML_TYPES, Fetcher, FetchResult, retry_after_seconds
from sitrep.poller import parse_feed

T = TypeVar("T")
CONFIG = FeedServerConfig(feeds=5, entries=3)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "http_host_delay": 0,
        "http_per_host": 4,
        "http_concurrency": 20,
        "http_connect_timeout": 5.0,
        "http_read_timeout": 5.0,
        "http_total_timeout": 15.0,
        "http_max_redirects": 5,
        "respect_robots": True,
        "allow_private_urls": True,  # the fixture server is on loopback
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


def run(body: Callable[[FeedServer, Fetcher], Awaitable[T]], **overrides: Any) -> T:
    """Start the fixture server and a Fetcher with ``settings(**overrides)``; run ``body``."""

    async def main() -> T:
        async with serve(CONFIG) as server, Fetcher(settings(**overrides)) as fetcher:
            return await body(server, fetcher)

    return asyncio.run(main())


def closed_port() -> int:
    """A port nothing listens on (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ----------------------------------------------------------------------------------------
# plain fetches, validators, compression
# ----------------------------------------------------------------------------------------


def test_a_feed_is_fetched_with_the_headers_worth_keeping_and_our_user_agent() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[FetchResult, dict[str, Any]]:
        return await fetcher.get(server.feed_url(0), max_bytes=1_000_000), server.stats()

    result, stats = run(body)
    assert result.ok and result.error_kind is None
    assert result.status == 200
    assert result.content_type in ("application/rss+xml", "application/atom+xml")
    assert result.charset == "utf-8"
    assert {"etag", "last-modified", "content-type"} <= result.headers.keys()
    assert "server" not in result.headers  # only the kept headers
    assert result.body_bytes == len(result.body) and not result.truncated
    assert result.redirects == []
    assert result.elapsed > 0
    assert parse_feed(result.body, result.final_url, result.headers["content-type"]).entries
    assert list(stats["user_agents"]) == [settings().user_agent]


def test_if_none_match_with_the_current_etag_gets_a_304_without_body() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[FetchResult, FetchResult]:
        first = await fetcher.get(server.feed_url(1), max_bytes=1_000_000)
        again = await fetcher.get(
            server.feed_url(1), max_bytes=1_000_000,
            headers={"If-None-Match": first.headers["etag"]},
        )
        return first, again

    first, again = run(body)
    assert first.status == 200
    assert again.status == 304
    assert again.body == b"" and again.body_bytes == 0
    assert again.headers["etag"] == first.headers["etag"]


def test_a_new_entry_makes_the_stored_etag_fail_to_match() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[FetchResult, FetchResult]:
        first = await fetcher.get(server.feed_url(2), max_bytes=1_000_000)
        server.add_entry(2)
        again = await fetcher.get(
            server.feed_url(2), max_bytes=1_000_000,
            headers={"If-None-Match": first.headers["etag"]},
        )
        return first, again

    first, again = run(body)
    assert again.status == 200
    assert again.body != first.body


def test_gzip_bodies_are_decompressed() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[str | None, bytes, FetchResult]:
        async with (
            aiohttp.ClientSession(auto_decompress=False) as raw_client,
            raw_client.get(server.feed_url(3), headers={"Accept-Encoding": "gzip"}) as response,
        ):
            encoding, raw = response.headers.get("Content-Encoding"), await response.read()
        return encoding, raw, await fetcher.get(server.feed_url(3), max_bytes=1_000_000)

    encoding, raw, result = run(body)
    assert encoding == "gzip"  # the server really compresses this feed
    assert result.body == gzip.decompress(raw)
    assert result.body.startswith(b"<?xml")
    assert result.body_bytes == len(result.body)


# ----------------------------------------------------------------------------------------
# redirects
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["redirect-loop", "redirect-self"])
def test_a_redirect_loop_gives_too_many_redirects(path: str) -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[str, FetchResult]:
        return server.base_url, await fetcher.get(server.bad_url(path), max_bytes=10_000)

    base, result = run(body, http_max_redirects=5)
    assert result.error_kind == "too_many_redirects"
    assert result.error and "TooManyRedirects" in result.error
    assert result.status is None and not result.ok
    assert len(result.redirects) == 5
    assert all(url.startswith(f"{base}/bad/redirect-") for url in result.redirects)


def test_a_three_hop_redirect_chain_is_followed_and_recorded() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[str, FetchResult]:
        return server.base_url, await fetcher.get(server.bad_url("redirect-ok"), max_bytes=10**6)

    base, result = run(body)
    assert result.ok and result.status == 200
    assert result.url == f"{base}/bad/redirect-ok"
    assert result.final_url == f"{base}/bad/redirect-target.xml"
    assert result.redirects == [
        f"{base}/bad/redirect-ok",
        f"{base}/bad/redirect-ok/hop/1",
        f"{base}/bad/redirect-ok/hop/2",
    ]
    assert len(parse_feed(result.body, result.final_url, result.headers["content-type"]).entries)


def test_fewer_allowed_redirects_than_the_chain_is_an_error() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> FetchResult:
        return await fetcher.get(server.bad_url("redirect-ok"), max_bytes=10**6)

    result = run(body, http_max_redirects=2)
    assert result.error_kind == "too_many_redirects"


# ----------------------------------------------------------------------------------------
# timeouts and connection failures
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["headers", "sleep"])
def test_a_stalling_server_times_out_quickly_on_the_read_timeout(mode: str) -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[FetchResult, float]:
        started = time.monotonic()
        result = await fetcher.get(server.bad_url(f"slow?delay=30&mode={mode}"), max_bytes=10**6)
        return result, time.monotonic() - started

    result, elapsed = run(body, http_read_timeout=0.3)
    assert result.error_kind == "timeout"
    assert result.error and result.error.startswith("no complete answer within the timeouts")
    assert result.body == b""
    assert elapsed < 3.0
    # mode=headers sent a status line before stalling; mode=sleep sent nothing at all.
    assert result.status == (200 if mode == "headers" else None)


def test_a_trickling_body_is_cut_by_the_total_timeout() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[FetchResult, float]:
        started = time.monotonic()
        # 20 pieces 0.2 s apart: never silent for the read timeout, but 4 s in all.
        result = await fetcher.get(server.bad_url("slow?delay=4&mode=trickle"), max_bytes=10**6)
        return result, time.monotonic() - started

    result, elapsed = run(body, http_read_timeout=2.0, http_total_timeout=0.6)
    assert result.error_kind == "timeout"
    assert elapsed < 3.0


def test_connection_refused_gives_connection_error() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[FetchResult, float]:
        started = time.monotonic()
        result = await fetcher.get(f"http://127.0.0.1:{closed_port()}/feed.xml", max_bytes=100)
        return result, time.monotonic() - started

    result, elapsed = run(body)
    assert result.error_kind == "connection_error"
    assert result.error and "ClientConnectorError" in result.error
    assert result.status is None and not result.ok
    assert elapsed < 3.0


def test_an_invalid_url_is_returned_as_an_error_not_raised() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> FetchResult:
        return await fetcher.get("http://", max_bytes=100)

    result = run(body)
    assert result.error_kind == "error"
    assert result.status is None


# ----------------------------------------------------------------------------------------
# the outbound guard (SSRF)
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_the_poller_refuses_loopback_feeds_unless_private_urls_are_allowed(host: str) -> None:
    """A literal is refused before connecting, a name once it resolves: no request is sent."""

    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[FetchResult, int]:
        result = await fetcher.get(f"http://{host}:{server.port}/feeds/0.xml", max_bytes=10**6)
        return result, server.stats()["requests"]

    result, requests = run(body, allow_private_urls=False)
    assert result.error_kind == "unsafe_url" and result.status is None
    assert result.error is not None and "loopback" in result.error
    assert "SITREP_ALLOW_PRIVATE_URLS" in result.error
    assert requests == 0
    allowed, _ = run(body, allow_private_urls=True)
    assert allowed.ok


def test_a_redirect_to_a_private_ip_literal_is_refused_at_that_hop() -> None:
    """aiohttp does not resolve IP literals, so only the middleware can stop this hop."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from sitrep.fetch import refuse_non_public_literals
    from sitrep.urls import UnsafeURLError

    async def attempt(guarded: bool) -> tuple[str, int]:
        hits = {"secret": 0}

        async def start(request: web.Request) -> web.Response:
            raise web.HTTPFound(f"http://127.0.0.1:{request.url.port}/secret")

        async def secret(request: web.Request) -> web.Response:
            hits["secret"] += 1
            return web.Response(text="internal")

        app = web.Application()
        app.router.add_get("/start", start)
        app.router.add_get("/secret", secret)
        # The first hop is a name, which the plain resolver lets through, as a public host's
        # would be; the redirect then points at an internal literal.
        middlewares = (refuse_non_public_literals,) if guarded else ()
        async with TestServer(app, host="127.0.0.1") as server, \
                aiohttp.ClientSession(middlewares=middlewares) as session:
            try:
                async with session.get(f"http://localhost:{server.port}/start") as response:
                    return await response.text(), hits["secret"]
            except UnsafeURLError as error:
                return str(error), hits["secret"]

    text, hits = asyncio.run(attempt(guarded=True))
    assert "127.0.0.1 is not a public address (loopback)" in text and hits == 0
    assert asyncio.run(attempt(guarded=False)) == ("internal", 1)  # the hop the guard stops


def test_a_refused_feed_is_recorded_as_unsafe_not_as_a_network_fault() -> None:
    from sitrep.feeds import Feed, FeedState
    from sitrep.poller import article_status, feed_outcome

    refused = FetchResult(url="http://10.0.0.1/feed", final_url="http://10.0.0.1/feed",
                          error_kind="unsafe_url", error="refusing: private")
    state = FeedState.fresh(Feed.create(refused.url), settings(), datetime.now(UTC))
    outcome, parsed = feed_outcome(refused, state, True, 100)
    assert (outcome.kind, outcome.error, parsed) == ("unsafe_url", "refusing: private", None)
    assert article_status(refused) == ("unsafe_url", "refusing: private")


# ----------------------------------------------------------------------------------------
# size caps and content types
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["huge-body", "huge-body-length"])
def test_a_50_mb_body_is_cut_at_max_bytes(path: str) -> None:
    cap = 200_000

    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[FetchResult, float]:
        started = time.monotonic()
        result = await fetcher.get(server.bad_url(path), max_bytes=cap)
        return result, time.monotonic() - started

    result, elapsed = run(body)
    assert result.status == 200
    assert result.truncated is True
    assert len(result.body) == cap
    assert result.body.startswith(b"<!DOCTYPE html>")
    assert result.body_bytes >= cap  # what was received (or announced), before the cut
    if path == "huge-body-length":
        assert result.body_bytes == 50 * 1024 * 1024  # the announced Content-Length
    assert elapsed < 5.0


def test_a_body_exactly_at_the_cap_is_not_truncated() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[FetchResult, FetchResult]:
        exact = await fetcher.get(server.bad_url("huge-body?bytes=100000"), max_bytes=100_000)
        over = await fetcher.get(server.bad_url("huge-body?bytes=100001"), max_bytes=100_000)
        return exact, over

    exact, over = run(body)
    assert (exact.truncated, len(exact.body), exact.body_bytes) == (False, 100_000, 100_000)
    assert (over.truncated, len(over.body)) == (True, 100_000)


def test_a_pdf_is_not_read_when_html_is_expected() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[FetchResult, FetchResult]:
        url = server.bad_url("pdf-article.pdf")
        return (
            await fetcher.get(url, max_bytes=10**6, accept_types=HTML_TYPES),
            await fetcher.get(url, max_bytes=10**6),
        )

    skipped, read = run(body)
    assert skipped.status == 200
    assert skipped.content_type == "application/pdf"
    assert skipped.body == b""
    assert skipped.body_bytes == len(read.body) > 0  # size taken from Content-Length
    assert read.body.startswith(b"%PDF")


def test_an_html_article_is_read_when_html_is_expected() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> FetchResult:
        return await fetcher.get(
            server.article_url(0, 0), max_bytes=10**6, accept_types=HTML_TYPES
        )

    result = run(body)
    assert result.content_type == "text/html"
    assert result.body.lstrip().lower().startswith(b"<!doctype html")


# ----------------------------------------------------------------------------------------
# robots.txt
# ----------------------------------------------------------------------------------------


def test_robots_txt_disallows_private_and_allows_the_rest() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[Any, ...]:
        private = await fetcher.allowed(f"{server.base_url}/private/articles/1.html")
        article = await fetcher.allowed(server.article_url(0, 1))
        feed = await fetcher.allowed(server.feed_url(0))
        return server.base_url, private, article, feed, server.stats()["robots"]

    base, private, article, feed, robots_fetches = run(body)
    assert private == (False, f"disallowed by {base}/robots.txt")
    assert article == (True, None)
    assert feed == (True, None)
    assert robots_fetches == 1  # fetched once per site, then cached


def test_respect_robots_false_allows_everything_without_fetching_robots() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[Any, int]:
        verdict = await fetcher.allowed(f"{server.base_url}/private/articles/1.html")
        return verdict, server.stats()["robots"]

    verdict, robots_fetches = run(body, respect_robots=False)
    assert verdict == (True, None)
    assert robots_fetches == 0


def test_an_unreachable_robots_txt_disallows_for_now() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[bool, str | None]:
        return await fetcher.allowed(f"http://127.0.0.1:{closed_port()}/a.html")

    allowed, why = run(body)
    assert allowed is False
    assert why == "robots.txt unreachable (connection_error)"


# ----------------------------------------------------------------------------------------
# per-host politeness
# ----------------------------------------------------------------------------------------


def test_requests_to_one_host_are_spaced_by_the_host_delay() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[list[FetchResult], float, Any]:
        started = time.monotonic()
        results = await asyncio.gather(
            *(fetcher.get(server.feed_url(0), max_bytes=10**6) for _ in range(5))
        )
        return results, time.monotonic() - started, server.stats()["per_feed"]["/feeds/0.xml"]

    results, elapsed, counter = run(body, http_per_host=1, http_host_delay=0.2)
    assert [r.status for r in results] == [200] * 5
    assert elapsed >= 0.75  # 4 gaps of 0.2 s (loose: timer granularity)
    assert counter["requests"] == 5
    assert counter["min_gap_s"] >= 0.15


def test_one_slot_per_host_never_lets_requests_overlap() -> None:
    # Each request keeps the server busy 0.3 s; with one slot the next may start only
    # after the previous answered, so the server sees them at least 0.3 s apart.
    async def body(server: FeedServer, fetcher: Fetcher) -> tuple[float, Any]:
        started = time.monotonic()
        await asyncio.gather(
            *(fetcher.get(server.bad_url("slow?delay=0.3&mode=sleep"), max_bytes=10**6)
              for _ in range(3))
        )
        return time.monotonic() - started, server.stats()["per_feed"]["/bad/slow"]

    elapsed, counter = run(body, http_per_host=1, http_host_delay=0)
    assert counter["requests"] == 3
    assert counter["min_gap_s"] >= 0.28
    assert elapsed >= 0.85
    # The control: with three slots the same requests do run side by side.
    elapsed, counter = run(body, http_per_host=3, http_host_delay=0)
    assert counter["min_gap_s"] < 0.1
    assert elapsed < 0.6


def test_a_request_cancelled_while_waiting_its_turn_frees_the_host() -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> FetchResult:
        await fetcher.get(server.feed_url(0), max_bytes=10**6)
        waiting = asyncio.create_task(fetcher.get(server.feed_url(1), max_bytes=10**6))
        await asyncio.sleep(0.05)  # it now holds the slot and sleeps out the host delay
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return await asyncio.wait_for(fetcher.get(server.feed_url(2), max_bytes=10**6), 1.0)

    assert run(body, http_per_host=1, http_host_delay=0.3).status == 200


# ----------------------------------------------------------------------------------------
# Retry-After
# ----------------------------------------------------------------------------------------

NOW_TS = datetime(2025, 1, 6, 12, 0, tzinfo=UTC).timestamp()


def http_date(seconds_from_now: float) -> str:
    moment = datetime.fromtimestamp(NOW_TS, UTC) + timedelta(seconds=seconds_from_now)
    return format_datetime(moment, usegmt=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 300 ", 300.0),
        ("0", 0.0),
        (http_date(90), 90.0),
        ("Mon, 06 Jan 2025 13:00:00 GMT", 3600.0),
        (http_date(-600), 0.0),  # a date in the past: go ahead now
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_retry_after_seconds_parses_delta_seconds_and_http_dates(
    value: str | None, expected: float | None
) -> None:
    assert retry_after_seconds(value, now=NOW_TS) == expected


def test_retry_after_seconds_defaults_to_the_wall_clock() -> None:
    in_a_minute = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    seconds = retry_after_seconds(in_a_minute)
    assert seconds is not None and 55 <= seconds <= 61


def test_retry_after_seconds_ignores_non_ascii_digits() -> None:
    assert retry_after_seconds("²", now=NOW_TS) is None


@pytest.mark.parametrize(("query", "expected"), [("", 120.0), ("?format=date", 120.0)])
def test_a_429_from_the_server_carries_a_usable_retry_after(
    query: str, expected: float
) -> None:
    async def body(server: FeedServer, fetcher: Fetcher) -> FetchResult:
        return await fetcher.get(server.bad_url(f"429{query}"), max_bytes=10**6)

    result = run(body)
    assert result.status == 429
    seconds = retry_after_seconds(result.headers.get("retry-after"))
    assert seconds is not None and expected - 5 <= seconds <= expected
