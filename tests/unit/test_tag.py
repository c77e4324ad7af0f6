"""The tag stage: places and actors of a text, resolved with the article as context.

What an analyst relies on: the spellings of the beat are found (al-Tanf, At Tanf; Hizballah;
Ahmed al-Asadi), words are not names ("is" is not the Islamic State, "us" not the United
States), people are not places (the envoy Jordan), the same name goes to the right place in
each story (Tripoli, Georgia), and the output carries what search and maps need.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from sitrep.schemas import problems
from sitrep.tag import SCHEMA, TAGGER_VERSION, Tagger, Tags, tag_command

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(os.environ.get("SITREP_SAMPLES_DIR") or ROOT.parent / "shared" / "samples")
ANNOTATIONS = Path(__file__).parent / "data" / "sample_annotations.yaml"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.load()


def places(tags: Tags) -> dict[str, str]:
    """Canonical name -> country of every place tagged."""
    return {p.name: p.country for p in tags.places}


def place_ids(tags: Tags) -> set[str]:
    return {p.id for p in tags.places}


def actor_ids(tags: Tags) -> set[str]:
    return {a.id for a in tags.actors}


# --------------------------------------------------------------------------------------------
# Spellings of the samples


@pytest.mark.parametrize(
    ("text", "place_id", "country"),
    [
        ("Militias advanced in Iraq on Monday.", "99237", "IQ"),
        ("Fighting continued in Syria.", "163843", "SY"),
        ("Forces entered Mosul in Iraq.", "99072", "IQ"),
        ("They reached Baaj, west of Mosul.", "99524", "IQ"),
        ("They reached Ba'aj, west of Mosul.", "99524", "IQ"),
        ("They reached Ba‘aj, west of Mosul.", "99524", "IQ"),
        ("A base near al-Tanf in Syria.", "sitrep:al_tanf", "SY"),
        ("A base near At Tanf in Syria.", "sitrep:al_tanf", "SY"),
        ("A base near Al Tanf in Syria.", "sitrep:al_tanf", "SY"),
        ("The Um Jaris village on the border with Syria, Iraq.", "sitrep:umm_jaris", "IQ"),
        ("The Umm Jaris village on the border with Syria, Iraq.", "sitrep:umm_jaris", "IQ"),
        ("Mosul and surrounding Nineveh province.", "92877", "IQ"),
        ("Mosul and surrounding Ninawa province.", "92877", "IQ"),
        ("Where Syria, Iraq and Jordan all meet.", "248816", "JO"),
        ("Fighters from Lebanon's Hizballah.", "272103", "LB"),
        ("It gave Tehran a land route to Syria.", "112931", "IR"),
        ("A linkup between Baghdad and Damascus.", "98182", "IQ"),
        ("The Badia region where Syria, Iraq and Jordan meet.", "sitrep:badia", "SY"),
        ("The western bank of the Tigris river in Mosul.", "sitrep:tigris", "IQ"),
        ("Troops recruited from Iraq, Afghanistan, and Pakistan.", "1149361", "AF"),
        ("Troops recruited from Iraq, Afghanistan, and Pakistan.", "1168579", "PK"),
        ("Syria and its ally Russia.", "2017370", "RU"),
        ("Washington has challenged Assad's legitimacy.", "4140963", "US"),
    ],
)
def test_sample_place_spellings(tagger: Tagger, text: str, place_id: str, country: str) -> None:
    tags = tagger.tag_text(text)
    found = {p.id: p for p in tags.places}
    assert place_id in found, places(tags)
    assert found[place_id].country == country


@pytest.mark.parametrize(
    ("text", "actor_id"),
    [
        ("Iraqi forces battled Islamic State in Mosul.", "isis"),
        ("The offensive against ISIS in Iraq.", "isis"),
        ("The U.S. military has been training them to fight IS.", "isis"),
        ("The Popular Mobilization Forces said on Monday.", "pmf"),
        ("Fighters of the PMF advanced.", "pmf"),
        ("For Popular Mobilization, reclaiming the territory matters.", "pmf"),
        ("Also called Al-Hashd Al-Shaabi, the force advanced.", "pmf"),
        ("The Lebanon-based Hezbollah backs the army.", "hezbollah"),
        ("Fighters from Lebanon's Hizballah also work closely.", "hezbollah"),
        ('"A victory," Ahmad al-Asadi, a spokesperson, said.', "ahmad_al_asadi"),
        ('"A victory," said Ahmed al-Asadi, a spokesman.', "ahmad_al_asadi"),
        ("Major General Qasem Soleimani was pictured.", "qasem_soleimani"),
        ("Iran's elite Islamic Revolutionary Guards Corps.", "irgc"),
        ("The Kurdish-majority Syrian Democratic Forces (SDF) hold it.", "sdf"),
        ("While the SDF has become the main ally.", "sdf"),
        ("Under the banner of the Free Syrian Army.", "fsa"),
        ("The PMF group known as Kataib Al-Imam Ali was seen.", "kataib_imam_ali"),
        ("The government of President Bashar al-Assad.", "bashar_al_assad"),
        ("Between Assad and Syrian rebels.", "bashar_al_assad"),
        ("Backed by the U.S. and its allies.", "united_states"),
        ("Backed by the US and its allies.", "united_states"),
        ("A parallel offensive run by the Syrian army.", "syrian_army"),
        ("An alliance that includes the Iraqi military.", "iraqi_security_forces"),
    ],
)
def test_sample_actor_spellings(tagger: Tagger, text: str, actor_id: str) -> None:
    assert actor_id in actor_ids(tagger.tag_text(text))


def test_wire_agencies_are_bylines_not_actors(tagger: Tagger) -> None:
    tags = tagger.tag_text(
        "Reuters reported, according to the Associated Press, that AP and AFP ..."
    )
    assert not tags.actors
    assert not tags.places


def _annotations() -> dict[str, Any]:
    if not ANNOTATIONS.exists():
        return {}
    samples: dict[str, Any] = yaml.safe_load(ANNOTATIONS.read_text(encoding="utf-8"))["samples"]
    return samples


@pytest.mark.parametrize("name", sorted(_annotations()))
def test_real_samples_against_the_hand_annotation(tagger: Tagger, name: str) -> None:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {path} not available")
    ann = _annotations()[name]
    title, _, text = path.read_text(encoding="utf-8").partition("\n")
    tags = tagger.tag_text(text.strip("\n"), title=title.strip())
    by_id = {p.id: p for p in tags.places}
    for place in ann["places"]:
        if not place.get("in_gazetteer", True):
            continue
        assert place["id"] in by_id, f"{place['name']} not found: {places(tags)}"
        got = by_id[place["id"]]
        assert _km(got.lat, got.lon, place["lat"], place["lon"]) <= place["within_km"]
    expected_places = {p["id"] for p in ann["places"] if p.get("in_gazetteer", True)}
    # Beyond the annotated places, only the countries of states the annotation has as actors:
    # a state named ("the U.S. launched") or seen through its demonym ("its Russian ally")
    # is a mention of its country too (the latter flagged adjective, for maps to leave out).
    states = {a.countries[0] for a in tags.actors if a.type == "state" and a.countries}
    extra = [by_id[i] for i in place_ids(tags) - expected_places]
    assert all(p.feature.startswith("A/PCL") and p.country in states for p in extra), extra
    assert expected_places <= place_ids(tags)
    named = {a.id for a in tags.actors if a.via == "name"}
    assert set(ann["actors"]) <= named <= set(ann["actors"]) | set(ann.get("missing_actors", []))


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(a))


# --------------------------------------------------------------------------------------------
# Words that are not names


def test_acronyms_are_case_sensitive(tagger: Tagger) -> None:
    tags = tagger.tag_text(
        "This is what they told us. The WHO said IS fighters attacked US troops."
    )
    forms = {a.id: set(a.surface_forms) for a in tags.actors}
    assert forms["isis"] == {"IS"}
    assert "united_states" in forms or "us_armed_forces" in forms
    assert "world_health_organization" in actor_ids(tags) or "who" in actor_ids(tags)
    lower = tagger.tag_text("this is what they told us, who said it is over")
    assert not lower.actors


def test_agency_acronym_is_not_a_place(tagger: Tagger) -> None:
    tags = tagger.tag_text("State news agency SANA reported the strike.")
    assert "YE" not in tags.countries
    assert not tags.places


def test_calendar_words_are_not_places(tagger: Tagger) -> None:
    tags = tagger.tag_text("May 29 was a Ramadan miracle, he said on Monday in March.")
    assert not tags.places


# --------------------------------------------------------------------------------------------
# Same name, different things


def test_jordan_the_country(tagger: Tagger) -> None:
    tags = tagger.tag_text("Jordan closed its border with Syria after drones crossed into Jordan.")
    assert "248816" in place_ids(tags)
    assert "jordan" in actor_ids(tags)


@pytest.mark.parametrize(
    "text",
    [
        "Rebecca Jordan, the State Department's envoy, held talks in Baghdad. Jordan told "
        "reporters in Erbil that the pipeline must reopen.",
        "US envoy Jordan presses Baghdad and Erbil to restart oil exports.",
        "Mr. Jordan said the talks in Baghdad had gone well.",
        "Michael Jordan visited Baghdad on Tuesday.",
    ],
)
def test_jordan_the_person(tagger: Tagger, text: str) -> None:
    tags = tagger.tag_text(text)
    assert "248816" not in place_ids(tags)
    assert "jordan" not in actor_ids(tags)
    assert "98182" in place_ids(tags)  # Baghdad is still there


def test_georgia_country_or_us_state(tagger: Tagger) -> None:
    caucasus = tagger.tag_text("Protests in Tbilisi: Georgia's ruling party drops the bill.")
    assert places(caucasus)["Georgia"] == "GE"
    alone = tagger.tag_text("Georgia applied to join the European Union.")
    assert places(alone)["Georgia"] == "GE"
    us = tagger.tag_text("Storms hit Atlanta and Savannah, Georgia, on Sunday.")
    georgia = next(p for p in us.places if "Georgia" in p.surface_forms)
    assert (georgia.country, georgia.feature) == ("US", "A/ADM1")


def test_tripoli_by_context(tagger: Tagger) -> None:
    lebanon = tagger.tag_text(
        "The Lebanese army fought gunmen in Tripoli, Lebanon's second city, near the Syrian "
        "border; Hezbollah condemned the attack in Beirut."
    )
    assert places(lebanon)["Tripoli"] == "LB"
    libya = tagger.tag_text("Haftar's forces pushed toward Tripoli from Gharyan, Libya.")
    assert places(libya)["Tripoli"] == "LY"
    alone = tagger.tag_text("Fighting was reported in Tripoli.")
    assert places(alone)["Tripoli"] == "LY"


# --------------------------------------------------------------------------------------------
# Longest match across both dictionaries


def test_longest_match_across_dictionaries(tagger: Tagger) -> None:
    tags = tagger.tag_text(
        "The Islamic State lost ground; Kataib Hezbollah fired rockets; the Syrian army "
        "advanced; Latin America watched, and the Middle East waited."
    )
    ids = actor_ids(tags)
    assert {"isis", "kataib_hezbollah", "syrian_army"} <= ids
    assert "hezbollah" not in ids  # inside "Kataib Hezbollah"
    assert "syria" not in ids  # "Syrian" inside "Syrian army"
    assert "united_states" not in ids  # "America" inside "Latin America"
    # No place inside "Islamic State"; "Middle East" is not the US hamlet of that name (a region
    # of that name, should the gazetteer get one, would be welcome).
    assert all(p.country != "US" and not p.feature.startswith("P/") for p in tags.places)


def test_compound_makes_the_state_an_actor_not_a_place(tagger: Tagger) -> None:
    tags = tagger.tag_text("Iran-backed militias advanced; the Lebanon-based Hezbollah helped.")
    assert "iran" in actor_ids(tags)
    assert "IR" not in tags.countries
    assert "LB" in tags.countries  # "based in" is a place


def test_demonyms(tagger: Tagger) -> None:
    tags = tagger.tag_text("Iranian advisers and the Syrian army; the Iraqi government met.")
    by_id = {a.id: a for a in tags.actors}
    assert by_id["iran"].via == "demonym"
    assert {"syrian_army", "iraqi_government"} <= set(by_id)
    assert "syria" not in by_id and "iraq" not in by_id  # the longer actor took the span
    assert "IR" not in tags.countries  # a demonym is not a place of the story
    assert "IR" in tags.to_dict()["actor_countries"]


def _place_mentions(tags: Tags, text: str) -> dict[str, list[tuple[str, str]]]:
    """Place name -> [(mentioned text, span_via)] of each mention."""
    return {
        p.name: [(text[s:e], via) for (s, e), via in zip(p.spans, p.span_via, strict=True)]
        for p in tags.places
    }


def test_a_demonym_records_its_country_as_an_adjective_place(tagger: Tagger) -> None:
    text = "Turkish drones struck again; the Syrian army and Americans watched."
    tags = tagger.tag_text(text)
    mentions = _place_mentions(tags, text)
    assert mentions["Turkey"] == [("Turkish", "adjective")]
    assert mentions["Syria"] == [("Syrian", "adjective")]  # inside the actor "Syrian army"
    assert mentions["United States"] == [("Americans", "adjective")]
    assert {p.via for p in tags.places} == {"adjective"}
    out = tags.to_dict()
    assert out["countries"] == [] and out["geo"] == []  # whose, not where: maps leave them out
    assert {"turkey", "syrian_army", "united_states"} <= actor_ids(tags)


def test_a_state_named_is_a_mention_of_its_country(tagger: Tagger) -> None:
    """ "U.S." and "US" are too short for the gazetteer's automaton; the state names them."""
    text = "The U.S. launched strikes. US officials said the U.S.-led coalition would stay."
    tags = tagger.tag_text(text)
    us = next(p for p in tags.places if p.country == "US")
    assert [text[s:e] for s, e in us.spans] == ["U.S.", "US"]  # not the compound "U.S.-led"
    assert us.via == "name" and tags.countries == ["US"]


