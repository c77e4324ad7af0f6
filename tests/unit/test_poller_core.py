"""The poller's pure core (sitrep.poller): no network, no Kafka.

FetchResult objects are built by hand, feed bodies are small literal documents or the bodies
the fixture server's ``/bad/`` endpoints serve (built directly, without a server), and every
``articles.raw`` message is checked against ``schemas/articles.raw.schema.json``.
"""

from __future__ import annotations

import json
import random
import warnings
from datetime import UTC, datetime
from typing import Any

import pytest

from sitrep.config import Settings
from sitrep.feeds import Feed, FeedState, encode
from sitrep.feedserver import FeedServerConfig
from sitrep.feedserver.misbehaviour import Misbehaviours
from sitrep.feedserver.pages import html_not_a_feed, pdf_document
from sitrep.feedserver.state import ServerState
from sitrep.fetch import FetchResult
from sitrep.poller import (
    RAW_SCHEMA,
    SEEN_MIN,
    Entry,
    PollOutcome,
    article_status,
    body_hash,
    conditional_headers,
    decode_html,
    feed_outcome,
    next_state,
    parse_feed,
    raw_message,
    remember,
    stale_validators,
    unseen,
)
from sitrep.schemas import problems
from sitrep.urls import article_id, canonical_url

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)
FEED_URL = "https://news.test/feeds/world.xml"
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
ETAG = '"v1"'
LAST_MODIFIED = "Mon, 06 Jan 2025 11:00:00 GMT"


