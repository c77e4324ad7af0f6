"""Precision, recall and F1 of the tag stage: demo corpus and samples, or the public devsets.

Two modes:

- the default (``--demo``): the demo corpus and the two real samples, described below;
- ``--devset [lgl,trnews,plover]``: the public development sets in ``../shared/devsets``
  (``--devsets-dir PATH`` or ``SITREP_DEVSETS_DIR`` elsewhere), scored from the PUBLIC output
  of ``sitrep tag`` with the published protocols (the devsets README): each document is
  written unchanged to a temporary ``.txt`` file and tagged by ``<sitrep> tag FILE...``
  (``--sitrep CMD``, default the project's ``.venv/bin/sitrep``) in batches.

  LGL and TR-News: a predicted mention is a span of a place (``spans`` in the output; older
  output without spans falls back to locating each surface form in the text, and the report
  says so). Recognition P/R/F1 lenient (overlap, one-to-one) and strict (exact span), without
  and with the mentions flagged ``adjective`` (gold toponyms are names, so the default leaves
  them out; ``--adjectives`` uses them for resolution and the error lists too). Resolution on
  the lenient matches with gold coordinates: accuracy@161 km, mean and median error, AUC of
  the log error curve (Gritta et al.), GeoNames id match, country correct. Gold spans that do
  not cover their phrase (TR-News has about 115) are moved to its nearest occurrence.

  PLOVER: each ``source``/``target`` ``actorText`` located in its sentence is found when a
  tagged actor's mention overlaps it; its country is right when that actor's ``countries``
  hold the alpha-2 of the CAMEO code's ISO-3 prefix (codes that are not ISO 3166 countries,
  IGO, NGO, ..., count for recall only). Split by CAMEO sector and by whether the hand
  dictionary (``actors.yaml``) has the state.

  ``-v`` lists the worst misses, false positives and far resolutions by phrase; ``--json
  FILE`` writes the figures. About 15 s for the three sets.

Why this exists: the tagger's rules and weights (sitrep.tag) are tuned by hand, and every
change trades one error for another. This script shows, per document, what was missed and
what was wrongly added, so a change can be judged on all of the corpus at once.

Two references:

- the demo corpus manifest (``services/sitrep/data/demo/manifest.yaml``): for each gold text,
  ``expected.places`` (surface names) and ``expected.actors`` (canonical names, with the
  spellings in ``actor_mentions``). The gold text is tagged without its headline, since the
  lists describe the main text.
- ``tests/unit/data/sample_annotations.yaml``: a hand annotation of the two real samples, tagged
  as files (first line the title), places with country and position, actors by id.

How names become ids, and what counts as a match
------------------------------------------------

- An expected place name is looked up in the gazetteer: a country of that exact name if there
  is one, else the best candidate inside the story's ``countries``, else the best candidate
  (:data:`PLACE_COUNTRY` overrides the country for names the manifest leaves ambiguous, or
  marks them absent from the gazetteer when only homonyms elsewhere exist). A predicted place
  matches when its id is that candidate's, or when it carries the name and lies in the same
  country (name + country).
- An expected actor is the dictionary actor of its canonical name; the ids of its listed
  spellings are accepted too (the manifest calls "Syrian army" the Syrian Arab Army, the
  dictionary keeps ``syrian_army`` and ``syrian_arab_army`` apart: both are accepted, and the
  disagreement is listed). States are not scored on the manifest (it lists countries as places,
  not as actors); on the samples they are, as annotated.
- Expected entries absent from the gazetteer or the dictionary count as misses and are listed.

Run: ``.venv/bin/python tools/eval_tagging.py [-v] [--json [FILE]] [--devset [SETS]]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "services"))

from sitrep.actors import ActorDictionary, alias_key  # noqa: E402
from sitrep.gazetteer import Gazetteer, Place, normalise_place_name  # noqa: E402
from sitrep.tag import PlaceTag, Tagger, Tags  # noqa: E402

DEMO = ROOT / "services" / "sitrep" / "data" / "demo"
ANNOTATIONS = ROOT / "tests" / "unit" / "data" / "sample_annotations.yaml"
SAMPLES = Path(os.environ.get("SITREP_SAMPLES_DIR") or ROOT.parent / "shared" / "samples")

#: (slug or "*", surface name) -> the ISO2 country meant, or None when the gazetteer has only
#: homonyms elsewhere (the place itself is missing). From reading the articles.
PLACE_COUNTRY: dict[tuple[str, str], str | None] = {
    ("*", "Ain al-Asad"): None,  # Iraqi air base; the gazetteer has a village in Israel
    ("*", "al-Baghdadi"): None,  # Anbar town; only homonyms in Georgia and Iran
    ("*", "Sajur"): None,  # river in Syria; only a village in Israel
    ("*", "Zap"): None,  # Zab river / Zap region in Iraq; only a Turkish village
    ("*", "Red Sea"): None,  # the sea; only Sudan's and Egypt's Red Sea governorates
    ("*", "Old City"): None,  # Mosul's old city; only Jerusalem's and a US town
    ("*", "Middle East"): None,  # the region; only a US hamlet
    ("*", "Paris"): "FR",
    ("*", "London"): "GB",
    ("*", "Geneva"): "CH",
    ("*", "Brussels"): "BE",
    ("*", "Moscow"): "RU",
    ("*", "Sochi"): "RU",
    ("*", "Ceyhan"): "TR",
    ("*", "Ankara"): "TR",
    ("*", "Washington"): "US",
    ("*", "Tehran"): "IR",
    ("*", "Téhéran"): "IR",
    ("*", "Tigris"): "IQ",
    ("*", "Euphrates"): "SY",
    ("*", "al-Tanf"): "SY",
    ("*", "Benghazi"): "LY",
    ("*", "Misrata"): "LY",
    ("*", "Abkhazia"): "GE",
    ("*", "Batumi"): "GE",
    ("*", "Moldova"): "MD",
    ("*", "Ukraine"): "UA",
}


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Score) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def row(self) -> str:
        return (
            f"P {self.precision:6.1%}  R {self.recall:6.1%}  F1 {self.f1:6.1%}"
            f"  (tp {self.tp}, fp {self.fp}, fn {self.fn})"
        )

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn}  # fmt: skip


@dataclass
class DocResult:
    name: str
    places: Score = field(default_factory=Score)
    actors: Score = field(default_factory=Score)
    errors: list[str] = field(default_factory=list)
    unlisted: int = 0  # false positives that are countries or capitals named in the text
    places_absent: int = 0  # misses of places the gazetteer lacks
    actors_absent: int = 0  # misses of actors or spellings the dictionary lacks


# --------------------------------------------------------------------------------------------
# References


@dataclass(frozen=True)
class ExpectedPlace:
    name: str
    country: str | None  # None: not resolvable in the gazetteer
    place_id: str | None
    lat: float | None = None
    lon: float | None = None
    within_km: float | None = None


def _country_codes(gaz: Gazetteer, names: list[str]) -> set[str]:
    codes = set()
    for name in names:
        for place in gaz.lookup(name):
            if place.is_country:
                codes.add(place.country)
                break
    return codes


def expected_place(gaz: Gazetteer, slug: str, name: str, story: set[str]) -> ExpectedPlace:
    override = PLACE_COUNTRY.get((slug, name), PLACE_COUNTRY.get(("*", name), ""))
    if override is None:
        return ExpectedPlace(name, None, None)
    candidates = gaz.lookup(name)
    if not candidates:
        return ExpectedPlace(name, None, None)
    key = normalise_place_name(name)
    exact_country = [p for p in candidates if p.is_country]
    if override:
        pool = [p for p in candidates if p.country == override]
    elif exact_country:
        pool = exact_country
    else:
        pool = [p for p in candidates if p.country in story] or candidates
    if not pool:
        return ExpectedPlace(name, None, None)
    best = pool[0]
    del key
    return ExpectedPlace(name, best.country, best.geonameid)


def place_matches(tag: PlaceTag, place: Place | None, exp: ExpectedPlace) -> bool:
    """Same id; or the name, in the same country; or, for a name the gazetteer lacks as
    written, a tag whose surface form is that name plus more ("Jaber" / "Jaber crossing")."""
    if exp.place_id is not None and tag.id == exp.place_id:
        return True
    key = normalise_place_name(exp.name)
    if exp.country is None:
        return any(normalise_place_name(f).startswith(key + " ") for f in tag.surface_forms)
    if tag.country != exp.country or place is None:
        return False
    return any(normalise_place_name(n) == key for n in place.all_names())


def actor_ids_by_form(dictionary: ActorDictionary) -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for actor in dictionary.actors:
        for form in (actor.name, *actor.aliases):
            index.setdefault(alias_key(form), set()).add(actor.id)
    return index


# --------------------------------------------------------------------------------------------
# Scoring one document


def score_places(gaz: Gazetteer, tags: Tags, expected: list[ExpectedPlace], res: DocResult) -> None:
    used: set[str] = set()
    for exp in expected:
        hit = None
        for tag in tags.places:
            if tag.id not in used and place_matches(tag, gaz.get(tag.id), exp):
                hit = tag
                break
        if hit is None:
            res.places.fn += 1
            res.places_absent += exp.country is None
            why = "not in gazetteer" if exp.country is None else f"want {exp.place_id}"
            res.errors.append(f"  place FN  {exp.name!r} ({why})")
            continue
        used.add(hit.id)
        res.places.tp += 1
        if exp.lat is not None and exp.lon is not None and exp.within_km is not None:
            km = _km(hit.lat, hit.lon, exp.lat, exp.lon)
            if km > exp.within_km:
                res.errors.append(
                    f"  place POS {exp.name!r}: {hit.lat:.2f},{hit.lon:.2f} is {km:.0f} km off"
                )
    for tag in tags.places:
        if tag.id not in used:
            res.places.fp += 1
            if tag.feature in ("A/PCLI", "P/PPLC", "L/CONT", "L/RGN"):
                res.unlisted += 1  # a country, capital, continent or region named in the text
            res.errors.append(
                f"  place FP  {'/'.join(tag.surface_forms)!r} -> {tag.id} {tag.name} "
                f"({tag.country} {tag.feature})"
            )


def score_actors(
    tags: Tags,
    expected: dict[str, set[str]],
    res: DocResult,
    *,
    skip_states: bool,
    absent: Collection[str] = (),
) -> None:
    """``expected``: label -> acceptable ids (empty: not in the dictionary); ``absent``: labels
    whose spelling in the text the dictionary lacks."""
    predicted = [
        a for a in tags.actors if a.via == "name" and not (skip_states and a.type == "state")
    ]
    used: set[str] = set()
    for label, ids in expected.items():
        match = next((a for a in predicted if a.id in ids and a.id not in used), None)
        if match is None:
            res.actors.fn += 1
            res.actors_absent += not ids or label in absent
            why = "not in dictionary" if not ids else "want " + "|".join(sorted(ids))
            if ids and label in absent:
                why += ", spelling not in dictionary"
            res.errors.append(f"  actor FN  {label!r} ({why})")
        else:
            used.add(match.id)
            res.actors.tp += 1
    for a in predicted:
        if a.id not in used:
            res.actors.fp += 1
            res.errors.append(f"  actor FP  {a.id} ({'/'.join(a.surface_forms)})")


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(a))


# --------------------------------------------------------------------------------------------
# The two evaluations


def eval_demo(tagger: Tagger, disagreements: list[str]) -> list[DocResult]:
    manifest = yaml.safe_load((DEMO / "manifest.yaml").read_text(encoding="utf-8"))
    gaz = tagger.gazetteer
    by_form = actor_ids_by_form(tagger.actors)
    results = []
    for art in manifest["articles"]:
        exp = art.get("expected") or {}
        text = (DEMO / art["gold"]).read_text(encoding="utf-8")
        tags = tagger.tag_text(text)
        res = DocResult(art["slug"])
        story = _country_codes(gaz, list(exp.get("countries", [])))
        places: list[ExpectedPlace] = []
        for name in exp.get("places", []):
            e = expected_place(gaz, art["slug"], name, story)
            if e.place_id is None or all(e.place_id != x.place_id for x in places):
                places.append(e)  # two spellings of one place are one place
        score_places(gaz, tags, places, res)
        for name in exp.get("not_places", []):
            key = normalise_place_name(name)
            for tag in tags.places:
                if key in {normalise_place_name(s) for s in tag.surface_forms}:
                    res.errors.append(f"  NOT-PLACE tagged: {name!r} -> {tag.id}")
        actors: dict[str, set[str]] = {}
        absent: set[str] = set()
        mentions = exp.get("actor_mentions") or {}
        for name in exp.get("actors", []):
            ids = set(by_form.get(alias_key(name), set()))
            spelled = set()
            for form in mentions.get(name, []):
                spelled |= by_form.get(alias_key(form), set())
            if ids and spelled and not spelled <= ids:
                disagreements.append(
                    f"{art['slug']}: {name!r} is {sorted(ids)} in the dictionary, but its "
                    f"spellings {mentions.get(name)} resolve to {sorted(spelled - ids)}"
                )
            states = {i for i in ids | spelled if tagger.actors[i].type.value == "state"}
            if (ids | spelled) and (ids | spelled) <= states:
                continue
            actors[name] = ids | spelled
            if mentions.get(name) and not spelled:
                absent.add(name)  # none of the text's spellings is a dictionary form
        score_actors(tags, actors, res, skip_states=True, absent=absent)
        results.append(res)
    return results


def eval_samples(tagger: Tagger) -> list[DocResult]:
    if not ANNOTATIONS.exists() or not SAMPLES.is_dir():
        return []
    annotations = yaml.safe_load(ANNOTATIONS.read_text(encoding="utf-8"))["samples"]
    results = []
    for fname, ann in annotations.items():
        path = SAMPLES / fname
        if not path.exists():
            continue
        title, _, text = path.read_text(encoding="utf-8").partition("\n")
        tags = tagger.tag_text(text.strip("\n"), title=title.strip() or None)
        res = DocResult(f"sample:{fname}")
        places = [
            ExpectedPlace(
                p["name"],
                p.get("country") if p.get("in_gazetteer", True) else None,
                str(p["id"]) if p.get("id") else None,
                p.get("lat"),
                p.get("lon"),
                p.get("within_km"),
            )
            for p in ann["places"]
        ]
        score_places(tagger.gazetteer, tags, places, res)
        actors = {i: {i} for i in ann["actors"]}
        actors.update({i: {i} for i in ann.get("missing_actors", [])})
        score_actors(
            tags, actors, res, skip_states=False, absent=set(ann.get("missing_actors", []))
        )
        results.append(res)
    return results


# --------------------------------------------------------------------------------------------
# The public development sets (LGL, TR-News, PLOVER), scored from `sitrep tag` output

#: The sets ``--devset`` knows, in the order they are printed.
DEVSETS: tuple[str, ...] = ("lgl", "trnews", "plover")
#: Where each set's gold file lives under the devsets folder.
DEVSET_FILES = {
    "lgl": Path("geoparsing/lgl/lgl.xml"),
    "trnews": Path("geoparsing/tr-news/TR-News.xml"),
    "plover": Path("actors/plover-gsr/PLOVER_GSR_CAMEO.json"),
}
DEVSET_LABELS = {"lgl": "LGL", "trnews": "TR-News", "plover": "PLOVER"}
#: Published figures (EUPEG 2019 recognition F; accuracy@161 km), from the devsets README.
PUBLISHED_F1: dict[str, dict[str, float]] = {
    "lgl": {"Edinburgh": 0.501, "CLAVIN": 0.573, "TopoCluster": 0.657, "DBpedia Spotlight": 0.713},
    "trnews": {"Edinburgh": 0.612, "CLAVIN": 0.649, "TopoCluster": 0.79, "Stanford NER": 0.803},
}
PUBLISHED_ACC161: dict[str, dict[str, float]] = {
    "lgl": {"Edinburgh": 0.819, "CLAVIN": 0.701},
    "trnews": {"Edinburgh": 0.85, "CLAVIN": 0.829},
}
#: Half the Earth's circumference in km: the largest possible great-circle error, which
#: normalises the log error curve (as in Gritta et al., "A Pragmatic Guide to Geoparsing
#: Evaluation").
MAX_ERROR_KM = 20039.0
ACCURACY_KM = 161.0  # 100 miles, the usual threshold
EARTH_RADIUS_KM = 6371.0088

Span = tuple[int, int]


def devsets_dir(given: str | None) -> Path:
    """``--devsets-dir``, else ``SITREP_DEVSETS_DIR``, else ``ROOT.parent / "shared" /
    "devsets"`` (right for the main checkout; worktrees elsewhere pass one of the others)."""
    if given:
        return Path(given)
    env = os.environ.get("SITREP_DEVSETS_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "devsets"


# ---- pure scoring functions (unit-tested with made-up inputs) --------------------------------


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance on a sphere of the Earth's mean radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def log_error_auc(errors_km: Sequence[float]) -> float:
    """Area under the curve of the sorted log errors, normalised to [0, 1] (0 is perfect).

    Each error becomes ``ln(1 + km) / ln(MAX_ERROR_KM)``; the sorted values are integrated
    with the trapezoid rule over an x axis scaled to [0, 1]. This is the AUC of Gritta et al.
    (2018), used by the published LGL / TR-News comparisons, so it is directly comparable.
    """
    if not errors_km:
        return float("nan")
    ys = sorted(math.log1p(max(0.0, e)) / math.log(MAX_ERROR_KM) for e in errors_km)
    if len(ys) == 1:
        return ys[0]
    area = sum((a + b) / 2 for a, b in itertools.pairwise(ys))
    return area / (len(ys) - 1)


def overlap(a: Span, b: Span) -> int:
    """Characters two [start, end) spans share (0 when disjoint)."""
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def match_lenient(gold: Sequence[Span], pred: Sequence[Span]) -> list[tuple[int, int]]:
    """One-to-one pairs ``(gold index, predicted index)`` of overlapping spans.

    Exact matches are paired first, then the remaining pairs by the most shared characters,
    so "New York" gold against predictions "New York" and "York" pairs the exact one and
    leaves "York" a false positive. Greedy, which on non-overlapping spans (the normal case
    on both sides) is the maximum matching.
    """
    candidates = [
        (g != p, -overlap(g, p), gi, pi)
        for gi, g in enumerate(gold)
        for pi, p in enumerate(pred)
        if overlap(g, p) > 0
    ]
    candidates.sort()
    used_g: set[int] = set()
    used_p: set[int] = set()
    pairs = []
    for _, _, gi, pi in candidates:
        if gi not in used_g and pi not in used_p:
            used_g.add(gi)
            used_p.add(pi)
            pairs.append((gi, pi))
    return sorted(pairs)


def match_strict(gold: Sequence[Span], pred: Sequence[Span]) -> list[tuple[int, int]]:
    """One-to-one pairs of identical spans."""
    free: dict[Span, list[int]] = {}
    for pi, p in enumerate(pred):
        free.setdefault(p, []).append(pi)
    pairs = []
    for gi, g in enumerate(gold):
        if free.get(g):
            pairs.append((gi, free[g].pop(0)))
    return pairs


def _word_bounded(text: str, start: int, end: int) -> bool:
    return (start == 0 or not text[start - 1].isalnum()) and (
        end == len(text) or not text[end].isalnum()
    )


def find_occurrences(text: str, phrase: str, *, word_bounded: bool = True) -> list[int]:
    """Start offsets of every occurrence of ``phrase`` (case-sensitive), optionally only
    those not glued to a letter or digit on either side ("Iran" is not inside "Iranian")."""
    if not phrase:
        return []
    starts = []
    i = text.find(phrase)
    while i >= 0:
        if not word_bounded or _word_bounded(text, i, i + len(phrase)):
            starts.append(i)
        i = text.find(phrase, i + 1)
    return starts


def repair_span(text: str, start: int, end: int, phrase: str) -> Span | None:
    """The gold span moved onto its phrase: itself when ``text[start:end] == phrase``, else
    the nearest occurrence of the phrase (word-bounded ones preferred), else None.

    TR-News has about 115 starts shifted by a few characters; the published protocol moves
    each span to the nearest occurrence of its phrase before scoring.
    """
    if text[start:end] == phrase:
        return start, end
    starts = find_occurrences(text, phrase) or find_occurrences(text, phrase, word_bounded=False)
    if not starts:
        return None
    best = min(starts, key=lambda s: (abs(s - start), s))
    return best, best + len(phrase)


def locate_forms(text: str, forms: Iterable[str]) -> list[Span]:
    """Every word-bounded occurrence of each surface form, the longest winning where two
    overlap: the fallback when the tagger's output has no ``spans``."""
    found = sorted(
        {(s, s + len(f)) for f in forms for s in find_occurrences(text, f)},
        key=lambda sp: (sp[0], -(sp[1] - sp[0])),
    )
    return _drop_overlapping(found)


