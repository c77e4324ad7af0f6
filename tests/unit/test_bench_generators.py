"""The benchmark corpora generators (sitrep.bench): what they make must be what the pipeline
makes (documents with every field to_document produces, queries the parser accepts, requests
build_body accepts), and the same seed must give the same corpus, or two benchmark runs would
not measure the same thing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sitrep.bench import (
    ActorNames,
    Gazette,
    build_phrases,
    build_vocabulary,
    derive_articles,
    derive_documents,
    generate_search_requests,
    generate_subscriptions,
    quote,
)
from sitrep.config import Settings
from sitrep.index import to_document
from sitrep.query import parse
from sitrep.search import build_body


def tagged(n: int, language: str = "en") -> dict[str, Any]:
    """A small tagged article in the shape sitrep.tag produces."""
    return {
        "id": f"a{n}", "url": f"https://example.test/{n}", "title": f"Story {n} from Mosul",
        "text": "Fighters of the Popular Mobilization Forces entered Mosul on Tuesday.\n"
                "A drone strike hit a convoy near Sinjar, officials said.\n"
                f"The governor of Nineveh called for calm in story {n}.",
        "language": language,
        "places": [
            {"id": "99072", "name": "Mosul", "country": "IQ", "admin1": "IQ.15",
             "feature": "P/PPLA", "lat": 36.33, "lon": 43.13, "mentions": 1,
             "surface_forms": ["Mosul"]},
            {"id": "94298", "name": "Sinjar", "country": "IQ", "admin1": "IQ.15",
             "feature": "P/PPL", "lat": 36.32, "lon": 41.87, "mentions": 1,
             "surface_forms": ["Sinjar"]},
        ],
        "actors": [
            {"id": "pmf", "name": "Popular Mobilization Forces", "type": "armed_group",
             "countries": ["IQ"], "parent": None, "mentions": 1,
             "surface_forms": ["Popular Mobilization Forces"]},
        ],
    }


BASES = [tagged(1), tagged(2), tagged(3, "ar")]
GAZETTE = Gazette(
    actors=(ActorNames("pmf", "Popular Mobilization Forces", ("PMF", "Hashd al-Shaabi"), ("IQ",)),
            ActorNames("isis", "Islamic State", ("ISIS", "Daesh"), ()),
            ActorNames("kataib_hezbollah", "Kataib Hezbollah", ("Hezbollah Brigades",), ("IQ",))),
    places=("Mosul", "Sinjar", "Tall 'Afar", "Deir ez-Zor"),
    regions=("Nineveh", "IQ.15", "Anbar"),
    vocabulary=build_vocabulary(str(b["text"]) for b in BASES),
    phrases=build_phrases(str(b["text"]) for b in BASES * 2),
)


def test_derived_documents_have_every_field_of_to_document() -> None:
    expected = set(to_document(BASES[0], story_id="s", duplicate_of=None,
                               now=datetime(2026, 1, 1, tzinfo=UTC)))
    docs = list(derive_documents(BASES, 50, seed=1))
    assert len(docs) == 50
    assert len({d["id"] for d in docs}) == 50
    for doc in docs:
        assert set(doc) == expected
        assert doc["story_id"] == doc["id"]
        assert doc["title_stems"] and doc["text_stems"]
        assert doc["language"] in {"en", "ar"}
        assert "2023-01-01" <= doc["published"][:10] <= "2026-01-01"


def test_derived_tags_follow_the_text() -> None:
    for article in derive_articles(BASES, 100, seed=2):
        names = {p["name"] for p in article["places"]}
        for name in names:
            assert name in article["text"] or name in article["title"]
        if "Mosul" in names or "Sinjar" in names:
            assert article["admin1"] == ["IQ.15"]
            assert "IQ" in article["countries"]
        if "Popular Mobilization Forces" in article["text"]:
            assert article["actor_ids_rollup"] == ["pmf"]


def test_same_seed_same_corpus_other_seed_other_corpus() -> None:
    assert list(derive_documents(BASES, 20, seed=3)) == list(derive_documents(BASES, 20, seed=3))
    assert [d["title"] for d in derive_documents(BASES, 20, seed=3)] != [
        d["title"] for d in derive_documents(BASES, 20, seed=4)]
    assert generate_subscriptions(GAZETTE, 100, 5) == generate_subscriptions(GAZETTE, 100, 5)
    assert generate_subscriptions(GAZETTE, 100, 5) != generate_subscriptions(GAZETTE, 100, 6)
    assert generate_search_requests(GAZETTE, 30, 5) == generate_search_requests(GAZETTE, 30, 5)


def test_every_generated_subscription_parses() -> None:
    subscriptions = generate_subscriptions(GAZETTE, 2_000, seed=7)
    assert len(subscriptions) == 2_000
    for text in subscriptions:
        parse(text)
    assert any("region:" in s for s in subscriptions)
    assert any(s.startswith("actor:") for s in subscriptions)
    assert any(" OR " in s for s in subscriptions)


def test_every_generated_search_request_builds() -> None:
    mix = generate_search_requests(GAZETTE, 200, seed=8)
    assert len(mix) == 200
    assert len({q.request.model_dump_json() + str(q.page) for q in mix}) == 200
    for query in mix:
        body = build_body(query.request, Settings())
        assert "aggs" in body
    assert any(q.page > 1 for q in mix)
    assert any(q.request.collapse for q in mix)
    assert any(q.request.sort == "date" for q in mix)


def test_quote_makes_one_operand() -> None:
    assert quote("Mosul") == "Mosul"
    assert quote("al-Tanf") == "al-Tanf"
    assert quote("Kataib Hezbollah") == '"Kataib Hezbollah"'
    assert quote("OR") == '"OR"'
    assert parse(f"{quote('Tall Afar')} drone") is not None


def test_subscriptions_from_the_shipped_dictionary_and_gazetteer_parse() -> None:
    """Real actor names and aliases and real place names: quoting must cope with them all."""
    from sitrep.bench import load_gazette

    gazette = load_gazette([])
    assert {"Nineveh", "Anbar"} <= set(gazette.regions)
    assert any(a.id == "pmf" for a in gazette.actors)
    for text in generate_subscriptions(gazette, 5_000, seed=9):
        parse(text)
    for query in generate_search_requests(gazette, 200, seed=9):
        build_body(query.request, Settings())
