"""``sitrep bench``: the benchmark suites. They print figures; nothing here asserts on time.

Each suite runs against the real local stack (``sitrep stack up``) and the local feed fixture
server, under a topic prefix of its own that it deletes afterwards, so a benchmark never
touches a deployment's topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import itertools
import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sitrep.config import Settings
from sitrep.logs import get_logger

if TYPE_CHECKING:
    from sitrep.search import SearchRequest

log = get_logger(__name__)


@dataclass
class Figure:
    suite: str
    name: str
    value: float
    unit: str
    note: str = ""


def rss_mib() -> float:
    """Resident memory of this process now (VmRSS), in MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def fixture_server(feeds: int, entries: int, demo_manifest: Path | None = None) -> Iterator[str]:
    """The feed fixture server in its own process (so it does not share our event loop)."""
    extra = ["--demo-manifest", str(demo_manifest)] if demo_manifest else []
    process = subprocess.Popen(
        [sys.executable, "-m", "sitrep.feedserver", "--port", "0", "--feeds", str(feeds),
         "--entries", str(entries), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        base = None
        while time.monotonic() < deadline and base is None:
            line = process.stdout.readline()
            match = re.search(r"listening on (\S+)", line)
            if match:
                base = match.group(1)
        if base is None:
            raise RuntimeError("the fixture server did not start")
        yield base
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def scratch_topics(settings: Settings) -> Iterator[Settings]:
    """Settings under a fresh topic prefix; the prefix's topics are deleted afterwards."""
    from kafka import KafkaAdminClient

    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    try:
        yield settings.model_copy(update={"topic_prefix": prefix})
    finally:
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_servers)
        try:
            mine = [t for t in admin.list_topics() if t.startswith(prefix)]
            if mine:
                admin.delete_topics(mine)
        finally:
            admin.close()


def polls(outcome: str) -> float:
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value("sitrep_poller_polls_total", {"outcome": outcome})
    return value or 0.0


def _span(stamps: list[str]) -> float:
    times = sorted(datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps if s)
    return (times[-1] - times[0]).total_seconds() if len(times) > 1 else 0.0


def polling_fixtures(settings: Settings, **overrides: Any) -> Settings:
    """Settings for a poller that reads the local fixture server.

    The server plays every site on one loopback host: per-host politeness would measure the
    delay rather than the code, and the outbound guard would refuse loopback. Long intervals
    make each pass poll every feed once and then idle.
    """
    return settings.model_copy(update={
        "http_host_delay": 0.0, "http_per_host": 32, "poll_interval": 600.0,
        "poll_min_interval": 600.0, "poller_metrics_port": 0, "allow_private_urls": True,
        **overrides,
    })


def bench_poller(
    settings: Settings, feeds: int = 10_000, entries: int = 1,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Figure]:
    """Feeds polled per second (mostly 304s), articles fetched per second, memory.

    One poller process against the fixture server, which plays ``feeds`` sites on one host,
    so per-host politeness is lifted for the run (it would measure the delay, not the code).
    Pass 1 fetches every feed and its ``entries`` articles; pass 2, a restarted poller, polls
    every feed again with its validators (every tenth poll is a full check).
    """
    from sitrep.feeds import Feed, FeedRegistry, utcnow
    from sitrep.poller import Poller

    figures: list[Figure] = []
    base_settings = polling_fixtures(settings, http_per_host=100, http_concurrency=100,
                                     poll_max_interval=3600.0)
    with fixture_server(feeds, entries) as base, scratch_topics(base_settings) as s:
        progress(f"registering {feeds} feeds")
        FeedRegistry(s).add(Feed.create(f"{base}/feeds/{n}.xml") for n in range(feeds))

        def one_pass(ahead: timedelta = timedelta(0)) -> tuple[Poller, float]:
            # Pass 2 runs on a clock two hours ahead: every feed is due at once, as after a
            # quiet spell, without waiting two hours.
            poller = Poller(s, exit_when_idle=True, clock=lambda: utcnow() + ahead)
            started = time.perf_counter()
            asyncio.run(poller.run())
            return poller, time.perf_counter() - started

        progress(f"pass 1: {feeds} feeds, {feeds * entries} new articles")
        before = polls("ok")
        poller, elapsed = one_pass()
        span = _span([t.state.last_polled_at or "" for t in poller.tracked.values()])
        polled = polls("ok") - before
        articles = sum(t.state.items_seen for t in poller.tracked.values())
        figures += [
            Figure("poller", "articles fetched and produced", articles / max(span, 1e-9),
                   "articles/s", f"{articles} articles from {polled:.0f} feeds in {span:.1f} s"),
            Figure("poller", "pass 1 wall time (incl. group join)", elapsed, "s"),
        ]
        progress("pass 2: every feed again, conditional GETs")
        nm_before = polls("not_modified")
        poller, elapsed = one_pass(timedelta(hours=2))
        stamps = [t.state.last_polled_at or "" for t in poller.tracked.values()]
        span = _span(stamps)
        not_modified = polls("not_modified") - nm_before
        figures += [
            Figure("poller", "feeds polled (mostly 304)", len(stamps) / max(span, 1e-9),
                   "feeds/s", f"{len(stamps)} feeds, {not_modified:.0f} answered 304, "
                   f"in {span:.1f} s"),
            Figure("poller", "pass 2 wall time (incl. group join and state load)", elapsed, "s"),
            Figure("poller", f"resident memory with {len(poller.tracked)} feeds", rss_mib(),
                   "MiB", "whole poller process, after both passes"),
        ]
    return figures


SUITES: dict[str, Callable[..., list[Figure]]] = {"poller": bench_poller}


def cpu_note() -> str:
    return f"{os.cpu_count()} cores"


def _demo_pages() -> list[tuple[str, str]]:
    """(url, html) of the bundled demo pages: real-sized news pages of 26-37 kB."""
    import yaml

    demo = Path(__file__).resolve().parent / "data" / "demo"
    manifest = yaml.safe_load((demo / "manifest.yaml").read_text())
    return [
        (f"https://{a['site']}.example/{a['slug']}.html", (demo / a["file"]).read_text())
        for a in manifest["articles"]
    ]


#: The extraction development set (trafilatura's evaldata: 990 real pages, html/*.gz):
#: ``../shared/devsets`` from the project root, or SITREP_DEVSETS_DIR.
def default_pages_dir() -> Path | None:
    """The development set's pages when present, else None (the demo pages are used)."""
    root = os.environ.get("SITREP_DEVSETS_DIR")
    base = Path(root) if root else Path(__file__).resolve().parents[3] / "shared" / "devsets"
    folder = base / "extraction" / "trafilatura-evaldata" / "html"
    return folder if folder.is_dir() else None


def real_pages(folder: Path | None, limit: int | None = None) -> list[tuple[str, str]]:
    """(url, html) of the pages in ``folder`` (``.html``, ``.htm``, ``.gz`` of either), in
    name order; the development set's by default, the demo pages when it is absent.

    URLs come from an ``evaldata.json`` beside the folder when there is one (the pages'
    own), else ``https://pages.example/<file name>``. Bytes are decoded as trafilatura
    decodes them.
    """
    import gzip
    import json

    from trafilatura.utils import decode_file

    folder = folder or default_pages_dir()
    if folder is None:
        pages = _demo_pages()
        return pages[:limit] if limit else pages
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder of pages: {folder}")
    urls: dict[str, str] = {}
    index = folder.parent / "evaldata.json"
    if index.is_file():
        urls = {item["file"]: url for url, item in json.loads(index.read_text()).items()}
    files = sorted(
        p for p in folder.iterdir()
        if p.name.lower().endswith((".html", ".htm", ".html.gz", ".htm.gz", ".gz"))
    )
    if limit:
        files = files[:limit]
    pages = []
    for path in files:
        data = path.read_bytes()
        name = path.name
        if name.lower().endswith(".gz"):
            data = gzip.decompress(data)
            name = name[:-3]
        url = urls.get(name) or f"https://pages.example/{name}"
        pages.append((url if url.startswith("http") else f"https://pages.example/{name}",
                      str(decode_file(data))))
    return pages


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if not ordered:
        return 0.0
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def bench_stages(
    settings: Settings, rounds: int | None = None,
    progress: Callable[[str], None] = lambda _: None,
    pages: Path | None = None, limit: int | None = None,
) -> list[Figure]:
    """Clean, tag and both, one process, on real pages; bare trafilatura beside it.

    ``pages``: a folder of real pages (default: the development set when present, else the
    demo pages). Each page is extracted by bare ``trafilatura.extract`` and cleaned by the
    stage alternately, in the same process, so both see the same machine load; the ratio
    of their total times is the figure issue 14 targets (<= 1.15).
    """
    import trafilatura

    from sitrep.clean import CleanError, clean_html
    from sitrep.tag import get_tagger

    chosen = real_pages(pages, limit)
    rounds = rounds or (1 if len(chosen) > 100 else 10)
    total = len(chosen) * rounds
    size = sum(len(html) for _, html in chosen) / len(chosen) / 1024
    progress("warming up")
    url, html = chosen[0]
    trafilatura.extract(html, url=url)
    with contextlib.suppress(CleanError):
        clean_html(html, url=url)
    bare_times: list[float] = []
    clean_times: list[float] = []
    cleaned: list[dict[str, Any]] = []
    for round_number in range(rounds):
        progress(f"bare trafilatura and the clean stage, round {round_number + 1}/{rounds}")
        cleaned = []
        for url, html in chosen:
            started = time.perf_counter()
            trafilatura.extract(html, url=url)
            bare_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            with contextlib.suppress(CleanError):  # a page without text is still timed
                cleaned.append(clean_html(html, url=url))
            clean_times.append(time.perf_counter() - started)
    bare, clean_seconds = sum(bare_times), sum(clean_times)
    tagger = get_tagger()
    gc.freeze()  # as the worker does after loading the tagger
    progress("tag stage")
    started = time.perf_counter()
    for _ in range(rounds):
        for article in cleaned:
            tagger.tag_article(article)
    tag_seconds = time.perf_counter() - started
    source = "demo pages" if pages is None and default_pages_dir() is None else "real pages"
    note = f"{len(chosen)} {source} x {rounds}, {size:.0f} kB average"
    return [
        Figure("stages", "bare trafilatura.extract (defaults)", _rate(total, bare),
               "articles/s", f"{note}; median {_median(bare_times) * 1000:.1f} ms"),
        Figure("stages", "clean (sitrep.clean)", _rate(total, clean_seconds), "articles/s",
               f"median {_median(clean_times) * 1000:.1f} ms"),
        Figure("stages", "clean time / bare trafilatura time",
               100 * clean_seconds / bare if bare else 0.0, "%",
               "same pages, one process, alternating; target <= 115 %"),
        Figure("stages", "tag (sitrep.tag)", _rate(len(cleaned) * rounds, tag_seconds),
               "articles/s", note),
        Figure("stages", "clean + tag", _rate(total, clean_seconds + tag_seconds),
               "articles/s", note),
        Figure("stages", "tagging cost as a share of cleaning", 100 * tag_seconds / clean_seconds,
               "%", "goal: under 10 %"),
    ]


def bench_index(
    settings: Settings, documents: int = 5_000, progress: Callable[[str], None] = lambda _: None,
) -> list[Figure]:
    """Bulk indexing into the real node: tagged demo articles under fresh URLs."""
    from elasticsearch import AsyncElasticsearch, Elasticsearch

    from sitrep.clean import clean_html
    from sitrep.index import Indexer, StoryLock, drop_indices, ensure_template
    from sitrep.tag import get_tagger

    tagger = get_tagger()
    tagged = [tagger.tag_article(clean_html(html, url=url)) for url, html in _demo_pages()]
    s = settings.model_copy(update={"index_prefix": f"bench-{uuid.uuid4().hex[:8]}"})
    batch_size = 500

    async def run() -> tuple[float, list[float]]:
        es = AsyncElasticsearch(s.elasticsearch_url, request_timeout=60)
        try:
            await ensure_template(es, s)
            indexer = Indexer(s, es)
            started = time.perf_counter()
            for first in range(0, documents, batch_size):
                batch = []
                for n in range(first, min(first + batch_size, documents)):
                    article = dict(tagged[n % len(tagged)])
                    article["canonical_url"] = f"https://bench.example/{n}"
                    article["text_hash"] = f"{n:064x}"
                    article["minhash"] = None
                    batch.append(article)
                await indexer.index(batch)
                progress(f"indexed {min(first + batch_size, documents)}/{documents}")
            seconds = time.perf_counter() - started
            # What the story lease adds to every batch when no other worker holds it.
            lease_ms = []
            for _ in range(300):
                lock = StoryLock(s, es)
                started = time.perf_counter()
                await lock.acquire()
                await lock.release()
                lease_ms.append((time.perf_counter() - started) * 1000)
            return seconds, lease_ms
        finally:
            await es.close()

    try:
        seconds, lease_ms = asyncio.run(run())
    finally:
        sync = Elasticsearch(s.elasticsearch_url)
        drop_indices(sync, s)
        sync.close()
    return [
        Figure("index", "bulk indexing (batches of 500, with story lookup)",
               _rate(documents, seconds), "docs/s", f"{documents} documents"),
        Figure("index", "story lease per batch, p50", _percentile(lease_ms, 0.5), "ms",
               "acquire + release, uncontended"),
        Figure("index", "story lease per batch, p99", _percentile(lease_ms, 0.99), "ms"),
    ]


#: The pipeline bench stops waiting when no document was indexed for this long.
STALL_SECONDS = 30.0


def _produce_pages(settings: Settings, pages: Sequence[tuple[str, str]]) -> int:
    """Real pages as ``articles.raw`` messages (what the poller makes of a fetched page)."""
    import json

    from kafka import KafkaProducer

    from sitrep.topics import create_topics
    from sitrep.urls import article_id, canonical_url

    create_topics(settings)
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_servers, acks="all", compression_type="gzip",
        linger_ms=20, max_request_size=8_388_608, client_id="sitrep-bench",
    )
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for number, (url, html) in enumerate(pages):
        canonical = canonical_url(url)
        message: dict[str, Any] = {
            "schema": "articles.raw/1", "id": article_id(canonical),
            "feed": {"id": "bench-real-pages", "url": "https://pages.example/feed.xml",
                     "name": "real pages", "title": None, "tags": [], "language": None},
            "entry": {"key": str(number), "guid": None, "link": url, "title": None,
                      "summary": None, "published": None, "updated": None, "authors": [],
                      "tags": [], "language": None},
            "url": url, "canonical_url": canonical, "fetched_at": now,
            "fetch": {"status": "ok", "http_status": 200, "content_type": "text/html",
                      "error": None, "elapsed_ms": 0.0, "redirects": []},
            "headers": {}, "html": html, "encoding": "utf-8",
            "html_bytes": len(html.encode("utf-8")), "html_truncated": False,
            "html_cap": settings.article_max_bytes,
        }
        producer.send(settings.topic("articles.raw"), key=str(message["id"]).encode(),
                      value=json.dumps(message).encode())
    producer.flush()
    producer.close()
    return len(pages)


