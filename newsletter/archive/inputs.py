"""What a build is made from, as hashes: the whole input tree, and what every page shares.

`inputs_digest()` is the first thing a build computes: every file it would read (issues, templates,
the member states, the settings) and what would render them (this package's code and the installed
Markdown, Jinja and Babel). When it equals the last build's and no hidden issue has come due, the
site is already right and the build stops, without importing Markdown or opening the cache.
`site_key()` is the part every page depends on; a page's own key adds its sources.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from functools import lru_cache
from importlib.machinery import PathFinder
from pathlib import Path

from newsletter.settings import Settings

# Files read for their bytes; anything else in an issue folder (images) is compared by size and
# modification time, like make does.
TEXT_SUFFIXES = (".md", ".toml", ".yaml", ".yml", ".txt")
LIBRARIES = ("markdown", "jinja2", "babel", "nh3", "pagefind_bin")


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """This package's code (file names, sizes and times) and the renderers' installed files."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    for name in LIBRARIES:
        # Where the library is and when it was installed, found without importing it (nor
        # importlib.metadata, which costs more than the rest of a no-change build).
        spec = PathFinder.find_spec(name)
        origin = Path(spec.origin) if spec and spec.origin else None
        stat = origin.stat() if origin and origin.exists() else None
        found = f"{origin}:{stat.st_size}:{stat.st_mtime_ns}" if stat else "?"
        digest.update(f"{name}={found}\n".encode())
    return digest.hexdigest()


def _tree(digest: hashlib._Hash, folder: Path, label: str) -> None:
    if not folder.is_dir():
        digest.update(f"{label}: none\n".encode())
        return
    everything = label == "templates"
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        rel = os.path.relpath(dirpath, folder)
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if everything or name.endswith(TEXT_SUFFIXES):
                with open(path, "rb") as fh:
                    seen = hashlib.sha256(fh.read()).hexdigest()
            else:
                stat = os.stat(path)
                seen = f"{stat.st_size}:{stat.st_mtime_ns}"
            digest.update(f"{label}/{rel}/{name}:{seen}\n".encode())


def _file(digest: hashlib._Hash, path: Path, label: str) -> None:
    try:
        digest.update(f"{label}:{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    except FileNotFoundError:
        digest.update(f"{label}: none\n".encode())


def _settings_text(settings: Settings) -> str:
    """The settings as they shape the output (the number of workers does not)."""
    return repr(dataclasses.replace(settings, build=dataclasses.replace(settings.build, workers=0)))


def site_key(settings: Settings, templates: str) -> str:
    """What every page of the archive depends on: settings, templates, member states, code."""
    digest = hashlib.sha256()
    digest.update(_settings_text(settings).encode())
    digest.update(templates.encode())
    digest.update(code_fingerprint().encode())
    _file(digest, settings.path(settings.subscribers.member_states), "states")
    return digest.hexdigest()


def inputs_digest(settings: Settings, drafts: bool) -> str:
    """Every input of a build, hashed (see the module's docstring)."""
    digest = hashlib.sha256()
    digest.update(f"{_settings_text(settings)}\ndrafts={drafts}\n{code_fingerprint()}\n".encode())
    _tree(digest, settings.path(settings.build.issues_dir), "issues")
    _tree(digest, settings.path(settings.build.templates_dir), "templates")
    _file(digest, settings.path(settings.subscribers.member_states), "states")
    return digest.hexdigest()
