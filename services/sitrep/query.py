"""The search query language shared by the search API, the CLI and alert subscriptions.

Analysts write what they already know from search engines: words, ``"phrases"``, upper-case
``AND`` / ``OR`` / ``NOT``, ``-exclusions``, parentheses and ``field:value`` filters::

    border
    "Popular Mobilization" AND Syria
    soleimani country:IQ -lang:ar
    (isis OR daesh) NOT region:IQ.15
    actor:pmf source:Reuters

Grammar (precedence: ``NOT``/``-`` binds tightest, then ``AND`` explicit or implicit, then
``OR``; lower-case ``and``/``or``/``not`` are ordinary words)::

    query   := or EOF
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*
    unary   := ("NOT" | "-") unary | primary
    primary := WORD | PHRASE | FIELD | "(" or ")"
    FIELD   := NAME ":" (VALUE | PHRASE)      NAME in actor, country, lang, region, source

The language is parsed here, by hand, rather than handed to Elasticsearch's
``query_string``: user input then never reaches Elasticsearch as syntax (no field or regex
injection, no 400 from the cluster), every mistake is reported with the character where it
happened, and the same tree drives both the Elasticsearch query and the alert matcher's
pre-selection (:func:`terms_of`), so search and alerts cannot disagree about what a query means.

Everything here is pure; the gazetteer (read once per process) is the only data consulted, to
turn country and region names into the codes the documents carry.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from sitrep.index import stems

__all__ = [
    "FIELDS",
    "FILTER_ONLY_FIELDS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "And",
    "Field",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "QuerySyntaxError",
    "Term",
    "country_code",
    "document_terms",
    "mandatory_terms",
    "parse",
    "region_keys",
    "term_weight",
    "terms_of",
    "to_elasticsearch",
]

#: The field names a query may filter on (``name:value``).
FIELDS: Final = ("actor", "country", "lang", "region", "source")
#: Fields only the structured filters of a request build (``actor_type=militia``); the query
#: language does not offer them, but the tree, Elasticsearch and the matcher all do.
FILTER_ONLY_FIELDS: Final = ("actor_type",)
#: Longer queries are refused: nobody types them, and they bound the parser's work.
MAX_LENGTH: Final = 2000
#: Parentheses plus negations, nested; bounds recursion well below Python's limit.
MAX_DEPTH: Final = 32

# Straight and typographic double quotes: analysts paste queries from documents.
_QUOTES: Final = '"\u201c\u201d\u201e'
_WORD_END: Final = frozenset("()" + _QUOTES)
_FIELD_WORD: Final = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
_SEARCHABLE: Final = re.compile(r"\w", re.UNICODE)
_ISO2: Final = re.compile(r"[A-Za-z]{2}")
_REGION_KEY: Final = re.compile(r"[A-Za-z]{2}\.[A-Za-z0-9]+")
_ACTOR_ID: Final = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_OPERATORS: Final = frozenset({"AND", "OR", "NOT"})

_TEXT_FIELDS: Final = ["title^2", "text"]
_STEM_FIELDS: Final = ["title_stems^2", "text_stems"]


class QuerySyntaxError(ValueError):
    """A query that cannot be parsed; ``position`` is the 0-based character offset of the
    offending part, so a UI can point at it."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


# --------------------------------------------------------------------------------------------
# The tree
# --------------------------------------------------------------------------------------------
# ``position`` is where the node starts in the query. It is excluded from equality so that
# trees compare by meaning (tests and the matcher's de-duplication rely on that).


