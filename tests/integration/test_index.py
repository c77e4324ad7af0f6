"""Story assignment across workers, on the real Elasticsearch node.

Each "worker" here is an :class:`Indexer` with its own client, run concurrently with another
one: the situation of two ``sitrep worker`` processes that receive two copies of one story at
the same moment.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import AsyncElasticsearch, Elasticsearch

from sitrep.clean import minhash
from sitrep.config import Settings
from sitrep.index import Indexer, StoryLock, alias, drop_indices, ensure_template_sync

BASE = (
    "Iran-backed Iraqi militias said on Tuesday they had reached the Syrian border for the "
    "first time, after driving Islamic State fighters out of a string of villages west of "
    "Mosul, in an advance that commanders described as a turning point for the campaign "
    "along the frontier between the two countries, where the United States also backs "
    "rebel groups fighting the jihadists from a base near the al-Tanf crossing {n}."
)


@pytest.fixture
def scratch(settings: Settings, es: Elasticsearch) -> Iterator[Settings]:
    s = settings.model_copy(update={"index_prefix": f"ix{uuid.uuid4().hex[:8]}"})
    ensure_template_sync(s)
    yield s
    drop_indices(es, s)


def article(n: int, text: str) -> dict[str, Any]:
    """A tagged article as the tag stage emits it (only what indexing reads)."""
    url = f"https://wire-{n}.example.org/story"
    return {
        "id": hashlib.sha256(url.encode()).hexdigest()[:32], "url": url, "canonical_url": url,
        "title": "Militias reach the Syrian border", "text": text,
        "published": "2017-05-30T10:00:00+00:00", "fetched_at": "2017-05-30T10:05:00+00:00",
        "language": "en", "feed": {"name": f"Wire {n}", "id": f"f{n}", "tags": []},
        "text_hash": hashlib.sha256(text.encode()).hexdigest(), "minhash": minhash(text),
        "countries": ["IQ", "SY"], "places": [], "actors": [],
    }


async def index_at_once(settings: Settings, batches: list[list[dict[str, Any]]]) -> \
        list[dict[str, Any]]:
    """Index each batch through its own client and Indexer, all at the same moment."""
    clients = [AsyncElasticsearch(settings.elasticsearch_url) for _ in batches]
    try:
        results = await asyncio.gather(*(Indexer(settings, client).index(batch)
                                         for client, batch in zip(clients, batches,
                                                                  strict=True)))
    finally:
        for client in clients:
            await client.close()
    documents = []
    for result in results:
        assert [error for _, _, error in result] == [None] * len(result)
        documents.extend(document for _, document, _ in result)
    return documents


def test_near_duplicates_indexed_at_the_same_moment_by_two_workers_share_one_story(
    scratch: Settings,
) -> None:
    """Without the story lock both workers look before either writes and start two stories."""
    for round_ in range(5):
        original = BASE.format(n=round_)
        edited = original.replace("on Tuesday", "late on Tuesday")
        first, second = asyncio.run(index_at_once(
            scratch, [[article(10 * round_, original)], [article(10 * round_ + 1, edited)]],
        ))
        assert first["id"] != second["id"]
        assert first["story_id"] == second["story_id"], f"round {round_}: the story split"


def test_exact_copies_indexed_at_the_same_moment_are_marked_as_duplicates(
    scratch: Settings, es: Elasticsearch,
) -> None:
    text = BASE.format(n="copy")
    copies = asyncio.run(index_at_once(
        scratch, [[article(n, text)] for n in range(3)],
    ))
    assert len({doc["story_id"] for doc in copies}) == 1
    originals = [doc for doc in copies if doc["duplicate_of"] is None]
    assert len(originals) == 1
    assert {doc["duplicate_of"] for doc in copies if doc is not originals[0]} == \
        {originals[0]["id"]}
    es.indices.refresh(index=alias(scratch))
    assert es.count(index=alias(scratch))["count"] == 3


def test_a_lease_left_by_a_dead_worker_is_broken_once_it_expires(
    scratch: Settings, es: Elasticsearch,
) -> None:
    lock_index = f"{scratch.index_prefix}-locks"
    es.create(index=lock_index, id=StoryLock.DOC_ID, refresh=True,
              document={"owner": "a worker that died", "expires": time.time() + 1.0})
    documents = asyncio.run(index_at_once(scratch, [[article(1, BASE.format(n="late"))]]))
    assert len(documents) == 1
    es.indices.refresh(index=alias(scratch))
    assert es.count(index=alias(scratch))["count"] == 1
    # Broken, then taken and released by the indexer: nobody holds it now.
    assert not es.exists(index=lock_index, id=StoryLock.DOC_ID)


def test_a_live_lease_is_waited_for_and_released_after_the_batch(
    scratch: Settings, es: Elasticsearch,
) -> None:
    """Two workers hand the lease to each other; neither breaks the other's live lease."""

    async def scenario() -> list[str]:
        events: list[str] = []
        first_client = AsyncElasticsearch(scratch.elasticsearch_url)
        second_client = AsyncElasticsearch(scratch.elasticsearch_url)
        try:
            holder = StoryLock(scratch, first_client)
            await holder.acquire()
            events.append("first holds")

            async def second() -> None:
                await Indexer(scratch, second_client).index([article(2, BASE.format(n="x"))])
                events.append("second indexed")

            waiting = asyncio.create_task(second())
            await asyncio.sleep(0.3)
            events.append("first releases")
            await holder.release()
            await waiting
        finally:
            await first_client.close()
            await second_client.close()
        return events

    assert asyncio.run(scenario()) == ["first holds", "first releases", "second indexed"]
    assert not es.exists(index=f"{scratch.index_prefix}-locks", id=StoryLock.DOC_ID)


def test_tagged_spans_are_indexed_also_into_an_index_made_before_they_existed(
    settings: Settings, es: Elasticsearch
) -> None:
    """An index made from an older template (no ``spans`` fields, strict mappings) takes
    the tags' spans once the template is ensured again, and the document keeps them."""
    from sitrep.index import load_template, to_document
    from sitrep.tag import get_tagger

    s = settings.model_copy(update={"index_prefix": f"ix{uuid.uuid4().hex[:8]}"})
    old = load_template(s)
    for kind in ("places", "actors"):
        fields = old["template"]["mappings"]["properties"][kind]["properties"]
        for name in ("spans", "span_via", "via", "sector"):
            fields.pop(name, None)
    es.indices.put_index_template(name=f"{s.index_prefix}-articles", **old)
    index = f"{s.index_prefix}-articles-2017.05"
    es.indices.create(index=index)
    try:
        ensure_template_sync(s)
        text = "Iraqi forces reached the Syrian border near Mosul, Iraq."
        tagged = get_tagger().tag_article({**article(1, text), "title": None})
        doc = to_document(tagged, "story", None, datetime(2017, 5, 30, tzinfo=UTC))
        es.index(index=index, id=doc["id"], document=doc, refresh=True)
        stored = es.get(index=index, id=doc["id"])["_source"]
        mosul = next(p for p in stored["places"] if p["name"] == "Mosul")
        assert [text[a:b] for a, b in mosul["spans"]] == ["Mosul"]
        assert mosul["via"] == "name" and mosul["span_via"] == ["name"]
        assert all("sector" in a for a in stored["actors"])
    finally:
        drop_indices(es, s)
