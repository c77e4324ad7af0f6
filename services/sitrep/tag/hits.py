"""Hits: the spans where a dictionary key matched, and the choice of one hit per span.

Two Aho-Corasick automata run over the normalised stream (:mod:`sitrep.tag.tokens`): the
gazetteer's keys (:mod:`sitrep.tag.places`) and the actor dictionary's names plus the blocking
phrases (:mod:`sitrep.tag.actors`). A span matched by both is one :class:`Hit` with both
readings. :func:`longest_first` then keeps the longest hits, leftmost first (module docstring
of :mod:`sitrep.tag`, step 4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sitrep.gazetteer import Place
from sitrep.tag.tokens import (
    ARABIC_RE,
    Stream,
    Tokens,
    build_stream,
    name_article,
    without_conjunctions,
)
from sitrep.tag.words import COMPOUND_ACTOR_SUFFIXES

if TYPE_CHECKING:
    from sitrep.tag.actors import ActorForm, ActorIndex
    from sitrep.tag.places import PlaceLookup

#: Makes (or finds) the hit of a stream match: (first token, stream end, wrapped key length).
HitAt = Callable[[int, int, int], "Hit | None"]


@dataclass(slots=True)
class Hit:
    first: int  # token indices of the matched key, inclusive
    last: int
    lead: int  # first token of the span: ``first``, or the name's article before it
    start: int  # offsets of the span in the original text
    end: int
    key: str
    actors: list[ActorForm] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    blocked: bool = False  # a blocking phrase: consumes the span, tags nothing
    region: bool = False  # "X province": only administrative regions
    compound: bool = False  # "Iran-backed": the state acts; not a country of the story
    place_via: str = "name"  # how the place is mentioned (sitrep.tag.output.VIA_*)
    fixed: bool = False  # the place is known (a state's country): no resolution needed
    confirmed: bool = False  # "Paris, Texas": the region written after it confirms the place

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    @property
    def resolution_key(self) -> str:
        return f"{self.key}#region" if self.region else self.key

    def clear(self) -> None:
        self.actors = []
        self.places = []


def find_hits(text: str, tokens: Tokens, actors: ActorIndex, places: PlaceLookup) -> list[Hit]:
    """Every span either automaton matches, with its readings (not yet one per span)."""
    found: dict[tuple[int, int], Hit] = {}
    _match(text, tokens, build_stream(tokens), found, actors, places)
    alternative = without_conjunctions(tokens) if ARABIC_RE.search(text) else None
    if alternative is not None:  # Arabic "wa-"/"fa-": only where nothing else matched
        _match(text, tokens, build_stream(tokens, alternative), found, actors, places)
    return [h for h in found.values() if h.actors or h.places or h.blocked]


def _match(
    text: str,
    tokens: Tokens,
    stream: Stream,
    found: dict[tuple[int, int], Hit],
    actors: ActorIndex,
    places: PlaceLookup,
) -> None:
    s = stream.text
    known = set(found)
    ends = stream.ends
    articles = tokens.articles
    tok_starts = tokens.starts
    tok_ends = tokens.ends

    def hit_at(first: int, end: int, length: int) -> Hit | None:
        last = ends.get(end)
        if last is None or (first, last) in known:
            return None
        hit = found.get((first, last))
        if hit is None:
            lead = first
            if first > 0 and articles[first - 1] and name_article(tokens, first - 1):
                lead = first - 1
            key = s[end - length + 2 : end]
            hit = Hit(first, last, lead, tok_starts[lead], tok_ends[last], key)
            found[(first, last)] = hit
        return hit

    actors.match(text, tokens, stream, hit_at)
    places.match(tokens, stream, hit_at)


def longest_first(hits: list[Hit], actors: ActorIndex) -> list[Hit]:
    """Non-overlapping hits, longest first then leftmost (one span is one hit already).

    On a shared span an actor beats a place, except a state over its own country (both
    are kept); a blocking phrase beats both, except an actor or a place that is not a
    settlement ("Middle East" as a region, should the gazetteer have it).
    """
    taken: set[int] = set()
    chosen: list[Hit] = []
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
            states = {c for f in hit.actors if not f.demonym for c in actors.state_countries(f)}
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


def state_places(
    tokens: Tokens, hits: list[Hit], chosen: list[Hit], actors: ActorIndex, places: PlaceLookup
) -> list[Hit]:
    """Give the states that the chosen hits name their country as a place, and return the
    state mentions inside longer actor names as place hits of their own.

    - A state named by a name the gazetteer cannot match ("U.S.", "US": too short for its
      automaton) still names its country: the country becomes the hit's place reading.
    - A state seen through its demonym ("Turkish drones", "Americans") records its country
      as a place mention flagged ``adjective``, known without resolution; its actor reading
      stays.
    - Inside a longer actor name a state's demonym or name is still a mention of its country
      ("Syrian" in "the Syrian army": ``adjective``; "United States" in "United States
      Army": ``embedded``). These hits are returned, not put in ``chosen``: they overlap
      their actor's span, which the context rules must not see twice.
    """
    raws = tokens.raws
    for hit in chosen:
        if hit.actors and not hit.places and raws[hit.first][:1].isupper():  # not "turkey"
            _give_country(hit, actors, places)
    inner: list[Hit] = []
    inside: dict[int, Hit] = {}  # token -> the multi-word actor hit it is in
    for c in chosen:
        if c.actors and c.first != c.last:
            for i in range(c.first, c.last + 1):
                inside[i] = c
    if not inside:
        return inner
    chosen_ids = {id(h) for h in chosen}
    for hit in hits:
        if not hit.actors or id(hit) in chosen_ids:
            continue
        outer = inside.get(hit.first)
        if (
            outer is None
            or hit.last > outer.last
            or (outer.first, outer.last) == (hit.first, hit.last)
        ):
            continue
        after = hit.last + 1
        if (
            after < len(tokens)
            and tokens.gaps[after] in ("-", "\u2010", "\u2011")
            and tokens.raws[after].lower() in COMPOUND_ACTOR_SUFFIXES
        ):
            continue  # "the U.S.-led coalition": the state acts, it is not a place here
        mention = Hit(hit.first, hit.last, hit.lead, hit.start, hit.end, hit.key)
        mention.actors = list(hit.actors)
        if _give_country(mention, actors, places):
            if mention.place_via == "name":
                mention.place_via = "embedded"
            mention.actors = []
            mention.fixed = True
            mention.places = mention.places[:1]
            inner.append(mention)
    return inner


def _give_country(hit: Hit, actors: ActorIndex, places: PlaceLookup) -> bool:
    """Make the country of the hit's state reading its place (see :func:`state_places`)."""
    named = [f for f in hit.actors if not f.demonym and actors.state_countries(f)]
    forms = named or [f for f in hit.actors if f.demonym and actors.state_countries(f)]
    if not forms:
        return False
    state = actors.by_id[forms[0].actor_id]
    country = places.country(state.countries[0], (state.name, *state.aliases))
    if country is None:
        return False
    hit.places = [country]
    if not named:
        hit.place_via = "adjective"
        hit.fixed = True
    return True
