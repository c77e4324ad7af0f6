"""The alert matcher: query trees evaluated in memory against one article at a time.

Alert subscriptions are stored queries (:func:`sitrep.query.parse`) that must fire on an
article exactly when Elasticsearch would return that article for
:func:`sitrep.query.to_elasticsearch` of the query. Asking the cluster once per article and
subscription would not scale with the stream, so the matcher re-implements, in Python, the
few pieces of Elasticsearch that the translation relies on:

- **Words** search the ``title_stems`` / ``text_stems`` fields, which hold
  :func:`sitrep.index.stems` output analysed by the ``whitespace`` analyzer: a set of tokens
  per field is all that is needed. A word with several stems (``al-Tanf``) is a
  ``multi_match`` ``best_fields`` with operator ``and``: every stem in the *same* field.
- **Phrases** search ``title`` / ``text`` with the ``standard`` analyzer: the phrase's tokens
  must appear contiguously, in order. :func:`standard_tokens` approximates Lucene's
  ``StandardTokenizer`` (Unicode UAX#29 word boundaries, Lucene's token types) plus its
  per-code-point lower-casing; it is only run when a phrase is evaluated, and once per field.
- **Field filters** are ``term`` queries on keyword fields: exact, or with
  ``case_insensitive`` which in Elasticsearch folds *ASCII* letters only (``Straße`` is not
  ``STRASSE``, ``ÉCLAIR`` is not ``éclair``), so the matcher folds ASCII only too.

:class:`SubscriptionIndex` adds the pre-selection of :func:`sitrep.query.terms_of` (the
Luwak / Lucene Monitor "presearcher" idea): subscriptions are indexed by terms one of which
any matching article must contain, so the cost per article grows with the article's terms,
not with the number of subscriptions.

Everything here is pure: no I/O, no clock; the gazetteer behind
:func:`sitrep.query.region_keys` / :func:`sitrep.query.country_code` is the only data read.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, Final, Generic, TypeVar

from sitrep.index import stems
from sitrep.query import (
    _ACTOR_ID,
    _REGION_KEY,
    And,
    Field,
    Node,
    Not,
    Or,
    Phrase,
    Term,
    country_code,
    document_terms,
    mandatory_terms,
    region_keys,
    term_weight,
    terms_of,
)

__all__ = [
    "MAX_TOKEN_LENGTH",
    "DocumentView",
    "Predicate",
    "SubscriptionIndex",
    "compile_query",
    "matches",
    "standard_tokens",
]

#: Lucene's default ``max_token_length`` for the standard and whitespace tokenizers: longer
#: runs are cut into pieces of this many characters (UTF-16 code units in Java).
MAX_TOKEN_LENGTH: Final = 255

Predicate = Callable[["DocumentView"], bool]
K = TypeVar("K", bound=Hashable)

# --------------------------------------------------------------------------------------------
# Lucene's StandardTokenizer, approximated
# --------------------------------------------------------------------------------------------
# Word_Break classes (UAX#29) as far as the tokenizer distinguishes them. Python's
# unicodedata has no Word_Break property, so classes are derived from general categories,
# scripts (by block) and the short lists of punctuation UAX#29 names explicitly.

_OTHER: Final = 0
_ALETTER: Final = 1
_HEBREW: Final = 2
_NUMERIC: Final = 3
_KATAKANA: Final = 4
_EXTENDNUMLET: Final = 5
_MIDLETTER: Final = 6
_MIDNUMLET: Final = 7
_MIDNUM: Final = 8
_SINGLE_QUOTE: Final = 9
_DOUBLE_QUOTE: Final = 10
_EXTEND: Final = 11  # Extend, Format and ZWJ: they attach to the character before (WB4)
_IDEOGRAPHIC: Final = 12
_HIRAGANA: Final = 13
_SOUTHEAST_ASIAN: Final = 14  # Line_Break=Complex_Context: Thai, Lao, Khmer, Myanmar...
_EMOJI: Final = 15
_REGIONAL: Final = 16
_SPACE: Final = 17  # where WB4 does not attach (line breaks) and plain separators

_AHLETTER: Final = frozenset({_ALETTER, _HEBREW})
_WORDISH: Final = frozenset({_ALETTER, _HEBREW, _NUMERIC, _KATAKANA, _EXTENDNUMLET})
_CONTINUES_WORD: Final = frozenset({_ALETTER, _HEBREW, _NUMERIC, _EXTENDNUMLET})
_MIDLETTER_LIKE: Final = frozenset({_MIDLETTER, _MIDNUMLET, _SINGLE_QUOTE})
_MIDNUM_LIKE: Final = frozenset({_MIDNUM, _MIDNUMLET, _SINGLE_QUOTE})

_MIDLETTER_CHARS: Final = frozenset("\u003a\u00b7\u0387\u055f\u05f4\u2027\ufe13\ufe55\uff1a")
_MIDNUMLET_CHARS: Final = frozenset("\u002e\u2018\u2019\u2024\ufe52\uff07\uff0e")
_MIDNUM_CHARS: Final = frozenset(
    "\u002c\u003b\u037e\u0589\u060c\u060d\u066c\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b"
)
_ZWSP: Final = "\u200b"
_ZWJ: Final = "\u200d"

_KATAKANA_RANGES: Final = (
    (0x3031, 0x3035), (0x309B, 0x309C), (0x30A0, 0x30FF), (0x31F0, 0x31FF),
    (0x32D0, 0x32FE), (0x3300, 0x3357), (0xFF66, 0xFF9D), (0x1B000, 0x1B000),
)
_HIRAGANA_RANGES: Final = ((0x3041, 0x309A), (0x309D, 0x309F), (0x1B001, 0x1B11F))
_IDEOGRAPHIC_RANGES: Final = (
    (0x2E80, 0x2FDF), (0x3005, 0x3007), (0x3021, 0x3029), (0x3038, 0x303B),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3FFFD),
)
_SOUTHEAST_ASIAN_RANGES: Final = (
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x1950, 0x19FF),
    (0x1A20, 0x1AAF), (0xA9E0, 0xA9FF), (0xAA60, 0xAADF), (0x11700, 0x1174F),
)
_HEBREW_RANGES: Final = ((0x05D0, 0x05F2), (0xFB1D, 0xFB4F))
# Extended_Pictographic, approximately (the characters Lucene emits as <EMOJI> tokens).
_EMOJI_RANGES: Final = (
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049),
    (0x2122, 0x2122), (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA),
    (0x231A, 0x231B), (0x2328, 0x2328), (0x2388, 0x2388), (0x23CF, 0x23CF),
    (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2), (0x25AA, 0x25AB),
    (0x25B6, 0x25B6), (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x2605),
    (0x2607, 0x2612), (0x2614, 0x2685), (0x2690, 0x2705), (0x2708, 0x2712),
    (0x2714, 0x2714), (0x2716, 0x2716), (0x271D, 0x271D), (0x2721, 0x2721),
    (0x2728, 0x2728), (0x2733, 0x2734), (0x2744, 0x2744), (0x2747, 0x2747),
    (0x274C, 0x274C), (0x274E, 0x274E), (0x2753, 0x2755), (0x2757, 0x2757),
    (0x2763, 0x2767), (0x2795, 0x2797), (0x27A1, 0x27A1), (0x27B0, 0x27B0),
    (0x27BF, 0x27BF), (0x2934, 0x2935), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50), (0x2B55, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D),
    (0x3297, 0x3297), (0x3299, 0x3299), (0x1F000, 0x1F0FF), (0x1F10D, 0x1F10F),
    (0x1F12F, 0x1F12F), (0x1F16C, 0x1F171), (0x1F17E, 0x1F17F), (0x1F18E, 0x1F18E),
    (0x1F191, 0x1F19A), (0x1F1AD, 0x1F1E5), (0x1F201, 0x1F20F), (0x1F21A, 0x1F21A),
    (0x1F22F, 0x1F22F), (0x1F232, 0x1F23A), (0x1F23C, 0x1F23F), (0x1F249, 0x1F3FA),
    (0x1F3FB, 0x1F3FF), (0x1F400, 0x1F53D), (0x1F546, 0x1F64F), (0x1F680, 0x1F6FF),
    (0x1F774, 0x1F77F), (0x1F7D5, 0x1F7FF), (0x1F80C, 0x1F80F), (0x1F848, 0x1F84F),
    (0x1F85A, 0x1F85F), (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8FF), (0x1F90C, 0x1F93A),
    (0x1F93C, 0x1F945), (0x1F947, 0x1FAFF), (0x1FC00, 0x1FFFD),
)
_KEYCAP_BASES: Final = frozenset("#*0123456789")
_KEYCAP: Final = "\u20e3"
_EMOJI_MODIFIERS: Final = (0x1F3FB, 0x1F3FF)


def _within(code: int, ranges: Iterable[tuple[int, int]]) -> bool:
    return any(low <= code <= high for low, high in ranges)


@lru_cache(maxsize=65536)
def _word_break(char: str) -> int:
    """The (approximate) Word_Break class of one character, as the tokenizer uses it."""
    if char in _MIDNUMLET_CHARS:
        return _MIDNUMLET
    if char in _MIDLETTER_CHARS:
        return _MIDLETTER
    if char in _MIDNUM_CHARS:
        return _MIDNUM
    if char == "'":
        return _SINGLE_QUOTE
    if char == '"':
        return _DOUBLE_QUOTE
    code = ord(char)
    if _EMOJI_MODIFIERS[0] <= code <= _EMOJI_MODIFIERS[1]:
        return _EMOJI
    if 0x1F1E6 <= code <= 0x1F1FF:
        return _REGIONAL
    category = unicodedata.category(char)
    if char == _ZWSP:
        return _OTHER
    if category in ("Mn", "Mc", "Me", "Cf"):
        return _EXTEND
    if char in "\n\r\x0b\x0c\x85\u2028\u2029":
        return _SPACE
    if category == "Nd":
        return _NUMERIC
    if category == "Pc" or char == "\u202f":
        return _EXTENDNUMLET
    if _within(code, _KATAKANA_RANGES):
        return _KATAKANA
    if _within(code, _HIRAGANA_RANGES):
        return _HIRAGANA
    if category[0] == "L" or category == "Nl":
        if _within(code, _IDEOGRAPHIC_RANGES):
            return _IDEOGRAPHIC
        if _within(code, _SOUTHEAST_ASIAN_RANGES):
            return _SOUTHEAST_ASIAN
        if _within(code, _HEBREW_RANGES):
            return _HEBREW
        return _ALETTER
    if 0x24B6 <= code <= 0x24E9:  # circled letters are Alphabetic
        return _ALETTER
    if _within(code, _IDEOGRAPHIC_RANGES) and category[0] != "P":
        return _IDEOGRAPHIC
    if _within(code, _EMOJI_RANGES):
        return _EMOJI
    return _OTHER


@lru_cache(maxsize=65536)
def _lower_char(char: str) -> str:
    """Java's ``Character.toLowerCase``: a simple, one-to-one mapping per code point (so
    ``İ`` is ``i`` and a final ``Σ`` is ``σ``, unlike Python's context-aware ``str.lower``)."""
    lowered = char.lower()
    return lowered if len(lowered) == 1 else lowered[0]