def settings(**overrides: Any) -> Settings:
    """Settings with every knob the core reads spelled out (no .env, no surprises)."""
    values: dict[str, Any] = {
        "poll_interval": 300.0,
        "poll_min_interval": 60.0,
        "poll_max_interval": 3600.0,
        "poll_full_fetch_every": 10,
        "poll_failing_after": 5,
        "feed_max_bytes": 1_000_000,
        "article_max_bytes": 50_000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


SETTINGS = settings()
FEED = Feed.create(FEED_URL, name="World", tags=["world"], language="en")


class MidJitter(random.Random):
    """No jitter: ``jittered(x)`` is exactly ``x``."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def state(**changes: Any) -> FeedState:
    return FeedState.fresh(FEED, SETTINGS, NOW).model_copy(update=changes)


def validated_state(**changes: Any) -> FeedState:
    """A feed polled before: validators and body hash stored, trusted."""
    values: dict[str, Any] = {
        "status": "ok", "etag": ETAG, "last_modified": LAST_MODIFIED,
        "body_hash": body_hash(b"old body"), "polls": 3,
    }
    values.update(changes)
    return state(**values)


def step(
    before: FeedState, outcome: PollOutcome, cfg: Settings = SETTINGS, **kwargs: Any
) -> FeedState:
    return next_state(before, outcome, cfg, NOW, rng=MidJitter(), **kwargs)


def delay_of(after: FeedState) -> float:
    return (datetime.fromisoformat(after.next_poll_at) - NOW).total_seconds()


def fetched(
    status: int | None = 200, body: bytes = b"", content_type: str | None = RSS_TYPE,
    url: str = FEED_URL, **fields: Any,
) -> FetchResult:
    headers = dict(fields.pop("headers", {}))
    if content_type:
        headers.setdefault("content-type", content_type)
    return FetchResult(
        url=url, final_url=fields.pop("final_url", url), status=status, headers=headers,
        body=body, body_bytes=fields.pop("body_bytes", len(body)), **fields,
    )


def rss(*items: str, title: str = "World News") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{title}</title><link>https://news.test/</link><description>d</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def item(
    title: str, link: str | None = None, guid: str | None = None, summary: str | None = None,
    date: str | None = None, extra: str = "",
) -> str:
    parts = [f"<title>{title}</title>"]
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    if summary is not None:
        parts.append(f"<description>{summary}</description>")
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    return "<item>" + "".join(parts) + extra + "</item>"


def fixture_body(name: str, base: str = "https://bad.test") -> bytes:
    """The body the fixture server serves at ``/bad/{name}.xml``, built without a server."""
    bad = Misbehaviours(ServerState(FeedServerConfig(feeds=1, entries=1)))
    build = {
        "malformed": bad.malformed,
        "latin1-declared-utf8": bad.latin1,
        "duplicate-guids": bad.duplicate_guids,
        "relative-links": bad.relative_links,
        "relative-links-atom": bad.relative_links_atom,
        "empty": bad.empty,
    }[name]
    return build(base, f"/bad/{name}.xml")


def entry(key: str, link: str | None = None, **fields: Any) -> Entry:
    values: dict[str, Any] = {
        "guid": f"tag:news.test,2025:{key}", "link": link, "title": f"Title {key}",
        "summary": f"Summary {key}", "published": "2025-01-06T11:00:00Z", "updated": None,
    }
    values.update(fields)
    return Entry(key=key, **values)


# ----------------------------------------------------------------------------------------
# parse_feed / entry_from_parsed
# ----------------------------------------------------------------------------------------


def test_rss_entries_are_normalised_with_guid_link_dates_authors_and_tags() -> None:
    body = rss(
        item(
            "Ceasefire talks resume", link="https://news.test/a/2.html", guid="g-2",
            summary="Talks in Geneva.", date="Mon, 06 Jan 2025 12:00:00 GMT",
            extra="<dc:creator>Ana Lima</dc:creator><category>politics</category>",
        ),
        item("Older story", link="https://news.test/a/1.html", guid="g-1"),
    )
    with warnings.catch_warnings():
        # feedparser warns when updated_parsed is read on an entry that has none.
        warnings.simplefilter("error", DeprecationWarning)
        parsed = parse_feed(body, FEED_URL, RSS_TYPE)
    assert parsed.is_feed and parsed.problem is None
    assert parsed.title == "World News"
    first, second = parsed.entries
    assert first.guid == "g-2"
    assert first.link == "https://news.test/a/2.html"
    assert first.title == "Ceasefire talks resume"
    assert first.summary == "Talks in Geneva."
    assert first.published == "2025-01-06T12:00:00Z"
    assert first.updated is None  # RSS has no update date: not copied from pubDate
    assert first.authors == ("Ana Lima",)
    assert first.tags == ("politics",)
    assert second.published is None
    assert first.key != second.key


def test_atom_entries_use_the_alternate_link_resolved_against_the_feed() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom World</title><id>urn:feed</id>
<updated>2025-01-06T12:00:00Z</updated>
<entry><title>One</title><id>urn:1</id><updated>2025-01-06T12:00:00Z</updated>
<published>2025-01-05T12:00:00Z</published>
<link rel="enclosure" href="https://cdn.news.test/one.mp3"/>
<link rel="alternate" href="/a/1.html"/>
<author><name>Ann Ode</name></author><category term="science"/><summary>S1</summary></entry>
</feed>"""
    parsed = parse_feed(body, FEED_URL, ATOM_TYPE)
    assert parsed.is_feed and parsed.problem is None
    assert parsed.title == "Atom World"
    (one,) = parsed.entries
    assert one.guid == "urn:1"
    assert one.link == "https://news.test/a/1.html"
    assert one.published == "2025-01-05T12:00:00Z"
    assert one.updated == "2025-01-06T12:00:00Z"
    assert one.authors == ("Ann Ode",)
    assert one.tags == ("science",)


def test_malformed_xml_still_yields_the_usable_entries_and_records_the_problem() -> None:
    # Bare '&', a mismatched tag and a truncated end (the fixture's /bad/malformed.xml).
    parsed = parse_feed(fixture_body("malformed"), "https://bad.test/bad/malformed.xml", RSS_TYPE)
    assert parsed.is_feed
    assert parsed.problem and "well-formed" in parsed.problem
    links = [e.link for e in parsed.entries]
    for i in (5, 4, 3):  # the three good entries come first, intact
        assert f"https://bad.test/bad/articles/malformed/{i}.html" in links
    assert all(e.title for e in parsed.entries[:3])
    assert len({e.key for e in parsed.entries}) == len(parsed.entries)


def test_latin1_feed_declared_utf8_decodes_accented_names_and_records_the_override() -> None:
    parsed = parse_feed(
        fixture_body("latin1-declared-utf8"), "https://bad.test/bad/latin1-declared-utf8.xml",
        RSS_TYPE,
    )
    assert parsed.is_feed
    assert parsed.problem and "iso-8859-1" in parsed.problem.lower()
    assert len(parsed.entries) == 4
    assert parsed.entries[0].authors == ("José Müller",)
    assert parsed.entries[0].title == "Café owners in Montréal protest new rules"
    assert parsed.title is not None and "Québec" in parsed.title
    assert not any("\ufffd" in (e.title or "") for e in parsed.entries)


def test_an_html_page_is_not_a_feed_and_says_what_it_was() -> None:
    parsed = parse_feed(html_not_a_feed("/feed.xml"), "https://news.test/", HTML_TYPE)
    assert not parsed.is_feed
    assert parsed.entries == []
    assert parsed.problem == "not an RSS or Atom feed (text/html)"


def test_an_empty_body_is_not_a_feed() -> None:
    parsed = parse_feed(b"", FEED_URL, None)
    assert not parsed.is_feed
    assert parsed.problem == "not an RSS or Atom feed (unknown type)"


def test_an_empty_feed_is_a_feed_without_entries_or_problem() -> None:
    parsed = parse_feed(fixture_body("empty"), "https://bad.test/bad/empty.xml", RSS_TYPE)
    assert parsed.is_feed
    assert parsed.entries == []
    assert parsed.problem is None
    assert parsed.title == "Nothing to see"


def test_a_feed_served_as_text_plain_is_parsed_with_the_mislabel_recorded() -> None:
    parsed = parse_feed(rss(item("A", link="https://news.test/a")), FEED_URL, "text/plain")
    assert parsed.is_feed
    assert len(parsed.entries) == 1
    assert parsed.problem and "text/plain" in parsed.problem


def test_duplicate_guids_in_one_document_keep_the_first_entry() -> None:
    body = rss(
        item("First", link="https://news.test/a/1.html", guid="same"),
        item("Second", link="https://news.test/a/2.html", guid="same"),
        item("Third", link="https://news.test/a/3.html", guid="other"),
    )
    parsed = parse_feed(body, FEED_URL, RSS_TYPE)
    assert [e.title for e in parsed.entries] == ["First", "Third"]


def test_fixture_duplicate_guid_feed_keeps_one_entry_per_guid_newest_first() -> None:
    parsed = parse_feed(
        fixture_body("duplicate-guids"), "https://bad.test/bad/duplicate-guids.xml", RSS_TYPE
    )
    assert [e.guid for e in parsed.entries] == [
        f"tag:sitrep.test,2025:duplicate/{g}" for g in (3, 2, 1, 0)
    ]
    # The first occurrence (the newest entry of each group) is the one kept.
    assert [e.link.rsplit("/", 1)[1] for e in parsed.entries if e.link] == [
        "7.html", "5.html", "4.html", "1.html",
    ]


def test_entries_without_guid_or_link_get_a_stable_key_from_title_date_and_summary() -> None:
    linkless = item(
        "Quake hits coast", summary="A 6.1 quake.", date="Mon, 06 Jan 2025 10:00:00 GMT"
    )
    other = item("Other", link="https://news.test/o.html")
    keys_once = [e.key for e in parse_feed(rss(linkless, other), FEED_URL, RSS_TYPE).entries]
    keys_again = [e.key for e in parse_feed(rss(other, linkless), FEED_URL, RSS_TYPE).entries]
    assert keys_once[0] == keys_again[1]  # position in the document does not matter
    linkless_entry = parse_feed(rss(linkless), FEED_URL, RSS_TYPE).entries[0]
    assert linkless_entry.link is None and linkless_entry.guid is None

    def key(**changes: str) -> str:
        fields = {"summary": "A 6.1 quake.", "date": "Mon, 06 Jan 2025 10:00:00 GMT"}
        fields.update(changes)
        title = fields.pop("title", "Quake hits coast")
        return parse_feed(rss(item(title, **fields)), FEED_URL, RSS_TYPE).entries[0].key

    assert key() == linkless_entry.key
    assert key(title="Quake hits inland") != key()
    assert key(summary="A 6.2 quake.") != key()
    assert key(date="Mon, 06 Jan 2025 11:00:00 GMT") != key()


def test_entries_without_guid_are_keyed_by_canonical_link_ignoring_tracking() -> None:
    plain = parse_feed(rss(item("A", link="https://news.test/a/1.html")), FEED_URL, RSS_TYPE)
    tracked = parse_feed(
        rss(item("A (edited)", link="https://news.test/a/1.html?utm_source=rss&fbclid=x#top")),
        FEED_URL, RSS_TYPE,
    )
    assert plain.entries[0].key == tracked.entries[0].key


@pytest.mark.parametrize(
    "link",
    [
        "/bad/articles/relative/0.html",
        "articles/relative/0.html",
        "./articles/relative/0.html",
        "../bad/articles/relative/0.html",
        "//bad.test/bad/articles/relative/0.html",
    ],
    ids=["root", "document", "dot", "parent", "protocol"],
)
def test_relative_links_are_resolved_against_the_feed_url(link: str) -> None:
    parsed = parse_feed(rss(item("R", link=link)), "https://bad.test/bad/relative.xml", RSS_TYPE)
    assert parsed.entries[0].link == "https://bad.test/bad/articles/relative/0.html"


@pytest.mark.parametrize("name", ["relative-links", "relative-links-atom"])
def test_fixture_relative_link_feeds_resolve_every_link(name: str) -> None:
    parsed = parse_feed(fixture_body(name), f"https://bad.test/bad/{name}.xml", None)
    assert parsed.entries
    for e in parsed.entries:
        assert e.link is not None
        assert e.link.startswith("https://bad.test/bad/articles/relative/"), e.link


@pytest.mark.parametrize(
    "link", ["mailto:desk@news.test", "ftp://news.test/a.txt", "javascript:alert(1)"]
)
def test_non_http_links_are_dropped(link: str) -> None:
    parsed = parse_feed(rss(item("X", link=link, guid="g")), FEED_URL, RSS_TYPE)
    assert parsed.entries[0].link is None
    assert parsed.entries[0].guid == "g"


# ----------------------------------------------------------------------------------------
# unseen / remember
# ----------------------------------------------------------------------------------------


def test_unseen_returns_only_new_entries_oldest_first() -> None:
    newest_first = [entry(k) for k in ("e5", "e4", "e3", "e2", "e1")]
    new = unseen(newest_first, ["e4", "e1"], limit=10)
    assert [e.key for e in new] == ["e2", "e3", "e5"]


def test_unseen_respects_the_limit_and_takes_the_oldest_first() -> None:
    newest_first = [entry(f"e{i}") for i in range(10, 0, -1)]
    assert [e.key for e in unseen(newest_first, [], limit=3)] == ["e1", "e2", "e3"]
    assert unseen(newest_first, [], limit=0) == []
    assert unseen(newest_first, [e.key for e in newest_first], limit=5) == []


def test_remember_keeps_at_least_1000_keys_dropping_the_oldest() -> None:
    seen = [f"k{i}" for i in range(SEEN_MIN)]
    after = remember(seen, ["n1", "n2"], feed_size=20)
    assert len(after) == SEEN_MIN == 1000
    assert after[-2:] == ["n1", "n2"]
    assert after[0] == "k2"  # k0 and k1, the oldest, made room


def test_remember_bound_is_twice_the_feed_size_for_big_feeds() -> None:
    seen = [f"k{i}" for i in range(5000)]
    after = remember(seen, [f"n{i}" for i in range(100)], feed_size=2000)
    assert len(after) == 4000
    assert after[-1] == "n99"
    assert after[0] == "k1100"


def test_remember_adds_each_key_once() -> None:
    assert remember(["a", "b"], ["b", "c", "c"], feed_size=3) == ["a", "b", "c"]


# ----------------------------------------------------------------------------------------
# conditional_headers
# ----------------------------------------------------------------------------------------


def test_conditional_headers_send_the_stored_validators() -> None:
    assert conditional_headers(validated_state(), SETTINGS) == {
        "If-None-Match": ETAG, "If-Modified-Since": LAST_MODIFIED,
    }
    assert conditional_headers(validated_state(last_modified=None), SETTINGS) == {
        "If-None-Match": ETAG
    }
    assert conditional_headers(state(), SETTINGS) == {}  # nothing known yet


def test_every_nth_poll_omits_the_validators_and_fetches_in_full() -> None:
    cfg = settings(poll_full_fetch_every=4)
    current = validated_state()
    full_polls = []
    for poll in range(1, 13):
        headers = conditional_headers(current, cfg)
        full = not headers
        if full:
            full_polls.append(poll)
            outcome = PollOutcome(
                kind="unchanged", http_status=200, full_fetch=True, etag=ETAG,
                last_modified=LAST_MODIFIED, body_hash=current.body_hash,
            )
        else:
            outcome = PollOutcome(kind="not_modified", http_status=304)
        current = step(current, outcome, cfg)
    assert full_polls == [4, 8, 12]
    assert current.validators_trusted


def test_poll_full_fetch_every_1_never_sends_validators() -> None:
    assert conditional_headers(validated_state(), settings(poll_full_fetch_every=1)) == {}


# ----------------------------------------------------------------------------------------
# next_state
# ----------------------------------------------------------------------------------------


def test_304_counts_not_modified_and_keeps_the_stored_validators() -> None:
    before = validated_state(not_modified=2)
    after = step(before, PollOutcome(kind="not_modified", http_status=304))
    assert after.not_modified == 3
    assert after.polls == before.polls + 1
    assert after.last_status == "304"
    assert (after.etag, after.last_modified, after.body_hash) == (
        before.etag, before.last_modified, before.body_hash,
    )
    assert after.polls_since_full == before.polls_since_full + 1
    assert after.last_polled_at == "2025-01-06T12:00:00Z"


def test_success_resets_the_failure_count_and_status() -> None:
    before = validated_state(status="failing", consecutive_failures=7, last_error="HTTP 500")
    after = step(before, PollOutcome(kind="not_modified", http_status=304))
    assert after.status == "ok"
    assert after.consecutive_failures == 0
    assert after.last_error is None  # a recovering feed forgets its error, even on a 304
    assert after.last_success_at == "2025-01-06T12:00:00Z"


@pytest.mark.parametrize("kind", ["not_modified", "unchanged"])
def test_the_same_document_keeps_its_recorded_defect(kind: str) -> None:
    before = validated_state(status="ok", last_error="SAXParseException: bare &")
    after = step(before, PollOutcome(kind=kind, http_status=304 if kind == "not_modified" else 200))
    assert after.last_error == "SAXParseException: bare &"


def test_ok_poll_stores_new_validators_hash_and_seen_keys() -> None:
    outcome = PollOutcome(
        kind="ok", http_status=200, full_fetch=True, etag='"v2"', last_modified="x",
        body_hash="h2", new_keys=["k1", "k2"], feed_size=2, problem="SAXParseException: oops",
    )
    after = step(validated_state(seen=["k0"], items_seen=1), outcome)
    assert (after.etag, after.last_modified, after.body_hash) == ('"v2"', "x", "h2")
    assert after.seen == ["k0", "k1", "k2"]
    assert after.items_seen == 3
    assert after.last_new_at == "2025-01-06T12:00:00Z"
    assert after.last_error == "SAXParseException: oops"  # a usable feed's defect is kept
    assert after.validators_trusted
    assert after.polls_since_full == 0


@pytest.mark.parametrize(("interval", "expected"), [(400.0, 200.0), (100.0, 60.0), (60.0, 60.0)])
def test_new_entries_halve_the_interval_but_not_below_the_minimum(
    interval: float, expected: float
) -> None:
    outcome = PollOutcome(kind="ok", http_status=200, body_hash="h", new_keys=["k"], feed_size=1)
    after = step(validated_state(interval=interval), outcome)
    assert after.interval == expected
    assert delay_of(after) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("interval", "expected"), [(400.0, 500.0), (3000.0, 3600.0), (3600.0, 3600.0), (10.0, 60.0)]
)
def test_quiet_polls_lengthen_the_interval_within_the_bounds(
    interval: float, expected: float
) -> None:
    after = step(validated_state(interval=interval), PollOutcome(kind="not_modified"))
    assert after.interval == expected


