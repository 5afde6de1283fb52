"""Approval before sending: `approve` records who approved which edition as it is, `send` and
`send --due` refuse an edition not approved or changed since, `check` says where each stands, and
`send --to` and the demo never need it."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.content import (
    ApprovalError,
    ApprovalState,
    approval_states,
    approve,
    edition_hash,
    load_corpus,
)
from newsletter.delivery import SendRefused, deliver_demo, run_send
from newsletter.delivery.ledger import Ledger
from newsletter.mail import Transport
from newsletter.mail.transports import open_transport
from newsletter.subscribers import SubscriberStore
from tests.delivery_support import add_subscribers, editions, load_issue, outbox_messages


def cli(project: Path, *args: str) -> int:
    return main(["--config", str(project / "newsletter.toml"), *args])


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_samples_and_fixtures_are_approved_as_they_are(settings) -> None:
    for issue in load_corpus(settings).issues:
        states = approval_states(issue)
        wanted = ApprovalState.APPROVED if issue.status == "ready" else ApprovalState.MISSING
        assert {s.state for s in states.values()} == {wanted}, issue.slug


def test_a_changed_edition_is_refused_and_accepted_after_it_is_approved_again(
        project, settings, capsys) -> None:
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 4)
    es = project / "issues" / "2011-07" / "es.md"
    edit(es, "El 7 de junio de 2011", "El 8 de junio de 2011")
    assert cli(project, "send", "2011-07", "--no-progress") == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: issue 2011-07 is not approved as it is now; nothing was sent:\n"
                          "issues/2011-07/es.md has changed since Equipo editorial del "
                          "Observatorio (muestras) on ")
    assert "approved it (issues/2011-07/approvals.toml, content sha256:" in err
    assert "read it, then `publish.py approve 2011-07 --lang es --by NAME`" in err
    assert "en.md" not in err  # the English edition did not change
    assert not (project / "outbox").exists()
    with SubscriberStore.open(settings) as store:  # refused before the audience was frozen
        assert Ledger.beside(store).campaign("2011-07") is None

    assert cli(project, "send", "2011-07", "--dry-run") == 0  # a rehearsal says so, sends not
    out = capsys.readouterr().out
    assert "Approval: es changed since Equipo editorial del Observatorio (muestras) on " in out
    assert out.rstrip().endswith("(send refuses it until approved).")

    assert cli(project, "check", "--no-email") == 0
    out = capsys.readouterr().out
    assert "issues/2011-07/es.md:1: warning: approval: changed since Equipo editorial del " \
           "Observatorio (muestras) on " in out
    assert "issues/2011-07/en.md:1: info: approval: approved by Equipo editorial" in out

    assert cli(project, "approve", "2011-07", "--lang", "es", "--by", "Ana Pérez") == 0
    out = capsys.readouterr().out
    assert "Approved issues/2011-07/es.md for sending: by Ana Pérez on " in out
    assert "Recorded in issues/2011-07/approvals.toml: commit it with the issue." in out
    recorded = tomllib.loads((project / "issues" / "2011-07" / "approvals.toml").read_text())
    entries = [(a["lang"], a["by"]) for a in recorded["approval"]]
    assert entries[-1] == ("es", "Ana Pérez") and len(entries) == 3  # the history is kept
    assert cli(project, "send", "2011-07", "--no-progress") == 0
    assert "Campaign: 4 of 4 sent" in capsys.readouterr().out


def test_what_an_approval_covers(project, settings) -> None:
    """The content a reader receives (front matter they see, body, images), not whether or when
    it is sent, nor another language's file."""
    folder = project / "issues" / "2011-01"
    before = {lang: edition_hash(load_issue(settings, "2011-01"), lang) for lang in ("es", "en")}
    edit(folder / "es.md", "status: ready", "status: draft")
    edit(folder / "es.md", "send_at: 2011-01-20T09:00:00-03:00",
         "send_at: 2011-01-21T09:00:00-03:00")
    edit(folder / "es.md", "\n---\n", "\n# a YAML comment\n---\n")
    assert edition_hash(load_issue(settings, "2011-01"), "es") == before["es"]
    edit(folder / "es.md", "status: draft", "status: ready")
    edit(folder / "en.md", "title: ", "title: The ")  # another edition's change
    issue = load_issue(settings, "2011-01")
    assert edition_hash(issue, "es") == before["es"] and edition_hash(issue, "en") != before["en"]
    image = next((folder / "images").iterdir())  # an image the body shows
    image.write_bytes(image.read_bytes() + b"\n")
    states = approval_states(load_issue(settings, "2011-01"))
    assert states["es"].state is ApprovalState.CHANGED
    assert edition_hash(load_issue(settings, "2011-01"), "es") != before["es"]


def test_send_due_refuses_the_unapproved_issue_and_sends_the_others(project, settings,
                                                                    capsys) -> None:
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 2)
    soon = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    for slug, old in (("2011-05", "2011-05-12T09:00:00-03:00"),
                      ("2011-07", "2011-07-15T09:00:00-03:00")):
        for lang in ("es", "en"):
            edit(project / "issues" / slug / f"{lang}.md", f"send_at: {old}", f"send_at: {soon}")
    (project / "issues" / "2011-05" / "approvals.toml").unlink()
    assert cli(project, "send", "--due", "--quiet", "--no-progress") == 1
    captured = capsys.readouterr()
    assert "2011-07: this run sent 2" in captured.out  # not held back by the other
    assert "Error: issue 2011-05 is not approved as it is now" in captured.err
    assert "issues/2011-05/es.md is not approved for sending (no es entry in " \
           "issues/2011-05/approvals.toml)" in captured.err


