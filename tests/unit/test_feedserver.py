"""Behaviour of the local feed fixture server (sitrep.feedserver).

Each test starts the server in-process on an ephemeral 127.0.0.1 port and talks to it
with aiohttp's client (one test uses httpx, one the CLI in a separate process). The
event loop is run with asyncio.run inside plain sync tests, so no pytest plugin is needed.
"""

from __future__ import annotations

import asyncio
import calendar
import gzip
import json
import re
import subprocess
import sys
import time
import zlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit
from xml.etree import ElementTree

import aiohttp
import feedparser
import httpx
import pytest
from multidict import CIMultiDict

from sitrep.feedserver import (
    MISBEHAVIOURS,
    FeedServer,
    FeedServerConfig,
    ManifestError,
    build_app,
    feed_urls,
    serve,
)

T = TypeVar("T")
Body = Callable[[FeedServer, aiohttp.ClientSession], Awaitable[T]]

SMALL = FeedServerConfig(feeds=6, entries=4, seed=7, atom_share=0.5)


def run(body: Body[T], config: FeedServerConfig = SMALL, **session: Any) -> T:
    """Start a server, open a client session, run ``body(server, client)``."""

    async def main() -> T:
        async with serve(config) as server, aiohttp.ClientSession(**session) as client:
            return await body(server, client)

    return asyncio.run(main())


async def fetch(
    client: aiohttp.ClientSession, url: str, **kwargs: Any
) -> tuple[int, CIMultiDict[str], bytes]:
    """Status, headers and body of ``GET url``."""
    async with client.get(url, **kwargs) as response:
        return response.status, CIMultiDict(response.headers), await response.read()


def parse(body: bytes, url: str = "", content_type: str = "application/xml") -> Any:
    """feedparser's view of a body, as if fetched from ``url`` with ``content_type``."""
    headers = {"content-location": url, "content-type": content_type}
    return feedparser.parse(body, response_headers=headers)


# -- generated feeds ------------------------------------------------------------------------


def test_feed_urls_list_the_generated_feeds() -> None:
    assert feed_urls("http://127.0.0.1:8700/", 3) == [
        "http://127.0.0.1:8700/feeds/0.xml",
        "http://127.0.0.1:8700/feeds/1.xml",
        "http://127.0.0.1:8700/feeds/2.xml",
    ]


def test_feeds_parse_with_feedparser() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        versions = set()
        guids: set[str] = set()
        for n, url in enumerate(server.feed_urls()):
            status, headers, raw = await fetch(client, url)
            assert status == 200
            parsed = parse(raw, url, headers["Content-Type"])
            assert not parsed.bozo, parsed.get("bozo_exception")
            versions.add(parsed.version)
            assert headers["Content-Type"].startswith(
                "application/atom+xml" if parsed.version == "atom10" else "application/rss+xml"
            )
            assert len(parsed.entries) == SMALL.entries
            newest = parsed.entries[0]
            assert newest.link == server.article_url(n, SMALL.entries - 1)
            for entry in parsed.entries:
                assert entry.title and entry.summary and entry.published_parsed
                assert entry.link.startswith(f"{server.base_url}/articles/{n}/")
                guids.add(entry.id)
            dates = [e.published_parsed for e in parsed.entries]
            assert dates == sorted(dates, reverse=True)
        assert versions == {"rss20", "atom10"}
        assert len(guids) == SMALL.feeds * SMALL.entries

    run(body)


def test_feed_entries_carry_authors_and_categories() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        authors = categories = 0
        for url in server.feed_urls():
            parsed = parse((await fetch(client, url))[2], url)
            authors += sum(len(e.get("authors", [])) for e in parsed.entries)
            categories += sum(len(e.get("tags", [])) for e in parsed.entries)
        assert authors > 0 and categories > 0

    run(body, FeedServerConfig(feeds=10, entries=10))


def test_feeds_are_deterministic_for_a_seed() -> None:
    async def grab(server: FeedServer, client: aiohttp.ClientSession) -> list[bytes]:
        out = []
        for url in [*server.feed_urls(), server.article_url(2, 1)]:
            raw = (await fetch(client, url))[2]
            out.append(raw.replace(server.base_url.encode(), b"BASE"))
        return out

    async def etags(server: FeedServer, client: aiohttp.ClientSession) -> list[str]:
        return [server.etag(n) for n in range(server.config.feeds)]

    assert run(etags) == run(etags)  # validators agree across processes and restarts
    first, second = run(grab), run(grab)
    other_seed = run(grab, FeedServerConfig(feeds=6, entries=4, seed=8, atom_share=0.5))
    assert first == second
    assert first[0] != other_seed[0]


