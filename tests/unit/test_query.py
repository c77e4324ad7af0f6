"""The search query language: the trees analysts' queries parse into, every mistake reported
with its position (and nothing but QuerySyntaxError on any input), the Elasticsearch query
built from a tree, and the required terms alert pre-selection relies on."""

from __future__ import annotations

import random
from typing import Any

import pytest

from sitrep.index import stems
from sitrep.query import (
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Field,
    Node,
    Not,
    Or,
    Phrase,
    QuerySyntaxError,
    Term,
    document_terms,
    mandatory_terms,
    parse,
    terms_of,
    to_elasticsearch,
)

STEM_FIELDS = ["title_stems^2", "text_stems"]

ONLY_EXCLUSIONS = "a query of only exclusions matches nothing: add a term (at position 0)"


def words(*texts: str) -> list[Node]:
    return [Term(t) for t in texts]


# --------------------------------------------------------------------------------------------
# Trees
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("border", Term("border")),
        (
            '"Popular Mobilization" AND Syria',
            And((Phrase("Popular Mobilization"), Term("Syria"))),
        ),
        (
            "soleimani country:IQ -lang:ar",
            And((Term("soleimani"), Field("country", "IQ"), Not(Field("lang", "ar")))),
        ),
        (
            "(isis OR daesh) NOT region:IQ.15",
            And((Or((Term("isis"), Term("daesh"))), Not(Field("region", "IQ.15")))),
        ),
        ("actor:pmf source:Reuters", And((Field("actor", "pmf"), Field("source", "Reuters")))),
        ('actor:"Popular Mobilization Forces"', Field("actor", "Popular Mobilization Forces")),
        ('-"car bomb" Mosul', And((Not(Phrase("car bomb")), Term("Mosul")))),
    ],
)
def test_examples_parse(query: str, tree: Node) -> None:
    assert parse(query) == tree


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        # AND binds tighter than OR, explicit or implicit.
        ("a OR b c", Or((Term("a"), And((Term("b"), Term("c")))))),
        ("a b OR c", Or((And((Term("a"), Term("b"))), Term("c")))),
        ("a AND b OR c AND d", Or((And((Term("a"), Term("b"))), And((Term("c"), Term("d")))))),
        # NOT and - bind tightest.
        ("NOT a b", And((Not(Term("a")), Term("b")))),
        ("b -a OR c", Or((And((Term("b"), Not(Term("a")))), Term("c")))),
        ("x NOT (a OR b)", And((Term("x"), Not(Or((Term("a"), Term("b"))))))),
        ("NOT NOT a", Term("a")),
        # Parentheses override; runs of one operator flatten.
        ("(a OR b) c", And((Or((Term("a"), Term("b"))), Term("c")))),
        ("(a b) c", And((Term("a"), Term("b"), Term("c")))),
        ("a OR (b OR c)", Or((Term("a"), Term("b"), Term("c")))),
        ("((a))", Term("a")),
        # Lower-case operators are words.
        ("war and peace", And((Term("war"), Term("and"), Term("peace")))),
        ("not or", And((Term("not"), Term("or")))),
        # Field names ignore case; words with a colon but no letters-only prefix are words.
        ("Country:iq", Field("country", "IQ")),
        ("10:30", Term("10:30")),
        # Unicode words, typographic quotes and hyphenated names.
        ("الموصل", Term("الموصل")),
        ("“car bomb”", Phrase("car bomb")),
        ("al-Tanf", Term("al-Tanf")),
        ('"  two   spaces "', Phrase("two spaces")),
    ],
)
def test_precedence_and_forms(query: str, tree: Node) -> None:
    assert parse(query) == tree