def test_a_quiet_feed_settles_at_four_times_its_configured_interval() -> None:
    after = step(
        validated_state(interval=3000.0), PollOutcome(kind="not_modified", http_status=304),
        base_interval=100.0,
    )
    assert after.interval == 400.0


def test_a_backlog_schedules_the_next_poll_at_once() -> None:
    outcome = PollOutcome(
        kind="ok", http_status=200, new_keys=["k"], feed_size=800, backlog=True,
    )
    assert delay_of(step(validated_state(), outcome)) == 0.0


def test_failures_back_off_exponentially_up_to_the_max_interval() -> None:
    current = validated_state(interval=300.0)
    delays = []
    for _ in range(6):
        current = step(current, PollOutcome(kind="timeout", error="no answer"))
        delays.append(delay_of(current))
    assert delays == [600.0, 1200.0, 2400.0, 3600.0, 3600.0, 3600.0]
    assert current.interval == 300.0  # the poll interval itself is not touched by failures
    assert current.last_error == "no answer"
    assert current.last_status == "timeout"


def test_backoff_jitter_stays_within_twenty_percent() -> None:
    rng = random.Random(7)
    for _ in range(50):
        after = next_state(
            validated_state(interval=300.0), PollOutcome(kind="timeout"), SETTINGS, NOW, rng=rng
        )
        assert 480.0 <= delay_of(after) <= 720.0


