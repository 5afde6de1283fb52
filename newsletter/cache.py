"""The build cache: parsed editions and rendered Markdown, keyed on content hashes.

An unchanged source (same bytes) is neither parsed nor converted again; a change of the rendering
configuration (Markdown version, extensions, base path, quotes) changes every key. Entries not used
by a build are dropped when it saves, so the cache never outgrows the issues.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)
FORMAT = 2


class BuildCache:
    """A dictionary persisted with pickle in the project's cache folder (never committed)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._old: dict[str, Any] = {}
        self._new: dict[str, Any] = {}
        self.hits = 0
        self.misses = 0
        if path is not None:
            self._old = self._load(path)

    @staticmethod
    def _load(path: Path) -> dict[str, Any]:
        try:
            with open(path, "rb") as fh:
                data = pickle.load(fh)  # noqa: S301 - our own cache file, same trust as the sources
        except FileNotFoundError:
            return {}
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
            logger.warning("ignoring an unreadable build cache %s: %s", path, exc)
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        entries = data.get("entries", {})
        return entries if isinstance(entries, dict) else {}

    def get(self, key: str) -> Any | None:
        """The cached value, carried over to the next save; None on a miss."""
        if key in self._new:
            return self._new[key]
        if key in self._old:
            self.hits += 1
            self._new[key] = self._old[key]
            return self._new[key]
        self.misses += 1
        return None

    def put(self, key: str, value: Any) -> None:
        """Store a value for this build and the next."""
        self._new[key] = value

    @property
    def changed(self) -> bool:
        """Whether saving would write anything new."""
        return self._new.keys() != self._old.keys() or any(
            self._old.get(k) is not v for k, v in self._new.items()
        )

    def save(self, keep_unused: bool = False) -> None:
        """Write the entries this build used (`keep_unused`: the older ones too), atomically."""
        if keep_unused:
            # A build that stopped early used only some entries; the rest are still current.
            self._new = {**self._old, **self._new}
        if self.path is None or not self.changed:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".cache-", dir=self.path.parent)
        with os.fdopen(fd, "wb") as fh:
            pickle.dump({"format": FORMAT, "entries": self._new}, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, self.path)
