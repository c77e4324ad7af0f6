"""The feed registry: which feeds exist, and what the poller knows of each.

Both live in compacted Kafka topics rather than in Elasticsearch:

- ``feeds`` (key: feed id, value: :class:`Feed`, null: removed) is also how pollers share the
  work. Each poller joins one consumer group on it and polls the feeds of the partitions
  Kafka assigns to it; when a poller dies Kafka hands its partitions to the others. No
  leader election of our own, and the registry is durable and replicated like any topic.
- ``feeds.state`` (same key, same partition count, so the same partition) holds each feed's
  :class:`FeedState`: validators, body hash, intervals, errors and the keys of the entries
  already emitted. A poller that takes over a partition reads it and resumes where the last
  owner stopped, without re-emitting old entries.

Elasticsearch would have made listing easier but would have added a second system to the
poller's hot path and no way to split the work.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from sitrep.config import Settings
from sitrep.schemas import validate
from sitrep.urls import canonical_url, feed_id

FEEDS_TOPIC = "feeds"
STATE_TOPIC = "feeds.state"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when else None


class FeedError(ValueError):
    """A feed definition or registry operation is wrong; the message says where."""


class Feed(BaseModel):
    """A registered feed (value of the ``feeds`` topic)."""

    id: str
    url: str
    name: str | None = None
    tags: list[str] = Field(default_factory=list)
    language: str | None = None
    interval: float | None = Field(None, gt=0)
    added_at: str = Field(default_factory=lambda: iso(utcnow()) or "")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.lower().startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @classmethod
    def create(
        cls, url: str, name: str | None = None, tags: Sequence[str] = (),
        language: str | None = None, interval: float | None = None,
    ) -> Feed:
        url = url.strip()
        if not url.lower().startswith(("http://", "https://")):
            raise FeedError(f"{url!r} is not an http(s) URL")
        return cls(
            id=feed_id(url), url=canonical_url(url), name=name, tags=list(tags),
            language=language, interval=interval,
        )


FeedStatus = Literal["new", "ok", "failing", "disabled"]


class FeedState(BaseModel):
    """The poller's memory of one feed (value of ``feeds.state``)."""

    feed_id: str
    url: str
    status: FeedStatus = "new"
    last_status: str | None = None
    last_polled_at: str | None = None
    last_success_at: str | None = None
    last_new_at: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    polls: int = 0
    not_modified: int = 0
    items_seen: int = 0
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    validators_trusted: bool = True
    polls_since_full: int = 0
    interval: float
    next_poll_at: str
    seen: list[str] = Field(default_factory=list)

    @classmethod
    def fresh(cls, feed: Feed, settings: Settings, now: datetime) -> FeedState:
        return cls(
            feed_id=feed.id, url=feed.url, interval=feed.interval or settings.poll_interval,
            next_poll_at=iso(now) or "",
        )


class _FeedSpec(BaseModel):
    url: str
    name: str | None = None
    tags: list[str] = Field(default_factory=list)
    language: str | None = None
    interval: float | None = Field(None, gt=0)


def load_feed_file(path: Path) -> list[Feed]:
    """Feeds from a YAML file: a list (or ``feeds:`` list) of URLs or mappings."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise FeedError(f"{path}: cannot read feed list: {exc}") from exc
    items = data.get("feeds") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise FeedError(f"{path}: expected a list of feeds (or a 'feeds:' list)")
    feeds: list[Feed] = []
    for number, item in enumerate(items, start=1):
        spec_data: Any = {"url": item} if isinstance(item, str) else item
        try:
            spec = _FeedSpec.model_validate(spec_data)
            feeds.append(Feed.create(**spec.model_dump()))
        except (ValidationError, FeedError) as exc:
            raise FeedError(f"{path}: feed #{number}: {exc}") from exc
    return feeds


def encode(model: BaseModel, schema: str, check: bool = True) -> bytes:
    """JSON bytes of a registry record, validated against its schema first.

    The poller's hot path passes ``check=False``: its state records come from the typed
    model, and the tests validate that model's output against the schema.
    """
    if not check:
        return model.model_dump_json().encode()
    document = model.model_dump(mode="json")
    validate(schema, document)
    return json.dumps(document, separators=(",", ":")).encode()


class FeedRegistry:
    """Registry operations for the CLI and the API (synchronous, kafka-python)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def add(self, feeds: Iterable[Feed]) -> list[Feed]:
        from kafka import KafkaProducer

        from sitrep.topics import create_topics

        create_topics(self.settings)
        producer = KafkaProducer(bootstrap_servers=self.settings.kafka_servers, acks="all")
        added = []
        try:
            for feed in feeds:
                producer.send(
                    self.settings.topic(FEEDS_TOPIC), key=feed.id.encode(),
                    value=encode(feed, "feed"),
                )
                added.append(feed)
            producer.flush()
        finally:
            producer.close()
        return added

    def remove(self, ref: str) -> Feed:
        """Remove a feed by id or URL: tombstones in both topics."""
        from kafka import KafkaProducer

        feeds = self.feeds()
        wanted = feeds.get(ref) or feeds.get(feed_id(ref))
        if wanted is None:
            raise FeedError(f"no feed {ref!r} in the registry (see `sitrep feeds list`)")
        producer = KafkaProducer(bootstrap_servers=self.settings.kafka_servers, acks="all")
        try:
            for topic in (FEEDS_TOPIC, STATE_TOPIC):
                producer.send(self.settings.topic(topic), key=wanted.id.encode(), value=None)
            producer.flush()
        finally:
            producer.close()
        return wanted

    def feeds(self) -> dict[str, Feed]:
        records = read_compacted(self.settings, self.settings.topic(FEEDS_TOPIC))
        return {
            key: Feed.model_validate_json(value) for key, value in records.items()
            if value is not None
        }

    def states(self) -> dict[str, FeedState]:
        records = read_compacted(self.settings, self.settings.topic(STATE_TOPIC))
        return {
            key: FeedState.model_validate_json(value) for key, value in records.items()
            if value is not None
        }


def read_compacted(
    settings: Settings, topic: str, partitions: Sequence[int] | None = None
) -> dict[str, bytes | None]:
    """The latest value per key of a compacted topic (null for removed keys)."""
    from sitrep.topics import read_to_end

    return {
        record.key.decode(): record.value
        for record in read_to_end(settings, topic, partitions)
        if record.key is not None
    }
