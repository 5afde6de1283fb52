"""Backups of the subscribers' database — the consent records, the suppression list and every
send ledger — and restoring one.

`take_backup`: a consistent copy through SQLite's online backup API while `serve` and `send` go
on writing (`Database.copy_to`) → `PRAGMA integrity_check` of the copy → gzip, hashing as it
writes → a name with the copy's time and checksum → into a folder (0600) or S3 (server-side
encrypted) → the oldest beyond `[backup] keep` removed → the backup logged in the file itself
(what `status` reads).

`restore_backup`: fetch → the checksum in the name checked → gunzip → `integrity_check`, the schema
version (a backup from a newer program is refused) and the subscriber tables → the copy migrated
and marked as restored (so `send --due` will not start or resume, on its own, an issue that may
have been mailed after the backup was taken) → refused if another process has the database open
or, without `force`, if there is one → the replaced database kept beside it → the copy moved in.
Every file written is readable by its owner only.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import logging
import os
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from newsletter.settings import BackupSettings

from .database import (
    BackupRecord,
    Database,
    RestoreRecord,
    StoreError,
    connect,
    inspect_file,
    open_by,
    open_database,
    stamp,
    utc_now,
)
from .migrations import SCHEMA_VERSION
from .places import BackupError, BackupPlace, place_for, source_place

logger = logging.getLogger(__name__)

# annaobserva-subscribers-20261120T021500Z-0123456789abcdef.sqlite.gz: the time the copy was
# taken (UTC; names sort by it) and the first 16 hex digits of the file's SHA-256.
BACKUP_NAME = re.compile(r"annaobserva-subscribers-(\d{8}T\d{6}Z)-([0-9a-f]{16})\.sqlite\.gz")
NAME_TIME = "%Y%m%dT%H%M%SZ"
CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
SQLITE_MAGIC = b"SQLite format 3\x00"


class RestoreRefused(BackupError):
    """A restore would lose data: the database is in use, or exists and --force was not given."""


@dataclass(frozen=True)
class Backup:
    """One backup taken: where it went and what it holds."""

    name: str
    location: str
    taken_at: dt.datetime
    bytes: int  # compressed
    database_bytes: int  # the copy before compression
    sha256: str
    schema_version: int
    seconds: float
    removed: tuple[str, ...]  # older backups removed to keep `[backup] keep`


@dataclass(frozen=True)
class Restored:
    """One restore done: from where, the backup's time, and where the replaced file went."""

    source: str
    taken_at: dt.datetime | None
    schema_version: int  # of the backup, before migrating it
    migrated_to: int
    kept: Path | None  # the database that was replaced, beside it


def backup_name(taken_at: dt.datetime, sha256: str) -> str:
    """The file name of a backup taken at that time with that checksum."""
    return f"annaobserva-subscribers-{taken_at.astimezone(dt.UTC).strftime(NAME_TIME)}-" \
           f"{sha256[:16]}.sqlite.gz"


def taken_at_of(name: str) -> dt.datetime | None:
    """When the backup of that name was taken (None for a name not ours)."""
    match = BACKUP_NAME.fullmatch(name)
    if match is None:
        return None
    return dt.datetime.strptime(match.group(1), NAME_TIME).replace(tzinfo=dt.UTC)


@contextmanager
def _staging(beside: Path) -> Iterator[Path]:
    """A private folder (0700) next to the database, removed afterwards: copies are staged on
    the database's own disk, never in a shared temporary folder."""
    beside.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".backup-", dir=beside))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _private_file(path: Path) -> None:
    """Create an empty file only its owner may read or write."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


class _Hashing:
    """A file object that hashes and counts what is written through it."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.out.write(data)

    def flush(self) -> None:
        self.out.flush()


