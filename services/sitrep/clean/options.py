"""The stage's tuned trafilatura options and the evaluation switches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Below this many words trafilatura's result is suspect (a paywall stub, a JS shell, a
#: layout it misread) and the cascade tries the fallback extractors.
MIN_TEXT_WORDS = 60
#: trafilatura's fast pass found less than this: its comparison with readability and
#: jusText (``fast=False``) is worth running. Measured on the development set: it recovers
#: the recall bare trafilatura has over its fast mode (F1 0.928 with the comparison on
#: every page, 0.922 never, 0.933 this way) on an eighth of the pages; with a prose
#: threshold instead of a length one it ran on a seventh for fewer recovered segments.
SHORT_TEXT_CHARS = 1000
#: The trafilatura configuration measured on the public development set
#: (tools/eval_extraction.py --devset): comments are never article text (F1 0.921 -> 0.926
#: for bare trafilatura); the balanced mode beat favor_precision (0.926 vs 0.922: precision
#: mode loses body paragraphs on German sites) and favor_recall; tables stay. ``fast``: one
#: pass, with the fallback comparison run only where it pays (SHORT_TEXT_CHARS). Repeats
#: are removed per document by :func:`sitrep.clean.lines.dedupe`, not by trafilatura's
#: ``deduplicate``: its cache lives for the whole process and would discard the fourth
#: copy of a syndicated wire story.
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "fast": True,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "include_formatting": False,
    "deduplicate": False,
    "with_metadata": False,
    "output_format": "python",
}
#: htmldate without its "extensive" free-text search: that search is what picks the
#: footer's "(c) 2026" when a page has no machine-readable date, and it costs ~1 s on such
class CleanError(ValueError):
    """Nothing usable at all: no HTML text and no feed title or summary to fall back on."""


@dataclass(frozen=True)
class CleanOptions:
    """Switches for measuring each layer's contribution (tools/eval_extraction.py).

    Production always uses the defaults; turning a layer off is for evaluation only.
    """

    #: Off: the furniture lines (:func:`sitrep.clean.prune.boilerplate_lines`) measured
    #: +0.002 F1 on the development set (0.930 vs 0.928) and nothing on the demo corpus,
    #: for 2-3 ms a page (15 % of bare trafilatura's time) spent visiting class and id
    #: attributes from Python. The line rules carry the boilerplate that matters.
    prune: bool = False
    line_rules: bool = True
    cascade: bool = True
    #: Run trafilatura's full comparison when the fast pass found less text than this.
    compare_below: int = SHORT_TEXT_CHARS
    trafilatura: dict[str, Any] = field(default_factory=lambda: dict(TRAFILATURA_OPTIONS))


DEFAULT_OPTIONS = CleanOptions()

