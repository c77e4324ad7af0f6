"""``sitrep demo``: the bundled demo sites through the whole pipeline, then a search.

Serves the demo corpus (``data/demo``: the two real samples as news pages and 21 more
articles across the beat) from the local fixture server, registers its feeds, runs a poller
until every feed is polled and a worker until every article is indexed, and prints a search
for "border" with country, region and actor facets. Everything goes through the real Kafka
and Elasticsearch, under the configured topic and index prefixes, so ``sitrep search`` and
Kibana see the same articles afterwards. Running it again is harmless: every write is
idempotent.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from sitrep.bench import fixture_server
from sitrep.config import Settings
from sitrep.logs import get_logger

log = get_logger(__name__)

DEMO_MANIFEST = Path(__file__).resolve().parent / "data" / "demo" / "manifest.yaml"


def demo_articles() -> list[dict[str, Any]]:
    manifest = yaml.safe_load(DEMO_MANIFEST.read_text())
    articles: list[dict[str, Any]] = manifest["articles"]
    return articles


def demo_feed_urls(base: str) -> list[str]:
    manifest = yaml.safe_load(DEMO_MANIFEST.read_text())
    return [f"{base}/sites/{site['key']}/feed.xml" for site in manifest["sites"]]


def border_search(es: Any, settings: Settings, size: int = 10) -> dict[str, Any]:
    from sitrep.index import alias, stems

    response = es.search(
        index=alias(settings), size=size,
        query={"bool": {"should": [
            {"match": {"title_stems": {"query": stems("border"), "boost": 2}}},
            {"match": {"text_stems": stems("border")}},
        ], "minimum_should_match": 1}},
        collapse={"field": "story_id"},
        aggs={
            "countries": {"terms": {"field": "countries", "size": 8}},
            "regions": {"terms": {"field": "regions", "size": 8}},
            "actors": {"terms": {"field": "actor_names", "size": 10}},
        },
        source=["title", "source", "published", "actor_names", "place_names", "story_id"],
    )
    result: dict[str, Any] = dict(response.body)
    return result


def run_demo(settings: Settings, progress: Callable[[str], None], timeout: float = 240) -> \
        dict[str, Any]:
    from elasticsearch import Elasticsearch

    from sitrep.feeds import Feed, FeedRegistry
    from sitrep.index import alias, ensure_template_sync
    from sitrep.poller import Poller
    from sitrep.topics import create_topics

    expected = len(demo_articles())
    s = settings.model_copy(update={
        # One host plays nine sites here; lift per-host politeness for the local demo only.
        "http_host_delay": 0.0, "http_per_host": 8, "poller_metrics_port": 0,
    })
    create_topics(s)
    ensure_template_sync(s)
    es = Elasticsearch(s.elasticsearch_url, request_timeout=30)
    started = time.monotonic()
    with fixture_server(feeds=1, entries=1, demo_manifest=DEMO_MANIFEST) as base:
        progress(f"registering {len(demo_feed_urls(base))} demo feeds at {base}")
        registry = FeedRegistry(s)
        current = [Feed.create(u, tags=["demo"]) for u in demo_feed_urls(base)]
        # The fixture server's port changes between runs: drop the last run's demo feeds,
        # which now point at nothing, so they do not fail forever in `feeds list`.
        wanted = {feed.id for feed in current}
        for old in registry.feeds().values():
            if "demo" in old.tags and old.id not in wanted:
                registry.remove(old.id)
        registry.add(current)
        progress("polling the demo feeds")
        asyncio.run(asyncio.wait_for(Poller(s, exit_when_idle=True).run(), timeout))
    progress("cleaning, tagging and indexing (sitrep worker)")
    worker = subprocess.Popen(
        [sys.executable, "-m", "sitrep", "worker"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout
        indexed = 0
        while time.monotonic() < deadline:
            es.indices.refresh(index=f"{alias(s)}*", allow_no_indices=True)
            indexed = int(es.count(
                index=alias(s), query={"terms": {"feed_tags": ["demo"]}},
                ignore_unavailable=True, allow_no_indices=True,
            )["count"])
            progress(f"indexed {indexed}/{expected} demo articles")
            if indexed >= expected or worker.poll() is not None:
                break
            time.sleep(1)
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(60)
    if indexed < expected:
        raise RuntimeError(f"only {indexed} of {expected} demo articles were indexed in time")
    result = border_search(es, s)
    result["_demo"] = {"indexed": indexed, "seconds": time.monotonic() - started}
    es.close()
    return result