def test_a_place_inside_an_organisations_name_is_an_embedded_mention(tagger: Tagger) -> None:
    text = "Students at Ohio State University protested, the Kentucky Department of Education said."
    mentions = _place_mentions(tagger.tag_text(text), text)
    assert mentions["Ohio"] == [("Ohio", "embedded")]
    assert mentions["Kentucky"] == [("Kentucky", "embedded")]


def test_fragments_of_longer_names_stay_dropped(tagger: Tagger) -> None:
    """A place followed by a name or a division word is part of a longer name, not embedded:
    no mention of the town is tagged (the county may be, where the gazetteer has it)."""
    for text, word in [
        ("Paris Hilton arrived.", "Paris"),
        ("Rebecca Jordan told reporters.", "Jordan"),
        ("In Laurel County.", "Laurel"),
    ]:
        tags = tagger.tag_text(text)
        assert word not in {text[s:e] for p in tags.places for s, e in p.spans}, text


@pytest.mark.parametrize(
    "text",
    [
        "Brown, the driver, was not hurt, police said.",  # a surname: Belton's alternate name
        "Sam told reporters he would stay.",  # a given name: Damascus's alternate name
        "Lawmakers in Congress voted on the bill.",  # a common word: a US hamlet
        "Georgia Stevens skates on weekends. Georgia began at four.",  # given name + surname
        "It is what it is",
    ],
)
def test_names_and_common_words_are_not_small_places(tagger: Tagger, text: str) -> None:
    assert not tagger.tag_text(text).places, text


