"""The SQLite file behind subscribers and deliveries: WAL, a versioned schema, migrations on open.

The schema version lives in `PRAGMA user_version`. `MIGRATIONS` is an ordered list; migration *n*
(1-based: `MIGRATIONS[n - 1]`) takes a database from version n-1 to n. A migration is either an
SQL script (several statements separated by `;`) or a callable `(conn) -> None`; each runs inside
its own `BEGIN IMMEDIATE … COMMIT` together with the version bump, so a failed migration leaves the
file at the previous version and two processes opening the same file never run one twice.

The migrations themselves, every one of them, are in `migrations.py`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from newsletter.errors import NewsletterError

from .migrations import MIGRATIONS, SOURCES, STATUSES, Migration

__all__ = ["MIGRATIONS", "SOURCES", "STATUSES", "Migration", "StoreError", "connect", "migrate",
           "open_database", "schema_version", "split_statements"]

logger = logging.getLogger(__name__)


class StoreError(NewsletterError):
    """The database file cannot be opened or migrated."""


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
