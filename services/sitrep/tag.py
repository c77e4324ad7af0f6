"""The tag stage: which places and actors an article mentions (``articles.clean -> tagged``).

Analysts filter, alert and chart on these tags, so a wrong tag costs more than a missing one:
"Jordan" the US envoy must not put a story on the map of Jordan, and "Latin America" must not
count as the United States. Everything below is built around *one* reading per span of text,
chosen with the whole article as context.

How a text is tagged
--------------------

1. **Tokens and a normalised stream.** The text (``title + "\\n\\n" + text``) is cut into word
   tokens; each is folded with :func:`sitrep.gazetteer.normalise_place_name`, the function
   that made the gazetteer's keys, so "al-Tanf", "At Tanf" and "Tanf" meet the same key.
   Arabic articles leave the stream as the normaliser drops them from names (a match that
   starts after one takes it into its span when it belongs to the name: "al-Tanf", but not
   "at" in "fighting at Mosul"); possessives ("Iraq's") and French elisions ("l'Irak") are
   cut off; dotted acronyms ("U.S.") become one token; Arabic "wa-"/"fa-" ("and", "so")
   before a name are tried without it in a second stream. Sentence punctuation, commas and
   line breaks end a run, so no name spans "Iraq, Syria". Tokens keep their offsets in the
   original text, which is what ``first_offset`` and ``surface_forms`` report.
2. **Two Aho-Corasick automata** (pyahocorasick) run over the stream: one over every gazetteer
   key (built once per process, shared by all taggers), one over the actor dictionary's names,
   aliases and demonyms plus :data:`BLOCKING_PHRASES` (built per dictionary, so user files do
   not rebuild the big one). Keys are wrapped in spaces, so every hit is word-aligned.
3. **Each hit is checked against the original text.** Actor acronyms of up to five capitals
   (IS, US, PMF) must match case-exactly ("is", "us" are words); demonyms must be capitalised.
   A place must look like a proper noun: first word capitalised (Arabic script, which has no
   case, is exempt), later words capitalised or connectors ("Qasr bin Ghashir", "Nineveh
   province"); a short all-capital word is an acronym, never a place (SANA the agency is not
   Sanaa); calendar words, function words and common given names (:data:`COMMON_WORDS`) are
   never places on their own.
4. **Longest match wins across both dictionaries**, then the leftmost: "Islamic State" is an
   actor and no place inside it counts, "Syrian army" is an actor and not the demonym
   "Syrian". Where a state and its country share the span ("Iraq"), both are kept: the story
   is about the place and may quote the state. On any other shared span the actor wins.
   Phrases that contain a name but name neither ("Latin America", "Washington Post") swallow
   it, unless the gazetteer has a region, sea or other non-settlement of that exact name.
5. **Context rules on the chosen spans** (:meth:`Tagger._refine`):

   - a person who shares a place's name: a one-word place after a title or role word ("Mr.
     Jordan", "envoy Jordan") or after a capitalised word that is no place, actor, demonym,
     function word or plain sentence opener ("Rebecca Jordan", "Colonel Dana Whitfield").
     The name is then that person's in the whole article ("Jordan told reporters") except
     right after a locative preposition ("in Jordan");
   - a fragment of a longer name the gazetteer lacks: a one-word place next to another
     capitalised word or to another one-word place ("Suez Canal", "Ain Zara", "The Tigris
     Herald"), or joined to one by an Arabic article ("Bab al-Tabbaneh", "Maroun al-Ras"),
     or named after it ("Gulf of Aden"); countries, and the beat's capitals and first-level
     regions, are kept, and so is a name followed by a generic word ("Mosul Dam");
   - a capitalised sentence opener or title-case headline word that the same text also uses
     in lowercase ("Hit" and "hit") is a common word;
   - "Iran-backed", "U.S.-led": the state acts, the country is not a place of the story;
   - "Duhok province", "the province of Anbar": the region, not the city;
   - a person's surname-only alias after a locative ("in al-Baghdadi") is a place, not him;
   - a state or demonym followed by a military noun ("Iraq's army", "Lebanese soldiers",
     "Turkish drones") also names that country's armed forces, as the dictionary spells them.
6. **Each place mention is resolved to one place** by scoring the candidates of its key with
   the article as context and keeping the best if it reaches :data:`ACCEPT_SCORE`
   (:class:`_Scoring` has the weights and the reasons). Context is computed without the
   mention's own key and refined over three passes, so "Tripoli" goes to Lebanon in a story
   about Lebanon and Syria and to Libya otherwise, and "Georgia" is the US state only next to
   Atlanta.

Output decisions
----------------

- ``places``: one entry per resolved place: GeoNames id (or the supplement's ``sitrep:`` id),
  canonical name, country, first-level region, feature ``class/code``, position, number of
  mentions, first offset and the surface forms seen. ``geo`` has the points of the places that
  are not whole countries (a country's point is its capital: every "Iraq" would pile up on
  Baghdad on a map).
- ``countries``: ISO2 codes of every place's country and of every state *named* (by name or
  alias: "U.S.", "Iraq"), most mentioned first; ``country_mentions`` has the counts. A state
  seen only through a demonym ("Iranian advisers") or in a compound ("Iran-backed") is an
  actor (in ``actors`` and ``actor_countries``) but not a country of the story: ``countries``
  says where, ``actor_countries`` says whose.
- ``admin1``: first-level regions as GeoNames ``CC.code`` keys ("IQ.15" is Nineveh), the codes
  the gazetteer carries (it has no ISO 3166-2 codes), from every place below country level
  and from regions named themselves; each place also has ``admin1_name``.
- ``actors``: what the text mentions, with ``via`` ``name`` or ``demonym`` (a state never
  named but seen through its demonym). A name two actors share (the dictionary's
  ``shared_aliases``, e.g. Asayish) goes to the one whose country the text's other actors
  name most. ``actor_ids`` lists them; ``actor_ids_rollup`` adds
  every ancestor (a Kataib al-Imam Ali story counts for the PMF) so that a filter on an
  umbrella finds its members; ``actor_types`` and ``actor_countries`` roll up the mentioned
  actors' types and affiliations (not their ancestors').
- Wire agencies are bylines, not actors: the dictionary does not list them, so nothing here
  needs to drop them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from html.parser import HTMLParser
from itertools import accumulate
from operator import add, sub
from pathlib import Path
from typing import Any, Final

import ahocorasick

from sitrep.actors import Actor, ActorDictionary, ActorType, alias_key, load_actor_dictionary
from sitrep.gazetteer import ARTICLES, Gazetteer, Place, load_gazetteer, normalise_place_name

__all__ = [
    "ACCEPT_SCORE",
    "BEAT_COUNTRIES",
    "BLOCKING_PHRASES",
    "SCHEMA",
    "TAGGER_VERSION",
    "ActorTag",
    "PlaceTag",
    "Tagger",
    "Tags",
    "get_tagger",
    "tag_command",
]

#: Bump when the same inputs can give other tags (rules, weights, word lists).
TAGGER_VERSION: Final = "1.0.0"
#: The ``schema`` field of an ``articles.tagged`` message.
SCHEMA: Final = "articles.tagged/1"
#: The countries the gazetteer covers down to small places (its README), and the beat.
BEAT_COUNTRIES: Final = frozenset(
    {"IQ", "SY", "JO", "LB", "TR", "IR", "IL", "PS", "SA", "KW", "YE", "EG", "LY"}
)
#: The score a place candidate needs to be tagged at all (see :class:`_Scoring`).
ACCEPT_SCORE: Final = 3.0

# --------------------------------------------------------------------------------------------
# Word lists. Each is here because a rule needs it, and kept small.
# --------------------------------------------------------------------------------------------


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Phrases that contain a place or actor name but name neither; they swallow the names inside.
BLOCKING_PHRASES: Final = (
    "Latin America", "South America", "North America", "Central America", "the Americas",
    "Middle East", "Near East", "Far East", "Eastern Europe", "Western Europe",
    "Central Europe", "Central Asia", "South Asia", "East Asia", "Southeast Asia",
    "North Africa", "West Africa", "East Africa", "Sub-Saharan Africa", "Horn of Africa",
    "Washington Post", "Washington Times", "Jerusalem Post", "Tehran Times", "Baghdad Post",
    "New York Times", "Times of Israel", "Arab News", "Gulf News", "Voice of America",
    "Bank of America", "Captain America", "Radio Free Europe", "Jordan Times", "Syria Times",
    "Arab Spring", "Gulf states", "Gulf countries", "Arab states", "Arab countries",
)  # fmt: skip

#: Words that start sentences or join clauses: capitalised, they still are not names.
FUNCTION_WORDS: Final = _words(
    """
    a an the of in on at to for from by with and or but not no yes it its this that these
    those there here he she they we you i his her their our your them him us me my who what
    when where why how which while after before since until as if than then so also still
    yet now later earlier meanwhile instead however although though because during despite
    said says say told tell asked added according reported reports report news
    more most many much some any all each every other another such only just even very
    can could will would should must might shall about against between among across
    """
)

#: Calendar words (Gregorian and Islamic) and holidays, capitalised in every text.
CALENDAR_WORDS: Final = _words(
    """
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday
    ramadan ramadhan ramazan eid muharram safar rajab shaban shawwal ashura arbaeen nowruz
    christmas easter
    """
)

#: Given names that are also gazetteer keys (villages called Khalil or Hassan abound).
GIVEN_NAMES: Final = _words(
    """
    ali hassan hasan hussein hussain husain mohammed muhammad mohammad ahmed ahmad omar umar
    abbas saeed said karim kareem jamal salem salim hamid hamed mahmoud khalid khaled fatima
    aisha layla leila nasser nasir mustafa mostafa yusuf yousef ibrahim ismail ismael khalil
    shirin maryam zainab hamza bilal tariq adel adil faisal fahd sultan mansour nabil
    adam david daniel michael john james mary sarah paul peter mark luke
    """
)

#: Other English words that are gazetteer keys and, capitalised, are titles or headlines.
OTHER_COMMON: Final = _words(
    """
    god allah prime minister president general colonel captain sheikh imam king queen prince
    city town village state states province region district border airport base camp
    good best last first second third one two three four five great little big long
    hope faith grace joy liberty unity victory freedom independence progress union justice
    peace welcome burning trump
    """
)

#: Never a place on their own (see the module docstring, step 3).
COMMON_WORDS: Final = FUNCTION_WORDS | CALENDAR_WORDS | GIVEN_NAMES | OTHER_COMMON

#: Words after which a capitalised one-word place name is a person ("envoy Jordan").
ROLE_WORDS: Final = _words(
    """
    mr mrs ms miss dr prof sir lord lady sen senator rep gov gen col lt maj capt sgt adm cmdr
    president minister secretary ambassador envoy spokesman spokeswoman spokesperson official
    commander general colonel captain sergeant admiral governor mayor representative
    chairman chairwoman director chief leader sheikh shaykh imam ayatollah cleric judge
    diplomat adviser advisor analyst correspondent reporter journalist professor
    """
)

#: Capitalised words that may precede a place without making it a person's name.
PLACE_MODIFIERS: Final = _words(
    """
    north south east west northern southern eastern western central upper lower greater old
    new rural occupied free liberated northeast northwest southeast southwest northeastern
    northwestern southeastern southwestern mid inner outer downtown metropolitan
    sunni shia shiite shi'ite alawite druze christian kurdish arab yazidi turkmen assyrian
    chaldean armenian bedouin islamic jewish muslim ottoman roman byzantine ancient modern
    """
)

#: Endings of English adjectives and participles that open sentences before a country
#: ("Neighbouring Jordan", "Oil-rich Kuwait"); first names rarely end so.
_ADJECTIVE_ENDINGS: Final = (
    "ing", "ed", "ern", "ful", "less", "ous", "ive", "ic", "ary", "ish", "ese", "ian", "ist",
    "ly", "rich", "poor", "torn", "hit", "wide", "free", "led", "based",
)  # fmt: skip

#: Words after which a name is a place even when it is also someone's name in the article.
LOCATIVES: Final = _words(
    """
    in into to from across near toward towards through via inside outside around within
    throughout visit visited visiting entered reached enter reach border borders
    """
)

#: Words that may be lowercase inside a multi-word place name, or follow a place name without
#: making it a fragment of a longer one ("Mosul Dam", "Baghdad Airport").
NAME_CONNECTORS: Final = _words(
    """
    of the and de du des la le les el al bin ibn bint bani beni abu umm um wa fi ul ud ad ed
    an on upon sur en di da del della van von der den zu y e i
    province provinces governorate governorates district subdistrict region city town village
    river desert camp crossing border mountains mountain mount lake sea gulf valley plain
    plains island islands airport base dam bridge square street road municipality canal
    strait oasis bay peninsula international university citadel
    """
)

#: A place followed by one of these is the region ("Duhok province"), not the city.
_REGION_SUFFIXES: Final = _words("province provinces governorate governorates wilayat")

#: "Iran-backed militias": the state acts, the country is not where the story is.
COMPOUND_ACTOR_SUFFIXES: Final = _words(
    """
    backed led supported sponsored funded aligned allied affiliated brokered trained armed
    allied linked dominated run controlled financed
    """
)

#: Nouns after a state or demonym that name its armed forces ("Turkish drones").
MILITARY_NOUNS: Final = _words(
    "army soldiers soldier troops military drones drone warplanes jets artillery tanks"
)

#: "Gulf of Aden", "Cape of Good Hope": a feature named after a place is not that place.
_FEATURE_HEADS: Final = _words("gulf bay strait straits cape sea isle isles lake")

#: Where a single-word person alias is a place ("the town of al-Baghdadi").
_TOWN_WORDS: Final = _words("town city village district area outskirts suburb province region")

#: Names so generic that they mean a place only where the story already is.
GENERIC_NAMES: Final = frozenset(
    normalise_place_name(n)
    for n in (
        "Old City", "Old Town", "New City", "City Centre", "City Center", "Downtown",
        "Green Zone", "Red Zone", "Industrial Zone", "Industrial Area", "Medina", "Souq",
        "Citadel", "University", "Airport", "Central",
    )
)  # fmt: skip

# --------------------------------------------------------------------------------------------
# Tokens and the normalised stream
# --------------------------------------------------------------------------------------------

_APOS = "'\u2018\u2019\u201b\u02bc\u02bb\u02bd\u02be\u02bf`\u00b4\u2032\uff07"
_MARKS = "\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640"
# A dotted acronym ("U.S.", "U.S", "E.U."), or a word with inner apostrophes ("Ba'aj").
_TOKEN_RE: Final = re.compile(rf"[A-Z](?:\.[A-Z])+\.?|[\w{_MARKS}]+(?:[{_APOS}][\w{_MARKS}]+)*")
_DASHES = "\\-\u2010\u2011\u2012\u2013"
# What may stand between two tokens of one name: spaces, hyphens and dashes, apostrophes.
_JOINER_RE: Final = re.compile(rf"[ \t\u00a0\u2009\u202f{_DASHES}{_APOS}]*")
_SENTENCE_RE: Final = re.compile(r'[.!?:;\n"“”«»()\[\]|•]')
_ELISIONS: Final = ("l'", "d'", "l’", "d’", "L'", "D'", "L’", "D’")
_ABBREVIATIONS: Final = _words("mr mrs ms dr gen col lt maj capt sgt adm sen rep gov prof st no vs")
_BOUNDARY: Final = "|"  # in the stream, where a name cannot continue
_WORD_CHAR_RE: Final = re.compile(rf"[\w{_MARKS}]")
# Splits a text into gap, token, gap, token ... and what follows the last token.
_SPLIT_RE: Final = re.compile(f"({_TOKEN_RE.pattern})")
_ARABIC_RE: Final = re.compile("[\u0600-\u06ff]")
_ARABIC_PROCLITIC_ARTICLE: Final = frozenset({"وال", "بال", "فال", "كال"})


@dataclass(slots=True)
class _Token:
    start: int  # offset of the token in the original text (after an elision)
    end: int  # offset after it (before a possessive "'s")
    raw: str  # text[start:end]
    key: str  # its normalised form
    article: bool  # an Arabic article (al, el, at, ash ...), dropped from the stream
    sentence_start: bool
    prev_gap: str  # the text between the previous token (with its possessive) and this one
    possessive: bool  # "'s" followed and was cut off
    joined: bool  # continues the name before it: same sentence, only spaces, dashes, apostrophes

    @property
    def capitalised(self) -> bool:
        """Starts with a capital and is not all capitals (an acronym)."""
        return self.raw[0].isupper() and not self.raw.isupper()


@dataclass(frozen=True, slots=True)
class _WordInfo:
    key: str
    article: bool


_WORD_CACHE: dict[str, _WordInfo] = {}
_WORD_CACHE_MAX: Final = 300_000


def _word_info(raw: str) -> _WordInfo:
    """The normalised key of one word, cached: news repeats the same few thousand words."""
    info = _WORD_CACHE.get(raw)
    if info is None:
        word = raw.replace(".", "") if "." in raw else raw
        if word[:3] in _ARABIC_PROCLITIC_ARTICLE and len(word) > 5:
            word = word[1:]  # wa-/bi-/fa-/ka- + al-: "والعراق" is "and al-Iraq"
        elif word.startswith("لل") and len(word) > 4:
            word = "ال" + word[2:]  # li- + al-
        key = normalise_place_name(word)
        info = _WordInfo(key, key in ARTICLES)
        if len(_WORD_CACHE) >= _WORD_CACHE_MAX:
            _WORD_CACHE.clear()
        _WORD_CACHE[raw] = info
    return info


class _Tokens:
    """The tokens of a text as parallel lists (the hot paths read these); a :class:`_Token`
    is made only for a word a rule asks about, and kept."""

    __slots__ = (
        "_made", "articles", "ends", "gaps", "joined", "keys", "possessive", "raws", "sentence",
        "starts",
    )  # fmt: skip

    def __init__(
        self,
        starts: list[int],
        ends: list[int],
        raws: list[str],
        keys: list[str],
        articles: list[bool],
        sentence: list[bool],
        gaps: list[str],
        possessive: list[bool],
        joined: list[bool],
    ) -> None:
        self.starts = starts
        self.ends = ends
        self.raws = raws
        self.keys = keys
        self.articles = articles
        self.sentence = sentence
        self.gaps = gaps
        self.possessive = possessive
        self.joined = joined
        self._made: list[_Token | None] = [None] * len(raws)

    def __len__(self) -> int:
        return len(self.raws)

    def __getitem__(self, i: int) -> _Token:
        tok = self._made[i]
        if tok is None:
            tok = self._made[i] = _Token(
                self.starts[i], self.ends[i], self.raws[i], self.keys[i], self.articles[i],
                self.sentence[i], self.gaps[i], self.possessive[i], self.joined[i],
            )  # fmt: skip
        return tok


_EMPTY_TOKENS: Final = _Tokens([], [], [], [], [], [], [], [], [])


_GAP_SENTENCE: dict[str, bool] = {}  # a gap -> it ends a sentence (before "Mr." is undone)
_GAP_JOINED: dict[str, bool] = {}  # a gap -> a name may run on across it
_GAP_CACHE_MAX: Final = 100_000


def _gap_info(gap: str) -> tuple[bool, bool]:
    """Whether a gap between two words ends a sentence, and whether a name may run across it
    (only spaces, dashes and apostrophes, and no sentence end; a full stop after an
    abbreviation ("Mr. Jordan") ends no sentence but is no joiner either)."""
    sentence = gap != " " and _SENTENCE_RE.search(gap) is not None
    return sentence, gap == " " or (not sentence and _JOINER_RE.fullmatch(gap) is not None)


def _tokenise(text: str) -> _Tokens:
    # Written for speed: it touches every word of every article, so the bulk is done by the
    # regex engine and comprehensions; only words with an apostrophe or a dot, and gaps with a
    # full stop, take a slower path. One regex split yields the words and the gaps between.
    end = len(text)
    while end and _WORD_CHAR_RE.match(text, end - 1) is None:
        end -= 1  # trailing punctuation: not a gap before any word
    # Words and the gaps between them, alternating (no tuples: fewer objects for the GC).
    parts = _SPLIT_RE.split(text[: end + 1])  # + 1: the full stop of a final "U.S."
    if len(parts) < 2:
        return _EMPTY_TOKENS
    gaps = parts[0:-1:2]
    raws = parts[1::2]
    ends = list(accumulate(map(add, map(len, gaps), map(len, raws))))
    starts = list(map(sub, ends, map(len, raws)))
    possessive = [False] * len(raws)
    for i in [i for i, r in enumerate(raws) if not r.isalnum()]:  # apostrophes, dots, marks
        raw = raws[i]
        if len(raw) > 3:
            if raw[-1] in "sS" and raw[-2] in _APOS:  # Iraq's
                possessive[i] = True
                ends[i] -= 2
                raw = raw[:-2]
            if raw[:2] in _ELISIONS and len(raw) > 3 and raw[2].isupper():  # French: l'Irak
                starts[i] += 2
                gaps[i] += raw[:2]
                raw = raw[2:]
            raws[i] = raw
    cached = _WORD_CACHE.get
    infos = [cached(r) or _word_info(r) for r in raws]
    # Texts use few distinct gaps (" ", ", ", ". "): what each means is looked up, not
    # matched again.
    distinct = set(gaps)
    missing = distinct.difference(_GAP_SENTENCE)
    if missing:
        if len(_GAP_SENTENCE) + len(missing) > _GAP_CACHE_MAX:
            _GAP_SENTENCE.clear()
            _GAP_JOINED.clear()
            missing = distinct  # every gap of this text must be there for the lookups
        for g in missing:
            _GAP_SENTENCE[g], _GAP_JOINED[g] = _gap_info(g)
    sentence = list(map(_GAP_SENTENCE.__getitem__, gaps))
    joined = list(map(_GAP_JOINED.__getitem__, gaps))
    sentence[0] = True
    for i in [i for i, g in enumerate(gaps) if i and sentence[i] and g.strip() == "."]:
        sentence[i] = raws[i - 1].lower() not in _ABBREVIATIONS  # "Mr. Jordan"
    joined[0] = False
    keys = [i.key for i in infos]
    articles = [i.article for i in infos]
    return _Tokens(starts, ends, raws, keys, articles, sentence, gaps, possessive, joined)


@dataclass(slots=True)
class _Stream:
    """The tokens' keys joined by spaces, with ``|`` where a name cannot continue."""

    text: str
    starts: dict[int, int]  # stream offset of a token's first char -> token index
    ends: dict[int, int]  # stream offset just after a token -> token index


