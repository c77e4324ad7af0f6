"""Canonical URLs and the ids derived from them.

An article's identity is its canonical URL: the same page reached through a feed link with
``utm_*`` parameters, another with ``fbclid``, or with a ``#comments`` fragment is one
document. Every id in sitrep is a hash of such a URL, so writes are idempotent everywhere.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

from courlan import normalize_url


def canonical_url(url: str) -> str:
    """Lower-cased scheme and host, default port, no tracking parameters, no fragment.

    courlan's non-strict mode only removes known trackers (utm_*, fbclid, gclid, ref, ...):
    its strict mode also drops unknown parameters such as ``?story=44``, which would merge
    different articles into one.
    """
    try:
        normalised = normalize_url(url.strip())
    except (ValueError, AttributeError):
        normalised = url.strip()
    parts = urlsplit(normalised)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def url_hash(url: str, length: int = 32) -> str:
    return hashlib.sha256(canonical_url(url).encode()).hexdigest()[:length]


def article_id(url: str) -> str:
    """The article's document id everywhere (Kafka key, Elasticsearch _id)."""
    return url_hash(url, 32)


def feed_id(url: str) -> str:
    """The feed's id and Kafka key in the registry."""
    return url_hash(url, 16)
