"""Stage 2, clean: one ``articles.raw`` message in, one ``articles.clean`` message out.

Pure: no I/O except in :func:`clean_command` (the ``sitrep clean`` CLI), so the stage is
unit-tested without servers and the Faust agent stays a thin adapter.

Why the extraction is more than ``trafilatura.extract(html)``: bare trafilatura keeps the
"Related:" / "Read more:" link lines, newsletter boxes, comment teasers and wire credit
lines that news sites put *inside* the article body, and every one of those pollutes the
tagger (places and actors in a related headline are not in the story) and the duplicate
detection (two copies of a wire story differ only in their boilerplate). Three layers, each
measured on the demo corpus by ``tools/eval_extraction.py``:

1. tuned trafilatura options (no comments, precision-leaning) on a tree from which
   elements whose class/id names mark them as boilerplate (newsletter, related, caption,
   share, cookie ...) were pruned first, with a guard that never prunes the main text;
2. line rules that drop what the markup did not reveal: lead-word link lines, captions
   ending in a photo credit, newsletter prompts, agency credit lines, cookie and copyright
   notices;
3. a cascade: when trafilatura finds (almost) nothing, or far less than the body the page
   declares in its JSON-LD ``articleBody`` (script-rendered sites), the fallbacks bundled
   with trafilatura (its readability port, its baseline, jusText) are tried in turn.

The HTML is parsed once: the same lxml tree feeds the metadata (trafilatura, which runs
htmldate on it) and the text extraction.

One module per concern, each readable in one sitting:

- :mod:`.stage`: the entry points (:func:`clean_article`, :func:`clean_html`,
  :func:`clean_text`) that put the parts together;
- :mod:`.options`: the tuned trafilatura options and the evaluation switches;
- :mod:`.extract`: trafilatura on the parsed tree, and when a fallback is worth running;
- :mod:`.prune` and :mod:`.lines`: the boilerplate layers (DOM pruning, line rules, dedup);
- :mod:`.metadata`, :mod:`.dates`, :mod:`.language`: title, authors, canonical URL, dates
  and language from the same tree;
- :mod:`.fingerprints`: the text hash and the MinHash signature (a contract with the index);
- :mod:`.provenance`: extractor names and versions;
- :mod:`.command`: ``sitrep clean`` (the only I/O).
"""

from __future__ import annotations

from sitrep.clean.command import clean_command, clean_source
from sitrep.clean.dates import EARLIEST_DATE, parse_text_date, parse_timestamp
from sitrep.clean.extract import FALLBACKS, Extraction, extract_text
from sitrep.clean.fingerprints import (
    MINHASH_PERMUTATIONS,
    MINHASH_SEED,
    MINHASH_SHINGLE_WORDS,
    minhash,
    minhash_similarity,
    shingles,
    text_hash,
)
from sitrep.clean.language import choose_language, detect_language
from sitrep.clean.lines import clean_paragraphs, filter_lines
from sitrep.clean.metadata import plausible_url
from sitrep.clean.options import (
    DEFAULT_OPTIONS,
    MIN_TEXT_WORDS,
    TRAFILATURA_OPTIONS,
    CleanError,
    CleanOptions,
)
from sitrep.clean.provenance import extractor_name
from sitrep.clean.prune import boilerplate_lines
from sitrep.clean.stage import CLEAN_SCHEMA, CLEAN_TOPIC, clean_article, clean_html, clean_text
from sitrep.clean.text import fold_whitespace, normalise_text, text_tokens, word_count

__all__ = [
    "CLEAN_SCHEMA",
    "CLEAN_TOPIC",
    "DEFAULT_OPTIONS",
    "EARLIEST_DATE",
    "FALLBACKS",
    "MINHASH_PERMUTATIONS",
    "MINHASH_SEED",
    "MINHASH_SHINGLE_WORDS",
    "MIN_TEXT_WORDS",
    "TRAFILATURA_OPTIONS",
    "CleanError",
    "CleanOptions",
    "Extraction",
    "boilerplate_lines",
    "choose_language",
    "clean_article",
    "clean_command",
    "clean_html",
    "clean_paragraphs",
    "clean_source",
    "clean_text",
    "detect_language",
    "extract_text",
    "extractor_name",
    "filter_lines",
    "fold_whitespace",
    "minhash",
    "minhash_similarity",
    "normalise_text",
    "parse_text_date",
    "parse_timestamp",
    "plausible_url",
    "shingles",
    "text_hash",
    "text_tokens",
    "word_count",
]
