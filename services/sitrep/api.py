"""``sitrep api``: search, articles, subscriptions and feeds over HTTP (FastAPI, OpenAPI at
``/docs``).

The API is a thin edge: searching is :mod:`sitrep.search` (the code ``sitrep search`` runs),
subscriptions are :mod:`sitrep.subscriptions` (the store the worker's matcher follows) and
feeds are :mod:`sitrep.feeds`. What this module adds is what an edge facing users needs:

- **Every mistake is a 400 that says what and where**, never a 500: query syntax errors carry
  the character position, FastAPI's validation errors are reported as 400 with the offending
  parameter, and an unreachable Elasticsearch or Kafka is a 503.
- **Keys.** Writes (feeds, subscriptions) need one of ``api_keys``; with none configured,
  writes are refused, so a fresh deployment is closed, not open. Reads are open unless
  ``api_read_keys`` is set.
- **Limits.** Bodies over ``api_max_body_bytes`` are refused (413) before they are read in
  full; queries are bounded by the query language; page sizes by ``search_max_size``.
- **No requests into the internal network.** Webhook and feed URLs must be public http(s)
  unless ``allow_private_urls`` (checked on write and again at delivery).
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import Histogram
from pydantic import BaseModel, Field

from sitrep.config import Settings, get_settings
from sitrep.logs import get_logger
from sitrep.search import (
    Filters,
    SearchError,
    SearchRequest,
    SearchResult,
    get_article,
    parse_when,
    search,
)
from sitrep.subscriptions import (
    Subscription,
    SubscriptionError,
    SubscriptionSpec,
    SubscriptionStore,
    create,
)

log = get_logger(__name__)

SEARCH_SECONDS = Histogram(
    "sitrep_search_seconds", "GET /search latency, Elasticsearch included",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyLimit:
    """Refuse request bodies over a size (413), whether announced or streamed: a client must
    not be able to make the API buffer an unbounded body."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(send)
            return
        seen = 0
        refused = False

        async def limited() -> Message:
            # Over the limit: answer 413 now and tell the app the client went away, so it
            # stops reading; whatever it answers then is dropped.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited, guarded_send)

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse(
            {"error": f"request body larger than {self.max_bytes} bytes"}, status_code=413
        )
        await response({"type": "http"}, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


class ErrorBody(BaseModel):
    error: str
    field: str | None = None
    position: int | None = Field(None, description="0-based character offset in the query")


class FeedSpec(BaseModel):
    url: str = Field(..., max_length=2048)
    name: str | None = Field(None, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=20)
    language: str | None = Field(None, max_length=12)
    interval: float | None = Field(None, gt=0)


class CreatedSubscription(BaseModel):
    subscription: dict[str, Any]
    webhook_secret: str | None = Field(
        None, description="HMAC key of X-Sitrep-Signature; shown only here, once."
    )


def _error(status: int, message: str, *, field: str | None = None,
           position: int | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(error=message, field=field, position=position)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def _presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _key_in(key: str, keys: list[str]) -> bool:
    # Compare against every key, in constant time each: no timing hint of a near miss.
    found = False
    for candidate in keys:
        found |= hmac.compare_digest(key.encode(), candidate.encode())
    return found


class Unauthorized(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API for these settings (tests build one per configuration)."""
    settings = settings or get_settings()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        from elasticsearch import AsyncElasticsearch

        from sitrep.index import ensure_template

        es = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30)
        state["es"] = es
        try:
            await ensure_template(es, settings)
        except Exception as exc:  # the API still serves what it can; /health says why
            log.warning("could not install index templates", error=str(exc)[:300])
        store = SubscriptionStore(settings, client_id="sitrep-api")
        await store.start()
        state["store"] = store
        log.info("api ready", subscriptions=len(store.items))
        try:
            yield
        finally:
            await store.stop()
            await es.close()

    app = FastAPI(
        title="sitrep",
        version="0.1.0",
        summary="Search the news pipeline's articles and subscribe to keyword alerts.",
        lifespan=lifespan,
    )

    # --- errors --------------------------------------------------------------------------

    @app.exception_handler(SearchError)
    async def _search_error(_: Request, exc: SearchError) -> JSONResponse:
        return _error(400, exc.message, field=exc.field, position=exc.position)

    @app.exception_handler(SubscriptionError)
    async def _subscription_error(_: Request, exc: SubscriptionError) -> JSONResponse:
        return _error(400, exc.message, field=exc.field, position=exc.position)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        field = None
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path")]
            field = field or ".".join(loc) or None
            problems.append(f"{'.'.join(loc) or 'request'}: {e.get('msg')}")
        return _error(400, "; ".join(problems) or "invalid request", field=field)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        return _error(401, exc.message, headers={"WWW-Authenticate": 'Bearer realm="sitrep"'})

    @app.exception_handler(HTTPException)
    async def _http_error(_: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _backend_error(request: Request, exc: Exception) -> JSONResponse:
        from aiokafka.errors import KafkaError
        from elastic_transport import ConnectionError as EsConnectionError
        from elastic_transport import ConnectionTimeout
        from elasticsearch import ApiError
        from kafka.errors import KafkaError as SyncKafkaError

        if isinstance(exc, EsConnectionError | ConnectionTimeout):
            return _error(503, "Elasticsearch is unreachable; try again shortly")
        if isinstance(exc, KafkaError | SyncKafkaError):
            return _error(503, f"Kafka is unavailable: {exc.__class__.__name__}")
        if isinstance(exc, ApiError) and exc.meta.status in (429, 502, 503, 504):
            return _error(503, "Elasticsearch is overloaded; try again shortly")
        log.exception("unhandled error", path=request.url.path)
        return _error(500, "internal error (logged)")

    # --- keys ------------------------------------------------------------------------------

    def require_write(request: Request) -> None:
        if not settings.api_keys:
            raise Unauthorized("writes are disabled: no API keys are configured "
                               "(set SITREP_API_KEYS)")
        key = _presented_key(request)
        if key is None:
            raise Unauthorized("this request changes data and needs an API key "
                               "(X-API-Key header or Authorization: Bearer)")
        if not _key_in(key, settings.api_keys):
            raise Unauthorized("invalid API key")

    def require_read(request: Request) -> None:
        if not settings.api_read_keys:
            return
        key = _presented_key(request)
        if key is None:
            raise Unauthorized("reads need an API key on this deployment "
                               "(X-API-Key header or Authorization: Bearer)")
        if not _key_in(key, settings.api_read_keys + settings.api_keys):
            raise Unauthorized("invalid API key")

    read = [Depends(require_read)]
    write = [Depends(require_write)]

    def store() -> SubscriptionStore:
        found: SubscriptionStore = state["store"]
        return found

    # --- routes ----------------------------------------------------------------------------

    @app.get("/health", tags=["service"])
    async def health() -> JSONResponse:
        """200 when Elasticsearch answers and the subscriptions are loaded, else 503."""
        es_ok = False
        try:
            health = await state["es"].cluster.health(timeout="2s")
            es_ok = health["status"] in ("green", "yellow")
        except Exception as exc:
            log.warning("health: elasticsearch", error=str(exc)[:200])
        body = {"status": "ok" if es_ok else "degraded", "elasticsearch": es_ok,
                "subscriptions": len(store().items)}
        return JSONResponse(body, status_code=200 if es_ok else 503)

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    async def metrics() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    responses: dict[int | str, dict[str, Any]] = {
        400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 503: {"model": ErrorBody},
    }

    @app.get("/search", tags=["search"], response_model=SearchResult, responses=responses,
        dependencies=read)
    async def search_articles(
        q: Annotated[str | None, Query(
            max_length=2000, description='e.g. soleimani country:IQ -lang:ar, "Popular '
            'Mobilization" AND (Mosul OR Nineveh)')] = None,
        region: Annotated[list[str], Query(description="admin1 key or name")] = [],  # noqa: B006
        country: Annotated[list[str], Query()] = [],  # noqa: B006
        actor: Annotated[list[str], Query()] = [],  # noqa: B006
        actor_type: Annotated[list[str], Query()] = [],  # noqa: B006
        source: Annotated[list[str], Query()] = [],  # noqa: B006
        lang: Annotated[list[str], Query()] = [],  # noqa: B006
        since: Annotated[str | None, Query(description="ISO date/time, or an age: 24h, 7d")]
        = None,
        until: Annotated[str | None, Query(description="ISO date/time, or an age")] = None,
        sort: Literal["relevance", "date"] = "relevance",
        size: Annotated[int, Query(ge=1)] = 10,
        after: Annotated[str | None, Query(max_length=1000,
                                           description="`next` of the previous page")] = None,
        collapse: Annotated[bool, Query(description="one result per story")] = False,
        highlight: bool = True,
        facets: bool = True,
    ) -> SearchResult:
        """Full-text search with filters, facets (region, country, actor, actor type,
        source, language, day), highlighting and deep paging."""
        try:
            filters = Filters(region=region, country=country, actor=actor,
                              actor_type=actor_type, source=source, lang=lang)
        except ValueError as exc:
            raise SearchError(str(exc).splitlines()[-1], field="filters") from exc
        request = SearchRequest(
            q=q, filters=filters,
            since=parse_when(since, field="since") if since else None,
            until=parse_when(until, field="until") if until else None,
            sort=sort, size=size, after=after, collapse=collapse, highlight=highlight,
            facets=facets,
        )
        with SEARCH_SECONDS.time():
            return await search(state["es"], settings, request)

    @app.get("/articles/{article_id}", tags=["search"], responses=responses | {404: {}},
        dependencies=read)
    async def article(article_id: str) -> dict[str, Any]:
        """One indexed article with its places and actors."""
        found = await get_article(state["es"], settings, article_id)
        if found is None:
            raise HTTPException(404, f"no article with id {article_id!r}")
        return found

    @app.get("/subscriptions", tags=["alerts"], responses=responses, dependencies=read)
    async def list_subscriptions() -> list[dict[str, Any]]:
        """Every subscription (webhook secrets hidden)."""
        return [s.public() for s in store().all()]

    @app.get("/subscriptions/{subscription_id}", tags=["alerts"],
             responses=responses | {404: {}}, dependencies=read)
    async def get_subscription(subscription_id: str) -> dict[str, Any]:
        found = store().get(subscription_id)
        if found is None:
            raise HTTPException(404, f"no subscription with id {subscription_id!r}")
        return found.public()

    @app.post("/subscriptions", tags=["alerts"], status_code=201,
              response_model=CreatedSubscription, responses=responses, dependencies=write)
    async def add_subscription(spec: SubscriptionSpec) -> CreatedSubscription:
        """Subscribe a query (same language and filters as /search) to alerts: always on
        the Kafka topic `alerts`, and by webhook and/or e-mail, immediately or as a digest."""
        subscription: Subscription = await run_in_threadpool(create, spec, settings)
        await store().put(subscription)
        log.info("subscription added", id=subscription.id, name=subscription.name)
        return CreatedSubscription(
            subscription=subscription.public(),
            webhook_secret=subscription.webhook.secret if subscription.webhook else None,
        )

    @app.delete("/subscriptions/{subscription_id}", tags=["alerts"], status_code=204,
                responses=responses | {404: {}}, dependencies=write)
    async def remove_subscription(subscription_id: str) -> Response:
        if not await store().remove(subscription_id):
            raise HTTPException(404, f"no subscription with id {subscription_id!r}")
        log.info("subscription removed", id=subscription_id)
        return Response(status_code=204)

    @app.put("/subscriptions/{subscription_id}", tags=["alerts"],
             response_model=CreatedSubscription, responses=responses | {404: {}},
             dependencies=write)
    async def replace_subscription(subscription_id: str,
                                   spec: SubscriptionSpec) -> CreatedSubscription:
        """Change a subscription in place. Its id stays, so stories it already alerted on do
        not alert again; the webhook secret is kept unless a new one is given."""
        current = store().get(subscription_id)
        if current is None:
            raise HTTPException(404, f"no subscription with id {subscription_id!r}")
        if spec.webhook is not None and current.webhook is not None \
                and "secret" not in spec.webhook.model_fields_set:
            spec.webhook.secret = current.webhook.secret
        made = await run_in_threadpool(create, spec, settings)
        subscription = made.model_copy(update={"id": current.id,
                                               "created_at": current.created_at})
        await store().put(subscription)
        log.info("subscription replaced", id=subscription.id)
        return CreatedSubscription(
            subscription=subscription.public(),
            webhook_secret=subscription.webhook.secret if subscription.webhook else None,
        )

    @app.get("/subscriptions/{subscription_id}/alerts", tags=["alerts"],
             responses=responses | {404: {}}, dependencies=read)
    async def subscription_alerts(
        subscription_id: str, size: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> list[dict[str, Any]]:
        """The subscription's alert history, newest first, with each channel's delivery
        state (what the Kibana "Latest alerts" panel shows)."""
        from sitrep.alerts import alerts_index

        if store().get(subscription_id) is None:
            raise HTTPException(404, f"no subscription with id {subscription_id!r}")
        found = await state["es"].search(
            index=alerts_index(settings), size=size, ignore_unavailable=True,
            query={"term": {"subscription_id": subscription_id}},
            sort=[{"matched_at": {"order": "desc", "unmapped_type": "date"}}],
            source={"excludes": ["alert"]},
        )
        return [hit["_source"] for hit in found["hits"]["hits"]]

    @app.get("/feeds", tags=["feeds"], responses=responses, dependencies=read)
    async def list_feeds() -> list[dict[str, Any]]:
        """Every registered feed with its poll state."""
        from sitrep.feeds import FeedRegistry

        def read() -> list[dict[str, Any]]:
            registry = FeedRegistry(settings)
            feeds, states = registry.feeds(), registry.states()
            return [
                {**f.model_dump(mode="json"),
                 "state": states[f.id].model_dump(mode="json", exclude={"seen"})
                 if f.id in states else None}
                for f in sorted(feeds.values(), key=lambda f: f.url)
            ]

        return await run_in_threadpool(read)

    @app.post("/feeds", tags=["feeds"], status_code=201, responses=responses, dependencies=write)
    async def add_feed(spec: FeedSpec) -> dict[str, Any]:
        """Register a feed (idempotent); pollers pick it up at once."""
        from sitrep.feeds import Feed, FeedError, FeedRegistry
        from sitrep.urls import UnsafeURLError, check_public_url_async

        try:
            await check_public_url_async(spec.url, allow_private=settings.allow_private_urls)
            feed = Feed.create(spec.url, name=spec.name, tags=spec.tags,
                               language=spec.language, interval=spec.interval)
        except (UnsafeURLError, FeedError) as exc:
            raise SearchError(f"feed refused: {exc}", field="url") from exc
        await run_in_threadpool(FeedRegistry(settings).add, [feed])
        return feed.model_dump(mode="json")

    @app.delete("/feeds/{ref:path}", tags=["feeds"], status_code=204,
                responses=responses | {404: {}}, dependencies=write)
    async def remove_feed(ref: str) -> Response:
        from sitrep.feeds import FeedError, FeedRegistry

        try:
            await run_in_threadpool(FeedRegistry(settings).remove, ref)
        except FeedError as exc:
            raise HTTPException(404, str(exc)) from exc
        return Response(status_code=204)

    app.add_middleware(BodyLimit, max_bytes=settings.api_max_body_bytes)
    return app


def run_api(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve the API until SIGTERM/SIGINT (uvicorn handles the signals)."""
    import uvicorn

    from sitrep.topics import create_topics

    create_topics(settings)
    uvicorn.run(create_app(settings), host=host or settings.api_host,
                port=port or settings.api_port, log_config=None,
                log_level=settings.log_level.lower(), access_log=False)
