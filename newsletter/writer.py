"""Write the rendered site at the edge: guarded paths, unchanged files kept, an atomic swap.

A build renders every output into memory as `{relative path: bytes}`; `write_site()` puts it into a
fresh folder next to the site, hard-linking every file whose bytes did not change (so it is not
rewritten and keeps its timestamp), then swaps the folders. A failed build never touches the
previous site.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import BuildError

logger = logging.getLogger(__name__)
MANIFEST = ".annaobserva-manifest.json"


class OutputCollision(BuildError):
    """Two sources would write the same output file."""


class UnsafeOutputPath(BuildError):
    """An output path would leave the site folder."""


def safe_join(root: Path, relative: str) -> Path:
    """Join an output path under root, refusing absolute paths and `..` (Pelican's sanitised_join)."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or relative.endswith("/"):
        raise UnsafeOutputPath(f"output path {relative!r} would leave the site folder")
    return root.joinpath(*pure.parts)


class SiteFiles:
    """The outputs of one build, in memory, refusing two sources for one path."""

    def __init__(self) -> None:
        self._files: dict[str, bytes] = {}
        self._owners: dict[str, str] = {}

    def add(self, path: str, data: bytes | str, source: str) -> None:
        """Add one output file; `source` names who made it, for the collision message."""
        safe_join(Path("/"), path)
        if path in self._files:
            raise OutputCollision(
                f"{source} and {self._owners[path]} would both write {path}: rename one of them"
            )
        self._files[path] = data.encode("utf-8") if isinstance(data, str) else data
        self._owners[path] = source

    def __contains__(self, path: str) -> bool:
        return path in self._files

    def __getitem__(self, path: str) -> bytes:
        return self._files[path]

    def __len__(self) -> int:
        return len(self._files)

    def items(self) -> list[tuple[str, bytes]]:
        """The files in path order (deterministic writing)."""
        return sorted(self._files.items())


@dataclass(frozen=True)
class WriteReport:
    """What writing changed."""

    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]


def digest(data: bytes) -> str:
    """The content hash recorded in the manifest."""
    return hashlib.sha256(data).hexdigest()


def read_manifest(site: Path) -> dict[str, object]:
    """The previous build's manifest, or an empty one."""
    try:
        return json.loads((site / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def recover_interrupted_swap(site: Path) -> None:
    """If a crash fell between the two renames of a swap, put the previous site back."""
    old = site.with_name(site.name + ".old")
    if not site.exists() and old.exists():
        old.rename(site)
        logger.warning("restored %s from an interrupted build", site)
    elif old.exists():
        shutil.rmtree(old, ignore_errors=True)


def write_site(site: Path, files: SiteFiles, fingerprint: str) -> WriteReport:
    """Write the outputs into a fresh folder, keep unchanged files, then swap it in."""
    recover_interrupted_swap(site)
    previous = read_manifest(site)
    old_hashes: Mapping[str, str] = previous.get("files", {})  # type: ignore[assignment]
    site.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=site.name + ".tmp-", dir=site.parent))
    written: list[str] = []
    hashes: dict[str, str] = {}
    made_dirs: set[Path] = set()
    try:
        for rel, data in files.items():
            target = safe_join(staging, rel)
            if target.parent not in made_dirs:
                target.parent.mkdir(parents=True, exist_ok=True)
                made_dirs.add(target.parent)
            hashes[rel] = digest(data)
            if old_hashes.get(rel) == hashes[rel]:
                try:
                    os.link(safe_join(site, rel), target)
                    continue
                except OSError:
                    pass  # the old file vanished or links are unsupported: write it
            target.write_bytes(data)
            written.append(rel)
        manifest = {"fingerprint": fingerprint, "files": hashes}
        (staging / MANIFEST).write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
        _swap(staging, site)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    removed = tuple(sorted(set(old_hashes) - set(hashes)))
    return WriteReport(tuple(written), len(hashes) - len(written), removed)


def _swap(staging: Path, site: Path) -> None:
    """Replace the site folder by the staging folder (two renames; see recover_interrupted_swap)."""
    os.chmod(staging, 0o755)
    if site.exists():
        old = site.with_name(site.name + ".old")
        site.rename(old)
        staging.rename(site)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(site)
