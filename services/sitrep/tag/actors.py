"""Actor lookup and matching: which actors a text names, and how each mention reads.

Everything the tagger knows about actors is here, so that the actor dictionary and its rules
can change without touching places:

- :class:`ActorIndex` compiles an :class:`~sitrep.actors.ActorDictionary` into one
  Aho-Corasick automaton over the token stream (names, aliases and demonyms, plus
  :data:`~sitrep.tag.words.BLOCKING_PHRASES`), built per dictionary so that users' files do not
  rebuild the big gazetteer automaton.
- :meth:`ActorIndex.match` checks each hit against the original text: acronyms of up to five
  capitals (IS, US, PMF) must match case-exactly ("is", "us" are words); demonyms must be
  capitalised.
- the actor rules of the refinement step: :func:`sector` ("Serbian police", "Sudan's army",
  "Haitian rebels" name that state's sector; "Turkish drones" the Turkish army),
  :func:`bare_agents` ("police" alone is the police of the state the sentence names) and
  :func:`short_names` ("Fatah" after "the Fatah alliance").
- :meth:`ActorIndex.resolve` picks one actor per mention (a name two actors share goes to the
  one whose country the text's other actors name most) and gives the places their actor
  evidence; :meth:`ActorIndex.tag` makes the output record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import ahocorasick

from sitrep.actors import Actor, ActorDictionary, ActorType, alias_key
from sitrep.tag.hits import Hit, HitAt
from sitrep.tag.output import ActorTag, Span
from sitrep.tag.resolution import Context
from sitrep.tag.tokens import Stream, Tokens, compact_letters, stream_key, word_info
from sitrep.tag.words import BLOCKING_PHRASES, word_set

if TYPE_CHECKING:
    from sitrep.tag.refine import Refiner

#: Nouns after a state or demonym that name its armed forces ("Turkish drones"), beyond the
#: dictionary's agent nouns (which carry soldiers, troops, army ...).
MILITARY_NOUNS: Final = word_set(
    "army soldiers soldier troops military drones drone warplanes jets artillery tanks"
)
#: Agent phrases are looked for over at most this many words after a state's name.
MAX_AGENT_WORDS: Final = 4
#: Sectors a bare agent noun ("police", "the army", "rebels") is read as when the sentence
#: names one state: the state's own apparatus and its armed opposition. Civilians, business,
#: media, students ... alone are too often nobody's in particular.
BARE_AGENT_SECTORS: Final = frozenset({"GOV", "MIL", "COP", "SPY", "LEG", "JUD", "REB"})
#: Bare agent nouns that name no one without a name next to them ("leader", "forces",
#: "official" (a UN official, a club official)); the agent lexicon still reads them after a
#: state ("Hungarian officials").
VAGUE_AGENTS: Final = word_set(
    "official officials leader leaders forces force party parties authority"
)
#: Verbs by which news makes a capital speak for its government ("Moscow said", "Beijing
#: warned"): communication and stance verbs, nothing a city can do as a place.
SPEECH_VERBS: Final = word_set(
    """said says say told warned warns accused accuses announced announces denied denies
    rejected rejects demanded demands threatened threatens urged urges condemned condemns
    protested protests insisted insists confirmed confirms criticised criticized criticises
    criticizes welcomed welcomes responded responds vowed vows accepted accepts refused refuses
    agreed agrees insists complained complains claimed claims"""
)
#: Words that may stand between a capital and its verb ("Beirut again rejected", "Moscow has
#: said"): auxiliaries and a few adverbs of time and manner.
_BEFORE_VERB: Final = word_set(
    """has have had will would may might could should must is was again also once then now
    today yesterday still already reportedly officially publicly repeatedly strongly firmly
    quickly immediately"""
)
_NAME_GAP: Final = re.compile(r"[ -]")
# Words of letters and digits (str.isalnum: \w less the underscore) between single spaces or
# hyphens.
_PLAIN_FORM: Final = re.compile(r"[^\W_]+(?:[ -][^\W_]+)*")
_STANCE_PREFIXES: Final = word_set("anti pro non")


def form_key(form: str) -> str:
    """:func:`~sitrep.tag.tokens.stream_key` of a dictionary form, fast for the common shape.

    Forms of plain words between spaces or hyphens ("Aleksandar Vucic", "Al-Assad") need no
    tokeniser: their stream key is their words' keys (articles dropped except at the end),
    exactly what the tokeniser gives (a test checks every form of the shipped dictionary).
    Anything else (dots, apostrophes, marks, other gaps) takes the tokeniser.
    """
    if _PLAIN_FORM.fullmatch(form) is None:
        return stream_key(form)
    infos = [word_info(w) for w in _NAME_GAP.split(form)]
    n = len(infos)
    return " ".join(info.key for i, info in enumerate(infos) if not (info.article and i + 1 < n))


@dataclass(frozen=True, slots=True)
class ActorForm:
    """One way an actor is written, as a reading of a hit."""

    actor_id: str
    form: str
    exact_case: bool  # an acronym of up to 5 capitals: must match case-exactly
    demonym: bool
    one_word: bool  # a single word once articles are dropped ("Assad", "al-Baghdadi")


def is_acronym(form: str) -> bool:
    if form != form.upper():
        return False  # a lowercase letter somewhere: most forms stop here, cheaply
    return 0 < sum(c.isalpha() for c in form) <= 5


class ActorIndex:
    """An actor dictionary compiled for matching over the token stream."""

    def __init__(self, actors: ActorDictionary) -> None:
        self.dictionary = actors
        self.by_id: dict[str, Actor] = {a.id: a for a in actors.actors}  # plain dict: hot path
        self.state_cc: dict[str, tuple[str, ...]] = {
            a.id: a.countries if a.type is ActorType.STATE else () for a in actors.actors
        }
        self._forms: dict[str, list[ActorForm]] = {}
        seen: set[tuple[str, str, bool]] = set()  # one form per key, actor and case rule
        known = actors.stream_keys  # the world registry's, computed when it was built
        for actor in actors.actors:
            demonyms = actor.demonyms
            for form in actor.surface_forms:
                key = known.get(form)
                if key is None:
                    key = form_key(form)
                if not key:
                    continue
                exact = is_acronym(form)
                mark = (key, actor.id, exact)
                if mark in seen:
                    continue
                seen.add(mark)
                entry = ActorForm(actor.id, form, exact, form in demonyms, " " not in key)
                self._forms.setdefault(key, []).append(entry)
        self._blocking = {stream_key(p) for p in BLOCKING_PHRASES} - {""}
        # Each key stores what a hit on it needs: its length in the stream, its forms with
        # their compacted spelling, whether all of them must match case-exactly, and whether
        # it is a blocking phrase.
        self._automaton: Any = ahocorasick.Automaton(ahocorasick.STORE_ANY)
        for key in dict.fromkeys([*self._forms, *self._blocking]):
            of_key = self._forms.get(key)
            # (Only an acronym's spelling is compared: the rest need none.)
            compacted = (
                tuple((f, compact_letters(f.form) if f.exact_case else "") for f in of_key)
                if of_key else ()
            )  # fmt: skip
            all_exact = of_key is not None and (
                of_key[0].exact_case if len(of_key) == 1 else all(f.exact_case for f in of_key)
            )
            wrapped = f" {key} "
            payload = (len(wrapped), compacted, all_exact, key in self._blocking)
            self._automaton.add_word(wrapped, payload)
        self._automaton.make_automaton()
        self.ancestors = {
            a.id: tuple(x.id for x in actors.ancestors(a.id)) if a.parent else ()
            for a in actors.actors
        }
        #: The stream keys of every demonym: capitalised, a demonym is no one's first name.
        self.demonym_keys = frozenset(word_info(d).key for a in actors.actors for d in a.demonyms)
        self.armies = self._national_armies()
        #: Generic agent nouns (lower case) -> sector code, from the dictionary (world layer).
        self.agents: dict[str, str] = dict(actors.agents)
        self.agent_words = min(
            MAX_AGENT_WORDS, max((len(a.split()) for a in self.agents), default=0)
        )
        self._sector_of: dict[tuple[str, str], str | None] = {}
        self.state_of_country: dict[str, str] = {}
        for actor in actors.actors:
            if actor.type is ActorType.STATE and len(actor.countries) == 1:
                self.state_of_country.setdefault(actor.countries[0], actor.id)

    def _national_armies(self) -> dict[str, str]:
        """State id -> its armed forces' actor id, found by how the dictionary spells them
        ("Iraqi Army", "Lebanese army", "Jordanian army", "Turkish army", "Iranian Armed
        Forces"), so a user file that adds an army makes the military-noun rule work for it."""
        by_form: dict[str, str] = {}
        for actor in self.dictionary.actors:
            if actor.type in (ActorType.MILITARY, ActorType.SECURITY_FORCE):
                for form in (actor.name, *actor.aliases):
                    by_form.setdefault(alias_key(form), actor.id)
        armies: dict[str, str] = {}
        for state in self.dictionary.actors:
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

    def sector_actor(self, state_id: str, code: str) -> str | None:
        """The actor id of a state's sector (the dictionary's own actor for it, else the
        generated ``<state>.<code>``); for MIL without a world registry, the state's army as
        the dictionary spells it."""
        memo = (state_id, code)
        if memo not in self._sector_of:
            actor = self.dictionary.sector_actor(state_id, code)
            found = actor.id if actor is not None else None
            if found is None and code == "MIL":
                found = self.armies.get(state_id)
            self._sector_of[memo] = found
        return self._sector_of[memo]

    def agent_at(self, tokens: Tokens, i: int, limit: int) -> tuple[int, str] | None:
        """The longest agent phrase starting at word ``i`` (at most ``limit`` words, joined
        by spaces or dashes): (its last word, its sector), or None."""
        raws = tokens.raws
        joined = tokens.joined
        words: list[str] = []
        best: tuple[int, str] | None = None
        for j in range(i, min(len(raws), i + limit)):
            if j > i and not joined[j]:
                break
            words.append(raws[j].lower())
            code = self.agents.get(" ".join(words))
            if code is not None:
                best = (j, code)
        return best

    # -- readings ------------------------------------------------------------------------------

    def state_countries(self, form: ActorForm) -> tuple[str, ...]:
        return self.state_cc[form.actor_id]

    def is_state_reading(self, hit: Hit) -> bool:
        """Only states by name (or nothing) among the actor readings: a name a person or a
        compound can take over, unlike "Hezbollah"."""
        return all(not f.demonym and self.state_cc[f.actor_id] for f in hit.actors)

    def may_be_a_name(self, hit: Hit) -> bool:
        """A state reading a person's name can take over ("envoy Jordan"), unless it is an
        acronym: "US" in "Three US soldiers" is nobody's surname."""
        return self.is_state_reading(hit) and not (
            hit.actors and all(f.exact_case for f in hit.actors)
        )

    def lone_person(self, hit: Hit | None) -> bool:
        """A person matched by a one-word alias only ("Assad" in "Ain al-Asad")."""
        return (
            hit is not None
            and hit.size == 1
            and bool(hit.actors)
            and all(
                f.one_word and self.by_id[f.actor_id].type is ActorType.PERSON for f in hit.actors
            )
        )

    # -- matching ------------------------------------------------------------------------------

    def match(self, text: str, tokens: Tokens, stream: Stream, hit_at: HitAt) -> None:
        """Give every dictionary match in the stream its actor readings (or mark it a
        blocking phrase)."""
        s = stream.text
        starts = stream.starts
        raws = tokens.raws
        for end, (length, forms, all_exact, blocked) in self._automaton.iter(s):
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
                        compact = compact_letters(text[hit.start : hit.end])
                    if compact != form_compact:
                        continue
                if form.demonym and not raws[first][0].isupper():
                    continue
                hit.actors.append(form)

    # -- resolution ----------------------------------------------------------------------------

    def resolve(self, hits: list[Hit]) -> tuple[Context, dict[int, tuple[str, bool]]]:
        """One actor per hit that has actor readings (``id(hit) -> (actor id, seen only as a
        demonym)``), and the evidence they give the places: a named state 2, a state seen
        through its demonym 1, an actor of one country 0.5."""
        actor_ctx = Context()
        actor_of: dict[int, tuple[str, bool]] = {}  # id(hit) -> actor id, seen as a demonym
        actor_map = self.by_id
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
        return actor_ctx, actor_of

    def tag(
        self, actor_id: str, spans: list[Span], forms: dict[str, None], named: bool
    ) -> ActorTag:
        """The output record of an actor mentioned at ``spans`` (in order of offset)."""
        actor = self.by_id[actor_id]
        sector: str | None = getattr(actor, "sector", None)  # world registry entries
        return ActorTag(
            id=actor.id,
            name=actor.name,
            type=actor.type.value,
            countries=actor.countries,
            parent=actor.parent,
            mentions=len(spans),
            first_offset=spans[0][0],
            surface_forms=tuple(forms),
            via="name" if named else "demonym",
            spans=tuple(spans),
            sector=sector,
        )


# --------------------------------------------------------------------------------------------
# The actor rules of the refinement step (called by sitrep.tag.refine.Refiner)
# --------------------------------------------------------------------------------------------


def sector(refiner: Refiner, hit: Hit) -> None:
    """ "Serbian police", "Sudan's army", "Haitian rebels", "Turkish drones": a state's name,
    possessive or demonym followed by an agent noun of the dictionary names that state's
    sector too (the sector's own actor, e.g. ``serbia.cop`` or the hand-curated
    ``iraqi_army``). The state keeps its own mention; the sector is an extra hit over both."""
    if not hit.actors:
        return
    index = refiner.actors
    state = next((f.actor_id for f in hit.actors if index.state_countries(f)), None)
    if state is None or _against_or_for(refiner, hit):
        return
    i = refiner.next_index(hit)
    if i < 0:
        return
    tokens = refiner.tokens
    found = index.agent_at(tokens, i, index.agent_words) if index.agent_words else None
    if found is None and tokens.raws[i].lower() in MILITARY_NOUNS:
        found = (i, "MIL")
    if found is None:
        return
    last, code = found
    if not all(refiner.free(j) for j in range(i, last + 1)):
        return
    if (
        tokens.raws[hit.last].endswith(".") and tokens.raws[i][0].isupper()
        and i not in refiner.title
    ):  # fmt: skip
        return  # "supported by the U.S. Fighters for ...": the full stop ends a sentence too
    actor_id = index.sector_actor(state, code)
    if actor_id is None:
        return
    sector_hit = Hit(
        hit.first, last, hit.lead, hit.start, tokens.ends[last],
        " ".join([hit.key, *tokens.keys[i : last + 1]]),
    )  # fmt: skip
    sector_hit.actors = [ActorForm(actor_id, "", False, False, False)]
    refiner.extra.append(sector_hit)
    for j in range(i, last + 1):
        refiner.owner[j] = sector_hit


def _against_or_for(refiner: Refiner, hit: Hit) -> bool:
    """ "anti-Syria journalist", "pro-Iran militia": the state is the cause, not the owner."""
    gap = refiner.tokens.gaps[hit.lead]
    return hit.lead > 0 and "-" in gap and refiner.word_before(hit) in _STANCE_PREFIXES


def ethnic_group(refiner: Refiner, hit: Hit) -> None:
    """ "ethnic Albanians", "ethnic Turks": a people, not the state (the ethnic Albanians of
    Kosovo are not Albania's actors, nor is Albania a place of the story through them)."""
    if (
        hit.actors and hit.lead > 0 and refiner.word_before(hit) == "ethnic"
        and all(f.demonym for f in hit.actors)
    ):  # fmt: skip
        hit.clear()


def _title_of_name(tokens: Tokens, last: int) -> bool:
    """The agent is a title before a name ("President Bush", "Police Chief Ali Hassan")."""
    nxt = last + 1
    return (
        nxt < len(tokens.raws) and tokens.joined[nxt] and tokens.raws[nxt][0].isupper()
        and not tokens.sentence[nxt]
    )  # fmt: skip


_PLACE_PREPOSITIONS: Final = word_set("in of from at")


def _country_after(tokens: Tokens, place_hits: dict[int, Hit], last: int) -> str | None:
    """ "rebels in Darfur", "the government of Sindh province": the country of the place
    right after the agent, when every reading of that place is in one country."""
    j = last + 2
    if j >= len(tokens.raws) or tokens.raws[last + 1].lower() not in _PLACE_PREPOSITIONS:
        return None
    if tokens.sentence[last + 1] or tokens.sentence[j]:
        return None
    hit = place_hits.get(j)
    if hit is None and tokens.articles[j]:
        hit = place_hits.get(j + 1)  # "in the Sahel"
    if hit is None:
        return None
    found = {p.country for p in hit.places}
    return next(iter(found)) if len(found) == 1 and "" not in found else None


def _agent_free(refiner: Refiner, i: int) -> bool:
    """Word ``i`` is in no hit, or only in a one-word place reading ("Police" is a town in
    Poland, "Army" none): an agent noun of the lexicon is not a place name."""
    owner = refiner.owner.get(i)
    if owner is None or not (owner.actors or owner.places):
        return True
    return not owner.actors and owner.first == owner.last == i


def _capital_of(index: ActorIndex, hit: Hit) -> str | None:
    """The state whose capital a place-only hit names, when the capital is its most
    important reading (Paris the capital, not Paris, Texas), else None."""
    capitals = [p for p in hit.places if p.feature_code == "PPLC"]
    if not capitals or hit.actors:
        return None
    capital = max(capitals, key=lambda p: (p.importance, p.population))
    rank = (capital.importance, capital.population)
    if any((p.importance, p.population) > rank and p.country != capital.country
           for p in hit.places):  # fmt: skip
        return None
    return index.state_of_country.get(capital.country)


def _speaks(tokens: Tokens, i: int) -> bool:
    """A speech or stance verb at word ``i``, or after auxiliaries and adverbs from there
    (same sentence)."""
    raws = tokens.raws
    for j in range(i, min(len(raws), i + 3)):
        if j > i and tokens.sentence[j]:
            return False
        word = raws[j].lower()
        if word in SPEECH_VERBS:
            return True
        if word not in _BEFORE_VERB:
            return False
    return False


def _spoken_to(refiner: Refiner, hit: Hit) -> bool:
    """The capital is the object of a speech or stance verb ("accused Washington", "urged
    Tehran")."""
    return (
        hit.lead > 0 and not refiner.tokens.sentence[hit.lead]
        and refiner.word_before(hit) in SPEECH_VERBS
    )  # fmt: skip


def capital_government(refiner: Refiner, hit: Hit) -> None:
    """A capital that speaks or governs is its state's government (metonymy): "Moscow said",
    "Beijing warned" -> the GOV sector; "the Khartoum government", "the Kabul regime" ->
    the sector the agent noun names. The capital stays a place; it is never the state
    itself (a place is not a state, see actors.yaml)."""
    index = refiner.actors
    if not hit.places or hit.first in refiner.title:
        return
    i = refiner.next_index(hit)
    if i < 0 and not _spoken_to(refiner, hit):
        return
    state = _capital_of(index, hit)
    if state is None:
        return
    tokens = refiner.tokens
    found = index.agent_at(tokens, i, index.agent_words) if index.agent_words and i >= 0 else None
    if found is None and ((i >= 0 and _speaks(tokens, i)) or _spoken_to(refiner, hit)):
        code, last, end = "GOV", hit.last, hit.end
    elif found is not None and all(refiner.free(j) for j in range(i, found[0] + 1)):
        last, code = found
        end = tokens.ends[last]
    else:
        return
    actor_id = index.sector_actor(state, code)
    if actor_id is None:
        return
    government = Hit(hit.first, last, hit.lead, hit.start, end,
                     " ".join(tokens.keys[hit.first : last + 1]))  # fmt: skip
    government.actors = [ActorForm(actor_id, "", False, False, False)]
    refiner.extra.append(government)
    for j in range(hit.last + 1, last + 1):
        refiner.owner[j] = government


def bare_agents(refiner: Refiner) -> None:
    """A bare agent noun ("police", "the army", "rebels", "parliament") in a sentence that
    names exactly one state is that state's sector: news names the country once and then
    says "police" (PLOVER codes it so). A sentence naming no state, or several, gives
    nothing: guessing among them would be wrong too often. Only the state's apparatus and
    its armed opposition (:data:`BARE_AGENT_SECTORS`), never the vague heads
    (:data:`VAGUE_AGENTS`)."""
    index = refiner.actors
    if not index.agent_words:
        return
    tokens = refiner.tokens
    raws = tokens.raws
    sentence = tokens.sentence
    # The states each sentence names (by name, possessive or demonym).
    sentence_of: list[int] = []
    current = -1
    for i in range(len(raws)):
        if sentence[i]:
            current += 1
        sentence_of.append(current)
    # The countries each sentence names: its states (by name, possessive or demonym) and its
    # actors of one country ("the Sudanese army", "Vucic").
    countries: dict[int, set[str]] = {}
    for hit in [*refiner.hits, *refiner.extra]:
        for f in hit.actors:
            own = index.by_id[f.actor_id].countries
            if len(own) == 1:
                countries.setdefault(sentence_of[hit.first], set()).update(own)
    starts = {h.first: h for h in refiner.hits if h.places and not h.actors}
    i = 0
    while i < len(raws):
        named = countries.get(sentence_of[i], set())
        if raws[i][0].isdigit() or not _agent_free(refiner, i):
            i += 1
            continue
        if i > 0 and not sentence[i] and tokens.joined[i] and raws[i - 1][0].isupper():
            i += 1  # "Kampuchean guerrilla", "Three US servicemen": a modifier we do not
            continue  # know names whose agent it is; no guess
        found = index.agent_at(tokens, i, index.agent_words)
        if found is None:
            i += 1
            continue
        last, code = found
        where = _country_after(tokens, starts, last)
        if where is not None:
            named = {where}  # "rebels in Darfur": the place's country, named or not
        if len(named) != 1:
            i = last + 1
            continue
        phrase = " ".join(r.lower() for r in raws[i : last + 1])
        if (
            code not in BARE_AGENT_SECTORS or phrase in VAGUE_AGENTS
            or not all(_agent_free(refiner, j) for j in range(i, last + 1))
            or any(raws[j][0].isupper() and not sentence[j] for j in range(i, last + 1))
            or _title_of_name(tokens, last)
        ):  # fmt: skip
            # A capitalised agent mid-sentence is a name ("the Defence Ministry"); one before
            # a name is that person's title ("President Bush"), whoever's president he is.
            i = last + 1
            continue
        state = index.state_of_country.get(next(iter(named)))
        actor_id = index.sector_actor(state, code) if state else None
        if actor_id is not None:
            for j in range(i, last + 1):
                owner = refiner.owner.get(j)
                if owner is not None:
                    owner.clear()  # "Police" the Polish town: a generic noun here
            agent_hit = Hit(
                i, last, i, tokens.starts[i], tokens.ends[last],
                " ".join(tokens.keys[i : last + 1]),
            )  # fmt: skip
            agent_hit.actors = [ActorForm(actor_id, "", False, False, False)]
            refiner.extra.append(agent_hit)
            for j in range(i, last + 1):
                refiner.owner[j] = agent_hit
        i = last + 1


def short_names(refiner: Refiner) -> None:
    """A one-word name that begins a longer actor name used in the same text is that
    actor ("Fatah" after "the Fatah alliance"), when its own dictionary owner belongs to
    no country the text otherwise mentions (the Palestinian Fatah in an Iraqi story)."""
    actors = refiner.actors.by_id
    keys = refiner.tokens.keys
    longer: dict[str, str] = {}
    for hit in refiner.hits:
        if hit.actors and hit.first != hit.last:
            longer.setdefault(keys[hit.first], hit.actors[0].actor_id)
    if not longer:
        return  # most texts: no rule to apply
    keys_by_country: dict[str, set[str]] | None = None  # made before any hit changes
    for hit in refiner.hits:
        target = longer.get(hit.key) if hit.first == hit.last and hit.actors else None
        if target is None or target in {f.actor_id for f in hit.actors}:
            continue
        if keys_by_country is None:
            keys_by_country = {}
            for other in refiner.hits:
                for f in other.actors:
                    for c in actors[f.actor_id].countries:
                        keys_by_country.setdefault(c, set()).add(other.key)
        others = {c for c, ks in keys_by_country.items() if ks - {hit.key}}
        own = {c for f in hit.actors for c in actors[f.actor_id].countries}
        if not own & others and set(actors[target].countries) & others:
            hit.actors = [ActorForm(target, "", False, False, True)]
