"""``sitrep bench``: the benchmark suites. They print figures; nothing here asserts on time.

Each suite runs against the real local stack (``sitrep stack up``) and the local feed fixture
server, under a topic prefix of its own that it deletes afterwards, so a benchmark never
touches a deployment's topics.
"""

from __future__ import annotations

import asyncio
import gc
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


def _demo_pages() -> list[tuple[str, str]]:
    """(url, html) of the bundled demo pages: real-sized news pages of 26-37 kB."""
    import yaml

    demo = Path(__file__).resolve().parent / "data" / "demo"
    manifest = yaml.safe_load((demo / "manifest.yaml").read_text())
    return [
        (f"https://{a['site']}.example/{a['slug']}.html", (demo / a["file"]).read_text())
        for a in manifest["articles"]
    ]


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def bench_stages(
    settings: Settings, rounds: int = 10, progress: Callable[[str], None] = lambda _: None,
) -> list[Figure]:
    """Clean, tag and both, one process, on the demo pages; bare trafilatura for scale."""
    import trafilatura

    from sitrep.clean import clean_html
    from sitrep.tag import get_tagger

    pages = _demo_pages()
    total = len(pages) * rounds
    size = sum(len(html) for _, html in pages) / len(pages) / 1024
    progress("bare trafilatura")
    started = time.perf_counter()
    for _ in range(rounds):
        for _, html in pages:
            trafilatura.extract(html)
    bare = time.perf_counter() - started
    progress("clean stage")
    started = time.perf_counter()
    cleaned = []
    for _ in range(rounds):
        cleaned = [clean_html(html, url=url) for url, html in pages]
    clean_seconds = time.perf_counter() - started
    tagger = get_tagger()
    gc.freeze()  # as the worker does after loading the tagger
    progress("tag stage")
    started = time.perf_counter()
    for _ in range(rounds):
        for article in cleaned:
            tagger.tag_article(article)
    tag_seconds = time.perf_counter() - started
    note = f"{len(pages)} demo pages x {rounds}, {size:.0f} kB average"
    return [
        Figure("stages", "bare trafilatura.extract (defaults)", _rate(total, bare),
               "articles/s", note),
        Figure("stages", "clean (sitrep.clean)", _rate(total, clean_seconds), "articles/s", note),
        Figure("stages", "tag (sitrep.tag)", _rate(total, tag_seconds), "articles/s", note),
        Figure("stages", "clean + tag", _rate(total, clean_seconds + tag_seconds),
               "articles/s", note),
        Figure("stages", "tagging cost as a share of cleaning", 100 * tag_seconds / clean_seconds,
               "%", "goal: under 10 %"),
    ]


def bench_index(
    settings: Settings, documents: int = 5_000, progress: Callable[[str], None] = lambda _: None,
) -> list[Figure]:
    """Bulk indexing into the real node: tagged demo articles under fresh URLs."""
    from elasticsearch import AsyncElasticsearch, Elasticsearch

    from sitrep.clean import clean_html
    from sitrep.index import Indexer, ensure_template
    from sitrep.tag import get_tagger

    tagger = get_tagger()
    tagged = [tagger.tag_article(clean_html(html, url=url)) for url, html in _demo_pages()]
    s = settings.model_copy(update={"index_prefix": f"bench-{uuid.uuid4().hex[:8]}"})
    batch_size = 500

    async def run() -> float:
        es = AsyncElasticsearch(s.elasticsearch_url, request_timeout=60)
        try:
            await ensure_template(es, s)
            indexer = Indexer(s, es)
            started = time.perf_counter()
            for first in range(0, documents, batch_size):
                batch = []
                for n in range(first, min(first + batch_size, documents)):
                    article = dict(tagged[n % len(tagged)])
                    article["canonical_url"] = f"https://bench.example/{n}"
                    article["text_hash"] = f"{n:064x}"
                    article["minhash"] = None
                    batch.append(article)
                await indexer.index(batch)
                progress(f"indexed {min(first + batch_size, documents)}/{documents}")
            return time.perf_counter() - started
        finally:
            await es.close()

    try:
        seconds = asyncio.run(run())
    finally:
        sync = Elasticsearch(s.elasticsearch_url)
        found = sync.indices.get(index=f"{s.index_prefix}-*", allow_no_indices=True)
        if found:
            sync.indices.delete(index=",".join(found))
        sync.options(ignore_status=404).indices.delete_index_template(
            name=f"{s.index_prefix}-articles")
        sync.close()
    return [Figure("index", "bulk indexing (batches of 500, with story lookup)",
                   _rate(documents, seconds), "docs/s", f"{documents} documents")]