@pytest.mark.parametrize(
    ("text", "town", "region"),
    [
        ("Paris, Texas is small.", "Paris", "US.TX"),  # not the French capital
        ("A plant in Greer, SC opened.", "Greer", "US.SC"),  # the region by its code
        ("Atlanta, Georgia was hot.", "Atlanta", "US.GA"),  # the US state, not the country
    ],
)
def test_a_region_after_a_comma_says_which_place(
    tagger: Tagger, text: str, town: str, region: str
) -> None:
    tags = tagger.tag_text(text)
    by_name = {p.name: p for p in tags.places}
    assert by_name[town].admin1 == region
    regions = [p for p in tags.places if p.feature == "A/ADM1"]
    assert [p.admin1 for p in regions] == [region]
    assert tags.countries == ["US"]


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("Andrei Bogdanov Joins Sochi Mayor Race in the resort.", "Sochi"),  # "Joins": no name
        ("Environment Canada now says snowfall has tapered off.", "Canada"),
    ],
)
def test_a_capitalised_word_before_a_place_must_be_a_first_name_to_make_a_person(
    tagger: Tagger, text: str, place: str
) -> None:
    assert place in {p.name for p in tagger.tag_text(text).places}


def test_abbreviated_names_keep_their_full_stops(tagger: Tagger) -> None:
    text = "They flew to St. Petersburg and Mt. Vernon."
    mentions = _place_mentions(tagger.tag_text(text), text)
    assert sorted(m for ms in mentions.values() for m, _ in ms) == ["Mt. Vernon", "St. Petersburg"]