def test_base_time_in_any_offset_sets_the_dates() -> None:
    base_time = datetime(2024, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=2)))

    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        status, headers, raw = await fetch(client, server.feed_url(0))
        assert status == 200
        assert parsedate_to_datetime(headers["Last-Modified"]) <= base_time
        newest = parse(raw).entries[0].published_parsed  # a UTC struct_time
        published = datetime.fromtimestamp(calendar.timegm(newest), UTC)
        assert base_time - timedelta(days=1) < published <= base_time
        since = {"If-Modified-Since": headers["Last-Modified"]}
        assert (await fetch(client, server.feed_url(0), headers=since))[0] == 304
        assert (await fetch(client, server.article_url(0, 0)))[0] == 200

    run(body, FeedServerConfig(feeds=1, entries=3, base_time=base_time))


def test_atom_share_picks_the_feed_format() -> None:
    async def versions(server: FeedServer, client: aiohttp.ClientSession) -> set[str]:
        return {parse((await fetch(client, u))[2]).version for u in server.feed_urls()}

    assert run(versions, FeedServerConfig(feeds=8, entries=1, atom_share=0.0)) == {"rss20"}
    assert run(versions, FeedServerConfig(feeds=8, entries=1, atom_share=1.0)) == {"atom10"}


def test_feed_answers_304_to_matching_etag() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        url = server.feed_url(1)
        status, headers, _ = await fetch(client, url)
        etag = headers["ETag"]
        strong = server.etag(1)
        assert status == 200 and etag == f"W/{strong}"  # weakened because it was gzipped
        for header in (etag, strong, f'"nope", {strong}', "*"):
            status, headers, raw = await fetch(client, url, headers={"If-None-Match": header})
            assert (status, raw) == (304, b""), header
            assert headers["ETag"] == etag
        status, _, _ = await fetch(client, url, headers={"If-None-Match": '"other"'})
        assert status == 200
        identity = {"If-None-Match": etag, "Accept-Encoding": "identity"}
        status, headers, _ = await fetch(client, url, headers=identity)
        assert status == 304 and headers["ETag"] == strong

    run(body)


def test_feed_answers_304_to_if_modified_since() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        url = server.feed_url(2)
        _, headers, _ = await fetch(client, url)
        modified = parsedate_to_datetime(headers["Last-Modified"])
        same = {"If-Modified-Since": headers["Last-Modified"]}
        assert (await fetch(client, url, headers=same))[0] == 304
        older = {"If-Modified-Since": format_datetime(modified - timedelta(1), usegmt=True)}
        assert (await fetch(client, url, headers=older))[0] == 200
        garbage = {"If-Modified-Since": "last tuesday"}
        assert (await fetch(client, url, headers=garbage))[0] == 200
        # If-None-Match wins over If-Modified-Since.
        both = {"If-None-Match": '"other"', **same}
        assert (await fetch(client, url, headers=both))[0] == 200

    run(body)


