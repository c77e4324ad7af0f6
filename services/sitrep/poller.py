"""Stage 1, the poller: feeds in, one ``articles.raw`` message per new entry out.

Read top to bottom: the pure core first (what to send, how to read a feed, which entries
are new, how a poll changes a feed's state, what message an entry becomes), then the
I/O edges (:class:`Poller`: HTTP through :mod:`sitrep.fetch`, Kafka in and out).

Guarantees:

- Every new entry becomes exactly one message in the normal case; an entry counts as seen
  only after its message is acknowledged by all in-sync replicas (``acks=all``) and the
  feed's state (with the entry's key) is written after that. A poller killed between the two
  re-emits those entries on restart: that is the at-least-once window, and duplicates from
  it are removed downstream, where the article id (hash of the canonical URL) makes the
  Elasticsearch write idempotent.
- One broken feed never stops the others: every failure becomes state (``feeds list``),
  backoff and a metric, never an exception out of the loop.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import hashlib
import heapq
import json
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import feedparser
from aiokafka.abc import ConsumerRebalanceListener
from prometheus_client import Counter, Gauge, Histogram

from sitrep.config import Settings
from sitrep.feeds import FEEDS_TOPIC, STATE_TOPIC, Feed, FeedState, encode, iso, utcnow
from sitrep.fetch import HTML_TYPES, Fetcher, FetchResult, retry_after_seconds
from sitrep.logs import get_logger
from sitrep.schemas import validate
from sitrep.urls import article_id, canonical_url

log = get_logger(__name__)

RAW_TOPIC = "articles.raw"
RAW_SCHEMA = "articles.raw/1"
#: How many entry keys a feed remembers: enough for feeds that keep old entries listed
#: (a feed of 10,000 entries), bounded so the state message stays small.
SEEN_MIN = 1_000
SEEN_FACTOR = 2
RETRY_AFTER_MAX = 24 * 3600.0

POLLS = Counter("sitrep_poller_polls_total", "Feed polls by outcome", ["outcome"])
NOT_MODIFIED = Counter("sitrep_poller_not_modified_total", "Polls answered 304 Not Modified")
ERRORS = Counter("sitrep_poller_errors_total", "Failed feed polls and article fetches", ["kind"])
NEW_ENTRIES = Counter("sitrep_poller_new_entries_total", "New entries emitted to articles.raw")
ARTICLES = Counter("sitrep_poller_articles_total", "Article fetches by status", ["status"])
FETCH_SECONDS = Histogram(
    "sitrep_poller_fetch_seconds", "HTTP fetch latency", ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
FEEDS_ASSIGNED = Gauge("sitrep_poller_feeds_assigned", "Feeds this poller is responsible for")


# ----------------------------------------------------------------------------------------
# The pure core
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One feed entry, normalised from whatever feedparser made of RSS or Atom."""

    key: str
    guid: str | None
    link: str | None
    title: str | None
    summary: str | None
    published: str | None
    updated: str | None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: str | None = None


@dataclass
class ParsedFeed:
    title: str | None
    entries: list[Entry]
    is_feed: bool
    problem: str | None  # malformed XML and the like: recorded, the usable part still used


