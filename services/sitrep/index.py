"""Stage 4, index: tagged articles into Elasticsearch, idempotently and in bulk.

- **One document per canonical URL.** The document id is the hash of the article's canonical
  URL and the target index is derived from the article's own date, so a replayed or
  re-emitted article overwrites itself instead of adding a copy.
- **Time-based indices without ILM.** ``<prefix>-articles-YYYY.MM`` by publication month,
  all behind the read alias ``<prefix>-articles`` that the index template attaches. A
  rollover write alias was rejected on purpose: after a rollover a re-delivered article
  would land in the new index beside its old copy, breaking "one document per URL".
- **Stemming in Python.** The local node has no analysis-common module, so no stemmer;
  ``title_stems``/``text_stems`` hold Snowball-stemmed tokens indexed with the built-in
  ``whitespace`` analyzer, and queries are stemmed the same way (:func:`stems`). ``title``
  and ``text`` keep the standard analyzer for phrases and highlighting.
- **Duplicates.** Identical text under another URL (syndication) gets ``duplicate_of`` the
  first copy; near-duplicates (a wire story republished with small edits) share a
  ``story_id`` found through MinHash LSH bands stored in the index itself, so every worker
  and every restart sees the same candidates.
- **One story assigner at a time.** Looking for earlier copies and writing the batch is a
  read-then-write; two workers doing it at once with two copies of one story would each see
  nothing and start two stories (and alert twice). :class:`StoryLock`, a lease document in
  Elasticsearch, makes that step exclusive across workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import re
import socket
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sitrep.clean import minhash_similarity
from sitrep.config import Settings
from sitrep.logs import get_logger
from sitrep.urls import article_id

log = get_logger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "schemas" / "elasticsearch"
#: 64 MinHash values in 16 bands of 4: pairs with Jaccard >= 0.8 become candidates almost
#: surely, pairs below 0.3 rarely; candidates are then verified against NEAR_DUPLICATE.
LSH_BANDS = 16
LSH_ROWS = 4
NEAR_DUPLICATE = 0.6
_TOKEN = re.compile(r"\w+", re.UNICODE)


@cache
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("english")


#: Word -> stem. The Snowball stemmer is pure Python (~15 us a word) while a news stream's
#: vocabulary is small, so a dictionary in front of it makes stemming nearly free.
_STEMS: dict[str, str] = {}
_STEMS_MAX = 500_000


def _stem(word: str) -> str:
    stem = _STEMS.get(word)
    if stem is None:
        stem = _stemmer().stemWord(word)
        if len(_STEMS) < _STEMS_MAX:
            _STEMS[word] = stem
    return stem


def stems(text: str | None) -> str:
    """Lower-cased, Snowball-stemmed tokens joined by spaces ("Battles" -> "battl").

    English stemming for every language: it leaves non-Latin words alone, and queries,
    whose language is unknown, are stemmed the same way, so both sides always agree.
    """
    if not text:
        return ""
    return " ".join(_stem(word) for word in _TOKEN.findall(text.lower()))


def alias(settings: Settings) -> str:
    return f"{settings.index_prefix}-articles"


def index_for(settings: Settings, when: str | None) -> str:
    """The monthly index of an article, from its publication (else fetch) date."""
    moment = _parse_time(when) or datetime.now(UTC)
    return f"{alias(settings)}-{moment:%Y.%m}"


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def document_id(article: dict[str, Any]) -> str:
    canonical = article.get("canonical_url")
    return article_id(canonical) if canonical else str(article["id"])


def lsh_bands(signature: Sequence[int] | None) -> list[str]:
    if not signature:
        return []
    bands = []
    for band in range(LSH_BANDS):
        rows = signature[band * LSH_ROWS:(band + 1) * LSH_ROWS]
        digest = hashlib.blake2b(repr(list(rows)).encode(), digest_size=8).hexdigest()
        bands.append(f"{band}:{digest}")
    return bands


def to_document(
    article: dict[str, Any], story_id: str, duplicate_of: str | None, now: datetime
) -> dict[str, Any]:
    """The Elasticsearch document of a tagged article: flat keyword lists for facets."""
    feed = article.get("feed") or {}
    places = article.get("places") or []
    actors = article.get("actors") or []
    return {
        "id": document_id(article),
        "url": article.get("url"),
        "canonical_url": article.get("canonical_url"),
        "title": article.get("title"),
        "text": article.get("text"),
        "description": article.get("description"),
        "title_stems": stems(article.get("title")),
        "text_stems": stems(article.get("text")),
        "authors": article.get("authors") or [],
        "published": article.get("published"),
        "updated": article.get("updated"),
        "fetched_at": article.get("fetched_at"),
        "indexed_at": now.isoformat(),
        "source": feed.get("name") or article.get("site_name"),
        "site_name": article.get("site_name"),
        "feed_id": feed.get("id"),
        "feed_tags": feed.get("tags") or [],
        "language": article.get("language"),
        "categories": article.get("categories") or [],
        "tags": article.get("tags") or [],
        "image": article.get("image"),
        "word_count": article.get("word_count") or 0,
        "text_hash": article.get("text_hash"),
        "duplicate_of": duplicate_of,
        "story_id": story_id,
        "lsh_bands": lsh_bands(article.get("minhash")),
        "minhash": article.get("minhash"),
        "places": [
            {
                "id": p.get("id"), "name": p.get("name"), "country": p.get("country"),
                "admin1": p.get("admin1"), "feature": p.get("feature"),
                "mentions": p.get("mentions"),
                "location": {"lat": p["lat"], "lon": p["lon"]}
                if p.get("lat") is not None and p.get("lon") is not None else None,
                "spans": p.get("spans") or [], "span_via": p.get("span_via") or [],
                "via": p.get("via") or "name",
            }
            for p in places
        ],
        "place_names": sorted({p["name"] for p in places if p.get("name")}),
        "place_ids": sorted({str(p["id"]) for p in places if p.get("id")}),
        "countries": sorted(set(article.get("countries") or [])),
        "regions": sorted(set(article.get("admin1") or [])),
        "geo": article.get("geo") or [],
        "actors": [
            {
                "id": a.get("id"), "name": a.get("name"), "type": a.get("type"),
                "countries": a.get("countries") or [], "mentions": a.get("mentions"),
                "spans": a.get("spans") or [], "sector": a.get("sector"),
            }
            for a in actors
        ],
        "actor_ids": sorted(set(article.get("actor_ids_rollup") or [])
                            | {a["id"] for a in actors if a.get("id")}),
        "actor_names": sorted({a["name"] for a in actors if a.get("name")}),
        "actor_types": sorted(set(article.get("actor_types") or [])
                              | {a["type"] for a in actors if a.get("type")}),
        "actor_countries": sorted(set(article.get("actor_countries") or [])),
        "provenance": {
            "clean": article.get("provenance"),
            "tagging": article.get("tagging"),
        },
    }


def load_template(settings: Settings, name: str = "articles") -> dict[str, Any]:
    """``schemas/elasticsearch/<name>.template.json`` with the configured index prefix."""
    path = TEMPLATES_DIR / f"{name}.template.json"
    raw = path.read_text().replace("{prefix}", settings.index_prefix)
    template: dict[str, Any] = json.loads(raw)
    template.pop("_comment", None)
    return template


def template_names() -> list[str]:
    return sorted(p.name.removesuffix(".template.json")
                  for p in TEMPLATES_DIR.glob("*.template.json"))


def _existing_indices_update(template: dict[str, Any]) -> dict[str, Any]:
    """The ``put_mapping`` arguments that give indices made from an older template the fields
    added since (a template only shapes new indices, and the mappings are strict: without
    this, documents with a new field, such as the tags' ``spans``, would be refused until the
    month rolls over). Fields are only ever added, so this never conflicts."""
    return {
        "index": ",".join(template["index_patterns"]),
        "properties": template["template"]["mappings"]["properties"],
        "allow_no_indices": True,
        "ignore_unavailable": True,
    }


async def ensure_template(es: Any, settings: Settings) -> None:
    """Install (or update) every index template (articles, alerts) and add new fields to the
    indices already made from it; idempotent."""
    for name in template_names():
        template = load_template(settings, name)
        await es.indices.put_index_template(name=f"{settings.index_prefix}-{name}", **template)
        await es.indices.put_mapping(**_existing_indices_update(template))


def ensure_template_sync(settings: Settings) -> None:
    from elasticsearch import Elasticsearch

    es = Elasticsearch(settings.elasticsearch_url, request_timeout=30)
    try:
        for name in template_names():
            template = load_template(settings, name)
            es.indices.put_index_template(name=f"{settings.index_prefix}-{name}", **template)
            es.indices.put_mapping(**_existing_indices_update(template))
    finally:
        es.close()


def drop_indices(es: Any, settings: Settings) -> None:
    """Delete every index and index template of the settings' prefix (synchronous client).

    For benchmarks and tests that work under a scratch prefix; the node refuses wildcard
    deletes, so the indices are listed first and deleted by name.
    """
    found = es.indices.get(index=f"{settings.index_prefix}-*", allow_no_indices=True)
    if found:
        es.indices.delete(index=",".join(found))
    for name in template_names():
        es.options(ignore_status=404).indices.delete_index_template(
            name=f"{settings.index_prefix}-{name}")


class StoryLock:
    """A cluster-wide lease on story assignment, held while one batch looks and writes.

    Elasticsearch gives the atomicity: creating a document by id is refused (409) while it
    exists, and reads and deletes by id are real-time, so no refresh is involved. Each lease
    carries its expiry: a worker that died holding one delays the others by ``ttl`` at most,
    after which one of them breaks it with a compare-and-delete (two breakers cannot both
    succeed). A batch that outlives its own lease (Elasticsearch stalling for longer than the
    ttl) can race with the next holder; that costs a split story, never a lost article.
    """

    DOC_ID = "story-assignment"

    def __init__(self, settings: Settings, es: Any) -> None:
        self.es = es
        self.index = f"{settings.index_prefix}-locks"
        self.ttl = settings.story_lock_ttl
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._lease: tuple[int, int] | None = None

    async def acquire(self) -> None:
        """Wait for the lease; retried by the caller if Elasticsearch is unreachable."""
        from elasticsearch import ConflictError, NotFoundError

        pause = 0.005
        while True:
            try:
                made = await self.es.create(
                    index=self.index, id=self.DOC_ID,
                    document={"owner": self.owner, "expires": time.time() + self.ttl},
                )
                self._lease = (made["_seq_no"], made["_primary_term"])
                return
            except ConflictError:
                pass
            try:
                held = await self.es.get(index=self.index, id=self.DOC_ID)
            except NotFoundError:
                continue  # released in between: try again at once
            if float(held["_source"].get("expires", 0)) < time.time():
                log.warning("breaking an expired story lock", owner=held["_source"].get("owner"))
                with contextlib.suppress(ConflictError, NotFoundError):
                    await self.es.delete(index=self.index, id=self.DOC_ID,
                                         if_seq_no=held["_seq_no"],
                                         if_primary_term=held["_primary_term"])
                continue
            await asyncio.sleep(pause * (0.5 + random.random()))
            pause = min(pause * 2, 0.1)

    async def release(self) -> None:
        """Give the lease back; if that fails it simply expires, so this never raises."""
        from elastic_transport import TransportError
        from elasticsearch import ApiError, ConflictError, NotFoundError

        if self._lease is None:
            return
        seq_no, primary_term = self._lease
        self._lease = None
        try:
            await self.es.delete(index=self.index, id=self.DOC_ID, if_seq_no=seq_no,
                                 if_primary_term=primary_term)
        except (ConflictError, NotFoundError):
            pass  # broken after our ttl: the document is somebody else's now
        except (ApiError, TransportError) as exc:  # e.g. unreachable: the ttl frees it
            log.warning("story lock not released; it expires by itself", error=str(exc)[:300],
                        ttl=self.ttl)


class Indexer:
    """Bulk writes with story assignment; ES outages are retried, never turned into loss."""

    def __init__(self, settings: Settings, es: Any) -> None:
        self.settings = settings
        self.es = es

    async def _stories(
        self, docs: list[dict[str, Any]]
    ) -> None:
        """Fill story_id/duplicate_of from the index and from earlier docs of this batch."""
        bands = sorted({b for d in docs for b in d["lsh_bands"]})
        hashes = sorted({d["text_hash"] for d in docs if d.get("text_hash")})
        known: list[dict[str, Any]] = []
        if bands or hashes:
            # Searches see what the last refresh published (at most 1 s old). A copy or a
            # near-duplicate written just before, by this worker's previous batch or by
            # another worker, must be found too, or the story splits in two and alerts
            # twice: refreshing first makes every acknowledged write visible. It costs a few
            # milliseconds per batch; with nothing new it is a no-op.
            await self.es.indices.refresh(index=alias(self.settings), ignore_unavailable=True,
                                          allow_no_indices=True)
            should: list[dict[str, Any]] = []
            if bands:
                should.append({"terms": {"lsh_bands": bands}})
            if hashes:
                should.append({"terms": {"text_hash": hashes}})
            found = await self.es.search(
                index=alias(self.settings), size=500, ignore_unavailable=True,
                allow_no_indices=True,
                query={"bool": {"should": should, "minimum_should_match": 1}},
                source=["id", "story_id", "text_hash", "minhash", "lsh_bands", "duplicate_of",
                        "indexed_at"],
                sort=[{"indexed_at": {"order": "asc", "unmapped_type": "date"}}],
            )
            known = [hit["_source"] for hit in found["hits"]["hits"]]
        for doc in docs:
            candidates = [k for k in known if k["id"] != doc["id"]]
            same_text = [k for k in candidates if k.get("text_hash") == doc.get("text_hash")]
            if same_text and doc.get("text_hash"):
                first = same_text[0]
                doc["duplicate_of"] = first.get("duplicate_of") or first["id"]
                doc["story_id"] = first["story_id"]
            else:
                mine = set(doc["lsh_bands"])
                best, score = None, 0.0
                for k in candidates:
                    if mine & set(k.get("lsh_bands") or []):
                        similarity = minhash_similarity(doc.get("minhash"), k.get("minhash"))
                        if similarity > score:
                            best, score = k, similarity
                if best is not None and score >= NEAR_DUPLICATE:
                    doc["story_id"] = best["story_id"]
            existing = next((k for k in known if k["id"] == doc["id"]), None)
            if existing is not None:  # a replay: keep what the first write decided
                doc["story_id"] = existing["story_id"]
                doc["duplicate_of"] = existing.get("duplicate_of")
            known.append(doc)

    async def index(
        self, articles: Sequence[dict[str, Any]]
    ) -> list[tuple[dict[str, Any], dict[str, Any], str | None]]:
        """Write a batch; returns (article, its document, error or None) per article.

        The documents are returned because they are what the alert matcher must see: exactly
        what search will find, with the story each was assigned to.

        Errors returned are the document's own (a mapping conflict...): they belong in the
        dead-letter topic. Unreachable or overloaded Elasticsearch is retried here with
        exponential backoff until it answers, because dropping articles is not an option.
        """
        from elasticsearch.helpers import async_bulk

        now = datetime.now(UTC)
        docs = [to_document(a, story_id=document_id(a), duplicate_of=None, now=now)
                for a in articles]
        actions = [
            {"_op_type": "index", "_index": index_for(self.settings, d["published"]
                                                      or d["fetched_at"]),
             "_id": d["id"], "_source": d}
            for d in docs
        ]

        async def bulk() -> list[Any]:
            _, errors = await async_bulk(
                self.es, actions, raise_on_error=False, raise_on_exception=True,
                max_retries=5, initial_backoff=1, max_backoff=30, chunk_size=500,
            )
            return list(errors) if isinstance(errors, list) else []

        lock = StoryLock(self.settings, self.es)
        await self._with_retries(lock.acquire)
        try:
            await self._with_retries(self._stories, docs)
            errors = await self._with_retries(bulk)
        finally:
            await lock.release()
        failed: dict[str, str] = {}
        for error in errors:
            item = next(iter(error.values()))
            failed[str(item.get("_id"))] = json.dumps(item.get("error"))[:1000]
        return [(a, d, failed.get(d["id"])) for a, d in zip(articles, docs, strict=True)]

    async def _with_retries(self, operation: Any, *args: Any) -> Any:
        return await with_retries(operation, *args)


async def with_retries(operation: Any, *args: Any) -> Any:
    """Run an Elasticsearch operation until it succeeds: an unreachable or overloaded cluster
    is waited for with exponential backoff (capped at 30 s), because a stage that gave up
    would drop what it holds; a refusal of the request itself is raised."""
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout
    from elasticsearch import ApiError

    delay = 0.5
    while True:
        try:
            return await operation(*args)
        except (TransportConnectionError, ConnectionTimeout) as exc:
            reason = f"elasticsearch unreachable: {exc}"
        except ApiError as exc:
            if exc.meta.status not in (429, 502, 503, 504):
                raise
            reason = f"elasticsearch busy: HTTP {exc.meta.status}"
        log.warning("elasticsearch call failed, retrying", reason=reason[:300], in_seconds=delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)


def facet_counts(aggregations: dict[str, Any]) -> dict[str, list[tuple[str, int]]]:
    """``{facet: [(value, count), ...]}`` from a terms-aggregations response."""
    return {
        name: [(str(b["key"]), int(b["doc_count"])) for b in agg.get("buckets", [])]
        for name, agg in aggregations.items()
    }


def flatten(values: Iterable[Any]) -> list[Any]:
    return [v for value in values for v in (value if isinstance(value, list) else [value])]