def bench_pipeline(
    settings: Settings, feeds: int = 50, entries: int = 10, workers: int = 2,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Figure]:
    """End to end on the real Kafka and Elasticsearch: raw pages in, documents out.

    The poller fills articles.raw first; then ``workers`` worker processes clean, tag and
    index them all. Bare trafilatura on the same pages, times the same number of processes,
    is the ceiling: the ratio says whether extraction or the plumbing limits the pipeline.
    """
    import trafilatura
    from elasticsearch import Elasticsearch

    from sitrep.clean import clean_html
    from sitrep.feeds import Feed, FeedRegistry
    from sitrep.index import alias
    from sitrep.poller import Poller
    from sitrep.tag import get_tagger

    total = feeds * entries
    token = uuid.uuid4().hex[:8]
    with fixture_server(feeds, entries) as base, scratch_topics(settings.model_copy(update={
        "index_prefix": f"bench-{token}", "http_host_delay": 0.0, "http_per_host": 32,
        "poll_interval": 600.0, "poll_min_interval": 600.0, "poller_metrics_port": 0,
        "topic_partitions": max(2, workers),
    })) as s:
        progress(f"polling {feeds} feeds into articles.raw")
        FeedRegistry(s).add(Feed.create(f"{base}/feeds/{n}.xml") for n in range(feeds))
        asyncio.run(Poller(s, exit_when_idle=True).run())
        pages = _raw_pages(s, limit=200)
        started = time.perf_counter()
        for page in pages:
            trafilatura.extract(page)
        bare = _rate(len(pages), time.perf_counter() - started)
        tagger = get_tagger()
        started = time.perf_counter()
        for page in pages:
            tagger.tag_article(clean_html(page))
        stages = _rate(len(pages), time.perf_counter() - started)
        env = {**os.environ, "SITREP_TOPIC_PREFIX": s.topic_prefix,
               "SITREP_INDEX_PREFIX": s.index_prefix, "SITREP_LOG_LEVEL": "WARNING",
               "SITREP_TOPIC_PARTITIONS": str(s.topic_partitions)}
        es = Elasticsearch(s.elasticsearch_url)
        processes = [
            subprocess.Popen([sys.executable, "-m", "sitrep", "worker"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(workers)
        ]
        try:
            started = time.perf_counter()
            first_seen = None
            indexed = 0
            while indexed < total and time.perf_counter() - started < 900:
                time.sleep(0.5)
                es.indices.refresh(index=f"{alias(s)}*", allow_no_indices=True)
                indexed = int(es.count(index=alias(s), ignore_unavailable=True,
                                       allow_no_indices=True)["count"])
                if indexed and first_seen is None:
                    first_seen = time.perf_counter()
                progress(f"indexed {indexed}/{total} with {workers} workers")
            seconds = time.perf_counter() - (first_seen or started)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(60)
            found = es.indices.get(index=f"{s.index_prefix}-*", allow_no_indices=True)
            if found:
                es.indices.delete(index=",".join(found))
            es.options(ignore_status=404).indices.delete_index_template(
                name=f"{s.index_prefix}-articles")
            es.close()
        rate = _rate(indexed, seconds)
        return [
            Figure("pipeline", f"end to end, {workers} worker processes", rate, "articles/s",
                   f"{indexed} articles of {total}, from first document to last"),
            Figure("pipeline", "clean + tag alone on the same pages, 1 process", stages,
                   "articles/s", f"x{workers} processes = {stages * workers:.1f}/s"),
            Figure("pipeline", "pipeline / (clean + tag alone), same process count",
                   100 * rate / (stages * workers) if stages else 0.0, "%",
                   "the rest is Kafka, Faust, Elasticsearch and 2 cores shared with them"),
            Figure("pipeline", "bare trafilatura on the same pages, 1 process", bare,
                   "articles/s", f"x{workers} processes = {bare * workers:.1f}/s"),
            Figure("pipeline", "pipeline / bare trafilatura (same process count)",
                   100 * rate / (bare * workers) if bare else 0.0, "%",
                   "how close the whole pipeline gets to extraction alone"),
        ]


def _raw_pages(settings: Settings, limit: int) -> list[str]:
    import json

    from sitrep.topics import read_to_end

    records = read_to_end(settings, settings.topic("articles.raw"), limit=limit)
    return [json.loads(record.value)["html"] or "" for record in records]


SUITES.update({"stages": bench_stages, "index": bench_index, "pipeline": bench_pipeline})
