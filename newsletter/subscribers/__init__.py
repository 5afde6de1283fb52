"""Subscribers: the database (every migration), the subscriber store, imports, coverage, consent.

Owns the SQLite file (`database`: the connection and `Database.transaction()`, the one way
anything writes; `migrations`: every migration, append-only), the subscriber tables
(`SubscriberStore`, which also answers who receives an issue: `audience()`) and the subscription
pages' queues (`store.outbox`: sign-ups from the form, confirmation emails to send); every
statement on those is written in `queries` (`SubscriberQueries`), which only the store and its
outbox call. Enforces the consent rule: a subscriber added as confirmed needs a note saying who
designated them, in the store and the importer alike; and what a name may hold (`checked_text`).
Sends the double opt-in email from the outbox through `mail` (`ConfirmationSender`). Takes and
restores backups of the file (`backup`: online backup API, checked, compressed, to a folder or
S3; `places`: where they live).

May import: `mail` and the kernel. Other subsystems import these public names, never its modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newsletter.exports import lazy_exports

if TYPE_CHECKING:
    from .backup import (
        BACKUP_NAME,
        Backup,
        Restored,
        RestoreRefused,
        backup_database,
        restore_backup,
        take_backup,
    )
    from .confirmations import (
        ConfirmationRenderer,
        ConfirmationRound,
        ConfirmationSender,
        render_confirmation,
    )
    from .coverage import (
        coverage_html,
        coverage_table,
        coverage_text,
        retired_note,
        write_coverage_report,
    )
    from .database import (
        BackupRecord,
        Database,
        RestoreRecord,
        StoreError,
        open_database,
        parse_stamp,
        stamp,
    )
    from .importer import (
        ImportFileError,
        ImportRejected,
        ImportReport,
        export_csv,
        import_csv,
        write_export,
    )
    from .migrations import SCHEMA_VERSION, SOURCES, STATUSES
    from .outbox import ConfirmationOutbox
    from .places import BackupError
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
    "BACKUP_NAME", "SCHEMA_VERSION", "SOURCES", "STATUSES", "Backup", "BackupError",
    "BackupRecord", "ConfirmationOutbox", "ConfirmationRenderer", "ConfirmationRound",
    "ConfirmationSender", "ConsentMissing", "Database", "DuplicateSubscriber", "ImportFileError",
    "ImportRejected", "ImportReport", "InvalidText", "NewSubscriber", "NotPending",
    "RestoreRecord", "RestoreRefused", "Restored", "StatusEvent", "StoreError", "Subscriber",
    "SubscriberError", "SubscriberNotFound", "SubscriberStore", "SuppressedAddress",
    "UnknownLanguage", "UnknownState", "backup_database", "checked_text", "coverage_html",
    "coverage_table", "coverage_text", "export_csv", "import_csv", "open_database",
    "parse_stamp", "render_confirmation", "restore_backup", "retired_note", "stamp",
    "take_backup", "write_coverage_report", "write_export",
]
__getattr__, __dir__ = lazy_exports(__name__, {
    ".backup": ("BACKUP_NAME", "Backup", "RestoreRefused", "Restored", "backup_database",
                "restore_backup", "take_backup"),
    ".confirmations": ("ConfirmationRenderer", "ConfirmationRound", "ConfirmationSender",
                       "render_confirmation"),
    ".coverage": ("coverage_html", "coverage_table", "coverage_text", "retired_note",
                  "write_coverage_report"),
    ".database": ("BackupRecord", "Database", "RestoreRecord", "StoreError", "open_database",
                  "parse_stamp", "stamp"),
    ".importer": ("ImportFileError", "ImportRejected", "ImportReport", "export_csv",
                  "import_csv", "write_export"),
    ".migrations": ("SCHEMA_VERSION", "SOURCES", "STATUSES"),
    ".outbox": ("ConfirmationOutbox",),
    ".places": ("BackupError",),
    ".records": ("ConsentMissing", "DuplicateSubscriber", "InvalidText", "NewSubscriber",
                 "NotPending", "StatusEvent", "Subscriber", "SubscriberError",
                 "SubscriberNotFound", "SuppressedAddress", "UnknownLanguage", "UnknownState",
                 "checked_text"),
    ".store": ("SubscriberStore",),
})
