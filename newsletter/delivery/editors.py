"""A word to the editors when a campaign completes: the issue, sent / rejected / unknown per
edition, the fallbacks and how long it took, to `[editors] email`, through the send's transport.

It is written after the campaign is recorded complete and the send lock released, and whatever
goes wrong with it (a missing word, a transport that refuses) is returned as a `Notice`, never
raised: the campaign is done either way, and `send --due` carries on with the next issue.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jinja2

from newsletter.addresses import mask_email
from newsletter.content import Issue
from newsletter.errors import NewsletterError
from newsletter.mail import Sender, Transport, build_notice
from newsletter.settings import Settings
from newsletter.subscribers import parse_stamp
from newsletter.templating import make_environment
from newsletter.wording import load_wording

from .ledger import Ledger
from .preflight import masked_error
from .sending import SendSummary

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """Whether the editors' summary went out, and to whom (masked) or why not."""

    sent: bool
    detail: str


def _span(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + \
        [f"{minutes} min"] * bool(minutes)
    return " ".join(parts) or f"{secs} s"


def render_summary(settings: Settings, ledger: Ledger, issue: Issue, summary: SendSummary,
                   lang: str) -> tuple[str, str]:
    """(subject, text) of the summary of a completed campaign, in `lang` (pure: reads only)."""
    words = load_wording(settings.path(settings.build.templates_dir),
                         settings.site.languages).section(lang, "editors")
    campaign = ledger.campaign(issue.slug)
    if campaign is None or campaign.completed_at is None:
        raise NewsletterError(f"the campaign of {issue.slug} is not complete")
    frozen, completed = parse_stamp(campaign.frozen_at), parse_stamp(campaign.completed_at)
    editions = [{"lang": edition, "audience": f.audience, "sent": f.sent,
                 "rejected": f.rejected, "unknown": f.unknown,
                 "skipped": f.audience - f.sent - f.rejected - f.owed}
                for edition, f in ledger.by_edition(issue.slug).items()]
    sent = sum(row["sent"] for row in editions)
    published = issue.published_editions()
    edition = published.get(lang) or next(iter(published.values()))
    context: dict[str, Any] = {
        "w": words, "number": issue.number, "slug": issue.slug, "title": edition.title,
        "frozen_at": f"{frozen:%Y-%m-%d %H:%M} UTC",
        "completed_at": f"{completed:%Y-%m-%d %H:%M} UTC",
        "duration": _span((completed - frozen).total_seconds()),
        "run_duration": _span(summary.elapsed), "editions": editions,
        "fallbacks": [{"lang": a, "edition": b, "n": n}
                      for (a, b), n in sorted(summary.fallbacks.items())],
    }
    env = make_environment(settings.path(settings.build.templates_dir))
    text = env.get_template("editors/summary.txt").render(**context)
    subject = words["subject"].format(site=settings.site.title.get(lang, "ANNAobserva"),
                                      number=issue.number, slug=issue.slug, sent=sent)
    return subject, text


def notify_editors(settings: Settings, ledger: Ledger, issue: Issue, summary: SendSummary,
                   transport_factory: Callable[[], Transport],
                   now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
                   ) -> Notice | None:
    """Send the summary if this run completed the campaign (None when there is nothing to say:
    not complete, complete before this run, or `[editors] campaign_summary = false`)."""
    editors = settings.editors
    if not (editors.campaign_summary and summary.complete and not summary.already_complete):
        return None
    lang = settings.site.default_language
    transport: Transport | None = None
    try:
        subject, text = render_summary(settings, ledger, issue, summary, lang)
        sender = Sender.from_settings(settings.email)
        moment = now()
        message_id = f"<annaobserva.{issue.slug}.summary.{moment:%Y%m%d%H%M%S}@{sender.domain}>"
        message = build_notice(sender, to=editors.email, subject=subject, text=text, lang=lang,
                               message_id=message_id, now=moment)
        transport = transport_factory()
        transport.send(editors.email, message, {"issue": issue.slug, "kind": "editors-summary"})
    except (NewsletterError, OSError, jinja2.TemplateError, KeyError, ValueError) as exc:
        logger.warning("the editors' summary of %s was not sent: %s", issue.slug,
                       masked_error(exc))
        return Notice(False, masked_error(exc) or type(exc).__name__)
    finally:
        if transport is not None:
            transport.close()
    return Notice(True, mask_email(editors.email))
