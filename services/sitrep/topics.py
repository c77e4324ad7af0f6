"""The Kafka topics of the pipeline and their creation.

Topic names are logical (``articles.raw``); ``Settings.topic`` adds the deployment's prefix.
Creating them explicitly (the broker's auto-creation is off in the local stack) gives every
topic the partition count that bounds how far a stage scales out, and makes a misspelt topic
an error instead of a silent new topic.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sitrep.config import Settings
from sitrep.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    purpose: str
    config: dict[str, str] = field(default_factory=dict)
    #: Registry topics are co-partitioned with each other (same key, same count), so they
    #: take ``feeds_partitions``; pipeline topics take ``topic_partitions``.
    registry: bool = False
    #: A topic every reader consumes whole (subscriptions) needs no parallelism: one
    #: partition keeps its records in one order.
    fixed_partitions: int | None = None

    def partitions(self, settings: Settings) -> int:
        if self.fixed_partitions is not None:
            return self.fixed_partitions
        return settings.feeds_partitions if self.registry else settings.topic_partitions


#: Seven days of history lets a new consumer (or a fixed bug) replay a week of articles.
_WEEK_MS = str(7 * 24 * 3600 * 1000)

PIPELINE_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        "articles.raw", "fetched pages with feed metadata",
        # Pages are capped at article_max_bytes; JSON escaping can nearly double that.
        {"retention.ms": _WEEK_MS, "max.message.bytes": str(10 * 1024 * 1024)},
    ),
    TopicSpec("articles.clean", "extracted article text", {"retention.ms": _WEEK_MS}),
    TopicSpec("articles.tagged", "articles with places and actors", {"retention.ms": _WEEK_MS}),
    TopicSpec("alerts", "subscription matches to deliver", {"retention.ms": _WEEK_MS}),
    TopicSpec(
        "deadletter",
        "messages a stage could not process, with the stage and the reason",
        {"retention.ms": str(30 * 24 * 3600 * 1000)},
    ),
    TopicSpec(
        "feeds", "the feed registry (compacted; key: feed id, null value: removed)",
        {"cleanup.policy": "compact"}, registry=True,
    ),
    TopicSpec(
        "feeds.state", "the poller's state per feed (compacted; keyed like feeds)",
        {"cleanup.policy": "compact"}, registry=True,
    ),
    TopicSpec(
        "subscriptions",
        "alert subscriptions (compacted; key: subscription id, null value: removed); every "
        "worker and API process reads all of it",
        {"cleanup.policy": "compact"}, fixed_partitions=1,
    ),
)


def _wait_for_leaders(admin: Any, topics: list[str], timeout: float = 30.0) -> None:
    """Return once every partition of the new topics has a leader.

    Right after creation the broker answers produce requests with NotLeaderForPartition for
    a moment; waiting here keeps the first writes free of retries and warnings.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = admin.describe_topics(topics)
        if all(
            t.get("error_code", 0) == 0 and t["partitions"]
            and all(p.get("leader_id", p.get("leader", -1)) >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        time.sleep(0.1)
    log.warning("topics still without leaders", topics=topics)


def create_topics(
    settings: Settings, specs: tuple[TopicSpec, ...] = PIPELINE_TOPICS
) -> dict[str, str]:
    """Create the topics that do not exist yet; return ``{topic: "created" | "exists"}``.

    Idempotent, so every service may run it at start and the setup job may run twice.
    """
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_servers, client_id="sitrep-setup")
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(
                settings.topic(spec.name),
                num_partitions=spec.partitions(settings),
                replication_factor=settings.topic_replication,
                topic_configs=spec.config,
            )
            for spec in specs
            if settings.topic(spec.name) not in existing
        ]
        if wanted:
            admin.create_topics(wanted)
            _wait_for_leaders(admin, [t.name for t in wanted])
        result = {settings.topic(spec.name): "exists" for spec in specs}
        for topic in wanted:
            result[topic.name] = "created"
            log.info("topic created", topic=topic.name, partitions=topic.num_partitions)
        return result
    finally:
        admin.close()


def read_to_end(
    settings: Settings, topic: str, partitions: Sequence[int] | None = None,
    limit: int | None = None,
) -> Iterator[Any]:
    """Every record of a topic (or of some partitions), from the beginning to the end offset
    each partition had when we started: it returns even while producers keep writing.

    The registry, the benchmarks and the tests all read topics this way.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_servers, enable_auto_commit=False, group_id=None,
        client_id="sitrep-reader",
    )
    try:
        if partitions is None:
            partitions = sorted(consumer.partitions_for_topic(topic) or ())
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            return
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        pending = {tp for tp in tps if end[tp] > 0}
        seen = 0
        while pending:
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    yield record
                    seen += 1
                    if limit is not None and seen >= limit:
                        return
            pending = {tp for tp in pending if consumer.position(tp) < end[tp]}
    finally:
        consumer.close()
