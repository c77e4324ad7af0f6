"""The development-set scorer of tools/eval_tagging.py: span matching, distances, the log
error AUC, the TR-News span repair and the reading of `sitrep tag` output, on made-up inputs
(no devset content)."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "eval_tagging", ROOT / "tools" / "eval_tagging.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_tagging"] = module
    spec.loader.exec_module(module)
    return module


ev = _load_tool()


# ---- matching --------------------------------------------------------------------------------


def test_lenient_match_pairs_overlapping_spans_one_to_one() -> None:
    gold = [(0, 8), (20, 26)]
    pred = [(4, 8), (0, 3), (21, 30)]
    assert ev.match_lenient(gold, pred) == [(0, 0), (1, 2)]  # (0, 3) is left over


def test_lenient_match_prefers_the_exact_span_to_a_larger_overlap_elsewhere() -> None:
    gold = [(0, 8)]
    pred = [(0, 12), (0, 8)]
    assert ev.match_lenient(gold, pred) == [(0, 1)]


def test_lenient_match_gives_each_prediction_to_one_gold_only() -> None:
    gold = [(0, 4), (5, 9)]
    pred = [(0, 9)]  # one long prediction covering two gold toponyms
    assert len(ev.match_lenient(gold, pred)) == 1


def test_touching_spans_do_not_overlap() -> None:
    assert ev.overlap((0, 4), (4, 8)) == 0
    assert ev.match_lenient([(0, 4)], [(4, 8)]) == []


def test_strict_match_needs_identical_spans_and_uses_each_once() -> None:
    gold = [(0, 4), (0, 4), (10, 15)]
    pred = [(0, 4), (10, 14)]
    assert ev.match_strict(gold, pred) == [(0, 0)]


# ---- distances and the AUC -------------------------------------------------------------------


def test_haversine_one_degree_of_longitude_on_the_equator() -> None:
    assert ev.haversine_km(0, 0, 0, 1) == pytest.approx(111.2, abs=0.1)


def test_haversine_is_zero_for_one_point_and_half_the_circumference_for_antipodes() -> None:
    assert ev.haversine_km(48.85, 2.35, 48.85, 2.35) == 0
    assert ev.haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * ev.EARTH_RADIUS_KM)


def test_auc_is_zero_for_perfect_resolution_and_one_for_the_largest_errors() -> None:
    assert ev.log_error_auc([0.0, 0.0, 0.0]) == 0
    assert ev.log_error_auc([ev.MAX_ERROR_KM] * 4) == pytest.approx(1.0, abs=1e-4)


def test_auc_is_the_trapezoid_area_under_the_sorted_normalised_log_errors() -> None:
    errors = [ev.MAX_ERROR_KM, 0.0, math.e - 1]  # ln(1 + km): ln(1 + MAX), 0, 1
    top, mid = math.log1p(ev.MAX_ERROR_KM), 1.0
    expected = ((0 + mid) / 2 + (mid + top) / 2) / 2 / math.log(ev.MAX_ERROR_KM)
    assert ev.log_error_auc(errors) == pytest.approx(expected)


def test_auc_of_no_errors_is_undefined() -> None:
    assert math.isnan(ev.log_error_auc([]))


def test_resolution_figures() -> None:
    res = ev.Resolution([0.0, 100.0, 161.0, 500.0], id_hits=3, id_total=4, country_hits=4,
                        country_total=4)  # fmt: skip
    d = res.as_dict()
    assert d["accuracy_161km"] == 0.75
    assert d["median_km"] == pytest.approx(130.5)
    assert d["geonameid_match"] == 0.75
    assert d["country_correct"] == 1


# ---- the gold span repair (TR-News) ----------------------------------------------------------


def test_a_correct_span_is_kept() -> None:
    assert ev.repair_span("We went to Lyon.", 11, 15, "Lyon") == (11, 15)


def test_a_shifted_span_moves_to_the_nearest_occurrence_of_its_phrase() -> None:
    text = "Lyon is big. In Lyon, people say Lyon."
    assert ev.repair_span(text, 17, 21, "Lyon") == (16, 20)


def test_repair_prefers_a_whole_word_to_a_nearer_fragment() -> None:
    text = "BUSINESS news from the US today"
    assert ev.repair_span(text, 2, 4, "US") == (23, 25)


def test_repair_gives_up_when_the_phrase_is_not_in_the_text() -> None:
    assert ev.repair_span("Nothing here.", 0, 4, "Oslo") is None


def test_read_geo_gold_repairs_spans_and_reads_the_gazetteer_entry(tmp_path: Path) -> None:
    xml = tmp_path / "gold.xml"
    xml.write_text(
        """<?xml version="1.0" encoding="utf-8"?><articles><article docid="7">
        <text><![CDATA[Rain in Bergen and Oslo.]]></text><toponyms>
        <toponym><start>9</start><end>15</end><phrase>Bergen</phrase>
          <gaztag geonameid="11"><lat>60.4</lat><lon>5.3</lon>
          <country geonameid="99">Norway</country></gaztag></toponym>
        <toponym><start>20</start><end>24</end><phrase>Oslo</phrase></toponym>
        <toponym><start>0</start><end>4</end><phrase>Bodø</phrase></toponym>
        </toponyms></article></articles>""",
        encoding="utf-8",
    )
    gold = ev.read_geo_gold(xml)
    (doc,) = gold.docs
    assert doc.doc_id == "7"
    assert [(t.start, t.end, t.phrase) for t in doc.toponyms] == [
        (8, 14, "Bergen"), (19, 23, "Oslo")]  # fmt: skip
    assert (gold.repaired, gold.unrepairable) == (2, 1)
    bergen = doc.toponyms[0]
    assert (bergen.geonameid, bergen.lat, bergen.lon, bergen.country_geonameid) == (
        "11", 60.4, 5.3, "99")  # fmt: skip
    assert doc.toponyms[1].lat is None


# ---- predicted mentions ----------------------------------------------------------------------


def test_locate_forms_finds_whole_words_only_and_the_longer_of_overlapping_forms() -> None:
    text = "Iran and Iranian ships near New York and York."
    assert ev.locate_forms(text, ["Iran"]) == [(0, 4)]
    assert ev.locate_forms(text, ["York", "New York"]) == [(28, 36), (41, 45)]


def test_nearest_run_keeps_as_many_occurrences_as_mentions_from_the_first_offset() -> None:
    spans = [(0, 2), (10, 12), (20, 22), (30, 32)]
    assert ev.nearest_run(spans, 2, 11) == [(10, 12), (20, 22)]
    assert ev.nearest_run(spans, 2, 31) == [(20, 22), (30, 32)]
    assert ev.nearest_run(spans, 0, 0) == spans  # no count: all


def test_output_mentions_reads_spans_and_their_via() -> None:
    text = "Turkish drones hit Ohio State University."
    places = [
        {"name": "Turkey", "spans": [[0, 7]], "span_via": ["adjective"]},
        {"name": "Ohio", "spans": [[19, 23]], "span_via": ["embedded"]},
    ]
    mentions, had_spans = ev.output_mentions(text, places)
    assert had_spans is True
    assert [(m.span, m.entity, m.via) for m in mentions] == [
        ((0, 7), 0, "adjective"), ((19, 23), 1, "embedded")]  # fmt: skip


def test_output_mentions_falls_back_to_surface_forms_without_spans() -> None:
    text = "Paris today. Paris tomorrow."
    places = [{"name": "Paris", "surface_forms": ["Paris"], "mentions": 1, "first_offset": 13}]
    mentions, had_spans = ev.output_mentions(text, places)
    assert had_spans is False
    assert [m.span for m in mentions] == [(13, 18)]
    assert ev.output_mentions(text, [])[1] is None


def test_json_objects_reads_one_indented_object_or_one_a_line() -> None:
    assert ev._json_objects(json.dumps({"a": 1}, indent=2)) == [{"a": 1}]
    assert ev._json_objects('{"a": 1}\n{"b": 2}\n') == [{"a": 1}, {"b": 2}]


# ---- scoring a document ----------------------------------------------------------------------


def test_score_geo_document_counts_recognition_and_resolution() -> None:
    text = "Floods in Alton and Turkish aid reached Dover."
    doc = ev.GeoDoc("d", text, (
        ev.Toponym(10, 15, "Alton", "1", 38.9, -90.2, "100"),
        ev.Toponym(40, 45, "Dover", "2", 39.16, -75.52, "100"),
    ))  # fmt: skip
    output = {"places": [
        {"id": "1", "name": "Alton", "country": "US", "lat": 38.9, "lon": -90.2,
         "spans": [[10, 15]], "span_via": ["name"]},
        {"id": "298795", "name": "Turkey", "country": "TR", "lat": 39.0, "lon": 35.0,
         "spans": [[20, 27]], "span_via": ["adjective"]},
        {"id": "9", "name": "Dover", "country": "GB", "lat": 51.13, "lon": 1.31,
         "spans": [[40, 45]], "span_via": ["name"]},
    ]}  # fmt: skip
    report = ev.GeoReport("lgl")
    assert ev.score_geo_document(doc, output, report, {"100": "US"}, adjectives=False)
    assert (report.lenient.tp, report.lenient.fp, report.lenient.fn) == (2, 0, 0)
    assert (report.lenient_adj.tp, report.lenient_adj.fp) == (2, 1)  # the adjective counts
    res = report.resolution
    assert len(res.errors_km) == 2 and res.accuracy == 0.5
    assert (res.id_hits, res.id_total, res.country_hits, res.country_total) == (1, 2, 1, 2)
    assert report.far and report.adjective_mentions == 1


# ---- PLOVER ----------------------------------------------------------------------------------


def test_locate_phrase_tolerates_spacing_and_splits_at_an_ellipsis() -> None:
    text = "Ruritanian and Freedonian negotiators met the  Grand Council."
    assert ev.locate_phrase(text, "Grand Council") == ((47, 60),)
    assert ev.locate_phrase(text, "Ruritanian ... negotiators") == ((0, 10), (26, 37))
    assert ev.locate_phrase(text, "Sylvanian army") == ()


def test_cameo_codes_become_alpha2_only_for_iso_countries() -> None:
    assert ev.cameo_country("SRB") == "RS"
    assert ev.cameo_country("IGO") is None


def test_score_actor_takes_the_country_of_the_actor_sharing_most_characters() -> None:
    gold = ev.GoldActor("r", 0, "Serbian police", "SRB", "COP", ((0, 14),), "RS")
    actors = [{"id": "police", "countries": []}, {"id": "serbia.cop", "countries": ["RS"]}]
    mentions = [ev.Mention(8, 14, 0), ev.Mention(0, 14, 1)]
    assert ev.score_actor(gold, "Serbian police fired.", actors, mentions) == (True, True)
    assert ev.score_actor(gold, "Serbian police fired.", actors, []) == (False, None)


# ---- the command -----------------------------------------------------------------------------


def test_missing_devsets_fail_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ev.main(["--devset", "lgl", "--devsets-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "devset data not found" in err


def test_unknown_devset_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert ev.main(["--devset", "wikipedia"]) == 2
    assert "unknown devset" in capsys.readouterr().err


def test_run_sitrep_tag_returns_each_text_in_order_with_mentions_on_its_words() -> None:
    texts = ["Fighting near Aleppo.\nRefugees crossed into Turkey.", "Nothing to see."]
    outputs = ev.run_sitrep_tag([sys.executable, "-m", "sitrep"], texts, batch=1)
    assert len(outputs) == 2
    places = outputs[0]["places"]
    assert {"Aleppo", "Turkey"} <= {p["name"] for p in places}
    mentions, _ = ev.output_mentions(texts[0], places)
    assert {texts[0][m.start : m.end] for m in mentions} >= {"Aleppo", "Turkey"}
    assert outputs[1]["places"] == []


def test_sector_is_checked_only_for_contract_codes_and_found_actors() -> None:
    gold = ev.GoldActor("r", 0, "Serbian police", "SRB", "COP", ((0, 14),), "RS")
    actors = [{"id": "serbia", "sector": None}, {"id": "serbia.cop", "sector": "COP"}]
    assert ev.sector_right(gold, actors, [ev.Mention(0, 14, 1)]) is True
    assert ev.sector_right(gold, actors, [ev.Mention(0, 7, 0)]) is False
    assert ev.sector_right(gold, actors, []) is None
    odd = ev.GoldActor("r", 0, "Serbian police", "SRB", "MOS", ((0, 14),), "RS")
    assert ev.sector_right(odd, actors, [ev.Mention(0, 14, 1)]) is None