def _build_stream(tokens: _Tokens, keys: Sequence[str] | None = None) -> _Stream:
    parts: list[str] = [" "]
    append = parts.append
    pos = 1
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    joined = tokens.joined
    articles = tokens.articles
    own = tokens.keys
    stream_keys = own if keys is None else keys
    last = len(own) - 1
    cut = _BOUNDARY + " "
    for i, tok_key in enumerate(own):
        if i and not joined[i]:
            append(cut)
            pos += 2
        if not tok_key:  # folds to nothing (marks only): nothing to match, a name cannot span it
            append(cut)
            pos += 2
            continue
        if articles[i] and i < last and joined[i + 1]:
            continue  # dropped, as normalise_place_name drops articles inside names
        key = stream_keys[i]
        starts[pos] = i
        append(key)
        pos += len(key)
        ends[pos] = i
        append(" ")
        pos += 1
    return _Stream("".join(parts), starts, ends)


def _without_conjunctions(tokens: _Tokens) -> list[str] | None:
    """Token keys with the Arabic conjunctions "wa-" and "fa-" cut off ("ونينوى" is "and
    Nineveh"), or None when no token has one. Used as a second stream: cutting them always
    would break names that begin with the letter (وادي, wadi)."""
    keys = list(tokens.keys)
    changed = False
    for i, key in enumerate(tokens.keys):
        if len(key) >= 4 and key[0] in "وف" and "\u0600" <= key[1] <= "\u06ff":
            keys[i] = _word_info(key[1:]).key
            changed = True
    return keys if changed else None


