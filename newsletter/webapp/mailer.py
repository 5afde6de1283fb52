"""The app's one background thread: sign-ups in, confirmation emails out, both from the database.

The form's POST only stores the sign-up (`outbox.queue_sign_up`) and wakes this thread, so the
answer waits for the same work whatever the address. The thread decides each sign-up with the
store's rules, queues a confirmation email when somebody should get one (one per address per
cooldown), and sends the queued emails (`ConfirmationSender`). Nothing waits in memory: at start
it takes over what a previous run left (emails claimed by a process that is gone go again, with
their Message-ID); on `close()` it goes on sending for up to `[serve] drain_seconds`, and what is
left stays queued for the next start.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass

from newsletter.errors import NewsletterError
from newsletter.settings import Settings
from newsletter.subscribers import ConfirmationSender, SubscriberStore
from newsletter.tokens import Signer

logger = logging.getLogger(__name__)

POLL_SECONDS = 2.0  # how often to look for emails queued by others or due for a retry


@dataclass(frozen=True)
class Drained:
    """What `close()` left: emails sent while draining, and what stays queued for next time."""

    sent: int
    left: int


class ConfirmationMailer:
    """Turns queued sign-ups into confirmation emails and sends them, on one thread."""

    def __init__(self, settings: Settings, signer: Signer, poll_seconds: float = POLL_SECONDS,
                 ) -> None:
        self.settings = settings
        self.cooldown = settings.subscribers.confirmation_cooldown_minutes * 60
        self.sender = ConfirmationSender(settings, signer)
        self.poll = poll_seconds
        self._cond = threading.Condition()
        self._asked = 0  # wake-ups asked for …
        self._done = 0  # … and the last one answered (the thread found nothing left to do)
        self._stop_by: float | None = None  # the drain's deadline, once closing
        self._drained_sent = 0
        self._left = 0
        self._thread = threading.Thread(target=self._run, name="confirmation-mailer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        with self._cond:
            self._asked += 1
            self._cond.notify_all()

    def join(self, timeout: float = 30.0) -> None:
        """Wait until every sign-up so far is decided and no email is due (tests, shutdown)."""
        with self._cond:
            self._asked += 1
            target = self._asked
            self._cond.notify_all()
            if not self._cond.wait_for(lambda: self._done >= target or
                                       not self._thread.is_alive(), timeout):
                raise TimeoutError("the confirmation mailer did not catch up")

    def close(self, drain_seconds: float | None = None) -> Drained:
        """Stop: send what is due for up to `drain_seconds` ([serve] drain_seconds), then leave
        the rest queued in the database for the next start."""
        drain = self.settings.serve.drain_seconds if drain_seconds is None else drain_seconds
        with self._cond:
            self._stop_by = time.monotonic() + drain
            self._cond.notify_all()
        self._thread.join(timeout=drain + 30)
        return Drained(self._drained_sent, self._left)

    # -- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        store: SubscriberStore | None = None
        try:
            store = SubscriberStore.open(self.settings)
            while True:
                with self._cond:
                    asked = self._asked
                    closing = self._stop_by is not None
                progressed = self._step(store, closing)
                if progressed:
                    continue
                with self._cond:
                    self._done = max(self._done, asked)
                    self._cond.notify_all()
                    if self._stop_by is not None:
                        break
                    self._cond.wait_for(lambda seen=asked: self._asked > seen or
                                        self._stop_by is not None, self.poll)
        except (NewsletterError, sqlite3.Error) as exc:  # the database cannot be opened
            logger.error("the confirmation mailer stopped: %s", exc)
        finally:
            if store is not None:
                try:
                    counts = store.outbox.counts()
                    self._left = counts["sign_ups"] + counts["queued"] + counts["sending"]
                except sqlite3.Error:
                    pass
                store.close()
            self.sender.close()
            with self._cond:
                self._cond.notify_all()

    def _step(self, store: SubscriberStore, closing: bool) -> bool:
        """Decide waiting sign-ups and send due emails; whether there was anything to do."""
        def past_deadline() -> bool:
            return self._stop_by is not None and time.monotonic() > self._stop_by

        if past_deadline():
            return False
        try:
            taken = store.outbox.take_sign_ups(self.cooldown)
            sent = self.sender.send_due(store.outbox, limit=20, should_stop=past_deadline)
        except sqlite3.OperationalError as exc:  # locked for longer than the busy timeout
            logger.warning("confirmation mailer: %s; trying again", exc)
            time.sleep(self.poll)
            return False
        except NewsletterError as exc:
            logger.warning("confirmation mailer: %s", exc)
            return False
        if closing:
            self._drained_sent += sent.sent
        return bool(taken or (sum(sent.counts.values()) and not sent.stopped))
