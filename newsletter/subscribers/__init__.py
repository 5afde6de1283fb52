"""Subscribers: the database (every migration), the subscriber store, imports, coverage, consent.

Owns the SQLite file (`database`: the connection and `Database.transaction()`, the one way
anything writes; `migrations`: every migration, append-only) and every statement on the
subscriber tables (`SubscriberStore`, which also answers who receives an issue: `audience()`) and
on the subscription pages' queues (`store.outbox`: sign-ups from the form, confirmation emails to
send). Enforces the consent rule: a subscriber added as confirmed needs a note saying who
designated them, in the store and the importer alike; and what a name may hold (`checked_text`).
Sends the double opt-in email from the outbox through `mail` (`ConfirmationSender`).

May import: `mail` and the kernel. Other subsystems import these public names, never its modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsletter.exports import lazy_exports

if TYPE_CHECKING:
    from .confirmations import (
        ConfirmationRenderer,
        ConfirmationRound,
        ConfirmationSender,
        render_confirmation,
    )
    from .coverage import coverage_html, coverage_table, coverage_text, write_coverage_report
    from .database import Database, StoreError, open_database, stamp
    from .importer import (
        ImportFileError,
        ImportRejected,
        ImportReport,
        export_csv,
        import_csv,
        write_export,
    )
    from .migrations import SOURCES, STATUSES
    from .outbox import ConfirmationOutbox
    from .records import (
        ConsentMissing,
        DuplicateSubscriber,
        InvalidText,
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
    )
    from .store import SubscriberStore

__all__ = [
    "SOURCES", "STATUSES", "ConfirmationOutbox", "ConfirmationRenderer", "ConfirmationRound",
    "ConfirmationSender", "ConsentMissing", "Database", "DuplicateSubscriber", "ImportFileError",
    "ImportRejected", "ImportReport", "InvalidText", "NewSubscriber", "NotPending", "StatusEvent",
    "StoreError", "Subscriber", "SubscriberError", "SubscriberNotFound", "SubscriberStore",
    "SuppressedAddress", "UnknownLanguage", "UnknownState", "checked_text", "coverage_html",
    "coverage_table", "coverage_text", "export_csv", "import_csv", "open_database",
    "render_confirmation", "stamp", "write_coverage_report", "write_export",
]
__getattr__, __dir__ = lazy_exports(__name__, {
    ".confirmations": ("ConfirmationRenderer", "ConfirmationRound", "ConfirmationSender",
                       "render_confirmation"),
    ".coverage": ("coverage_html", "coverage_table", "coverage_text", "write_coverage_report"),
    ".database": ("Database", "StoreError", "open_database", "stamp"),
    ".importer": ("ImportFileError", "ImportRejected", "ImportReport", "export_csv",
                  "import_csv", "write_export"),
    ".migrations": ("SOURCES", "STATUSES"),
    ".outbox": ("ConfirmationOutbox",),
    ".records": ("ConsentMissing", "DuplicateSubscriber", "InvalidText", "NewSubscriber",
                 "NotPending", "StatusEvent", "Subscriber", "SubscriberError",
                 "SubscriberNotFound", "SuppressedAddress", "UnknownLanguage", "UnknownState",
                 "checked_text"),
    ".store": ("SubscriberStore",),
})
