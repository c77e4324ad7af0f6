"""The ``sitrep`` command line: one entry point for every service and tool.

The command names are a contract (DESIGN.md): the README, the Makefile and docker-compose.yml
call them, so renaming one is a breaking change.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from sitrep.config import Settings, get_settings
from sitrep.logs import configure_logging

app = typer.Typer(
    help="sitrep: news feeds -> Kafka -> clean and tag -> Elasticsearch, search and alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(help="The local Kafka + Elasticsearch stack (no Docker).",
                        no_args_is_help=True)
app.add_typer(stack_app, name="stack")
feeds_app = typer.Typer(help="The feed registry (a compacted Kafka topic).",
                        no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
subscriptions_app = typer.Typer(
    help="Keyword alert subscriptions (a compacted Kafka topic; the worker matches them).",
    no_args_is_help=True,
)
app.add_typer(subscriptions_app, name="subscriptions")
kibana_app = typer.Typer(help="Kibana saved objects (data views, the sitrep overview dashboard).",
                         no_args_is_help=True)
app.add_typer(kibana_app, name="kibana")

out = Console()
err = Console(stderr=True)


def settings() -> Settings:
    """Settings for a command; a bad configuration is a one-line error, not a traceback."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"SITREP_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        err.print(f"[red]bad configuration:[/] {problems}")
        raise typer.Exit(2) from exc


@app.callback()
def _main() -> None:
    s = settings()
    configure_logging(s.log_level, s.log_format)


