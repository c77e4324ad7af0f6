"""The gazetteer: every place the tagger can resolve a mention to, and how names are matched.

The data is GeoNames (CC-BY 4.0), shipped inside the package as one gzip TSV,
``data/gazetteer/places.tsv.gz``, built by ``tools/build_gazetteer.py`` from registry packages
plus a small hand-written supplement (``data/gazetteer/README.md`` says what is in it). Nothing
is downloaded at run time.

Names are matched on a *key*: :func:`normalise_place_name` folds case, diacritics, apostrophes
and ayn/hamza marks, hyphens and punctuation, the Arabic article in its transliterated forms
(``al-``, ``el-``, ``ad-``, ``ash-``...) and a few transliteration variants (doubled letters
as in ``Umm``/``Um``, ``Tall``/``Tell``/``Tal``, ``Dayr``/``Deir``, ``Ayn``/``Ain``, final
``-ah``/``-a``), so ``al-Tanf``, ``At Tanf`` and ``Tanf`` all become ``tanf``. The shipped
file carries the keys precomputed by the same function (its ``normaliser`` header must equal
:data:`NORMALISER_VERSION`, otherwise the loader recomputes them), so loading is one pass over
the file. The tagger builds its automaton from :meth:`Gazetteer.names` and resolves each hit
with :meth:`Gazetteer.candidates`.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

__all__ = [
    "COLUMNS",
    "DATA_FILE",
    "FORMAT",
    "NORMALISER_VERSION",
    "Gazetteer",
    "GazetteerError",
    "Place",
    "load_gazetteer",
    "normalise_place_name",
]

#: Where the shipped file lives inside the ``sitrep`` package.
DATA_FILE = "data/gazetteer/places.tsv.gz"
#: The file format this loader reads (the ``format`` header of the file).
FORMAT = "sitrep-gazetteer/1"
#: Bump whenever :func:`normalise_place_name` changes what it returns, and rebuild the data.
NORMALISER_VERSION = "3"
#: The columns of a data row, in order. Lists inside a column are joined with ``|``.
COLUMNS: tuple[str, ...] = (
    "geonameid",
    "name",
    "asciiname",
    "alternatenames",
    "feature_class",
    "feature_code",
    "country_code",
    "country_name",
    "admin1_code",
    "admin1_name",
    "population",
    "latitude",
    "longitude",
    "importance",
    "keys",
)
LIST_SEPARATOR = "|"


class GazetteerError(RuntimeError):
    """The shipped data file is missing or not in a form this loader reads."""


# --------------------------------------------------------------------------------------------
# Name normalisation
# --------------------------------------------------------------------------------------------

# Apostrophes, quotes and the modifier letters used for ayn and hamza: removed, not spaced,
# so "Ba'aj", "Ba‘aj" and "Baaj" agree.
_APOSTROPHES = (
    "'\u2018\u2019\u201b\u0060\u00b4\u02b9\u02bb\u02bc\u02bd\u02be\u02bf\u02c8\u2032\uff07"
)
# Letters that Unicode decomposition leaves alone.
_LETTERS = {
    "ı": "i",
    "ł": "l",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "æ": "ae",
    "œ": "oe",
    "ħ": "h",
    "ə": "e",
    "ŧ": "t",
    "ŋ": "n",
    # Arabic script: one form of alef, ya and ta marbuta; Persian/Kurdish ya and kaf.
    "أ": "ا",
    "إ": "ا",
    "آ": "ا",
    "ٱ": "ا",
    "ى": "ي",
    "ی": "ي",
    "ة": "ه",
    "ک": "ك",
}
_TRANSLATE = str.maketrans({**{c: None for c in _APOSTROPHES}, **_LETTERS})
# Arabic harakat, superscript alef and tatweel: dropped (they are not combining marks to NFKD).
_ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u0640\u06d6-\u06ed]")
_SEPARATORS = re.compile(r"[\W_]+")

#: Transliterations of the Arabic definite article, dropped when another word follows.
ARTICLES = frozenset(
    {"al", "el", "ad", "ed", "adh", "ar", "er", "as", "es", "ash", "esh", "at", "et", "ath"}
    | {"az", "ez", "an", "en"}
)
#: Word-level transliteration variants, folded to one spelling.
_WORD_FOLDS = {  # applied after doubled letters are collapsed
    "tel": "tal",
    "dayr": "deir",
    "dair": "deir",
    "ayn": "ain",
    "ein": "ain",
}
_ARABIC_ARTICLE = "ال"
# Doubled Latin letters (shadda is transliterated inconsistently: Raqqa/Raqa, Daraa/Dar'a).
_DOUBLED = re.compile(r"([a-z])\1+")


def _fold_characters(text: str) -> str:
    """Case, diacritics, apostrophes and punctuation folded; words separated by one space."""
    text = text.translate(_TRANSLATE)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _ARABIC_MARKS.sub("", text.casefold().translate(_TRANSLATE))
    return " ".join(_SEPARATORS.sub(" ", text).split())


def _fold_word(word: str) -> str:
    word = _WORD_FOLDS.get(word, word)
    if len(word) >= 4 and word.endswith("ah"):  # ta marbuta: Raqqah/Raqqa, Fallujah/Falluja
        word = word[:-1]
    if word.startswith(_ARABIC_ARTICLE) and len(word) > 3:
        word = word[2:]
    return word


def normalise_place_name(s: str) -> str:
    """The lookup key of a place name: pure, idempotent, and the same for spelling variants.

    >>> normalise_place_name("al-Tanf") == normalise_place_name("At Tanf") == "tanf"
    True
    >>> normalise_place_name("Umm Jaris") == normalise_place_name("Um Jaris")
    True
    >>> normalise_place_name("Al Ba‘āj") == normalise_place_name("Baaj") == "baj"
    True
    """
    words = _DOUBLED.sub(r"\1", _fold_characters(s)).split(" ")
    kept = [w for i, w in enumerate(words) if not (w in ARTICLES and i < len(words) - 1)]
    return " ".join(_fold_word(w) for w in kept if w)


def _loose_key(s: str) -> str:
    """Folded like a key but keeping articles and spelling: used only to rank candidates."""
    return _fold_characters(s)


# --------------------------------------------------------------------------------------------
# Places and the gazetteer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Place:
    """One gazetteer entry.

    ``geonameid`` is the GeoNames id as a string, or ``sitrep:<slug>`` for an entry of the
    hand-written files that has no GeoNames id we could confirm. ``feature_class`` and
    ``feature_code`` follow GeoNames (``A``/``PCLI`` country, ``A``/``ADM1`` and ``ADM2``
    first- and second-level regions, ``P``/``PPL`` or ``PPLC`` populated place, ``L``/``CONT``
    continent, ``L``/``RGN`` macro-region such as the Sahel, ``S``/``PSTB`` border post,
    ``T``/``DSRT`` desert, ``H``/``STM`` river...). ``country`` is the ISO alpha-2 code, empty
    for a continent or macro-region (in no one country). ``lat``/``lon`` of a country or a
    region is a point near its middle, not its capital or biggest city (the capital of a
    country is :meth:`Gazetteer.capital`). ``population`` is 0 where unknown, as it is for every
    administrative region (the sources lack it). ``importance`` ranks candidates: the
    population, or for a region the population of the biggest place in it.
    """

    geonameid: str
    name: str
    ascii_name: str
    country: str
    country_name: str
    admin1: str
    admin1_name: str
    feature_class: str
    feature_code: str
    population: int
    lat: float
    lon: float
    alternate_names: tuple[str, ...] = ()
    importance: int = 0

    @property
    def is_country(self) -> bool:
        return self.feature_class == "A" and self.feature_code.startswith("PCL")

    @property
    def is_supranational(self) -> bool:
        """A continent or a macro-region: in no one country (``country`` is empty)."""
        return not self.country

    @property
    def is_admin1(self) -> bool:
        return self.feature_class == "A" and self.feature_code == "ADM1"

    @property
    def is_populated_place(self) -> bool:
        return self.feature_class == "P"

    @property
    def is_geonames(self) -> bool:
        """False for supplement entries carrying a local ``sitrep:`` id."""
        return not self.geonameid.startswith("sitrep:")

    def all_names(self) -> tuple[str, ...]:
        """The name, then every alternate name."""
        return (self.name, *self.alternate_names)


def _rank(place: Place) -> tuple[int, int, int]:
    """Countries first, then by importance; a populated place before a region as big."""
    weight = max(place.population, place.importance)
    return (0 if place.is_country else 1, -weight, 0 if place.is_populated_place else 1)


def _place_from_row(line: str) -> Place:
    f = line.split("\t")
    return Place(
        f[0], f[1], f[2], f[6], f[7], f[8], f[9], f[4], f[5],
        int(f[10]), float(f[11]), float(f[12]),
        tuple(f[3].split(LIST_SEPARATOR)) if f[3] else (), int(f[13]),
    )  # fmt: skip


def _row_from_place(place: Place, keys: Iterable[str]) -> str:
    fields = (
        place.geonameid, place.name, place.ascii_name,
        LIST_SEPARATOR.join(place.alternate_names), place.feature_class, place.feature_code,
        place.country, place.country_name, place.admin1, place.admin1_name,
        str(place.population), repr(place.lat), repr(place.lon), str(place.importance),
        LIST_SEPARATOR.join(keys),
    )  # fmt: skip
    if any("\t" in f or "\n" in f for f in fields):
        raise ValueError(f"tab or newline in a field of {place!r}")
    return "\t".join(fields)


def place_keys(place: Place) -> list[str]:
    """The normalised forms of every name of a place, sorted, without duplicates."""
    return sorted({normalise_place_name(n) for n in place.all_names()} - {""})


class Gazetteer:
    """Places indexed by normalised name.

    Get the shipped one with :func:`load_gazetteer`; build a small one (for tests) with
    :meth:`from_places`. Rows stay as text until a lookup needs them: a :class:`Place` is made
    on first use and kept.
    """

    def __init__(self, rows: list[str], version: str, *, recompute_keys: bool = False) -> None:
        """``rows`` are data lines in :data:`COLUMNS` order (the last column holds the keys)."""
        self.version = version
        self._rows = rows
        self._places: dict[int, Place] = {}
        self._capitals: dict[str, Place] | None = None  # built on first use
        self._by_id: dict[str, int] | None = None  # built on first get(): the tagger never asks
        by_key: dict[str, int | list[int]] = {}
        self._by_key = by_key
        get = by_key.get
        sep = LIST_SEPARATOR
        # The hot loop of start-up (200,000 rows, 480,000 keys): rows come in ascending order,
        # so a row is already listed under a key exactly when it is that list's last entry.
        for i, line in enumerate(rows):
            if recompute_keys:
                keys: Iterable[str] = place_keys(self._place(i))
            else:
                keys = line[line.rindex("\t") + 1 :].split(sep)
            for key in keys:
                found = get(key)
                if found is None:
                    by_key[key] = i
                elif isinstance(found, int):
                    if found != i:
                        by_key[key] = [found, i]
                elif found[-1] != i:
                    found.append(i)

    @classmethod
    def from_places(cls, places: Iterable[Place], version: str = "test") -> Gazetteer:
        """A gazetteer of just these places, keyed with :func:`normalise_place_name`."""
        return cls([_row_from_place(p, place_keys(p)) for p in places], version)

    def _place(self, i: int) -> Place:
        place = self._places.get(i)
        if place is None:
            place = self._places[i] = _place_from_row(self._rows[i])
        return place

    # -- lookups ---------------------------------------------------------------------------

    def lookup(self, name: str) -> list[Place]:
        """Every place a surface form may refer to, best first.

        Best first means: places with a name equal to ``name`` up to case, diacritics and
        punctuation (articles and spellings unfolded) before those found only through the
        folding; within each group countries first, then by importance (see :class:`Place`).
        An unknown name gives an empty list.
        """
        found = self.candidates(normalise_place_name(name))
        if len(found) < 2:
            return found
        loose = _loose_key(name)

        def order(place: Place) -> tuple[int, int, int, int]:
            exact = any(_loose_key(n) == loose for n in place.all_names())
            return (0 if exact else 1, *_rank(place))

        return sorted(found, key=order)

    def candidates(self, key: str) -> list[Place]:
        """Every place with this normalised key (as :meth:`names` gives), countries first,
        then by importance."""
        found = self._by_key.get(key)
        if found is None:
            return []
        if isinstance(found, int):
            return [self._place(found)]
        return sorted((self._place(i) for i in found), key=_rank)

    def get(self, geonameid: str) -> Place | None:
        """The place with this GeoNames (or ``sitrep:``) id."""
        by_id = self._by_id
        if by_id is None:
            by_id = self._by_id = {line[: line.index("\t")]: i for i, line in enumerate(self._rows)}
        i = by_id.get(geonameid)
        return None if i is None else self._place(i)

    def names(self) -> Iterator[str]:
        """Every normalised surface form (words separated by one space), for an automaton."""
        return iter(self._by_key)

    def countries(self) -> list[Place]:
        """Every country, by ISO code."""
        return sorted((p for p in self if p.is_country), key=lambda p: p.country)

    def capital(self, country: str) -> Place | None:
        """The capital of a country (ISO2), the populated place GeoNames marks ``PPLC``, the
        most important if several; None when the data has none. For maps that show a
        country at its capital, the country's own point being its middle."""
        capitals = self._capitals
        if capitals is None:
            found: dict[str, Place] = {}
            for i, line in enumerate(self._rows):
                if "\tPPLC\t" in line:
                    place = self._place(i)
                    best = found.get(place.country)
                    if place.feature_code == "PPLC" and (
                        best is None or place.importance > best.importance
                    ):
                        found[place.country] = place
            capitals = self._capitals = found
        return capitals.get(country)

    def admin1_regions(self, country: str | None = None) -> list[Place]:
        """First-level administrative regions, of one country (ISO2) or of all."""
        return sorted(
            (p for p in self if p.is_admin1 and (country is None or p.country == country)),
            key=lambda p: (p.country, p.admin1),
        )

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and normalise_place_name(name) in self._by_key

    def __iter__(self) -> Iterator[Place]:
        """Every place, in file order (slow the first time: each row becomes a Place)."""
        return (self._place(i) for i in range(len(self._rows)))

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"Gazetteer({len(self)} places, {len(self._by_key)} names, {self.version!r})"