def conditional_headers(state: FeedState, settings: Settings) -> dict[str, str]:
    """Validators to send, unless this poll must check them (or they proved untrustworthy).

    Many servers answer 304 from stale caches or send validators that never change, so every
    ``poll_full_fetch_every``-th poll fetches in full and compares the body hash.
    """
    due_for_check = state.polls_since_full + 1 >= settings.poll_full_fetch_every
    if not state.validators_trusted or due_for_check:
        return {}
    headers = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def _time(parsed: Any) -> str | None:
    if not parsed:
        return None
    try:
        return iso(datetime.fromtimestamp(calendar.timegm(parsed), UTC))
    except (TypeError, ValueError, OverflowError):
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def entry_from_parsed(item: Any, base_url: str) -> Entry:
    """Normalise one feedparser entry; relative links are resolved against the feed."""
    link = _text(item.get("link"))
    if not link:
        for candidate in item.get("links", []) or []:
            if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                link = str(candidate["href"]).strip()
                break
    if link:
        link = urljoin(base_url, link)
        if not link.lower().startswith(("http://", "https://")):
            link = None
    guid = _text(item.get("id"))
    # dict.get, not item.get: feedparser maps a missing updated_parsed onto published_parsed
    # with a DeprecationWarning per entry.
    updated = _time(dict.get(item, "updated_parsed"))
    published = _time(dict.get(item, "published_parsed")) or updated
    if guid:
        key_source = f"guid:{guid}"
    elif link:
        key_source = f"link:{canonical_url(link)}"
    else:
        key_source = f"text:{_text(item.get('title'))}|{published}|{_text(item.get('summary'))}"
    authors = tuple(
        name for a in (item.get("authors") or []) if (name := _text(a.get("name")))
    ) or ((author,) if (author := _text(item.get("author"))) else ())
    tags = tuple(t for tag in (item.get("tags") or []) if (t := _text(tag.get("term"))))
    return Entry(
        key=hashlib.sha256(key_source.encode()).hexdigest()[:20],
        guid=guid,
        link=link,
        title=_text(item.get("title")),
        summary=_text(item.get("summary")),
        published=published,
        updated=updated,
        authors=authors,
        tags=tags,
        language=_text(item.get("language")),
    )


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse RSS/Atom leniently: whatever entries are usable are used, problems recorded."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers)
    problem = None
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        problem = f"{exc.__class__.__name__}: {exc}" if exc else "malformed feed"
    is_feed = bool(parsed.get("version")) or bool(parsed.entries)
    if not is_feed:
        kind = (content_type or "unknown type").split(";")[0]
        return ParsedFeed(None, [], False, f"not an RSS or Atom feed ({kind})")
    entries: list[Entry] = []
    keys: set[str] = set()
    for item in parsed.entries:
        entry = entry_from_parsed(item, url)
        if entry.key not in keys:  # duplicate GUIDs inside one document: first one wins
            keys.add(entry.key)
            entries.append(entry)
    title = _text(parsed.feed.get("title")) if parsed.get("feed") else None
    return ParsedFeed(title, entries, True, problem)


def unseen(entries: Sequence[Entry], seen: Iterable[str], limit: int) -> list[Entry]:
    """New entries, oldest first (feeds list newest first), at most ``limit`` of them."""
    known = set(seen)
    fresh = [e for e in entries if e.key not in known]
    fresh.reverse()
    return fresh[:limit]


def remember(seen: Sequence[str], keys: Sequence[str], feed_size: int) -> list[str]:
    """Add keys to the seen list, dropping the oldest beyond the bound."""
    bound = max(SEEN_MIN, SEEN_FACTOR * feed_size)
    merged = list(dict.fromkeys([*seen, *keys]))
    return merged[-bound:]


def jittered(seconds: float, rng: random.Random | None = None) -> float:
    """±20 % so feeds added together do not stay in lock-step forever."""
    return seconds * (rng or random).uniform(0.8, 1.2)


@dataclass
class PollOutcome:
    """What one poll of a feed found; :func:`next_state` turns it into the feed's new state."""

    kind: str  # "ok", "not_modified", "unchanged", or an error kind
    http_status: int | None = None
    error: str | None = None
    problem: str | None = None  # a usable feed's recorded defect (malformed XML ...)
    full_fetch: bool = False
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    new_keys: list[str] = field(default_factory=list)
    feed_size: int = 0
    backlog: bool = False
    retry_after: float | None = None

    @property
    def success(self) -> bool:
        return self.kind in ("ok", "not_modified", "unchanged")


