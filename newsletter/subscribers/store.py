"""Subscribers: validated addresses, a consent record, append-only status events, suppression.

A subscriber is `pending` until they confirm (double opt-in), `confirmed` while they receive the
newsletter, and `unsubscribed`, `bounced` or `complained` after. Every change of status is a new
row in `subscriber_events`. The suppression list holds addresses that must never be mailed again;
it is keyed by a salted hash, so an erased address leaves no trace but still cannot be re-imported.

Invariant kept by `suppress()`: a suppressed address is never `confirmed`, so `iter_confirmed()`
streams a plain indexed query. A subscriber added as `confirmed` (an import, an operator) needs a
consent note saying who designated them; one who confirms through the link has the event instead.

The store owns the subscriber tables (`subscribers`, `subscriber_events`, `suppressions`,
`store_meta`): it holds their rules and runs their statements, which are written in
`queries.SubscriberQueries` (`store.queries`; no SQL here). Every change is one
`Database.transaction()`, which a caller may open around several (an import's batch, a bounce's
event and its suppression) to commit them together. Its `outbox` (`outbox.ConfirmationOutbox`)
keeps the two queues of the subscription pages: sign-ups from the form and the confirmation
emails to send; its read-only counts (per status, per member state, what waits for a
confirmation) are its base class, `figures.StoreFigures`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from newsletter.addresses import InvalidAddress, mask_email, normalise_email
from newsletter.settings import Settings
from newsletter.states import MemberState, load_member_states

from .database import Database, StoreError, open_database, stamp, utc_now
from .figures import StoreFigures
from .migrations import SOURCES, STATUSES
from .outbox import ConfirmationOutbox
from .queries import SubscriberQueries
from .records import (
    CONSENT_NOTE,
    ConsentMissing,
    DuplicateSubscriber,
    NewSubscriber,
    NotPending,
    StatusEvent,
    Subscriber,
    SubscriberError,
    SubscriberNotFound,
    SuppressedAddress,
    UnknownLanguage,
    UnknownState,
    checked_text,
    status_for_reason,
)

logger = logging.getLogger(__name__)


def stored_form(email: str) -> str:
    """An address as the tables hold it: normalised by email-validator (as typed, if invalid)."""
    try:
        return normalise_email(email)
    except InvalidAddress:
        return email.strip()


class SubscriberStore(StoreFigures):
    """The subscribers in one SQLite file; every change is one transaction."""

    def __init__(
        self,
        database: Database,
        languages: Sequence[str],
        states: Mapping[str, MemberState],
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        queries = SubscriberQueries(database)
        super().__init__(queries, languages, states)
        self.database = database
        self.clock = clock
        self._salt = queries.salt()
        self.outbox = ConfirmationOutbox(database, queries, lambda: self.clock(), self.request)

    @classmethod
    def open(
        cls, settings: Settings, clock: Callable[[], dt.datetime] = utc_now
    ) -> SubscriberStore:
        """The store at `[subscribers] database`, migrated, with languages and member states."""
        return cls.at(settings.path(settings.subscribers.database), settings, clock)

    @classmethod
    def at(
        cls, path: Path, settings: Settings, clock: Callable[[], dt.datetime] = utc_now
    ) -> SubscriberStore:
        """The store in the file at `path`, with the settings' languages and member states."""
        states = load_member_states(settings.path(settings.subscribers.member_states))
        database = open_database(path)
        try:
            return cls(database, settings.site.languages, states, clock)
        except sqlite3.Error:
            database.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        self.database.close()

    def __enter__(self) -> SubscriberStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- validation ------------------------------------------------------------------------

    def validate(
        self, email: str, state: str, lang: str, name: str = "", organisation: str = ""
    ) -> NewSubscriber:
        """A normalised candidate, or the first reason it cannot be stored (InvalidAddress,
        UnknownState, UnknownLanguage, InvalidText)."""
        address = normalise_email(email)
        code = state.strip().upper()
        if code not in self.states:
            raise UnknownState(
                f"unknown member state {state.strip()!r} (use an ISO 3166-1 alpha-2 code of an "
                "OAS member state, e.g. UY)"
            )
        language = lang.strip().lower()
        if language not in self.languages:
            raise UnknownLanguage(
                f"unknown language {lang.strip()!r} (use one of {', '.join(self.languages)})"
            )
        return NewSubscriber(address, checked_text(name, "name"),
                             checked_text(organisation, "organisation"), code, language)

    # -- reading ---------------------------------------------------------------------------

    def get(self, subscriber_id: int) -> Subscriber | None:
        """The subscriber with that id, or None."""
        return self.queries.subscriber(subscriber_id)

    def _existing(self, subscriber_id: int) -> Subscriber:
        """The subscriber with that id; SubscriberNotFound if there is none."""
        subscriber = self.get(subscriber_id)
        if subscriber is None:
            raise SubscriberNotFound(f"no subscriber has id {subscriber_id}")
        return subscriber

    def get_by_email(self, email: str, normalised: bool = False) -> Subscriber | None:
        """The subscriber with that address (case-insensitively), or None."""
        return self.queries.subscriber_by_email(email if normalised else stored_form(email))

    def iter_confirmed(self, lang: str | None = None) -> Iterator[Subscriber]:
        """Confirmed subscribers in id order, streamed from a cursor (suppressed ones excluded)."""
        return self.queries.confirmed(lang)

    def audience(self) -> Iterator[Subscriber]:
        """Who receives an issue: confirmed subscribers not on the suppression list, streamed."""
        # The per-address check normalises each address (~80 µs); skip it when nothing is
        # suppressed.
        check = self.queries.any_suppressed()
        for subscriber in self.iter_confirmed():
            if not (check and self.is_suppressed(subscriber.email)):
                yield subscriber

    def last_id(self) -> int:
        """The highest subscriber id so far (0 for an empty store): what an import adds above."""
        return self.queries.last_id()

    def iter_subscribers(self, status: str | None = None) -> Iterator[Subscriber]:
        """Every subscriber (or those of one status) in id order, streamed."""
        if status is not None and status not in STATUSES:
            raise SubscriberError(f"unknown status {status!r} (use one of {', '.join(STATUSES)})")
        return self.queries.subscribers(status)

    def events(self, subscriber_id: int) -> list[StatusEvent]:
        """A subscriber's status history, oldest first."""
        return self.queries.events(subscriber_id)

    # -- suppression -----------------------------------------------------------------------

    def email_hash(self, email: str, normalised: bool = False) -> str:
        """The salted hash that keys an address in the suppression list."""
        address = email if normalised else stored_form(email)
        return hashlib.sha256(f"{self._salt}:{address.casefold()}".encode()).hexdigest()

    def is_suppressed(self, email: str) -> bool:
        """Whether the address must never be mailed again."""
        return self.queries.suppression_reason(self.email_hash(email)) is not None

    def suppression_reason(self, email: str, normalised: bool = False) -> str | None:
        """Why the address is suppressed, or None."""
        return self.queries.suppression_reason(self.email_hash(email, normalised))

    def suppress(self, email: str, reason: str) -> None:
        """Put an address on the suppression list (bounce/complaint/erasure); stop mailing it."""
        now = stamp(self.clock())
        with self.database.transaction():
            self.queries.add_suppression(self.email_hash(email), email.strip(), reason, now)
            existing = self.get_by_email(email)
            if existing and existing.status in ("pending", "confirmed"):
                self._change(existing, status_for_reason(reason), reason, "suppression", None, now)
        logger.info("suppressed %s (%s)", mask_email(email), reason)

    # -- changes ---------------------------------------------------------------------------

    def add(
        self,
        candidate: NewSubscriber,
        *,
        status: str,
        source: str,
        note: str = "",
        ip: str | None = None,
    ) -> Subscriber:
        """Store a new subscriber; DuplicateSubscriber or SuppressedAddress if it cannot be, and
        ConsentMissing for one added as confirmed without a note saying who designated them."""
        with self.database.transaction():
            subscriber = self.insert(candidate, status=status, source=source, note=note, ip=ip)
        logger.info("added %s as %s (%s)", subscriber.masked, status, source)
        return subscriber

    def insert(
        self, c: NewSubscriber, *, status: str, source: str, note: str, ip: str | None = None
    ) -> Subscriber:
        """`add()` inside a transaction the caller holds open (an import adds thousands in one):
        the same rules, no transaction of its own. It checks everything before it writes, so a
        refused row leaves nothing behind and the caller may go on."""
        if not self.database.in_transaction:
            raise StoreError("SubscriberStore.insert() needs the caller's transaction: use add()")
        if status not in ("pending", "confirmed"):
            raise SubscriberError(f"a new subscriber is pending or confirmed, not {status!r}")
        if status == "confirmed" and not note.strip():
            raise ConsentMissing(CONSENT_NOTE)
        if source not in SOURCES:
            raise SubscriberError(f"unknown source {source!r} (use one of {', '.join(SOURCES)})")
        reason = self.suppression_reason(c.email, normalised=True)
        if reason is not None:
            raise SuppressedAddress(
                f"{mask_email(c.email)} is on the suppression list ({reason}); it is never "
                "mailed again"
            )
        now = stamp(self.clock())
        confirmed_at = now if status == "confirmed" else None
        try:
            subscriber_id = self.queries.insert_subscriber(c, status, source, note, now,
                                                           confirmed_at, ip)
        except sqlite3.IntegrityError:
            raise DuplicateSubscriber(f"{mask_email(c.email)} is already subscribed") from None
        self.queries.add_event(subscriber_id, None, status, note or f"added by {source}", source,
                               ip, now)
        return Subscriber(subscriber_id, c.email, c.name, c.organisation, c.state, c.lang, status,
                          source, note, now, confirmed_at, ip, None, now)

    def _change(
        self, s: Subscriber, status: str, reason: str, source: str, ip: str | None, now: str
    ) -> None:
        """Set a status and append its event, inside the caller's transaction."""
        self.queries.set_status(s.id, status, now, ip)
        self.queries.add_event(s.id, s.status, status, reason, source, ip, now)

    def update_details(
        self, existing: Subscriber, c: NewSubscriber, *, source: str, confirm_note: str = ""
    ) -> Subscriber:
        """Take a candidate's name, organisation, member state and language for a subscriber
        already present (an import's `--update`), in the caller's transaction; with
        `confirm_note`, a pending subscriber becomes confirmed with that consent note. The event
        says what changed; a subscriber who left (unsubscribed, bounced, complained) is refused."""
        if existing.status not in ("pending", "confirmed"):
            raise SubscriberError(f"{existing.masked} is {existing.status}: only they can "
                                  "subscribe again")
        now = stamp(self.clock())
        changes = [f"{f} {getattr(existing, f) or '-'} → {getattr(c, f) or '-'}"
                   for f in ("name", "organisation", "state", "lang")
                   if getattr(existing, f) != getattr(c, f)]
        if changes:
            self.queries.set_details(existing.id, c, now)
            self.queries.add_event(existing.id, existing.status, existing.status,
                        "updated: " + "; ".join(changes), source, None, now)
        if confirm_note and existing.status == "pending":
            self.queries.set_note(existing.id, confirm_note)
            self._change(existing, "confirmed", confirm_note, source, None, now)
        return self._existing(existing.id)

    def set_status(
        self, subscriber_id: int, status: str, reason: str, source: str = "admin"
    ) -> None:
        """Change a subscriber's status and append the event (no-op if it is already that)."""
        if status not in STATUSES:
            raise SubscriberError(f"unknown status {status!r} (use one of {', '.join(STATUSES)})")
        with self.database.transaction():
            subscriber = self.get(subscriber_id)
            if subscriber is None:
                raise SubscriberNotFound(f"no subscriber has id {subscriber_id}")
            if subscriber.status != status:
                self._change(subscriber, status, reason, source, None, stamp(self.clock()))

    def request(self, candidate: NewSubscriber, ip: str | None) -> Subscriber | None:
        """A sign-up from the form: who should get a confirmation email now, if anybody.

        New address → pending; pending → the same (another confirmation email, if the cooldown
        allows: `outbox.queue`); unsubscribed → pending again; confirmed, bounced, complained or
        suppressed → nobody (the form answers the same either way, so it reveals nothing).
        """
        with self.database.transaction():
            if self.is_suppressed(candidate.email):
                logger.info("form sign-up for suppressed %s ignored", mask_email(candidate.email))
                return None
            existing = self.get_by_email(candidate.email)
            if existing is None:
                return self.insert(candidate, status="pending", source="form", note="", ip=ip)
            if existing.status == "pending":
                return existing
            if existing.status == "unsubscribed":
                now = stamp(self.clock())
                self.queries.request_again(existing.id, candidate.lang, now, ip)
                self._change(existing, "pending", "subscribed again through the form", "form",
                             ip, now)
                return self.get(existing.id)
            return None

    def confirm(self, subscriber_id: int, ip: str | None) -> Subscriber:
        """Turn a pending subscription into a confirmed one (idempotent for confirmed)."""
        with self.database.transaction():
            subscriber = self.get(subscriber_id)
            if subscriber is None:
                raise SubscriberNotFound(f"no subscriber has id {subscriber_id}")
            if subscriber.status == "confirmed":
                return subscriber
            if subscriber.status != "pending":
                raise NotPending(f"subscriber {subscriber_id} is {subscriber.status}")
            if self.is_suppressed(subscriber.email):
                raise SuppressedAddress(f"{subscriber.masked} is on the suppression list")
            self._change(subscriber, "confirmed", "confirmed by the link in the email", "form",
                         ip, stamp(self.clock()))
        logger.info("confirmed %s", subscriber.masked)
        return self._existing(subscriber_id)

    def unsubscribe(
        self, subscriber_id: int, source: str, ip: str | None = None, reason: str = ""
    ) -> Subscriber | None:
        """Stop mailing a subscriber (idempotent); None if they were erased. The event's reason
        is `reason`, or says the source ("unsubscribed (one-click)")."""
        with self.database.transaction():
            subscriber = self.get(subscriber_id)
            if subscriber is None:
                return None
            if subscriber.status in ("pending", "confirmed"):
                self._change(subscriber, "unsubscribed", reason or f"unsubscribed ({source})",
                             source, ip, stamp(self.clock()))
        logger.info("unsubscribed %s (%s)", subscriber.masked, source)
        return self.get(subscriber_id)

    def change_language(self, subscriber_id: int, lang: str, source: str = "form") -> Subscriber:
        """Send a subscriber the newsletter in another language from now on."""
        if lang not in self.languages:
            raise UnknownLanguage(
                f"unknown language {lang!r} (use one of {', '.join(self.languages)})"
            )
        with self.database.transaction():
            subscriber = self.get(subscriber_id)
            if subscriber is None:
                raise SubscriberNotFound(f"no subscriber has id {subscriber_id}")
            if subscriber.lang != lang:
                now = stamp(self.clock())
                self.queries.set_language(subscriber_id, lang, now)
                self.queries.add_event(subscriber_id, subscriber.status, subscriber.status,
                            f"language {subscriber.lang} → {lang}", source, None, now)
        return self._existing(subscriber_id)

    def erase(self, email: str) -> bool:
        """Delete an address and its history; keep only its salted hash, suppressed for good.

        Returns whether a subscriber had that address (the hash is suppressed either way).
        """
        now = stamp(self.clock())
        with self.database.transaction():
            existing = self.get_by_email(email)
            if existing is not None:
                self.queries.delete_subscriber(existing.id)
            self.outbox.forget_sign_ups(existing.email if existing else email)
            self.queries.suppress_erased(self.email_hash(email), now)
        logger.info("erased %s", mask_email(email))
        return existing is not None