def _drop_overlapping(spans: Sequence[Span]) -> list[Span]:
    """Keep the longest of overlapping spans (then the earliest); the result is sorted."""
    kept: list[Span] = []
    for sp in sorted(spans, key=lambda s: (-(s[1] - s[0]), s[0])):
        if all(overlap(sp, k) == 0 for k in kept):
            kept.append(sp)
    return sorted(kept)


@dataclass
class Counts:
    """True positives, false positives and false negatives, with P/R/F1."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, tp: int, fp: int, fn: int) -> None:
        self.tp += tp
        self.fp += fp
        self.fn += fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4), "tp": self.tp, "fp": self.fp, "fn": self.fn}  # fmt: skip


@dataclass
class Resolution:
    """Distances and id / country agreement on matched toponyms that have gold coordinates."""

    errors_km: list[float] = field(default_factory=list)
    id_hits: int = 0
    id_total: int = 0
    country_hits: int = 0
    country_total: int = 0

    @property
    def accuracy(self) -> float:
        e = self.errors_km
        return sum(x <= ACCURACY_KM for x in e) / len(e) if e else float("nan")

    def as_dict(self) -> dict[str, float | int]:
        e = self.errors_km
        return {
            "matched_with_coordinates": len(e),
            "accuracy_161km": round(self.accuracy, 4),
            "mean_km": round(statistics.fmean(e), 1) if e else float("nan"),
            "median_km": round(statistics.median(e), 1) if e else float("nan"),
            "auc": round(log_error_auc(e), 4),
            "geonameid_match": round(self.id_hits / self.id_total, 4) if self.id_total else 0,
            "country_correct": (
                round(self.country_hits / self.country_total, 4) if self.country_total else 0
            ),
            "geonameid_n": self.id_total,
            "country_n": self.country_total,
        }


# ---- gold data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Toponym:
    """A gold toponym: its span (after repair), phrase and gazetteer entry."""

    start: int
    end: int
    phrase: str
    geonameid: str | None
    lat: float | None
    lon: float | None
    country_geonameid: str | None


@dataclass(frozen=True)
class GeoDoc:
    doc_id: str
    text: str
    toponyms: tuple[Toponym, ...]


@dataclass
class GeoGold:
    docs: list[GeoDoc]
    repaired: int = 0  # spans moved onto their phrase
    unrepairable: int = 0  # phrase not in the text: dropped


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def read_geo_gold(path: Path) -> GeoGold:
    """LGL / TR-News XML: ``<article>`` with ``<text>`` and ``<toponym>`` (start, end, phrase,
    ``<gaztag geonameid>`` with lat, lon and ``<country geonameid>``)."""
    import xml.etree.ElementTree as ET

    gold = GeoGold([])
    root = ET.parse(path).getroot()
    for n, art in enumerate(root.iter("article")):
        text = art.findtext("text") or ""
        toponyms = []
        for t in art.iter("toponym"):
            phrase = t.findtext("phrase") or ""
            start, end = int(t.findtext("start") or 0), int(t.findtext("end") or 0)
            span = repair_span(text, start, end, phrase)
            if span is None:
                gold.unrepairable += 1
                continue
            gold.repaired += span != (start, end)
            gaz = t.find("gaztag")
            country = gaz.find("country") if gaz is not None else None
            toponyms.append(
                Toponym(
                    span[0],
                    span[1],
                    phrase,
                    gaz.get("geonameid") if gaz is not None else None,
                    _float(gaz.findtext("lat")) if gaz is not None else None,
                    _float(gaz.findtext("lon")) if gaz is not None else None,
                    country.get("geonameid") if country is not None else None,
                )
            )
        gold.docs.append(GeoDoc(art.get("docid") or str(n), text, tuple(toponyms)))
    return gold


@dataclass(frozen=True)
class GoldActor:
    """A PLOVER source/target actor located in its sentence."""

    record: str
    text_index: int  # into the list of distinct sentences
    actor_text: str
    code: str  # the CAMEO code's first three letters (ISO-3 or IGO, NGO, ...)
    sector: str  # the CAMEO role (GOV, MIL, ...), "" when none is given
    spans: tuple[Span, ...]
    country: str | None  # ISO alpha-2, None when the code is not an ISO-3166 country


@dataclass
class ActorGold:
    texts: list[str]
    actors: list[GoldActor]
    not_located: list[str] = field(default_factory=list)


def locate_phrase(text: str, phrase: str) -> tuple[Span, ...]:
    """Where a gold actor phrase is in its sentence: the first occurrence, whitespace
    tolerated; a phrase with an ellipsis ("U.S. ... negotiators") is its located fragments.
    Empty when it is not in the sentence."""
    fragments = [f.strip() for f in re.split(r"\.{2,}|\u2026", phrase) if f.strip()]
    spans: list[Span] = []
    cursor = 0
    for frag in fragments:
        pattern = r"\s+".join(re.escape(w) for w in frag.split())
        m = re.compile(pattern).search(text, cursor) or re.compile(pattern, re.I).search(
            text, cursor
        )
        if m is None:
            return ()
        spans.append((m.start(), m.end()))
        cursor = m.end()
    return tuple(spans)


def cameo_country(code: str) -> str | None:
    """ISO alpha-2 of a CAMEO actor code's first three letters, None when they are not an
    ISO 3166 alpha-3 code (IGO, NGO, and CAMEO's own spellings)."""
    import pycountry

    found = pycountry.countries.get(alpha_3=code[:3].upper())
    return str(found.alpha_2) if found is not None else None


def read_actor_gold(path: Path) -> ActorGold:
    """PLOVER gold: a JSON array of records with ``text`` and ``source`` / ``target`` lists
    of ``{actorText, code, sector}``; records without text (documentation) are skipped."""
    records = json.loads(path.read_text(encoding="utf-8"))
    gold = ActorGold([], [])
    index: dict[str, int] = {}
    for rec in records:
        text = rec.get("text")
        if not isinstance(text, str) or not text.strip():
            continue
        ti = index.setdefault(text, len(gold.texts))
        if ti == len(gold.texts):
            gold.texts.append(text)
        for role in ("source", "target"):
            entries = rec.get(role)
            if not isinstance(entries, list):
                continue
            for entry in entries:
                if not isinstance(entry, dict) or not entry.get("actorText"):
                    continue
                phrase = str(entry["actorText"])
                spans = locate_phrase(text, phrase)
                if not spans:
                    gold.not_located.append(phrase)
                    continue
                code = str(entry.get("code") or "")[:3].upper()
                sector = str(entry.get("sector") or "")[:3].upper()
                gold.actors.append(
                    GoldActor(
                        str(rec.get("id", "")),
                        ti,
                        phrase,
                        code,
                        sector if sector.isalpha() else "",
                        spans,
                        cameo_country(code),
                    )
                )
    return gold


def hand_dictionary_states() -> set[str]:
    """Countries (alpha-2) of the states in the hand-curated dictionary ``actors.yaml``: the
    beat the dictionary was written for, to split PLOVER figures into known and other."""
    doc = yaml.safe_load((ROOT / "services" / "sitrep" / "data" / "actors.yaml").read_text("utf-8"))
    return {
        c for a in doc.get("actors", []) if a.get("type") == "state" for c in a.get("countries", [])
    }


# ---- running the public command --------------------------------------------------------------


def run_sitrep_tag(
    command: Sequence[str], texts: Sequence[str], batch: int = 250
) -> list[dict[str, Any]]:
    """Tag each text with ``<command> tag FILE...``, as a user would: every text is written
    as-is (UTF-8, newlines untouched) to a temporary ``.txt`` file; files go in batches, so
    the tagger loads once per batch. Returns the JSON object of each text, in order."""
    results: list[dict[str, Any] | None] = [None] * len(texts)
    with tempfile.TemporaryDirectory(prefix="sitrep-eval-") as tmp:
        paths = []
        for i, text in enumerate(texts):
            p = Path(tmp) / f"{i:06d}.txt"
            with p.open("w", encoding="utf-8", newline="") as fh:
                fh.write(text)
            paths.append(str(p))
        by_path = {p: i for i, p in enumerate(paths)}
        for first in range(0, len(paths), batch):
            chunk = paths[first : first + batch]
            proc = subprocess.run(
                [*command, "tag", *chunk],
                capture_output=True,
                text=True,
                encoding="utf-8",
                check=False,
            )
            objects = _json_objects(proc.stdout)
            if proc.returncode != 0 or len(objects) != len(chunk):
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
                raise RuntimeError(
                    f"{' '.join(command)} tag exited {proc.returncode} with {len(objects)} of "
                    f"{len(chunk)} results: " + " | ".join(tail)
                )
            for k, obj in enumerate(objects):
                results[by_path.get(str(obj.get("source")), first + k)] = obj
    missing = [i for i, r in enumerate(results) if r is None]
    if missing:
        raise RuntimeError(f"no output for {len(missing)} texts")
    return [r for r in results if r is not None]


def _json_objects(stdout: str) -> list[dict[str, Any]]:
    """The JSON objects of ``sitrep tag`` output: one indented object, or one a line."""
    decoder = json.JSONDecoder()
    objects: list[dict[str, Any]] = []
    i = 0
    while True:
        while i < len(stdout) and stdout[i].isspace():
            i += 1
        if i >= len(stdout):
            return objects
        obj, i = decoder.raw_decode(stdout, i)
        objects.append(obj)


@dataclass(frozen=True)
class Mention:
    """A predicted mention: a span, the index of its entity in the output list, and how it
    was mentioned (``name``, ``embedded`` or ``adjective``)."""

    start: int
    end: int
    entity: int
    via: str = "name"

    @property
    def span(self) -> Span:
        return self.start, self.end


def nearest_run(spans: Sequence[Span], count: int, near: int) -> list[Span]:
    """``count`` consecutive spans starting from the one nearest ``near`` (earlier ones
    added when too few follow): the fallback's guess at which occurrences of a surface form
    the tagger counted, from its ``mentions`` and ``first_offset``."""
    if count <= 0 or count >= len(spans):
        return list(spans)
    first = min(range(len(spans)), key=lambda i: (abs(spans[i][0] - near), i))
    first = min(first, len(spans) - count)
    return list(spans[first : first + count])


def output_mentions(
    text: str, entities: Sequence[dict[str, Any]]
) -> tuple[list[Mention], bool | None]:
    """Every mention of the output's places (or actors) and whether they came from spans.

    With ``spans`` in the output (the contract), those, with their ``span_via``. Without
    (older output), each surface form is located in the text (word-bounded) and as many
    occurrences kept as the output's ``mentions``, from the one nearest ``first_offset``;
    where two entities' occurrences overlap the longer wins. The flag is True when every
    entity had spans, False when none or only some had, None when there is no entity.
    """
    mentions: list[Mention] = []
    fallback: list[tuple[Span, int]] = []
    with_spans = 0
    for k, ent in enumerate(entities):
        spans = ent.get("spans")
        if isinstance(spans, list):
            with_spans += 1
            vias = ent.get("span_via") or []
            for j, sp in enumerate(spans):
                via = vias[j] if j < len(vias) else "name"
                mentions.append(Mention(int(sp[0]), int(sp[1]), k, str(via)))
        else:
            found = locate_forms(text, ent.get("surface_forms") or [])
            count = int(ent.get("mentions") or 0)
            near = int(ent.get("first_offset") or 0)
            fallback.extend((sp, k) for sp in nearest_run(found, count, near))
    if fallback:
        owner = dict(fallback)
        kept = _drop_overlapping([sp for sp, _ in fallback])
        mentions.extend(Mention(sp[0], sp[1], owner[sp]) for sp in kept)
    mentions.sort(key=lambda m: (m.start, m.end, m.entity))
    return mentions, (None if not entities else with_spans == len(entities))


# ---- scoring the geoparsing sets -------------------------------------------------------------


@dataclass
class GeoReport:
    name: str
    docs: int = 0
    gold: int = 0
    gold_with_coordinates: int = 0
    repaired: int = 0
    unrepairable: int = 0
    mode: str = "spans"
    lenient: Counts = field(default_factory=Counts)
    strict: Counts = field(default_factory=Counts)
    lenient_adj: Counts = field(default_factory=Counts)
    strict_adj: Counts = field(default_factory=Counts)
    adjective_mentions: int = 0
    embedded_mentions: int = 0
    resolution: Resolution = field(default_factory=Resolution)
    by_feature: dict[str, Resolution] = field(default_factory=dict)  # the predicted feature
    missed: Counter[str] = field(default_factory=Counter)
    false_positives: Counter[str] = field(default_factory=Counter)
    far: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.docs,
            "gold_toponyms": self.gold,
            "gold_with_coordinates": self.gold_with_coordinates,
            "spans_repaired": self.repaired,
            "spans_unrepairable": self.unrepairable,
            "mention_mode": self.mode,
            "lenient": self.lenient.as_dict(),
            "strict": self.strict.as_dict(),
            "lenient_with_adjectives": self.lenient_adj.as_dict(),
            "strict_with_adjectives": self.strict_adj.as_dict(),
            "adjective_mentions": self.adjective_mentions,
            "embedded_mentions": self.embedded_mentions,
            "resolution": self.resolution.as_dict(),
            "resolution_by_feature": {k: v.as_dict() for k, v in sorted(self.by_feature.items())},
            "published_f1": PUBLISHED_F1.get(self.name, {}),
            "published_accuracy_161km": PUBLISHED_ACC161.get(self.name, {}),
        }


