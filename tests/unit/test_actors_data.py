"""The bundled actor dictionary is usable by the tagger, and user files layer on it safely."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from sitrep.actors import (
    Actor,
    ActorDictionary,
    ActorDictionaryError,
    ActorType,
    alias_key,
    load_actor_dictionary,
)


def _words(text: str) -> list[str]:
    return text.split()


# The tagger's rule: up to 5 capital letters is an acronym, matched case-sensitively.
ACRONYM = re.compile(r"[A-Z]{2,5}")

# Acronyms that are also English words, accepted only because acronyms are matched
# case-sensitively and these three are core to the beat.
DELIBERATE_WORD_ACRONYMS = {"IS": "isis", "US": "united_states", "WHO": "who"}

# Non-acronym names that are also English words, each a documented decision in actors.yaml.
DELIBERATE_WORD_NAMES = {"Trump": "donald_trump"}

COMMON_ENGLISH_WORDS = frozenset(
    _words(
        """
    a about above act add after again age ago aid aim air all also am an and any are area arm
    army art as ask at away back bad bag ban band bank bar base bat bay be bed bet big bill bit
    black blast block blood board body bomb book border both box boy brief bus but buy by call
    camp can cap car card care case cash cat cause cell chain change chief city claim class clear
    club coast cold come cost could council court cover cow crew crime cross crowd cry cut dad
    dawn day dead deal death did die dig do dog door dot down draft dream drive drug dry due
    each ear early earth east eat egg eight else end enemy era eve even event ever every eye
    face fact fail fair faith fall fan far farm fat fear feel few field fight file fill film
    final find fire firm first fit five fix flag flat fleet fly food foot for force form four
    fox free from front fuel full fun fund fur gain game gap gas gate get gift girl give glass
    go goal god gold good got grand grant great green group grow guard guess guide gun guy had
    half hall hand hard harm has hat he head hear heart heat held help her here hero hey high
    hill him his hit hold hole home hope host hot hour house how human ice idea if ill image
    in ink iron is issue it item its jam jar jet job join joint joy judge jump just keep key
    kid kill kind king know lab labour lack lady land large last late law lay lead leave left
    leg legal less let level lid lie life lift light like limit line lip list live load loan
    local lock log long look lord lose loss lost lot love low lower made magic mail main major
    make man many map march mark mass match may me meal mean media meet men might mind mine
    minor miss mix mob model mom money month more most move much mud must my name near need
    net never new news next nice night nine no none nor north not note now nut odd of off
    offer often oil old on once one only open or order other our out over own owe pace pack
    page paid pain pair pan paper park part party pass past path pay peace peak pen pet phone
    pick pie piece pin pit place plain plan plane plant play plot point poll pool poor pop
    port post pot power press price pride prime prize pull pure push put queen quick race raid
    rain raise ran range rank rapid rat rate raw reach read ready real red rely rest rich rid
    ride right ring rise risk rival river road rob rock rod role roll room root rose round row
    royal rub rule run rush sad safe said sale same sat save saw say scale scene score sea seat
    see seek seem seen self sell send sense serve set seven shall shape share sharp she shell
    shift ship shock shoot shop short shot show shut shy side sight sign sin site sit six size
    skill sky sleep slow small smart smoke snow so soft soil sold solid some son song soon
    sort sound south space speak speed spend spot spy staff stage stake stand star start state
    stay steel step stick still stock stone stop store storm story strike study such suit sum
    sun super sure sweet table tag take talk tank task tax tea team tell ten term test text
    than that the them then there these they thin thing think third this those three throw
    tie time tin tip title to today toe told ton too took tool top total touch tour tower town
    toy track trade train tree trial trip troop true trust truth try turn two type under union
    unit unity until up upon upper us use used usual value van vast very via video view visit
    voice vote wage wait wake walk wall want war ward warm warn was wash watch water wave way
    we weak wear web week well went were west wet what when where which while white who whole
    why wide wife wild will win wind wing wire wise wish with woman wood word work world worry
    would wound write wrong yard year yes yet you young your youth zero zone zoo
    amnesty barrack cooper gallant salami saree trump
    """
    )
)

# Capital cities are places, not states (see the header of actors.yaml).
CAPITAL_CITIES = frozenset(
    _words(
        """
    Washington Tehran Moscow Damascus Baghdad Ankara Beirut Riyadh Jerusalem Cairo Amman Doha
    Sanaa Sana'a Tripoli London Paris Berlin Beijing Manama Muscat Kabul Islamabad Khartoum
    """
    )
) | {"Abu Dhabi", "Tel Aviv", "Kuwait City"}

# ISO 3166-1 alpha-2 codes plausible on this beat (the pattern check alone would let "UK" or
# "KS" slip through).
KNOWN_COUNTRY_CODES = frozenset(
    _words(
        """
    IQ SY IR TR IL PS JO LB SA AE QA KW BH OM YE EG LY SD AF PK AZ AM CY TN DZ MA US RU GB FR DE
    CN IT NL SE GR UA IN CA AU JP SO NG GE ER DJ ET ES BE DK NO CH AT PL KZ UZ TJ TM KG
    """
    )
)


def _surface_forms(dictionary: ActorDictionary) -> list[tuple[str, Actor]]:
    return [(form, actor) for actor in dictionary.actors for form in actor.surface_forms]


def _resolve(dictionary: ActorDictionary, text: str) -> set[str]:
    """Resolve a spelling the way the tagger will: acronyms exactly, the rest case-folded."""
    found: set[str] = set()
    for form, actor in _surface_forms(dictionary):
        if ACRONYM.fullmatch(form):
            if form == text:
                found.add(actor.id)
        elif form.casefold() == text.casefold():
            found.add(actor.id)
    return found


@pytest.fixture(scope="module")
def bundled() -> ActorDictionary:
    """The hand-curated beat dictionary alone: these tests hold its curation rules (the
    world registry under it has its own, in test_actors_world.py)."""
    return load_actor_dictionary(world=False)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# The bundled data


def test_bundled_dictionary_has_at_least_300_actors(bundled: ActorDictionary) -> None:
    assert len(bundled.actors) >= 300


def test_bundled_version_is_a_calendar_version_string(bundled: ActorDictionary) -> None:
    assert re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", bundled.version)


def test_ids_are_unique_lowercase_snake_case(bundled: ActorDictionary) -> None:
    ids = [actor.id for actor in bundled.actors]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*", actor_id) for actor_id in ids)


def test_every_type_of_actor_is_represented(bundled: ActorDictionary) -> None:
    # State sectors are generated by the world registry; the hand file names its own (with
    # ``sector``) under their usual types.
    counts = Counter(actor.type for actor in bundled.actors)
    assert set(counts) == set(ActorType) - {ActorType.STATE_SECTOR}


def test_every_parent_refers_to_an_existing_actor(bundled: ActorDictionary) -> None:
    for actor in bundled.actors:
        if actor.parent is not None:
            assert actor.parent in bundled, f"{actor.id} -> {actor.parent}"
            assert bundled[actor.parent].type is not ActorType.PERSON


def test_parent_chains_end_without_loops(bundled: ActorDictionary) -> None:
    for actor in bundled.actors:
        chain = bundled.ancestors(actor.id)
        assert len({a.id for a in chain}) == len(chain)


def test_documented_umbrellas_hold_their_members(bundled: ActorDictionary) -> None:
    pmf_members = {actor.id for actor in bundled.children("pmf")}
    assert {
        "kataib_hezbollah",
        "asaib_ahl_al_haq",
        "badr_organization",
        "kataib_sayyid_al_shuhada",
        "harakat_hezbollah_al_nujaba",
        "kataib_imam_ali",
        "saraya_al_salam",
    } <= pmf_members
    assert bundled["quds_force"].parent == "irgc"
    assert {a.id for a in bundled.ancestors("cjtf_oir")} >= {"centcom"}
    assert {"is_sinai", "iskp"} <= {a.id for a in bundled.children("isis")}


def test_no_alias_is_claimed_by_two_actors(bundled: ActorDictionary) -> None:
    shared = {alias_key(alias) for alias in bundled.shared_aliases}
    owners: dict[str, set[str]] = {}
    for form, actor in _surface_forms(bundled):
        owners.setdefault(alias_key(form), set()).add(actor.id)
    clashes = {key: ids for key, ids in owners.items() if len(ids) > 1 and key not in shared}
    assert clashes == {}


def test_every_shared_alias_is_really_shared(bundled: ActorDictionary) -> None:
    for alias in bundled.shared_aliases:
        claimants = {
            a.id for form, a in _surface_forms(bundled) if alias_key(form) == alias_key(alias)
        }
        assert len(claimants) >= 2, alias


def test_no_actor_repeats_a_name_that_differs_only_in_case(bundled: ActorDictionary) -> None:
    # A case-only variant is useful only next to an acronym (NATO/Nato, ISIS/Isis): the
    # acronym is matched case-sensitively, the word form catches the British press style.
    for actor in bundled.actors:
        by_fold: dict[str, list[str]] = {}
        for form in actor.surface_forms:
            by_fold.setdefault(form.casefold(), []).append(form)
        for forms in by_fold.values():
            if len(forms) > 1:
                assert sum(bool(ACRONYM.fullmatch(f)) for f in forms) == 1, (actor.id, forms)


def test_short_acronyms_do_not_collide_with_common_english_words(
    bundled: ActorDictionary,
) -> None:
    for form, actor in _surface_forms(bundled):
        if form.casefold() not in COMMON_ENGLISH_WORDS:
            continue
        if DELIBERATE_WORD_NAMES.get(form) == actor.id:
            continue
        # Written in capitals it is matched case-sensitively, so it cannot hit the word...
        assert form.isupper(), f"{actor.id}: {form!r} is an English word"
        # ...but "IT", "AS" or "AIM" would still hit headlines and jargon: only the deliberate
        # three are allowed, each for its own actor.
        assert DELIBERATE_WORD_ACRONYMS.get(form) == actor.id, f"{actor.id}: {form!r}"


def test_capital_cities_are_not_aliases_of_states(bundled: ActorDictionary) -> None:
    capitals = {alias_key(city) for city in CAPITAL_CITIES}
    for form, actor in _surface_forms(bundled):
        assert alias_key(form) not in capitals, f"{actor.id}: {form!r}"


def test_states_have_demonyms_and_nothing_else_does(bundled: ActorDictionary) -> None:
    for actor in bundled.actors:
        if actor.type is ActorType.STATE:
            assert actor.demonyms, actor.id
            assert actor.countries, actor.id
        else:
            assert actor.demonyms == (), actor.id


def test_persons_have_roles_and_nothing_else_does(bundled: ActorDictionary) -> None:
    for actor in bundled.actors:
        if actor.type is ActorType.PERSON:
            assert actor.role, actor.id
            assert actor.parent is None, actor.id
        else:
            assert actor.role is None, actor.id


def test_person_aliases_are_never_first_names(bundled: ActorDictionary) -> None:
    first_names = {
        actor.name.split()[0].casefold()
        for actor in bundled.actors
        if actor.type is ActorType.PERSON and " " in actor.name
    } - {"abu", "al"}
    for actor in bundled.actors:
        if actor.type is not ActorType.PERSON:
            continue
        for alias in actor.aliases:
            if " " not in alias:
                assert alias.casefold() not in first_names, f"{actor.id}: {alias!r}"


def test_country_codes_are_known_iso_codes(bundled: ActorDictionary) -> None:
    used = {code for actor in bundled.actors for code in actor.countries}
    assert used <= KNOWN_COUNTRY_CODES, used - KNOWN_COUNTRY_CODES


@pytest.mark.parametrize(
    "actor_id",
    [
        # states of the region and outside powers
        *_words("iraq syria iran turkey israel jordan lebanon saudi_arabia united_arab_emirates"),
        *_words("qatar kuwait bahrain oman yemen egypt libya united_states russia"),
        *_words("united_kingdom france germany china"),
        # militaries and security forces
        *_words("iraqi_security_forces iraqi_army iraqi_counter_terrorism_service peshmerga"),
        *_words("syrian_arab_army irgc quds_force idf turkish_armed_forces russian_armed_forces"),
        *_words("centcom cjtf_oir"),
        # armed groups
        *_words("isis al_qaeda aqap jabhat_al_nusra hts ahrar_al_sham fsa syrian_national_army"),
        *_words("sdf ypg ypj pkk hezbollah hamas pij houthis pmf kataib_hezbollah"),
        *_words("asaib_ahl_al_haq badr_organization kataib_sayyid_al_shuhada"),
        *_words("harakat_hezbollah_al_nujaba kataib_imam_ali saraya_al_salam"),
        *_words("liwa_fatemiyoun liwa_zainebiyoun"),
        # parties
        *_words("dawa_party kdp puk sadrist_movement baath_party akp likud"),
        # IGOs and NGOs
        *_words("united_nations unhcr unicef wfp ocha unami nato arab_league european_union"),
        *_words("icrc msf amnesty_international hrw opcw iaea"),
        # persons
        *_words("qasem_soleimani abu_mahdi_al_muhandis hadi_al_amiri qais_al_khazali"),
        *_words("muqtada_al_sadr ahmad_al_asadi abu_bakr_al_baghdadi bashar_al_assad"),
        *_words("ali_khamenei haider_al_abadi mustafa_al_kadhimi mohammed_shia_al_sudani"),
        *_words("masoud_barzani mazloum_abdi hassan_nasrallah recep_tayyip_erdogan"),
        "ahmed_al_sharaa",
        # media
        *_words("al_jazeera al_arabiya amaq"),
    ],
)
def test_required_coverage_is_present(bundled: ActorDictionary, actor_id: str) -> None:
    assert actor_id in bundled


@pytest.mark.parametrize(
    ("spelling", "actor_id"),
    [
        ("Islamic State", "isis"),
        ("ISIS", "isis"),
        ("ISIL", "isis"),
        ("IS", "isis"),
        ("Daesh", "isis"),
        ("Popular Mobilization Forces", "pmf"),
        ("Popular Mobilisation Forces", "pmf"),
        ("PMF", "pmf"),
        ("PMU", "pmf"),
        ("Popular Mobilization", "pmf"),
        ("Popular Mobilization Units", "pmf"),
        ("Al-Hashd Al-Shaabi", "pmf"),
        ("Hashd al-Shaabi", "pmf"),
        ("al-Hashd al-Sha'bi", "pmf"),
        ("Hezbollah", "hezbollah"),
        ("Hizballah", "hezbollah"),
        ("Hizbullah", "hezbollah"),
        ("Hizbollah", "hezbollah"),
        ("Qasem Soleimani", "qasem_soleimani"),
        ("Qassem Soleimani", "qasem_soleimani"),
        ("Qasim Soleimani", "qasem_soleimani"),
        ("Qasem Suleimani", "qasem_soleimani"),
        ("Soleimani", "qasem_soleimani"),
        ("Ahmad al-Asadi", "ahmad_al_asadi"),
        ("Ahmed al-Asadi", "ahmad_al_asadi"),
        ("Kataib Hezbollah", "kataib_hezbollah"),
        ("Kata'ib Hezbollah", "kataib_hezbollah"),
        ("Islamic Revolutionary Guard Corps", "irgc"),
        ("Islamic Revolutionary Guards Corps", "irgc"),
        ("IRGC", "irgc"),
        ("Revolutionary Guards", "irgc"),
        ("Syrian Democratic Forces", "sdf"),
        ("SDF", "sdf"),
        ("Free Syrian Army", "fsa"),
        ("FSA", "fsa"),
        ("Kataib Al-Imam Ali", "kataib_imam_ali"),
        ("Houthis", "houthis"),
        ("Ansar Allah", "houthis"),
        ("Abu Mohammad al-Julani", "ahmed_al_sharaa"),
        ("Ahmed al-Sharaa", "ahmed_al_sharaa"),
        ("Assad", "bashar_al_assad"),
        ("US", "united_states"),
        ("U.S.", "united_states"),
        ("America", "united_states"),
        ("UN", "united_nations"),
        ("Iranian", "iran"),
    ],
)
def test_sample_spellings_resolve(bundled: ActorDictionary, spelling: str, actor_id: str) -> None:
    assert _resolve(bundled, spelling) == {actor_id}


def test_acronyms_do_not_match_lowercase_words(bundled: ActorDictionary) -> None:
    assert _resolve(bundled, "is") == set()
    assert _resolve(bundled, "us") == set()
    assert _resolve(bundled, "who") == set()


# --------------------------------------------------------------------------------------------
# Layering user files


def test_user_file_extends_and_adds_actors(tmp_path: Path, bundled: ActorDictionary) -> None:
    user = _write(
        tmp_path,
        "desk.yaml",
        """