@stack_app.command("up")
def stack_up() -> None:
    """Download (first run only) and start Kafka and Elasticsearch; wait until healthy."""
    from sitrep.stack import LocalStack, StackError

    stack = LocalStack(settings())
    try:
        with err.status("starting the local stack") as status:
            statuses = stack.up(progress=lambda msg: status.update(msg))
    except StackError as exc:
        err.print("[red]stack up failed:[/]", end=" ")
        err.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    _print_status(statuses)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the Kafka and Elasticsearch processes that `stack up` started."""
    from sitrep.stack import LocalStack

    stopped = LocalStack(settings()).down()
    out.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@stack_app.command("status")
def stack_status() -> None:
    """Print versions, ports and health of the local stack; exit 1 unless all are healthy."""
    from sitrep.stack import LocalStack

    statuses = LocalStack(settings()).status()
    _print_status(statuses)
    if not all(s.healthy for s in statuses):
        raise typer.Exit(1)


def _print_status(statuses: list[Any]) -> None:
    table = Table(title="sitrep local stack")
    for column in ("server", "version", "state", "pid", "ports", "detail"):
        table.add_column(column)
    for s in statuses:
        state = "healthy" if s.healthy else ("starting/unhealthy" if s.running else "stopped")
        ports = ", ".join(f"{k} {v}" for k, v in s.ports.items())
        table.add_row(s.name, s.version, state, str(s.pid or "-"), ports, s.detail)
    out.print(table)


@app.command("setup")
def setup() -> None:
    """Create the topics and the index template (idempotent; docker compose's setup job)."""
    from sitrep.index import ensure_template_sync
    from sitrep.topics import create_topics

    s = settings()
    for topic, state in create_topics(s).items():
        out.print(f"topic {topic}: {state}")
    ensure_template_sync(s)
    out.print(f"index templates {s.index_prefix}-articles, {s.index_prefix}-alerts: installed")
    if s.kibana_url:
        from sitrep.kibana import kibana_command

        code = kibana_command(s.kibana_url)
        if code:
            raise typer.Exit(code)


def refuse_unsafe_feeds(urls: list[str]) -> None:
    """Exit 2 naming every feed URL the poller would refuse to fetch (the API's rule).

    Refusing here, not only at fetch time, tells the operator now rather than through a feed
    that keeps failing. Unlike the API, a name that does not resolve is only a warning: the
    operator may be registering feeds while DNS or the network is down.
    """
    from sitrep.urls import UnresolvableHostError, UnsafeURLError, check_public_url

    allow = settings().allow_private_urls
    refused = []
    for url in urls:
        try:
            check_public_url(url, allow_private=allow)
        except UnresolvableHostError as exc:  # DNS may be down; the poller checks again anyway
            err.print(f"[yellow]warning:[/] {url}: {exc}", highlight=False)
        except UnsafeURLError as exc:
            refused.append(f"{url}: {exc}")
    if refused:
        for line in refused:
            err.print(f"[red]refused feed:[/] {line}", highlight=False)
        raise typer.Exit(2)


@feeds_app.command("add")
def feeds_add(
    url: str = typer.Argument(..., help="Feed URL (RSS or Atom)."),
    name: str | None = typer.Option(None, help="Display name."),
    tag: list[str] = typer.Option([], "--tag", help="Beat or topic tag (repeatable)."),
    language: str | None = typer.Option(None, help="Expected language, e.g. en."),
    interval: float | None = typer.Option(None, help="Base poll interval in seconds."),
) -> None:
    """Register a feed (idempotent: adding it again updates it)."""
    from sitrep.feeds import Feed, FeedError, FeedRegistry

    try:
        feed = Feed.create(url, name=name, tags=tag, language=language, interval=interval)
    except FeedError as exc:
        err.print(f"[red]bad feed:[/] {exc}")
        raise typer.Exit(2) from exc
    refuse_unsafe_feeds([feed.url])
    FeedRegistry(settings()).add([feed])
    out.print(f"added {feed.url} (id {feed.id})")


@feeds_app.command("import")
def feeds_import(
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="YAML feed list."),
) -> None:
    """Register every feed of a YAML file (url, name, tags, language, interval)."""
    from sitrep.feeds import FeedError, FeedRegistry, load_feed_file

    try:
        feeds = load_feed_file(path)
    except FeedError as exc:
        err.print(f"[red]bad feed list:[/] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    refuse_unsafe_feeds([feed.url for feed in feeds])
    FeedRegistry(settings()).add(feeds)
    out.print(f"imported {len(feeds)} feeds from {path}")


@feeds_app.command("remove")
def feeds_remove(ref: str = typer.Argument(..., help="Feed URL or id.")) -> None:
    """Remove a feed from the registry; pollers stop polling it at once."""
    from sitrep.feeds import FeedError, FeedRegistry

    try:
        feed = FeedRegistry(settings()).remove(ref)
    except FeedError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    out.print(f"removed {feed.url} (id {feed.id})")


@feeds_app.command("list")
def feeds_list(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per feed."),
) -> None:
    """Every feed with its poll status: last status, last success, items seen, last error."""
    import json

    from sitrep.feeds import FeedRegistry

    registry = FeedRegistry(settings())
    feeds, states = registry.feeds(), registry.states()
    rows = sorted(feeds.values(), key=lambda f: f.url)
    if as_json:
        for feed in rows:
            state = states.get(feed.id)
            record = {**feed.model_dump(mode="json"),
                      "state": state.model_dump(mode="json", exclude={"seen"}) if state else None}
            out.print(json.dumps(record), markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=f"{len(rows)} feeds")
    for column in ("feed", "status", "last", "last success", "items", "interval", "last error"):
        table.add_column(column, overflow="fold")
    for feed in rows:
        st = states.get(feed.id)
        if st is None:
            table.add_row(feed.name or feed.url, "new", "-", "-", "0", "-", "")
            continue
        status = st.status if st.validators_trusted else f"{st.status} (304s untrusted)"
        table.add_row(
            f"{feed.name}\n{feed.url}" if feed.name else feed.url, status,
            st.last_status or "-", (st.last_success_at or "-")[:19], str(st.items_seen),
            f"{st.interval:.0f}s", st.last_error or "",
        )
    out.print(table)


@app.command("poller")
def poller(
    exit_when_idle: bool = typer.Option(
        False, help="Exit once every feed has been polled and nothing is pending."
    ),
    feeds_file: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="YAML feed list to register before polling."
    ),
) -> None:
    """Poll the feeds Kafka assigns to this process; run several to share the work."""
    import asyncio
    import signal

    from prometheus_client import start_http_server

    from sitrep.feeds import FeedRegistry, load_feed_file
    from sitrep.poller import Poller

    s = settings()
    source = feeds_file or s.feeds_file
    if source:
        FeedRegistry(s).add(load_feed_file(source))
    if s.poller_metrics_port:
        start_http_server(s.poller_metrics_port)

    async def main() -> None:
        service = Poller(s, exit_when_idle=exit_when_idle)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, service.stop)
        await service.run()

    asyncio.run(main())