def country_code_of(geonameid: str | None, countries: dict[str, str]) -> str | None:
    return countries.get(geonameid) if geonameid else None


def score_geo_document(
    doc: GeoDoc,
    output: dict[str, Any],
    report: GeoReport,
    countries: dict[str, str],
    *,
    adjectives: bool,
) -> bool | None:
    """Add one document's recognition and resolution figures to ``report``; returns whether
    the output carried spans (see :func:`output_mentions`). ``countries`` maps a country's
    GeoNames id to alpha-2."""
    places: list[dict[str, Any]] = list(output.get("places") or [])
    mentions, had_spans = output_mentions(doc.text, places)
    report.adjective_mentions += sum(m.via == "adjective" for m in mentions)
    report.embedded_mentions += sum(m.via == "embedded" for m in mentions)
    gold_spans = [(t.start, t.end) for t in doc.toponyms]
    for with_adj in (False, True):
        pred = [m for m in mentions if with_adj or m.via != "adjective"]
        spans = [m.span for m in pred]
        lenient = match_lenient(gold_spans, spans)
        strict = match_strict(gold_spans, spans)
        n_g, n_p = len(gold_spans), len(spans)
        len_c, str_c = (
            (report.lenient_adj, report.strict_adj) if with_adj else (report.lenient, report.strict)
        )
        len_c.add(len(lenient), n_p - len(lenient), n_g - len(lenient))
        str_c.add(len(strict), n_p - len(strict), n_g - len(strict))
        if with_adj != adjectives:
            continue
        # resolution and error lists follow the chosen setting
        matched_g = {g for g, _ in lenient}
        matched_p = {p for _, p in lenient}
        for gi, t in enumerate(doc.toponyms):
            if gi not in matched_g:
                report.missed[t.phrase] += 1
        for pi, m in enumerate(pred):
            if pi not in matched_p:
                report.false_positives[doc.text[m.start : m.end]] += 1
        for gi, pi in lenient:
            t, place = doc.toponyms[gi], places[pred[pi].entity]
            if t.lat is None or t.lon is None:
                continue
            lat, lon = place.get("lat"), place.get("lon")
            if lat is None or lon is None:
                continue
            km = haversine_km(float(lat), float(lon), t.lat, t.lon)
            feature = str(place.get("feature") or "")
            by_feature = report.by_feature.setdefault(feature, Resolution())
            res = report.resolution
            res.errors_km.append(km)
            by_feature.errors_km.append(km)
            if km > ACCURACY_KM:
                report.far[
                    f"{t.phrase} -> {place.get('name')} ({place.get('country')} "
                    f"{place.get('feature')}, id {place.get('id')}; gold "
                    f"{t.geonameid})"
                ] += 1
            if t.geonameid:
                same = str(place.get("id")) == t.geonameid
                res.id_total += 1
                res.id_hits += same
                by_feature.id_total += 1
                by_feature.id_hits += same
            gold_country = country_code_of(t.country_geonameid, countries) or country_code_of(
                t.geonameid, countries
            )
            if gold_country:
                right = place.get("country") == gold_country
                res.country_total += 1
                res.country_hits += right
                by_feature.country_total += 1
                by_feature.country_hits += right
    return had_spans