def test_continents_and_macro_regions_are_places_of_no_country() -> None:
    """With a gazetteer that has them (features L/CONT, L/RGN), "Europe" and "the Sahel" are
    places; they have no country, so countries and the map leave them out."""
    from sitrep.actors import load_actor_dictionary
    from sitrep.gazetteer import Gazetteer, Place

    def place(gid: str, name: str, cc: str, fclass: str, fcode: str, pop: int) -> Place:
        return Place(gid, name, name, cc, "France" if cc else "", "", "", fclass, fcode, pop,
                     48.0, 2.0, (), pop)  # fmt: skip

    gazetteer = Gazetteer.from_places([
        place("6255148", "Europe", "", "L", "CONT", 0),
        place("9000001", "Sahel", "", "L", "RGN", 0),
        place("3017382", "France", "FR", "A", "PCLI", 66_000_000),
        place("2988507", "Paris", "FR", "P", "PPLC", 2_100_000),
    ])  # fmt: skip
    dictionary = load_actor_dictionary()
    tags = Tagger(gazetteer, dictionary, actors_version="test").tag_text(
        "Leaders of Europe met in Paris to discuss the Sahel."
    )
    features = {p.name: p.feature for p in tags.places}
    assert features == {"Europe": "L/CONT", "Paris": "P/PPLC", "Sahel": "L/RGN"}
    out = tags.to_dict()
    assert out["countries"] == ["FR"]
    assert out["geo"] == [{"lat": 48.0, "lon": 2.0}]  # Paris only
    assert "" not in out["admin1"]


