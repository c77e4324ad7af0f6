"""Build the world actor registry ``services/sitrep/data/actors_world.json`` from open data.

Why: the hand-curated dictionary (``actors.yaml``) knows one beat (Iraq, Syria and their
neighbours). An analyst on the Sahel, Haiti or Myanmar beat needs every state, its sectors
(government, army, police, rebels ...), the IGOs and NGOs, the non-state armed groups and the
office-holders of the world, without writing them by hand. This tool derives them from:

- the Phoenix/PETRARCH actor dictionaries (MIT, Open Event Data Alliance), a *data source*:
  ``Phoenix.Countries.actors.txt`` (country names and adjectives, office-holders with
  date-bounded roles, national institutions), ``Phoenix.International.actors.txt`` (IGOs,
  NGOs), ``Phoenix.MilNonState.actors.txt`` (non-state armed groups), ``Phoenix.agents.txt``
  (generic agent nouns such as police, rebels, government, with their CAMEO sector codes);
- ``pycountry`` (ISO 3166-1: every state and territory, its name, common and official name)
  and ``country-converter`` (short and official names as the news writes them);
- ``wordfreq`` (English word frequencies, to leave out aliases that are common words);
- the shipped gazetteer (to leave out Phoenix's city and province aliases of countries: a
  place is a place, not the state, as ``actors.yaml`` says);
- the hand dictionary ``actors.yaml`` (its states' ids, so that ``iraq.mil`` hangs under the
  hand-curated ``iraq``).

Nothing of Phoenix is copied raw: every name is cleaned, filtered and re-cased, and the output
is a derived registry (JSON, one actor per line so that a rebuild diffs readably) that says
where it comes from in its header. The build is deterministic: the same inputs give the same
bytes (sorted output, no clock, a version that is a hash of the inputs).

What the registry holds (see ``sitrep.actors`` for how it is loaded under the hand
dictionary):

- ``actors``: states (type ``state``), one actor per state and sector (type
  ``state_sector``, id ``<state id>.<code>``, parent the state, ``sector`` the code),
  institutions of states (type by sector, parent the state), IGOs, NGOs, armed groups, and
  persons with ``roles`` (country, sector, ``valid_from``/``valid_until``);
- ``agents``: the generic agent nouns, singular and plural, each with its sector code. A
  state's sector is recognised by composition ("<state name | demonym | possessive> <agent
  noun>", e.g. "Serbian police", "Sudan's army"), so the registry lists the two halves
  instead of ~10^6 literal combinations (which would cost seconds of load time and hundreds
  of MB);
- ``sectors``: the sector codes with a label.

Run: ``.venv/bin/python tools/build_actors.py [--phoenix DIR] [--output FILE]``. The default
Phoenix folder is ``ROOT.parent/shared/devsets/actors/phoenix-dictionaries``; the env var
``SITREP_DEVSETS_DIR`` (the devsets root) or ``--phoenix`` override it.
"""

from __future__ import annotations

import argparse
import difflib
import gzip
import hashlib
import json
import os
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))

from sitrep.actors import Actor, alias_key  # noqa: E402

DATA = ROOT / "services" / "sitrep" / "data"
DEFAULT_OUTPUT = DATA / "actors_world.json"
DEFAULT_HAND = DATA / "actors.yaml"
PHOENIX_FILES: Final = {
    "countries": "Phoenix.Countries.actors.txt",
    "international": "Phoenix.International.actors.txt",
    "nonstate": "Phoenix.MilNonState.actors.txt",
    "agents": "Phoenix.agents.txt",
}

#: The sector codes of the output contract (CAMEO-style), with the noun used in the display
#: name of a state's sector actor ("Serbian police"). IGO and NGO are organisation kinds,
#: not sectors of a state.
SECTORS: Final[dict[str, str]] = {
    "GOV": "government",
    "MIL": "military",
    "COP": "police",
    "SPY": "intelligence services",
    "LEG": "legislature",
    "JUD": "judiciary",
    "OPP": "opposition",
    "REB": "rebels",
    "BUS": "business",
    "MED": "media",
    "EDU": "education",
    "HLH": "health sector",
    "CVL": "civilians",
    "REF": "refugees",
    "LAB": "labour",
    "ELI": "elites",
    "CRM": "criminals",
    "PTY": "political parties",
    "UAF": "armed groups",
}

#: Bare head nouns that Phoenix's agents file leaves to PETRARCH's grammar (it codes
#: "Hungarian officials" from the adjective alone) but that news uses after a demonym all
#: the time. Added under the agents file (which wins where it lists a phrase).
SUPPLEMENT_AGENTS: Final = {
    "official": "GOV", "officials": "GOV", "forces": "MIL", "opposition": "OPP",
    "party": "PTY", "parties": "PTY",
}  # fmt: skip
# ("leader" is not there: a state's leader may lead its government, its rebels or its
# opposition.)

#: Actor type of an institution by its sector (a ministry is government, a police force a
#: security force ...). Anything else is ``other``.
TYPE_OF_SECTOR: Final = {
    "GOV": "government", "LEG": "government", "JUD": "government", "MIL": "military",
    "COP": "security_force", "SPY": "security_force", "REB": "armed_group",
    "UAF": "armed_group", "PTY": "political_party", "MED": "media",
}  # fmt: skip

#: A single word that English uses at least this often (Zipf scale: 4 = once per 100,000
#: words) is a common word, not a name: "Brown", "Senate", "Swiss" alone do not name one actor.
COMMON_WORD_ZIPF: Final = 4.0
#: A plural is kept when English uses it at least 1/100 as often as its singular (so
#: "soldiers", "armies", but not "polices", "militaries").
PLURAL_ZIPF_DROP: Final = 2.0
#: An acronym is matched case-sensitively, so only a very common word spelt in capitals
#: ("AID", "ACT", "WHO") is left out; NATO, ISIS or CIA are frequent as names, not as words.
ACRONYM_WORD_ZIPF: Final = 4.5
#: Acronyms and aliases shorter than this (letters) are left to the hand dictionary, which
#: curates the few that are safe (UN, EU, US).
MIN_LETTERS: Final = 3
#: A place at least this important (population) elsewhere still makes a country's alias a
#: place name; smaller namesakes abroad do not.
BIG_PLACE: Final = 100_000
#: Two-digit Phoenix years below this are 20yy, others 19yy (the data dates from 2014 and
#: writes years before 1930 with four digits).
YEAR_PIVOT: Final = 30