def country_ids() -> dict[str, str]:
    """GeoNames id of every country in sitrep's gazetteer -> its alpha-2 code (to compare the
    gold ``<country geonameid>`` with the output's ``country``)."""
    from sitrep.gazetteer import load_gazetteer

    return {p.geonameid: p.country for p in load_gazetteer().countries()}


def eval_geo(name: str, path: Path, command: Sequence[str], *, adjectives: bool) -> GeoReport:
    gold = read_geo_gold(path)
    report = GeoReport(name, len(gold.docs), repaired=gold.repaired, unrepairable=gold.unrepairable)
    report.gold = sum(len(d.toponyms) for d in gold.docs)
    report.gold_with_coordinates = sum(t.lat is not None for d in gold.docs for t in d.toponyms)
    outputs = run_sitrep_tag(command, [d.text for d in gold.docs])
    countries = country_ids()
    flags = [
        score_geo_document(doc, out, report, countries, adjectives=adjectives)
        for doc, out in zip(gold.docs, outputs, strict=True)
    ]
    report.mode = describe_mode(flags, "documents")
    return report


def describe_mode(flags: Sequence[bool | None], unit: str) -> str:
    """Where the predicted mentions came from, for the report: the output's spans, or the
    fallback (surface forms located in the text), or a mix."""
    known = [f for f in flags if f is not None]
    with_spans = sum(known)
    if with_spans == len(known):
        return "spans (the output's own offsets)"
    if with_spans == 0:
        return (
            "FALLBACK: no spans in the output; each surface form located in the text, as "
            "many occurrences as `mentions`, from the one nearest `first_offset`"
        )
    return f"spans in {with_spans} of {len(known)} {unit}, the fallback (surface forms) elsewhere"


