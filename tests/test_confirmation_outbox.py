"""Confirmation emails: one per address per cooldown, kept in the database until sent (a killed
`serve` loses none), and a form that does the same work for a new address as for a known one."""

from __future__ import annotations

import datetime as dt
import io
import re
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from newsletter.cli import main
from newsletter.settings import Settings, load_settings
from newsletter.subscribers import SubscriberStore
from newsletter.webapp import SubscriptionApp
from newsletter.webapp.security import CSRF_COOKIE, CSRF_FIELD, CsrfGuard
from tests.plugins.servers import free_port
from tests.plugins.smtp_server import SmtpServer
from tests.plugins.webapp import FormSession, ServeProcess, SubscriptionServer

FORM = {"name": "Ana Pérez", "organisation": "INAU", "state": "UY", "lang": "es"}


# -- one email per address per cooldown (issue 10, item 10) ------------------------------------


@pytest.mark.server
def test_twenty_posts_for_a_pending_address_give_one_email_and_the_same_answer(
    serve_app: Callable[..., SubscriptionServer]
) -> None:
    server = serve_app(rate_limit=100)
    session = FormSession(server)
    answers = set()
    for _ in range(20):
        reply = session.post(**FORM, email="ana@inau.gub.uy")
        answers.add((reply.status, reply.text))
    assert len(answers) == 1 and next(iter(answers))[0] == 200
    assert [m["To"].addresses[0].addr_spec for m in server.outbox()] == ["ana@inau.gub.uy"]
    # The link of an expired confirmation asks for another: the same cooldown holds.
    with server.store() as store:
        subscriber = store.get_by_email("ana@inau.gub.uy")
        assert subscriber is not None and subscriber.status == "pending"
        token = server.settings.signer().sign("confirm", subscriber.id)
    for _ in range(3):
        assert server.request("POST", f"confirm/{token}/resend").status == 200
    assert len(server.outbox()) == 1


def test_the_cooldown_is_per_address_and_ends(settings: Settings) -> None:
    now = [dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)]
    with SubscriberStore.open(settings, clock=lambda: now[0]) as store:
        ana = store.add(store.validate("ana@inau.gub.uy", "UY", "es"), status="pending",
                        source="admin")
        luis = store.add(store.validate("luis@senaf.gob.ar", "AR", "es"), status="pending",
                         source="admin")
        cooldown = 15 * 60
        assert store.outbox.queue(ana.id, cooldown)
        assert store.outbox.queue(luis.id, cooldown)  # another address: its own cooldown
        now[0] += dt.timedelta(minutes=14, seconds=59)
        assert not store.outbox.queue(ana.id, cooldown)
        now[0] += dt.timedelta(seconds=2)
        assert store.outbox.queue(ana.id, cooldown)
        assert [state for state, *_ in store.outbox.emails_of(ana.id)] == ["queued", "queued"]


# -- the same work for every address (item 12) -------------------------------------------------


def post_in_process(app: SubscriptionApp, email: str) -> tuple[list[str], bytes]:
    """POST the form to the WSGI app on this thread; (the SQL it ran, the response)."""
    cookie = CsrfGuard.new_cookie_value()
    body = urlencode({**FORM, "email": email, "page_lang": "es", "website": "",
                      CSRF_FIELD: CsrfGuard(app.signer).field_for(cookie)}).encode()
    statements: list[str] = []
    # SQLite traces statements with their values bound: the values (quoted) become `?` again.
    app.store().database.conn.set_trace_callback(
        lambda sql: statements.append(re.sub(r"'(?:[^']|'')*'", "?", sql)))
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/s/subscribe", "SCRIPT_NAME": "",
        "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
        "HTTP_COOKIE": f"{CSRF_COOKIE}={cookie}", "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
    }
    answer: list[str] = []
    chunks = app(environ, lambda status, headers: answer.append(status))
    app.store().database.conn.set_trace_callback(None)
    return statements, answer[0].encode() + b"".join(chunks)


