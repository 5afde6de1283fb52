"""The SES transport against moto's server mode (and a fault-injecting proxy in front of it)."""

from __future__ import annotations

import json
import urllib.request

import boto3
import pytest

from newsletter.mail.transports import OutcomeUnknown, Rejected, RetryLater, StopEverything
from newsletter.mail.transports.ses import SesConfig, SesTransport, sanitize_tag
from tests.ses_faults import faulty_proxy

pytestmark = pytest.mark.server
SENDER = "annaobserva@iin.oea.org"


def message(to: str, n: int = 1) -> bytes:
    return (f"From: {SENDER}\r\nTo: {to}\r\nSubject: n{n}\r\nMessage-ID: <m{n}@iin.oea.org>\r\n"
            f"\r\nbody\r\n").encode()


def verify_sender(endpoint: str) -> None:
    boto3.client("ses", endpoint_url=endpoint).verify_email_identity(EmailAddress=SENDER)


def sent_messages(endpoint: str) -> list[dict]:
    with urllib.request.urlopen(endpoint + "/moto-api/data.json") as answer:  # noqa: S310
        return json.load(answer)["ses"]["RawMessage"]


def transport(endpoint: str, timeout: float = 5.0) -> SesTransport:
    t = SesTransport(SesConfig(from_address=SENDER, endpoint_url=endpoint, timeout=timeout))
    t.open()
    return t


def test_an_unverified_sender_stops_the_run(moto: str) -> None:
    with pytest.raises(StopEverything, match="verify the identity in SES"):
        transport(moto).send("a@example.org", message("a@example.org"))
    assert sent_messages(moto) == []


def test_a_verified_sender_sends_each_recipient_exactly_once(moto: str) -> None:
    verify_sender(moto)
    t = transport(moto)
    ids = [t.send(f"r{n}@example.org", message(f"r{n}@example.org", n),
                  tags={"issue": "2026-11", "lang": "es", "subscriber": str(n)}) for n in range(3)]
    stored = sent_messages(moto)
    assert [m["id"] for m in stored] == ids
    # Exactly one destination each: moto would list it twice if Destination repeated the To:.
    assert [m["destinations"] for m in stored] == [[f"r{n}@example.org"] for n in range(3)]
    assert [m["source"] for m in stored] == [SENDER] * 3
    assert "Message-ID: <m2@iin.oea.org>" in stored[2]["raw_data"]


def test_throttling_is_retry_later(moto: str) -> None:
    verify_sender(moto)
    with faulty_proxy(moto) as proxy:
        proxy.throttle_every = 1
        t = transport(proxy.url)
        with pytest.raises(RetryLater, match="TooManyRequestsException"):
            t.send("a@example.org", message("a@example.org"))
        assert proxy.sends == 1  # botocore did not retry behind our back
    assert sent_messages(moto) == []


def test_a_read_timeout_after_acceptance_is_outcome_unknown(moto: str) -> None:
    verify_sender(moto)
    with faulty_proxy(moto) as proxy:
        proxy.stall_next, proxy.stall_seconds = 1, 2.0
        t = transport(proxy.url, timeout=0.5)
        with pytest.raises(OutcomeUnknown, match="ReadTimeoutError"):
            t.send("a@example.org", message("a@example.org"))
        assert proxy.sends == 1  # one attempt only: a retry would have mailed it twice
    assert [m["destinations"] for m in sent_messages(moto)] == [["a@example.org"]]


def test_the_quota_comes_from_get_send_quota(moto: str) -> None:
    quota = transport(moto).quota()
    assert (quota.max_rate, quota.max_24h, quota.remaining_today) == (1.0, 200.0, 200)


def test_tag_values_are_sanitized() -> None:
    assert sanitize_tag("2026-11 ñ/x") == "2026-11___x"


def test_from_settings_reads_the_ses_section(settings) -> None:
    from newsletter.settings import SesSettings

    s = settings.replace(ses=SesSettings(region="sa-east-1", endpoint_url="http://x",
                                         configuration_set="cs"))
    config = SesTransport.from_settings(s).config
    assert (config.region, config.endpoint_url, config.configuration_set, config.from_address) == (
        "sa-east-1", "http://x", "cs", settings.email.from_address)


def test_tags_and_the_configuration_set_go_with_each_message(moto: str) -> None:
    verify_sender(moto)
    boto3.client("sesv2", endpoint_url=moto).create_configuration_set(
        ConfigurationSetName="annaobserva")
    with faulty_proxy(moto) as proxy:
        t = SesTransport(SesConfig(from_address=SENDER, endpoint_url=proxy.url,
                                   configuration_set="annaobserva"))
        t.open()
        t.send("a@example.org", message("a@example.org"),
               tags={"issue": "2026-11", "lang": "pt", "subscriber": "42"})
        (body,) = proxy.bodies
    request = json.loads(body)
    assert request["ConfigurationSetName"] == "annaobserva"
    assert request["EmailTags"] == [{"Name": "issue", "Value": "2026-11"},
                                    {"Name": "lang", "Value": "pt"},
                                    {"Name": "subscriber", "Value": "42"}]
    assert "Destination" not in request  # the To: header names the recipient once


@pytest.mark.parametrize(("code", "status", "message", "expected"), [
    ("Throttling", 400, "Maximum sending rate exceeded.", RetryLater),
    ("TooManyRequestsException", 429, "", RetryLater),
    ("Throttling", 400, "Daily message quota exceeded.", StopEverything),
    ("MessageRejected", 400, "Email address is not verified: a@example.org", Rejected),
    ("SendingPausedException", 400, "", StopEverything),
    ("AccountSuspendedException", 400, "", StopEverything),
    ("InternalFailure", 500, "", OutcomeUnknown),
    ("ServiceUnavailable", 503, "", OutcomeUnknown),
])
def test_ses_errors_are_sorted_into_the_four_outcomes(code, status, message, expected) -> None:
    from botocore.exceptions import ClientError

    error = ClientError({"Error": {"Code": code, "Message": message},
                         "ResponseMetadata": {"HTTPStatusCode": status}}, "SendEmail")
    t = SesTransport(SesConfig(from_address=SENDER))
    assert type(t._classify(error)) is expected