@app.command("worker")
def worker() -> None:
    """Run the stream processors (clean, tag, index, alerts) until stopped; run several to
    scale."""
    from sitrep.worker import run_worker

    s = settings()
    run_worker(s, loglevel=s.log_level.lower())


@app.command("run")
def run(
    pollers: int = typer.Option(1, min=0, help="Poller processes."),
    workers: int = typer.Option(1, min=0, help="Worker processes."),
    api: bool = typer.Option(True, help="Also serve the API."),
) -> None:
    """Every service on one machine (poller, worker, api), restarted if one dies; Ctrl-C or
    SIGTERM stops them all."""
    from sitrep.supervisor import Supervisor, service_commands
    from sitrep.topics import create_topics

    create_topics(settings())  # once here, not raced by every child
    Supervisor(service_commands(pollers, workers, api)).run()


@app.command("api")
def api(
    host: str | None = typer.Option(None, help="Listen address (default: SITREP_API_HOST)."),
    port: int | None = typer.Option(None, help="Port (default: SITREP_API_PORT)."),
) -> None:
    """Serve the search and subscriptions API (OpenAPI docs at /docs) until stopped."""
    from sitrep.api import run_api

    run_api(settings(), host, port)


def _filters(region: list[str], country: list[str], actor: list[str], actor_type: list[str],
             source: list[str], lang: list[str]) -> Any:
    from sitrep.search import Filters

    try:
        return Filters(region=region, country=country, actor=actor, actor_type=actor_type,
                       source=source, lang=lang)
    except ValueError as exc:
        err.print(f"[red]bad filter:[/] {str(exc).splitlines()[-1]}", highlight=False)
        raise typer.Exit(2) from exc


def _point_at(query: str, position: int | None) -> None:
    """Show where in the query a mistake is, as a caret under it."""
    if position is not None and query:
        err.print(f"  {query}", markup=False, highlight=False)
        err.print("  " + " " * min(position, len(query)) + "^", markup=False, highlight=False)


@app.command("search")
def search_command(
    query: str = typer.Argument("", help='e.g. \'soleimani country:IQ\', \'"Popular '
                                "Mobilization\" -lang:ar\'"),
    region: list[str] = typer.Option([], "--region", help="admin1 key (IQ.15) or name."),
    country: list[str] = typer.Option([], "--country", help="ISO code or country name."),
    actor: list[str] = typer.Option([], "--actor", help="Actor id or name."),
    actor_type: list[str] = typer.Option([], "--actor-type", help="e.g. armed_group."),
    source: list[str] = typer.Option([], "--source", help="Feed or site name."),
    lang: list[str] = typer.Option([], "--lang", help="Language code, e.g. en."),
    since: str | None = typer.Option(None, help="ISO date/time or an age: 24h, 7d, 2w."),
    until: str | None = typer.Option(None, help="ISO date/time or an age."),
    sort: str = typer.Option("relevance", help="relevance or date."),
    size: int = typer.Option(10, help="Results to show."),
    collapse: bool = typer.Option(True, help="One result per story (near-duplicates folded)."),
    as_json: bool = typer.Option(False, "--json", help="Print the API's JSON answer."),
) -> None:
    """Full-text search from the terminal: the same code and query language as GET /search."""
    from elasticsearch import Elasticsearch

    from sitrep.search import SearchError, SearchRequest, parse_when, search_sync

    s = settings()
    try:
        if sort not in ("relevance", "date"):
            raise SearchError("--sort must be relevance or date", field="sort")
        request = SearchRequest(
            q=query, filters=_filters(region, country, actor, actor_type, source, lang),
            since=parse_when(since, field="since") if since else None,
            until=parse_when(until, field="until") if until else None,
            sort=sort, size=size, collapse=collapse,
        )
        es = Elasticsearch(s.elasticsearch_url, request_timeout=30)
        try:
            result = search_sync(es, s, request)
        finally:
            es.close()
    except SearchError as exc:
        err.print(f"[red]bad search ({exc.field}):[/] {exc.message}", highlight=False)
        _point_at(query, exc.position)
        raise typer.Exit(2) from exc
    if as_json:
        out.print(result.model_dump_json(), markup=False, highlight=False, soft_wrap=True)
        return
    print_search(result, f"search {query!r}" if query else "search")