def _lower(token: str) -> str:
    if token.isascii():
        return token.lower()
    return "".join(map(_lower_char, token))


def _units(text: str) -> list[tuple[int, str]]:
    """Characters with their Extend/Format/ZWJ followers attached (UAX#29 rule WB4)."""
    units: list[tuple[int, str]] = []
    for char in text:
        kind = _word_break(char)
        if kind == _EXTEND and units and units[-1][0] != _SPACE:
            last_kind, last_text = units[-1]
            units[-1] = (last_kind, last_text + char)
        else:
            units.append((kind, char))
    return units


def _word_end(units: Sequence[tuple[int, str]], start: int) -> tuple[int, bool]:
    """The end of the word starting at ``start`` (rules WB5-WB13b), and whether it has more
    than connectors (a run of ``_`` alone is no token)."""
    n = len(units)
    previous = units[start][0]
    substantive = previous != _EXTENDNUMLET
    i = start + 1
    while i < n:
        kind = units[i][0]
        following = units[i + 1][0] if i + 1 < n else _OTHER
        if previous in _AHLETTER:
            if kind in _CONTINUES_WORD:
                pass
            elif (kind in _MIDLETTER_LIKE and following in _AHLETTER) or (
                previous == _HEBREW and kind == _DOUBLE_QUOTE and following == _HEBREW
            ):
                i += 1
                kind = following
            elif previous == _HEBREW and kind == _SINGLE_QUOTE:
                i += 1
                previous = _OTHER  # WB7a ends nothing, but no rule continues after it
                continue
            else:
                break
        elif previous == _NUMERIC:
            if kind in _CONTINUES_WORD:
                pass
            elif kind in _MIDNUM_LIKE and following == _NUMERIC:
                i += 1
                kind = following
            else:
                break
        elif previous == _KATAKANA:
            if kind not in (_KATAKANA, _EXTENDNUMLET):
                break
        elif previous == _EXTENDNUMLET:
            if kind not in _WORDISH:
                break
        else:
            break
        substantive = substantive or kind != _EXTENDNUMLET
        previous = kind
        i += 1
    return i, substantive


