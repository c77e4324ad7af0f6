"""Precision, recall and F1 of the tag stage on the demo corpus and the two real samples.

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

Run: ``.venv/bin/python tools/eval_tagging.py [-v] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Collection
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
            if tag.feature in ("A/PCLI", "P/PPLC"):
                res.unlisted += 1  # a country or capital named in the text: listed or not
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="per-document errors")
    parser.add_argument("--json", action="store_true", help="figures as JSON")
    parser.add_argument(
        "--bench", action="store_true", help="speed, load time and memory instead (no asserts)"
    )
    args = parser.parse_args(argv)
    if args.bench:
        return bench()

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
        print(json.dumps(out, indent=2))
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
        "\nplaces~: not counting as false positives the countries and capitals the text names"
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
