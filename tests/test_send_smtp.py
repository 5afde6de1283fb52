"""`send` through the SMTP transport against aiosmtpd: a full send, retries, drops, rejections,
and a sender SIGKILLed at random points and resumed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.delivery import SendOptions, run_send
from newsletter.delivery.ledger import Ledger
from newsletter.mail.transports import open_transport
from newsletter.settings import DeliverySettings, Settings, SmtpSettings
from newsletter.subscribers.store import SubscriberStore
from tests.delivery_support import add_subscribers, editions, load_issue, parse
from tests.plugins.smtp_server import SmtpServer

pytestmark = pytest.mark.server
REPO = Path(__file__).resolve().parent.parent


def smtp_settings(settings: Settings, server: SmtpServer, **delivery: object) -> Settings:
    return settings.replace(
        smtp=SmtpSettings(host=server.host, port=server.port, security="none", timeout=5),
        delivery=DeliverySettings(transport="smtp", **delivery),  # type: ignore[arg-type]
    )


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


def test_a_full_send_reaches_every_subscriber_in_their_language(settings, smtp_server) -> None:
    s = smtp_settings(settings, smtp_server)
    summary = send(s, 40)
    assert (summary.sent, summary.complete, summary.counts["sent"]) == (40, True, 40)
    got = {r.rcpt_tos[0]: parse(r.data) for r in smtp_server.received}
    assert sorted(got) == [f"reader{n:06d}@example.org" for n in range(40)]
    for address, message in got.items():
        n = int(address[6:12])
        assert message["Content-Language"] == ("es" if n % 2 == 0 else "en")
        assert message["To"].addresses[0].addr_spec == address
        assert message["Message-ID"].startswith("<annaobserva.2011-07.")
    assert len({m["Message-ID"] for m in got.values()}) == 40
    again = send(s)
    assert (again.already_complete, again.sent, len(smtp_server.received)) == (True, 0, 40)


def test_451_then_250_is_deferred_then_sent(settings, smtp_server) -> None:
    smtp_server.answer("reader000003@example.org", "451 4.7.1 greylisted")
    summary = send(smtp_settings(settings, smtp_server), 6)
    assert (summary.sent, summary.deferred, summary.complete) == (6, 1, True)
    assert Counter(r.rcpt_tos[0] for r in smtp_server.received)["reader000003@example.org"] == 1


def test_a_451_that_never_ends_becomes_rejected_after_the_attempt_limit(settings, smtp_server
                                                                         ) -> None:
    smtp_server.answer("reader000001@example.org", *["451 4.3.0 busy"] * 5)
    summary = send(smtp_settings(settings, smtp_server, max_attempts=3), 3)
    assert (summary.counts["sent"], summary.counts["rejected"]) == (2, 1)
    assert summary.complete is True


def test_550_rejects_one_recipient_and_the_rest_are_sent(settings, smtp_server) -> None:
    smtp_server.answer("reader000002@example.org", "550 5.1.1 mailbox unavailable")
    summary = send(smtp_settings(settings, smtp_server), 5)
    assert (summary.counts["sent"], summary.counts["rejected"]) == (4, 1)
    assert "reader000002@example.org" not in {r.rcpt_tos[0] for r in smtp_server.received}
    store = SubscriberStore.open(settings)
    error = store.database.conn.execute(
        "SELECT error FROM deliveries WHERE state = 'rejected'").fetchone()
    store.close()
    assert error == ("RCPT TO: 550 5.1.1 mailbox unavailable",)


def test_a_connection_dropped_mid_campaign_is_reopened(settings, smtp_server) -> None:
    s = smtp_settings(settings, smtp_server, workers=1)
    send(s, 10, limit=4)
    smtp_server.drop_connections()
    summary = send(s)
    assert (summary.sent, summary.complete) == (6, True)
    assert len(smtp_server.received) == 10


def test_connection_lost_after_data_is_unknown_and_resent_with_the_same_message_id(
        settings, smtp_server) -> None:
    smtp_server.drop_after_data(1)
    s = smtp_settings(settings, smtp_server, workers=1)
    first = send(s, 3)
    assert (first.sent, first.unknown, first.complete) == (2, 1, False)
    held = send(s, hold_unknown=True)
    assert (held.sent, held.counts["unknown"]) == (0, 1)
    second = send(s)
    assert (second.resent_unknown, second.sent, second.complete) == (1, 1, True)
    ids = Counter(r.message_id for r in smtp_server.received)
    assert sorted(ids.values()) == [1, 1, 2]  # the resent one carries its original Message-ID


def test_an_error_burst_pauses_the_run(settings, smtp_server) -> None:
    for n in range(8):
        smtp_server.answer(f"reader{n:06d}@example.org", "550 5.7.1 policy")
    summary = send(smtp_settings(settings, smtp_server, error_burst=5, workers=1), 20)
    assert summary.stopped_by == "errors"
    ((text, n),) = summary.errors
    assert text == "RCPT TO: 550 5.7.1 policy"
    assert 5 <= n <= 5 + summary.max_in_flight  # the messages in flight are finished, no more
    assert summary.counts["queued"] == 20 - n


def test_the_cli_sends_and_reports(project, settings, smtp_server, capsys) -> None:
    store = SubscriberStore.open(settings)
    add_subscribers(store, 4)
    store.close()
    toml = project / "newsletter.toml"
    toml.write_text(toml.read_text().replace('transport = "outbox"', 'transport = "smtp"')
                    + f'\n[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
                    'security = "none"\n')
    assert main(["--config", str(toml), "send", "4", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "2011-07: this run sent 4 (deferred 0, rejected 0, unknown 0)" in out
    assert "Campaign: 4 of 4 sent, 0 rejected, 0 unknown, 0 no longer subscribed; complete." in out
    assert "Summary sent to the editors (an***@iin.oea.org)." in out
    assert main(["--config", str(toml), "send", "4"]) == 0
    assert capsys.readouterr().out.startswith("2011-07: already sent to its audience of 4;")
    # Four subscribers, and one summary to the editors (not again when nothing was sent).
    recipients = [r.rcpt_tos[0] for r in smtp_server.received]
    assert len(recipients) == 5 and recipients.count(settings.editors.email) == 1


def test_sigkill_at_random_points_then_resume(project, settings, tmp_path) -> None:
    """2,000 messages, the sender killed five times; everybody gets it, few twice, none thrice."""
    from tests.plugins.smtp_server import start_smtp_server

    server = start_smtp_server()
    try:
        store = SubscriberStore.open(settings)
        add_subscribers(store, 2000)
        store.close()
        toml = project / "newsletter.toml"
        toml.write_text(toml.read_text().replace('transport = "outbox"', 'transport = "smtp"')
                        + f'\n[smtp]\nhost = "127.0.0.1"\nport = {server.port}\n'
                        'security = "none"\n')
        command = [sys.executable, str(REPO / "publish.py"), "--config", str(toml), "send", "4",
                   "--no-progress"]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        rng = random.Random(5)
        kills = 0
        for _ in range(5):
            before = server.accepted
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            target = before + rng.randint(50, 300)
            deadline = time.monotonic() + 20
            while server.accepted < target and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
        final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert final.returncode == 0, final.stderr
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert "already sent to its audience of 2000" in again.stdout
    finally:
        server.controller.stop()
    editors = [r for r in server.received if r.rcpt_tos[0] == settings.editors.email]
    assert len(editors) == 1  # the run that completed the campaign told the editors, once
    received = [r for r in server.received if r not in editors]
    per_recipient = Counter(r.rcpt_tos[0] for r in received)
    assert len(per_recipient) == 2000
    in_flight = 2 * DeliverySettings().workers  # the window: rows committed as sending at once
    assert kills >= 3
    duplicates = sum(n - 1 for n in per_recipient.values())
    print(f"{kills} kills, {duplicates} duplicates (bound {kills * in_flight})")
    assert duplicates <= kills * in_flight
    # Every copy of a message carries the same, stable Message-ID.
    ids: dict[str, set[str]] = {}
    for r in received:
        ids.setdefault(r.rcpt_tos[0], set()).add(r.message_id)
    assert all(len(v) == 1 for v in ids.values())
    assert len({next(iter(v)) for v in ids.values()}) == 2000


def test_ctrl_c_stops_after_the_messages_in_flight_and_resumes(project, settings) -> None:
    from tests.plugins.smtp_server import start_smtp_server

    server = start_smtp_server()
    try:
        store = SubscriberStore.open(settings)
        add_subscribers(store, 400)
        store.close()
        toml = project / "newsletter.toml"
        toml.write_text(toml.read_text().replace('transport = "outbox"', 'transport = "smtp"')
                        + f'\n[smtp]\nhost = "127.0.0.1"\nport = {server.port}\n'
                        'security = "none"\n')
        command = [sys.executable, str(REPO / "publish.py"), "--config", str(toml), "send", "4",
                   "--no-progress", "--rate", "200"]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 20
        while server.accepted < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130
        assert err == ("Stopped: interrupted: the messages in flight were finished; run send "
                       "again to resume\n")
        store = SubscriberStore.open(settings)
        counts = dict(store.database.conn.execute(
            "SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
        store.close()
        assert counts.get("sending", 0) == 0 and counts.get("unknown", 0) == 0
        assert counts["sent"] == server.accepted < 400
        resumed = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert resumed.returncode == 0, resumed.stderr
    finally:
        server.controller.stop()
    per_recipient = Counter(r.rcpt_tos[0] for r in server.received
                            if r.rcpt_tos[0] != settings.editors.email)
    assert len(per_recipient) == 400 and set(per_recipient.values()) == {1}  # nobody twice


def test_the_progress_callback_sees_every_answer(settings, smtp_server) -> None:
    smtp_server.answer("reader000001@example.org", "550 5.1.1 unknown")
    seen = []
    store = SubscriberStore.open(settings)
    add_subscribers(store, 12)
    s = smtp_settings(settings, smtp_server)
    issue = load_issue(s, "2011-07")
    run_send(store, Ledger.beside(store), issue, editions(s, issue), lambda: open_transport(s),
             s.delivery, SendOptions(),
             progress=lambda p: seen.append((p.total, p.sent, p.rejected, p.done)))
    store.close()
    assert seen[-1] == (12, 11, 1, 12)
    assert all(a[3] <= b[3] for a, b in zip(seen, seen[1:], strict=False))


def test_addresses_in_relay_errors_are_masked(settings, smtp_server) -> None:
    smtp_server.answer("reader000001@example.org",
                       "550 5.1.1 <reader000001@example.org>: Recipient address rejected")
    summary = send(smtp_settings(settings, smtp_server), 2)
    assert summary.errors == (
        ("RCPT TO: 550 5.1.1 <re***@example.org>: Recipient address rejected", 1),)
    store = SubscriberStore.open(settings)
    errors = [e for (e,) in store.database.conn.execute("SELECT error FROM deliveries")]
    store.close()
    assert not any("reader000001" in e for e in errors)
