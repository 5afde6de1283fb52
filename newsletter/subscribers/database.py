"""The SQLite file behind subscribers and deliveries: WAL, a versioned schema, one way to write.

`Database.transaction()` is the only way anything writes: `BEGIN IMMEDIATE … COMMIT`, rolled back
on any exception; inside another transaction it is a savepoint, so a caller can make several
owners' changes one commit (a bounce's event and its suppression) and a failed step undoes only
itself. The connection is in autocommit mode, so nothing opens a transaction behind the owners'
backs. The owners of the tables (`store.SubscriberStore`, `newsletter.delivery`'s `Ledger`) hold
the statements; this module holds only the connection, the transactions and the migrations' runner.

The schema version lives in `PRAGMA user_version`. `MIGRATIONS` is an ordered list; migration *n*
(1-based: `MIGRATIONS[n - 1]`) takes a database from version n-1 to n. A migration is either an
SQL script (several statements separated by `;`) or a callable `(conn) -> None`; each runs inside
its own transaction together with the version bump, so a failed migration leaves the file at the
previous version and two processes opening the same file never run one twice. The migrations
themselves, every one of them, are in `migrations.py`.

The file holds addresses: it, its `-wal` and `-shm` are readable and writable by their owner only
(0600, whatever the umask; `connect`), and so is every export (`importer.write_export`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.errors import NewsletterError

from .migrations import MIGRATIONS

if TYPE_CHECKING:
    from .migrations import Migration

logger = logging.getLogger(__name__)

PRIVATE_MODE = 0o600
# The files SQLite keeps beside the database: they hold its pages (addresses) too.
COMPANIONS = ("-wal", "-shm", "-journal")


class StoreError(NewsletterError):
    """The database file cannot be opened or migrated."""


def utc_now() -> dt.datetime:
    """The current time, timezone-aware (the store's default clock)."""
    return dt.datetime.now(dt.UTC)


def stamp(moment: dt.datetime) -> str:
    """An ISO 8601 UTC timestamp, to the second: how the tables store times."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Database:
    """One connection to the subscribers' database, and the transactions every write goes in."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None = None) -> None:
        self.conn = conn
        self.path = path
        self._depth = 0
        self._savepoints = itertools.count(1)

    @property
    def in_transaction(self) -> bool:
        """Whether a `transaction()` is open."""
        return self._depth > 0

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Everything written inside commits together, or not at all (see the module docstring)."""
        if self._depth:
            name = f"sp{next(self._savepoints)}"
            self.conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield self.conn
                self.conn.execute(f"RELEASE {name}")
            except BaseException:
                if self.conn.in_transaction:  # (SQLite may have ended it on a hard error)
                    self.conn.execute(f"ROLLBACK TO {name}")
                    self.conn.execute(f"RELEASE {name}")
                raise
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:  # the body or the commit failed: nothing of it stays
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    @contextmanager
    def rolled_back(self) -> Iterator[sqlite3.Connection]:
        """A transaction that is always undone (a dry run sees its own writes, then none stay)."""
        if self._depth:
            raise StoreError("a rehearsal cannot run inside another transaction")
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.conn
        finally:
            self._depth = 0
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def schema_version(self) -> int:
        """The schema version recorded in the file (0 for a new, empty file)."""
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self, migrations: Sequence[Migration] = MIGRATIONS) -> int:
        """Apply every migration the file has not seen yet; return the resulting version."""
        where = f"{self.path}: " if self.path else ""
        target = len(migrations)
        current = self.schema_version()
        if current > target:
            raise StoreError(
                f"{where}schema version {current} is newer than this program knows ({target}); "
                "upgrade ANNAobserva"
            )
        while current < target:
            version = current + 1
            step = migrations[current]
            try:
                with self.transaction() as conn:
                    # Another process may have migrated while we waited for the write lock.
                    if self.schema_version() >= version:
                        current = self.schema_version()
                        continue
                    if callable(step):
                        step(conn)
                    else:
                        for statement in split_statements(step):
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {version:d}")
            except sqlite3.Error as exc:
                raise StoreError(f"{where}migration {version} failed: {exc}") from None
            logger.info("database migrated to schema version %d", version)
            current = version
        return current


def _make_private(path: Path) -> None:
    """The database file and its companions readable and writable by their owner only.

    By path, never by opening the file: closing any descriptor of a database file releases the
    POSIX locks every SQLite connection of this process holds on it. Done right after connecting,
    while a new file is still empty and before WAL mode creates -wal and -shm (which SQLite gives
    the database file's mode), whatever the umask was."""
    for target in (path, *(path.with_name(path.name + suffix) for suffix in COMPANIONS)):
        try:
            if stat.S_IMODE(target.stat().st_mode) != PRIVATE_MODE:
                target.chmod(PRIVATE_MODE)
        except FileNotFoundError:
            continue
        except PermissionError as exc:
            logger.warning("%s: cannot make it private (%s)", target, exc.strerror)


def connect(path: Path) -> Database:
    """The database at `path` with WAL, foreign keys and a busy timeout, but no migration; the
    file and its companions are private to their owner."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # isolation_level=None: autocommit, so only `Database.transaction()` opens transactions.
        conn = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False,
                               isolation_level=None)
        _make_private(path)
        conn.execute("PRAGMA journal_mode = WAL")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open the database ({exc})") from None
    conn.execute("PRAGMA foreign_keys = ON")
    # NORMAL is durable across application crashes in WAL mode; only power loss can lose the
    # last commits, never corrupt the file.
    conn.execute("PRAGMA synchronous = NORMAL")
    return Database(conn, path)


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


def open_database(path: Path) -> Database:
    """The database at `path` (created if missing), in WAL mode with every migration applied."""
    database = connect(path)
    try:
        database.migrate()
    except StoreError:
        database.close()
        raise
    return database