def test_feed_is_marked_failing_after_poll_failing_after_consecutive_failures() -> None:
    cfg = settings(poll_failing_after=3)
    current = validated_state()
    statuses = []
    for _ in range(4):
        current = step(current, PollOutcome(kind="http_error", http_status=500), cfg)
        statuses.append(current.status)
    assert statuses == ["ok", "ok", "failing", "failing"]
    assert current.consecutive_failures == 4
    assert current.last_status == "500"


def test_410_gone_disables_the_feed_at_once() -> None:
    after = step(
        validated_state(), PollOutcome(kind="http_error", http_status=410, error="HTTP 410")
    )
    assert after.status == "disabled"
    assert after.consecutive_failures == 1


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(7200.0, 7200.0), (30.0, 600.0), (10_000_000.0, 24 * 3600.0)],
    ids=["honoured", "shorter-than-backoff", "capped-at-24h"],
)
def test_retry_after_is_honoured_and_capped_at_24_hours(
    retry_after: float, expected: float
) -> None:
    outcome = PollOutcome(kind="http_error", http_status=429, retry_after=retry_after)
    assert delay_of(step(validated_state(interval=300.0), outcome)) == expected


def test_stale_validators_are_distrusted_and_never_sent_again() -> None:
    before = validated_state(polls_since_full=9)
    assert conditional_headers(before, SETTINGS) == {}  # the 10th poll is a full fetch
    outcome = PollOutcome(
        kind="ok", http_status=200, full_fetch=True, etag=ETAG, last_modified=LAST_MODIFIED,
        body_hash=body_hash(b"a new body"), new_keys=["k"], feed_size=1,
    )
    assert stale_validators(before, outcome)
    after = step(before, outcome)
    assert after.validators_trusted is False
    assert after.polls_since_full == 0
    assert conditional_headers(after, SETTINGS) == {}
    # ... and on every later poll too, however long since the last full fetch.
    later = step(after, PollOutcome(kind="unchanged", http_status=200, full_fetch=True))
    assert later.validators_trusted is False
    assert conditional_headers(later.model_copy(update={"polls_since_full": 0}), SETTINGS) == {}