actors:
  - id: pmf
    aliases: [Hashd Shaabi]
    countries: [IQ, SY]
  - id: liwa_al_tafuf
    name: Liwa al-Tafuf
    type: armed_group
    countries: [IQ]
    aliases: [Tafuf Brigade]
    parent: pmf
""",
    )
    merged = load_actor_dictionary([user], world=False)

    assert len(merged.actors) == len(bundled.actors) + 1
    assert merged.version == bundled.version
    pmf = merged["pmf"]
    assert "Hashd Shaabi" in pmf.aliases
    assert set(bundled["pmf"].aliases) <= set(pmf.aliases)  # union, not replacement
    assert pmf.countries == ("IQ", "SY")  # other fields override
    assert pmf.name == bundled["pmf"].name  # fields not given are kept
    assert merged["liwa_al_tafuf"].parent == "pmf"
    assert "liwa_al_tafuf" in {a.id for a in merged.children("pmf")}


def test_later_user_files_override_earlier_ones(tmp_path: Path) -> None:
    first = _write(tmp_path, "team.yaml", "actors:\n  - id: sohr\n    name: Observatory\n")
    second = _write(tmp_path, "mine.yaml", "actors:\n  - id: sohr\n    name: SOHR monitor\n")
    merged = load_actor_dictionary([first, second], world=False)
    assert merged["sohr"].name == "SOHR monitor"
    assert "SOHR" in merged["sohr"].aliases


def test_shared_aliases_allow_a_deliberate_duplicate(tmp_path: Path) -> None:
    user = _write(
        tmp_path,
        "shared.yaml",
        """
