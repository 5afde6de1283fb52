"""The SQLite file behind subscribers and deliveries: WAL, a versioned schema, one way to write.

`Database.transaction()` is the only way anything writes: `BEGIN IMMEDIATE … COMMIT`, rolled back
on any exception; inside another transaction it is a savepoint, so a caller can make several
owners' changes one commit (a bounce's event and its suppression) and a failed step undoes only
itself. The connection is in autocommit mode, so nothing opens a transaction behind the owners'
backs. The owners of the tables (`store.SubscriberStore`, `newsletter.delivery`'s `Ledger`) hold
the statements; this module holds the connection, the transactions and the migrations' runner,
and what concerns the file as a whole: a consistent copy through SQLite's online backup API
(`Database.copy_to`), the integrity and schema check of a file (`inspect_file`), whether another
process has the file open (`open_by`), and the file's own log of the backups taken of it and the
restore it came from (`backups`, `restores`: no owner's rows, the file's history).

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
import fcntl
import itertools
import logging
import os
import sqlite3
import stat
import struct
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.errors import NewsletterError

from .migrations import MIGRATIONS, SCHEMA_VERSION

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


def parse_stamp(text: str) -> dt.datetime:
    """A timestamp as `stamp` wrote it, back as an aware datetime."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class BackupRecord:
    """One backup taken of this file: when, where to, and what it was."""

    at: str
    location: str
    name: str
    bytes: int
    sha256: str
    schema_version: int


@dataclass(frozen=True)
class RestoreRecord:
    """The restore this file came from: when, from where, and when that backup was taken."""

    at: str
    source: str
    taken_at: str | None
    schema_version: int


@dataclass(frozen=True)
class FileCheck:
    """What `inspect_file` found: the schema version and whatever integrity_check reported."""

    schema_version: int
    problems: tuple[str, ...]
    is_annaobserva: bool


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

    @property
    def schema_current(self) -> bool:
        """Whether every migration this program knows has been applied to the file."""
        return self.schema_version() == SCHEMA_VERSION

    def reachable(self) -> bool:
        """Whether the file answers a read now (a health check: no table's rows are read)."""
        try:
            self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error:
            return False
        return True

    # -- the file as a whole ---------------------------------------------------------------

    def copy_to(self, target: Path) -> None:
        """A consistent copy of the whole file into `target` (created 0600 by the caller),
        through SQLite's online backup API, while other connections go on writing.

        One step (`pages=-1`) is one read transaction: in WAL mode it blocks no writer, and no
        write made meanwhile can restart it or half-appear in the copy. The copy is put in
        rollback-journal mode, so it is one self-contained file.
        """
        with closing(sqlite3.connect(str(target), isolation_level=None)) as copy:
            self.conn.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode = DELETE").fetchone()

    def checkpoint(self) -> None:
        """Move everything in the WAL into the file and empty the WAL."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()

    def record_backup(self, record: BackupRecord) -> None:
        """Log a backup taken of this file."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO backups (at, location, name, bytes, sha256, schema_version) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (record.at, record.location, record.name, record.bytes, record.sha256,
                 record.schema_version),
            )

    def last_backup(self) -> BackupRecord | None:
        """The latest backup taken of this file, if any."""
        row = self.conn.execute(
            "SELECT at, location, name, bytes, sha256, schema_version FROM backups "
            "ORDER BY at DESC, id DESC LIMIT 1").fetchone()
        return BackupRecord(*row) if row else None

    def record_restore(self, record: RestoreRecord) -> None:
        """Log that this file was restored from a backup (written into the copy before it
        replaces the database, so the marker and the data arrive together)."""
        with self.transaction():
            self.conn.execute(
                "INSERT INTO restores (at, source, taken_at, schema_version) VALUES (?, ?, ?, ?)",
                (record.at, record.source, record.taken_at, record.schema_version),
            )

    def last_restore(self) -> RestoreRecord | None:
        """The latest restore this file came from, if any."""
        row = self.conn.execute(
            "SELECT at, source, taken_at, schema_version FROM restores "
            "ORDER BY at DESC, id DESC LIMIT 1").fetchone()
        return RestoreRecord(*row) if row else None

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


def inspect_file(path: Path) -> FileCheck:
    """Open a database file read-only and check it: `PRAGMA integrity_check`, its schema
    version, and whether it has the subscriber tables; StoreError if it is not SQLite at all."""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    try:
        with closing(sqlite3.connect(uri, uri=True, isolation_level=None)) as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            problems = tuple(row[0] for row in conn.execute("PRAGMA integrity_check"))
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a readable SQLite database ({exc})") from None
    return FileCheck(version, () if problems == ("ok",) else problems,
                     {"store_meta", "subscribers", "subscriber_events"} <= tables)


# SQLite's unix VFS keeps a read lock on this byte of the `-shm` file for as long as a connection
# to a WAL database is open (its "dead man switch"), busy or idle.
_DMS_BYTE = 128
_FLOCK = "hhqqi4x"  # struct flock on Linux: type, whence, start, len, pid (and padding)


def open_by(path: Path) -> int | None:
    """The pid of another process that has the database open, or None when none has.

    It asks the kernel who holds the lock every open SQLite connection keeps on the WAL index
    (the `-shm` file): unlike the send lock (which only a send takes) or an exclusive transaction
    (which in WAL mode readers and idle connections never block), it sees `serve` waiting for a
    request as well as a `send` in flight. Call it before this process opens the file itself:
    closing any descriptor of the `-shm` file drops this process's own locks on it (POSIX).
    """
    shm = Path(f"{path}-shm")
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return None  # no WAL index: no connection is open
    try:
        command = getattr(fcntl, "F_OFD_GETLK", fcntl.F_GETLK)
        answer = fcntl.fcntl(fd, command, struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET,
                                                      _DMS_BYTE, 1, 0))
    finally:
        os.close(fd)
    kind, _whence, _start, _length, pid = struct.unpack(_FLOCK, answer)
    if kind == fcntl.F_UNLCK:
        return None
    return pid if pid > 0 else -1


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
