"""``sitrep api`` on the real Elasticsearch and Kafka: search, articles, subscriptions, feeds,
keys and limits. The app runs in-process (Starlette's TestClient drives it over ASGI, lifespan
included); one test starts the real ``sitrep api`` command and talks HTTP to it."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sitrep.api import create_app
from sitrep.config import Settings
from sitrep.index import Indexer, alias

KEY = "test-write-key-0123456789"


def tagged(n: int, title: str, text: str, *, published: str, countries: list[str],
           regions: list[str] = (), actors: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
           source: str = "Wire", language: str = "en") -> dict[str, Any]:
    """A tagged article as the tag stage emits it (only what indexing reads)."""
    url = f"https://news.example.org/{n}"
    return {
        "id": hashlib.sha256(url.encode()).hexdigest()[:32], "url": url, "canonical_url": url,
        "title": title, "text": text, "published": published,
        "fetched_at": "2026-11-20T00:00:00+00:00", "language": language,
        "feed": {"name": source, "id": "f1", "tags": []}, "site_name": source,
        "text_hash": hashlib.sha256(text.encode()).hexdigest(),
        "countries": countries, "admin1": list(regions), "places": [],
        "actors": [{"id": i, "name": name, "type": kind} for i, name, kind in actors],
        "actor_types": sorted({kind for _, _, kind in actors}),
    }


ARTICLES = [
    tagged(1, "Soleimani seen with PMF near the Syrian border",
           "Iranian general Qasem Soleimani was pictured with Popular Mobilization fighters "
           "near al-Tanf as the battles for the border continued.",
           published="2017-05-30T10:00:00+00:00", countries=["IQ", "IR", "SY"],
           regions=["IQ.01"], actors=[("qasem_soleimani", "Qasem Soleimani", "person"),
                                      ("pmf", "Popular Mobilization Forces", "armed_group")],
           source="Newsweek"),
    tagged(2, "PMF pushes Islamic State out of border villages",
           "The Popular Mobilization Forces said they battled Islamic State fighters and took "
           "villages near the Syrian border west of Mosul.",
           published="2017-05-30T12:00:00+00:00", countries=["IQ", "SY"], regions=["IQ.15"],
           actors=[("pmf", "Popular Mobilization Forces", "armed_group")], source="Reuters"),
    tagged(3, "Wind farm approved after long inquiry",
           "The regulator approved the wind farm on the border of two counties.",
           published="2021-03-01T08:00:00+00:00", countries=["GB"], source="Local"),
    tagged(4, "Rocket attack on Ain al-Asad air base",
           "Rockets hit the base in Anbar; no casualties were reported, officials said.",
           published="2022-09-14T09:00:00+00:00", countries=["IQ", "US"], regions=["IQ.01"],
           source="Wire"),
    tagged(5, "هجوم على قاعدة عين الأسد", "أفاد مسؤولون بسقوط صواريخ على القاعدة.",
           published="2022-09-14T10:00:00+00:00", countries=["IQ"], regions=["IQ.01"],
           source="Wire", language="ar"),
    # Syndication: the Reuters text under another URL is the same story.
    tagged(6, "PMF pushes Islamic State out of border villages",
           "The Popular Mobilization Forces said they battled Islamic State fighters and took "
           "villages near the Syrian border west of Mosul.",
           published="2017-05-30T12:30:00+00:00", countries=["IQ", "SY"], regions=["IQ.15"],
           actors=[("pmf", "Popular Mobilization Forces", "armed_group")], source="Gulf Daily"),
] + [
    tagged(100 + i, f"Border report number {i}",
           f"Daily border report {i}: crossings at the border were counted.",
           published=f"2023-01-{1 + i % 28:02d}T00:00:00+00:00", countries=["IQ"],
           source="Daily")
    for i in range(25)
]


@pytest.fixture
def indexed(deployment: Settings, es: Elasticsearch) -> Settings:
    async def write() -> None:
        client = AsyncElasticsearch(deployment.elasticsearch_url)
        try:
            results = await Indexer(deployment, client).index(ARTICLES)
            assert [error for _, _, error in results] == [None] * len(ARTICLES)
        finally:
            await client.close()

    asyncio.run(write())
    es.indices.refresh(index=alias(deployment))
    return deployment


@pytest.fixture
def client(indexed: Settings) -> Iterator[TestClient]:
    s = indexed.model_copy(update={"api_keys": [KEY]})
    with TestClient(create_app(s)) as c:
        yield c


def ids(response: httpx.Response) -> list[str]:
    return [h["id"] for h in response.json()["hits"]]


def test_search_finds_stemmed_words_and_phrases_with_facets_and_highlights(
    client: TestClient,
) -> None:
    r = client.get("/search", params={"q": "battles"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {h["title"] for h in body["hits"]} == {
        "Soleimani seen with PMF near the Syrian border",
        "PMF pushes Islamic State out of border villages",
    }
    assert body["total"] == 3 and body["total_is_exact"]  # Reuters' text twice: syndicated
    assert any("<mark>" in f for h in body["hits"] for f in h["highlight"].get("text", []))
    assert {b["value"]: b["count"] for b in body["facets"]["country"]} == {"IQ": 3, "SY": 3,
                                                                         "IR": 1}
    assert {b["value"] for b in body["facets"]["day"]} == {"2017-05-30"}
    assert {b["value"] for b in body["facets"]["actor_type"]} >= {"armed_group"}
    region = {b["value"]: b["label"] for b in body["facets"]["region"]}
    assert region["IQ.15"]  # admin1 keys come with their names

    r = client.get("/search", params={"q": '"Popular Mobilization" -source:reuters'})
    assert sorted(h["source"] for h in r.json()["hits"]) == ["Gulf Daily", "Newsweek"]


def test_filters_mean_what_fields_mean_in_the_query(client: TestClient) -> None:
    by_field = ids(client.get("/search", params={"q": "border country:SY actor:pmf"}))
    by_filter = ids(client.get("/search", params={"q": "border", "country": "Syria",
                                                  "actor": "pmf"}))
    assert by_field and sorted(by_field) == sorted(by_filter)
    arabic = client.get("/search", params={"region": "Al Anbar", "lang": "ar"}).json()
    assert [h["language"] for h in arabic["hits"]] == ["ar"]
    people = client.get("/search", params={"q": "border", "actor_type": "person"}).json()
    assert [h["source"] for h in people["hits"]] == ["Newsweek"]
    dated = client.get("/search", params={"q": "border", "since": "2023-01-10",
                                          "until": "2023-01-12T23:59:59Z", "sort": "date"})
    assert [h["published"][:10] for h in dated.json()["hits"]] == [
        "2023-01-12", "2023-01-11", "2023-01-10"]


def test_deep_pages_cover_every_result_once_in_order(client: TestClient) -> None:
    seen: list[str] = []
    after = None
    for _ in range(20):
        params = {"q": "border", "sort": "date", "size": 4, "facets": "false"}
        if after:
            params["after"] = after
        page = client.get("/search", params=params).json()
        seen += [h["published"] for h in page["hits"]]
        after = page["next"]
        if after is None:
            break
    total = client.get("/search", params={"q": "border"}).json()["total"]
    assert len(seen) == total == 29
    assert seen == sorted(seen, reverse=True)


def test_collapse_folds_a_story_and_counts_its_reports(client: TestClient) -> None:
    plain = client.get("/search", params={"q": "villages"}).json()
    assert plain["total"] == 2  # the Reuters story and its syndicated copy
    r = client.get("/search", params={"q": "villages", "collapse": "true"}).json()
    assert len(r["hits"]) == 1 and r["hits"][0]["story_size"] == 2
    r = client.get("/search", params={"q": "border", "collapse": "true", "size": 50}).json()
    stories = [h["story_id"] for h in r["hits"]]
    assert len(stories) == len(set(stories)) == r["total"] - 1


def test_an_article_by_id_and_404_for_unknown_ids(client: TestClient) -> None:
    first = ARTICLES[0]
    r = client.get(f"/articles/{first['id']}")
    assert r.status_code == 200
    assert r.json()["title"] == first["title"] and "minhash" not in r.json()
    assert client.get("/articles/" + "0" * 32).status_code == 404
    assert client.get("/articles/not-an-id").status_code == 404


@pytest.mark.parametrize(("query", "position"), [
    ('soleimani "unclosed', 10), ("a AND", 2), ("(isis OR", 6), ("colour:red", 0),
    ("country:Atlantis", 0), ("OR x", 0), ("x ) y", 2), ("-isis", 0),
])
def test_malformed_queries_are_400_with_the_position(client: TestClient, query: str,
                                                     position: int) -> None:
    r = client.get("/search", params={"q": query})
    assert r.status_code == 400
    body = r.json()
    assert body["position"] == position and body["field"] == "q"
    assert str(position) in body["error"]


@pytest.mark.parametrize("params", [
    {"q": "x", "size": "0"}, {"q": "x", "size": "1000"}, {"q": "x", "since": "yesterday-ish"},
    {"q": "x", "sort": "random"}, {"q": "x", "after": "garbage!"}, {"q": "x", "collapse": "maybe"},
    {}, {"q": "x" * 2001}, {"q": "x", "country": "Narnia"},
])
def test_bad_parameters_are_400_saying_which(client: TestClient, params: dict[str, str]) -> \
        None:
    r = client.get("/search", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["error"]


def test_a_cursor_from_another_search_is_refused(client: TestClient) -> None:
    page = client.get("/search", params={"q": "border", "size": 2}).json()
    r = client.get("/search", params={"q": "villages", "size": 2, "after": page["next"]})
    assert r.status_code == 400 and r.json()["field"] == "after"


@hypothesis_settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list('ab:"()-ORANDNOT country:IQ region\\*?~^[]{}')),
               max_size=40))
def test_no_query_string_gives_a_server_error(client: TestClient, query: str) -> None:
    r = client.get("/search", params={"q": query})
    assert r.status_code in (200, 400), (query, r.text)


def test_writes_need_a_valid_key(client: TestClient) -> None:
    spec = {"name": "Soleimani in Iraq", "query": "soleimani country:IQ"}
    assert client.post("/subscriptions", json=spec).status_code == 401
    r = client.post("/subscriptions", json=spec, headers={"X-API-Key": "wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid API key"
    assert client.delete("/subscriptions/abc").status_code == 401
    assert client.post("/feeds", json={"url": "https://example.org/feed"}).status_code == 401
    r = client.post("/subscriptions", json=spec, headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 201, r.text


def test_without_configured_keys_every_write_is_refused(indexed: Settings) -> None:
    with TestClient(create_app(indexed)) as c:
        r = c.post("/subscriptions", json={"name": "x", "query": "x"},
                   headers={"X-API-Key": "anything"})
        assert r.status_code == 401 and "SITREP_API_KEYS" in r.json()["error"]
        assert c.get("/search", params={"q": "border"}).status_code == 200


def test_read_keys_close_reads_when_configured(indexed: Settings) -> None:
    s = indexed.model_copy(update={"api_keys": [KEY], "api_read_keys": ["reader-key-123"]})
    with TestClient(create_app(s)) as c:
        assert c.get("/search", params={"q": "border"}).status_code == 401
        assert c.get("/search", params={"q": "border"},
                     headers={"X-API-Key": "reader-key-123"}).status_code == 200
        assert c.get("/subscriptions", headers={"X-API-Key": KEY}).status_code == 200
        assert c.get("/health").status_code == 200


def test_subscriptions_round_trip_and_survive_a_restart(client: TestClient,
                                                        indexed: Settings) -> None:
    headers = {"X-API-Key": KEY}
    spec = {"name": "Soleimani in Iraq", "query": "soleimani", "filters": {"country": ["Iraq"]},
            "webhook": {"url": "https://93.184.216.34/sitrep"}, "email": ["a@example.org"],
            "mode": "digest", "digest_minutes": 30}
    created = client.post("/subscriptions", json=spec, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    sid, secret = body["subscription"]["id"], body["webhook_secret"]
    assert len(secret) >= 32 and body["subscription"]["webhook"]["secret"] == "***"
    listed = client.get("/subscriptions").json()
    assert [s["id"] for s in listed] == [sid]
    assert listed[0]["filters"]["country"] == ["Iraq"]

    with TestClient(create_app(indexed.model_copy(update={"api_keys": [KEY]}))) as again:
        assert again.get(f"/subscriptions/{sid}").json()["name"] == "Soleimani in Iraq"
        assert again.delete(f"/subscriptions/{sid}", headers=headers).status_code == 204
    time.sleep(0.5)  # the first app's follower sees the removal through Kafka
    assert client.get(f"/subscriptions/{sid}").status_code == 404
    assert client.delete(f"/subscriptions/{sid}", headers=headers).status_code == 404


@pytest.mark.parametrize(("spec", "field"), [
    ({"name": "x", "query": "soleimani AND"}, "query"),
    ({"name": "x", "query": ""}, "query"),
    ({"name": "x", "query": "x", "webhook": {"url": "http://127.0.0.1:9/hook"}}, "webhook.url"),
    ({"name": "x", "query": "x", "webhook": {"url": "http://10.0.0.8/hook"}}, "webhook.url"),
    ({"name": "x", "query": "x", "webhook": {"url": "ftp://example.org/hook"}}, "webhook.url"),
    ({"name": "x", "query": "x", "webhook": {"url": "http://169.254.169.254/"}}, "webhook.url"),
    ({"name": "x", "query": "x", "email": ["not-an-address"]}, "email"),
    ({"name": "", "query": "x"}, "name"),
    ({"name": "x", "query": "x", "mode": "sometimes"}, "mode"),
])
def test_bad_subscriptions_are_400_saying_what(client: TestClient, spec: dict[str, Any],
                                               field: str) -> None:
    r = client.post("/subscriptions", json=spec, headers={"X-API-Key": KEY})
    assert r.status_code == 400, r.text
    assert r.json()["field"].startswith(field)
    if spec.get("query") == "soleimani AND":
        assert r.json()["position"] == 10


def test_feeds_on_private_addresses_are_refused_and_public_ones_registered(
    client: TestClient,
) -> None:
    headers = {"X-API-Key": KEY}
    for url in ("http://127.0.0.1:8080/feed", "http://192.168.1.4/rss", "file:///etc/passwd"):
        r = client.post("/feeds", json={"url": url}, headers=headers)
        assert r.status_code == 400 and r.json()["field"] == "url", r.text
    r = client.post("/feeds", json={"url": "http://93.184.216.34/feed.xml", "name": "Public"},
                    headers=headers)
    assert r.status_code == 201, r.text
    assert [f["name"] for f in client.get("/feeds").json()] == ["Public"]
    assert client.delete("/feeds/http://93.184.216.34/feed.xml",
                         headers=headers).status_code == 204
    assert client.get("/feeds").json() == []


def test_oversized_bodies_are_refused_before_reading_them(indexed: Settings) -> None:
    s = indexed.model_copy(update={"api_keys": [KEY], "api_max_body_bytes": 1000})
    with TestClient(create_app(s)) as c:
        big = {"name": "x", "query": "x " * 600}
        r = c.post("/subscriptions", json=big, headers={"X-API-Key": KEY})
        assert r.status_code == 413

        def chunks() -> Iterator[bytes]:
            yield b'{"name": "x", "query": "'
            for _ in range(100):
                yield b"x " * 50
            yield b'"}'

        r = c.post("/subscriptions", content=chunks(),
                   headers={"X-API-Key": KEY, "Content-Type": "application/json"})
        assert r.status_code == 413


def test_the_openapi_document_describes_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/search", "/articles/{article_id}", "/subscriptions",
            "/subscriptions/{subscription_id}", "/feeds", "/health"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_sitrep_api_command_serves_http(deployment: Settings) -> None:
    port = free_port()
    env = {**os.environ, "SITREP_TOPIC_PREFIX": deployment.topic_prefix,
           "SITREP_INDEX_PREFIX": deployment.index_prefix, "SITREP_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "sitrep", "api", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "sitrep api did not start"
                time.sleep(0.3)
        assert r.status_code == 200 and r.json()["elasticsearch"] is True
        r = httpx.get(f"http://127.0.0.1:{port}/search", params={"q": "(("})
        assert r.status_code == 400 and r.json()["position"] == 2
    finally:
        process.terminate()
        process.wait(20)


def test_a_subscription_is_changed_in_place_and_shows_its_alert_history(
    client: TestClient, indexed: Settings, es: Elasticsearch,
) -> None:
    from datetime import UTC, datetime

    from sitrep.alerts import Matcher, alerts_for, alerts_index, record
    from sitrep.index import to_document
    from sitrep.subscriptions import Subscription

    headers = {"X-API-Key": KEY}
    created = client.post("/subscriptions", headers=headers, json={
        "name": "Villages", "query": "villages",
        "webhook": {"url": "https://93.184.216.34/hook"}}).json()
    sid, secret = created["subscription"]["id"], created["webhook_secret"]
    changed = client.put(f"/subscriptions/{sid}", headers=headers, json={
        "name": "Border villages", "query": "villages border",
        "webhook": {"url": "https://93.184.216.34/hook2"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["webhook_secret"] == secret  # kept when not given
    assert client.get(f"/subscriptions/{sid}").json()["query"] == "villages border"
    assert client.put(f"/subscriptions/{sid}", json={"name": "x", "query": "x"}).status_code \
        == 401
    assert client.put("/subscriptions/nope", headers=headers,
                      json={"name": "x", "query": "x"}).status_code == 404

    subscription = Subscription(**{**client.get(f"/subscriptions/{sid}").json(),
                                   "webhook": None})
    matcher = Matcher()
    matcher.update(sid, subscription)
    documents = [to_document(a, a["id"], None, datetime.now(UTC)) for a in ARTICLES]

    async def fire() -> int:
        client_es = AsyncElasticsearch(indexed.elasticsearch_url)
        try:
            return len(await record(client_es, indexed,
                                    alerts_for(matcher, documents, datetime.now(UTC))))
        finally:
            await client_es.close()

    # Both Reuters copies: built here with a story each (the indexer would fold them into one).
    assert asyncio.run(fire()) == 2
    es.indices.refresh(index=alerts_index(indexed))
    history = client.get(f"/subscriptions/{sid}/alerts").json()
    assert [h["delivery_status"] for h in history] == ["matched", "matched"]
    assert {h["title"] for h in history} == {"PMF pushes Islamic State out of border villages"}
    assert client.get("/subscriptions/nope/alerts").status_code == 404
