"""Publication and modification dates: machine-readable first, never a footer year."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from sitrep.clean.prune import LONG_PARAGRAPH_WORDS, looks_like_boilerplate
from sitrep.clean.text import word_count

#: Dates outside this window are parsing accidents (a "1970" epoch, a copyright year in
#: the future), never publication dates.
EARLIEST_DATE = date(1990, 1, 1)
_PUBLISHED_META = frozenset({
    "article:published_time", "og:article:published_time", "datepublished", "pubdate",
    "publishdate", "publish-date", "dc.date", "dc.date.issued", "dcterms.created",
    "sailthru.date", "parsely-pub-date", "article.published", "date",
})
_MODIFIED_META = frozenset({
    "article:modified_time", "og:updated_time", "og:article:modified_time", "datemodified",
    "dcterms.modified", "last-modified", "article.updated",
})


#: The JSON-LD documents of the last tree asked about: the stage reads the publication
#: date, the modification date and the declared body from them, and parsing the scripts
#: once per page instead of three times is measurable. The tree itself is held, so an
#: identity test is safe.
_JSONLD_CACHE: list[tuple[Any, list[Any]]] = []


def _jsonld_documents(tree: Any) -> list[Any]:
    if _JSONLD_CACHE and _JSONLD_CACHE[0][0] is tree:
        return _JSONLD_CACHE[0][1]
    documents = []
    for script in tree.iterfind(".//script[@type]"):
        if "ld+json" not in (script.get("type") or "").lower() or not script.text:
            continue
        try:
            documents.append(json.loads(script.text))
        except ValueError:
            continue
    _JSONLD_CACHE[:] = [(tree, documents)]
    return documents


def jsonld_values(tree: Any, key: str) -> Iterator[str]:
    """Every string value of ``key`` anywhere in the page's JSON-LD."""

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

    for data in _jsonld_documents(tree):
        yield from walk(data)


def _structured_times(tree: Any, names: frozenset[str], jsonld_key: str) -> Iterator[str]:
    """Machine-readable timestamps of the page, header metadata first.

    Lazy: callers stop at the first that fits, and the ``<time>`` elements (each tested
    for page furniture up its ancestors) come last, so a page whose header states the
    date never has them visited.
    """
    for meta in tree.iterfind(".//meta[@content]"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in names and (value := (meta.get("content") or "").strip()):
            yield value
    for value in jsonld_values(tree, jsonld_key):
        if value.strip():
            yield value.strip()
    if jsonld_key == "datePublished":
        for time_el in tree.iterfind(".//time[@datetime]"):
            value = (time_el.get("datetime") or "").strip()
            if value and not _in_page_furniture(time_el):
                yield value


_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def declared_day(tree: Any, latest: date) -> str | None:
    """The publication day the page declares in its header metadata or JSON-LD, when it
    declares a plausible one: then htmldate (1 ms a page) has nothing to add, as its
    original-date mode reads those same places first."""
    for meta in tree.iterfind(".//head/meta[@content]"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in _PUBLISHED_META and key not in ("date", "dc.date"):
            day = _plausible_day(meta.get("content") or "", latest)
            if day:
                return day
    for value in jsonld_values(tree, "datePublished"):
        day = _plausible_day(value, latest)
        if day:
            return day
    return None


def _plausible_day(value: str, latest: date) -> str | None:
    match = _ISO_DAY.match(value.strip())
    if not match:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return day.isoformat() if EARLIEST_DATE <= day <= latest else None


def _in_page_furniture(element: Any) -> bool:
    """Inside a footer, aside, nav or a related/most-read block: dates there are not ours."""
    for ancestor in element.iterancestors():
        if ancestor.tag in ("footer", "aside", "nav") or looks_like_boilerplate(ancestor):
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
            element.tag == "p" and word_count(element.text_content()) >= LONG_PARAGRAPH_WORDS
        ):
            return None
        for chunk in (element.text, element.tail):
            if chunk and len(chunk) <= 200:
                found = parse_text_date(chunk)
                if found and EARLIEST_DATE <= found <= latest and not (
                    _in_page_furniture(element)
                ):
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


_FURNITURE_XPATH = (
    "//footer | //aside | //nav | //*[contains(@class, 'footer') or contains(@id, 'footer')]"
)


def _written_forms(day: str) -> tuple[str, ...]:
    """How a calendar day is written in page text (ISO, German/European, US)."""
    year, month, dom = day[:4], day[5:7], day[8:10]
    return (
        f"{year}-{month}-{dom}", f"{dom}.{month}.{year}", f"{int(dom)}.{int(month)}.{year}",
        f"{dom}/{month}/{year}", f"{month}/{dom}/{year}",
    )


def _only_in_furniture(tree: Any, day: str) -> bool:
    """Whether the day htmldate chose is written in the footer or sidebars and nowhere in
    the page's machine-readable dates: then it is the page's generation or copyright
    date, not the article's (the tree is not pruned before the metadata is read)."""
    if any(value.startswith(day) for value in _structured_times(
        tree, _PUBLISHED_META, "datePublished",
    )):
        return False
    forms = _written_forms(day)
    furniture = " ".join(el.text_content() for el in tree.xpath(_FURNITURE_XPATH))
    return any(form in furniture for form in forms)


def published_date(
    tree: Any, url: str | None, latest: date, htmldate_day: str | None,
) -> str | None:
    """Publication date-time (or date) from the page, never from its footer.

    htmldate (fast mode: header metadata, JSON-LD, date-labelled elements, URL) decides the
    day; a machine-readable timestamp of that same day then supplies the time and offset.
    """
    day = htmldate_day if _within(htmldate_day, latest) else None
    if day is not None and _only_in_furniture(tree, day):
        day = None
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


def updated_date(tree: Any, published: str | None) -> str | None:
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