def test_national_army_from_state_and_military_noun(tagger: Tagger) -> None:
    tags = tagger.tag_text("Iraq's army launched an offensive while Turkish drones struck Sinjar.")
    assert {"iraqi_army", "turkish_armed_forces"} <= actor_ids(tags)


# --------------------------------------------------------------------------------------------
# Output


def test_positions_offsets_and_mentions(tagger: Tagger) -> None:
    title = "Clashes near Mosul"
    text = "Fighting near Mosul went on. Mosul's old city, Iraq, was shelled."
    tags = tagger.tag_text(text, title=title)
    full = f"{title}\n\n{text}"
    mosul = next(p for p in tags.places if p.name == "Mosul")
    assert mosul.mentions == 3
    assert mosul.first_offset == full.index("Mosul")
    assert full[mosul.first_offset : mosul.first_offset + 5] == "Mosul"
    assert mosul.surface_forms == ("Mosul",)
    for place in tags.places:
        assert -90 <= place.lat <= 90 and -180 <= place.lon <= 180
        assert (place.lat, place.lon) != (0.0, 0.0)
    assert abs(mosul.lat - 36.34) < 0.3 and abs(mosul.lon - 43.13) < 0.3
    assert mosul.admin1 == "IQ.15" and mosul.feature == "P/PPL"
    assert tags.to_dict()["geo"] == [{"lat": mosul.lat, "lon": mosul.lon}]  # no country point


