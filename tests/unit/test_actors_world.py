"""The world actor registry: every state and its sectors, loaded under the hand dictionary.

Two halves: the shipped registry (``actors_world.json``) as the tagger loads it, and the
builder (``tools/build_actors.py``) run on a tiny Phoenix-format fixture written here, so no
test reads the development sets.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from datetime import date
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pycountry
import pytest

from sitrep.actors import (
    WORLD_RESOURCE,
    Actor,
    ActorDictionary,
    ActorType,
    Role,
    alias_key,
    load_actor_dictionary,
)

ROOT = Path(__file__).resolve().parents[2]
BUILDER = ROOT / "tools" / "build_actors.py"


@pytest.fixture(scope="module")
def world() -> ActorDictionary:
    return load_actor_dictionary()


@pytest.fixture(scope="module")
def registry() -> dict[str, Any]:
    text = resources.files("sitrep").joinpath(WORLD_RESOURCE).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_actors", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_actors"] = module
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------------------------
# The shipped registry, merged


def test_every_iso_3166_state_and_territory_is_a_state_actor(world: ActorDictionary) -> None:
    states = {a.countries[0] for a in world.actors if a.type is ActorType.STATE}
    assert {c.alpha_2 for c in pycountry.countries} <= states


def test_every_state_has_every_sector(world: ActorDictionary, registry: dict[str, Any]) -> None:
    for state in (a for a in world.actors if a.type is ActorType.STATE):
        for code in registry["sectors"]:
            sector = world.sector_actor(state.id, code)
            assert sector is not None, (state.id, code)
            assert sector.countries == state.countries


@pytest.mark.parametrize(
    ("text", "actor_id", "sector", "country"),
    [
        ("Serbian police", "serbia.cop", "COP", "RS"),
        ("Sudanese army", "sudanese_armed_forces", "MIL", "SD"),  # the hand entry
        ("Sudan's army", "sudanese_armed_forces", "MIL", "SD"),
        ("Haitian rebels", "haiti.reb", "REB", "HT"),
        ("South Sudanese soldiers", "south_sudan.mil", "MIL", "SS"),
        ("Burmese troops", "myanmar.mil", "MIL", "MM"),
        ("Malian government", "mali.gov", "GOV", "ML"),
        ("Hungarian officials", "hungary.gov", "GOV", "HU"),
        ("Iraqi soldiers", "iraqi_army", "MIL", "IQ"),  # hand: sector MIL
        ("Iraqi police", "iraqi_security_forces", "COP", "IQ"),  # hand: sector COP
    ],
)
def test_state_sector_phrases_resolve(
    world: ActorDictionary, text: str, actor_id: str, sector: str, country: str
) -> None:
    actor = world.state_sector_of(text)
    assert actor is not None, text
    assert (actor.id, actor.sector, actor.countries) == (actor_id, sector, (country,))


def test_a_generated_state_sector_hangs_under_its_state(world: ActorDictionary) -> None:
    police = world["serbia.cop"]
    assert police.type is ActorType.STATE_SECTOR
    assert police.parent == "serbia"
    assert [a.id for a in world.ancestors("serbia.cop")] == ["serbia"]


def test_text_that_is_not_a_state_sector_gives_nothing(world: ActorDictionary) -> None:
    assert world.state_sector_of("Serbian") is None
    assert world.state_sector_of("police") is None
    assert world.state_sector_of("Serbian weather") is None


def test_hand_entries_win_over_the_world(world: ActorDictionary) -> None:
    # Same id: the hand entry as written (not extended with the world's aliases) ...
    hand = load_actor_dictionary(world=False)
    assert world["hamas"] == hand["hamas"]
    # ... except that a state keeps its world names beside the hand file's.
    iraq, hand_iraq = world["iraq"], hand["iraq"]
    assert (iraq.name, iraq.type, iraq.demonyms) == (hand_iraq.name, hand_iraq.type,
                                                     hand_iraq.demonyms)  # fmt: skip
    assert set(hand_iraq.aliases) < set(iraq.aliases)
    assert world.state_of_form("Afganistan") == world["afghanistan"]  # a recorded typo
    # A generated sector whose name a hand actor claims gives way to it ...
    assert "sudan.mil" not in world
    assert "lebanon.cop" not in world
    assert world.sector_actor("lebanon", "COP") == world["lebanese_internal_security_forces"]
    assert world["lebanese_internal_security_forces"].sector == "COP"
    # ... and every hand alias resolves to the hand actor only.
    owners: dict[str, set[str]] = {}
    for actor in world.actors:
        for form in actor.surface_forms:
            owners.setdefault(alias_key(form), set()).add(actor.id)
    for actor in hand.actors:
        for form in actor.surface_forms:
            if form not in hand.shared_aliases:
                assert owners[alias_key(form)] == {actor.id}, form


def test_no_world_name_is_a_bare_agent_noun(world: ActorDictionary) -> None:
    # (The hand file may curate one for its beat, e.g. Iraq's "Federal Supreme Court".)
    agents = set(world.agents)
    hand = load_actor_dictionary(world=False)
    generic = [
        (a.id, form) for a in world.actors if a.id not in hand for form in a.surface_forms
        if alias_key(form) in agents
    ]  # fmt: skip
    assert generic == []


def test_user_file_may_claim_a_world_name(tmp_path: Path) -> None:
    user = tmp_path / "desk.yaml"
    user.write_text(
        """