def _emoji_end(units: Sequence[tuple[int, str]], start: int) -> int:
    """The end of an emoji sequence: modifiers, and ZWJ-joined pictographs (WB3c)."""
    n = len(units)
    i = start + 1
    while i < n and units[i][0] == _EMOJI:
        joined = units[i - 1][1].endswith(_ZWJ)
        code = ord(units[i][1][0])
        if not (joined or _EMOJI_MODIFIERS[0] <= code <= _EMOJI_MODIFIERS[1]):
            break
        i += 1
    return i


def _split_long(token: str) -> Iterable[str]:
    """Lucene cuts tokens longer than ``max_token_length`` UTF-16 units into pieces."""
    if len(token) <= MAX_TOKEN_LENGTH and token.isascii():
        yield token
        return
    piece: list[str] = []
    size = 0
    for char in token:
        width = 2 if ord(char) > 0xFFFF else 1
        if size + width > MAX_TOKEN_LENGTH:
            yield "".join(piece)
            piece, size = [], 0
        piece.append(char)
        size += width
    if piece:
        yield "".join(piece)


# The fast path: when every character of a text is ASCII, a letter of an ordinary alphabet, a
# decimal digit or punctuation that only separates, rules WB5-WB13b reduce to one regular
# expression (C speed instead of a Python loop per character). Rare scripts, combining
# marks, emoji and the like take the general path.
_MID_LETTER_CLASS: Final = "[" + re.escape("".join(sorted(
    _MIDLETTER_CHARS | _MIDNUMLET_CHARS | {"'"}
))) + "]"
_MID_NUMBER_CLASS: Final = "[" + re.escape("".join(sorted(
    _MIDNUM_CHARS | _MIDNUMLET_CHARS | {"'"}
))) + "]"
_SIMPLE_WORD: Final = re.compile(
    r"\w+(?:(?:(?<=[^\W\d_])" + _MID_LETTER_CLASS + r"(?=[^\W\d_])"
    r"|(?<=\d)" + _MID_NUMBER_CLASS + r"(?=\d))\w+)*"
)
_SIMPLE_SEPARATORS: Final = frozenset({_OTHER, _SPACE, _MIDLETTER, _MIDNUMLET, _MIDNUM})


