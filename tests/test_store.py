"""The subscriber store on a real SQLite file: migrations, uniqueness, events, suppression."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from newsletter.addresses import InvalidAddress, mask_email
from newsletter.settings import Settings
from newsletter.subscribers.database import StoreError, connect, open_database
from newsletter.subscribers.migrations import MIGRATIONS
from newsletter.subscribers.records import (
    ConsentMissing,
    DuplicateSubscriber,
    NotPending,
    SuppressedAddress,
    UnknownLanguage,
    UnknownState,
)
from newsletter.subscribers.store import SubscriberStore


@pytest.fixture
def store(settings: Settings) -> SubscriberStore:
    s = SubscriberStore.open(settings)
    yield s
    s.close()


def tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def schema_objects(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def test_open_database_creates_the_schema_in_wal_mode(tmp_path: Path) -> None:
    db = open_database(tmp_path / "sub" / "subscribers.db")
    assert db.schema_version() == len(MIGRATIONS)
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert {"subscribers", "subscriber_events", "suppressions", "store_meta"} <= tables(db.conn)
    db.close()


def test_reopening_is_a_no_op(tmp_path: Path) -> None:
    open_database(tmp_path / "s.db").close()
    db = open_database(tmp_path / "s.db")
    assert db.schema_version() == len(MIGRATIONS)
    assert db.conn.execute("SELECT count(*) FROM store_meta").fetchone()[0] == 1
    db.close()


def test_migrates_from_the_previous_version_keeping_the_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = connect(path)
    assert db.migrate(MIGRATIONS[:-1]) == len(MIGRATIONS) - 1
    db.conn.execute(
        "INSERT INTO subscribers (email, state, lang, status, source, requested_at, updated_at) "
        "VALUES ('ana@gov.uy', 'UY', 'es', 'confirmed', 'import', 'x', 'x')"
    )
    db.close()
    db = open_database(path)
    assert db.schema_version() == len(MIGRATIONS)
    assert db.conn.execute("SELECT email FROM subscribers").fetchall() == [("ana@gov.uy",)]
    fresh = open_database(tmp_path / "fresh.db")
    assert schema_objects(db.conn) == schema_objects(fresh.conn)
    db.close()
    fresh.close()


def test_migrates_from_version_1(tmp_path: Path) -> None:
    db = connect(tmp_path / "v1.db")
    db.migrate(MIGRATIONS[:1])
    assert "subscribers_by_state" not in schema_objects(db.conn)
    db.close()
    db = open_database(tmp_path / "v1.db")
    assert "subscribers_by_state" in schema_objects(db.conn)
    db.close()


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.db")
    broken = [*MIGRATIONS, "CREATE TABLE extra (a TEXT);\nCREATE TABLE subscribers (b TEXT);"]
    failed = f"migration {len(broken)} failed: table subscribers already exists"
    with pytest.raises(StoreError, match=failed):
        db.migrate(broken)
    assert db.schema_version() == len(MIGRATIONS)
    assert "extra" not in tables(db.conn)
    db.close()


def test_an_appended_callable_migration_runs_once(tmp_path: Path) -> None:
    calls: list[int] = []

    def add_ledger(conn: sqlite3.Connection) -> None:
        calls.append(1)
        conn.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY)")

    db = connect(tmp_path / "s.db")
    assert db.migrate([*MIGRATIONS, add_ledger]) == len(MIGRATIONS) + 1
    assert db.migrate([*MIGRATIONS, add_ledger]) == len(MIGRATIONS) + 1
    assert calls == [1]
    assert "ledger" in tables(db.conn)
    db.close()


def test_a_newer_file_is_refused(tmp_path: Path) -> None:
    db = connect(tmp_path / "s.db")
    db.conn.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreError, match="schema version 99 is newer than this program knows"):
        open_database(tmp_path / "s.db")


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "s.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="s.db: cannot open the database"):
        open_database(tmp_path / "s.db")


def test_addresses_are_normalised_and_unique_case_insensitively(store: SubscriberStore) -> None:
    first = store.add(store.validate(" Ana@GOV.UY ", "uy", "ES"),
                      status="confirmed", source="admin",
                      note="designated by INAU")
    assert (first.email, first.state, first.lang) == ("Ana@gov.uy", "UY", "es")
    with pytest.raises(DuplicateSubscriber, match=r"^an\*\*\*@gov.uy is already subscribed$"):
        store.add(store.validate("ana@gov.uy", "AR", "en"), status="pending", source="admin")
    assert [s.id for s in store.iter_subscribers()] == [first.id]


@pytest.mark.parametrize(
    ("email", "state", "lang", "error", "message"),
    [
        ("not-an-address", "UY", "es", InvalidAddress, "not a valid email address"),
        ("", "UY", "es", InvalidAddress, "the email address is empty"),
        ("ana@gov.uy", "XX", "es", UnknownState, "unknown member state 'XX'"),
        ("ana@gov.uy", "UY", "de", UnknownLanguage,
         "unknown language 'de' \\(use one of es, en\\)"),
    ],
)
def test_validation_names_the_problem(
    store: SubscriberStore, email: str, state: str, lang: str, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        store.validate(email, state, lang)


def test_status_changes_are_appended_as_events(store: SubscriberStore) -> None:
    s = store.request(store.validate("ana@gov.uy", "UY", "es"), ip="192.0.2.7")
    assert s is not None and s.status == "pending" and s.request_ip == "192.0.2.7"
    confirmed = store.confirm(s.id, ip="192.0.2.8")
    assert (confirmed.status, confirmed.confirm_ip) == ("confirmed", "192.0.2.8")
    assert confirmed.confirmed_at is not None
    assert store.confirm(s.id, ip="192.0.2.9").confirm_ip == "192.0.2.8"  # idempotent
    store.change_language(s.id, "en")
    store.unsubscribe(s.id, "one-click")
    store.unsubscribe(s.id, "one-click")  # idempotent: no second event
    history = [(e.old_status, e.new_status, e.source, e.ip) for e in store.events(s.id)]
    assert history == [
        (None, "pending", "form", "192.0.2.7"),
        ("pending", "confirmed", "form", "192.0.2.8"),
        ("confirmed", "confirmed", "form", None),
        ("confirmed", "unsubscribed", "one-click", None),
    ]
    assert store.events(s.id)[2].reason == "language es → en"
    with pytest.raises(NotPending):
        store.confirm(s.id, ip=None)


def test_set_status_appends_and_never_overwrites(store: SubscriberStore) -> None:
    s = store.add(store.validate("ana@gov.uy", "UY", "es"), status="confirmed", source="admin",
                  note="designated by INAU")
    store.set_status(s.id, "bounced", "hard bounce", source="ses")
    store.set_status(s.id, "bounced", "hard bounce again", source="ses")
    assert [e.new_status for e in store.events(s.id)] == ["confirmed", "bounced"]
    assert store.get(s.id).status == "bounced"  # type: ignore[union-attr]


def test_iter_confirmed_filters_by_language_and_status(store: SubscriberStore) -> None:
    ids = {}
    for email, lang, status in [("a@x.org", "es", "confirmed"), ("b@x.org", "en", "confirmed"),
                                ("c@x.org", "es", "pending"), ("d@x.org", "es", "confirmed")]:
        ids[email] = store.add(store.validate(email, "UY", lang), status=status, source="import",
                               note="liaisons list").id
    assert [s.email for s in store.iter_confirmed("es")] == ["a@x.org", "d@x.org"]
    assert [s.email for s in store.iter_confirmed()] == ["a@x.org", "b@x.org", "d@x.org"]
    store.suppress("d@x.org", "complaint")
    assert [s.email for s in store.iter_confirmed("es")] == ["a@x.org"]
    assert store.get(ids["d@x.org"]).status == "complained"  # type: ignore[union-attr]


def test_suppression_survives_reimport_and_erasure_keeps_only_a_hash(
    store: SubscriberStore, settings: Settings
) -> None:
    s = store.add(store.validate("ana@gov.uy", "UY", "es"), status="confirmed", source="import",
                  note="liaisons list")
    assert store.erase("ANA@gov.uy") is True
    assert store.get(s.id) is None
    assert store.events(s.id) == []
    assert store.is_suppressed("ana@gov.uy")
    with pytest.raises(SuppressedAddress, match="on the suppression list \\(erasure\\)"):
        store.add(store.validate("ana@gov.uy", "UY", "es"), status="confirmed", source="import",
                  note="liaisons list")
    assert store.request(store.validate("ana@gov.uy", "UY", "es"), ip=None) is None
    store.close()
    raw = sqlite3.connect(settings.path(settings.subscribers.database))
    dump = "\n".join(raw.iterdump()).lower()
    raw.close()
    assert "ana@gov.uy" not in dump
    # A new subscriber never gets the erased one's id (old links cannot act on them).
    again = SubscriberStore.open(settings)
    other = again.add(again.validate("otro@gov.uy", "UY", "es"), status="confirmed", source="admin",
                      note="designated by INAU")
    assert other.id > s.id
    again.close()


def test_the_clock_is_injectable(settings: Settings) -> None:
    fixed = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    store = SubscriberStore.open(settings, clock=lambda: fixed)
    s = store.add(store.validate("ana@gov.uy", "UY", "es"), status="confirmed", source="admin",
                  note="designated by INAU")
    assert (s.requested_at, s.confirmed_at) == ("2026-11-28T12:00:00Z", "2026-11-28T12:00:00Z")
    store.close()


def test_a_confirmed_subscriber_needs_a_consent_note(store: SubscriberStore) -> None:
    candidate = store.validate("ana@gov.uy", "UY", "es")
    for note in ("", "   "):
        with pytest.raises(ConsentMissing, match="--confirmed needs --note saying who designated"):
            store.add(candidate, status="confirmed", source="admin", note=note)
    assert list(store.iter_subscribers()) == []
    assert store.add(candidate, status="pending", source="admin").status == "pending"


def test_a_failed_step_inside_a_transaction_undoes_only_itself(store: SubscriberStore) -> None:
    """A caller's transaction around several changes: one that fails leaves the others."""
    with store.database.transaction():
        kept = store.add(store.validate("ana@gov.uy", "UY", "es"), status="pending",
                         source="admin")
        with pytest.raises(DuplicateSubscriber):
            store.add(store.validate("ANA@gov.uy", "UY", "es"), status="pending", source="admin")
    assert [s.id for s in store.iter_subscribers()] == [kept.id]
    with pytest.raises(RuntimeError), store.database.transaction():
        store.add(store.validate("otro@gov.uy", "UY", "es"), status="pending", source="admin")
        raise RuntimeError("the caller fails after the change")
    assert [s.id for s in store.iter_subscribers()] == [kept.id]
    # insert() is add() inside the caller's transaction; alone it would commit half a change.
    with pytest.raises(StoreError, match="needs the caller's transaction"):
        store.insert(store.validate("tres@gov.uy", "UY", "es"), status="pending", source="admin",
                     note="")


def test_mask_email() -> None:
    assert mask_email("maria@gov.uy") == "ma***@gov.uy"
    assert mask_email("nobody") == "***"
