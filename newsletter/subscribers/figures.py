"""The subscriber store's figures: the read-only counts coverage, `status` and a restore's
summary show, shaped for them (every status, language and member state present, zeros included).

`SubscriberStore` inherits `StoreFigures`; the queries are `queries.SubscriberQueries`'. Nothing
here writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from newsletter.states import MemberState

from .migrations import STATUSES
from .queries import SubscriberQueries
from .records import StatusEvent


class StoreFigures:
    """Counts over the subscriber tables (subscribers, their events, the suppression list)."""

    def __init__(self, queries: SubscriberQueries, languages: Sequence[str],
                 states: Mapping[str, MemberState]) -> None:
        self.queries = queries
        self.languages = tuple(languages)
        self.states = states

    def counted_languages(self) -> tuple[str, ...]:
        """Every language a count shows: the offered ones in their order, then any other that
        subscribers still have (chosen while the site offered it), alphabetically."""
        found = self.queries.languages_in_use()
        return self.languages + tuple(sorted(found - set(self.languages)))

    def count_by_status(self) -> dict[str, dict[str, int]]:
        """{status: {lang: count}} for every status and every counted language (zeros
        included; `counted_languages`)."""
        counts = {status: dict.fromkeys(self.counted_languages(), 0) for status in STATUSES}
        for status, lang, n in self.queries.status_counts():
            counts[status][lang] = n
        return counts

    def pending_confirmations(self) -> tuple[int, str | None]:
        """(how many sign-ups wait for their confirmation, when the oldest was asked for)."""
        return self.queries.pending_confirmations()

    def last_event(self) -> StatusEvent | None:
        """The latest change of any subscriber's status (what a restored copy ends with)."""
        return self.queries.last_event()

    def suppression_count(self) -> int:
        """How many addresses are suppressed."""
        return self.queries.suppression_count()

    def confirmed_by_state(self) -> dict[str, dict[str, int]]:
        """{state: {lang: confirmed count}} for every member state and counted language (zeros
        included)."""
        table = {code: dict.fromkeys(self.counted_languages(), 0) for code in self.states}
        for state, lang, n in self.queries.confirmed_state_counts():
            table.setdefault(state, {}).setdefault(lang, 0)
            table[state][lang] = n
        return table