def _stream_key(name: str) -> str:
    """The key a name gets in the stream, for dictionary entries matched over it."""
    tokens = _tokenise(name)
    n = len(tokens)
    keys = [k for i, k in enumerate(tokens.keys) if not (tokens.articles[i] and i + 1 < n)]
    return " ".join(keys)


def _capitalised(raw: str) -> bool:
    """Starts with a capital and is not all capitals (an acronym): :attr:`_Token.capitalised`."""
    return raw[0].isupper() and not raw.isupper()


def _is_cased(word: str) -> bool:
    c = word[0]
    return c.lower() != c.upper()


def _compact(s: str) -> str:
    return "".join(c for c in s if c.isalnum())


def _fold(s: str) -> str:
    """Case, diacritics and punctuation folded, articles and spelling kept: "exactly" a name."""
    decomposed = unicodedata.normalize("NFKD", s.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[\W_]+", " ", letters).split())


# --------------------------------------------------------------------------------------------
# Automata
# --------------------------------------------------------------------------------------------


def _automaton(keys: Iterable[str]) -> Any:
    """Keys wrapped in spaces (so hits are word-aligned), each storing its wrapped length."""
    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    for key in keys:
        wrapped = f" {key} "
        automaton.add_word(wrapped, len(wrapped))
    automaton.make_automaton()
    return automaton


@cache
def _place_automaton(gazetteer: Gazetteer) -> Any:
    """Every gazetteer key of three characters or more (shorter ones are noise in text)."""
    return _automaton(k for k in gazetteer.names() if len(k) >= 3)


# --------------------------------------------------------------------------------------------
# Output types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlaceTag:
    id: str
    name: str
    country: str
    country_name: str
    admin1: str  # "CC.code" (GeoNames), "" for a country
    admin1_name: str
    feature: str  # "class/code", e.g. "P/PPL", "A/PCLI"
    lat: float
    lon: float
    mentions: int
    first_offset: int
    surface_forms: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "country": self.country,
            "country_name": self.country_name, "admin1": self.admin1,
            "admin1_name": self.admin1_name, "feature": self.feature, "lat": self.lat,
            "lon": self.lon, "mentions": self.mentions, "first_offset": self.first_offset,
            "surface_forms": list(self.surface_forms),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class ActorTag:
    id: str
    name: str
    type: str
    countries: tuple[str, ...]
    parent: str | None
    mentions: int
    first_offset: int
    surface_forms: tuple[str, ...]
    via: str  # "name", or "demonym" when a state is seen only through its demonym

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "type": self.type,
            "countries": list(self.countries), "parent": self.parent,
            "mentions": self.mentions, "first_offset": self.first_offset,
            "surface_forms": list(self.surface_forms), "via": self.via,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Tags:
    """What one text mentions; :meth:`to_dict` is its JSON shape in ``articles.tagged``."""

    places: tuple[PlaceTag, ...] = ()
    actors: tuple[ActorTag, ...] = ()
    country_mentions: tuple[tuple[str, str, int], ...] = ()  # (code, name, mentions)
    admin1: tuple[str, ...] = ()
    actor_ids_rollup: tuple[str, ...] = ()

    @property
    def countries(self) -> list[str]:
        return [code for code, _, _ in self.country_mentions]

    @property
    def place_ids(self) -> list[str]:
        return [p.id for p in self.places]

    @property
    def actor_ids(self) -> list[str]:
        return [a.id for a in self.actors]

    def to_dict(self) -> dict[str, Any]:
        return {
            "places": [p.to_dict() for p in self.places],
            "countries": self.countries,
            "country_mentions": [
                {"code": c, "name": n, "mentions": k} for c, n, k in self.country_mentions
            ],
            "admin1": list(self.admin1),
            "geo": [
                {"lat": p.lat, "lon": p.lon}
                for p in self.places
                if not p.feature.startswith("A/PCL")
            ],
            "actors": [a.to_dict() for a in self.actors],
            "actor_ids": self.actor_ids,
            "actor_ids_rollup": list(self.actor_ids_rollup),
            "actor_types": list(dict.fromkeys(a.type for a in self.actors)),
            "actor_countries": list(dict.fromkeys(c for a in self.actors for c in a.countries)),
        }


# --------------------------------------------------------------------------------------------
# Matching internals
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ActorForm:
    actor_id: str
    form: str
    exact_case: bool  # an acronym of up to 5 capitals: must match case-exactly
    demonym: bool
    one_word: bool  # a single word once articles are dropped ("Assad", "al-Baghdadi")


def _is_acronym(form: str) -> bool:
    letters = [c for c in form if c.isalpha()]
    return 0 < len(letters) <= 5 and not any(c.islower() for c in form)


@dataclass(slots=True)
class _Hit:
    first: int  # token indices of the matched key, inclusive
    last: int
    lead: int  # first token of the span: ``first``, or the name's article before it
    start: int  # offsets of the span in the original text
    end: int
    key: str
    actors: list[_ActorForm] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    blocked: bool = False  # a blocking phrase: consumes the span, tags nothing
    region: bool = False  # "X province": only administrative regions
    compound: bool = False  # "Iran-backed": the state acts; not a country of the story

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def resolution_key(self) -> str:
        return f"{self.key}#region" if self.region else self.key

    def clear(self) -> None:
        self.actors = []
        self.places = []


@dataclass(slots=True)
class _Context:
    """Evidence of the article's countries and regions, by entity, so one can be left out.

    ``national`` holds what names a country as a whole (the country or its state, its capital,
    a demonym, an actor of that country); ``local`` holds places inside it below the capital,
    which is what tells a US state from a country called Georgia.
    """

    national: dict[str, dict[str, float]] = field(default_factory=dict)  # cc -> entity -> w
    local: dict[str, dict[str, float]] = field(default_factory=dict)
    admin1: dict[str, set[str]] = field(default_factory=dict)  # "CC.code" -> entities
    keys_of: dict[str, set[str]] = field(default_factory=dict)  # entity -> resolution keys
    _memo: dict[tuple[bool, str, str], float] = field(default_factory=dict)

    def add(self, entity: str, key: str, country: str, weight: float, *, local: bool) -> None:
        table = self.local if local else self.national
        per = table.setdefault(country, {})
        per[entity] = max(per.get(entity, 0.0), weight)
        self.keys_of.setdefault(entity, set()).add(key)

    def add_admin1(self, entity: str, key: str, admin1: str) -> None:
        self.admin1.setdefault(admin1, set()).add(entity)
        self.keys_of.setdefault(entity, set()).add(key)

    def copy(self) -> _Context:
        return _Context(
            {c: dict(per) for c, per in self.national.items()},
            {c: dict(per) for c, per in self.local.items()},
            {a: set(es) for a, es in self.admin1.items()},
            {e: set(ks) for e, ks in self.keys_of.items()},
        )

    def _own(self, entity: str, key: str) -> bool:
        keys = self.keys_of.get(entity)
        return not keys or (len(keys) == 1 and key in keys)

    def weight(self, local: bool, country: str, key: str) -> float:
        """The evidence for ``country`` that does not come from ``key`` itself."""
        memo = (local, country, key)
        found = self._memo.get(memo)
        if found is None:
            table = self.local if local else self.national
            per = table.get(country)
            if per:
                keys_of = self.keys_of
                found = 0  # as sum() starts
                for e, w in per.items():
                    keys = keys_of.get(e)
                    if keys and (len(keys) > 1 or key not in keys):  # not self._own(e, key)
                        found += w
            else:
                found = 0.0
            self._memo[memo] = found
        return found

    def has_admin1(self, admin1: str, key: str) -> bool:
        return any(not self._own(e, key) for e in self.admin1.get(admin1, ()))


class _Scoring:
    """The weights of a place candidate's score, and why.

    - ``country_exact`` (+6): a country's own name means that country in news text, unless
      strong local evidence says otherwise (Georgia next to Atlanta is the US state). A
      country reached only through a looser alias gets half.
    - feature priors: ``capital`` +2, ``admin1`` +1.5, ``populated`` +0.5, ``other`` +0.5
      (rivers, deserts, crossings), ``admin2`` -1: a capital is what a bare name most often
      means, a first-level region is a frequent subject, a second-level one rarely is.
    - ``curated`` +2.5: the supplement's entries (al-Tanf, Badia, Tigris, Umm Jaris, the
      Kurdistan Region) are there because the beat talks about them, and have no population
      to rank them by.
    - importance: +0.5 per order of magnitude of the population (of the biggest place inside,
      for a region), so Tripoli, Libya (1.3 M) outranks Tripoli, Lebanon (230 k) unprompted.
    - national context: 2 x log2(1 + w), at most +3 (w: 2 per named country or state, 1 per
      capital or demonym, 0.5 per actor of that country); local context: 2.5 x log2(1 + w),
      at most +4 (w: 1 per other place inside the country); ``same_admin1`` +1.5 when another
      place of the same first-level region is mentioned (Baaj with Mosul, both in Nineveh).
    - ``beat`` +0.5: a tie-breaker only.
    - ``alias_only`` -1.5: the text uses one of the place's GeoNames alternate names, not its
      name, and nothing else in the story is in that country ("Khalil" is not Hebron in an
      Iraq story). The supplement's hand-written names are exempt.
    - eligibility: outside the beat and without local context a place needs 100,000 people
      (a region: 1,000,000), so "Paris" is the French capital even in a story that names the
      United States, and "Commerce" or "Green" are not US towns; a generic name ("Old City")
      needs local context in its country; a capitalised sentence opener or a title-case
      headline word needs ``ACCEPT_SCORE + weak_position``.
    """

    country_exact = 6.0
    capital = 2.0
    admin1 = 1.5
    populated = 0.5
    admin2 = -1.0
    other = 0.5
    curated = 2.5
    per_magnitude = 0.5
    national_factor, national_cap = 2.0, 3.0
    local_factor, local_cap = 2.5, 4.0
    same_admin1 = 1.5
    beat = 0.5
    alias_only = -1.5
    foreign_min_population = 100_000
    foreign_min_region_importance = 1_000_000
    weak_position = 1.0


# --------------------------------------------------------------------------------------------
# The tagger
# --------------------------------------------------------------------------------------------


class Tagger:
    """Places and actors of a text; build once per process (:meth:`load`, :func:`get_tagger`).

    The tagging methods are pure: the same text always gives the same tags; only caches of
    word keys and name comparisons are kept between calls.
    """

    def __init__(self, gazetteer: Gazetteer, actors: ActorDictionary, *, actors_version: str):
        self.gazetteer = gazetteer
        self.actors = actors
        self._actor = {a.id: a for a in actors.actors}  # plain dict: hot path
        self._state_cc = {
            a.id: a.countries if a.type is ActorType.STATE else () for a in actors.actors
        }
        self.gazetteer_version = gazetteer.version
        self.actors_version = actors_version
        self._places = _place_automaton(gazetteer)
        self._names_cache: dict[tuple[str, str], tuple[bool, bool]] = {}
        self._static_cache: dict[tuple[str, str], _Candidate] = {}
        self._candidates_cache: dict[str, list[Place]] = {}
        self._one_word_places: dict[tuple[str, str], list[Place]] = {}  # (word, key)
        self._actor_forms: dict[str, list[_ActorForm]] = {}
        for actor in actors.actors:
            demonyms = set(actor.demonyms)
            for form in actor.surface_forms:
                key = _stream_key(form)
                if not key:
                    continue
                entry = _ActorForm(
                    actor.id, form, _is_acronym(form), form in demonyms, " " not in key
                )
                forms = self._actor_forms.setdefault(key, [])
                if all(f.actor_id != actor.id or f.exact_case != entry.exact_case
                       for f in forms):  # fmt: skip
                    forms.append(entry)
        self._blocking = {_stream_key(p) for p in BLOCKING_PHRASES} - {""}
        # Each key stores what a hit on it needs: its length in the stream, its forms with
        # their compacted spelling, whether all of them must match case-exactly, and whether
        # it is a blocking phrase.
        self._actor_automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY)
        for key in dict.fromkeys([*self._actor_forms, *self._blocking]):
            of_key = self._actor_forms.get(key)
            compacted = tuple((f, _compact(f.form)) for f in of_key) if of_key else ()
            all_exact = of_key is not None and all(f.exact_case for f in of_key)
            wrapped = f" {key} "
            payload = (len(wrapped), compacted, all_exact, key in self._blocking)
            self._actor_automaton.add_word(wrapped, payload)
        self._actor_automaton.make_automaton()
        self._ancestors = {a.id: tuple(x.id for x in actors.ancestors(a.id)) for a in actors.actors}
        demonym_keys = {_word_info(d).key for a in actors.actors for d in a.demonyms}
        self._not_names = (
            PLACE_MODIFIERS
            | FUNCTION_WORDS
            | CALENDAR_WORDS
            | LOCATIVES
            | ROLE_WORDS
            | demonym_keys
        )
        self._armies = self._national_armies()

    @classmethod
    def load(cls, actor_files: Sequence[Path] = ()) -> Tagger:
        """The shipped gazetteer and dictionary, with the user's actor files layered on top."""
        dictionary = load_actor_dictionary(actor_files)
        version = dictionary.version
        if actor_files:
            digest = hashlib.sha256()
            for path in actor_files:
                digest.update(Path(path).read_bytes())
            version = f"{version}+local-{digest.hexdigest()[:8]}"
        return cls(load_gazetteer(), dictionary, actors_version=version)

    def _national_armies(self) -> dict[str, str]:
        """State id -> its armed forces' actor id, found by how the dictionary spells them
        ("Iraqi Army", "Lebanese army", "Jordanian army", "Turkish army", "Iranian Armed
        Forces"), so a user file that adds an army makes the military-noun rule work for it."""
        by_form: dict[str, str] = {}
        for actor in self.actors.actors:
            if actor.type in (ActorType.MILITARY, ActorType.SECURITY_FORCE):
                for form in (actor.name, *actor.aliases):
                    by_form.setdefault(alias_key(form), actor.id)
        armies: dict[str, str] = {}
        for state in self.actors.actors:
            if state.type is not ActorType.STATE:
                continue
            words = (*state.demonyms, state.name)
            for noun in ("army", "armed forces", "military"):
                found = next((by_form[k] for w in words if (k := f"{alias_key(w)} {noun}")
                              in by_form), None)  # fmt: skip
                if found:
                    armies[state.id] = found
                    break
        return armies

    # -- public --------------------------------------------------------------------------------

    def provenance(self) -> dict[str, str]:
        return {
            "gazetteer_version": self.gazetteer_version,
            "actors_version": self.actors_version,
            "tagger_version": TAGGER_VERSION,
        }

    def tag_article(self, clean: dict[str, Any]) -> dict[str, Any]:
        """An ``articles.clean`` message plus its tags: an ``articles.tagged`` message.

        The text tagged is ``title + "\\n\\n" + text`` (offsets refer to it); an article with
        no text is tagged on its description, so a feed entry without a body still counts.
        """
        title = clean.get("title") or None
        text = clean.get("text") or clean.get("description") or ""
        tags = self.tag_text(str(text), title=str(title) if title else None)
        return {**clean, **tags.to_dict(), "tagging": self.provenance(), "schema": SCHEMA}

    def tag_text(self, text: str, title: str | None = None) -> Tags:
        """The places and actors of a text (offsets in ``title + "\\n\\n" + text``)."""
        full = f"{title}\n\n{text}" if title else text
        tokens = _tokenise(full)
        if not tokens:
            return Tags()
        title_tokens = _title_case_tokens(tokens, len(title) if title else 0)
        hits = self._longest_first(self._hits(full, tokens))
        hits = self._refine(hits, tokens, title_tokens)
        return self._resolve(full, tokens, hits, title_tokens)

    # -- matching ------------------------------------------------------------------------------

    def _hits(self, text: str, tokens: _Tokens) -> list[_Hit]:
        found: dict[tuple[int, int], _Hit] = {}
        self._match(text, tokens, _build_stream(tokens), found)
        alternative = _without_conjunctions(tokens) if _ARABIC_RE.search(text) else None
        if alternative is not None:  # Arabic "wa-"/"fa-": only where nothing else matched
            self._match(text, tokens, _build_stream(tokens, alternative), found)
        return [h for h in found.values() if h.actors or h.places or h.blocked]

    def _match(
        self, text: str, tokens: _Tokens, stream: _Stream, found: dict[tuple[int, int], _Hit]
    ) -> None:
        s = stream.text
        known = set(found)
        starts = stream.starts
        ends = stream.ends
        raws = tokens.raws
        articles = tokens.articles
        tok_starts = tokens.starts
        tok_ends = tokens.ends

        def hit_at(first: int, end: int, length: int) -> _Hit | None:
            last = ends.get(end)
            if last is None or (first, last) in known:
                return None
            hit = found.get((first, last))
            if hit is None:
                lead = first
                if first > 0 and articles[first - 1] and _name_article(tokens, first - 1):
                    lead = first - 1
                key = s[end - length + 2 : end]
                hit = _Hit(first, last, lead, tok_starts[lead], tok_ends[last], key)
                found[(first, last)] = hit
            return hit

        for end, (length, forms, all_exact, blocked) in self._actor_automaton.iter(s):
            first = starts.get(end - length + 2)
            if first is None:
                continue
            if all_exact and not raws[first][0].isupper():
                continue  # "is", "us", "who": words, not the acronyms IS, US, WHO
            hit = hit_at(first, end, length)
            if hit is None:
                continue
            if blocked:
                hit.blocked = True
            compact = None
            for form, form_compact in forms:
                if form.exact_case:
                    if compact is None:
                        compact = _compact(text[hit.start : hit.end])
                    if compact != form_compact:
                        continue
                if form.demonym and not raws[first][0].isupper():
                    continue
                hit.actors.append(form)
        one_word = self._one_word_places
        for end, length in self._places.iter(s):
            first = starts.get(end - length + 2)
            if first is None or raws[first][0].islower():
                continue  # most hits: common words ("said", "will"); no object made for them
            hit = hit_at(first, end, length)
            if hit is None or hit.places:
                continue
            if first == hit.last:  # one word: the verdict depends on the word and its key only
                memo = (raws[first], hit.key)
                found_places = one_word.get(memo)
                if found_places is None:
                    if len(one_word) >= 100_000:
                        one_word.clear()
                    found_places = one_word[memo] = self._places_of(tokens, hit)
                if found_places:
                    hit.places = found_places
            else:
                hit.places = self._places_of(tokens, hit)

    def _places_of(self, tokens: _Tokens, hit: _Hit) -> list[Place]:
        """The place readings of a hit: its key's candidates if the words look like a place
        name, only the countries among them for a short all-capital word, else none."""
        verdict = _proper_noun(tokens, hit)
        if verdict is _NounVerdict.PLACE:
            return self._candidates(hit.key)
        if verdict is _NounVerdict.COUNTRY_ONLY:  # "IRAN" in a dateline, not "SANA"
            return [p for p in self._candidates(hit.key) if p.is_country]
        return []

    def _candidates(self, key: str) -> list[Place]:
        """The gazetteer's candidates of a key, kept: it sorts them on every call."""
        found = self._candidates_cache.get(key)
        if found is None:
            if len(self._candidates_cache) > 50_000:
                self._candidates_cache.clear()
            found = self._candidates_cache[key] = self.gazetteer.candidates(key)
        return found  # hits replace their lists of places, never change them

    def _longest_first(self, hits: list[_Hit]) -> list[_Hit]:
        """Non-overlapping hits, longest first then leftmost (one span is one hit already).

        On a shared span an actor beats a place, except a state over its own country (both
        are kept); a blocking phrase beats both, except an actor or a place that is not a
        settlement ("Middle East" as a region, should the gazetteer have it).
        """
        taken: set[int] = set()
        chosen: list[_Hit] = []
        for hit in sorted(hits, key=lambda h: (h.first - h.last, h.first)):
            first, last = hit.first, hit.last
            if first == last:
                if first in taken:
                    continue
                span: Iterable[int] = (first,)
            else:
                span = range(first, last + 1)
                if any(i in taken for i in span):
                    continue
            if hit.blocked and not hit.actors:
                hit.places = [p for p in hit.places if not p.is_populated_place]
            if hit.actors and hit.places:
                # A state's name keeps its country, and a first-level region of that name
                # elsewhere ("Georgia" the US state), which resolution may prefer.
                states = {c for f in hit.actors if not f.demonym for c in self._state_countries(f)}
                hit.places = [
                    p for p in hit.places
                    if (p.is_country and p.country in states)
                    or (states and p.is_admin1 and p.country not in states)
                ]  # fmt: skip
            if hit.actors or hit.places or hit.blocked:
                taken.update(span)
            if hit.actors or hit.places:
                chosen.append(hit)
        chosen.sort(key=lambda h: h.first)
        return chosen

    def _state_countries(self, form: _ActorForm) -> tuple[str, ...]:
        return self._state_cc[form.actor_id]

    def _is_state_reading(self, hit: _Hit) -> bool:
        """Only states by name (or nothing) among the actor readings: a name a person or a
        compound can take over, unlike "Hezbollah"."""
        return all(not f.demonym and self._state_countries(f) for f in hit.actors)

    def _refine(self, hits: list[_Hit], tokens: _Tokens, title_tokens: set[int]) -> list[_Hit]:
        """The context rules of the module docstring, step 5."""
        return _Refiner(self, tokens, hits, title_tokens).run()

    # -- resolution ----------------------------------------------------------------------------

    def _resolve(
        self, text: str, tokens: _Tokens, hits: list[_Hit], title_tokens: set[int]
    ) -> Tags:
        actor_ctx = _Context()
        actor_of: dict[int, tuple[str, bool]] = {}  # id(hit) -> actor id, seen as a demonym
        actor_map = self._actor
        # A name two actors share (Asayish: Iraqi Kurdistan's or north-east Syria's) goes to
        # the one whose country the unambiguous actors of the text name most.
        votes: dict[str, int] = {}
        for hit in hits:
            forms = hit.actors
            if forms:
                first_id = forms[0].actor_id
                if all(f.actor_id == first_id for f in forms):
                    for cc in actor_map[first_id].countries:
                        votes[cc] = votes.get(cc, 0) + 1
        added: set[tuple[str, str, float]] = set()  # adding the same evidence twice is a no-op
        for hit in hits:
            forms = hit.actors
            if not forms:
                continue
            if len(forms) == 1:
                actor_id = forms[0].actor_id
                demonym = forms[0].demonym
            else:
                ids = dict.fromkeys(f.actor_id for f in forms)
                actor_id = (
                    next(iter(ids))
                    if len(ids) == 1
                    else max(
                        ids, key=lambda a: sum(votes.get(c, 0) for c in actor_map[a].countries)
                    )
                )
                demonym = all(f.demonym for f in forms if f.actor_id == actor_id)
            actor_of[id(hit)] = (actor_id, demonym)
            actor = actor_map[actor_id]
            if actor.type is ActorType.STATE:
                weight = 1.0 if demonym else 2.0
            else:
                weight = 0.5 if len(actor.countries) == 1 else 0.0
            if weight:
                key = hit.resolution_key
                if (actor_id, key, weight) not in added:
                    added.add((actor_id, key, weight))
                    entity = f"actor:{actor_id}"
                    actor_ctx.add(entity, key, actor.countries[0], weight, local=False)

        # Each distinct key is resolved once; weak positions (sentence opener, headline) count
        # only when every mention of the key is in one.
        by_key: dict[str, list[_Hit]] = {}
        for hit in hits:
            if hit.places:
                by_key.setdefault(hit.resolution_key, []).append(hit)
        sentence = tokens.sentence
        weak = {
            key: all(sentence[h.first] or h.first in title_tokens for h in hs)
            for key, hs in by_key.items()
        }
        surface = {key: text[hs[0].start : hs[0].end] for key, hs in by_key.items()}
        # What a key's candidates score without context is the same in every pass.
        prepared = {
            key: self._prepare(key, hs[0].places, surface[key]) for key, hs in by_key.items()
        }
        scope = {
            key: ({c.country for c in cands}, {c.admin1 for c in cands if c.admin1})
            for key, cands in prepared.items()
        }
        resolved: dict[str, Place | None] = {}
        ctx = actor_ctx
        # A pass sees the actors and the places of the pass before; a key whose view of them
        # is the pass before's keeps its place without being scored again (see _changed).
        seen: dict[str, set[str]] = {}  # place id -> the keys that put it in the context
        places: dict[str, Place] = {}
        for n in range(3):  # until nothing changes; two passes settle almost every text
            previous = resolved
            if n == 0:
                resolved = {
                    key: self._best_place(key, prepared[key], ctx, weak[key]) for key in by_key
                }
            else:
                owners: dict[str, set[str]] = {}
                for key, place in previous.items():
                    if place is not None:
                        owners.setdefault(place.geonameid, set()).add(key)
                        places[place.geonameid] = place
                changed = [
                    (seen.get(e), owners.get(e), places[e].country, _admin1_code(places[e]))
                    for e in owners.keys() | seen.keys()
                    if seen.get(e) != owners.get(e)
                ]
                seen = owners
                resolved = {
                    key: (
                        self._best_place(key, prepared[key], ctx, weak[key])
                        if _changed(changed, key, scope[key])
                        else previous[key]
                    )
                    for key in by_key
                }
            if resolved == previous or n == 2:
                break
            ctx = _context_from(actor_ctx, resolved)
        return self._assemble(text, hits, resolved, actor_of)

    def _prepare(self, key: str, candidates: list[Place], surface: str) -> list[_Candidate]:
        """The candidates of a key that context can make its place, with what they score
        without context (the first terms of :meth:`_score`, added in its order)."""
        region = key.endswith("#region") or any(w in _REGION_SUFFIXES for w in key.split())
        # A region named after its own capital yields to the city, unless the text says
        # "province": "Kirkuk" is the city, "Kirkuk province" the governorate.
        cities = {
            (p.country, p.admin1)
            for p in candidates
            if p.is_populated_place and (p.feature_code == "PPLC" or p.population >= 20_000)
        }
        out: list[_Candidate] = []
        for place in candidates:
            if (
                not region
                and place.feature_class == "A"
                and place.feature_code in ("ADM1", "ADM2")
                and (place.country, place.admin1) in cities
            ):
                continue
            memo = (place.geonameid, surface)
            static = self._static_cache.get(memo)
            if static is None:
                static = self._static(place, surface)
                if len(self._static_cache) > 100_000:
                    self._static_cache.clear()
                self._static_cache[memo] = static
            out.append(static)
        return out

    def _static(self, place: Place, surface: str) -> _Candidate:
        s = _Scoring
        exact, main = self._names(place, surface)
        if place.is_country:
            score = s.country_exact if exact else s.country_exact / 2
        elif place.feature_code == "PPLC":
            score = s.capital
        elif place.is_admin1:
            score = s.admin1
        elif place.feature_code == "ADM2":
            score = s.admin2
        elif place.is_populated_place:
            score = s.populated
        else:
            score = s.other
        if not place.is_geonames:
            score += s.curated
        importance = max(place.population, place.importance)
        score += s.per_magnitude * math.log10(1 + importance)
        needed = 0
        if not place.is_country and place.country not in BEAT_COUNTRIES:
            is_region = place.feature_class == "A"
            needed = s.foreign_min_region_importance if is_region else s.foreign_min_population
        return _Candidate(
            place,
            place.country,
            f"{place.country}.{place.admin1}" if place.admin1 else "",
            score,
            importance < needed,
            place.country in BEAT_COUNTRIES,
            not main and place.is_geonames and not place.is_country,
        )

    def _best_place(
        self, key: str, candidates: list[_Candidate], ctx: _Context, weak: bool
    ) -> Place | None:
        """The candidate that scores best in this context, if it scores enough."""
        s = _Scoring
        best: Place | None = None
        best_score = -math.inf
        weight = ctx.weight
        for c in candidates:
            national = weight(False, c.country, key)
            local = weight(True, c.country, key)
            if c.too_small and not local:
                continue
            score = c.base
            if national:
                score += min(s.national_cap, s.national_factor * math.log2(1 + national))
            if local:
                score += min(s.local_cap, s.local_factor * math.log2(1 + local))
            if c.admin1 and ctx.has_admin1(c.admin1, key):
                score += s.same_admin1
            if c.beat:
                score += s.beat
            if c.alias_only and not (national or local):
                score += s.alias_only
            if score > best_score:
                best, best_score = c.place, score
        if best is None:
            return None
        if best_score < ACCEPT_SCORE + (s.weak_position if weak else 0.0):
            return None
        if key in GENERIC_NAMES and not ctx.weight(True, best.country, key):
            return None
        return best

    def _names(self, place: Place, surface: str) -> tuple[bool, bool]:
        """Whether ``surface`` is exactly one of the place's names (up to case, diacritics and
        punctuation), and whether it is its main name up to the normalisation ("Basra" is Al
        Başrah's main name; "Khalil" is only an alternate name of Hebron)."""
        memo = (place.geonameid, surface)
        found = self._names_cache.get(memo)
        if found is None:
            folded = _fold(surface)
            key = normalise_place_name(surface)
            main = key in (normalise_place_name(place.name), normalise_place_name(place.ascii_name))
            exact = folded in (_fold(place.name), _fold(place.ascii_name)) or any(
                _fold(n) == folded for n in place.alternate_names
            )
            if len(self._names_cache) > 100_000:
                self._names_cache.clear()
            found = self._names_cache[memo] = (exact, main)
        return found

    # -- output --------------------------------------------------------------------------------

    def _assemble(
        self,
        text: str,
        hits: list[_Hit],
        resolved: dict[str, Place | None],
        actor_of: dict[int, tuple[str, bool]],
    ) -> Tags:
        # Mentions in order of offset: each place's and actor's first mention is its first
        # offset, and the tags come out in that order.
        place_offsets: dict[str, list[int]] = {}
        place_forms: dict[str, dict[str, None]] = {}
        places_by_id: dict[str, Place] = {}
        actor_offsets: dict[str, list[int]] = {}
        actor_forms: dict[str, dict[str, None]] = {}
        actor_named: set[str] = set()  # mentioned by name at least once (not only a demonym)
        named_states: dict[str, list[int]] = {}
        actor_map = self._actor
        for hit in sorted(hits, key=lambda h: h.start):
            start = hit.start
            surface = text[start : hit.end]
            place = resolved.get(hit.resolution_key) if hit.places else None
            if place is not None:
                pid = place.geonameid
                offsets = place_offsets.get(pid)
                if offsets is None:
                    places_by_id[pid] = place
                    place_offsets[pid] = [start]
                    place_forms[pid] = {surface: None}
                else:
                    offsets.append(start)
                    place_forms[pid].setdefault(surface, None)
            reading = actor_of.get(id(hit))
            if (
                reading is not None and place is not None and not place.is_country
                and actor_map[reading[0]].type is ActorType.STATE
            ):  # fmt: skip
                reading = None  # "Savannah, Georgia": the region, not the state
            if reading is not None:
                actor_id, demonym = reading
                offsets = actor_offsets.get(actor_id)
                if offsets is None:
                    actor_offsets[actor_id] = [start]
                    actor_forms[actor_id] = {surface: None}
                else:
                    offsets.append(start)
                    actor_forms[actor_id].setdefault(surface, None)
                if not demonym:
                    actor_named.add(actor_id)
                    actor = actor_map[actor_id]
                    if not hit.compound and actor.type is ActorType.STATE and actor.countries:
                        named_states.setdefault(actor.countries[0], []).append(start)

        place_tags = tuple(
            _place_tag(places_by_id[pid], offsets, place_forms[pid])
            for pid, offsets in place_offsets.items()
        )
        actor_tags = tuple(
            _actor_tag(actor_map[aid], offsets, actor_forms[aid], aid in actor_named)
            for aid, offsets in actor_offsets.items()
        )

        # A place's country counts each mention of the place; a named state counts the
        # mentions that were not already counted as its country place (the same words).
        counts: dict[str, int] = {}
        first: dict[str, int] = {}
        counted: set[tuple[str, int]] = set()
        for tag in place_tags:
            counts[tag.country] = counts.get(tag.country, 0) + tag.mentions
            first[tag.country] = min(first.get(tag.country, tag.first_offset), tag.first_offset)
            if tag.feature.startswith("A/PCL"):
                counted.update((tag.country, o) for o in place_offsets[tag.id])
        for cc, offsets in named_states.items():
            uncounted = [o for o in offsets if (cc, o) not in counted]
            if uncounted:
                counts[cc] = counts.get(cc, 0) + len(uncounted)
                first[cc] = min(first.get(cc, uncounted[0]), uncounted[0])
        names = {t.country: t.country_name for t in place_tags}
        for atag in actor_tags:
            if atag.type == ActorType.STATE.value and atag.countries:
                names.setdefault(atag.countries[0], atag.name)
        order = sorted(counts, key=lambda c: (-counts[c], first[c]))
        country_mentions = tuple((c, names.get(c, c), counts[c]) for c in order)

        admin1 = tuple(dict.fromkeys(t.admin1 for t in place_tags if t.admin1))
        rollup: dict[str, None] = {}
        for atag in actor_tags:
            rollup.setdefault(atag.id, None)
            for ancestor in self._ancestors.get(atag.id, ()):
                rollup.setdefault(ancestor, None)
        return Tags(place_tags, actor_tags, country_mentions, admin1, tuple(rollup))