actors:
  - id: belgrade_police
    name: Belgrade police
    type: security_force
    countries: [RS]
    aliases: [Serbian police]
""",
        encoding="utf-8",
    )
    merged = load_actor_dictionary([user])  # no clash error: the world gives way
    # The user's actor now holds the generated sector's name, so it is that sector.
    assert "serbia.cop" not in merged
    assert merged.state_sector_of("Serbian troops") == merged["serbia.mil"]
    assert merged.sector_actor("serbia", "COP") == merged["belgrade_police"]
    assert merged["belgrade_police"].sector == "COP"


def test_persons_have_date_bounded_roles(world: ActorDictionary) -> None:
    dated = [
        a for a in world.actors
        if a.type is ActorType.PERSON and any(r.valid_until for r in a.roles)
    ]  # fmt: skip
    assert len(dated) > 1000
    for person in dated[:200]:
        for role in person.roles:
            assert role.valid_from is None or role.valid_until is None or (
                role.valid_from <= role.valid_until
            )


def test_registry_is_attributed_and_versioned(registry: dict[str, Any]) -> None:
    assert "MIT License" in registry["about"]
    assert "Open Event Data Alliance" in registry["about"]
    assert registry["version"].startswith("world-")


def test_registry_sizes(world: ActorDictionary) -> None:
    kinds: dict[ActorType, int] = {}
    for actor in world.actors:
        kinds[actor.type] = kinds.get(actor.type, 0) + 1
    assert kinds[ActorType.STATE] >= 249
    assert kinds[ActorType.STATE_SECTOR] >= 249 * 15
    assert kinds[ActorType.IGO] >= 100
    assert kinds[ActorType.NGO] >= 500
    assert kinds[ActorType.ARMED_GROUP] >= 500
    assert kinds[ActorType.PERSON] >= 5000


# --------------------------------------------------------------------------------------------
# Roles


def test_roles_are_read_at_a_date() -> None:
    person = Actor(
        id="x_president", name="X President", type=ActorType.PERSON, countries=("RS",),
        roles=(
            Role(code="SRBGOV", country="RS", sector="GOV", valid_from=date(2012, 6, 11)),
            Role(code="SRBLEG", country="RS", sector="LEG", valid_until=date(2012, 6, 10)),
            Role(code="SRBELI", country="RS", sector="ELI"),
        ),
    )  # fmt: skip
    assert [r.code for r in person.roles_on(date(2010, 1, 1))] == ["SRBLEG", "SRBELI"]
    assert [r.code for r in person.roles_on(date(2020, 1, 1))] == ["SRBGOV", "SRBELI"]


def test_a_reversed_role_is_refused() -> None:
    with pytest.raises(ValueError, match="valid_from is after valid_until"):
        Role(code="SRBGOV", valid_from=date(2012, 1, 2), valid_until=date(2012, 1, 1))


def test_only_persons_have_roles_and_sectors_are_known_codes() -> None:
    with pytest.raises(ValueError, match="roles"):
        Actor(id="x", name="X", type=ActorType.NGO, roles=(Role(code="NGO"),))
    with pytest.raises(ValueError, match="unknown sector"):
        Actor(id="x", name="X", type=ActorType.MILITARY, sector="ARMY")
    with pytest.raises(ValueError, match="state_sector"):
        Actor(id="x.mil", name="X army", type=ActorType.STATE_SECTOR, sector="MIL")


# --------------------------------------------------------------------------------------------
# The builder, on a tiny Phoenix-format fixture

PHOENIX = {
    "Phoenix.Countries.actors.txt": """\
# a comment
SERBIA [SRB]
+BELGRADE
+SERBIAN
+REPUBLIC_OF_SERBIA_
\t[YUGSRB <920427]
\t[SRB >060605]
TOMISLAV_NIKOLIC_
+NIKOLIC_
\t[SRBGOVLEG 19910101-20120610]
\t[SRBGOV >20120611]
ZORAN_DJINDJIC_  # CountryInfo.txt
\t[SRBGOV 010125-030312]
GILLIAN_PETROVIC_  # CountryInfo.txt
\t[SRBGOV 030312-040303]

