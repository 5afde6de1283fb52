"""What the subscriber store holds and refuses: its records and its errors.

`Subscriber` is one row of `subscribers` (see `newsletter.subscribers.store` for the rules of its
statuses), `StatusEvent` one row of the append-only `subscriber_events`, `NewSubscriber` what a
sign-up form or an import asks for. `subscriber_from_row` turns a row into a record fast.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from newsletter.addresses import mask_email, unsafe_character
from newsletter.errors import NewsletterError

# The columns of a `Subscriber`, in its fields' order (what the store selects).
COLUMNS = (
    "id, email, name, organisation, state, lang, status, source, note, requested_at, "
    "confirmed_at, request_ip, confirm_ip, updated_at"
)
CONSENT_NOTE = ('--confirmed needs --note saying who designated this subscriber (their consent '
                'record), e.g. --note "designated by INAU"')


class SubscriberError(NewsletterError):
    """A subscriber cannot be added or changed as asked."""


class UnknownState(SubscriberError):
    """The member-state code is not one of the 35 OAS member states."""


class UnknownLanguage(SubscriberError):
    """The language is not one the newsletter is published in."""


class DuplicateSubscriber(SubscriberError):
    """The address is already subscribed (in any status)."""


class SuppressedAddress(SubscriberError):
    """The address is on the suppression list (bounce, complaint or erasure)."""


class ConsentMissing(SubscriberError):
    """A subscriber added as confirmed has no note saying who designated them."""


class InvalidText(SubscriberError):
    """A name or organisation holds a character no name needs (a control, format or separator
    character), or is too long."""


class SubscriberNotFound(SubscriberError):
    """No subscriber has that address or id."""


class NotPending(SubscriberError):
    """Only a pending subscription can be confirmed."""


@dataclass(frozen=True)
class Subscriber:
    """One subscriber with their consent record (timestamps are ISO 8601 UTC strings)."""

    id: int
    email: str
    name: str
    organisation: str
    state: str
    lang: str
    status: str
    source: str
    note: str
    requested_at: str
    confirmed_at: str | None
    request_ip: str | None
    confirm_ip: str | None
    updated_at: str

    @property
    def masked(self) -> str:
        """The address as logs and `subscribers list` show it."""
        return mask_email(self.email)


@dataclass(frozen=True)
class StatusEvent:
    """One appended change of a subscriber's status."""

    subscriber_id: int
    at: str
    old_status: str | None
    new_status: str
    reason: str
    source: str
    ip: str | None


@dataclass(frozen=True)
class NewSubscriber:
    """A validated candidate for the store (from the CLI, an import row or the form)."""

    email: str
    name: str
    organisation: str
    state: str
    lang: str


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Subscriber))


def subscriber_from_row(
    cursor: sqlite3.Cursor, row: tuple[object, ...], new: Callable[..., Subscriber] = object.__new__
) -> Subscriber:
    """A Subscriber from a row of the store's columns, built without the frozen __init__.

    A send streams every confirmed row through here; filling `__dict__` at once costs about
    half of the frozen dataclass's field-by-field `object.__setattr__`. Equal to `Subscriber(*row)`.
    """
    subscriber = new(Subscriber)
    object.__setattr__(subscriber, "__dict__", dict(zip(_FIELD_NAMES, row, strict=True)))
    return subscriber


MAX_TEXT = 200


def checked_text(value: str, what: str) -> str:
    """A name or organisation with its spaces collapsed; InvalidText names the first character
    outside the allowlist (`addresses.NAME_CATEGORIES`), or the length."""
    unsafe = unsafe_character(value)
    if unsafe is not None:
        position, character = unsafe
        raise InvalidText(
            f"the {what} holds {character} at character {position}: names and organisations "
            "may hold letters, marks, digits, punctuation, symbols and spaces"
        )
    text = " ".join(value.split())  # every Zs space (no-break, ideographic) becomes one space
    if len(text) > MAX_TEXT:
        raise InvalidText(f"the {what} is {len(text)} characters long; at most {MAX_TEXT}")
    return text


def status_for_reason(reason: str) -> str:
    """The status a suppression reason leaves a subscriber in: complained, bounced, unsubscribed."""
    lowered = reason.lower()
    if "complain" in lowered:
        return "complained"
    if "bounce" in lowered:
        return "bounced"
    return "unsubscribed"