@lru_cache(maxsize=65536)
def _simple(char: str) -> bool:
    """Whether a non-ASCII character keeps a text on the fast path."""
    kind = _word_break(char)
    if kind == _ALETTER:
        return unicodedata.category(char)[0] == "L"
    if kind == _NUMERIC:
        return True
    return kind in _SIMPLE_SEPARATORS and not char.isalnum() and char != "_"


def standard_tokens(text: str | None) -> list[str]:
    """The tokens Elasticsearch's ``standard`` analyzer makes of ``text``, in order.

    An approximation of Lucene's ``StandardTokenizer`` (UAX#29 word boundaries) followed by
    its lower-case filter, written because phrase matching must find exactly the positions
    Elasticsearch indexed. Words keep inner apostrophes and ``.``/``:`` between letters
    ("don't", "u.s.a", "a:b") and ``.``/``,`` between digits ("1,000.5"); hyphens,
    slashes and other punctuation split; each Han ideograph and each Hiragana character is a
    token of its own; runs of Katakana, of Thai/Lao/Khmer/Myanmar, and emoji sequences are
    single tokens; tokens longer than 255 characters are cut. No stop words are removed.
    """
    if not text:
        return []
    if text.isascii():  # most news text: lower-case once, no per-token work
        tokens = [t for t in _SIMPLE_WORD.findall(text.lower()) if t.strip("_")]
        if any(len(t) > MAX_TOKEN_LENGTH for t in tokens):
            tokens = [piece for t in tokens for piece in _split_long(t)]
        return tokens
    if all(map(_simple, set(text) - _ASCII)):
        found = _SIMPLE_WORD.findall(text)
        return [
            piece for token in found if token.strip("_")
            for piece in _split_long(_lower(token))
        ]
    return _general_tokens(text)