# ---- scoring PLOVER actors -------------------------------------------------------------------


@dataclass
class ActorScore:
    gold: int = 0
    found: int = 0
    with_country: int = 0  # found, and the gold code is an ISO country
    country_right: int = 0
    with_sector: int = 0  # found, and the gold gives a sector of the output contract
    sector_right: int = 0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "gold": self.gold,
            "found": self.found,
            "recall": round(self.found / self.gold, 4) if self.gold else 0,
            "country_checked": self.with_country,
            "country_correct": (
                round(self.country_right / self.with_country, 4) if self.with_country else 0
            ),
            "sector_checked": self.with_sector,
            "sector_correct": (
                round(self.sector_right / self.with_sector, 4) if self.with_sector else 0
            ),
        }

    def row(self) -> str:
        d = self.as_dict()
        text = f"recall {d['recall']:6.1%} ({self.found}/{self.gold})"
        if self.with_country:
            text += (f"   country right {d['country_correct']:6.1%} "
                     f"({self.country_right}/{self.with_country})")  # fmt: skip
        if self.with_sector:
            text += (f"   sector right {d['sector_correct']:6.1%} "
                     f"({self.sector_right}/{self.with_sector})")  # fmt: skip
        return text


@dataclass
class ActorReport:
    sentences: int = 0
    not_located: list[str] = field(default_factory=list)
    mode: str = "spans"
    total: ActorScore = field(default_factory=ActorScore)
    countries_only: ActorScore = field(default_factory=ActorScore)
    by_sector: dict[str, ActorScore] = field(default_factory=dict)
    by_known: dict[str, ActorScore] = field(default_factory=dict)
    missed: Counter[str] = field(default_factory=Counter)
    wrong_country: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sentences": self.sentences,
            "mention_mode": self.mode,
            "not_located": len(self.not_located),
            "all": self.total.as_dict(),
            "country_actors": self.countries_only.as_dict(),
            "by_sector": {k: v.as_dict() for k, v in sorted(self.by_sector.items())},
            "by_dictionary": {k: v.as_dict() for k, v in self.by_known.items()},
        }


