"""The bundled demo corpus: realistic news pages, their gold main texts and the manifest.

The corpus (``services/sitrep/data/demo``) feeds the demo and the extraction tests, so these
tests pin down what the rest of the project relies on: every page is a full, well-formed HTML
document of realistic size, every gold text is exactly what appears in the page's article
body (and nothing of its boilerplate), the two real samples are reproduced verbatim, and the
duplicate / near-duplicate pairs are what the manifest says they are.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

DEMO = Path(__file__).resolve().parents[2] / "services" / "sitrep" / "data" / "demo"
# ../shared/samples beside the checkout (where CI puts it), unless SITREP_SAMPLES_DIR says.
SAMPLES = Path(
    os.environ.get("SITREP_SAMPLES_DIR")
    or Path(__file__).resolve().parents[3] / "shared" / "samples"
)
MANIFEST: dict[str, Any] = yaml.safe_load((DEMO / "manifest.yaml").read_text(encoding="utf-8"))
ENTRIES: list[dict[str, Any]] = MANIFEST["articles"]
BY_SLUG = {e["slug"]: e for e in ENTRIES}
SITES = {s["key"]: s for s in MANIFEST["sites"]}
SLUGS = [e["slug"] for e in ENTRIES]

MIN_PAGE_BYTES = 15 * 1024
VOID = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)
BOILERPLATE_PREFIXES = ("Related:", "Read more:", "Also read:", "Lire aussi")


class Page(HTMLParser):
    """Parses a page with html.parser, checking that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.lang: str | None = None
        self.title: list[str] = []
        self.meta: dict[str, list[str]] = {}
        self.links: dict[str, str] = {}
        self.times: list[str] = []
        self.jsonld: list[str] = []
        self.captions: list[str] = []
        self._script_type: str | None = None
        self._caption_depth: int | None = None
        self._caption: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "meta":
            key = a.get("property") or a.get("name")
            if key:
                self.meta.setdefault(key, []).append(a.get("content", ""))
        elif tag == "link" and "rel" in a:
            self.links.setdefault(a["rel"], a.get("href", ""))
        elif tag == "time" and "datetime" in a:
            self.times.append(a["datetime"])
        elif tag == "script":
            self._script_type = a.get("type", "")
        if tag in VOID:
            return
        self.stack.append(tag)
        if self._caption_depth is None and (
            tag == "figcaption" or "caption" in a.get("class", "").split()
        ):
            self._caption_depth = len(self.stack)
            self._caption = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> at line {self.getpos()[0]}, open: {self.stack[-3:]}")
            return
        if self._caption_depth == len(self.stack):
            self.captions.append(" ".join("".join(self._caption).split()))
            self._caption_depth = None
        self.stack.pop()
        if tag == "script":
            self._script_type = None

    def handle_data(self, data: str) -> None:
        top = self.stack[-1] if self.stack else ""
        if top == "script":
            if self._script_type == "application/ld+json":
                self.jsonld.append(data)
            return
        if top == "style":
            return
        if top == "title":
            self.title.append(data)
        self.text.append(data)
        if self._caption_depth is not None:
            self._caption.append(data)

    @property
    def plain_text(self) -> str:
        return norm("".join(self.text))


def norm(text: str) -> str:
    """Collapse all whitespace (including no-break spaces) to single spaces."""
    return " ".join(text.split())


def parse(entry: dict[str, Any]) -> Page:
    page = Page()
    page.feed((DEMO / entry["file"]).read_text(encoding="utf-8"))
    page.close()
    return page


def gold(entry: dict[str, Any]) -> str:
    return (DEMO / entry["gold"]).read_text(encoding="utf-8")


def paragraphs(text: str) -> list[str]:
    return text.rstrip("\n").split("\n\n")


def mentions(text: str, name: str, language: str) -> bool:
    if language == "ar":  # Arabic attaches prefixes (wa-, al-) to words: no word boundaries
        return name in text
    return re.search(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text) is not None


def json_ld_articles(page: Page) -> list[dict[str, Any]]:
    objs = [json.loads(block) for block in page.jsonld]
    return [o for o in objs if o.get("@type") in ("NewsArticle", "BlogPosting", "Article")]


# --- the manifest ------------------------------------------------------------------------------


