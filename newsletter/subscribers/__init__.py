"""Subscribers: the database (every migration), the subscriber store, imports, coverage, consent.

Owns the SQLite file (`database`: the connection and `Database.transaction()`, the one way
anything writes; `migrations`: every migration, append-only) and every statement on the
subscriber tables (`SubscriberStore`, which also answers who receives an issue: `audience()`).
Enforces the consent rule: a subscriber added as confirmed needs a note saying who designated
them, in the store and the importer alike. Sends the double opt-in email through `mail`.

May import: `mail` and the kernel. Other subsystems import these public names, never its modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsletter.exports import lazy_exports

if TYPE_CHECKING:
    from .confirmations import render_confirmation, send_confirmation
    from .coverage import coverage_html, coverage_table, coverage_text, write_coverage_report
    from .database import Database, StoreError, open_database, stamp
    from .importer import ImportFileError, ImportRejected, ImportReport, export_csv, import_csv
    from .migrations import SOURCES, STATUSES
    from .records import (
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
    )
    from .store import SubscriberStore

__all__ = [
    "SOURCES", "STATUSES", "ConsentMissing", "Database", "DuplicateSubscriber", "ImportFileError",
    "ImportRejected", "ImportReport", "NewSubscriber", "NotPending", "StatusEvent", "StoreError",
    "Subscriber", "SubscriberError", "SubscriberNotFound", "SubscriberStore", "SuppressedAddress",
    "UnknownLanguage", "UnknownState", "coverage_html", "coverage_table", "coverage_text",
    "export_csv", "import_csv", "open_database", "render_confirmation", "send_confirmation",
    "stamp", "write_coverage_report",
]
__getattr__, __dir__ = lazy_exports(__name__, {
    ".confirmations": ("render_confirmation", "send_confirmation"),
    ".coverage": ("coverage_html", "coverage_table", "coverage_text", "write_coverage_report"),
    ".database": ("Database", "StoreError", "open_database", "stamp"),
    ".importer": ("ImportFileError", "ImportRejected", "ImportReport", "export_csv",
                  "import_csv"),
    ".migrations": ("SOURCES", "STATUSES"),
    ".records": ("ConsentMissing", "DuplicateSubscriber", "NewSubscriber", "NotPending",
                 "StatusEvent", "Subscriber", "SubscriberError", "SubscriberNotFound",
                 "SuppressedAddress", "UnknownLanguage", "UnknownState"),
    ".store": ("SubscriberStore",),
})
