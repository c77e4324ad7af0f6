"""``sitrep worker``: one Faust app with an agent per stage, raw -> clean -> tagged -> index
-> alerts -> delivery.

The agents are thin on purpose: each validates its input against the topic's schema, calls
the stage's pure function (:mod:`sitrep.clean`, :mod:`sitrep.tag`) or the indexer
(:mod:`sitrep.index`), and passes the result on. A message a stage cannot handle goes to
the ``deadletter`` topic with the stage, the reason and the original, and the stream moves
on: one bad message never stops the worker.

Offsets are committed by Faust after an event has been processed and its output handed to
the producer, so a worker killed at any point re-processes at most the uncommitted tail:
at-least-once, made harmless by the idempotent index write (document id = hash of the
canonical URL).
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from datetime import UTC, datetime
from typing import Any

import faust
from prometheus_client import Counter, Histogram

from sitrep.config import Settings
from sitrep.logs import get_logger
from sitrep.schemas import problems

log = get_logger(__name__)

PROCESSED = Counter("sitrep_worker_messages_total", "Messages processed", ["stage", "outcome"])
STAGE_SECONDS = Histogram(
    "sitrep_worker_stage_seconds", "Time spent in a stage per message", ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
DEADLETTER_SCHEMA = "deadletter/1"


def deadletter_message(
    stage: str, reason: str, original: bytes | None, key: bytes | None,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What the dead-letter topic keeps: enough to understand and to replay the message."""
    text = original.decode("utf-8", errors="replace") if original is not None else None
    return {
        "schema": DEADLETTER_SCHEMA,
        "stage": stage,
        "reason": reason[:2000],
        "key": key.decode("utf-8", errors="replace") if key is not None else None,
        "source": source or {},
        "original": text,
        "failed_at": datetime.now(UTC).isoformat(),
    }


def decode(stage: str, schema: str, value: bytes) -> dict[str, Any]:
    """Parse and validate a message; ValueError with a reason the dead letter will carry."""
    try:
        document = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    found = problems(schema, document)
    if found:
        raise ValueError(f"does not fit schemas/{schema}.schema.json: " + "; ".join(found[:5]))
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


