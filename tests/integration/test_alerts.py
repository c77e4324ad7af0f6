"""Alerts on the real Kafka and Elasticsearch: a worker matching the demo corpus as it flows,
webhooks received by a real HTTP server, e-mail by a real SMTP server (aiosmtpd).

The first test is the analyst's story: subscribe to Soleimani in Iraq, ingest the news, get
one alert per story (the Newsweek sample among them) on every channel, and nothing more when
the same articles are replayed or the worker restarts. The second takes the webhook down
while alerts fire and brings it back. The in-process tests drive the delivery stage directly
for digests and dead letters, where waiting for wall-clock minutes would be pointless.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from elasticsearch import ApiError, AsyncElasticsearch, Elasticsearch
from kafka import KafkaProducer

from sitrep.alerts import Deliverer, Matcher, alerts_for, alerts_index, record
from sitrep.config import Settings
from sitrep.delivery import verify
from sitrep.feeds import Feed, FeedRegistry
from sitrep.feedserver import FeedServerConfig, serve
from sitrep.index import alias, to_document
from sitrep.poller import Poller
from sitrep.schemas import problems
from sitrep.search import SearchRequest, search_sync
from sitrep.subscriptions import Subscription, SubscriptionSpec, SubscriptionStore, create
from sitrep.topics import read_to_end

DEMO_MANIFEST = Path(__file__).resolve().parents[2] / "services/sitrep/data/demo/manifest.yaml"
SECRET = "integration-test-secret-0123456789"
NEWSWEEK_TITLE = ("War in Iraq: Iran Allies Battle ISIS to Secure Border With Syria and Unite "
                  "Forces")


# --------------------------------------------------------------------------------------------
# Real receivers
# --------------------------------------------------------------------------------------------


class Webhook:
    """An HTTP server that records what it receives (or answers a fixed error status)."""

    def __init__(self, port: int = 0, status: int = 200) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append({"headers": dict(self.headers), "body": body,
                                       "at": time.time()})
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.received]

    def alert_ids(self) -> list[str]:
        return [a for p in self.payloads() for a in p["alert_ids"]]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield box, controller.port
    controller.stop()


@pytest.fixture
def alerting(deployment: Settings, mailbox: tuple[Mailbox, int]) -> Settings:
    return deployment.model_copy(update={
        "allow_private_urls": True, "delivery_backoff": 0.5, "delivery_backoff_max": 2.0,
        "delivery_sweep_interval": 0.5, "smtp_host": "127.0.0.1", "smtp_port": mailbox[1],
        "http_host_delay": 0.0, "http_per_host": 16, "poll_interval": 600.0,
        "poll_min_interval": 600.0, "poller_metrics_port": 0, "webhook_timeout": 3.0,
        "delivery_max_attempts": 100,
    })


# --------------------------------------------------------------------------------------------
# The pipeline around the worker
# --------------------------------------------------------------------------------------------


def env_for(s: Settings) -> dict[str, str]:
    return {
        **os.environ, "SITREP_TOPIC_PREFIX": s.topic_prefix, "SITREP_INDEX_PREFIX": s.index_prefix,
        "SITREP_TOPIC_PARTITIONS": str(s.topic_partitions), "SITREP_LOG_LEVEL": "WARNING",
        "SITREP_ALLOW_PRIVATE_URLS": "true", "SITREP_DELIVERY_BACKOFF": "0.5",
        "SITREP_DELIVERY_BACKOFF_MAX": "2", "SITREP_DELIVERY_SWEEP_INTERVAL": "0.5",
        "SITREP_SMTP_HOST": s.smtp_host or "", "SITREP_SMTP_PORT": str(s.smtp_port),
        "SITREP_WEBHOOK_TIMEOUT": "3",
        "SITREP_DELIVERY_MAX_ATTEMPTS": str(s.delivery_max_attempts),
    }


def start_worker(s: Settings, log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen([sys.executable, "-m", "sitrep", "worker"], env=env_for(s),
                            stdout=handle, stderr=handle)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def ingest_demo(s: Settings) -> None:
    """The demo sites (the two real samples among them) through the real poller."""
    import yaml

    manifest = yaml.safe_load(DEMO_MANIFEST.read_text())

    async def run() -> None:
        config = FeedServerConfig(feeds=1, entries=1, demo_manifest=DEMO_MANIFEST)
        async with serve(config) as server:
            FeedRegistry(s).add(Feed.create(f"{server.base_url}/sites/{site['key']}/feed.xml")
                                for site in manifest["sites"])
            await asyncio.wait_for(Poller(s, exit_when_idle=True).run(), 180)

    asyncio.run(run())


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def subscribe(s: Settings, spec: SubscriptionSpec) -> Subscription:
    subscription = create(spec, s)

    async def put() -> None:
        store = SubscriptionStore(s)
        await store.put(subscription)
        await store.stop()

    asyncio.run(put())
    return subscription


def indexed_count(es: Elasticsearch, s: Settings) -> int:
    """Documents behind the read alias; -1 ("not yet") while a monthly index that the worker
    has just created has no started shard, which Elasticsearch answers with a 503."""
    try:
        es.indices.refresh(index=alias(s), allow_no_indices=True, ignore_unavailable=True)
        return int(es.count(index=alias(s), ignore_unavailable=True,
                            allow_no_indices=True)["count"])
    except ApiError as exc:
        if exc.meta.status == 503:
            return -1
        raise


def history(es: Elasticsearch, s: Settings, subscription_id: str) -> list[dict[str, Any]]:
    es.indices.refresh(index=alerts_index(s), ignore_unavailable=True)
    found = es.search(index=alerts_index(s), size=100, ignore_unavailable=True,
                      query={"term": {"subscription_id": subscription_id}})
    return [h["_source"] for h in found["hits"]["hits"]]


def stories_found(es: Elasticsearch, s: Settings, subscription: Subscription) -> set[str]:
    """The stories the search API returns for the subscription's query and filters."""
    request = SearchRequest(q=subscription.query, filters=subscription.filters, size=100,
                            facets=False, highlight=False)
    return {h.story_id or h.id for h in search_sync(es, s, request).hits}