@pytest.mark.parametrize(
    "outcome",
    [
        # New body, new ETag: the validators did their job.
        PollOutcome(kind="ok", full_fetch=True, etag='"v2"', last_modified=LAST_MODIFIED,
                    body_hash="new"),
        # Same body: nothing to distrust.
        PollOutcome(kind="unchanged", full_fetch=True, etag=ETAG, last_modified=LAST_MODIFIED,
                    body_hash=body_hash(b"old body")),
        # Not a full fetch: the server may simply have ignored our validators.
        PollOutcome(kind="ok", full_fetch=False, etag=ETAG, last_modified=LAST_MODIFIED,
                    body_hash="new"),
    ],
    ids=["new-etag", "same-body", "conditional"],
)
def test_validators_stay_trusted_when_they_did_not_lie(outcome: PollOutcome) -> None:
    before = validated_state()
    assert not stale_validators(before, outcome)
    assert step(before, outcome).validators_trusted


def test_a_polled_state_still_fits_the_feed_state_schema() -> None:
    after = step(
        validated_state(),
        PollOutcome(kind="http_error", http_status=429, error="HTTP 429", retry_after=120.0),
    )
    document = json.loads(encode(after, "feed-state"))
    assert document["last_status"] == "429"
    assert problems("feed-state", document) == []


# ----------------------------------------------------------------------------------------
# feed_outcome
# ----------------------------------------------------------------------------------------


def test_a_304_is_not_modified_and_nothing_is_parsed() -> None:
    outcome, parsed = feed_outcome(fetched(304), validated_state(), False, 1000)
    assert outcome.kind == "not_modified" and outcome.success
    assert outcome.http_status == 304
    assert parsed is None


