"""The subscription pages' durable queues: sign-ups as the form received them, and the
confirmation emails to send. Both live in the subscribers' database, so nothing is lost on a crash,
a SIGTERM or a restart.

- `sign_up_requests`: the form's POST inserts one row, the same single statement for a new, a
  pending, a confirmed or a suppressed address, so the answer takes the same time for each and
  says nothing about who subscribes. `take_sign_ups` later decides each one through the store's
  rules (`SubscriberStore.request`) and queues a confirmation when somebody should get one.
- `confirmation_emails`: an outbox. `queue` adds one email for a pending subscriber unless one was
  queued for them within the cooldown (so twenty POSTs give one email); each row keeps a random
  token for its Message-ID. A sender `claim`s due rows (committed as `sending`, with who claimed
  them) before it calls the transport and `settle`s each answer after: a process killed in
  between leaves its rows in `sending`, and `recover` puts them back in the queue once that
  process is gone. Delivery is therefore at-least-once: only a message in flight at a hard kill
  can go twice, and it goes with the same Message-ID.

`ConfirmationOutbox` keeps these two tables (their statements are written in
`queries.SubscriberQueries`); it is the subscriber store's (`store.outbox`), on the store's
queries and inside its transactions, and decides a sign-up with the store's own rule
(`SubscriberStore.request`, handed to it).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from newsletter.addresses import mask_email

from .database import Database, stamp
from .queries import SubscriberQueries
from .records import NewSubscriber, Subscriber, SubscriberError

logger = logging.getLogger(__name__)

# A claim older than this is taken back even when its owner cannot be asked (another host).
STALE_CLAIM_SECONDS = 900.0


@dataclass(frozen=True)
class QueuedConfirmation:
    """A confirmation email claimed for sending, with its subscriber as they are now."""

    id: int
    subscriber_id: int
    email: str
    name: str
    lang: str
    message_token: str
    attempts: int


@dataclass(frozen=True)
class ConfirmationOutcome:
    """What became of one claimed email: sent, deferred (tried; again at `next_attempt`), failed
    (for good), skipped, or queued (not attempted: the transport could not be used at all)."""

    id: int
    state: str
    provider_id: str | None = None
    error: str = ""
    next_attempt: float = 0.0


# The senders alive in this process (their claim names): a claim with this process's pid but
# another name was made by an earlier process that had the same pid.
_LIVE: set[str] = set()


def new_claimant() -> str:
    """A name for one sender's claims, `host:pid:random`, alive until `retire_claimant`."""
    name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    _LIVE.add(name)
    return name


def retire_claimant(name: str) -> None:
    """The sender of that name has stopped: its claims (if any) may be taken back."""
    _LIVE.discard(name)


