"""Mail: each email edition rendered once per language, personalised cheaply, sent by a transport.

Owns the email editions (`render_email_editions` gives `EmailEditions`, one `EmailEdition` per
offered language: the readers' own edition, or their fallback chain's with their own words; the
sender, the subscription links and a `Signer` are all an edition keeps), the MIME message
(`Sender`, `build_message`), the plain-text alternative, the email checks (`email_problems`) and
the transports behind one protocol (`Transport`: outbox, SMTP, SES; `open_transport`). Knows
nothing of subscribers or the ledger: a recipient is an id, an address, a name and a language.

May import: `content` and the kernel. Other subsystems import these public names, never its
modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsletter.exports import lazy_exports

if TYPE_CHECKING:
    from .checks import email_problems
    from .editions import (
        EditionNotFound,
        EmailEdition,
        EmailEditions,
        Recipient,
        render_email_edition,
        render_email_editions,
        render_email_preview,
        sample_recipient,
    )
    from .message import Sender, build_message, build_notice
    from .transports import (
        OutcomeUnknown,
        Quota,
        Rejected,
        RetryLater,
        StopEverything,
        Transport,
        TransportError,
        check_secret_for,
        open_transport,
    )

__all__ = [
    "EditionNotFound", "EmailEdition", "EmailEditions", "OutcomeUnknown", "Quota", "Recipient",
    "Rejected", "RetryLater", "Sender", "StopEverything", "Transport", "TransportError",
    "build_message", "build_notice", "check_secret_for", "email_problems", "open_transport",
    "render_email_edition", "render_email_editions", "render_email_preview", "sample_recipient",
]
__getattr__, __dir__ = lazy_exports(__name__, {
    ".checks": ("email_problems",),
    ".editions": ("EditionNotFound", "EmailEdition", "EmailEditions", "Recipient",
                  "render_email_edition", "render_email_editions", "render_email_preview",
                  "sample_recipient"),
    ".message": ("Sender", "build_message", "build_notice"),
    ".transports": ("OutcomeUnknown", "Quota", "Rejected", "RetryLater", "StopEverything",
                    "Transport", "TransportError", "check_secret_for", "open_transport"),
})
