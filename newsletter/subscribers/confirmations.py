"""The double opt-in email: a signed, expiring confirmation link in the subscriber's language,
sent from the database's outbox (`outbox.ConfirmationOutbox`).

`ConfirmationRenderer` is made once (the Jinja environment, the words, the links, the sender) and
renders one message per subscriber through the email pipeline's `build_message` (the same headers
and encoding as the newsletter), from `templates/subscribe/confirm_email.html` and `.txt`; its
Message-ID carries the outbox row's random token, so a resend is the same message.

`ConfirmationSender` sends what the outbox holds: it claims the due emails (committed as
`sending` before the transport is called), renders and sends each, and records each answer —
sent; retried later with a growing delay (a 4xx, a timeout); failed for good (a 5xx, an address
the message cannot carry); or, when the transport cannot be used at all (a refused login), put
back untouched. The web application's mailer thread and `subscribers add`/`import` both use it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from newsletter.errors import NewsletterError
from newsletter.mail import (
    OutcomeUnknown,
    Rejected,
    RetryLater,
    Sender,
    StopEverything,
    Transport,
    build_message,
    check_secret_for,
    open_transport,
)
from newsletter.settings import Settings
from newsletter.templating import make_environment
from newsletter.tokens import Signer
from newsletter.urls import SubscriptionUrls
from newsletter.wording import load_wording

from .outbox import (
    ConfirmationOutbox,
    ConfirmationOutcome,
    QueuedConfirmation,
    new_claimant,
    retire_claimant,
)
from .records import Subscriber

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
RETRY_BASE_SECONDS = 30.0
RETRY_CAP_SECONDS = 3600.0
# When the transport cannot be used at all (a refused login, a paused account): try again later.
PAUSE_SECONDS = 60.0


@dataclass(frozen=True)
class ConfirmationEmail:
    """A rendered confirmation message for one subscriber."""

    recipient: str
    data: bytes


class ConfirmationRenderer:
    """Renders confirmation emails: the templates, words and links are read once."""

    def __init__(self, settings: Settings, signer: Signer) -> None:
        templates_dir = settings.path(settings.build.templates_dir)
        self.env = make_environment(templates_dir)
        wording = load_wording(templates_dir, settings.site.languages)
        self.words = {lang: wording.section(lang, "subscription")
                      for lang in settings.site.languages}
        # A subscriber whose language the site no longer offers is written to in the first
        # offered language of its fallback chain.
        self.reader_language = settings.reader_language
        self.signer = signer
        self.days = settings.email.token_max_age_days
        self.links = SubscriptionUrls(settings.email.subscription_url)
        self.sender = Sender.from_settings(settings.email)
        self.titles = settings.site.title
        self.postal_address = settings.site.postal_address

    def message_id(self, token: str) -> str:
        """The Message-ID of an outbox row: random, so it says nothing about the address."""
        return f"<confirm.{token}@{self.sender.domain}>"

    def render(self, subscriber_id: int, email: str, name: str, lang: str, token: str,
               now: dt.datetime | None = None) -> ConfirmationEmail:
        """The confirmation message for one pending subscriber, in their language."""
        lang = self.reader_language(lang)
        t = self.words[lang]
        context = {
            "lang": lang,
            "t": t,
            "confirm_url": self.links.link("confirm", self.signer.sign("confirm", subscriber_id)),
            "expiry": t["email_expiry"].format(days=self.days),
            "site_title": self.titles[lang],
            "postal_address": self.postal_address,
        }
        html = self.env.get_template("subscribe/confirm_email.html").render(context)
        text = self.env.get_template("subscribe/confirm_email.txt").render(context)
        data = build_message(
            self.sender, to=email, to_name=name, subject=t["email_subject"], html=html,
            text=text, lang=lang, message_id=self.message_id(token),
            now=now or dt.datetime.now(dt.UTC),
        )
        return ConfirmationEmail(email, data)


def render_confirmation(
    settings: Settings, signer: Signer, subscriber: Subscriber, token: str = "preview",
    now: dt.datetime | None = None,
) -> ConfirmationEmail:
    """The confirmation message for a pending subscriber, in their language (one-off)."""
    return ConfirmationRenderer(settings, signer).render(
        subscriber.id, subscriber.email, subscriber.name, subscriber.lang, token, now)


@dataclass
class ConfirmationRound:
    """What one `send_due` did: emails per outcome, and why it stopped early, if it did."""

    counts: Counter[str]
    stopped: str = ""

    @property
    def sent(self) -> int:
        """Emails the transport accepted."""
        return self.counts["sent"]


def retry_delay(attempts: int) -> float:
    """Seconds before attempt `attempts + 1` (30 s, 1 min, 2 min … at most an hour)."""
    return min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))


class ConfirmationSender:
    """Sends the due confirmation emails of an outbox through one transport, opened when needed.

    The secret must be strong for any transport but the outbox (`check_secret_for`): the links go
    to real inboxes. Call `close()` when done.
    """

    def __init__(self, settings: Settings, signer: Signer, transport: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.transport_name = transport or settings.delivery.transport
        check_secret_for(self.transport_name, signer)
        self.settings = settings
        self.renderer = ConfirmationRenderer(settings, signer)
        self.owner = new_claimant()
        self.clock = clock
        self._transport: Transport | None = None

    def send_due(self, outbox: ConfirmationOutbox, limit: int | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> ConfirmationRound:
        """Send due emails until none is due, `limit` were tried, or `should_stop()`."""
        result = ConfirmationRound(Counter())
        outbox.recover(self.clock())  # what a sender that died left in flight goes again
        while not should_stop() and (limit is None or sum(result.counts.values()) < limit):
            # One at a time: a hard kill can then resend one email at most (with its Message-ID).
            claimed = outbox.claim(self.owner, self.clock(), 1)
            if not claimed:
                break
            outcome, stop = self._send(claimed[0])
            outbox.settle([outcome])
            result.counts[outcome.state] += 1
            if stop:
                result.stopped = stop
                break
        return result

    def _send(self, row: QueuedConfirmation) -> tuple[ConfirmationOutcome, str]:
        """Render and send one email; (its outcome, why every send must pause, if so)."""
        try:
            email = self.renderer.render(row.subscriber_id, row.email, row.name, row.lang,
                                         row.message_token)
        except NewsletterError as exc:  # an address or a name the message cannot carry
            logger.warning("confirmation email %d cannot be built: %s", row.id, exc)
            return ConfirmationOutcome(row.id, "failed", error=str(exc)), ""
        try:
            transport = self._open()
            provider_id = transport.send(email.recipient, email.data,
                                         {"kind": "confirmation", "lang": row.lang})
        except StopEverything as exc:
            self._drop()
            logger.warning("confirmation emails paused: %s", exc)
            return ConfirmationOutcome(row.id, "queued", error=str(exc),
                                       next_attempt=self.clock() + PAUSE_SECONDS), str(exc)
        except (RetryLater, OutcomeUnknown) as exc:
            # An unknown outcome goes again too: at-least-once, with the same Message-ID.
            if row.attempts >= MAX_ATTEMPTS:
                return ConfirmationOutcome(row.id, "failed", error=str(exc)), ""
            return ConfirmationOutcome(row.id, "deferred", error=str(exc),
                                       next_attempt=self.clock() + retry_delay(row.attempts)), ""
        except Rejected as exc:
            return ConfirmationOutcome(row.id, "failed", error=str(exc)), ""
        logger.info("confirmation email %d sent", row.id)
        return ConfirmationOutcome(row.id, "sent", provider_id=provider_id), ""

    def _open(self) -> Transport:
        if self._transport is None:
            self._transport = open_transport(self.settings, self.transport_name)
        return self._transport

    def _drop(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def close(self) -> None:
        """Close the transport, if it was opened; this sender's claims are its no more."""
        self._drop()
        retire_claimant(self.owner)
