"""Keyword alert subscriptions: what they are and where they live.

A subscription is a search (:class:`sitrep.search.SearchRequest`'s query and filters, in the
same language and with the same meaning) plus where to deliver its alerts: the Kafka topic
``alerts`` always, a webhook and e-mail addresses optionally, immediately or as a digest.

They are stored in the compacted topic ``subscriptions`` (key: id, null: removed), like the
feed registry and for the same reasons: durable and replicated without a second database,
and every process that needs them (each worker's matcher, each API process) follows the topic
and holds them all in memory, so matching never waits on a network call and a change reaches
every matcher within milliseconds. :class:`SubscriptionStore` is that follower.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from sitrep.config import Settings
from sitrep.logs import get_logger
from sitrep.query import Node
from sitrep.search import Filters, SearchError, compile_request

log = get_logger(__name__)

TOPIC = "subscriptions"
SCHEMA = "subscription"
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


class SubscriptionError(ValueError):
    """A subscription that cannot be accepted; ``position`` points into its query."""

    def __init__(self, message: str, position: int | None = None, field: str = "query") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.field = field


def new_id() -> str:
    return secrets.token_hex(8)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class Webhook(BaseModel):
    url: str = Field(..., max_length=2048)
    #: HMAC key of the ``X-Sitrep-Signature`` header; generated when not given.
    secret: str = Field(default_factory=new_secret, min_length=16, max_length=256)


class SubscriptionSpec(BaseModel):
    """What a user sends to create a subscription (API body, CLI options)."""

    name: str = Field(..., min_length=1, max_length=200)
    query: str = Field("", max_length=2000)
    filters: Filters = Field(default_factory=Filters)
    webhook: Webhook | None = None
    email: list[str] = Field(default_factory=list, max_length=20)
    mode: Literal["immediate", "digest"] = "immediate"
    digest_minutes: int = Field(60, ge=1, le=7 * 24 * 60)

    @field_validator("email")
    @classmethod
    def _emails(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _EMAIL.fullmatch(value):
                raise ValueError(f"{value!r} is not an e-mail address")
        return values


class Subscription(SubscriptionSpec):
    """A stored subscription (value of the ``subscriptions`` topic)."""

    id: str = Field(default_factory=new_id)
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())

    def node(self) -> Node:
        """The tree search would run for this subscription (validated at creation)."""
        return compile_request(self.query, self.filters)

    def channels(self) -> list[str]:
        found = ["kafka"]
        if self.webhook is not None:
            found.append("webhook")
        if self.email:
            found.append("email")
        return found

    def public(self) -> dict[str, Any]:
        """What listings show: everything but the webhook secret."""
        data = self.model_dump(mode="json")
        if data.get("webhook"):
            data["webhook"]["secret"] = "***"
        return data


def create(spec: SubscriptionSpec, settings: Settings, *, check_urls: bool = True) -> Subscription:
    """A new subscription from a request, or SubscriptionError saying what is wrong.

    The query is compiled here, once, so a subscription that is stored always parses; a
    webhook must be http(s) and, unless ``allow_private_urls``, public (an API that posts to
    any URL on request would otherwise be a way into the internal network).
    """
    try:
        compile_request(spec.query, spec.filters)
    except SearchError as exc:
        raise SubscriptionError(exc.message, exc.position,
                                "query" if exc.field == "q" else exc.field) from exc
    if spec.webhook is not None and check_urls:
        from sitrep.urls import UnsafeURLError, check_public_url

        try:
            check_public_url(spec.webhook.url, allow_private=settings.allow_private_urls)
        except UnsafeURLError as exc:
            raise SubscriptionError(f"webhook refused: {exc}", field="webhook.url") from exc
    return Subscription(**spec.model_dump())


def encode(subscription: Subscription) -> bytes:
    return json.dumps(subscription.model_dump(mode="json")).encode()


def decode(value: bytes) -> Subscription:
    return Subscription.model_validate_json(value)


Listener = Callable[[str, "Subscription | None"], None]


class SubscriptionStore:
    """All subscriptions, followed live from the compacted topic.

    ``start`` reads the topic from the beginning up to the end offset it had, so once it
    returns the store is complete (a matcher must not run on a partial set: a restart would
    silently miss alerts); a background task then keeps following. ``put``/``remove`` write
    through Kafka (acks from all replicas) and apply the change locally at once, so the
    process that made a change reads it back immediately.
    """

    def __init__(self, settings: Settings, client_id: str = "sitrep-subscriptions") -> None:
        self.settings = settings
        self.topic = settings.topic(TOPIC)
        self.client_id = client_id
        self.items: dict[str, Subscription] = {}
        self.listeners: list[Listener] = []
        self.invalid = 0
        self._consumer: Any = None
        self._producer: Any = None
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(id, subscription or None)`` on every change, starting with the
        subscriptions already known."""
        self.listeners.append(listener)
        for key, subscription in list(self.items.items()):
            listener(key, subscription)

    def _apply(self, key: str, subscription: Subscription | None) -> None:
        if subscription is None:
            if self.items.pop(key, None) is None:
                return
        else:
            self.items[key] = subscription
        for listener in self.listeners:
            listener(key, subscription)

    def _record(self, record: Any) -> None:
        key = record.key.decode("utf-8", errors="replace") if record.key else ""
        if not key:
            return
        if record.value is None:
            self._apply(key, None)
            return
        try:
            self._apply(key, decode(record.value))
        except (ValidationError, ValueError) as exc:
            # Written by a newer or broken client: skip it loudly rather than stop matching
            # every other subscription.
            self.invalid += 1
            log.error("unreadable subscription skipped", id=key, error=str(exc)[:300])

    async def start(self, *, follow: bool = True) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_servers, enable_auto_commit=False,
            group_id=None, client_id=self.client_id, auto_offset_reset="earliest",
        )
        await consumer.start()
        self._consumer = consumer
        if self.topic not in await consumer.topics():  # also loads the cluster's metadata
            await consumer.stop()
            raise RuntimeError(f"topic {self.topic} does not exist: run `sitrep setup`")
        partitions = consumer.partitions_for_topic(self.topic) or {0}
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        pending = {tp for tp in tps if end[tp] > 0}
        while pending:
            batches = await consumer.getmany(*tps, timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    self._record(record)
            pending = {tp for tp in pending if await consumer.position(tp) < end[tp]}
        # A service says how many it loaded; a one-off command (the CLI) keeps quiet.
        (log.info if follow else log.debug)("subscriptions loaded", count=len(self.items),
                                            invalid=self.invalid)
        if follow:
            self._task = asyncio.create_task(self._follow(), name="subscriptions-follow")
        else:
            await consumer.stop()
            self._consumer = None

    async def _follow(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=1000)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the broker going away must not end the follower
                log.warning("subscriptions follower error, retrying", error=str(exc)[:300])
                await asyncio.sleep(1)
                continue
            for records in batches.values():
                for record in records:
                    self._record(record)

    async def _send(self, key: str, value: bytes | None) -> None:
        from aiokafka import AIOKafkaProducer

        if self._producer is None:
            self._producer = AIOKafkaProducer(
                bootstrap_servers=self.settings.kafka_servers, acks="all",
                client_id=self.client_id, enable_idempotence=True,
            )
            await self._producer.start()
        await self._producer.send_and_wait(self.topic, key=key.encode(), value=value)

    async def put(self, subscription: Subscription) -> None:
        await self._send(subscription.id, encode(subscription))
        self._apply(subscription.id, subscription)

    async def remove(self, key: str) -> bool:
        """Remove a subscription; False when there was none with that id."""
        if key not in self.items:
            return False
        await self._send(key, None)
        self._apply(key, None)
        return True

    def get(self, key: str) -> Subscription | None:
        return self.items.get(key)

    def all(self) -> list[Subscription]:
        return sorted(self.items.values(), key=lambda s: (s.created_at, s.id))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
