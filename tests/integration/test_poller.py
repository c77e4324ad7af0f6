"""The poller against the real Kafka broker and the local feed fixture server.

Each test gets its own topic prefix, so its registry, state and articles.raw are its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient

from sitrep.config import Settings
from sitrep.feeds import Feed, FeedRegistry
from sitrep.feedserver import FeedServerConfig, serve
from sitrep.poller import RAW_TOPIC, Poller
from sitrep.schemas import problems
from sitrep.topics import read_to_end


@pytest.fixture
def poll_settings(
    settings: Settings, kafka_admin: KafkaAdminClient
) -> Iterator[Settings]:
    """Fast, impolite-to-localhost settings under a topic prefix of this test's own."""
    prefix = f"t{uuid.uuid4().hex[:8]}."
    yield settings.model_copy(update={
        "topic_prefix": prefix, "http_host_delay": 0.0, "http_per_host": 32,
        "http_concurrency": 64, "poll_interval": 2.0, "poll_min_interval": 1.0,
        "poll_max_interval": 30.0, "http_read_timeout": 3.0, "http_total_timeout": 10.0,
        "http_connect_timeout": 3.0, "poller_metrics_port": 0, "feeds_partitions": 4,
        "topic_partitions": 3, "allow_private_urls": True,  # the fixture server is on loopback
    })
    mine = [t for t in kafka_admin.list_topics() if t.startswith(prefix)]
    if mine:
        kafka_admin.delete_topics(mine)


def raw_messages(settings: Settings) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in read_to_end(settings, settings.topic(RAW_TOPIC))]


async def run_poller(settings: Settings, timeout: float = 120.0) -> None:
    await asyncio.wait_for(Poller(settings, exit_when_idle=True).run(), timeout)


def test_every_entry_once_none_on_restart_one_after_an_addition(poll_settings: Settings) -> None:
    async def scenario() -> tuple[int, int, int, list[dict[str, Any]]]:
        async with serve(FeedServerConfig(feeds=200, entries=20)) as server:
            FeedRegistry(poll_settings).add(Feed.create(u) for u in server.feed_urls(200))
            await run_poller(poll_settings)
            first = len(raw_messages(poll_settings))
            await run_poller(poll_settings)  # a restart: state comes back from feeds.state
            second = len(raw_messages(poll_settings))
            server.add_entry(17)
            await run_poller(poll_settings)
            messages = raw_messages(poll_settings)
            return first, second, len(messages), messages

    first, second, third, messages = asyncio.run(scenario())
    assert first == 4000
    assert second == 4000, "a restarted poller must not re-emit old entries"
    assert third == 4001, "one new entry, one new message"
    assert len({m["id"] for m in messages}) == 4001
    invalid = [p for m in messages[:200] + messages[-5:] if (p := problems("articles.raw", m))]
    assert invalid == []
    newest = messages[-1]
    assert newest["fetch"]["status"] == "ok"
    assert newest["html"] and "<html" in newest["html"].lower()


def test_conditional_requests_are_used_on_later_polls(poll_settings: Settings) -> None:
    async def scenario() -> dict[str, Any]:
        async with serve(FeedServerConfig(feeds=20, entries=3)) as server:
            FeedRegistry(poll_settings).add(Feed.create(u) for u in server.feed_urls(20))
            await run_poller(poll_settings)
            server.reset_stats()
            await run_poller(poll_settings)
            return server.stats(per_path=False)

    stats = asyncio.run(scenario())
    assert stats["feeds"] == 20, "each feed polled once by the restarted poller"
    assert stats["conditional"] >= 18, "with its validators (bar the periodic full checks)"
    assert stats["not_modified"] >= 18
    assert stats["articles"] == 0, "no article fetched twice"


BAD_FEEDS = {
    # path under /bad/ -> what `feeds list` must show (status, last_status or None)
    "malformed.xml": ("ok", "200"),
    "latin1-declared-utf8.xml": ("ok", "200"),
    "html-instead-of-feed": ("new", "200"),
    "empty.xml": ("ok", "200"),
    "duplicate-guids.xml": ("ok", "200"),
    "no-links.xml": ("ok", "200"),
    "relative-links.xml": ("ok", "200"),
    "relative-links-atom.xml": ("ok", "200"),
    "redirect-loop": ("new", "too_many_redirects"),
    "redirect-ok": ("ok", "200"),
    "slow?delay=30&mode=sleep": ("new", "timeout"),
    "404": ("new", "404"),
    "410": ("disabled", "410"),
    "429": ("new", "429"),
    "503": ("new", "503"),
    "huge-body": ("new", "200"),
    "pdf-feed.xml": ("ok", "200"),
    "wrong-content-type.xml": ("ok", "200"),
    "article-404-feed.xml": ("ok", "200"),
    "tracking-links.xml": ("ok", "200"),
    "robots-blocked-feed.xml": ("ok", "200"),
    "bom.xml": ("ok", "200"),
    "bad-dates.xml": ("ok", "200"),
    "huge-feed.xml": ("ok", "200"),
}


