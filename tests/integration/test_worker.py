"""The worker (Faust: clean -> tag -> index) on the real Kafka and Elasticsearch.

Articles come from the real poller fetching the bundled demo sites from the fixture server,
so every stage sees what it sees in production. Each test has its own topic and index prefix.
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import ApiError, Elasticsearch
from kafka import KafkaAdminClient, KafkaProducer

from sitrep.config import Settings
from sitrep.feeds import Feed, FeedRegistry
from sitrep.feedserver import FeedServerConfig, serve
from sitrep.index import drop_indices, stems
from sitrep.poller import Poller
from sitrep.topics import read_to_end

DEMO_MANIFEST = Path(__file__).resolve().parents[2] / "services/sitrep/data/demo/manifest.yaml"


@pytest.fixture
def pipeline(
    settings: Settings, kafka_admin: KafkaAdminClient, es: Elasticsearch
) -> Iterator[Settings]:
    token = uuid.uuid4().hex[:8]
    s = settings.model_copy(update={
        "topic_prefix": f"w{token}.", "index_prefix": f"w{token}", "http_host_delay": 0.0,
        "http_per_host": 16, "poll_interval": 600.0, "poll_min_interval": 600.0,
        "poller_metrics_port": 0, "feeds_partitions": 2, "topic_partitions": 2,
        "allow_private_urls": True,  # the fixture server is on loopback
    })
    yield s
    mine = [t for t in kafka_admin.list_topics() if t.startswith(s.topic_prefix)]
    if mine:
        kafka_admin.delete_topics(mine)
    drop_indices(es, s)


def env_for(s: Settings) -> dict[str, str]:
    return {
        **os.environ, "SITREP_TOPIC_PREFIX": s.topic_prefix, "SITREP_INDEX_PREFIX": s.index_prefix,
        "SITREP_TOPIC_PARTITIONS": str(s.topic_partitions), "SITREP_LOG_LEVEL": "WARNING",
    }


def start_worker(s: Settings, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "sitrep", "worker"], env=env_for(s), stdout=handle,
        stderr=handle,
    )


def poll_feeds(s: Settings, config: FeedServerConfig, urls: Callable[[Any], list[str]]) -> None:
    async def run() -> None:
        async with serve(config) as server:
            FeedRegistry(s).add(Feed.create(u) for u in urls(server))
            await asyncio.wait_for(Poller(s, exit_when_idle=True).run(), 180)

    asyncio.run(run())


def count(es: Elasticsearch, s: Settings, query: dict[str, Any] | None = None) -> int:
    """Matching documents; -1 ("not yet") while a monthly index that the worker has just
    created has no started shard, which Elasticsearch answers with a 503."""
    try:
        es.indices.refresh(index=f"{s.index_prefix}-articles*", allow_no_indices=True)
        result = es.count(index=f"{s.index_prefix}-articles",
                          query=query or {"match_all": {}},
                          ignore_unavailable=True, allow_no_indices=True)
    except ApiError as exc:
        if exc.meta.status == 503:
            return -1
        raise
    return int(result["count"])


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def read_topic(s: Settings, name: str) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in read_to_end(s, s.topic(name))]


def demo_urls(server: Any) -> list[str]:
    import yaml

    manifest = yaml.safe_load(DEMO_MANIFEST.read_text())
    return [f"{server.base_url}/sites/{site['key']}/feed.xml" for site in manifest["sites"]]


def test_demo_articles_flow_to_the_index_and_poison_goes_to_the_dead_letter_topic(
    pipeline: Settings, es: Elasticsearch, tmp_path: Path
) -> None:
    s = pipeline
    poll_feeds(s, FeedServerConfig(feeds=1, entries=1, demo_manifest=DEMO_MANIFEST), demo_urls)
    raw = read_topic(s, "articles.raw")
    assert len(raw) == 23
    producer = KafkaProducer(bootstrap_servers=s.kafka_servers, acks="all")
    producer.send(s.topic("articles.raw"), key=b"poison-1", value=b"\xff{not json")
    producer.send(s.topic("articles.raw"), key=b"poison-2", value=b'{"schema": "articles.raw/1"}')
    producer.flush()
    producer.close()

    worker = start_worker(s, tmp_path / "worker.log")
    try:
        wait_until(lambda: count(es, s) >= 23, 180, "23 indexed articles")
        wait_until(lambda: len(read_topic(s, "deadletter")) >= 2, 30, "2 dead letters")
    finally:
        worker.terminate()
        worker.wait(60)
    assert count(es, s) == 23
    dead = read_topic(s, "deadletter")
    assert {d["key"] for d in dead} == {"poison-1", "poison-2"}
    assert all(d["stage"] == "clean" and d["reason"] for d in dead)
    assert any("not JSON" in d["reason"] for d in dead)
    assert any("does not fit" in d["reason"] for d in dead)

    # Search by stem: "battle" finds "battles"; a phrase works on the standard field.
    assert count(es, s, {"match": {"text_stems": stems("battle")}}) >= 1
    assert count(es, s, {"match_phrase": {"text": "Popular Mobilization Forces"}}) >= 2

    docs = {
        hit["_source"]["canonical_url"]: hit["_source"]
        for hit in es.search(index=f"{s.index_prefix}-articles", size=100,
                             query={"match_all": {}})["hits"]["hits"]
    }
    reuters = next(d for u, d in docs.items() if u and "reuters.com" in u)
    assert "pmf" in reuters["actor_ids"] and "IQ" in reuters["countries"]
    assert any(p["name"] for p in reuters["places"]) and reuters["geo"]
    assert reuters["published"].startswith("2017-05-30")
    # The exact syndication is recognised, the near-duplicate shares the story.
    duplicates = [d for d in docs.values() if d.get("duplicate_of")]
    assert len(duplicates) >= 1
    stories: dict[str, int] = {}
    for d in docs.values():
        stories[d["story_id"]] = stories.get(d["story_id"], 0) + 1
    assert max(stories.values()) >= 3, "wire story, its syndication and its republication"


def test_a_worker_killed_mid_stream_leaves_every_article_indexed_exactly_once(
    pipeline: Settings, es: Elasticsearch, tmp_path: Path
) -> None:
    s = pipeline
    poll_feeds(s, FeedServerConfig(feeds=30, entries=10), lambda server: server.feed_urls(30))
    raw = read_topic(s, "articles.raw")
    distinct = {m["canonical_url"] for m in raw}
    assert len(distinct) == 300

    worker = start_worker(s, tmp_path / "worker-1.log")
    try:
        wait_until(lambda: count(es, s) >= 60, 180, "a fifth of the articles indexed")
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        at_kill = count(es, s)
        assert at_kill < 300, "killed mid-stream"
        worker = start_worker(s, tmp_path / "worker-2.log")
        wait_until(lambda: count(es, s) >= 300, 240, "every article after the restart")
        time.sleep(3)  # anything re-delivered after the kill has landed by now
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(60)
    assert count(es, s) == len(distinct), "documents = distinct canonical URLs"
