"""Every statement on the subscriber tables, in one place: subscribers, their status events, the
suppression list, the store's salt, the read-only figures, and the subscription pages' two
queues (sign-ups from the form, confirmation emails to send).

`SubscriberQueries` is the data access of `SubscriberStore` (`store.queries`) and of its
`ConfirmationOutbox`: each method is one statement (or one streamed query) on the database's
connection, with no rules and no transaction of its own. The store decides (validation, consent,
suppression, which status may follow which) and opens the transaction
(`Database.transaction()`) its statements run in; nothing else in the package writes SQL on these
tables. The schema is `migrations.py`'s; the connection and the file are `database.py`'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .database import Database
from .records import COLUMNS, NewSubscriber, StatusEvent, Subscriber, subscriber_from_row

_EVENT_COLUMNS = "subscriber_id, at, old_status, new_status, reason, source, ip"


class SubscriberQueries:
    """The statements on the subscriber tables and the sign-up and confirmation queues."""

    def __init__(self, database: Database) -> None:
        self._conn: sqlite3.Connection = database.conn

    def _one(self, sql: str, params: Sequence[object] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
        return row

    def _count(self, sql: str, params: Sequence[object] = ()) -> int:
        row = self._one(sql, params)
        return int(row[0]) if row else 0

    def salt(self) -> str:
        """The secret that salts the suppression list's hashes (made by migration 1)."""
        return str(self._conn.execute(
            "SELECT value FROM store_meta WHERE key = 'salt'").fetchone()[0])

    # -- subscribers: reading ----------------------------------------------------------------

    def subscriber(self, subscriber_id: int) -> Subscriber | None:
        """The subscriber with that id, or None."""
        row = self._conn.execute(
            f"SELECT {COLUMNS} FROM subscribers WHERE id = ?", (subscriber_id,)).fetchone()
        return Subscriber(*row) if row else None

    def subscriber_by_email(self, address: str) -> Subscriber | None:
        """The subscriber with that stored address (the column compares case-insensitively)."""
        row = self._conn.execute(
            f"SELECT {COLUMNS} FROM subscribers WHERE email = ?", (address,)).fetchone()
        return Subscriber(*row) if row else None

    def confirmed(self, lang: str | None = None) -> Iterator[Subscriber]:
        """Confirmed subscribers (of one language) in id order, streamed from a cursor."""
        if lang is None:
            cursor = self._conn.execute(
                f"SELECT {COLUMNS} FROM subscribers WHERE status = 'confirmed' ORDER BY id")
        else:
            cursor = self._conn.execute(
                f"SELECT {COLUMNS} FROM subscribers WHERE status = 'confirmed' AND lang = ? "
                "ORDER BY id", (lang,))
        cursor.row_factory = subscriber_from_row
        try:
            yield from cursor
        finally:
            cursor.close()

    def subscribers(self, status: str | None = None) -> Iterator[Subscriber]:
        """Every subscriber (or those of one status) in id order, streamed."""
        sql = f"SELECT {COLUMNS} FROM subscribers"
        params: tuple[str, ...] = ()
        if status:
            sql += " WHERE status = ?"
            params = (status,)
        cursor = self._conn.execute(sql + " ORDER BY id", params)
        try:
            while rows := cursor.fetchmany(1000):
                for row in rows:
                    yield Subscriber(*row)
        finally:
            cursor.close()

    def last_id(self) -> int:
        """The highest subscriber id so far (0 for an empty table)."""
        return self._count("SELECT coalesce(max(id), 0) FROM subscribers")

    def events(self, subscriber_id: int) -> list[StatusEvent]:
        """A subscriber's status history, oldest first."""
        return [StatusEvent(*row) for row in self._conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM subscriber_events WHERE subscriber_id = ? ORDER BY id",
            (subscriber_id,))]

    # -- subscribers: writing (inside the caller's transaction) ------------------------------

    def insert_subscriber(self, c: NewSubscriber, status: str, source: str, note: str,
                          now: str, confirmed_at: str | None, ip: str | None) -> int:
        """Insert a subscriber; return its id (sqlite3.IntegrityError if the address is taken)."""
        cursor = self._conn.execute(
            "INSERT INTO subscribers (email, name, organisation, state, lang, status, source, "
            "note, requested_at, confirmed_at, request_ip, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (c.email, c.name, c.organisation, c.state, c.lang, status, source, note, now,
             confirmed_at, ip, now),
        )
        return int(cursor.lastrowid or 0)

    def add_event(self, subscriber_id: int, old: str | None, new: str, reason: str,
                  source: str, ip: str | None, at: str) -> None:
        """Append one change of status to a subscriber's history."""
        self._conn.execute(
            f"INSERT INTO subscriber_events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (subscriber_id, at, old, new, reason, source, ip),
        )

    def set_status(self, subscriber_id: int, status: str, now: str, ip: str | None) -> None:
        """Set a status; `confirmed` also records when and from where."""
        if status == "confirmed":
            self._conn.execute(
                "UPDATE subscribers SET status = ?, confirmed_at = ?, confirm_ip = ?, "
                "updated_at = ? WHERE id = ?", (status, now, ip, now, subscriber_id))
        else:
            self._conn.execute("UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ?",
                               (status, now, subscriber_id))

    def set_details(self, subscriber_id: int, c: NewSubscriber, now: str) -> None:
        """Take a candidate's name, organisation, member state and language."""
        self._conn.execute(
            "UPDATE subscribers SET name = ?, organisation = ?, state = ?, lang = ?, "
            "updated_at = ? WHERE id = ?",
            (c.name, c.organisation, c.state, c.lang, now, subscriber_id))

    def set_note(self, subscriber_id: int, note: str) -> None:
        """Replace a subscriber's consent note."""
        self._conn.execute("UPDATE subscribers SET note = ? WHERE id = ?", (note, subscriber_id))

    def set_language(self, subscriber_id: int, lang: str, now: str) -> None:
        """Send a subscriber another language from now on."""
        self._conn.execute("UPDATE subscribers SET lang = ?, updated_at = ? WHERE id = ?",
                           (lang, now, subscriber_id))

    def request_again(self, subscriber_id: int, lang: str, now: str, ip: str | None) -> None:
        """Record a new sign-up through the form of somebody who had left."""
        self._conn.execute(
            "UPDATE subscribers SET lang = ?, source = 'form', requested_at = ?, request_ip = ? "
            "WHERE id = ?", (lang, now, ip, subscriber_id))

    def delete_subscriber(self, subscriber_id: int) -> None:
        """Delete a subscriber and (by the foreign keys) their history."""
        self._conn.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,))

    # -- the suppression list ----------------------------------------------------------------

    def any_suppressed(self) -> bool:
        """Whether the suppression list holds anything at all."""
        return self._one("SELECT 1 FROM suppressions LIMIT 1") is not None

    def suppression_reason(self, email_hash: str) -> str | None:
        """Why the address with that hash is suppressed, or None."""
        row = self._one("SELECT reason FROM suppressions WHERE email_hash = ?", (email_hash,))
        return str(row[0]) if row else None

    def add_suppression(self, email_hash: str, email: str, reason: str, now: str) -> None:
        """Suppress an address (kept as it was, if it already is)."""
        self._conn.execute(
            "INSERT INTO suppressions (email_hash, email, reason, at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (email_hash) DO NOTHING", (email_hash, email, reason, now))

    def suppress_erased(self, email_hash: str, now: str) -> None:
        """Suppress an erased address for good: its hash only, the address itself forgotten."""
        self._conn.execute(
            "INSERT INTO suppressions (email_hash, email, reason, at) VALUES (?, NULL, "
            "'erasure', ?) ON CONFLICT (email_hash) DO UPDATE SET email = NULL, "
            "reason = 'erasure', at = excluded.at", (email_hash, now))

    # -- figures (read-only) -----------------------------------------------------------------

    def languages_in_use(self) -> set[str]:
        """Every language some subscriber has."""
        return {row[0] for row in self._conn.execute("SELECT DISTINCT lang FROM subscribers")}

    def status_counts(self) -> list[tuple[str, str, int]]:
        """(status, language, subscribers)."""
        return self._conn.execute(
            "SELECT status, lang, count(*) FROM subscribers GROUP BY status, lang").fetchall()

    def confirmed_state_counts(self) -> list[tuple[str, str, int]]:
        """(member state, language, confirmed subscribers)."""
        return self._conn.execute(
            "SELECT state, lang, count(*) FROM subscribers WHERE status = 'confirmed' "
            "GROUP BY state, lang").fetchall()

    def pending_confirmations(self) -> tuple[int, str | None]:
        """(how many subscribers are pending, the oldest request among them)."""
        count, oldest = self._conn.execute(
            "SELECT count(*), min(requested_at) FROM subscribers WHERE status = 'pending'"
        ).fetchone()
        return int(count), oldest

    def last_event(self) -> StatusEvent | None:
        """The latest change of any subscriber's status."""
        row = self._conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM subscriber_events ORDER BY id DESC LIMIT 1").fetchone()
        return StatusEvent(*row) if row else None

    def suppression_count(self) -> int:
        """How many addresses are suppressed."""
        return self._count("SELECT count(*) FROM suppressions")

    # -- the form's sign-up queue ------------------------------------------------------------

    def add_sign_up(self, c: NewSubscriber, ip: str | None, now: str) -> None:
        """Keep one sign-up as the form received it."""
        self._conn.execute(
            "INSERT INTO sign_up_requests (email, name, organisation, state, lang, ip, "
            "received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (c.email, c.name, c.organisation, c.state, c.lang, ip, now))

    def sign_ups(self, limit: int) -> list[tuple[int, NewSubscriber, str | None]]:
        """(id, candidate, ip) of the oldest sign-ups."""
        return [(row[0], NewSubscriber(*row[1:6]), row[6]) for row in self._conn.execute(
            "SELECT id, email, name, organisation, state, lang, ip FROM sign_up_requests "
            "ORDER BY id LIMIT ?", (limit,))]

    def delete_sign_ups(self, ids: Iterable[int]) -> None:
        """Forget sign-ups that were decided."""
        self._conn.executemany("DELETE FROM sign_up_requests WHERE id = ?",
                               [(i,) for i in ids])

    def delete_sign_ups_of(self, email: str) -> None:
        """Forget every waiting sign-up of an address (case-insensitively)."""
        self._conn.execute("DELETE FROM sign_up_requests WHERE email = ? COLLATE NOCASE",
                           (email,))

    def sign_up_count(self) -> int:
        """How many sign-ups wait to be decided."""
        return self._count("SELECT count(*) FROM sign_up_requests")

    # -- the confirmation outbox -------------------------------------------------------------

    def confirmation_queued_since(self, subscriber_id: int, since: str) -> bool:
        """Whether an email was queued for the subscriber after `since`."""
        return self._one("SELECT 1 FROM confirmation_emails WHERE subscriber_id = ? AND "
                         "queued_at > ? LIMIT 1", (subscriber_id, since)) is not None

    def add_confirmation(self, subscriber_id: int, message_token: str, now: str) -> None:
        """Queue one confirmation email."""
        self._conn.execute(
            "INSERT INTO confirmation_emails (subscriber_id, message_token, queued_at) "
            "VALUES (?, ?, ?)", (subscriber_id, message_token, now))

    def due_confirmations(self, now: float, limit: int) -> list[tuple[Any, ...]]:
        """(id, subscriber id, address, name, language, message token, attempts, subscriber's
        status) of the queued emails due at `now`, oldest first."""
        return self._conn.execute(
            "SELECT c.id, c.subscriber_id, s.email, s.name, s.lang, c.message_token, "
            "c.attempts, s.status FROM confirmation_emails c "
            "JOIN subscribers s ON s.id = c.subscriber_id "
            "WHERE c.state = 'queued' AND c.next_attempt <= ? ORDER BY c.id LIMIT ?",
            (now, limit)).fetchall()

    def skip_confirmations(self, ids: Iterable[int], error: str) -> None:
        """Mark emails as not to be sent."""
        self._conn.executemany(
            "UPDATE confirmation_emails SET state = 'skipped', error = ? WHERE id = ?",
            [(error, i) for i in ids])

    def claim_confirmations(self, ids: Iterable[int], owner: str, now: float) -> None:
        """Mark emails as `sending` by `owner`, counting the attempt."""
        self._conn.executemany(
            "UPDATE confirmation_emails SET state = 'sending', attempts = attempts + 1, "
            "claimed_by = ?, claimed_at = ? WHERE id = ?", [(owner, now, i) for i in ids])

    def settle_confirmations(
        self, rows: Iterable[tuple[str, str | None, str, float, str | None, int, int]]
    ) -> None:
        """(state, provider id, error, next attempt, sent at, attempts to give back, id)."""
        self._conn.executemany(
            "UPDATE confirmation_emails SET state = ?, provider_id = ?, error = ?, "
            "next_attempt = ?, claimed_by = NULL, claimed_at = NULL, sent_at = ?, "
            "attempts = attempts - ? WHERE id = ?", rows)

    def claimed_confirmations(self) -> list[tuple[int, str | None, float | None]]:
        """(id, claimed by, claimed at) of the emails in `sending`."""
        return self._conn.execute("SELECT id, claimed_by, claimed_at FROM confirmation_emails "
                                  "WHERE state = 'sending'").fetchall()

    def unclaim_confirmations(self, claims: Iterable[tuple[int, str | None]], error: str) -> None:
        """Put (id, owner) claims back in the queue, if that owner still holds them."""
        self._conn.executemany(
            "UPDATE confirmation_emails SET state = 'queued', claimed_by = NULL, "
            "claimed_at = NULL, error = ? WHERE id = ? AND state = 'sending' AND claimed_by IS ?",
            [(error, row_id, owner) for row_id, owner in claims])

    def confirmation_backlog(self, now: float) -> int:
        """Sign-ups not yet decided plus confirmation emails due or in flight."""
        return self._count(
            "SELECT (SELECT count(*) FROM sign_up_requests) + (SELECT count(*) FROM "
            "confirmation_emails WHERE state = 'sending' OR (state = 'queued' AND "
            "next_attempt <= ?))", (now,))

    def confirmation_counts(self) -> list[tuple[str, int]]:
        """(state, emails)."""
        return self._conn.execute(
            "SELECT state, count(*) FROM confirmation_emails GROUP BY state").fetchall()

    def confirmations_of(self, subscriber_id: int) -> list[tuple[str, str, str | None]]:
        """(state, queued at, sent at) of a subscriber's confirmation emails, oldest first."""
        return [tuple(row) for row in self._conn.execute(
            "SELECT state, queued_at, sent_at FROM confirmation_emails WHERE subscriber_id = ? "
            "ORDER BY id", (subscriber_id,))]
