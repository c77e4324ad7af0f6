"""Stage 2, clean: one ``articles.raw`` message in, one ``articles.clean`` message out.

Pure: no I/O except in :func:`clean_command` (the ``sitrep clean`` CLI), so the stage is
unit-tested without servers and the Faust agent stays a thin adapter.

Why the extraction is more than ``trafilatura.extract(html)``: bare trafilatura keeps the
"Related:" / "Read more:" link lines, newsletter boxes, comment teasers and wire credit
lines that news sites put *inside* the article body, and every one of those pollutes the
tagger (places and actors in a related headline are not in the story) and the duplicate
detection (two copies of a wire story differ only in their boilerplate). Three layers, each
measured on the demo corpus by ``tools/eval_extraction.py``:

1. tuned trafilatura options (no comments, precision-leaning) on a tree from which
   elements whose class/id names mark them as boilerplate (newsletter, related, caption,
   share, cookie ...) were pruned first, with a guard that never prunes the main text;
2. line rules that drop what the markup did not reveal: lead-word link lines, captions
   ending in a photo credit, newsletter prompts, agency credit lines, cookie and copyright
   notices;
3. a cascade: when trafilatura finds (almost) nothing, or far less than the body the page
   declares in its JSON-LD ``articleBody`` (script-rendered sites), the fallbacks bundled
   with trafilatura (its readability port, its baseline, jusText) are tried in turn.

The HTML is parsed once: the same lxml tree feeds the metadata (trafilatura, which runs
htmldate on it) and the text extraction.
"""

from __future__ import annotations

import gzip
import hashlib
import html as html_lib
import json
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from trafilatura.metadata import extract_metadata
from trafilatura.utils import decode_file, load_html

from sitrep.urls import article_id, canonical_url

CLEAN_TOPIC = "articles.clean"
CLEAN_SCHEMA = "articles.clean/1"

#: Near-duplicate signature: datasketch ``MinHash(num_perm=MINHASH_PERMUTATIONS,
#: seed=MINHASH_SEED)`` (default sha1_hash32 hash function) over the set of
#: MINHASH_SHINGLE_WORDS-word shingles of the normalised text (:func:`text_tokens`).
#: A later stage rebuilds it with ``LeanMinHash(seed=MINHASH_SEED, hashvalues=values)``
#: and indexes it with ``MinHashLSH(threshold=..., num_perm=MINHASH_PERMUTATIONS)``; changing
#: any of these three constants makes old and new signatures incomparable.
MINHASH_PERMUTATIONS = 64
MINHASH_SHINGLE_WORDS = 5
MINHASH_SEED = 1

#: Below this many words trafilatura's result is suspect (a paywall stub, a JS shell, a
#: layout it misread) and the cascade tries the fallback extractors.
MIN_TEXT_WORDS = 60
#: Dates outside this window are parsing accidents (a "1970" epoch, a copyright year in
#: the future), never publication dates.
EARLIEST_DATE = date(1990, 1, 1)
#: Limits of the ``sitrep clean URL`` fetch.
FETCH_TIMEOUT = 20.0
FETCH_MAX_BYTES = 5 * 1024 * 1024

#: The trafilatura configuration that won on the demo corpus (tools/eval_extraction.py
#: --ablations --stress): comments are never article text (the comment teasers were most
#: of bare trafilatura's noise); favor_precision beat the balanced and recall modes on the
#: unlabelled variants at equal recall; tables stay (casualty and election tables are
#: content). Repeated paragraphs are removed per document by :func:`_paragraphs`, not by
#: trafilatura's ``deduplicate``: its cache lives for the whole process and discards a
#: document once it has seen it a few times, and the fourth copy of a syndicated wire
#: story would come back empty. ``fast`` stays off: trafilatura's own readability/jusText
#: comparison is a safety net its authors tuned on real sites (measured: same scores here,
#: about 15 % slower).
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "favor_precision": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "include_formatting": False,
    "deduplicate": False,
    "with_metadata": False,
    "output_format": "python",
}
#: htmldate without its "extensive" free-text search: that search is what picks the
#: footer's "(c) 2026" when a page has no machine-readable date, and it costs ~1 s on such
#: pages. Byline dates in other languages are read by :func:`_byline_date` instead.
DATE_OPTIONS: dict[str, Any] = {"extensive_search": False, "original_date": True}


class CleanError(ValueError):
    """Nothing usable at all: no HTML text and no feed title or summary to fall back on."""


@dataclass(frozen=True)
class CleanOptions:
    """Switches for measuring each layer's contribution (tools/eval_extraction.py).

    Production always uses the defaults; turning a layer off is for evaluation only.
    """

    prune: bool = True
    line_rules: bool = True
    cascade: bool = True
    trafilatura: dict[str, Any] = field(default_factory=lambda: dict(TRAFILATURA_OPTIONS))


DEFAULT_OPTIONS = CleanOptions()


# ----------------------------------------------------------------------------------------
# Text normalisation, hashes and signatures
# ----------------------------------------------------------------------------------------

_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


def fold_whitespace(text: str) -> str:
    """NFC, every whitespace run (no-break spaces included) to one space, trimmed."""
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def normalise_text(text: str) -> str:
    """The form both hashes are computed on: lower-case, whitespace folded.

    Paragraph breaks fold too, so a copy re-flowed by another CMS hashes the same.
    """
    return fold_whitespace(text).lower()