def test_a_404_is_an_http_error() -> None:
    outcome, parsed = feed_outcome(fetched(404, b"<html/>", HTML_TYPE), state(), True, 1000)
    assert (outcome.kind, outcome.error, outcome.http_status) == ("http_error", "HTTP 404", 404)
    assert not outcome.success
    assert parsed is None
    assert step(state(), outcome).last_status == "404"


@pytest.mark.parametrize("status", [429, 503])
def test_429_and_503_carry_retry_after_into_the_next_poll(status: int) -> None:
    result = fetched(status, b"slow down", HTML_TYPE, headers={"retry-after": "1800"})
    outcome, _ = feed_outcome(result, validated_state(), False, 1000)
    assert outcome.kind == "http_error"
    assert outcome.retry_after == 1800.0
    assert outcome.error == f"HTTP {status} (Retry-After 1800 s)"
    assert delay_of(step(validated_state(interval=300.0), outcome)) == 1800.0


def test_429_without_retry_after_falls_back_to_backoff() -> None:
    outcome, _ = feed_outcome(fetched(429, b"", HTML_TYPE), validated_state(), False, 1000)
    assert outcome.retry_after is None
    assert outcome.error == "HTTP 429"


def test_a_truncated_feed_is_too_large() -> None:
    result = fetched(200, b"<rss" + b" " * 996, truncated=True, body_bytes=5000)
    outcome, parsed = feed_outcome(result, state(), True, 1000)
    assert outcome.kind == "too_large"
    assert outcome.error == "feed larger than 1000 bytes"
    assert not outcome.success and parsed is None


def test_the_same_body_again_is_unchanged_and_not_parsed() -> None:
    body = rss(item("A", link="https://news.test/a"))
    result = fetched(200, body, headers={"etag": '"v9"', "last-modified": "then"})
    outcome, parsed = feed_outcome(result, validated_state(body_hash=body_hash(body)), True, 10**6)
    assert outcome.kind == "unchanged" and outcome.success
    assert parsed is None
    assert (outcome.etag, outcome.last_modified, outcome.body_hash) == (
        '"v9"', "then", body_hash(body),
    )


@pytest.mark.parametrize("kind", ["timeout", "connection_error", "too_many_redirects", "error"])
def test_fetch_failures_become_the_outcome_kind(kind: str) -> None:
    result = fetched(None, content_type=None, error_kind=kind, error=f"{kind} details")
    outcome, parsed = feed_outcome(result, validated_state(), False, 1000)
    assert (outcome.kind, outcome.error, outcome.http_status) == (kind, f"{kind} details", None)
    assert not outcome.success and parsed is None
    after = step(validated_state(), outcome)
    assert after.consecutive_failures == 1 and after.last_status == kind


def test_a_new_body_is_parsed_with_its_validators_and_size() -> None:
    body = rss(item("A", link="https://news.test/a", guid="1"), item("B", guid="2"))
    result = fetched(200, body, headers={"etag": '"v2"'}, final_url="https://news.test/moved.xml")
    outcome, parsed = feed_outcome(result, validated_state(), True, 10**6)
    assert outcome.kind == "ok" and outcome.full_fetch
    assert outcome.feed_size == 2
    assert outcome.etag == '"v2"' and outcome.body_hash == body_hash(body)
    assert outcome.problem is None
    assert parsed is not None and [e.guid for e in parsed.entries] == ["1", "2"]


def test_a_malformed_but_usable_feed_is_ok_with_the_problem_recorded() -> None:
    result = fetched(200, fixture_body("malformed"), url="https://bad.test/bad/malformed.xml")
    outcome, parsed = feed_outcome(result, state(), True, 10**6)
    assert outcome.kind == "ok"
    assert outcome.problem and "well-formed" in outcome.problem
    assert parsed is not None and len(parsed.entries) >= 3


def test_an_html_page_where_a_feed_was_expected_is_not_a_feed() -> None:
    result = fetched(200, html_not_a_feed("/feed.xml"), HTML_TYPE, headers={"etag": '"h"'})
    outcome, parsed = feed_outcome(result, state(), True, 10**6)
    assert outcome.kind == "not_a_feed" and not outcome.success
    assert outcome.error == "not an RSS or Atom feed (text/html)"
    assert (outcome.body_hash, outcome.etag, outcome.last_modified) == (None, None, None)
    assert parsed is not None and not parsed.is_feed


# ----------------------------------------------------------------------------------------
# article_status / decode_html / raw_message
# ----------------------------------------------------------------------------------------

ARTICLE = "https://news.test/a/1.html"
PAGE = "<html><head><title>Café</title></head><body><p>Zoë was here.</p></body></html>"


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (fetched(200, PAGE.encode(), HTML_TYPE, url=ARTICLE), ("ok", None)),
        (fetched(200, b"<html/>", "application/xhtml+xml", url=ARTICLE), ("ok", None)),
        (fetched(200, b"<html/>", None, url=ARTICLE), ("ok", None)),
        (fetched(404, b"", HTML_TYPE, url=ARTICLE), ("http_error", "HTTP 404")),
        (
            fetched(200, b"", "application/pdf", url=ARTICLE, body_bytes=973),
            ("non_html", "not HTML: application/pdf (973 bytes)"),
        ),
        (
            fetched(None, content_type=None, url=ARTICLE, error_kind="timeout", error="slow"),
            ("timeout", "slow"),
        ),
    ],
    ids=["html", "xhtml", "no-type", "404", "pdf", "timeout"],
)
def test_article_status(result: FetchResult, expected: tuple[str, str | None]) -> None:
    assert article_status(result) == expected