def print_search(result: Any, title: str) -> None:
    """Results, then the facets, as rich tables (sitrep search and make demo)."""
    import html
    import re

    exact = "" if result.total_is_exact else "at least "
    table = Table(title=f"{title}: {exact}{result.total} articles, {result.took_ms} ms")
    for column in ("published", "source", "title", "matched text", "actors", "places"):
        table.add_column(column, overflow="fold")
    for hit in result.hits:
        fragments = hit.highlight.get("text") or hit.highlight.get("title") or []
        # The API's fragments are HTML-escaped with <mark> around matches; a terminal gets
        # the plain text with the matches in bold.
        matched = re.sub(r"<mark>(.*?)</mark>", r"[bold yellow]\1[/]",
                         html.unescape(fragments[0]).replace("[", "\\[")
                         if fragments else "")
        more = f" (+{hit.story_size - 1} similar)" if hit.story_size and \
            hit.story_size > 1 else ""
        table.add_row((hit.published or "")[:10], hit.source or "", (hit.title or "") + more,
                      matched, ", ".join(hit.actor_names[:5]), ", ".join(hit.place_names[:5]))
    out.print(table)
    for facet in ("country", "region", "actor", "source", "day"):
        buckets = result.facets.get(facet) or []
        values = ", ".join(f"{b.label or b.value} ({b.count})" for b in buckets[:10])
        if values:
            out.print(f"[bold]{facet}:[/] {values}", highlight=False)


@subscriptions_app.command("add")
def subscriptions_add(
    name: str = typer.Argument(..., help="A name for people: 'Soleimani in Iraq'."),
    query: str = typer.Argument("", help="Query in the search language."),
    region: list[str] = typer.Option([], "--region"),
    country: list[str] = typer.Option([], "--country"),
    actor: list[str] = typer.Option([], "--actor"),
    actor_type: list[str] = typer.Option([], "--actor-type"),
    source: list[str] = typer.Option([], "--source"),
    lang: list[str] = typer.Option([], "--lang"),
    webhook: str | None = typer.Option(None, help="URL to POST each alert to (signed)."),
    secret: str | None = typer.Option(None, help="HMAC secret for the webhook (default: new)."),
    email: list[str] = typer.Option([], "--email", help="Address to mail alerts to."),
    digest: int | None = typer.Option(
        None, help="Send a digest every N minutes instead of each alert at once."),
) -> None:
    """Subscribe a query to alerts (Kafka topic `alerts` always; webhook and e-mail optional)."""
    import asyncio

    from pydantic import ValidationError as PydanticError

    from sitrep.subscriptions import SubscriptionError, SubscriptionSpec, SubscriptionStore, create

    s = settings()
    try:
        spec = SubscriptionSpec(
            name=name, query=query,
            filters=_filters(region, country, actor, actor_type, source, lang),
            webhook={"url": webhook, **({"secret": secret} if secret else {})}
            if webhook else None,
            email=email, mode="digest" if digest else "immediate",
            digest_minutes=digest or 60,
        )
        subscription = create(spec, s)
    except PydanticError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        err.print(f"[red]bad subscription:[/] {problem}", highlight=False)
        raise typer.Exit(2) from exc
    except SubscriptionError as exc:
        err.print(f"[red]bad subscription ({exc.field}):[/] {exc.message}", highlight=False)
        _point_at(query, exc.position)
        raise typer.Exit(2) from exc

    async def put() -> None:
        store = SubscriptionStore(s, client_id="sitrep-cli")
        await store.put(subscription)
        await store.stop()

    asyncio.run(put())
    out.print(f"added subscription {subscription.id} ({subscription.name}): "
              f"{', '.join(subscription.channels())}", highlight=False, soft_wrap=True)
    if subscription.webhook:
        out.print(f"webhook secret (X-Sitrep-Signature key): {subscription.webhook.secret}",
                  highlight=False, soft_wrap=True, markup=False)


