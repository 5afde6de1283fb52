"""The web application: the subscription pages (a plain WSGI callable; see `app.py` for its paths).

Owns nothing stored: it changes subscriptions only through the subscriber store, signs and checks
links with one `Signer` made at start (refused unless strong), keeps sign-ups and confirmation
emails in the store's outbox and sends them from one background thread (`ConfirmationMailer`),
and tells waitress which proxy to believe (`waitress_options`).

May import: `subscribers`, `mail` and the kernel. Other subsystems import these public names,
never its modules (only the command line does: `serve`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsletter.exports import lazy_exports

if TYPE_CHECKING:
    from .app import SubscriptionApp, make_app
    from .http import waitress_options
    from .mailer import Drained

__all__ = ["Drained", "SubscriptionApp", "make_app", "waitress_options"]
__getattr__, __dir__ = lazy_exports(__name__, {
    ".app": ("SubscriptionApp", "make_app"),
    ".http": ("waitress_options",),
    ".mailer": ("Drained",),
})
