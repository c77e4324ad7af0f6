#!/usr/bin/env python3
"""Build the person-name list shipped in ``services/sitrep/data/names/person_names.tsv.gz``.

Why: a one-word place name that is also a common given name or surname ("Brown", "Jones",
"Sam", "Keith") is, in news text, far more often a person than a town; the tagger reads this
list to ask a place reading that is also a frequent name for more evidence. A hand list of
names cannot cover the world; the names-dataset package (Remy, 2021: first and last names
of 730 million Facebook users in 105 countries, with per-country popularity ranks) can, but
loads about 3 GB into memory. This tool derives the compact part the tagger needs.

Output: one line per name, ``name<TAB>given<TAB>surname``, where ``given`` and ``surname`` are
the name's best (smallest) popularity rank in any country as a first and as a last name, or
``-`` when it is not one. Only names with a rank of at most ``--max-rank`` (default 1,000)
in some country are kept; only single words of three letters or more (the tagger asks
about one-word place names), written
as the dataset spells them (title case). Sorted, so the same inputs give the same
bytes.

Run from the repository root (names-dataset is only needed here, not at run time)::

    .venv/bin/pip install names-dataset==3.3.1
    .venv/bin/python tools/build_names.py

Licence: names-dataset is distributed under the Apache License 2.0.
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "services" / "sitrep" / "data" / "names" / "person_names.tsv.gz"
VERSION = "3.3.1"


def best_ranks(table: dict[str, Any], max_rank: int) -> dict[str, int]:
    """Name -> its best rank in any country, for names ranked at most ``max_rank``."""
    out: dict[str, int] = {}
    for name, info in table.items():
        ranks: dict[str, int | None] = info.get("rank") or {}
        known = [r for r in ranks.values() if r is not None]
        if not known:
            continue
        best = min(known)
        if best <= max_rank and name.isalpha() and len(name) >= 3:
            out[name] = best
    return out


def rows(given: dict[str, int], surnames: dict[str, int]) -> Iterable[str]:
    for name in sorted(given.keys() | surnames.keys()):
        g = given.get(name)
        s = surnames.get(name)
        yield f"{name}\t{'-' if g is None else g}\t{'-' if s is None else s}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-rank", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--allow-other-versions", action="store_true")
    args = parser.parse_args(argv)
    version = metadata.version("names-dataset")
    if version != VERSION and not args.allow_other_versions:
        print(f"names-dataset {version} installed, {VERSION} expected", file=sys.stderr)
        return 2
    from names_dataset import NameDataset

    # One table at a time: each alone takes more than a gigabyte.
    given = best_ranks(NameDataset(load_last_names=False).first_names, args.max_rank)
    surnames = best_ranks(NameDataset(load_first_names=False).last_names, args.max_rank)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz:
        gz.write(f"# names-dataset {version}, max rank {args.max_rank}\n".encode())
        for row in rows(given, surnames):
            gz.write(row.encode("utf-8"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(buffer.getvalue())
    print(f"{args.out}: {len(given)} given names, {len(surnames)} surnames", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