def _load_subscriptions() -> list[Any]:
    import asyncio

    from sitrep.subscriptions import SubscriptionStore

    async def load() -> list[Any]:
        store = SubscriptionStore(settings(), client_id="sitrep-cli")
        await store.start(follow=False)
        return store.all()

    return asyncio.run(load())


@subscriptions_app.command("list")
def subscriptions_list(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per subscription."),
) -> None:
    """Every subscription: query, filters, channels and mode (webhook secrets hidden)."""
    import json

    found = _load_subscriptions()
    if as_json:
        for sub in found:
            out.print(json.dumps(sub.public()), markup=False, highlight=False, soft_wrap=True)
        return
    table = Table(title=f"{len(found)} subscriptions")
    for column in ("id", "name", "query", "filters", "channels", "mode"):
        table.add_column(column, overflow="fold")
    for sub in found:
        filters = ", ".join(f"{k}={'|'.join(v)}" for k, v in sub.filters.model_dump().items()
                            if v)
        channels = ", ".join(sub.channels())
        mode = f"digest every {sub.digest_minutes} min" if sub.mode == "digest" else sub.mode
        table.add_row(sub.id, sub.name, sub.query, filters, channels, mode)
    out.print(table)


@subscriptions_app.command("remove")
def subscriptions_remove(
    subscription_id: str = typer.Argument(..., help="The id `subscriptions list` shows."),
) -> None:
    """Remove a subscription; workers stop matching it within a second."""
    import asyncio

    from sitrep.subscriptions import SubscriptionStore

    async def remove() -> bool:
        store = SubscriptionStore(settings(), client_id="sitrep-cli")
        await store.start(follow=False)
        try:
            return await store.remove(subscription_id)
        finally:
            await store.stop()

    if not asyncio.run(remove()):
        err.print(f"[red]no subscription with id {subscription_id}[/]")
        raise typer.Exit(1)
    out.print(f"removed subscription {subscription_id}")


@app.command("clean")
def clean(
    sources: list[str] = typer.Argument(..., help="HTML files (.gz too) or http(s) URLs."),
    url: str | None = typer.Option(None, help="The page's URL, for a single file."),
) -> None:
    """Print the cleaned article(s) as JSON: one object, or one per line with `source`."""
    from sitrep.clean import clean_command

    raise typer.Exit(clean_command(sources, url))


@app.command("tag")
def tag(
    paths: list[str] = typer.Argument(..., help="Text (.txt: first line is the title) or HTML."),
) -> None:
    """Print the places and actors of files as JSON: one object, or one per line with source."""
    from sitrep.tag import tag_command

    raise typer.Exit(tag_command(paths))


