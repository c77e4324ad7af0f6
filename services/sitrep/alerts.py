"""Stage 5, alerts: indexed articles matched against every subscription, each alert once.

Reading order: :func:`alerts_for` is the pure ``tagged -> alerts`` stage; :class:`Matcher`
keeps the subscriptions indexed for it; :func:`record` is the once-only gate; and
:class:`Deliverer` takes an alert from the ``alerts`` topic to the webhook and the mailbox.

**Why after indexing.** Matching runs in the worker right after a batch is written to
Elasticsearch, on the very documents written: the search API answers from those documents,
so the matcher sees what search sees, and each carries the ``story_id`` the indexer gave it.
"One alert per (subscription, story)" needs that id: the alert id is a hash of the pair, and
the alert's history document is created with ``op_type=create``, so a replay, a restart or a
near-duplicate republication (same story, new URL) meets a conflict instead of a second alert.

**Delivery state lives in the alerts index**, per channel, and every hand-over is claimed with
Elasticsearch's optimistic concurrency (``if_seq_no``), so any number of workers can share the
work, a crashed worker's deliveries are taken over when their lease ends, and a webhook that
is down for a while gets the alert when it returns, once. Retries back off exponentially;
after ``delivery_max_attempts`` the alert goes to the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from prometheus_client import Counter, Histogram

from sitrep.config import Settings
from sitrep.logs import get_logger
from sitrep.match import DocumentView, SubscriptionIndex
from sitrep.subscriptions import Subscription, SubscriptionStore

log = get_logger(__name__)

ALERT_SCHEMA: Final = "alert/1"
SNIPPET_CHARS: Final = 300
#: States after which nothing more happens to an alert.
FINAL: Final = frozenset({"delivered", "failed", "cancelled"})
#: An alert matched but not picked up this long (its publication or its first delivery
#: was lost with a worker) is taken over by the sweeper.
STALE_MATCHED: Final = timedelta(seconds=60)

ALERTS = Counter("sitrep_alerts_total", "Alerts fired (first match of a subscription and story)")
DELIVERIES = Counter("sitrep_alert_deliveries_total", "Delivery attempts", ["channel", "outcome"])
MATCH_SECONDS = Histogram(
    "sitrep_match_seconds", "Matching time per article against all subscriptions",
    buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1),
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def alerts_index(settings: Settings) -> str:
    return f"{settings.index_prefix}-alerts"


def alert_id(subscription_id: str, story_id: str) -> str:
    """One id per (subscription, story): the key of the once-only guarantee."""
    return hashlib.sha256(f"{subscription_id}\x00{story_id}".encode()).hexdigest()[:32]


# --------------------------------------------------------------------------------------------
# Matching (pure)
# --------------------------------------------------------------------------------------------


def make_alert(subscription: Subscription, document: dict[str, Any], now: datetime) -> \
        dict[str, Any]:
    """The message on the ``alerts`` topic (schemas/alert.schema.json)."""
    story = str(document.get("story_id") or document["id"])
    text = document.get("text") or ""
    return {
        "schema": ALERT_SCHEMA,
        "alert_id": alert_id(subscription.id, story),
        "subscription_id": subscription.id,
        "subscription_name": subscription.name,
        "query": subscription.query,
        "mode": subscription.mode,
        "channels": subscription.channels(),
        "matched_at": iso(now),
        "story_id": story,
        "article": {
            "id": document["id"],
            "title": document.get("title"),
            "url": document.get("url"),
            "source": document.get("source"),
            "published": document.get("published"),
            "language": document.get("language"),
            "countries": list(document.get("countries") or []),
            "regions": list(document.get("regions") or []),
            "actor_names": list(document.get("actor_names") or []),
            "snippet": text[:SNIPPET_CHARS],
        },
    }


class Matcher:
    """Every subscription, indexed by required terms (:class:`sitrep.match.SubscriptionIndex`)
    so an article costs what its own terms cost, however many subscriptions there are."""

    def __init__(self) -> None:
        self.index: SubscriptionIndex[str] = SubscriptionIndex()
        self.subscriptions: dict[str, Subscription] = {}

    def update(self, key: str, subscription: Subscription | None) -> None:
        """Follow a change of the subscription store (the store's listener signature)."""
        self.index.remove(key)
        self.subscriptions.pop(key, None)
        if subscription is None:
            return
        try:
            node = subscription.node()
        except ValueError as exc:  # validated at creation; a gazetteer change could still bite
            log.error("subscription query no longer compiles; skipped", id=key, error=str(exc))
            return
        self.index.add(key, node)
        self.subscriptions[key] = subscription

    def match(self, document: dict[str, Any]) -> list[Subscription]:
        keys = self.index.match(DocumentView(document))
        return [self.subscriptions[k] for k in keys]


def alerts_for(matcher: Matcher, documents: Iterable[dict[str, Any]], now: datetime) -> \
        list[dict[str, Any]]:
    """The ``tagged -> alerts`` stage: one alert per matching (subscription, document).

    Several documents of one batch may be one story; they give one alert (the first).
    """
    alerts: dict[str, dict[str, Any]] = {}
    for document in documents:
        if document.get("duplicate_of"):
            continue  # the same text under another URL: its original already alerted
        for subscription in matcher.match(document):
            alert = make_alert(subscription, document, now)
            alerts.setdefault(alert["alert_id"], alert)
    return list(alerts.values())


# --------------------------------------------------------------------------------------------
# The once-only gate and the history (Elasticsearch)
# --------------------------------------------------------------------------------------------


def history_document(alert: dict[str, Any], status: str) -> dict[str, Any]:
    """The alert's document in the alerts index (what Kibana shows)."""
    article = alert["article"]
    return {
        "alert_id": alert["alert_id"],
        "subscription_id": alert["subscription_id"],
        "subscription_name": alert["subscription_name"],
        "query": alert["query"],
        "mode": alert["mode"],
        "article_id": article["id"],
        "story_id": alert["story_id"],
        "title": article.get("title"),
        "url": article.get("url"),
        "source": article.get("source"),
        "published": article.get("published"),
        "countries": article.get("countries") or [],
        "regions": article.get("regions") or [],
        "actor_names": article.get("actor_names") or [],
        "channels": alert["channels"],
        "matched_at": alert["matched_at"],
        "delivery_status": status,
        "deliveries": {},
        "alert": alert,
    }


async def record(es: Any, settings: Settings, alerts: list[dict[str, Any]]) -> \
        list[dict[str, Any]]:
    """Create the history documents; return the alerts to publish.

    A new alert is created ``matched`` and published; a conflict means this (subscription,
    story) already fired, and it is published again only if no delivery has claimed it yet
    (the worker may have died before publishing it). Publishing twice is harmless: delivery
    claims an alert once, with optimistic concurrency, so the second copy finds it taken.
    There is deliberately no "published" state written after publication: that write
    would race the delivery stage, which may already have claimed the alert.
    """
    from elasticsearch.helpers import async_bulk

    if not alerts:
        return []
    index = alerts_index(settings)
    actions = [{"_op_type": "create", "_index": index, "_id": a["alert_id"],
                "_source": history_document(a, "matched")} for a in alerts]
    _, errors = await async_bulk(es, actions, raise_on_error=False, raise_on_exception=True,
                                 refresh=False)
    failed = {}
    for error in errors if isinstance(errors, list) else []:
        item = next(iter(error.values()))
        failed[str(item.get("_id"))] = item
    conflicts = [k for k, item in failed.items() if item.get("status") == 409]
    other = {k: item for k, item in failed.items() if item.get("status") != 409}
    if other:
        raise RuntimeError(f"alert history refused {len(other)} documents: "
                           f"{json.dumps(next(iter(other.values())).get('error'))[:500]}")
    unfinished: set[str] = set()
    if conflicts:
        found = await es.mget(index=index, ids=conflicts, source=["delivery_status"])
        unfinished = {d["_id"] for d in found["docs"]
                      if d.get("found") and d["_source"].get("delivery_status") == "matched"}
    fresh = [a for a in alerts if a["alert_id"] not in failed or a["alert_id"] in unfinished]
    ALERTS.inc(len([a for a in alerts if a["alert_id"] not in failed]))
    return fresh


# --------------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------------

DeadLetter = Callable[[str, dict[str, Any]], Awaitable[None]]


class Deliverer:
    """Webhook and e-mail delivery with durable, shared, retried state (see module doc)."""

    def __init__(self, settings: Settings, es: Any, store: SubscriptionStore,
                 dead_letter: DeadLetter) -> None:
        self.settings = settings
        self.es = es
        self.store = store
        self.dead_letter = dead_letter
        self.index = alerts_index(settings)
        self._session: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._limit = asyncio.Semaphore(50)

    async def session(self) -> Any:
        from sitrep.delivery import webhook_session

        if self._session is None:
            self._session = webhook_session(allow_private=self.settings.allow_private_urls)
        return self._session

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- claiming ------------------------------------------------------------------------

    def _lease(self) -> str:
        seconds = 2 * self.settings.webhook_timeout + 30
        return iso(utcnow() + timedelta(seconds=seconds))

    async def _claim(self, hit: dict[str, Any]) -> dict[str, Any] | None:
        """Take an alert for delivery, unless another worker took it first."""
        from elasticsearch import ConflictError

        try:
            await self.es.update(
                index=self.index, id=hit["_id"], if_seq_no=hit["_seq_no"],
                if_primary_term=hit["_primary_term"],
                doc={"delivery_status": "delivering", "lease_until": self._lease()},
            )
        except ConflictError:
            return None
        source: dict[str, Any] = hit["_source"]
        return source

    # --- the fast path: an alert just published -------------------------------------------

    async def handle(self, alert: dict[str, Any]) -> None:
        """Deliver an alert from the topic (in the background: a slow webhook must not hold
        up the stream; the lease and the sweeper cover a crash meanwhile)."""
        from elasticsearch import NotFoundError

        for _ in range(5):
            try:
                hit = await self.es.get(index=self.index, id=alert["alert_id"])
            except NotFoundError:
                log.warning("alert without history document", alert_id=alert["alert_id"])
                return
            status = hit["_source"].get("delivery_status")
            if status != "matched":
                return  # a replay of an alert already being (or done being) delivered
            doc = await self._claim(dict(hit))
            if doc is not None:
                self._spawn(self._deliver_one(alert["alert_id"], doc))
                return
            # Changed under us: another worker (or a replayed copy) claimed it first; look
            # again, and the status says so.

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            async with self._limit:
                try:
                    await work
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("delivery failed unexpectedly; the sweeper will retry")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the deliveries in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver_one(self, key: str, doc: dict[str, Any]) -> None:
        subscription = self.store.get(doc["subscription_id"])
        if subscription is None:
            await self._update(key, {"delivery_status": "cancelled",
                                     "last_error": "subscription removed"})
            return
        pending = [c for c in ("webhook", "email") if c in subscription.channels()
                   and (doc.get("deliveries") or {}).get(c, {}).get("status")
                   not in ("delivered", "dead")]
        if not pending:
            await self._update(key, {"delivery_status": "delivered",
                                     "delivered_at": iso(utcnow())})
            return
        if subscription.mode == "digest" and not doc.get("deliveries"):
            await self._update(key, {"delivery_status": "digest_pending"})
            return
        await self._deliver(subscription, [(key, doc)], digest=False)

    # --- sending ---------------------------------------------------------------------------

    async def _send(self, channel: str, subscription: Subscription,
                    alerts: list[dict[str, Any]], digest: bool, delivery_id: str) -> Any:
        from sitrep import delivery

        if channel == "webhook":
            assert subscription.webhook is not None
            payload = delivery.webhook_payload(
                {"id": subscription.id, "name": subscription.name, "query": subscription.query},
                alerts, digest,
            )
            return await delivery.post_webhook(
                await self.session(), subscription.webhook.url, subscription.webhook.secret,
                payload, delivery_id=delivery_id, timeout=self.settings.webhook_timeout,
                allow_private=self.settings.allow_private_urls,
            )
        subject, body = delivery.format_email(subscription.name, subscription.query, alerts,
                                              digest)
        message = delivery.build_email(self.settings, subscription.email, subject, body)
        return await delivery.send_email(self.settings, message)

    async def _deliver(self, subscription: Subscription, docs: list[tuple[str, dict[str, Any]]],
                       digest: bool) -> None:
        """Send one alert, or a digest of several, on every channel not yet done; then write
        each alert's new state."""
        from sitrep.delivery import retry_delay

        first = docs[0][1]
        states: dict[str, dict[str, Any]] = dict(first.get("deliveries") or {})
        alerts = [doc["alert"] for _, doc in docs]
        delivery_id = docs[0][0] if not digest else hashlib.sha256(
            "".join(sorted(k for k, _ in docs)).encode()).hexdigest()[:32]
        now = utcnow()
        for channel in ("webhook", "email"):
            if channel not in subscription.channels():
                continue
            state = dict(states.get(channel) or {"status": "pending", "attempts": 0})
            if state["status"] in ("delivered", "dead"):
                continue
            result = await self._send(channel, subscription, alerts, digest, delivery_id)
            state["attempts"] = int(state.get("attempts", 0)) + 1
            state["last_status"] = result.status
            if result.ok:
                state.update(status="delivered", delivered_at=iso(utcnow()), last_error=None,
                             next_attempt_at=None)
                DELIVERIES.labels(channel, "delivered").inc()
            elif result.retryable and state["attempts"] < self.settings.delivery_max_attempts:
                delay = retry_delay(state["attempts"], self.settings.delivery_backoff,
                                    self.settings.delivery_backoff_max)
                state.update(status="retrying", last_error=(result.error or "")[:1000],
                             next_attempt_at=iso(now + timedelta(seconds=delay)))
                DELIVERIES.labels(channel, "retrying").inc()
                log.info("delivery failed, will retry", channel=channel,
                         subscription=subscription.id, attempt=state["attempts"],
                         in_seconds=round(delay, 1), error=result.error)
            else:
                state.update(status="dead", last_error=(result.error or "")[:1000],
                             next_attempt_at=None)
                DELIVERIES.labels(channel, "dead").inc()
                for key, doc in docs:
                    await self.dead_letter(
                        f"{channel} delivery failed after {state['attempts']} attempt(s): "
                        f"{result.error}", doc["alert"] | {"alert_id": key})
            states[channel] = state
        update = overall(states, subscription.channels())
        update["deliveries"] = states
        for key, _ in docs:
            await self._update(key, update)

    async def _update(self, key: str, doc: dict[str, Any]) -> None:
        await self.es.update(index=self.index, id=key, doc=doc, retry_on_conflict=3)

    # --- the sweeper: retries, crashed workers' leftovers, digests --------------------------

    async def sweep(self, now: datetime | None = None) -> int:
        """One pass: deliver what is due. Returns the number of alerts taken."""
        now = now or utcnow()
        taken = 0
        due = {"bool": {"should": [
            {"bool": {"filter": [{"term": {"delivery_status": "retrying"}},
                                 {"range": {"next_attempt_at": {"lte": iso(now)}}}]}},
            {"bool": {"filter": [{"term": {"delivery_status": "delivering"}},
                                 {"range": {"lease_until": {"lt": iso(now)}}}]}},
            {"bool": {"filter": [{"term": {"delivery_status": "matched"}},
                                 {"range": {"matched_at": {"lt": iso(now - STALE_MATCHED)}}}]}},
        ], "minimum_should_match": 1}}
        found = await self.es.search(index=self.index, query=due, size=200,
                                     seq_no_primary_term=True, ignore_unavailable=True,
                                     sort=[{"matched_at": "asc"}])
        digest_retries: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for hit in found["hits"]["hits"]:
            doc = await self._claim(hit)
            if doc is None:
                continue
            taken += 1
            subscription = self.store.get(doc["subscription_id"])
            if subscription is not None and subscription.mode == "digest" \
                    and doc.get("deliveries"):
                # A digest that failed is retried as the digest it was, not alert by alert.
                digest_retries.setdefault(subscription.id, []).append((hit["_id"], doc))
            else:
                self._spawn(self._deliver_one(hit["_id"], doc))
        for key, docs in digest_retries.items():
            subscription = self.store.get(key)
            assert subscription is not None
            self._spawn(self._deliver(subscription, docs, digest=True))
        taken += await self._digests(now)
        return taken

    async def _digests(self, now: datetime) -> int:
        found = await self.es.search(
            index=self.index, size=0, ignore_unavailable=True,
            query={"term": {"delivery_status": "digest_pending"}},
            aggs={"subs": {"terms": {"field": "subscription_id", "size": 1000},
                           "aggs": {"oldest": {"min": {"field": "matched_at"}}}}},
        )
        taken = 0
        for bucket in (found.get("aggregations") or {}).get("subs", {}).get("buckets", []):
            subscription = self.store.get(bucket["key"])
            oldest = bucket["oldest"].get("value")
            if subscription is None or oldest is None:
                continue
            since = datetime.fromtimestamp(oldest / 1000, UTC)
            if now - since < timedelta(minutes=subscription.digest_minutes):
                continue
            hits = await self.es.search(
                index=self.index, size=500, seq_no_primary_term=True,
                query={"bool": {"filter": [{"term": {"delivery_status": "digest_pending"}},
                                           {"term": {"subscription_id": subscription.id}}]}},
                sort=[{"matched_at": "asc"}],
            )
            docs = []
            for hit in hits["hits"]["hits"]:
                doc = await self._claim(hit)
                if doc is not None:
                    docs.append((hit["_id"], doc))
            if docs:
                taken += len(docs)
                self._spawn(self._deliver(subscription, docs, digest=True))
        return taken


def overall(states: dict[str, dict[str, Any]], channels: list[str]) -> dict[str, Any]:
    """The alert's overall state from its channels' states (pure)."""
    wanted = [states.get(c, {}) for c in channels if c in ("webhook", "email")]
    statuses = [s.get("status") for s in wanted]
    if all(s == "delivered" for s in statuses):
        return {"delivery_status": "delivered", "delivered_at": iso(utcnow()),
                "next_attempt_at": None, "last_error": None}
    retrying = [s for s in wanted if s.get("status") == "retrying"]
    errors = "; ".join(s.get("last_error") or "" for s in wanted if s.get("last_error"))
    if retrying:
        return {"delivery_status": "retrying", "last_error": errors[:1000],
                "next_attempt_at": min(s["next_attempt_at"] for s in retrying)}
    return {"delivery_status": "failed", "last_error": errors[:1000], "next_attempt_at": None}