def compress(source: Path, target: Path, level: int = 6) -> tuple[str, int]:
    """gzip `source` into `target` (created 0600); return its SHA-256 and size. The gzip header
    carries no name and no time, so one database always compresses to the same bytes."""
    _private_file(target)
    with open(target, "wb") as raw:
        hashing = _Hashing(raw)
        with open(source, "rb") as data, gzip.GzipFile(
                filename="", mode="wb", compresslevel=level, fileobj=hashing,  # type: ignore[arg-type]
                mtime=0) as packed:
            shutil.copyfileobj(data, packed, CHUNK)
        raw.flush()
        os.fsync(raw.fileno())
    return hashing.digest.hexdigest(), hashing.size


def take_backup(
    database: Database,
    place: BackupPlace,
    keep: int,
    clock: Callable[[], dt.datetime] = utc_now,
) -> Backup:
    """Copy, check, compress, store, prune and log one backup (see the module docstring)."""
    if database.path is None:
        raise BackupError("an in-memory database has nothing to back up")
    started = time.monotonic()
    with _staging(database.path.parent) as staging:
        copy = staging / "copy.sqlite"
        _private_file(copy)
        taken_at = clock()
        database.copy_to(copy)
        check = inspect_file(copy)
        if check.problems:
            raise BackupError(f"the copy of {database.path} fails its integrity check "
                              f"({check.problems[0]}); the database itself may be damaged")
        packed = staging / "copy.sqlite.gz"
        sha256, size = compress(copy, packed)
        name = backup_name(taken_at, sha256)
        place.put(packed, name, {"sha256": sha256, "schema-version": str(check.schema_version),
                                 "taken-at": stamp(taken_at)})
        database_bytes = copy.stat().st_size
    older = place.names()
    removed = tuple(n for n in older[: max(0, len(older) - keep)] if n != name)
    if removed:
        place.delete(list(removed))
    try:
        database.record_backup(BackupRecord(stamp(taken_at), place.describe(name), name, size,
                                            sha256, check.schema_version))
    except sqlite3.OperationalError:
        # A file from before migration 4 has no backup log: the backup was not migrated first.
        logger.info("%s has no backup log yet (schema %d)", database.path, check.schema_version)
    logger.info("backed up %s to %s (%d bytes)", database.path, place.describe(name), size)
    return Backup(name, place.describe(name), taken_at, size, database_bytes, sha256,
                  check.schema_version, time.monotonic() - started, removed)


def backup_database(path: Path, to: str, root: Path, settings: BackupSettings,
                    clock: Callable[[], dt.datetime] = utc_now) -> Backup:
    """`publish.py backup`: the database at `path` to `to` (a folder or s3://bucket/prefix/)."""
    if not path.exists():
        raise BackupError(f"{path}: there is no database to back up yet")
    # As the file is: not migrated first (a backup before an upgrade's migration is the point).
    database = connect(path)
    try:
        return take_backup(database, place_for(to, root, settings, BACKUP_NAME), settings.keep,
                           clock)
    finally:
        database.close()


def _unpack(fetched: Path, target: Path) -> None:
    """The SQLite file inside a fetched backup (gzip, or a plain SQLite file) into `target`."""
    with open(fetched, "rb") as head:
        magic = head.read(len(SQLITE_MAGIC))
    _private_file(target)
    try:
        with open(target, "wb") as out:
            if magic.startswith(GZIP_MAGIC):
                with gzip.open(fetched, "rb") as data:
                    shutil.copyfileobj(data, out, CHUNK)
            elif magic == SQLITE_MAGIC:
                with open(fetched, "rb") as data:
                    shutil.copyfileobj(data, out, CHUNK)
            else:
                raise BackupError("it is neither a gzip-compressed backup nor an SQLite file")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise BackupError(f"it cannot be decompressed ({exc}); the file is damaged") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        while chunk := data.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_checked(source: str, root: Path, settings: BackupSettings, staging: Path
                  ) -> tuple[Path, str, dt.datetime | None, int]:
    """Fetch a backup into `staging` and check it: (the SQLite copy, where it came from, when it
    was taken, its schema version). BackupError names what is wrong with it."""
    place, name = source_place(source, root, settings, BACKUP_NAME)
    if name is None:
        names = place.names()
        if not names:
            raise BackupError(f"{place.describe()}: no backup there (names like "
                              "annaobserva-subscribers-<time>-<checksum>.sqlite.gz)")
        name = names[-1]
    where = place.describe(name)
    fetched = staging / "fetched"
    _private_file(fetched)
    place.fetch(name, fetched)
    match = BACKUP_NAME.fullmatch(name)
    if match and not _sha256(fetched).startswith(match.group(2)):
        raise BackupError(f"{where}: its checksum does not match its name; the file is damaged "
                          "or incomplete (try the one before it)")
    copy = staging / "restored.sqlite"
    try:
        _unpack(fetched, copy)
    except BackupError as exc:
        raise BackupError(f"{where}: {exc}") from None
    fetched.unlink()
    check = inspect_file(copy)
    if check.problems:
        raise BackupError(f"{where}: fails PRAGMA integrity_check ({check.problems[0]}); "
                          "restore an older backup")
    if check.schema_version > SCHEMA_VERSION:
        raise BackupError(f"{where}: written by a newer ANNAobserva (schema version "
                          f"{check.schema_version}, this one knows {SCHEMA_VERSION}); upgrade "
                          "ANNAobserva before restoring it")
    if not check.is_annaobserva:
        raise BackupError(f"{where}: an SQLite file without the subscriber tables, not a backup "
                          "of ANNAobserva's database")
    return copy, where, taken_at_of(name), check.schema_version


