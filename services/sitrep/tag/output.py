"""Output: the tags of a text (:class:`Tags`) and their JSON shape in ``articles.tagged``.

``places`` has one entry per resolved place, ``actors`` one per actor, each with every
mention's offsets; ``countries``, ``admin1`` and the actor roll-ups summarise them (the module
docstring of :mod:`sitrep.tag`, "Output decisions").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sitrep.actors import ActorType
from sitrep.gazetteer import Place

if TYPE_CHECKING:
    from sitrep.tag.actors import ActorIndex
    from sitrep.tag.hits import Hit


@dataclass(frozen=True, slots=True)
class PlaceTag:
    id: str
    name: str
    country: str
    country_name: str
    admin1: str  # "CC.code" (GeoNames), "" for a country
    admin1_name: str
    feature: str  # "class/code", e.g. "P/PPL", "A/PCLI"
    lat: float
    lon: float
    mentions: int
    first_offset: int
    surface_forms: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "country": self.country,
            "country_name": self.country_name, "admin1": self.admin1,
            "admin1_name": self.admin1_name, "feature": self.feature, "lat": self.lat,
            "lon": self.lon, "mentions": self.mentions, "first_offset": self.first_offset,
            "surface_forms": list(self.surface_forms),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class ActorTag:
    id: str
    name: str
    type: str
    countries: tuple[str, ...]
    parent: str | None
    mentions: int
    first_offset: int
    surface_forms: tuple[str, ...]
    via: str  # "name", or "demonym" when a state is seen only through its demonym

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "type": self.type,
            "countries": list(self.countries), "parent": self.parent,
            "mentions": self.mentions, "first_offset": self.first_offset,
            "surface_forms": list(self.surface_forms), "via": self.via,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Tags:
    """What one text mentions; :meth:`to_dict` is its JSON shape in ``articles.tagged``."""

    places: tuple[PlaceTag, ...] = ()
    actors: tuple[ActorTag, ...] = ()
    country_mentions: tuple[tuple[str, str, int], ...] = ()  # (code, name, mentions)
    admin1: tuple[str, ...] = ()
    actor_ids_rollup: tuple[str, ...] = ()

    @property
    def countries(self) -> list[str]:
        return [code for code, _, _ in self.country_mentions]

    @property
    def place_ids(self) -> list[str]:
        return [p.id for p in self.places]

    @property
    def actor_ids(self) -> list[str]:
        return [a.id for a in self.actors]

    def to_dict(self) -> dict[str, Any]:
        return {
            "places": [p.to_dict() for p in self.places],
            "countries": self.countries,
            "country_mentions": [
                {"code": c, "name": n, "mentions": k} for c, n, k in self.country_mentions
            ],
            "admin1": list(self.admin1),
            "geo": [
                {"lat": p.lat, "lon": p.lon}
                for p in self.places
                if not p.feature.startswith("A/PCL")
            ],
            "actors": [a.to_dict() for a in self.actors],
            "actor_ids": self.actor_ids,
            "actor_ids_rollup": list(self.actor_ids_rollup),
            "actor_types": list(dict.fromkeys(a.type for a in self.actors)),
            "actor_countries": list(dict.fromkeys(c for a in self.actors for c in a.countries)),
        }


def place_tag(place: Place, offsets: list[int], forms: dict[str, None]) -> PlaceTag:
    return PlaceTag(
        id=place.geonameid,
        name=place.name,
        country=place.country,
        country_name=place.country_name,
        admin1=f"{place.country}.{place.admin1}" if place.admin1 else "",
        admin1_name=place.admin1_name,
        feature=f"{place.feature_class}/{place.feature_code}",
        lat=place.lat,
        lon=place.lon,
        mentions=len(offsets),
        first_offset=offsets[0],  # mentions are gathered in order of offset
        surface_forms=tuple(forms),
    )


def assemble(
    text: str,
    hits: list[Hit],
    resolved: dict[str, Place | None],
    actor_of: dict[int, tuple[str, bool]],
    actors: ActorIndex,
) -> Tags:
    """The tags of a text from its hits, their places and their actors."""
    # Mentions in order of offset: each place's and actor's first mention is its first
    # offset, and the tags come out in that order.
    place_offsets: dict[str, list[int]] = {}
    place_forms: dict[str, dict[str, None]] = {}
    places_by_id: dict[str, Place] = {}
    actor_offsets: dict[str, list[int]] = {}
    actor_forms: dict[str, dict[str, None]] = {}
    actor_named: set[str] = set()  # mentioned by name at least once (not only a demonym)
    named_states: dict[str, list[int]] = {}
    actor_map = actors.by_id
    for hit in sorted(hits, key=lambda h: h.start):
        start = hit.start
        surface = text[start : hit.end]
        place = resolved.get(hit.resolution_key) if hit.places else None
        if place is not None:
            pid = place.geonameid
            offsets = place_offsets.get(pid)
            if offsets is None:
                places_by_id[pid] = place
                place_offsets[pid] = [start]
                place_forms[pid] = {surface: None}
            else:
                offsets.append(start)
                place_forms[pid].setdefault(surface, None)
        reading = actor_of.get(id(hit))
        if reading is not None:
            actor_id, demonym = reading
            offsets = actor_offsets.get(actor_id)
            if offsets is None:
                actor_offsets[actor_id] = [start]
                actor_forms[actor_id] = {surface: None}
            else:
                offsets.append(start)
                actor_forms[actor_id].setdefault(surface, None)
            if not demonym:
                actor_named.add(actor_id)
                actor = actor_map[actor_id]
                if not hit.compound and actor.type is ActorType.STATE and actor.countries:
                    named_states.setdefault(actor.countries[0], []).append(start)

    place_tags = tuple(
        place_tag(places_by_id[pid], offsets, place_forms[pid])
        for pid, offsets in place_offsets.items()
    )
    actor_tags = tuple(
        actors.tag(aid, offsets, actor_forms[aid], aid in actor_named)
        for aid, offsets in actor_offsets.items()
    )

    # A place's country counts each mention of the place; a named state counts the
    # mentions that were not already counted as its country place (the same words).
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    counted: set[tuple[str, int]] = set()
    for tag in place_tags:
        counts[tag.country] = counts.get(tag.country, 0) + tag.mentions
        first[tag.country] = min(first.get(tag.country, tag.first_offset), tag.first_offset)
        if tag.feature.startswith("A/PCL"):
            counted.update((tag.country, o) for o in place_offsets[tag.id])
    for cc, offsets in named_states.items():
        uncounted = [o for o in offsets if (cc, o) not in counted]
        if uncounted:
            counts[cc] = counts.get(cc, 0) + len(uncounted)
            first[cc] = min(first.get(cc, uncounted[0]), uncounted[0])
    names = {t.country: t.country_name for t in place_tags}
    for atag in actor_tags:
        if atag.type == ActorType.STATE.value and atag.countries:
            names.setdefault(atag.countries[0], atag.name)
    order = sorted(counts, key=lambda c: (-counts[c], first[c]))
    country_mentions = tuple((c, names.get(c, c), counts[c]) for c in order)

    admin1 = tuple(dict.fromkeys(t.admin1 for t in place_tags if t.admin1))
    rollup: dict[str, None] = {}
    for atag in actor_tags:
        rollup.setdefault(atag.id, None)
        for ancestor in actors.ancestors.get(atag.id, ()):
            rollup.setdefault(ancestor, None)
    return Tags(place_tags, actor_tags, country_mentions, admin1, tuple(rollup))