def test_manifest_lists_sites_with_path_prefixes() -> None:
    assert len(SITES) == len(MANIFEST["sites"]), "site keys are unique"
    prefixes = [s["path"] for s in MANIFEST["sites"]]
    assert len(set(prefixes)) == len(prefixes)
    for site in MANIFEST["sites"]:
        assert site["name"]
        assert site["path"] == f"/sites/{site['key']}/"
    for entry in ENTRIES:
        assert entry["site"] in SITES, entry["slug"]


def test_slugs_files_and_urls_are_unique() -> None:
    for key in ("slug", "file", "gold", "url"):
        values = [e[key] for e in ENTRIES]
        assert len(set(values)) == len(values), f"duplicate {key}"


def test_manifest_entries_are_complete() -> None:
    for e in ENTRIES:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", e["slug"]), e["slug"]
        assert e["file"] == f"pages/{e['slug']}.html"
        assert e["gold"] == f"gold/{e['slug']}.txt"
        assert e["title"] and e["summary"] and e["tags"], e["slug"]
        assert isinstance(e["authors"], list)
        assert datetime.fromisoformat(e["published"]).tzinfo is not None, e["slug"]
        assert e["language"] in ("en", "fr", "ar")
        assert set(e["date_in"]) <= {"meta", "jsonld", "time", "byline"} and e["date_in"]
        exp = e["expected"]
        assert exp["places"] and exp["actors"] and exp["countries"], e["slug"]
        assert sorted(exp["actors"]) == sorted(exp["actor_mentions"]), e["slug"]


def test_corpus_is_varied() -> None:
    written = [e for e in ENTRIES if "real_sample" not in e]
    assert len(written) >= 14
    assert len({e["template"] for e in ENTRIES}) >= 4
    assert {"en", "fr", "ar"} <= {e["language"] for e in ENTRIES}
    placements = {tuple(e["date_in"]) for e in ENTRIES}
    assert {("jsonld",), ("time",), ("byline",)} <= placements
    assert any(not e["authors"] for e in ENTRIES) and any(e["authors"] for e in ENTRIES)


# --- every page --------------------------------------------------------------------------------


@pytest.mark.parametrize("slug", SLUGS)
def test_page_is_a_full_well_formed_document(slug: str) -> None:
    entry = BY_SLUG[slug]
    path = DEMO / entry["file"]
    assert path.is_file()
    assert path.stat().st_size >= MIN_PAGE_BYTES
    page = parse(entry)
    assert not page.errors, page.errors[:5]
    assert not page.stack, f"unclosed elements: {page.stack}"
    assert page.lang is not None and page.lang.split("-")[0] == entry["language"]
    assert entry["title"] in norm("".join(page.title))
    assert page.meta["description"] == [entry["summary"]]
    for prop in ("og:title", "og:description", "og:image", "og:url", "og:site_name"):
        assert page.meta.get(prop, [""])[0], f"{prop} missing"
    assert page.meta["og:title"] == [entry["title"]]
    assert page.meta["og:url"] == [entry["url"]]
    assert page.links["canonical"] == entry["url"]
    assert page.meta["og:site_name"] == [SITES[entry["site"]]["name"]]
    if entry["authors"]:
        assert page.meta["author"] == [", ".join(entry["authors"])]
    else:
        assert "author" not in page.meta
    articles = json_ld_articles(page)
    assert len(articles) == 1
    assert articles[0]["headline"] == entry["title"]
    assert [a["name"] for a in articles[0].get("author", [])] == entry["authors"]
    assert entry["title"] in page.plain_text


@pytest.mark.parametrize("slug", SLUGS)
def test_publication_date_is_where_the_manifest_says(slug: str) -> None:
    entry = BY_SLUG[slug]
    page = parse(entry)
    published = entry["published"]
    where = set(entry["date_in"])
    assert page.meta.get("article:published_time", []) == ([published] if "meta" in where else [])
    dates = [a.get("datePublished") for a in json_ld_articles(page)]
    assert dates == ([published] if "jsonld" in where else [None])
    assert page.times == ([published] if "time" in where else [])


@pytest.mark.parametrize("slug", SLUGS)
def test_gold_text_is_the_pages_article_body(slug: str) -> None:
    entry = BY_SLUG[slug]
    text = gold(entry)
    assert text.endswith("\n") and not text.endswith("\n\n")
    paras = paragraphs(text)
    assert len(paras) >= 4
    page = parse(entry)
    page_text = page.plain_text
    captions = set(page.captions)
    assert captions, "every page has at least one photo caption"
    for para in paras:
        assert para and para == para.strip() and "\n" not in para, repr(para[:60])
        assert norm(para) in page_text, f"gold paragraph not in page: {para[:60]!r}"
        assert norm(para) not in captions
        assert not para.startswith(BOILERPLATE_PREFIXES)
    assert paras[0] != entry["title"]
    assert entry["words"] == len(text.split())


