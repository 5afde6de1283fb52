"""The Ledger's figures: the read-only queries the delivery report and `status` count with.

`Ledger` inherits `LedgerFigures`; together they are the one owner of the delivery tables. Nothing
here writes.
"""

from __future__ import annotations

import sqlite3

from .records import Campaign, LanguageFigures


class LedgerFigures:
    """Counts over the delivery tables (campaigns, deliveries, events, test sends)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

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
