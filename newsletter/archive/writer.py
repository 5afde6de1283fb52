"""Write the rendered site at the edge: guarded paths, unchanged files kept, an atomic swap.

A build writes each output into a staging folder next to the site as soon as it is rendered
(`StagedSite`), skipping every file whose bytes or inputs did not change (so it is neither
rewritten nor, where its inputs are the same, even rendered), then publishes atomically. A failed
build never touches the previous site. The manifest records each file's hash and inputs for the
next build; it lives with the build cache (`.cache/`), not in the site, so the site folder holds
exactly what is published, and it names the site folder it describes (a folder deleted or
replaced by hand is not taken for the one the manifest knows).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from newsletter.errors import BuildError

logger = logging.getLogger(__name__)
# shutil and tempfile are imported where they are used: a build that finds nothing changed reads
# the manifest and stops, and should not pay for them.
# Where builds before 0.2 kept the manifest, inside the site: the next build removes it.
MANIFEST = ".annaobserva-manifest.json"
JOURNAL = ".annaobserva-commit.json"
PENDING = ".commit"  # suffix of a decided, not yet finished, in-place commit


class OutputCollision(BuildError):
    """Two sources would write the same output file."""


class UnsafeOutputPath(BuildError):
    """An output path would leave the site folder."""


def safe_join(root: Path, relative: str) -> Path:
    """Join an output path under root, refusing absolute paths and `..` (as Pelican's
    sanitised_join does)."""
    return root / check_output_path(relative)


def check_output_path(relative: str) -> str:
    """The output path, normalised as a POSIX path (`a//./b` is `a/b`); UnsafeOutputPath if it is
    absolute, goes up (`..`), is empty or names a folder."""
    if relative and relative[0] != "/" and relative[-1] != "/" and "//" not in relative and \
            not any(part in (".", "..") for part in relative.split("/")):
        return relative  # already normal: the common case, checked without building a path
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or relative.endswith("/"):
        raise UnsafeOutputPath(f"output path {relative!r} would leave the site folder")
    return pure.as_posix()


@dataclass(frozen=True)
class WriteReport:
    """What writing changed."""

    files: int
    written: tuple[str, ...]
    removed: tuple[str, ...]


def digest(data: bytes) -> str:
    """The content hash recorded in the manifest."""
    return hashlib.sha256(data).hexdigest()


def site_identity(site: Path) -> str:
    """Which folder a manifest describes: its device and inode, kept by renames and in-place
    updates, changed when the folder is deleted and made again."""
    stat = site.stat()
    return f"{stat.st_dev}:{stat.st_ino}"


def read_manifest(site: Path, manifest: Path | None) -> dict[str, Any]:
    """The manifest of the last build of `site`, or an empty one (no manifest, no site, or a
    site folder that is not the one the manifest describes)."""
    if manifest is None:
        return {}
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        identity = site_identity(site) if site.is_dir() else None
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    if not isinstance(data, dict) or identity is None or data.get("site") != identity:
        return {}
    return data


def write_manifest(site: Path, manifest: Path, data: Mapping[str, Any]) -> None:
    """Replace the manifest atomically, naming the site folder it describes."""
    import tempfile

    manifest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=manifest.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({**data, "site": site_identity(site)}, fh, sort_keys=True)
    os.replace(tmp, manifest)


def remove_legacy_manifest(site: Path) -> None:
    """An older build's manifest inside the site folder is not part of the site."""
    legacy = site / MANIFEST
    if legacy.is_file():
        legacy.unlink()
        logger.info("removed %s (the manifest now lives with the build cache)", legacy)