def test_decode_html_uses_the_declared_charset() -> None:
    assert decode_html(PAGE.encode("iso-8859-1"), "iso-8859-1") == (PAGE, "iso-8859-1")
    assert decode_html(PAGE.encode("utf-8"), "utf-8") == (PAGE, "utf-8")


def test_decode_html_falls_back_to_utf8_then_cp1252() -> None:
    assert decode_html(PAGE.encode(), None) == (PAGE, "utf-8")
    assert decode_html(PAGE.encode(), "x-no-such-charset") == (PAGE, "utf-8")
    # Declared UTF-8 but really cp1252: nothing is lost, nothing raises.
    assert decode_html("naïve “quotes”".encode("cp1252"), "utf-8") == (
        "naïve “quotes”", "cp1252",
    )
    text, encoding = decode_html(b"abc \x81 def", None)  # 0x81 is undefined even in cp1252
    assert (text, encoding) == ("abc \ufffd def", "cp1252")


def message(
    result: FetchResult | None, status: str, error: str | None = None,
    article: Entry | None = None,
) -> dict[str, Any]:
    article = article or entry("k1", link=ARTICLE, authors=("Ana Lima",), tags=("world",))
    msg = raw_message(FEED, "World News", article, result, status, error, SETTINGS, NOW)
    json.dumps(msg)  # a Kafka payload: must serialise
    return msg


RAW_CASES: dict[str, tuple[FetchResult | None, str, str | None, Entry | None]] = {
    "ok": (
        fetched(200, PAGE.encode(), HTML_TYPE, url=ARTICLE,
                headers={"etag": '"a"', "content-language": "en"}),
        "ok", None, None,
    ),
    "non_html": (
        fetched(200, b"", "application/pdf", url="https://news.test/report.pdf", body_bytes=973),
        "non_html", "not HTML: application/pdf (973 bytes)",
        entry("k2", link="https://news.test/report.pdf"),
    ),
    "no_link": (None, "no_link", "the entry has no link", entry("k3", link=None)),
    "robots_disallowed": (
        None, "robots_disallowed", "disallowed by https://news.test/robots.txt", None,
    ),
    "http_error": (
        fetched(404, b"<html>gone</html>", HTML_TYPE, url=ARTICLE,
                headers={"retry-after": "60"}),
        "http_error", "HTTP 404", None,
    ),
    "timeout": (
        fetched(None, content_type=None, url=ARTICLE, error_kind="timeout", error="slow",
                elapsed=30.0),
        "timeout", "slow", None,
    ),
    "too_many_redirects": (
        fetched(None, content_type=None, url=ARTICLE, error_kind="too_many_redirects",
                error="loop", redirects=[ARTICLE, "https://news.test/b", ARTICLE]),
        "too_many_redirects", "loop", None,
    ),
}


@pytest.mark.parametrize("case", list(RAW_CASES))
def test_raw_messages_fit_the_articles_raw_schema(case: str) -> None:
    result, status, error, article = RAW_CASES[case]
    msg = message(result, status, error, article)
    assert problems("articles.raw", msg) == []
    assert msg["schema"] == RAW_SCHEMA
    assert msg["fetch"]["status"] == status
    assert msg["fetch"]["error"] == error
    assert msg["html_cap"] == SETTINGS.article_max_bytes
    assert msg["fetched_at"] == "2025-01-06T12:00:00Z"
    assert msg["feed"]["id"] == FEED.id and msg["feed"]["title"] == "World News"
    assert (msg["html"] is not None) == (status == "ok")
    assert "retry-after" not in msg["headers"]


def test_ok_message_carries_the_decoded_page_and_fetch_details() -> None:
    result = fetched(
        200, PAGE.encode("iso-8859-1"), "text/html; charset=ISO-8859-1",
        url="https://news.test/a/1.html?utm_source=rss", final_url="https://news.test/a/1.html",
        redirects=["https://news.test/a/1.html?utm_source=rss"], elapsed=0.1234,
    )
    msg = message(result, "ok")
    assert msg["html"] == PAGE and msg["encoding"] == "iso-8859-1"
    assert msg["url"] == "https://news.test/a/1.html"
    assert msg["canonical_url"] == "https://news.test/a/1.html"
    assert msg["id"] == article_id("https://news.test/a/1.html")
    assert msg["fetch"]["http_status"] == 200
    assert msg["fetch"]["content_type"] == "text/html"
    assert msg["fetch"]["elapsed_ms"] == 123.4
    assert msg["fetch"]["redirects"] == ["https://news.test/a/1.html?utm_source=rss"]
    assert msg["html_bytes"] == len(PAGE.encode("iso-8859-1"))
    assert msg["html_truncated"] is False
    assert msg["entry"]["authors"] == ["Ana Lima"] and msg["entry"]["tags"] == ["world"]