def text_hash(text: str) -> str:
    """sha256 of :func:`normalise_text`: equal for exact copies (syndication)."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def text_tokens(text: str) -> list[str]:
    """Words of the normalised text (Unicode ``\\w+``: Arabic and French included)."""
    return _WORD.findall(normalise_text(text))


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def shingles(text: str, size: int = MINHASH_SHINGLE_WORDS) -> set[str]:
    """Word ``size``-grams; a text shorter than that is one shingle of all its words."""
    tokens = text_tokens(text)
    if not tokens:
        return set()
    if len(tokens) < size:
        return {" ".join(tokens)}
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def minhash(text: str) -> list[int] | None:
    """The MinHash signature (see MINHASH_* constants); None when the text has no words.

    An empty set would hash to the all-maximum signature, which every other empty text
    shares: a spurious "duplicate", so no signature is better.
    """
    grams = shingles(text)
    if not grams:
        return None
    from datasketch import MinHash

    signature = MinHash(num_perm=MINHASH_PERMUTATIONS, seed=MINHASH_SEED)
    signature.update_batch([g.encode("utf-8") for g in sorted(grams)])
    return [int(v) for v in signature.hashvalues]


def minhash_similarity(a: list[int] | None, b: list[int] | None) -> float:
    """Estimated Jaccard similarity of two signatures: the share of equal slots."""
    if not a or not b or len(a) != len(b):
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


# ----------------------------------------------------------------------------------------
# Boilerplate: DOM pruning by class/id vocabulary
# ----------------------------------------------------------------------------------------

#: Words that, in a class or id name, mark an element as not being article text. They are
#: the vocabulary of CMS templates generally (WordPress, Arc, Drupal themes, BEM
#: components), not of any one site.
_BOILERPLATE_WORDS = frozenset({
    "newsletter", "newsletters", "signup", "subscribe", "subscription", "related",
    "promo", "promotion", "cookie", "cookies", "consent", "gdpr", "share", "sharing",
    "social", "comments", "comment", "caption", "credit", "credits", "advert",
    "advertisement", "ad", "ads", "sponsored", "outbrain", "taboola", "paywall",
    "breadcrumb", "breadcrumbs", "readmore", "alsoread", "seealso",
})
_BOILERPLATE_PAIRS = frozenset({
    ("read", "more"), ("also", "read"), ("read", "also"), ("see", "also"), ("most", "read"),
    ("most", "popular"), ("sign", "up"), ("more", "stories"), ("more", "news"),
})
_BOILERPLATE_TAGS = frozenset({"figcaption", "aside", "form", "nav", "footer", "button"})
_NEVER_PRUNE = frozenset({"html", "body", "main", "article"})
_CLASS_SPLIT = re.compile(r"[-_\s]+|(?<=[a-z])(?=[A-Z])")
#: An element holding this share of the page's text, in several long paragraphs, is the
#: article itself whatever its class says (WordPress puts "comments-open" on <article>).
_PRUNE_MAX_SHARE = 0.3
_LONG_PARAGRAPH_WORDS = 25


@lru_cache(maxsize=8192)
def _names_look_like_boilerplate(names: str) -> bool:
    """Whether a class/id string names boilerplate; cached, as templates repeat them."""
    for name in names.split():
        words = [w.lower() for w in _CLASS_SPLIT.split(name) if w]
        if _BOILERPLATE_WORDS.intersection(words):
            return True
        if any(pair in _BOILERPLATE_PAIRS for pair in pairwise(words)):
            return True
    return False


def _looks_like_boilerplate(element: Any) -> bool:
    tag = element.tag if isinstance(element.tag, str) else ""
    if tag in _NEVER_PRUNE:
        return False
    if tag in _BOILERPLATE_TAGS:
        return True
    names = f"{element.get('class') or ''} {element.get('id') or ''}"
    if not names.strip() or (element.get("itemprop") or "").lower() == "articlebody":
        return False
    return _names_look_like_boilerplate(names)


def _is_main_text(element: Any, page_chars: int) -> bool:
    chars = len(element.text_content())
    if page_chars == 0 or chars < _PRUNE_MAX_SHARE * page_chars:
        return False
    long_paragraphs = sum(
        1 for p in element.iter("p") if word_count(p.text_content()) >= _LONG_PARAGRAPH_WORDS
    )
    return long_paragraphs >= 3


def prune_boilerplate(tree: Any) -> int:
    """Remove boilerplate elements in place (keeping their tail text); return how many."""
    body = tree.find(".//body")
    if body is None:
        return 0
    page_chars = len(body.text_content())
    candidates = [
        el for el in body.iter() if isinstance(el.tag, str) and _looks_like_boilerplate(el)
    ]
    removed = 0
    for element in candidates:
        parent = element.getparent()
        if parent is None or _is_main_text(element, page_chars):
            continue
        element.drop_tree()
        removed += 1
    return removed


# ----------------------------------------------------------------------------------------
# Boilerplate: line rules
# ----------------------------------------------------------------------------------------

_LEAD_WORDS = re.compile(
    r"^\W{0,3}(?:related(?:\s+(?:stories|story|articles?|coverage|content|reading|news))?"
    r"|read\s+(?:more|also|next)|also\s+read|see\s+also|more\s+on\s+this(?:\s+story)?"
    r"|further\s+reading|recommended(?:\s+reading)?|don'?t\s+miss|must\s+read|watch|listen"
    r"|(?:à\s+)?lire\s+(?:aussi|également|la\s+suite)|voir\s+aussi|sur\s+le\s+même\s+sujet"
    r"|lea\s+también|lee\s+también|ver\s+también|te\s+puede\s+interesar"
    r"|lesen\s+sie\s+auch|mehr\s+zum\s+thema|ayrıca\s+okuyun|ilgili\s+haber"
    r"|[اإ]قر[أا]\s+[أا]يض[اًا]+|طالع\s+[أا]يض[اًا]+|شاهد\s+[أا]يض[اًا]+|للمزيد)"
    r"\s*[:：\-–—|»›]",
    re.IGNORECASE,
)
_AGENCIES = (
    r"Reuters|REUTERS|AFP|AP|Associated\s+Press|EPA(?:-EFE)?|EFE|Getty\s+Images|Anadolu"
    r"(?:\s+Agency)?|AA|Xinhua|SANA|IRNA|WANA|Sputnik|TASS|Bloomberg|Shutterstock|Alamy"
    r"|ZUMA(?:\s+Press)?|NurPhoto|SOPA\s+Images|Sipa(?:\s+USA)?|Abaca|dpa|picture\s+alliance"
    r"|File\s+Photo|File|Handout|Pool|Stringer"
)
_CAPTION_PATTERNS = (
    # "... Stringer/Reuters", "... REUTERS/File Photo", "... MPA/File Photo"
    re.compile(rf"(?:^|\s)[\w.'’ -]{{1,40}}/(?:{_AGENCIES})\)?\s*$"),
    re.compile(rf"(?:^|\s)(?:{_AGENCIES})/[\w.'’ -]{{2,40}}\)?\s*$"),
    re.compile(r"\b(?:via|for)\s+Getty\s+Images\)?\s*$"),
    # "(Photo: Tigris Herald/Ali Kareem)", "Photo credit: ...", "Crédit photo : ..."
    re.compile(
        r"[(\[]?\b(?:photos?|pictures?|images?|credit|foto|crédit(?:\s+photo)?|صورة)"
        r"(?:\s+credit)?\s*:\s*[^.!?]{2,80}[)\]]?\s*$",
        re.IGNORECASE,
    ),
    # Reuters picture codes and "FILE PHOTO:" captions
    re.compile(r"^(?:RTX|RTR|RC)[0-9A-Z]{4,}\b"),
    re.compile(r"^FILE\s+PHOTO\s*:", re.IGNORECASE),
)
_CAPTION_MAX_CHARS = 600
#: Every caption pattern needs one of these; most lines have none and skip the patterns.
_CAPTION_HINT = re.compile(r"/|:|Getty|^R[TC]", re.IGNORECASE)
_NEWSLETTER = re.compile(
    r"\bsign(?:ing)?[\s-]+up\b.{0,80}\b(?:newsletter|briefing|bulletin|digest|inbox|e-?mail|alerts?)\b"
    r"|\bsubscribe\b.{0,80}\b(?:newsletter|briefing|bulletin|digest|inbox|e-?mail|alerts?)\b"
    r"|\b(?:in|to)\s+your\s+inbox\b|\bunsubscribe\s+at\s+any\s+time\b|\bby\s+signing\s+up\b"
    r"|\benter\s+your\s+e-?mail\b|\bnewsletter\s+sign[\s-]*up\b"
    r"|\binscrivez-vous\b|\babonnez-vous\b|\ben\s+vous\s+inscrivant\b|\bdésinscrire\b"
    r"|\blettre\s+d['’]information\b|\bnewsletter\s+abonnieren\b|\bsuscr[ií]bete\b"
    r"|\bboîte\s+(?:mail|e-?mail|de\s+réception)\b"
    r"|النشرة\s+البريدية|باشتراكك",
    re.IGNORECASE,
)
#: A recurring product pitched to the reader: "... the ten stories you need, every weekday".
_NEWSLETTER_PITCH = re.compile(
    r"\bevery\s+(?:weekday|day|morning|evening|week|(?:mon|tues|wednes|thurs|fri|satur|sun)day)"
    r"\b",
    re.IGNORECASE,
)
#: ... and the product: a generic name, or a named one ("Morning Wire", "Friday Letter"),
#: so that "he wrote a letter every week" stays article text.
_NEWSLETTER_PRODUCT = re.compile(
    r"(?i:\b(?:newsletter|briefing|digest|bulletin|inbox|long\s+reads?|stories\s+you\s+need)\b)"
    r"|\b[A-Z][a-z]+\s+(?:Letter|Wire|Edition|Briefing|Brief|Digest|Dispatch)\b",
)
_NEWSLETTER_MAX_CHARS = 300
_CREDIT_LINE = re.compile(
    r"^\W{0,2}(?:(?:additional|extra)\s+)?(?:reporting|writing|editing|edited|compiled"
    r"|research|translated|production|graphics|fact[\s-]checking|translation)\s+by\b"
    r"|\bcontributed\s+(?:reporting\s+)?to\s+this\s+(?:report|story|article)\b"
    r"|^\(?\s*avec\s+(?:afp|reuters|ap|ats)\s*\)?\s*$",
    re.IGNORECASE,
)
_CREDIT_MAX_CHARS = 300
#: "Source: Meridian Press Agency (MPA)": a short attribution line, not a sentence that
#: happens to start with "Sources:".
_SOURCE_LINE = re.compile(r"^\W{0,2}(?:sources?|quelle|fuente|fonte|المصدر)\s*:\s*\S", re.I)
_SOURCE_MAX_CHARS = 100
_NOTICE = re.compile(
    r"\b(?:we|this\s+(?:site|website))\s+uses?\s+cookies\b|\baccept\s+(?:all\s+)?cookies\b"
    r"|\bcookie\s+(?:policy|settings|preferences)\b|^(?:©|\(c\)|copyright\s*(?:©|\(c\))?\s*\d{4})"
    r"|\ball\s+rights\s+reserved\b|\btous\s+droits\s+réservés\b|جميع\s+الحقوق\s+محفوظة"
    r"|\bcomments\s+are\s+moderated\b|^\d[\d,.]*\s+(?:comments?|commentaires?|تعليقات?)\b"
    r"|\bcommentaires\s+sont\s+modérés\b|التعليقات\s+تخضع"
    r"|^(?:our|editorial)\s+standards\s*:|^the\s+trust\s+principles\b"
    r"|^purchase\s+licensing\s+rights\b",
    re.IGNORECASE,
)
#: Cookie banners in any wording: "cookie" next to the vocabulary of consent.
_COOKIE = re.compile(r"\bcookies?\b", re.IGNORECASE)
_CONSENT = re.compile(
    r"\b(?:accept|consent|agree|partners?|preferences|settings|policy|privacy|accord"
    r"|partenaires|préférences|paramètres|politique|consentement|datenschutz|einwilligung)",
    re.IGNORECASE,
)
#: "Nadim Haddad is The Levant Review's Beirut correspondent.": the author's bio line that
#: closes many articles. Only looked for in the last lines of the text.
_AUTHOR_BIO = re.compile(
    r"^(?:[A-Z][\w'’.-]+\s+){1,3}(?:is\s.{0,120}\b(?:correspondent|reporter|editor|writer"
    r"|journalist|columnist|contributor|bureau\s+chief|(?:senior\s+|non-resident\s+)?fellow)\b"
    r"|(?:covers|writes\s+(?:about|on)|reports\s+(?:on|from))\s.{0,160}\bfor\s+(?:the\s+)?[A-Z])",
)
_AUTHOR_BIO_MAX_CHARS = 300
_BIO_TAIL_LINES = 2
_NOTICE_MAX_CHARS = 500
_UI_LINES = frozenset({
    "advertisement", "advertising", "sponsored", "sponsored content", "skip advertisement",
    "scroll to continue with content", "story continues below advertisement",
    "continue reading", "share", "share this article", "share this story", "print", "email",
    "copy link", "comments", "view comments", "show comments", "join the conversation",
    "publicité", "إعلان", "newsletter", "sign up", "subscribe",
})
_HEADING_MAX_WORDS = 6


def _line_kind(line: str) -> str | None:
    """Why a line is boilerplate, or None when it is article text."""
    text = line.strip()
    if not text:
        return "empty"
    if text.lower().strip(" .:!") in _UI_LINES:
        return "ui"
    size = len(text)
    if size <= 250 and _LEAD_WORDS.match(text):
        return "link_line"
    if (size <= _CREDIT_MAX_CHARS and _CREDIT_LINE.search(text)) or (
        size <= _SOURCE_MAX_CHARS and _SOURCE_LINE.match(text)
    ):
        return "credit"
    if size <= _NEWSLETTER_MAX_CHARS and (
        _NEWSLETTER.search(text)
        or (_NEWSLETTER_PITCH.search(text) and _NEWSLETTER_PRODUCT.search(text))
    ):
        return "newsletter"
    if size <= _NOTICE_MAX_CHARS and (
        _NOTICE.search(text) or (_COOKIE.search(text) and _CONSENT.search(text))
    ):
        return "notice"
    if size <= _CAPTION_MAX_CHARS and _CAPTION_HINT.search(text) and any(
        p.search(text) for p in _CAPTION_PATTERNS
    ):
        return "caption"
    return None


def _is_heading_like(line: str) -> bool:
    text = line.strip()
    return 0 < word_count(text) <= _HEADING_MAX_WORDS and text[-1] not in ".!?:;\"”»'’)"


def filter_lines(lines: Iterable[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Drop boilerplate lines; return the kept lines and (kind, line) of the dropped ones.

    A short title line right before a dropped newsletter pitch ("Stay informed", "Middle
    East Briefing") goes with it: it is that box's heading. (Not before an "Advertisement"
    line: ad slots sit between a subheading and its paragraph.) An author bio is only
    recognised among the last lines, where articles put it.
    """
    items = [(line, _line_kind(line)) for line in lines]
    kinds: list[str | None] = [kind for _, kind in items]
    content = [i for i, kind in enumerate(kinds) if kind is None]
    for i in content[-_BIO_TAIL_LINES:]:
        text = items[i][0].strip()
        if len(text) <= _AUTHOR_BIO_MAX_CHARS and _AUTHOR_BIO.match(text):
            kinds[i] = "author_bio"
    for i in range(len(items) - 1):
        if kinds[i] is None and kinds[i + 1] == "newsletter" and (
            _is_heading_like(items[i][0])
        ):
            kinds[i] = "box_heading"
    kept = [line.strip() for (line, _), kind in zip(items, kinds, strict=True) if kind is None]
    dropped = [
        (kind, line.strip()) for (line, _), kind in zip(items, kinds, strict=True)
        if kind not in (None, "empty")
    ]
    return kept, dropped


