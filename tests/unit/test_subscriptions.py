"""Subscriptions: validation at creation, their stored form and what listings show."""

from __future__ import annotations

import json

import pytest

from sitrep.config import Settings
from sitrep.schemas import problems
from sitrep.search import Filters
from sitrep.subscriptions import SubscriptionError, SubscriptionSpec, create, decode, encode

SETTINGS = Settings()


def test_a_stored_subscription_fits_its_schema_and_reads_back_equal() -> None:
    sub = create(SubscriptionSpec(name="Soleimani in Iraq", query="soleimani",
                                  filters=Filters(country=["Iraq"]),
                                  webhook={"url": "https://93.184.216.34/hook"},
                                  email=["desk@example.org"], mode="digest",
                                  digest_minutes=15), SETTINGS)
    assert problems("subscription", json.loads(encode(sub))) == []
    assert decode(encode(sub)) == sub
    assert sub.channels() == ["kafka", "webhook", "email"]
    assert sub.webhook is not None and len(sub.webhook.secret) >= 32
    assert sub.public()["webhook"]["secret"] == "***"


def test_a_query_mistake_is_refused_with_its_position() -> None:
    with pytest.raises(SubscriptionError) as error:
        create(SubscriptionSpec(name="x", query='soleimani "quds'), SETTINGS)
    assert (error.value.field, error.value.position) == ("query", 10)
    with pytest.raises(SubscriptionError) as error:
        create(SubscriptionSpec(name="x", query="x", filters=Filters(country=["Narnia"])),
               SETTINGS)
    assert error.value.field == "country"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://localhost/hook",
                                 "http://10.1.2.3/hook", "http://[::1]/hook",
                                 "ftp://example.org/hook", "http://169.254.169.254/latest"])
def test_webhooks_into_the_internal_network_are_refused_unless_allowed(url: str) -> None:
    spec = SubscriptionSpec(name="x", query="x", webhook={"url": url})
    with pytest.raises(SubscriptionError) as error:
        create(spec, SETTINGS)
    assert error.value.field == "webhook.url"
    if url.startswith("http:"):
        assert create(spec, Settings(allow_private_urls=True)).webhook is not None


def test_bad_addresses_and_modes_are_refused_by_the_model() -> None:
    with pytest.raises(ValueError, match="e-mail"):
        SubscriptionSpec(name="x", query="x", email=["nobody"])
    with pytest.raises(ValueError):
        SubscriptionSpec(name="x", query="x", mode="hourly")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SubscriptionSpec(name="x", query="x", webhook={"url": "https://a.example/",
                                                       "secret": "short"})
