"""The tagger: one object that ties the steps of :mod:`sitrep.tag` together.

:meth:`Tagger.tag_text` runs them in order: tokens (:mod:`~sitrep.tag.tokens`), dictionary
hits (:mod:`~sitrep.tag.hits`, with :mod:`~sitrep.tag.places` and :mod:`~sitrep.tag.actors`),
context rules (:mod:`~sitrep.tag.refine`), resolution (:mod:`~sitrep.tag.resolution`) and the
output (:mod:`~sitrep.tag.output`).
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Final

from sitrep.actors import ActorDictionary, load_actor_dictionary
from sitrep.gazetteer import Gazetteer, load_gazetteer
from sitrep.tag.actors import ActorIndex
from sitrep.tag.hits import find_hits, longest_first, state_places
from sitrep.tag.output import Tags, assemble
from sitrep.tag.places import PlaceLookup
from sitrep.tag.refine import Refiner
from sitrep.tag.resolution import Resolver
from sitrep.tag.tokens import title_case_tokens, tokenise
from sitrep.tag.words import (
    CALENDAR_WORDS,
    FUNCTION_WORDS,
    LOCATIVES,
    PLACE_MODIFIERS,
    ROLE_WORDS,
    person_names,
    zipf,
)

#: Bump when the same inputs can give other tags (rules, weights, word lists).
TAGGER_VERSION: Final = "1.0.0"
#: The ``schema`` field of an ``articles.tagged`` message.
SCHEMA: Final = "articles.tagged/1"


class Tagger:
    """Places and actors of a text; build once per process (:meth:`load`, :func:`get_tagger`).

    The tagging methods are pure: the same text always gives the same tags; only caches of
    word keys and name comparisons are kept between calls.
    """

    def __init__(self, gazetteer: Gazetteer, actors: ActorDictionary, *, actors_version: str):
        self.gazetteer = gazetteer
        self.actors = actors
        self.gazetteer_version = gazetteer.version
        self.actors_version = actors_version
        self._places = PlaceLookup(gazetteer)
        self._actors = ActorIndex(actors)
        self._resolver = Resolver()
        # Load the word data now, not on the first text: a worker's start pays, not its
        # first article.
        person_names()
        zipf("the")
        self._not_names = (
            PLACE_MODIFIERS
            | FUNCTION_WORDS
            | CALENDAR_WORDS
            | LOCATIVES
            | ROLE_WORDS
            | self._actors.demonym_keys
        )

    @classmethod
    def load(cls, actor_files: Sequence[Path] = ()) -> Tagger:
        """The shipped gazetteer and dictionary, with the user's actor files layered on top."""
        with _collector_paused():
            dictionary = load_actor_dictionary(actor_files)
            version = dictionary.version
            if actor_files:
                digest = hashlib.sha256()
                for path in actor_files:
                    digest.update(Path(path).read_bytes())
                version = f"{version}+local-{digest.hexdigest()[:8]}"
            return cls(load_gazetteer(), dictionary, actors_version=version)

    def provenance(self) -> dict[str, str]:
        return {
            "gazetteer_version": self.gazetteer_version,
            "actors_version": self.actors_version,
            "tagger_version": TAGGER_VERSION,
        }

    def tag_article(self, clean: dict[str, Any]) -> dict[str, Any]:
        """An ``articles.clean`` message plus its tags: an ``articles.tagged`` message.

        The text tagged is ``title + "\\n\\n" + text`` (offsets refer to it); an article with
        no text is tagged on its description, so a feed entry without a body still counts.
        """
        title = clean.get("title") or None
        text = clean.get("text") or clean.get("description") or ""
        tags = self.tag_text(str(text), title=str(title) if title else None)
        return {**clean, **tags.to_dict(), "tagging": self.provenance(), "schema": SCHEMA}

    def tag_text(self, text: str, title: str | None = None) -> Tags:
        """The places and actors of a text (offsets in ``title + "\\n\\n" + text``)."""
        full = f"{title}\n\n{text}" if title else text
        tokens = tokenise(full)
        if not tokens:
            return Tags()
        title_tokens = title_case_tokens(tokens, len(title) if title else 0)
        found = find_hits(full, tokens, self._actors, self._places)
        hits = longest_first(found, self._actors)
        inner = state_places(tokens, found, hits, self._actors, self._places)
        refiner = Refiner(self._actors, self._not_names, tokens, hits, title_tokens, self._places)
        hits = refiner.run()
        if inner:  # mentions inside actor names whose actor is still there
            spans = {(h.first, h.last) for h in hits if h.actors}
            kept = [h for h in inner if any(a <= h.first and h.last <= b for a, b in spans)]
            hits = sorted(hits + kept, key=lambda h: (h.first, h.last))
        actor_ctx, actor_of = self._actors.resolve(hits)
        resolved = self._resolver.resolve(full, tokens, hits, title_tokens, actor_ctx)
        return assemble(full, hits, resolved, actor_of, self._actors)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while the tagger loads: loading allocates millions of
    long-lived objects (actors, index entries, automaton payloads) and frees almost none, yet
    each allocation burst made the collector walk them all again (eight full passes that
    found nothing, about a third of the load time). Reference counting still frees what
    loading drops; the collector is back as it was when loading ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@cache
def get_tagger() -> Tagger:
    """The default tagger (shipped data only), built on first use and kept for the process."""
    return Tagger.load()