class _Refiner:
    """The context rules (module docstring, step 5) over the chosen hits of one text.

    Rules run hit by hit, left to right; a rule may clear a neighbour too (both halves of
    "Ain Zara"). Cleared hits tag nothing and free their words for the rules that follow.
    """

    def __init__(
        self, tagger: Tagger, tokens: _Tokens, hits: list[_Hit], title_tokens: set[int]
    ) -> None:
        self.tagger = tagger
        self.tokens = tokens
        self.hits = hits
        self.title = title_tokens
        self.owner = {i: h for h in hits for i in range(h.lead, h.last + 1)}
        self._lowercase: set[str] | None = None
        self.surnames: set[str] = set()
        self.extra: list[_Hit] = []

    def run(self) -> list[_Hit]:
        # Each rule runs only on the hits it can apply to (its own first test, hoisted).
        state_cc = self.tagger._state_cc
        title = self.title
        for hit in self.hits:
            if not (hit.actors or hit.places):
                continue  # cleared by a neighbour's rule
            state = all(not f.demonym and state_cc[f.actor_id] for f in hit.actors)
            one_word = hit.first == hit.last
            if hit.actors and state:
                self._compound(hit)
            if one_word and (
                (state and hit.lead and self._person(hit))
                or (hit.first not in title and self._fragment(hit))
            ):
                hit.clear()
                continue
            if one_word and not hit.actors:
                self._opener(hit)
            if hit.places and not hit.actors:
                self._region(hit)
            if one_word and hit.actors:
                self._town_not_person(hit)
            if hit.actors:
                self._army(hit)
        self._propagate_surnames()
        self._short_names()
        kept = [h for h in self.hits if h.actors or h.places]
        return sorted(kept + self.extra, key=lambda h: (h.first, h.last))

    def next_index(self, hit: _Hit, k: int = 1) -> int:
        """The index of the k-th word after the hit if the name could run on to it (only
        spaces, dashes and apostrophes between), or -1."""
        i = hit.last + k
        if i >= len(self.tokens.raws):
            return -1
        joined = self.tokens.joined
        for j in range(hit.last + 1, i + 1):
            if not joined[j]:
                return -1
        return i

    # -- neighbourhood -------------------------------------------------------------------------

    @property
    def lowercase(self) -> set[str]:
        """Words the text writes in lowercase somewhere (made on first need: most texts have
        no hit that asks)."""
        if self._lowercase is None:
            self._lowercase = {r.lower() for r in set(self.tokens.raws) if r[0].islower()}
        return self._lowercase

    def free(self, i: int) -> bool:
        """Word ``i`` is in no hit that still tags something."""
        o = self.owner.get(i)
        return o is None or not (o.actors or o.places)

    def word_before(self, hit: _Hit, k: int = 1) -> str:
        i = hit.lead - k
        return self.tokens.raws[i].lower() if i >= 0 else ""

    def name_like(self, tok: _Token) -> bool:
        """A capitalised word that may be someone's first name."""
        lower = tok.raw.lower()
        return (
            tok.capitalised
            and not tok.article
            and not tok.possessive
            and tok.key not in self.tagger._not_names
            and lower not in self.tagger._not_names
            and (not tok.sentence_start or lower not in self.lowercase)
            and (lower in GIVEN_NAMES or not lower.endswith(_ADJECTIVE_ENDINGS))
        )

    def clear_if_lone(self, i: int) -> bool:
        """Clear the hit at word ``i`` if it is a weak one-word reading; whether ``i`` is free
        now (or was)."""
        o = self.owner.get(i)
        if o is None or not (o.actors or o.places):
            return True
        if _lone_place(o) or _lone_person(self.tagger, o):
            o.clear()
            return True
        return False

    # -- rules ---------------------------------------------------------------------------------

    def _compound(self, hit: _Hit) -> None:
        """ "Iran-backed", "U.S.-led": the state acts; its country is not a place here."""
        if not hit.actors or not self.tagger._is_state_reading(hit):
            return
        i = self.next_index(hit)
        if (
            i >= 0
            and self.tokens.gaps[i] in ("-", "\u2010", "\u2011")
            and self.tokens.raws[i].lower() in COMPOUND_ACTOR_SUFFIXES
        ):
            hit.places = []
            hit.compound = True

    def _person(self, hit: _Hit) -> bool:
        """A person who shares a place's or state's one-word name: "envoy Jordan", "Mr.
        Jordan", "Rebecca Jordan", "Colonel Dana Whitfield"."""
        if hit.size != 1 or hit.lead == 0 or not self.tagger._is_state_reading(hit):
            return False
        tokens = self.tokens
        opener = tokens.sentence[hit.first]
        prev_lower = tokens.raws[hit.lead - 1].lower()
        if opener and prev_lower not in ROLE_WORDS:
            return False
        gap = tokens.gaps[hit.lead]
        role = prev_lower in ROLE_WORDS and (
            _JOINER_RE.fullmatch(gap) is not None
            or (gap.strip() == "." and prev_lower in _ABBREVIATIONS)
        )
        named = (
            tokens.joined[hit.lead]
            and not opener
            and hit.first not in self.title
            and not any(c in _DASHES for c in tokens.gaps[hit.first])
            and self.name_like(tokens[hit.lead - 1])
            and self.clear_if_lone(hit.lead - 1)  # "George Washington": George is no place
        )
        if role or named:
            self.surnames.add(hit.key)
            return True
        return False

    def _fragment(self, hit: _Hit) -> bool:
        """Part of a longer name the gazetteer lacks: "Suez Canal" is not Suez's mention,
        "Ain Zara" neither Al Ain nor Zara, "Bab al-Tabbaneh" not al-Bab, "Maroun al-Ras" not
        Ar Rass, "Gulf of Aden" not the city."""
        if hit.size != 1 or hit.first in self.title:
            return False
        tokens = self.tokens
        raws = tokens.raws
        lone_place = bool(hit.places) and not hit.actors
        if (
            lone_place
            and not any(p.is_country for p in hit.places)
            and self.word_before(hit) == "of"
            and self.word_before(hit, 2) in _FEATURE_HEADS
            and tokens[hit.lead - 2].capitalised
        ):
            return True
        if _strong(hit):
            return False
        if not lone_place and not _lone_person(self.tagger, hit):
            return False
        i = self.next_index(hit)
        if (
            lone_place
            and i >= 0
            and not any(c in _DASHES for c in tokens.gaps[i])
            and _capitalised(raws[i])
            and raws[i].lower() not in NAME_CONNECTORS
            and tokens.keys[i] not in self.tagger._not_names
            and self.clear_if_lone(hit.last + 1)
        ):
            return True
        if i >= 0 and tokens.articles[i]:
            j = self.next_index(hit, 2)
            if j >= 0 and _capitalised(raws[j]) and self.clear_if_lone(hit.last + 2):
                return True
        return (
            hit.lead < hit.first
            and hit.lead > 0
            and tokens.joined[hit.lead]
            and _capitalised(raws[hit.lead - 1])
            and raws[hit.lead - 1].lower() not in self.tagger._not_names
            and self.clear_if_lone(hit.lead - 1)
        )

    def _opener(self, hit: _Hit) -> None:
        """A capitalised opener the text also writes in lowercase is a common word ("Hit")."""
        if hit.first != hit.last or hit.actors:
            return
        opener = self.tokens.sentence[hit.first] or hit.first in self.title
        if opener and self.tokens.raws[hit.first].lower() in self.lowercase:
            hit.places = []

    def _region(self, hit: _Hit) -> None:
        """ "Duhok province", "the province of Anbar": the region, not the city."""
        if not hit.places or hit.actors:
            return
        i = self.next_index(hit)
        after = i >= 0 and self.tokens.raws[i].lower() in _REGION_SUFFIXES
        before = self.word_before(hit) == "of" and self.word_before(hit, 2) in _REGION_SUFFIXES
        if not (before or after):
            return
        admin = [p for p in hit.places if p.feature_class == "A" and not p.is_country]
        if admin:
            hit.places = admin
            hit.region = True
            if after and self.free(hit.last + 1):
                hit.end = self.tokens.ends[i]

    def _town_not_person(self, hit: _Hit) -> None:
        """ "in al-Baghdadi", "the town of al-Baghdadi": a place, not the man."""
        if _lone_person(self.tagger, hit):
            p1, p2 = self.word_before(hit), self.word_before(hit, 2)
            if p1 in LOCATIVES or (p1 == "of" and p2 in _TOWN_WORDS):
                hit.actors = []

    def _army(self, hit: _Hit) -> None:
        """ "Iraq's army", "Lebanese soldiers", "Turkish drones": that country's forces too."""
        if not hit.actors:
            return
        i = self.next_index(hit)
        if i < 0 or self.tokens.raws[i].lower() not in MILITARY_NOUNS:
            return
        state = next((f.actor_id for f in hit.actors if self.tagger._state_countries(f)), None)
        army = self.tagger._armies.get(state) if state else None
        if army is not None and self.free(hit.last + 1):
            army_hit = _Hit(
                hit.first,
                hit.last + 1,
                hit.lead,
                hit.start,
                self.tokens.ends[i],
                f"{hit.key} {self.tokens.keys[i]}",
            )
            army_hit.actors = [_ActorForm(army, "", False, False, False)]
            self.extra.append(army_hit)

    def _propagate_surnames(self) -> None:
        """A name found to be someone's is theirs in the whole text, except after "in"."""
        for hit in self.hits:
            if (
                hit.key in self.surnames
                and hit.size == 1
                and self.tagger._is_state_reading(hit)
                and self.word_before(hit) not in LOCATIVES
            ):
                hit.clear()

    def _short_names(self) -> None:
        """A one-word name that begins a longer actor name used in the same text is that
        actor ("Fatah" after "the Fatah alliance"), when its own dictionary owner belongs to
        no country the text otherwise mentions (the Palestinian Fatah in an Iraqi story)."""
        actors = self.tagger._actor
        keys = self.tokens.keys
        longer: dict[str, str] = {}
        for hit in self.hits:
            if hit.actors and hit.first != hit.last:
                longer.setdefault(keys[hit.first], hit.actors[0].actor_id)
        if not longer:
            return  # most texts: no rule to apply
        keys_by_country: dict[str, set[str]] | None = None  # made before any hit changes
        for hit in self.hits:
            target = longer.get(hit.key) if hit.first == hit.last and hit.actors else None
            if target is None or target in {f.actor_id for f in hit.actors}:
                continue
            if keys_by_country is None:
                keys_by_country = {}
                for other in self.hits:
                    for f in other.actors:
                        for c in actors[f.actor_id].countries:
                            keys_by_country.setdefault(c, set()).add(other.key)
            others = {c for c, ks in keys_by_country.items() if ks - {hit.key}}
            own = {c for f in hit.actors for c in actors[f.actor_id].countries}
            if not own & others and set(actors[target].countries) & others:
                hit.actors = [_ActorForm(target, "", False, False, True)]