# --------------------------------------------------------------------------------------------
# End to end
# --------------------------------------------------------------------------------------------


def test_soleimani_in_iraq_alerts_once_per_story_on_every_channel_across_replays_and_restarts(
    alerting: Settings, es: Elasticsearch, webhook: Webhook, mailbox: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    s = alerting
    soleimani = subscribe(s, SubscriptionSpec(
        name="Soleimani in Iraq", query="soleimani", filters={"country": ["Iraq"]},
        webhook={"url": webhook.url, "secret": SECRET}, email=["analyst@example.org"]))
    unrelated = subscribe(s, SubscriptionSpec(
        name="Zeppelins", query="zeppelin OR airship", webhook={"url": webhook.url}))

    worker = start_worker(s, tmp_path / "worker.log")
    try:
        started = time.monotonic()
        ingest_demo(s)
        wait_until(lambda: indexed_count(es, s) == 23, 180, "23 demo articles indexed")
        expected = stories_found(es, s, soleimani)
        assert len(expected) >= 2
        wait_until(lambda: len(webhook.received) >= len(expected), 60, "the alerts")
        seconds = time.monotonic() - started
        time.sleep(3)  # anything extra would arrive now

        payloads = webhook.payloads()
        assert {p["subscription"]["id"] for p in payloads} == {soleimani.id}
        assert all(p["kind"] == "alert" and len(p["alerts"]) == 1 for p in payloads)
        ids = webhook.alert_ids()
        assert len(ids) == len(set(ids)) == len(expected)
        assert {a["story_id"] for p in payloads for a in p["alerts"]} == expected
        assert NEWSWEEK_TITLE in {a["article"]["title"] for p in payloads for a in p["alerts"]}
        for r in webhook.received:
            headers = {k.lower(): v for k, v in r["headers"].items()}
            assert verify(SECRET, headers["x-sitrep-timestamp"], r["body"],
                          headers["x-sitrep-signature"])
            assert headers["x-sitrep-delivery"] in ids
        print(f"\n{len(ids)} alerts delivered {seconds:.1f} s after the poller started")

        wait_until(lambda: len(mailbox[0].messages) >= len(expected), 30, "the e-mails")
        assert len(mailbox[0].messages) == len(expected)
        assert all("Soleimani in Iraq" in m["Subject"] for m in mailbox[0].messages)

        on_topic = [json.loads(r.value) for r in read_to_end(s, s.topic("alerts"))]
        assert sorted(a["alert_id"] for a in on_topic) == sorted(ids)
        assert all(problems("alert", a) == [] for a in on_topic)
        wait_until(lambda: {h["delivery_status"] for h in history(es, s, soleimani.id)}
                   == {"delivered"}, 30, "the history to say delivered")
        assert history(es, s, unrelated.id) == []

        # Replay every raw article: same ids, same stories, so no alert fires again.
        producer = KafkaProducer(bootstrap_servers=s.kafka_servers, acks="all")
        raw = list(read_to_end(s, s.topic("articles.raw")))
        for record_ in raw:
            producer.send(s.topic("articles.raw"), key=record_.key, value=record_.value)
        producer.flush()
        producer.close()
        wait_until(lambda: sum(1 for _ in read_to_end(s, s.topic("articles.tagged")))
                   >= 2 * len(raw), 120, "the replay to be tagged")
        time.sleep(4)
        assert len(webhook.received) == len(expected)
    finally:
        stop(worker)

    # A restarted worker re-reads its uncommitted tail and every subscription: still nothing.
    worker = start_worker(s, tmp_path / "worker2.log")
    try:
        time.sleep(12)
        assert len(webhook.received) == len(expected)
        assert len(mailbox[0].messages) == len(expected)
    finally:
        stop(worker)


def test_an_alert_waits_out_a_webhook_outage_and_arrives_once(
    alerting: Settings, es: Elasticsearch, tmp_path: Path,
) -> None:
    s = alerting
    port = free_port()  # nothing listens here yet: the endpoint is down
    url = f"http://127.0.0.1:{port}/hook"
    subscription = subscribe(s, SubscriptionSpec(
        name="PMF", query='"Popular Mobilization" OR pmf', webhook={"url": url}))
    worker = start_worker(s, tmp_path / "worker.log")
    hook = None
    try:
        ingest_demo(s)
        wait_until(lambda: indexed_count(es, s) == 23, 180, "23 demo articles indexed")
        time.sleep(2)  # the last batch's alerts are recorded right after its write
        wait_until(lambda: len(history(es, s, subscription.id)) > 0, 60, "the alerts")
        wait_until(lambda: all((h.get("deliveries") or {}).get("webhook", {}).get(
            "attempts", 0) >= 3 for h in history(es, s, subscription.id)), 60,
            "three failed attempts per alert")
        pending = history(es, s, subscription.id)
        assert {h["delivery_status"] for h in pending} <= {"retrying", "delivering"}
        assert all("refused" in (h.get("last_error") or "").lower()
                   or "connect" in (h.get("last_error") or "").lower() for h in pending)

        hook = Webhook(port=port)  # the endpoint comes back
        wait_until(lambda: len(hook.received) >= len(pending), 30, "delivery after the outage")
        time.sleep(4)
        ids = hook.alert_ids()
        assert len(ids) == len(set(ids)) == len(pending)
        final = history(es, s, subscription.id)
        assert {h["delivery_status"] for h in final} == {"delivered"}
        assert all(h["deliveries"]["webhook"]["attempts"] >= 4 for h in final)
    finally:
        stop(worker)
        if hook is not None:
            hook.close()


# --------------------------------------------------------------------------------------------
# The delivery stage in-process: digests and dead letters
# --------------------------------------------------------------------------------------------


def document(n: int, title: str, text: str) -> dict[str, Any]:
    article = {"id": f"{n:032x}", "url": f"https://news.example.org/{n}",
               "canonical_url": f"https://news.example.org/{n}", "title": title, "text": text,
               "published": "2026-11-20T10:00:00+00:00", "countries": ["IQ"],
               "feed": {"name": "Wire"}, "language": "en"}
    return to_document(article, story_id=f"story-{n}", duplicate_of=None,
                       now=datetime.now(UTC))


async def fire(s: Settings, es: AsyncElasticsearch, store: SubscriptionStore,
               documents: list[dict[str, Any]]) -> tuple[Deliverer, list[dict[str, Any]],
                                                          list[tuple[str, dict[str, Any]]]]:
    dead: list[tuple[str, dict[str, Any]]] = []

    async def dead_letter(reason: str, alert: dict[str, Any]) -> None:
        dead.append((reason, alert))

    matcher = Matcher()
    store.subscribe(matcher.update)
    alerts = await record(es, s, alerts_for(matcher, documents, datetime.now(UTC)))
    deliverer = Deliverer(s, es, store, dead_letter)
    for alert in alerts:
        await deliverer.handle(alert)
    await deliverer.drain()
    return deliverer, alerts, dead


def test_a_digest_collects_alerts_and_sends_them_together_when_due(
    alerting: Settings, webhook: Webhook, mailbox: tuple[Mailbox, int],
) -> None:
    s = alerting
    documents = [document(i, f"Drone strike {i} near Sinjar", "A drone strike hit a convoy.")
                 for i in range(5)]

    async def run() -> None:
        es = AsyncElasticsearch(s.elasticsearch_url)
        store = SubscriptionStore(s)
        try:
            await store.put(create(SubscriptionSpec(
                name="Drones", query="drone", webhook={"url": webhook.url},
                email=["desk@example.org"], mode="digest", digest_minutes=30), s))
            deliverer, alerts, _ = await fire(s, es, store, documents)
            assert len(alerts) == 5 and webhook.received == []
            await es.indices.refresh(index=alerts_index(s))
            assert await deliverer.sweep() == 0  # not due for another half hour
            later = datetime.now(UTC) + timedelta(minutes=31)
            assert await deliverer.sweep(now=later) == 5
            await deliverer.drain()
            await es.indices.refresh(index=alerts_index(s))
            assert await deliverer.sweep(now=later) == 0  # sent: nothing left
            await deliverer.close()
        finally:
            await store.stop()
            await es.close()

    asyncio.run(run())
    assert len(webhook.received) == 1
    digest = webhook.payloads()[0]
    assert digest["kind"] == "digest" and digest["count"] == 5
    assert len(mailbox[0].messages) == 1
    assert "5 new articles" in mailbox[0].messages[0]["Subject"]


def test_a_refusing_webhook_dead_letters_the_alert_with_the_reason(
    alerting: Settings, es: Elasticsearch,
) -> None:
    s = alerting
    refusing = Webhook(status=410)
    try:
        async def run() -> list[tuple[str, dict[str, Any]]]:
            client = AsyncElasticsearch(s.elasticsearch_url)
            store = SubscriptionStore(s)
            try:
                await store.put(create(SubscriptionSpec(
                    name="Gone", query="convoy", webhook={"url": refusing.url}), s))
                deliverer, _, dead = await fire(s, client, store, [
                    document(1, "Convoy attacked", "A convoy was attacked.")])
                await deliverer.close()
                return dead
            finally:
                await store.stop()
                await client.close()

        dead = asyncio.run(run())
    finally:
        refusing.close()
    assert len(dead) == 1 and "410" in dead[0][0]
    es.indices.refresh(index=alerts_index(s))
    [doc] = [h["_source"] for h in es.search(index=alerts_index(s))["hits"]["hits"]]
    assert doc["delivery_status"] == "failed"
    assert doc["deliveries"]["webhook"]["status"] == "dead"
    assert doc["deliveries"]["webhook"]["attempts"] == 1
