"""The clean stage: raw page in, clean article out, without any server.

The demo corpus (services/sitrep/data/demo) is the ground truth: its gold texts are what a
good extractor returns. tools/eval_extraction.py measures the whole corpus; these tests pin
the behaviours the rest of the pipeline relies on.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from sitrep.clean import (
    MINHASH_PERMUTATIONS,
    CleanError,
    clean_article,
    clean_command,
    clean_html,
    clean_text,
    filter_lines,
    minhash_similarity,
    text_hash,
)
from sitrep.schemas import problems

DEMO = Path(__file__).resolve().parents[2] / "services" / "sitrep" / "data" / "demo"
SAMPLES = Path(
    os.environ.get("SITREP_SAMPLES_DIR")
    or Path(__file__).resolve().parents[3] / "shared" / "samples"
)
MANIFEST: dict[str, Any] = yaml.safe_load((DEMO / "manifest.yaml").read_text(encoding="utf-8"))
BY_SLUG = {a["slug"]: a for a in MANIFEST["articles"]}
REUTERS = "reuters-2017-05-30-pmf-border-villages"
NEWSWEEK = "newsweek-2017-05-30-iraq-militias-border"
SADA = "sada-2020-07-12-hashd-anbar-desert-operation"
FETCHED_AT = "2026-11-20T10:00:00+00:00"


def fold(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def page(slug: str) -> str:
    return (DEMO / str(BY_SLUG[slug]["file"])).read_text(encoding="utf-8")


def gold_paragraphs(slug: str) -> list[str]:
    text = (DEMO / BY_SLUG[slug]["gold"]).read_text(encoding="utf-8")
    return [fold(p) for p in text.split("\n\n") if p.strip()]


def raw_message(slug: str, status: str = "ok") -> dict[str, Any]:
    """An articles.raw message for a demo page, as the poller would build it."""
    article = BY_SLUG[slug]
    ok = status == "ok"
    return {
        "schema": "articles.raw/1",
        "id": "0123456789abcdef0123456789abcdef",
        "feed": {"id": "feedfeedfeedfeed", "url": "https://feeds.example/rss", "name": "Demo",
                 "title": "Demo feed", "tags": ["iraq"], "language": "en"},
        "entry": {
            "key": "k1", "guid": article["url"], "link": article["url"],
            "title": article["title"], "summary": f"<p>{article['summary']}</p>",
            "published": "2020-01-02T03:04:05+00:00", "updated": None,
            "authors": ["Feed Author"], "tags": ["Feed tag"], "language": None,
        },
        "url": article["url"] if ok else None,
        "canonical_url": article["url"],
        "fetched_at": FETCHED_AT,
        "fetch": {"status": status, "http_status": 200 if ok else None,
                  "content_type": "text/html" if ok else "application/pdf",
                  "error": None if ok else "not HTML: application/pdf (1000 bytes)"},
        "html": page(slug) if ok else None,
        "encoding": "utf-8" if ok else None,
        "html_bytes": len(page(slug).encode()) if ok else 1000,
        "html_truncated": False,
        "html_cap": 5_000_000,
    }


@cache
def cleaned(slug: str) -> dict[str, Any]:
    return clean_article(raw_message(slug))


# -- boilerplate -----------------------------------------------------------------------


@pytest.mark.parametrize("slug", [REUTERS, NEWSWEEK])
def test_real_sample_pages_lose_captions_link_lines_and_newsletters(slug: str) -> None:
    text = cleaned(slug)["text"]
    assert "Stringer/Reuters" not in text
    assert "RTX3858X" not in text
    lines = text.split("\n\n")
    for lead in ("Related:", "Read more:", "Also read:"):
        assert not any(line.startswith(lead) for line in lines), lead
    for prompt in ("Sign up", "newsletter", "By signing up", "cookies", "©", "comments"):
        assert prompt not in text, prompt


@pytest.mark.parametrize("slug", [REUTERS, NEWSWEEK])
def test_real_sample_pages_keep_every_gold_paragraph_in_order(slug: str) -> None:
    paragraphs = [fold(p) for p in cleaned(slug)["text"].split("\n\n")]
    assert paragraphs == gold_paragraphs(slug)


def test_wire_credit_and_source_lines_are_removed() -> None:
    text = cleaned("mpa-2016-11-23-tal-afar-sinjar-road-cut")["text"]
    assert "Editing by" not in text and "Reporting by" not in text
    syndicated = cleaned("crescent-2022-09-14-ain-al-asad-rockets-mpa")["text"]
    assert "Source:" not in syndicated


def test_line_rules_generalise_to_other_sites_phrasings() -> None:
    """Lines in the styles of other outlets, none of them from the demo corpus."""
    boilerplate = [
        "Reporting by Ahmed Rasheed and John Davison; Editing by Alison Williams",
        "Additional reporting by Maher Chmaytelli in Beirut",
        "Associated Press writer Qassim Abdul-Zahra contributed to this report.",
        "Displaced Iraqis queue for water near Mosul. "
        "(Photo by AHMAD AL-RUBAYE/AFP via Getty Images)",
        "A fighter stands guard in Raqqa. REUTERS/Rodi Said",
        "Read More: Iraq's parliament fails again to elect a president",
        "SEE ALSO - Who are the Popular Mobilization Forces?",
        "Lire aussi : Syrie, le régime reprend Deir ez-Zor",
        "Sign up to our Middle East newsletter to get the latest headlines every morning.",
        "Copyright 2025 The Associated Press. All rights reserved.",
        "Advertisement",
    ]
    article = [
        "Related to the offensive, officials said 3,000 families fled Hawija on Monday.",
        "The agency's photographer, who asked not to be named, said the strike hit at dawn.",
        "Reuters could not independently verify the claims.",
        "Iraqi forces said they had recaptured the Nuri mosque, where Abu Bakr al-Baghdadi "
        "declared his caliphate in 2014, and that the battle for Mosul was entering its "
        "final phase.",
    ]
    kept, dropped = filter_lines([*boilerplate, *article])
    assert kept == article
    assert len(dropped) == len(boilerplate)


def test_line_rules_keep_article_sentences_that_resemble_boilerplate() -> None:
    article = [
        # "اشترك في" is "subscribe to", but also "took part in"
        "وقال مصدر أمني إن لواء من الجيش اشترك في العملية إلى جانب الحشد الشعبي.",
        "He wrote a letter every week to the ministry asking for news of his son.",
        "Sources: two officials said the convoy left al-Qaim before dawn and reached the "
        "border crossing by noon, hours before the strike.",
        "The road to al-Qaim",  # a subheading with an ad slot under it
        "Advertisement",
        "Trucks queued for three days at the crossing, drivers said.",
    ]
    kept, dropped = filter_lines(article)
    assert kept == [line for line in article if line != "Advertisement"]
    assert dropped == [("ui", "Advertisement")]


def test_author_bio_is_only_dropped_at_the_end() -> None:
    lines = [
        "Jane Doe is a senior fellow at the Atlantic Council, and she said the deal would hold.",
        "The ceasefire began at midnight.",
        "Jane Doe is The Example Times' Baghdad correspondent.",
    ]
    kept, dropped = filter_lines(lines)
    assert kept == lines[:2]
    assert dropped == [("author_bio", lines[2])]


# -- dates -----------------------------------------------------------------------------


def test_published_date_comes_from_the_page_byline_not_the_footer_copyright() -> None:
    # The Arabic page has no machine-readable date: only its byline, and "© 2026" below.
    assert cleaned(SADA)["published"] == "2020-07-12"
    assert cleaned(SADA)["provenance"]["fields"]["published"] == "page"


def test_dates_in_the_footer_are_never_the_publication_date() -> None:
    html = (
        "<html lang='en'><head><title>Talks resume</title></head><body><article><h1>Talks "
        "resume</h1>" + "<p>Negotiators met again in Baghdad on Monday to discuss the oil "
        "revenue dispute between the federal government and the Kurdistan Region.</p>" * 5
        + "</article><footer><p>Page generated 2026-01-05 10:42:00.</p>"
        "<p>© 2026 Example News. All rights reserved.</p></footer>"
        "</body></html>"
    )
    article = clean_html(html, "https://news.example.org/2020/talks-resume")
    assert article["published"] is None
    assert "2026" not in article["text"]


def test_published_keeps_the_time_and_offset_the_page_gives() -> None:
    assert cleaned(NEWSWEEK)["published"] == "2017-05-30T12:44:00-04:00"


# -- canonical URL and language ---------------------------------------------------------


def test_canonical_pointing_at_the_home_page_or_relative_is_not_believed() -> None:
    base = page(NEWSWEEK)
    canonical = BY_SLUG[NEWSWEEK]["url"]
    for bad in ("https://www.newsweek.com/", "/war-iraq-iran-allies"):
        html = base.replace(f'rel="canonical" href="{canonical}"', f'rel="canonical" href="{bad}"')
        html = html.replace(f'property="og:url" content="{canonical}"',
                            'property="og:url" content=""')
        raw = raw_message(NEWSWEEK)
        raw.update(html=html, url="https://www.newsweek.com/iraq-militias-118522?utm_source=rss",
                   canonical_url="https://www.newsweek.com/iraq-militias-118522")
        article = clean_article(raw)
        assert article["canonical_url"] == "https://www.newsweek.com/iraq-militias-118522"
        assert article["provenance"]["canonical_url"] == "raw"


def test_a_wrong_template_language_is_corrected_by_the_detector() -> None:
    html = page("echo-levant-2019-10-01-al-qaim-albou-kamal-poste-frontiere")
    html = html.replace('<html lang="fr"', '<html lang="en"', 1)
    article = clean_html(html, "https://www.echodulevant.example/a")
    assert article["language"] == "fr"
    assert article["provenance"]["language"] == "detector"


# -- failed fetch ----------------------------------------------------------------------


def test_failed_fetch_builds_the_article_from_the_feed_entry() -> None:
    raw = raw_message(REUTERS, status="non_html")
    assert problems("articles.raw", raw) == []
    article = clean_article(raw)
    entry = raw["entry"]
    assert article["title"] == entry["title"]
    assert article["text"] == BY_SLUG[REUTERS]["summary"]
    assert article["published"] == entry["published"]
    assert article["authors"] == entry["authors"]
    fields = article["provenance"]["fields"]
    assert fields["title"] == fields["published"] == fields["authors"] == "feed"
    assert fields["text"] == "feed_summary"
    assert article["provenance"]["fetch_status"] == "non_html"
    assert article["id"] == raw["id"]
    assert problems("articles.clean", article) == []


def test_nothing_usable_raises_a_clean_error_with_the_reason() -> None:
    raw = raw_message(REUTERS, status="timeout")
    raw["entry"].update(title=None, summary=None)
    with pytest.raises(CleanError, match="no title or summary"):
        clean_article(raw)


# -- provenance and schema -------------------------------------------------------------


def test_provenance_records_extractor_and_where_each_field_came_from() -> None:
    article = cleaned(NEWSWEEK)
    provenance = article["provenance"]
    assert provenance["extractor"].startswith("trafilatura ")
    assert provenance["fields"]["title"] == "page"
    assert provenance["fields"]["text"] == "page"
    assert provenance["fields"]["published"] == "page"
    assert provenance["canonical_url"] == "link_canonical"
    assert provenance["language"] == "html_lang"
    assert article["canonical_url"] == BY_SLUG[NEWSWEEK]["url"]
    assert article["language"] == "en"
    assert article["title"] == BY_SLUG[NEWSWEEK]["title"]


@pytest.mark.parametrize("slug", sorted(BY_SLUG))
def test_every_demo_article_is_valid_against_the_clean_schema(slug: str) -> None:
    article = cleaned(slug)
    assert problems("articles.clean", article) == []
    assert article["language"] == BY_SLUG[slug]["language"]
    assert (article["published"] or "")[:10] == BY_SLUG[slug]["published"][:10]


# -- duplicates ------------------------------------------------------------------------


def pair(relation: str) -> tuple[str, str]:
    slug = next(s for s, a in BY_SLUG.items() if relation in a.get("expected", {}))
    return slug, BY_SLUG[slug]["expected"][relation]


def test_exact_syndication_pair_has_equal_text_hashes() -> None:
    copy, original = pair("duplicate_of")
    assert cleaned(copy)["text_hash"] == cleaned(original)["text_hash"]
    assert cleaned(copy)["canonical_url"] != cleaned(original)["canonical_url"]


def test_text_hash_ignores_case_and_whitespace_only() -> None:
    assert text_hash("Rockets hit\n\nAin al-Asad") == text_hash("rockets  HIT ain\u00a0al-asad")
    assert text_hash("Rockets hit Ain al-Asad") != text_hash("Rockets hit Ain al-Asad base")


def test_minhash_similarity_high_for_near_duplicates_low_for_unrelated() -> None:
    near, original = pair("near_duplicate_of")
    signature = cleaned(original)["minhash"]
    assert len(signature) == MINHASH_PERMUTATIONS
    assert cleaned(near)["text_hash"] != cleaned(original)["text_hash"]
    assert minhash_similarity(cleaned(near)["minhash"], signature) >= 0.7
    for unrelated in (REUTERS, SADA, "tigris-2019-09-10-albu-kamal-drone-strike"):
        assert minhash_similarity(cleaned(unrelated)["minhash"], signature) <= 0.1


# -- the command line ------------------------------------------------------------------


def test_clean_command_prints_one_json_line_per_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    first = tmp_path / "reuters.html"
    first.write_text(page(REUTERS), encoding="utf-8")
    second = tmp_path / "newsweek.html.gz"
    second.write_bytes(gzip.compress(page(NEWSWEEK).encode()))
    assert clean_command([str(first), str(second)], None) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    docs = [json.loads(line) for line in lines]
    assert [d["source"] for d in docs] == [str(first), str(second)]
    assert docs[1]["title"] == BY_SLUG[NEWSWEEK]["title"]
    assert "Stringer/Reuters" not in docs[1]["text"]


def test_clean_command_reports_a_missing_file_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    good = tmp_path / "page.htm"
    good.write_text(page(REUTERS), encoding="utf-8")
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" * 50)
    missing = tmp_path / "nope.html"
    rc = clean_command([str(missing), str(good), str(binary)], None)
    captured = capsys.readouterr()
    assert rc == 1
    assert f"{missing}: no such file" in captured.err
    assert f"{binary}: binary content" in captured.err
    docs = [json.loads(line) for line in captured.out.splitlines()]
    assert [d["source"] for d in docs] == [str(good)]


def test_clean_command_single_file_is_indented_and_uses_the_given_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    html = page(REUTERS).replace('rel="canonical"', 'rel="x-canonical"')
    source = tmp_path / "page.html"
    source.write_text(html, encoding="utf-8")
    url = "https://www.reuters.com/article/iraq-border-idUSKBN18Q0X4"
    assert clean_command([str(source)], url) == 0
    out = capsys.readouterr().out
    assert out.startswith("{\n")
    article = json.loads(out)
    assert article["url"] == url
    assert "source" not in article
    assert problems("articles.clean", article) == []


def test_clean_command_rejects_an_empty_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    empty = tmp_path / "empty.html"
    empty.write_text("  \n", encoding="utf-8")
    assert clean_command([str(empty)], None) == 1
    assert f"{empty}: empty file" in capsys.readouterr().err


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared/samples is not beside the checkout")
def test_plain_text_samples_give_title_date_and_clean_text() -> None:
    reuters = clean_text((SAMPLES / f"{REUTERS}.txt").read_text(encoding="utf-8"))
    assert reuters["published"] == "2017-05-30"
    assert reuters["text"].startswith("An Iraqi Shi'ite force backed by Iran")
    newsweek = clean_text((SAMPLES / f"{NEWSWEEK}.txt").read_text(encoding="utf-8"))
    assert newsweek["title"] == BY_SLUG[NEWSWEEK]["title"]
    assert "Stringer/Reuters" not in newsweek["text"]
    assert "Related:" not in newsweek["text"]
    assert [fold(p) for p in newsweek["text"].split("\n\n")] == gold_paragraphs(NEWSWEEK)
    for article in (reuters, newsweek):
        assert problems("articles.clean", article) == []
