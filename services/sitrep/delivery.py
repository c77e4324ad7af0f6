"""Delivering alerts: signed webhooks and plain-text e-mail.

The pieces here decide *how* one delivery attempt is made and what its outcome means; the
alert worker decides *when* (retries, digests, dead letters). Everything that can be pure is:
signing, payloads, e-mail text and backoff are plain functions, and the two I/O functions
(:func:`post_webhook`, :func:`send_email`) never raise for a network problem but return a
:class:`DeliveryResult` saying whether trying again can help.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import aiohttp

from sitrep.config import Settings
from sitrep.fetch import outbound_session, refused_as_non_public
from sitrep.logs import get_logger
from sitrep.urls import (
    UnresolvableHostError,
    UnsafeURLError,
    check_public_url_async,
)

log = get_logger(__name__)

USER_AGENT = "sitrep-alerts/0.1"
SIGNATURE_HEADER = "X-Sitrep-Signature"
TIMESTAMP_HEADER = "X-Sitrep-Timestamp"
DELIVERY_HEADER = "X-Sitrep-Delivery"

#: 4xx answers that mean "not now" rather than "never": request timeout, too early, too many.
RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})

#: How much of an error response body is kept in the failure reason.
_ERROR_BODY_CHARS = 200


# --- signing ------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Sitrep-Signature`` value: ``sha256=`` + HMAC-SHA256 of ``timestamp.body``.

    The timestamp is inside the MAC so a captured delivery cannot be replayed later with a
    fresh timestamp header: a receiver that also rejects old timestamps (see ``max_age`` of
    :func:`verify`) accepts each signed body only within that window.
    """
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    max_age: float | None = None,
    now: float | None = None,
) -> bool:
    """True if ``signature`` is ours for this timestamp and body (what a receiver checks).

    Compared in constant time, so the comparison leaks nothing about the expected value.
    With ``max_age`` the timestamp (unix seconds) must also be at most that many seconds away
    from ``now`` (default: the clock), which is what makes a replay fail.
    """
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return False
    if max_age is None:
        return True
    try:
        sent = float(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    return abs(current - sent) <= max_age


# --- payloads and results -----------------------------------------------------------------


def webhook_payload(
    subscription: Mapping[str, Any], alerts: Sequence[Mapping[str, Any]], digest: bool
) -> dict[str, Any]:
    """The JSON body of one webhook delivery: one alert (kind ``alert``) or a digest.

    Both kinds have the same shape (``alerts`` is always a list) so receivers need one code
    path; ``alert_ids`` lets them dedupe alerts that arrive again after a retry.
    """
    if not alerts:
        raise ValueError("a webhook delivery needs at least one alert")
    if not digest and len(alerts) != 1:
        raise ValueError(f"a single-alert delivery carries one alert, got {len(alerts)}")
    return {
        "kind": "digest" if digest else "alert",
        "subscription": {
            "id": subscription["id"],
            "name": subscription["name"],
            "query": subscription["query"],
        },
        "count": len(alerts),
        "alert_ids": [alert["alert_id"] for alert in alerts],
        "alerts": [dict(alert) for alert in alerts],
    }


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """Outcome of one delivery attempt: ``retryable`` tells the worker whether to try again."""

    ok: bool
    retryable: bool
    status: int | None
    error: str | None

    @classmethod
    def success(cls, status: int | None) -> DeliveryResult:
        return cls(ok=True, retryable=False, status=status, error=None)

    @classmethod
    def failure(cls, error: str, *, retryable: bool, status: int | None = None) -> DeliveryResult:
        return cls(ok=False, retryable=retryable, status=status, error=error)


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are signed and sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _status_is_retryable(status: int) -> bool:
    return status >= 500 or status in RETRYABLE_CLIENT_STATUSES


# --- webhooks -----------------------------------------------------------------------------


def webhook_session(*, allow_private: bool) -> aiohttp.ClientSession:
    """The HTTP session deliveries use: guarded like the poller's unless private URLs are
    allowed, so a name that rebinds to an internal address after the check is still refused."""
    return outbound_session(allow_private=allow_private)


async def post_webhook(
    session: aiohttp.ClientSession,
    url: str,
    secret: str,
    payload: Mapping[str, Any],
    *,
    delivery_id: str,
    timeout: float,
    allow_private: bool,
) -> DeliveryResult:
    """POST one signed payload to a subscriber's webhook; never raises for network trouble.

    The URL is checked again here, not only when the subscription was made, because the
    name may resolve elsewhere now. Redirects are not followed: the check covers this URL
    only, and a 302 to ``http://169.254.169.254/`` would otherwise walk straight past it, so a
    redirect is a permanent failure naming where it pointed (the subscriber fixes the URL).
    ``delivery_id`` is sent as ``X-Sitrep-Delivery`` and stays the same across retries of one
    delivery, so receivers can drop the duplicates that retries after a lost answer create.
    """
    result = await _post_webhook(
        session, url, secret, payload, delivery_id=delivery_id, timeout=timeout,
        allow_private=allow_private,
    )
    if not result.ok:
        log.warning(
            "webhook delivery failed", delivery_id=delivery_id, status=result.status,
            retryable=result.retryable, error=result.error,
        )
    return result


async def _post_webhook(
    session: aiohttp.ClientSession,
    url: str,
    secret: str,
    payload: Mapping[str, Any],
    *,
    delivery_id: str,
    timeout: float,
    allow_private: bool,
) -> DeliveryResult:
    try:
        await check_public_url_async(url, allow_private=allow_private)
    except UnresolvableHostError as error:
        # DNS trouble at delivery time is a network problem: it may pass.
        return DeliveryResult.failure(str(error), retryable=True)
    except UnsafeURLError as error:
        return DeliveryResult.failure(f"unsafe webhook URL: {error}", retryable=False)

    body = encode_payload(payload)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        DELIVERY_HEADER: delivery_id,
    }
    try:
        async with session.post(
            url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            status = response.status
            if 200 <= status < 300:
                return DeliveryResult.success(status)
            if 300 <= status < 400:
                location = response.headers.get("Location", "(no Location header)")
                return DeliveryResult.failure(
                    f"webhook answered HTTP {status} redirecting to {location}; redirects are "
                    "not followed, use the final URL",
                    retryable=False,
                    status=status,
                )
            detail = await _error_excerpt(response)
            return DeliveryResult.failure(
                f"webhook answered HTTP {status}{detail}",
                retryable=_status_is_retryable(status),
                status=status,
            )
    except TimeoutError:
        return DeliveryResult.failure(
            f"webhook did not answer within {timeout:g}s (timeout)", retryable=True
        )
    except (aiohttp.ClientError, OSError, UnsafeURLError) as error:
        if refused_as_non_public(error):
            return DeliveryResult.failure(f"unsafe webhook URL: {error}", retryable=False)
        return DeliveryResult.failure(
            f"webhook connection failed: {type(error).__name__}: {error}", retryable=True
        )


async def _error_excerpt(response: aiohttp.ClientResponse) -> str:
    """The start of an error response body, for the failure reason; empty if unreadable."""
    try:
        text = (await response.content.read(_ERROR_BODY_CHARS * 4)).decode("utf-8", "replace")
    except (aiohttp.ClientError, OSError, TimeoutError):
        return ""
    text = " ".join(text.split())[:_ERROR_BODY_CHARS]
    return f": {text}" if text else ""


# --- backoff ------------------------------------------------------------------------------


def retry_delay(
    attempt: int,
    base: float,
    cap: float,
    jitter: float = 0.2,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1: after the first failure).

    ``base`` doubling per attempt up to ``cap``, then spread by up to ±``jitter`` (a fraction)
    so deliveries that failed together (one endpoint down) do not all come back at once.
    Deterministic for a given ``rng`` returning values in [0, 1).
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    if not 0 <= jitter < 1:
        raise ValueError(f"jitter is a fraction in [0, 1), got {jitter}")
    # The exponent is bounded so a huge attempt number cannot overflow the float.
    delay = min(cap, base * 2.0 ** min(attempt - 1, 64))
    return delay * (1.0 + jitter * (2.0 * rng() - 1.0))


# --- e-mail -------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    """Whitespace collapsed: titles with newlines must not break a header or a layout."""
    return " ".join(str(text).split())


def format_email(
    subscription_name: str, query: str, alerts: Sequence[Mapping[str, Any]], digest: bool
) -> tuple[str, str]:
    """Subject and plain-text body of an alert or digest e-mail.

    Plain text on purpose: it shows the same in every client and carries no tracking.
    """
    if not alerts:
        raise ValueError("an alert e-mail needs at least one alert")
    name = _one_line(subscription_name)
    if digest:
        noun = "article" if len(alerts) == 1 else "articles"
        subject = f"sitrep digest: {len(alerts)} new {noun} for {name}"
    else:
        title = _one_line(alerts[0].get("article", {}).get("title") or "(untitled)")
        subject = f"sitrep alert for {name}: {title}"

    lines = [f"Subscription: {name}", f"Query: {_one_line(query)}", ""]
    for number, alert in enumerate(alerts, start=1):
        article: Mapping[str, Any] = alert.get("article", {})
        title = _one_line(article.get("title") or "(untitled)")
        lines.append(f"{number}. {title}" if digest else title)
        lines.append(f"   Source: {_one_line(article.get('source') or 'unknown')}")
        lines.append(f"   Published: {article.get('published') or 'unknown'}")
        lines.append(f"   URL: {article.get('url') or ''}")
        snippet = _one_line(article.get("snippet") or "")
        if snippet:
            lines.append(f"   {snippet}")
        lines.append("")
    lines.append("-- ")
    lines.append("sent by sitrep because this subscription matched new articles")
    return subject, "\n".join(lines) + "\n"


def build_email(settings: Settings, to: Sequence[str], subject: str, body: str) -> EmailMessage:
    """A complete message: From, To, Subject, Date and a Message-ID in the sender's domain."""
    if not to:
        raise ValueError("an e-mail needs at least one recipient")
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(to)
    message["Subject"] = _one_line(subject)
    message["Date"] = formatdate(usegmt=True)
    domain = settings.smtp_from.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    return message


def _smtp_code_is_retryable(code: int) -> bool:
    """4xx SMTP replies are transient by definition; 5xx are permanent."""
    return 400 <= code < 500


def _send_blocking(settings: Settings, message: EmailMessage) -> DeliveryResult:
    host = settings.smtp_host
    assert host is not None
    context = None
    if settings.smtp_tls or settings.smtp_starttls:
        context = ssl.create_default_context(
            cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
        )
    client = (
        smtplib.SMTP_SSL(host, settings.smtp_port, timeout=settings.webhook_timeout,
                         context=context)
        if settings.smtp_tls
        else smtplib.SMTP(host, settings.smtp_port, timeout=settings.webhook_timeout)
    )
    with client as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=context)
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        refused = smtp.send_message(message)
    if refused:
        # Some recipients took it; retrying would send those a duplicate, so this is final.
        listed = ", ".join(f"{rcpt} ({code})" for rcpt, (code, _) in refused.items())
        return DeliveryResult(ok=True, retryable=False, status=250,
                              error=f"some recipients refused: {listed}")
    return DeliveryResult.success(250)


