"""The SMTP transport against a real aiosmtpd server: replies sorted into the four outcomes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from newsletter.mail.transports import OutcomeUnknown, Rejected, RetryLater, StopEverything
from newsletter.mail.transports.smtp import SmtpConfig, SmtpTransport
from tests.plugins.servers import free_port
from tests.plugins.smtp_server import SmtpServer

pytestmark = pytest.mark.server


def message(n: int, to: str) -> bytes:
    return (
        f"From: a@example.org\r\nTo: {to}\r\nSubject: n{n}\r\nMessage-ID: <m{n}@example.org>\r\n"
        f"\r\nbody {n}\r\n"
    ).encode()


@pytest.fixture
def transport(smtp_server: SmtpServer) -> Iterator[SmtpTransport]:
    t = SmtpTransport(SmtpConfig(host=smtp_server.host, port=smtp_server.port, security="none",
                                 timeout=5, envelope_from="bounces@example.org"))
    t.open()
    yield t
    t.close()


def test_sends_many_messages_on_one_connection(
    smtp_server: SmtpServer, transport: SmtpTransport
) -> None:
    ids = [transport.send(f"r{n}@example.org", message(n, f"r{n}@example.org")) for n in range(5)]
    assert [r.rcpt_tos for r in smtp_server.received] == [(f"r{n}@example.org",) for n in range(5)]
    assert [r.mail_from for r in smtp_server.received] == ["bounces@example.org"] * 5
    assert [r.message_id for r in smtp_server.received] == [f"<m{n}@example.org>" for n in range(5)]
    assert ids[0] == "250 2.0.0 Ok: queued as TEST00000001"
    assert len(set(ids)) == 5
    assert len(smtp_server.handler.sessions) == 1  # one connection reused


def test_4xx_is_retry_later_and_the_next_attempt_goes_through(
    smtp_server: SmtpServer, transport: SmtpTransport
) -> None:
    smtp_server.answer("busy@example.org", "451 4.7.1 greylisted, try later")
    with pytest.raises(RetryLater, match="451 4.7.1 greylisted"):
        transport.send("busy@example.org", message(1, "busy@example.org"))
    assert transport.send("busy@example.org", message(1, "busy@example.org")).startswith("250")
    assert [r.rcpt_tos for r in smtp_server.received] == [("busy@example.org",)]


def test_5xx_rejects_only_that_recipient(
    smtp_server: SmtpServer, transport: SmtpTransport
) -> None:
    smtp_server.answer("gone@example.org", "550 5.1.1 no such user")
    with pytest.raises(Rejected, match="550 5.1.1 no such user"):
        transport.send("gone@example.org", message(1, "gone@example.org"))
    transport.send("ok@example.org", message(2, "ok@example.org"))
    assert [r.rcpt_tos for r in smtp_server.received] == [("ok@example.org",)]


def test_a_dropped_idle_connection_is_reopened(
    smtp_server: SmtpServer, transport: SmtpTransport
) -> None:
    transport.send("a@example.org", message(1, "a@example.org"))
    smtp_server.drop_connections()
    transport.send("b@example.org", message(2, "b@example.org"))
    assert [r.rcpt_tos for r in smtp_server.received] == [("a@example.org",), ("b@example.org",)]


def test_connection_lost_after_data_is_outcome_unknown(
    smtp_server: SmtpServer, transport: SmtpTransport
) -> None:
    smtp_server.drop_after_data()
    with pytest.raises(OutcomeUnknown, match="connection lost after DATA"):
        transport.send("a@example.org", message(1, "a@example.org"))
    # The relay did queue it: that is why the outcome is unknown, not a failure.
    assert [r.rcpt_tos for r in smtp_server.received] == [("a@example.org",)]
    transport.send("b@example.org", message(2, "b@example.org"))
    assert len(smtp_server.received) == 2


def test_nobody_listening_stops_the_run() -> None:
    transport = SmtpTransport(SmtpConfig(host="127.0.0.1", port=free_port(), security="none",
                                         timeout=2, envelope_from="a@example.org"))
    with pytest.raises(StopEverything, match=r"cannot connect to SMTP 127\.0\.0\.1:\d+"):
        transport.open()


def test_from_settings_requires_the_password_when_a_username_is_set(settings, monkeypatch) -> None:
    from newsletter.settings import SmtpSettings

    monkeypatch.delenv("ANNAOBSERVA_SMTP_PASSWORD", raising=False)
    s = settings.replace(smtp=SmtpSettings(host="mail.example.org", username="relay"))
    with pytest.raises(StopEverything, match="ANNAOBSERVA_SMTP_PASSWORD is empty"):
        SmtpTransport.from_settings(s)
    monkeypatch.setenv("ANNAOBSERVA_SMTP_PASSWORD", "pw")
    transport = SmtpTransport.from_settings(s)
    assert (transport.config.host, transport.config.password) == ("mail.example.org", "pw")
    assert transport.config.envelope_from == settings.email.from_address


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_implicit_tls(tls_smtp_servers, security) -> None:
    ca_file, starttls, implicit = tls_smtp_servers
    server = starttls if security == "starttls" else implicit
    config = SmtpConfig(host="127.0.0.1", port=server.port, security=security, timeout=5,
                        envelope_from="bounces@example.org", ca_file=str(ca_file))
    t = SmtpTransport(config)
    t.open()
    t.send("a@example.org", message(1, "a@example.org"))
    t.close()
    assert [r.rcpt_tos for r in server.received] == [("a@example.org",)]
    untrusted = SmtpTransport(SmtpConfig(host="127.0.0.1", port=server.port, security=security,
                                         timeout=5, envelope_from="bounces@example.org"))
    with pytest.raises(StopEverything, match="TLS with SMTP 127.0.0.1:.* failed"):
        untrusted.open()
