"""The search index: one Pagefind bundle per language, built over that language's issue pages.

Pagefind (the `pagefind[bin]` package ships its binary; nothing is downloaded) reads the issue
pages a build staged and writes `pagefind/<lang>/`: the index, fragments and WebAssembly that
`static/search.js` loads in the reader's browser. One bundle per `<html lang>` means each is built
with that language's stemming and searched alone, and an edit in one language re-indexes only it.

The stage is incremental and atomic like the rest of the build. A language's key is the exact
bytes of its issue pages (their paths and hashes) and the binary that indexes them: when it is the
last build's, the bundle is kept untouched. Otherwise Pagefind runs (in the background while the
build renders its other outputs: `start()`, then `finish()`; one large language at a time, small
ones while the last large one writes its files: `_may_start`) on hard links to the staged and kept
pages, into a folder beside the site, and its files join the staged site, so a failed build
leaves the previous site and its index as they were. A build asked to skip the index (the
preview's first pass) keeps the previous bundle of a language whose pages changed and marks it
stale for the next build.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from newsletter.errors import BuildError
from newsletter.urls import SiteUrls

from .writer import StagedSite

logger = logging.getLogger(__name__)
SEARCH_FORMAT = "1"
# What Pagefind prints once a language's index is built, before it writes the bundle's files (on
# one core): from then on a small language may run beside it (see `_may_start`).
INDEXED = b"Total:"
# A run holds its language's whole index until it ends (~185 MB for 500 issue pages): a second
# large language is indexed beside one writing its files only when this much memory is free.
INDEX_MB_PER_PAGE = 0.4
SPARE_MB = 1024  # bump when what is indexed (the command line, the files kept) changes
# Pagefind's ready-made interfaces: the archive has its own (static/search.js).
UNUSED = frozenset({
    "pagefind-ui.js", "pagefind-ui.css", "pagefind-component-ui.js", "pagefind-component-ui.css",
    "pagefind-modular-ui.js", "pagefind-modular-ui.css", "pagefind-highlight.js",
})


@dataclass(frozen=True)
class SearchReport:
    """What the search stage did: languages re-indexed and kept, pages indexed, seconds taken."""

    refreshed: tuple[str, ...]
    kept: tuple[str, ...]
    stale: tuple[str, ...]  # skipped on request: their previous bundle is kept, marked stale
    pages: int
    seconds: float


def pagefind_binary() -> Path:
    """The Pagefind executable from the `pagefind-bin` package (a project dependency)."""
    try:
        from pagefind_bin import get_executable
    except ImportError:
        raise BuildError("the search index needs Pagefind: .venv/bin/pip install -e . "
                         "(it installs pagefind[bin])") from None
    path = Path(get_executable())
    if not path.is_file():
        raise BuildError(f"{path}: the Pagefind binary is missing; reinstall pagefind-bin")
    return path


def engine_identity() -> str:
    """Which Pagefind indexes the pages (its path, size and time), found without running it."""
    path = pagefind_binary()
    stat = path.stat()
    return f"{SEARCH_FORMAT}:{path}:{stat.st_size}:{stat.st_mtime_ns}"


def language_key(engine: str, lang: str, pages: Sequence[tuple[str, str]]) -> str:
    """A language's bundle key: the indexer and every (page path, page hash) it indexes."""
    digest = hashlib.sha256(f"{engine}\0{lang}\n".encode())
    for path, page_hash in sorted(pages):
        digest.update(f"{path}\0{page_hash}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class _Launch:
    """One language to index: the folder Pagefind reads and its pages there, the links to bring
    up to date in that folder first, and where Pagefind writes the bundle."""

    lang: str
    key: str
    root: Path
    pages: tuple[str, ...]
    links: tuple[tuple[Path, Path], ...]  # (the page as staged or kept, its link under root)
    output: Path


class SearchIndex:
    """The search stage of one build (see the module docstring)."""

    def __init__(self, staged: StagedSite, previous: Mapping[str, str | None],
                 enabled: bool = True, mirror: Path | None = None) -> None:
        self.staged = staged
        # Where an update's pages are gathered for Pagefind, kept from build to build (see _plan).
        self.mirror = mirror or staged.site.with_name(f".{staged.site.name}.search-pages")
        self.previous = previous
        self.enabled = enabled
        self.keys: dict[str, str | None] = {}
        # Each language indexed so far: (lang, key, bundle folder, Pagefind's exit code, what it
        # said), in the order they finished.
        self._done: list[tuple[str, str, Path, int, bytes]] = []
        self._state = threading.Condition()
        self._pending: list[_Launch] = []  # planned, waiting for their turn (see _may_start)
        self._running: dict[str, _Launch] = {}  # being indexed, by language
        self._writing: set[str] = set()  # running ones whose index is built (see INDEXED)
        self._processes: dict[str, subprocess.Popen[bytes]] = {}  # their Pagefind, once started
        self._runners: list[threading.Thread] = []
        self._largest = 0  # the most pages of one language so far
        self._stopping = False
        self._work: Path | None = None
        self._refreshed: list[str] = []
        self._kept: list[str] = []
        self._stale: list[str] = []
        self._pages = 0
        self._started = 0.0
        self._failure: Exception | None = None

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        """A build that failed before `finish()`: stop Pagefind and remove its folder."""
        self._clean()

    def _clean(self) -> None:
        import shutil

        with self._state:
            self._stopping = True  # no language is started after this
            self._pending.clear()
            for process in self._processes.values():
                if process.poll() is None:
                    process.kill()
        for runner in self._runners:
            runner.join()  # each reaps the process it started
        self._runners = []
        self._done = []
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def start(self, pages: Mapping[str, Sequence[str]]) -> None:
        """Keep each language's bundle whose pages did not change; queue Pagefind on the others
        (`pages`: each language's issue pages, as output paths already staged). Called once per
        language as the build finishes staging its pages, so the first language is indexed while
        the others are rendered."""
        if not self._started:
            self._started = time.perf_counter()
        engine = engine_identity()
        launches: list[_Launch] = []
        for lang in sorted(pages):
            prefix = SiteUrls.search_bundle(lang)
            source = f"search index of {lang}"
            key = language_key(engine, lang, [(p, self.staged.hash_of(p)) for p in pages[lang]])
            if self.previous.get(lang) == key and self.staged.reuse_all(prefix, key, source):
                self.keys[lang] = key
                self._kept.append(lang)
            elif not self.enabled:
                self.staged.keep_previous(prefix, source)
                self.keys[lang] = None
                self._stale.append(lang)
            else:
                self.keys[lang] = key
                launches.append(self._plan(lang, key, pages[lang]))
        with self._state:
            self._pending.extend(launches)
            self._schedule()

    def _plan(self, lang: str, key: str, pages: Sequence[str]) -> _Launch:
        """What indexing one language takes. Pagefind reads one folder and exactly the pages it is
        given by name (not the other pages being written meanwhile). A first build gives it the
        staging folder, where every page is. An update wrote only the changed pages there, so it
        gathers the language's pages as hard links in a folder of its own beside the site's
        manifest, kept from build to build: a link is replaced only when its page changed, so an
        edit costs a few links rather than a folder per page."""
        import tempfile

        if self._work is None:
            site = self.staged.site
            self._work = Path(tempfile.mkdtemp(prefix=f".{site.name}.search-", dir=site.parent))
        staging = self.staged.staging
        if all(self.staged.location(page) == staging / page for page in pages):
            root, links = staging, ()
        else:
            root = self.mirror
            links = tuple((self.staged.location(page), root / page) for page in pages)
        self._pages += len(pages)
        return _Launch(lang, key, root, tuple(sorted(pages)), links,
                       self._work / f"bundle-{lang}")

    def _may_start(self, launch: _Launch) -> bool:
        """Whether a language may be indexed now, beside the runs under way.

        A Pagefind run reads and indexes its pages on every core, then writes its bundle's ~550
        files on one: for a 500-page language, ~0.6 s on two cores, then ~0.45 s on one (it
        prints `INDEXED` in between). One large language is indexed at a time, for memory (a
        run holds its whole index until it ends: ~185 MB for 500 issue pages, 28 MB for 50);
        the next starts when the last one writes its files if the machine has the memory for
        both (`SPARE_MB` free beyond the new index), and after it otherwise. A small one (a
        quarter of the largest language's pages or fewer: a late translation's pt or fr, mostly
        Pagefind's fixed costs) waits until no large one is waiting or indexing, and then runs on
        the core the last large language's writing leaves idle, where the build used one core
        for its last ~0.5 s; small ones together stay within half the largest's pages. A
        Pagefind that never says `INDEXED` only makes them wait until the large ones end.
        Measured on the 500-issue benchmark (paired cold builds, 2 cores): the next large one
        beside the last one's writing, 0.09-0.19 s less (median of 5-6 pairs; the peak up to
        ~175 MB higher while both run); every language
        started as soon as its pages are staged, whatever its size, gained nothing measurable
        (the cores are busy with the rendering meanwhile) and raised the peak by ~185 MB; one
        `pagefind --service` process fed each page's HTML from memory as it was rendered cost
        0.3-2.4 s more CPU than these runs over the staged files."""
        large = lambda pages: 4 * pages > self._largest  # noqa: E731
        size = len(launch.pages)
        if large(size):
            others = [lang for lang, running in self._running.items() if large(len(running.pages))]
            if any(lang not in self._writing for lang in others):
                return False  # one large language indexing at a time
            return not others or _has_room(size)
        if any(large(len(waiting.pages)) for waiting in self._pending if waiting is not launch):
            return False
        indexing = [len(running.pages) for lang, running in self._running.items()
                    if lang not in self._writing]
        if any(large(pages) for pages in indexing):
            return False
        return not indexing or 2 * (sum(indexing) + size) <= self._largest

    def _schedule(self) -> None:
        """Start every waiting language that may start now, in the order they came (the caller
        holds `_state`)."""
        if self._stopping or self._failure is not None:
            return
        self._largest = max([self._largest, *(len(launch.pages) for launch in self._pending)])
        for launch in list(self._pending):
            if self._may_start(launch):
                self._pending.remove(launch)
                self._running[launch.lang] = launch
                runner = threading.Thread(target=self._index, args=(launch,),
                                          name=f"annaobserva-search-{launch.lang}", daemon=True)
                self._runners.append(runner)
                runner.start()

    def _index(self, launch: _Launch) -> None:
        """Run Pagefind on one language (in a thread of its own), then start whatever may start."""
        said, returncode = b"", -1
        try:
            for found, target in launch.links:
                _link(found, target)
            command = [str(pagefind_binary()), "--site", str(launch.root),
                       "--glob", "{" + ",".join(launch.pages) + "}",
                       "--output-path", str(launch.output)]
            logger.info("indexing %d %s pages for search", len(launch.pages), launch.lang)
            with self._state:
                if self._stopping:
                    return
                process = self._processes[launch.lang] = subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            said = self._follow(launch.lang, process)
            returncode = process.wait()
        except (OSError, BuildError) as exc:
            with self._state:
                self._failure = self._failure or exc
        finally:
            with self._state:
                self._running.pop(launch.lang, None)
                self._writing.discard(launch.lang)
                self._processes.pop(launch.lang, None)
                if returncode != -1:
                    self._done.append((launch.lang, launch.key, launch.output, returncode, said))
                if returncode != 0 and not self._stopping:
                    # The build fails with this language's message (the first in `_done`): the
                    # others' work would be thrown away.
                    self._stopping = True
                    self._pending.clear()
                    for other in self._processes.values():
                        if other.poll() is None:
                            other.kill()
                self._schedule()
                self._state.notify_all()

    def _failed(self) -> bool:
        """Whether a run could not start or ended in error (the caller holds `_state`)."""
        return self._failure is not None or any(entry[3] != 0 for entry in self._done)

    def _adopt(self, lang: str, key: str, output: Path) -> None:
        """Stage one language's bundle, as Pagefind wrote it (less the interfaces not used)."""
        prefix = SiteUrls.search_bundle(lang)
        for file in sorted(output.rglob("*")):
            if file.is_file() and file.name not in UNUSED:
                rel = file.relative_to(output).as_posix()
                self.staged.adopt(prefix + rel, file, f"search index of {lang}", key)
        self._refreshed.append(lang)

    def _follow(self, lang: str, process: subprocess.Popen[bytes]) -> bytes:
        """What Pagefind says, read as it says it: when its index is built (`INDEXED`), the
        languages waiting for that may start."""
        said: list[bytes] = []
        assert process.stdout is not None  # noqa: S101 - started with stdout=PIPE
        with process.stdout as out:
            for line in out:
                said.append(line)
                if line.startswith(INDEXED):
                    with self._state:
                        self._writing.add(lang)
                        self._schedule()
        return b"".join(said)

    def finish(self) -> SearchReport:
        """Wait for Pagefind and stage its files (unchanged ones are not rewritten): each
        language's as soon as its run has ended, while the others' still run."""
        try:
            adopted = 0
            while True:
                with self._state:
                    while (adopted == len(self._done) and not self._failed()
                           and (self._running or (self._pending and not self._stopping))):
                        self._state.wait()
                    ended = self._done[adopted:]
                    over = not (self._running or (self._pending and not self._stopping))
                    failed = self._failed()
                if failed:
                    break
                for lang, key, output, _returncode, _said in ended:
                    self._adopt(lang, key, output)
                adopted += len(ended)
                if over:
                    break
            for runner in self._runners:
                runner.join()
            self._runners = []
            if self._failure is not None:
                raise BuildError(f"the search index could not be started ({self._failure}); "
                                 "the site was not changed") from None
            for lang, _key, _output, returncode, said in self._done:
                if returncode != 0:
                    tail = said.decode("utf-8", "replace").strip()[-2000:]
                    raise BuildError(f"the search index of {lang} failed (Pagefind exited with "
                                     f"{returncode}); the site was not changed:\n{tail}")
        finally:
            self._clean()
        seconds = time.perf_counter() - self._started if self._refreshed else 0.0
        # Named in code order, whatever order they were indexed in (the build's report).
        return SearchReport(tuple(sorted(self._refreshed)), tuple(sorted(self._kept)),
                            tuple(sorted(self._stale)), self._pages, seconds)


def _has_room(pages: int) -> bool:
    """Whether the memory a language's index takes (`INDEX_MB_PER_PAGE`) is free, `SPARE_MB`
    besides (`MemAvailable` of /proc/meminfo; where there is none, it is taken as not free)."""
    available = available_mb()
    return available is not None and available >= SPARE_MB + INDEX_MB_PER_PAGE * pages


def available_mb() -> float | None:
    """The memory the kernel says can be had without swapping, in MB (None if it does not say)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def _link(found: Path, target: Path) -> None:
    """Make `target` a hard link to `found` unless it already is one (a copy where the two are on
    different file systems)."""
    try:
        if os.path.samefile(found, target):
            return
    except OSError:
        pass  # not there yet
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.with_name(target.name + ".new")
    fresh.unlink(missing_ok=True)
    try:
        os.link(found, fresh)
    except OSError:
        fresh.write_bytes(found.read_bytes())
    os.replace(fresh, target)
