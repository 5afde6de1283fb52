"""`send` into the outbox: the ledger's rules (freeze, fallback, --include-new, --retry-rejected,
--cancel, --dry-run, --to), `--due` with its lock, and the CLI's help."""

from __future__ import annotations

import datetime as dt
import inspect
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.content import Corpus
from newsletter.delivery import MissingTranslation, SendOptions, run_send
from newsletter.delivery.ledger import Ledger
from newsletter.delivery.pacing import SendPacer
from newsletter.delivery.rehearsal import dry_run
from newsletter.delivery.schedule import DueKind, SendLock, SendRunning, due_issues
from newsletter.mail.transports import open_transport
from newsletter.settings import DeliverySettings
from newsletter.subscribers.store import SubscriberStore
from tests.delivery_support import (
    add_subscribers,
    editions,
    load_issue,
    outbox_messages,
    parse,
)

REPO = Path(__file__).resolve().parent.parent


def send(settings, issue_slug="2011-07", **options):
    store = SubscriberStore.open(settings)
    try:
        issue = load_issue(settings, issue_slug)
        return run_send(store, Ledger.beside(store), issue, editions(settings, issue),
                        lambda: open_transport(settings), settings.delivery,
                        SendOptions(**options))
    finally:
        store.close()


@pytest.fixture
def store(settings):
    s = SubscriberStore.open(settings)
    yield s
    s.close()


def test_the_outbox_gets_one_message_per_subscriber(settings, store) -> None:
    add_subscribers(store, 6)
    summary = send(settings)
    assert (summary.sent, summary.audience, summary.complete) == (6, 6, True)
    messages = outbox_messages(settings.path("outbox"))
    assert sorted(m["Delivered-To"] for m in messages) == [
        f"reader{n:06d}@example.org" for n in range(6)]
    assert sorted(m["Content-Language"] for m in messages) == ["en"] * 3 + ["es"] * 3


def test_a_missing_translation_uses_the_fallback_chain(settings, store) -> None:
    add_subscribers(store, 6, langs=("es", "en", "pt"))
    summary = send(settings)  # newsletter.toml: pt = "es"
    assert summary.fallbacks == {("pt", "es"): 2}
    pt = [m for m in outbox_messages(settings.path("outbox"))
          if m["Delivered-To"] in ("reader000002@example.org", "reader000005@example.org")]
    # The Spanish edition, with the Portuguese readers' own words around it.
    assert [m["Content-Language"] for m in pt] == ["es, pt", "es, pt"]
    text = pt[0].get_body(("plain",)).get_content()
    assert "Esta edição ainda não está disponível em português" in text
    assert "Cancelar a assinatura" in text


def test_without_a_fallback_entry_the_default_language_serves(settings, store) -> None:
    add_subscribers(store, 7, langs=("es", "en", "pt", "fr"))
    summary = send(settings.replace(delivery=DeliverySettings(fallback={})))
    assert summary.fallbacks == {("fr", "es"): 1, ("pt", "es"): 2}
    assert summary.sent == 7


def test_an_issue_without_the_default_language_refuses_to_start(settings, store) -> None:
    import dataclasses

    add_subscribers(store, 7, langs=("es", "en", "pt", "fr"))
    issue = load_issue(settings, "2011-07")
    english_only = dataclasses.replace(issue, editions={"en": issue.edition("en")})
    with pytest.raises(MissingTranslation) as caught:
        run_send(store, Ledger.beside(store), english_only, editions(settings, english_only),
                 lambda: open_transport(settings), settings.delivery)
    assert str(caught.value).startswith(
        "issue 2011-07 has no edition for es: 2 subscribers, fr: 1 subscriber, "
        "pt: 2 subscribers: nothing was sent")
    assert Ledger.beside(store).campaign("2011-07") is None  # nothing frozen, nothing sent
    assert outbox_messages(settings.path("outbox")) == []


