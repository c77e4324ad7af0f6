"""Issue 14: the clean stage never loses the article, and its shortcuts change nothing.

Every page here is built in the test (no page of any evaluation set): small HTML that
reproduces the situations measured on real pages (an article wrapper whose class says
"read-more" or "paywall", legitimately repeated lines, a fast pass that found only a
menu), and checks the behaviour, not a score.
"""

from __future__ import annotations

import re

from datasketch import MinHash
from trafilatura import bare_extraction
from trafilatura.utils import load_html

from sitrep.clean import (
    CleanOptions,
    boilerplate_lines,
    clean_html,
    clean_paragraphs,
    filter_lines,
    minhash,
    shingles,
)
from sitrep.clean.extract import _trafilatura_text, has_prose, prose_chars, text_words
from sitrep.clean.lines import dedupe
from sitrep.clean.options import TRAFILATURA_OPTIONS
from sitrep.clean.text import fold_lines, fold_whitespace, normalise_text, text_tokens

SENTENCES = [
    "The regional council voted on Tuesday to extend the night bus service to the three "
    "villages east of the river, after a petition signed by more than two thousand people.",
    "Drivers will start the new routes in March, and the operator said it would hire eleven "
    "more staff to cover the late shifts between midnight and five in the morning.",
    "Residents had complained for years that the last bus left the town centre at ten, "
    "which made evening work and study impossible for anyone without a car.",
    "The cost, about four hundred thousand euros a year, will be shared between the region "
    "and the municipalities, which agreed to the split after a long debate.",
    "Opposition members supported the plan but asked for a review after one year, to see "
    "whether the number of passengers justifies keeping every route.",
]


def page(article_attributes: str, extra: str = "") -> str:
    body = "".join(f"<p>{s}</p>" for s in SENTENCES)
    return (
        "<html lang='en'><head><title>Night buses extended</title></head><body>"
        "<nav><a href='/'>Home</a> <a href='/news'>News</a> <a href='/sport'>Sport</a></nav>"
        f"<h1>Night buses extended</h1><div {article_attributes}>{body}</div>{extra}"
        "<footer><p>© 2026 Example Gazette. All rights reserved.</p></footer></body></html>"
    )


def test_an_article_inside_a_read_more_wrapper_is_kept() -> None:
    html = page('class="entry-content entry-content-read-more"')
    for options in (CleanOptions(), CleanOptions(prune=True)):
        text = clean_html(html, "https://gazette.example/news/buses", options=options)["text"]
        for sentence in SENTENCES:
            assert sentence in text


def test_an_article_inside_a_paywall_wrapper_is_kept() -> None:
    html = page('class="paywall article-body" id="paywall-content"')
    for options in (CleanOptions(), CleanOptions(prune=True)):
        text = clean_html(html, "https://gazette.example/news/buses", options=options)["text"]
        for sentence in SENTENCES:
            assert sentence in text


def test_furniture_lines_go_but_the_article_wrapper_is_spared() -> None:
    tree = load_html(page(
        'class="comments-open post"',
        "<div class='share-box'><p>Share this on every network you use</p></div>",
    ))
    lines = [*SENTENCES, "Share this on every network you use"]
    assert boilerplate_lines(tree, lines) == {len(SENTENCES)}


def test_a_furniture_line_also_shown_outside_the_furniture_is_kept() -> None:
    tree = load_html(page(
        'class="story"',
        "<ul class='breadcrumb'><li>Night buses extended</li></ul>",
    ))
    assert boilerplate_lines(tree, ["Night buses extended", *SENTENCES]) == set()


def test_legitimately_repeated_short_lines_are_kept() -> None:
    """Recipe steps, table cells, refrains repeat on purpose; removing the repeat would
    also break the text around it."""
    lines = ["Dough", "200 g flour", "1 egg", "Filling", "200 g flour", "1 egg", "Bake."]
    assert dedupe(lines) == lines


def test_a_repeated_long_sentence_is_dropped_as_a_pull_quote() -> None:
    quote = ("We have waited for this bus for ten years and now it finally comes to our "
             "village, said the mayor.")
    assert dedupe([SENTENCES[0], quote, SENTENCES[1], quote]) == [SENTENCES[0], quote,
                                                                   SENTENCES[1]]