_STOP_INITIALS: Final = frozenset(
    {"of", "the", "and", "for", "de", "du", "des", "la", "le", "el", "al", "in", "on", "to", "et"}
)
_DEMONYM_SUFFIXES: Final = (
    "an", "ese", "ish", "i", "ic", "ch", "ss", "ek", "ot", "ais", "ois", "er", "ene", "ite",
    "ine", "ani", "man", "men", "woman", "women", "ans", "ians", "ers", "is",
)  # fmt: skip
_NOT_DEMONYM_ENDINGS: Final = ("stan", "land", "ia", "ea", "stani")
_BAD_CHARS: Final = re.compile(r"[(){}\[\]<>/\\:;!?=*\"|,0-9\ufffd@&%$]")
_CODE = re.compile(r"\[([^\]]*)\]")
_SUBSTITUTION = re.compile(r"^!([A-Z]+)!\s*=\s*(.+)$")


# --------------------------------------------------------------------------------------------
# Reading the Phoenix (TABARI/PETRARCH) format


@dataclass(frozen=True, slots=True)
class Code:
    """One ``[CODE dates]`` of an entry: a CAMEO code, valid between two dates (inclusive)."""

    code: str
    valid_from: date | None = None
    valid_until: date | None = None
    dated: bool = False  # a date span was written (readable or not)


@dataclass(slots=True)
class Entry:
    """One actor block of a Phoenix file: its name line, ``+`` aliases and codes."""

    name: str
    aliases: list[str] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)
    countryinfo: bool = False  # marked "# CountryInfo.txt": a head of state or government


def _phoenix_date(text: str) -> date | None:
    """``yymmdd`` (pivot :data:`YEAR_PIVOT`) or ``yyyymmdd``; anything else is unknown."""
    if not text.isdigit():
        return None
    if len(text) == 6:
        yy = int(text[:2])
        year = 2000 + yy if yy < YEAR_PIVOT else 1900 + yy
        month, day = int(text[2:4]), int(text[4:6])
    elif len(text) == 8:
        year, month, day = int(text[:4]), int(text[4:6]), int(text[6:8])
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_code(raw: str) -> Code | None:
    """``SRBGOV >20120611``, ``AFGELI 320101-331108``, ``YUGSRB <920427``, ``IGOUNO``.

    A date that cannot be read drops the whole bound pair (an open role is safer than a role
    bounded on one side by a typo).
    """
    parts = raw.split()
    if not parts:
        return None
    code = parts[0].lstrip("~").upper()
    if not re.fullmatch(r"[A-Z]{3,}", code):
        return None
    span = "".join(parts[1:])
    start = end = None
    if span.startswith(">"):
        start = _phoenix_date(span[1:])
    elif span.startswith("<"):
        end = _phoenix_date(span[1:])
    elif "-" in span:
        a, _, b = span.partition("-")
        start, end = _phoenix_date(a), _phoenix_date(b)
        if start is None or end is None:
            start = end = None
    return Code(code, start, end, bool(span))


def parse_actor_file(text: str) -> list[Entry]:
    """Entries of a Phoenix actor file, in file order; entries without any code are dropped
    (PETRARCH cannot code them either)."""
    entries: list[Entry] = []
    current: Entry | None = None
    blank = True
    for line in text.splitlines():
        body, _, comment = line.partition("#")
        if not body.strip():
            blank = blank or not line.strip()
            continue
        follows, blank = not blank, False
        codes = [c for c in (parse_code(m) for m in _CODE.findall(body)) if c is not None]
        rest = _CODE.sub(" ", body)
        if rest.startswith("+"):
            if current is not None:
                current.aliases.extend(a for a in rest[1:].split("+") if a.strip())
                current.codes.extend(codes)
        elif rest[:1].isspace() and not rest.strip():
            if current is not None:
                current.codes.extend(codes)
        elif rest.strip():
            if current is not None and follows and not current.codes:
                # Name lines without codes right above another name: synonyms of one block.
                current.aliases.append(rest.strip())
                current.codes.extend(codes)
                current.countryinfo = current.countryinfo or "CountryInfo" in comment
                continue
            current = Entry(rest.strip(), codes=codes, countryinfo="CountryInfo" in comment)
            entries.append(current)
    for entry in entries:
        parts = split_acronym(entry.name)
        if len(parts) == 2:
            entry.name = parts[0]
            entry.aliases.insert(0, parts[1])
        entry.aliases = [part for alias in entry.aliases for part in split_acronym(alias)]
    return [e for e in entries if e.codes]


def parse_agents(text: str) -> dict[str, str]:
    """Agent phrase (lower case, singular and regular plural) -> sector code.

    ``!SET!`` substitution sets are expanded, ``{...}`` lists irregular plurals; codes with
    a first sector outside :data:`SECTORS` are left out. The first code of a phrase wins.
    """
    from wordfreq import zipf_frequency

    sets: dict[str, list[str]] = {}
    agents: dict[str, str] = {}
    for line in text.splitlines():
        body = line.partition("#")[0].strip()
        if not body:
            continue
        sub = _SUBSTITUTION.match(body)
        if sub:
            sets[sub.group(1)] = [w.strip() for w in sub.group(2).split(",") if w.strip()]
            continue
        codes = _CODE.findall(body)
        if not codes:
            continue
        code = codes[0].strip().lstrip("~")[:3]
        if code not in SECTORS:
            continue
        phrase = _CODE.sub(" ", body)
        plurals: list[str] = []
        brace = re.search(r"\{([^}]*)\}", phrase)
        if brace:
            plurals = brace.group(1).split()
            phrase = phrase[: brace.start()] + phrase[brace.end() :]
        forms = [*_expand(phrase.strip(), sets), *(p for x in plurals for p in _expand(x, sets))]
        for form in forms:
            words = form.replace("_", " ").lower().split()
            if not words or any(not re.fullmatch(r"[a-z][a-z'.-]*", w) for w in words):
                continue
            if words[0] in ("a", "an", "the"):
                continue
            singular = " ".join(words)
            agents.setdefault(singular, code)
            if not brace:
                plural = _plural_phrase(words, zipf_frequency)
                if plural:
                    agents.setdefault(plural, code)
    for noun, code in SUPPLEMENT_AGENTS.items():
        agents.setdefault(noun, code)
    return agents


