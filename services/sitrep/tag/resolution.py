"""Resolution: which place each place mention is, with the article as context (step 6).

Each distinct key is resolved once: its candidates are scored (:class:`Scoring` has the
weights and the reasons) and the best one is kept if it reaches :data:`ACCEPT_SCORE`. Context
(:class:`Context`) holds the evidence of the article's countries and regions, by entity, so
that a mention's own key is left out of its own evidence. Context is refined over three
passes, so "Tripoli" goes to Lebanon in a story about Lebanon and Syria and to Libya
otherwise, and "Georgia" is the US state only next to Atlanta.

To answer "why did this mention become that place?", read :meth:`Resolver._static` (what a
candidate scores alone) and :meth:`Resolver._best_place` (what context adds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Final

from sitrep.gazetteer import Place, normalise_place_name
from sitrep.tag.output import AREA_FEATURES
from sitrep.tag.places import BEAT_COUNTRIES, GENERIC_NAMES
from sitrep.tag.tokens import Tokens, fold_name
from sitrep.tag.words import (
    ADMIN_DIVISION_WORDS,
    FUNCTION_WORDS,
    PLACE_MODIFIERS,
    REGION_SUFFIXES,
    name_rank,
    zipf,
)

if TYPE_CHECKING:
    from sitrep.tag.hits import Hit

#: The score a place candidate needs to be tagged at all (see :class:`Scoring`).
ACCEPT_SCORE: Final = 3.0


@dataclass(slots=True)
class Context:
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

    def copy(self) -> Context:
        return Context(
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


class Scoring:
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
    - ``area`` +5: a continent or macro-region (features L/CONT, L/RGN: "Europe", "the
      Sahel") means that area, as a country's name means the country.
    - other senses (:func:`_other_sense`), for one-word names of places under 100,000 people
      that are not countries, first-level regions or capitals: -2 for a name that is a
      common person's name (best rank <= 200 as a given name or surname in some country,
      names-dataset), -2 for a common English word (Zipf >= 4, wordfreq), -6 more when that
      other sense dominates (rank <= 50: "Brown", "Sam"; Zipf >= 5: "University"), which
      only a story full of that place's neighbours outweighs; a name that is only an
      alternate name of the place and a common name or word (rank <= 1000, Zipf >= 4:
      "Brown" for Belton) cannot mean it at all.
    - eligibility: outside the beat and without local context a place needs 50,000 people
      (a region: a biggest place of 100,000; 1,000,000 when its name is a common word such
      as "South" or "Central", Zipf >= 4.8), so "Paris" is the French capital even in a
      story that names the United States; a generic name ("Old City") needs local context in
      its country; a capitalised sentence opener or a title-case
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
    no_evidence = -2.5
    area = 5.0
    other_sense_population = 100_000
    alias_name_rank, alias_zipf = 1000, 4.0
    name_rank_excluded, zipf_excluded, other_sense_dominant = 50, 5.0, -6.0
    name_rank_penalised, person_name = 200, -2.0
    zipf_penalised, common_word = 4.0, -2.0
    foreign_min_population = 50_000
    region_common_zipf, foreign_min_common_region_importance = 4.8, 1_000_000
    foreign_min_region_importance = 100_000
    weak_position = 1.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """A place candidate of a key with what it scores before context (:meth:`Tagger._static`)."""

    place: Place
    country: str
    admin1: str  # "CC.code", "" for none
    base: float  # feature prior, curated, importance: the context-free terms, in order
    too_small: bool  # outside the beat and below the population it needs without local context
    beat: bool
    alias_only: bool  # named by an alternate name only: penalised without context


def _big(place: Place) -> bool:
    """A place whose name is known as its name: a country, first-level region or capital,
    or a place of :data:`Scoring.other_sense_population` people or more."""
    return (
        place.is_country
        or f"{place.feature_class}/{place.feature_code}" in AREA_FEATURES
        or place.is_admin1
        or place.feature_code == "PPLC"
        or max(place.population, place.importance) >= Scoring.other_sense_population
    )


def _other_sense(
    place: Place, surface: str, alias_only: bool, known_place: bool = False
) -> float | None:
    """What the score loses because a one-word name is, most of the time, something other
    than this place: a person's name ("Brown", "Jones", "Keith"; ranked by how common it is
    as a given name or surname in any country, from names-dataset) or a common English word
    ("University", "Congress", "Commerce"; by its wordfreq frequency). None: the reading is
    not possible at all.

    Only places small enough for the other sense to dominate pay (not countries, continents,
    first-level regions, capitals, places of :data:`Scoring.other_sense_population` people or
    more, or the supplement's hand-written entries). A place named only by one of its
    alternate names ("Brown" for Belton, "Sam" for Damascus), however big, cannot be read
    from a common name or word at all: it is not known by that name.
    """
    s = Scoring
    words = surface.split()
    if len(words) > 1:
        # "The city" for Oakville: an alternate name made of common words only.
        common = words[0].lower() in FUNCTION_WORDS and all(
            w.lower() in FUNCTION_WORDS or zipf(w) >= s.alias_zipf for w in words
        )
        return None if alias_only and common and not place.is_country else 0.0
    if not place.is_geonames:
        return 0.0
    rank = name_rank(surface)
    frequency = zipf(surface)
    if alias_only and (rank <= s.alias_name_rank or frequency >= s.alias_zipf):
        return None  # however big: a place is not known by a common name it is not called
    if known_place or _big(place):
        return 0.0
    penalty = 0.0
    if rank <= s.name_rank_excluded or frequency >= s.zipf_excluded:
        penalty += s.other_sense_dominant
    if rank <= s.name_rank_penalised:
        penalty += s.person_name
    if frequency >= s.zipf_penalised:
        penalty += s.common_word
    return penalty


def admin1_code(place: Place) -> str:
    return f"{place.country}.{place.admin1}" if place.admin1 else ""


def _visible(keys: set[str] | None, key: str) -> bool:
    """Whether a place put in the context by ``keys`` is evidence for ``key`` (see
    :meth:`Context.weight`: a place counts for every key but its own)."""
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


def _context_from(actors: Context, resolved: dict[str, Place | None]) -> Context:
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


class Resolver:
    """Scores place candidates; keeps the context-free part of each score between texts."""

    def __init__(self) -> None:
        self._names_cache: dict[tuple[str, str], tuple[bool, bool]] = {}
        self._static_cache: dict[tuple[str, str, bool, bool], Candidate | None] = {}

    def resolve(
        self,
        text: str,
        tokens: Tokens,
        hits: list[Hit],
        title_tokens: set[int],
        actor_ctx: Context,
    ) -> dict[str, Place | None]:
        """The place of each resolution key of the hits (None: no candidate is good enough),
        given the actors' evidence."""
        # Each distinct key is resolved once; weak positions (sentence opener, headline) count
        # only when every mention of the key is in one.
        by_key: dict[str, list[Hit]] = {}
        for hit in hits:
            if hit.places and not hit.fixed:  # a fixed place (a state's country) is known
                by_key.setdefault(hit.resolution_key, []).append(hit)
        sentence = tokens.sentence
        weak = {
            key: all(sentence[h.first] or h.first in title_tokens for h in hs)
            for key, hs in by_key.items()
        }
        surface = {key: text[hs[0].start : hs[0].end] for key, hs in by_key.items()}
        # What a key's candidates score without context is the same in every pass.
        prepared = {
            key: self._prepare(key, hs[0].places, surface[key], any(h.confirmed for h in hs))
            for key, hs in by_key.items()
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
                    (seen.get(e), owners.get(e), places[e].country, admin1_code(places[e]))
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
        return resolved

    def _prepare(
        self, key: str, candidates: list[Place], surface: str, confirmed: bool = False
    ) -> list[Candidate]:
        """The candidates of a key that context can make its place, with what they score
        without context (the first terms of :meth:`_score`, added in its order)."""
        region = key.endswith("#region") or any(w in REGION_SUFFIXES for w in key.split())
        # A region named after its own capital yields to the city, unless the text says
        # "province": "Kirkuk" is the city, "Kirkuk province" the governorate.
        cities = {
            (p.country, p.admin1)
            for p in candidates
            if p.is_populated_place and (p.feature_code == "PPLC" or p.population >= 20_000)
        }
        # A name that a big place has is read as a place ("Paris", "Moscow"): whether it is
        # the big one or a namesake is for context to say, not the name's other senses.
        known_place = any(_big(p) and self._names(p, surface)[1] for p in candidates)
        out: list[Candidate] = []
        for place in candidates:
            if (
                not region
                and place.feature_class == "A"
                and place.feature_code in ("ADM1", "ADM2")
                and (place.country, place.admin1) in cities
            ):
                continue
            memo = (place.geonameid, surface, known_place, confirmed)
            if memo in self._static_cache:
                static = self._static_cache[memo]
            else:
                static = self._static(place, surface, known_place, confirmed)
                if len(self._static_cache) > 100_000:
                    self._static_cache.clear()
                self._static_cache[memo] = static
            if static is not None:
                # "Paris, Texas": the region the text names makes a small place eligible.
                if confirmed:
                    static = replace(static, too_small=False, alias_only=False)
                out.append(static)
        return out

    def _static(
        self, place: Place, surface: str, known_place: bool, confirmed: bool = False
    ) -> Candidate | None:
        """What a candidate scores before context, or None when the words cannot mean it."""
        s = Scoring
        exact, main = self._names(place, surface)
        alias_only = not main and place.is_geonames and not place.is_country
        # "Greer, SC": the region written after the place confirms both readings.
        other_sense = 0.0 if confirmed else _other_sense(place, surface, alias_only, known_place)
        if other_sense is None:
            return None
        area = f"{place.feature_class}/{place.feature_code}" in AREA_FEATURES
        words = surface.lower().split()
        named_division = len(words) > 1 and words[-1] in ADMIN_DIVISION_WORDS
        if area:
            score = s.area
        elif place.is_country:
            score = s.country_exact if exact else s.country_exact / 2
        elif place.feature_code == "PPLC":
            score = s.capital
        elif place.is_admin1:
            score = s.admin1
        elif place.feature_code == "ADM2":
            # "Laurel County" says it is the county; a bare "Laurel" rarely means one.
            score = s.admin1 if named_division else s.admin2
        elif place.is_populated_place:
            score = s.populated
        else:
            score = s.other
        if not place.is_geonames:
            score += s.curated
        importance = max(place.population, place.importance)
        score += s.per_magnitude * math.log10(1 + importance) + other_sense
        needed = 0
        if not place.is_country and not area and place.country not in BEAT_COUNTRIES:
            is_region = place.feature_class == "A"
            needed = s.foreign_min_region_importance if is_region else s.foreign_min_population
            if named_division:
                needed = 0  # "Henry County": the name says what it is
            bare = surface.lower() in PLACE_MODIFIERS  # "Eastern", "Central", "North"
            if is_region and (bare or zipf(surface) >= s.region_common_zipf):
                needed = s.foreign_min_common_region_importance
        return Candidate(
            place,
            place.country,
            f"{place.country}.{place.admin1}" if place.admin1 else "",
            score,
            importance < needed,
            place.country in BEAT_COUNTRIES,
            alias_only,
        )

    def _best_place(
        self, key: str, candidates: list[Candidate], ctx: Context, weak: bool
    ) -> Place | None:
        """The candidate that scores best in this context, if it scores enough."""
        s = Scoring
        best: Place | None = None
        best_score = -math.inf
        weight = ctx.weight
        evidence = [
            (weight(False, c.country, key), weight(True, c.country, key)) for c in candidates
        ]
        # Where the story has places inside one candidate's country, a namesake in a country
        # the story gives no evidence of at all is the less likely reading (Paris, Texas in
        # a Texas story; London, Ontario in an Ontario one).
        elsewhere = any(local for _, local in evidence)
        for c, (national, local) in zip(candidates, evidence, strict=True):
            if c.too_small and not local:
                continue
            score = c.base
            if elsewhere and not (national or local) and c.country:
                score += s.no_evidence
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
            folded = fold_name(surface)
            key = normalise_place_name(surface)
            main = key in (normalise_place_name(place.name), normalise_place_name(place.ascii_name))
            exact = folded in (fold_name(place.name), fold_name(place.ascii_name)) or any(
                fold_name(n) == folded for n in place.alternate_names
            )
            if len(self._names_cache) > 100_000:
                self._names_cache.clear()
            found = self._names_cache[memo] = (exact, main)
        return found

    # -- output --------------------------------------------------------------------------------