def test_a_new_and_a_known_address_run_the_same_statements(settings: Settings) -> None:
    import dataclasses

    settings = settings.replace(email=dataclasses.replace(
        settings.email, subscription_url="http://127.0.0.1:9/s/"))
    app = SubscriptionApp(settings)
    try:
        with SubscriberStore.open(settings) as store:
            store.add(store.validate("confirmed@gov.uy", "UY", "es"), status="confirmed",
                      source="admin", note="designated by INAU")
            store.add(store.validate("pending@gov.uy", "UY", "es"), status="pending",
                      source="admin")
            store.suppress("bounced@gov.uy", "bounce")
        runs = {email: post_in_process(app, email) for email in (
            "new@gov.uy", "pending@gov.uy", "confirmed@gov.uy", "bounced@gov.uy")}
    finally:
        app.close()
    statements = {email: sql for email, (sql, _) in runs.items()}
    answers = {email: answer for email, (_, answer) in runs.items()}
    # One insert into the sign-up queue, in one transaction, for every address alike: nothing
    # on the request path looks the address up.
    assert statements["new@gov.uy"] == [
        "BEGIN IMMEDIATE",
        "INSERT INTO sign_up_requests (email, name, organisation, state, lang, ip, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        "COMMIT",
    ]
    assert all(sql == statements["new@gov.uy"] for sql in statements.values())
    assert len(set(answers.values())) == 1 and b"200 OK" in answers["new@gov.uy"]


# -- kept in the database, sent exactly once across SIGTERM, at least once across SIGKILL -------


def configure_serve(project: Path, smtp: SmtpServer) -> Settings:
    config = project / "newsletter.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace('transport = "outbox"', 'transport = "smtp"')
        + f'\n[smtp]\nhost = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\n'
        "\n[serve]\nrate_limit_per_hour = 1000\ndrain_seconds = 0.5\n", encoding="utf-8")
    return load_settings(config)


def sign_up(server: ServeProcess, addresses: list[str]) -> None:
    session = FormSession(server.peer())
    for address in addresses:
        assert session.post(**FORM, email=address).status == 200


def outbox_counts(settings: Settings) -> dict[str, int]:
    with SubscriberStore.open(settings) as store:
        return store.outbox.counts()


