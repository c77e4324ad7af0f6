"""Context rules on the chosen hits (step 5 of :mod:`sitrep.tag`).

Each rule looks at a hit's neighbours in the text: a person who shares a place's name ("envoy
Jordan", "Rebecca Jordan"), a fragment of a longer name the gazetteer lacks ("Suez Canal",
"Ain Zara"), a sentence opener the text also writes in lowercase ("Hit"), "Iran-backed" (the
state acts), "Duhok province" (the region, not the city), "in al-Baghdadi" (a place, not the
man). The actor rules (:func:`sitrep.tag.actors.sector`, :func:`sitrep.tag.actors.bare_agents`,
:func:`sitrep.tag.actors.ethnic_group`, :func:`sitrep.tag.actors.short_names`)
live with the actors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sitrep.gazetteer import normalise_place_name
from sitrep.tag.actors import (
    ActorIndex,
    bare_agents,
    capital_government,
    ethnic_group,
    sector,
    short_names,
)
from sitrep.tag.hits import Hit
from sitrep.tag.output import VIA_EMBEDDED
from sitrep.tag.places import lone_place, strong_reading

if TYPE_CHECKING:
    from sitrep.tag.places import PlaceLookup
from sitrep.tag.tokens import ABBREVIATIONS, DASHES, JOINER_RE, Token, Tokens, capitalised_word
from sitrep.tag.words import (
    ADJECTIVE_ENDINGS,
    ADMIN_DIVISION_WORDS,
    BIG_PLACE,
    COMMON_PLACE_WORD_ZIPF,
    COMPOUND_ACTOR_SUFFIXES,
    FEATURE_HEADS,
    GIVEN_NAMES,
    LOCATIVES,
    NAME_CONNECTORS,
    ORGANISATION_WORD_ZIPF,
    PERSON_NAME_RANK,
    PLACE_MODIFIERS,
    RARE_WORD_ZIPF,
    REGION_SUFFIXES,
    ROLE_WORDS,
    TOWN_WORDS,
    UNRANKED,
    name_rank,
    person_names,
    zipf,
)


class Refiner:
    """The context rules (module docstring, step 5) over the chosen hits of one text.

    Rules run hit by hit, left to right; a rule may clear a neighbour too (both halves of
    "Ain Zara"). Cleared hits tag nothing and free their words for the rules that follow.
    """

    def __init__(
        self,
        actors: ActorIndex,
        not_names: frozenset[str],
        tokens: Tokens,
        hits: list[Hit],
        title_tokens: set[int],
        places: PlaceLookup | None = None,
    ) -> None:
        self.actors = actors
        self.places = places
        self.not_names = not_names  # capitalised words that are no one's first name
        self.tokens = tokens
        self.hits = hits
        self.title = title_tokens
        self.owner = {i: h for h in hits for i in range(h.lead, h.last + 1)}
        self._lowercase: set[str] | None = None
        self.surnames: set[str] = set()
        self.extra: list[Hit] = []

    def run(self) -> list[Hit]:
        if self.places is not None:
            self._town_and_region()
        self._abbreviation_dots()
        # Each rule runs only on the hits it can apply to (its own first test, hoisted).
        state_cc = self.actors.state_cc
        title = self.title
        for hit in self.hits:
            if not (hit.actors or hit.places):
                continue  # cleared by a neighbour's rule
            state = all(not f.demonym and state_cc[f.actor_id] for f in hit.actors)
            one_word = hit.first == hit.last
            if hit.actors and state:
                self._compound(hit)
            if one_word and (
                (state and ((hit.lead and self._person(hit)) or self._first_name(hit)))
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
                ethnic_group(self, hit)
            if hit.actors:
                sector(self, hit)
            elif hit.places:
                capital_government(self, hit)
        self._propagate_surnames()
        short_names(self)
        bare_agents(self)
        kept = [h for h in self.hits if h.actors or h.places]
        return sorted(kept + self.extra, key=lambda h: (h.first, h.last))

    def _town_and_region(self) -> None:
        """ "Springfield, Ill.", "Paris, Texas", "Greer, SC", "Atlanta, Georgia": a place, a
        comma and a region that contains some of the place's candidates. The place is then
        one of those, and the region is mentioned too (the US state Georgia, not the
        country). The region may be written in full, as an abbreviation the gazetteer knows
        ("W.Va.", "Ky.": its alternate names) or as its code ("SC", "IL": the first-level
        region code a candidate carries), which only this pattern makes safe to read."""
        assert self.places is not None
        lookup = self.places
        tokens = self.tokens
        n = len(tokens)
        by_first = {h.first: h for h in self.hits}
        for hit in list(self.hits):
            j = hit.last + 1
            if not hit.places or j >= n or tokens.gaps[j].strip() != ",":
                continue
            towns = [p for p in hit.places if not p.is_country and not p.is_admin1]
            if not towns:
                continue
            raw = tokens.raws[j]
            region_hit = by_first.get(j)
            if region_hit is not None:
                key = region_hit.key
                regions = [p for p in lookup.candidates(key) if p.is_admin1 or p.is_country]
            elif raw.isupper() and 2 <= len(raw) <= 3 and raw.isalpha():
                regions = []
                codes = {(p.country, p.admin1) for p in towns if p.admin1 == raw}
                for cc, code in codes:
                    name = next(p.admin1_name for p in towns if (p.country, p.admin1) == (cc, code))
                    regions += [
                        r for r in lookup.candidates(normalise_place_name(name))
                        if r.is_admin1 and r.country == cc and r.admin1 == code
                    ]  # fmt: skip
            elif "." in raw or (j + 1 < n and tokens.gaps[j + 1].startswith(".")):
                regions = [
                    r for r in lookup.candidates(normalise_place_name(raw + "."))
                    if r.is_admin1
                ]  # fmt: skip
            else:
                continue
            for region in regions:
                inside = [
                    p for p in towns
                    if p.country == region.country
                    and (region.is_country or p.admin1 == region.admin1)
                ]  # fmt: skip
                if not inside:
                    continue
                hit.places = inside
                hit.confirmed = True
                if region_hit is None:
                    region_hit = Hit(j, j, j, tokens.starts[j], tokens.ends[j], tokens.keys[j])
                    self.extra.append(region_hit)
                region_hit.actors = []
                region_hit.places = [region]
                region_hit.confirmed = True  # "SC" reads as the region only here
                break

    def _abbreviation_dots(self) -> None:
        """ "Okla.", "Ky.": a place named by an abbreviation takes its full stop into its span
        when one of its names is so written (the tokeniser leaves the stop out)."""
        tokens = self.tokens
        n = len(tokens)
        for hit in [*self.hits, *self.extra]:
            j = hit.last + 1
            raw = tokens.raws[hit.last]
            if (
                hit.places
                and len(raw) <= 5
                and (j >= n or tokens.gaps[j].startswith("."))
                and hit.end == tokens.ends[hit.last]
                and any(f"{raw}." in p.alternate_names for p in hit.places)
            ):
                hit.end += 1

    def next_index(self, hit: Hit, k: int = 1) -> int:
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

    def word_before(self, hit: Hit, k: int = 1) -> str:
        i = hit.lead - k
        return self.tokens.raws[i].lower() if i >= 0 else ""

    def name_like(self, tok: Token) -> bool:
        """A capitalised word that may be someone's first name: a given name of the names
        data (any country), so "Rebecca Jordan" and "Dana Whitfield" are people, but "Joins
        Sochi", "Environment Canada" or "Costco Canada" are not."""
        lower = tok.raw.lower()
        given = person_names().get(lower)
        return (
            tok.capitalised
            and not tok.article
            and not tok.possessive
            and tok.key not in self.not_names
            and lower not in self.not_names
            and (not tok.sentence_start or lower not in self.lowercase)
            and (
                lower in GIVEN_NAMES
                or (given is not None and given[0] < UNRANKED)
                # a rarer first name: no common English word, no adjective's ending
                or (zipf(lower) < RARE_WORD_ZIPF and not lower.endswith(ADJECTIVE_ENDINGS))
            )
        )

    def clear_if_lone(self, i: int) -> bool:
        """Clear the hit at word ``i`` if it is a weak one-word reading; whether ``i`` is free
        now (or was)."""
        o = self.owner.get(i)
        if o is None or not (o.actors or o.places):
            return True
        if lone_place(o) or self.actors.lone_person(o):
            o.clear()
            return True
        return False

    # -- rules ---------------------------------------------------------------------------------

    def _compound(self, hit: Hit) -> None:
        """ "Iran-backed", "U.S.-led": the state acts; its country is not a place here."""
        if not hit.actors or not self.actors.is_state_reading(hit):
            return
        i = self.next_index(hit)
        if (
            i >= 0
            and self.tokens.gaps[i] in ("-", "\u2010", "\u2011")
            and self.tokens.raws[i].lower() in COMPOUND_ACTOR_SUFFIXES
        ):
            hit.places = []
            hit.compound = True

    def _person(self, hit: Hit) -> bool:
        """A person who shares a place's or state's one-word name: "envoy Jordan", "Mr.
        Jordan", "Rebecca Jordan", "Colonel Dana Whitfield"."""
        if hit.size != 1 or hit.lead == 0 or not self.actors.may_be_a_name(hit):
            return False
        tokens = self.tokens
        opener = tokens.sentence[hit.first]
        prev_lower = tokens.raws[hit.lead - 1].lower()
        if opener and prev_lower not in ROLE_WORDS:
            return False
        gap = tokens.gaps[hit.lead]
        role = prev_lower in ROLE_WORDS and (
            JOINER_RE.fullmatch(gap) is not None
            or (gap.strip() == "." and prev_lower in ABBREVIATIONS)
        )
        named = (
            tokens.joined[hit.lead]
            and not opener
            and hit.first not in self.title
            and not any(c in DASHES for c in tokens.gaps[hit.first])
            and self.name_like(tokens[hit.lead - 1])
            and self.clear_if_lone(hit.lead - 1)  # "George Washington": George is no place
        )
        if role or named:
            self.surnames.add(hit.key)
            return True
        return False

    def _first_name(self, hit: Hit) -> bool:
        """A person whose given name is a place's or state's name: "Georgia Stevens",
        "Jordan Dyer": the word is a common given name and the next one a common surname
        (names-dataset ranks). The name is then that person's in the whole text ("Georgia
        began skating"), as for :meth:`_person`."""
        if hit.size != 1 or not self.actors.may_be_a_name(hit):
            return False
        tokens = self.tokens
        i = self.next_index(hit)
        if i < 0 or tokens.gaps[i] != " " or hit.first in self.title:
            return False
        nxt = tokens[i]
        if not nxt.capitalised or nxt.key in self.not_names or self.word_before(hit) in LOCATIVES:
            return False
        names = person_names()
        given = names.get(tokens.raws[hit.first].lower())
        family = names.get(nxt.raw.lower())
        if (
            given is None
            or family is None
            or given[0] > PERSON_NAME_RANK
            or family[1] > PERSON_NAME_RANK
            or not self.clear_if_lone(i)
        ):
            return False
        self.surnames.add(hit.key)
        return True

    def _fragment(self, hit: Hit) -> bool:
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
            and self.word_before(hit, 2) in FEATURE_HEADS
            and tokens[hit.lead - 2].capitalised
        ):
            return True
        if strong_reading(hit):
            return False
        if lone_place and self._common_word_in_a_name(hit):
            return True
        if hit.places and any(pl.is_country or pl.is_admin1 for pl in hit.places):
            # A country or first-level region is never a fragment of a longer place name
            # ("Tennessee Arts Commission", "Texas Alcoholic Beverage Commission"): followed
            # by a capitalised word it is inside an organisation's name.
            i = self.next_index(hit)
            if (
                i >= 0
                and not any(c in DASHES for c in tokens.gaps[i])
                and capitalised_word(raws[i])
                and raws[i].lower() not in NAME_CONNECTORS
                and not (self.owner.get(i) and self.owner[i].places)
            ):
                hit.place_via = VIA_EMBEDDED
            return False
        if not lone_place and not self.actors.lone_person(hit):
            return False
        i = self.next_index(hit)
        if (
            lone_place
            and i >= 0
            and not any(c in DASHES for c in tokens.gaps[i])
            and capitalised_word(raws[i])
            and raws[i].lower() not in NAME_CONNECTORS
        ):
            if self._organisation_word(i):
                hit.place_via = VIA_EMBEDDED  # "Ohio State University", "Texas Fire Service"
                return False
            if tokens.keys[i] not in self.not_names and self.clear_if_lone(hit.last + 1):
                return True
        if i >= 0 and tokens.articles[i]:
            j = self.next_index(hit, 2)
            if j >= 0 and capitalised_word(raws[j]) and self.clear_if_lone(hit.last + 2):
                return True
        return (
            hit.lead < hit.first
            and hit.lead > 0
            and tokens.joined[hit.lead]
            and capitalised_word(raws[hit.lead - 1])
            and raws[hit.lead - 1].lower() not in self.not_names
            and self.clear_if_lone(hit.lead - 1)
        )

    def _common_word_in_a_name(self, hit: Hit) -> bool:
        """ "East Central Regional Hospital", "Canaan Valley", "North Texas": a place whose
        name is a direction or a common English word, next to another capitalised word, is a
        word of that longer name, not the hamlet called Central or Valley."""
        tokens = self.tokens
        raw = tokens.raws[hit.first]
        word = raw.lower()
        if word not in PLACE_MODIFIERS and (
            zipf(word) < COMMON_PLACE_WORD_ZIPF
            or any(max(p.population, p.importance) >= BIG_PLACE for p in hit.places)
        ):
            return False  # "Boston Police", "Chicago Tribune": a city's name, embedded
        i = self.next_index(hit)
        after = i >= 0 and capitalised_word(tokens.raws[i])
        k = hit.lead - 1
        before = (
            k >= 0
            and tokens.joined[hit.lead]
            and capitalised_word(tokens.raws[k])
            and tokens.raws[k].lower() not in self.not_names
        )
        return after or before

    def _organisation_word(self, i: int) -> bool:
        """Whether word ``i``, capitalised after a place name, continues the name of an
        organisation named after the place ("Ohio State University", "Kentucky Department of
        Education", "Dublin Historical Society", "Richmond Police Department"): a common
        English word (wordfreq) that is not a common person's name (names-dataset), no place
        reading of its own and no administrative division ("Laurel County" is not the town
        of Laurel). The place is then still mentioned, flagged embedded, instead of being
        dropped as a fragment of a longer place name ("Ain Zara", "Rebecca Jordan")."""
        raw = self.tokens.raws[i]
        word = raw.lower()
        owner = self.owner.get(i)
        return (
            word not in ADMIN_DIVISION_WORDS
            and zipf(word) >= ORGANISATION_WORD_ZIPF
            and name_rank(raw) > PERSON_NAME_RANK
            and (owner is None or not owner.places)
        )

    def _opener(self, hit: Hit) -> None:
        """A capitalised opener the text also writes in lowercase is a common word ("Hit")."""
        if hit.first != hit.last or hit.actors:
            return
        opener = self.tokens.sentence[hit.first] or hit.first in self.title
        if opener and self.tokens.raws[hit.first].lower() in self.lowercase:
            hit.places = []

    def _region(self, hit: Hit) -> None:
        """ "Duhok province", "the province of Anbar": the region, not the city."""
        if not hit.places or hit.actors:
            return
        i = self.next_index(hit)
        after = i >= 0 and self.tokens.raws[i].lower() in REGION_SUFFIXES
        before = self.word_before(hit) == "of" and self.word_before(hit, 2) in REGION_SUFFIXES
        if not (before or after):
            return
        admin = [p for p in hit.places if p.feature_class == "A" and not p.is_country]
        if admin:
            hit.places = admin
            hit.region = True
            if after and self.free(hit.last + 1):
                hit.end = self.tokens.ends[i]

    def _town_not_person(self, hit: Hit) -> None:
        """ "in al-Baghdadi", "the town of al-Baghdadi": a place, not the man."""
        if self.actors.lone_person(hit):
            p1, p2 = self.word_before(hit), self.word_before(hit, 2)
            if p1 in LOCATIVES or (p1 == "of" and p2 in TOWN_WORDS):
                hit.actors = []

    def _propagate_surnames(self) -> None:
        """A name found to be someone's is theirs in the whole text, except after "in"."""
        for hit in self.hits:
            if (
                hit.key in self.surnames
                and hit.size == 1
                and self.actors.may_be_a_name(hit)
                and self.word_before(hit) not in LOCATIVES
            ):
                hit.clear()
