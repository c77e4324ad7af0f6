#!/usr/bin/env python3
"""Measure article extraction on the demo corpus: text, title, date and language.

Why a tool and not only tests: extraction quality is a number that moves with every rule
and every trafilatura release; this prints it, per page and overall, for the configurations
we compare, so a change is kept only if it wins on the set (and the rules stay general:
the corpus is the yardstick, not the target).

Configurations:

- ``bare``: ``trafilatura.extract(html)`` with its defaults (text) and
  ``trafilatura.extract_metadata(html)`` (title, date). Bare trafilatura reports no language
  unless given a target language, so its language score is 0 by construction.
- ``tuned``: ``sitrep.clean.clean_html`` without the cascade: tuned trafilatura options,
  boilerplate pruning by class/id, line rules, sitrep's date and language logic.
- ``cascade``: ``clean_html`` as the pipeline runs it (fallback extractors when
  trafilatura finds too little).

``--ablations`` adds the layers one at a time, other trafilatura modes, and each fallback
extractor on its own. ``--stress`` also runs every configuration on two generated variants
of each page: "script-rendered" (the article body removed from the HTML and shipped only as
JSON-LD ``articleBody``, as single-page-app news sites do: the cascade has work to do) and
"unlabelled" (every class, id and itemprop removed, as hashed CSS-module class names look
to a heuristic: the class-based pruning is blind and the line rules must carry it). Both
guard against tuning to the corpus's markup.

Text metric: token-level precision, recall and F1 over a bag of words *with multiplicity*
(tokens: lower-cased Unicode ``\\w+`` runs, the same tokenizer sitrep hashes with);
"micro" pools the counts of all pages, "macro" averages the pages' F1. Title: exact match
after whitespace folding. Date: the published value's calendar day (as written, in the
page's own offset) equals the manifest's. Language: primary subtag equals the manifest's.

Usage (from the repository root)::

    .venv/bin/python tools/eval_extraction.py [--pages] [--ablations] [--stress]
        [--bench ROUNDS [--workers N]] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gzip
import json
import logging
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "services"))

import trafilatura  # noqa: E402
from lxml.html import tostring  # noqa: E402
from trafilatura.utils import decode_file, load_html  # noqa: E402

from sitrep import clean  # noqa: E402
from sitrep.clean.dates import jsonld_values  # noqa: E402

DEMO = REPO / "services" / "sitrep" / "data" / "demo"
TOKEN = re.compile(r"\w+")


@dataclass
class Page:
    slug: str
    html: str
    url: str
    gold: str
    title: str
    published: str
    language: str


@dataclass
class Result:
    """What one configuration made of one page."""

    text: str
    title: str | None
    published: str | None
    language: str | None
    seconds: float


@dataclass
class Score:
    slug: str
    overlap: int
    predicted: int
    gold: int
    title_ok: bool
    date_ok: bool
    language_ok: bool
    note: str = ""

    @property
    def precision(self) -> float:
        return self.overlap / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.overlap / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Summary:
    name: str
    scores: list[Score] = field(default_factory=list)
    seconds: float = 0.0

    def micro(self) -> tuple[float, float, float]:
        overlap = sum(s.overlap for s in self.scores)
        predicted = sum(s.predicted for s in self.scores)
        gold = sum(s.gold for s in self.scores)
        p = overlap / predicted if predicted else 0.0
        r = overlap / gold if gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    def macro_f1(self) -> float:
        return sum(s.f1 for s in self.scores) / len(self.scores) if self.scores else 0.0

    def rate(self, attribute: str) -> float:
        return sum(1 for s in self.scores if getattr(s, attribute)) / len(self.scores)

    def as_dict(self) -> dict[str, Any]:
        p, r, f = self.micro()
        return {
            "name": self.name, "precision": p, "recall": r, "f1": f,
            "macro_f1": self.macro_f1(), "title": self.rate("title_ok"),
            "date": self.rate("date_ok"), "language": self.rate("language_ok"),
            "pages_per_second": len(self.scores) / self.seconds if self.seconds else None,
            "pages": [
                {"slug": s.slug, "precision": s.precision, "recall": s.recall, "f1": s.f1,
                 "title": s.title_ok, "date": s.date_ok, "language": s.language_ok}
                for s in self.scores
            ],
        }


def load_pages(manifest: Path) -> list[Page]:
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    base = manifest.parent
    return [
        Page(
            slug=a["slug"], html=(base / a["file"]).read_text(encoding="utf-8"), url=a["url"],
            gold=(base / a["gold"]).read_text(encoding="utf-8"), title=a["title"],
            published=str(a["published"]), language=a["language"],
        )
        for a in data["articles"]
    ]


def tokens(text: str) -> Counter[str]:
    return Counter(TOKEN.findall(text.lower()))


def fold(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def score(page: Page, result: Result) -> Score:
    got, want = tokens(result.text), tokens(page.gold)
    missing = want - got
    extra = got - want
    note = ""
    if extra or missing:
        top_extra = " ".join(w for w, _ in extra.most_common(6))
        top_missing = " ".join(w for w, _ in missing.most_common(6))
        note = (f"extra {sum(extra.values())} ({top_extra}); "
                f"missing {sum(missing.values())} ({top_missing})")
    return Score(
        slug=page.slug, overlap=sum((got & want).values()), predicted=sum(got.values()),
        gold=sum(want.values()), title_ok=fold(result.title) == fold(page.title),
        date_ok=bool(result.published) and str(result.published)[:10] == page.published[:10],
        language_ok=(result.language or "").lower().split("-")[0] == page.language,
        note=note,
    )


# ----------------------------------------------------------------------------------------
# Configurations
# ----------------------------------------------------------------------------------------

Extractor = Callable[[Page], Result]


def bare(page: Page) -> Result:
    start = time.perf_counter()
    text = trafilatura.extract(page.html) or ""
    meta = trafilatura.extract_metadata(page.html)
    return Result(text, meta.title, meta.date, None, time.perf_counter() - start)


def via_clean(options: clean.CleanOptions) -> Extractor:
    """The pipeline's own path (clean_article on a fetched page, no feed entry to fall
    back on), so a page without text still scores its title, date and language."""
    def run(page: Page) -> Result:
        start = time.perf_counter()
        raw = {"fetch": {"status": "ok"}, "html": page.html, "url": page.url, "entry": {}}
        article = clean.clean_article(raw, options=options)
        return Result(article["text"], article["title"], article["published"],
                      article["language"], time.perf_counter() - start)
    return run


def fallback_only(name: str) -> Extractor:
    """One fallback extractor alone, with the furniture lines and line rules (as cascaded)."""
    def run(page: Page) -> Result:
        start = time.perf_counter()
        tree = load_html(page.html)
        raw = clean.FALLBACKS[name](copy.deepcopy(tree), page.url)
        lines = [line for line in (clean.fold_whitespace(x) for x in raw.split("\n")) if line]
        furniture = clean.boilerplate_lines(tree, lines)
        paragraphs, _ = clean.clean_paragraphs("\n".join(lines), True, furniture)
        return Result("\n\n".join(paragraphs), None, None, None, time.perf_counter() - start)
    return run


def tuned_with(**changes: Any) -> dict[str, Any]:
    return {**clean.TRAFILATURA_OPTIONS, **changes}


def configurations(ablations: bool) -> dict[str, Extractor]:
    configs: dict[str, Extractor] = {
        "bare": bare,
        "tuned": via_clean(clean.CleanOptions(cascade=False)),
        "cascade": via_clean(clean.CleanOptions()),
    }
    if not ablations:
        return configs
    off: dict[str, Any] = {"prune": False, "line_rules": False, "cascade": False}
    extra: dict[str, Extractor] = {
        "options only": via_clean(clean.CleanOptions(**off)),
        "options+prune": via_clean(clean.CleanOptions(prune=True, line_rules=False,
                                                      cascade=False)),
        "options+rules": via_clean(clean.CleanOptions(prune=False, line_rules=True,
                                                      cascade=False)),
        "balanced+prune+rules": via_clean(clean.CleanOptions(
            cascade=False, trafilatura=tuned_with(favor_precision=False))),
        "recall+prune+rules": via_clean(clean.CleanOptions(
            cascade=False, trafilatura=tuned_with(favor_precision=False, favor_recall=True))),
        "fast+prune+rules": via_clean(clean.CleanOptions(
            cascade=False, trafilatura=tuned_with(fast=True))),
        "fast+prune+rules+cascade": via_clean(clean.CleanOptions(
            trafilatura=tuned_with(fast=True))),
        "precision, comments on": via_clean(clean.CleanOptions(
            **off, trafilatura=tuned_with(include_comments=True))),
        "precision+dedup(trafilatura)": via_clean(clean.CleanOptions(
            cascade=False, trafilatura=tuned_with(deduplicate=True))),
    }
    for name in clean.FALLBACKS:
        extra[f"only {name}"] = fallback_only(name)
    return {**configs, **extra}


# ----------------------------------------------------------------------------------------
# Stress variants: the article body only in JSON-LD (script-rendered pages)
# ----------------------------------------------------------------------------------------

BODY_XPATH = (
    '//*[@itemprop="articleBody"] | //div[contains(concat(" ", normalize-space(@class), " "),'
    ' " article-body__content ")] | //div[contains(@class, "story-text")]'
    ' | //div[contains(@class, "entry-content")] | //div[contains(@class, "detail-body")]'
)


def script_rendered(page: Page) -> Page | None:
    """The page as a single-page app serves it: empty mount point, text in JSON-LD."""
    tree = load_html(page.html)
    if tree is None:
        return None
    bodies = tree.xpath(BODY_XPATH)
    if not bodies:
        return None
    body = bodies[0]
    shell = body.makeelement("div", {"id": "app-root"})
    body.getparent().replace(body, shell)
    for script in tree.iterfind(".//script[@type]"):
        if "ld+json" in (script.get("type") or "") and script.text:
            data = json.loads(script.text)
            if isinstance(data, dict):
                data["articleBody"] = page.gold.strip()
                script.text = json.dumps(data, ensure_ascii=False)
                break
    else:
        return None
    html = tostring(tree, encoding="unicode")
    return Page(page.slug + " [spa]", html, page.url, page.gold, page.title, page.published,
                page.language)


def unlabelled(page: Page) -> Page | None:
    """The page with every class, id and itemprop removed: what a site with hashed CSS-module
    class names ("css-1x9q2") looks like to class-based heuristics. Only the structure
    (tags) and the text are left, so the line rules have to do the work."""
    tree = load_html(page.html)
    if tree is None:
        return None
    for element in tree.iter():
        if isinstance(element.tag, str):
            for attribute in ("class", "id", "itemprop"):
                element.attrib.pop(attribute, None)
    html = tostring(tree, encoding="unicode")
    return Page(page.slug + " [unlabelled]", html, page.url, page.gold, page.title,
                page.published, page.language)


# ----------------------------------------------------------------------------------------
# Running and printing
# ----------------------------------------------------------------------------------------


def evaluate(name: str, extractor: Extractor, pages: list[Page]) -> Summary:
    summary = Summary(name)
    for page in pages:
        try:
            result = extractor(copy.copy(page))
        except Exception as exc:  # a crash is a zero for that page, and reported
            result = Result("", None, None, None, 0.0)
            print(f"  {name}: {page.slug}: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        summary.seconds += result.seconds
        summary.scores.append(score(page, result))
    return summary


def print_table(summaries: list[Summary], title: str) -> None:
    print(f"\n{title}")
    header = (f"{'configuration':<30} {'P':>6} {'R':>6} {'F1':>6} {'macroF1':>8} "
              f"{'title':>6} {'date':>6} {'lang':>6} {'pages/s':>8}")
    print(header)
    print("-" * len(header))
    for s in summaries:
        p, r, f = s.micro()
        speed = f"{len(s.scores) / s.seconds:8.1f}" if s.seconds else f"{'-':>8}"
        print(f"{s.name:<30} {p:6.3f} {r:6.3f} {f:6.3f} {s.macro_f1():8.3f} "
              f"{s.rate('title_ok'):6.1%} {s.rate('date_ok'):6.1%} {s.rate('language_ok'):6.1%} "
              f"{speed}")


def print_pages(summary: Summary, worst: int | None = None) -> None:
    scores = sorted(summary.scores, key=lambda s: s.f1) if worst else summary.scores
    print(f"\n{summary.name}: {'worst pages' if worst else 'per page'}")
    for s in scores[: worst or len(scores)]:
        flags = "".join(c if ok else "-" for c, ok in
                        (("T", s.title_ok), ("D", s.date_ok), ("L", s.language_ok)))
        print(f"  {s.slug:<62} P {s.precision:.3f} R {s.recall:.3f} F1 {s.f1:.3f} {flags}"
              + (f"\n      {s.note}" if s.note else ""))


def bench(pages: list[Page], rounds: int) -> float:
    """pages/second of clean_html over the corpus, after one warm-up round."""
    for page in pages:
        clean.clean_html(page.html, page.url)
    start = time.perf_counter()
    for _ in range(rounds):
        for page in pages:
            clean.clean_html(page.html, page.url)
    return rounds * len(pages) / (time.perf_counter() - start)


def _warm_worker() -> None:
    logging.disable(logging.WARNING)
    page = load_pages(DEMO / "manifest.yaml")[0]
    clean.clean_html(page.html, page.url)


def _clean_one(item: tuple[str, str]) -> int:
    return int(clean.clean_html(item[0], item[1])["word_count"])


def bench_parallel(pages: list[Page], rounds: int, workers: int) -> float:
    """pages/second with ``workers`` processes (how a worker deployment scales on cores)."""
    from concurrent.futures import ProcessPoolExecutor

    items = [(p.html, p.url) for p in pages] * rounds
    with ProcessPoolExecutor(workers, initializer=_warm_worker) as pool:
        list(pool.map(_clean_one, items[:workers * 4]))  # workers started and warm
        start = time.perf_counter()
        list(pool.map(_clean_one, items, chunksize=4))
        return len(items) / (time.perf_counter() - start)


# ----------------------------------------------------------------------------------------
# The public development set: trafilatura's evaldata, segment metric
# ----------------------------------------------------------------------------------------

#: The devsets root (``../shared/devsets`` from the project root); SITREP_DEVSETS_DIR
#: overrides it, ``--devset PATH`` names the extraction set itself.
DEVSETS_ROOT = Path(os.environ.get("SITREP_DEVSETS_DIR") or REPO.parent / "shared" / "devsets")
DEFAULT_DEVSET = DEVSETS_ROOT / "extraction" / "trafilatura-evaldata"
#: At most two processes: the machine is shared, and the figures must not depend on it.
MAX_WORKERS = 2
_SPACES = re.compile(r"\s+")

#: The configurations scored on the development set, all in the same run. Bare trafilatura
#: is ``trafilatura.extract`` on the page as its users call it.
BARE_CONFIGS: dict[str, dict[str, Any]] = {
    "bare defaults": {},
    "bare include_comments=False": {"include_comments": False},
    "bare favor_precision": {"favor_precision": True},
    "bare favor_recall": {"favor_recall": True},
}
#: sitrep's layers switched off one at a time (``--ablations``), to keep only what helps.
SITREP_ABLATIONS: dict[str, dict[str, Any]] = {
    "sitrep + furniture lines": {"prune": True},
    "sitrep no line rules": {"line_rules": False},
    "sitrep no cascade": {"cascade": False},
    "sitrep compare below 500": {"compare_below": 500},
    "sitrep compare below 2000": {"compare_below": 2000},
    "sitrep always compare": {"trafilatura": {**clean.TRAFILATURA_OPTIONS, "fast": False}},
}


@dataclass
class Segments:
    """Segment counts of one page for one configuration (the evaldata protocol)."""

    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0

    def add(self, other: Segments) -> None:
        self.tp += other.tp
        self.fn += other.fn
        self.fp += other.fp
        self.tn += other.tn

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def normalise_segment_text(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def score_segments(text: str, with_: list[str], without: list[str]) -> Segments:
    """Each ``with`` segment found (as a substring of the whitespace-normalised text) is a
    true positive, each missing one a false negative; each ``without`` found a false
    positive, each missing one a true negative."""
    body = normalise_segment_text(text)
    result = Segments()
    for segment in with_:
        if normalise_segment_text(segment) in body:
            result.tp += 1
        else:
            result.fn += 1
    for segment in without:
        if normalise_segment_text(segment) in body:
            result.fp += 1
        else:
            result.tn += 1
    return result


@dataclass
class DevPage:
    url: str
    path: Path
    with_: list[str]
    without: list[str]


def load_devset(folder: Path) -> list[DevPage]:
    """The 990 pages of trafilatura's evaldata, or SystemExit with what is missing."""
    index = folder / "evaldata.json"
    if not index.is_file():
        raise SystemExit(
            f"eval_extraction: no development set at {folder} (expected evaldata.json and "
            "html/). Pass --devset PATH or set SITREP_DEVSETS_DIR to the devsets folder.")
    data = json.loads(index.read_text(encoding="utf-8"))
    pages = []
    for url, item in data.items():
        path = folder / "html" / f"{item['file']}.gz"
        if not path.exists():
            path = folder / "html" / item["file"]
        pages.append(DevPage(url, path, list(item.get("with") or []),
                             list(item.get("without") or [])))
    return pages