def _assert_spans_mark_the_mentions(text: str, tagged: dict[str, Any]) -> None:
    """Every place and actor: one span per mention, sorted, each the text of a surface form,
    the first at ``first_offset``."""
    for tag in [*tagged["places"], *tagged["actors"]]:
        spans = tag["spans"]
        assert len(spans) == tag["mentions"] and spans == sorted(spans)
        assert spans[0][0] == tag["first_offset"]
        assert all(text[s:e] in tag["surface_forms"] for s, e in spans), tag
        assert set(tag["surface_forms"]) == {text[s:e] for s, e in spans}


def test_spans_mark_every_mention(tagger: Tagger) -> None:
    title = "Clashes near Mosul"
    text = "Fighting near Mosul went on. Iran-backed PMF units left Mosul's old city, Iraq."
    tagged = tagger.tag_text(text, title=title).to_dict()
    full = f"{title}\n\n{text}"
    _assert_spans_mark_the_mentions(full, tagged)
    mosul = next(p for p in tagged["places"] if p["name"] == "Mosul")
    assert [full[s:e] for s, e in mosul["spans"]] == ["Mosul"] * 3
    pmf = next(a for a in tagged["actors"] if a["id"] == "pmf")
    assert [full[s:e] for s, e in pmf["spans"]] == ["PMF"] and pmf["sector"] is None


def test_country_roll_up(tagger: Tagger) -> None:
    tags = tagger.tag_text(
        "Militias near Baaj and Mosul pushed toward Syria, backed by the U.S.; "
        "Iranian advisers were there."
    )
    assert set(tags.countries) == {"IQ", "SY", "US"}
    counts = {c["code"]: c["mentions"] for c in tags.to_dict()["country_mentions"]}
    assert counts["IQ"] == 2 and counts["SY"] == 1 and counts["US"] == 1
    assert tags.admin1 == ("IQ.15",)


def test_actor_roll_up_to_ancestors(tagger: Tagger) -> None:
    tags = tagger.tag_text("Fighters of Kataib al-Imam Ali crossed the border.")
    out = tags.to_dict()
    assert out["actor_ids"] == ["kataib_imam_ali"]
    assert "pmf" in out["actor_ids_rollup"]
    assert out["actor_types"] == ["armed_group"]


def test_user_actor_file_extends_the_dictionary(tagger: Tagger, tmp_path: Path) -> None:
    extra = tmp_path / "desk.yaml"
    extra.write_text(
        "actors:\n"
        "  - id: liwa_test_brigade\n    name: Liwa al-Testiyya\n    type: armed_group\n"
        "    countries: [IQ]\n    aliases: [Testiyya Brigade]\n    parent: pmf\n"
        "  - id: hezbollah\n    aliases: [Hizbuttest]\n",
        encoding="utf-8",
    )
    custom = Tagger.load([extra])
    tags = custom.tag_text("The Testiyya Brigade and Hizbuttest fought near Mosul.")
    assert {"liwa_test_brigade", "hezbollah"} <= actor_ids(tags)
    assert "pmf" in tags.actor_ids_rollup
    assert custom.actors_version.startswith(tagger.actors_version + "+local-")
    assert not actor_ids(tagger.tag_text("The Testiyya Brigade and Hizbuttest fought."))