shared_aliases: [Hashd Shaabi]
actors:
  - id: pmf
    aliases: [Hashd Shaabi]
  - id: tribal_mobilization
    aliases: [Hashd Shaabi]
""",
    )
    merged = load_actor_dictionary([user], world=False)
    assert "Hashd Shaabi" in merged["tribal_mobilization"].aliases


def test_empty_user_file_changes_nothing(tmp_path: Path, bundled: ActorDictionary) -> None:
    merged = load_actor_dictionary([_write(tmp_path, "empty.yaml", "")], world=False)
    assert merged.actors == bundled.actors


BAD_FILES = {
    "unknown type": (
        "actors:\n  - id: new_group\n    name: New Group\n    type: militia\n",
        "new_group",
        "unknown type 'militia'",
    ),
    "duplicate id in one file": (
        "actors:\n"
        "  - id: new_group\n    name: New Group\n    type: armed_group\n"
        "  - id: new_group\n    name: New Group 2\n    type: armed_group\n",
        "new_group",
        "duplicate id",
    ),
    "unknown parent": (
        "actors:\n  - id: new_group\n    name: New Group\n    type: armed_group\n"
        "    parent: no_such_umbrella\n",
        "new_group",
        "no_such_umbrella",
    ),
    "alias claimed by another actor": (
        "actors:\n  - id: new_group\n    name: New Group\n    type: armed_group\n"
        "    aliases: [daesh]\n",
        "new_group",
        "'isis'",
    ),
    "alias differing only by diacritics": (
        "actors:\n  - id: new_group\n    name: New Group\n    type: armed_group\n"
        "    aliases: [Erdogan]\n",
        "new_group",
        "recep_tayyip_erdogan",
    ),
    "extending an actor with a clashing alias": (
        "actors:\n  - id: hamas\n    aliases: [Hezbollah]\n",
        "hamas",
        "'hezbollah'",
    ),
    "demonyms on a non-state": (
        "actors:\n  - id: new_group\n    name: New Group\n    type: armed_group\n"
        "    demonyms: [Newish]\n",
        "new_group",
        "demonyms",
    ),
    "missing name for a new actor": (
        "actors:\n  - id: new_group\n    type: armed_group\n",
        "new_group",
        "name",
    ),
    "typo in a field name": (
        "actors:\n  - id: new_group\n    name: New Group\n    type: armed_group\n    alias: [NG]\n",
        "new_group",
        "alias",
    ),
    "parent loop": (
        "actors:\n  - id: pmf\n    parent: kataib_hezbollah\n",
        "pmf",
        "loops",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_user_file_names_the_file_and_actor(tmp_path: Path, case: str) -> None:
    text, actor_id, reason = BAD_FILES[case]
    path = _write(tmp_path, "analyst-additions.yaml", text)
    with pytest.raises(ActorDictionaryError) as excinfo:
        load_actor_dictionary([path])
    message = str(excinfo.value)
    assert str(path) in message
    assert repr(actor_id) in message
    assert reason in message
    assert excinfo.value.actor_id == actor_id
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("actors: [unclosed\n", "malformed YAML"),
        ("actors:\n  - id: a\n    name: A\n    name: B\n", "duplicate key"),
        ("- just\n- a list\n", "top level"),
        ("actor:\n  - id: x\n", "unknown top-level key"),
        ("actors:\n  - name: No Id\n", "has no id"),
        ("shared_aliases: Asayish\n", "shared_aliases"),
    ],
)
def test_malformed_user_file_names_the_file(tmp_path: Path, text: str, reason: str) -> None:
    path = _write(tmp_path, "broken.yaml", text)
    with pytest.raises(ActorDictionaryError) as excinfo:
        load_actor_dictionary([path])
    assert str(excinfo.value).startswith(str(path))
    assert reason in str(excinfo.value)


def test_dictionary_built_in_code_is_checked_too() -> None:
    a = Actor(id="a", name="Alpha", type=ActorType.OTHER, aliases=("Shared",))
    b = Actor(id="b", name="Beta", type=ActorType.OTHER, aliases=("shared",))
    with pytest.raises(ValueError, match="already claimed"):
        ActorDictionary(version="test", actors=(a, b))
    ok = ActorDictionary(version="test", actors=(a, b), shared_aliases=frozenset({"Shared"}))
    assert ok.get("b") == b
    assert ok.get("missing") is None


def test_actors_are_immutable(bundled: ActorDictionary) -> None:
    with pytest.raises(ValueError):
        bundled["isis"].name = "Something else"  # type: ignore[misc]
