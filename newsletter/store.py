"""The SQLite file behind subscribers and deliveries: WAL, a versioned schema, migrations on open.

The schema version lives in `PRAGMA user_version`. `MIGRATIONS` is an ordered list; migration *n*
(1-based: `MIGRATIONS[n - 1]`) takes a database from version n-1 to n. A migration is either an
SQL script (several statements separated by `;`) or a callable `(conn) -> None`; each runs inside
its own `BEGIN IMMEDIATE … COMMIT` together with the version bump, so a failed migration leaves the
file at the previous version and two processes opening the same file never run one twice.

To add a migration: APPEND it to `MIGRATIONS` (never edit or reorder a released one), with a
comment saying what it adds and why. Tables that reference `subscribers(id)` should say
`ON DELETE SET NULL` or `ON DELETE CASCADE`: `subscribers remove` (erasure) deletes the row.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import NewsletterError

logger = logging.getLogger(__name__)

Migration = str | Callable[[sqlite3.Connection], None]

# What the subscribers table's CHECK constraints allow (newsletter.subscribers re-exports them).
STATUSES = ("pending", "confirmed", "unsubscribed", "bounced", "complained")
SOURCES = ("form", "import", "admin")


class StoreError(NewsletterError):
    """The database file cannot be opened or migrated."""


# 1: subscribers with their consent record, status events (append-only), the suppression list,
#    and a per-database salt for the suppression hashes.
_V1_SUBSCRIBERS = """
CREATE TABLE store_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO store_meta (key, value) VALUES ('salt', lower(hex(randomblob(16))));

-- AUTOINCREMENT: an erased subscriber's id is never reused, so an old signed link in an old
-- message can never act on somebody else.
CREATE TABLE subscribers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name          TEXT NOT NULL DEFAULT '',
    organisation  TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,
    lang          TEXT NOT NULL,
    status        TEXT NOT NULL
                  CHECK (status IN ('pending', 'confirmed', 'unsubscribed', 'bounced',
                                    'complained')),
    source        TEXT NOT NULL CHECK (source IN ('form', 'import', 'admin')),
    note          TEXT NOT NULL DEFAULT '',
    requested_at  TEXT NOT NULL,
    confirmed_at  TEXT,
    request_ip    TEXT,
    confirm_ip    TEXT,
    updated_at    TEXT NOT NULL
);
CREATE INDEX subscribers_by_status_lang ON subscribers (status, lang, id);

-- Every status change, appended, never updated: the consent history.
CREATE TABLE subscriber_events (
    id             INTEGER PRIMARY KEY,
    subscriber_id  INTEGER NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    at             TEXT NOT NULL,
    old_status     TEXT,
    new_status     TEXT NOT NULL,
    reason         TEXT NOT NULL DEFAULT '',
    source         TEXT NOT NULL,
    ip             TEXT
);
CREATE INDEX subscriber_events_by_subscriber ON subscriber_events (subscriber_id, id);

-- Addresses that must never be mailed again. Looked up by a salted hash of the lower-cased
-- address; `email` is kept for bounces and complaints and is NULL after an erasure.
CREATE TABLE suppressions (
    email_hash  TEXT PRIMARY KEY,
    email       TEXT,
    reason      TEXT NOT NULL,
    at          TEXT NOT NULL
);
"""

# 2: coverage ("which member states receive the newsletter?") counts by state without a scan.
_V2_COVERAGE_INDEX = """
CREATE INDEX subscribers_by_state ON subscribers (state, status, lang);
"""


def _v3_deliveries(conn: sqlite3.Connection) -> None:
    """3: the send ledger (campaigns, deliveries, test sends, the send lock, SES events)."""
    from .ledger import create_delivery_tables  # imported late: ledger imports this module

    create_delivery_tables(conn)


MIGRATIONS: list[Migration] = [
    _V1_SUBSCRIBERS,
    _V2_COVERAGE_INDEX,
    _v3_deliveries,
    # Append new migrations here (see the module docstring).
]


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the file (0 for a new, empty file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def connect(path: Path) -> sqlite3.Connection:
    """A connection with WAL, foreign keys and a busy timeout, but no migration."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open the database ({exc})") from None
    conn.execute("PRAGMA foreign_keys = ON")
    # NORMAL is durable across application crashes in WAL mode; only power loss can lose the
    # last commits, never corrupt the file.
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def migrate(
    conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS, path: Path | None = None
) -> int:
    """Apply every migration the file has not seen yet; return the resulting version."""
    where = f"{path}: " if path else ""
    target = len(migrations)
    current = schema_version(conn)
    if current > target:
        raise StoreError(
            f"{where}schema version {current} is newer than this program knows ({target}); "
            "upgrade ANNAobserva"
        )
    while current < target:
        version = current + 1
        step = migrations[current]
        conn.commit()
        try:
            conn.execute("BEGIN IMMEDIATE")
            # Another process may have migrated while we waited for the write lock.
            if schema_version(conn) >= version:
                conn.execute("ROLLBACK")
                current = schema_version(conn)
                continue
            if callable(step):
                step(conn)
            else:
                for statement in split_statements(step):
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version:d}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"{where}migration {version} failed: {exc}") from None
        logger.info("database migrated to schema version %d", version)
        current = version
    return current


def split_statements(script: str) -> list[str]:
    """The complete SQL statements of a script, in order (sqlite3.complete_statement decides)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        raise StoreError(f"incomplete SQL statement in a migration: {pending.strip()[:60]!r}")
    return statements


def open_database(path: Path) -> sqlite3.Connection:
    """The database at `path` (created if missing), in WAL mode with every migration applied."""
    conn = connect(path)
    try:
        migrate(conn, MIGRATIONS, Path(path))
    except StoreError:
        conn.close()
        raise
    return conn