async def send_email(settings: Settings, message: EmailMessage) -> DeliveryResult:
    """Send one message through the configured SMTP server; never raises for SMTP trouble.

    smtplib runs in a thread: it is the battle-tested client, and alert mail is rare enough
    that a thread per message costs nothing.
    """
    if settings.smtp_host is None:
        return DeliveryResult.failure(
            "no SMTP server configured (SITREP_SMTP_HOST)", retryable=False
        )
    try:
        return await asyncio.to_thread(_send_blocking, settings, message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        listed = ", ".join(
            f"{rcpt} ({code} {_decode(reply)})" for rcpt, (code, reply) in error.recipients.items()
        )
        return DeliveryResult.failure(
            f"SMTP server refused every recipient: {listed}",
            retryable=all(_smtp_code_is_retryable(code) for code in codes),
            status=max(codes, default=None),
        )
    except smtplib.SMTPNotSupportedError as error:
        return DeliveryResult.failure(f"SMTP server lacks a feature: {error}", retryable=False)
    except smtplib.SMTPResponseException as error:
        # SMTPSenderRefused, SMTPDataError, SMTPAuthenticationError, SMTPConnectError, ...
        return DeliveryResult.failure(
            f"SMTP {type(error).__name__}: {error.smtp_code} {_decode(error.smtp_error)}",
            retryable=_smtp_code_is_retryable(error.smtp_code),
            status=error.smtp_code,
        )
    except ssl.SSLCertVerificationError as error:
        # A certificate we do not trust stays untrusted until somebody changes the setup.
        return DeliveryResult.failure(
            f"SMTP server certificate not trusted: {error.verify_message} (SITREP_SMTP_CA_FILE)",
            retryable=False,
        )
    except (smtplib.SMTPException, OSError) as error:
        # Disconnects, refused connections, timeouts, TLS failures: the server may come back.
        return DeliveryResult.failure(
            f"SMTP connection failed: {type(error).__name__}: {error}", retryable=True
        )


def _decode(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
