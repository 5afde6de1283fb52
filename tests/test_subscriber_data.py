"""What a subscriber record may hold and where it goes: names and organisations on an allowlist
of Unicode categories (form and CSV), tokens that carry a real id or nothing, security headers on
every error, exports a spreadsheet cannot run, and files only their owner can read."""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.mail import build_message
from newsletter.mail.message import InvalidRecipient, Sender
from newsletter.settings import Settings
from newsletter.subscribers import InvalidText, SubscriberStore, checked_text, export_csv
from tests.plugins.webapp import FormSession, SubscriptionServer

CONTROL = {
    "NUL": "Ana\x00Pérez", "escape": "Ana\x1b[31mPérez", "tab": "Ana\tPérez",
    "line feed": "Ana\nBcc: x@evil.example", "carriage return": "Ana\rPérez", "delete": "Ana\x7f",
    "bidi override": "Ana \u202egpj.exe", "zero width space": "A\u200bna",
    "line separator": "Ana\u2028Pérez", "paragraph separator": "Ana\u2029Pérez",
    "private use": "Ana\ue000", "language tag": "Ana\U000e0001",
}
FINE = {
    "María José  O'Neil-Pérez": "María José O'Neil-Pérez",
    "Ñandú & Cía. (S.A.)": "Ñandú & Cía. (S.A.)",
    "Jean\u00a0Dupont": "Jean Dupont",  # a no-break space is a space
    "Ministère de l’Éducation — DGEO": "Ministère de l’Éducation — DGEO",
    "=1+2": "=1+2",  # text in the store; the export neutralises it
}


@pytest.mark.parametrize("label", sorted(CONTROL))
def test_control_and_invisible_characters_are_refused(label: str) -> None:
    with pytest.raises(InvalidText, match=r"^the name holds U\+[0-9A-F]{4,5} \("):
        checked_text(CONTROL[label], "name")


def test_names_people_have_are_kept() -> None:
    for given, kept in FINE.items():
        assert checked_text(given, "organisation") == kept


def test_the_csv_import_reports_the_row(settings: Settings, tmp_path: Path) -> None:
    from newsletter.subscribers import import_csv

    path = tmp_path / "l.csv"
    path.write_text('email,name,organisation,state\nana@inau.gub.uy,"Ana\x00",INAU,UY\n'
                    'luis@senaf.gob.ar,Luis,"SENAF\u202e",AR\n', encoding="utf-8")
    with SubscriberStore.open(settings) as store:
        report = import_csv(store, path, confirmed=True, note="n", display="l.csv")
        assert [str(p) for p in report.problems] == [
            "l.csv:2: the name holds U+0000 (a control character) at character 4: names and "
            "organisations may hold letters, marks, digits, punctuation, symbols and spaces",
            "l.csv:3: the organisation holds U+202E (RIGHT-TO-LEFT OVERRIDE, an invisible format "
            "character) at character 6: names and organisations may hold letters, marks, "
            "digits, punctuation, symbols and spaces",
        ]
        assert list(store.iter_subscribers()) == []


@pytest.mark.server
@pytest.mark.parametrize("field", ["name", "organisation"])
def test_the_form_refuses_them_in_its_language(
    subscription_server: SubscriptionServer, field: str
) -> None:
    values = {"email": "ana@inau.gub.uy", "name": "Ana", "organisation": "INAU", "state": "UY",
              "lang": "es", field: CONTROL["line feed"]}
    reply = FormSession(subscription_server, "en").post(**values)
    assert reply.status == 400
    assert (f'<p class="field-error" id="{field}-error">Use only letters, digits, punctuation '
            "and spaces.</p>") in reply.text
    with subscription_server.store() as store:
        assert list(store.iter_subscribers()) == []


def test_a_name_the_store_never_took_cannot_reach_a_to_header(settings: Settings) -> None:
    sender = Sender.from_settings(settings.email)
    with pytest.raises(InvalidRecipient, match="U\\+0000"):
        build_message(sender, to="ana@inau.gub.uy", to_name="Ana\x00", subject="s", html="<p>h</p>",
                      text="t", lang="es", message_id="<x@y>")


# -- tokens and error pages --------------------------------------------------------------------

SECURITY_HEADERS = ("Content-Security-Policy", "Referrer-Policy", "X-Content-Type-Options",
                    "X-Frame-Options")


