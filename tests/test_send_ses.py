"""`send` through SES in moto's server mode: messages read back, throttling, timeouts, quota."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from email.utils import parseaddr

import boto3
import pytest

from newsletter.delivery import SendOptions, run_send
from newsletter.delivery.ledger import Ledger
from newsletter.mail.transports import open_transport
from newsletter.settings import DeliverySettings, SesSettings, Settings
from newsletter.subscribers.store import SubscriberStore
from tests.delivery_support import add_subscribers, editions, load_issue, parse
from tests.ses_faults import faulty_proxy

pytestmark = pytest.mark.server


def ses_settings(settings: Settings, endpoint: str, account_quota: bool = False,
                 **delivery: object) -> Settings:
    return settings.replace(
        ses=SesSettings(endpoint_url=endpoint, account_quota=account_quota, timeout=1.0),
        delivery=DeliverySettings(transport="ses", **delivery),  # type: ignore[arg-type]
    )


def verify(endpoint: str, settings: Settings) -> None:
    boto3.client("ses", endpoint_url=endpoint).verify_email_identity(
        EmailAddress=settings.email.from_address)


def moto_messages(endpoint: str) -> list[dict]:
    """The raw messages moto stored, destinations reduced to bare addresses."""
    with urllib.request.urlopen(endpoint + "/moto-api/data.json") as answer:  # noqa: S310
        stored = json.load(answer)["ses"]["RawMessage"]
    for m in stored:  # moto keeps the To: header's display name when Destination is omitted
        m["destinations"] = [parseaddr(d)[1] for d in m["destinations"]]
    return stored


def send(settings: Settings, count: int = 0, **options: object):
    store = SubscriberStore.open(settings)
    try:
        if count:
            add_subscribers(store, count)
        issue = load_issue(settings, "2011-07")
        return run_send(store, Ledger.beside(store), issue, editions(settings, issue),
                        lambda: open_transport(settings), settings.delivery,
                        SendOptions(retry_base_seconds=0.05, **options))  # type: ignore[arg-type]
    finally:
        store.close()


def test_a_full_send_through_ses(settings, moto) -> None:
    verify(moto, settings)
    s = ses_settings(settings, moto)
    summary = send(s, 30)
    assert (summary.sent, summary.complete) == (30, True)
    stored = moto_messages(moto)
    assert sorted(d for m in stored for d in m["destinations"]) == sorted(
        f"reader{n:06d}@example.org" for n in range(30))  # exactly one per recipient
    store = SubscriberStore.open(s)
    ledger_ids = dict(store.database.conn.execute(
        "SELECT s.email, d.provider_id FROM deliveries d "
        "JOIN subscribers s ON s.id = d.subscriber_id"
    ).fetchall())
    store.close()
    for m in stored:
        message = parse(m["raw_data"].encode())
        address = m["destinations"][0]
        n = int(address[6:12])
        assert message["Content-Language"] == ("es" if n % 2 == 0 else "en")
        assert message["From"].addresses[0].addr_spec == settings.email.from_address
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert ledger_ids[address] == m["id"]  # the SES message id is in the ledger


def test_an_unverified_sender_stops_the_run_and_sends_nothing(settings, moto) -> None:
    summary = send(ses_settings(settings, moto), 5)
    assert summary.stopped_by == "transport"
    assert "verify the identity in SES" in summary.stop_reason
    assert summary.counts["queued"] == 5 and moto_messages(moto) == []


def test_throttled_calls_are_retried_and_every_message_goes_once(settings, moto) -> None:
    verify(moto, settings)
    with faulty_proxy(moto) as proxy:
        proxy.throttle_every = 4
        summary = send(ses_settings(settings, proxy.url), 20)
        assert proxy.throttled >= 5
    assert (summary.counts["sent"], summary.complete) == (20, True)
    assert summary.deferred == proxy.throttled
    per = Counter(d for m in moto_messages(moto) for d in m["destinations"])
    assert len(per) == 20 and set(per.values()) == {1}


def test_a_read_timeout_after_acceptance_lands_in_unknown(settings, moto) -> None:
    verify(moto, settings)
    with faulty_proxy(moto) as proxy:
        proxy.stall_next, proxy.stall_seconds = 1, 2.5
        summary = send(ses_settings(settings, proxy.url, workers=1), 3)
    assert (summary.sent, summary.unknown) == (2, 1)
    assert len(moto_messages(moto)) == 3  # SES did accept the one we never heard back about
    store = SubscriberStore.open(settings)
    assert Ledger.beside(store).counts("2011-07")["unknown"] == 1
    store.close()


def test_the_daily_quota_stops_the_run_cleanly(settings, moto) -> None:
    verify(moto, settings)
    send(ses_settings(settings, moto), 195)  # moto's quota: 200 a day, 1 a second
    store = SubscriberStore.open(settings)
    add_subscribers(store, 10, start=195)
    store.close()
    issue = "2011-05"
    s = ses_settings(settings, moto, account_quota=True)
    store = SubscriberStore.open(s)
    try:
        i = load_issue(s, issue)
        summary = run_send(store, Ledger.beside(store), i, editions(s, i),
                           lambda: open_transport(s), s.delivery, SendOptions(rate=1000))
    finally:
        store.close()
    assert summary.sent == 5 and summary.stopped_by == "quota"
    assert "daily quota" in summary.stop_reason and summary.counts["queued"] == 200


def test_the_rate_comes_from_the_quota_with_a_margin(settings, moto) -> None:
    from newsletter.delivery import SendConfig
    from newsletter.delivery.preflight import transport_rate as _transport_rate

    s = ses_settings(settings, moto, account_quota=True)
    transport = open_transport(s)
    assert _transport_rate(SendConfig.resolve(s.delivery, SendOptions()), transport) == (0.9, 200)
    assert _transport_rate(SendConfig.resolve(s.delivery, SendOptions(rate=0.5)),
                           transport) == (0.5, 200)
    # Without the account's quota (a local emulator), the configured rate and no daily bound.
    local = open_transport(ses_settings(settings, moto, account_quota=False))
    assert _transport_rate(SendConfig.resolve(s.delivery, SendOptions(rate=0.5)),
                           local) == (0.5, None)
