"""Delivery transports behind one small interface (like Django's mail backends).

A transport is opened once per run, sends one message's bytes to one recipient and returns the
provider's message id, and is closed. Its failures are sorted into four exceptions, because the
sender's ledger treats each differently:

- `RetryLater`: not accepted this time (throttled, 4xx): the row is deferred and retried;
- `Rejected`: refused for this recipient for good (5xx, MessageRejected): the row is rejected;
- `OutcomeUnknown`: the provider may have accepted it (timeout after DATA, 5xx from SES): unknown;
- `StopEverything`: no message can go (account paused, bad credentials): the run stops.
"""

from __future__ import annotations

from typing import Protocol

from newsletter.errors import NewsletterError
from newsletter.settings import Settings


class TransportError(NewsletterError):
    """Base class of a transport's per-message failures."""


class RetryLater(TransportError):
    """The provider did not accept the message this time; try again later."""


class Rejected(TransportError):
    """The provider refused the message for this recipient."""


class OutcomeUnknown(TransportError):
    """The provider may or may not have accepted the message."""


class StopEverything(TransportError):
    """Nothing can be sent until an operator acts (the message says what to do)."""


class Transport(Protocol):
    """What the sender needs from a delivery backend."""

    name: str

    def open(self) -> None:
        """Connect (idempotent)."""

    def send(self, recipient: str, message: bytes) -> str:
        """Deliver one message to one recipient; return the provider's message id."""

    def close(self) -> None:
        """Disconnect (idempotent)."""


def open_transport(settings: Settings, name: str | None = None) -> Transport:
    """The transport named in settings (or `name`), opened and ready."""
    name = name or settings.delivery.transport
    transport: Transport
    if name == "outbox":
        from .outbox import OutboxTransport

        transport = OutboxTransport(settings.path(settings.delivery.outbox_dir))
    elif name == "smtp":
        from .smtp import SmtpTransport  # type: ignore[import-not-found]

        transport = SmtpTransport.from_settings(settings)
    elif name == "ses":
        from .ses import SesTransport  # type: ignore[import-not-found]

        transport = SesTransport.from_settings(settings)
    else:
        raise NewsletterError(f"unknown transport {name!r}: use outbox, smtp or ses")
    transport.open()
    return transport