def test_compression_follows_accept_encoding() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        url = server.feed_url(0)
        plain_status, plain_headers, plain = await fetch(
            client, url, headers={"Accept-Encoding": "identity"}
        )
        assert plain_status == 200 and "Content-Encoding" not in plain_headers
        _, headers, gz = await fetch(client, url, headers={"Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip" and gzip.decompress(gz) == plain
        assert headers["ETag"] == f"W/{plain_headers['ETag']}"
        assert "Accept-Encoding" in headers["Vary"]
        _, headers, zipped = await fetch(client, url, headers={"Accept-Encoding": "deflate"})
        assert headers["Content-Encoding"] == "deflate" and zlib.decompress(zipped) == plain
        refused = {"Accept-Encoding": "gzip;q=0, deflate;q=0"}
        assert "Content-Encoding" not in (await fetch(client, url, headers=refused))[1]
        weak = {"If-None-Match": headers["ETag"], "Accept-Encoding": "gzip"}
        assert (await fetch(client, url, headers=weak))[0] == 304

    run(body, auto_decompress=False)


def test_head_request_has_validators_and_no_body() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        identity = {"Accept-Encoding": "identity"}
        async with client.head(server.feed_url(0), headers=identity) as response:
            assert response.status == 200
            assert response.headers["ETag"] == server.etag(0)
            assert await response.read() == b""

    run(body)


def test_unknown_feed_and_article_are_404() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        assert (await fetch(client, server.feed_url(SMALL.feeds)))[0] == 404
        assert (await fetch(client, server.article_url(0, SMALL.entries)))[0] == 404
        assert (await fetch(client, server.article_url(SMALL.feeds, 0)))[0] == 404
        assert (await fetch(client, f"{server.base_url}/nowhere"))[0] == 404

    run(body)


def test_root_and_section_pages_describe_the_server() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        status, _, raw = await fetch(client, f"{server.base_url}/")
        info = json.loads(raw)
        assert status == 200 and info["feeds"] == SMALL.feeds and info["seed"] == SMALL.seed
        status, headers, raw = await fetch(client, f"{server.base_url}/articles/2/")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        for i in range(SMALL.entries):
            assert server.article_url(2, i).encode() in raw

    run(body)


# -- article pages --------------------------------------------------------------------------


def test_article_pages_are_realistic_news_html() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        feed = parse((await fetch(client, server.feed_url(3)))[2])
        entry = feed.entries[0]
        status, headers, raw = await fetch(client, entry.link)
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        html = raw.decode()
        for marker in (
            "<!DOCTYPE html>",
            '<meta property="og:title"',
            '<link rel="canonical"',
            "application/ld+json",
            "<nav",
            "<article",
            "<figure",
            "<figcaption>",
            'class="related"',
            "<footer",
        ):
            assert marker in html, marker
        assert len(re.findall(r"<p>", html)) >= 3
        og_title = re.search(r'<meta property="og:title" content="([^"]*)"', html)
        assert og_title is not None
        assert (
            feedparser.parse(
                f"<rss><channel><item><title>{og_title.group(1)}</title></item></channel></rss>"
            )
            .entries[0]
            .title
            == entry.title
        )
        again = (await fetch(client, entry.link))[2]
        assert again == raw

    run(body)


def test_article_pages_are_10_to_40_kb() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> list[int]:
        sizes = []
        for n in range(server.config.feeds):
            for i in range(server.config.entries):
                sizes.append(len((await fetch(client, server.article_url(n, i)))[2]))
        return sizes

    sizes = run(body, FeedServerConfig(feeds=10, entries=6))
    assert all(10_000 <= s <= 40_000 for s in sizes), sizes
    assert max(sizes) - min(sizes) > 8_000  # sizes vary


def test_article_answers_304_to_its_etag() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        url = server.article_url(1, 1)
        _, headers, _ = await fetch(client, url)
        conditional = {"If-None-Match": headers["ETag"]}
        assert (await fetch(client, url, headers=conditional))[0] == 304

    run(body)


# -- mutations ------------------------------------------------------------------------------


def test_added_entry_changes_etag_and_appears_first() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        url = server.feed_url(2)
        _, headers, before = await fetch(client, url)
        old_guids = [e.id for e in parse(before).entries]
        added = server.add_entry(2)
        status, new_headers, after = await fetch(
            client, url, headers={"If-None-Match": headers["ETag"]}
        )
        assert status == 200
        assert new_headers["ETag"] != headers["ETag"]
        assert new_headers["Last-Modified"] != headers["Last-Modified"]
        entries = parse(after).entries
        assert entries[0].id == added["guid"] and entries[0].title == added["title"]
        assert entries[0].link == added["link"]
        assert [e.id for e in entries[1:]] == old_guids
        # Exactly one new entry, and its article exists.
        assert len({e.id for e in entries} - set(old_guids)) == 1
        assert (await fetch(client, added["link"]))[0] == 200
        # Other feeds are untouched.
        assert (await fetch(client, server.feed_url(1)))[1]["ETag"] == f"W/{server.etag(1)}"

    run(body)


def test_admin_endpoint_adds_entries() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        old_etag = server.etag(0)
        async with client.post(f"{server.base_url}/admin/feeds/0/entries") as response:
            assert response.status == 201
            data = await response.json()
        assert data["entries"] == SMALL.entries + 1 and data["etag"] != old_etag
        async with client.post(
            f"{server.base_url}/admin/feeds/0/entries", json={"count": 3}
        ) as response:
            data = await response.json()
        assert [e["index"] for e in data["added"]] == [7, 6, 5]
        feed = parse((await fetch(client, server.feed_url(0)))[2])
        assert [e.id for e in feed.entries[:3]] == [e["guid"] for e in data["added"]]
        async with client.post(f"{server.base_url}/admin/feeds/99/entries") as response:
            assert response.status == 404

    run(body)


def test_set_status_makes_a_feed_fail_until_restored() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        url = server.feed_url(4)
        server.set_status(4, 410)
        assert (await fetch(client, url))[0] == 410
        assert (await fetch(client, server.stale_url(4)))[0] == 410
        async with client.post(
            f"{server.base_url}/admin/feeds/4/status", json={"status": 503, "retry_after": 42}
        ) as response:
            assert response.status == 200
        status, headers, _ = await fetch(client, url)
        assert status == 503 and headers["Retry-After"] == "42"
        async with client.post(
            f"{server.base_url}/admin/feeds/4/status", json={"status": 418}
        ) as response:
            assert response.status == 400
        server.set_status(4, 200)
        assert (await fetch(client, url))[0] == 200

    run(body)


def test_reset_restores_the_original_feeds() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        original = server.etag(3)
        server.add_entry(3)
        server.set_status(1, 404)
        async with client.post(f"{server.base_url}/admin/reset") as response:
            assert response.status == 200
        assert server.etag(3) == original
        assert (await fetch(client, server.feed_url(1)))[0] == 200
        assert server.stats()["feeds"] == 1

    run(body)


def test_stale_feed_keeps_validators_after_change() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        url = server.stale_url(1)
        _, headers, before = await fetch(client, url)
        added = server.add_entry(1)
        conditional = {"If-None-Match": headers["ETag"]}
        assert (await fetch(client, url, headers=conditional))[0] == 304
        since = {"If-Modified-Since": headers["Last-Modified"]}
        assert (await fetch(client, url, headers=since))[0] == 304
        status, new_headers, after = await fetch(client, url)
        assert status == 200
        assert new_headers["ETag"] == headers["ETag"]
        assert new_headers["Last-Modified"] == headers["Last-Modified"]
        assert after != before
        assert parse(after).entries[0].id == added["guid"]
        # The normal feed with the same content did change its validators.
        assert server.etag(1) != headers["ETag"]

    run(body)


# -- statistics -----------------------------------------------------------------------------


def test_stats_count_requests() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        url = server.feed_url(0)
        _, headers, _ = await fetch(client, url, headers={"User-Agent": "sitrep-test/1"})
        await asyncio.sleep(0.02)
        await fetch(client, url, headers={"If-None-Match": headers["ETag"]})
        await fetch(client, server.article_url(0, 0))
        await fetch(client, f"{server.base_url}/robots.txt")
        await fetch(client, f"{server.base_url}/bad/404")
        await fetch(client, server.stale_url(5))
        stats = server.stats()
        assert stats["requests"] == 6
        assert (stats["feeds"], stats["articles"], stats["robots"]) == (2, 1, 1)
        assert (stats["bad"], stats["stale"], stats["not_modified"]) == (1, 1, 1)
        assert stats["conditional"] == 1
        assert stats["statuses"] == {"200": 4, "304": 1, "404": 1}
        assert stats["user_agents"]["sitrep-test/1"] == 1
        feed = stats["per_feed"]["/feeds/0.xml"]
        assert (feed["requests"], feed["conditional"], feed["not_modified"]) == (2, 1, 1)
        assert feed["min_gap_s"] >= 0.02
        assert stats["per_article"] == {"/articles/0/0.html": 1}
        async with client.get(f"{server.base_url}/admin/stats") as response:
            over_http = await response.json()
        assert over_http["requests"] == 6
        assert over_http["per_feed"]["/feeds/0.xml"]["requests"] == 2
        async with client.get(f"{server.base_url}/admin/stats?per_path=0") as response:
            assert "per_feed" not in await response.json()
        async with client.post(f"{server.base_url}/admin/stats/reset") as response:
            assert response.status == 200
        assert server.stats()["requests"] == 0
        assert server.stats()["admin"] == 1  # the reset itself; admin calls never count as requests

    run(body)


# -- misbehaviours --------------------------------------------------------------------------


def test_bad_index_lists_every_misbehaviour_with_its_status() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        status, _, raw = await fetch(client, f"{server.base_url}/bad/")
        index = json.loads(raw)["misbehaviours"]
        assert status == 200 and len(index) == len(MISBEHAVIOURS)
        for item in index:
            path = item["path"]
            if path.startswith(("/bad/huge", "/bad/slow")):
                continue  # exercised by their own tests
            status, headers, raw = await fetch(
                client, f"{server.base_url}{path}", allow_redirects=False
            )
            assert status == item["status"], path
            if item["content_type"]:
                assert headers["Content-Type"] == item["content_type"], path
            if item["feed"] and "entries" in item["expect"] and status == 200:
                assert len(parse(raw).entries) == item["expect"]["entries"], path

    run(body)


def test_malformed_feed_is_broken_but_partly_usable() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        raw = (await fetch(client, server.bad_url("malformed.xml")))[2]
        with pytest.raises(ElementTree.ParseError):
            ElementTree.fromstring(raw)
        parsed = parse(raw)
        assert parsed.bozo
        assert len(parsed.entries) >= 3
        assert all(e.link.startswith(server.base_url) for e in parsed.entries[:3])
        guids = [e.id for e in parsed.entries if "id" in e]
        assert len(guids) == len(set(guids))

    run(body)


def test_latin1_feed_bytes_are_not_utf8() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        _, headers, raw = await fetch(client, server.bad_url("latin1-declared-utf8.xml"))
        assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
        assert "utf-8" in headers["Content-Type"]
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        text = raw.decode("iso-8859-1")
        assert "José Müller" in text and "Zoë Ångström" in text
        assert "José".encode("iso-8859-1") in raw

    run(body)


def test_html_instead_of_feed_is_an_html_page() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        status, headers, raw = await fetch(client, server.bad_url("html-instead-of-feed"))
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert raw.lstrip().lower().startswith(b"<!doctype html>")
        assert b'type="application/rss+xml"' in raw  # autodiscovery link

    run(body)


def test_empty_feed_is_valid_without_entries() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        raw = (await fetch(client, server.bad_url("empty.xml")))[2]
        parsed = parse(raw)
        assert not parsed.bozo and parsed.entries == [] and parsed.feed.title

    run(body)


def test_huge_feed_streams_10000_entries() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        async with client.get(server.bad_url("huge-feed.xml")) as response:
            assert response.status == 200
            assert "Content-Length" not in response.headers
            raw = await response.read()
        root = ElementTree.fromstring(raw)
        items = root.findall("./channel/item")
        assert len(items) == 10_000
        assert len({i.findtext("guid") for i in items}) == 10_000
        etag = {"If-None-Match": response.headers["ETag"]}
        assert (await fetch(client, server.bad_url("huge-feed.xml"), headers=etag))[0] == 304

    run(body)


def test_duplicate_guids_feed_repeats_guids() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        parsed = parse((await fetch(client, server.bad_url("duplicate-guids.xml")))[2])
        assert len(parsed.entries) == 8
        assert len({e.id for e in parsed.entries}) == 4
        assert len({e.link for e in parsed.entries}) == 8

    run(body)


def test_no_links_feed_has_entries_without_links() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        raw = (await fetch(client, server.bad_url("no-links.xml")))[2]
        items = ElementTree.fromstring(raw).findall("./channel/item")
        assert len(items) == 5 and all(i.find("link") is None for i in items)
        assert all(i.findtext("guid") for i in items)

    run(body)


def test_relative_links_resolve_to_articles() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        rss_url = server.bad_url("relative-links.xml")
        raw = (await fetch(client, rss_url))[2]
        links = [i.findtext("link") or "" for i in ElementTree.fromstring(raw).iter("item")]
        assert not any(link.startswith("http") for link in links)
        resolved = {urljoin(rss_url, link) for link in links}
        expected = {f"{server.base_url}/bad/articles/relative/{i}.html" for i in range(5)}
        assert resolved == expected

        atom_url = server.bad_url("relative-links-atom.xml")
        raw = (await fetch(client, atom_url))[2]
        assert b'xml:base="/bad/articles/"' in raw
        parsed = parse(raw, atom_url)
        atom_links = {e.link for e in parsed.entries}
        assert atom_links == {f"{server.base_url}/bad/articles/relative/{i}.html" for i in range(4)}
        for link in atom_links:
            assert (await fetch(client, link))[0] == 200

    run(body)


def test_redirect_loop_never_ends() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        url = server.bad_url("redirect-loop")
        seen = []
        for _ in range(12):
            status, headers, _ = await fetch(client, url, allow_redirects=False)
            assert status == 302
            url = urljoin(url, headers["Location"])
            seen.append(urlsplit(url).path)
        assert set(seen) == {"/bad/redirect-loop", "/bad/redirect-loop-b"}
        with pytest.raises(aiohttp.TooManyRedirects):
            await fetch(client, server.bad_url("redirect-loop"), max_redirects=10)
        status, headers, _ = await fetch(
            client, server.bad_url("redirect-self"), allow_redirects=False
        )
        assert status == 302 and headers["Location"] == server.bad_url("redirect-self")

    run(body)


def test_redirect_ok_reaches_a_good_feed_after_three_301s() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        async with client.get(server.bad_url("redirect-ok")) as response:
            assert response.status == 200
            assert [r.status for r in response.history] == [301, 301, 301]
            assert str(response.url) == server.bad_url("redirect-target.xml")
            assert len(parse(await response.read()).entries) == 5

    run(body)


def test_slow_endpoint_sends_headers_then_stalls() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        start = time.monotonic()
        async with client.get(server.bad_url("slow?delay=0.6")) as response:
            headers_after = time.monotonic() - start
            raw = await response.read()
        body_after = time.monotonic() - start
        assert response.status == 200 and headers_after < 0.4 <= 0.6 <= body_after
        assert len(parse(raw).entries) == 5
        # A poller with a read timeout gives up; the server stays responsive.
        timeout = aiohttp.ClientTimeout(sock_read=0.2)
        with pytest.raises(asyncio.TimeoutError):
            await fetch(client, server.bad_url("slow?delay=30"), timeout=timeout)
        assert (await fetch(client, server.feed_url(0)))[0] == 200

    run(body)


def test_slow_endpoint_sleep_mode_answers_after_the_delay() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        start = time.monotonic()
        status, _, _ = await fetch(client, server.bad_url("slow?delay=0.3&mode=sleep"))
        assert status == 200 and time.monotonic() - start >= 0.3
        start = time.monotonic()
        status, _, raw = await fetch(client, server.bad_url("slow?delay=0.3&mode=trickle"))
        assert status == 200 and time.monotonic() - start >= 0.25
        assert len(parse(raw).entries) == 5

    run(body)


def test_error_endpoints_carry_retry_after() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        assert (await fetch(client, server.bad_url("404")))[0] == 404
        assert (await fetch(client, server.bad_url("410")))[0] == 410
        status, headers, _ = await fetch(client, server.bad_url("429"))
        assert status == 429 and headers["Retry-After"] == "120"
        status, headers, _ = await fetch(client, server.bad_url("503?retry_after=7"))
        assert status == 503 and headers["Retry-After"] == "7"
        _, headers, _ = await fetch(client, server.bad_url("503?format=date"))
        when = parsedate_to_datetime(headers["Retry-After"])
        assert timedelta(seconds=250) < when - datetime.now(UTC) < timedelta(seconds=350)

    run(body)


def test_huge_body_streams_50_mb() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        for path, with_length in (("huge-body", False), ("huge-body-length", True)):
            async with client.get(server.bad_url(path)) as response:
                assert response.status == 200
                assert response.headers["Content-Type"].startswith("text/html")
                if with_length:
                    assert response.headers["Content-Length"] == str(50 * 1024 * 1024)
                else:
                    assert "Content-Length" not in response.headers
                    assert response.headers["Transfer-Encoding"] == "chunked"
                total = 0
                async for chunk in response.content.iter_chunked(1 << 20):
                    total += len(chunk)
            assert total == 50 * 1024 * 1024
        # A poller that stops reading early just closes the connection.
        async with client.get(server.bad_url("huge-body")) as response:
            first = await response.content.read(100_000)
            assert len(first) == 100_000
            response.close()
        assert (await fetch(client, server.bad_url("huge-body?bytes=1000")))[2].endswith(
            b"</html>\n"
        )

    run(body)


def test_pdf_article_is_a_pdf() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        status, headers, raw = await fetch(client, server.bad_url("pdf-article.pdf"))
        assert status == 200 and headers["Content-Type"] == "application/pdf"
        assert raw.startswith(b"%PDF-1.") and raw.rstrip().endswith(b"%%EOF")
        xref_at = int(raw.rsplit(b"startxref", 1)[1].split()[0])
        assert raw[xref_at:].startswith(b"xref")
        offsets = re.findall(rb"(\d{10}) 00000 n ", raw[xref_at:])
        for number, offset in enumerate(offsets, start=1):
            assert raw[int(offset) :].startswith(b"%d 0 obj" % number)
        parsed = parse((await fetch(client, server.bad_url("pdf-feed.xml")))[2])
        (entry,) = parsed.entries
        assert entry.link == server.bad_url("pdf-article.pdf")
        assert entry.enclosures[0].type == "application/pdf"
        assert int(entry.enclosures[0].length) == len(raw)

    run(body)


def test_wrong_content_type_feed_is_a_valid_feed_as_text_plain() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        _, headers, raw = await fetch(client, server.bad_url("wrong-content-type.xml"))
        assert headers["Content-Type"].startswith("text/plain")
        assert ElementTree.fromstring(raw).tag == "rss"

    run(body)


def test_article_404_feed_links_to_missing_articles() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        parsed = parse((await fetch(client, server.bad_url("article-404-feed.xml")))[2])
        assert len(parsed.entries) == 3
        for entry in parsed.entries:
            assert (await fetch(client, entry.link))[0] == 404

    run(body)


def test_tracking_links_repeat_an_article_with_different_parameters() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        parsed = parse((await fetch(client, server.bad_url("tracking-links.xml")))[2])
        links = [e.link for e in parsed.entries]
        assert all("utm_" in link or "fbclid" in link for link in links)
        assert len(set(links)) == len(links) == 5
        assert len({e.id for e in parsed.entries}) == 5
        paths = [urlsplit(link).path for link in links]
        assert len(set(paths)) == 4
        for link in links:
            status, _, raw = await fetch(client, link)
            assert status == 200
            canonical = re.search(rb'<link rel="canonical" href="([^"]+)"', raw)
            assert canonical is not None and b"?" not in canonical.group(1)

    run(body)


def test_robots_txt_disallows_private_where_a_feed_links() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        status, _, robots = await fetch(client, f"{server.base_url}/robots.txt")
        assert status == 200 and b"Disallow: /private/" in robots
        parsed = parse((await fetch(client, server.bad_url("robots-blocked-feed.xml")))[2])
        assert len(parsed.entries) == 3
        assert all(urlsplit(e.link).path.startswith("/private/") for e in parsed.entries)
        # The pages exist, so a poller ignoring robots.txt shows up in the statistics.
        assert (await fetch(client, parsed.entries[0].link))[0] == 200
        assert server.stats()["private"] == 1

    run(body)


def test_validator_misbehaviours() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        _, headers, _ = await fetch(client, server.bad_url("no-validators.xml"))
        assert "ETag" not in headers and "Last-Modified" not in headers
        url = server.bad_url("changing-etag.xml")
        _, first, raw1 = await fetch(client, url)
        status, second, raw2 = await fetch(client, url, headers={"If-None-Match": first["ETag"]})
        assert status == 200 and second["ETag"] != first["ETag"] and raw1 == raw2

    run(body)


def test_bom_and_bad_dates_feeds_are_survivable() -> None:
    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        raw = (await fetch(client, server.bad_url("bom.xml")))[2]
        assert raw.startswith(b"\xef\xbb\xbf<?xml")
        assert len(parse(raw).entries) == 3
        dates = ElementTree.fromstring(
            (await fetch(client, server.bad_url("bad-dates.xml")))[2]
        ).findall("./channel/item")
        texts = [item.findtext("pubDate") for item in dates]
        assert None in texts and "yesterday-ish, 25:61" in texts

    run(body)


# -- demo mode ------------------------------------------------------------------------------


def _write_manifest(tmp_path: Path) -> Path:
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "one.html").write_text(
        "<html><body><article><p>Première page</p></article></body></html>", encoding="utf-8"
    )
    (pages / "two.html").write_text("<html><body>Second</body></html>", encoding="utf-8")
    manifest = tmp_path / "demo.yaml"
    manifest.write_text(
        """
sites:
  - key: wire
    name: Example Wire
    path: /sites/wire/
  - key: daily
    name: The Daily Example
    path: /sites/daily/
articles:
  - slug: reuters-2017-05-30-pmf-border-villages
    file: pages/one.html
    site: wire
    title: "PMF takes border villages"
    summary: "Fighters advanced towards the border."
    published: "2017-05-30T10:00:00+00:00"
    authors: [Jane Doe]
    tags: [Iraq, Syria]
    language: en
  - slug: later-story
    file: pages/two.html
    site: wire
    title: "A later story"
    summary: "Second."
    published: 2017-06-01T08:00:00Z
    authors: []
    tags: []
    language: en
  - slug: gone
    file: pages/missing.html
    site: daily
    title: "File not there"
    summary: ""
    published: "2017-05-01T00:00:00+00:00"
""",
        encoding="utf-8",
    )
    return manifest


def test_demo_manifest_serves_site_feeds(tmp_path: Path) -> None:
    manifest = _write_manifest(tmp_path)

    async def body(server: FeedServer, client: aiohttp.ClientSession) -> None:
        url = f"{server.base_url}/sites/wire/feed.xml"
        status, headers, raw = await fetch(client, url)
        assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
        parsed = parse(raw)
        assert not parsed.bozo and parsed.feed.title == "Example Wire"
        assert [e.title for e in parsed.entries] == ["A later story", "PMF takes border villages"]
        pmf = parsed.entries[1]
        assert (
            pmf.link == f"{server.base_url}/sites/wire/reuters-2017-05-30-pmf-border-villages.html"
        )
        assert pmf.summary == "Fighters advanced towards the border."
        assert pmf.author == "Jane Doe"
        assert [t.term for t in pmf.tags] == ["Iraq", "Syria"]
        assert pmf.published_parsed[:4] == (2017, 5, 30, 10)
        status, headers, page = await fetch(client, pmf.link)
        assert status == 200 and "Première page" in page.decode()
        assert headers["Content-Type"] == "text/html; charset=utf-8"
        conditional = {"If-None-Match": (await fetch(client, url))[1]["ETag"]}
        assert (await fetch(client, url, headers=conditional))[0] == 304
        assert (await fetch(client, f"{server.base_url}/sites/daily/gone.html"))[0] == 404
        assert (await fetch(client, f"{server.base_url}/sites/nope/feed.xml"))[0] == 404
        async with client.get(f"{server.base_url}/sites/") as response:
            sites = {s["key"]: s for s in (await response.json())["sites"]}
        assert sites["wire"]["articles"] == 2 and sites["daily"]["feed"].endswith("feed.xml")
        stats = server.stats()
        assert stats["demo_feeds"] >= 3 and stats["demo_pages"] == 2

    run(body, FeedServerConfig(feeds=1, entries=1, demo_manifest=manifest))


def test_demo_manifest_errors_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read"):
        build_app(FeedServerConfig(demo_manifest=tmp_path / "absent.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites: []\narticles:\n  - {slug: a, file: a.html, site: nowhere}\n")
    with pytest.raises(ManifestError, match="unknown site 'nowhere'"):
        build_app(FeedServerConfig(demo_manifest=bad))


# -- other clients, processes and configuration ---------------------------------------------


def test_httpx_client_gets_304_with_etag() -> None:
    async def main() -> None:
        async with serve(SMALL) as server, httpx.AsyncClient() as client:
            first = await client.get(server.feed_url(0))
            assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
            second = await client.get(
                server.feed_url(0), headers={"If-None-Match": first.headers["etag"]}
            )
            assert second.status_code == 304

    asyncio.run(main())


def test_cli_serves_feeds_from_a_separate_process() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sitrep.feedserver",
            "--port",
            "0",
            "--feeds",
            "3",
            "--entries",
            "2",
            "--seed",
            "7",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        base = match.group(1)
        response = httpx.get(f"{base}/feeds/2.xml", timeout=10)
        assert response.status_code == 200
        assert len(parse(response.content).entries) == 2
        assert httpx.get(f"{base}/feeds/3.xml", timeout=10).status_code == 404
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        FeedServerConfig(feeds=-1)
    with pytest.raises(ValueError):
        FeedServerConfig(atom_share=1.5)
    with pytest.raises(ValueError):
        FeedServerConfig(base_time=datetime(2025, 1, 1))
