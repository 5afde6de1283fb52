"""What the send ledger holds and refuses: its records and its errors.

`Campaign` is one row of `campaigns`, `Pending` a row of `deliveries` due to be sent (with the
subscriber's current address), `Outcome` what a transport answered for one, `LockHolder` the row
of `send_lock`. The statements that read and write them are `ledger.Ledger`'s.
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