def wait_until_sent(settings: Settings, total: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while outbox_counts(settings)["sent"] < total:
        assert time.monotonic() < deadline, outbox_counts(settings)
        time.sleep(0.1)


@pytest.mark.server
def test_sigterm_drains_then_the_next_start_sends_the_rest_exactly_once(
    project: Path, smtp_server: SmtpServer, serve_process: Callable[[Path], ServeProcess]
) -> None:
    settings = configure_serve(project, smtp_server)
    smtp_server.handler.delay = 0.05  # a relay that takes its time: the queue grows
    addresses = [f"liaison{n:02d}@gov.uy" for n in range(40)]
    server = serve_process(project)
    sign_up(server, addresses)
    code, out, err = server.stop(signal.SIGTERM)
    assert code == 0, err
    sent, left = (int(n) for n in re.findall(
        r"stopped: (\d+) confirmation email\(s\) sent while stopping, (\d+) left queued", out)[0])
    assert left > 0, out  # it was stopped in the middle of the queue
    counts = outbox_counts(settings)
    assert counts["sending"] == 0  # the message in flight was finished and recorded
    assert counts["sign_ups"] + counts["queued"] == left
    assert len(smtp_server.received) == counts["sent"]

    server = serve_process(project)  # resumes on start
    wait_until_sent(settings, 40)
    assert server.stop(signal.SIGTERM)[0] == 0
    received = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    assert sorted(received) == addresses and set(received.values()) == {1}  # exactly once
    assert len({r.message_id for r in smtp_server.received}) == 40


@pytest.mark.server
def test_sigkill_loses_nothing_and_a_resend_keeps_its_message_id(
    project: Path, smtp_server: SmtpServer, serve_process: Callable[[Path], ServeProcess]
) -> None:
    settings = configure_serve(project, smtp_server)
    smtp_server.handler.delay = 0.05
    addresses = [f"liaison{n:02d}@gov.uy" for n in range(40)]
    server = serve_process(project)
    sign_up(server, addresses)
    deadline = time.monotonic() + 30
    while smtp_server.accepted < 3:  # killed while sending, with most still queued
        assert time.monotonic() < deadline
        time.sleep(0.01)
    server.stop(signal.SIGKILL)
    counts = outbox_counts(settings)
    assert counts["sign_ups"] + counts["queued"] + counts["sending"] > 0, counts

    server = serve_process(project)  # recovers the dead process's claim, resumes
    wait_until_sent(settings, 40)
    server.stop(signal.SIGTERM)
    per_address: dict[str, set[str]] = {}
    copies = Counter(r.rcpt_tos[0] for r in smtp_server.received)
    for r in smtp_server.received:
        per_address.setdefault(r.rcpt_tos[0], set()).add(r.message_id)
    assert sorted(per_address) == addresses  # at least once each
    assert all(len(ids) == 1 for ids in per_address.values())  # a resend is the same message
    assert sum(copies.values()) - len(addresses) <= 1  # only the one in flight can go twice


# -- `subscribers add` goes through the same outbox ---------------------------------------------


@pytest.mark.server
def test_an_add_whose_email_cannot_go_now_keeps_it_queued(
    project: Path, smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = configure_serve(project, smtp_server)
    config = project / "newsletter.toml"
    up = config.read_text(encoding="utf-8")
    down_port = free_port()  # the relay is down: nothing listens there
    config.write_text(up.replace(f"port = {smtp_server.port}", f"port = {down_port}"),
                      encoding="utf-8")
    assert main(["--config", str(config), "subscribers", "add", "ana@inau.gub.uy", "--state",
                 "UY", "--lang", "es"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ("added an***@inau.gub.uy (UY, es) as pending; confirmation email "
                            "queued\n")
    assert captured.err.startswith("Warning: the confirmation email could not be sent now (cannot "
                                   f"connect to SMTP 127.0.0.1:{down_port}")
    assert outbox_counts(settings)["queued"] == 1
    config.write_text(up, encoding="utf-8")  # the relay is back: the next add sends both
    with SubscriberStore.open(settings) as store:  # (without waiting for the retry's time)
        store.database.conn.execute("UPDATE confirmation_emails SET next_attempt = 0")
    assert main(["--config", str(config), "subscribers", "add", "luis@senaf.gob.ar", "--state",
                 "AR", "--lang", "es"]) == 0
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == ["ana@inau.gub.uy",
                                                                   "luis@senaf.gob.ar"]


def test_only_claims_of_senders_that_are_gone_are_taken_back(settings: Settings) -> None:
    import os
    import socket

    from newsletter.subscribers.outbox import new_claimant, retire_claimant

    host = socket.gethostname()
    dead_pid = 2**22 + 7  # above any pid this machine hands out
    with SubscriberStore.open(settings) as store:
        ids = []
        for n in range(4):
            s = store.add(store.validate(f"p{n}@gov.uy", "UY", "es"), status="pending",
                          source="admin")
            store.outbox.queue(s.id)
            ids.append(s.id)
        live = new_claimant()
        owners = [live, f"{host}:{dead_pid}:ab12", f"{host}:{os.getpid()}:earlier",
                  f"elsewhere:{os.getpid()}:cd34"]
        for owner in owners:  # one claim each
            assert len(store.outbox.claim(owner, time.time(), 1)) == 1
        # The live sender keeps its claim; a dead pid's and an earlier process with our pid's
        # go back; another host's waits for the stale timeout.
        assert store.outbox.recover(time.time()) == 2
        assert store.outbox.counts()["sending"] == 2
        retire_claimant(live)
        assert store.outbox.recover(time.time()) == 1
        assert store.outbox.recover(time.time() + 901) == 1
        assert store.outbox.counts()["queued"] == 4