def test_every_transport_takes_tags_and_says_its_quota(tmp_path: Path) -> None:
    """The sender hands every transport the same call: tags and quota are in the protocol."""
    from newsletter.mail.transports.outbox import OutboxTransport
    from newsletter.mail.transports.ses import SesTransport
    from newsletter.mail.transports.smtp import SmtpConfig, SmtpTransport

    for kind in (OutboxTransport, SmtpTransport, SesTransport):
        assert "tags" in inspect.signature(kind.send).parameters, kind
        assert callable(kind.quota), kind
    outbox = OutboxTransport(tmp_path / "box")
    outbox.open()
    assert outbox.quota() is None
    assert outbox.send("a@example.org", b"Subject: x\r\n\r\nbody\r\n", {"issue": "2011-07"})
    assert SmtpTransport(SmtpConfig(host="localhost", port=25)).quota() is None


def test_include_new_retry_rejected_and_cancel(settings, store) -> None:
    add_subscribers(store, 3)
    assert send(settings).sent == 3
    add_subscribers(store, 2, start=3)
    assert send(settings).already_complete is True  # new subscribers wait for --include-new
    summary = send(settings, include_new=True)
    assert (summary.sent, summary.audience) == (2, 5)
    store.database.conn.execute("UPDATE deliveries SET state = 'rejected' WHERE id = 1")
    assert send(settings, retry_rejected=True).sent == 1
    add_subscribers(store, 2, start=5)
    ledger = Ledger.beside(store)
    ledger.add_new("2011-07", [], {"es": "es", "en": "en"}.get)
    assert send(settings, "2011-05", limit=1).sent == 1
    assert Ledger.beside(store).cancel("2011-05") == 6
    with pytest.raises(Exception, match="was cancelled"):
        send(settings, "2011-05")


def test_unsubscribed_after_the_freeze_are_skipped(settings, store) -> None:
    add_subscribers(store, 4)
    send(settings, limit=1)
    store.set_status(4, "unsubscribed", "test")
    summary = send(settings)
    assert (summary.sent, summary.counts["skipped"], summary.complete) == (2, 1, True)


def test_dry_run_renders_everything_and_writes_nothing(settings, store) -> None:
    add_subscribers(store, 8, langs=("es", "en", "pt", "en"))
    issue = load_issue(settings, "2011-07")
    result = dry_run(store, Ledger.beside(store), issue, editions(settings, issue))
    assert (result.rendered, result.by_language) == (8, {"en": 4, "es": 4})
    assert result.by_state == {s: 1 for s in ("AR", "BR", "CA", "CL", "CO", "MX", "PE", "UY")}
    assert result.fallbacks == {("pt", "es"): 2}
    assert Ledger.beside(store).campaign("2011-07") is None
    assert not settings.path("outbox").exists()


def test_send_to_is_a_test_in_every_language_kept_apart(project, settings, store, capsys) -> None:
    add_subscribers(store, 2)
    code = main(["--config", str(project / "newsletter.toml"), "send", "4",
                 "--to", "editor@example.org"])
    assert code == 0
    # One message per offered language: pt and fr readers' are the es edition in their words.
    assert capsys.readouterr().out == (
        "2011-07 [es] test to ed***@example.org: sent\n"
        "2011-07 [en] test to ed***@example.org: sent\n"
        "2011-07 [pt, the es edition] test to ed***@example.org: sent\n"
        "2011-07 [fr, the es edition] test to ed***@example.org: sent\n")
    messages = outbox_messages(settings.path("outbox"))
    assert [m["Subject"].startswith("[TEST] ") for m in messages] == [True] * 4
    assert sorted(m["Content-Language"] for m in messages) == ["en", "es", "es, fr", "es, pt"]
    assert Ledger.beside(store).campaign("2011-07") is None
    assert store.database.conn.execute("SELECT recipient FROM test_sends").fetchall() == [
        ("ed***@example.org",)] * 4


def test_a_draft_is_refused(project, settings, capsys) -> None:
    assert main(["--config", str(project / "newsletter.toml"), "send", "5"]) == 1
    assert capsys.readouterr().err == (
        "Error: issue 2027-02 is a draft: set `status: ready` in every required language "
        "before sending\n")