@dataclass(frozen=True, slots=True)
class Term:
    """A word, matched on its stem."""

    text: str
    position: int = field(default=0, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Phrase:
    """Quoted words, matched exactly and in order."""

    text: str
    position: int = field(default=0, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Field:
    """``name:value``. The parser lower-cases ``name``, and turns a country name into its ISO2
    code so that every consumer of the tree sees the code the documents carry."""

    name: str
    value: str
    position: int = field(default=0, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]
    position: int = field(default=0, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]
    position: int = field(default=0, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Not:
    item: Node
    position: int = field(default=0, compare=False, repr=False, kw_only=True)


Node = Term | Phrase | Field | And | Or | Not


# --------------------------------------------------------------------------------------------
# Gazetteer look-ups
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def country_code(value: str) -> str | None:
    """The ISO2 code for ``country:value``, or None when it names no country.

    Two ASCII letters are taken as a code as they stand (upper-cased), without a look-up, so
    the common case never loads the gazetteer; anything else is looked up as a country name
    (any GeoNames spelling or alternate name: ``Syria``, ``Syrian Arab Republic``,
    ``Britain``).
    """
    if _ISO2.fullmatch(value):
        return value.upper()
    from sitrep.gazetteer import load_gazetteer

    for place in load_gazetteer().lookup(value):
        if place.is_country:
            return place.country
    return None


@lru_cache(maxsize=4096)
def region_keys(value: str) -> tuple[str, ...]:
    """The admin1 keys (``IQ.15``) that ``region:value`` stands for.

    A key is taken as it stands; a name is looked up among first-level regions, so
    ``region:Nineveh`` finds articles about Mosul, which name only the city but are tagged
    with its region. Empty when the name is no admin1 region (it is still matched against
    the names of tagged places).
    """
    if _REGION_KEY.fullmatch(value):
        return (value.upper(),)
    from sitrep.gazetteer import load_gazetteer

    keys = {f"{p.country}.{p.admin1}" for p in load_gazetteer().lookup(value) if p.is_admin1}
    return tuple(sorted(keys))


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # WORD PHRASE FIELD ( ) AND OR NOT - EOF
    text: str
    position: int
    name: str = ""


def _read_quoted(query: str, start: int) -> tuple[str, int]:
    """The text between the quote at ``start`` and the next quote, and the index after it."""
    i = start + 1
    while i < len(query) and query[i] not in _QUOTES:
        i += 1
    if i >= len(query):
        raise QuerySyntaxError(f"unclosed quote starting at position {start}", start)
    return query[start + 1 : i], i + 1


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif unicodedata.category(c) == "Cc":
            raise QuerySyntaxError(f"control character U+{ord(c):04X} at position {i}", i)
        elif c in "()":
            tokens.append(_Token(c, c, i))
            i += 1
        elif c in _QUOTES:
            text, end = _read_quoted(query, i)
            if not _SEARCHABLE.search(text):
                raise QuerySyntaxError(f"empty phrase at position {i}", i)
            tokens.append(_Token("PHRASE", " ".join(text.split()), i))
            i = end
        elif c == "-":
            if i + 1 >= n or query[i + 1].isspace() or query[i + 1] == ")":
                raise QuerySyntaxError(f'nothing after "-" at position {i}', i)
            tokens.append(_Token("-", c, i))
            i += 1
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in _WORD_END:
                if unicodedata.category(query[i]) == "Cc":
                    break
                i += 1
            word = query[start:i]
            if word in _OPERATORS:
                tokens.append(_Token(word, word, start))
                continue
            match = _FIELD_WORD.fullmatch(word)
            if match is None:
                if not _SEARCHABLE.search(word):
                    raise QuerySyntaxError(
                        f'nothing to search for in "{word}" at position {start}'
                        " (a word needs a letter or a digit)",
                        start,
                    )
                tokens.append(_Token("WORD", word, start))
                continue
            name, value = match.group(1).lower(), match.group(2)
            if name not in FIELDS:
                raise QuerySyntaxError(
                    f'unknown field "{match.group(1)}" at position {start}'
                    f" (known: {', '.join(FIELDS)})",
                    start,
                )
            if not value and i < n and query[i] in _QUOTES:
                value, i = _read_quoted(query, i)
                value = " ".join(value.split())
            elif not value and i < n and query[i] == "(":
                raise QuerySyntaxError(
                    f'field "{name}" at position {start} takes one value, not a group:'
                    f" write ({name}:A OR {name}:B)",
                    start,
                )
            if not value.strip():
                raise QuerySyntaxError(f'empty value for field "{name}" at position {start}', start)
            tokens.append(_Token("FIELD", value, start, name))
    tokens.append(_Token("EOF", "", n))
    return tokens


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------

_STARTS_UNARY: Final = frozenset({"WORD", "PHRASE", "FIELD", "(", "NOT", "-"})


def _describe(token: _Token) -> str:
    return "the end" if token.kind == "EOF" else f'"{token.text}"'


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def need_operand(self, operator: _Token) -> None:
        """An operator must be followed by something it applies to."""
        if self.peek().kind not in _STARTS_UNARY:
            label = operator.text if operator.kind != "-" else '"-"'
            raise QuerySyntaxError(
                f"nothing after {label} at position {operator.position}", operator.position
            )

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(
                f"query nested too deeply at position {token.position}"
                f" (at most {MAX_DEPTH} levels of parentheses and negations)",
                token.position,
            )

    def parse_or(self) -> Node:
        first = self.peek()
        items = [self.parse_and()]
        while self.peek().kind == "OR":
            operator = self.take()
            self.need_operand(operator)
            items.append(self.parse_and())
        return _combine(Or, items, first.position)

    def parse_and(self) -> Node:
        first = self.peek()
        if first.kind in ("AND", "OR"):
            raise QuerySyntaxError(
                f"nothing before {first.text} at position {first.position}", first.position
            )
        items = [self.parse_unary()]
        while True:
            kind = self.peek().kind
            if kind == "AND":
                operator = self.take()
                self.need_operand(operator)
            elif kind not in _STARTS_UNARY:
                break
            items.append(self.parse_unary())
        return _combine(And, items, first.position)

    def parse_unary(self) -> Node:
        token = self.peek()
        if token.kind not in ("NOT", "-"):
            return self.parse_primary()
        self.take()
        self.need_operand(token)
        self.enter(token)
        item = self.parse_unary()
        self.depth -= 1
        if isinstance(item, Not):  # NOT NOT x is x
            return item.item
        return Not(item, position=token.position)

    def parse_primary(self) -> Node:
        token = self.take()
        if token.kind == "WORD":
            return Term(token.text, position=token.position)
        if token.kind == "PHRASE":
            return Phrase(token.text, position=token.position)
        if token.kind == "FIELD":
            return _field(token)
        if token.kind == "(":
            self.enter(token)
            if self.peek().kind == ")":
                raise QuerySyntaxError(
                    f"empty parentheses at position {token.position}", token.position
                )
            node = self.parse_or()
            if self.peek().kind != ")":
                raise QuerySyntaxError(
                    f'missing ")" for "(" at position {token.position}', token.position
                )
            self.take()
            self.depth -= 1
            return node
        if token.kind == ")":
            raise QuerySyntaxError(f'unexpected ")" at position {token.position}', token.position)
        if token.kind == "EOF":  # "(" at the very end
            raise QuerySyntaxError(
                f"the query ends at position {token.position} where a word, a phrase or a"
                " field was expected", token.position,
            )
        raise QuerySyntaxError(  # pragma: no cover - parse_and/need_operand catch the rest
            f"unexpected {_describe(token)} at position {token.position}", token.position
        )


def _field(token: _Token) -> Field:
    value = token.text
    if token.name == "country":
        code = country_code(value)
        if code is None:
            raise QuerySyntaxError(
                f'unknown country "{value}" at position {token.position}'
                " (use an ISO code such as IQ, or a country name)",
                token.position,
            )
        value = code
    return Field(token.name, value, position=token.position)


def _combine(kind: type[And] | type[Or], items: list[Node], position: int) -> Node:
    """One node for a run of operands: the operand itself when alone, nested nodes of the same
    operator flattened (``(a b) c`` is ``a b c``), so equal queries give equal trees."""
    if len(items) == 1:
        return items[0]
    flat: list[Node] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return kind(tuple(flat), position=position)


def _positive(node: Node) -> bool:
    """Whether the node asks for something to be present (not only for things to be absent)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_positive(item) for item in node.items)
    if isinstance(node, Or):
        return all(_positive(item) for item in node.items)
    return True


def _check_alternatives(node: Node) -> None:
    """An OR alternative of only exclusions would match almost the whole index (and defeat
    alert pre-selection): almost surely a mistake, so it is refused like a syntax error."""
    if isinstance(node, Or):
        for item in node.items:
            if not _positive(item):
                raise QuerySyntaxError(
                    f"an OR alternative of only exclusions at position {item.position}"
                    " matches almost everything: add a term to it",
                    item.position,
                )
    if isinstance(node, And | Or):
        for item in node.items:
            _check_alternatives(item)
    elif isinstance(node, Not):
        _check_alternatives(node.item)


def parse(query: str) -> Node:
    """The tree of a query, or :class:`QuerySyntaxError` saying what is wrong and where.

    No other exception escapes for any string: queries come straight from users and alert
    subscriptions, and a mistake must be reported, never crash the API or the matcher.
    """
    if len(query) > MAX_LENGTH:
        raise QuerySyntaxError(
            f"query too long: {len(query)} characters (at most {MAX_LENGTH})", MAX_LENGTH
        )
    tokens = _tokens(query)
    if tokens[0].kind == "EOF":
        raise QuerySyntaxError("empty query", 0)
    parser = _Parser(tokens)
    node = parser.parse_or()
    rest = parser.peek()
    if rest.kind != "EOF":  # only ")" can stop the parser early
        raise QuerySyntaxError(
            f"unexpected {_describe(rest)} at position {rest.position}", rest.position
        )
    _check_alternatives(node)
    if not _positive(node):
        raise QuerySyntaxError(
            "a query of only exclusions matches nothing: add a term (at position 0)", 0
        )
    return node


# --------------------------------------------------------------------------------------------
# Elasticsearch
# --------------------------------------------------------------------------------------------


def _term(field_name: str, value: str, *, any_case: bool = False) -> dict[str, Any]:
    if any_case:
        return {"term": {field_name: {"value": value, "case_insensitive": True}}}
    return {"term": {field_name: value}}


def _either(*clauses: dict[str, Any]) -> dict[str, Any]:
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": list(clauses), "minimum_should_match": 1}}


def _field_query(node: Field) -> dict[str, Any]:
    name, value = node.name, node.value
    if name == "country":
        return _term("countries", country_code(value) or value.upper())
    if name == "lang":
        return _term("language", value.lower())
    if name == "source":
        # Feed names are written as their owners like ("Reuters"); nobody should have to.
        return _term("source", value, any_case=True)
    if name == "region":
        keys = region_keys(value)
        clauses: list[dict[str, Any]] = []
        if len(keys) == 1:
            clauses.append(_term("regions", keys[0]))
        elif keys:
            clauses.append({"terms": {"regions": list(keys)}})
        if not _REGION_KEY.fullmatch(value):
            clauses.append(_term("place_names", value, any_case=True))
        return _either(*clauses)
    if name == "actor_type":
        return _term("actor_types", value.lower())
    if name == "actor":
        clauses = []
        if _ACTOR_ID.fullmatch(value.lower()):
            clauses.append(_term("actor_ids", value.lower()))
        clauses.append(_term("actor_names", value, any_case=True))
        return _either(*clauses)
    raise ValueError(f"unknown field {name!r}")  # only a hand-built tree can get here


def to_elasticsearch(node: Node) -> dict[str, Any]:
    """The Elasticsearch query (for the ``query`` key of a search) of a parsed query.

    Words are stemmed here exactly as :func:`sitrep.index.stems` stems the ``*_stems`` fields
    at index time, so "battles" finds "battle" without any analyzer on the node; phrases go
    to the standard-analyzed ``title``/``text`` for exact words in order. Titles count
    double. Field filters are ``filter`` clauses (no scoring, cached by Elasticsearch).

    ``country`` values are ISO2 codes: :func:`parse` already turned names into codes through
    the gazetteer, and a hand-built ``Field("country", "Syria")`` is resolved here the same
    way. ``region`` matches admin1 keys (``IQ.15``) or, for a name, the admin1 regions of
    that name and the names of tagged places. ``actor`` matches actor ids (lower-case) or
    actor names; ``source`` and names ignore case.
    """
    if isinstance(node, Term):
        query = stems(node.text)
        match: dict[str, Any] = {"query": query, "fields": list(_STEM_FIELDS)}
        if " " in query:  # "al-Tanf": every part, not any
            match["operator"] = "and"
        return {"multi_match": match}
    if isinstance(node, Phrase):
        return {"multi_match": {"query": node.text, "type": "phrase", "fields": list(_TEXT_FIELDS)}}
    if isinstance(node, Field):
        return _field_query(node)
    if isinstance(node, Or):
        return _either(*(to_elasticsearch(item) for item in node.items))
    if isinstance(node, Not):
        return {"bool": {"must_not": [to_elasticsearch(node.item)]}}
    must: list[dict[str, Any]] = []
    filters: list[dict[str, Any]] = []
    must_not: list[dict[str, Any]] = []
    for item in node.items:
        if isinstance(item, Not):
            must_not.append(to_elasticsearch(item.item))
        elif isinstance(item, Field):
            filters.append(to_elasticsearch(item))
        else:
            must.append(to_elasticsearch(item))
    clauses = {"must": must, "filter": filters, "must_not": must_not}
    return {"bool": {key: value for key, value in clauses.items() if value}}


# --------------------------------------------------------------------------------------------
# Required terms, for alert pre-selection
# --------------------------------------------------------------------------------------------

# How selective a field filter is, next to a word whose selectivity is its length: on a
# regional beat the language, country and source of most articles are alike.
_FIELD_WEIGHT: Final = {
    "lang": 1, "country": 2, "actor_type": 2, "source": 3, "region": 6, "actor": 6,
}


def _pseudo_term(name: str, value: str) -> str:
    return f"{name}:{value.lower()}"


def term_weight(term: str) -> int:
    """How selective a term probably is, without statistics: a word by its length (longer
    stems are rarer words), a field pseudo-term by how alike articles of a beat are in it."""
    name, colon, _ = term.partition(":")
    if colon and name in _FIELD_WEIGHT:
        return _FIELD_WEIGHT[name]
    return len(term)


def _best(candidates: Iterable[frozenset[str]]) -> frozenset[str]:
    """The most selective of several sets any one of which is a valid requirement.

    A set is only as selective as its commonest member (longer stems are rarer words), then
    smaller is better; ties are broken by the sorted members so the choice is deterministic.
    """
    usable = [c for c in candidates if c]
    if not usable:
        return frozenset()
    return min(usable, key=lambda c: (-min(term_weight(t) for t in c), len(c), sorted(c)))


def _required(node: Node) -> frozenset[str]:
    if isinstance(node, Term | Phrase):
        # Every word is needed, so any one word is a requirement: take the rarest.
        return _best(frozenset({stem}) for stem in stems(node.text).split())
    if isinstance(node, Field):
        return frozenset(_field_terms(node))
    if isinstance(node, Not):
        return frozenset()
    if isinstance(node, And):
        return _best(_required(item) for item in node.items)
    parts = [_required(item) for item in node.items]
    if not all(parts):
        return frozenset()
    return frozenset().union(*parts)


def _field_terms(node: Field) -> set[str]:
    name, value = node.name, node.value
    if name == "country":
        return {_pseudo_term(name, country_code(value) or value)}
    if name == "region":
        keys = region_keys(value)
        names = set() if _REGION_KEY.fullmatch(value) else {value}
        return {_pseudo_term(name, v) for v in (*keys, *names)}
    return {_pseudo_term(name, value)}


def terms_of(node: Node) -> set[str]:
    """The required terms of a query: a document that contains none of them cannot match.

    An empty set means no such pre-selection is possible, and the query must be tried on
    every document. Terms are stems as :func:`sitrep.index.stems` makes them, and for field
    filters pseudo-terms ``name:value`` in lower case (``actor:pmf``, ``country:iq``,
    ``region:iq.15``); :func:`document_terms` gives the same vocabulary for a document, so
    an alert matcher can index subscriptions by these terms and run only the queries that
    share a term with an article (the Luwak / Lucene Monitor "presearcher" idea).

    Why each rule keeps that promise: every child of ``AND`` must match, so any one child's
    requirement is a requirement of the whole; the most selective one is taken (a heuristic
    that changes only speed, never results). ``OR`` needs one child, so the union of their
    requirements; if one child has none, neither has the ``OR``. ``NOT`` matches documents
    by what they lack, so it requires nothing. A word or phrase needs each of its stems,
    and one (the longest, the likely rarest) is taken.
    """
    return set(_required(node))


def _mandatory(node: Node) -> frozenset[str]:
    if isinstance(node, Term | Phrase):
        return frozenset(stems(node.text).split())
    if isinstance(node, Field):
        found = _field_terms(node)
        return frozenset(found) if len(found) == 1 else frozenset()
    if isinstance(node, Not):
        return frozenset()
    parts = [_mandatory(item) for item in node.items]
    if isinstance(node, And):
        return frozenset().union(*parts)
    return frozenset.intersection(*parts)


def mandatory_terms(node: Node) -> frozenset[str]:
    """Terms EVERY matching document contains (in :func:`document_terms`'s vocabulary).

    Where :func:`terms_of` gives one set of alternatives to index a query under, this is the
    conjunction a matcher checks first, with one C-speed subset test, before it evaluates
    the query: ``soleimani country:IQ`` needs both ``soleimani`` and ``country:iq``. Each
    word of a term or phrase is needed (in some field), a field with a single pseudo-term
    needs it, ``AND`` needs what any child needs, ``OR`` only what every child needs, and
    ``NOT`` nothing.
    """
    return _mandatory(node)


def document_terms(document: Mapping[str, Any], *, with_stems: bool = True) -> set[str]:
    """The terms of an indexed document (:func:`sitrep.index.to_document`), in the vocabulary of
    :func:`terms_of`: what a matcher intersects with subscriptions' required terms.

    ``with_stems=False`` leaves out the words, for a caller that has split them already."""
    found: set[str] = set()
    if with_stems:
        for key in ("title_stems", "text_stems"):
            found.update((document.get(key) or "").split())
    multi = {
        "actor_type": ("actor_types",),
        "country": ("countries",),
        "region": ("regions", "place_names"),
        "actor": ("actor_ids", "actor_names"),
    }
    for name, keys in multi.items():
        for key in keys:
            found.update(_pseudo_term(name, str(v)) for v in document.get(key) or ())
    for name, key in (("source", "source"), ("lang", "language")):
        if document.get(key):
            found.add(_pseudo_term(name, str(document[key])))
    return found