def test_country_by_code_and_by_name() -> None:
    assert parse("country:iq") == Field("country", "IQ")
    assert parse("country:Syria") == Field("country", "SY")
    assert parse('country:"Syrian Arab Republic"') == Field("country", "SY")
    assert parse("country:Iraq") == Field("country", "IQ")


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ('border "syria', "unclosed quote starting at position 7", 7),
        (
            "contry:IQ",
            'unknown field "contry" at position 0 (known: actor, country, lang, region, source)',
            0,
        ),
        ('abc (def OR "x"', 'missing ")" for "(" at position 4', 4),
        ("border post NOT", "nothing after NOT at position 12", 12),
        ("", "empty query", 0),
        (" \t\n ", "empty query", 0),
        ("actor: pmf", 'empty value for field "actor" at position 0', 0),
        ('x actor:""', 'empty value for field "actor" at position 2', 2),
        ("isis ) x", 'unexpected ")" at position 5', 5),
        ("(a)b)", 'unexpected ")" at position 4', 4),
        ("-isis -lang:ar", ONLY_EXCLUSIONS, 0),
        ("NOT (a OR b)", ONLY_EXCLUSIONS, 0),
        (
            "isis OR -daesh",
            "an OR alternative of only exclusions at position 8 matches almost everything:"
            " add a term to it",
            8,
        ),
        ("a AND", "nothing after AND at position 2", 2),
        ("a AND OR b", "nothing after AND at position 2", 2),
        ("AND a", "nothing before AND at position 0", 0),
        ("(OR a)", "nothing before OR at position 1", 1),
        ("a OR", "nothing after OR at position 2", 2),
        ("a NOT)", "nothing after NOT at position 2", 2),
        ("x - y", 'nothing after "-" at position 2', 2),
        ("x -", 'nothing after "-" at position 2', 2),
        ("x ()", "empty parentheses at position 2", 2),
        ('x ""', "empty phrase at position 2", 2),
        ('x " ... "', "empty phrase at position 2", 2),
        (
            "x &",
            'nothing to search for in "&" at position 2 (a word needs a letter or a digit)',
            2,
        ),
        (
            "country:Narnia",
            'unknown country "Narnia" at position 0 (use an ISO code such as IQ, or a country'
            " name)",
            0,
        ),
        (
            "x region:(IQ.15 OR SY.01)",
            'field "region" at position 2 takes one value, not a group:'
            " write (region:A OR region:B)",
            2,
        ),
        ("a\x00b", "control character U+0000 at position 1", 1),
        ("a \x1b", "control character U+001B at position 2", 2),
    ],
)
def test_errors_say_what_and_where(query: str, message: str, position: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert str(caught.value) == message
    assert caught.value.position == position
    assert isinstance(caught.value, ValueError)


def test_length_and_depth_are_bounded() -> None:
    with pytest.raises(QuerySyntaxError, match="query too long: 2001 characters") as caught:
        parse("x" * (MAX_LENGTH + 1))
    assert caught.value.position == MAX_LENGTH
    assert parse("x" * MAX_LENGTH) == Term("x" * MAX_LENGTH)

    deep = "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH
    assert parse(deep) == Term("a")
    for too_deep in ("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1), "-" * 999 + "a"):
        with pytest.raises(QuerySyntaxError, match="nested too deeply") as caught:
            parse(too_deep)
        assert caught.value.position == MAX_DEPTH
    assert parse("NOT " * 30 + "a") == Term("a")  # an even number of negations cancels


def test_random_queries_parse_or_fail_cleanly() -> None:
    """Whatever users type, the only failure is a QuerySyntaxError that points inside it."""
    alphabet = [
        "isis", "Mosul", "battles", "AND", "OR", "NOT", "and", "-", '"', "“", "(", ")",
        "actor:", "country:", "region:", "lang:", "source:", "contry:", "IQ", "Syria",
        "IQ.15", "الموصل", "Kürdistan", "ŞAM", ":", "&", "\x00", "\t", " ", " ", " ", "é",
    ]  # fmt: skip
    rng = random.Random(20261122)
    parsed = failed = 0
    for _ in range(2000):
        query = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        try:
            node = parse(query)
        except QuerySyntaxError as exc:
            assert 0 <= exc.position <= len(query), (query, exc.position)
            failed += 1
        else:
            to_elasticsearch(node)
            terms_of(node)
            parsed += 1
    assert parsed > 100 and failed > 100  # both paths were exercised


# --------------------------------------------------------------------------------------------
# Elasticsearch
# --------------------------------------------------------------------------------------------


def es(query: str) -> dict[str, Any]:
    return to_elasticsearch(parse(query))


def test_words_are_stemmed_like_the_index() -> None:
    assert stems("battles") == stems("battle") == "battl"
    assert es("Battles") == {"multi_match": {"query": "battl", "fields": STEM_FIELDS}}
    assert es("al-Tanf") == {
        "multi_match": {"query": "al tanf", "fields": STEM_FIELDS, "operator": "and"}
    }


def test_elasticsearch_queries() -> None:
    assert es('"Popular Mobilization" AND Syria') == {
        "bool": {
            "must": [
                {
                    "multi_match": {
                        "query": "Popular Mobilization",
                        "type": "phrase",
                        "fields": ["title^2", "text"],
                    }
                },
                {"multi_match": {"query": "syria", "fields": STEM_FIELDS}},
            ]
        }
    }
    assert es("soleimani country:iq -lang:AR") == {
        "bool": {
            "must": [{"multi_match": {"query": "soleimani", "fields": STEM_FIELDS}}],
            "filter": [{"term": {"countries": "IQ"}}],
            "must_not": [{"term": {"language": "ar"}}],
        }
    }
    assert es("(isis OR daesh) NOT region:IQ.15") == {
        "bool": {
            "must": [
                {
                    "bool": {
                        "should": [
                            {"multi_match": {"query": "isi", "fields": STEM_FIELDS}},
                            {"multi_match": {"query": "daesh", "fields": STEM_FIELDS}},
                        ],
                        "minimum_should_match": 1,
                    }
                }
            ],
            "must_not": [{"term": {"regions": "IQ.15"}}],
        }
    }
    assert es("actor:PMF source:Reuters") == {
        "bool": {
            "filter": [
                {
                    "bool": {
                        "should": [
                            {"term": {"actor_ids": "pmf"}},
                            {"term": {"actor_names": {"value": "PMF", "case_insensitive": True}}},
                        ],
                        "minimum_should_match": 1,
                    }
                },
                {"term": {"source": {"value": "Reuters", "case_insensitive": True}}},
            ]
        }
    }
    assert es('actor:"Popular Mobilization Forces"') == {
        "term": {"actor_names": {"value": "Popular Mobilization Forces", "case_insensitive": True}}
    }
    assert es("a OR -b c") == {
        "bool": {
            "should": [
                {"multi_match": {"query": "a", "fields": STEM_FIELDS}},
                {
                    "bool": {
                        "must": [{"multi_match": {"query": "c", "fields": STEM_FIELDS}}],
                        "must_not": [{"multi_match": {"query": "b", "fields": STEM_FIELDS}}],
                    }
                },
            ],
            "minimum_should_match": 1,
        }
    }


def test_region_by_name_finds_its_admin1_key_and_place_names() -> None:
    assert es("region:Nineveh") == {
        "bool": {
            "should": [
                {"term": {"regions": "IQ.15"}},
                {"term": {"place_names": {"value": "Nineveh", "case_insensitive": True}}},
            ],
            "minimum_should_match": 1,
        }
    }
    assert es("region:iq.15") == {"term": {"regions": "IQ.15"}}


def test_country_names_resolve_in_hand_built_trees_too() -> None:
    assert to_elasticsearch(Field("country", "Syria")) == {"term": {"countries": "SY"}}
    assert es("country:Syria") == es("country:sy") == {"term": {"countries": "SY"}}


def test_a_standalone_not_is_a_must_not() -> None:
    assert to_elasticsearch(Not(Term("x"))) == {
        "bool": {"must_not": [{"multi_match": {"query": "x", "fields": STEM_FIELDS}}]}
    }


# --------------------------------------------------------------------------------------------
# Required terms
# --------------------------------------------------------------------------------------------


def test_required_terms() -> None:
    assert terms_of(parse("battles")) == {"battl"}
    # AND: one child's requirement suffices; the most selective (longest stem) is taken.
    assert terms_of(parse("isis Mosul")) == {"mosul"}
    assert terms_of(parse('"the battle of Mosul"')) == {"battl"}
    # OR: the union; if any alternative has no requirement, neither has the OR.
    assert terms_of(parse("isis OR daesh")) == {"isi", "daesh"}
    assert terms_of(parse("(isis OR daesh) Mosul")) == {"mosul"}
    assert terms_of(parse("isis OR (daesh -Mosul)")) == {"isi", "daesh"}
    assert terms_of(Or((Term("isis"), Not(Term("daesh"))))) == set()
    # NOT requires nothing.
    assert terms_of(Not(Term("isis"))) == set()
    assert terms_of(parse("isis -daesh")) == {"isi"}
    # Fields are pseudo-terms in lower case; words beat the broad ones.
    assert terms_of(parse("actor:PMF")) == {"actor:pmf"}
    assert terms_of(parse("country:Syria")) == {"country:sy"}
    assert terms_of(parse("lang:ar OR source:Reuters")) == {"lang:ar", "source:reuters"}
    assert terms_of(parse("country:IQ lang:ar isis")) == {"isi"}
    assert terms_of(parse("region:Nineveh")) == {"region:iq.15", "region:nineveh"}


def test_a_document_without_the_required_terms_cannot_match() -> None:
    document = {
        "title_stems": stems("Battles near Mosul"),
        "text_stems": stems("Islamic State fighters attacked"),
        "countries": ["IQ"],
        "regions": ["IQ.15"],
        "place_names": ["Mosul"],
        "actor_ids": ["isis"],
        "actor_names": ["Islamic State"],
        "source": "Reuters",
        "language": "en",
    }
    have = document_terms(document)
    assert {"battl", "mosul", "country:iq", "region:iq.15", "region:mosul"} <= have
    assert {"actor:isis", "actor:islamic state", "source:reuters", "lang:en"} <= have
    for query in ("battle", "region:Nineveh", 'actor:"Islamic State"', "Kirkuk OR mosul"):
        assert terms_of(parse(query)) & have, query
    for query in ("Raqqa", "country:SY", "isis lang:ar", "Kirkuk OR Raqqa"):
        assert not terms_of(parse(query)) & have, query


@pytest.mark.parametrize(("query", "expected"), [
    ("soleimani country:IQ", {"soleimani", "country:iq"}),
    ('"Popular Mobilization" forces', {"popular", "mobil", "forc"}),
    ("al-Tanf", {"al", "tanf"}),
    ("(isis OR daesh) border", {"border"}),
    ("(isis border) OR (daesh border)", {"border"}),
    ("border -lang:ar", {"border"}),
    ("isis OR daesh", set()),
    ("region:Nineveh", set()),  # a region's name stands for its keys and place names
    ("region:IQ.15 actor:pmf", {"region:iq.15", "actor:pmf"}),
])
def test_mandatory_terms_are_those_every_match_contains(query: str, expected: set[str]) -> \
        None:
    assert mandatory_terms(parse(query)) == expected
