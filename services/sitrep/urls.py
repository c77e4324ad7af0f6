"""Canonical URLs and the ids derived from them.

An article's identity is its canonical URL: the same page reached through a feed link with
``utm_*`` parameters, another with ``fbclid``, or with a ``#comments`` fragment is one
document. Every id in sitrep is a hash of such a URL, so writes are idempotent everywhere.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan import normalize_url

#: Query parameters that only track a click, never select content. Deliberately a short,
#: explicit list: courlan's own filters also drop ``cid``, ``keyword`` or ``gl``, which pick
#: an article or an edition, and would merge different articles into one.
TRACKING_PARAMETER = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|twclid|igshid|mc_cid|mc_eid"
    r"|_ga|_gl|_hs\w+|mkt_tok|ref|ref_src|ref_url|referrer|cmpid|ocid|smid|sr_share|s_cid"
    r"|at_\w+|__twitter_impression|ito|ns_\w+|oly_\w+|rss_\w+|spm)$",
    re.IGNORECASE,
)


def canonical_url(url: str) -> str:
    """Lower-cased scheme and host, default port, no tracking parameters, no fragment.

    courlan normalises the scheme, host, port and path; the query is filtered here, keeping
    every parameter that is not a known tracker, in its original order.
    """
    parts = urlsplit(url.strip())
    kept = [
        (key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not TRACKING_PARAMETER.match(key)
    ]
    try:
        base = normalize_url(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))
    except (ValueError, AttributeError):
        base = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))
    head = urlsplit(base)
    return urlunsplit((head.scheme, head.netloc, head.path or "/", urlencode(kept), ""))


def url_hash(url: str, length: int = 32) -> str:
    return hashlib.sha256(canonical_url(url).encode()).hexdigest()[:length]


def article_id(url: str) -> str:
    """The article's document id everywhere (Kafka key, Elasticsearch _id)."""
    return url_hash(url, 32)


def feed_id(url: str) -> str:
    """The feed's id and Kafka key in the registry."""
    return url_hash(url, 16)
