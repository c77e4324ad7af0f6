"""The Kafka topics of the pipeline and their creation.

Topic names are logical (``articles.raw``); ``Settings.topic`` adds the deployment's prefix.
Creating them explicitly (the broker's auto-creation is off in the local stack) gives every
topic the partition count that bounds how far a stage scales out, and makes a misspelt topic
an error instead of a silent new topic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sitrep.config import Settings
from sitrep.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    purpose: str
    config: dict[str, str] = field(default_factory=dict)


#: Seven days of history lets a new consumer (or a fixed bug) replay a week of articles.
_WEEK_MS = str(7 * 24 * 3600 * 1000)

PIPELINE_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec("articles.raw", "fetched pages with feed metadata", {"retention.ms": _WEEK_MS}),
    TopicSpec("articles.clean", "extracted article text", {"retention.ms": _WEEK_MS}),
    TopicSpec("articles.tagged", "articles with places and actors", {"retention.ms": _WEEK_MS}),
    TopicSpec("alerts", "subscription matches to deliver", {"retention.ms": _WEEK_MS}),
    TopicSpec(
        "deadletter",
        "messages a stage could not process, with the stage and the reason",
        {"retention.ms": str(30 * 24 * 3600 * 1000)},
    ),
)


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
                num_partitions=settings.topic_partitions,
                replication_factor=settings.topic_replication,
                topic_configs=spec.config,
            )
            for spec in specs
            if settings.topic(spec.name) not in existing
        ]
        if wanted:
            admin.create_topics(wanted)
        result = {settings.topic(spec.name): "exists" for spec in specs}
        for topic in wanted:
            result[topic.name] = "created"
            log.info("topic created", topic=topic.name, partitions=settings.topic_partitions)
        return result
    finally:
        admin.close()
