"""The actor dictionary: who can appear in a story (states, forces, groups, people, bodies).

The dictionary ships inside the package so that a fresh install tags the beat out of the box,
and analysts layer their own YAML files on top instead of forking it: a desk that follows a
new militia can add it the day it appears without waiting for a release.

Everything here is about *loading* the dictionary and refusing inconsistent data early. A
silently wrong dictionary is worse than a crash: an alias claimed by two actors, or a parent
that does not exist, would skew every count the analysts see. So every problem is reported as
an :class:`ActorDictionaryError` that names the file and the actor to fix.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "BUNDLED_RESOURCE",
    "Actor",
    "ActorDictionary",
    "ActorDictionaryError",
    "ActorType",
    "alias_key",
    "load_actor_dictionary",
]

#: Where the bundled dictionary lives inside the ``sitrep`` package.
BUNDLED_RESOURCE: Final = "data/actors.yaml"

_ID_PATTERN: Final = r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"
_TOP_LEVEL_KEYS: Final = frozenset({"version", "actors", "shared_aliases"})


class ActorType(StrEnum):
    """Closed set of actor kinds, so that downstream facets and filters stay stable."""

    STATE = "state"
    GOVERNMENT = "government"
    ARMED_GROUP = "armed_group"
    MILITARY = "military"
    SECURITY_FORCE = "security_force"
    POLITICAL_PARTY = "political_party"
    IGO = "igo"
    NGO = "ngo"
    PERSON = "person"
    MEDIA = "media"
    OTHER = "other"


class ActorDictionaryError(ValueError):
    """A dictionary file cannot be used as it stands.

    The message always starts with the file (and the actor, when one is to blame) because the
    person reading it is editing YAML by hand and needs to know where to look.
    """

    def __init__(self, source: str, message: str, actor_id: str | None = None) -> None:
        self.source = source
        self.actor_id = actor_id
        self.reason = message
        where = source if actor_id is None else f"{source}: actor {actor_id!r}"
        super().__init__(f"{where}: {message}")


_APOSTROPHES: Final = dict.fromkeys(map(ord, "\u2018\u2019\u02bc\u02bb\u02be\u02bf`\u00b4"), "'")
_DASHES: Final = dict.fromkeys(map(ord, "-\u2010\u2011\u2012\u2013\u2014\u2212"), " ")
_DOTLESS_I: Final = {ord("\u0131"): "i"}


def alias_key(text: str) -> str:
    """Fold a surface form to the key used to detect two actors claiming the same name.

    The key is deliberately coarser than any matcher is likely to be (case, diacritics,
    apostrophe shapes and hyphen-versus-space are all ignored): if two actors would collide
    under *some* reasonable matching strategy, we want to hear about it while editing the data,
    not when an analyst notices odd counts.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = stripped.translate(_APOSTROPHES).translate(_DASHES).translate(_DOTLESS_I)
    return " ".join(folded.split()).casefold()


CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


def _clean_names(values: tuple[str, ...]) -> tuple[str, ...]:
    """Drop blanks and exact repeats, which merges of user files produce naturally."""
    seen: dict[str, None] = {}
    for value in values:
        stripped = value.strip()
        if not stripped:
            raise ValueError("empty names are not allowed")
        seen.setdefault(stripped, None)
    return tuple(seen)