def test_a_page_cut_at_the_cap_is_recorded_as_truncated() -> None:
    cap = SETTINGS.article_max_bytes
    body = (b"<html><body>" + b"x" * cap)[:cap]
    result = fetched(200, body, HTML_TYPE, url=ARTICLE, truncated=True, body_bytes=cap * 3)
    msg = message(result, "ok")
    assert problems("articles.raw", msg) == []
    assert msg["html_truncated"] is True
    assert msg["html_cap"] == cap
    assert msg["html_bytes"] == cap * 3
    assert msg["html"] is not None and len(msg["html"]) == cap


def test_a_pdf_article_keeps_no_html_but_records_type_and_size() -> None:
    pdf = pdf_document("Annual report", ["not html"])
    result = fetched(
        200, b"", "application/pdf", url="https://news.test/report.pdf", body_bytes=len(pdf),
        truncated=False,
    )
    status, error = article_status(result)
    msg = message(result, status, error, entry("k2", link="https://news.test/report.pdf"))
    assert msg["fetch"]["status"] == "non_html"
    assert msg["fetch"]["content_type"] == "application/pdf"
    assert msg["html"] is None and msg["encoding"] is None
    assert msg["html_bytes"] == len(pdf)
    assert msg["html_truncated"] is False


def test_an_entry_without_link_gets_an_id_from_feed_and_entry_key() -> None:
    msg = message(None, "no_link", "no link", entry("k3", link=None))
    assert msg["url"] is None and msg["canonical_url"] is None
    assert msg["fetch"]["http_status"] is None
    assert msg["html_bytes"] == 0
    assert len(msg["id"]) == 32
    other_feed = raw_message(
        Feed.create("https://other.test/feed.xml"), None, entry("k3", link=None), None,
        "no_link", "no link", SETTINGS, NOW,
    )
    assert other_feed["id"] != msg["id"]
    assert message(None, "no_link", "no link", entry("k3", link=None))["id"] == msg["id"]


def test_a_failed_fetch_is_identified_by_the_entry_link() -> None:
    result, status, error, _ = RAW_CASES["http_error"]
    msg = message(result, status, error, entry("k1", link=ARTICLE + "?utm_medium=rss#c"))
    assert msg["canonical_url"] == ARTICLE
    assert msg["id"] == article_id(ARTICLE)
    assert msg["fetch"]["http_status"] == 404


# ----------------------------------------------------------------------------------------
# canonical URLs and article ids
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://news.test/a?story=44&utm_source=rss&utm_medium=feed&fbclid=IwAR0#comments",
            "https://news.test/a?story=44",
        ),
        ("HTTP://News.TEST:80/a/b.html#top", "http://news.test/a/b.html"),
        ("https://news.test:443/a?gclid=Cj0K&utm_campaign=x", "https://news.test/a"),
        ("https://news.test", "https://news.test/"),
        ("http://127.0.0.1:8700/feeds/0.xml", "http://127.0.0.1:8700/feeds/0.xml"),
    ],
)
def test_canonical_url_drops_tracking_and_fragments_but_keeps_content(
    url: str, expected: str
) -> None:
    assert canonical_url(url) == expected


def test_the_same_article_with_different_tracking_parameters_gets_one_id() -> None:
    links = [
        "https://news.test/a/7.html?utm_source=rss&utm_medium=feed&utm_campaign=daily",
        "https://news.test/a/7.html?utm_source=twitter&utm_medium=social&gclid=Cj0K",
        "https://news.test/a/7.html?fbclid=IwAR0&ref=rss#comments",
        "https://News.test/a/7.html",
    ]
    assert len({article_id(link) for link in links}) == 1
    ids = {message(None, "robots_disallowed", "no", entry("k", link=link))["id"] for link in links}
    assert ids == {article_id("https://news.test/a/7.html")}
    assert article_id("https://news.test/a?story=44") != article_id("https://news.test/a?story=45")


@pytest.mark.parametrize("query", ["cid=5", "keyword=iran", "gl=US"])
def test_canonical_url_keeps_parameters_that_select_content(query: str) -> None:
    url = f"https://news.test/article.php?{query}"
    assert canonical_url(url) == url
    assert article_id(url) != article_id("https://news.test/article.php")


def test_a_gone_feed_added_again_is_polled_afresh_but_keeps_its_seen_entries() -> None:
    from sitrep.poller import revive_if_readded

    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    feed = Feed.create("https://gone.example/feed.xml")
    state = FeedState.fresh(feed, settings, now).model_copy(update={
        "status": "disabled", "last_polled_at": "2026-01-01T00:00:00Z", "seen": ["k1"],
        "consecutive_failures": 3,
    })
    older = feed.model_copy(update={"added_at": "2025-12-31T00:00:00Z"})
    assert revive_if_readded(older, state, now) is state
    readded = feed.model_copy(update={"added_at": "2026-01-02T00:00:00Z"})
    revived = revive_if_readded(readded, state, now)
    assert revived.status == "new"
    assert revived.consecutive_failures == 0
    assert revived.seen == ["k1"]
