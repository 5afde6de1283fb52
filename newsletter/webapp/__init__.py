"""The web application: the subscription pages (a plain WSGI callable; see `app.py` for its paths).

Owns nothing stored: it changes subscriptions only through the subscriber store, signs and checks
links with one `Signer` made at start, and sends confirmation emails from a background thread.

May import: `subscribers`, `mail` and the kernel. Other subsystems import these public names,
never its modules (only the command line does: `serve`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsletter.exports import lazy_exports

if TYPE_CHECKING:
    from .app import SubscriptionApp, make_app

__all__ = ["SubscriptionApp", "make_app"]
__getattr__, __dir__ = lazy_exports(__name__, {".app": ("SubscriptionApp", "make_app")})