@app.command("demo")
def demo() -> None:
    """Run the demo sites through poller and worker; print a search and the fired alerts."""
    from sitrep.demo import run_demo

    with err.status("demo") as status:
        try:
            result = run_demo(settings(), progress=status.update)
        except RuntimeError as exc:
            err.print(f"[red]demo failed:[/] {exc}")
            raise typer.Exit(1) from exc
    out.print(f"[bold]{result['indexed']} demo articles indexed[/] in {result['seconds']:.0f} s "
              "(poller -> Kafka -> worker: clean, tag, index, match -> Elasticsearch)")
    print_search(result["search"], 'search "border" (one result per story)')
    alerts = result["alerts"]
    table = Table(title=f"{len(alerts)} alerts fired (one per subscription and story; "
                        "topic `alerts`, index `<prefix>-alerts`)")
    for column in ("subscription", "published", "source", "title", "status"):
        table.add_column(column, overflow="fold")
    for alert in alerts:
        table.add_row(alert["subscription_name"], (alert.get("published") or "")[:10],
                      alert.get("source") or "", alert.get("title") or "",
                      alert.get("delivery_status") or "")
    out.print(table)


@app.command("bench")
def bench(
    suites: list[str] = typer.Argument(None, help="Suites to run (default: all)."),
    feeds: int = typer.Option(10_000, help="Feeds for the poller suite."),
    entries: int = typer.Option(1, help="Entries per feed for the poller suite."),
    articles: int | None = typer.Option(
        None, help="Articles for the search suite (default 100,000) and the alerts suite "
        "(default 200)."),
    pages: Path | None = typer.Option(
        None, help="Folder of real pages (.html/.gz) for the stages and pipeline suites "
        "(default: the extraction development set when present, else the demo pages)."),
    limit: int | None = typer.Option(
        None, help="At most this many of those pages (pipeline default: 300)."),
) -> None:
    """Run the benchmark suites against the local stack and print their figures."""
    from sitrep.bench import SUITES, Figure

    chosen = suites or list(SUITES)
    unknown = [name for name in chosen if name not in SUITES]
    if unknown:
        err.print(f"[red]unknown suite(s):[/] {', '.join(unknown)} (have: {', '.join(SUITES)})")
        raise typer.Exit(2)
    figures: list[Figure] = []
    with err.status("benchmarking") as status:
        for name in chosen:
            options: dict[str, Any] = (
                {"feeds": feeds, "entries": entries} if name == "poller" else {}
            )
            if articles is not None and name in ("search", "alerts"):
                options["articles"] = articles
            if name in ("stages", "pipeline"):
                options["pages"] = pages
                if limit is not None:
                    options["limit"] = limit
            figures += SUITES[name](settings(), progress=status.update, **options)
    table = Table(title="sitrep bench")
    for column in ("suite", "figure", "value", "unit", "note"):
        table.add_column(column)
    for f in figures:
        table.add_row(f.suite, f.name, f"{f.value:,.1f}", f.unit, f.note)
    out.print(table)


@kibana_app.command("import")
def kibana_import(
    url: str | None = typer.Option(None, help="Kibana URL (default: SITREP_KIBANA_URL)."),
) -> None:
    """Import deploy/kibana/sitrep.ndjson (overwrite: idempotent), waiting for Kibana."""
    from sitrep.kibana import kibana_command

    raise typer.Exit(kibana_command(url or settings().kibana_url))


@app.command("config")
def show_config(
    markdown: bool = typer.Option(False, help="Print the README's configuration table."),
) -> None:
    """Print the effective configuration (values from SITREP_* variables and .env)."""
    if markdown:
        out.print(config_table_markdown(), markup=False, highlight=False, soft_wrap=True)
        return
    for name, value in settings().model_dump().items():
        out.print(f"SITREP_{name.upper()}={value}", markup=False, highlight=False)


def config_table_markdown() -> str:
    """The configuration table of the README, generated from the settings class."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, info in Settings.model_fields.items():
        default = "(computed)" if info.default_factory else info.default
        if default is None:
            default = "(unset)"
        rows.append(f"| `SITREP_{name.upper()}` | `{default}` | {info.description} |")
    return "\n".join(rows)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
