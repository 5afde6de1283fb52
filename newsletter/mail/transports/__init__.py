"""Delivery transports behind one small interface (`protocol.Transport`): outbox, SMTP, SES.

`open_transport()` builds the one `[delivery] transport` names, importing only its module (boto3
costs a command that mails through SMTP nothing).
"""

from __future__ import annotations

from newsletter.errors import NewsletterError
from newsletter.settings import Settings

from .protocol import (
    OutcomeUnknown,
    Quota,
    Rejected,
    RetryLater,
    StopEverything,
    Transport,
    TransportError,
)

__all__ = ["OutcomeUnknown", "Quota", "Rejected", "RetryLater", "StopEverything", "Transport",
           "TransportError", "open_transport"]


def open_transport(settings: Settings, name: str | None = None) -> Transport:
    """The transport named in settings (or `name`), opened and ready."""
    name = name or settings.delivery.transport
    transport: Transport
    if name == "outbox":
        from .outbox import OutboxTransport

        transport = OutboxTransport(settings.path(settings.delivery.outbox_dir))
    elif name == "smtp":
        from .smtp import SmtpTransport

        transport = SmtpTransport.from_settings(settings)
    elif name == "ses":
        from .ses import SesTransport

        transport = SesTransport.from_settings(settings)
    else:
        raise NewsletterError(f"unknown transport {name!r}: use outbox, smtp or ses")
    transport.open()
    return transport
