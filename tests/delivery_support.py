"""Helpers for the delivery tests: subscribers in a store, a loaded issue, a rendered edition."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterable
from email.message import EmailMessage
from pathlib import Path

from newsletter.content import Issue, load_corpus
from newsletter.mail.editions import EmailEdition, render_email_editions
from newsletter.settings import Settings
from newsletter.subscribers import NewSubscriber, SubscriberStore

STATES = ("UY", "AR", "BR", "MX", "CA", "CL", "PE", "CO")


def add_subscribers(store: SubscriberStore, count: int, langs: Iterable[str] = ("es", "en"),
                    start: int = 0, domain: str = "example.org") -> None:
    """`count` confirmed subscribers at example.org, languages and member states in rotation."""
    langs = tuple(langs)
    with store.database.transaction():
        for n in range(start, start + count):
            store.insert(
                NewSubscriber(f"reader{n:06d}@{domain}", f"Reader {n}", "", STATES[n % len(STATES)],
                              langs[n % len(langs)]),
                status="confirmed", source="import", note="test liaisons",
            )


def load_issue(settings: Settings, slug: str) -> Issue:
    """One issue of the project's corpus."""
    return load_corpus(settings).get(slug)


def editions(settings: Settings, issue: Issue) -> dict[str, EmailEdition]:
    """The issue's email editions."""
    return render_email_editions(settings, issue)


def parse(data: bytes) -> EmailMessage:
    """A message parsed back with the modern policy."""
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def outbox_messages(folder: Path) -> list[EmailMessage]:
    """Every message in a Maildir's new/ folder."""
    return [parse(p.read_bytes()) for p in sorted((folder / "new").iterdir())]