def recover_interrupted_build(site: Path, manifest: Path | None = None) -> None:
    """Finish what a crash interrupted: a decided in-place commit is completed (its files are all
    staged), and a folder swap caught between its two renames gets the previous site back."""
    pending = site.with_name(site.name + PENDING)
    old = site.with_name(site.name + ".old")
    if not pending.exists() and not old.exists():
        return  # the usual case
    import shutil

    if (pending / JOURNAL).is_file() and site.is_dir():
        _apply(pending, site, manifest)
        logger.warning("completed the interrupted update of %s", site)
    elif pending.exists():
        shutil.rmtree(pending, ignore_errors=True)  # not decided yet: the site is the old one
    if not site.exists() and old.exists():
        old.rename(site)
        logger.warning("restored %s from an interrupted build", site)
    elif old.exists():
        shutil.rmtree(old, ignore_errors=True)


class StagedSite:
    """The next site, written file by file into a staging folder next to the current one.

    `add()` writes one output as soon as it is rendered (nothing is held in memory); a file whose
    bytes did not change is not written at all. `reuse()` keeps an output whose inputs did not
    change (its `key` is the same as in the last build) without even rendering it. Two sources for
    one path is an error naming both. Leaving the `with` block without `commit()` deletes the
    staging folder, so a failed build never touches the site.

    `commit()` publishes. The first build (or one over a folder without a manifest) renames the
    staging folder into place, the old manifest removed before and the new one written after (a
    crash between leaves no manifest: the next build writes the whole site again). Later builds
    publish only what changed: the staging folder, holding the changed files and a journal of what
    to move and delete and of the new manifest, is renamed to `<site>.commit` (the point of no
    return), then each file is moved over its old version and the manifest is replaced last. A
    crash after that rename is completed by the next build (`recover_interrupted_build`); a crash
    before it leaves the previous site as it was.
    """

    def __init__(self, site: Path, previous: Mapping[str, Any],
                 manifest: Path | None = None) -> None:
        import tempfile

        self.site = site
        self.manifest = manifest
        self._old_hashes: Mapping[str, str] = previous.get("files", {})
        self._old_keys: Mapping[str, str] = previous.get("keys", {})
        self.in_place = bool(self._old_hashes) and site.is_dir()
        self._hashes: dict[str, str] = {}
        self._keys: dict[str, str] = {}
        self._owners: dict[str, str] = {}
        self._written: list[str] = []
        self._written_set: set[str] = set()
        self._made_dirs: set[Path] = set()
        site.parent.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix=site.name + ".tmp-", dir=site.parent))

    def __enter__(self) -> StagedSite:
        return self

    def __exit__(self, *exc: object) -> None:
        import shutil

        if self.staging.exists():
            shutil.rmtree(self.staging, ignore_errors=True)

    def _claim(self, path: str, source: str) -> None:
        check_output_path(path)
        if path in self._owners:
            raise OutputCollision(
                f"{source} and {self._owners[path]} would both write {path}: rename one of them"
            )
        self._owners[path] = source

    def _still_there(self, path: str) -> bool:
        return self.in_place and os.path.isfile(os.path.join(self.site, check_output_path(path)))

    def _reusable(self, path: str, key: str) -> bool:
        return (self._old_keys.get(path) == key and path in self._old_hashes
                and path not in self._owners and self._still_there(path))

    def reuse(self, path: str, key: str, source: str) -> bool:
        """Keep the current site's file if the last build made it from the same inputs (`key`)."""
        if not self._reusable(path, key):
            return False
        self._claim(path, source)
        self._hashes[path] = self._old_hashes[path]
        self._keys[path] = key
        return True

    def previous_files(self, prefix: str) -> list[str]:
        """The last build's files under a folder (`pagefind/es/`), in path order."""
        return sorted(p for p in self._old_hashes if p.startswith(prefix))

    def reuse_all(self, prefix: str, key: str, source: str) -> bool:
        """Keep every file the last build made under a folder if all of them were made from
        `key` and are still there; otherwise keep none."""
        old = self.previous_files(prefix)
        if not old or not all(self._reusable(p, key) for p in old):
            return False
        for path in old:
            self.reuse(path, key, source)
        return True

    def keep_previous(self, prefix: str, source: str) -> None:
        """Keep the last build's files under a folder as they are, whatever they were made from
        (a stage this build skips)."""
        for path in self.previous_files(prefix):
            self.reuse(path, self._old_keys.get(path, ""), source)

    def hash_of(self, path: str) -> str:
        """The content hash of an output this build has staged or kept."""
        return self._hashes[path]

    def location(self, path: str) -> Path:
        """Where an output staged or kept by this build is now: the staging folder when it was
        written, the current site when it is unchanged."""
        if path not in self._hashes:
            raise KeyError(path)
        return safe_join(self.staging if path in self._written_set else self.site, path)

    def add(self, path: str, data: bytes | str, source: str, key: str | None = None) -> None:
        """Write one output file; `source` names who made it, `key` what it was made from."""
        self._claim(path, source)
        raw = data.encode("utf-8") if isinstance(data, str) else data
        self._hashes[path] = digest(raw)
        if key is not None:
            self._keys[path] = key
        if self._old_hashes.get(path) == self._hashes[path] and self._still_there(path):
            return
        target = safe_join(self.staging, path)
        if target.parent not in self._made_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(target.parent)
        target.write_bytes(raw)
        self._written.append(path)
        self._written_set.add(path)

    def adopt(self, path: str, file: Path, source: str, key: str | None = None) -> None:
        """Take a file another program wrote (on the site's file system) as one output: moved
        into the staging folder, or deleted when the site already has these bytes."""
        self._claim(path, source)
        self._hashes[path] = digest(file.read_bytes())
        if key is not None:
            self._keys[path] = key
        if self._old_hashes.get(path) == self._hashes[path] and self._still_there(path):
            file.unlink()
            return
        target = safe_join(self.staging, path)
        if target.parent not in self._made_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(target.parent)
        file.rename(target)  # staging, not publishing: the commit's own moves come later
        self._written.append(path)
        self._written_set.add(path)

    def commit(self, extra: Mapping[str, Any]) -> WriteReport:
        """Write the manifest (files, keys and `extra`) and publish (see the class docstring)."""
        import shutil

        manifest = {**extra, "files": self._hashes, "keys": self._keys}
        removed = tuple(sorted(set(self._old_hashes) - set(self._hashes)))
        if self.in_place:
            journal = {"moves": sorted(self._written), "removes": list(removed),
                       "manifest": manifest}
            (self.staging / JOURNAL).write_text(json.dumps(journal), encoding="utf-8")
            pending = self.site.with_name(self.site.name + PENDING)
            shutil.rmtree(pending, ignore_errors=True)
            self.staging.rename(pending)  # decided: from here on the update is completed
            _apply(pending, self.site, self.manifest)
        else:
            if self.manifest is not None:
                self.manifest.unlink(missing_ok=True)
            _swap(self.staging, self.site)
            if self.manifest is not None:
                write_manifest(self.site, self.manifest, manifest)
        return WriteReport(len(self._hashes), tuple(sorted(self._written)), removed)


def _apply(pending: Path, site: Path, manifest: Path | None) -> None:
    """Delete what a decided commit removes, move its files into the site, then write its
    manifest. Deleting first lets a path change between file and folder (`x` → `x/index.html`)."""
    import shutil

    journal = json.loads((pending / JOURNAL).read_text(encoding="utf-8"))
    for rel in journal["removes"]:
        target = safe_join(site, rel)
        target.unlink(missing_ok=True)
        folder = target.parent
        while folder != site and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    for rel in journal["moves"]:
        source, target = safe_join(pending, rel), safe_join(site, rel)
        if source.exists():  # else moved before a crash
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
    if manifest is not None and "manifest" in journal:
        write_manifest(site, manifest, journal["manifest"])
    shutil.rmtree(pending, ignore_errors=True)


def _swap(staging: Path, site: Path) -> None:
    """Replace the site folder by the staging folder (two renames; see
    recover_interrupted_build)."""
    import shutil

    os.chmod(staging, 0o755)
    if site.exists():
        old = site.with_name(site.name + ".old")
        site.rename(old)
        staging.rename(site)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(site)