def next_state(
    state: FeedState, outcome: PollOutcome, settings: Settings, now: datetime,
    base_interval: float | None = None, rng: random.Random | None = None,
) -> FeedState:
    """The feed's state after a poll: counters, validators, trust, interval, next poll."""
    s = state.model_copy(deep=True)
    s.polls += 1
    s.last_polled_at = iso(now)
    s.last_status = str(outcome.http_status) if outcome.http_status else outcome.kind
    s.polls_since_full = 0 if outcome.full_fetch else s.polls_since_full + 1
    low, high = settings.poll_min_interval, settings.poll_max_interval
    if outcome.success:
        if outcome.kind == "not_modified":
            s.not_modified += 1
        elif stale_validators(state, outcome):
            # The body changed but the validators did not: the server's 304s cannot be
            # believed, so from now on this feed is always fetched in full and hashed.
            s.validators_trusted = False
        if outcome.body_hash:
            s.body_hash = outcome.body_hash
            s.etag, s.last_modified = outcome.etag, outcome.last_modified
        s.status = "ok"
        s.consecutive_failures = 0
        s.last_success_at = iso(now)
        if not (outcome.kind in ("not_modified", "unchanged") and state.status == "ok"):
            s.last_error = outcome.problem  # the same document keeps the same defect
        if outcome.new_keys:
            s.seen = remember(s.seen, outcome.new_keys, outcome.feed_size)
            s.items_seen += len(outcome.new_keys)
            s.last_new_at = iso(now)
            s.interval = max(low, s.interval * 0.5)
        else:
            s.interval = min(high, max(low, s.interval * 1.25))
        if base_interval is not None and not outcome.new_keys:
            # A configured interval is where a quiet feed settles, not a ceiling for busy ones.
            s.interval = min(s.interval, max(low, base_interval * 4))
        delay = 0.0 if outcome.backlog else jittered(s.interval, rng)
    else:
        s.consecutive_failures += 1
        s.last_error = outcome.error
        if outcome.http_status == 410:
            s.status = "disabled"  # Gone: the publisher says so; only a re-add revives it
        elif s.consecutive_failures >= settings.poll_failing_after:
            s.status = "failing"
        backoff = min(high, s.interval * 2 ** min(s.consecutive_failures, 10))
        delay = jittered(backoff, rng)
        if outcome.retry_after is not None:
            delay = max(delay, min(outcome.retry_after, RETRY_AFTER_MAX))
    s.next_poll_at = iso(now + timedelta(seconds=delay)) or ""
    return s


def revive_if_readded(feed: Feed, state: FeedState, now: datetime) -> FeedState:
    """A disabled feed (410 Gone) that the user added again since is polled afresh.

    The seen entries are kept, so a revived feed does not re-emit what it already sent.
    """
    if state.status != "disabled" or feed.added_at <= (state.last_polled_at or ""):
        return state
    return state.model_copy(update={
        "status": "new", "consecutive_failures": 0, "next_poll_at": iso(now) or "",
        "last_error": None,
    })


def stale_validators(state: FeedState, outcome: PollOutcome) -> bool:
    """A full fetch found a new body under the very validators we had stored."""
    return bool(
        outcome.full_fetch
        and state.validators_trusted
        and state.body_hash
        and outcome.body_hash
        and outcome.body_hash != state.body_hash
        and (state.etag or state.last_modified)
        and outcome.etag == state.etag
        and outcome.last_modified == state.last_modified
    )


def feed_outcome(
    result: FetchResult, state: FeedState, full: bool, max_bytes: int
) -> tuple[PollOutcome, ParsedFeed | None]:
    """Interpret a feed fetch; parse the body when there is a new one."""
    base = PollOutcome(kind="error", http_status=result.status, full_fetch=full)
    if result.error_kind:
        base.kind, base.error = result.error_kind, result.error
        return base, None
    assert result.status is not None
    if result.status == 304:
        base.kind = "not_modified"
        return base, None
    if result.status >= 400:
        base.kind = "http_error"
        base.error = f"HTTP {result.status}"
        if result.status in (429, 503):
            base.retry_after = retry_after_seconds(result.headers.get("retry-after"))
            if base.retry_after is not None:
                base.error += f" (Retry-After {base.retry_after:.0f} s)"
        return base, None
    if result.truncated:
        base.kind = "too_large"
        base.error = f"feed larger than {max_bytes} bytes"
        return base, None
    digest = body_hash(result.body)
    base.body_hash = digest
    base.etag = result.headers.get("etag")
    base.last_modified = result.headers.get("last-modified")
    if digest == state.body_hash:
        base.kind = "unchanged"
        return base, None
    parsed = parse_feed(result.body, result.final_url, result.headers.get("content-type"))
    if not parsed.is_feed:
        base.kind, base.error = "not_a_feed", parsed.problem
        base.body_hash = base.etag = base.last_modified = None
        return base, parsed
    base.kind = "ok"
    base.problem = parsed.problem
    base.feed_size = len(parsed.entries)
    return base, parsed