def test_rate_limiter_never_exceeds_the_rate_in_any_second() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = SendPacer(10, clock=lambda: now[0], sleep=sleep)
    times = []
    for _ in range(100):
        limiter.acquire()
        times.append(now[0])
    assert max(sum(1 for t in times if start <= t < start + 1) for start in times) == 10
    assert times[-1] == pytest.approx(9.9 + 9 * 0.03, abs=0.05)


def scheduled(settings, **changes):
    """The corpus with 2011-07 scheduled at `send_at`, others unscheduled."""
    import dataclasses

    issue = load_issue(settings, "2011-07")
    edits = {lang: dataclasses.replace(e, **changes) for lang, e in issue.editions.items()}
    return Corpus((dataclasses.replace(issue, editions=edits),), ())


def test_due_sends_a_ready_issue_and_not_a_stale_one(settings, store) -> None:
    now = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)
    ledger = Ledger.beside(store)
    fresh = scheduled(settings, send_at=now - dt.timedelta(hours=1))
    assert [(d.issue.slug, d.kind, d.due, d.reason)
            for d in due_issues(fresh, ledger, now, 7)] == [("2011-07", DueKind.DUE, True, "due")]
    stale = scheduled(settings, send_at=now - dt.timedelta(days=8))
    (decision,) = due_issues(stale, ledger, now, 7)
    assert decision.kind is DueKind.TOO_OLD and not decision.due
    assert "more than 7 days old; not started automatically" in decision.reason
    later = scheduled(settings, send_at=now + dt.timedelta(hours=1))
    assert due_issues(later, ledger, now, 7)[0].kind is DueKind.SCHEDULED
    draft = scheduled(settings, send_at=now, status="draft")
    (decision,) = due_issues(draft, ledger, now, 7)
    assert (decision.kind, decision.due, decision.reason) == (DueKind.DRAFT, False, "still a draft")


def test_the_lock_refuses_a_live_holder_and_takes_over_a_dead_one(settings, store) -> None:
    lock = SendLock(Ledger.beside(store), "2011-07", 600)
    lock.acquire()
    other = SubscriberStore.open(settings)
    try:
        rival = SendLock(Ledger.beside(other), "2011-05", 600)
        rival.pid = os.getppid()  # another live process on this host
        store.database.conn.execute("UPDATE send_lock SET pid = ?", (os.getppid(),))
        rival.pid = os.getpid()
        with pytest.raises(SendRunning, match=r"a send of 2011-07 is already running \(pid"):
            rival.acquire()
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout.strip()
        store.database.conn.execute("UPDATE send_lock SET pid = ?", (int(dead),))
        rival.acquire()  # the holder's pid is gone: taken over
        assert other.database.conn.execute("SELECT issue, pid FROM send_lock").fetchone() == (
            "2011-05", os.getpid())
    finally:
        other.close()


def test_two_due_runs_at_once_one_sends_the_other_says_running(project, settings, store) -> None:
    add_subscribers(store, 300)
    es = project / "issues" / "2011-07" / "es.md"
    en = project / "issues" / "2011-07" / "en.md"
    soon = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).strftime(
        "%Y-%m-%dT%H:%M:%S+00:00")
    for path in (es, en):
        path.write_text(path.read_text().replace("send_at: 2011-07-15T09:00:00-03:00",
                                                 f"send_at: {soon}"))
    toml = project / "newsletter.toml"
    toml.write_text(toml.read_text().replace('outbox_dir = "outbox"',
                                             'outbox_dir = "outbox"\nrate = 100.0'))
    command = [sys.executable, str(REPO / "publish.py"), "--config", str(toml), "send", "--due",
               "--no-progress"]
    results: list[subprocess.CompletedProcess[str]] = []

    def run() -> None:
        results.append(subprocess.run(command, capture_output=True, text=True, timeout=60))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outs = sorted(r.stdout for r in results)
    assert [r.returncode for r in results] == [0, 0], [(r.stdout, r.stderr) for r in results]
    assert any("2011-07: a send of 2011-07 is already running" in o for o in outs), outs
    assert any("2011-07: this run sent 300" in o for o in outs), outs
    delivered = [parse(p.read_bytes())["Delivered-To"]
                 for p in (project / "outbox" / "new").iterdir()]
    # 300 subscribers once each, and the editors' summary of the campaign once.
    assert len(delivered) == 301 and len(set(delivered)) == 301
    assert delivered.count(settings.editors.email) == 1
    third = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert "2011-07: send_at" not in third.stdout and "No issue is due." in third.stdout


