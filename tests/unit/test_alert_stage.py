"""The pure alert stage: ids, messages, the matcher over subscriptions, overall states."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sitrep.alerts import Matcher, alert_id, alerts_for, history_document, make_alert, overall
from sitrep.index import to_document
from sitrep.schemas import problems
from sitrep.search import Filters
from sitrep.subscriptions import Subscription

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def document(n: int, title: str, text: str, story: str | None = None,
             duplicate_of: str | None = None, **extra: Any) -> dict[str, Any]:
    article = {"id": f"{n:032x}", "url": f"https://news.example.org/{n}",
               "canonical_url": f"https://news.example.org/{n}", "title": title, "text": text,
               "published": "2017-05-30T10:00:00+00:00", "feed": {"name": "Wire"},
               "language": "en", **extra}
    return to_document(article, story_id=story or f"story-{n}", duplicate_of=duplicate_of,
                       now=NOW)


def subscription(name: str, query: str, **filters: list[str]) -> Subscription:
    return Subscription(id=name.lower().replace(" ", "-"), name=name, query=query,
                        filters=Filters(**filters))


def test_an_alert_is_one_per_subscription_and_story() -> None:
    assert alert_id("s1", "story") == alert_id("s1", "story")
    assert len({alert_id("s1", "a"), alert_id("s2", "a"), alert_id("s1", "b")}) == 3


def test_the_alert_message_fits_its_schema_and_names_the_article() -> None:
    doc = document(1, "Soleimani in Iraq", "Qasem Soleimani visited Baghdad.",
                   countries=["IQ"], admin1=["IQ.07"])
    alert = make_alert(subscription("Soleimani", "soleimani"), doc, NOW)
    assert problems("alert", alert) == []
    assert alert["article"]["title"] == "Soleimani in Iraq"
    assert alert["channels"] == ["kafka"] and alert["story_id"] == "story-1"
    assert history_document(alert, "matched")["delivery_status"] == "matched"


def test_the_matcher_follows_added_replaced_and_removed_subscriptions() -> None:
    matcher = Matcher()
    iraq = document(1, "Soleimani seen in Iraq", "Soleimani met commanders.", countries=["IQ"])
    syria = document(2, "Soleimani seen in Syria", "Soleimani met commanders.",
                     countries=["SY"])
    sub = subscription("Soleimani in Iraq", "soleimani", country=["Iraq"])
    matcher.update(sub.id, sub)
    assert [s.id for s in matcher.match(iraq)] == [sub.id]
    assert matcher.match(syria) == []
    replaced = subscription("Soleimani in Iraq", "soleimani", country=["SY"])
    matcher.update(sub.id, replaced)
    assert matcher.match(iraq) == [] and [s.id for s in matcher.match(syria)] == [sub.id]
    matcher.update(sub.id, None)
    assert matcher.match(syria) == []


def test_one_batch_with_two_reports_of_a_story_fires_once_and_copies_never() -> None:
    matcher = Matcher()
    sub = subscription("Drones", "drone")
    matcher.update(sub.id, sub)
    batch = [
        document(1, "Drone strike near Sinjar", "A drone hit a convoy.", story="s"),
        document(2, "Drone strike near Sinjar (update)", "A drone hit a convoy.", story="s"),
        document(3, "Drone strike near Sinjar", "A drone hit a convoy.", story="t",
                 duplicate_of=f"{9:032x}"),
        document(4, "Wind farm approved", "No drones here? Well, one drone.", story="u"),
    ]
    fired = alerts_for(matcher, batch, NOW)
    assert sorted(a["story_id"] for a in fired) == ["s", "u"]
    assert fired[0]["article"]["id"] == batch[0]["id"]


def test_the_overall_state_is_delivered_only_when_every_channel_is() -> None:
    delivered = {"status": "delivered"}
    retrying = {"status": "retrying", "next_attempt_at": "2026-11-22T10:00:05+00:00",
                "last_error": "timeout"}
    dead = {"status": "dead", "last_error": "HTTP 410"}
    channels = ["kafka", "webhook", "email"]
    assert overall({"webhook": delivered, "email": delivered},
                   channels)["delivery_status"] == "delivered"
    state = overall({"webhook": delivered, "email": retrying}, channels)
    assert state["delivery_status"] == "retrying"
    assert state["next_attempt_at"] == retrying["next_attempt_at"]
    state = overall({"webhook": dead, "email": delivered}, channels)
    assert state["delivery_status"] == "failed" and "410" in state["last_error"]
    assert overall({}, ["kafka"])["delivery_status"] == "delivered"


def test_the_default_retry_schedule_outlasts_a_long_webhook_outage() -> None:
    """With the shipped settings, even the shortest jittered schedule keeps retrying for
    minutes, and once an endpoint is back the next try is at most 30 s (+20 %) away."""
    from sitrep.config import Settings
    from sitrep.delivery import retry_delay

    s = Settings()
    delays = [retry_delay(n, s.delivery_backoff, s.delivery_backoff_max, rng=lambda: 0.0)
              for n in range(1, s.delivery_max_attempts)]
    assert sum(delays) > 3 * 60
    assert max(retry_delay(n, s.delivery_backoff, s.delivery_backoff_max, rng=lambda: 1.0)
               for n in range(1, 50)) <= 36