_ASCII: Final = frozenset(map(chr, range(128)))


def _general_tokens(text: str) -> list[str]:
    """:func:`standard_tokens` for any text, character class by character class."""
    units = _units(text)
    tokens: list[str] = []
    i, n = 0, len(units)
    while i < n:
        kind = units[i][0]
        if kind in _WORDISH:
            end, substantive = _word_end(units, i)
            if substantive:
                tokens.append("".join(u[1] for u in units[i:end]))
            i = end
        elif kind in (_IDEOGRAPHIC, _HIRAGANA):
            tokens.append(units[i][1])
            i += 1
        elif kind == _SOUTHEAST_ASIAN:
            end = i + 1
            while end < n and units[end][0] == _SOUTHEAST_ASIAN:
                end += 1
            tokens.append("".join(u[1] for u in units[i:end]))
            i = end
        elif kind == _EMOJI:
            end = _emoji_end(units, i)
            tokens.append("".join(u[1] for u in units[i:end]))
            i = end
        elif kind == _REGIONAL:  # a flag is a pair; a lone indicator is no token
            if i + 1 < n and units[i + 1][0] == _REGIONAL:
                tokens.append(units[i][1] + units[i + 1][1])
                i += 2
            else:
                i += 1
        elif (
            kind == _OTHER
            and units[i][1][0] in _KEYCAP_BASES
            and _KEYCAP in units[i][1]
        ):
            tokens.append(units[i][1])  # "#️⃣": a keycap emoji
            i += 1
        else:
            i += 1
    return [piece for token in tokens for piece in _split_long(_lower(token))]


def _whitespace_tokens(text: str) -> list[str]:
    """The ``whitespace`` analyzer on text made by :func:`stems` (no other whitespace)."""
    return [piece for token in text.split() for piece in _split_long(token)]


# --------------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------------


def _ascii_fold(value: str) -> str:
    """The key under which Elasticsearch's ``case_insensitive`` term query equates strings:
    it folds ASCII letters only."""
    if value.isascii():
        return value.lower()
    return "".join(c.lower() if c.isascii() else c for c in value)


def _values(value: Any) -> list[str]:
    """A keyword field's values as Elasticsearch indexes them: a list, one value or none."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        return [v if isinstance(v, str) else _scalar(v) for v in value if v is not None]
    return [_scalar(value)]


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _texts(value: Any) -> list[str]:
    """A text field's values (several values are separate: no phrase spans two)."""
    return [v for v in _values(value) if v]


