"""Markdown → HTML for a build: cached by content, converted on both cores, streamed in order.

The build says which editions it may need as it loads them (`request`), then asks for each one's
HTML (`get`) in the same order while it renders and writes the pages. What the cache lacks is
queued in small batches, in that order, and every core converts from the front of the queue: one
worker process per remaining core takes the next batches, starting while the build is still
loading and checking; this process takes the batch it needs next when nobody has taken it, and
when a worker has, it converts the next untaken batch rather than wait. So the pages come out in
order as fast as all the cores convert: the first language's pages are all staged early (its
search index starts then), and no process waits for another while there is a batch to convert.
Cached editions are never converted; below a few dozen conversions no worker is started.
"""

from __future__ import annotations

import gc
import hashlib
import threading
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from newsletter.content import Edition, Rendered, read_edition, render_config_key, renderer_for
from newsletter.errors import BuildError

from .cache import BuildCache

# Below this many editions to convert, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 24
# Editions per batch: small enough that the first pages are written early and a page seldom waits
# for a worker's batch, large enough that handing one to a worker costs little.
BATCH = 12
AHEAD = 2  # batches sent to a worker before the first comes back
HTML_PREFIX = "html:"  # the build cache's keys of converted editions


@dataclass(frozen=True, slots=True)
class Job:
    """One edition to convert, with what decides its HTML."""

    key: str
    lang: str
    base_path: str
    typographic: bool
    slug: str
    body: str
    source: str  # the edition's file, for messages
    backlink_title: str | None = None


def _convert_batch(jobs: list[Job]) -> list[tuple[str, Rendered]]:
    """Convert a batch of jobs (here or in a worker); a failure names the edition's file."""
    results = []
    for job in jobs:
        try:
            renderer = renderer_for(job.lang, job.base_path, job.typographic, job.backlink_title)
            rendered = renderer.render(job.slug, job.body)
        except Exception as exc:  # noqa: BLE001 - Markdown or an extension failed on this text
            raise BuildError(f"{job.source}: converting the Markdown failed ({type(exc).__name__}: "
                             f"{exc}); simplify the passage it stops at") from None
        results.append((job.key, rendered))
    return results


_worker_cache: BuildCache | None = None  # a worker process's own connection to the build cache


def _convert_in_worker(
    jobs: list[Job], cache_path: str | None
) -> list[tuple[str, Rendered | None]]:
    """A worker process's task: one batch from the front of the queue. With a cache file, the HTML
    goes into it (the build reads it back when it reaches those pages) rather than back to the
    build, which would hold it until then."""
    results = _convert_batch(jobs)
    if cache_path is None:
        return list(results)
    global _worker_cache  # noqa: PLW0603 - one connection per worker process
    if _worker_cache is None:
        _worker_cache = BuildCache(Path(cache_path), page_cache_kb=256)  # it only writes
    for key, rendered in results:
        _worker_cache.put(key, rendered)
    _worker_cache.flush()
    return [(key, None) for key, _ in results]


