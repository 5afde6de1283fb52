"""Delivery transports behind one small interface (`protocol.Transport`): outbox, SMTP, SES.

`open_transport()` builds the one `[delivery] transport` names, importing only its module (boto3
costs a command that mails through SMTP nothing).
"""

from __future__ import annotations

from newsletter.errors import NewsletterError
from newsletter.settings import Settings
from newsletter.tokens import Signer

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
           "TransportError", "check_secret_for", "open_transport"]

# Transports whose messages stay on this machine: the only ones the demo secret may sign for.
LOCAL = ("outbox",)


def check_secret_for(name: str, signer: Signer) -> None:
    """Refuse (WeakSecret) to sign links for a transport whose messages leave this machine with a
    secret that is missing, the demo value or short; the outbox takes any."""
    if name not in LOCAL:
        signer.require_strong(f"sending through {name}")


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
