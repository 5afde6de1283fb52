"""`send --due` and the send lock: which issues cron should send now, and one sender at a time.

An issue is due when its `send_at` has passed, it is `ready`, and its campaign is neither complete
nor cancelled. One whose `send_at` is older than the window (default 7 days) is not *started*
automatically. Nor, in a database restored from a backup, is an issue whose `send_at` came before
the restore, or a campaign the backup held unfinished: either may have been mailed after the
backup was taken, and the restored ledger cannot know; the operator checks and sends it by hand.
Each decision says which of these it is (`DueKind`) and why, in words. The lock is a row in the
ledger; a holder that died (its pid gone on this host, or no heartbeat within the timeout) is
taken over.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import os
import socket
import time
from dataclasses import dataclass

from newsletter.content import Corpus, Issue
from newsletter.errors import NewsletterError
from newsletter.subscribers import parse_stamp

from .ledger import Ledger, utc_stamp
from .records import LockHolder

logger = logging.getLogger(__name__)

LOCK_NAME = "send"


class SendRunning(NewsletterError):
    """Another `send` holds the lock and is alive."""


class DueKind(enum.Enum):
    """What `send --due` decided about one scheduled issue."""

    DUE = "due"  # its send_at has passed: start it
    RESUMING = "resuming"  # its campaign started and is not finished: go on
    SCHEDULED = "scheduled"  # send_at is still ahead
    DRAFT = "draft"  # not ready
    CANCELLED = "cancelled"
    SENT = "sent"  # its campaign is complete
    TOO_OLD = "too old"  # send_at is older than the window: never started automatically
    RESTORED = "restored"  # may have been mailed after the restored backup: by hand only

    @property
    def sends(self) -> bool:
        """Whether `send --due` sends the issue now."""
        return self in (DueKind.DUE, DueKind.RESUMING)


@dataclass(frozen=True)
class DueIssue:
    """An issue `send --due` looked at, what it decided, and why in words."""

    issue: Issue
    kind: DueKind
    reason: str

    @property
    def due(self) -> bool:
        """Whether it is sent now."""
        return self.kind.sends


def due_issues(
    corpus: Corpus, ledger: Ledger, now: dt.datetime, window_days: int
) -> list[DueIssue]:
    """Every scheduled issue with the decision `--due` takes for it, oldest `send_at` first."""
    decisions: list[DueIssue] = []
    restore = ledger.database.last_restore()
    restored_at = parse_stamp(restore.at) if restore else None
    scheduled = [(i.send_at, i.slug, i) for i in corpus.issues if i.send_at is not None]
    for send_at, _slug, issue in sorted(scheduled, key=lambda item: (item[0], item[1])):
        campaign = ledger.campaign(issue.slug)
        by_hand = (f"check the report, then send it by hand (`publish.py send {issue.slug}`) "
                   f"or cancel it")
        if send_at > now:
            decisions.append(DueIssue(issue, DueKind.SCHEDULED,
                                      f"scheduled for {send_at.isoformat()}"))
        elif issue.status != "ready":
            decisions.append(DueIssue(issue, DueKind.DRAFT, "still a draft"))
        elif campaign is not None and campaign.cancelled_at:
            decisions.append(DueIssue(issue, DueKind.CANCELLED, "cancelled"))
        elif campaign is not None and campaign.completed_at:
            decisions.append(DueIssue(issue, DueKind.SENT, "already sent"))
        elif campaign is None and send_at < now - dt.timedelta(days=window_days):
            decisions.append(DueIssue(
                issue, DueKind.TOO_OLD,
                f"send_at {send_at.isoformat()} is more than {window_days} days old; not started "
                f"automatically (send it by hand with `publish.py send {issue.slug}`)",
            ))
        elif restore and restored_at and campaign is None and send_at <= restored_at:
            decisions.append(DueIssue(
                issue, DueKind.RESTORED,
                f"send_at {send_at.isoformat()} is before this database was restored "
                f"({restore.at}, from {restore.source}); it may have been mailed after that "
                f"backup was taken: not started automatically; {by_hand}",
            ))
        elif restore and campaign is not None and campaign.frozen_at <= restore.at:
            decisions.append(DueIssue(
                issue, DueKind.RESTORED,
                f"its campaign was unfinished in the backup this database was restored from "
                f"({restore.source}); messages it records as owed may have gone out since: not "
                f"resumed automatically; {by_hand}",
            ))
        elif campaign is not None:
            decisions.append(DueIssue(issue, DueKind.RESUMING, "resuming"))
        else:
            decisions.append(DueIssue(issue, DueKind.DUE, "due"))
    return decisions


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_sender(ledger: Ledger, timeout_seconds: float) -> LockHolder | None:
    """The send holding the lock now, if it is alive (its pid runs on this host, or, elsewhere,
    its heartbeat is within the timeout)."""
    holder = ledger.lock_holder(LOCK_NAME)
    if holder is None:
        return None
    if holder.host == socket.gethostname():
        return holder if _pid_alive(holder.pid) else None
    return holder if time.time() - holder.heartbeat <= timeout_seconds else None


class SendLock:
    """The single row that says who is sending; `with SendLock(...)` holds it."""

    def __init__(self, ledger: Ledger, issue: str, timeout_seconds: float) -> None:
        self.ledger = ledger
        self.issue = issue
        self.timeout = timeout_seconds
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._last_beat = 0.0

    def acquire(self) -> None:
        """Take the lock, or raise SendRunning naming the live holder."""
        now = time.time()
        with self.ledger.database.transaction():  # read and write under one write lock
            holder = self.ledger.lock_holder(LOCK_NAME)
            if holder is not None:
                ours = holder.host == self.host and holder.pid == self.pid
                dead = holder.host == self.host and not _pid_alive(holder.pid)
                stale = now - holder.heartbeat > self.timeout
                if not (ours or dead or stale):
                    raise SendRunning(
                        f"a send of {holder.issue} is already running (pid {holder.pid} on "
                        f"{holder.host}, since {holder.acquired_at}); this run does nothing"
                    )
                logger.warning("taking over the send lock from pid %s on %s (%s)", holder.pid,
                               holder.host, "dead" if dead else "no heartbeat" if stale else "ours")
            self.ledger.hold_lock(LOCK_NAME, LockHolder(self.issue, self.host, self.pid,
                                                        utc_stamp(), now))
        self._last_beat = now

    def beat(self, every: float = 5.0) -> bool:
        """Refresh the heartbeat (at most every `every` seconds); False if another run took it."""
        now = time.time()
        if now - self._last_beat < every:
            return True
        self._last_beat = now
        return self.ledger.beat_lock(LOCK_NAME, self.issue, self.host, self.pid, now)

    def release(self) -> None:
        """Give the lock up (only if we still hold it)."""
        self.ledger.release_lock(LOCK_NAME, self.host, self.pid)

    def __enter__(self) -> SendLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