#: Sector codes of the output contract (TAG_CONTRACT.md), CAMEO-style: a gold sector among
#: them is checked against the found actor's ``sector``.
CONTRACT_SECTORS = frozenset(
    [
        "GOV",
        "MIL",
        "COP",
        "SPY",
        "LEG",
        "JUD",
        "OPP",
        "REB",
        "BUS",
        "MED",
        "EDU",
        "HLH",
        "CVL",
        "REF",
        "LAB",
        "ELI",
        "CRM",
        "PTY",
        "UAF",
    ]
)


def best_actor(gold: GoldActor, mentions: Sequence[Mention]) -> Mention | None:
    """The tagged actor mention sharing most characters with the gold phrase, if any."""
    best, best_overlap = None, 0
    for m in mentions:
        shared = sum(overlap(m.span, g) for g in gold.spans)
        if shared > best_overlap:
            best, best_overlap = m, shared
    return best


def score_actor(
    gold: GoldActor, text: str, actors: Sequence[dict[str, Any]], mentions: Sequence[Mention]
) -> tuple[bool, bool | None]:
    """(found, country right) for one gold actor: found when a tagged actor's mention
    overlaps the gold phrase; the country is that actor's (the one sharing most characters)
    and is None when the gold code is not a country or nothing was found."""
    best = best_actor(gold, mentions)
    if best is None:
        return False, None
    if gold.country is None:
        return True, None
    return True, gold.country in (actors[best.entity].get("countries") or [])


def sector_right(
    gold: GoldActor, actors: Sequence[dict[str, Any]], mentions: Sequence[Mention]
) -> bool | None:
    """Whether the found actor carries the gold sector (``sector`` in the output); None when
    nothing was found or the gold sector is not one of the contract's codes."""
    best = best_actor(gold, mentions)
    if best is None or gold.sector not in CONTRACT_SECTORS:
        return None
    return actors[best.entity].get("sector") == gold.sector


def eval_plover(path: Path, command: Sequence[str]) -> ActorReport:
    gold = read_actor_gold(path)
    outputs = run_sitrep_tag(command, gold.texts)
    report = ActorReport(len(gold.texts), gold.not_located)
    known = hand_dictionary_states()
    per_text = []
    flags = []
    for text, out in zip(gold.texts, outputs, strict=True):
        actors = list(out.get("actors") or [])
        mentions, had_spans = output_mentions(text, actors)
        flags.append(had_spans)
        per_text.append((actors, mentions))
    for g in gold.actors:
        actors, mentions = per_text[g.text_index]
        found, right = score_actor(g, gold.texts[g.text_index], actors, mentions)
        sector = sector_right(g, actors, mentions)
        groups = [report.total, report.by_sector.setdefault(g.sector or "(none)", ActorScore())]
        if g.country is not None:
            groups.append(report.countries_only)
            label = "dictionary states" if g.country in known else "other countries"
            groups.append(report.by_known.setdefault(label, ActorScore()))
        else:
            label = g.code if g.code in ("IGO", "NGO") else "other code"
            groups.append(report.by_known.setdefault(f"not ISO 3166 ({label})", ActorScore()))
        for s in groups:
            s.gold += 1
            s.found += found
            s.with_country += right is not None
            s.country_right += bool(right)
            s.with_sector += sector is not None
            s.sector_right += bool(sector)
        if not found:
            report.missed[g.actor_text] += 1
        elif right is False:
            report.wrong_country[f"{g.actor_text} ({g.country})"] += 1
    report.mode = describe_mode(flags, "sentences")
    return report


