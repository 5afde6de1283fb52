"""Markdown → HTML for a build: cached by content, spread over the cores, streamed in order.

The build says which editions it may need as it loads them (`request`): what the cache lacks goes
to worker processes in small batches at once, so they convert while the build goes on loading and
checking. It then asks for each edition's HTML (`get`) in the same order, receiving each as soon as
its batch is ready, so pages are rendered and written while the rest are still being converted and
only a few converted editions are held at once. Cached editions are never converted; an edition
nobody requested (or too few to be worth starting workers) is converted in this process.
"""

from __future__ import annotations

import gc
import hashlib
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from .cache import BuildCache
from .issues import Edition
from .markup import Rendered, render_config_key, renderer_for

# Below this many editions to convert, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 24
# Editions per task sent to a worker: small enough that the first pages can be written early.
BATCH = 12


@dataclass(frozen=True)
class Job:
    """One edition to convert, with what decides its HTML."""

    key: str
    lang: str
    base_path: str
    typographic: bool
    slug: str
    body: str


def _convert_batch(jobs: list[Job]) -> list[tuple[str, Rendered]]:
    """Worker: convert a batch of jobs."""
    return [(job.key, renderer_for(job.lang, job.base_path, job.typographic).render(job.slug, job.body))
            for job in jobs]


class Converter:
    """Rendered HTML per edition for one build (use as a context manager)."""

    def __init__(self, cache: BuildCache, base_path: str, typographic: tuple[str, ...],
                 workers: int) -> None:
        self.cache = cache
        self.base_path = base_path
        self.typographic = typographic
        self.workers = workers
        self.converted = 0
        self._requested: set[str] = set()
        self._waiting: list[Job] = []  # requested, not yet sent to a worker
        self._sent: deque[tuple[frozenset[str], Future[list[tuple[str, Rendered]]]]] = deque()
        self._in_flight: set[str] = set()
        self._ready: dict[str, Rendered] = {}
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Converter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def job(self, edition: Edition) -> Job:
        """The conversion of one edition, keyed on its body and the rendering configuration."""
        typographic = edition.lang in self.typographic
        config = render_config_key(edition.lang, self.base_path, typographic)
        key = "html:" + hashlib.sha256(f"{config}\0{edition.slug}\0{edition.body}".encode()).hexdigest()
        return Job(key, edition.lang, self.base_path, typographic, edition.slug, edition.body)

    def request(self, edition: Edition) -> None:
        """Say that the build may need this edition's HTML, in the order it will ask for it.

        What the cache lacks goes to the workers at once (once there is enough to be worth
        starting them), so conversion runs while the build goes on loading and checking. A cached
        edition is only marked as still current.
        """
        job = self.job(edition)
        if job.key in self._requested:
            return
        self._requested.add(job.key)
        if job.key in self.cache:
            return
        self._waiting.append(job)
        if self._pool is None and self.workers > 1 and len(self._waiting) >= PARALLEL_THRESHOLD:
            self._start_pool()
        if self._pool is not None and len(self._waiting) >= BATCH:
            self._send()

    def start(self) -> None:
        """Every edition has been requested: send what is left (or convert it here, when little)."""
        if self._pool is not None:
            self._send()

    def _start_pool(self) -> None:
        # Forked workers share the parent's memory until they write to it; frozen objects are not
        # visited by the workers' garbage collector, so those pages stay shared.
        gc.freeze()
        try:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
            self._pool.submit(int).result()  # fork now, while the frozen heap is small
        finally:
            gc.unfreeze()

    def _send(self) -> None:
        if not self._waiting or self._pool is None:
            return
        batch, self._waiting = self._waiting, []
        keys = frozenset(job.key for job in batch)
        self._in_flight |= keys
        self._sent.append((keys, self._pool.submit(_convert_batch, batch)))

    def get(self, edition: Edition) -> Rendered:
        """The edition's HTML: cached, streamed from the workers, or converted now."""
        job = self.job(edition)
        while job.key in self._in_flight and job.key not in self._ready:
            keys, future = self._sent.popleft()
            self._in_flight -= keys
            for key, rendered in future.result():
                self._store(key, rendered)
                self._ready[key] = rendered
        if job.key in self._ready:
            return self._ready.pop(job.key)
        hit = self.cache.get(job.key)
        if hit is not None:
            return hit
        [(key, rendered)] = _convert_batch([job])
        self._store(key, rendered)
        return rendered

    def _store(self, key: str, rendered: Rendered) -> None:
        self.converted += 1
        self.cache.put(key, rendered)