def build_app(settings: Settings) -> faust.App:
    """The worker's Faust app for these settings (topics carry the configured prefix)."""
    from elasticsearch import AsyncElasticsearch

    from sitrep.alerts import MATCH_SECONDS, Deliverer, Matcher, alerts_for, record
    from sitrep.clean import clean_article
    from sitrep.index import Indexer, ensure_template, with_retries
    from sitrep.subscriptions import SubscriptionStore
    from sitrep.tag import Tagger, get_tagger

    servers = ";".join(settings.kafka_servers.split(","))
    app = faust.App(
        f"{settings.topic_prefix}sitrep-worker",
        broker=f"kafka://{servers}",
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_allow_declare=False,
        producer_acks=-1,
        producer_max_request_size=8_388_608,
        consumer_auto_offset_reset="earliest",
        broker_commit_every=100,
        broker_commit_interval=1.0,
    )

    def topic(name: str) -> Any:
        return app.topic(settings.topic(name), key_type=bytes, value_type=bytes)

    raw_topic, clean_topic, tagged_topic = (
        topic("articles.raw"), topic("articles.clean"), topic("articles.tagged")
    )
    dead_topic = topic("deadletter")
    alerts_topic = topic("alerts")
    es_holder: dict[str, Any] = {}
    store = SubscriptionStore(settings, client_id=f"{settings.topic_prefix}sitrep-worker")
    matcher = Matcher()
    store.subscribe(matcher.update)
    subscriptions_ready = asyncio.Event()
    deliverers: dict[str, Deliverer] = {}
    taggers: dict[str, Tagger] = {}

    def tagger() -> Tagger:
        """Built once: the shipped dictionary, with the user's actor files merged on top."""
        if "tagger" not in taggers:
            files = tuple(settings.actor_files)
            taggers["tagger"] = Tagger.load(files) if files else get_tagger()
        return taggers["tagger"]

    async def dead(stage: str, reason: str, value: bytes | None, key: bytes | None,
                   event: Any = None) -> None:
        source = {}
        if event is not None:
            message = event.message
            source = {"topic": message.topic, "partition": message.partition,
                      "offset": message.offset}
        PROCESSED.labels(stage, "deadletter").inc()
        log.warning("dead-lettered", stage=stage, reason=reason[:300], **source)
        await dead_topic.send(
            key=key, value=json.dumps(deadletter_message(stage, reason, value, key, source))
            .encode(),
        )

    @app.task  # type: ignore[untyped-decorator]
    async def prepare() -> None:
        es_holder["es"] = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=60)
        await ensure_template(es_holder["es"], settings)
        tagger()  # load the gazetteer and automata before the first article
        await store.start()  # every subscription before the first match, then follow
        subscriptions_ready.set()
        deliverers["d"] = Deliverer(settings, es_holder["es"], store, dead_alert)
        # Move those long-lived objects (~200 MB) out of the collector's sight: otherwise every
        # collection walks them, which costs about a tenth of the tag stage's time.
        gc.freeze()

    @app.agent(raw_topic)
    async def clean_stage(stream: Any) -> None:
        async for event in stream.events():
            key, value = event.key, event.value
            started = time.perf_counter()
            try:
                article = clean_article(decode("clean", "articles.raw", value))
            except Exception as exc:  # every failure of one message is that message's
                await dead("clean", f"{exc.__class__.__name__}: {exc}", value, key, event)
                continue
            STAGE_SECONDS.labels("clean").observe(time.perf_counter() - started)
            PROCESSED.labels("clean", "ok").inc()
            await clean_topic.send(key=key, value=json.dumps(article).encode())
            await asyncio.sleep(0)  # extraction is CPU-bound: let the later stages run too

    @app.agent(clean_topic)
    async def tag_stage(stream: Any) -> None:
        async for event in stream.events():
            key, value = event.key, event.value
            started = time.perf_counter()
            try:
                tagged = tagger().tag_article(decode("tag", "articles.clean", value))
            except Exception as exc:
                await dead("tag", f"{exc.__class__.__name__}: {exc}", value, key, event)
                continue
            STAGE_SECONDS.labels("tag").observe(time.perf_counter() - started)
            PROCESSED.labels("tag", "ok").inc()
            await tagged_topic.send(key=key, value=json.dumps(tagged).encode())
            await asyncio.sleep(0)

    @app.agent(tagged_topic)
    async def index_stage(stream: Any) -> None:
        # Up to 200 at once under load; alone, an article waits at most 0.2 s for company,
        # which bounds what batching adds to search and alert latency.
        async for batch in stream.take(200, within=0.2):
            indexer = Indexer(settings, es_holder["es"])
            articles, rejected = [], []
            for value in batch:
                try:
                    articles.append(decode("index", "articles.tagged", value))
                except ValueError as exc:
                    rejected.append((value, str(exc)))
            for value, reason in rejected:
                await dead("index", reason, value, None)
            if not articles:
                continue
            started = time.perf_counter()
            results = await indexer.index(articles)
            STAGE_SECONDS.labels("index").observe((time.perf_counter() - started)
                                                  / len(articles))
            indexed = []
            for article, document, error in results:
                if error:
                    await dead("index", f"elasticsearch refused the document: {error}",
                               json.dumps(article).encode(), None)
                else:
                    PROCESSED.labels("index", "ok").inc()
                    indexed.append(document)
            await match_stage(indexed)

    async def match_stage(documents: list[dict[str, Any]]) -> None:
        """Match what was just indexed; publish each alert that fired for the first time."""
        if not documents:
            return
        await subscriptions_ready.wait()
        started = time.perf_counter()
        fired = alerts_for(matcher, documents, datetime.now(UTC))
        MATCH_SECONDS.observe((time.perf_counter() - started) / len(documents))
        if not fired:
            return
        fresh = await with_retries(record, es_holder["es"], settings, fired)
        pending = [await alerts_topic.send(key=a["alert_id"].encode(),
                                           value=json.dumps(a).encode()) for a in fresh]
        for future in pending:
            await future  # on the broker before this batch's offsets may be committed
        PROCESSED.labels("match", "ok").inc(len(fresh))

    async def dead_alert(reason: str, alert: dict[str, Any]) -> None:
        key = str(alert.get("alert_id", "")).encode() or None
        await dead("deliver", reason, json.dumps(alert).encode(), key)

    @app.agent(alerts_topic)
    async def deliver_stage(stream: Any) -> None:
        async for event in stream.events():
            key, value = event.key, event.value
            try:
                alert = decode("deliver", "alert", value)
            except ValueError as exc:
                await dead("deliver", str(exc), value, key, event)
                continue
            await subscriptions_ready.wait()
            await deliverers["d"].handle(alert)

    @app.timer(interval=settings.delivery_sweep_interval)  # type: ignore[untyped-decorator]
    async def delivery_sweep() -> None:
        if "d" not in deliverers:
            return
        try:
            await deliverers["d"].sweep()
        except Exception as exc:  # Elasticsearch away: the next pass tries again
            log.warning("delivery sweep failed", error=str(exc)[:300])

    return app


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    """Run the worker until SIGTERM/SIGINT (Faust's own worker handles the signals)."""
    from sitrep.topics import create_topics

    create_topics(settings)
    app = build_app(settings)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True)
    worker.execute_from_commandline()
