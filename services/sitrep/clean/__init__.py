"""Stage 2, clean: one ``articles.raw`` message in, one ``articles.clean`` message out.

Pure: no I/O except in :func:`clean_command` (the ``sitrep clean`` CLI), so the stage is
unit-tested without servers and the Faust agent stays a thin adapter.

Why the extraction is more than ``trafilatura.extract(html)``: bare trafilatura keeps the
"Related:" / "Read more:" link lines, newsletter boxes, comment teasers and wire credit
lines that news sites put *inside* the article body, and every one of those pollutes the
tagger (places and actors in a related headline are not in the story) and the duplicate
detection (two copies of a wire story differ only in their boilerplate). Measured on the
public development set (trafilatura's evaldata, ``tools/eval_extraction.py --devset``) and
the demo corpus, the stage is:

1. one trafilatura pass (balanced, no comments, fast) on the page as parsed: nothing is
   pruned first, as class names such as ``read-more`` or ``paywall`` wrap whole articles;
   trafilatura's own comparison with readability and jusText runs only when the fast text
   is short or a menu, and the bundled fallbacks only when the text is still too short or
   far shorter than the JSON-LD ``articleBody``; candidates win on prose, not length;
2. line rules, in several languages, that drop what the extractor kept: link lines and
   link-list headings, picture credits, newsletter and account prompts, agency credit
   lines, date-only lines, cookie and rights notices, repeats of long lines; never more
   than half of the text;
3. optionally (``CleanOptions(prune=True)``, off: it costs more than it measured) the
   lines that lie inside class/id-named furniture which does not hold the article.

The HTML is parsed once: the same lxml tree feeds the metadata (trafilatura's meta-tag,
JSON-LD and title steps, htmldate when the page declares no date) and then the extraction.

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
