"""Canonical URLs and the ids derived from them.

An article's identity is its canonical URL: the same page reached through a feed link with
``utm_*`` parameters, another with ``fbclid``, or with a ``#comments`` fragment is one
document. Every id in sitrep is a hash of such a URL, so writes are idempotent everywhere.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import re
import socket
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


# --- outbound URL safety (SSRF) -------------------------------------------------------------

#: Longest URL accepted from a user: longer ones are abuse or mistakes, never real feeds.
MAX_URL_LENGTH = 2048

#: Carrier-grade NAT space (RFC 6598): not "private" to :mod:`ipaddress`, but still never a
#: public service, and on cloud networks often where internal endpoints live.
_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")

#: Well-known NAT64 prefix (RFC 6052): its last 32 bits are an IPv4 address reached through it.
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURLError(ValueError):
    """A URL sitrep must not fetch or post to: wrong scheme, no host, or a non-public host."""


class UnresolvableHostError(UnsafeURLError):
    """The URL's host has no address. Refused like any unsafe URL, but a caller delivering to an
    already accepted URL may treat it as a transient DNS failure and retry."""


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one really reaches (mapped, 6to4, Teredo, NAT64), if any.

    ``::ffff:127.0.0.1`` is loopback even though the IPv6 flags of it do not all say so.
    """
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64_PREFIX:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def non_public_reason(address: _IPAddress) -> str | None:
    """What kind of non-public address ``address`` is ("loopback", ...), or None if public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind = non_public_reason(embedded)
            if kind is not None:
                return f"{kind}, as it embeds {embedded}"
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE,
         "shared (carrier-grade NAT)"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not globally routable"),
    )
    return next((kind for failed, kind in checks if failed), None)


def literal_host_refusal(host: str | None) -> str | None:
    """Why ``host`` may not be contacted if it is a non-public IP literal, else None.

    Names are left to the resolver: only it knows the address a connection will use.
    """
    literal = _literal_address((host or "").strip("[]").split("%", 1)[0])
    if literal is None:
        return None
    kind = non_public_reason(literal)
    return None if kind is None else f"{literal} is not a public address ({kind})"


def _literal_address(host: str) -> _IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _resolve(host: str, port: int | None) -> list[_IPAddress]:
    """Every address ``host`` resolves to; a refusal if it resolves to none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnresolvableHostError(f"host {host!r} does not resolve ({error})") from error
    addresses: list[_IPAddress] = []
    for info in infos:
        # IPv6 results may carry a zone ("fe80::1%eth0"); the address is what matters.
        raw = str(info[4][0]).split("%", 1)[0]
        literal = _literal_address(raw)
        if literal is not None:
            addresses.append(literal)
    if not addresses:
        raise UnresolvableHostError(f"host {host!r} does not resolve to any IP address")
    return addresses


def _split_checked(url: str) -> tuple[str, int | None]:
    """The host and port of a syntactically acceptable http(s) URL, or a refusal."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURLError(f"URL is {len(url)} characters long, over {MAX_URL_LENGTH}")
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # raises on a port that is not a number in range
    except ValueError as error:
        raise UnsafeURLError(f"malformed URL: {error}") from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f"{scheme!r}" if scheme else "no scheme"
        raise UnsafeURLError(f"only http and https URLs are allowed, got {shown}")
    host = parts.hostname
    if not host:
        raise UnsafeURLError("URL has no host")
    return host, port


def check_public_url(url: str, *, allow_private: bool) -> str:
    """``url`` unchanged if sitrep may send requests to it, else :class:`UnsafeURLError`.

    URLs that users give the API (webhooks, feeds) make *our* servers send requests, so
    without this check the API would let anyone reach internal services (SSRF): the cloud
    metadata endpoint, an admin port on localhost, the Elasticsearch behind the firewall.
    Every address the host resolves to must be public, since the connection may use any of
    them. Hosts given as IP literals need no DNS; other forms (``127.1``, ``2130706433``) go
    through the resolver, which turns them into the address really used.

    Checking then connecting leaves a window for DNS rebinding, so callers re-check right
    before each delivery; ``allow_private`` is for tests and closed deployments.
    """
    host, port = _split_checked(url)
    if allow_private:
        return url
    literal = _literal_address(host.split("%", 1)[0])
    addresses = [literal] if literal is not None else _resolve(host, port)
    for address in addresses:
        kind = non_public_reason(address)
        if kind is not None:
            target = f"{host!r}, which resolves to {address}" if literal is None else str(address)
            raise UnsafeURLError(
                f"refusing {target}: not a public address ({kind}); private and internal "
                "addresses are not allowed (SITREP_ALLOW_PRIVATE_URLS)"
            )
    return url


async def check_public_url_async(url: str, *, allow_private: bool) -> str:
    """:func:`check_public_url` without blocking the event loop on DNS."""
    return await asyncio.to_thread(check_public_url, url, allow_private=allow_private)