def read_page(path: Path) -> str:
    """A stored page as text: gunzipped when .gz, decoded as trafilatura decodes it."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return str(decode_file(data))


#: Page-stated metadata the stage's answers are compared with (where the page states it).
_OG_TITLE = '//meta[@property="og:title"]/@content'
_PUBLISHED_META = (
    '//meta[@property="article:published_time"]/@content'
    ' | //meta[@itemprop="datePublished"]/@content'
)


def _stated(html: str) -> dict[str, str | None]:
    """What the page itself states: <html lang>, og:title, a published date (meta or
    JSON-LD). Only these pages count for the metadata figures."""
    tree = load_html(html)
    if tree is None:
        return {"lang": None, "title": None, "date": None}
    lang = (tree.get("lang") or "").strip().lower().split("-")[0].split("_")[0] or None
    titles = tree.xpath(_OG_TITLE)
    dates = [str(d) for d in tree.xpath(_PUBLISHED_META)]
    if not dates:
        dates = list(jsonld_values(tree, "datePublished"))
    day = next((d.strip()[:10] for d in dates if re.match(r"\d{4}-\d{2}-\d{2}", d.strip())),
               None)
    return {"lang": lang, "title": fold(str(titles[0])) if titles else None, "date": day}


def _sitrep_text(html: str, url: str, options: clean.CleanOptions) -> tuple[str, Any]:
    try:
        article = clean.clean_html(html, url, options=options)
    except clean.CleanError:
        return "", None
    return str(article["text"]), article


def evaluate_devpage(item: tuple[DevPage, bool]) -> dict[str, Any]:
    """Every configuration on one page (run in a worker process)."""
    page, ablations = item
    html = read_page(page.path)
    out: dict[str, Any] = {"url": page.url, "configs": {}}
    texts: dict[str, str] = {}
    start = time.perf_counter()
    text, article = _sitrep_text(html, page.url, clean.DEFAULT_OPTIONS)
    out["configs"]["sitrep"] = (score_segments(text, page.with_, page.without),
                                time.perf_counter() - start)
    texts["sitrep"] = text
    if ablations:
        for name, switches in SITREP_ABLATIONS.items():
            ablated, _ = _sitrep_text(html, page.url, clean.CleanOptions(**switches))
            out["configs"][name] = (score_segments(ablated, page.with_, page.without), 0.0)
    for name, options in BARE_CONFIGS.items():
        start = time.perf_counter()
        bare_text = trafilatura.extract(html, url=page.url, **options) or ""
        out["configs"][name] = (score_segments(bare_text, page.with_, page.without),
                                time.perf_counter() - start)
        texts[name] = bare_text
    detected, _ = clean.detect_language(texts["bare defaults"][:2000] or text[:2000])
    out["language"] = detected or "unknown"
    out["words"] = {name: clean.word_count(t) for name, t in texts.items()}
    stated = _stated(html)
    out["stated"] = stated
    out["sitrep_meta"] = {
        "lang": article["language"] if article else None,
        "title": fold(article["title"]) if article and article["title"] else None,
        "date": str(article["published"])[:10] if article and article["published"] else None,
    }
    return out


def _devset_worker_init() -> None:
    logging.disable(logging.WARNING)
    with contextlib.suppress(OSError):
        os.nice(10)  # a long evaluation yields to the other users of the machine


#: Language groups reported separately; the rest is "other". Detected by py3langid on bare
#: trafilatura's text (the same for every configuration), not by TLD: a .com page can be
#: German and a .ch page French.
LANGUAGE_GROUPS = ("de", "en", "fr", "pl", "zh")


def run_devset(folder: Path, workers: int, ablations: bool, limit: int | None,
               worst: int, report: dict[str, Any]) -> None:
    pages = load_devset(folder)[:limit] if limit else load_devset(folder)
    workers = max(1, min(workers, MAX_WORKERS))
    from multiprocessing import get_context

    with get_context("fork").Pool(workers, initializer=_devset_worker_init) as pool:
        results = list(pool.imap(evaluate_devpage, [(p, ablations) for p in pages],
                                 chunksize=8))
    names = list(results[0]["configs"])
    totals = {name: Segments() for name in names}
    groups: dict[str, dict[str, Segments]] = {}
    for result in results:
        group = result["language"] if result["language"] in LANGUAGE_GROUPS else "other"
        by_name = groups.setdefault(group, {name: Segments() for name in names})
        for name in names:
            totals[name].add(result["configs"][name][0])
            by_name[name].add(result["configs"][name][0])
    print(f"\ndevelopment set: {folder.name}, {len(results)} pages (segment metric, micro)")
    header = f"{'configuration':<30} {'P':>6} {'R':>6} {'F1':>6} {'TP':>6} {'FN':>5} {'FP':>5}"
    print(header)
    print("-" * len(header))
    report["devset"] = {"pages": len(results), "configs": {}, "groups": {}}
    for name in names:
        p, r, f = totals[name].prf()
        t = totals[name]
        print(f"{name:<30} {p:6.3f} {r:6.3f} {f:6.3f} {t.tp:6d} {t.fn:5d} {t.fp:5d}")
        report["devset"]["configs"][name] = {"precision": p, "recall": r, "f1": f}
    print("\nF1 per language group (py3langid on bare trafilatura's text)")
    shown = [n for n in names if n in ("sitrep", "bare defaults", "bare include_comments=False")]
    print(f"{'group':<8} {'pages':>5} " + " ".join(f"{n[:22]:>23}" for n in shown))
    for group in sorted(groups, key=lambda g: -sum(1 for r in results if (
            r["language"] if r["language"] in LANGUAGE_GROUPS else "other") == g)):
        count = sum(1 for r in results if (
            r["language"] if r["language"] in LANGUAGE_GROUPS else "other") == group)
        cells = []
        for n in shown:
            p, r, f = groups[group][n].prf()
            cells.append(f"{f:6.3f} (P{p:.2f} R{r:.2f})")
        print(f"{group:<8} {count:5d} " + " ".join(f"{c:>23}" for c in cells))
        report["devset"]["groups"][group] = {
            "pages": count, **{n: groups[group][n].prf() for n in shown}}
    report["devset"]["per_page"] = [
        {"url": r["url"], "language": r["language"], "words": r["words"],
         **{name: [r["configs"][name][0].tp, r["configs"][name][0].fn,
                   r["configs"][name][0].fp] for name in names}}
        for r in results
    ]
    _print_worst(results, worst, report)
    _print_stated(results, report)
    _print_devset_times(results, report)


def _page_f1(segments: Segments) -> float:
    return segments.prf()[2]


def _print_worst(results: list[dict[str, Any]], worst: int, report: dict[str, Any]) -> None:
    rows = []
    for result in results:
        mine = _page_f1(result["configs"]["sitrep"][0])
        bare_f1 = _page_f1(result["configs"]["bare defaults"][0])
        rows.append((mine - bare_f1, mine, bare_f1, result))
    rows.sort(key=lambda row: row[0])
    below = [row for row in rows if row[0] < -0.3]
    above = [row for row in rows if row[0] > 0.3]
    print(f"\npages where sitrep's F1 is more than 0.3 below bare defaults: {len(below)} "
          f"(more than 0.3 above: {len(above)})")
    print(f"worst {worst} relative to bare defaults (words: sitrep / bare):")
    for delta, mine, bare_f1, result in rows[:worst]:
        words = result["words"]
        print(f"  {delta:+.2f}  sitrep {mine:.2f} bare {bare_f1:.2f}  "
              f"{words['sitrep']:5d}/{words['bare defaults']:<5d} {result['url'][:90]}")
    report["devset"]["below_0_3"] = len(below)
    report["devset"]["worst"] = [
        {"url": r["url"], "delta": d, "sitrep": m, "bare": b} for d, m, b, r in rows[:worst]]


def _print_stated(results: list[dict[str, Any]], report: dict[str, Any]) -> None:
    """Title, date and language against what the page states (where it states it)."""
    print("\nmetadata vs what the page states (only pages that state it):")
    figures = {}
    for key, label in (("lang", "language = <html lang>"), ("title", "title = og:title"),
                       ("date", "published day = meta/JSON-LD datePublished")):
        stated = [r for r in results if r["stated"][key]]
        right = sum(1 for r in stated if r["sitrep_meta"][key] == r["stated"][key])
        share = right / len(stated) if stated else 0.0
        print(f"  {label:<46} {right}/{len(stated)} = {share:.1%}")
        figures[key] = {"pages": len(stated), "right": right}
    today = time.strftime("%Y-%m-%d")
    future = sum(1 for r in results if (r["sitrep_meta"]["date"] or "") > today)
    print(f"  published dates in the future: {future}")
    figures["future_dates"] = future
    report["devset"]["metadata"] = figures


def _print_devset_times(results: list[dict[str, Any]], report: dict[str, Any]) -> None:
    """Per-page times as measured in the evaluation workers (indicative: two processes on
    a shared machine; ``sitrep bench stages`` measures the ratio properly)."""
    import statistics

    mine = [r["configs"]["sitrep"][1] for r in results]
    bare_times = [r["configs"]["bare defaults"][1] for r in results]
    ratio = sum(mine) / sum(bare_times) if sum(bare_times) else 0.0
    print(f"\ntime in the evaluation run: sitrep median {statistics.median(mine) * 1000:.1f} ms, "
          f"bare defaults {statistics.median(bare_times) * 1000:.1f} ms, "
          f"total ratio {ratio:.2f} (see `sitrep bench stages` for the one-process figure)")
    report["devset"]["time_ratio_in_eval"] = ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", type=Path, default=DEMO / "manifest.yaml")
    parser.add_argument("--pages", action="store_true", help="per-page scores")
    parser.add_argument("--worst", type=int, default=5, help="worst pages listed per config")
    parser.add_argument("--ablations", action="store_true", help="layer-by-layer configs")
    parser.add_argument("--stress", action="store_true", help="also script-rendered variants")
    parser.add_argument("--bench", type=int, default=0, metavar="ROUNDS",
                        help="pages/second of clean_html over ROUNDS passes")
    parser.add_argument("--workers", type=int, default=None,
                        help="with --bench: also measure with this many processes; with "
                             f"--devset: evaluation processes (default and at most {MAX_WORKERS})")
    parser.add_argument("--devset", type=Path, nargs="?", const=DEFAULT_DEVSET, default=None,
                        metavar="PATH",
                        help="score the trafilatura evaldata development set (segment "
                             f"metric) instead of the demo corpus; default {DEFAULT_DEVSET}")
    parser.add_argument("--limit", type=int, default=None,
                        help="with --devset: only the first N pages")
    parser.add_argument("--json", type=Path, help="write all scores to this file")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # trafilatura logs every discarded page

    if args.devset is not None:
        report: dict[str, Any] = {}
        run_devset(args.devset, args.workers or MAX_WORKERS, args.ablations, args.limit,
                   max(args.worst, 10), report)
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
        return 0

    pages = load_pages(args.manifest)
    configs = configurations(args.ablations)
    # warm-up (model loads, imports) so that per-configuration speeds compare
    clean.clean_html(pages[0].html, pages[0].url)
    trafilatura.extract(pages[0].html)

    report = {}
    summaries = [evaluate(name, fn, pages) for name, fn in configs.items()]
    print_table(summaries, f"demo corpus: {len(pages)} pages")
    report["corpus"] = [s.as_dict() for s in summaries]
    for s in summaries[:3]:
        if args.pages:
            print_pages(s)
        else:
            print_pages(s, worst=args.worst)

    if args.stress:
        variants = [v for v in (script_rendered(p) for p in pages) if v is not None]
        stressed = [evaluate(name, fn, variants) for name, fn in configs.items()]
        print_table(stressed, f"script-rendered variants: {len(variants)} pages")
        report["stress"] = [s.as_dict() for s in stressed]
        for s in stressed[:3]:
            print_pages(s, worst=args.worst)
        variants = [v for v in (unlabelled(p) for p in pages) if v is not None]
        stressed = [evaluate(name, fn, variants) for name, fn in configs.items()]
        print_table(stressed, f"unlabelled variants (no class/id/itemprop): {len(variants)} pages")
        report["unlabelled"] = [s.as_dict() for s in stressed]
        for s in stressed[:3]:
            print_pages(s, worst=args.worst)

    if args.bench:
        speed = bench(pages, args.bench)
        print(f"\nclean_html: {speed:.1f} pages/s ({args.bench} rounds x {len(pages)} pages, "
              "one process)")
        report["pages_per_second"] = speed
        if args.workers and args.workers > 1:
            parallel = bench_parallel(pages, args.bench, args.workers)
            print(f"clean_html: {parallel:.1f} pages/s with {args.workers} processes")
            report["pages_per_second_parallel"] = {"workers": args.workers, "value": parallel}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
