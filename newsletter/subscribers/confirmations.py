"""The double opt-in email: a signed, expiring confirmation link in the subscriber's language.

Rendered through the email pipeline's `build_message` (the same headers, encoding and Message-ID
domain as the newsletter), from `templates/subscribe/confirm_email.html` and `.txt`; the link is
the subscription application's (`newsletter.urls.SubscriptionUrls`), signed by the caller's
`Signer`.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from newsletter.mail import Sender, Transport, build_message
from newsletter.settings import Settings
from newsletter.templating import make_environment
from newsletter.tokens import Signer
from newsletter.urls import SubscriptionUrls
from newsletter.wording import load_subscription_words

from .records import Subscriber

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConfirmationEmail:
    """A rendered confirmation message for one subscriber."""

    recipient: str
    data: bytes


def render_confirmation(
    settings: Settings, signer: Signer, subscriber: Subscriber, now: dt.datetime | None = None
) -> ConfirmationEmail:
    """The confirmation message for a pending subscriber, in their language."""
    now = now or dt.datetime.now(dt.UTC)
    lang = subscriber.lang
    templates_dir = settings.path(settings.build.templates_dir)
    env = make_environment(templates_dir)
    t = load_subscription_words(templates_dir, settings.site.languages)[lang]
    days = settings.email.token_max_age_days
    links = SubscriptionUrls(settings.email.subscription_url)
    sender = Sender.from_settings(settings.email)
    context = {
        "lang": lang,
        "t": t,
        "confirm_url": links.link("confirm", signer.sign("confirm", subscriber.id)),
        "expiry": t["email_expiry"].format(days=days),
        "site_title": settings.site.title[lang],
        "postal_address": settings.site.postal_address,
    }
    html = env.get_template("subscribe/confirm_email.html").render(context)
    text = env.get_template("subscribe/confirm_email.txt").render(context)
    # Random, not derived from the address: a Message-ID must not reveal who it went to.
    message_id = f"<confirm.{secrets.token_hex(12)}@{sender.domain}>"
    data = build_message(
        sender, to=subscriber.email, to_name=subscriber.name, subject=t["email_subject"],
        html=html, text=text, lang=lang, message_id=message_id, now=now,
    )
    return ConfirmationEmail(subscriber.email, data)


def send_confirmation(
    settings: Settings, signer: Signer, transport: Transport, subscriber: Subscriber,
    now: dt.datetime | None = None,
) -> str:
    """Render and send one confirmation email; return the transport's message id."""
    email = render_confirmation(settings, signer, subscriber, now)
    message_id = transport.send(email.recipient, email.data)
    logger.info("confirmation email sent to %s", subscriber.masked)
    return message_id