SUDAN_  [SDN]
+SUDANESE_
+KHARTOUM_
SUDAN_PEOPLE'S_LIBERATION_ARMY
+SPLA
\t[SDNREB 19830101-20110711]
""",
    "Phoenix.International.actors.txt": """\
NATO_
+NORTH_ATLANTIC_TREATY_ORGANIZATION_
\t[IGOWSTNAT]
MEDECINS_SANS_FRONTIERES_ [NGOHLH]
+DOCTORS_WITHOUT_BORDERS_
GILLIAN_MELLSOP_	[IGOUNOKID]
KOFI_ANNAN_
+KOFI_ATTA_ANNAN_
\t[IGOUNO 970101-061231]
BROWN_ [NGO]
""",
    "Phoenix.MilNonState.actors.txt": """\
JANJAWEED_MILITIA_ [SDNREB] #  kkl
+JANJAWID_
""",
    "Phoenix.agents.txt": """\
!PERSON! = MAN, MEN, WOMAN, WOMEN
POLICE {} [~COP]
POLICE!PERSON!  [~COP]
SOLDIER [~MIL]
ARMY [~MIL]
REBEL [~REB]
GOVERNMENT [~GOV]
MINISTRY_  [~GOV]
FARMER [~AGR]
""",
}

HAND = """\
version: "2026.1.1"
actors:
  - id: sudan
    name: Sudan
    type: state
    countries: [SD]
    demonyms: [Sudanese]
