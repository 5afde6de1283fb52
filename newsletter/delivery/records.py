"""What the send ledger holds and refuses: its records and its errors.

`Campaign` is one row of `campaigns`, `Pending` a row of `deliveries` due to be sent (with the
subscriber's current address), `Outcome` what a transport answered for one, `LockHolder` the row
of `send_lock`, `RunRecord` one row of `send_runs`, `LanguageFigures` a campaign's counts for one
edition; `AudienceRows` turns a frozen audience into rows of `deliveries`. The statements that
read and write them are `ledger.Ledger`'s.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from newsletter.errors import NewsletterError
from newsletter.subscribers import Subscriber

# Which edition a subscriber of a language gets (None: none): `EmailEditions.edition_for`, which
# follows the settings' fallback chain, so the ledger records exactly what mail renders.
EditionChooser = Callable[[str], "str | None"]


class LedgerError(NewsletterError):
    """The ledger cannot do what was asked (no campaign, a cancelled one)."""


class MissingTranslation(NewsletterError):
    """Subscribers chose a language the issue lacks and no fallback covers."""


@dataclass(frozen=True)
class Campaign:
    """One issue's delivery: when its audience was frozen and whether it is over."""

    issue: str
    frozen_at: str
    audience: int
    completed_at: str | None
    cancelled_at: str | None


@dataclass(frozen=True)
class Pending:
    """A row that is due to be sent, joined to the subscriber's current address."""

    delivery_id: int
    subscriber_id: int
    email: str
    name: str
    edition_lang: str
    attempts: int
    lang: str = ""  # the subscriber's language at the freeze (default: the edition's)

    def __post_init__(self) -> None:
        if not self.lang:
            object.__setattr__(self, "lang", self.edition_lang)


@dataclass(frozen=True)
class LockHolder:
    """The send that holds the lock: where it runs and when it last said it is alive."""

    issue: str
    host: str
    pid: int
    acquired_at: str
    heartbeat: float


@dataclass(frozen=True)
class Outcome:
    """What the transport answered for one row."""

    delivery_id: int
    state: str  # sent | deferred | rejected | unknown | queued (not attempted)
    provider_id: str | None = None
    error: str = ""
    next_attempt: float = 0.0


@dataclass(frozen=True)
class RunRecord:
    """One send run: where it ran, when, how it ended (running: no end yet) and what it did."""

    id: int
    issue: str
    host: str
    pid: int
    started_at: str
    ended_at: str | None
    outcome: str  # running | complete | paused | stopped | interrupted | failed
    detail: str
    sent: int
    deferred: int
    rejected: int
    unknown: int


@dataclass(frozen=True)
class LanguageFigures:
    """A campaign's rows for one edition language."""

    audience: int
    sent: int
    rejected: int
    unknown: int
    deferred: int
    owed: int  # queued, in flight, deferred or unknown


class AudienceRows:
    """The `deliveries` rows of an audience as a freeze inserts them: each subscriber's language,
    the edition `edition_for` gives it and a salted key of the normalised address; subscribers of
    a language given no edition are counted instead, and `check` refuses them all."""

    def __init__(self, issue: str, salt: str, edition_for: EditionChooser, stamp: str) -> None:
        self.issue, self.salt, self.edition_for, self.stamp = issue, salt, edition_for, stamp
        self.missing: Counter[str] = Counter()

    def of(self, audience: Iterable[Subscriber]) -> Iterator[tuple[object, ...]]:
        """(issue, subscriber id, address key, language, edition, member state, stamp) rows."""
        resolved: dict[str, str | None] = {}
        issue, salt, stamp, missing = self.issue, self.salt, self.stamp, self.missing
        for member in audience:
            if member.lang not in resolved:
                resolved[member.lang] = self.edition_for(member.lang)
            edition = resolved[member.lang]
            if edition is None:
                missing[member.lang] += 1
                continue
            address = member.email.strip().casefold()
            key = hashlib.sha256(f"{salt}:{address}".encode()).hexdigest()
            yield (issue, member.id, key, member.lang, edition, member.state, stamp)

    def check(self) -> None:
        """MissingTranslation if some subscriber's language had no edition."""
        if self.missing:
            detail = ", ".join(f"{lang}: {n} subscriber{'s' if n != 1 else ''}"
                               for lang, n in sorted(self.missing.items()))
            raise MissingTranslation(
                f"issue {self.issue} has no edition for {detail}: nothing was sent; every issue "
                "needs an edition in [site] default_language, which ends every fallback chain"
            )