def claim_is_dead(owner: str, host: str | None = None) -> bool:
    """Whether the sender that claimed a row is gone (only answerable on its own host)."""
    owner_host, _, rest = owner.partition(":")
    pid, _, _ = rest.partition(":")
    if owner_host != (host or socket.gethostname()) or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return owner not in _LIVE
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class ConfirmationOutbox:
    """The sign-up queue and the confirmation outbox of one subscriber store."""

    def __init__(
        self,
        database: Database,
        queries: SubscriberQueries,
        clock: Callable[[], dt.datetime],
        request: Callable[[NewSubscriber, str | None], Subscriber | None],
    ) -> None:
        self.database = database
        self.queries = queries
        self.clock = clock
        self.request = request

    # -- sign-ups from the form ------------------------------------------------------------

    def queue_sign_up(self, candidate: NewSubscriber, ip: str | None) -> None:
        """Keep one sign-up from the form: one insert, whatever the address."""
        with self.database.transaction():
            self.queries.add_sign_up(candidate, ip, stamp(self.clock()))

    def take_sign_ups(self, cooldown_seconds: float, limit: int = 100) -> int:
        """Decide the oldest sign-ups (the store's rules), queue their confirmations, and forget
        them, in one transaction; return how many were taken."""
        with self.database.transaction():
            rows = self.queries.sign_ups(limit)
            for _, candidate, ip in rows:
                try:
                    subscriber = self.request(candidate, ip)
                except SubscriberError as exc:  # e.g. a language no longer offered
                    logger.warning("sign-up for %s dropped: %s", mask_email(candidate.email), exc)
                    subscriber = None
                if subscriber is not None:
                    self.queue(subscriber.id, cooldown_seconds)
            self.queries.delete_sign_ups(row[0] for row in rows)
        return len(rows)

    def forget_sign_ups(self, email: str) -> None:
        """Drop the waiting sign-ups of an address (an erasure), in the caller's transaction."""
        self.queries.delete_sign_ups_of(email.strip())

    # -- the outbox ------------------------------------------------------------------------

    def queue(self, subscriber_id: int, cooldown_seconds: float = 0.0) -> bool:
        """Queue a confirmation email for a subscriber, unless one was queued for them less than
        `cooldown_seconds` ago; return whether one was queued."""
        now = self.clock()
        with self.database.transaction():
            if cooldown_seconds > 0:
                since = stamp(now - dt.timedelta(seconds=cooldown_seconds))
                if self.queries.confirmation_queued_since(subscriber_id, since):
                    return False
            self.queries.add_confirmation(subscriber_id, secrets.token_hex(12), stamp(now))
        return True

    def claim(self, owner: str, now: float, limit: int = 20) -> list[QueuedConfirmation]:
        """Commit the next due emails as `sending` by `owner`; return them. An email whose
        subscriber is no longer pending (confirmed meanwhile, unsubscribed) is `skipped`."""
        with self.database.transaction():
            rows = self.queries.due_confirmations(now, limit)
            claimed = [QueuedConfirmation(*row[:7]) for row in rows if row[7] == "pending"]
            skipped = [row[0] for row in rows if row[7] != "pending"]
            if skipped:
                self.queries.skip_confirmations(skipped, "no longer pending")
            self.queries.claim_confirmations((c.id for c in claimed), owner, now)
        return claimed

    def settle(self, outcomes: Iterable[ConfirmationOutcome]) -> None:
        """Record what the transport answered for each claimed email, in one transaction:
        `deferred` and `queued` rows go back in the queue (`queued` ones were not attempted, so
        their attempt is not counted)."""
        sent_at = stamp(self.clock())
        with self.database.transaction():
            self.queries.settle_confirmations(
                [("queued" if o.state == "deferred" else o.state, o.provider_id, o.error,
                  o.next_attempt, sent_at if o.state == "sent" else None,
                  1 if o.state == "queued" else 0, o.id) for o in outcomes],
            )

    def recover(self, now: float, host: str | None = None) -> int:
        """Put back in the queue the emails claimed by a sender that is gone (or silent for
        STALE_CLAIM_SECONDS): they go again, with their Message-ID. Return how many."""
        rows = self.queries.claimed_confirmations()
        back = [(row_id, owner) for row_id, owner, at in rows
                if claim_is_dead(owner or "", host) or (at or 0) < now - STALE_CLAIM_SECONDS]
        if not back:
            return 0
        with self.database.transaction():
            self.queries.unclaim_confirmations(back, "the sender stopped while sending")
        logger.warning("%d confirmation email(s) were in flight when a sender died; they go "
                       "again with their Message-ID", len(back))
        return len(back)

    # -- reading ---------------------------------------------------------------------------

    def backlog(self, now: float) -> int:
        """Sign-ups not yet decided plus confirmation emails due or in flight."""
        return self.queries.confirmation_backlog(now)

    def counts(self) -> dict[str, int]:
        """Confirmation emails per state, and `sign_ups` waiting."""
        counts = dict.fromkeys(("queued", "sending", "sent", "failed", "skipped"), 0)
        for state, n in self.queries.confirmation_counts():
            counts[state] = n
        counts["sign_ups"] = self.queries.sign_up_count()
        return counts

    def emails_of(self, subscriber_id: int) -> list[tuple[str, str, str | None]]:
        """(state, queued_at, sent_at) of every confirmation email of a subscriber, oldest first."""
        return self.queries.confirmations_of(subscriber_id)