# --------------------------------------------------------------------------------------------
# Helpers of the tagger
# --------------------------------------------------------------------------------------------


class _NounVerdict(Enum):
    NOT_A_NAME = 0
    PLACE = 1
    COUNTRY_ONLY = 2  # a short all-capital word: an acronym, unless it spells a country


def _proper_noun(tokens: _Tokens, hit: _Hit) -> _NounVerdict:
    """Whether the matched words look like a place name (module docstring, step 3)."""
    raws = tokens.raws
    head = raws[hit.first]
    if not _is_cased(head):
        return _NounVerdict.PLACE  # Arabic script and the like: no case to judge by
    if not head[0].isupper():
        return _NounVerdict.NOT_A_NAME
    one_word = hit.first == hit.last
    if one_word and (hit.key in COMMON_WORDS or head.lower() in COMMON_WORDS):
        return _NounVerdict.NOT_A_NAME
    articles = tokens.articles
    keys = tokens.keys
    for i in range(hit.first + 1, hit.last + 1):
        if articles[i]:
            continue
        raw = raws[i]
        lowercase = _is_cased(raw) and not raw[0].isupper() and raw.isalpha()
        if lowercase and keys[i] not in NAME_CONNECTORS and raw not in NAME_CONNECTORS:
            return _NounVerdict.NOT_A_NAME
    if one_word and head.isupper() and sum(c.isalpha() for c in head) <= 5:
        return _NounVerdict.COUNTRY_ONLY  # SANA, UN, IS: acronyms; IRAN, OMAN: countries
    return _NounVerdict.PLACE