def _expand(phrase: str, sets: Mapping[str, list[str]]) -> list[str]:
    match = re.search(r"!([A-Z]+)!", phrase)
    if match is None:
        return [phrase]
    members = sets.get(match.group(1), [])
    out: list[str] = []
    for member in members:
        out.extend(_expand(phrase[: match.start()] + member + phrase[match.end() :], sets))
    return out


def _plural(word: str) -> str:
    if word.endswith("man"):
        return word[:-3] + "men"
    if re.search(r"(s|sh|ch|x|z)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s"


def _plural_phrase(words: list[str], zipf: Any) -> str | None:
    """Regular plural of the head noun (before "of"/"for", else the last word), kept only when
    English actually uses it (see :data:`PLURAL_ZIPF_DROP`)."""
    head = next((i - 1 for i, w in enumerate(words) if w in ("of", "for") and i > 0), None)
    if head is None:
        head = len(words) - 1
    word = words[head]
    if word.endswith(("s", "men")):
        return None
    plural = _plural(word)
    if zipf(plural, "en") < zipf(word, "en") - PLURAL_ZIPF_DROP or zipf(plural, "en") == 0:
        return None
    return " ".join([*words[:head], plural, *words[head + 1 :]])


# --------------------------------------------------------------------------------------------
# Names: cleaning, casing, filtering


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def snake_id(text: str) -> str:
    """A stable actor id from a name: ASCII, lower case, words joined by ``_``."""
    words = re.findall(r"[a-z0-9]+", _fold(text).replace("'", "").lower())
    ident = "_".join(words)
    if not ident or not ident[0].isalpha():
        ident = "x_" + ident
    return ident


def _initials(words: Sequence[str]) -> str:
    return "".join(w[0] for w in words if w and w.lower() not in _STOP_INITIALS).upper()


def _raw_words(raw: str) -> list[str]:
    return [w for w in re.split(r"[\s_]+", raw.strip()) if w]


@dataclass(frozen=True, slots=True)
class Filters:
    """What decides that a Phoenix name is usable text: word frequencies and generic nouns."""

    zipf: Any  # wordfreq.zipf_frequency
    generic: frozenset[str]  # agent nouns, lower case: never an alias on their own
    is_place: Any = None  # name -> a place (not a country) of that name exists
    #: The tagger's keys (spelling folded: "Majoor" ~ "major", "Mann" ~ "man") of English
    #: words with their frequencies.
    folded: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    #: The tagger's keys of given names.
    given_keys: frozenset[str] = frozenset()

    def common_when_folded(self, word: str, threshold: float = COMMON_WORD_ZIPF) -> bool:
        """A common word, or one the tagger's folding makes another common word."""
        from sitrep.gazetteer import normalise_place_name

        if self.common(word):
            return True
        lower = word.lower()
        others = self.folded.get(normalise_place_name(word), {})
        return any(f >= threshold for w, f in others.items() if w != lower)

    def common(self, word: str) -> bool:
        return bool(self.zipf(word.lower(), "en") >= COMMON_WORD_ZIPF)


def clean_name(
    raw: str, acronyms: frozenset[str], filters: Filters, *, words_ok: bool = False
) -> str | None:
    """A Phoenix name (``SUDAN_PEOPLE'S_LIBERATION_ARMY``) as text ("Sudan People's
    Liberation Army"), or None when it is not a usable name.

    Left out: catalogue forms with parentheses, commas, slashes or digits; names with fewer
    than :data:`MIN_LETTERS` letters; a bare generic agent noun ("police", "government"); a
    single word that is a common English word (see :data:`COMMON_WORD_ZIPF`); an acronym
    that spells a common word in lower case. ``words_ok`` keeps frequent words: a state's
    own names and demonyms ("Nigerian", "Thai", "Swiss") are frequent because they are names,
    and the state loop vets them otherwise.

    A trailing parenthesised acronym ("LIBERATION_TIGERS_OF_TAMIL_EELAM_(LTTE)_") is left
    to :func:`split_acronym`.
    """
    text = raw.replace("_", " ").strip(" .-'")
    if not text or _BAD_CHARS.search(text) or not text.isascii():
        return None
    words = text.split()
    if words and words[0].lower() == "the" and len(words) > 1:
        words = words[1:]
    letters = sum(c.isalpha() for c in "".join(words))
    if letters < MIN_LETTERS:
        return None
    cased = " ".join(_case_word(w, acronyms, i == 0) for i, w in enumerate(words))
    lower = cased.lower()
    if lower in filters.generic:
        return None
    if len(words) == 1 and not words_ok:
        bare = words[0].replace(".", "")
        is_acronym = cased.replace(".", "").isupper()
        threshold = ACRONYM_WORD_ZIPF if is_acronym else COMMON_WORD_ZIPF
        if filters.zipf(bare.lower(), "en") >= threshold:
            return None
    return cased


def split_acronym(raw: str) -> list[str]:
    """``NAME_(ACRONYM)_`` -> the name and the acronym, as two Phoenix names; else [raw]."""
    match = re.fullmatch(r"\s*(.+?)[_\s]*\(([A-Z][A-Z0-9.-]{1,7})\)[_\s]*", raw)
    if match is None:
        return [raw]
    name, acronym = match.group(1), match.group(2)
    if acronym.replace(".", "") != _initials(_raw_words(name)):
        return [name]  # "KOREA_(NORTH)_": a qualifier, not the name's acronym
    return [name, acronym]


def _case_word(word: str, acronyms: frozenset[str], first: bool) -> str:
    """Title case, keeping acronyms upper case and joining particles lower case."""
    bare = word.replace(".", "")
    if not first and word.lower() in _STOP_INITIALS and word.lower() not in ("al", "el"):
        return word.lower()
    if "." in word and len(bare) <= 6 and bare.isalpha():
        return word.upper()
    if bare.upper() in acronyms:
        return word.upper()
    parts = re.split(r"([-'])", word.lower())
    out = []
    for i, part in enumerate(parts):
        if part in ("-", "'"):
            out.append(part)
        elif i > 0 and parts[i - 1] == "'" and len(part) <= 2:
            out.append(part)  # People's, d'Ivoire
        else:
            out.append(part[:1].upper() + part[1:])
    return "".join(out)


def entry_acronyms(entry: Entry) -> set[str]:
    """Single-token names of an entry that are its acronym: they spell the initials of one of
    its longer names (NATO, ISIS, UNICEF), or carry no vowel (PKK, FSB)."""
    names = [entry.name, *entry.aliases]
    initials = {_initials(_raw_words(n)) for n in names if len(_raw_words(n)) > 1}
    found: set[str] = set()
    for name in names:
        words = _raw_words(name)
        if len(words) != 1:
            continue
        bare = re.sub(r"[^A-Za-z]", "", words[0]).upper()
        if not 2 <= len(bare) <= 6:
            continue
        if bare in initials or not re.search(r"[AEIOUY]", bare):
            found.add(bare)
    return found


# --------------------------------------------------------------------------------------------
# Countries


@dataclass(slots=True)
class State:
    alpha2: str
    alpha3: str
    id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    demonyms: list[str] = field(default_factory=list)


def _iso_states(hand_states: Mapping[str, str]) -> dict[str, State]:
    """Every ISO 3166-1 entry (states and territories), named as the news names it."""
    import country_converter  # type: ignore[import-untyped]
    import pycountry

    converter = country_converter.CountryConverter()
    data = converter.data
    short: dict[str, tuple[str, str]] = {}
    for _, row in data.iterrows():
        iso2 = str(row["ISO2"])
        if len(iso2) == 2:
            short[iso2] = (str(row["name_short"]), str(row["name_official"]))
    states: dict[str, State] = {}
    for country in sorted(pycountry.countries, key=lambda c: c.alpha_2):
        names = [
            short.get(country.alpha_2, ("", ""))[0],
            getattr(country, "common_name", ""),
            country.name,
            getattr(country, "official_name", ""),
            short.get(country.alpha_2, ("", ""))[1],
        ]
        usable = [n for n in dict.fromkeys(n.strip() for n in names if n) if _plain_name(n)]
        name = usable[0] if usable else country.name
        ident = hand_states.get(country.alpha_2) or snake_id(name)
        states[country.alpha_3] = State(country.alpha_2, country.alpha_3, ident, name, usable[1:])
    return states


def _plain_name(name: str) -> bool:
    """A name as text writes it: no catalogue commas or brackets, at least three letters."""
    return not re.search(r"[,()\[\]/;]", name) and sum(c.isalpha() for c in name) >= MIN_LETTERS


def _country_by_name(states: Mapping[str, State]) -> dict[str, str]:
    by_name: dict[str, str] = {}
    for alpha3, state in states.items():
        for n in (state.name, *state.aliases):
            by_name.setdefault(alias_key(n), alpha3)
    return by_name


def _distinctive_words(states: Mapping[str, State]) -> dict[str, set[str]]:
    """Per alpha-3, the words of its ISO names that fewer than three states' names use: a
    Phoenix alias with one of them ("Great Britain", "Republic of Serbia") names the state;
    "United", "Republic", "Guinea" alone do not."""
    words_of = {
        a3: {w for n in (s.name, *s.aliases) for w in re.findall(r"[a-z]+", _fold(n).lower())}
        - _STOP_INITIALS
        for a3, s in states.items()
    }
    count: dict[str, int] = {}
    for words in words_of.values():
        for w in words:
            count[w] = count.get(w, 0) + 1
    return {a3: {w for w in words if count[w] < 3 and len(w) > 2} for a3, words in words_of.items()}


def _is_demonym(name: str, state: State, zipf: Any) -> bool:
    """An adjective or people noun of the state ("Serbian", "Dutch", "North Korean").

    English demonyms end in a few suffixes; of the words that do, a demonym either begins like
    one of the state's names (Serb-ian, Swi-ss, Seychell-ois) or is a common English word
    (Dutch, British): a rare word that ends so ("Zuerich") is a place or a misspelling.
    """
    words = name.split()
    lower = name.lower()
    if not 1 <= len(words) <= 2 or lower.endswith(_NOT_DEMONYM_ENDINGS):
        return False
    suffix = next((x for x in sorted(_DEMONYM_SUFFIXES, key=len) if lower.endswith(x)), None)
    if suffix is None or len(words[-1]) < len(suffix) + 3:
        return False  # "Man" (Isle of Man) is no demonym, nor is "Men"
    if zipf(words[-1].lower(), "en") >= 5.6:
        return False  # the commonest words ("man", "woman") even when suffix-shaped
    names = [n.lower() for n in (state.name, *state.aliases)]
    if alias_key(name) in {alias_key(n) for n in names}:
        return False
    if len(words) == 2 and not any(words[0].lower() in n.split() for n in names):
        return False  # "North Korean", "Sri Lankan", but not "Lake Leman"
    last = words[-1].lower()
    stems = {w[:3] for n in names for w in n.split() if len(w) > 3}
    return last[:3] in stems or zipf(last, "en") >= 3.0


def _misspelling(name: str, state: State) -> bool:
    """One of Phoenix's recorded misspellings of the state's name ("Afganistan", "Ethopia",
    "Quatar"): one word, close to the name (difflib ratio >= 0.85), so that a typo in a
    story still names the state."""
    if " " in name or " " in state.name:
        return False
    ratio = difflib.SequenceMatcher(None, name.lower(), state.name.lower()).ratio()
    return ratio >= 0.85


def _people_nouns(
    demonyms: Sequence[str], zipf: Any, given_names: frozenset[str], states: Mapping[str, str]
) -> list[str]:
    """ "Serb(s)", "Croat(s)", "Turk(s)", "Czech(s)": the people noun English makes by
    dropping "-ian"/"-ish" from the adjective, kept when English uses its plural (Zipf
    >= 2.5), and it is not a common word ("Span"), a given name ("Dan", "Roman", "Finn") or
    a state's name ("Niger", "Jordan")."""
    found: list[str] = []
    for demonym in demonyms:
        lower = demonym.lower()
        suffix = next((s for s in ("ian", "ish") if lower.endswith(s)), None)
        if suffix is None or " " in demonym:
            continue
        stem = demonym[: -len(suffix)]
        key = stem.lower()
        if (
            len(stem) < 4 or zipf(key, "en") >= COMMON_WORD_ZIPF or key in given_names
            or alias_key(stem) in states or zipf(key + "s", "en") < 2.5
        ):  # fmt: skip
            continue
        found.extend([stem, stem + "s"])
    return found


def _demonym_plural(demonym: str, zipf: Any) -> str | None:
    """"Haitians" beside "Haitian", when English uses that plural."""
    if demonym.lower().endswith(("ese", "ish", "ch", "ss", "s", "men")):
        return None
    plural = demonym + "s"
    return plural if zipf(plural.lower(), "en") >= 1.0 else None


# --------------------------------------------------------------------------------------------
# The build


@dataclass(slots=True)
class Built:
    id: str
    name: str
    type: str
    countries: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    demonyms: list[str] = field(default_factory=list)
    parent: str | None = None
    sector: str | None = None
    roles: list[dict[str, Any]] = field(default_factory=list)

    def forms(self) -> list[str]:
        return [self.name, *self.aliases, *self.demonyms]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if self.countries:
            out["countries"] = self.countries
        if self.aliases:
            out["aliases"] = self.aliases
        if self.demonyms:
            out["demonyms"] = self.demonyms
        if self.parent:
            out["parent"] = self.parent
        if self.sector:
            out["sector"] = self.sector
        if self.roles:
            out["roles"] = self.roles
        return out


@dataclass(frozen=True, slots=True)
class Inputs:
    countries: str
    international: str
    nonstate: str
    agents: str
    hand: str
    #: Digest of the shipped data the build also reads (gazetteer, names list).
    shipped: str = ""

    def digest(self) -> str:
        h = hashlib.sha256()
        parts = (self.countries, self.international, self.nonstate, self.agents, self.hand)
        for part in (*parts, self.shipped):
            h.update(hashlib.sha256(part.encode("utf-8")).digest())
        return h.hexdigest()[:12]


def read_inputs(phoenix: Path, hand: Path) -> Inputs:
    def read(name: str) -> str:
        path = phoenix / PHOENIX_FILES[name]
        if not path.is_file():
            raise SystemExit(f"build_actors: {path} is missing (pass --phoenix DIR)")
        return path.read_text(encoding="utf-8", errors="replace")

    shipped = hashlib.sha256()
    for path in (DATA / "gazetteer" / "places.tsv.gz", NAMES_FILE):
        if path.is_file():
            shipped.update(path.read_bytes())
    return Inputs(
        read("countries"), read("international"), read("nonstate"), read("agents"),
        hand.read_text(encoding="utf-8"), shipped.hexdigest(),
    )  # fmt: skip


def _hand_forms(hand_text: str) -> set[str]:
    """Every name, alias and demonym of the hand dictionary (stripped, as the loader reads
    them): their stream keys are stored too, so that loading tokenises none of the names."""
    document = yaml.safe_load(hand_text) or {}
    forms: set[str] = set()
    for raw in document.get("actors") or ():
        if not isinstance(raw, dict):
            continue
        names = [raw.get("name"), *(raw.get("aliases") or ()), *(raw.get("demonyms") or ())]
        forms.update(n.strip() for n in names if isinstance(n, str) and n.strip())
    return forms


def _hand_states(hand_text: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Country code -> id and demonyms of the hand dictionary's states."""
    document = yaml.safe_load(hand_text) or {}
    ids: dict[str, str] = {}
    demonyms: dict[str, list[str]] = {}
    for raw in document.get("actors") or []:
        if raw.get("type") == "state" and len(raw.get("countries") or []) == 1:
            cc = raw["countries"][0]
            ids.setdefault(cc, raw["id"])
            demonyms.setdefault(cc, list(raw.get("demonyms") or []))
    return ids, demonyms


class CountryNames:
    """What the gazetteer (GeoNames) says: each country's names, and which names are places.

    ``places`` (name key -> countries) may be given instead of the gazetteer, as tests do.
    """

    def __init__(
        self,
        names: Mapping[str, Sequence[str]] | None = None,
        places: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self._lookup: Any = None
        if names is None:
            from sitrep.gazetteer import load_gazetteer

            gazetteer = load_gazetteer()
            self._lookup = gazetteer.lookup
            names = {}
            for place in gazetteer.countries():
                names.setdefault(place.country, [])
                names[place.country].extend(place.all_names())  # type: ignore[attr-defined]
        self.names = {cc: list(dict.fromkeys(ns)) for cc, ns in names.items()}
        self._keys = {cc: {alias_key(n) for n in ns} for cc, ns in self.names.items()}
        self._places = {k: set(v) for k, v in (places or {}).items()}

    def is_place(self, name: str, country: str | None = None) -> bool:
        """A populated place or region of that exact name (not a country) exists; with
        ``country``: in that country, or a big one (:data:`BIG_PLACE`) elsewhere, so that a
        village called "Argentine" does not take the adjective from Argentina."""
        key = alias_key(name)
        if key in self._places:
            return country is None or country in self._places[key]
        if self._lookup is None:
            return False
        return any(
            not p.is_country and key in (alias_key(p.name), alias_key(p.ascii_name))
            and (country is None or p.country == country or p.importance >= BIG_PLACE)
            for p in self._lookup(name)
        )  # fmt: skip

    def names_country(self, name: str, country: str) -> bool:
        return alias_key(name) in self._keys.get(country, set())


def build(inputs: Inputs, gazetteer: CountryNames | None = None) -> dict[str, Any]:
    """The registry document (see the module docstring); pure given its inputs."""
    from wordfreq import zipf_frequency

    gazetteer = gazetteer or CountryNames()
    agents = parse_agents(inputs.agents)
    filters = Filters(
        zipf_frequency, frozenset(agents), gazetteer.is_place, _folded_words(zipf_frequency)
    )
    hand_ids, hand_demonyms = _hand_states(inputs.hand)
    states = _iso_states(hand_ids)
    by_name = _country_by_name(states)

    country_entries = parse_actor_file(inputs.countries)
    international = parse_actor_file(inputs.international)
    nonstate = parse_actor_file(inputs.nonstate)
    acronyms = frozenset(
        a for e in (*country_entries, *international, *nonstate) for a in entry_acronyms(e)
    )
    org_words = _org_words(agents, nonstate, international, country_entries)
    given_names = frozenset(
        _raw_words(e.name)[0].lower() for e in country_entries if e.countryinfo and e.name
    ) | _given_names()
    from sitrep.gazetteer import normalise_place_name

    filters = Filters(
        filters.zipf, filters.generic, filters.is_place, filters.folded,
        frozenset(normalise_place_name(g) for g in given_names),
    )  # fmt: skip

    built: dict[str, Built] = {}
    # 1. States. Their names: ISO (pycountry), country-converter, GeoNames; of Phoenix's
    # aliases only the demonyms, the names GeoNames also gives the country, those with a
    # word only this state's ISO names use, and acronyms of its names. That leaves out
    # Phoenix's cities, provinces, rivers, nicknames and misspellings of each country.
    distinctive = _distinctive_words(states)
    for state in states.values():
        for geonames_name in gazetteer.names.get(state.alpha2, ()):
            if _plain_name(geonames_name) and not (
                " " not in geonames_name and geonames_name != state.name
                and filters.common_when_folded(geonames_name)
            ):  # fmt: skip
                state.aliases.append(geonames_name)
    for entry in country_entries:
        alpha3 = _state_of_header(entry, states, by_name)
        if alpha3 is None:
            continue
        state = states[alpha3]
        initials = {_initials(n.split()) for n in (state.name, *state.aliases) if " " in n}
        for phoenix_name in (entry.name, *entry.aliases):
            name = clean_name(phoenix_name, acronyms, filters, words_ok=True)
            if name is None:
                continue
            words = set(re.findall(r"[a-z]+", _fold(name).lower()))
            if gazetteer.is_place(name, state.alpha2) and not gazetteer.names_country(
                name, state.alpha2
            ):
                continue  # Khartoum, Port Sudan, Zurich: places, not the state
            if _is_demonym(name, state, zipf_frequency):
                state.demonyms.append(name)
            elif " " not in name and filters.common_when_folded(name):
                continue  # "Mann" (Isle of Man) would tag "man"
            elif (gazetteer.names_country(name, state.alpha2) or words & distinctive[alpha3]
                  or name.replace(".", "").upper() in initials
                  or _misspelling(name, state)):  # fmt: skip
                state.aliases.append(name)
    for state in states.values():
        demonyms = hand_demonyms.get(state.alpha2) or state.demonyms
        plurals = [p for p in (_demonym_plural(d, zipf_frequency) for d in demonyms) if p]
        stems = _people_nouns(demonyms, zipf_frequency, given_names, by_name)
        demonyms = list(dict.fromkeys([*demonyms, *plurals, *stems]))
        actor = Built(state.id, state.name, "state", [state.alpha2])
        actor.aliases = [a for a in dict.fromkeys(state.aliases) if a not in demonyms]
        actor.demonyms = demonyms
        built[actor.id] = actor
        adjective = actor.demonyms[0] if actor.demonyms else state.name
        for code, noun in SECTORS.items():
            sector = Built(
                f"{state.id}.{code.lower()}", f"{adjective} {noun}", "state_sector",
                [state.alpha2], parent=state.id, sector=code,
            )  # fmt: skip
            built[sector.id] = sector

    alpha2 = {s.alpha3: s.alpha2 for s in states.values()}
    state_id = {s.alpha2: s.id for s in states.values()}

    # 2. Everyone else: persons (with roles), institutions, IGOs, NGOs, armed groups.
    for source, entries in (("countries", country_entries), ("international", international),
                            ("nonstate", nonstate)):  # fmt: skip
        for entry in entries:
            if source == "countries" and _state_of_header(entry, states, by_name):
                continue
            found = _actor_of(
                entry, source, acronyms, filters, org_words, given_names, alpha2, state_id
            )
            if found is None:
                continue
            existing = built.get(found.id)
            if existing is None:
                built[found.id] = found
            elif existing.type == found.type and existing.type != "state_sector":
                existing.aliases.extend(found.aliases)
                existing.roles.extend(r for r in found.roles if r not in existing.roles)
                existing.countries.extend(c for c in found.countries if c not in existing.countries)
            # else: a name that two kinds of actor share: the first (a state's) keeps it.

    _merge_spelling_variants(built)
    _country_from_name(built)
    _initialisms(built, filters)
    _resolve_clashes(built)
    actors = [built[k].to_json() for k in sorted(built)]
    for checked in actors:
        Actor.model_validate(checked)  # what the loader will accept, checked at build time
    from sitrep.tag.actors import form_key

    forms = sorted({f for a in actors for f in (a["name"], *a.get("aliases", ()),
                                                *a.get("demonyms", ()))}
                   | _hand_forms(inputs.hand))  # fmt: skip
    return {
        "about": (
            "sitrep world actor registry, generated by tools/build_actors.py; do not edit by "
            "hand (edit actors.yaml, which wins over this file, or rebuild). Derived from the "
            "Phoenix/PETRARCH actor dictionaries (Copyright (c) 2014 Open Event Data Alliance, "
            "MIT License), pycountry (ISO 3166-1, LGPL-2.1) and country-converter (GPL-3.0 "
            "data, names only); aliases filtered with wordfreq (Apache-2.0). The derived "
            "registry is distributed under the MIT License of its Phoenix source."
        ),
        "version": f"world-{inputs.digest()}",
        "sectors": SECTORS,
        "agents": dict(sorted(agents.items())),
        # Each name's key in the tagger's token stream, so that loading need not tokenise
        # 37,000 names (tests/unit/test_actors_world.py checks them against the tagger's).
        "stream_keys": {f: form_key(f) for f in forms},
        "actors": actors,
    }


def _state_of_header(
    entry: Entry, states: Mapping[str, State], by_name: Mapping[str, str]
) -> str | None:
    """A Phoenix country header (``SERBIA [SRB]``): the ISO alpha-3 whose aliases it lists.

    The name decides when it names another ISO entity ("SAINT_BARTHELEMY [FRA]" is the
    territory BL); a code of a former state (YUG, SCG) gives nothing.
    """
    if entry.countryinfo:
        return None
    # The code in force: "SERBIA [SRB]" also lists its past as [YUGSRB <920427] ...
    current = [c for c in entry.codes if c.valid_until is None and (c.valid_from or not c.dated)]
    if len({c.code for c in current}) != 1:
        return None
    code = current[0].code
    named = by_name.get(alias_key(entry.name.replace("_", " ").strip()))
    if len(code) == 3 and code in states:
        return named or code
    if len(code) == 6 and named is not None and code[:3] in states:
        return named  # UNITED_STATES_VIRGIN_ISLANDS [USAVIR]
    return None


#: Given names world-wide (names-dataset, shipped for the tagger by tools/build_names.py):
#: a word that is someone's given name ("Ramadan", "Badia") is no one's surname alias.
NAMES_FILE: Final = DATA / "names" / "person_names.tsv.gz"


def _folded_words(zipf: Any) -> dict[str, dict[str, float]]:
    """The tagger's key of each of the 20,000 commonest English words -> those words and
    their frequencies: a one-word alias with such a key ("Majoor" folds to "major") would
    tag the common word."""
    from wordfreq import top_n_list

    from sitrep.gazetteer import normalise_place_name

    folded: dict[str, dict[str, float]] = {}
    for word in top_n_list("en", 20_000):
        if word.isalpha():
            folded.setdefault(normalise_place_name(word), {})[word] = zipf(word, "en")
    return folded


def _given_names() -> frozenset[str]:
    if not NAMES_FILE.is_file():
        return frozenset()
    with gzip.open(NAMES_FILE, "rt", encoding="utf-8") as handle:
        rows = [line.rstrip("\n").split("\t") for line in handle if not line.startswith("#")]
    return frozenset(r[0].lower() for r in rows if len(r) >= 2 and r[1] != "-")


def _org_words(
    agents: Mapping[str, str], *groups: Sequence[Entry]
) -> frozenset[str]:
    """Words that mark an organisation's name (police, ministry, front, brigade ...): the
    words of the agent nouns and of armed groups' names, less every word found in
    the name of a head of state or government (so no person's name is read as an org)."""
    nonstate, _international, countries = groups
    words = {w for phrase in agents for w in phrase.split()}
    for entry in nonstate:
        words.update(w.lower() for w in _raw_words(entry.name))
    person_words = {w.lower() for e in countries if e.countryinfo for w in _raw_words(e.name)}
    return frozenset(w for w in words - person_words if len(w) > 2)


def _actor_of(
    entry: Entry,
    source: str,
    acronyms: frozenset[str],
    filters: Filters,
    org_words: frozenset[str],
    given_names: frozenset[str],
    alpha2: Mapping[str, str],
    state_id: Mapping[str, str],
) -> Built | None:
    """One Phoenix entry as an actor. A person is a head of state or government (Phoenix's
    "CountryInfo" entries), or a name of two to four words without an organisation's word
    that has a dated role, comes from the countries file, or starts with a given name that a
    head of state or government bore (the undated "GILLIAN_MELLSOP [IGOUNOKID]", not
    "MEDECINS_SANS_FRONTIERES [NGOHLH]")."""
    name = clean_name(entry.name, acronyms, filters)
    aliases = [a for a in (clean_name(x, acronyms, filters) for x in entry.aliases) if a]
    if name is None:
        if not aliases:
            return None
        name, aliases = aliases[0], aliases[1:]
    roles = [r for r in (_role(c, alpha2) for c in entry.codes) if r is not None]
    words = [w.lower() for w in name.split()]
    dated = any("valid_from" in r or "valid_until" in r for r in roles)
    is_person = entry.countryinfo or (
        source != "nonstate" and 2 <= len(words) <= 4 and not set(words) & org_words
        and (dated or source == "countries" or words[0] in given_names)
    )  # fmt: skip
    first = entry.codes[0].code
    prefix = first[:3]
    country = alpha2.get(prefix)
    if is_person:
        if not roles:
            return None
        # A surname alone names the person only when it is not a common word (and, below,
        # when no other actor claims it).
        aliases = [a for a in aliases if len(a.split()) > 1 or not filters.common_when_folded(a)]
        if any(r["code"] == f"{prefix}GOV" for r in roles if "country" in r):
            aliases.extend(_surname_forms(name, filters, given_names))
        countries = sorted({r["country"] for r in roles if "country" in r})
        return Built(snake_id(name), name, "person", countries, aliases, roles=roles)
    sector = next((first[i : i + 3] for i in range(3, len(first), 3)
                   if first[i : i + 3] in SECTORS), None)  # fmt: skip
    if prefix == "IGO":
        kind = "igo"
    elif prefix == "NGO":
        kind = "ngo"
    elif source == "nonstate" or prefix == "IMG" or sector in ("REB", "UAF"):
        kind = "armed_group"
    elif prefix == "MNC":
        return None  # multinational companies: not actors of the news beats sitrep serves
    elif country is not None and sector is not None:
        kind = TYPE_OF_SECTOR.get(sector, "other")
    else:
        return None
    independent = kind in ("armed_group", "igo", "ngo")
    parent = state_id.get(country) if country and not independent else None
    # No ``sector`` here: in the registry only the generated ``<state>.<code>`` actors stand for
    # a state's sector (an institution of Phoenix's is one body of it, not all of it).
    return Built(snake_id(name), name, kind, [country] if country else [], aliases, parent=parent)


_SUFFIXES: Final = frozenset({"jr", "sr", "ii", "iii", "iv"})


def _surname_forms(name: str, filters: Filters, given_names: frozenset[str]) -> list[str]:
    """ "Mugabe", "al-Bashir" for a head of state or government (a role coded exactly
    ``<country>GOV``): news names them by surname ("President Mugabe"). Not when the surname
    is a common word or someone's given name; a surname two actors share is dropped later."""
    words = [w for w in name.split() if w.lower().strip(".") not in _SUFFIXES]
    if len(words) < 2:
        return []
    last = words[-1]
    lower = last.lower()
    if filters.common_when_folded(last, 3.0) or len(last) < 4 or lower in filters.generic:
        return []  # "Crook" is a criminal, not Kenneth Roy Crook
    if filters.is_place(last):
        return []  # "Badia"
    from sitrep.gazetteer import normalise_place_name

    if last.lower() in given_names or normalise_place_name(last) in filters.given_keys:
        return []  # "Hamid"; "Omaar" folds to the given name "Omar" (and the tagger drops
        # the article of "al-Hamid", so that is no way out)
    return [last]


def _role(code: Code, alpha2: Mapping[str, str]) -> dict[str, Any] | None:
    """A person's role from a code: country, sector, CAMEO code and validity dates."""
    text = code.code
    if len(text) < 3 or text.startswith("---"):
        return None
    role: dict[str, Any] = {"code": text}
    country = alpha2.get(text[:3])
    if country:
        role["country"] = country
    sector = next((text[i : i + 3] for i in range(3 if country else 0, len(text), 3)
                   if text[i : i + 3] in SECTORS), None)  # fmt: skip
    if sector:
        role["sector"] = sector
    if code.valid_from and code.valid_until and code.valid_from > code.valid_until:
        return None  # a reversed range is a typo: no reading of it is safe
    if code.valid_from:
        role["valid_from"] = code.valid_from.isoformat()
    if code.valid_until:
        role["valid_until"] = code.valid_until.isoformat()
    return role


#: British and American spellings that Phoenix lists as separate entries of one body
#: ("Organisation for Security and Co-operation in Europe" and "... Cooperation ...").
_SPELLINGS: Final = (
    ("organisation", "organization"), ("labour", "labor"), ("co operation", "cooperation"),
    ("defence", "defense"), ("centre", "center"), ("programme", "program"),
)  # fmt: skip


def _merge_spelling_variants(built: dict[str, Built]) -> None:
    """One IGO, NGO or armed group per name up to British/American spelling: the entry with
    the smallest id keeps the others' names as aliases."""
    groups: dict[tuple[str, str], list[str]] = {}
    for actor in built.values():
        if actor.type not in ("igo", "ngo", "armed_group"):
            continue
        key = alias_key(actor.name)
        for british, american in _SPELLINGS:
            key = key.replace(british, american)
        groups.setdefault((actor.type, key), []).append(actor.id)
    for ids in groups.values():
        if len(ids) < 2:
            continue
        keeper, *others = sorted(ids)
        for other in others:
            gone = built.pop(other)
            built[keeper].aliases.extend([gone.name, *gone.aliases])
            built[keeper].countries.extend(
                c for c in gone.countries if c not in built[keeper].countries
            )


def _initialisms(built: dict[str, Built], filters: Filters) -> None:
    """IGOs and armed groups are written by their initials ("OSCE", "ILO", "NPFL") more
    often than Phoenix lists them: the initials of a name of three or more significant words
    (3 to 6 letters for an IGO, 4 to 6 for a group; no common word) become an alias; two
    actors with the same initials lose them both (see :func:`_resolve_clashes`)."""
    for actor in built.values():
        if actor.type not in ("igo", "armed_group"):
            continue
        words = actor.name.split()  # "Co-operation" is one word: one initial
        significant = [w for w in words if w.lower() not in _STOP_INITIALS]
        if len(significant) < 3 or not all(w[:1].isalpha() for w in significant):
            continue
        initials = "".join(w[0] for w in significant).upper()
        shortest = 3 if actor.type == "igo" else 4  # the ILO, the WFP
        if shortest <= len(initials) <= 6 and not filters.common_when_folded(initials, 3.0):
            actor.aliases.append(initials)


def _country_from_name(built: dict[str, Built]) -> None:
    """An armed group, party or NGO that Phoenix gives no country but whose names name
    exactly one state ("Sudan Liberation Army" -> SD) belongs to that state."""
    forms: dict[str, str] = {}
    for actor in built.values():
        if actor.type == "state":
            for form in (actor.name, *actor.aliases, *actor.demonyms):
                if len(form) > 3:
                    forms.setdefault(form.lower(), actor.countries[0])
    pattern = re.compile(
        r"\b(" + "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)) + r")\b"
    )
    for actor in built.values():
        if actor.countries or actor.type not in ("armed_group", "political_party", "ngo"):
            continue
        found = {forms[m] for n in (actor.name, *actor.aliases)
                 for m in pattern.findall(n.lower())}  # fmt: skip
        if len(found) == 1:
            actor.countries = sorted(found)


def _resolve_clashes(built: dict[str, Built]) -> None:
    """Make every name claimed by one actor only, deterministically.

    A form claimed by several actors names none of them for sure: it is dropped from all
    that have it as an alias. When it is the *name* of several (two persons called alike),
    the one with the most roles (then the smallest id) keeps the name and the others go.
    States and their sectors come first and are never dropped.
    """
    priority = {"state": 0, "state_sector": 1}
    ordered = sorted(built.values(), key=lambda a: (priority.get(a.type, 2), a.id))
    owners: dict[str, list[str]] = {}
    for actor in ordered:
        for form in dict.fromkeys(actor.forms()):
            owners.setdefault(alias_key(form), []).append(actor.id)
    for key, ids in owners.items():
        if len(set(ids)) < 2:
            continue
        named = [i for i in ids if alias_key(built[i].name) == key]
        keeper: str | None = None
        if named:
            keeper = min(named, key=lambda i: (priority.get(built[i].type, 2),
                                               -len(built[i].roles), i))  # fmt: skip
        for ident in dict.fromkeys(ids):
            if ident == keeper or ident not in built:
                continue
            actor = built[ident]
            if alias_key(actor.name) == key:
                if actor.type not in priority:
                    del built[ident]
                continue
            actor.aliases = [a for a in actor.aliases if alias_key(a) != key]
            actor.demonyms = [d for d in actor.demonyms if alias_key(d) != key]
    for actor in built.values():
        own = alias_key(actor.name)
        actor.aliases = [a for a in dict.fromkeys(actor.aliases) if alias_key(a) != own]
        if actor.parent is not None and actor.parent not in built:
            actor.parent = None


def render(document: Mapping[str, Any]) -> str:
    """JSON with one actor per line: loads fast and a rebuild diffs line by line."""
    head = {k: v for k, v in document.items() if k != "actors"}
    lines = ["{"]
    for key, value in head.items():
        lines.append(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False, sort_keys=True)},")
    lines.append('"actors": [')
    actors = document["actors"]
    for i, actor in enumerate(actors):
        comma = "," if i < len(actors) - 1 else ""
        lines.append(json.dumps(actor, ensure_ascii=False, sort_keys=True) + comma)
    lines.append("]}")
    return "\n".join(lines) + "\n"


def _default_phoenix() -> Path:
    devsets = os.environ.get("SITREP_DEVSETS_DIR")
    base = Path(devsets) if devsets else ROOT.parent / "shared" / "devsets"
    return base / "actors" / "phoenix-dictionaries"


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phoenix", type=Path, default=None, help="Phoenix dictionaries dir")
    parser.add_argument("--hand", type=Path, default=DEFAULT_HAND, help="hand dictionary")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(list(argv) if argv is not None else None)
    inputs = read_inputs(args.phoenix or _default_phoenix(), args.hand)
    document = build(inputs)
    text = render(document)
    args.output.write_text(text, encoding="utf-8")
    kinds: dict[str, int] = {}
    for actor in document["actors"]:
        kinds[actor["type"]] = kinds.get(actor["type"], 0) + 1
    forms = sum(
        1 + len(a.get("aliases", ())) + len(a.get("demonyms", ())) for a in document["actors"]
    )
    print(
        f"{args.output}: {len(document['actors'])} actors {dict(sorted(kinds.items()))}, "
        f"{forms} names, {len(document['agents'])} agent nouns, {len(text.encode())} bytes"
    )
    return 0


def iter_actors(document: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    yield from document["actors"]


if __name__ == "__main__":
    raise SystemExit(main())