def bench_pipeline(
    settings: Settings, feeds: int = 50, entries: int = 10, workers: int = 2,
    progress: Callable[[str], None] = lambda _: None,
    pages: Path | None = None, limit: int | None = 300,
) -> list[Figure]:
    """End to end on the real Kafka and Elasticsearch: raw pages in, documents out.

    Real pages (``pages``, default: the development set when present) go straight into
    articles.raw as the poller would send them (``limit`` of them); without real pages the
    poller fills articles.raw from the fixture server's generated feeds. Then ``workers``
    worker processes clean, tag and index them all. Bare trafilatura on the same pages,
    times the same number of processes, is the ceiling: the ratio says whether extraction
    or the plumbing limits the pipeline.
    """
    import trafilatura
    from elasticsearch import ApiError, Elasticsearch

    from sitrep.clean import CleanError, clean_html
    from sitrep.feeds import Feed, FeedRegistry
    from sitrep.index import alias, drop_indices
    from sitrep.poller import Poller
    from sitrep.tag import get_tagger

    use_real = pages is not None or default_pages_dir() is not None
    chosen = real_pages(pages, limit) if use_real else []
    total = len(chosen) if use_real else feeds * entries
    token = uuid.uuid4().hex[:8]
    with contextlib.ExitStack() as stack:
        s = stack.enter_context(scratch_topics(polling_fixtures(
            settings, index_prefix=f"bench-{token}", topic_partitions=max(2, workers),
        )))
        if use_real:
            progress(f"sending {total} real pages to articles.raw")
            _produce_pages(s, chosen)
            sample = [html for _, html in chosen[:200]]
        else:
            base = stack.enter_context(fixture_server(feeds, entries))
            progress(f"polling {feeds} feeds into articles.raw")
            FeedRegistry(s).add(Feed.create(f"{base}/feeds/{n}.xml") for n in range(feeds))
            asyncio.run(Poller(s, exit_when_idle=True).run())
            sample = _raw_pages(s, limit=200)
        started = time.perf_counter()
        for page in sample:
            trafilatura.extract(page)
        bare = _rate(len(sample), time.perf_counter() - started)
        tagger = get_tagger()
        started = time.perf_counter()
        for page in sample:
            with contextlib.suppress(CleanError):
                tagger.tag_article(clean_html(page))
        stages = _rate(len(sample), time.perf_counter() - started)
        env = {**os.environ, "SITREP_TOPIC_PREFIX": s.topic_prefix,
               "SITREP_INDEX_PREFIX": s.index_prefix, "SITREP_LOG_LEVEL": "WARNING",
               "SITREP_TOPIC_PARTITIONS": str(s.topic_partitions)}
        es = Elasticsearch(s.elasticsearch_url)
        processes = [
            subprocess.Popen([sys.executable, "-m", "sitrep", "worker"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(workers)
        ]
        try:
            started = time.perf_counter()
            first_seen = None
            indexed = 0
            last_change, last_count = started, 0
            # Real pages without text (or duplicates of one another) never become
            # documents: stop when the count has not moved for STALL_SECONDS.
            while indexed < total and time.perf_counter() - started < 900 and (
                time.perf_counter() - last_change < STALL_SECONDS
            ):
                time.sleep(0.5)
                try:
                    es.indices.refresh(index=f"{alias(s)}*", allow_no_indices=True)
                    indexed = int(es.count(index=alias(s), ignore_unavailable=True,
                                           allow_no_indices=True)["count"])
                except ApiError as exc:  # a monthly index just created, no shard started
                    if exc.meta.status != 503:
                        raise
                    continue
                if indexed != last_count:
                    last_change, last_count = time.perf_counter(), indexed
                if indexed and first_seen is None:
                    first_seen = time.perf_counter()
                progress(f"indexed {indexed}/{total} with {workers} workers")
            seconds = (last_change if indexed < total else time.perf_counter()) - (
                first_seen or started)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(60)
            drop_indices(es, s)
            es.close()
        rate = _rate(indexed, seconds)
        return [
            Figure("pipeline", f"end to end, {workers} worker processes", rate, "articles/s",
                   f"{indexed} articles of {total} "
                   f"{'real pages' if use_real else 'generated pages'}, first to last"),
            Figure("pipeline", "clean + tag alone on the same pages, 1 process", stages,
                   "articles/s", f"x{workers} processes = {stages * workers:.1f}/s"),
            Figure("pipeline", "pipeline / (clean + tag alone), same process count",
                   100 * rate / (stages * workers) if stages else 0.0, "%",
                   "the rest is Kafka, Faust, Elasticsearch and 2 cores shared with them"),
            Figure("pipeline", "bare trafilatura on the same pages, 1 process", bare,
                   "articles/s", f"x{workers} processes = {bare * workers:.1f}/s"),
            Figure("pipeline", "pipeline / bare trafilatura (same process count)",
                   100 * rate / (bare * workers) if bare else 0.0, "%",
                   "how close the whole pipeline gets to extraction alone; target >= 60 %"),
        ]


def _raw_pages(settings: Settings, limit: int) -> list[str]:
    import json

    from sitrep.topics import read_to_end

    records = read_to_end(settings, settings.topic("articles.raw"), limit=limit)
    return [json.loads(record.value)["html"] or "" for record in records]


SUITES.update({"stages": bench_stages, "index": bench_index, "pipeline": bench_pipeline})


# --------------------------------------------------------------------------------------------
# Generated corpora for the search and match suites
# --------------------------------------------------------------------------------------------
# Search latency and matching cost depend on what is searched: text length, vocabulary, how
# many places and actors an article carries, how selective a query is. Cleaning and tagging
# 100,000 pages would take longer than the benchmark itself, so the demo articles are cleaned
# and tagged once and recombined: paragraphs from several articles of one language, re-tagged
# by looking for the surface forms the tagger found, so that an article about Mosul is tagged
# Nineveh and a query for actor:pmf finds the text that names the PMF. Every generator below
# is a pure function of its inputs and a seed, so two runs benchmark the same corpus.

def _split(words: str) -> tuple[str, ...]:
    """The words of a literal block (long word lists read better as text)."""
    return tuple(words.split())


#: Outlets a derived article is attributed to (the demo corpus has only seven).
BENCH_SOURCES: Final = (
    "Reuters", "Associated Press", "Agence France-Presse", "Al Jazeera English", "BBC News",
    "The Guardian", "The New York Times", "The Washington Post", "Al-Monitor", "Rudaw",
    "Kurdistan 24", "The National", "Arab News", "Asharq Al-Awsat", "Middle East Eye",
    "The Times of Israel", "Haaretz", "Daily Sabah", "Hurriyet Daily News", "Anadolu Agency",
    "Tehran Times", "Press TV", "IRNA", "SANA", "Enab Baladi", "Syria Direct",
    "North Press Agency", "Shafaq News", "Iraqi News Agency", "Baghdad Today", "964",
    "L'Orient Today", "Naharnet", "The Daily Star", "Jordan Times", "Roya News", "Al Arabiya",
    "Sky News Arabia", "France 24", "Deutsche Welle", "Voice of America", "Radio Free Europe",
    "Long War Journal", "Foreign Policy", "The Economist", "Financial Times", "Newsweek",
    "Meridian Press Agency", "The Tigris Herald", "The Levant Review",
)

#: Words analysts put next to an actor or a place. Appended to the words of the demo texts,
#: ranked after them, so the vocabulary reaches a few thousand words with a realistic head.
TOPIC_WORDS: Final = _split("""
attack attacks attacked strike strikes airstrike airstrikes drone drones rocket rockets missile
missiles mortar shelling bombing bomb explosion blast ied ambush raid raids assault offensive
clashes clash fighting battle siege ceasefire truce killed wounded casualties dead deaths
injured civilians fighters militants militia militias insurgents troops soldiers forces army
police convoy checkpoint border crossing base bases airport oil pipeline refinery field
kidnapping kidnapped hostage hostages abducted detained arrested arrest prisoners prison
execution executed sanctions sanction embargo talks negotiations deal agreement elections
election parliament protest protests protesters demonstration riot unrest strike curfew
refugees displaced camp camps aid humanitarian famine cholera outbreak earthquake flood
drought water electricity blackout fuel shortage currency inflation economy budget salaries
corruption smuggling trafficking weapons arms ammunition shipment seized seizure intercepted
assassination assassinated sniper gunmen gunfire shooting shot mine landmine suicide bomber
cell sleeper cells operation operations campaign sweep security intelligence spy
espionage cyber hackers propaganda statement claimed claim responsibility threat threatens
warned warning retaliation revenge escalation tensions deployment withdrawal pullout
reinforcements advance retreat captured recaptured liberated control territory frontline
village villages town city province district desert mountains river dam bridge highway road
tribal tribe sheikh cleric shrine mosque church minority yazidi christian kurdish kurds
turkmen sunni shia alawite druze arab arabs persian iranian iraqi syrian turkish lebanese
jordanian israeli palestinian saudi emirati qatari american russian french british
withdraw occupation resistance jihadist jihadists extremist extremists terror terrorism
terrorist terrorists caliphate remnants resurgence hideout tunnel tunnels cache
helicopter jet jets fighter warplane warplanes artillery tank tanks armored vehicle vehicles
uav ballistic cruise interception intercept defense defence radar nuclear enrichment uranium
inspectors centrifuges tanker tankers shipping navy vessel vessels port gulf strait
embassy consulate diplomat diplomats envoy minister ministry president prime premier
governor commander general colonel spokesman official officials leader leaders chief
""")

_STOPWORDS: Final = frozenset(_split("""
the a an and or not of to in on at by for from with as is are was were be been being has
have had do does did will would could should may might can must shall this that these those
it its he she they them his her their our we you i me my your who whom whose which what when
where why how all any both each few more most other some such no nor only own same so than too
very just also but if then there here into over under after before between through during
about against among above below up down out off again further once said says say told according
one two three four five six seven eight nine ten new last first year years day days week weeks
month months mr ms while since because until still even however around per including
"""))

_WORD: Final = re.compile(r"[^\W\d_][\w'-]*[^\W_]|[^\W\d_]", re.UNICODE)


@dataclass(frozen=True, slots=True)
class _Paragraph:
    """A paragraph of a demo article and the tags (indices into its article's) it mentions."""

    text: str
    places: tuple[tuple[int, int], ...]  # (place index, mentions)
    actors: tuple[tuple[int, int], ...]  # (actor index, mentions)


@dataclass(frozen=True, slots=True)
class _Base:
    article: dict[str, Any]
    paragraphs: tuple[_Paragraph, ...]


def _mentions(text: str, forms: Sequence[str]) -> int:
    return sum(text.count(form) for form in forms if form)


def _prepare(bases: Sequence[dict[str, Any]]) -> list[_Base]:
    """Split each tagged article into paragraphs and note which of its tags each mentions, so
    a recombined article carries the tags of the text it is made of."""
    prepared = []
    for article in bases:
        places = article.get("places") or []
        actors = article.get("actors") or []
        paragraphs = []
        for text in (p.strip() for p in str(article.get("text") or "").split("\n")):
            if not text:
                continue
            found_places = tuple(
                (i, n) for i, p in enumerate(places)
                if (n := _mentions(text, p.get("surface_forms") or [p.get("name") or ""])))
            found_actors = tuple(
                (i, n) for i, a in enumerate(actors)
                if (n := _mentions(text, a.get("surface_forms") or [a.get("name") or ""])))
            paragraphs.append(_Paragraph(text, found_places, found_actors))
        if paragraphs:
            prepared.append(_Base(article, tuple(paragraphs)))
    return prepared


_TITLES: Final = (
    "{actor} blamed for {topic} near {place}",
    "{topic} in {place}: {actor} under pressure",
    "{actor} says it carried out {topic} in {place}",
    "Officials report {topic} around {place}",
    "{place} residents describe {topic} as {actor} advance",
    "Analysis: what the {topic} in {place} means for {actor}",
)


def _admin1_key(place: Mapping[str, Any]) -> str:
    """``IQ.15`` for a place tag, whether its ``admin1`` is the key or the bare code."""
    admin1 = str(place["admin1"])
    return admin1 if "." in admin1 else f"{place['country']}.{admin1}"


def derive_articles(
    bases: Sequence[dict[str, Any]], count: int, seed: int, *,
    start: datetime = datetime(2023, 1, 1, tzinfo=UTC), days: int = 3 * 365,
    sources: Sequence[str] = BENCH_SOURCES, topics: Sequence[str] = TOPIC_WORDS,
) -> Iterator[dict[str, Any]]:
    """``count`` tagged articles (``articles.tagged`` messages) recombined from ``bases``.

    Each takes 3 to 8 paragraphs from one to three articles of the same language (about 90 %
    English, the rest Arabic or French when the bases have them), a title of one of them or
    made from its own tags, a date within ``days`` of ``start``, one of ``sources``, and the
    places and actors whose surface forms occur in what it took. URLs and ids are unique per
    (seed, number); ``minhash`` is left out, as these are not near-duplicates of anything.
    """
    rng = random.Random(seed)
    by_language: dict[str, list[_Base]] = {}
    for base in _prepare(bases):
        by_language.setdefault(str(base.article.get("language") or "en"), []).append(base)
    if not by_language:
        return
    languages = sorted(by_language)
    weights = [90.0 if lang == "en" else 10.0 / max(1, len(languages) - 1) for lang in languages]
    if "en" not in by_language:
        weights = [1.0] * len(languages)
    seconds = days * 86_400
    for n in range(count):
        language = rng.choices(languages, weights)[0]
        pool = by_language[language]
        chosen = rng.sample(pool, min(len(pool), rng.randint(1, 3)))
        wanted = rng.randint(3, 8)
        picked: list[tuple[_Base, _Paragraph]] = []
        for base in chosen:
            share = max(1, wanted // len(chosen))
            paragraphs = list(base.paragraphs)
            first = rng.randrange(len(paragraphs))
            picked += [(base, p) for p in paragraphs[first:first + share]]
        places: dict[str, dict[str, Any]] = {}
        actors: dict[str, dict[str, Any]] = {}
        for base, paragraph in picked:
            for i, mentions in paragraph.places:
                tag = base.article["places"][i]
                entry = places.setdefault(str(tag.get("id")), {**tag, "mentions": 0})
                entry["mentions"] += mentions
            for i, mentions in paragraph.actors:
                tag = base.article["actors"][i]
                entry = actors.setdefault(str(tag.get("id")), {**tag, "mentions": 0})
                entry["mentions"] += mentions
        text = "\n".join(p.text for _, p in picked)
        lead = chosen[0].article
        title = str(lead.get("title") or "")
        if language == "en" and places and actors and rng.random() < 0.6:
            title = rng.choice(_TITLES).format(
                actor=rng.choice(sorted(a["name"] for a in actors.values())),
                place=rng.choice(sorted(p["name"] for p in places.values())),
                topic=rng.choice(topics),
            )
            title = title[0].upper() + title[1:]
        published = start + timedelta(seconds=rng.randrange(seconds))
        source = rng.choice(sources)
        actor_list = sorted(actors.values(), key=lambda a: -a["mentions"])
        place_list = sorted(places.values(), key=lambda p: -p["mentions"])
        url = f"https://bench{seed}.example/{n}"
        yield {
            "id": f"bench-{seed}-{n}",
            "url": url,
            "canonical_url": url,
            "title": title,
            "text": text,
            "description": picked[0][1].text[:200],
            "authors": [],
            "published": published.isoformat(),
            "updated": None,
            "fetched_at": (published + timedelta(minutes=rng.randint(1, 90))).isoformat(),
            "feed": {"id": f"bench-{sources.index(source)}", "name": source, "tags": [],
                     "language": language},
            "site_name": source,
            "language": language,
            "categories": [],
            "tags": [],
            "image": None,
            "word_count": len(text.split()),
            "text_hash": hashlib.blake2b(f"{seed}/{n}".encode(), digest_size=16).hexdigest(),
            "minhash": None,
            "places": place_list,
            "actors": actor_list,
            "countries": sorted({p["country"] for p in place_list if p.get("country")}
                                | {c for a in actor_list if a.get("type") == "state"
                                   for c in a.get("countries") or []}),
            "admin1": sorted({_admin1_key(p) for p in place_list
                              if p.get("country") and p.get("admin1")}),
            "geo": [{"lat": p["lat"], "lon": p["lon"]} for p in place_list
                    if p.get("lat") is not None and p.get("lon") is not None],
            "actor_ids_rollup": sorted({a["id"] for a in actor_list}
                                       | {a["parent"] for a in actor_list if a.get("parent")}),
            "actor_types": sorted({a["type"] for a in actor_list if a.get("type")}),
            "actor_countries": sorted({c for a in actor_list for c in a.get("countries") or []}),
        }


def derive_documents(
    bases: Sequence[dict[str, Any]], count: int, seed: int,
    now: datetime = datetime(2026, 1, 1, tzinfo=UTC),
) -> Iterator[dict[str, Any]]:
    """:func:`derive_articles` as the Elasticsearch documents :func:`to_document` makes of
    them (each its own story), with a fixed ``now`` so the output depends on the seed only."""
    from sitrep.index import document_id, to_document

    for article in derive_articles(bases, count, seed):
        yield to_document(article, story_id=document_id(article), duplicate_of=None, now=now)


def build_vocabulary(
    texts: Iterable[str], extra: Sequence[str] = TOPIC_WORDS, size: int = 4_000,
) -> tuple[str, ...]:
    """Lower-case content words, commonest first: the words of ``texts`` by frequency, then
    ``extra``. Its order is the rank a Zipf draw (:func:`_zipf_weights`) follows."""
    counts: dict[str, int] = {}
    for text in texts:
        for word in _WORD.findall(text.lower()):
            if len(word) >= 3 and word not in _STOPWORDS and word.isalpha():
                counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts, key=lambda w: (-counts[w], w))
    return tuple(dict.fromkeys([*ranked, *extra]))[:size]


def build_phrases(texts: Iterable[str], size: int = 300) -> tuple[str, ...]:
    """The commonest two-word sequences of content words in ``texts`` ("drone strike")."""
    counts: dict[str, int] = {}
    for text in texts:
        words = _WORD.findall(text.lower())
        for left, right in itertools.pairwise(words):
            if (left not in _STOPWORDS and right not in _STOPWORDS and len(left) >= 3
                    and len(right) >= 3 and left.isalpha() and right.isalpha()):
                pair = f"{left} {right}"
                counts[pair] = counts.get(pair, 0) + 1
    return tuple(sorted((p for p in counts if counts[p] > 1),
                        key=lambda p: (-counts[p], p))[:size])


def _zipf_weights(size: int, exponent: float = 1.0, offset: float = 0.0) -> list[float]:
    """Cumulative weights of ranks 1..size proportional to 1 / (rank + offset)**exponent
    (Zipf-Mandelbrot: the offset flattens the head, as analysts rarely subscribe to the very
    commonest words of the beat, "forces" or "Iraq", without something narrower)."""
    total = 0.0
    cumulative = []
    for rank in range(1, size + 1):
        total += 1.0 / (rank + offset)**exponent
        cumulative.append(total)
    return cumulative


_OPERATOR_WORDS: Final = frozenset({"AND", "OR", "NOT"})
_PLAIN: Final = re.compile(r"[^\W\d_][\w'.-]*[^\W_]|[^\W\d_]", re.UNICODE)
_UNQUOTABLE: Final = frozenset('"\u201c\u201d\u201e():')


def quote(text: str) -> str:
    """``text`` as one operand of the query language: a bare word when it is one, else a
    phrase (names with quotes, parentheses or colons are not usable and are filtered out
    before, see :func:`usable_name`)."""
    if _PLAIN.fullmatch(text) and text not in _OPERATOR_WORDS:
        return text
    return f'"{text}"'


def usable_name(text: str) -> bool:
    """Whether an analyst could type ``text`` as a word or phrase of a query."""
    return bool(text.strip()) and not (set(text) & _UNQUOTABLE) and any(c.isalpha() for c in text)


@dataclass(frozen=True, slots=True)
class ActorNames:
    """What a subscription can name an actor by: ``actor:id``, its name, or an alias."""

    id: str
    name: str
    aliases: tuple[str, ...]
    countries: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Gazette:
    """Inputs of the query generators: who and where analysts write about, in which words."""

    actors: tuple[ActorNames, ...]
    places: tuple[str, ...]
    regions: tuple[str, ...]
    vocabulary: tuple[str, ...]
    phrases: tuple[str, ...] = ()
    countries: tuple[str, ...] = ("IQ", "SY", "IR", "TR", "LB", "JO", "IL", "YE", "SA", "US")
    sources: tuple[str, ...] = BENCH_SOURCES


#: Zipf-Mandelbrot offset of topic words (ranked by frequency in the demo texts): the head's
#: words ("forces", "iraqi", "government") appear in nearly every article of this corpus.
WORD_OFFSET: Final = 30.0


class _Drawer:
    """Seeded draws from a :class:`Gazette`, Zipf-like over each ranked list."""

    def __init__(self, gazette: Gazette, seed: int) -> None:
        self.g = gazette
        self.rng = random.Random(seed)
        self._weights: dict[tuple[int, float], list[float]] = {}

    def _zipf(self, items: Sequence[str] | Sequence[ActorNames], offset: float = 10.0) -> int:
        key = (len(items), offset)
        weights = self._weights.get(key)
        if weights is None:
            weights = self._weights[key] = _zipf_weights(len(items), 1.0, offset)
        return self.rng.choices(range(len(items)), cum_weights=weights)[0]

    def word(self) -> str:
        return self.g.vocabulary[self._zipf(self.g.vocabulary, WORD_OFFSET)]

    def actor(self) -> ActorNames:
        return self.g.actors[self._zipf(self.g.actors)]

    def surface(self, actor: ActorNames) -> str:
        """Name or alias of ``actor`` as an analyst writes it (names twice as likely)."""
        forms = [actor.name, actor.name, *actor.aliases]
        return quote(self.rng.choice(forms))

    def place(self) -> str:
        return quote(self.g.places[self._zipf(self.g.places)])

    def region(self) -> str:
        return quote(self.g.regions[self._zipf(self.g.regions)])

    def country(self, actor: ActorNames | None = None) -> str:
        if actor is not None and actor.countries and self.rng.random() < 0.7:
            return self.rng.choice(actor.countries)
        return self.rng.choice(self.g.countries)

    def phrase(self) -> str:
        if self.g.phrases and self.rng.random() < 0.7:
            return f'"{self.g.phrases[self._zipf(self.g.phrases)]}"'
        return f'"{self.word()} {self.word()}"'


def generate_subscriptions(gazette: Gazette, count: int, seed: int) -> list[str]:
    """``count`` alert subscriptions as analysts write them: mostly an actor or a place plus
    a topic word or two, some with a country, region or language filter, OR groups of
    aliases, exclusions. Repeats are allowed (two analysts may want the same thing)."""
    d = _Drawer(gazette, seed)
    rng = d.rng

    def actor_topic() -> str:
        return f"{d.surface(d.actor())} {d.word()}"

    def actor_two_topics() -> str:
        return f"{d.surface(d.actor())} {d.word()} {d.word()}"

    def alias_country() -> str:
        actor = d.actor()
        return f"{d.surface(actor)} country:{d.country(actor)}"

    def aliases_region() -> str:
        actor = d.actor()
        forms = list(dict.fromkeys([actor.name, *actor.aliases]))
        if len(forms) >= 2:
            first, second = rng.sample(forms, 2)
        else:
            first, second = forms[0], d.actor().name
        return f"({quote(first)} OR {quote(second)}) region:{d.region()}"

    def actor_field() -> str:
        actor = d.actor()
        tail = rng.choice(["-lang:ar", d.word(), f"country:{d.country(actor)}", "lang:en"])
        return f"actor:{actor.id} {tail}"

    def two_topics() -> str:
        return f"{d.word()} {d.word()}" if rng.random() < 0.6 else d.phrase()

    def actor_and_place() -> str:
        return f"{d.surface(d.actor())} AND {d.place()}"

    def place_topic() -> str:
        return f"{d.place()} {d.word()}"

    def region_topic() -> str:
        return f"region:{d.region()} {d.word()}"

    def topic_not() -> str:
        return f"{d.word()} {d.place()} NOT {d.word()}"

    makers: list[tuple[Callable[[], str], float]] = [
        (actor_topic, 24), (actor_two_topics, 8), (alias_country, 10), (aliases_region, 8),
        (actor_field, 8), (two_topics, 12), (actor_and_place, 8), (place_topic, 12),
        (region_topic, 6), (topic_not, 4),
    ]
    functions = [m for m, _ in makers]
    weights = [w for _, w in makers]
    return [rng.choices(functions, weights)[0]() for _ in range(count)]


@dataclass(frozen=True)
class BenchQuery:
    """One search of the mix; ``page`` > 1 is reached by following ``next`` from page 1."""

    request: SearchRequest
    page: int = 1


def generate_search_requests(
    gazette: Gazette, count: int, seed: int, *,
    start: datetime = datetime(2023, 1, 1, tzinfo=UTC), days: int = 3 * 365,
    deep_page: int = 50,
) -> list[BenchQuery]:
    """``count`` distinct searches: words, phrases, OR groups, exclusions, field filters and
    request filters, date ranges, ``sort=date``, collapsing, and about one in twenty asking
    for page ``deep_page``. Facets and highlighting are on, as in the API's default."""
    from sitrep.search import Filters, SearchRequest

    d = _Drawer(gazette, seed)
    rng = d.rng

    def query_text() -> str | None:
        kind = rng.choices(range(10), [20, 14, 10, 8, 8, 8, 8, 8, 6, 4])[0]
        actor = d.actor()
        if kind == 0:
            return d.word()
        if kind == 1:
            return f"{d.word()} {d.word()}"
        if kind == 2:
            return d.phrase()
        if kind == 3:
            return f"({d.word()} OR {d.word()}) {d.word()}"
        if kind == 4:
            if rng.random() < 0.5:
                return f"{d.word()} -{d.word()}"
            return f"{d.surface(actor)} NOT {d.word()}"
        if kind == 5:
            return f"{d.word()} country:{d.country(actor)}"
        if kind == 6:
            return f"{d.word()} region:{d.region()}"
        if kind == 7:
            return f"actor:{actor.id} {d.word()}" if rng.random() < 0.7 else f"actor:{actor.id}"
        if kind == 8:
            if rng.random() < 0.5:
                return f"{d.surface(actor)} source:{quote(rng.choice(gazette.sources))}"
            return f"{d.word()} lang:{rng.choice(['ar', 'fr', 'en'])}"
        return None  # filters only: "everything in Nineveh"

    found: dict[str, BenchQuery] = {}
    tries = 0
    while len(found) < count and tries < count * 50:
        tries += 1
        q = query_text()
        filters = Filters()
        if q is None or rng.random() < 0.25:
            which = rng.choice(["country", "region", "actor", "lang", "source"])
            value = {
                "country": lambda: d.country(),
                "region": lambda: d.region().strip('"'),
                "actor": lambda: d.actor().id,
                "lang": lambda: rng.choice(["en", "ar", "fr"]),
                "source": lambda: rng.choice(gazette.sources),
            }[which]()
            filters = Filters(**{which: [value]})
        since = until = None
        if rng.random() < 0.2:
            since = start + timedelta(days=rng.randrange(days - 30))
            until = since + timedelta(days=rng.choice([7, 30, 90, 365]))
        deep = rng.random() < 0.05
        if deep:  # someone paging far through a broad search: one of the commonest words
            q = gazette.vocabulary[rng.randrange(min(20, len(gazette.vocabulary)))]
            filters, since, until = Filters(), None, None
        request = SearchRequest(
            q=q, filters=filters, since=since, until=until,
            sort="date" if rng.random() < 0.3 else "relevance",
            collapse=rng.random() < 0.15, size=10,
        )
        key = request.model_dump_json() + str(deep)
        found.setdefault(key, BenchQuery(request, deep_page if deep else 1))
    return list(found.values())


def tagged_demo_articles() -> list[dict[str, Any]]:
    """The demo pages cleaned and tagged, once: the material every generated article is
    recombined from."""
    from sitrep.clean import clean_html
    from sitrep.tag import get_tagger

    tagger = get_tagger()
    return [tagger.tag_article(clean_html(html, url=url)) for url, html in _demo_pages()]


#: Where the analysts of this beat look: actors and places of these countries come first.
BEAT_COUNTRIES: Final = ("IQ", "SY", "IR", "TR", "LB", "JO")


#: Regions by the names the English-language press gives them.
ENGLISH_REGIONS: Final = _split("""
Nineveh Anbar Kirkuk Salahuddin Diyala Baghdad Basra Erbil Dohuk Sulaymaniyah Babil Karbala
Najaf Wasit Maysan Dhi-Qar Muthanna Qadisiyah Raqqa Hasakah Idlib Aleppo Homs Hama Daraa
Latakia Tartus Quneitra Sweida Damascus Beirut Bekaa Nabatieh Akkar Hatay Gaziantep Sanliurfa
Mardin Sirnak Hakkari Khuzestan Kermanshah Kurdistan Tehran Sistan Irbid Mafraq Zarqa Amman
""")


def load_gazette(bases: Sequence[dict[str, Any]], places: int = 400) -> Gazette:
    """The shipped actor dictionary and gazetteer, ranked for the beat: actors and places the
    demo articles mention first (the news is about them), then those of
    :data:`BEAT_COUNTRIES` (by importance), so Zipf draws favour what the corpus contains
    without making every subscription hit."""
    from sitrep.actors import load_actor_dictionary
    from sitrep.gazetteer import load_gazetteer
    from sitrep.query import region_keys

    mentioned_actors: dict[str, int] = {}
    mentioned_places: dict[str, int] = {}
    for article in bases:
        for a in article.get("actors") or []:
            mentioned_actors[a["id"]] = mentioned_actors.get(a["id"], 0) + int(a.get("mentions")
                                                                               or 1)
        for p in article.get("places") or []:
            if p.get("name"):
                mentioned_places[p["name"]] = mentioned_places.get(p["name"], 0) + 1
    dictionary = load_actor_dictionary()

    def on_beat(countries: Sequence[str]) -> bool:
        return bool(set(countries) & set(BEAT_COUNTRIES))

    actors = sorted(
        dictionary.actors,
        key=lambda a: (-mentioned_actors.get(a.id, 0), not on_beat(a.countries), a.id),
    )
    gazette_actors = tuple(
        ActorNames(a.id, a.name,
                   tuple(x for x in a.aliases if x.isascii() and usable_name(x)),
                   tuple(a.countries))
        for a in actors if usable_name(a.name)
    )
    gazetteer = load_gazetteer()
    beat = [p for p in gazetteer if p.country in BEAT_COUNTRIES]
    regions = sorted((p for p in beat if p.is_admin1),
                     key=lambda p: (-mentioned_places.get(p.name, 0), -p.importance, p.name))
    towns = sorted((p for p in beat if p.is_populated_place),
                   key=lambda p: (-mentioned_places.get(p.name, 0), -p.importance, p.name))
    place_names = list(dict.fromkeys(
        [n for n in sorted(mentioned_places, key=lambda n: -mentioned_places[n])]
        + [p.ascii_name or p.name for p in towns[:places]]))
    # Analysts write "Nineveh", not GeoNames' "Nīnawá": the English names that the query
    # language resolves come first, then the gazetteer's own (ASCII) spellings.
    english = [name for name in ENGLISH_REGIONS if region_keys(name)]
    texts = [f"{a.get('title') or ''}\n{a.get('text') or ''}" for a in bases]
    return Gazette(
        actors=gazette_actors,
        places=tuple(n for n in place_names if usable_name(n)),
        regions=tuple(dict.fromkeys(
            [*english, *(p.ascii_name or p.name for p in regions)])),
        vocabulary=build_vocabulary(texts),
        phrases=build_phrases(texts),
    )


def _percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile (nearest rank) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def bench_search(
    settings: Settings, articles: int = 100_000, progress: Callable[[str], None] = lambda _: None,
    queries: int = 200, repeats: int = 5, concurrency: int = 4, seed: int = 7,
    deep_page: int = 50,
) -> list[Figure]:
    """Search latency on the real node through :func:`sitrep.search.search`, the API's code
    path (facets and highlighting on), over ``articles`` generated articles.

    The corpus is bulk-indexed under a scratch index prefix (monthly indices created with
    refresh off, then refreshed once), its indices and templates are deleted afterwards.
    ``queries`` distinct searches run once to warm up, then ``repeats`` times one after the
    other (latency), then the same list again ``concurrency`` at a time (throughput).
    """
    from elasticsearch import AsyncElasticsearch, Elasticsearch
    from elasticsearch.helpers import parallel_bulk

    from sitrep.index import drop_indices, ensure_template_sync, index_for
    from sitrep.search import search

    progress("cleaning and tagging the demo articles")
    bases = tagged_demo_articles()
    gazette = load_gazette(bases)
    mix = generate_search_requests(gazette, queries, seed, deep_page=deep_page)
    s = settings.model_copy(update={"index_prefix": f"bench-{uuid.uuid4().hex[:8]}"})
    es = Elasticsearch(s.elasticsearch_url, request_timeout=300)
    figures: list[Figure] = []
    try:
        ensure_template_sync(s)
        months = sorted({index_for(s, (datetime(2023, 1, 1, tzinfo=UTC)
                                       + timedelta(days=day)).isoformat())
                         for day in range(0, 3 * 365 + 31, 15)})
        for name in months:
            es.indices.create(index=name, settings={"refresh_interval": "-1"})

        def actions() -> Iterator[dict[str, Any]]:
            for doc in derive_documents(bases, articles, seed):
                yield {"_op_type": "index", "_index": index_for(s, doc["published"]),
                       "_id": doc["id"], "_source": doc}

        progress(f"indexing {articles} generated articles")
        started = time.perf_counter()
        done = 0
        for ok, item in parallel_bulk(es, actions(), thread_count=2, chunk_size=500,
                                      queue_size=4):
            if not ok:
                raise RuntimeError(f"bulk indexing failed: {item}")
            done += 1
            if done % 10_000 == 0:
                progress(f"indexed {done}/{articles}")
        es.indices.refresh(index=f"{s.index_prefix}-articles-*")
        index_seconds = time.perf_counter() - started
        stats = es.indices.stats(index=f"{s.index_prefix}-articles-*", metric="store")
        store = stats["_all"]["primaries"]["store"]["size_in_bytes"] / 2**20
        figures += [
            Figure("search", "bulk indexing (parallel_bulk, 2 threads, refresh off)",
                   _rate(done, index_seconds), "docs/s",
                   f"{done} docs in {index_seconds:.0f} s incl. generation and to_document; "
                   f"{len(months)} monthly indices, {store:.0f} MiB"),
        ]

        async def run() -> None:
            aes = AsyncElasticsearch(s.elasticsearch_url, request_timeout=60)
            try:
                progress("following `next` to the deep pages")
                runs: list[tuple[str, SearchRequest]] = []
                reached: list[int] = []
                for query in mix:
                    request = query.request
                    page = 1
                    while page < query.page:
                        result = await search(aes, s, request)
                        if result.next is None:
                            break
                        request = request.model_copy(update={"after": result.next})
                        page += 1
                    if query.page > 1:
                        reached.append(page)
                    kind = "deep" if page > 1 else "date" if request.sort == "date" else "rel"
                    runs.append((kind, request))
                progress("warming up")
                for _, request in runs:
                    await search(aes, s, request)
                walls: list[float] = []
                tooks: list[float] = []
                totals: list[int] = []
                by_kind: dict[str, list[float]] = {}
                progress(f"{len(runs) * repeats} searches, one at a time")
                for _ in range(repeats):
                    for kind, request in runs:
                        begun = time.perf_counter()
                        result = await search(aes, s, request)
                        wall = (time.perf_counter() - begun) * 1000
                        walls.append(wall)
                        tooks.append(result.took_ms)
                        totals.append(result.total)
                        by_kind.setdefault(kind, []).append(wall)
                        if request.collapse:
                            by_kind.setdefault("collapse", []).append(wall)
                note = (f"{len(runs)} distinct searches x {repeats}, facets + highlighting, "
                        f"{articles} articles")
                figures.extend([
                    Figure("search", "latency p50 (client wall time)",
                           _percentile(walls, 0.5), "ms", note),
                    Figure("search", "latency p90", _percentile(walls, 0.9), "ms"),
                    Figure("search", "latency p99", _percentile(walls, 0.99), "ms"),
                    Figure("search", "server `took` p50", _percentile(tooks, 0.5), "ms",
                           "the rest of the wall time is transport + client code"),
                    Figure("search", "server `took` p99", _percentile(tooks, 0.99), "ms"),
                ])
                for kind, label in (("rel", "sort=relevance"), ("date", "sort=date"),
                                    ("collapse", "collapse=True"), ("deep", "deep page")):
                    values = by_kind.get(kind, [])
                    if values:
                        extra = (f", {sum(1 for p in reached if p == deep_page)} of "
                                 f"{len(reached)} reached page {deep_page}"
                                 if kind == "deep" and reached else "")
                        figures.append(Figure(
                            "search", f"latency p50, {label}", _percentile(values, 0.5), "ms",
                            f"{len(values) // repeats} searches, p99 "
                            f"{_percentile(values, 0.99):.1f} ms{extra}"))
                figures.append(Figure(
                    "search", "hits per search (median total)", _percentile(totals, 0.5),
                    "hits", f"{sum(1 for t in totals if t == 0) / len(totals):.0%} with none"))
                progress(f"{len(runs) * repeats} searches, {concurrency} at a time")
                queue = [request for _ in range(repeats) for _, request in runs]
                position = 0

                async def worker() -> None:
                    nonlocal position
                    while position < len(queue):
                        request = queue[position]
                        position += 1
                        await search(aes, s, request)

                begun = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                elapsed = time.perf_counter() - begun
                figures.append(Figure(
                    "search", f"throughput, {concurrency} concurrent clients",
                    _rate(len(queue), elapsed), "searches/s",
                    f"{len(queue)} searches in {elapsed:.1f} s, {cpu_note()} shared with "
                    "Elasticsearch and Kafka"))
            finally:
                await aes.close()

        asyncio.run(run())
    finally:
        drop_indices(es, s)
        es.close()
    return figures


def bench_match(
    settings: Settings, counts: Sequence[int] = (1_000, 10_000, 100_000),
    progress: Callable[[str], None] = lambda _: None,
    articles: int = 200, rounds: int = 3, seed: int = 11,
) -> list[Figure]:
    """Alert matching cost per article with ``counts`` subscriptions, in process.

    Per count: a :class:`sitrep.match.SubscriptionIndex` of generated subscriptions is built
    (timed: subscriptions/s), built again under tracemalloc (its memory), then ``articles``
    generated documents are matched ``rounds`` times, each timed from the document dict to the
    list of matches (the :class:`DocumentView` is part of the cost, as in
    :meth:`sitrep.alerts.Matcher.match`).
    """
    import tracemalloc

    from sitrep.match import DocumentView, SubscriptionIndex
    from sitrep.query import parse

    progress("cleaning and tagging the demo articles")
    bases = tagged_demo_articles()
    gazette = load_gazette(bases)
    documents = list(derive_documents(bases, articles, seed))
    figures: list[Figure] = []
    for count in counts:
        progress(f"{count} subscriptions: generating")
        queries = generate_subscriptions(gazette, count, seed + count)

        def build(queries: Sequence[str] = queries) -> SubscriptionIndex[int]:
            index: SubscriptionIndex[int] = SubscriptionIndex()
            for key, text in enumerate(queries):
                index.add(key, parse(text))
            return index

        progress(f"{count} subscriptions: building the index")
        gc.collect()
        started = time.perf_counter()
        index = build()
        build_seconds = time.perf_counter() - started
        del index
        gc.collect()
        tracemalloc.start()
        base_memory = tracemalloc.get_traced_memory()[0]
        index = build()
        memory = (tracemalloc.get_traced_memory()[0] - base_memory) / 2**20
        tracemalloc.stop()
        progress(f"{count} subscriptions: matching {articles} articles x {rounds}")
        for document in documents[:20]:  # warm-up: caches, branch of first use
            index.match(DocumentView(document))
        timings: list[float] = []
        candidates: list[int] = []
        hits: list[int] = []
        for round_ in range(rounds):
            for document in documents:
                begun = time.perf_counter()
                matched = index.match(DocumentView(document))
                timings.append((time.perf_counter() - begun) * 1e6)
                if round_ == 0:
                    hits.append(len(matched))
                    candidates.append(len(index.candidates(DocumentView(document))))
        mean = sum(timings) / len(timings)
        label = f"{count:,} subscriptions"
        figures += [
            Figure("match", f"{label}: per article, mean", mean, "us",
                   f"{articles} articles x {rounds}; goal < 1,000 us at 10,000"),
            Figure("match", f"{label}: per article, p99", _percentile(timings, 0.99), "us"),
            Figure("match", f"{label}: candidates per article", sum(candidates) / articles,
                   "subs", "evaluated after the term pre-selection"),
            Figure("match", f"{label}: matches per article", sum(hits) / articles, "subs"),
            Figure("match", f"{label}: index build", _rate(count, build_seconds), "subs/s",
                   "parse + compile + index"),
            Figure("match", f"{label}: index memory", memory, "MiB", "tracemalloc"),
        ]
        del index
    return figures


SUITES.update({"search": bench_search, "match": bench_match})


class _Receiver:
    """A webhook endpoint in a thread that notes when each alert's article arrived."""

    def __init__(self) -> None:
        import json
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.arrivals: dict[str, float] = {}
        self.posts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.time()
                outer.posts += 1
                for alert in json.loads(body)["alerts"]:
                    outer.arrivals.setdefault(alert["article"]["url"], now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def bench_alerts(
    settings: Settings, progress: Callable[[str], None] = lambda _: None,
    articles: int = 200, rate: float = 4.0, subscriptions: int = 1_000, seed: int = 5,
) -> list[Figure]:
    """Alert latency, from an article entering ``articles.raw`` to the webhook receiving its
    alert, through a real worker (clean, tag, index, match, deliver) on the real Kafka and
    Elasticsearch.

    Fixture-server articles are first polled into a staging prefix; then, with a worker
    running on a fresh prefix and warmed up by one article, they are produced one by one at
    ``rate`` per second (a steady news flow, not a backlog) while ``subscriptions`` generated
    analyst subscriptions (Kafka channel only) plus one webhook subscription matching every
    English article are active. Latency is the receiver's clock minus the producer's, one
    process, one clock.
    """
    import json

    from elasticsearch import Elasticsearch
    from kafka import KafkaProducer

    from sitrep.feeds import Feed, FeedRegistry
    from sitrep.index import drop_indices, ensure_template_sync
    from sitrep.poller import Poller
    from sitrep.subscriptions import Subscription, SubscriptionSpec, SubscriptionStore, create
    from sitrep.topics import create_topics, read_to_end

    feeds = max(1, (articles + 1 + 9) // 10)
    with fixture_server(feeds, 10) as base, scratch_topics(polling_fixtures(settings)) as staging:
        progress(f"polling {feeds} feeds for {articles + 1} articles")
        FeedRegistry(staging).add(Feed.create(f"{base}/feeds/{n}.xml") for n in range(feeds))
        asyncio.run(Poller(staging, exit_when_idle=True).run())
        raw = [(r.key, r.value) for r in read_to_end(staging, staging.topic("articles.raw"),
                                                     limit=articles + 1)]
    progress("generating subscriptions")
    gazette = load_gazette(tagged_demo_articles())
    queries = generate_subscriptions(gazette, subscriptions, seed)
    receiver = _Receiver()
    token = uuid.uuid4().hex[:8]
    with scratch_topics(settings.model_copy(update={
        "index_prefix": f"bench-{token}", "allow_private_urls": True,
    })) as s:
        create_topics(s)
        ensure_template_sync(s)
        everything = create(SubscriptionSpec(name="every English article", query="lang:en",
                                              webhook={"url": receiver.url}), s)

        async def subscribe() -> None:
            store = SubscriptionStore(s, client_id="sitrep-bench")
            try:
                await store.put(everything)
                for n, query in enumerate(queries):
                    await store.put(Subscription(name=f"generated {n}", query=query))
            finally:
                await store.stop()

        asyncio.run(subscribe())
        env = {**os.environ, "SITREP_TOPIC_PREFIX": s.topic_prefix,
               "SITREP_INDEX_PREFIX": s.index_prefix, "SITREP_LOG_LEVEL": "WARNING",
               "SITREP_ALLOW_PRIVATE_URLS": "true",
               "SITREP_TOPIC_PARTITIONS": str(s.topic_partitions)}
        worker = subprocess.Popen([sys.executable, "-m", "sitrep", "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        producer = KafkaProducer(bootstrap_servers=s.kafka_servers, acks="all", linger_ms=0)
        es = Elasticsearch(s.elasticsearch_url)
        sent: dict[str, float] = {}
        try:
            progress("warming the worker up with one article")
            (key, value), rest = raw[0], raw[1:]
            producer.send(s.topic("articles.raw"), key=key, value=value).get(30)
            deadline = time.monotonic() + 180
            while not receiver.arrivals and time.monotonic() < deadline:
                time.sleep(0.2)
            if not receiver.arrivals:
                raise RuntimeError("the worker did not deliver the warm-up alert in 180 s")
            receiver.arrivals.clear()
            progress(f"producing {len(rest)} articles at {rate}/s")
            for n, (key, value) in enumerate(rest):
                url = json.loads(value)["url"]
                sent[url] = time.time()
                producer.send(s.topic("articles.raw"), key=key, value=value)
                producer.flush()
                progress(f"produced {n + 1}/{len(rest)}, alerts received "
                         f"{len(receiver.arrivals)}")
                time.sleep(max(0.0, 1 / rate - (time.time() - sent[url])))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(receiver.arrivals) < len(sent):
                progress(f"waiting: {len(receiver.arrivals)}/{len(sent)} alerts received")
                before = len(receiver.arrivals)
                time.sleep(3)
                if len(receiver.arrivals) == before:  # nothing more is coming (same stories)
                    break
        finally:
            producer.close()
            worker.terminate()
            worker.wait(60)
            receiver.close()
            drop_indices(es, s)
            es.close()
    latencies = [(receiver.arrivals[url] - at) * 1000 for url, at in sent.items()
                 if url in receiver.arrivals]
    if not latencies:
        raise RuntimeError("no alert reached the webhook")
    note = (f"{len(latencies)} alerts for {len(sent)} articles at {rate}/s, "
            f"{subscriptions + 1} subscriptions, 1 worker")
    return [
        Figure("alerts", "latency raw -> webhook, p50", _percentile(latencies, 0.5), "ms", note),
        Figure("alerts", "latency raw -> webhook, p90", _percentile(latencies, 0.9), "ms"),
        Figure("alerts", "latency raw -> webhook, p99", _percentile(latencies, 0.99), "ms"),
        Figure("alerts", "latency raw -> webhook, max", max(latencies), "ms",
               "one story alerts once: near-duplicates of an earlier article send nothing"),
    ]


SUITES.update({"alerts": bench_alerts})
