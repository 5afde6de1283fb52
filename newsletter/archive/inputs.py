"""What a build is made from, as hashes: the whole input tree, and what every page shares.

`inputs_digest()` is the first thing a build computes: every file it would read (issues, templates,
the member states), the settings that shape the archive (`output_settings()`: not `[smtp]`,
`[delivery]` and the other sections only sending or serving read) and what would render them (the
code a build runs and the installed Markdown, Jinja and Babel). When it equals the last build's
and no hidden issue has come due, the site is already right and the build stops, without
importing Markdown or opening the cache.
`site_key()` is the part every page depends on; a page's own key adds its sources.
"""

from __future__ import annotations

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
    """The code a build runs (file names, sizes and times of the kernel, `content` and `archive`)
    and the renderers' installed files."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent.parent
    sources = [*package.glob("*.py"), *(package / "content").rglob("*.py"),
               *(package / "archive").rglob("*.py")]
    for path in sorted(sources):
        stat = path.stat()
        digest.update(f"{path.relative_to(package)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    for name in LIBRARIES:
        # Where the library is and when it was installed, found without importing it (nor
        # importlib.metadata, which costs more than the rest of a no-change build).
        spec = PathFinder.find_spec(name)
        origin = Path(spec.origin) if spec and spec.origin else None
        installed = origin.stat() if origin and origin.exists() else None
        found = f"{origin}:{installed.st_size}:{installed.st_mtime_ns}" if installed else "?"
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


def output_settings(settings: Settings) -> str:
    """The settings that shape the archive, as text: `[site]`, where the sources are, the quotes,
    and the subscribe link the pages carry. Not the number of workers, nor anything only
    sending, serving or deploying reads: changing those keeps every page."""
    build = settings.build
    shaping = (
        settings.site,
        (build.issues_dir, build.templates_dir, build.typographic_quotes),
        settings.email.subscription_url,
        settings.subscribers.member_states,
    )
    return repr(shaping)


def site_key(settings: Settings, templates: str) -> str:
    """What every page of the archive depends on: settings, templates, member states, code."""
    digest = hashlib.sha256()
    digest.update(output_settings(settings).encode())
    digest.update(templates.encode())
    digest.update(code_fingerprint().encode())
    _file(digest, settings.path(settings.subscribers.member_states), "states")
    return digest.hexdigest()


def inputs_digest(settings: Settings, drafts: bool) -> str:
    """Every input of a build, hashed (see the module's docstring)."""
    digest = hashlib.sha256()
    digest.update(f"{output_settings(settings)}\ndrafts={drafts}\n{code_fingerprint()}\n".encode())
    _tree(digest, settings.path(settings.build.issues_dir), "issues")
    _tree(digest, settings.path(settings.build.templates_dir), "templates")
    _file(digest, settings.path(settings.subscribers.member_states), "states")
    return digest.hexdigest()
