"""Confirmation emails sent from one background thread, off the request path.

The form answers at once, whatever happens to the address: a response that waited for a message
to be rendered and delivered would take longer for a new address than for a known one, and so
reveal who subscribes.
"""

from __future__ import annotations

import logging
import queue
import threading

from newsletter.errors import NewsletterError
from newsletter.mail import Transport, open_transport
from newsletter.settings import Settings
from newsletter.subscribers import Subscriber, send_confirmation
from newsletter.tokens import Signer

logger = logging.getLogger(__name__)

_STOP = None


class BackgroundMailer:
    """A queue of subscribers to mail, and the thread that renders and sends each message."""

    def __init__(self, settings: Settings, signer: Signer) -> None:
        self.settings = settings
        self.signer = signer
        self._queue: queue.Queue[Subscriber | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="confirmation-mailer", daemon=True)
        self._transport: Transport | None = None
        self._thread.start()

    def submit(self, subscriber: Subscriber) -> None:
        """Queue one confirmation email."""
        self._queue.put(subscriber)

    @property
    def depth(self) -> int:
        """How many confirmation emails wait to be sent (for the health check)."""
        return self._queue.qsize()

    def join(self) -> None:
        """Wait until every queued message has been handled (tests, shutdown)."""
        self._queue.join()

    def close(self) -> None:
        """Send what is queued, then stop the thread and close the transport."""
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            subscriber = self._queue.get()
            try:
                if subscriber is _STOP:
                    if self._transport is not None:
                        self._transport.close()
                    return
                self._send(subscriber)
            finally:
                self._queue.task_done()

    def _send(self, subscriber: Subscriber) -> None:
        try:
            if self._transport is None:
                self._transport = open_transport(self.settings)
            send_confirmation(self.settings, self.signer, self._transport, subscriber)
        except (NewsletterError, OSError) as exc:
            logger.warning("confirmation email to %s failed: %s", subscriber.masked,
                           type(exc).__name__)
            if self._transport is not None:
                self._transport.close()
                self._transport = None
