"""Feed definitions (sitrep.feeds): YAML feed lists, Feed/FeedState and their encoding.

No Kafka here: FeedRegistry's topic operations are covered by the integration tests.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sitrep.config import Settings
from sitrep.feeds import Feed, FeedError, FeedState, encode, load_feed_file
from sitrep.schemas import SchemaViolation, problems
from sitrep.urls import canonical_url, feed_id

NOW = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"poll_interval": 300.0}
    values.update(overrides)
    return Settings(_env_file=None, **values)


def feed_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------------------
# load_feed_file
# ----------------------------------------------------------------------------------------


def test_a_plain_list_of_urls_is_a_feed_list(tmp_path: Path) -> None:
    path = feed_file(
        tmp_path,
        "- https://news.test/world.xml\n"
        "- http://Radio.TEST/rss?utm_source=list\n",
    )
    feeds = load_feed_file(path)
    assert [f.url for f in feeds] == ["https://news.test/world.xml", "http://radio.test/rss"]
    assert all(f.name is None and f.tags == [] and f.interval is None for f in feeds)


def test_the_feeds_mapping_form_takes_urls_and_per_feed_options(tmp_path: Path) -> None:
    path = feed_file(
        tmp_path,
        "feeds:\n"
        "  - https://news.test/world.xml\n"
        "  - url: https://news.test/ar.xml\n"
        "    name: Arabic desk\n"
        "    tags: [mena, ar]\n"
        "    language: ar\n"
        "    interval: 120\n",
    )
    plain, detailed = load_feed_file(path)
    assert plain.url == "https://news.test/world.xml"
    assert detailed.url == "https://news.test/ar.xml"
    assert detailed.name == "Arabic desk"
    assert detailed.tags == ["mena", "ar"]
    assert detailed.language == "ar"
    assert detailed.interval == 120
    assert detailed.id == feed_id("https://news.test/ar.xml")


@pytest.mark.parametrize(
    ("entries", "number", "complaint"),
    [
        ("- https://news.test/a.xml\n- {name: no url here}\n", 2, "url"),
        ("- https://news.test/a.xml\n- url: https://news.test/b.xml\n  interval: 0\n", 2,
         "interval"),
        ("- 42\n", 1, "valid dictionary"),
        ("- https://news.test/a.xml\n- null\n", 2, "valid dictionary"),
        ("- https://news.test/a.xml\n- url: https://news.test/b.xml\n  tags: 7\n", 2, "tags"),
    ],
    ids=["missing-url", "zero-interval", "number", "null", "tags-not-a-list"],
)
def test_a_bad_entry_is_reported_with_the_file_and_entry_number(
    tmp_path: Path, entries: str, number: int, complaint: str
) -> None:
    path = feed_file(tmp_path, entries)
    with pytest.raises(FeedError) as caught:
        load_feed_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: feed #{number}: ")
    assert complaint in message


@pytest.mark.parametrize(
    "url", ["ftp://news.test/feed.xml", "news.test/feed.xml", "file:///etc/passwd", "/feed.xml"]
)
def test_a_non_http_url_is_refused(tmp_path: Path, url: str) -> None:
    path = feed_file(tmp_path, f"feeds:\n  - https://news.test/ok.xml\n  - url: '{url}'\n")
    with pytest.raises(FeedError, match=r"feed #2: .*is not an http\(s\) URL"):
        load_feed_file(path)


@pytest.mark.parametrize(
    "text", ["feeds: 3\n", "", "just a string\n", "other: [https://news.test/a.xml]\n"],
    ids=["feeds-not-a-list", "empty", "scalar", "no-feeds-key"],
)
def test_a_file_that_is_not_a_feed_list_is_refused(tmp_path: Path, text: str) -> None:
    path = feed_file(tmp_path, text)
    with pytest.raises(FeedError, match="expected a list of feeds"):
        load_feed_file(path)


def test_unreadable_yaml_and_missing_files_are_feed_errors(tmp_path: Path) -> None:
    broken = feed_file(tmp_path, "feeds: [\n")
    with pytest.raises(FeedError, match=f"^{broken}: cannot read feed list"):
        load_feed_file(broken)
    missing = tmp_path / "nope.yaml"
    with pytest.raises(FeedError, match=f"^{missing}: cannot read feed list"):
        load_feed_file(missing)


# ----------------------------------------------------------------------------------------
# Feed.create and ids
# ----------------------------------------------------------------------------------------


def test_feed_create_canonicalises_the_url() -> None:
    feed = Feed.create("  HTTPS://News.TEST:443/rss?utm_source=x&story=44#latest  ")
    assert feed.url == "https://news.test/rss?story=44"
    assert feed.url == canonical_url(feed.url)  # canonical already: a fixed point


def test_feed_id_is_stable_across_tracking_parameters_and_spelling() -> None:
    variants = [
        "https://news.test/rss.xml",
        "https://news.test/rss.xml?utm_source=newsletter&utm_medium=email",
        "https://NEWS.test/rss.xml?fbclid=IwAR0#top",
        "https://news.test:443/rss.xml",
    ]
    ids = {Feed.create(url).id for url in variants}
    assert ids == {feed_id("https://news.test/rss.xml")}
    (only,) = ids
    assert len(only) == 16 and int(only, 16) >= 0
    assert Feed.create("https://news.test/other.xml").id != only
    # The id is also what a re-created feed (same URL, new options) is known by.
    assert Feed.create(variants[1], name="renamed", tags=["x"]).id == only


def test_feed_create_refuses_non_http_urls() -> None:
    with pytest.raises(FeedError, match="is not an http"):
        Feed.create("ftp://news.test/feed.xml")
    with pytest.raises(ValidationError, match="is not an http"):
        Feed(id="0" * 16, url="gopher://news.test/")


def test_fresh_state_starts_new_due_now_with_the_feed_or_default_interval() -> None:
    default = FeedState.fresh(Feed.create("https://news.test/a.xml"), settings(), NOW)
    assert default.status == "new"
    assert default.interval == 300.0
    assert default.next_poll_at == "2025-01-06T12:00:00Z"
    assert default.seen == [] and default.validators_trusted
    custom = FeedState.fresh(Feed.create("https://news.test/b.xml", interval=45), settings(), NOW)
    assert custom.interval == 45
    assert custom.feed_id == Feed.create("https://news.test/b.xml").id


def test_feed_create_keeps_the_query_that_selects_the_feed() -> None:
    url = "https://news.google.com/rss/search?q=earthquake&hl=en-US&gl=US&ceid=US:en"
    assert "gl=US" in Feed.create(url).url


# ----------------------------------------------------------------------------------------
# encode
# ----------------------------------------------------------------------------------------


def test_encode_feed_fits_the_feed_schema_and_round_trips() -> None:
    feed = Feed.create(
        "https://news.test/world.xml", name="World", tags=["world"], language="en", interval=90
    )
    raw = encode(feed, "feed")
    document = json.loads(raw)
    assert problems("feed", document) == []
    assert Feed.model_validate_json(raw) == feed
    assert b" " not in raw  # compact JSON for the topic


def test_encode_state_fits_the_feed_state_schema_and_round_trips() -> None:
    feed = Feed.create("https://news.test/world.xml")
    state = FeedState.fresh(feed, settings(), NOW).model_copy(
        update={
            "status": "failing", "etag": 'W/"x"', "last_modified": "Mon, 06 Jan 2025 11:00:00 GMT",
            "body_hash": "ab" * 16, "seen": ["k1", "k2"], "consecutive_failures": 6,
            "last_error": "HTTP 503 (Retry-After 300 s)", "last_polled_at": "2025-01-06T11:59:00Z",
        }
    )
    raw = encode(state, "feed-state")
    assert problems("feed-state", json.loads(raw)) == []
    assert FeedState.model_validate_json(raw) == state


@pytest.mark.parametrize(
    ("model", "schema", "where"),
    [
        (
            Feed.model_construct(
                id="not-hex", url="https://news.test/", added_at="2025-01-06T12:00:00Z"
            ),
            "feed", "id",
        ),
        (
            Feed.model_construct(id="0" * 16, url="https://news.test/", added_at="yesterday"),
            "feed", "added_at",
        ),
    ],
    ids=["bad-id", "bad-date"],
)
def test_encode_refuses_a_feed_its_schema_rejects(model: Feed, schema: str, where: str) -> None:
    with pytest.raises(SchemaViolation, match=f"{schema}: {where}: "):
        encode(model, schema)


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"interval": 0.0}, "interval"),
        ({"next_poll_at": "soon"}, "next_poll_at"),
        ({"consecutive_failures": -1}, "consecutive_failures"),
    ],
)
def test_encode_refuses_a_state_its_schema_rejects(changes: dict[str, Any], where: str) -> None:
    state = FeedState.fresh(Feed.create("https://news.test/a.xml"), settings(), NOW)
    with pytest.raises(SchemaViolation, match=f"feed-state: {where}: "):
        encode(state.model_copy(update=changes), "feed-state")


@pytest.mark.parametrize("command", ["add", "import"])
def test_the_cli_refuses_feeds_on_internal_addresses_like_the_api(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused before Kafka is touched, so this needs no broker; every bad URL is named."""
    from typer.testing import CliRunner

    from sitrep.cli import app
    from sitrep.config import get_settings

    urls = ["http://127.0.0.1:8080/feed.xml", "http://169.254.169.254/latest/rss"]
    if command == "add":
        args = ["feeds", "add", urls[0]]
    else:
        listing = feed_file(tmp_path, "feeds:\n" + "".join(f"  - {u}\n" for u in urls))
        args = ["feeds", "import", str(listing)]
    monkeypatch.setenv("SITREP_ALLOW_PRIVATE_URLS", "false")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    named = urls[:1] if command == "add" else urls
    for url in named:
        assert f"refused feed: {url}" in output
    assert "loopback" in output and "SITREP_ALLOW_PRIVATE_URLS" in output