def _keep_replaced(path: Path, now: dt.datetime) -> Path:
    """Copy the database about to be replaced beside it (0600), consistently when it opens."""
    kept = path.with_name(f"{path.name}.replaced-{now.astimezone(dt.UTC).strftime(NAME_TIME)}")
    _private_file(kept)
    try:
        database = connect(path)
        try:
            database.copy_to(kept)
            database.checkpoint()  # and leave no WAL behind, which would apply to the new file
        finally:
            database.close()
    except (StoreError, sqlite3.DatabaseError):
        # The file is damaged (maybe why it is being restored): keep its bytes as they are.
        shutil.copyfile(path, kept)
        wal = Path(f"{path}-wal")
        if wal.exists():
            shutil.copyfile(wal, f"{kept}-wal")
            os.chmod(f"{kept}-wal", 0o600)
            wal.unlink()
    return kept


def _refuse_if_open(path: Path) -> None:
    holder = open_by(path)
    if holder is not None:
        who = f"process {holder}" if holder > 0 else "another process"
        raise RestoreRefused(
            f"{path} is in use ({who} has it open: `serve`, a `send` or another command); "
            "stop it (and the cron lines) and run restore again")


def restore_backup(
    path: Path, source: str, root: Path, settings: BackupSettings, *, force: bool = False,
    clock: Callable[[], dt.datetime] = utc_now,
) -> Restored:
    """`publish.py restore SOURCE`: replace the database at `path` with a checked backup.

    SOURCE is a backup file or S3 object, or a folder or S3 prefix (the newest backup there).
    This process must not have the database open (see `database.open_by`).
    """
    _refuse_if_open(path)
    if path.exists() and not force:
        raise RestoreRefused(f"{path} exists: pass --force to replace it (it is kept beside "
                             f"it as {path.name}.replaced-<time>)")
    with _staging(path.parent) as staging:
        copy, where, taken_at, version = fetch_checked(source, root, settings, staging)
        now = clock()
        restored = open_database(copy)
        try:
            migrated = restored.schema_version()
            restored.record_restore(RestoreRecord(
                stamp(now), where, stamp(taken_at) if taken_at else None, version))
            restored.checkpoint()
        finally:
            restored.close()
        _refuse_if_open(path)  # once more: something may have started meanwhile
        kept = _keep_replaced(path, now) if path.exists() else None
        for leftover in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            if leftover.exists():
                if leftover.name.endswith("-wal") and leftover.stat().st_size:
                    raise RestoreRefused(f"{path} is in use (its WAL is being written); nothing "
                                         "was replaced")
                leftover.unlink()
        os.replace(copy, path)
    _sync_folder(path.parent)
    logger.info("restored %s from %s", path, where)
    return Restored(where, taken_at, version, migrated, kept)


def _sync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
