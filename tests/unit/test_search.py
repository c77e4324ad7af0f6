"""The search request -> Elasticsearch body translation, cursors and dates (no server)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sitrep.config import Settings
from sitrep.query import And, Field, Or, Term
from sitrep.search import (
    Filters,
    SearchError,
    SearchRequest,
    build_body,
    compile_request,
    encode_cursor,
    highlight_query,
    parse_when,
    to_result,
)

SETTINGS = Settings(index_prefix="t")


def test_filters_become_the_same_nodes_as_fields_in_the_query() -> None:
    node = compile_request("border", Filters(country=["Syria", "IQ"], actor_type=["person"]))
    assert node == And((Term("border"), Or((Field("country", "SY"), Field("country", "IQ"))),
                        Field("actor_type", "person")))
    assert compile_request("border country:SY") == compile_request("border",
                                                                   Filters(country=["SY"]))


def test_a_request_with_only_filters_searches_them_and_one_with_nothing_is_refused() -> None:
    assert compile_request("", Filters(region=["IQ.15"])) == Field("region", "IQ.15")
    with pytest.raises(SearchError, match="empty query"):
        compile_request("  ", Filters())


def test_query_mistakes_keep_their_position_and_unknown_countries_name_the_filter() -> None:
    with pytest.raises(SearchError) as error:
        compile_request("soleimani AND")
    assert (error.value.position, error.value.field) == (10, "q")
    with pytest.raises(SearchError) as error:
        compile_request("x", Filters(country=["Narnia"]))
    assert error.value.field == "country" and "Narnia" in error.value.message


def test_filter_values_are_trimmed_and_empty_ones_refused() -> None:
    assert Filters(source=["  Reuters  "]).source == ["Reuters"]
    with pytest.raises(ValueError, match="empty"):
        Filters(source=[" "])


def test_the_body_searches_the_read_alias_with_a_total_order_and_dates() -> None:
    request = SearchRequest(q="border", since=datetime(2026, 1, 1, tzinfo=UTC), sort="date")
    body = build_body(request, SETTINGS)
    assert body["index"] == "t-articles" and body["allow_no_indices"]
    assert [next(iter(s)) for s in body["sort"]] == ["published", "id"]
    assert body["query"]["bool"]["filter"] == [
        {"range": {"published": {"gte": "2026-01-01T00:00:00+00:00"}}}]
    relevance = build_body(SearchRequest(q="border"), SETTINGS)
    assert [next(iter(s)) for s in relevance["sort"]] == ["_score", "published", "id"]
    assert set(relevance["aggs"]) == {"region", "country", "actor", "actor_type", "source",
                                      "lang", "day"}


def test_cursors_resume_after_the_last_hit_and_only_for_the_same_search() -> None:
    request = SearchRequest(q="border", size=2)
    cursor = encode_cursor(request, [1.5, 1700000000000, "abc"])
    body = build_body(request.model_copy(update={"after": cursor, "size": 5}), SETTINGS)
    assert body["search_after"] == [1.5, 1700000000000, "abc"]
    other = SearchRequest(q="villages", after=cursor)
    with pytest.raises(SearchError, match="another search") as error:
        build_body(other, SETTINGS)
    assert error.value.field == "after"
    for bad in ("!!!", "e30", encode_cursor(request, "x")[:-3]):  # type: ignore[arg-type]
        with pytest.raises(SearchError):
            build_body(SearchRequest(q="border", after=bad), SETTINGS)


def test_collapsed_searches_page_by_offset_with_the_story_size() -> None:
    request = SearchRequest(q="border", collapse=True, size=10)
    body = build_body(request.model_copy(update={"after": encode_cursor(request, 20)}),
                      SETTINGS)
    assert body["from"] == 20 and body["collapse"]["field"] == "story_id"
    assert "search_after" not in body


def test_sizes_dates_and_sorts_out_of_bounds_are_refused() -> None:
    with pytest.raises(SearchError, match="too large"):
        build_body(SearchRequest(q="x", size=SETTINGS.search_max_size + 1), SETTINGS)
    with pytest.raises(SearchError, match="after `until`"):
        build_body(SearchRequest(q="x", since=datetime(2026, 2, 1, tzinfo=UTC),
                                 until=datetime(2026, 1, 1, tzinfo=UTC)), SETTINGS)


def test_dates_are_iso_or_an_age() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_when("24h", now=now) == datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert parse_when("2w", now=now) == datetime(2026, 11, 8, 12, 0, tzinfo=UTC)
    assert parse_when("2026-11-20") == datetime(2026, 11, 20, tzinfo=UTC)
    assert parse_when("2026-11-20T08:00:00Z").hour == 8
    with pytest.raises(SearchError, match="not a date") as error:
        parse_when("last tuesday", field="until")
    assert error.value.field == "until"


def test_highlighting_marks_words_by_their_stem_and_never_excluded_words() -> None:
    query = highlight_query(compile_request('battles "Popular Mobilization" -isis'))
    assert query is not None
    clauses = query["bool"]["should"]
    assert {"prefix": {"text": {"value": "battl"}}} in clauses
    assert {"match_phrase": {"title": "Popular Mobilization"}} in clauses
    assert not any("isis" in str(c) for c in clauses)
    assert highlight_query(compile_request("", Filters(country=["IQ"]))) is None


def test_results_carry_hits_labelled_facets_and_the_next_cursor() -> None:
    request = SearchRequest(q="border", size=1)
    response = {
        "took": 3,
        "hits": {"total": {"value": 7, "relation": "eq"}, "hits": [{
            "_id": "a", "_score": 2.0, "sort": [2.0, 1, "a"],
            "_source": {"id": "a", "title": "T", "text": "x" * 500, "countries": ["IQ"]},
            "highlight": {"text": ["<mark>border</mark>"]},
        }]},
        "aggregations": {"region": {"buckets": [{"key": "IQ.15", "doc_count": 4}]},
                         "day": {"buckets": [{"key": 1, "key_as_string": "2017-05-30",
                                              "doc_count": 2}]}},
    }
    result = to_result(request, response)
    assert result.total == 7 and result.total_is_exact and result.took_ms == 3
    assert result.hits[0].snippet == "x" * 300 and result.hits[0].countries == ["IQ"]
    assert result.facets["region"][0].label  # the admin1 region's name
    assert result.facets["day"][0].value == "2017-05-30"
    assert result.next == encode_cursor(request, [2.0, 1, "a"])
