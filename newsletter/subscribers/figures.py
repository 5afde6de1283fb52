"""The subscriber store's figures: the read-only counts coverage, `status` and a restore's
summary show.

`SubscriberStore` inherits `StoreFigures`; together they are the one owner of the subscriber
tables. Nothing here writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

from newsletter.states import MemberState

from .migrations import STATUSES
from .records import StatusEvent


class StoreFigures:
    """Counts over the subscriber tables (subscribers, their events, the suppression list)."""

    def __init__(self, conn: sqlite3.Connection, languages: Sequence[str],
                 states: Mapping[str, MemberState]) -> None:
        self._conn = conn
        self.languages = tuple(languages)
        self.states = states

    def counted_languages(self) -> tuple[str, ...]:
        """Every language a count shows: the offered ones in their order, then any other that
        subscribers still have (chosen while the site offered it), alphabetically."""
        found = {row[0] for row in self._conn.execute("SELECT DISTINCT lang FROM subscribers")}
        return self.languages + tuple(sorted(found - set(self.languages)))

    def count_by_status(self) -> dict[str, dict[str, int]]:
        """{status: {lang: count}} for every status and every counted language (zeros
        included; `counted_languages`)."""
        counts = {status: dict.fromkeys(self.counted_languages(), 0) for status in STATUSES}
        for status, lang, n in self._conn.execute(
            "SELECT status, lang, count(*) FROM subscribers GROUP BY status, lang"
        ):
            counts[status][lang] = n
        return counts

    def pending_confirmations(self) -> tuple[int, str | None]:
        """(how many sign-ups wait for their confirmation, when the oldest was asked for)."""
        count, oldest = self._conn.execute(
            "SELECT count(*), min(requested_at) FROM subscribers WHERE status = 'pending'"
        ).fetchone()
        return int(count), oldest

    def last_event(self) -> StatusEvent | None:
        """The latest change of any subscriber's status (what a restored copy ends with)."""
        row = self._conn.execute(
            "SELECT subscriber_id, at, old_status, new_status, reason, source, ip "
            "FROM subscriber_events ORDER BY id DESC LIMIT 1").fetchone()
        return StatusEvent(*row) if row else None

    def suppression_count(self) -> int:
        """How many addresses are suppressed."""
        return int(self._conn.execute("SELECT count(*) FROM suppressions").fetchone()[0])

    def confirmed_by_state(self) -> dict[str, dict[str, int]]:
        """{state: {lang: confirmed count}} for every member state and counted language (zeros
        included)."""
        table = {code: dict.fromkeys(self.counted_languages(), 0) for code in self.states}
        for state, lang, n in self._conn.execute(
            "SELECT state, lang, count(*) FROM subscribers WHERE status = 'confirmed' "
            "GROUP BY state, lang"
        ):
            table.setdefault(state, {}).setdefault(lang, 0)
            table[state][lang] = n
        return table
