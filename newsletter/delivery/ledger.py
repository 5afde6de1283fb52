"""The send ledger: one row per issue × subscriber, so a campaign survives any crash.

`send ISSUE` first freezes the audience (confirmed, not suppressed, one row per normalised address,
with the edition language each subscriber gets) in one transaction. A row moves
`queued → sending → sent | rejected | deferred | unknown`; it is committed as `sending` before
the transport is called and updated after it answers. After a crash the rows left in `sending`
become `unknown`, and by default go out again with the same Message-ID (at-least-once, the
duplicates bounded by the messages that were in flight).

`Ledger` owns every statement on the delivery tables (`campaigns`, `deliveries`, `test_sends`,
`send_lock`, `delivery_events`, `send_runs`): the send, the schedule's lock, the rehearsals, the
bounces, the report and `status` (its read-only figures, at the end) all go through it, and
nothing else in the package writes SQL on them. It shares the subscriber store's database
(`Ledger.beside(store)`), so a freeze reads the subscribers and writes the deliveries in one
transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence

from newsletter.subscribers import Database, Subscriber, SubscriberStore, stamp

from .records import (
    AudienceRows,
    Campaign,
    EditionChooser,
    LanguageFigures,
    LedgerError,
    LockHolder,
    Outcome,
    Pending,
    RunRecord,
)

logger = logging.getLogger(__name__)

STATES = ("queued", "sending", "sent", "deferred", "rejected", "unknown", "skipped", "cancelled")
# States that still owe the subscriber a message.
OPEN_STATES = ("queued", "sending", "deferred", "unknown")


def utc_stamp(moment: dt.datetime | None = None) -> str:
    """An ISO 8601 UTC timestamp, to the second."""
    return stamp(moment or dt.datetime.now(dt.UTC))


class Ledger:
    """The deliveries of every campaign, in the subscribers' database."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._conn = database.conn

    @classmethod
    def beside(cls, store: SubscriberStore) -> Ledger:
        """The ledger in the store's own database, on its connection (a freeze reads the
        subscribers and writes the deliveries in one transaction)."""
        return cls(store.database)

    # -- campaigns ---------------------------------------------------------------------------

    def campaign(self, issue: str) -> Campaign | None:
        """The campaign of an issue, if its audience was ever frozen."""
        row = self._conn.execute(
            "SELECT issue, frozen_at, audience, completed_at, cancelled_at FROM campaigns "
            "WHERE issue = ?", (issue,),
        ).fetchone()
        return Campaign(*row) if row else None

    def freeze(
        self,
        issue: str,
        audience: Iterable[Subscriber],
        edition_for: EditionChooser,
        now: dt.datetime | None = None,
    ) -> int:
        """Create the campaign and its rows in one transaction; return the audience size.

        Each row records the subscriber's language and the edition `edition_for` gives them.
        MissingTranslation (nothing written) if it gives some language none. Inside a rehearsal
        (`Database.rolled_back`) nothing stays.
        """
        stamp = utc_stamp(now)
        salt = secrets.token_hex(16)
        with self.database.transaction():
            self._conn.execute(
                "INSERT INTO campaigns (issue, salt, frozen_at, audience) VALUES (?, ?, ?, 0)",
                (issue, salt, stamp),
            )
            count = self._insert_rows(issue, salt, audience, edition_for, stamp)
            self._conn.execute("UPDATE campaigns SET audience = ? WHERE issue = ?", (count, issue))
        logger.info("froze the audience of %s: %d subscribers", issue, count)
        return count

    def add_new(
        self,
        issue: str,
        audience: Iterable[Subscriber],
        edition_for: EditionChooser,
        now: dt.datetime | None = None,
    ) -> int:
        """`--include-new`: add subscribers confirmed since the freeze; return how many."""
        stamp = utc_stamp(now)
        salt = self._conn.execute(
            "SELECT salt FROM campaigns WHERE issue = ?", (issue,)).fetchone()
        if salt is None:
            raise LedgerError(f"issue {issue} has no campaign yet")
        with self.database.transaction():
            added = self._insert_rows(issue, salt[0], audience, edition_for, stamp)
            self._conn.execute(
                "UPDATE campaigns SET audience = audience + ?, completed_at = NULL WHERE issue = ?",
                (added, issue),
            )
        return added

    def _insert_rows(
        self,
        issue: str,
        salt: str,
        audience: Iterable[Subscriber],
        edition_for: EditionChooser,
        stamp: str,
    ) -> int:
        rows = AudienceRows(issue, salt, edition_for, stamp)
        before = self._conn.total_changes
        self._conn.executemany(
            "INSERT OR IGNORE INTO deliveries (issue, subscriber_id, address_key, lang, "
            "edition_lang, member_state, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)",
            rows.of(audience),
        )
        rows.check()
        return self._conn.total_changes - before

    def cancel(self, issue: str, now: dt.datetime | None = None) -> int:
        """End a campaign: the rows still owed become `cancelled`; return how many."""
        stamp = utc_stamp(now)
        with self.database.transaction():
            cur = self._conn.execute(
                "UPDATE deliveries SET state = 'cancelled', updated_at = ? "
                "WHERE issue = ? AND state IN ('queued', 'deferred', 'unknown', 'sending')",
                (stamp, issue),
            )
            self._conn.execute(
                "UPDATE campaigns SET cancelled_at = ? WHERE issue = ?", (stamp, issue)
            )
        return cur.rowcount

    # -- the run -----------------------------------------------------------------------------

    def recover(self, issue: str, now: dt.datetime | None = None) -> int:
        """Rows a dead run left in `sending` become `unknown`; return how many."""
        with self.database.transaction():
            cur = self._conn.execute(
                "UPDATE deliveries SET state = 'unknown', error = 'the run stopped while sending', "
                "updated_at = ? WHERE issue = ? AND state = 'sending'",
                (utc_stamp(now), issue),
            )
        if cur.rowcount:
            logger.warning("%s: %d deliveries were in flight when a run died", issue, cur.rowcount)
        return cur.rowcount

    def requeue(self, issue: str, state: str, now: dt.datetime | None = None) -> int:
        """Put every row of one state (unknown, rejected) back in the queue; return how many."""
        with self.database.transaction():
            cur = self._conn.execute(
                "UPDATE deliveries SET state = 'queued', attempts = 0, next_attempt = 0, "
                "updated_at = ? WHERE issue = ? AND state = ?",
                (utc_stamp(now), issue, state),
            )
            if cur.rowcount:
                self._conn.execute(
                    "UPDATE campaigns SET completed_at = NULL WHERE issue = ?", (issue,)
                )
        return cur.rowcount

    def due(self, issue: str, after_id: int, limit: int, now: float) -> list[Pending]:
        """Rows to send next (queued, or deferred and due), with the subscriber's address.

        Rows whose subscriber left since the freeze (unsubscribed, bounced, erased) become
        `skipped` here, so nobody is mailed after saying stop.
        """
        rows = self._conn.execute(
            "SELECT d.id, d.subscriber_id, s.email, s.name, d.lang, d.edition_lang, d.attempts, "
            "s.status "
            "FROM deliveries d LEFT JOIN subscribers s ON s.id = d.subscriber_id "
            "WHERE d.issue = ? AND d.id > ? AND (d.state = 'queued' OR "
            "(d.state = 'deferred' AND d.next_attempt <= ?)) ORDER BY d.id LIMIT ?",
            (issue, after_id, now, limit),
        ).fetchall()
        pending: list[Pending] = []
        gone: list[int] = []
        for delivery_id, subscriber_id, email, name, lang, edition_lang, attempts, status in rows:
            if email is None or status != "confirmed":
                gone.append(delivery_id)
            else:
                pending.append(Pending(delivery_id, subscriber_id, email, name, edition_lang,
                                       attempts, lang))
        if gone:
            with self.database.transaction():
                self._conn.executemany(
                    "UPDATE deliveries SET state = 'skipped', error = 'no longer subscribed', "
                    "updated_at = ? WHERE id = ?",
                    [(utc_stamp(), i) for i in gone],
                )
        return pending

    def next_retry(self, issue: str) -> float | None:
        """When the earliest deferred row is due again (None if nothing is deferred)."""
        row = self._conn.execute(
            "SELECT min(next_attempt) FROM deliveries WHERE issue = ? AND state = 'deferred'",
            (issue,),
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def claim(self, delivery_ids: Sequence[int]) -> None:
        """Commit rows as `sending` before their transport calls (the crash-safety rule)."""
        self.settle((), delivery_ids)

    def record(self, outcomes: Sequence[Outcome]) -> None:
        """Commit what the transport answered for each row, in one transaction."""
        self.settle(outcomes, ())

    def settle(self, outcomes: Sequence[Outcome], claims: Sequence[int]) -> None:
        """Record answers and claim the next rows in one commit (a send's hot path)."""
        stamp = utc_stamp()
        with self.database.transaction():
            if outcomes:
                self._conn.executemany(
                    "UPDATE deliveries SET state = ?, provider_id = coalesce(?, provider_id), "
                    "error = ?, next_attempt = ?, updated_at = ?, "
                    "attempts = attempts - (CASE WHEN ? = 'queued' THEN 1 ELSE 0 END) "
                    "WHERE id = ?",
                    [(o.state, o.provider_id, o.error, o.next_attempt, stamp, o.state,
                      o.delivery_id) for o in outcomes],
                )
            if claims:
                self._conn.executemany(
                    "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, "
                    "updated_at = ? WHERE id = ?",
                    [(stamp, i) for i in claims],
                )

    def finish_if_complete(self, issue: str, now: dt.datetime | None = None) -> bool:
        """Mark the campaign complete when no row is still owed; return whether it is."""
        placeholders = ", ".join("?" for _ in OPEN_STATES)
        row = self._conn.execute(
            f"SELECT 1 FROM deliveries WHERE issue = ? AND state IN ({placeholders}) LIMIT 1",
            (issue, *OPEN_STATES),
        ).fetchone()
        if row is not None:
            return False
        with self.database.transaction():
            self._conn.execute(
                "UPDATE campaigns SET completed_at = coalesce(completed_at, ?) WHERE issue = ?",
                (utc_stamp(now), issue),
            )
        return True

    def counts(self, issue: str) -> dict[str, int]:
        """How many rows are in each state."""
        counts = dict.fromkeys(STATES, 0)
        for state, n in self._conn.execute(
            "SELECT state, count(*) FROM deliveries WHERE issue = ? GROUP BY state", (issue,)
        ):
            counts[state] = n
        return counts

    def fallbacks(self, issue: str) -> dict[tuple[str, str], int]:
        """(subscriber language, edition sent) → rows, where they differ."""
        return {
            (lang, edition): n
            for lang, edition, n in self._conn.execute(
                "SELECT lang, edition_lang, count(*) FROM deliveries WHERE issue = ? "
                "AND lang != edition_lang GROUP BY lang, edition_lang ORDER BY lang",
                (issue,),
            )
        }

    def record_test_send(
        self, issue: str, lang: str, masked: str, outcome: str, provider_id: str | None, error: str
    ) -> None:
        """Keep a `--to` test send apart from the campaign."""
        with self.database.transaction():
            self._conn.execute(
                "INSERT INTO test_sends (issue, lang, recipient, outcome, provider_id, error, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (issue, lang, masked, outcome, provider_id, error, utc_stamp()),
            )

    def owed(self, issue: str, states: Sequence[str], batch: int = 500
             ) -> Iterator[tuple[int, str, str, str, str, str]]:
        """(subscriber id, address, name, language, edition language, member state) of the rows
        in `states` whose subscriber is still confirmed, in row order, streamed (a dry run)."""
        marks = ", ".join("?" for _ in states)
        cursor = self._conn.execute(
            "SELECT d.subscriber_id, s.email, s.name, d.lang, d.edition_lang, d.member_state "
            "FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
            f"WHERE d.issue = ? AND d.state IN ({marks}) AND s.status = 'confirmed' ORDER BY d.id",
            (issue, *states),
        )
        try:
            while chunk := cursor.fetchmany(batch):
                yield from chunk
        finally:
            cursor.close()

    # -- the send lock -------------------------------------------------------------------------

    def lock_holder(self, name: str) -> LockHolder | None:
        """Who holds the lock of that name, if anybody."""
        row = self._conn.execute(
            "SELECT issue, host, pid, acquired_at, heartbeat FROM send_lock WHERE name = ?",
            (name,),
        ).fetchone()
        return LockHolder(*row) if row else None

    def hold_lock(self, name: str, holder: LockHolder) -> None:
        """Write `holder` as the lock's holder (the caller decided, in its transaction)."""
        with self.database.transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO send_lock (name, issue, host, pid, acquired_at, heartbeat) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (name, holder.issue, holder.host, holder.pid, holder.acquired_at,
                 holder.heartbeat),
            )

    def beat_lock(self, name: str, issue: str, host: str, pid: int, now: float) -> bool:
        """Refresh the holder's heartbeat; False if another process holds the lock now."""
        with self.database.transaction():
            cur = self._conn.execute(
                "UPDATE send_lock SET heartbeat = ?, issue = ? WHERE name = ? AND pid = ? "
                "AND host = ?",
                (now, issue, name, pid, host),
            )
        return cur.rowcount == 1

    def release_lock(self, name: str, host: str, pid: int) -> None:
        """Give the lock up, if that process still holds it."""
        with self.database.transaction():
            self._conn.execute(
                "DELETE FROM send_lock WHERE name = ? AND pid = ? AND host = ?", (name, pid, host)
            )

    # -- provider notifications (bounces, complaints) ------------------------------------------

    def delivery_for(self, provider_id: str) -> tuple[int | None, int | None]:
        """(delivery id, subscriber id) of the message the provider knows by that id."""
        row = self._conn.execute(
            "SELECT id, subscriber_id FROM deliveries WHERE provider_id = ? LIMIT 1",
            (provider_id,),
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def record_event(
        self, queue_message_id: str, kind: str, subtype: str, provider_id: str,
        delivery_id: int | None, subscriber_id: int | None, raw: str,
    ) -> bool:
        """Keep one notification, raw; False when that queue message was recorded before."""
        with self.database.transaction():
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO delivery_events (queue_message_id, received_at, kind, "
                "subtype, provider_id, delivery_id, subscriber_id, raw) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (queue_message_id, utc_stamp(), kind, subtype, provider_id, delivery_id,
                 subscriber_id, raw),
            )
        return cur.rowcount == 1

    def transient_bounces(self, subscriber_id: int) -> int:
        """How many bounces other than permanent ones a subscriber has had."""
        return int(self._conn.execute(
            "SELECT count(*) FROM delivery_events WHERE subscriber_id = ? AND kind = 'bounce' "
            "AND subtype != 'Permanent'", (subscriber_id,),
        ).fetchone()[0])

    # -- send runs ---------------------------------------------------------------------------

    def start_run(self, issue: str, host: str, pid: int, now: dt.datetime | None = None) -> int:
        """Record that a send run of `issue` started; return its id."""
        with self.database.transaction():
            cur = self._conn.execute(
                "INSERT INTO send_runs (issue, host, pid, started_at) VALUES (?, ?, ?, ?)",
                (issue, host, pid, utc_stamp(now)),
            )
        return int(cur.lastrowid or 0)

    def end_run(self, run_id: int, outcome: str, detail: str, tally: Mapping[str, int],
                now: dt.datetime | None = None) -> None:
        """Record how a send run ended and what it did."""
        with self.database.transaction():
            self._conn.execute(
                "UPDATE send_runs SET ended_at = ?, outcome = ?, detail = ?, sent = ?, "
                "deferred = ?, rejected = ?, unknown = ? WHERE id = ?",
                (utc_stamp(now), outcome, detail, tally.get("sent", 0), tally.get("deferred", 0),
                 tally.get("rejected", 0), tally.get("unknown", 0), run_id),
            )

    def last_run(self) -> RunRecord | None:
        """The latest send run, finished or not."""
        row = self._conn.execute(
            "SELECT id, issue, host, pid, started_at, ended_at, outcome, detail, sent, deferred, "
            "rejected, unknown FROM send_runs ORDER BY id DESC LIMIT 1").fetchone()
        return RunRecord(*row) if row else None

    # -- the report ----------------------------------------------------------------------------

    def figures(self, issue: str) -> list[tuple[str, str, str, int, int, int, int, int, int, int]]:
        """Per (language, edition sent, member state): audience, sent, rejected, unknown, owed,
        permanent bounces and complaints, in that order."""
        rows = self._conn.execute(
            """
            SELECT d.lang, d.edition_lang, d.member_state, count(*),
                   sum(d.state = 'sent'), sum(d.state = 'rejected'), sum(d.state = 'unknown'),
                   sum(d.state IN ('queued', 'deferred', 'sending')),
                   sum(EXISTS (SELECT 1 FROM delivery_events e WHERE e.delivery_id = d.id
                               AND e.kind = 'bounce' AND e.subtype = 'Permanent')),
                   sum(EXISTS (SELECT 1 FROM delivery_events e WHERE e.delivery_id = d.id
                               AND e.kind = 'complaint'))
            FROM deliveries d WHERE d.issue = ?
            GROUP BY d.lang, d.edition_lang, d.member_state
            ORDER BY d.lang, d.edition_lang, d.member_state
            """,
            (issue,),
        ).fetchall()
        return [(lang, edition, state, *(int(n) for n in counts))
                for lang, edition, state, *counts in rows]

    def errors(self, issue: str, limit: int = 20) -> list[tuple[str, str, int]]:
        """(state, error, rows) of the failed or deferred rows, the commonest first."""
        return [(state, error, int(n)) for state, error, n in self._conn.execute(
            "SELECT state, error, count(*) FROM deliveries WHERE issue = ? AND error != '' "
            "AND state IN ('rejected', 'unknown', 'deferred') GROUP BY state, error "
            "ORDER BY count(*) DESC, state, error LIMIT ?",
            (issue, limit),
        )]

    def test_send_count(self, issue: str) -> int:
        """How many `--to` test sends an issue has had."""
        return int(self._conn.execute(
            "SELECT count(*) FROM test_sends WHERE issue = ?", (issue,)).fetchone()[0])

    # -- what `status` reads -------------------------------------------------------------------

    def campaigns(self) -> list[Campaign]:
        """Every campaign, the most recently frozen first."""
        return [Campaign(*row) for row in self._conn.execute(
            "SELECT issue, frozen_at, audience, completed_at, cancelled_at FROM campaigns "
            "ORDER BY frozen_at DESC, issue")]

    def by_edition(self, issue: str) -> dict[str, LanguageFigures]:
        """Per edition language: audience, sent, rejected, unknown, deferred and still owed."""
        return {lang: LanguageFigures(*(int(n) for n in counts)) for lang, *counts in
                self._conn.execute(
                    "SELECT edition_lang, count(*), sum(state = 'sent'), "
                    "sum(state = 'rejected'), sum(state = 'unknown'), sum(state = 'deferred'), "
                    "sum(state IN ('queued', 'sending', 'deferred', 'unknown')) "
                    "FROM deliveries WHERE issue = ? GROUP BY edition_lang ORDER BY edition_lang",
                    (issue,))}

    def sent_since(self, since: str) -> int:
        """Messages recorded as sent at or after `since` (an ISO 8601 UTC stamp)."""
        return int(self._conn.execute(
            "SELECT count(*) FROM deliveries WHERE state = 'sent' AND updated_at >= ?", (since,)
        ).fetchone()[0])

    def events_since(self, since: str) -> dict[tuple[str, str], int]:
        """(kind, subtype) → notifications received at or after `since`."""
        return {(kind, subtype): int(n) for kind, subtype, n in self._conn.execute(
            "SELECT kind, subtype, count(*) FROM delivery_events WHERE received_at >= ? "
            "GROUP BY kind, subtype", (since,))}
