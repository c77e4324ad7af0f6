"""Alert delivery (sitrep.delivery) and the outbound URL guard (sitrep.urls).

Webhooks go to a real aiohttp server and e-mail to a real aiosmtpd server, both on
127.0.0.1 ports of their own, so what is tested is what goes over the wire. Async bodies run
with asyncio.run inside plain sync tests (no pytest plugin).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from pydantic import ValidationError

from sitrep.config import Settings
from sitrep.delivery import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    USER_AGENT,
    DeliveryResult,
    build_email,
    format_email,
    post_webhook,
    retry_delay,
    send_email,
    sign,
    verify,
    webhook_payload,
    webhook_session,
)
from sitrep.urls import UnsafeURLError, check_public_url, check_public_url_async

SECRET = "s3cret-for-tests"
SUBSCRIPTION = {"id": "sub-1", "name": "Soleimani in Iraq", "query": "soleimani country:IQ"}


def make_alert(number: int = 1) -> dict[str, Any]:
    return {
        "alert_id": f"{number:032x}",
        "subscription_id": "sub-1",
        "subscription_name": "Soleimani in Iraq",
        "query": "soleimani country:IQ",
        "matched_at": "2026-11-22T10:00:00+00:00",
        "story_id": f"story-{number}",
        "article": {
            "id": f"article-{number}",
            "title": f"Strike near Baghdad airport, part {number}",
            "url": f"https://news.example/articles/{number}",
            "source": "Newsweek",
            "published": "2020-01-03T01:00:00+00:00",
            "countries": ["IQ", "IR"],
            "regions": ["IQ.07"],
            "actor_names": ["Qasem Soleimani"],
            "snippet": "Qasem Soleimani was killed in a strike — قاسم سليماني",
        },
    }


def free_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- signing ------------------------------------------------------------------------------


def test_signature_round_trips_through_verify() -> None:
    body = b'{"kind":"alert"}'
    signature = sign(SECRET, "1700000000", body)
    assert signature.startswith("sha256=") and len(signature) == len("sha256=") + 64
    assert verify(SECRET, "1700000000", body, signature)


def test_verify_rejects_a_changed_body_timestamp_or_secret() -> None:
    body = b'{"kind":"alert"}'
    signature = sign(SECRET, "1700000000", body)
    assert not verify(SECRET, "1700000000", b'{"kind":"digest"}', signature)
    assert not verify(SECRET, "1700000001", body, signature)
    assert not verify("another-secret", "1700000000", body, signature)
    assert not verify(SECRET, "1700000000", body, "sha256=" + "0" * 64)


def test_verify_with_max_age_rejects_a_replayed_old_delivery() -> None:
    body = b"{}"
    signature = sign(SECRET, "1700000000", body)
    assert verify(SECRET, "1700000000", body, signature, max_age=300, now=1700000100)
    assert not verify(SECRET, "1700000000", body, signature, max_age=300, now=1700000301)


# --- URL guard ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/feed", "file:///etc/passwd", "javascript:alert(1)", "gopher://x.org/"],
)
def test_check_public_url_refuses_non_http_schemes_even_when_private_is_allowed(
    url: str,
) -> None:
    with pytest.raises(UnsafeURLError, match="only http and https"):
        check_public_url(url, allow_private=True)


@pytest.mark.parametrize("url", ["http:///path", "https://", "http://:80/"])
def test_check_public_url_refuses_urls_without_a_host(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="no host"):
        check_public_url(url, allow_private=True)


def test_check_public_url_refuses_overlong_urls() -> None:
    with pytest.raises(UnsafeURLError, match="over 2048"):
        check_public_url("http://93.184.216.34/" + "a" * 2048, allow_private=True)


PRIVATE_URLS = [
    "http://127.0.0.1/hook",
    "http://[::1]:8080/hook",
    "http://10.1.2.3/",
    "http://192.168.0.10/",
    "http://172.16.5.4/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://0.0.0.0/",
    "http://100.64.0.1/",
    "http://224.0.0.1/",
    "http://localhost:9200/",
    "http://127.1/",  # shorthand the resolver expands to 127.0.0.1
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_check_public_url_refuses_private_loopback_and_internal_hosts(url: str) -> None:
    with pytest.raises(UnsafeURLError, match="not a public address"):
        check_public_url(url, allow_private=False)


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_check_public_url_allows_internal_hosts_when_private_is_allowed(url: str) -> None:
    assert check_public_url(url, allow_private=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hook",
        "https://user:password@93.184.216.34:8443/hook?x=1",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/hook",
    ],
)
def test_check_public_url_allows_public_ip_literals_without_dns(url: str) -> None:
    assert check_public_url(url, allow_private=False) == url


def test_check_public_url_refuses_a_host_that_does_not_resolve() -> None:
    with pytest.raises(UnsafeURLError, match="does not resolve"):
        check_public_url("https://hooks.nowhere.invalid/x", allow_private=False)


def test_check_public_url_async_gives_the_same_answers() -> None:
    async def scenario() -> None:
        url = "http://93.184.216.34/"
        assert await check_public_url_async(url, allow_private=False) == url
        with pytest.raises(UnsafeURLError, match="loopback"):
            await check_public_url_async("http://localhost/", allow_private=False)

    asyncio.run(scenario())


# --- payloads -----------------------------------------------------------------------------


def test_webhook_payload_has_one_shape_for_alerts_and_digests() -> None:
    single = webhook_payload(SUBSCRIPTION, [make_alert(1)], digest=False)
    assert single["kind"] == "alert"
    assert single["alert_ids"] == [make_alert(1)["alert_id"]]
    assert single["subscription"] == SUBSCRIPTION
    digest = webhook_payload(SUBSCRIPTION, [make_alert(1), make_alert(2)], digest=True)
    assert digest["kind"] == "digest" and digest["count"] == 2
    assert [a["story_id"] for a in digest["alerts"]] == ["story-1", "story-2"]
    json.dumps(digest)  # JSON-able as it is
    with pytest.raises(ValueError):
        webhook_payload(SUBSCRIPTION, [make_alert(1), make_alert(2)], digest=False)
    with pytest.raises(ValueError):
        webhook_payload(SUBSCRIPTION, [], digest=True)


# --- webhooks against a real server -------------------------------------------------------


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class HookServer:
    base: str
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@contextlib.asynccontextmanager
async def hook_server() -> AsyncIterator[HookServer]:
    """A webhook receiver on 127.0.0.1: /ok, /fail/<status>, /redirect, /slow."""
    state = HookServer(base="")

    async def record(request: web.Request) -> None:
        state.received.append(Received(await request.read(), dict(request.headers)))

    async def ok(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(status=204)

    async def fail(request: web.Request) -> web.Response:
        await record(request)
        return web.Response(status=int(request.match_info["status"]), text="nope\nreally")

    async def redirect(request: web.Request) -> web.Response:
        await record(request)
        raise web.HTTPFound("/ok")

    async def slow(request: web.Request) -> web.Response:
        await record(request)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.release.wait(), timeout=5)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/ok", ok)
    app.router.add_post("/fail/{status}", fail)
    app.router.add_post("/redirect", redirect)
    app.router.add_post("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    state.base = f"http://{host}:{port}"
    try:
        yield state
    finally:
        state.release.set()
        await runner.cleanup()


def run_with_server(
    scenario: Callable[[HookServer, aiohttp.ClientSession], Awaitable[None]],
) -> None:
    async def main() -> None:
        async with hook_server() as server, aiohttp.ClientSession() as session:
            await scenario(server, session)

    asyncio.run(main())


async def deliver(
    session: aiohttp.ClientSession,
    url: str,
    *,
    timeout: float = 5.0,
    allow_private: bool = True,
    payload: dict[str, Any] | None = None,
) -> DeliveryResult:
    return await post_webhook(
        session,
        url,
        SECRET,
        payload or webhook_payload(SUBSCRIPTION, [make_alert()], digest=False),
        delivery_id="delivery-42",
        timeout=timeout,
        allow_private=allow_private,
    )


def test_post_webhook_sends_signed_json_the_receiver_can_verify() -> None:
    async def scenario(server: HookServer, session: aiohttp.ClientSession) -> None:
        payload = webhook_payload(SUBSCRIPTION, [make_alert(1), make_alert(2)], digest=True)
        before = int(time.time())
        result = await deliver(session, f"{server.base}/ok", payload=payload)
        assert result == DeliveryResult(ok=True, retryable=False, status=204, error=None)
        [got] = server.received
        assert json.loads(got.body) == payload
        assert got.headers["Content-Type"] == "application/json"
        assert got.headers["User-Agent"] == USER_AGENT
        assert got.headers[DELIVERY_HEADER] == "delivery-42"
        timestamp = got.headers[TIMESTAMP_HEADER]
        assert before <= int(timestamp) <= int(time.time())
        assert verify(SECRET, timestamp, got.body, got.headers[SIGNATURE_HEADER], max_age=60)
        assert not verify("wrong", timestamp, got.body, got.headers[SIGNATURE_HEADER])

    run_with_server(scenario)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (408, True), (425, True), (429, True),
     (404, False), (400, False), (410, False)],
)
def test_post_webhook_retries_server_errors_and_throttling_but_not_client_errors(
    status: int, retryable: bool
) -> None:
    async def scenario(server: HookServer, session: aiohttp.ClientSession) -> None:
        result = await deliver(session, f"{server.base}/fail/{status}")
        assert not result.ok
        assert result.retryable is retryable
        assert result.status == status
        assert result.error is not None and f"HTTP {status}: nope really" in result.error

    run_with_server(scenario)


def test_post_webhook_does_not_follow_a_redirect() -> None:
    async def scenario(server: HookServer, session: aiohttp.ClientSession) -> None:
        result = await deliver(session, f"{server.base}/redirect")
        assert not result.ok and not result.retryable
        assert result.status == 302
        assert result.error is not None and "/ok" in result.error
        assert len(server.received) == 1  # /ok was never requested

    run_with_server(scenario)


def test_post_webhook_times_out_retryably_on_a_slow_receiver() -> None:
    async def scenario(server: HookServer, session: aiohttp.ClientSession) -> None:
        started = time.monotonic()
        result = await deliver(session, f"{server.base}/slow", timeout=0.3)
        assert time.monotonic() - started < 3
        assert not result.ok and result.retryable and result.status is None
        assert result.error is not None and "timeout" in result.error
        server.release.set()

    run_with_server(scenario)


def test_post_webhook_treats_a_refused_connection_as_retryable() -> None:
    async def scenario(server: HookServer, session: aiohttp.ClientSession) -> None:
        result = await deliver(session, f"http://127.0.0.1:{free_port()}/ok")
        assert not result.ok and result.retryable and result.status is None
        assert result.error is not None and "connection failed" in result.error

    run_with_server(scenario)


def test_post_webhook_refuses_a_loopback_url_without_sending_anything() -> None:
    async def scenario(server: HookServer, session: aiohttp.ClientSession) -> None:
        result = await deliver(session, f"{server.base}/ok", allow_private=False)
        assert not result.ok and not result.retryable and result.status is None
        assert result.error is not None and "private" in result.error
        assert server.received == []

    run_with_server(scenario)


def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused_for_good() -> None:
    """The URL check passes (as for a name that answered a public address first); the guarded
    session's resolver then sees loopback: a permanent refusal, and nothing is sent."""

    async def main() -> None:
        async with hook_server() as server, webhook_session(allow_private=False) as session:
            url = server.base.replace("127.0.0.1", "localhost") + "/ok"
            result = await deliver(session, url, allow_private=True)
            assert not result.ok and not result.retryable
            assert result.error is not None and "unsafe webhook URL" in result.error
            assert "non-public address (loopback)" in result.error
            assert server.received == []

    asyncio.run(main())


