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


#: The demo's subscriptions: fixed ids, so running the demo again replaces them instead of
#: adding copies (and their stories, already alerted, do not alert again).
DEMO_SUBSCRIPTIONS: list[dict[str, Any]] = [
    {"id": "demo-soleimani-iraq", "name": "Soleimani in Iraq", "query": "soleimani",
     "filters": {"country": ["IQ"]}},
    {"id": "demo-pmf-nineveh", "name": "PMF around Mosul",
     "query": '"Popular Mobilization" OR actor:pmf', "filters": {"region": ["Nineveh"]}},
]


def demo_search(settings: Settings) -> Any:
    """The demo's search: "border", one result per story, through the search API's code."""
    from elasticsearch import Elasticsearch

    from sitrep.search import SearchRequest, search_sync

    es = Elasticsearch(settings.elasticsearch_url, request_timeout=30)
    try:
        return search_sync(es, settings, SearchRequest(q="border", collapse=True, size=8))
    finally:
        es.close()


def register_subscriptions(settings: Settings) -> list[Any]:
    from sitrep.subscriptions import Subscription, SubscriptionSpec, SubscriptionStore, create

    subscriptions = []
    for spec in DEMO_SUBSCRIPTIONS:
        made = create(SubscriptionSpec(**{k: v for k, v in spec.items() if k != "id"}), settings)
        subscriptions.append(Subscription(**(made.model_dump() | {"id": spec["id"]})))

    async def put() -> None:
        store = SubscriptionStore(settings, client_id="sitrep-demo")
        try:
            for subscription in subscriptions:
                await store.put(subscription)
        finally:
            await store.stop()

    asyncio.run(put())
    return subscriptions


def fired_alerts(es: Any, settings: Settings) -> list[dict[str, Any]]:
    """The alert history of the demo's subscriptions, newest story first."""
    from sitrep.alerts import alerts_index

    es.indices.refresh(index=alerts_index(settings), ignore_unavailable=True)
    found = es.search(
        index=alerts_index(settings), size=50, ignore_unavailable=True,
        query={"terms": {"subscription_id": [s["id"] for s in DEMO_SUBSCRIPTIONS]}},
        sort=[{"subscription_name": "asc"}, {"published": {"order": "desc",
                                                            "unmapped_type": "date"}}],
    )
    return [hit["_source"] for hit in found["hits"]["hits"]]


def run_demo(settings: Settings, progress: Callable[[str], None], timeout: float = 240) -> \
        dict[str, Any]:
    """Poll, process and index the demo sites; return the search for "border" and the alerts
    the demo subscriptions fired."""
    from elasticsearch import Elasticsearch

    from sitrep.feeds import Feed, FeedRegistry
    from sitrep.index import alias, ensure_template_sync
    from sitrep.poller import Poller
    from sitrep.topics import create_topics

    expected = len(demo_articles())
    s = settings.model_copy(update={
        # One host plays nine sites here; lift per-host politeness for the local demo only.
        "http_host_delay": 0.0, "http_per_host": 8, "poller_metrics_port": 0,
        # The demo sites are served on loopback, which the poller refuses by default.
        "allow_private_urls": True,
    })
    create_topics(s)
    ensure_template_sync(s)
    register_subscriptions(s)  # before the worker starts, so it matches the first article
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
        progress("matching the demo subscriptions")
        settled, previous = 0, -1
        while time.monotonic() < deadline and settled < 3 and worker.poll() is None:
            # Alerts are recorded right after each indexed batch and delivered (here: to
            # the topic only) a moment later; wait until the history stops changing.
            alerts = fired_alerts(es, s)
            done = all(a.get("delivery_status") == "delivered" for a in alerts)
            settled = settled + 1 if done and len(alerts) == previous else 0
            previous = len(alerts)
            time.sleep(0.5)
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(60)
    if indexed < expected:
        raise RuntimeError(f"only {indexed} of {expected} demo articles were indexed in time")
    seconds = time.monotonic() - started
    alerts = fired_alerts(es, s)
    es.close()
    return {"indexed": indexed, "seconds": seconds, "search": demo_search(s), "alerts": alerts}