class Actor(BaseModel):
    """One entry of the dictionary.

    Frozen because the dictionary is shared by every worker of the pipeline; a tagger that
    mutated it would change the behaviour of its neighbours.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=_ID_PATTERN)
    name: str = Field(min_length=1)
    type: ActorType
    countries: tuple[CountryCode, ...] = ()
    aliases: tuple[str, ...] = ()
    role: str | None = None
    parent: str | None = Field(default=None, pattern=_ID_PATTERN)
    demonyms: tuple[str, ...] = ()

    @field_validator("aliases", "demonyms")
    @classmethod
    def _no_blank_or_repeated_names(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return _clean_names(values)

    @field_validator("countries")
    @classmethod
    def _no_repeated_countries(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(values))

    @model_validator(mode="after")
    def _fields_fit_the_type(self) -> Actor:
        # Demonyms and roles carry meaning only for one type each; elsewhere they would be
        # counted by the tagger as if they were names of the actor.
        if self.demonyms and self.type is not ActorType.STATE:
            raise ValueError("only actors of type 'state' may have demonyms")
        if self.role is not None and self.type is not ActorType.PERSON:
            raise ValueError("only actors of type 'person' may have a role")
        if self.parent == self.id:
            raise ValueError("an actor cannot be its own parent")
        return self

    @property
    def surface_forms(self) -> tuple[str, ...]:
        """Every string that names this actor in text: name, aliases and demonyms."""
        return tuple(dict.fromkeys((self.name, *self.aliases, *self.demonyms)))


class ActorDictionary(BaseModel):
    """The merged dictionary: the bundled file plus whatever user files were layered on it.

    ``version`` is the bundled file's version, because that is what a bug report needs to
    reproduce the baseline; user files are local additions and have no version of their own.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1)
    actors: tuple[Actor, ...]
    shared_aliases: frozenset[str] = frozenset()

    _by_id: dict[str, Actor] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> ActorDictionary:
        # The loader already checks this file by file (so it can name the file); checking again
        # here keeps dictionaries built directly in code, e.g. in tests, just as trustworthy.
        ids: set[str] = set()
        for actor in self.actors:
            if actor.id in ids:
                raise ActorDictionaryError("<ActorDictionary>", "duplicate id", actor.id)
            ids.add(actor.id)
        _check_integrity(self.actors, self.shared_aliases, (), "<ActorDictionary>")
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._by_id = {actor.id: actor for actor in self.actors}

    def get(self, actor_id: str) -> Actor | None:
        return self._by_id.get(actor_id)

    def __getitem__(self, actor_id: str) -> Actor:
        return self._by_id[actor_id]

    def __contains__(self, actor_id: object) -> bool:
        return actor_id in self._by_id

    def children(self, actor_id: str) -> tuple[Actor, ...]:
        """Direct members of an umbrella (e.g. the PMF brigades), for roll-up counts."""
        return tuple(actor for actor in self.actors if actor.parent == actor_id)

    def ancestors(self, actor_id: str) -> tuple[Actor, ...]:
        """The chain of umbrellas above an actor, nearest first (cycles are rejected on load)."""
        chain: list[Actor] = []
        parent = self._by_id[actor_id].parent
        while parent is not None:
            actor = self._by_id[parent]
            chain.append(actor)
            parent = actor.parent
        return tuple(chain)


