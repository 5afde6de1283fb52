"""`status` (one screen, `--json`, exit 1 when a person is needed), `serve`'s `/healthz`, and the
editors' summary when a campaign completes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import socket
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.content import load_corpus
from newsletter.delivery import Ledger, notify_editors, operator_status, run_send
from newsletter.delivery.records import LockHolder
from newsletter.mail import Rejected
from newsletter.mail.transports import open_transport
from newsletter.subscribers import SCHEMA_VERSION, SubscriberStore
from tests.delivery_support import add_subscribers, editions, load_issue, outbox_messages
from tests.plugins.webapp import SubscriptionServer


def cli(project: Path, *args: str) -> int:
    return main(["--config", str(project / "newsletter.toml"), *args])


def status_json(project: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = cli(project, "status", "--json")
    return code, json.loads(capsys.readouterr().out)


def schedule(project: Path, slug: str, when: dt.datetime) -> None:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    for path in (project / "issues" / slug).glob("*.md"):
        text = path.read_text(encoding="utf-8")
        start = text.index("send_at: ")
        path.write_text(text[:start] + f"send_at: {stamp}" + text[text.index("\n", start):],
                        encoding="utf-8")


def test_status_json_says_what_needs_a_person_and_exits_1(project, settings, capsys) -> None:
    now = dt.datetime.now(dt.UTC)
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 6)
        pending = store.validate("nuevo@example.org", "UY", "es")
        store.add(pending, status="pending", source="form")
    schedule(project, "2011-07", now - dt.timedelta(minutes=5))  # due, approved
    schedule(project, "2011-05", now + dt.timedelta(hours=12))  # soon, then not approved
    (project / "issues" / "2011-05" / "approvals.toml").unlink()
    assert cli(project, "send", "2011-07", "--limit", "4", "--no-progress") == 0
    capsys.readouterr()
    code, status = status_json(project, capsys)
    assert code == 1 and status["ok"] is False
    assert set(status) == {"generated_at", "ok", "needs_attention", "database", "issues",
                           "campaigns", "rows", "last_run", "sending_now", "rates",
                           "confirmations", "mailbox", "backup", "restored"}
    issues = {i["issue"]: i for i in status["issues"]}
    assert issues["2011-07"]["decision"] == "resuming"
    assert issues["2011-05"]["decision"] == "scheduled"
    assert issues["2011-05"]["approvals"] == {"es": "not approved", "en": "not approved"}
    (campaign,) = status["campaigns"]
    assert (campaign["issue"], campaign["audience"], campaign["sent"]) == ("2011-07", 6, 4)
    assert campaign["languages"]["es"]["audience"] == 3 and campaign["owed"] == 2
    assert status["rows"] == {"unknown": 0, "deferred": 0}
    assert status["last_run"]["outcome"] == "paused" and status["last_run"]["sent"] == 4
    assert status["last_run"]["state"] == "ended" and "reached --limit" in \
        status["last_run"]["detail"]
    assert status["rates"]["sent"] == 4 and status["rates"]["bounce_rate"] == 0
    assert status["rates"]["bounce_review_level"] == 0.05
    assert status["rates"]["complaint_review_level"] == 0.001
    assert status["confirmations"]["pending"] == 1
    assert status["backup"]["last"] is None and status["backup"]["max_age_hours"] == 26
    assert status["database"]["current"] is True
    attention = "\n".join(status["needs_attention"])
    assert "2011-05 is due " in attention and "is not approved (es not approved" in attention
    assert "no backup of the subscribers' database has been taken" in attention
    assert "2011-07" not in attention  # cron resumes it: nothing for a person
    assert "@" not in json.dumps(status)  # no address in what monitoring reads

    # The operator acts: approves, finishes the campaign, takes a backup.
    assert cli(project, "approve", "2011-05", "--lang", "es", "--lang", "en", "--by", "Ana") == 0
    assert cli(project, "send", "--due", "--no-progress") == 0
    assert cli(project, "backup") == 0
    capsys.readouterr()
    code, status = status_json(project, capsys)
    assert code == 0 and status["ok"] is True and status["needs_attention"] == []
    assert status["campaigns"] == [] and status["last_run"]["outcome"] == "complete"
    assert status["backup"]["age_hours"] < 0.1
    assert cli(project, "status") == 0
    out = capsys.readouterr().out
    assert "Campaigns in progress: none" in out and "Nothing needs a person." in out
    assert "Last backup: 0.0 hours ago, backups/annaobserva-subscribers-" in out


def test_rates_at_ses_review_levels_a_dead_run_and_unknown_rows_need_a_person(settings) -> None:
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 20)
        ledger = Ledger.beside(store)
        issue = load_issue(settings, "2011-07")
        run_send(store, ledger, issue, editions(settings, issue),
                 lambda: open_transport(settings, "outbox"), settings.delivery)
        ledger.record_event("q1", "bounce", "Permanent", "p1", None, None, "{}")
        ledger.record_event("q2", "complaint", "abuse", "p2", None, None, "{}")
        store.database.record_backup(_backup_at(dt.datetime.now(dt.UTC) - dt.timedelta(days=3)))
        # A run that never recorded its end, by a process that no longer exists.
        run = ledger.start_run("2011-05", socket.gethostname(), _dead_pid())
        now = dt.datetime.now(dt.UTC)
        status = operator_status(settings, load_corpus(settings), store, ledger, now)
        attention = "\n".join(status.needs_attention)
        assert status.rates.sent == 20 and status.rates.bounce_rate == 0.05
        assert "bounce rate 5.00% over 30 days is at or above the 5%" in attention
        assert "complaint rate 5.00% over 30 days is at or above the 0.1%" in attention
        assert status.last_run is not None and status.last_run.id == run
        assert status.last_run_state == "died" and "ended without a word" in attention
        assert "the last backup is 72 hours old (more than 26)" in attention
        # The same run alive (its pid is this process): running, nothing to say.
        ledger.end_run(run, "complete", "", {})
        live = ledger.start_run("2011-05", socket.gethostname(), os.getpid())
        ledger.hold_lock("send", LockHolder("2011-05", socket.gethostname(), os.getpid(),
                                            "2026-01-01T00:00:00Z", 0.0))
        status = operator_status(settings, load_corpus(settings), store, ledger, now)
        assert status.last_run.id == live and status.last_run_state == "running"
        assert status.sending_now is not None and "ended without a word" not in \
            "\n".join(status.needs_attention)


def _backup_at(moment: dt.datetime):
    from newsletter.subscribers import BackupRecord, stamp

    return BackupRecord(stamp(moment), "backups/x", "x", 10, "0" * 64, 4)


def _dead_pid() -> int:
    pid = 999_999
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid -= 1


def test_status_help(capsys) -> None:
    assert main(["status", "--help"]) == 0
    assert "--json" in capsys.readouterr().out


@pytest.mark.server
def test_healthz_answers_the_proxy_without_subscriber_data(
        subscription_server: SubscriptionServer, monkeypatch) -> None:
    with subscription_server.store() as store:
        add_subscribers(store, 2)
    for path in ("healthz", "http" + subscription_server.url[4:].split("/s/")[0] + "/healthz"):
        reply = subscription_server.request("GET", path)
        assert reply.status == 200, path
        assert reply.headers["Content-Type"] == "application/json"
        assert reply.headers["Cache-Control"] == "no-store"
        assert json.loads(reply.text) == {
            "status": "ok", "database": True, "schema_version": SCHEMA_VERSION,
            "migrations_current": True, "confirmation_queue": 0, "sign_ups_queued": 0,
            "confirmations_queued": 0}
    assert subscription_server.request("HEAD", "healthz").status == 200
    assert subscription_server.request("POST", "healthz").status == 405
    # A program newer than the file (a migration not applied yet): the proxy takes it out.
    import newsletter.subscribers.database as database

    monkeypatch.setattr(database, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    reply = subscription_server.request("GET", "healthz")
    assert reply.status == 503
    assert json.loads(reply.text)["migrations_current"] is False


def test_the_confirmation_queue_is_the_database_s(project, settings, capsys) -> None:
    """`/healthz` and `status` count what waits in the database: sign-ups not yet decided and
    confirmation emails not yet sent, whichever process queued them."""
    from newsletter.subscribers import NewSubscriber
    from newsletter.webapp import SubscriptionApp

    app = SubscriptionApp(settings)
    app.mailer.close(drain_seconds=0)  # nobody drains the queues while we count them
    try:
        with SubscriberStore.open(settings) as store:
            store.outbox.queue_sign_up(NewSubscriber("nueva@gov.uy", "", "", "UY", "es"), None)
            pending = store.add(store.validate("pendiente@gov.uy", "UY", "es"), status="pending",
                                source="admin")
            store.outbox.queue(pending.id)
            waiting = store.outbox.counts()
        answer: list[str] = []
        body = b"".join(app({"REQUEST_METHOD": "GET", "PATH_INFO": "/s/healthz",
                             "SCRIPT_NAME": "", "wsgi.input": io.BytesIO()},
                            lambda status, headers: answer.append(status)))
    finally:
        app.close(drain_seconds=0)
    assert waiting["sign_ups"] == 1 and waiting["queued"] >= 1
    emails = waiting["queued"] + waiting["sending"]
    assert answer == ["200 OK"]
    health = json.loads(body)
    assert (health["confirmation_queue"], health["sign_ups_queued"],
            health["confirmations_queued"]) == (1 + emails, 1, emails)
    code, status = status_json(project, capsys)
    assert status["confirmations"]["pending"] == 1
    assert (status["confirmations"]["sign_ups_queued"], status["confirmations"]["emails_queued"],
            status["confirmations"]["emails_failed"]) == (1, emails, 0)
    assert cli(project, "status") in (0, 1)
    assert f"queued: 1 sign-ups to decide, {emails} emails to send." in capsys.readouterr().out


def test_the_editors_summary_after_a_campaign(project, settings, capsys) -> None:
    toml = project / "newsletter.toml"
    toml.write_text(toml.read_text().replace('languages = ["es", "en"]',
                                             'languages = ["es", "en", "pt"]'))
    with SubscriberStore.open(settings.replace(site=dataclasses.replace(
            settings.site, languages=("es", "en", "pt")))) as store:
        add_subscribers(store, 6, langs=("es", "en", "pt"))
    assert cli(project, "send", "2011-07", "--no-progress") == 0
    assert "Summary sent to the editors (an***@iin.oea.org)." in capsys.readouterr().out
    (summary,) = [m for m in outbox_messages(project / "outbox")
                  if str(m["Delivered-To"]) == settings.editors.email]
    assert str(summary["Subject"]) == "ANNAobserva N.º 4 (2011-07): envío terminado, 6 enviados"
    assert summary["Auto-Submitted"] == "auto-generated"
    assert summary["Content-Language"] == "es" and summary["List-Unsubscribe"] is None
    text = summary.get_content().replace("\r\n", "\n")
    assert "Terminó el envío del número 4 (2011-07)." in text
    assert "  en: 2 enviados de 2, 0 rechazados, 0 resultado desconocido\n" in text
    assert "  es: 4 enviados de 4, 0 rechazados, 0 resultado desconocido\n" in text
    assert "2 lectores en pt recibieron la edición en es" in text
    assert "Duración: " in text and "publish.py report 2011-07" in text
    # Nothing more to send: no second summary.
    assert cli(project, "send", "2011-07", "--no-progress") == 0
    assert "Summary sent" not in capsys.readouterr().out


def test_a_failed_summary_never_fails_the_campaign(project, settings, capsys) -> None:
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 2)
        ledger = Ledger.beside(store)
        issue = load_issue(settings, "2011-07")
        summary = run_send(store, ledger, issue, editions(settings, issue),
                           lambda: open_transport(settings, "outbox"), settings.delivery)
        assert summary.complete

        class Refusing:
            name = "refusing"

            def send(self, recipient, message, tags=None):
                raise Rejected("550 5.7.1 relaying denied for annaobserva@iin.oea.org")

            def close(self) -> None:
                pass

        notice = notify_editors(settings, ledger, issue, summary, Refusing)
        assert notice is not None and not notice.sent
        assert notice.detail == "550 5.7.1 relaying denied for an***@iin.oea.org"  # masked
        assert ledger.campaign("2011-07").completed_at is not None
        off = settings.replace(editors=dataclasses.replace(settings.editors,
                                                           campaign_summary=False))
        assert notify_editors(off, ledger, issue, summary, Refusing) is None
    # Through the command line: the campaign is complete, the warning says the summary failed.
    toml = project / "newsletter.toml"
    toml.write_text(toml.read_text().replace('email = "annaobserva@iin.oea.org"\ncampaign',
                                             'email = "not an address"\ncampaign'))
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 1, start=10)
    assert cli(project, "send", "2011-07", "--include-new", "--no-progress") == 0
    captured = capsys.readouterr()
    assert "complete." in captured.out
    assert "Warning: the summary to the editors was not sent (" in captured.err
