"""The alert matcher agrees with Elasticsearch: for generated queries over generated articles,
the articles ``matches`` accepts are exactly the articles the real node returns for
``to_elasticsearch`` of the query.

Articles are made with the real ``to_document`` from tagged articles whose titles and texts
mix words sharing a stem (battle/battles/battling), multi-stem words (al-Tanf, U.S.,
don't), punctuation, case and a little non-Latin text, and whose tags use real actor ids,
region keys and gazetteer names; queries are strings of the query language over the same
vocabulary, parsed as a user's would be. Any disagreement is a bug in the matcher (or in the
translation), found here rather than by an analyst missing an alert.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sitrep.config import Settings
from sitrep.index import load_template, to_document
from sitrep.match import DocumentView, matches, standard_tokens
from sitrep.query import And, Field, Node, QuerySyntaxError, parse, to_elasticsearch
from sitrep.search import Filters, SearchError, SearchRequest, search_sync
from sitrep.subscriptions import Subscription

WORDS = [
    "battle", "battles", "Battling", "battled", "BATTLE", "attack", "attacks", "attacked",
    "border", "borders", "fighter", "fighters", "fighting", "militia", "militias", "Mosul",
    "Nineveh", "Iraq", "Iraqi", "Syria", "al-Tanf", "Tanf", "al-Qaim", "Abu", "Kamal",
    "U.S.", "US", "don't", "PMF's", "PMF", "1,000", "2017", "co-operation", "operation",
    "wi-fi", "forces", "force", "Popular", "Mobilization", "the", "of", "and", "at",
    "Hashd", "al-Hashd", "al-Shaabi", "الحشد", "Mossoul", "Ninive", "e-mail",
]
PUNCTUATION = ["", "", "", "", ",", ".", ";", ":", "!", "?", " -", " (", ")", '"', "'s"]

PLACES = [  # (name, country, admin1 key)
    ("Mosul", "IQ", "IQ.15"), ("Nineveh", "IQ", "IQ.15"), ("Tal Afar", "IQ", "IQ.15"),
    ("Ramadi", "IQ", "IQ.01"), ("Anbar", "IQ", "IQ.01"), ("al-Qaim", "IQ", "IQ.01"),
    ("Homs", "SY", "SY.11"), ("al-Tanf", "SY", "SY.11"), ("Abu Kamal", "SY", "SY.07"),
]
ACTORS = [  # (id, name, type)
    ("pmf", "Popular Mobilization Forces", "armed_group"),
    ("isis", "Islamic State", "armed_group"),
    ("kataib_hezbollah", "Kataib Hezbollah", "armed_group"),
    ("sdf", "Syrian Democratic Forces", "armed_group"),
    ("iraq", "Iraq", "state"),
    ("syria", "Syria", "state"),
]
SOURCES = ["Reuters", "AP", "Al Jazeera", "rudaw", "Straße", None]
LANGUAGES = ["en", "en", "ar", "fr", None]
DOCUMENTS = 120

FIELD_VALUES = [
    "country:IQ", "country:sy", "country:Syria", "country:Iraq", "lang:en", "lang:AR",
    "lang:fr", "source:Reuters", "source:reuters", "source:AP", 'source:"Al Jazeera"',
    "source:RUDAW", "source:STRASSE", "region:IQ.15", "region:iq.01", "region:SY.11",
    "region:Nineveh", "region:Mosul", "region:mosul", "region:Anbar", 'region:"Tal Afar"',
    "region:al-Tanf", "actor:pmf", "actor:PMF", "actor:isis", 'actor:"Islamic State"',
    'actor:"popular mobilization forces"', "actor:kataib_hezbollah", "actor:Iraq",
    "actor:sdf",
]
ACTOR_TYPES = ["armed_group", "State", "militia"]


def _sentence(rng: random.Random, low: int, high: int) -> str:
    parts = []
    for _ in range(rng.randint(low, high)):
        word = rng.choice(WORDS)
        parts.append(word + rng.choice(PUNCTUATION))
    return " ".join(parts)


def _article(rng: random.Random, number: int) -> dict[str, Any]:
    places = rng.sample(PLACES, rng.randint(0, 3))
    actors = rng.sample(ACTORS, rng.randint(0, 3))
    source = rng.choice(SOURCES)
    article: dict[str, Any] = {
        "id": f"a{number}",
        "url": f"https://example.test/{number}",
        "canonical_url": f"https://example.test/{number}",
        "title": _sentence(rng, 2, 8) if rng.random() > 0.05 else None,
        "text": _sentence(rng, 8, 40) if rng.random() > 0.05 else None,
        "language": rng.choice(LANGUAGES),
        "published": "2017-05-30T10:00:00Z",
        "places": [
            {"id": i, "name": name, "country": country, "admin1": key.split(".")[1]}
            for i, (name, country, key) in enumerate(places)
        ],
        "countries": sorted({country for _, country, _ in places}),
        "admin1": sorted({key for _, _, key in places}),
        "actors": [{"id": i, "name": name, "type": kind} for i, name, kind in actors],
    }
    if source is not None:
        article["feed"] = {"id": "feed", "name": source}
    return article


@pytest.fixture(scope="module")
def corpus(es: Elasticsearch, settings: Settings) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An index of generated articles, made once for the module and deleted after it."""
    rng = random.Random(20170530)
    now = datetime(2017, 5, 30, tzinfo=UTC)
    documents = [to_document(_article(rng, n), f"s{n}", None, now) for n in range(DOCUMENTS)]
    # Named like a deployment's monthly index behind its read alias, so the search API's
    # code (which searches ``<prefix>-articles``) can be pointed at it too.
    prefix = f"test-match-agrees-{rng.getrandbits(32):08x}"
    name = f"{prefix}-articles-2017.05"
    es.indices.create(
        index=name,
        mappings=load_template(settings)["template"]["mappings"],
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        aliases={f"{prefix}-articles": {}},
    )
    try:
        operations: list[dict[str, Any]] = []
        for document in documents:
            operations += [{"index": {"_index": name, "_id": document["id"]}}, document]
        result = es.bulk(operations=operations, refresh=True)
        assert not result["errors"], result
        yield name, documents
    finally:
        es.indices.delete(index=name)


