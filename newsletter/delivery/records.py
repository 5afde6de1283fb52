"""What the send ledger holds and refuses: its records and its errors.

`Campaign` is one row of `campaigns`, `Pending` a row of `deliveries` due to be sent (with the
subscriber's current address), `Outcome` what a transport answered for one, `LockHolder` the row
of `send_lock`, `RunRecord` one row of `send_runs`, `LanguageFigures` a campaign's counts for one
edition. The statements that read and write them are `ledger.Ledger`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.errors import NewsletterError


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