# --------------------------------------------------------------------------------------------
# Reading the shipped file
# --------------------------------------------------------------------------------------------


def parse_gazetteer(text: str) -> Gazetteer:
    """A gazetteer from the text of a data file: ``# key: value`` header lines, the column
    names, then one place a line."""
    lines = text.split("\n")
    header: dict[str, str] = {}
    start = 0
    while start < len(lines) and lines[start].startswith("#"):
        key, _, value = lines[start][1:].partition(":")
        header[key.strip()] = value.strip()
        start += 1
    if header.get("format") != FORMAT:
        raise GazetteerError(f"gazetteer data is {header.get('format')!r}, expected {FORMAT!r}")
    if start >= len(lines) or lines[start].split("\t") != list(COLUMNS):
        raise GazetteerError("gazetteer data has no column line, or other columns")
    rows = [line for line in lines[start + 1 :] if line]
    recompute = header.get("normaliser") != NORMALISER_VERSION
    return Gazetteer(rows, version=header.get("version", "unknown"), recompute_keys=recompute)


def read_gazetteer(path: str | Path) -> Gazetteer:
    """A gazetteer from a data file on disk (gzip or plain)."""
    return parse_gazetteer(_decode(Path(path).read_bytes()))


def _decode(raw: bytes) -> str:
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8")


@cache
def load_gazetteer() -> Gazetteer:
    """The shipped gazetteer, read once per process."""
    resource = resources.files("sitrep").joinpath(DATA_FILE)
    try:
        raw = resource.read_bytes()
    except FileNotFoundError as exc:  # pragma: no cover - a broken install
        raise GazetteerError(f"gazetteer data missing: sitrep/{DATA_FILE}") from exc
    return parse_gazetteer(_decode(raw))
