"""Gazetteer lookup: which place readings a matched span has (steps 2-3 of :mod:`sitrep.tag`).

The gazetteer's keys are matched over the token stream by one Aho-Corasick automaton, built
once per process and shared by every tagger. A hit becomes a place reading only if its words
look like a proper noun (:func:`proper_noun`); its candidates are then the gazetteer's places
of that key, which :mod:`sitrep.tag.resolution` chooses among with the article as context.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import ahocorasick

from sitrep.gazetteer import Gazetteer, Place, normalise_place_name
from sitrep.tag.tokens import Stream, Tokens, is_cased
from sitrep.tag.words import COMMON_WORDS, NAME_CONNECTORS

if TYPE_CHECKING:
    from sitrep.tag.hits import Hit, HitAt

#: The countries the gazetteer covers down to small places (its README), and the beat.
BEAT_COUNTRIES: Final = frozenset(
    {"IQ", "SY", "JO", "LB", "TR", "IR", "IL", "PS", "SA", "KW", "YE", "EG", "LY"}
)

#: Names so generic that they mean a place only where the story already is.
GENERIC_NAMES: Final = frozenset(
    normalise_place_name(n)
    for n in (
        "Old City", "Old Town", "New City", "City Centre", "City Center", "Downtown",
        "Green Zone", "Red Zone", "Industrial Zone", "Industrial Area", "Medina", "Souq",
        "Citadel", "University", "Airport", "Central",
    )
)  # fmt: skip


def _automaton(keys: Iterable[str], min_length: int = 0) -> Any:
    """Keys of ``min_length`` characters or more wrapped in spaces (so hits are
    word-aligned), each storing its wrapped length."""
    automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
    add = automaton.add_word  # 400,000 keys: the loop is part of the tagger's start-up
    for key in keys:
        if len(key) >= min_length:
            add(f" {key} ", len(key) + 2)
    automaton.make_automaton()
    return automaton


@cache
def place_automaton(gazetteer: Gazetteer) -> Any:
    """Every gazetteer key of three characters or more (shorter ones are noise in text)."""
    return _automaton(gazetteer.names(), min_length=3)


class PlaceLookup:
    """The place readings of the spans of a text, with the caches that make them cheap."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self._places = place_automaton(gazetteer)
        self._candidates_cache: dict[str, list[Place]] = {}
        self._one_word_places: dict[tuple[str, str], list[Place]] = {}  # (word, key)
        self._countries: dict[str, Place | None] = {}

    def country(self, code: str, names: Iterable[str]) -> Place | None:
        """The gazetteer's country of an ISO code, found under one of its ``names`` (a state's
        name and aliases): listing every country would turn every row of the gazetteer
        into a place, a second of start-up."""
        if code in self._countries:
            return self._countries[code]
        found = None
        for name in names:
            found = next(
                (p for p in self.candidates(normalise_place_name(name))
                 if p.is_country and p.country == code),
                None,
            )  # fmt: skip
            if found is not None:
                break
        self._countries[code] = found
        return found

    def match(self, tokens: Tokens, stream: Stream, hit_at: HitAt) -> None:
        """Give every gazetteer match in the stream its place readings."""
        s = stream.text
        starts = stream.starts
        raws = tokens.raws
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
                    found_places = one_word[memo] = self.places_of(tokens, hit)
                if found_places:
                    hit.places = found_places
            else:
                hit.places = self.places_of(tokens, hit)

    def places_of(self, tokens: Tokens, hit: Hit) -> list[Place]:
        """The place readings of a hit: its key's candidates if the words look like a place
        name, only the countries among them for a short all-capital word, else none."""
        verdict = proper_noun(tokens, hit)
        if verdict is NounVerdict.PLACE:
            return self.candidates(hit.key)
        if verdict is NounVerdict.COUNTRY_ONLY:  # "IRAN" in a dateline, not "SANA"
            return [p for p in self.candidates(hit.key) if p.is_country]
        return []

    def candidates(self, key: str) -> list[Place]:
        """The gazetteer's candidates of a key, kept: it sorts them on every call."""
        found = self._candidates_cache.get(key)
        if found is None:
            if len(self._candidates_cache) > 50_000:
                self._candidates_cache.clear()
            found = self._candidates_cache[key] = self.gazetteer.candidates(key)
        return found  # hits replace their lists of places, never change them


class NounVerdict(Enum):
    NOT_A_NAME = 0
    PLACE = 1
    COUNTRY_ONLY = 2  # a short all-capital word: an acronym, unless it spells a country


def proper_noun(tokens: Tokens, hit: Hit) -> NounVerdict:
    """Whether the matched words look like a place name (module docstring, step 3)."""
    raws = tokens.raws
    head = raws[hit.first]
    if not is_cased(head):
        return NounVerdict.PLACE  # Arabic script and the like: no case to judge by
    if not head[0].isupper():
        return NounVerdict.NOT_A_NAME
    one_word = hit.first == hit.last
    if one_word and (hit.key in COMMON_WORDS or head.lower() in COMMON_WORDS):
        return NounVerdict.NOT_A_NAME
    articles = tokens.articles
    keys = tokens.keys
    for i in range(hit.first + 1, hit.last + 1):
        if articles[i]:
            continue
        raw = raws[i]
        lowercase = is_cased(raw) and not raw[0].isupper() and raw.isalpha()
        if lowercase and keys[i] not in NAME_CONNECTORS and raw not in NAME_CONNECTORS:
            return NounVerdict.NOT_A_NAME
    if one_word and head.isupper() and sum(c.isalpha() for c in head) <= 5:
        return NounVerdict.COUNTRY_ONLY  # SANA, UN, IS: acronyms; IRAN, OMAN: countries
    return NounVerdict.PLACE


def strong_reading(hit: Hit) -> bool:
    """A reading no neighbouring word can make a fragment: a country, or a capital or a
    first-level region of the beat ("Baghdad International Airport" still names Baghdad)."""
    return any(
        p.is_country or (p.country in BEAT_COUNTRIES and (p.feature_code == "PPLC" or p.is_admin1))
        for p in hit.places
    )


def lone_place(hit: Hit | None) -> bool:
    """A one-word place that no strong reading backs (not a country, capital or region)."""
    return (
        hit is not None
        and hit.size == 1
        and bool(hit.places)
        and not hit.actors
        and not any(p.is_country or p.feature_code == "PPLC" or p.is_admin1 for p in hit.places)
    )
