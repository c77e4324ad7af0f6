"""``sitrep bench``: the benchmark suites. They print figures; nothing here asserts on time.

Each suite runs against the real local stack (``sitrep stack up``) and the local feed fixture
server, under a topic prefix of its own that it deletes afterwards, so a benchmark never
touches a deployment's topics.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sitrep.config import Settings
from sitrep.logs import get_logger

log = get_logger(__name__)


@dataclass
class Figure:
    suite: str
    name: str
    value: float
    unit: str
    note: str = ""


def rss_mib() -> float:
    """Resident memory of this process now (VmRSS), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def fixture_server(feeds: int, entries: int, demo_manifest: Path | None = None) -> Iterator[str]:
    """The feed fixture server in its own process (so it does not share our event loop)."""
    extra = ["--demo-manifest", str(demo_manifest)] if demo_manifest else []
    process = subprocess.Popen(
        [sys.executable, "-m", "sitrep.feedserver", "--port", "0", "--feeds", str(feeds),
         "--entries", str(entries), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        base = None
        while time.monotonic() < deadline and base is None:
            line = process.stdout.readline()
            match = re.search(r"listening on (\S+)", line)
            if match:
                base = match.group(1)
        if base is None:
            raise RuntimeError("the fixture server did not start")
        yield base
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def scratch_topics(settings: Settings) -> Iterator[Settings]:
    """Settings under a fresh topic prefix; the prefix's topics are deleted afterwards."""
    from kafka import KafkaAdminClient

    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    try:
        yield settings.model_copy(update={"topic_prefix": prefix})
    finally:
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_servers)
        try:
            mine = [t for t in admin.list_topics() if t.startswith(prefix)]
            if mine:
                admin.delete_topics(mine)
        finally:
            admin.close()


def polls(outcome: str) -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value("sitrep_poller_polls_total", {"outcome": outcome})
    return value or 0.0


def _span(stamps: list[str]) -> float:
    times = sorted(datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps if s)
    return (times[-1] - times[0]).total_seconds() if len(times) > 1 else 0.0


def bench_poller(
    settings: Settings, feeds: int = 10_000, entries: int = 1,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Figure]:
    """Feeds polled per second (mostly 304s), articles fetched per second, memory.

    One poller process against the fixture server, which plays ``feeds`` sites on one host,
    so per-host politeness is lifted for the run (it would measure the delay, not the code).
    Pass 1 fetches every feed and its ``entries`` articles; pass 2, a restarted poller, polls
    every feed again with its validators (every tenth poll is a full check).
    """
    from sitrep.feeds import Feed, FeedRegistry, utcnow
    from sitrep.poller import Poller

    figures: list[Figure] = []
    base_settings = settings.model_copy(update={
        "http_host_delay": 0.0, "http_per_host": 100, "http_concurrency": 100,
        # Long intervals, so that each pass polls every feed exactly once and then idles.
        "poll_interval": 600.0, "poll_min_interval": 600.0, "poll_max_interval": 3600.0,
        "poller_metrics_port": 0,
    })
    with fixture_server(feeds, entries) as base, scratch_topics(base_settings) as s:
        progress(f"registering {feeds} feeds")
        FeedRegistry(s).add(Feed.create(f"{base}/feeds/{n}.xml") for n in range(feeds))

        def one_pass(ahead: timedelta = timedelta(0)) -> tuple[Poller, float]:
            # Pass 2 runs on a clock two hours ahead: every feed is due at once, as after a
            # quiet spell, without waiting two hours.
            poller = Poller(s, exit_when_idle=True, clock=lambda: utcnow() + ahead)
            started = time.perf_counter()
            asyncio.run(poller.run())
            return poller, time.perf_counter() - started

        progress(f"pass 1: {feeds} feeds, {feeds * entries} new articles")
        before = polls("ok")
        poller, elapsed = one_pass()
        span = _span([t.state.last_polled_at or "" for t in poller.tracked.values()])
        polled = polls("ok") - before
        articles = sum(t.state.items_seen for t in poller.tracked.values())
        figures += [
            Figure("poller", "articles fetched and produced", articles / max(span, 1e-9),
                   "articles/s", f"{articles} articles from {polled:.0f} feeds in {span:.1f} s"),
            Figure("poller", "pass 1 wall time (incl. group join)", elapsed, "s"),
        ]
        progress("pass 2: every feed again, conditional GETs")
        nm_before = polls("not_modified")
        poller, elapsed = one_pass(timedelta(hours=2))
        stamps = [t.state.last_polled_at or "" for t in poller.tracked.values()]
        span = _span(stamps)
        not_modified = polls("not_modified") - nm_before
        figures += [
            Figure("poller", "feeds polled (mostly 304)", len(stamps) / max(span, 1e-9),
                   "feeds/s", f"{len(stamps)} feeds, {not_modified:.0f} answered 304, "
                   f"in {span:.1f} s"),
            Figure("poller", "pass 2 wall time (incl. group join and state load)", elapsed, "s"),
            Figure("poller", f"resident memory with {len(poller.tracked)} feeds", rss_mib(),
                   "MiB", "whole poller process, after both passes"),
        ]
    return figures


SUITES: dict[str, Callable[..., list[Figure]]] = {"poller": bench_poller}


def cpu_note() -> str:
    return f"{os.cpu_count()} cores"