def decode_html(body: bytes, charset: str | None) -> tuple[str, str]:
    """Text of an HTML body: the declared charset if it decodes, else UTF-8, else cp1252."""
    for encoding in (charset, "utf-8"):
        if encoding:
            try:
                return body.decode(encoding), encoding
            except (LookupError, UnicodeDecodeError):
                continue
    return body.decode("cp1252", errors="replace"), "cp1252"


def raw_message(
    feed: Feed, feed_title: str | None, entry: Entry, result: FetchResult | None,
    fetch_status: str, error: str | None, settings: Settings, now: datetime,
) -> dict[str, Any]:
    """The ``articles.raw`` message of one entry (see schemas/articles.raw.schema.json)."""
    canonical = canonical_url(result.final_url if result and result.ok else entry.link) \
        if entry.link else None
    html: str | None = None
    encoding: str | None = None
    if result is not None and fetch_status == "ok":
        html, encoding = decode_html(result.body, result.charset)
    return {
        "schema": RAW_SCHEMA,
        "id": article_id(canonical) if canonical else hashlib.sha256(
            f"{feed.id}:{entry.key}".encode()).hexdigest()[:32],
        "feed": {
            "id": feed.id, "url": feed.url, "name": feed.name, "title": feed_title,
            "tags": list(feed.tags), "language": feed.language,
        },
        "entry": {
            "key": entry.key, "guid": entry.guid, "link": entry.link, "title": entry.title,
            "summary": entry.summary, "published": entry.published, "updated": entry.updated,
            "authors": list(entry.authors), "tags": list(entry.tags),
            "language": entry.language,
        },
        "url": result.final_url if result else None,
        "canonical_url": canonical,
        "fetched_at": iso(now),
        "fetch": {
            "status": fetch_status,
            "http_status": result.status if result else None,
            "content_type": (result.content_type or None) if result else None,
            "error": error,
            "elapsed_ms": round(result.elapsed * 1000, 1) if result else None,
            "redirects": result.redirects if result else [],
        },
        "headers": {
            k: v for k, v in (result.headers.items() if result else []) if k != "retry-after"
        },
        "html": html,
        "encoding": encoding,
        "html_bytes": result.body_bytes if result else 0,
        "html_truncated": bool(result and result.truncated and html is not None),
        "html_cap": settings.article_max_bytes,
    }


def article_status(result: FetchResult) -> tuple[str, str | None]:
    """(fetch.status, error) of an article fetch, for the message."""
    if result.error_kind:
        return result.error_kind, result.error
    assert result.status is not None
    if result.status >= 400:
        return "http_error", f"HTTP {result.status}"
    if result.content_type and result.content_type not in HTML_TYPES:
        return "non_html", f"not HTML: {result.content_type} ({result.body_bytes} bytes)"
    return "ok", None


# ----------------------------------------------------------------------------------------
# The I/O edges
# ----------------------------------------------------------------------------------------


@dataclass
class Tracked:
    """A feed this poller owns, with its state and whether a poll is under way."""

    feed: Feed
    state: FeedState
    partition: int
    busy: bool = False