@pytest.mark.parametrize("command", [["send"], ["report"], ["bounces"]])
def test_help(command, capsys) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: publish.py {command[0]}")
    assert "--help" in out


def test_send_needs_an_issue_or_due(project, capsys) -> None:
    assert main(["--config", str(project / "newsletter.toml"), "send"]) == 1
    assert capsys.readouterr().err == (
        "Error: name an ISSUE to send, or --due for every issue that is due\n")


def test_a_suppressed_address_is_left_out_of_the_audience(settings, store) -> None:
    add_subscribers(store, 4)
    # Suppressed without a status change (as a restored or hand-edited database might be).
    store.database.conn.execute(
        "INSERT INTO suppressions (email_hash, email, reason, at) VALUES (?, NULL, 'manual', "
        "'2026-11-28T00:00:00Z')", (store.email_hash("reader000002@example.org"),))
    summary = send(settings)
    assert (summary.audience, summary.sent) == (3, 3)
    assert "reader000002@example.org" not in {
        m["Delivered-To"] for m in outbox_messages(settings.path("outbox"))}


def test_erasure_removes_the_address_from_kept_notifications(settings, store) -> None:
    add_subscribers(store, 1)
    send(settings)
    db = store.database.conn
    db.execute(
        "INSERT INTO delivery_events (received_at, kind, subscriber_id, raw) "
        "VALUES ('2026-11-28T00:00:00Z', 'bounce', 1, '{\"to\": \"reader000000@example.org\"}')")
    store.erase("reader000000@example.org")
    assert db.execute("SELECT raw, subscriber_id FROM delivery_events").fetchall() == [
        ('{"erased": true}', None)]
    assert db.execute("SELECT subscriber_id, state FROM deliveries").fetchall() == [
        (None, "sent")]