# --------------------------------------------------------------------------------------------
# YAML reading


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses repeated mapping keys.

    Plain PyYAML keeps the last of two ``aliases:`` keys without a word, which in a file of
    several thousand hand-edited lines silently drops data.
    """


def _construct_mapping_without_duplicates(
    loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False
) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping_without_duplicates
)


def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        # A SafeLoader subclass: no arbitrary object construction.
        document = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise ActorDictionaryError(source, f"malformed YAML: {exc}") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ActorDictionaryError(source, "the top level must be a mapping with an 'actors' list")
    unknown = sorted(str(key) for key in document if key not in _TOP_LEVEL_KEYS)
    if unknown:
        raise ActorDictionaryError(
            source,
            f"unknown top-level key(s) {', '.join(unknown)}; "
            f"expected {', '.join(sorted(_TOP_LEVEL_KEYS))}",
        )
    return document


def _read_version(document: Mapping[str, Any], source: str) -> str:
    version = document.get("version")
    if not isinstance(version, str) or not version.strip():
        # An unquoted 2026.11 is read by YAML as a float, hence the hint.
        raise ActorDictionaryError(source, "'version' must be a non-empty (quoted) string")
    return version.strip()


def _read_shared_aliases(document: Mapping[str, Any], source: str) -> list[str]:
    shared = document.get("shared_aliases", [])
    if shared is None:
        return []
    if not isinstance(shared, list) or not all(isinstance(item, str) for item in shared):
        raise ActorDictionaryError(source, "'shared_aliases' must be a list of strings")
    return shared


# --------------------------------------------------------------------------------------------
# Merging and checking


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error["loc"])
        parts.append(f"{location}: {error['msg']}" if location else error["msg"])
    return "; ".join(parts)


def _merge_file(actors: dict[str, Actor], document: Mapping[str, Any], source: str) -> set[str]:
    """Apply one file's actors onto ``actors`` in place and return the ids it touched.

    An id already present is *extended*: aliases accumulate (a user file that adds a local
    spelling must not lose the bundled ones), any other field given replaces the old value.
    """
    entries = document.get("actors", [])
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise ActorDictionaryError(source, "'actors' must be a list")

    touched: set[str] = set()
    for position, raw in enumerate(entries, start=1):
        if not isinstance(raw, dict):
            raise ActorDictionaryError(source, f"entry #{position} of 'actors' is not a mapping")
        actor_id = raw.get("id")
        if not isinstance(actor_id, str) or not actor_id.strip():
            raise ActorDictionaryError(source, f"entry #{position} of 'actors' has no id")
        actor_id = actor_id.strip()
        if actor_id in touched:
            raise ActorDictionaryError(source, "duplicate id within this file", actor_id)
        touched.add(actor_id)

        kind = raw.get("type")
        if kind is not None and kind not in ActorType._value2member_map_:
            allowed = ", ".join(member.value for member in ActorType)
            raise ActorDictionaryError(
                source, f"unknown type {kind!r}; expected one of: {allowed}", actor_id
            )

        existing = actors.get(actor_id)
        data: dict[str, Any] = dict(raw, id=actor_id)
        if existing is not None:
            data = existing.model_dump(mode="python")
            for key, value in raw.items():
                if key == "aliases" and isinstance(value, list):
                    data["aliases"] = [*existing.aliases, *value]
                elif key != "id":
                    data[key] = value
        try:
            actors[actor_id] = Actor.model_validate(data)
        except ValidationError as exc:
            raise ActorDictionaryError(source, _describe(exc), actor_id) from exc
    return touched


def _check_integrity(
    actors: Iterable[Actor], shared_aliases: Iterable[str], touched: Iterable[str], source: str
) -> None:
    """Cross-actor checks: parents exist and do not loop, and no name is claimed twice.

    Actors touched by the file being loaded are checked last, so that a clash between a user
    file and the bundled dictionary is blamed on the user's actor, which is the one to fix.
    """
    by_id = {actor.id: actor for actor in actors}
    touched_ids = set(touched)
    ordered = [a for a in by_id.values() if a.id not in touched_ids] + [
        a for a in by_id.values() if a.id in touched_ids
    ]

    for actor in ordered:
        if actor.parent is not None and actor.parent not in by_id:
            raise ActorDictionaryError(
                source, f"parent {actor.parent!r} is not an actor in the dictionary", actor.id
            )
    for actor in ordered:
        path = [actor.id]
        parent = actor.parent
        while parent is not None:
            if parent in path:
                loop = path[path.index(parent) :]
                culprit = next((i for i in loop if i in touched_ids), loop[0])
                raise ActorDictionaryError(
                    source, f"parent chain loops: {' -> '.join([*loop, parent])}", culprit
                )
            path.append(parent)
            parent = by_id[parent].parent

    shared = {alias_key(alias) for alias in shared_aliases}
    owners: dict[str, tuple[str, str]] = {}
    for actor in ordered:
        for form in actor.surface_forms:
            key = alias_key(form)
            owner = owners.get(key)
            if owner is None:
                owners[key] = (actor.id, form)
            elif owner[0] != actor.id and key not in shared:
                raise ActorDictionaryError(
                    source,
                    f"alias {form!r} is already claimed by actor {owner[0]!r} (as {owner[1]!r}); "
                    "remove one, or list it under top-level 'shared_aliases' if both are meant",
                    actor.id,
                )


def _bundled_text() -> tuple[str, str]:
    resource = resources.files("sitrep").joinpath(BUNDLED_RESOURCE)
    return resource.read_text(encoding="utf-8"), f"{resource} (bundled)"


def load_actor_dictionary(paths: Sequence[Path] = ()) -> ActorDictionary:
    """Load the bundled dictionary, then layer the user files on it in the order given.

    Later files win, so a desk can keep a shared team file and a personal file after it.
    Each file is checked as soon as it is merged, which is what lets errors name the file
    that introduced them rather than just "the dictionary".
    """
    text, source = _bundled_text()
    document = _parse(text, source)
    version = _read_version(document, source)

    actors: dict[str, Actor] = {}
    shared: list[str] = []
    layers: list[tuple[str, dict[str, Any]]] = [(source, document)]
    for path in paths:
        user_source = str(path)
        layers.append((user_source, _parse(Path(path).read_text(encoding="utf-8"), user_source)))

    for layer_source, layer in layers:
        shared.extend(_read_shared_aliases(layer, layer_source))
        touched = _merge_file(actors, layer, layer_source)
        _check_integrity(actors.values(), shared, touched, layer_source)

    return ActorDictionary(
        version=version, actors=tuple(actors.values()), shared_aliases=frozenset(shared)
    )
