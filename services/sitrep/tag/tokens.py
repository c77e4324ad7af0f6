"""Tokens and the normalised stream the automata run over (step 1 of :mod:`sitrep.tag`).

The text is cut into word tokens; each is folded with
:func:`sitrep.gazetteer.normalise_place_name`, the function that made the gazetteer's keys, so
"al-Tanf", "At Tanf" and "Tanf" meet the same key. Arabic articles leave the stream as the
normaliser drops them from names; possessives ("Iraq's") and French elisions ("l'Irak") are
cut off; dotted acronyms ("U.S.") become one token. Sentence punctuation, commas and line
breaks end a run, so no name spans "Iraq, Syria". Tokens keep their offsets in the original
text: every span the tagger reports comes from here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from operator import add, sub
from typing import Final

from sitrep.gazetteer import ARTICLES, normalise_place_name
from sitrep.tag.words import word_set

APOS = "'\u2018\u2019\u201b\u02bc\u02bb\u02bd\u02be\u02bf`\u00b4\u2032\uff07"
_MARKS = "\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640"
# A dotted acronym ("U.S.", "U.S", "E.U."), or a word with inner apostrophes ("Ba'aj").
# "W.Va.", "Ph.D." too (one lowercase letter after each capital), but not "St.Louis".
_TOKEN_RE: Final = re.compile(
    rf"[A-Z][a-z]?(?:\.[A-Z][a-z]?)+\.?(?![a-z])|[\w{_MARKS}]+(?:[{APOS}][\w{_MARKS}]+)*"
)
DASHES = "\\-\u2010\u2011\u2012\u2013"
# What may stand between two tokens of one name: spaces, hyphens and dashes, apostrophes.
JOINER_RE: Final = re.compile(rf"[ \t\u00a0\u2009\u202f{DASHES}{APOS}]*")
_SENTENCE_RE: Final = re.compile(r'[.!?:;\n"“”«»()\[\]|•]')
_ELISIONS: Final = ("l'", "d'", "l’", "d’", "L'", "D'", "L’", "D’")
ABBREVIATIONS: Final = word_set(
    "mr mrs ms dr gen col lt maj capt sgt adm sen rep gov prof st no vs"
)
#: Abbreviations that begin place names ("St. Louis", "Mt. Vernon", "Ft. Worth").
_NAME_ABBREVIATIONS: Final = frozenset({"St", "Ste", "Mt", "Ft"})


def g_is_plain(gap: str) -> bool:
    """A full stop and spaces only: what an abbreviation inside a name leaves."""
    return gap.rstrip(" ") == "."


_BOUNDARY: Final = "|"  # in the stream, where a name cannot continue
_WORD_CHAR_RE: Final = re.compile(rf"[\w{_MARKS}]")
# Splits a text into gap, token, gap, token ... and what follows the last token.
_SPLIT_RE: Final = re.compile(f"({_TOKEN_RE.pattern})")
ARABIC_RE: Final = re.compile("[\u0600-\u06ff]")
_ARABIC_PROCLITIC_ARTICLE: Final = frozenset({"وال", "بال", "فال", "كال"})


@dataclass(slots=True)
class Token:
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


def word_info(raw: str) -> _WordInfo:
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


class Tokens:
    """The tokens of a text as parallel lists (the hot paths read these); a :class:`Token`
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
        self._made: list[Token | None] = [None] * len(raws)

    def __len__(self) -> int:
        return len(self.raws)

    def __getitem__(self, i: int) -> Token:
        tok = self._made[i]
        if tok is None:
            tok = self._made[i] = Token(
                self.starts[i], self.ends[i], self.raws[i], self.keys[i], self.articles[i],
                self.sentence[i], self.gaps[i], self.possessive[i], self.joined[i],
            )  # fmt: skip
        return tok


_EMPTY_TOKENS: Final = Tokens([], [], [], [], [], [], [], [], [])


_GAP_SENTENCE: dict[str, bool] = {}  # a gap -> it ends a sentence (before "Mr." is undone)
_GAP_JOINED: dict[str, bool] = {}  # a gap -> a name may run on across it
_GAP_CACHE_MAX: Final = 100_000


