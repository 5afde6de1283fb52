"""The hands of a send run: a pool of transports (one per worker thread), and the worker that
renders one row's message, waits for the rate, sends it and sorts the answer into an `Outcome`."""

from __future__ import annotations

import queue
import random
import threading
import time

from newsletter.errors import NewsletterError
from newsletter.mail import (
    EmailEditions,
    OutcomeUnknown,
    Recipient,
    Rejected,
    RetryLater,
    StopEverything,
    Transport,
)

from .pacing import SendPacer
from .preflight import TransportFactory, masked_error
from .records import Outcome, Pending

RETRY_CAP_SECONDS = 300.0


class TransportPool:
    """One transport per worker thread, created on demand and all closed at the end."""

    def __init__(self, factory: TransportFactory, first: Transport) -> None:
        self.factory = factory
        self.idle: queue.SimpleQueue[Transport] = queue.SimpleQueue()
        self.idle.put(first)
        self.every = [first]
        self.lock = threading.Lock()

    def take(self) -> Transport:
        try:
            return self.idle.get_nowait()
        except queue.Empty:
            transport = self.factory()
            with self.lock:
                self.every.append(transport)
            return transport

    def give(self, transport: Transport) -> None:
        self.idle.put(transport)

    def close(self) -> None:
        for transport in self.every:
            transport.close()


class Worker:
    """Renders one row's message, waits for the rate, sends it, and says what happened."""

    def __init__(self, slug: str, editions: EmailEditions, pool: TransportPool,
                 pacer: SendPacer, max_attempts: int, retry_base: float) -> None:
        self.slug = slug
        self.editions = editions
        self.pool = pool
        self.pacer = pacer
        self.max_attempts = max_attempts
        self.retry_base = retry_base

    def __call__(self, row: Pending) -> tuple[Outcome, str]:
        attempt = row.attempts + 1
        try:
            # The subscriber's language's email: their edition, or the edition the ledger froze
            # for them (their fallback chain's) inside their own words.
            edition = self.editions.for_reader(row.lang, row.edition_lang)
            message = edition.message_for(
                Recipient(row.subscriber_id, row.email, row.name, row.lang)
            )
        except NewsletterError as exc:
            error = f"cannot build the message: {masked_error(exc)}"
            return Outcome(row.delivery_id, "rejected", error=error), ""
        try:
            transport = self.pool.take()
        except StopEverything as exc:
            return Outcome(row.delivery_id, "queued", error=str(exc)), str(exc)  # account-wide
        try:
            self.pacer.acquire()
            tags = {"issue": self.slug, "lang": row.edition_lang,
                    "subscriber": str(row.subscriber_id)}
            provider_id = transport.send(row.email, message, tags)
            return Outcome(row.delivery_id, "sent", provider_id=provider_id), ""
        except RetryLater as exc:
            if attempt >= self.max_attempts:
                return Outcome(row.delivery_id, "rejected",
                               error=f"gave up after {attempt} attempts: {masked_error(exc)}"), ""
            delay = min(RETRY_CAP_SECONDS, self.retry_base * 2 ** (attempt - 1))
            delay *= random.uniform(0.5, 1.5)  # noqa: S311 - jitter, not security
            return Outcome(row.delivery_id, "deferred", error=masked_error(exc),
                           next_attempt=time.time() + delay), ""
        except Rejected as exc:
            return Outcome(row.delivery_id, "rejected", error=masked_error(exc)), ""
        except OutcomeUnknown as exc:
            return Outcome(row.delivery_id, "unknown", error=masked_error(exc)), ""
        except StopEverything as exc:
            return Outcome(row.delivery_id, "queued", error=str(exc)), str(exc)  # account-wide
        finally:
            self.pool.give(transport)