def _strong(hit: _Hit) -> bool:
    """A reading no neighbouring word can make a fragment: a country, or a capital or a
    first-level region of the beat ("Baghdad International Airport" still names Baghdad)."""
    return any(
        p.is_country or (p.country in BEAT_COUNTRIES and (p.feature_code == "PPLC" or p.is_admin1))
        for p in hit.places
    )


def _lone_place(hit: _Hit | None) -> bool:
    """A one-word place that no strong reading backs (not a country, capital or region)."""
    return (
        hit is not None
        and hit.size == 1
        and bool(hit.places)
        and not hit.actors
        and not any(p.is_country or p.feature_code == "PPLC" or p.is_admin1 for p in hit.places)
    )


def _lone_person(tagger: Tagger, hit: _Hit | None) -> bool:
    """A person matched by a one-word alias only ("Assad" in "Ain al-Asad")."""
    return (
        hit is not None
        and hit.size == 1
        and bool(hit.actors)
        and all(
            f.one_word and tagger._actor[f.actor_id].type is ActorType.PERSON for f in hit.actors
        )
    )


def _place_tag(place: Place, offsets: list[int], forms: dict[str, None]) -> PlaceTag:
    return PlaceTag(
        id=place.geonameid,
        name=place.name,
        country=place.country,
        country_name=place.country_name,
        admin1=f"{place.country}.{place.admin1}" if place.admin1 else "",
        admin1_name=place.admin1_name,
        feature=f"{place.feature_class}/{place.feature_code}",
        lat=place.lat,
        lon=place.lon,
        mentions=len(offsets),
        first_offset=offsets[0],  # mentions are gathered in order of offset
        surface_forms=tuple(forms),
    )


