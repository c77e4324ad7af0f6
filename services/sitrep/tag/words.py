"""The word lists the tagger's rules read (:mod:`sitrep.tag`), each there because a rule needs it.

Lists that only one concern uses live with it (the military nouns in :mod:`sitrep.tag.actors`,
generic place names in :mod:`sitrep.tag.places`).
"""

from __future__ import annotations

import gzip
import math
from functools import cache
from pathlib import Path
from typing import Final


def word_set(text: str) -> frozenset[str]:
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
FUNCTION_WORDS: Final = word_set(
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
CALENDAR_WORDS: Final = word_set(
    """
    january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday
    ramadan ramadhan ramazan eid muharram safar rajab shaban shawwal ashura arbaeen nowruz
    christmas easter
    """
)

#: Given names that are also gazetteer keys (villages called Khalil or Hassan abound).
GIVEN_NAMES: Final = word_set(
    """
    ali hassan hasan hussein hussain husain mohammed muhammad mohammad ahmed ahmad omar umar
    abbas saeed said karim kareem jamal salem salim hamid hamed mahmoud khalid khaled fatima
    aisha layla leila nasser nasir mustafa mostafa yusuf yousef ibrahim ismail ismael khalil
    shirin maryam zainab hamza bilal tariq adel adil faisal fahd sultan mansour nabil
    adam david daniel michael john james mary sarah paul peter mark luke
    """
)

#: Other English words that are gazetteer keys and, capitalised, are titles or headlines.
OTHER_COMMON: Final = word_set(
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
ROLE_WORDS: Final = word_set(
    """
    mr mrs ms miss dr prof sir lord lady sen senator rep gov gen col lt maj capt sgt adm cmdr
    president minister secretary ambassador envoy spokesman spokeswoman spokesperson official
    commander general colonel captain sergeant admiral governor mayor representative
    chairman chairwoman director chief leader sheikh shaykh imam ayatollah cleric judge
    diplomat adviser advisor analyst correspondent reporter journalist professor
    """
)

#: Capitalised words that may precede a place without making it a person's name.
PLACE_MODIFIERS: Final = word_set(
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
ADJECTIVE_ENDINGS: Final = (
    "ing", "ed", "ern", "ful", "less", "ous", "ive", "ic", "ary", "ish", "ese", "ian", "ist",
    "ly", "rich", "poor", "torn", "hit", "wide", "free", "led", "based",
)  # fmt: skip

#: Words after which a name is a place even when it is also someone's name in the article.
LOCATIVES: Final = word_set(
    """
    in into to from across near toward towards through via inside outside around within
    throughout visit visited visiting entered reached enter reach border borders
    """
)

#: Words that may be lowercase inside a multi-word place name, or follow a place name without
#: making it a fragment of a longer one ("Mosul Dam", "Baghdad Airport").
NAME_CONNECTORS: Final = word_set(
    """
    of the and de du des la le les el al bin ibn bint bani beni abu umm um wa fi ul ud ad ed
    an on upon sur sous en au aux di da del della van von der den zu am im y e i
    province provinces governorate governorates district subdistrict region city town village
    river desert camp crossing border mountains mountain mount lake sea gulf valley plain
    plains island islands airport base dam bridge square street road municipality canal
    strait oasis bay peninsula international university citadel
    """
)

#: A place followed by one of these is the region ("Duhok province"), not the city.
REGION_SUFFIXES: Final = word_set("province provinces governorate governorates wilayat")

#: "Iran-backed militias": the state acts, the country is not where the story is.
COMPOUND_ACTOR_SUFFIXES: Final = word_set(
    """
    backed led supported sponsored funded aligned allied affiliated brokered trained armed
    allied linked dominated run controlled financed
    """
)

#: "Gulf of Aden", "Cape of Good Hope": a feature named after a place is not that place.
FEATURE_HEADS: Final = word_set("gulf bay strait straits cape sea isle isles lake")

#: Where a single-word person alias is a place ("the town of al-Baghdadi").
TOWN_WORDS: Final = word_set("town city village district area outskirts suburb province region")


# --------------------------------------------------------------------------------------------
# Word data: frequencies and person names (derived from packages, not written by hand)
# --------------------------------------------------------------------------------------------

_NAMES_FILE: Final = Path(__file__).resolve().parents[1] / "data" / "names" / "person_names.tsv.gz"
#: A word at least this frequent in English (Zipf: 3.8 is about six uses per million words)
#: is a common word ("State", "Department", "Police"), not a name.
ORGANISATION_WORD_ZIPF: Final = 3.8
#: A capitalised word rarer than this in English (Zipf 3: once in a million words) may be an
#: uncommon first name ("Tyrise"); a more frequent one that no names list has is a word.
RARE_WORD_ZIPF: Final = 3.0
#: People in a place (or its biggest place) whose name is known as a place name even where
#: it is also a common word ("Boston", "Chicago").
BIG_PLACE: Final = 100_000
#: A place name at least this frequent as an English word ("Valley", "Lakes", "Center") is,
#: next to another capitalised word, a word of a longer name.
COMMON_PLACE_WORD_ZIPF: Final = 4.5
#: A name at least this popular (its rank as a given name or surname in some country) is
#: read as a person's first.
PERSON_NAME_RANK: Final = 200
#: Administrative divisions: "Laurel County" names the county, not the town of Laurel.
ADMIN_DIVISION_WORDS: Final = word_set("county counties parish township borough")

#: The rank a name has where the list has no rank for it (not a given name, or no surname).
UNRANKED: Final = 1_000_000


@cache
def person_names() -> dict[str, tuple[int, int]]:
    """Lowercased name -> (best rank as a given name, best rank as a surname) in any country,
    from ``data/names/person_names.tsv.gz`` (made by ``tools/build_names.py`` from the
    names-dataset package)."""
    out: dict[str, tuple[int, int]] = {}
    # Read whole and split: line-by-line decoding was most of the cost (100,000 names).
    text = gzip.decompress(_NAMES_FILE.read_bytes()).decode("utf-8")
    for line in text.split("\n"):
        if not line or line[0] == "#":
            continue
        name, given, surname = line.split("\t")
        out[name.lower()] = (
            UNRANKED if given == "-" else int(given),
            UNRANKED if surname == "-" else int(surname),
        )
    return out


def name_rank(word: str) -> int:
    """How common ``word`` is as a person's name: its best rank as a given name or surname in
    any country (1 is the most common), :data:`UNRANKED` when it is neither."""
    ranks = person_names().get(word.lower())
    return min(ranks) if ranks else UNRANKED


@cache
def _english_frequencies() -> dict[str, float]:
    from wordfreq import get_frequency_dict

    return get_frequency_dict("en", wordlist="small")


def zipf(word: str) -> float:
    """The Zipf frequency of ``word`` in English (wordfreq: log10 of uses per billion words;
    3 is once in a million words, "the" is 7.7), 0.0 for a word too rare to be listed."""
    f = _english_frequencies().get(word.lower(), 0.0)
    return math.log10(f * 1e9) if f > 0 else 0.0