# ---- printing --------------------------------------------------------------------------------


def _published(table: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in table.items())


def print_geo(report: GeoReport, *, adjectives: bool, verbose: bool, top: int = 25) -> None:
    label = DEVSET_LABELS[report.name]
    print(
        f"\n{label}: {report.docs} documents, {report.gold} gold toponyms "
        f"({report.gold_with_coordinates} with coordinates); {report.repaired} gold spans "
        f"moved onto their phrase, {report.unrepairable} dropped"
    )
    print(f"  predicted mentions from: {report.mode}")
    print(
        f"  mentions flagged adjective {report.adjective_mentions}, "
        f"embedded {report.embedded_mentions}"
    )
    print(f"  {'recognition':32} {'P':>6} {'R':>6} {'F1':>6}   tp/fp/fn")
    rows = [
        ("lenient (overlap)", report.lenient),
        ("strict (exact span)", report.strict),
        ("lenient, adjectives included", report.lenient_adj),
        ("strict, adjectives included", report.strict_adj),
    ]
    for name, c in rows:
        print(f"  {name:32} {c.precision:6.3f} {c.recall:6.3f} {c.f1:6.3f}   {c.tp}/{c.fp}/{c.fn}")
    print(f"  published F1: {_published(PUBLISHED_F1[report.name])}")
    r = report.resolution.as_dict()
    which = "with" if adjectives else "without"
    print(
        f"  resolution ({r['matched_with_coordinates']} lenient matches with gold "
        f"coordinates, adjectives {which}):"
    )
    print(
        f"    acc@161km {r['accuracy_161km']:.3f}   mean {r['mean_km']:.0f} km   median "
        f"{r['median_km']:.1f} km   AUC {r['auc']:.3f}   GeoNames id {r['geonameid_match']:.3f}"
        f"   country {r['country_correct']:.3f}"
    )
    print(f"  published acc@161km: {_published(PUBLISHED_ACC161[report.name])}")
    if verbose:
        print("  resolution by the predicted place's feature:")
        for feature, res in sorted(report.by_feature.items(), key=lambda kv: -len(kv[1].errors_km)):
            d = res.as_dict()
            print(
                f"    {feature:9} n {d['matched_with_coordinates']:5}  acc@161km "
                f"{d['accuracy_161km']:.3f}  median {d['median_km']:7.1f} km  GeoNames id "
                f"{d['geonameid_match']:.3f}"
            )
        for title, counter in (
            ("missed toponyms", report.missed),
            ("false positives", report.false_positives),
            ("resolved > 161 km off", report.far),
        ):
            print(f"  worst {title} ({sum(counter.values())}):")
            for phrase, n in counter.most_common(top):
                print(f"    {n:4}  {phrase}")


def print_plover(report: ActorReport, *, verbose: bool, top: int = 25) -> None:
    print(
        f"\nPLOVER: {report.sentences} sentences, {report.total.gold} gold actors located "
        f"({len(report.not_located)} actor phrases not found in their sentence, left out)"
    )
    print(f"  predicted mentions from: {report.mode}")
    print(f"  all actors                {report.total.row()}")
    print(f"  actors of a country       {report.countries_only.row()}")
    for label, s in sorted(report.by_known.items(), key=lambda kv: -kv[1].gold):
        print(f"  {label:25} {s.row()}")
    print("  by sector (CAMEO role):")
    for sector, s in sorted(report.by_sector.items(), key=lambda kv: -kv[1].gold):
        print(f"    {sector:8} {s.row()}")
    if verbose:
        for title, counter in (
            ("missed actors", report.missed),
            ("wrong country", report.wrong_country),
        ):
            print(f"  worst {title} ({sum(counter.values())}):")
            for phrase, n in counter.most_common(top):
                print(f"    {n:4}  {phrase}")
        if report.not_located:
            print("  not located: " + "; ".join(repr(p) for p in report.not_located))