"""


def _fixture(tmp_path: Path) -> tuple[Path, Path]:
    phoenix = tmp_path / "phoenix"
    phoenix.mkdir()
    for name, text in PHOENIX.items():
        (phoenix / name).write_text(text, encoding="utf-8")
    hand = tmp_path / "actors.yaml"
    hand.write_text(HAND, encoding="utf-8")
    return phoenix, hand


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    builder = _builder()
    phoenix, hand = _fixture(tmp_path_factory.mktemp("phoenix"))
    places = builder.CountryNames(names={}, places={"belgrade": ["RS"], "khartoum": ["SD"]})
    document: dict[str, Any] = builder.build(builder.read_inputs(phoenix, hand), places)
    return document


def _by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["id"]: a for a in document["actors"]}


def test_builder_makes_every_iso_state_with_its_sectors(built: dict[str, Any]) -> None:
    actors = _by_id(built)
    states = [a for a in actors.values() if a["type"] == "state"]
    assert len(states) == len(pycountry.countries)
    assert actors["serbia.cop"]["parent"] == "serbia"
    assert actors["serbia.cop"]["sector"] == "COP"
    assert actors["serbia.cop"]["name"] == "Serbian police"


def test_builder_keeps_names_and_demonyms_but_not_cities(built: dict[str, Any]) -> None:
    serbia = _by_id(built)["serbia"]
    assert "Serbian" in serbia["demonyms"]
    assert "Republic of Serbia" in serbia["aliases"]
    assert "Belgrade" not in serbia.get("aliases", []) + serbia.get("demonyms", [])


def test_builder_uses_the_hand_ids_and_demonyms_of_states(built: dict[str, Any]) -> None:
    actors = _by_id(built)
    assert actors["sudan"]["demonyms"][0] == "Sudanese"
    assert actors["sudan.mil"]["parent"] == "sudan"


def test_builder_reads_date_bounded_roles(built: dict[str, Any]) -> None:
    actors = _by_id(built)
    nikolic = actors["tomislav_nikolic"]
    assert nikolic["type"] == "person"
    assert nikolic["countries"] == ["RS"]
    assert {"code": "SRBGOV", "country": "RS", "sector": "GOV", "valid_from": "2012-06-11"} in (
        nikolic["roles"]
    )
    assert "Nikolic" in nikolic["aliases"]  # a surname no other actor claims
    djindjic = actors["zoran_djindjic"]
    assert djindjic["roles"][0]["valid_from"] == "2001-01-25"  # yymmdd, pivot 30
    annan = actors["kofi_annan"]
    assert annan["roles"] == [
        {"code": "IGOUNO", "valid_from": "1997-01-01", "valid_until": "2006-12-31"}
    ]
    Actor.model_validate(nikolic)


def test_builder_types_igos_ngos_and_armed_groups(built: dict[str, Any]) -> None:
    actors = _by_id(built)
    assert actors["nato"]["type"] == "igo"
    assert actors["nato"]["name"] == "NATO"  # the initials of its long name: an acronym
    assert actors["medecins_sans_frontieres"]["type"] == "ngo"
    assert actors["gillian_mellsop"]["type"] == "person"  # a head of state's given name
    assert "Doctors Without Borders" in actors["medecins_sans_frontieres"]["aliases"]
    assert actors["janjaweed_militia"]["type"] == "armed_group"
    assert actors["janjaweed_militia"]["countries"] == ["SD"]
    assert actors["sudan_peoples_liberation_army"]["type"] == "armed_group"


def test_builder_leaves_out_common_words(built: dict[str, Any]) -> None:
    assert "brown" not in _by_id(built)  # "Brown" alone is an English word, not a name


def test_builder_maps_agent_nouns_to_sectors(built: dict[str, Any]) -> None:
    agents = built["agents"]
    assert agents["police"] == "COP"
    assert agents["policemen"] == "COP"
    assert agents["soldiers"] == "MIL"
    assert agents["rebels"] == "REB"
    assert agents["officials"] == "GOV"  # the documented supplement
    assert "farmer" not in agents  # AGR is not a sector of the contract
    assert "polices" not in agents  # a plural English does not use


def test_builder_is_deterministic(tmp_path: Path) -> None:
    phoenix, hand = _fixture(tmp_path)
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.json"
        subprocess.run(
            [sys.executable, str(BUILDER), "--phoenix", str(phoenix), "--hand", str(hand),
             "--output", str(out)],
            check=True, capture_output=True, timeout=240,
        )  # fmt: skip
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    document = json.loads(outputs[0])
    assert [a["id"] for a in document["actors"]] == sorted(a["id"] for a in document["actors"])


# --------------------------------------------------------------------------------------------
# The tagger's use of it


def test_ascii_alias_keys_equal_the_unicode_folding(world: ActorDictionary) -> None:
    from sitrep.actors import _alias_key_unicode

    forms = {form for actor in world.actors for form in actor.surface_forms}
    forms |= {"Al-Assad", "Assad`s  forces", " U.S.\tArmy ", "Kurdish-led"}
    assert [f for f in forms if f.isascii() and alias_key(f) != _alias_key_unicode(f)] == []


def test_stored_stream_keys_are_the_taggers(world: ActorDictionary) -> None:
    """The registry's precomputed keys must be what the tagger computes today: a change to
    the tokeniser or the name normaliser needs a rebuild (tools/build_actors.py)."""
    from sitrep.tag.tokens import stream_key

    assert len(world.stream_keys) > 30_000
    stale = [f for f, key in world.stream_keys.items() if stream_key(f) != key]
    assert stale == [], f"{len(stale)} stale keys, e.g. {stale[:5]}: rebuild the registry"


def test_fast_form_keys_equal_the_tokeniser_keys(world: ActorDictionary) -> None:
    from sitrep.tag.actors import form_key
    from sitrep.tag.tokens import stream_key

    forms = {form for actor in world.actors for form in actor.surface_forms}
    assert [f for f in forms if form_key(f) != stream_key(f)] == []


@pytest.mark.parametrize(
    ("text", "phrase", "actor_id"),
    [
        ("Serbian police arrested 20 people in Belgrade.", "Serbian police", "serbia.cop"),
        ("Sudan's army clashed with the RSF.", "Sudan's army", "sudanese_armed_forces"),
        ("Haitian rebels seized the town.", "Haitian rebels", "haiti.reb"),
        ("Vucic said police would investigate.", "police", "serbia.cop"),
        ("Moscow said it would respond.", "Moscow", "russian_government"),
        ("The Khartoum government denied it.", "Khartoum government", "sudan.gov"),
    ],
)
def test_tagger_reads_state_sectors(text: str, phrase: str, actor_id: str) -> None:
    from sitrep.tag import get_tagger

    tags = get_tagger().tag_text(text)
    found = {a.id: a for a in tags.actors}
    assert actor_id in found, [a.id for a in tags.actors]
    start = text.index(phrase)
    assert (start, start + len(phrase)) in found[actor_id].spans


@pytest.mark.parametrize(
    "text",
    [
        "Police later arrived.",  # no state in the sentence
        "Serbia and Croatia said police would meet.",  # two states: whose police?
        "President Bush threatened Russia.",  # a title before a name
        "Protesters marched in Moscow on Sunday.",  # a capital as a place
    ],
)
def test_tagger_does_not_guess_a_sector(text: str) -> None:
    from sitrep.tag import get_tagger

    tags = get_tagger().tag_text(text)
    assert not [a.id for a in tags.actors if a.sector and a.type == "state_sector"]


def test_ethnic_demonym_is_not_the_state() -> None:
    from sitrep.tag import get_tagger

    tags = get_tagger().tag_text("Ethnic Albanians protested in the town.")
    assert "albania" not in {a.id for a in tags.actors}