def test_a_test_send_and_the_demo_never_need_approval(project, settings, capsys) -> None:
    (project / "issues" / "2011-07" / "approvals.toml").unlink()
    assert cli(project, "send", "2011-07", "--to", "me@example.org") == 0
    assert "2011-07 [es] test to me***@example.org: sent" in capsys.readouterr().out
    (project / "subscribers" / "demo.csv").write_text(
        "email,name,organisation,state,lang\nuno@example.org,Uno,INAU,UY,es\n")
    lines = deliver_demo(settings)
    assert "2011-07: delivered 1 messages to demo/outbox/, in 1 language (es 1)." in lines
    assert lines[-1] == ("2011-07: the demo needs no approval, but `send` would refuse es (not "
                         "approved), en (not approved): `publish.py approve 2011-07 --lang LANG "
                         "--by NAME`.")


def test_run_send_enforces_it_for_every_caller(settings) -> None:
    (settings.root / "issues" / "2011-07" / "approvals.toml").write_text(
        "[[approval]]\nlang = 'es'\n")  # malformed: never counts as approved
    issue = load_issue(settings, "2011-07")
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 1)
        with pytest.raises(ApprovalError, match=r"approvals.toml: approval 1 needs exactly"):
            run_send(store, Ledger.beside(store), issue, editions(settings, issue),
                     lambda: open_transport(settings, "outbox"), settings.delivery)
        (settings.root / "issues" / "2011-07" / "approvals.toml").unlink()
        with pytest.raises(SendRefused, match="es.md is not approved for sending"):
            run_send(store, Ledger.beside(store), issue, editions(settings, issue),
                     lambda: open_transport(settings, "outbox"), settings.delivery)
    assert not (settings.root / "outbox").exists()


def test_approve_refuses_what_it_cannot_record(project, settings, capsys) -> None:
    assert cli(project, "approve", "2011-07", "--lang", "pt", "--by", "Ana") == 1
    assert "issue 2011-07 has no pt edition to approve (it has es, en)" in capsys.readouterr().err
    assert cli(project, "approve", "2011-07", "--lang", "es", "--by", "  ") == 1
    assert "--by needs the name of the person" in capsys.readouterr().err
    assert cli(project, "approve", "2011-07", "--lang", "es", "--by", "Ana\x1b[31m") == 1
    assert "without control characters" in capsys.readouterr().err
    assert cli(project, "approve", "2099-01", "--lang", "es", "--by", "Ana") == 1
    assert "no issue '2099-01' under issues/" in capsys.readouterr().err
    issue = load_issue(settings, "2011-07")
    with pytest.raises(ApprovalError):
        approve(issue, [], "Ana", dt.datetime.now(dt.UTC))
    # A name with quotes and accents round-trips through the TOML file.
    approve(issue, ["en"], 'Ana "la editora" Pérez', dt.datetime.now(dt.UTC))
    assert approval_states(load_issue(settings, "2011-07"))["en"].approval.by == \
        'Ana "la editora" Pérez'


def test_help(capsys) -> None:
    assert main(["approve", "--help"]) == 0
    assert "approvals.toml" in capsys.readouterr().out


def test_the_outbox_of_an_approved_send_has_one_message_each(project, settings) -> None:
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 3)
    assert cli(project, "send", "2011-07", "--no-progress") == 0
    delivered = [str(m["Delivered-To"]) for m in outbox_messages(project / "outbox")]
    assert sorted(delivered) == sorted([*(f"reader{n:06d}@example.org" for n in range(3)),
                                        settings.editors.email])


def test_approval_and_preflight_both_refuse_before_the_ledger(settings) -> None:
    """The two gates before a campaign is frozen, in their order: the approval (no transport is
    even opened), then the preflight (here, an SMTP relay nobody answers at). Each refusal leaves
    every delivery table as it was — no campaign, row, lock or recorded run — and once both pass
    the same call sends and records its run."""
    import dataclasses

    from newsletter.delivery.preflight import NOTHING_DONE
    from tests.plugins.servers import free_port

    unreachable = settings.replace(smtp=dataclasses.replace(
        settings.smtp, host="127.0.0.1", port=free_port(), security="none", timeout=5.0))
    opened: list[str] = []

    def factory(name: str) -> Callable[[], Transport]:
        """A transport factory that notes each transport it opens."""
        def make() -> Transport:
            opened.append(name)
            return open_transport(unreachable, name)
        return make

    def ledger_tables(store: SubscriberStore) -> dict[str, int]:
        conn = store.database.conn
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("campaigns", "deliveries", "send_lock", "send_runs")}

    (settings.root / "issues" / "2011-07" / "approvals.toml").unlink()
    issue = load_issue(settings, "2011-07")
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 3)
        ledger = Ledger.beside(store)
        empty = ledger_tables(store)
        assert set(empty.values()) == {0}
        with pytest.raises(SendRefused, match="is not approved as it is now"):
            run_send(store, ledger, issue, editions(settings, issue), factory("smtp"),
                     settings.delivery)
        assert opened == [] and ledger_tables(store) == empty  # refused before the transport

        approve(issue, ["es", "en"], "Ana Pérez", dt.datetime.now(dt.UTC))
        issue = load_issue(settings, "2011-07")
        with pytest.raises(SendRefused, match=f"cannot connect to SMTP .*; {NOTHING_DONE}"):
            run_send(store, ledger, issue, editions(settings, issue), factory("smtp"),
                     settings.delivery)
        assert opened == ["smtp"] and ledger_tables(store) == empty  # refused by the preflight

        summary = run_send(store, ledger, issue, editions(settings, issue), factory("outbox"),
                           settings.delivery)
        assert summary.complete and summary.sent == 3
        assert ledger_tables(store)["send_runs"] == 1 and ledger.last_run().outcome == "complete"
