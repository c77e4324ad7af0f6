"""Output: the tags of a text (:class:`Tags`) and their JSON shape in ``articles.tagged``.

``places`` has one entry per resolved place, ``actors`` one per actor, each with every
mention's offsets; ``countries``, ``admin1`` and the actor roll-ups summarise them (the module
docstring of :mod:`sitrep.tag`, "Output decisions").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from sitrep.actors import ActorType
from sitrep.gazetteer import Place

if TYPE_CHECKING:
    from sitrep.tag.actors import ActorIndex
    from sitrep.tag.hits import Hit

#: How a place is mentioned (``span_via``): by its name; by a name inside an organisation's
#: ("Ohio State University", "Laurel County Sheriff"); or by a demonym or adjective ("Turkish
#: drones"), which maps leave out.
VIA_NAME: Final = "name"
VIA_EMBEDDED: Final = "embedded"
VIA_ADJECTIVE: Final = "adjective"

Span = tuple[int, int]

#: Continents and macro-regions: no point on a map says where a story about them is, as a
#: country's would not (``geo`` leaves both out).
AREA_FEATURES: Final = frozenset({"L/CONT", "L/RGN"})


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
    spans: tuple[Span, ...] = ()  # [start, end) of every mention, sorted by start
    span_via: tuple[str, ...] = ()  # parallel to spans: VIA_NAME, VIA_EMBEDDED, VIA_ADJECTIVE

    @property
    def via(self) -> str:
        """``adjective`` when every mention is a demonym or adjective, else ``name``."""
        if self.span_via and all(v == VIA_ADJECTIVE for v in self.span_via):
            return VIA_ADJECTIVE
        return VIA_NAME

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "country": self.country,
            "country_name": self.country_name, "admin1": self.admin1,
            "admin1_name": self.admin1_name, "feature": self.feature, "lat": self.lat,
            "lon": self.lon, "mentions": self.mentions, "first_offset": self.first_offset,
            "surface_forms": list(self.surface_forms),
            "spans": [[s, e] for s, e in self.spans], "span_via": list(self.span_via),
            "via": self.via,
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
    spans: tuple[Span, ...] = ()  # [start, end) of every mention, sorted by start
    sector: str | None = None  # a state's sector code ("COP", "MIL"), else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "type": self.type,
            "countries": list(self.countries), "parent": self.parent,
            "mentions": self.mentions, "first_offset": self.first_offset,
            "surface_forms": list(self.surface_forms), "via": self.via,
            "spans": [[s, e] for s, e in self.spans], "sector": self.sector,
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

    def moved(self, position: Callable[[int], int]) -> Tags:
        """The same tags with every offset mapped by ``position`` (a text's offsets to those
        of the file it came from, say); ``position`` must keep the order of offsets."""

        def spans(spans: tuple[Span, ...]) -> tuple[Span, ...]:
            return tuple((position(s), position(e)) for s, e in spans)

        return replace(
            self,
            places=tuple(
                replace(p, first_offset=position(p.first_offset), spans=spans(p.spans))
                for p in self.places
            ),
            actors=tuple(
                replace(a, first_offset=position(a.first_offset), spans=spans(a.spans))
                for a in self.actors
            ),
        )

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
                if p.via != VIA_ADJECTIVE
                and p.feature not in AREA_FEATURES
                and not p.feature.startswith("A/PCL")
            ],
            "actors": [a.to_dict() for a in self.actors],
            "actor_ids": self.actor_ids,
            "actor_ids_rollup": list(self.actor_ids_rollup),
            "actor_types": list(dict.fromkeys(a.type for a in self.actors)),
            "actor_countries": list(dict.fromkeys(c for a in self.actors for c in a.countries)),
        }


def place_tag(place: Place, spans: list[Span], vias: list[str], forms: dict[str, None]) -> PlaceTag:
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
        mentions=len(spans),
        first_offset=spans[0][0],  # mentions are gathered in order of offset
        surface_forms=tuple(forms),
        spans=tuple(spans),
        span_via=tuple(vias),
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
    place_spans: dict[str, list[Span]] = {}
    place_vias: dict[str, list[str]] = {}
    place_forms: dict[str, dict[str, None]] = {}
    places_by_id: dict[str, Place] = {}
    actor_spans: dict[str, list[Span]] = {}
    actor_forms: dict[str, dict[str, None]] = {}
    actor_named: set[str] = set()  # mentioned by name at least once (not only a demonym)
    named_states: dict[str, list[int]] = {}
    actor_map = actors.by_id
    for hit in sorted(hits, key=lambda h: h.start):
        start = hit.start
        span = (start, hit.end)
        surface = text[start : hit.end]
        if not hit.places:
            place = None
        elif hit.fixed:
            place = hit.places[0]
        else:
            place = resolved.get(hit.resolution_key)
        if place is not None:
            pid = place.geonameid
            spans = place_spans.get(pid)
            if spans is None:
                places_by_id[pid] = place
                place_spans[pid] = [span]
                place_vias[pid] = [hit.place_via]
                place_forms[pid] = {surface: None}
            else:
                spans.append(span)
                place_vias[pid].append(hit.place_via)
                place_forms[pid].setdefault(surface, None)
        reading = actor_of.get(id(hit))
        if (
            reading is not None and place is not None and not place.is_country
            and actor_map[reading[0]].type is ActorType.STATE
        ):  # fmt: skip
            reading = None  # "Savannah, Georgia": the region, not the state
        if reading is not None:
            actor_id, demonym = reading
            spans = actor_spans.get(actor_id)
            if spans is None:
                actor_spans[actor_id] = [span]
                actor_forms[actor_id] = {surface: None}
            else:
                spans.append(span)
                actor_forms[actor_id].setdefault(surface, None)
            if not demonym:
                actor_named.add(actor_id)
                actor = actor_map[actor_id]
                if not hit.compound and actor.type is ActorType.STATE and actor.countries:
                    named_states.setdefault(actor.countries[0], []).append(start)

    place_tags = tuple(
        place_tag(places_by_id[pid], spans, place_vias[pid], place_forms[pid])
        for pid, spans in place_spans.items()
    )
    actor_tags = tuple(
        actors.tag(aid, spans, actor_forms[aid], aid in actor_named)
        for aid, spans in actor_spans.items()
    )

    # A place's country counts each mention of the place; a named state counts the
    # mentions that were not already counted as its country place (the same words).
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    counted: set[tuple[str, int]] = set()
    for tag in place_tags:
        # A demonym says whose, not where ("Iranian advisers"); a continent has no country.
        where = [s for (s, _), via in zip(tag.spans, tag.span_via, strict=True)
                 if via != VIA_ADJECTIVE]  # fmt: skip
        if not where or not tag.country:
            continue
        counts[tag.country] = counts.get(tag.country, 0) + len(where)
        first[tag.country] = min(first.get(tag.country, where[0]), where[0])
        if tag.feature.startswith("A/PCL"):
            counted.update((tag.country, s) for s in where)
    for cc, offsets in named_states.items():
        uncounted = [o for o in offsets if (cc, o) not in counted]
        if uncounted:
            counts[cc] = counts.get(cc, 0) + len(uncounted)
            first[cc] = min(first.get(cc, uncounted[0]), uncounted[0])
    names = {t.country: t.country_name for t in place_tags if t.country}
    for atag in actor_tags:
        if atag.type == ActorType.STATE.value and atag.countries:
            names.setdefault(atag.countries[0], atag.name)
    order = sorted(counts, key=lambda c: (-counts[c], first[c]))
    country_mentions = tuple((c, names.get(c, c), counts[c]) for c in order)

    admin1 = tuple(
        dict.fromkeys(t.admin1 for t in place_tags if t.admin1 and t.via != VIA_ADJECTIVE)
    )
    rollup: dict[str, None] = {}
    for atag in actor_tags:
        rollup.setdefault(atag.id, None)
        for ancestor in actors.ancestors.get(atag.id, ()):
            rollup.setdefault(ancestor, None)
    return Tags(place_tags, actor_tags, country_mentions, admin1, tuple(rollup))