@pytest.mark.server
@pytest.mark.parametrize("payload", [True, False, 0, -1, 2**63, 10**40, 1.0, "1", None, [1]])
@pytest.mark.parametrize("purpose", ["confirm", "unsubscribe", "language"])
def test_a_token_whose_payload_is_not_an_id_is_refused(
    subscription_server: SubscriptionServer, payload: object, purpose: str
) -> None:
    with subscription_server.store() as store:  # id 1 exists: `true` must not reach it
        store.add(store.validate("ana@inau.gub.uy", "UY", "es"), status="confirmed",
                  source="admin", note="n")
    token = subscription_server.settings.signer().serializer(purpose).dumps(payload)
    for method in ("GET", "POST"):
        reply = subscription_server.request(method, f"{purpose}/{token}",
                                            headers={"Accept-Language": "en"})
        assert reply.status == 400, (method, reply.text)
        assert "<h1>This link is not valid</h1>" in reply.text
        assert all(reply.headers[h] for h in SECURITY_HEADERS)
    with subscription_server.store() as store:
        ana = store.get_by_email("ana@inau.gub.uy")
        assert ana is not None and (ana.status, ana.lang) == ("confirmed", "es")


@pytest.mark.server
def test_an_unexpected_error_is_a_500_with_the_security_headers(
    subscription_server: SubscriptionServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object, subscriber_id: int) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(SubscriberStore, "get", broken)
    token = subscription_server.settings.signer().sign("unsubscribe", 1)
    reply = subscription_server.request("GET", f"unsubscribe/{token}")
    assert (reply.status, reply.text) == (500, "internal error\n")
    assert all(reply.headers[h] for h in SECURITY_HEADERS)
    assert reply.headers["Cache-Control"] == "no-store"


# -- the export (item 15) ----------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+cmd", "-2+3", "@SUM(A1)",
            "\tTAB", "\rCR"]


def test_the_export_neutralises_formulas_and_keeps_the_stored_text(settings: Settings) -> None:
    with SubscriberStore.open(settings) as store:
        store.add(store.validate("ana@inau.gub.uy", "UY", "es", name="=1+2",
                                 organisation="@INAU"), status="confirmed", source="admin",
                  note="-designated")
        # Rows from before the name allowlist (or written by another tool) may hold anything.
        with store.database.transaction() as conn:
            for n, text in enumerate(FORMULAS):
                conn.execute(
                    "INSERT INTO subscribers (email, name, organisation, state, lang, status, "
                    "source, note, requested_at, updated_at) VALUES (?, ?, ?, 'UY', 'es', "
                    "'confirmed', 'import', ?, 'now', 'now')",
                    (f"old{n}@gov.uy", text, text, text))
        out = io.StringIO()
        export_csv(store, out)
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert (rows[0]["name"], rows[0]["organisation"], rows[0]["note"]) == (
            "'=1+2", "'@INAU", "'-designated")
        for row, text in zip(rows[1:], FORMULAS, strict=True):
            assert row["name"] == row["organisation"] == row["note"] == "'" + text
        for row in rows:  # nothing a spreadsheet would run
            assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r"))
                           for cell in row.values())
        ana = store.get_by_email("ana@inau.gub.uy")
        assert ana is not None and (ana.name, ana.organisation, ana.note) == (
            "=1+2", "@INAU", "-designated")


# -- files only their owner reads (item 16) ----------------------------------------------------


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_its_companions_are_private_whatever_the_umask(
    settings: Settings, permissive_umask: None
) -> None:
    database = settings.path(settings.subscribers.database)
    with SubscriberStore.open(settings) as store:
        store.add(store.validate("ana@inau.gub.uy", "UY", "es"), status="pending",
                  source="admin")
        companions = [database.with_name(database.name + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in companions)
        assert [mode(p) for p in (database, *companions)] == [0o600] * 3


def test_an_existing_database_made_by_an_older_version_is_tightened(
    settings: Settings, permissive_umask: None
) -> None:
    database = settings.path(settings.subscribers.database)
    SubscriberStore.open(settings).close()
    database.chmod(0o644)
    SubscriberStore.open(settings).close()
    assert mode(database) == 0o600


def test_an_export_file_is_private_whatever_the_umask(
    project: Path, permissive_umask: None, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(project / "newsletter.toml")
    assert main(["--config", config, "subscribers", "add", "ana@inau.gub.uy", "--state", "UY",
                 "--lang", "es", "--confirmed", "--note", "n"]) == 0
    target = project / "export.csv"
    target.write_text("old, readable by all\n", encoding="utf-8")
    target.chmod(0o644)
    assert main(["--config", config, "subscribers", "export", "--output", str(target)]) == 0
    assert mode(target) == 0o600
    assert target.read_text(encoding="utf-8").splitlines()[1].startswith("ana@inau.gub.uy,")
    fresh = project / "fresh.csv"
    assert main(["--config", config, "subscribers", "export", "--output", str(fresh)]) == 0
    assert mode(fresh) == 0o600
