"""Fingerprints of the clean text: the exact-copy hash and the MinHash signature."""

from __future__ import annotations

import hashlib
from functools import cache
from hashlib import sha1
from typing import Any

from sitrep.clean.text import normalise_text, text_tokens

#: Near-duplicate signature: datasketch ``MinHash(num_perm=MINHASH_PERMUTATIONS,
#: seed=MINHASH_SEED)`` (default sha1_hash32 hash function) over the set of
#: MINHASH_SHINGLE_WORDS-word shingles of the normalised text (:func:`text_tokens`).
#: A later stage rebuilds it with ``LeanMinHash(seed=MINHASH_SEED, hashvalues=values)``
#: and indexes it with ``MinHashLSH(threshold=..., num_perm=MINHASH_PERMUTATIONS)``; changing
#: any of these three constants makes old and new signatures incomparable.
MINHASH_PERMUTATIONS = 64
MINHASH_SHINGLE_WORDS = 5
MINHASH_SEED = 1
def text_hash(text: str) -> str:
    """sha256 of :func:`normalise_text`: equal for exact copies (syndication)."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()


def shingles(text: str, size: int = MINHASH_SHINGLE_WORDS) -> set[str]:
    """Word ``size``-grams; a text shorter than that is one shingle of all its words."""
    tokens = text_tokens(text)
    if not tokens:
        return set()
    if len(tokens) < size:
        return {" ".join(tokens)}
    return {" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


@cache
def _template() -> Any:
    """A MinHash with the contract's parameters, built once per process: datasketch draws
    its permutations from a seeded RandomState in every constructor, which cost more than
    hashing a page's shingles.

    Its hash function is ``int``: :func:`minhash` hands it the shingles' 32-bit sha1
    values already computed (the same values datasketch's default would compute), so the
    per-shingle work is one comprehension instead of two Python calls a shingle
    (datasketch's ``sha1_hash32``: the first four bytes of the sha1 digest, read
    little-endian).
    """
    from datasketch import MinHash

    return MinHash(num_perm=MINHASH_PERMUTATIONS, seed=MINHASH_SEED, hashfunc=int)


def minhash(text: str) -> list[int] | None:
    """The MinHash signature (see MINHASH_* constants); None when the text has no words.

    Exactly ``datasketch.MinHash(num_perm=MINHASH_PERMUTATIONS, seed=MINHASH_SEED)``
    updated with the shingles (a test pins the equality, so stored signatures stay
    comparable): a copy of a once-built template, updated in one vectorised batch.

    An empty set would hash to the all-maximum signature, which every other empty text
    shares: a spurious "duplicate", so no signature is better.
    """
    grams = shingles(text)
    if not grams:
        return None
    signature = _template().copy()
    signature.update_batch(
        [int.from_bytes(sha1(g.encode("utf-8")).digest()[:4], "little") for g in grams]
    )
    return [int(v) for v in signature.hashvalues]


def minhash_similarity(a: list[int] | None, b: list[int] | None) -> float:
    """Estimated Jaccard similarity of two signatures: the share of equal slots."""
    if not a or not b or len(a) != len(b):
        return 0.0
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