class Converter:
    """Rendered HTML per edition for one build (use as a context manager)."""

    def __init__(self, cache: BuildCache, base_path: str, typographic: tuple[str, ...],
                 workers: int, backlink_titles: Mapping[str, str] | None = None) -> None:
        self.cache = cache
        self.base_path = base_path
        self.typographic = typographic
        # Per language, the footnote back-link's title (the wording's `[markdown]`).
        self.backlink_titles = dict(backlink_titles or {})
        self.processes = max(0, workers - 1)  # this process is the other converter
        self.converted = 0
        self._requested: set[str] = set()
        self._keys: dict[tuple[str, str], str] = {}  # (slug, lang) → key, once requested
        self._partial: list[Job] = []  # requested, not yet in a batch
        self._queue: deque[list[Job]] = deque()  # batches nobody has taken yet
        self._batch_of: dict[str, list[Job]] = {}
        self._queued = 0
        self._taken: set[str] = set()  # being converted by a worker
        # Converted, not yet asked for: the HTML, or None when a worker put it in the cache file.
        self._done: dict[str, Rendered | None] = {}
        self._error: BaseException | None = None
        self._failed: set[str] = set()  # keys of the batch a worker failed on
        self._all_requested = False
        self._closing = False
        self._state = threading.Condition()
        self._pool: ProcessPoolExecutor | None = None
        self._cache_path = str(cache.path) if cache.path is not None else None
        self._feeders: list[threading.Thread] = []

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, *exc: object) -> None:
        with self._state:
            self._closing = True
            self._state.notify_all()
        for feeder in self._feeders:
            feeder.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if exc[0] is None:
            for key, rendered in sorted(self._done.items()):  # converted, never asked for: keep
                self._store(key, rendered)
        self._done.clear()

    def job(self, edition: Edition) -> Job:
        """The conversion of one edition, keyed on its body and the rendering configuration."""
        typographic = edition.lang in self.typographic
        backlink = self.backlink_titles.get(edition.lang)
        config = render_config_key(edition.lang, self.base_path, typographic, backlink)
        source = f"{config}\0{edition.slug}\0{edition.body}"
        key = HTML_PREFIX + hashlib.sha256(source.encode()).hexdigest()
        return Job(key, edition.lang, self.base_path, typographic, edition.slug, edition.body,
                   str(edition.path), backlink)

    # -- requests (the loading stage) ----------------------------------------------------------

    def request(self, edition: Edition) -> None:
        """Say that the build may need this edition's HTML, in the order it will ask for it.
        A cached edition is only marked as still current."""
        job = self.job(edition)
        self._keys[(edition.slug, edition.lang)] = job.key
        if job.key in self._requested:
            return
        self._requested.add(job.key)
        if job.key in self.cache:
            return
        self._partial.append(job)
        if len(self._partial) >= BATCH:
            self._enqueue()

    def start(self) -> None:
        """Every edition has been requested."""
        self._enqueue()
        with self._state:
            self._all_requested = True
            self._state.notify_all()

    def _enqueue(self) -> None:
        if not self._partial:
            return
        batch, self._partial = self._partial, []
        with self._state:
            self._queue.append(batch)
            for job in batch:
                self._batch_of[job.key] = batch
            self._queued += len(batch)
            self._state.notify_all()
        if not self._feeders and self.processes and self._queued >= PARALLEL_THRESHOLD:
            self._start_workers()

    def fork_early(self) -> None:
        """Start the worker processes now, before the issues are loaded (for a build that will
        convert most of them): a process forked from a small parent has less to copy on write."""
        if self.processes and self._pool is None:
            self._fork()

    def _fork(self) -> None:
        # Forked workers share this process's memory until they write to it; frozen objects are
        # not visited by their garbage collector, so those pages stay shared.
        gc.freeze()
        try:
            self._pool = ProcessPoolExecutor(max_workers=self.processes)
            self._pool.submit(int).result()  # fork now, before any thread starts
        finally:
            gc.unfreeze()

    def _start_workers(self) -> None:
        if self._pool is None:
            self._fork()
        for _ in range(self.processes):
            feeder = threading.Thread(target=self._feed, name="annaobserva-converter", daemon=True)
            feeder.start()
            self._feeders.append(feeder)

    def _feed(self) -> None:
        """One worker's feeder thread: keep the worker two batches ahead, taken from the front of
        the queue, until it is empty (while this process holds the GIL converting, a result
        waits up to a switch interval to be collected; the second batch hides that)."""
        assert self._pool is not None
        in_flight: deque[tuple[list[str], Future[list[tuple[str, Rendered]]]]] = deque()
        while True:
            with self._state:
                while (not self._queue and not in_flight and not self._all_requested
                       and not self._closing):
                    self._state.wait()
                if self._closing or self._error is not None:
                    return
                while self._queue and len(in_flight) < AHEAD:
                    batch = self._unqueue()
                    keys = [job.key for job in batch]
                    self._taken.update(keys)
                    future = self._pool.submit(_convert_in_worker, batch, self._cache_path)
                    in_flight.append((keys, future))
            if not in_flight:
                return  # everything requested is taken
            keys, future = in_flight.popleft()
            try:
                results = future.result()
            except BaseException as exc:  # noqa: BLE001 - handed to the build's thread
                with self._state:
                    self._error = exc
                    for failed, _ in [(keys, future), *in_flight]:
                        self._failed.update(failed)
                        self._taken.difference_update(failed)
                    self._state.notify_all()
                return
            with self._state:
                self._done.update(results)
                self._taken.difference_update(keys)
                self._state.notify_all()

    # -- answers (the rendering stage) ---------------------------------------------------------

    def get(self, edition: Edition) -> Rendered:
        """The edition's HTML: cached, converted by a worker, or converted now with its batch.
        The edition may come without its body (the build drops them once they are requested)."""
        key = self._keys.get((edition.slug, edition.lang)) or self.job(edition).key
        mine: list[Job] = []
        with self._state:
            while key in self._taken:
                if not self._queue:
                    self._state.wait()
                    continue
                # A worker is converting it: convert the next batch nobody has taken meanwhile.
                helping = self._unqueue()
                self._state.release()
                try:
                    self._convert_here(helping)
                finally:
                    self._state.acquire()
            if key in self._failed and self._error is not None:
                if isinstance(self._error, BuildError):
                    raise self._error
                raise BuildError(
                    f"{edition.path}: converting the Markdown failed in a worker process "
                    f"({type(self._error).__name__}: {self._error})"
                ) from self._error
            if key in self._done:
                rendered = self._done.pop(key)
                self._store(key, rendered)
                if rendered is not None:
                    return rendered
                # else a worker put it in the cache file: read below
            elif key in self._batch_of:  # still queued: take its batch
                mine = self._unqueue(self._batch_of[key])
            elif any(j.key == key for j in self._partial):
                mine, self._partial = self._partial, []
        if not mine:
            hit = self.cache.get(key)
            if hit is not None:
                return hit
            mine = [self._job_with_body(edition, key)]
        results = dict(_convert_batch(mine))
        found = results.pop(key)
        self._store(key, found)
        with self._state:
            self._done.update(results)  # the rest of the batch, for the next pages
        return found

    def _unqueue(self, batch: list[Job] | None = None) -> list[Job]:
        """Take a batch out of the queue: the given one, or the first (nobody has taken either;
        the caller holds `_state`)."""
        if batch is None:
            batch = self._queue.popleft()
        else:
            self._queue.remove(batch)
        for job in batch:
            del self._batch_of[job.key]
        return batch

    def _convert_here(self, batch: list[Job]) -> None:
        """Convert a batch in this process for the pages to come."""
        results = _convert_batch(batch)
        with self._state:
            self._done.update(results)
            self._state.notify_all()

    def _job_with_body(self, edition: Edition, key: str) -> Job:
        """The job to convert an edition now; one the build dropped the body of is read again
        (its HTML went missing from the cache: another build pruned it, say)."""
        job = self.job(edition)
        if job.key == key:
            return job
        data = edition.path.read_bytes()
        fresh, _ = read_edition(edition.path, edition.slug, edition.lang, data, str(edition.path))
        job = self.job(fresh) if fresh is not None else job
        if fresh is None or job.key != key:
            raise BuildError(f"{edition.path}: changed while the site was being built: build again")
        return job

    def _store(self, key: str, rendered: Rendered | None) -> None:
        self.converted += 1
        if rendered is None:
            self.cache.keep(key)  # a worker wrote it
        else:
            self.cache.put(key, rendered)