def test_bad_feeds_are_recorded_and_never_stop_the_poller(poll_settings: Settings) -> None:
    s = poll_settings.model_copy(update={"poll_max_new": 300})

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], str]:
        async with serve(FeedServerConfig(feeds=1, entries=1)) as server:
            urls = {path: server.bad_url(path) for path in BAD_FEEDS}
            # A refused connection as well: a port nothing listens on.
            urls["refused"] = "http://127.0.0.1:9/feed.xml"
            FeedRegistry(s).add(Feed.create(u) for u in urls.values())
            poller = Poller(s)
            task = asyncio.create_task(poller.run())
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                states = {t.feed.url: t.state for t in poller.tracked.values()}
                if len(states) == len(urls) and all(st.polls >= 1 for st in states.values()):
                    break
            poller.stop()
            await asyncio.wait_for(task, 30)
            registry = FeedRegistry(s)
            by_url = {f.url: registry.states().get(f.id) for f in registry.feeds().values()}
            listing = subprocess.run(
                [sys.executable, "-m", "sitrep", "feeds", "list"],
                env={**os.environ, "SITREP_TOPIC_PREFIX": s.topic_prefix, "COLUMNS": "250"},
                capture_output=True, text=True, timeout=60, check=True,
            ).stdout
            return {p: by_url.get(Feed.create(u).url) for p, u in urls.items()}, \
                raw_messages(s), listing

    states, messages, listing = asyncio.run(scenario())
    missing = [path for path, state in states.items() if state is None or state.polls < 1]
    assert missing == [], f"never polled: {missing}"
    for path, (status, last) in BAD_FEEDS.items():
        state = states[path]
        assert state is not None
        assert state.status in (status, "failing") if status == "new" else state.status == status, \
            (path, state.status, state.last_error)
        # A successful feed may have been polled again meanwhile and answered 304.
        expected = {last, "304"} if last == "200" and status == "ok" else {last}
        assert state.last_status in expected, (path, state.last_status, state.last_error)
    assert states["refused"] is not None and states["refused"].last_status == "connection_error"
    assert "not an RSS or Atom feed" in (states["html-instead-of-feed"].last_error or "")
    assert "larger than" in (states["huge-body"].last_error or "")
    assert states["malformed.xml"].last_error, "the malformed XML is recorded"
    assert states["malformed.xml"].items_seen >= 3, "and the usable entries are used"
    assert states["duplicate-guids.xml"].items_seen == 4
    assert states["huge-feed.xml"].items_seen >= 300, "a giant feed makes progress"

    by_feed = Counter(m["feed"]["url"].rsplit("/bad/", 1)[-1] for m in messages)
    status_of = {
        (m["feed"]["url"].rsplit("/bad/", 1)[-1], m["fetch"]["status"]) for m in messages
    }
    assert ("pdf-feed.xml", "non_html") in status_of
    assert ("no-links.xml", "no_link") in status_of
    assert ("robots-blocked-feed.xml", "robots_disallowed") in status_of
    assert ("article-404-feed.xml", "http_error") in status_of
    assert by_feed["no-links.xml"] == 5
    relative = [m for m in messages if m["feed"]["url"].endswith("/bad/relative-links.xml")]
    assert all("/bad/articles/relative/" in (m["url"] or "") for m in relative)
    tracking = {m["canonical_url"] for m in messages if "tracking-links" in m["feed"]["url"]}
    assert all("utm_" not in (u or "") for u in tracking)
    assert [p for m in messages if (p := problems("articles.raw", m))][:3] == []
    # Every bad feed is visible to the user with its status.
    assert "disabled" in listing and "too_many_redirects" in listing


def test_two_pollers_share_feeds_and_survive_a_sigkill(
    poll_settings: Settings, tmp_path: Path
) -> None:
    s = poll_settings
    env = {
        **os.environ, "SITREP_TOPIC_PREFIX": s.topic_prefix, "SITREP_HTTP_HOST_DELAY": "0",
        "SITREP_HTTP_PER_HOST": "8", "SITREP_POLL_INTERVAL": "2", "SITREP_POLL_MIN_INTERVAL": "1",
        "SITREP_POLLER_METRICS_PORT": "0", "SITREP_FEEDS_PARTITIONS": "4",
        "SITREP_TOPIC_PARTITIONS": "3", "SITREP_HTTP_CONCURRENCY": "16",
        "SITREP_ALLOW_PRIVATE_URLS": "true",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "sitrep.feedserver", "--port", "0", "--feeds", "200",
         "--entries", "20"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    pollers: list[subprocess.Popen[str]] = []
    try:
        assert server.stdout is not None
        line = wait_for_line(server.stdout, "listening on")
        base = line.split("listening on", 1)[1].split()[0]
        FeedRegistry(s).add(Feed.create(f"{base}/feeds/{n}.xml") for n in range(200))
        for name in ("a", "b"):
            log = (tmp_path / f"poller-{name}.log").open("w")
            pollers.append(subprocess.Popen(
                [sys.executable, "-m", "sitrep", "poller"], env=env, stdout=log, stderr=log,
                text=True,
            ))
        # Kill one poller in the middle of its work.
        wait_until(lambda: len(raw_messages(s)) >= 800, 60, "first 800 messages")
        pollers[0].send_signal(signal.SIGKILL)
        pollers[0].wait()
        wait_until(
            lambda: len({m["id"] for m in raw_messages(s)}) >= 4000, 120,
            "every entry after the kill",
        )
    finally:
        for process in [*pollers, server]:
            if process.poll() is None:
                process.terminate()
                process.wait(30)
    messages = raw_messages(s)
    ids = Counter(m["id"] for m in messages)
    assert len(ids) == 4000, "every entry arrives"
    duplicates = sum(n - 1 for n in ids.values())
    # Duplicates can only come from the killed poller's at-least-once window: entries of the
    # polls it had in flight (at most 16 at once here, 20 entries each) or had just finished,
    # produced but with the feed's state not yet written. Downstream, the Elasticsearch
    # document id (hash of the canonical URL) makes them one document.
    assert duplicates <= 2 * 16 * 20, duplicates
    print(f"duplicates from the SIGKILL window: {duplicates}")


def wait_for_line(stream: Any, needle: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = stream.readline()
        if needle in line:
            return str(line)
    raise AssertionError(f"no line with {needle!r} within {timeout} s")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")
