"""The build cache: parsed editions, body scans and rendered Markdown, keyed on content hashes.

An unchanged source (same bytes) is neither parsed nor converted again; a change of the rendering
configuration (Markdown version, extensions, base path, quotes) changes every key. The entries
live in one SQLite file and are read one by one as a build asks for them, so a build that edits one
issue reads what it needs rather than the whole cache, and memory does not grow with the archive.
Entries a build neither read nor marked as still current are dropped when it saves, so the cache
never outgrows the issues. The file is the build's own: deleting it only costs time.
"""

from __future__ import annotations

import logging
import pickle
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from newsletter.errors import BuildError

logger = logging.getLogger(__name__)
FORMAT = 4  # bump when a cached class (Edition, BodyScan, Rendered…) changes shape
# Entries put before they are written in one transaction: a cold build puts three per edition
# (parsed, scanned, converted; some 40 KB), so this holds a few MB and commits a dozen times.
FLUSH_EVERY = 256
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
PRAGMA user_version = {FORMAT};
"""


class CacheError(BuildError):
    """The build cache file cannot be used."""


class BuildCache:
    """A persistent key → picklable value store in the project's cache folder (never committed).

    `BuildCache(None)` keeps everything in memory for one run.
    """

    def __init__(self, path: Path | None, page_cache_kb: int = 2048) -> None:
        self.path = path
        self.page_cache_kb = page_cache_kb
        self._db: sqlite3.Connection | None = None
        self._new: dict[str, Any] = {}  # put by this build, not yet written
        self._prefetched: dict[str, bytes] = {}
        self._used: set[str] = set()
        # Per prefix whose keys were listed (`prefetch_keys`): the keys stored under it then.
        self._listed: dict[str, set[str]] = {}
        # Per prefix read whole (`prefetch`): its keys then, and those put since. Only this
        # process writes under such a prefix (worker processes write converted HTML, which is
        # only listed), so a key not among them is not stored.
        self._complete: dict[str, set[str]] = {}

    # -- storage ------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._db = self._open(self.path)
            except sqlite3.DatabaseError as exc:
                if not self.path.is_file():
                    raise CacheError(f"{self.path}: cannot open the build cache ({exc}); "
                                     "remove whatever is in its place") from None
                if isinstance(exc, sqlite3.OperationalError):  # locked: another build holds it
                    with self._guard():
                        raise
                # Not a database (a crash mid-write, a stray file): start again.
                logger.warning("starting a new build cache: %s was unreadable (%s)", self.path, exc)
                self.path.unlink(missing_ok=True)
                with self._guard():
                    self._db = self._open(self.path)
            with self._guard():
                self._db.execute(f"PRAGMA cache_size = -{int(self.page_cache_kb)}")
        return self._db

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30)
        db.execute("PRAGMA journal_mode = WAL")
        # A cache: after a power cut it may lose its last writes or be unreadable, and is rebuilt.
        db.execute("PRAGMA synchronous = OFF")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, FORMAT):
            db.execute("DROP TABLE IF EXISTS entries")
        db.executescript(_SCHEMA)
        db.commit()
        return db

    def close(self) -> None:
        """Close the file without saving."""
        if self._db is not None:
            self._db.close()
            self._db = None

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """A failing cache file (locked past the timeout by another build, disk full) is an
        error naming it, not a traceback."""
        try:
            yield
        except sqlite3.Error as exc:
            raise CacheError(f"{self.path}: the build cache failed ({exc}); if no other build is "
                             "running, delete it and build again") from None

    def __enter__(self) -> BuildCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the dictionary -----------------------------------------------------------------------

    def get(self, key: str) -> Any | None:
        """The cached value (kept by the next save); None on a miss."""
        self._used.add(key)
        if key in self._new:
            return self._new[key]
        raw = self._prefetched.pop(key, None)
        if raw is not None:
            row: tuple[bytes] | None = (raw,)
        elif self._not_stored(key):  # a cold build asks for every key it is about to put
            row = None
        else:
            db = self._connection()
            with self._guard():
                row = None if db is None else db.execute(
                    "SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        if row is not None:
            try:
                value = pickle.loads(row[0])  # noqa: S301 - our own cache, same trust as the sources
            except Exception as exc:  # noqa: BLE001 - any unreadable entry is a miss
                logger.warning("ignoring an unreadable build cache entry %s: %s", key, exc)
            else:
                return value
        self._used.discard(key)
        return None

    def prefetch(self, prefix: str) -> None:
        """Read every entry whose key starts with `prefix` in one query (for a build that will ask
        for most of them one by one: one scan is three times faster than a thousand lookups);
        asking for a key under it that was not there is then a miss without a query."""
        db = self._connection()
        if db is not None:
            with self._guard():
                found = dict(db.execute(
                    "SELECT key, value FROM entries WHERE key >= ? AND key < ?", _span(prefix)))
            self._prefetched.update(found)
            self._complete[prefix] = set(found)

    def prefetch_keys(self, prefix: str) -> None:
        """List the keys stored under `prefix` in one query, without their values, so asking
        whether each is stored (`in`) costs no query (a build asks for every edition's HTML)."""
        db = self._connection()
        if db is not None:
            with self._guard():
                self._listed[prefix] = {key for (key,) in db.execute(
                    "SELECT key FROM entries WHERE key >= ? AND key < ?", _span(prefix))}

    def _not_stored(self, key: str) -> bool:
        """Whether the key is under a prefetched prefix and was neither there nor put since."""
        return any(key.startswith(prefix) and key not in keys
                   for prefix, keys in self._complete.items())

    def __contains__(self, key: str) -> bool:
        """Whether a value is stored (it is then kept by the next save, like a `get`)."""
        if key in self._new or key in self._prefetched:
            self._used.add(key)
            return True
        for prefix, keys in self._listed.items():
            if key.startswith(prefix):
                if key not in keys:
                    return False
                self._used.add(key)
                return True
        db = self._connection()
        if db is None:
            return False
        with self._guard():
            row = db.execute("SELECT 1 FROM entries WHERE key = ?", (key,)).fetchone()
        if row is None:
            return False
        self._used.add(key)
        return True

    def keep(self, key: str) -> None:
        """Mark an entry as still current without reading it, so saving does not drop it."""
        self._used.add(key)

    def put(self, key: str, value: Any) -> None:
        """Store a value for this build and the next."""
        self._used.add(key)
        self._new[key] = value
        for prefix, keys in self._complete.items():  # stored now: no longer a known miss
            if key.startswith(prefix):
                keys.add(key)
        if len(self._new) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Write what was put so far (other processes reading the file then see it)."""
        db = self._connection()
        if db is None or not self._new:
            return
        protocol = pickle.HIGHEST_PROTOCOL
        rows = [(k, pickle.dumps(v, protocol=protocol)) for k, v in self._new.items()]
        # Written as they come, in short transactions: a build that fails later leaves entries
        # that are still right (they are keyed on content), and another build is never blocked
        # for long.
        with self._guard(), db:
            db.executemany("INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)", rows)
        self._new.clear()

    def save(self, keep_unused: bool = False) -> None:
        """Write what this build put and drop what it did not use (`keep_unused`: keep it)."""
        db = self._connection()
        if db is None:
            return
        self.flush()
        if keep_unused:
            return
        with self._guard(), db:
            db.execute("CREATE TEMP TABLE IF NOT EXISTS used (key TEXT PRIMARY KEY) WITHOUT ROWID")
            db.execute("DELETE FROM used")
            db.executemany("INSERT OR IGNORE INTO used (key) VALUES (?)",
                           ((k,) for k in self._used))
            db.execute("DELETE FROM entries WHERE key NOT IN (SELECT key FROM used)")


def _span(prefix: str) -> tuple[str, str]:
    """The key range `[prefix, next prefix)`: every key that starts with `prefix`, by index."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)