def test_tag_article_output(tagger: Tagger) -> None:
    clean = {
        "id": "abc123",
        "title": "PMF reaches Syrian border",
        "text": "The Popular Mobilization Forces reached the border near Baaj in Iraq.",
        "description": "Militias at the border.",
        "language": "en",
        "published": "2017-05-30T08:52:00+00:00",
        "schema": "articles.clean/1",
    }
    out = tagger.tag_article(clean)
    assert out["schema"] == SCHEMA
    assert out["id"] == "abc123" and out["text"] == clean["text"]
    for key in ("places", "countries", "admin1", "geo", "actors", "actor_types",
                "actor_countries", "actor_ids", "actor_ids_rollup", "tagging"):  # fmt: skip
        assert key in out
    assert out["tagging"] == {
        "gazetteer_version": tagger.gazetteer_version,
        "actors_version": tagger.actors_version,
        "tagger_version": TAGGER_VERSION,
    }
    place = next(p for p in out["places"] if p["name"] == "Al Ba‘āj")
    assert set(place) == {
        "id", "name", "country", "country_name", "admin1", "admin1_name", "feature", "lat",
        "lon", "mentions", "first_offset", "surface_forms", "spans", "span_via", "via",
    }  # fmt: skip
    full = f"{clean['title']}\n\n{clean['text']}"
    assert full[place["first_offset"] :].startswith("Baaj")
    assert [full[s:e] for s, e in place["spans"]] == ["Baaj"] * place["mentions"]
    assert place["span_via"] == ["name"] * place["mentions"] and place["via"] == "name"
    for actor in out["actors"]:
        assert {"spans", "sector"} <= set(actor)
        assert all(full[s:e] in actor["surface_forms"] for s, e in actor["spans"])
    assert out["countries"] == ["IQ", "SY"] or set(out["countries"]) == {"IQ"}
    assert {a["id"] for a in out["actors"]} >= {"pmf"}
    json.dumps(out)  # JSON-serialisable as is
    # The tags fit the topic's schema (the clean message's own fields are the clean stage's).
    clean_fields = {"id": "0" * 32, "canonical_url": None, "text_hash": "0", "minhash": None}
    assert problems("articles.tagged", {**out, **clean_fields}) == []
    assert tagger.tag_article({"id": "x", "title": None, "text": ""})["places"] == []


# --------------------------------------------------------------------------------------------
# The CLI helper


def test_tag_command_several_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    txt = tmp_path / "a.txt"
    txt.write_text("Jordan closes border\nJordan closed its border with Syria.\n", "utf-8")
    html = tmp_path / "b.html"
    html.write_text(
        "<html><head><title>Mosul</title></head><body><nav>Home</nav><article><h1>Mosul"
        "</h1><p>Iraqi forces advanced in Mosul, the city in northern Iraq, on Monday, while "
        "the Islamic State held the Old City.</p></article></body></html>",
        "utf-8",
    )
    binary = tmp_path / "c.txt"
    binary.write_bytes(b"\x00\x01\x02")
    rc = tag_command([str(txt), str(tmp_path / "missing.txt"), str(binary), str(html)])
    out, err = capsys.readouterr()
    assert rc == 1
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["source"] for line in lines] == [str(txt), str(html)]
    assert lines[0]["title"] == "Jordan closes border"
    assert {"JO", "SY"} <= set(lines[0]["countries"])
    assert "IQ" in lines[1]["countries"]
    assert "missing.txt" in err and "c.txt" in err