def _paragraphs(text: str, rules: bool) -> tuple[list[str], list[tuple[str, str]]]:
    """Extractor text (one block a line) to clean paragraphs, each once."""
    lines = [fold_whitespace(line) for line in text.split("\n")]
    if rules:
        lines, dropped = filter_lines(lines)
    else:
        lines, dropped = [line for line in lines if line], []
    seen: set[str] = set()
    paragraphs = []
    for line in lines:
        key = line.lower()
        if key not in seen:  # pull quotes and sticky teasers repeat a paragraph verbatim
            seen.add(key)
            paragraphs.append(line)
    return paragraphs, dropped


# ----------------------------------------------------------------------------------------
# Page signals: language, canonical URL, dates
# ----------------------------------------------------------------------------------------

_LANG_TAG = re.compile(r"^([a-zA-Z]{2,3})(?:[-_].*)?$")


def _primary_language(value: str | None) -> str | None:
    if not value:
        return None
    match = _LANG_TAG.match(value.strip().split(",")[0].strip())
    if not match:
        return None
    code = match.group(1).lower()
    return None if code in ("und", "mul", "zxx", "xx") else code


def _page_language(tree: Any) -> tuple[str | None, str | None]:
    """(language, "html_lang" | "meta") as the page declares it."""
    lang = _primary_language(tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang"))
    if lang:
        return lang, "html_lang"
    for meta in tree.iterfind(".//head/meta"):
        key = (meta.get("http-equiv") or meta.get("name") or meta.get("property") or "").lower()
        if key in ("content-language", "language", "og:locale", "dc.language"):
            lang = _primary_language(meta.get("content"))
            if lang:
                return lang, "meta"
    return None, None


@cache
def _language_identifier() -> Any:
    """py3langid's bundled model (shipped in the wheel), with normalised probabilities."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


#: The detector overrides the page's own declaration only when it is this sure, on at least
#: DETECT_MIN_CHARS of text: templates often hard-code lang="en" on every edition.
DETECT_CONFIDENCE = 0.95
DETECT_MIN_CHARS = 200
DETECT_MAX_CHARS = 1000


def detect_language(text: str) -> tuple[str | None, float]:
    if len(text.strip()) < 20:
        return None, 0.0
    lang, probability = _language_identifier().classify(text[:DETECT_MAX_CHARS])
    return str(lang), float(probability)


def choose_language(
    declared: str | None, declared_how: str | None, text: str, feed_language: str | None,
) -> tuple[str | None, str | None]:
    """(language, how): the page's declaration unless the text clearly says otherwise.

    A declared language the detector does not know (Sorani Kurdish, "ckb", looks like
    Arabic or Persian to it) is never overridden.
    """
    detected, confidence = detect_language(text)
    confident = detected is not None and confidence >= DETECT_CONFIDENCE
    if declared:
        known = declared in _language_identifier().nb_classes
        if known and confident and detected != declared and len(text) >= DETECT_MIN_CHARS:
            return detected, "detector"
        return declared, declared_how
    if detected and (confident or len(text) >= DETECT_MIN_CHARS):
        return detected, "detector"
    feed_lang = _primary_language(feed_language)
    if feed_lang:
        return feed_lang, "feed"
    return detected, "detector" if detected else None


_HOST = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$")


def plausible_url(url: str | None) -> bool:
    """Absolute http(s) on a real-looking host name (not localhost, not an IP, a dot in it)."""
    if not url:
        return False
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return parts.scheme in ("http", "https") and bool(_HOST.match(host))


def _page_canonical(tree: Any, fetched: str | None) -> tuple[str | None, str | None]:
    """(URL, "link_canonical" | "og_url") the page claims, when believable.

    A canonical pointing at the site's home page (a common CMS misconfiguration) is
    ignored when the fetched URL has a path of its own.
    """
    candidates: list[tuple[str | None, str]] = []
    for link in tree.iterfind(".//link[@rel][@href]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            candidates.append((link.get("href"), "link_canonical"))
            break
    for meta in tree.iterfind(".//meta[@content]"):
        if (meta.get("property") or meta.get("name") or "").lower() == "og:url":
            candidates.append((meta.get("content"), "og_url"))
            break
    fetched_path = urlsplit(fetched).path.strip("/") if fetched else ""
    for url, how in candidates:
        if not plausible_url(url):
            continue
        assert url is not None
        if fetched_path and not urlsplit(url.strip()).path.strip("/"):
            continue
        return canonical_url(url), how
    return None, None


_PUBLISHED_META = frozenset({
    "article:published_time", "og:article:published_time", "datepublished", "pubdate",
    "publishdate", "publish-date", "dc.date", "dc.date.issued", "dcterms.created",
    "sailthru.date", "parsely-pub-date", "article.published", "date",
})
_MODIFIED_META = frozenset({
    "article:modified_time", "og:updated_time", "og:article:modified_time", "datemodified",
    "dcterms.modified", "last-modified", "article.updated",
})


def _jsonld_values(tree: Any, key: str) -> Iterator[str]:
    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            value = node.get(key)
            if isinstance(value, str):
                yield value
            for child in node.values():
                if isinstance(child, dict | list):
                    yield from walk(child)
        elif isinstance(node, list):
            for child in node:
                yield from walk(child)

    for script in tree.iterfind(".//script[@type]"):
        if "ld+json" not in (script.get("type") or "").lower() or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        yield from walk(data)


def _structured_times(tree: Any, names: frozenset[str], jsonld_key: str) -> list[str]:
    """Machine-readable timestamps of the page, header metadata first."""
    found = []
    for meta in tree.iterfind(".//meta[@content]"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in names:
            found.append(meta.get("content") or "")
    found.extend(_jsonld_values(tree, jsonld_key))
    if jsonld_key == "datePublished":
        for time_el in tree.iterfind(".//time[@datetime]"):
            if not _in_page_furniture(time_el):
                found.append(time_el.get("datetime") or "")
    return [f.strip() for f in found if f and f.strip()]


def _in_page_furniture(element: Any) -> bool:
    """Inside a footer, aside, nav or a related/most-read block: dates there are not ours."""
    for ancestor in element.iterancestors():
        if ancestor.tag in ("footer", "aside", "nav") or _looks_like_boilerplate(ancestor):
            return True
    return False


def parse_timestamp(value: str) -> datetime | None:
    """An ISO 8601 timestamp *with* a UTC offset; anything less is not a date-time for us."""
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None and "T" in text else None


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "january jan janvier janv enero ene januar januari gennaio ocak يناير",
        "february feb février févr fevrier febrero feb februar februari febbraio şubat فبراير شباط",
        "march mar mars marzo märz maart mart مارس آذار",
        "april apr avril abril april aprile nisan أبريل ابريل نيسان",
        "may mai mayo maggio mayıs مايو أيار",
        "june jun juin junio juni giugno haziran يونيو حزيران",
        "july jul juillet julio juli luglio temmuz يوليو تموز",
        "august aug août aout agosto augustus ağustos أغسطس آب",
        "september sep sept septembre septiembre settembre eylül سبتمبر أيلول",
        "october oct octobre octubre oktober ottobre ekim أكتوبر اكتوبر",
        "november nov novembre noviembre kasım نوفمبر",
        "december dec décembre decembre diciembre dezember dicembre aralık ديسمبر",
    ),
    start=1,
):
    for _name in _names.split():
        _MONTHS.setdefault(_name, _number)
# two-word Levantine month names
for _name, _number in (
    ("كانون الثاني", 1), ("تشرين الأول", 10), ("تشرين الثاني", 11), ("كانون الأول", 12),
):
    _MONTHS[_name] = _number
_MONTH_ALT = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))
_MONTH = rf"(?:{_MONTH_ALT})\.?(?:\s*/\s*(?:{_MONTH_ALT}))?"
_DAY_MONTH_YEAR = re.compile(
    rf"(?<!\d)(\d{{1,2}})(?:er|st|nd|rd|th)?\s+({_MONTH})\s*,?\s+(\d{{4}})(?!\d)", re.IGNORECASE,
)
_MONTH_DAY_YEAR = re.compile(
    rf"(?<!\w)({_MONTH})\s+(\d{{1,2}})(?:st|nd|rd|th)?\s*,?\s+(\d{{4}})(?!\d)", re.IGNORECASE,
)
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_EASTERN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
_DATE_HINTS = ("date", "time", "dateline", "byline", "published", "meta", "timestamp", "posted")


def _month_number(text: str) -> int | None:
    first = re.split(r"\s*/\s*", text.strip().rstrip("."))[0].lower()
    return _MONTHS.get(first)


def parse_text_date(text: str) -> date | None:
    """A calendar date written out in a byline ("12 تموز/يوليو 2020", "1 octobre 2019")."""
    text = text.translate(_EASTERN_DIGITS)
    for pattern, order in ((_DAY_MONTH_YEAR, "dmy"), (_MONTH_DAY_YEAR, "mdy"), (_ISO_DATE, "ymd")):
        for match in pattern.finditer(text):
            try:
                if order == "dmy":
                    month = _month_number(match.group(2))
                    if month:
                        return date(int(match.group(3)), month, int(match.group(1)))
                elif order == "mdy":
                    month = _month_number(match.group(1))
                    if month:
                        return date(int(match.group(3)), month, int(match.group(2)))
                else:
                    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
            except ValueError:
                continue
    return None


def _byline_date(tree: Any, latest: date) -> date | None:
    """The first written-out date in an element whose class/id says date or byline.

    htmldate reads English bylines but not Arabic ones, and its free-text search would
    settle for the footer's copyright year; this reads only date-labelled elements outside
    the page furniture.
    """
    for element in tree.iterfind(".//body//*[@class]"):
        label = f"{element.get('class')} {element.get('id') or ''}".lower()
        if not any(hint in label for hint in _DATE_HINTS) or _in_page_furniture(element):
            continue
        text = element.text_content()
        if not text or len(text) > 300:
            continue
        found = parse_text_date(text)
        if found and EARLIEST_DATE <= found <= latest:
            return found
    return None


#: How far past the headline the header date is looked for, in elements.
_HEADER_SCAN_ELEMENTS = 200


def _header_date(tree: Any, latest: date) -> date | None:
    """The first written-out date between the headline and the first long paragraph.

    For pages whose markup labels nothing (hashed CSS class names): the byline sits under
    the headline there, and the footer is far below the first paragraph.
    """
    headline = tree.find(".//body//h1")
    if headline is None:
        return None
    inside = set(headline.iter())
    started = False
    scanned = 0
    for element in tree.find(".//body").iter():
        if element is headline:
            started = True
            continue
        if not started or element in inside or not isinstance(element.tag, str):
            continue
        scanned += 1
        if scanned > _HEADER_SCAN_ELEMENTS or (
            element.tag == "p" and word_count(element.text_content()) >= _LONG_PARAGRAPH_WORDS
        ):
            return None
        for chunk in (element.text, element.tail):
            if chunk and len(chunk) <= 200:
                found = parse_text_date(chunk)
                if found and EARLIEST_DATE <= found <= latest:
                    return found
    return None


def _within(value: str | None, latest: date) -> bool:
    if not value:
        return False
    try:
        day = date.fromisoformat(value[:10])
    except ValueError:
        return False
    return EARLIEST_DATE <= day <= latest


def _published(tree: Any, url: str | None, latest: date, htmldate_day: str | None) -> str | None:
    """Publication date-time (or date) from the page, never from its footer.

    htmldate (fast mode: header metadata, JSON-LD, date-labelled elements, URL) decides the
    day; a machine-readable timestamp of that same day then supplies the time and offset.
    """
    day = htmldate_day if _within(htmldate_day, latest) else None
    if day is None:
        found = _byline_date(tree, latest) or _header_date(tree, latest)
        day = found.isoformat() if found else None
    if day is None:
        return None
    for value in _structured_times(tree, _PUBLISHED_META, "datePublished"):
        moment = parse_timestamp(value)
        if moment and moment.date().isoformat() == day:
            return _iso(moment)
    return day


def _updated(tree: Any, published: str | None) -> str | None:
    """The page's modification timestamp, when it is later than the publication."""
    start = parse_timestamp(published) if published and "T" in published else None
    for value in _structured_times(tree, _MODIFIED_META, "dateModified"):
        moment = parse_timestamp(value)
        if moment is None:
            continue
        if start is not None and moment <= start:
            return None  # same as published (or a template default before it): no update
        if start is None and published and moment.date().isoformat() < published[:10]:
            return None
        return _iso(moment)
    return None


# ----------------------------------------------------------------------------------------
# Extraction
# ----------------------------------------------------------------------------------------


@cache
def _version(package: str) -> str:
    try:
        return package_version(package)
    except PackageNotFoundError:
        return "unknown"


def extractor_name() -> str:
    return f"trafilatura {_version('trafilatura')}"


@dataclass
class Extraction:
    """The main text and how it was obtained."""

    paragraphs: list[str]
    source: str  # "page" or "fallback:<name>"
    extractor: str
    dropped: list[tuple[str, str]] = field(default_factory=list)
    pruned: int = 0

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def _fallback_baseline(tree: Any, url: str | None) -> str:
    from trafilatura.baseline import baseline

    _, text, _ = baseline(tree)
    return "\n".join(text.splitlines())


def _fallback_readability(tree: Any, url: str | None) -> str:
    from trafilatura.external import try_readability

    body = try_readability(tree)
    return "\n".join(
        fold_whitespace(p.text_content()) for p in body.iter("p", "li", "h2", "h3", "blockquote")
    )


def _fallback_justext(tree: Any, url: str | None) -> str:
    from trafilatura.external import try_justext

    body = try_justext(tree, url, None)
    return "\n".join(fold_whitespace("".join(p.itertext())) for p in body.iter("p"))


#: Tried in this order when trafilatura's own result is too short; see MIN_TEXT_WORDS.
FALLBACKS: dict[str, Callable[[Any, str | None], str]] = {
    "readability": _fallback_readability,
    "trafilatura-baseline": _fallback_baseline,
    "justext": _fallback_justext,
}
_FALLBACK_PACKAGES = {
    "trafilatura-baseline": "trafilatura", "readability": "trafilatura", "justext": "justext",
}


def extract_text(
    tree: Any, url: str | None, options: CleanOptions = DEFAULT_OPTIONS,
    declared_words: int = 0, pruned: int = 0,
) -> Extraction:
    """Main text of a parsed page, already pruned by :func:`prune_boilerplate` (``pruned``:
    how many elements that removed, for the provenance).

    ``declared_words``: length of the body the page declares in its JSON-LD
    ``articleBody``. Script-rendered sites ship the text only there, and trafilatura then
    returns a related-links list long enough to pass MIN_TEXT_WORDS; a declared body much
    longer than the extraction sends the page down the cascade too.
    """
    document = trafilatura.bare_extraction(tree, url=url, **options.trafilatura)
    raw = (getattr(document, "text", None) or "") if document is not None else ""
    paragraphs, dropped = _paragraphs(raw, options.line_rules)
    result = Extraction(paragraphs, "page", extractor_name(), dropped, pruned)
    words = word_count(result.text)
    suspicious = words < MIN_TEXT_WORDS or declared_words > 2 * words + MIN_TEXT_WORDS
    if not options.cascade or not suspicious:
        return result
    for name, fallback in FALLBACKS.items():
        try:
            candidate_raw = fallback(deepcopy(tree), url)  # readability edits its input
        except Exception:  # a fallback's bug must not lose the article
            continue
        candidate, candidate_dropped = _paragraphs(candidate_raw, options.line_rules)
        candidate_words = word_count("\n".join(candidate))
        if candidate_words > 1.5 * word_count(result.text) + 10:
            extractor = f"{extractor_name()}; fallback {name} {_version(_FALLBACK_PACKAGES[name])}"
            result = Extraction(candidate, f"fallback:{name}", extractor, candidate_dropped, pruned)
            if candidate_words >= MIN_TEXT_WORDS and candidate_words * 2 + MIN_TEXT_WORDS >= (
                declared_words
            ):
                break
    return result


# ----------------------------------------------------------------------------------------
# The article
# ----------------------------------------------------------------------------------------


#: Bylines that name a desk or the wires, not a person: "Crescent Online staff",
#: "With agencies", "Reuters Staff", "News Desk".
_NOT_A_PERSON = re.compile(
    r"\b(?:staff|agencies|agency|newsroom|desk|bureau|wires?|editors?|team)\b|^(?:with|and)\s",
    re.IGNORECASE,
)


def _split_authors(value: str | None, site_name: str | None) -> list[str]:
    """trafilatura's "A; B" author string as a list of people (no outlet, desk or wires)."""
    if not value:
        return []
    site = (site_name or "").strip().lower()
    authors: list[str] = []
    for part in re.split(r"\s*;\s*", value):
        name = part.strip()
        if name and name.lower() != site and not _NOT_A_PERSON.search(name) and (
            name not in authors
        ):
            authors.append(name)
    return authors


def _drop_headline_repeat(extraction: Extraction, title: str) -> None:
    """Drop the headline when the extractor took it as the first paragraph.

    Only the headline: a first paragraph equal to the meta description may be the lede
    itself (many CMSs copy it there), and losing the lede is worse than keeping a standfirst.
    """
    key = fold_whitespace(title).lower()
    while extraction.paragraphs and extraction.paragraphs[0].lower() == key:
        extraction.dropped.append(("headline_repeat", extraction.paragraphs.pop(0)))


def _strip_markup(text: str | None) -> str:
    """Feed summaries are often HTML fragments: their text, one paragraph a line."""
    if not text:
        return ""
    text = re.sub(r"(?i)<\s*br\s*/?>|</\s*(?:p|div|li|h[1-6])\s*>", "\n", text)
    text = re.sub(r"<[^>]+>", " ", text)
    return html_lib.unescape(text)


def _empty_feed(feed: dict[str, Any] | None) -> dict[str, Any]:
    feed = feed or {}
    return {
        "id": feed.get("id"),
        "name": feed.get("name") or feed.get("title"),
        "tags": list(feed.get("tags") or []),
        "language": feed.get("language"),
    }


@dataclass
class _Inputs:
    """Everything an article can be built from; the HTML part may be missing."""

    html: str | None
    url: str | None
    feed: dict[str, Any] | None
    entry: dict[str, Any] = field(default_factory=dict)
    raw_id: str | None = None
    raw_canonical: str | None = None
    fetched_at: str | None = None
    fetch_status: str | None = None


def _today_bound(fetched_at: str | None) -> date:
    """Latest acceptable publication day: the fetch day plus one (time zones ahead of UTC)."""
    moment = parse_timestamp(fetched_at) if fetched_at else None
    return ((moment or datetime.now(UTC)) + timedelta(days=1)).date()


def _build(inputs: _Inputs, options: CleanOptions) -> dict[str, Any]:
    entry = inputs.entry
    fields: dict[str, str | None] = {}
    latest = _today_bound(inputs.fetched_at)
    page: dict[str, Any] = {}
    extraction: Extraction | None = None
    tree = load_html(inputs.html) if inputs.html and inputs.html.strip() else None
    if tree is not None:
        # Pruned before the metadata too: htmldate's last resort scans the page text, and
        # without footer, sidebars and related lists it cannot settle on their dates.
        pruned = prune_boilerplate(tree) if options.prune else 0
        page = _read_page(tree, inputs.url, latest)
        extraction = extract_text(tree, inputs.url, options, page["declared_words"], pruned)

    def pick(name: str, page_value: Any, feed_value: Any) -> Any:
        if page_value:
            fields[name] = "page"
            return page_value
        if feed_value:
            fields[name] = "feed"
            return feed_value
        fields[name] = None
        return page_value if page_value is not None else feed_value

    title = pick("title", page.get("title"), fold_whitespace(entry.get("title") or "") or None)
    if extraction is not None and title:
        _drop_headline_repeat(extraction, title)
    if extraction is not None and extraction.paragraphs:
        text, fields["text"] = extraction.text, extraction.source
    else:
        summary, _ = _paragraphs(_strip_markup(entry.get("summary")), options.line_rules)
        text = "\n\n".join(summary)
        fields["text"] = "feed_summary" if text else None
    if not text and not title:
        where = "the page has no article text" if tree is not None else "there is no page"
        raise CleanError(f"nothing usable: {where} and the feed entry has no title or summary")

    description = pick(
        "description", page.get("description"),
        fold_whitespace(_strip_markup(entry.get("summary"))) or None,
    )
    site_name = pick("site_name", page.get("site_name"), _empty_feed(inputs.feed)["name"])
    authors = pick("authors", page.get("authors"), list(entry.get("authors") or []))
    published = pick("published", page.get("published"), entry.get("published"))
    updated = pick("updated", page.get("updated"), entry.get("updated"))
    image = pick("image", page.get("image"), None)
    categories = pick("categories", page.get("categories"), None) or []
    tags = pick("tags", page.get("tags"), list(entry.get("tags") or [])) or []

    feed_language = entry.get("language") or (inputs.feed or {}).get("language")
    language, language_how = choose_language(
        page.get("language"), page.get("language_how"), text, feed_language,
    )
    fields["language"] = (
        None if language_how is None else "feed" if language_how == "feed"
        else "detector" if language_how == "detector" else "page"
    )

    if page.get("canonical_url"):
        canonical, canonical_how = page["canonical_url"], page["canonical_how"]
    elif inputs.raw_canonical:
        canonical, canonical_how = inputs.raw_canonical, "raw"
    elif plausible_url(inputs.url):
        assert inputs.url is not None
        canonical, canonical_how = canonical_url(inputs.url), "url"
    else:
        canonical, canonical_how = None, None
    fields["canonical_url"] = (
        "page" if canonical_how in ("link_canonical", "og_url") else canonical_how
    )

    hash_value = text_hash(text)
    if inputs.raw_id:
        doc_id = inputs.raw_id
    elif canonical:
        doc_id = article_id(canonical)
    else:
        doc_id = hash_value[:32]
    provenance: dict[str, Any] = {
        "extractor": extraction.extractor if extraction else extractor_name(),
        "fetch_status": inputs.fetch_status,
        "fields": fields,
        "canonical_url": canonical_how,
        "language": language_how,
        "boilerplate": {
            "pruned_elements": extraction.pruned if extraction else 0,
            "dropped_lines": [
                {"kind": kind, "text": line[:200]} for kind, line in extraction.dropped
            ] if extraction else [],
        },
    }
    return {
        "schema": CLEAN_SCHEMA,
        "id": doc_id,
        "url": inputs.url,
        "canonical_url": canonical,
        "feed": _empty_feed(inputs.feed),
        "title": title,
        "text": text,
        "description": description,
        "authors": authors or [],
        "published": published,
        "updated": updated,
        "site_name": site_name,
        "language": language,
        "categories": categories,
        "tags": tags,
        "image": image,
        "fetched_at": inputs.fetched_at,
        "word_count": word_count(text),
        "text_hash": hash_value,
        "minhash": minhash(text),
        "provenance": provenance,
    }


def _read_page(tree: Any, url: str | None, latest: date) -> dict[str, Any]:
    """Metadata of the page (its <head>, JSON-LD, byline), from the pruned tree."""
    language, language_how = _page_language(tree)
    canonical, canonical_how = _page_canonical(tree, url)
    meta = extract_metadata(
        tree, default_url=url or canonical,
        date_config={**DATE_OPTIONS, "max_date": latest.isoformat()}, extensive=False,
    )
    published = _published(tree, url, latest, meta.date)
    site_name = fold_whitespace(meta.sitename or "") or None
    image = meta.image if plausible_url(meta.image) else None
    return {
        "title": fold_whitespace(meta.title or "") or None,
        "description": fold_whitespace(meta.description or "") or None,
        "authors": _split_authors(meta.author, site_name),
        "site_name": site_name,
        "published": published,
        "updated": _updated(tree, published),
        "image": image,
        "categories": [c for c in (meta.categories or []) if c],
        "tags": [t for t in (meta.tags or []) if t],
        "language": language,
        "language_how": language_how,
        "canonical_url": canonical,
        "canonical_how": canonical_how,
        "declared_words": max(
            (word_count(body) for body in _jsonld_values(tree, "articleBody")), default=0,
        ),
    }


def clean_html(
    html: str, url: str | None = None, feed: dict[str, Any] | None = None,
    *, options: CleanOptions = DEFAULT_OPTIONS,
) -> dict[str, Any]:
    """Clean one HTML page into an ``articles.clean`` document (the CLI's path).

    ``feed`` is a raw message's feed block (id, name, tags, language) when known. The id is
    the hash of the canonical URL (the page's own when it has one), as everywhere in sitrep.
    Unlike :func:`clean_article` there is no feed summary to fall back on, so a page without
    article text raises :class:`CleanError`.
    """
    if not html or not html.strip():
        raise CleanError("empty page")
    article = _build(_Inputs(html=html, url=url, feed=feed), options)
    if not article["text"]:
        # No feed summary to stand in here: a title alone is not an article.
        raise CleanError("no article text found in the page")
    return article


def clean_article(
    raw: dict[str, Any], *, options: CleanOptions = DEFAULT_OPTIONS,
) -> dict[str, Any]:
    """``articles.raw`` message -> ``articles.clean`` message (the stage's pure function).

    A failed fetch (non_html, http_error, timeout, no_link, robots_disallowed ...) still makes
    an article, from the feed entry, with every such field marked "feed". Raises
    :class:`CleanError` only when there is neither page text nor a feed title or summary.
    """
    status = (raw.get("fetch") or {}).get("status")
    html = raw.get("html") if status == "ok" else None
    return _build(
        _Inputs(
            html=html,
            url=raw.get("url") or (raw.get("entry") or {}).get("link"),
            feed=raw.get("feed"),
            entry=raw.get("entry") or {},
            raw_id=raw.get("id"),
            raw_canonical=raw.get("canonical_url"),
            fetched_at=raw.get("fetched_at"),
            fetch_status=status,
        ),
        options,
    )


_TEXT_DATE_HEADER = re.compile(r"^\s*date\s*:?\s*(\d{4}-\d{2}-\d{2})\s*", re.IGNORECASE)
_HEADLINE_MAX_WORDS = 30


def clean_text(text: str, url: str | None = None) -> dict[str, Any]:
    """Already-extracted plain text (``.txt``): first line the title when it reads as one.

    A leading ``date YYYY-MM-DD`` header gives the publication date. The line rules still
    run: text copied from a page often carries its captions and "Related:" lines.
    """
    if not text.strip():
        raise CleanError("empty text")
    published = None
    match = _TEXT_DATE_HEADER.match(text)
    if match:
        published = match.group(1)
        text = text[match.end() :]
    blocks = [b for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    title = None
    first_lines = blocks[0].split("\n") if blocks else []
    if first_lines and _looks_like_headline(first_lines[0]):
        title = fold_whitespace(first_lines[0])
        blocks[0] = "\n".join(first_lines[1:])
    paragraphs, dropped = _paragraphs("\n".join(fold_whitespace(b) for b in blocks), True)
    body = "\n\n".join(paragraphs)
    if not body and not title:
        raise CleanError("no text")
    fields: dict[str, str | None] = {
        "title": "text_file" if title else None,
        "text": "text_file",
        "published": "text_file" if published else None,
    }
    language, how = choose_language(None, None, body, None)
    fields["language"] = "detector" if how else None
    canonical = canonical_url(url) if url and plausible_url(url) else None
    hash_value = text_hash(body)
    return {
        "schema": CLEAN_SCHEMA,
        "id": article_id(canonical) if canonical else hash_value[:32],
        "url": url,
        "canonical_url": canonical,
        "feed": _empty_feed(None),
        "title": title,
        "text": body,
        "description": None,
        "authors": [],
        "published": published,
        "updated": None,
        "site_name": None,
        "language": language,
        "categories": [],
        "tags": [],
        "image": None,
        "fetched_at": None,
        "word_count": word_count(body),
        "text_hash": hash_value,
        "minhash": minhash(body),
        "provenance": {
            "extractor": "plain text",
            "fetch_status": None,
            "fields": fields,
            "canonical_url": "url" if canonical else None,
            "language": how,
            "boilerplate": {
                "pruned_elements": 0,
                "dropped_lines": [{"kind": k, "text": line[:200]} for k, line in dropped],
            },
        },
    }


def _looks_like_headline(line: str) -> bool:
    text = line.strip()
    return 0 < word_count(text) <= _HEADLINE_MAX_WORDS and text[-1] not in ".!?\"”"


# ----------------------------------------------------------------------------------------
# The command line: sitrep clean FILE_OR_URL... [--url URL]
# ----------------------------------------------------------------------------------------

_HTML_MARKER = re.compile(
    rb"<\s*(?:!doctype\s+html|html|head|body|p|div|article|main|title)\b", re.IGNORECASE,
)


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def _read_source(source: str) -> tuple[bytes, str | None, str | None]:
    """(bytes, charset, final URL) of a file or URL; raises CleanError with the reason."""
    if _is_url(source):
        return _fetch(source)
    path = Path(source)
    if not path.exists():
        raise CleanError("no such file")
    if path.is_dir():
        raise CleanError("is a directory")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CleanError(f"cannot read: {exc.strerror or exc}") from exc
    if path.suffix.lower() == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise CleanError(f"not a valid gzip file: {exc}") from exc
    return data, None, None


def _fetch(url: str) -> tuple[bytes, str | None, str | None]:
    import httpx

    try:
        with httpx.Client(follow_redirects=True, timeout=FETCH_TIMEOUT) as client, \
                client.stream("GET", url, headers={"User-Agent": "sitrep-clean/0.1"}) as response:
            if response.status_code >= 400:
                raise CleanError(f"HTTP {response.status_code}")
            chunks = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > FETCH_MAX_BYTES:
                    raise CleanError(f"larger than {FETCH_MAX_BYTES // (1024 * 1024)} MB")
                chunks.append(chunk)
            kind = (response.headers.get("content-type") or "").split(";")[0].strip().lower()
            if kind and kind not in ("text/html", "application/xhtml+xml", "text/plain"):
                raise CleanError(f"not HTML ({kind})")
            return b"".join(chunks), response.charset_encoding, str(response.url)
    except httpx.TimeoutException as exc:
        raise CleanError(f"timed out after {FETCH_TIMEOUT:.0f} s") from exc
    except httpx.HTTPError as exc:
        raise CleanError(f"fetch failed: {exc}") from exc


def _decode(data: bytes, charset: str | None) -> str:
    if charset:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_file(data)


def clean_source(source: str, url: str | None = None) -> dict[str, Any]:
    """One CLI source (file path or URL) to a clean article; CleanError says what is wrong."""
    data, charset, final_url = _read_source(source)
    page_url = final_url or url
    if not data.strip():
        raise CleanError("empty file" if not _is_url(source) else "empty response")
    if b"\x00" in data[:8192]:
        raise CleanError("binary content, not HTML or text")
    name = source.lower().removesuffix(".gz")
    if name.endswith(".txt"):
        return clean_text(_decode(data, charset), page_url)
    if not _HTML_MARKER.search(data[:65536]):
        raise CleanError("not HTML (no HTML tags found; give plain text a .txt name)")
    return clean_html(_decode(data, charset), page_url)


def clean_command(sources: list[str], url: str | None) -> int:
    """``sitrep clean``: print each source's clean article as JSON; 1 if any source failed.

    One source prints an indented object; several print one object per line, each with the
    source's name in ``source``. A bad source is reported on stderr and skipped.
    """
    if url is not None and len(sources) != 1:
        print("sitrep clean: --url applies to a single source; ignored", file=sys.stderr)
        url = None
    failed = False
    for source in sources:
        try:
            article = clean_source(source, url)
        except CleanError as exc:
            print(f"sitrep clean: {source}: {exc}", file=sys.stderr)
            failed = True
            continue
        if len(sources) == 1:
            print(json.dumps(article, ensure_ascii=False, indent=2))
        else:
            print(json.dumps({"source": source, **article}, ensure_ascii=False))
    return 1 if failed else 0
