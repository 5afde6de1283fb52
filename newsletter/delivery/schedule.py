"""`send --due` and the send lock: which issues cron should send now, and one sender at a time.

An issue is due when its `send_at` has passed, it is `ready`, and its campaign is neither complete
nor cancelled. One whose `send_at` is older than the window (default 7 days) is not *started*
automatically: a restored backup must not mail an old issue again. The lock is a row in the
database; a holder that died (its pid gone on this host, or no heartbeat within the timeout) is
taken over.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import sqlite3
import time
from dataclasses import dataclass

from newsletter.content.issues import Corpus, Issue
from newsletter.errors import NewsletterError

from .ledger import Ledger, utc_stamp

logger = logging.getLogger(__name__)

LOCK_NAME = "send"


class SendRunning(NewsletterError):
    """Another `send` holds the lock and is alive."""


@dataclass(frozen=True)
class DueIssue:
    """An issue `send --due` looked at, and what it decided."""

    issue: Issue
    due: bool
    reason: str


def due_issues(
    corpus: Corpus, ledger: Ledger, now: dt.datetime, window_days: int
) -> list[DueIssue]:
    """Every scheduled issue with the decision `--due` takes for it, oldest `send_at` first."""
    decisions: list[DueIssue] = []
    scheduled = sorted((i for i in corpus.issues if i.send_at is not None),
                       key=lambda i: (i.send_at, i.slug))  # type: ignore[arg-type, return-value]
    for issue in scheduled:
        send_at = issue.send_at
        assert send_at is not None
        campaign = ledger.campaign(issue.slug)
        if send_at > now:
            decisions.append(DueIssue(issue, False, f"scheduled for {send_at.isoformat()}"))
        elif issue.status != "ready":
            decisions.append(DueIssue(issue, False, "still a draft"))
        elif campaign is not None and campaign.cancelled_at:
            decisions.append(DueIssue(issue, False, "cancelled"))
        elif campaign is not None and campaign.completed_at:
            decisions.append(DueIssue(issue, False, "already sent"))
        elif campaign is None and send_at < now - dt.timedelta(days=window_days):
            decisions.append(DueIssue(
                issue, False,
                f"send_at {send_at.isoformat()} is more than {window_days} days old; not started "
                f"automatically (send it by hand with `publish.py send {issue.slug}`)",
            ))
        else:
            decisions.append(DueIssue(issue, True, "resuming" if campaign else "due"))
    return decisions


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SendLock:
    """The single row that says who is sending; `with SendLock(...)` holds it."""

    def __init__(self, conn: sqlite3.Connection, issue: str, timeout_seconds: float) -> None:
        self.conn = conn
        self.issue = issue
        self.timeout = timeout_seconds
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self._last_beat = 0.0

    def acquire(self) -> None:
        """Take the lock, or raise SendRunning naming the live holder."""
        now = time.time()
        self.conn.commit()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            row = self.conn.execute(
                "SELECT issue, host, pid, acquired_at, heartbeat FROM send_lock WHERE name = ?",
                (LOCK_NAME,),
            ).fetchone()
            if row is not None:
                issue, host, pid, acquired_at, heartbeat = row
                ours = host == self.host and pid == self.pid
                dead = host == self.host and not _pid_alive(pid)
                stale = now - heartbeat > self.timeout
                if not (ours or dead or stale):
                    raise SendRunning(
                        f"a send of {issue} is already running (pid {pid} on {host}, since "
                        f"{acquired_at}); this run does nothing"
                    )
                logger.warning("taking over the send lock from pid %s on %s (%s)", pid, host,
                               "dead" if dead else "no heartbeat" if stale else "ours")
            self.conn.execute(
                "INSERT OR REPLACE INTO send_lock (name, issue, host, pid, acquired_at, heartbeat) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (LOCK_NAME, self.issue, self.host, self.pid, utc_stamp(), now),
            )
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()
        self._last_beat = now

    def beat(self, every: float = 5.0) -> bool:
        """Refresh the heartbeat (at most every `every` seconds); False if another run took it."""
        now = time.time()
        if now - self._last_beat < every:
            return True
        with self.conn:
            cur = self.conn.execute(
                "UPDATE send_lock SET heartbeat = ?, issue = ? WHERE name = ? AND pid = ? "
                "AND host = ?",
                (now, self.issue, LOCK_NAME, self.pid, self.host),
            )
        self._last_beat = now
        return cur.rowcount == 1

    def release(self) -> None:
        """Give the lock up (only if we still hold it)."""
        with self.conn:
            self.conn.execute(
                "DELETE FROM send_lock WHERE name = ? AND pid = ? AND host = ?",
                (LOCK_NAME, self.pid, self.host),
            )

    def __enter__(self) -> SendLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