def print_summary(geo: dict[str, GeoReport], plover: ActorReport | None) -> None:
    """The one table to paste into the README."""
    print(
        "\n| set | lenient P | lenient R | lenient F1 | strict F1 | acc@161 | median km | "
        "AUC | id match | country | published F1 | published acc@161 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, rep in geo.items():
        r = rep.resolution.as_dict()
        print(
            f"| {DEVSET_LABELS[name]} | {rep.lenient.precision:.3f} | {rep.lenient.recall:.3f}"
            f" | {rep.lenient.f1:.3f} | {rep.strict.f1:.3f} | {r['accuracy_161km']:.3f} | "
            f"{r['median_km']:.1f} | {r['auc']:.3f} | {r['geonameid_match']:.3f} | "
            f"{r['country_correct']:.3f} | {_published(PUBLISHED_F1[name])} | "
            f"{_published(PUBLISHED_ACC161[name])} |"
        )
    if plover is not None:
        t, c = plover.total.as_dict(), plover.countries_only.as_dict()
        print(
            f"\nPLOVER actors: recall {t['recall']:.3f}, actors of a country {c['recall']:.3f}"
            f", country right when found {c['country_correct']:.3f}"
        )


def run_devsets(args: argparse.Namespace) -> int:
    names = [n.strip().lower().replace("-", "") for n in args.devset.split(",") if n.strip()]
    unknown = [n for n in names if n not in DEVSETS]
    if unknown:
        print(
            f"eval_tagging: unknown devset {', '.join(unknown)} (known: {', '.join(DEVSETS)})",
            file=sys.stderr,
        )
        return 2
    base = devsets_dir(args.devsets_dir)
    missing = [str(base / DEVSET_FILES[n]) for n in names if not (base / DEVSET_FILES[n]).is_file()]
    if missing:
        print(
            f"eval_tagging: devset data not found: {', '.join(missing)} (pass --devsets-dir "
            "or set SITREP_DEVSETS_DIR)",
            file=sys.stderr,
        )
        return 2
    command = shlex.split(args.sitrep) if args.sitrep else [str(ROOT / ".venv" / "bin" / "sitrep")]
    started = time.perf_counter()
    geo: dict[str, GeoReport] = {}
    plover: ActorReport | None = None
    try:
        for name in names:
            if name == "plover":
                plover = eval_plover(base / DEVSET_FILES[name], command)
                print_plover(plover, verbose=args.verbose)
            else:
                geo[name] = eval_geo(
                    name, base / DEVSET_FILES[name], command, adjectives=args.adjectives
                )
                print_geo(geo[name], adjectives=args.adjectives, verbose=args.verbose)
    except (RuntimeError, OSError) as exc:
        print(f"eval_tagging: {exc}", file=sys.stderr)
        return 1
    print_summary(geo, plover)
    seconds = time.perf_counter() - started
    print(f"\n{seconds:.0f} s")
    if args.json:
        out: dict[str, Any] = {name: rep.as_dict() for name, rep in geo.items()}
        if plover is not None:
            out["plover"] = plover.as_dict()
        out["seconds"] = round(seconds, 1)
        out["adjectives_in_resolution"] = args.adjectives
        _write_json(out, args.json)
    return 0


def _write_json(data: dict[str, Any], target: str) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if target == "-":
        print(text)
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="per-document errors; with --devset the worst misses and false "
        "positives, counted by phrase",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="figures as JSON, to FILE or (no FILE) to stdout",
    )
    parser.add_argument(
        "--bench", action="store_true", help="speed, load time and memory instead (no asserts)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="the demo corpus and the samples (the default without --devset)",
    )
    parser.add_argument(
        "--devset",
        nargs="?",
        const=",".join(DEVSETS),
        metavar="SETS",
        help="score the public development sets instead: a comma-separated "
        f"subset of {','.join(DEVSETS)} (default all)",
    )
    parser.add_argument(
        "--devsets-dir",
        metavar="PATH",
        help="the devsets folder (default $SITREP_DEVSETS_DIR, else "
        "../shared/devsets beside the project)",
    )
    parser.add_argument(
        "--sitrep",
        metavar="CMD",
        help="the sitrep command to run (default .venv/bin/sitrep of the project)",
    )
    parser.add_argument(
        "--adjectives",
        action="store_true",
        help="count mentions flagged adjective in resolution and the error "
        "lists (recognition is printed both ways)",
    )
    args = parser.parse_args(argv)
    if args.bench:
        return bench()
    if args.devset is not None and not args.demo:
        return run_devsets(args)

    started = time.perf_counter()
    tagger = Tagger.load()
    load_s = time.perf_counter() - started
    disagreements: list[str] = []
    demo = eval_demo(tagger, disagreements)
    samples = eval_samples(tagger)

    totals: dict[str, dict[str, Score]] = {}
    for label, docs in (("demo", demo), ("samples", samples), ("all", demo + samples)):
        places, actors, lenient = Score(), Score(), Score()
        findable_p, findable_a = Score(), Score()
        for d in docs:
            places.add(d.places)
            actors.add(d.actors)
            lenient.add(Score(d.places.tp, d.places.fp - d.unlisted, d.places.fn))
            findable_p.add(Score(d.places.tp, d.places.fp, d.places.fn - d.places_absent))
            findable_a.add(Score(d.actors.tp, d.actors.fp, d.actors.fn - d.actors_absent))
        totals[label] = {
            "places": places,
            "places~": lenient,
            "places*": findable_p,
            "actors": actors,
            "actors*": findable_a,
        }

    if args.json:
        out: dict[str, Any] = {
            "load_seconds": round(load_s, 3),
            "totals": {k: {n: s.as_dict() for n, s in v.items()} for k, v in totals.items()},
            "documents": {
                d.name: {"places": d.places.as_dict(), "actors": d.actors.as_dict()}
                for d in demo + samples
            },
        }
        _write_json(out, args.json)
        return 0
    for d in demo + samples:
        print(f"{d.name}")
        print(f"  places {d.places.row()}")
        print(f"  actors {d.actors.row()}")
        if args.verbose:
            for line in d.errors:
                print(line)
    print()
    for label, scores in totals.items():
        for what, s in scores.items():
            print(f"{label:8} {what:7} {s.row()}")
    if disagreements and args.verbose:
        print("\nmanifest and dictionary disagree (both ids accepted):")
        for line in disagreements:
            print("  " + line)
    print(
        "\nplaces~: not counting as false positives the countries, capitals, continents and"
        "\n         macro-regions the text names"
        "\n         but the reference does not list (the manifest lists what must be found)."
        "\nplaces*, actors*: not counting as misses what the gazetteer or the dictionary lacks"
        "\n         (the name, or the text's spelling of it): the tagger's own recall."
    )
    print(f"\ntagger load {load_s:.2f} s")
    return 0


def _rss_mb() -> float:
    """Resident memory now (Linux), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _compare(label: str, seconds_per_page: float, tag_ms: float) -> None:
    ms = seconds_per_page * 1000
    print(
        f"{label}, demo pages: {1000 / ms:.0f} pages/s, {ms:.2f} ms/page; "
        f"tagging costs {tag_ms / ms:.0%} of it"
    )


def bench(seconds: float = 3.0) -> int:
    """Load time and memory of the tagger, articles per second of ``tag_text`` on the demo
    gold texts and the samples, and trafilatura's time on the demo pages for comparison."""
    from sitrep.actors import load_actor_dictionary
    from sitrep.gazetteer import load_gazetteer
    from sitrep.tag import _place_automaton

    rss0 = _rss_mb()
    t0 = time.perf_counter()
    gaz = load_gazetteer()
    t1 = time.perf_counter()
    dictionary = load_actor_dictionary()
    t2 = time.perf_counter()
    _place_automaton(gaz)
    t3 = time.perf_counter()
    tagger = Tagger(gaz, dictionary, actors_version=dictionary.version)
    t4 = time.perf_counter()
    print(
        f"load: gazetteer {t1 - t0:.2f} s, actor dictionary {t2 - t1:.2f} s, place automaton "
        f"{t3 - t2:.2f} s, actor automaton and the rest {t4 - t3:.2f} s; total {t4 - t0:.2f} s"
    )
    print(f"memory: {rss0:.0f} MB before, {_rss_mb():.0f} MB resident after loading")

    def rate(texts: list[str]) -> tuple[float, float]:
        for text in texts:
            tagger.tag_text(text)
        best = math.inf
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            start = time.perf_counter()
            for text in texts:
                tagger.tag_text(text)
            best = min(best, (time.perf_counter() - start) / len(texts))
        return 1 / best, best * 1000

    gold = [p.read_text(encoding="utf-8") for p in sorted((DEMO / "gold").glob("*.txt"))]
    per_s, ms = rate(gold)
    chars = sum(map(len, gold)) / len(gold)
    print(f"tag_text, demo gold texts ({len(gold)}, {chars:.0f} chars average): "
          f"{per_s:.0f} articles/s, {ms:.2f} ms/article")  # fmt: skip
    samples = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]
    if samples:
        per_s, ms = rate(samples)
        print(f"tag_text, samples ({len(samples)}): {per_s:.0f} articles/s, {ms:.2f} ms/article")
    tag_ms = rate(gold)[1]
    try:
        import trafilatura
    except ImportError:
        print("trafilatura not installed: no comparison")
        return 0
    pages = [p.read_text(encoding="utf-8") for p in sorted((DEMO / "pages").glob("*.html"))]
    for label, metadata in (("extract", False), ("extract with metadata", True)):
        for page in pages[:3]:
            trafilatura.extract(page, with_metadata=metadata)
        start = time.perf_counter()
        for page in pages:
            trafilatura.extract(page, with_metadata=metadata)
        _compare(f"trafilatura {label}", (time.perf_counter() - start) / len(pages), tag_ms)
    try:
        from sitrep.clean import clean_html
    except ImportError:
        return 0
    for page in pages[:3]:
        clean_html(page)
    start = time.perf_counter()
    for page in pages:
        clean_html(page)
    _compare(
        "sitrep.clean.clean_html (the clean stage)",
        (time.perf_counter() - start) / len(pages),
        tag_ms,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
