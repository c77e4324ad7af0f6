"""The tag stage: which places and actors an article mentions (``articles.clean -> tagged``).

Analysts filter, alert and chart on these tags, so a wrong tag costs more than a missing one:
"Jordan" the US envoy must not put a story on the map of Jordan, and "Latin America" must not
count as the United States. Everything below is built around *one* reading per span of text,
chosen with the whole article as context.

Where each step lives
---------------------

One module per concern, so "why did Washington become US.DC?" is answered by reading one:

- :mod:`sitrep.tag.tokens`: tokens, offsets and the normalised stream (step 1);
- :mod:`sitrep.tag.places`: gazetteer lookup, the proper-noun test and candidates (2, 3);
- :mod:`sitrep.tag.actors`: actor lookup and matching, the actor rules, actor resolution;
- :mod:`sitrep.tag.hits`: a matched span and the longest-match choice (4);
- :mod:`sitrep.tag.refine`: the context rules (5);
- :mod:`sitrep.tag.resolution`: choosing among a mention's candidates with context (6);
- :mod:`sitrep.tag.output`: :class:`PlaceTag`, :class:`ActorTag`, :class:`Tags` and their JSON;
- :mod:`sitrep.tag.words`: the word lists the rules share;
- :mod:`sitrep.tag.tagger`: the :class:`Tagger` facade; :mod:`sitrep.tag.command`: ``sitrep tag``.

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
   aliases and demonyms plus :data:`~sitrep.tag.words.BLOCKING_PHRASES` (built per
   dictionary, so user files do not rebuild the big one). Keys are wrapped in spaces, so
   every hit is word-aligned.
3. **Each hit is checked against the original text.** Actor acronyms of up to five capitals
   (IS, US, PMF) must match case-exactly ("is", "us" are words); demonyms must be capitalised.
   A place must look like a proper noun: first word capitalised (Arabic script, which has no
   case, is exempt), later words capitalised or connectors ("Qasr bin Ghashir", "Nineveh
   province"); a short all-capital word is an acronym, never a place (SANA the agency is not
   Sanaa); calendar words, function words and common given names
   (:data:`~sitrep.tag.words.COMMON_WORDS`) are never places on their own.
4. **Longest match wins across both dictionaries**, then the leftmost: "Islamic State" is an
   actor and no place inside it counts, "Syrian army" is an actor and not the demonym
   "Syrian". Where a state and its country share the span ("Iraq"), both are kept: the story
   is about the place and may quote the state. On any other shared span the actor wins.
   Phrases that contain a name but name neither ("Latin America", "Washington Post") swallow
   it, unless the gazetteer has a region, sea or other non-settlement of that exact name.
5. **Context rules on the chosen spans** (:mod:`sitrep.tag.refine`):

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
   (:class:`~sitrep.tag.resolution.Scoring` has the weights and the reasons). Context is
   computed without the mention's own key and refined over three passes, so "Tripoli" goes to
   Lebanon in a story about Lebanon and Syria and to Libya otherwise, and "Georgia" is the US
   state only next to Atlanta.

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

from sitrep.tag.command import tag_command
from sitrep.tag.output import ActorTag, PlaceTag, Tags
from sitrep.tag.places import BEAT_COUNTRIES, place_automaton
from sitrep.tag.resolution import ACCEPT_SCORE
from sitrep.tag.tagger import SCHEMA, TAGGER_VERSION, Tagger, get_tagger
from sitrep.tag.tokens import tokenise
from sitrep.tag.words import BLOCKING_PHRASES

# Names the module had before it became a package (tools and tests use them).
_place_automaton = place_automaton
_tokenise = tokenise

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