def _es_ids(es: Elasticsearch, index: str, node: Node) -> set[str]:
    found = es.search(
        index=index, query=to_elasticsearch(node), size=DOCUMENTS + 10, source=False
    )
    return {hit["_id"] for hit in found["hits"]["hits"]}


def _matcher_ids(node: Node, documents: list[dict[str, Any]]) -> set[str]:
    return {d["id"] for d in documents if matches(node, DocumentView(d))}


# Query strings: words (quoted as phrases or not), field filters, and the operators.
_word = st.sampled_from(WORDS)
_phrase = st.lists(_word, min_size=1, max_size=3).map(lambda w: '"' + " ".join(w) + '"')
_atom = st.one_of(_word, _word, _phrase, st.sampled_from(FIELD_VALUES))


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, children).map(" ".join),
        st.tuples(children, children).map(" AND ".join),
        st.tuples(children, children).map(" OR ".join),
        children.map(lambda c: f"({c})"),
        children.map(lambda c: f"-{c}"),
        children.map(lambda c: f"NOT {c}"),
    )


queries = st.recursive(_atom, _combine, max_leaves=6)


def _parsed(query: str) -> Node | None:
    try:
        return parse(query)
    except QuerySyntaxError:
        return None


@hypothesis_settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
@given(query=queries, actor_type=st.none() | st.sampled_from(ACTOR_TYPES))
def test_matcher_returns_the_documents_elasticsearch_returns(
    es: Elasticsearch,
    corpus: tuple[str, list[dict[str, Any]]],
    query: str,
    actor_type: str | None,
) -> None:
    node = _parsed(query)
    if node is None:
        event("syntax error")
        return
    if actor_type is not None:  # the request filters' field, which the parser never makes
        node = And((node, Field("actor_type", actor_type)))
    index, documents = corpus
    expected = _es_ids(es, index, node)
    event("matches none" if not expected else "matches some")
    assert _matcher_ids(node, documents) == expected, (query, to_elasticsearch(node))


def test_phrases_of_every_indexed_title_agree_with_elasticsearch(
    es: Elasticsearch, corpus: tuple[str, list[dict[str, Any]]]
) -> None:
    """Phrases cut out of the indexed titles themselves: hits are certain, so the comparison
    is about the tokenizer's positions, not about absent words."""
    index, documents = corpus
    rng = random.Random(5)
    checked = 0
    for document in documents:
        tokens = standard_tokens(document["title"])
        if len(tokens) < 2:
            continue
        start = rng.randrange(len(tokens) - 1)
        node = parse('"' + " ".join(tokens[start:start + rng.randint(2, 3)]) + '"')
        assert document["id"] in _matcher_ids(node, documents)
        assert _matcher_ids(node, documents) == _es_ids(es, index, node), node
        checked += 1
    assert checked > DOCUMENTS // 2


_filter_values = {
    "region": ["IQ.15", "Nineveh", "Anbar", "SY.11", "Homs"],
    "country": ["IQ", "SY", "Syria"],
    "actor": ["pmf", "isis", "Kataib Hezbollah", "syria"],
    "actor_type": ACTOR_TYPES,
    "source": ["Reuters", "ap", "Al Jazeera"],
    "lang": ["en", "ar", "fr"],
}
filters = st.fixed_dictionaries({
    name: st.lists(st.sampled_from(values), max_size=2, unique=True)
    for name, values in _filter_values.items()
}).map(lambda chosen: Filters(**chosen))


@hypothesis_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
@given(query=st.one_of(st.just(""), queries), chosen=filters)
def test_the_stream_alerts_on_exactly_what_the_search_api_returns(
    es: Elasticsearch,
    settings: Settings,
    corpus: tuple[str, list[dict[str, Any]]],
    query: str,
    chosen: Filters,
) -> None:
    """The two production code paths end to end: a subscription in the worker's matcher
    (``sitrep.alerts.Matcher``) against ``sitrep.search`` (what ``GET /search`` runs) for the
    same query and filters."""
    from sitrep.alerts import Matcher

    index, documents = corpus
    deployment = settings.model_copy(update={
        "index_prefix": index.removesuffix("-articles-2017.05"), "search_max_size": 500})
    request = SearchRequest(q=query, filters=chosen, size=DOCUMENTS + 10, facets=False,
                            highlight=False)
    try:
        found = search_sync(es, deployment, request)
    except SearchError:
        event("refused by search")
        return
    subscription = Subscription(name="generated", query=query, filters=chosen)
    matcher = Matcher()
    matcher.update(subscription.id, subscription)
    alerted = {d["id"] for d in documents if matcher.match(d)}
    event("matches none" if not found.hits else "matches some")
    assert alerted == {hit.id for hit in found.hits}, (query, chosen)
    assert found.total == len(found.hits)