@pytest.mark.parametrize("slug", SLUGS)
def test_expected_names_occur_in_the_gold_text(slug: str) -> None:
    entry = BY_SLUG[slug]
    text, lang, exp = gold(entry), entry["language"], entry["expected"]
    for place in exp["places"]:
        assert mentions(text, place, lang), place
    for actor, names in exp["actor_mentions"].items():
        assert names, actor
        for name in names:
            assert mentions(text, name, lang), f"{actor}: {name}"
    for place in exp.get("not_places", []):
        assert place not in exp["places"]


def test_written_english_articles_have_wire_length() -> None:
    for e in ENTRIES:
        if "real_sample" not in e and e["language"] == "en":
            assert 400 <= e["words"] <= 900, (e["slug"], e["words"])


# --- the two real samples ------------------------------------------------------------------------

NEWSWEEK = "newsweek-2017-05-30-iraq-militias-border"
REUTERS = "reuters-2017-05-30-pmf-border-villages"


def sample_paragraphs(name: str) -> list[str]:
    path = SAMPLES / f"{name}.txt"
    if not path.is_file():
        pytest.skip(f"sample {path} not available (set SITREP_SAMPLES_DIR)")
    return [p.strip() for p in path.read_text(encoding="utf-8").split("\n\n") if p.strip()]


def test_newsweek_gold_is_the_sample_minus_caption_and_related_line() -> None:
    entry = BY_SLUG[NEWSWEEK]
    assert entry["real_sample"] == f"{NEWSWEEK}.txt"
    title, *body = sample_paragraphs(NEWSWEEK)
    caption = next(p for p in body if p.startswith("RTX3858X"))
    related = next(p for p in body if p.startswith("Related:"))
    expected = [p for p in body if p not in (caption, related)]
    assert paragraphs(gold(entry)) == expected
    assert entry["title"] == title
    assert entry["authors"] == []
    page = parse(entry)
    assert norm(caption) in page.captions, "the photo caption is a <figcaption>"
    assert norm(related) in page.plain_text, "the Related: line is kept as a link line"


def test_reuters_gold_is_the_sample_without_the_date_header() -> None:
    entry = BY_SLUG[REUTERS]
    assert entry["real_sample"] == f"{REUTERS}.txt"
    paras = sample_paragraphs(REUTERS)
    match = re.match(r"date (\d{4}-\d{2}-\d{2})\s+", paras[0])
    assert match is not None
    paras[0] = paras[0][match.end() :]
    assert paragraphs(gold(entry)) == paras
    assert entry["published"].startswith(match.group(1))
    assert entry["authors"] == []
    assert "date 2017" not in parse(entry).plain_text


# --- duplicates ----------------------------------------------------------------------------------


def test_exact_syndication_is_identical_text_under_another_url() -> None:
    pairs = [
        (e, BY_SLUG[e["expected"]["duplicate_of"]])
        for e in ENTRIES
        if "duplicate_of" in e["expected"]
    ]
    assert pairs
    for copy, original in pairs:
        assert gold(copy) == gold(original)
        assert copy["site"] != original["site"]
        assert copy["url"] != original["url"]
        assert "duplicate_of" not in original["expected"]


def test_near_duplicate_is_the_same_story_with_small_edits() -> None:
    pairs = [
        (e, BY_SLUG[e["expected"]["near_duplicate_of"]])
        for e in ENTRIES
        if "near_duplicate_of" in e["expected"]
    ]
    assert pairs
    for copy, original in pairs:
        a, b = paragraphs(gold(copy)), paragraphs(gold(original))
        assert copy["site"] != original["site"] and copy["url"] != original["url"]
        assert copy["title"] != original["title"], "changed headline"
        assert len(a) == len(b)
        assert a != b and sorted(a) != sorted(b), "reordered and edited"
        changed = [p for p in a if p not in b]
        assert len(changed) == 1, "one paragraph gained a sentence"
        assert any(changed[0].startswith(p) for p in b)
        assert [p for p in a if p in b] != [p for p in b if p in a], "one paragraph moved"
        ratio = difflib.SequenceMatcher(None, gold(copy), gold(original)).ratio()
        assert ratio > 0.8