class DocumentView:
    """One article prepared for evaluating many queries against it.

    Built once per document and shared by every subscription, so the work of splitting and
    case-folding fields is done once, not once per query. The standard-analyzer tokens of
    ``title`` and ``text`` are the expensive part and only phrases need them: they are made
    on first use. Missing fields and ``None`` values are empty: they match nothing.
    """

    __slots__ = (
        "_terms",
        "_text_positions",
        "_text_tokens",
        "_title_positions",
        "_title_tokens",
        "actor_ids",
        "actor_names",
        "actor_types",
        "countries",
        "document",
        "languages",
        "place_names",
        "regions",
        "sources",
        "text_stems",
        "title_stems",
    )

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.title_stems: frozenset[str] = frozenset(
            t for v in _texts(document.get("title_stems")) for t in _whitespace_tokens(v)
        )
        self.text_stems: frozenset[str] = frozenset(
            t for v in _texts(document.get("text_stems")) for t in _whitespace_tokens(v)
        )
        self.countries = frozenset(_values(document.get("countries")))
        self.regions = frozenset(_values(document.get("regions")))
        self.actor_ids = frozenset(_values(document.get("actor_ids")))
        self.actor_types = frozenset(_values(document.get("actor_types")))
        self.languages = frozenset(_values(document.get("language")))
        self.sources = frozenset(map(_ascii_fold, _values(document.get("source"))))
        self.place_names = frozenset(map(_ascii_fold, _values(document.get("place_names"))))
        self.actor_names = frozenset(map(_ascii_fold, _values(document.get("actor_names"))))
        self._terms: set[str] | None = None
        self._title_tokens: list[list[str]] | None = None
        self._text_tokens: list[list[str]] | None = None
        self._title_positions: list[dict[str, list[int]]] | None = None
        self._text_positions: list[dict[str, list[int]]] | None = None

    @property
    def title_tokens(self) -> list[list[str]]:
        """``title`` as the standard analyzer indexed it, one token list per value."""
        if self._title_tokens is None:
            self._title_tokens = [standard_tokens(v) for v in _texts(self.document.get("title"))]
        return self._title_tokens

    @property
    def text_tokens(self) -> list[list[str]]:
        """``text`` as the standard analyzer indexed it, one token list per value."""
        if self._text_tokens is None:
            self._text_tokens = [standard_tokens(v) for v in _texts(self.document.get("text"))]
        return self._text_tokens

    @property
    def phrase_index(self) -> list[dict[str, list[int]]]:
        """Token -> positions, per value of ``title`` then of ``text``: a phrase is found by
        aligning the positions of its words instead of scanning the text for each phrase."""
        if self._title_positions is None:
            self._title_positions = [_positions(t) for t in self.title_tokens]
        if self._text_positions is None:
            self._text_positions = [_positions(t) for t in self.text_tokens]
        return self._title_positions + self._text_positions

    @property
    def terms(self) -> set[str]:
        """:func:`sitrep.query.document_terms` of the document, computed once (from the stem
        sets already split here)."""
        if self._terms is None:
            terms = document_terms(self.document, with_stems=False)
            terms |= self.title_stems
            terms |= self.text_stems
            self._terms = terms
        return self._terms


