"""Rehearsals that never touch a campaign: `send --dry-run` and `send --to ADDRESS`.

A dry run freezes the audience exactly as a real send would, renders every message, counts them
per language and member state, and rolls everything back. A test send mails one `[TEST]` copy per
language to one address and records it apart from the campaign, with the address masked.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from newsletter.addresses import mask_email
from newsletter.content import Issue
from newsletter.mail import (
    EmailEditions,
    OutcomeUnknown,
    Recipient,
    Rejected,
    RetryLater,
    Transport,
    check_secret_for,
)
from newsletter.subscribers import SubscriberStore

from .ledger import Ledger
from .preflight import check_ready, masked_error
from .sending import BATCH


def send_test(
    ledger: Ledger, issue: Issue, editions: EmailEditions, address: str,
    transport: Transport, now: dt.datetime | None = None,
) -> list[tuple[str, str, str]]:
    """`--to ADDRESS`: a `[TEST]` message per offered language (a language the issue lacks gets
    its fallback edition, with its own words), kept apart; [(lang, outcome, detail)]. Its links
    are real: a weak secret is refused for any transport but the outbox."""
    for edition in editions.values():
        check_secret_for(transport.name, edition.signer)
    results: list[tuple[str, str, str]] = []
    for lang, edition in editions.items():
        message = edition.message_for(Recipient(0, address, "", lang), subject_prefix="[TEST] ",
                                      now=now)
        try:
            provider_id: str | None = transport.send(address, message)
            outcome, detail = "sent", str(provider_id)
        except (RetryLater, Rejected, OutcomeUnknown) as exc:
            provider_id, outcome, detail = None, type(exc).__name__.lower(), masked_error(exc)
        ledger.record_test_send(issue.slug, lang, mask_email(address), outcome, provider_id,
                                "" if outcome == "sent" else detail)
        results.append((lang, outcome, detail))
    return results


@dataclass(frozen=True)
class DryRun:
    """What `send --dry-run` found: the messages a real run would send, counted."""

    issue: str
    by_language: Mapping[str, int]  # edition language → messages
    by_state: Mapping[str, int]  # member state → messages
    fallbacks: Mapping[tuple[str, str], int]
    rendered: int
    new_campaign: bool


def dry_run(store: SubscriberStore, ledger: Ledger, issue: Issue, editions: EmailEditions,
            hold_unknown: bool = False) -> DryRun:
    """Freeze (or read) the audience and render every message, then undo it all: nothing is sent."""
    check_ready(issue)
    states = ("queued", "deferred") + (() if hold_unknown else ("unknown", "sending"))
    by_lang: Counter[str] = Counter()
    by_state: Counter[str] = Counter()
    rendered = 0
    with ledger.database.rolled_back():
        new = ledger.campaign(issue.slug) is None
        if new:
            ledger.freeze(issue.slug, store.audience(), editions.edition_for)
        for subscriber_id, email, name, lang, edition_lang, member_state in ledger.owed(
                issue.slug, states, BATCH):
            editions.for_reader(lang, edition_lang).message_for(
                Recipient(subscriber_id, email, name, lang))
            rendered += 1
            by_lang[edition_lang] += 1
            by_state[member_state] += 1
        fallbacks = ledger.fallbacks(issue.slug)
    return DryRun(issue.slug, dict(sorted(by_lang.items())), dict(sorted(by_state.items())),
                  fallbacks, rendered, new)