def test_tag_command_spans_index_the_file_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """For a .txt file the spans index the file's decoded text as it is: the title line, the
    line breaks (here CRLF and blank lines), leading spaces and a byte-order mark count."""
    content = (
        "\ufeff  Mosul clashes\r\n\r\n\nFighting near Mosul, Iraq.\r\n"
        "Iraqi forces and the PMF entered Tal Afar.\n"
    )
    txt = tmp_path / "a.txt"
    txt.write_bytes(content.encode("utf-8"))
    assert tag_command([str(txt)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["title"] == "Mosul clashes"
    _assert_spans_mark_the_mentions(content, out)
    mosul = next(p for p in out["places"] if p["name"] == "Mosul")
    assert [content[s:e] for s, e in mosul["spans"]] == ["Mosul", "Mosul"]
    assert {a["id"] for a in out["actors"]} >= {"pmf"}


def test_tag_command_spans_index_the_cleaned_text_of_a_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """For a page the spans index the cleaned title and text, which the output carries."""
    html = tmp_path / "b.html"
    html.write_text(
        "<html><head><title>Mosul</title></head><body><nav>Home | Baghdad</nav><article>"
        "<h1>Mosul</h1><p>Iraqi forces advanced in Mosul, the city in northern Iraq, on "
        "Monday, while the Islamic State held the Old City.</p><p>The Popular Mobilization "
        "Forces stayed near Tal Afar, west of Mosul.</p></article></body></html>",
        "utf-8",
    )
    assert tag_command([str(html)]) == 0
    out = json.loads(capsys.readouterr().out)
    shown = out["text"]
    assert shown.startswith(out["title"]) and "Iraqi forces advanced" in shown
    _assert_spans_mark_the_mentions(shown, out)
    assert {p["name"] for p in out["places"]} >= {"Mosul", "Tall ‘Afar"}


def test_tag_command_one_file_is_indented(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    txt = tmp_path / "a.txt"
    txt.write_text("Title\nFighting in Mosul.\n", "utf-8")
    assert tag_command([str(txt)]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("{\n  ")
    assert "source" not in json.loads(out)


# --------------------------------------------------------------------------------------------
# Shortcuts of the hot paths give what the plain computation gives


def _demo_texts() -> list[str]:
    gold = sorted((ROOT / "services" / "sitrep" / "data" / "demo" / "gold").glob("*.txt"))
    texts = [p.read_text(encoding="utf-8") for p in gold]
    texts += [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]
    return texts


def test_resolution_skips_only_keys_whose_evidence_is_unchanged(
    tagger: Tagger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key keeps its place of the pass before only when no place it can see changed: the
    same tags as scoring every key in every pass."""
    import sitrep.tag.resolution as resolution

    texts = _demo_texts()
    texts += [p for t in texts for p in t.split("\n\n") if p.strip()]
    skipping = [json.dumps(tagger.tag_text(t).to_dict(), sort_keys=True) for t in texts]
    monkeypatch.setattr(resolution, "_changed", lambda *args: True)
    rescoring = [json.dumps(tagger.tag_text(t).to_dict(), sort_keys=True) for t in texts]
    assert skipping == rescoring


@pytest.mark.parametrize(
    ("text", "raws", "gaps"),
    [
        ("Forces left the U.S.", ["Forces", "left", "the", "U.S."], ["", " ", " ", " "]),
        (
            "CHARLESTON, W.Va. -- St.Louis",
            ["CHARLESTON", "W.Va.", "St", "Louis"],
            ["", ", ", " -- ", "."],
        ),
        ("Iraq's army. ", ["Iraq", "army"], ["", " "]),  # the gap after the possessive
        ("(l'Irak) -- and", ["Irak", "and"], ["(l'", ") -- "]),
        ("...", [], []),
        ("", [], []),
    ],
)
def test_tokens_and_gaps(text: str, raws: list[str], gaps: list[str]) -> None:
    from sitrep.tag.tokens import tokenise

    tokens = tokenise(text)
    assert tokens.raws == raws
    assert tokens.gaps == gaps
    assert [text[s:e] for s, e in zip(tokens.starts, tokens.ends, strict=True)] == raws


def test_tokens_when_the_gap_cache_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    import sitrep.tag.tokens as tag_module

    text = "Iraq, Syria; Jordan - Lebanon. Egypt: Libya (Yemen) Oman"
    expected = tag_module.tokenise(text)
    monkeypatch.setattr(tag_module, "_GAP_CACHE_MAX", 2)
    tag_module._GAP_SENTENCE.clear()
    tag_module._GAP_JOINED.clear()
    tokens = tag_module.tokenise(text)
    assert (tokens.raws, tokens.sentence, tokens.joined) == (
        expected.raws,
        expected.sentence,
        expected.joined,
    )


def test_hyphenated_names_with_lowercase_particles_are_one_place(tagger: Tagger) -> None:
    """French and English particles ("au", "upon") may sit lowercase inside a place name."""
    text = "Gangs attacked Port-au-Prince, the capital of Haiti, on Monday."
    tags = tagger.tag_text(text)
    capital = next(p for p in tags.places if p.name == "Port-au-Prince")
    assert capital.country == "HT"
    assert [text[a:b] for a, b in capital.spans] == ["Port-au-Prince"]
