"""The alert matcher: queries evaluated in memory with Elasticsearch's semantics (the real node
is compared in tests/integration/test_match_agrees_with_elasticsearch.py), and the
subscription index that evaluates only the queries sharing a term with an article."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitrep.index import to_document
from sitrep.match import DocumentView, SubscriptionIndex, matches, standard_tokens
from sitrep.query import And, Field, Node, Not, Or, Phrase, QuerySyntaxError, Term, parse

NOW = datetime(2017, 5, 30, tzinfo=UTC)


def document(
    title: str | None = "Militias battle near the border",
    text: str | None = "Fighters of the PMF reached al-Tanf on Tuesday.",
    **tags: Any,
) -> dict[str, Any]:
    article: dict[str, Any] = {
        "id": "a1", "url": "https://example.test/1", "title": title, "text": text,
        "language": tags.get("language", "en"),
        "feed": {"id": "f", "name": tags.get("source", "Reuters")},
        "places": tags.get("places", [{"id": 1, "name": "Mosul", "country": "IQ"}]),
        "countries": tags.get("countries", ["IQ"]),
        "admin1": tags.get("admin1", ["IQ.15"]),
        "actors": tags.get(
            "actors",
            [{"id": "pmf", "name": "Popular Mobilization Forces", "type": "armed_group"}],
        ),
    }
    return to_document(article, "story", None, NOW)


def hit(query: str | Node, doc: dict[str, Any] | None = None) -> bool:
    node = parse(query) if isinstance(query, str) else query
    return matches(node, DocumentView(doc if doc is not None else document()))


# --------------------------------------------------------------------------------------------
# The standard tokenizer
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Don't stop", ["don't", "stop"]),
        ("U.S.A. forces", ["u.s.a", "forces"]),
        ("1,000.5 men", ["1,000.5", "men"]),
        ("12:30 a:b", ["12", "30", "a:b"]),
        ("wi-fi al-Tanf", ["wi", "fi", "al", "tanf"]),
        ("__init__ _ x_1", ["__init__", "x_1"]),
        ("漢字ひらがなカタカナ", ["漢", "字", "ひ", "ら", "が", "な", "カタカナ"]),
        ("ΣΟΦΟΣ İstanbul", ["σοφοσ", "istanbul"]),
        ("ไทยภาษา abc", ["ไทยภาษา", "abc"]),
        ("I ❤ 🇺🇸", ["i", "❤", "🇺🇸"]),
        ("", []),
        ("a" * 300, ["a" * 255, "a" * 45]),
    ],
)
def test_standard_tokens_split_as_the_standard_analyzer_does(
    text: str, tokens: list[str]
) -> None:
    assert standard_tokens(text) == tokens


# --------------------------------------------------------------------------------------------
# Words
# --------------------------------------------------------------------------------------------


def test_a_word_matches_other_forms_of_its_stem() -> None:
    assert hit("battles")
    assert hit("battling")
    assert hit("BATTLE")
    assert not hit("attack")


def test_a_word_matches_in_the_title_or_the_text() -> None:
    assert hit("militia")  # title
    assert hit("fighter")  # text
    assert hit("tuesdays")  # "Tuesday" in the text, same stem
    assert not hit("bombing")


def test_a_word_of_several_stems_needs_them_all_in_one_field() -> None:
    doc = document(title="Battle at al-Tanf", text="The border was quiet")
    assert hit("al-Tanf", doc)
    split = document(title="al-Qaim battle", text="Tanf border")  # "al" title, "tanf" text
    assert not hit("al-Tanf", split)
    assert hit("al-Tanf", document(title="Tanf", text="Tanf al-Qaim"))  # both in text


def test_a_word_without_stems_matches_nothing() -> None:
    assert not matches(Term("--"), DocumentView(document()))
    assert matches(And((Term("border"), Not(Term("--")))), DocumentView(document()))


# --------------------------------------------------------------------------------------------
# Phrases
# --------------------------------------------------------------------------------------------


def test_a_phrase_needs_its_words_adjacent_and_in_order() -> None:
    assert hit('"battle near the border"')
    assert not hit('"border near battle"')
    assert not hit('"militias near"')  # not adjacent
    assert hit('"reached al-Tanf"')


def test_a_phrase_ignores_case_and_punctuation_but_not_stems() -> None:
    assert hit('"MILITIAS BATTLE"')
    assert hit('"al tanf on"')  # the hyphen and the "." separate words alike
    assert hit('"Tanf. On tuesday"')
    assert not hit('"militia battles"')  # phrases are exact words


def test_a_phrase_never_spans_the_title_and_the_text() -> None:
    assert not hit('"border fighters"')


# --------------------------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------------------------


def test_country_matches_the_code_from_a_code_or_a_name() -> None:
    assert hit("country:IQ")
    assert hit("country:iq")
    assert hit("country:Iraq")
    assert not hit("country:SY")


def test_lang_is_lower_cased_and_compared_exactly() -> None:
    assert hit("lang:en")
    assert hit("lang:EN")
    assert not hit("lang:ar")
    assert not hit("lang:en", document(language="EN"))  # as the term query on a keyword


def test_source_ignores_ascii_case_only() -> None:
    assert hit("source:reuters")
    assert hit("source:REUTERS")
    assert not hit("source:AP")
    straße = document(source="Straße")
    assert hit("source:STRAßE", straße)
    assert not hit("source:STRASSE", straße)
    assert not hit("source:ÉCLAIR", document(source="éclair"))  # as Elasticsearch


def test_region_matches_keys_names_of_regions_and_names_of_places() -> None:
    assert hit("region:IQ.15")
    assert hit("region:iq.15")
    assert hit("region:Nineveh")  # the admin1 region of that name
    assert hit("region:mosul")  # a tagged place
    assert not hit("region:Anbar")
    assert not hit("region:IQ.01")


def test_actor_matches_ids_and_names() -> None:
    assert hit("actor:pmf")
    assert hit("actor:PMF")
    assert hit('actor:"popular mobilization forces"')
    assert not hit("actor:isis")


def test_actor_type_filter_is_lower_cased() -> None:
    assert hit(Field("actor_type", "armed_group"))
    assert hit(Field("actor_type", "Armed_Group"))
    assert not hit(Field("actor_type", "state"))


def test_unknown_fields_of_hand_built_trees_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown field"):
        matches(Field("colour", "red"), DocumentView(document()))


# --------------------------------------------------------------------------------------------
# Operators
# --------------------------------------------------------------------------------------------


def test_and_or_not_combine_as_boolean_logic() -> None:
    assert hit("battle AND border")
    assert hit("battle border")
    assert not hit("battle AND attack")
    assert hit("attack OR battle")
    assert not hit("attack OR bombing")
    assert hit("battle -attack")
    assert not hit("battle NOT border")
    assert hit("(attack OR militia) country:IQ -lang:ar")


def test_a_negation_alone_matches_everything_lacking_it() -> None:
    assert matches(Not(Term("attack")), DocumentView(document()))
    assert not matches(Not(Term("battle")), DocumentView(document()))
    assert matches(And((Not(Term("attack")), Not(Field("country", "SY")))), document())


# --------------------------------------------------------------------------------------------
# Missing data
# --------------------------------------------------------------------------------------------


def test_missing_fields_and_none_values_match_nothing() -> None:
    bare = DocumentView({})
    for query in ['battle', '"battle near"', "country:IQ", "lang:en", "source:Reuters",
                  "region:Nineveh", "region:IQ.15", "actor:pmf"]:
        assert not matches(parse(query), bare)
    nones = DocumentView({key: None for key in document()})
    assert not matches(parse('battle OR "the border" OR actor:pmf'), nones)
    assert matches(Not(Term("battle")), nones)


def test_an_article_without_title_or_text_still_matches_filters() -> None:
    doc = document(title=None, text=None)
    assert hit("country:IQ actor:pmf", doc)
    assert not hit("battle", doc)


# --------------------------------------------------------------------------------------------
# Subscription index
# --------------------------------------------------------------------------------------------


def test_candidates_exclude_subscriptions_sharing_no_term() -> None:
    index: SubscriptionIndex[str] = SubscriptionIndex()
    index.add("battle", parse("battle"))
    index.add("syria", parse("bombing country:SY"))
    index.add("pmf", parse("actor:pmf"))
    view = DocumentView(document())
    assert index.candidates(view) == {"battle", "pmf"}
    assert index.match(view) == ["battle", "pmf"]


def test_candidates_may_still_fail_verification() -> None:
    index: SubscriptionIndex[int] = SubscriptionIndex()
    index.add(1, parse('"border battle"'))  # shares the stems, not the order
    view = DocumentView(document())
    assert index.candidates(view) == {1}
    assert index.match(view) == []


def test_queries_without_required_terms_are_always_checked() -> None:
    index: SubscriptionIndex[str] = SubscriptionIndex()
    index.add("not-attack", Not(Term("attack")))  # hand-built: parse refuses it
    index.add("attack", parse("attack"))
    view = DocumentView(document())
    assert index.candidates(view) == {"not-attack"}
    assert index.match(view) == ["not-attack"]


def test_remove_and_replace_subscriptions() -> None:
    index: SubscriptionIndex[str] = SubscriptionIndex()
    index.add("a", parse("battle"))
    index.add("b", parse("border"))
    assert len(index) == 2
    index.add("a", parse("attack"))  # replaces: no longer under "battl"
    assert len(index) == 2
    view = DocumentView(document())
    assert index.match(view) == ["b"]
    index.remove("b")
    index.remove("missing")
    assert len(index) == 1
    assert "b" not in index
    assert index.match(view) == []
    assert index.candidates(view) == set()


def test_match_lists_keys_in_the_order_they_were_added() -> None:
    index: SubscriptionIndex[str] = SubscriptionIndex()
    for key in ["z", "a", "m"]:
        index.add(key, parse("battle"))
    assert index.match(DocumentView(document())) == ["z", "a", "m"]


# Brute force: the index must find exactly what evaluating every subscription finds.

_WORDS = ["battle", "battles", "attack", "border", "militia", "al-Tanf", "Tanf", "fighters",
          "Mosul", "U.S.", "don't", "near"]
_FIELDS = ["country:IQ", "country:SY", "lang:en", "lang:ar", "source:reuters", "source:AP",
           "region:IQ.15", "region:Nineveh", "region:Anbar", "region:Mosul", "actor:pmf",
           "actor:isis", 'actor:"Islamic State"']
_word = st.sampled_from(_WORDS)
_atom = st.one_of(
    _word, st.lists(_word, min_size=1, max_size=3).map(lambda w: '"' + " ".join(w) + '"'),
    st.sampled_from(_FIELDS),
)
_queries = st.recursive(
    _atom,
    lambda c: st.one_of(
        st.tuples(c, c).map(" ".join), st.tuples(c, c).map(" OR ".join),
        c.map(lambda q: f"({q})"), c.map(lambda q: f"-{q}"),
    ),
    max_leaves=5,
)
_documents = st.builds(
    document,
    title=st.none() | st.lists(_word, max_size=6).map(" ".join),
    text=st.none() | st.lists(st.sampled_from([*_WORDS, ",", "."]), max_size=15).map(" ".join),
    source=st.sampled_from(["Reuters", "AP"]),
    language=st.sampled_from(["en", "ar"]),
    countries=st.lists(st.sampled_from(["IQ", "SY"]), max_size=2),
    admin1=st.lists(st.sampled_from(["IQ.15", "IQ.01"]), max_size=2),
    places=st.lists(
        st.sampled_from([{"id": 1, "name": "Mosul"}, {"id": 2, "name": "Ramadi"}]), max_size=2
    ),
    actors=st.lists(
        st.sampled_from([
            {"id": "pmf", "name": "Popular Mobilization Forces", "type": "armed_group"},
            {"id": "isis", "name": "Islamic State", "type": "armed_group"},
        ]),
        max_size=2,
    ),
)


def _parsed_all(queries: list[str]) -> list[Node]:
    nodes: list[Node] = []
    for query in queries:
        try:
            nodes.append(parse(query))
        except QuerySyntaxError:
            continue
    return nodes


@settings(max_examples=300, deadline=None)
@given(queries=st.lists(_queries, min_size=1, max_size=12), doc=_documents,
       extra=st.booleans())
def test_index_matches_exactly_what_brute_force_matches(
    queries: list[str], doc: dict[str, Any], extra: bool
) -> None:
    nodes = _parsed_all(queries)
    if extra:  # hand-built trees, with no required terms or with filter-only fields
        nodes += [Not(Term("attack")), Or((Phrase("near the"), Field("actor_type", "state")))]
    index: SubscriptionIndex[int] = SubscriptionIndex()
    for key, node in enumerate(nodes):
        index.add(key, node)
    view = DocumentView(doc)
    expected = [key for key, node in enumerate(nodes) if matches(node, view)]
    assert index.match(view) == expected
    assert set(expected) <= index.candidates(view)


@settings(max_examples=60, deadline=None)
@given(queries=st.lists(_queries, min_size=5, max_size=30),
       docs=st.lists(_documents, min_size=20, max_size=80))
def test_learning_term_frequencies_moves_queries_but_never_changes_results(
    queries: list[str], docs: list[dict[str, Any]]
) -> None:
    """The index re-files queries under rarer terms as it sees articles (after 16 and 64):
    the matches must stay those of evaluating every query."""
    nodes = _parsed_all(queries)
    index: SubscriptionIndex[int] = SubscriptionIndex()
    for key, node in enumerate(nodes):
        index.add(key, node)
    for doc in docs:
        view = DocumentView(doc)
        assert index.match(view) == [k for k, n in enumerate(nodes) if matches(n, view)]


def test_a_query_is_filed_under_its_rarest_mandatory_term_once_frequencies_are_known() -> None:
    index: SubscriptionIndex[str] = SubscriptionIndex()
    index.add("q", parse("border militia"))
    common = [document(title="border border", text="border") for _ in range(20)]
    for doc in common:
        index.match(DocumentView(doc))
    rare = document(title="militia near the border", text="")
    assert index.candidates(DocumentView(common[0])) == set()  # no longer under "border"
    assert index.match(DocumentView(rare)) == ["q"]