def _actor_tag(actor: Actor, offsets: list[int], forms: dict[str, None], named: bool) -> ActorTag:
    return ActorTag(
        id=actor.id,
        name=actor.name,
        type=actor.type.value,
        countries=actor.countries,
        parent=actor.parent,
        mentions=len(offsets),
        first_offset=offsets[0],
        surface_forms=tuple(forms),
        via="name" if named else "demonym",
    )


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A place candidate of a key with what it scores before context (:meth:`Tagger._static`)."""

    place: Place
    country: str
    admin1: str  # "CC.code", "" for none
    base: float  # feature prior, curated, importance: the context-free terms, in order
    too_small: bool  # outside the beat and below the population it needs without local context
    beat: bool
    alias_only: bool  # named by an alternate name only: penalised without context


def _admin1_code(place: Place) -> str:
    return f"{place.country}.{place.admin1}" if place.admin1 else ""


def _visible(keys: set[str] | None, key: str) -> bool:
    """Whether a place put in the context by ``keys`` is evidence for ``key`` (see
    :meth:`_Context.weight`: a place counts for every key but its own)."""
    return keys is not None and (len(keys) > 1 or (len(keys) == 1 and key not in keys))


def _changed(
    changed: list[tuple[set[str] | None, set[str] | None, str, str]],
    key: str,
    scope: tuple[set[str], set[str]],
) -> bool:
    """Whether ``key`` sees other evidence than in the pass before, given the places whose
    keys changed (keys before, keys now, country, first-level region): a place's weight
    depends on the place alone, and counts only for candidates in its country or region
    (``scope``: the countries and the regions of the key's candidates)."""
    countries, regions = scope
    for before, now, country, region in changed:
        if (country in countries or region in regions) and _visible(before, key) != _visible(
            now, key
        ):
            return True
    return False


def _context_from(actors: _Context, resolved: dict[str, Place | None]) -> _Context:
    """The actors' evidence plus the places of one pass."""
    ctx = actors.copy()
    for key, place in resolved.items():
        if place is None:
            continue
        entity = f"place:{place.geonameid}"
        if place.is_country:
            ctx.add(entity, key, place.country, 2.0, local=False)
        elif place.feature_code == "PPLC":
            ctx.add(entity, key, place.country, 1.0, local=False)
        else:
            ctx.add(entity, key, place.country, 1.0, local=True)
        if place.admin1:
            ctx.add_admin1(entity, key, f"{place.country}.{place.admin1}")
    return ctx


def _name_article(tokens: _Tokens, i: int) -> bool:
    """Whether the article before a name is part of it ("al-Tanf", "At Tanf"; not "at Mosul",
    not "An" opening a sentence)."""
    tok = tokens[i]
    nxt = tokens[i + 1]
    if not nxt.joined:
        return False
    if tok.key in ("al", "el") or any(c in _DASHES or c in _APOS for c in nxt.prev_gap):
        return True
    return tok.raw[0].isupper() and nxt.raw[:1].isupper() and not tok.sentence_start


def _title_case_tokens(tokens: _Tokens, title_len: int) -> set[int]:
    """Indices of the title's tokens when the title is in title case (every word capitalised):
    capitals there say nothing about proper nouns."""
    if not title_len:
        return set()
    idx = [i for i, start in enumerate(tokens.starts) if start < title_len]
    raws = tokens.raws
    words = [raws[i] for i in idx if len(raws[i]) > 3 and _is_cased(raws[i])]
    if len(words) < 3 or sum(w[0].isupper() for w in words) < 0.6 * len(words):
        return set()
    return set(idx)


# --------------------------------------------------------------------------------------------
# Process-wide tagger and the CLI helper
# --------------------------------------------------------------------------------------------


@cache
def get_tagger() -> Tagger:
    """The default tagger (shipped data only), built on first use and kept for the process."""
    return Tagger.load()


class _TextOfHTML(HTMLParser):
    """Visible text and title of a page, for when trafilatura is not installed."""

    _SKIP: Final = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _BLOCK: Final = frozenset(
        {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section",
         "article", "header", "footer", "blockquote", "figcaption", "title"}
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip += 1
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP and self._skip:
            self._skip -= 1
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        paragraphs = (" ".join(p.split()) for p in "".join(self.parts).split("\n\n"))
        return "\n\n".join(p for p in paragraphs if p)


def _html_title_and_text(html: str) -> tuple[str | None, str]:
    try:
        import trafilatura
    except ImportError:  # pragma: no cover - depends on the environment
        parser = _TextOfHTML()
        parser.feed(html)
        parser.close()
        return (" ".join(parser.title.split()) or None), parser.text()
    doc = trafilatura.bare_extraction(html, with_metadata=True)
    if doc is None or isinstance(doc, dict):
        return None, ""
    return (doc.title or None), (doc.text or "")


def _read_source(path: str) -> tuple[str | None, str]:
    """Title and text of a file: .txt (first line the title) or .html/.htm, optionally .gz."""
    p = Path(path)
    raw = p.read_bytes()
    name = p.name.lower()
    if name.endswith(".gz"):
        import gzip

        raw = gzip.decompress(raw)
        name = name[:-3]
    if b"\x00" in raw:
        raise ValueError("binary file, not text or HTML")
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if name.endswith((".html", ".htm")):
        return _html_title_and_text(content)
    first, _, rest = content.partition("\n")
    return (first.strip() or None), rest.strip("\n")


def tag_command(paths: list[str]) -> int:
    """``sitrep tag FILE...``: the tags of each file as JSON on stdout.

    One file prints one indented object; several print one object a line, each with the file
    in ``source``. A file that cannot be read is reported on stderr by name and the others
    are still tagged; the return code is 1 if any failed.
    """
    failed = False
    tagger: Tagger | None = None
    several = len(paths) > 1
    for path in paths:
        try:
            title, text = _read_source(path)
        except (OSError, ValueError, EOFError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            print(f"sitrep tag: {path}: {reason}", file=sys.stderr)
            failed = True
            continue
        if tagger is None:
            tagger = get_tagger()
        result = {"title": title, **tagger.tag_text(text, title=title).to_dict()}
        if several:
            print(json.dumps({"source": path, **result}, ensure_ascii=False), flush=True)
        else:
            print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
    return 1 if failed else 0