def test_cli_report_and_dry_run(project, settings, store, capsys) -> None:
    add_subscribers(store, 3, langs=("es", "pt", "en"))
    toml = str(project / "newsletter.toml")
    assert main(["--config", toml, "send", "4", "--dry-run"]) == 0
    out, approval = capsys.readouterr().out.rsplit("Approval: ", 1)
    assert out == (
        "2011-07: dry run, nothing sent. 3 messages rendered (audience not frozen yet).\n"
        "By language: en 1, es 2\n"
        "By member state: AR 1, BR 1, UY 1\n"
        "Fallback: 1 pt subscriber gets the es edition (no pt edition yet), with the email's "
        "own words in pt.\n")
    assert approval.startswith("es approved by ") and approval.endswith(" UTC.\n")
    assert main(["--config", toml, "report", "4"]) == 1
    assert capsys.readouterr().err == (
        "Error: issue 2011-07 has not been sent yet (no campaign in the ledger)\n")
    send(settings)
    assert main(["--config", toml, "report", "4", "--csv"]) == 0
    assert capsys.readouterr().out == (
        "lang,edition_lang,member_state,audience,sent,rejected,unknown,owed,bounced,complaints\n"
        "en,en,BR,1,1,0,0,0,0,0\n"
        "es,es,UY,1,1,0,0,0,0,0\n"
        "pt,es,AR,1,1,0,0,0,0,0\n")
    assert main(["--config", toml, "report", "4"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2011-07: audience 3 frozen ")
    assert out[-2:] == [
        "all                        3      3        0       0     0       0          0",
        "Bounce rate 0.00% (threshold 1%), complaint rate 0.00% (threshold 0.1%).",
    ]


def test_the_progress_bar_shows_the_counts(settings, store) -> None:
    import io

    from rich.console import Console

    from newsletter.cli.delivery import progress_bar

    add_subscribers(store, 5)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160, color_system=None)
    issue = load_issue(settings, "2011-07")
    with progress_bar(True, console) as progress:
        run_send(store, Ledger.beside(store), issue, editions(settings, issue),
                 lambda: open_transport(settings), settings.delivery, SendOptions(), progress)
    final = out.getvalue().rsplit("\r", 1)[-1]
    assert "5/5" in final
    assert "sent 5 · deferred 0 · rejected 0 · unknown 0" in final


def test_a_run_whose_lock_was_taken_over_stops(settings, store) -> None:
    lock = SendLock(Ledger.beside(store), "2011-07", 600)
    lock.acquire()
    assert lock.beat(every=0) is True
    store.database.conn.execute("UPDATE send_lock SET pid = pid + 1")
    assert lock.beat(every=0) is False


def test_cli_cancel(project, settings, store, capsys) -> None:
    add_subscribers(store, 3)
    toml = str(project / "newsletter.toml")
    assert main(["--config", toml, "send", "4", "--cancel"]) == 1
    assert capsys.readouterr().err == "Error: issue 2011-07 has no campaign to cancel\n"
    assert main(["--config", toml, "send", "4", "--limit", "1", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["--config", toml, "send", "4", "--cancel"]) == 0
    assert capsys.readouterr().out == (
        "2011-07: campaign cancelled; 2 subscribers still owed it will not receive it.\n")
    assert main(["--config", toml, "send", "4"]) == 1
    assert capsys.readouterr().err.startswith("Error: the campaign of 2011-07 was cancelled on ")


def test_the_pool_grows_with_the_rate_so_latency_does_not_cap_it() -> None:
    from newsletter.delivery.pacing import worker_count

    assert worker_count(4, 0) == 4  # unlimited rate (SMTP, outbox): the configured pool
    assert worker_count(4, 14) == 4  # SES's starting quota: 4 × (1 / 0.15 s) > 14/s
    assert worker_count(4, 100) == 15  # 15 workers at 150 ms each = 100/s
    assert worker_count(4, 5000) == 32
    assert worker_count(1, 0) == 1


def test_due_says_what_it_skipped_and_is_silent_with_quiet(project, capsys) -> None:
    toml = str(project / "newsletter.toml")
    assert main(["--config", toml, "send", "--due"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "2010-09: send_at 2010-09-15T09:00:00-03:00 is more than 7 days old; not started "
        "automatically (send it by hand with `publish.py send 2010-09`)")
    assert out[-1] == "No issue is due."
    assert main(["--config", toml, "send", "--due", "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_two_runs_opening_a_new_outbox_at_once_both_get_it(tmp_path: Path) -> None:
    """The first two runs ever (two cron lines, a send and a sign-up) may open the outbox in the
    same instant: the standard library's `Maildir(create=True)` checks, then makes, and the loser
    failed with FileExistsError (this test's race hit it about 1 time in 3). The outbox is 0700."""
    from newsletter.mail.transports.outbox import OutboxTransport

    for n in range(60):
        folder = tmp_path / f"outbox-{n}"
        start = threading.Barrier(2)
        failures: list[BaseException] = []

        def open_it(folder: Path = folder, start: threading.Barrier = start,
                    failures: list[BaseException] = failures) -> None:
            start.wait()
            try:
                OutboxTransport(folder).open()
            except BaseException as exc:  # noqa: BLE001 - any failure is what this test looks for
                failures.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == [], (n, failures)
        assert (folder.stat().st_mode & 0o777) == 0o700
        assert {p.name for p in folder.iterdir()} == {"tmp", "new", "cur"}