def _gap_info(gap: str) -> tuple[bool, bool]:
    """Whether a gap between two words ends a sentence, and whether a name may run across it
    (only spaces, dashes and apostrophes, and no sentence end; a full stop after an
    abbreviation ("Mr. Jordan") ends no sentence but is no joiner either)."""
    sentence = gap != " " and _SENTENCE_RE.search(gap) is not None
    return sentence, gap == " " or (not sentence and JOINER_RE.fullmatch(gap) is not None)


def tokenise(text: str) -> Tokens:
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
            if raw[-1] in "sS" and raw[-2] in APOS:  # Iraq's
                possessive[i] = True
                ends[i] -= 2
                raw = raw[:-2]
            if raw[:2] in _ELISIONS and len(raw) > 3 and raw[2].isupper():  # French: l'Irak
                starts[i] += 2
                gaps[i] += raw[:2]
                raw = raw[2:]
            raws[i] = raw
    cached = _WORD_CACHE.get
    infos = [cached(r) or word_info(r) for r in raws]
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
        before = raws[i - 1]
        sentence[i] = before.lower() not in ABBREVIATIONS  # "Mr. Jordan"
        if before in _NAME_ABBREVIATIONS and g_is_plain(gaps[i]):
            joined[i] = True  # "St. Petersburg", "Mt. Vernon": one name
    joined[0] = False
    keys = [i.key for i in infos]
    articles = [i.article for i in infos]
    return Tokens(starts, ends, raws, keys, articles, sentence, gaps, possessive, joined)


@dataclass(slots=True)
class Stream:
    """The tokens' keys joined by spaces, with ``|`` where a name cannot continue."""

    text: str
    starts: dict[int, int]  # stream offset of a token's first char -> token index
    ends: dict[int, int]  # stream offset just after a token -> token index


def build_stream(tokens: Tokens, keys: Sequence[str] | None = None) -> Stream:
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
    return Stream("".join(parts), starts, ends)


def without_conjunctions(tokens: Tokens) -> list[str] | None:
    """Token keys with the Arabic conjunctions "wa-" and "fa-" cut off ("ونينوى" is "and
    Nineveh"), or None when no token has one. Used as a second stream: cutting them always
    would break names that begin with the letter (وادي, wadi)."""
    keys = list(tokens.keys)
    changed = False
    for i, key in enumerate(tokens.keys):
        if len(key) >= 4 and key[0] in "وف" and "\u0600" <= key[1] <= "\u06ff":
            keys[i] = word_info(key[1:]).key
            changed = True
    return keys if changed else None


def stream_key(name: str) -> str:
    """The key a name gets in the stream, for dictionary entries matched over it."""
    tokens = tokenise(name)
    n = len(tokens)
    keys = [k for i, k in enumerate(tokens.keys) if not (tokens.articles[i] and i + 1 < n)]
    return " ".join(keys)


def capitalised_word(raw: str) -> bool:
    """Starts with a capital and is not all capitals (an acronym): :attr:`Token.capitalised`."""
    return raw[0].isupper() and not raw.isupper()


def is_cased(word: str) -> bool:
    c = word[0]
    return c.lower() != c.upper()


def compact_letters(s: str) -> str:
    return "".join(c for c in s if c.isalnum())


def fold_name(s: str) -> str:
    """Case, diacritics and punctuation folded, articles and spelling kept: "exactly" a name."""
    decomposed = unicodedata.normalize("NFKD", s.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[\W_]+", " ", letters).split())


def name_article(tokens: Tokens, i: int) -> bool:
    """Whether the article before a name is part of it ("al-Tanf", "At Tanf"; not "at Mosul",
    not "An" opening a sentence)."""
    tok = tokens[i]
    nxt = tokens[i + 1]
    if not nxt.joined:
        return False
    if tok.key in ("al", "el") or any(c in DASHES or c in APOS for c in nxt.prev_gap):
        return True
    return tok.raw[0].isupper() and nxt.raw[:1].isupper() and not tok.sentence_start


def title_case_tokens(tokens: Tokens, title_len: int) -> set[int]:
    """Indices of the title's tokens when the title is in title case (every word capitalised):
    capitals there say nothing about proper nouns."""
    if not title_len:
        return set()
    idx = [i for i, start in enumerate(tokens.starts) if start < title_len]
    raws = tokens.raws
    words = [raws[i] for i in idx if len(raws[i]) > 3 and is_cased(raws[i])]
    if len(words) < 3 or sum(w[0].isupper() for w in words) < 0.6 * len(words):
        return set()
    return set(idx)
