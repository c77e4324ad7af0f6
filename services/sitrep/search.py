"""Search: one request model and one Elasticsearch query for the API, the CLI and the tests.

``GET /search``, ``sitrep search`` and alert subscriptions all describe what they want the
same way, a :class:`SearchRequest` (a query in the language of :mod:`sitrep.query` plus
structured filters), and :func:`compile_request` turns query and filters into ONE tree. The
search body is built from that tree and the alert matcher (:mod:`sitrep.match`) evaluates the
very same tree, which is why a subscription fires exactly for the articles a search for it
would return.

Paging is by ``search_after`` on a total order (score or date, then the document id), so the
hundredth page costs what the first does; the cursor handed to clients is opaque and bound
to the request it came from, so it cannot be replayed against another query. Collapsing
near-duplicates by ``story_id`` uses Elasticsearch's field collapsing, which cannot be combined
with ``search_after`` on another sort key; collapsed results therefore page by offset, up to
:data:`MAX_COLLAPSED_OFFSET`.

Nothing a user types can make this module raise anything but :class:`SearchError` (a 400 with
a message and, for query mistakes, the character position).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Final, Literal

from pydantic import BaseModel, Field, field_validator

from sitrep.config import Settings
from sitrep.index import alias, stems
from sitrep.query import (
    And,
    Node,
    Or,
    Phrase,
    QuerySyntaxError,
    Term,
    country_code,
    parse,
    to_elasticsearch,
)
from sitrep.query import Field as QField

#: Collapsed results page by offset; Elasticsearch refuses from+size beyond its window.
MAX_COLLAPSED_OFFSET: Final = 9_900
#: Values per facet returned (the day facet returns every day with articles).
FACET_SIZE: Final = 20
SNIPPET_CHARS: Final = 300
_RELATIVE: Final = re.compile(r"(\d{1,5})\s*([mhdw])")
_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_HIT_FIELDS: Final = [
    "id", "title", "url", "source", "published", "language", "countries", "regions",
    "place_names", "actor_names", "actor_types", "story_id", "duplicate_of", "text",
]


class SearchError(ValueError):
    """A request that cannot be answered as asked; ``position`` points into the query when the
    mistake is there (None for mistakes elsewhere: a bad date, a stale cursor)."""

    def __init__(self, message: str, position: int | None = None, field: str = "q") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.field = field


class Filters(BaseModel):
    """Structured filters: each list is an OR of its values, the lists are AND-ed together and
    with the query. They mean exactly what ``field:value`` means in the query language."""

    region: list[str] = Field(default_factory=list, description="admin1 keys (IQ.15) or names")
    country: list[str] = Field(default_factory=list, description="ISO2 codes or country names")
    actor: list[str] = Field(default_factory=list, description="actor ids or names")
    actor_type: list[str] = Field(
        default_factory=list, description="armed_group, government, person, military, ..."
    )
    source: list[str] = Field(default_factory=list, description="feed or site names")
    lang: list[str] = Field(default_factory=list, description="ISO 639-1 language codes")

    @field_validator("*")
    @classmethod
    def _clean_values(cls, values: list[str]) -> list[str]:
        cleaned = [" ".join(v.split()) for v in values]
        if any(not v for v in cleaned):
            raise ValueError("filter values must not be empty")
        if any(len(v) > 200 for v in cleaned) or len(cleaned) > 50:
            raise ValueError("at most 50 values of at most 200 characters per filter")
        return cleaned

    def nodes(self) -> list[Node]:
        """One node per non-empty filter: ``Field`` or an ``Or`` of them."""
        found: list[Node] = []
        for name, values in self.model_dump().items():
            fields: list[Node] = []
            for value in dict.fromkeys(values):
                if name == "country":
                    code = country_code(value)
                    if code is None:
                        raise SearchError(
                            f'unknown country "{value}" (use an ISO code such as IQ, or a '
                            "country name)", field="country",
                        )
                    value = code
                fields.append(QField(name, value))
            if len(fields) == 1:
                found.append(fields[0])
            elif fields:
                found.append(Or(tuple(fields)))
        return found

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())


def compile_request(q: str | None, filters: Filters | None = None) -> Node:
    """The one tree for a query and its filters (what search runs and alerts match).

    An empty query is allowed when filters say what is wanted ("everything in Nineveh");
    with neither, the request matches nothing useful and is refused.
    """
    filter_nodes = (filters or Filters()).nodes()
    if q is None or not q.strip():
        if not filter_nodes:
            raise SearchError("empty query: give a query or at least one filter", 0)
        return filter_nodes[0] if len(filter_nodes) == 1 else And(tuple(filter_nodes))
    try:
        node = parse(q)
    except QuerySyntaxError as exc:
        raise SearchError(exc.message, exc.position) from exc
    if not filter_nodes:
        return node
    items = list(node.items) if isinstance(node, And) else [node]
    return And((*items, *filter_nodes))


def parse_when(value: str, *, now: datetime | None = None, field: str = "since") -> datetime:
    """A point in time from an ISO date or datetime, or a relative age (``30m``, ``24h``,
    ``7d``, ``2w``, meaning that long before now). Naive times are UTC."""
    text = value.strip()
    relative = _RELATIVE.fullmatch(text.lower())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SearchError(
            f'"{value}" is not a date: use 2026-11-20, 2026-11-20T08:00:00Z, or an age such '
            "as 24h, 7d, 2w", field=field,
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class SearchRequest(BaseModel):
    """Everything a search can ask for; the API's query parameters and the CLI's options."""

    q: str | None = None
    filters: Filters = Field(default_factory=Filters)
    since: datetime | None = None
    until: datetime | None = None
    sort: Literal["relevance", "date"] = "relevance"
    size: int = Field(10, ge=1)
    after: str | None = None
    collapse: bool = False
    highlight: bool = True
    facets: bool = True


# --------------------------------------------------------------------------------------------
# The request body
# --------------------------------------------------------------------------------------------


def _signature(request: SearchRequest) -> str:
    """What a cursor is bound to: everything but the cursor itself and the page size."""
    fixed = request.model_dump(mode="json", exclude={"after", "size", "facets", "highlight"})
    return hashlib.blake2b(json.dumps(fixed, sort_keys=True).encode(), digest_size=6).hexdigest()


def encode_cursor(request: SearchRequest, position: list[Any] | int) -> str:
    payload = {"s": _signature(request), "p": position}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_cursor(request: SearchRequest) -> list[Any] | int | None:
    if not request.after:
        return None
    cursor = request.after
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
        position = payload["p"]
        signature = payload["s"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise SearchError("malformed cursor in `after`: pass back the `next` value of the "
                          "previous page unchanged", field="after") from None
    if signature != _signature(request):
        raise SearchError("this cursor belongs to another search (query, filters, dates, "
                          "sort or collapse changed): start again without `after`",
                          field="after")
    valid_list = isinstance(position, list) and len(position) <= 3 and all(
        isinstance(v, str | int | float) or v is None for v in position)
    valid_offset = isinstance(position, int) and 0 <= position <= MAX_COLLAPSED_OFFSET
    if not (valid_list or valid_offset) or isinstance(position, bool):
        raise SearchError("malformed cursor in `after`", field="after")
    return position  # type: ignore[no-any-return]


def _positive_leaves(node: Node) -> list[Term | Phrase]:
    """Words and phrases the results contain (not those under NOT): what to highlight."""
    if isinstance(node, Term | Phrase):
        return [node]
    if isinstance(node, And | Or):
        return [leaf for item in node.items for leaf in _positive_leaves(item)]
    return []


def highlight_query(node: Node) -> dict[str, Any] | None:
    """What to mark in ``title`` and ``text``.

    The search itself runs on stems, which the standard-analysed fields shown to people do
    not have, so highlighting uses its own query: the word as typed, or any word beginning
    with its stem ("battl" marks "battle", "battles", "battling"), and phrases as phrases.
    """
    clauses: list[dict[str, Any]] = []
    for leaf in _positive_leaves(node):
        for field_name in ("title", "text"):
            if isinstance(leaf, Phrase):
                clauses.append({"match_phrase": {field_name: leaf.text}})
                continue
            clauses.append({"match": {field_name: {"query": leaf.text, "operator": "and"}}})
            words = stems(leaf.text).split()
            if len(words) == 1 and len(words[0]) >= 3:
                clauses.append({"prefix": {field_name: {"value": words[0]}}})
    if not clauses:
        return None
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _sort(request: SearchRequest) -> list[dict[str, Any]]:
    by_date = {"published": {"order": "desc", "missing": "_last", "unmapped_type": "date"}}
    by_id = {"id": {"order": "asc", "unmapped_type": "keyword"}}
    if request.sort == "date":
        return [by_date, by_id]
    return [{"_score": {"order": "desc"}}, by_date, by_id]


def _facets() -> dict[str, Any]:
    def terms(field_name: str) -> dict[str, Any]:
        return {"terms": {"field": field_name, "size": FACET_SIZE}}

    return {
        "region": terms("regions"),
        "country": terms("countries"),
        "actor": terms("actor_names"),
        "actor_type": terms("actor_types"),
        "source": terms("source"),
        "lang": terms("language"),
        "day": {"date_histogram": {"field": "published", "calendar_interval": "day",
                                    "min_doc_count": 1, "format": "yyyy-MM-dd"}},
    }


def build_body(request: SearchRequest, settings: Settings) -> dict[str, Any]:
    """The keyword arguments of ``es.search`` for a request (pure; raises SearchError)."""
    if request.size > settings.search_max_size:
        raise SearchError(f"size {request.size} is too large (at most "
                          f"{settings.search_max_size})", field="size")
    if request.since and request.until and request.since > request.until:
        raise SearchError("`since` is after `until`", field="since")
    node = compile_request(request.q, request.filters)
    query: dict[str, Any] = to_elasticsearch(node)
    dates: dict[str, str] = {}
    if request.since:
        dates["gte"] = request.since.isoformat()
    if request.until:
        dates["lte"] = request.until.isoformat()
    if dates:
        query = {"bool": {"must": [query], "filter": [{"range": {"published": dates}}]}}
    body: dict[str, Any] = {
        "index": alias(settings),
        "query": query,
        "size": request.size,
        "sort": _sort(request),
        "track_total_hits": True,
        "source": _HIT_FIELDS,
        "ignore_unavailable": True,
        "allow_no_indices": True,
    }
    position = decode_cursor(request)
    if request.collapse:
        body["collapse"] = {"field": "story_id",
                            "inner_hits": {"name": "story", "size": 0, "_source": False}}
        offset = position if isinstance(position, int) else 0
        if offset + request.size > MAX_COLLAPSED_OFFSET + settings.search_max_size:
            raise SearchError("collapsed results page no deeper than "
                              f"{MAX_COLLAPSED_OFFSET}: narrow the search", field="after")
        body["from"] = offset
    elif isinstance(position, list):
        body["search_after"] = position
    elif isinstance(position, int):
        raise SearchError("this cursor belongs to a collapsed search", field="after")
    if request.facets:
        body["aggs"] = _facets()
    if request.highlight:
        highlight = highlight_query(node)
        if highlight is not None:
            body["highlight"] = {
                "highlight_query": highlight,
                "pre_tags": ["<mark>"], "post_tags": ["</mark>"],
                "encoder": "html",
                "fields": {"title": {"number_of_fragments": 0},
                           "text": {"fragment_size": 160, "number_of_fragments": 3}},
            }
    return body


# --------------------------------------------------------------------------------------------
# The response
# --------------------------------------------------------------------------------------------


class Hit(BaseModel):
    id: str
    title: str | None = None
    url: str | None = None
    source: str | None = None
    published: str | None = None
    language: str | None = None
    countries: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    place_names: list[str] = Field(default_factory=list)
    actor_names: list[str] = Field(default_factory=list)
    actor_types: list[str] = Field(default_factory=list)
    story_id: str | None = None
    duplicate_of: str | None = None
    score: float | None = None
    snippet: str | None = None
    highlight: dict[str, list[str]] = Field(default_factory=dict)
    story_size: int | None = Field(
        None, description="With collapse: how many indexed articles tell this story."
    )


class Bucket(BaseModel):
    value: str
    count: int
    label: str | None = None


class SearchResult(BaseModel):
    total: int
    total_is_exact: bool
    took_ms: int
    hits: list[Hit]
    facets: dict[str, list[Bucket]] = Field(default_factory=dict)
    next: str | None = Field(None, description="Pass as `after` for the next page.")


@cache
def _region_names() -> dict[str, str]:
    from sitrep.gazetteer import load_gazetteer

    return {f"{p.country}.{p.admin1}": p.name for p in load_gazetteer().admin1_regions()}


def region_label(key: str) -> str | None:
    return _region_names().get(key)


def to_result(request: SearchRequest, response: dict[str, Any]) -> SearchResult:
    """The API's answer from Elasticsearch's: hits, facets with labels, the next cursor."""
    raw_hits = response.get("hits", {}).get("hits", [])
    hits = []
    for raw in raw_hits:
        source = raw.get("_source") or {}
        text = source.pop("text", None) or ""
        hit = Hit(**{k: v for k, v in source.items() if k in Hit.model_fields and v is not None})
        hit.score = raw.get("_score")
        hit.highlight = raw.get("highlight") or {}
        hit.snippet = text[:SNIPPET_CHARS] if text else None
        inner = (raw.get("inner_hits") or {}).get("story")
        if inner is not None:
            hit.story_size = int(inner["hits"]["total"]["value"])
        hits.append(hit)
    total = response.get("hits", {}).get("total", {"value": 0, "relation": "eq"})
    next_cursor = None
    if len(raw_hits) == request.size:
        if request.collapse:
            offset = decode_cursor(request)
            start = offset if isinstance(offset, int) else 0
            if start + request.size <= MAX_COLLAPSED_OFFSET:
                next_cursor = encode_cursor(request, start + request.size)
        else:
            next_cursor = encode_cursor(request, list(raw_hits[-1]["sort"]))
    facets: dict[str, list[Bucket]] = {}
    for name, agg in (response.get("aggregations") or {}).items():
        buckets = []
        for b in agg.get("buckets", []):
            value = str(b.get("key_as_string") or b["key"])
            label = region_label(value) if name == "region" else None
            buckets.append(Bucket(value=value, count=int(b["doc_count"]), label=label))
        facets[name] = buckets
    return SearchResult(
        total=int(total["value"]), total_is_exact=total.get("relation") == "eq",
        took_ms=int(response.get("took", 0)), hits=hits, facets=facets, next=next_cursor,
    )


async def search(es: Any, settings: Settings, request: SearchRequest) -> SearchResult:
    """Run a search. User mistakes are SearchError; Elasticsearch refusing what we built is a
    bug of ours and is raised as is, and an unreachable cluster as the client's error."""
    body = build_body(request, settings)
    response = await es.search(**body)
    return to_result(request, dict(response.body))


def search_sync(es: Any, settings: Settings, request: SearchRequest) -> SearchResult:
    """:func:`search` for a synchronous client (the CLI)."""
    body = build_body(request, settings)
    return to_result(request, dict(es.search(**body).body))


ARTICLE_HIDDEN: Final = ["minhash", "lsh_bands", "title_stems", "text_stems"]


async def get_article(es: Any, settings: Settings, article_id: str) -> dict[str, Any] | None:
    """One indexed article by id, wherever its month put it; None when there is none."""
    if not re.fullmatch(r"[0-9a-f]{32}", article_id):
        return None
    response = await es.search(
        index=alias(settings), query={"ids": {"values": [article_id]}}, size=1,
        source={"excludes": ARTICLE_HIDDEN}, ignore_unavailable=True, allow_no_indices=True,
    )
    hits = response.body["hits"]["hits"]
    return dict(hits[0]["_source"]) if hits else None


__all__ = [
    "Filters", "SearchError", "SearchRequest", "SearchResult", "build_body",
    "compile_request", "get_article", "parse_when", "search", "search_sync", "to_result",
]
