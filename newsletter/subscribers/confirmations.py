"""The double opt-in email: a signed, expiring confirmation link in the subscriber's language.

Rendered through the email pipeline's `build_message` (the same headers, encoding and Message-ID
domain as the newsletter), from `templates/subscribe/confirm_email.html` and `.txt`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from newsletter.mail.message import build_message, message_domain
from newsletter.mail.transports import Transport
from newsletter.settings import Settings
from newsletter.templating import make_environment
from newsletter.tokens import sign
from newsletter.wording import load_strings

from .store import Subscriber

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfirmationEmail:
    """A rendered confirmation message for one subscriber."""

    recipient: str
    data: bytes


def link(settings: Settings, purpose: str, subscriber_id: int) -> str:
    """The absolute URL of a signed subscriber link (`confirm/…`, `unsubscribe/…`, `language/…`)."""
    base = settings.email.subscription_url
    if not base.endswith("/"):
        base += "/"
    return f"{base}{purpose}/{sign(settings.secret, purpose, subscriber_id)}"


def render_confirmation(
    settings: Settings, subscriber: Subscriber, now: dt.datetime | None = None
) -> ConfirmationEmail:
    """The confirmation message for a pending subscriber, in their language."""
    now = now or dt.datetime.now(dt.UTC)
    lang = subscriber.lang
    env = make_environment(settings.path(settings.build.templates_dir))
    t = load_strings(settings.path(settings.build.templates_dir), settings.site.languages)[lang]
    days = settings.email.token_max_age_days
    context = {
        "lang": lang,
        "t": t,
        "confirm_url": link(settings, "confirm", subscriber.id),
        "expiry": t["email_expiry"].format(days=days),
        "site_title": settings.site.title[lang],
        "postal_address": settings.site.postal_address,
    }
    html = env.get_template("subscribe/confirm_email.html").render(context)
    text = env.get_template("subscribe/confirm_email.txt").render(context)
    # Random, not derived from the address: a Message-ID must not reveal who it went to.
    message_id = f"<confirm.{secrets.token_hex(12)}@{message_domain(settings)}>"
    data = build_message(
        settings, to=subscriber.email, to_name=subscriber.name, subject=t["email_subject"],
        html=html, text=text, lang=lang, message_id=message_id, now=now,
    )
    return ConfirmationEmail(subscriber.email, data)


def send_confirmation(
    settings: Settings, transport: Transport, subscriber: Subscriber, now: dt.datetime | None = None
) -> str:
    """Render and send one confirmation email; return the transport's message id."""
    email = render_confirmation(settings, subscriber, now)
    message_id = transport.send(email.recipient, email.data)
    logger.info("confirmation email sent to %s", subscriber.masked)
    return message_id