def _positions(tokens: Sequence[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for i, token in enumerate(tokens):
        found.setdefault(token, []).append(i)
    return found


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------


def _never(view: DocumentView) -> bool:
    return False


def _contains(tokens: Sequence[str], phrase: Sequence[str]) -> bool:
    """Whether ``phrase`` occurs in ``tokens`` contiguously and in order."""
    size = len(phrase)
    first = phrase[0]
    if size == 1:
        return first in tokens
    start = 0
    last = len(tokens) - size
    while start <= last:
        try:
            start = tokens.index(first, start, last + 1)
        except ValueError:
            return False
        if tokens[start:start + size] == phrase:
            return True
        start += 1
    return False


def _compile_term(node: Term) -> Predicate:
    query = stems(node.text)
    tokens = tuple(dict.fromkeys(_whitespace_tokens(query)))
    if not tokens:  # a match query that analyses to nothing matches nothing
        return _never
    if len(tokens) == 1 or " " not in query:
        # One stem, or one stem cut in pieces (operator "or"): any token in either field.
        wanted = frozenset(tokens)
        return lambda v: not wanted.isdisjoint(v.title_stems) or not wanted.isdisjoint(
            v.text_stems
        )
    required = frozenset(tokens)
    # best_fields with operator "and": every token in one and the same field.
    return lambda v: required <= v.title_stems or required <= v.text_stems


def _compile_phrase(node: Phrase) -> Predicate:
    phrase = standard_tokens(node.text)
    if not phrase:
        return _never

    if len(phrase) == 1:
        word = phrase[0]
        return lambda v: any(word in positions for positions in v.phrase_index)
    rest = range(1, len(phrase))

    def predicate(view: DocumentView) -> bool:
        for positions in view.phrase_index:
            found = [positions.get(word) for word in phrase]
            if None in found:  # a word missing from this field: no need to align anything
                continue
            # Where the phrase would start, by each word; it is there if some start is
            # shared by all of its words.
            starts = set(found[0])  # type: ignore[arg-type]
            for i in rest:
                starts &= {p - i for p in found[i]}  # type: ignore[union-attr]
                if not starts:
                    break
            if starts:
                return True
        return False

    return predicate


def _compile_field(node: Field) -> Predicate:
    name, value = node.name, node.value
    if name == "country":
        code = country_code(value) or value.upper()
        return lambda v: code in v.countries
    if name == "lang":
        language = value.lower()
        return lambda v: language in v.languages
    if name == "source":
        source = _ascii_fold(value)
        return lambda v: source in v.sources
    if name == "actor_type":
        actor_type = value.lower()
        return lambda v: actor_type in v.actor_types
    if name == "region":
        keys = frozenset(region_keys(value))
        place = None if _REGION_KEY.fullmatch(value) else _ascii_fold(value)
        if place is None:
            return lambda v: not keys.isdisjoint(v.regions)
        return lambda v: not keys.isdisjoint(v.regions) or place in v.place_names
    if name == "actor":
        actor_id = value.lower() if _ACTOR_ID.fullmatch(value.lower()) else None
        actor_name = _ascii_fold(value)
        if actor_id is None:
            return lambda v: actor_name in v.actor_names
        return lambda v: actor_id in v.actor_ids or actor_name in v.actor_names
    raise ValueError(f"unknown field {name!r}")  # as to_elasticsearch: only hand-built trees


def compile_query(node: Node) -> Predicate:
    """A predicate true on exactly the documents Elasticsearch returns for
    ``to_elasticsearch(node)``.

    Compiled once per subscription (stemming, tokenizing the phrase and the gazetteer
    look-ups happen here), so evaluating it per article is set look-ups only. Cheap clauses
    are not reordered: ``and``/``or`` short-circuit, and results do not depend on order.
    """
    if isinstance(node, Term):
        return _compile_term(node)
    if isinstance(node, Phrase):
        return _compile_phrase(node)
    if isinstance(node, Field):
        return _compile_field(node)
    if isinstance(node, Not):
        inner = compile_query(node.item)
        return lambda v: not inner(v)
    parts = tuple(compile_query(item) for item in node.items)
    if isinstance(node, And):
        return _all_of(parts)
    if isinstance(node, Or):
        return _any_of(parts)
    raise TypeError(f"not a query node: {node!r}")  # pragma: no cover - Node is closed


def _all_of(parts: tuple[Predicate, ...]) -> Predicate:
    # Two or three parts are the common case; plain ``and`` avoids a generator per call,
    # which is most of the cost of a cheap predicate.
    if len(parts) == 2:
        a, b = parts
        return lambda v: a(v) and b(v)
    if len(parts) == 3:
        a, b, c = parts
        return lambda v: a(v) and b(v) and c(v)

    def every(view: DocumentView) -> bool:
        for part in parts:  # noqa: SIM110 - a loop, not all(generator): cheaper per call
            if not part(view):
                return False
        return True

    return every


def _any_of(parts: tuple[Predicate, ...]) -> Predicate:
    if len(parts) == 2:
        a, b = parts
        return lambda v: a(v) or b(v)

    def some(view: DocumentView) -> bool:
        for part in parts:  # noqa: SIM110 - as above
            if part(view):
                return True
        return False

    return some


@lru_cache(maxsize=4096)
def _cached(node: Node) -> Predicate:
    return compile_query(node)


def matches(node: Node, view: DocumentView | Mapping[str, Any]) -> bool:
    """Whether Elasticsearch would return the document for ``to_elasticsearch(node)``.

    Accepts a prepared :class:`DocumentView` (what a stream consumer should pass, once per
    article) or a document dict for one-off checks. Compiled trees are cached by value.
    """
    if not isinstance(view, DocumentView):
        view = DocumentView(view)
    return _cached(node)(view)


# --------------------------------------------------------------------------------------------
# Many subscriptions
# --------------------------------------------------------------------------------------------


class SubscriptionIndex(Generic[K]):
    """Subscriptions by their required terms, to test an article against only the few that
    could match it (the Luwak / Lucene Monitor "presearcher" idea).

    A query is indexed under ONE term every match must contain (one of
    :func:`sitrep.query.mandatory_terms`), the rarest by the document frequencies this index
    observes in the articles it matches (before it has seen any, the longest, as
    :func:`sitrep.query.term_weight` guesses); an article lacking that term is never looked
    at. A query without such a term (``a OR b``) is indexed under its alternatives
    (:func:`sitrep.query.terms_of`), and one without either (only hand-built trees) is tried
    on every article. A candidate is then checked for ALL its mandatory terms with one subset
    test, and only the survivors are evaluated. Per article the cost is one look-up per
    article term plus the candidates; as frequencies are learnt, queries move to rarer
    terms (re-indexing after 16, 64, 256... articles, then every 4,096).
    """

    def __init__(self) -> None:
        self._by_term: dict[str, set[K]] = {}
        self._always: dict[K, None] = {}  # insertion-ordered set
        self._indexed: dict[K, frozenset[str]] = {}
        self._alternatives: dict[K, frozenset[str]] = {}
        self._checks: dict[K, tuple[frozenset[str], Predicate]] = {}
        self._nodes: dict[K, Node] = {}
        self._order: dict[K, int] = {}
        self._counter = 0
        self._df: Counter[str] = Counter()
        self._seen = 0
        self._next_rebalance = 16

    # --- maintenance -------------------------------------------------------------------------

    def _rarity(self, term: str) -> tuple[int, int, str]:
        return (self._df.get(term, 0), -term_weight(term), term)

    def _choose(self, key: K) -> frozenset[str]:
        needed = self._checks[key][0]
        if needed:
            return frozenset({min(needed, key=self._rarity)})
        return self._alternatives[key]

    def _place(self, key: K, terms: frozenset[str]) -> None:
        self._indexed[key] = terms
        if terms:
            for term in terms:
                self._by_term.setdefault(term, set()).add(key)
        else:
            self._always[key] = None

    def _unplace(self, key: K) -> None:
        for term in self._indexed.pop(key, frozenset()):
            keys = self._by_term.get(term)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_term[term]
        self._always.pop(key, None)

    def add(self, key: K, node: Node) -> None:
        """Index ``node`` under ``key``, replacing what ``key`` had."""
        predicate = compile_query(node)  # first: a failure leaves the index unchanged
        self.remove(key)
        self._alternatives[key] = frozenset(terms_of(node))
        self._checks[key] = (mandatory_terms(node), predicate)
        self._nodes[key] = node
        self._order[key] = self._counter
        self._counter += 1
        self._place(key, self._choose(key))

    def remove(self, key: K) -> None:
        """Forget ``key``; nothing happens when it is unknown."""
        if key not in self._checks:
            return
        self._unplace(key)
        del self._alternatives[key]
        del self._checks[key]
        del self._nodes[key]
        del self._order[key]

    def _observe(self, view: DocumentView) -> None:
        """Learn term frequencies (every article at first, then one in eight: a sample is as
        good for ranking terms and costs an eighth), and move
        queries to rarer terms from time to time."""
        self._seen += 1
        if self._seen <= 64 or self._seen % 8 == 0:
            self._df.update(view.terms)
            if len(self._df) > 1_000_000:  # bound the vocabulary: forget the rare tail
                self._df = Counter({t: n // 2 for t, n in self._df.items() if n > 1})
        if self._seen >= self._next_rebalance:
            self._next_rebalance = self._seen + min(self._seen * 3, 4096)
            self.rebalance()

    def rebalance(self) -> int:
        """Re-index every query under its currently rarest term; returns how many moved."""
        moved = 0
        for key in list(self._checks):
            chosen = self._choose(key)
            if chosen != self._indexed.get(key):
                self._unplace(key)
                self._place(key, chosen)
                moved += 1
        return moved

    # --- queries -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._checks)

    def __contains__(self, key: object) -> bool:
        return key in self._checks

    def query(self, key: K) -> Node:
        """The query indexed under ``key``."""
        return self._nodes[key]

    def candidates(self, view: DocumentView) -> set[K]:
        """The subscriptions worth evaluating on the article: those indexed under one of its
        terms, and those that could not be indexed."""
        found: set[K] = set(self._always)
        by_term = self._by_term
        for term in view.terms & by_term.keys():
            found |= by_term[term]
        return found

    def match(self, view: DocumentView) -> list[K]:
        """The subscriptions the article matches, in the order they were (last) added."""
        # The subset test (in C) drops most candidates: they contain the indexed term but
        # lack another word or field the query cannot do without.
        terms = view.terms
        checks = self._checks
        hits = []
        for key in self.candidates(view):
            needed, predicate = checks[key]
            if needed <= terms and predicate(view):
                hits.append(key)
        self._observe(view)
        order = self._order
        hits.sort(key=order.__getitem__)
        return hits