def test_line_rules_never_take_most_of_the_text() -> None:
    """A page that is all "Source:" and "Read more:" lines to the rules is misread by
    them: the unfiltered text wins."""
    lines = [f"Read more: part {n} of the council's transport report" for n in range(8)]
    text = "\n".join([*lines, "The report is due in May."])
    paragraphs, dropped = clean_paragraphs(text, rules=True)
    assert len(paragraphs) == 9 and dropped == []


def test_link_list_headings_and_date_lines_in_other_languages_are_dropped() -> None:
    boilerplate = [
        "Weitere Themen", "Lesen Sie auch:", "Czytaj też: Nowy rozkład jazdy autobusów",
        "Notas relacionadas", "23.10.2018", "Aktualisiert am 17.01.2021.",
        "Teilen mit:", "Du bist leider nicht eingeloggt.",
    ]
    article = [
        "Weitere Themen der Sitzung waren der Haushalt und die neue Schule.",
        "Am 23.10.2018 stimmte der Rat zum ersten Mal über den Nachtbus ab.",
    ]
    kept, dropped = filter_lines([*boilerplate, *article])
    assert kept == article
    assert len(dropped) == len(boilerplate)


def test_the_comparison_pass_replaces_a_menu_but_never_an_article_with_a_menu() -> None:
    menu = "\n".join(["Home", "News", "Sport", "Weather", "Contact"] * 20)
    article = "\n".join(SENTENCES)
    assert prose_chars(menu) == 0
    assert prose_chars(article) == sum(len(s) for s in SENTENCES)


def test_unspaced_scripts_are_not_counted_as_a_handful_of_words() -> None:
    japanese = "地域議会は火曜日、川の東にある三つの村まで夜行バスの運行を延長することを決めた。"
    japanese *= 3
    assert text_words(japanese) > 60


def test_the_copy_free_extraction_gives_bare_extractions_text() -> None:
    html = page('class="story"', "<aside><p>Most read: the weather this week</p></aside>")
    for fast in (True, False):
        settings = {**TRAFILATURA_OPTIONS, "fast": fast}
        document = bare_extraction(load_html(html), **settings)
        assert _trafilatura_text(load_html(html), None, settings) == document.text


def test_minhash_signature_is_exactly_datasketchs() -> None:
    """The index compares stored signatures: the faster computation must not change one."""
    text = " ".join(SENTENCES)
    reference = MinHash(num_perm=64, seed=1)
    reference.update_batch([g.encode("utf-8") for g in shingles(text)])
    assert minhash(text) == [int(v) for v in reference.hashvalues]


def test_a_script_rendered_pages_declared_body_wins_over_its_link_list() -> None:
    """A script-rendered page: the HTML holds a related-links list, the article is only in
    the JSON-LD articleBody; the longer, cleaner text is the one kept."""
    body = " ".join(SENTENCES)
    html = (
        "<html><head><title>Night buses extended</title>"
        '<script type="application/ld+json">{"@type": "NewsArticle", '
        f'"headline": "Night buses extended", "articleBody": "{body}"}}</script></head>'
        "<body><div id='app'></div><ul><li><a href='/a'>Council budget approved</a></li>"
        "<li><a href='/b'>New school opens</a></li></ul></body></html>"
    )
    article = clean_html(html, "https://gazette.example/news/buses")
    for sentence in SENTENCES:
        assert sentence in article["text"]
    assert "New school opens" not in article["text"]


def test_fold_lines_equals_folding_each_line() -> None:
    text = (
        "  Caf\u0065\u0301 opens\u00a0 today \r\n\n\tSecond\x0b line \u2028 same line?  \n"
        " \n e\u0301\u0301 last"
    )
    expected = [line for line in (fold_whitespace(p) for p in text.split("\n")) if line]
    assert fold_lines(text) == expected
    assert fold_lines(" \n\t\n") == []


def test_has_prose_agrees_with_prose_chars() -> None:
    prose = "A sentence long enough to count as prose in any article body."
    menu = "Home\nNews\nSport\nContact us"
    for text in (menu, prose, f"{menu}\n{prose}", f"{prose}\n{prose}\n{prose}"):
        for threshold in (1, 60, 150, 200):
            assert has_prose(text, threshold) == (prose_chars(text) >= threshold)


def test_text_tokens_are_the_words_of_the_normalised_text() -> None:
    text = "  Über\u00a0den  Fluß\n\nCafe\u0301 İstanbul\u2028ΣΑΣ  end_of-line\t42 "
    assert text_tokens(text) == re.findall(r"\w+", normalise_text(text))