def test_post_webhook_treats_an_unresolvable_host_as_retryable_dns_trouble() -> None:
    async def scenario(server: HookServer, session: aiohttp.ClientSession) -> None:
        result = await deliver(session, "https://hooks.nowhere.invalid/x", allow_private=False)
        assert not result.ok and result.retryable
        assert result.error is not None and "does not resolve" in result.error

    run_with_server(scenario)


# --- backoff ------------------------------------------------------------------------------


def test_retry_delay_doubles_from_base_and_stops_at_the_cap() -> None:
    def middle() -> float:
        return 0.5  # no jitter either way

    delays = [retry_delay(attempt, 2.0, 30.0, rng=middle) for attempt in range(1, 8)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert retry_delay(10_000, 2.0, 30.0, rng=middle) == 30.0


def test_retry_delay_jitter_stays_within_its_bounds() -> None:
    assert retry_delay(3, 2.0, 30.0, jitter=0.2, rng=lambda: 0.0) == pytest.approx(8.0 * 0.8)
    assert retry_delay(3, 2.0, 30.0, jitter=0.2, rng=lambda: 0.999999) == pytest.approx(
        8.0 * 1.2, rel=1e-5
    )
    for attempt in range(1, 12):
        delay = retry_delay(attempt, 2.0, 30.0, jitter=0.2)
        nominal = min(30.0, 2.0 * 2 ** (attempt - 1))
        assert nominal * 0.8 <= delay <= nominal * 1.2
    with pytest.raises(ValueError):
        retry_delay(0, 2.0, 30.0)


# --- e-mail text --------------------------------------------------------------------------


def test_format_email_digest_lists_every_article() -> None:
    alerts = [make_alert(n) for n in range(1, 6)]
    subject, body = format_email("Soleimani in Iraq", "soleimani country:IQ", alerts, True)
    assert subject == "sitrep digest: 5 new articles for Soleimani in Iraq"
    for alert in alerts:
        article = alert["article"]
        for value in (article["title"], article["url"], article["source"], article["published"]):
            assert value in body
    assert "قاسم سليماني" in body
    assert "soleimani country:IQ" in body


def test_format_email_single_alert_subject_names_the_article_on_one_line() -> None:
    alert = make_alert()
    alert["article"]["title"] = "Strike\nnear Baghdad"
    subject, body = format_email("Soleimani in Iraq", "soleimani", [alert], False)
    assert subject == "sitrep alert for Soleimani in Iraq: Strike near Baghdad"
    assert alert["article"]["url"] in body


# --- e-mail against a real SMTP server ----------------------------------------------------


class CollectingHandler:
    """aiosmtpd handler keeping every message; refuses recipients at refused.example."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(
        self, server: SMTPServer, session: Session, envelope: Envelope, address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(
        self, server: SMTPServer, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"


@contextlib.contextmanager
def smtp_server(**controller: Any) -> Iterator[tuple[CollectingHandler, int]]:
    handler = CollectingHandler()
    port = free_port()
    server = Controller(handler, hostname="127.0.0.1", port=port, **controller)
    server.start()
    try:
        yield handler, port
    finally:
        server.stop()


def smtp_settings(port: int, host: str | None = "127.0.0.1", **overrides: Any) -> Settings:
    return Settings(smtp_host=host, smtp_port=port, smtp_from="alerts@sitrep.example",
                    webhook_timeout=5.0, **overrides)


@pytest.fixture
def tls(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for 127.0.0.1 from a throwaway CA, and that CA."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return server_context, ca_file


def accept_alice(server: SMTPServer, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"alice" \
        and auth_data.password == b"wonderland"
    return AuthResult(success=ok, handled=False)  # False: the server answers 535 itself


def test_send_email_over_implicit_tls_verifies_the_server_with_the_configured_ca(
    tls: tuple[ssl.SSLContext, Path],
) -> None:
    server_context, ca_file = tls
    with smtp_server(ssl_context=server_context) as (handler, port):
        settings = smtp_settings(port, smtp_tls=True, smtp_ca_file=ca_file)
        message = build_email(settings, ["analyst@desk.example"], "s", "over TLS")
        result = asyncio.run(send_email(settings, message))
        assert result.ok, result.error
        assert [recipients for recipients, _ in handler.messages] == [["analyst@desk.example"]]


def test_an_untrusted_smtp_certificate_is_a_permanent_failure_that_sends_nothing(
    tls: tuple[ssl.SSLContext, Path],
) -> None:
    server_context, _ = tls
    with smtp_server(ssl_context=server_context) as (handler, port):
        settings = smtp_settings(port, smtp_tls=True)  # the system CAs do not know ours
        result = asyncio.run(send_email(settings, build_email(settings, ["a@b.example"], "s", "b")))
        assert handler.messages == []
    assert not result.ok and not result.retryable
    assert result.error is not None and "certificate not trusted" in result.error


def test_send_email_with_starttls_and_a_login_the_server_requires(
    tls: tuple[ssl.SSLContext, Path],
) -> None:
    server_context, ca_file = tls
    with smtp_server(tls_context=server_context, require_starttls=True,
                     authenticator=accept_alice, auth_require_tls=True) as (handler, port):
        base = {"smtp_ca_file": ca_file, "smtp_username": "alice"}
        plain = smtp_settings(port, smtp_password="wonderland", **base)
        refused = asyncio.run(send_email(plain, build_email(plain, ["a@b.example"], "s", "b")))
        wrong = smtp_settings(port, smtp_starttls=True, smtp_password="x", **base)
        denied = asyncio.run(send_email(wrong, build_email(wrong, ["a@b.example"], "s", "b")))
        assert handler.messages == []
        good = smtp_settings(port, smtp_starttls=True, smtp_password="wonderland", **base)
        sent = asyncio.run(send_email(good, build_email(good, ["a@b.example"], "s", "b")))
        assert sent.ok, sent.error
        assert len(handler.messages) == 1
    # Without STARTTLS the server refuses to go on; a wrong password is refused too. Neither
    # is fixed by trying again.
    assert not refused.ok and not refused.retryable
    assert not denied.ok and not denied.retryable and denied.status == 535


def test_implicit_tls_and_starttls_cannot_both_be_configured() -> None:
    with pytest.raises(ValidationError, match="not both"):
        Settings(smtp_host="mail.example", smtp_tls=True, smtp_starttls=True)


def test_send_email_delivers_subject_body_and_recipients() -> None:
    subject, body = format_email("Soleimani in Iraq", "soleimani", [make_alert()], False)
    with smtp_server() as (handler, port):
        settings = smtp_settings(port)
        to = ["analyst@desk.example", "lead@desk.example"]
        result = asyncio.run(send_email(settings, build_email(settings, to, subject, body)))
        assert result.ok and result.error is None
        [(recipients, message)] = handler.messages
    assert recipients == to
    # A long subject is folded onto a continuation line; unfolding keeps the fold's space.
    assert str(message["Subject"]).strip() == subject
    assert message["From"] == "alerts@sitrep.example"
    assert message["Message-ID"].endswith("@sitrep.example>")
    assert message["Date"]
    assert message.get_content().replace("\r\n", "\n") == body  # CRLF on the wire


def test_send_email_without_an_smtp_host_fails_for_good() -> None:
    settings = smtp_settings(25, host=None)
    message = build_email(settings, ["a@b.example"], "s", "b")
    result = asyncio.run(send_email(settings, message))
    assert not result.ok and not result.retryable
    assert result.error == "no SMTP server configured (SITREP_SMTP_HOST)"


def test_send_email_refused_recipient_is_not_retried() -> None:
    with smtp_server() as (handler, port):
        settings = smtp_settings(port)
        message = build_email(settings, ["ghost@refused.example"], "s", "b")
        result = asyncio.run(send_email(settings, message))
        assert handler.messages == []
    assert not result.ok and not result.retryable
    assert result.status == 550
    assert result.error is not None and "ghost@refused.example" in result.error


def test_send_email_to_a_closed_port_is_retryable() -> None:
    settings = smtp_settings(free_port())
    result = asyncio.run(send_email(settings, build_email(settings, ["a@b.example"], "s", "b")))
    assert not result.ok and result.retryable
    assert result.error is not None and "connection failed" in result.error


def test_the_delivery_session_refuses_names_that_resolve_to_private_addresses() -> None:
    """DNS rebinding: the address the connection uses is checked, not only the first answer."""

    async def attempt(allow_private: bool) -> str:
        async def ok(request: web.Request) -> web.Response:
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/hook", ok)
        async with TestServer(app, host="127.0.0.1") as server, \
                webhook_session(allow_private=allow_private) as session:
            try:
                async with session.post(f"http://localhost:{server.port}/hook") as response:
                    return str(response.status)
            except aiohttp.ClientError as error:
                return str(error)

    assert "non-public address (loopback)" in asyncio.run(attempt(False))
    assert asyncio.run(attempt(True)) == "200"