class Poller:
    """One poller process: owns the feeds of the partitions Kafka assigns it and polls them.

    ``exit_when_idle`` makes :meth:`run` return once every owned feed has been polled at
    least once and no backlog remains (the demo and the tests use it).
    """

    def __init__(
        self, settings: Settings, *, exit_when_idle: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.exit_when_idle = exit_when_idle
        self.clock = clock
        self.tracked: dict[str, Tracked] = {}
        self._partitions: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._due: list[tuple[str, str]] = []
        self._assigned_once = asyncio.Event()
        self._producer: Any = None
        self._fetcher: Fetcher | None = None
        self._consumer: Any = None
        self._loaded_states: dict[str, FeedState] = {}
        self._loading: set[int] = set()
        self._pending: dict[int, list[tuple[bytes | None, bytes | None]]] = {}
        self._started = iso(clock()) or ""

    # -- lifecycle --------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        from aiokafka import AIOKafkaConsumer
        from kafka import KafkaProducer

        from sitrep.topics import create_topics

        s = self.settings
        await asyncio.to_thread(create_topics, s)
        self._producer = KafkaProducer(
            bootstrap_servers=s.kafka_servers, acks="all", compression_type="gzip",
            linger_ms=20, max_request_size=8_388_608, retries=10,
            client_id="sitrep-poller",
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=s.kafka_servers, group_id=f"{s.topic_prefix}sitrep-poller",
            enable_auto_commit=False, auto_offset_reset="earliest",
            client_id="sitrep-poller", session_timeout_ms=10_000, heartbeat_interval_ms=2_000,
        )
        self._consumer.subscribe([s.topic(FEEDS_TOPIC)], listener=_Rebalance(self))
        await self._consumer.start()
        try:
            async with Fetcher(s) as fetcher:
                self._fetcher = fetcher
                registry = asyncio.create_task(self._follow_registry())
                try:
                    await self._schedule()
                finally:
                    registry.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await registry
                    await self._drain()
        finally:
            await self._consumer.stop()
            await asyncio.to_thread(self._producer.flush)
            self._producer.close()

    async def _drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- ownership (Kafka's consumer group decides) ----------------------------------------
    async def acquire(self, partitions: set[int]) -> None:
        # No seek needed: the group never commits offsets, so every assignment starts at the
        # earliest offset (auto_offset_reset) and replays the whole compacted registry.
        # Registry records can arrive while the states load; they wait in _pending, because a
        # feed applied before its state is known would start afresh and re-emit old entries.
        self._loading |= partitions
        states = await asyncio.to_thread(self._load_states, sorted(partitions))
        self._loaded_states.update(states)
        self._partitions |= partitions
        self._loading -= partitions
        for partition in sorted(partitions):
            for key, value in self._pending.pop(partition, []):
                self._apply_registry_record(partition, key, value)
        log.info("partitions assigned", partitions=sorted(partitions), states=len(states))
        self._assigned_once.set()

    async def release(self, partitions: set[int]) -> None:
        """Finish in-flight polls of the feeds we lose, so the next owner sees their state."""
        losing = [t for t in self.tracked.values() if t.partition in partitions]
        for t in losing:  # first, so the scheduler starts no new poll of them
            self.tracked.pop(t.feed.id, None)
        self._partitions -= partitions
        deadline = time.monotonic() + 30
        while any(t.busy for t in losing) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(self._producer.flush)
        self._loading -= partitions
        for partition in partitions:
            self._pending.pop(partition, None)
        FEEDS_ASSIGNED.set(len(self.tracked))
        log.info("partitions revoked", partitions=sorted(partitions))

    def _load_states(self, partitions: list[int]) -> dict[str, FeedState]:
        from sitrep.feeds import read_compacted

        records = read_compacted(self.settings, self.settings.topic(STATE_TOPIC), partitions)
        return {
            key: FeedState.model_validate_json(value) for key, value in records.items()
            if value is not None
        }

    async def _follow_registry(self) -> None:
        """Apply registry changes (adds, edits, removals) for our partitions as they come."""
        while True:
            batches = await self._consumer.getmany(timeout_ms=500)
            for tp, records in batches.items():
                for record in records:
                    self._apply_registry_record(tp.partition, record.key, record.value)
            FEEDS_ASSIGNED.set(len(self.tracked))

    def _apply_registry_record(
        self, partition: int, key: bytes | None, value: bytes | None
    ) -> None:
        if partition in self._loading:
            self._pending.setdefault(partition, []).append((key, value))
            return
        if key is None or partition not in self._partitions:
            return
        fid = key.decode()
        if value is None:
            self.tracked.pop(fid, None)
            return
        try:
            feed = Feed.model_validate_json(value)
        except ValueError as exc:
            log.error("unreadable registry record", feed_id=fid, error=str(exc)[:300])
            return
        current = self.tracked.get(fid)
        if current:
            current.feed = feed
            revived = revive_if_readded(feed, current.state, self.clock())
            if revived is not current.state and not current.busy:
                current.state = revived
                self._enqueue(current)
            return
        state = self._loaded_states.pop(fid, None)
        if state is None or state.url != feed.url:
            state = FeedState.fresh(feed, self.settings, self.clock())
        state = revive_if_readded(feed, state, self.clock())
        tracked = Tracked(feed, state, partition)
        self.tracked[fid] = tracked
        self._enqueue(tracked)

    # -- scheduling ------------------------------------------------------------------------
    def _enqueue(self, tracked: Tracked) -> None:
        """(Re)schedule a feed at its next_poll_at; outdated heap entries are skipped later."""
        heapq.heappush(self._due, (tracked.state.next_poll_at, tracked.feed.id))
        self._wake.set()

    async def _schedule(self) -> None:
        """Start the polls that are due, as soon as they are due and a slot is free.

        A heap ordered by next poll time keeps this O(log n) per poll with 10,000s of feeds;
        the loop sleeps until the next feed is due, a poll finishes or a feed arrives.
        """
        concurrency = max(1, self.settings.http_concurrency)
        while not self._stop.is_set():
            self._wake.clear()
            now_iso = iso(self.clock()) or ""
            while self._due and len(self._tasks) < concurrency and self._due[0][0] <= now_iso:
                at, fid = heapq.heappop(self._due)
                tracked = self.tracked.get(fid)
                if (
                    tracked is None or tracked.busy or tracked.state.next_poll_at != at
                    or tracked.state.status == "disabled"
                ):
                    continue
                tracked.busy = True
                task = asyncio.create_task(self._poll_guarded(tracked))
                self._tasks.add(task)
                task.add_done_callback(self._task_done)
            if self.exit_when_idle and not self._tasks and self._idle():
                log.info("every feed polled and nothing pending: exiting")
                return
            timeout = 0.5
            if self._due and len(self._tasks) < concurrency:
                head = datetime.fromisoformat(self._due[0][0].replace("Z", "+00:00"))
                timeout = min(timeout, max(0.0, (head - self.clock()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()

    def _idle(self) -> bool:
        if not self._assigned_once.is_set() or self._tasks or not self.tracked:
            return False
        now_iso = iso(self.clock()) or ""
        return all(
            (t.state.last_polled_at or "") >= self._started
            and (t.state.status == "disabled" or t.state.next_poll_at > now_iso)
            for t in self.tracked.values()
        )

    async def _poll_guarded(self, tracked: Tracked) -> None:
        try:
            await self.poll(tracked)
        except Exception as exc:  # one feed's bug must not end the poller
            log.exception("poll crashed", feed=tracked.feed.url)
            ERRORS.labels("internal").inc()
            outcome = PollOutcome(kind="internal_error", error=f"{exc.__class__.__name__}: {exc}")
            tracked.state = next_state(tracked.state, outcome, self.settings, self.clock())
            self._write_state(tracked)
        finally:
            tracked.busy = False
            if self.tracked.get(tracked.feed.id) is tracked:
                self._enqueue(tracked)

    # -- one poll --------------------------------------------------------------------------
    async def poll(self, tracked: Tracked) -> None:
        assert self._fetcher is not None
        s, feed, state = self.settings, tracked.feed, tracked.state
        headers = conditional_headers(state, s)
        full = not headers
        result = await self._fetcher.get(feed.url, max_bytes=s.feed_max_bytes, headers=headers)
        FETCH_SECONDS.labels("feed").observe(result.elapsed)
        outcome, parsed = feed_outcome(result, state, full, s.feed_max_bytes)
        if outcome.kind == "not_modified":
            NOT_MODIFIED.inc()
        if outcome.kind == "ok" and parsed is not None:
            pending = unseen(parsed.entries, state.seen, len(parsed.entries))
            batch = pending[: s.poll_max_new]
            emitted = await self._emit(feed, parsed.title, batch)
            outcome.new_keys = emitted
            outcome.backlog = len(pending) > len(emitted)
            if outcome.backlog:
                # Entries left (too many for one poll, or not acknowledged): forget the body
                # hash so the next poll, scheduled at once, parses the feed again.
                outcome.body_hash = None
        POLLS.labels(outcome.kind).inc()
        if not outcome.success:
            ERRORS.labels(outcome.kind).inc()
        tracked.state = next_state(
            state, outcome, s, self.clock(), base_interval=feed.interval,
        )
        self._write_state(tracked)
        log.debug("polled", feed=feed.url, outcome=outcome.kind, new=len(outcome.new_keys))

    async def _emit(self, feed: Feed, feed_title: str | None, entries: list[Entry]) -> list[str]:
        """Fetch each entry's page, produce its message; return the keys acknowledged."""
        if not entries:
            return []
        messages = await asyncio.gather(*(self._article(feed, feed_title, e) for e in entries))
        topic = self.settings.topic(RAW_TOPIC)
        futures = []
        for entry, message in zip(entries, messages, strict=True):
            payload = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
            future = self._producer.send(topic, key=message["id"].encode(), value=payload)
            futures.append((entry, future))
        await asyncio.to_thread(self._producer.flush)
        acknowledged = []
        for entry, future in futures:
            try:
                future.get(timeout=0)
                acknowledged.append(entry.key)
            except Exception as exc:
                ERRORS.labels("produce").inc()
                log.error("produce failed", feed=feed.url, entry=entry.link, error=str(exc))
        NEW_ENTRIES.inc(len(acknowledged))
        return acknowledged

    async def _article(self, feed: Feed, feed_title: str | None, entry: Entry) -> dict[str, Any]:
        assert self._fetcher is not None
        s = self.settings
        result: FetchResult | None = None
        error: str | None
        if not entry.link:
            status, error = "no_link", "the entry has no link; the feed's summary stands in"
        else:
            allowed, why = await self._fetcher.allowed(entry.link)
            if not allowed:
                status, error = "robots_disallowed", why
            else:
                result = await self._fetcher.get(
                    entry.link, max_bytes=s.article_max_bytes, accept_types=HTML_TYPES,
                )
                FETCH_SECONDS.labels("article").observe(result.elapsed)
                status, error = article_status(result)
        ARTICLES.labels(status).inc()
        if status != "ok":
            ERRORS.labels(f"article_{status}").inc()
        return raw_message(feed, feed_title, entry, result, status, error, s, self.clock())

    def _write_state(self, tracked: Tracked) -> None:
        self._producer.send(
            self.settings.topic(STATE_TOPIC), key=tracked.feed.id.encode(),
            value=encode(tracked.state, "feed-state", check=False),
        )


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """aiokafka rebalance callbacks, forwarded to the poller."""

    def __init__(self, poller: Poller) -> None:
        self.poller = poller

    async def on_partitions_revoked(self, revoked: Iterable[Any]) -> None:
        await self.poller.release({tp.partition for tp in revoked})

    async def on_partitions_assigned(self, assigned: Iterable[Any]) -> None:
        await self.poller.acquire({tp.partition for tp in assigned})


def validate_raw(message: dict[str, Any]) -> None:
    validate("articles.raw", message)
