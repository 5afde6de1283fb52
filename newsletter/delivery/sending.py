"""The send run: ledger rows out through a transport, paced by a token bucket, a few at a time.

The stages of `run_send`: settle the run's configuration (the command's options over `[delivery]`,
once) → refuse a draft, an issue whose `send_at` is still ahead (unless `--now`), and an edition not
approved as it is now (`[delivery] require_approval`) → open the transport and check, before the
ledger is touched, everything that would fail for the whole campaign (`preflight`: the secret, one
message per language, the credentials, the quota) → take the send lock and record the run's start
→ freeze the audience (or resume the campaign: in-flight rows of a dead run become `unknown` and,
by default, go again) → loop: claim a handful of due rows (committed as `sending`), let a small
pool of workers (`workers`) render each message and send it when the rate allows, record each
answer → mark the campaign complete when nothing is owed. A burst of errors in a row, a transport
that says stop, the daily quota or Ctrl-C end the run cleanly after the messages in flight;
running again resumes. How the run ended is recorded (`send_runs`), whatever ends it, for
`status`; a refusal before the lock is no run and leaves every table as it was.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import queue
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from newsletter.content import Issue
from newsletter.mail import EmailEditions
from newsletter.settings import DeliverySettings
from newsletter.subscribers import SubscriberStore

from .ledger import Ledger
from .options import SendConfig, SendOptions
from .pacing import SendPacer, worker_count
from .preflight import (
    SendRefused,
    TransportFactory,
    check_approved,
    check_ready,
    check_schedule,
    masked_error,
    open_checked,
    preflight,
)
from .records import Outcome, Pending
from .schedule import SendLock
from .workers import TransportPool, Worker

logger = logging.getLogger(__name__)

BATCH = 500


@dataclass
class Progress:
    """Counts of the current run, for a progress bar."""

    total: int
    sent: int = 0
    deferred: int = 0
    rejected: int = 0
    unknown: int = 0
    skipped: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        """Rows that reached a final answer in this run."""
        return self.sent + self.rejected + self.unknown

    @property
    def rate(self) -> float:
        """Messages sent per second so far."""
        elapsed = time.monotonic() - self.started
        return self.sent / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class SendSummary:
    """What one run did and where the campaign stands."""

    issue: str
    audience: int
    counts: Mapping[str, int]
    sent: int = 0
    deferred: int = 0
    rejected: int = 0
    unknown: int = 0
    complete: bool = False
    already_complete: bool = False
    resent_unknown: int = 0
    added: int = 0
    stop_reason: str = ""  # why the run ended early (empty: it ran out of work)
    stopped_by: str = ""  # "" | transport | errors | quota | interrupted | limit
    errors: tuple[tuple[str, int], ...] = ()
    fallbacks: Mapping[tuple[str, str], int] = field(default_factory=dict)
    rate: float = 0.0
    elapsed: float = 0.0
    max_in_flight: int = 0


def prepare_campaign(
    config: SendConfig, store: SubscriberStore, ledger: Ledger, issue: Issue,
    editions: EmailEditions,
) -> tuple[int, int, bool]:
    """Freeze or resume the campaign; return (rows added, unknown rows requeued, was complete).

    Each new row records the edition `editions` gives its subscriber's language (their own, or
    their fallback chain's), so the ledger says what each subscriber got.
    """
    campaign = ledger.campaign(issue.slug)
    if campaign is not None and campaign.cancelled_at:
        raise SendRefused(f"the campaign of {issue.slug} was cancelled on {campaign.cancelled_at}")
    if campaign is None:
        return ledger.freeze(issue.slug, store.audience(), editions.edition_for), 0, False
    was_complete = campaign.completed_at is not None
    ledger.recover(issue.slug)
    added = 0
    if config.include_new:
        added = ledger.add_new(issue.slug, store.audience(), editions.edition_for)
    if config.retry_rejected:
        added += ledger.requeue(issue.slug, "rejected")
    resent = 0 if config.hold_unknown else ledger.requeue(issue.slug, "unknown")
    return added, resent, was_complete and not added and not resent




def run_send(
    store: SubscriberStore,
    ledger: Ledger,
    issue: Issue,
    editions: EmailEditions,
    transport_factory: TransportFactory,
    delivery: DeliverySettings,
    options: SendOptions | None = None,
    progress: Callable[[Progress], None] | None = None,
    now: dt.datetime | None = None,
) -> SendSummary:
    """Deliver one issue to its campaign's rows; resumable, rate-limited, crash-safe.

    `ledger` must be the one beside `store` (`Ledger.beside(store)`): a freeze reads the one and
    writes the other in one transaction. A failure that would hit every message (see
    `preflight`) raises SendRefused before the ledger is touched.
    """
    if ledger.database is not store.database:
        raise ValueError("the ledger must be the one beside the store (Ledger.beside)")
    config = SendConfig.resolve(delivery, options or SendOptions())
    check_ready(issue)
    check_schedule(issue, now or dt.datetime.now(dt.UTC), config.early)
    if config.require_approval:
        check_approved(issue)
    started = time.monotonic()
    pool = TransportPool(transport_factory, open_checked(transport_factory))
    try:
        rate, remaining = preflight(config, pool.every[0], editions)
        with SendLock(ledger, issue.slug, config.lock_timeout_seconds) as lock:
            run_id = ledger.start_run(issue.slug, lock.host, lock.pid)
            tally: Counter[str] = Counter()
            try:
                summary = _campaign(config, store, ledger, issue, editions, pool, (rate, remaining),
                                    lock, progress, tally, started)
            except BaseException as exc:
                interrupted = isinstance(exc, KeyboardInterrupt)
                ledger.end_run(run_id, "interrupted" if interrupted else "failed",
                               "interrupted" if interrupted else masked_error(exc) or
                               type(exc).__name__, tally)
                raise
            ledger.end_run(run_id, *run_outcome(summary), tally)
    finally:
        pool.close()
    return summary


def run_outcome(summary: SendSummary) -> tuple[str, str]:
    """(outcome, detail) of a run as `send_runs` records it."""
    if summary.complete:
        return "complete", "already complete; nothing to send" if summary.already_complete else ""
    if summary.stopped_by in ("transport", "errors"):
        return "stopped", summary.stop_reason
    if summary.stopped_by == "interrupted":
        return "interrupted", summary.stop_reason
    owed = sum(summary.counts.get(state, 0) for state in ("queued", "deferred", "unknown"))
    return "paused", summary.stop_reason or f"{owed} still owed"


def _campaign(config: SendConfig, store: SubscriberStore, ledger: Ledger, issue: Issue,
              editions: EmailEditions, pool: TransportPool,
              pace: tuple[float, int | None], lock: SendLock,
              progress: Callable[[Progress], None] | None, tally: Counter[str],
              started: float) -> SendSummary:
    """The run inside the lock: freeze or resume, send, and say where the campaign stands."""
    added, resent, was_complete = prepare_campaign(config, store, ledger, issue, editions)
    campaign = ledger.campaign(issue.slug)
    assert campaign is not None
    if was_complete:
        return SendSummary(issue.slug, campaign.audience, ledger.counts(issue.slug),
                           complete=True, already_complete=True,
                           fallbacks=ledger.fallbacks(issue.slug))
    rate, remaining = pace
    run = _Run(config, ledger, issue.slug, editions, pool, rate, lock, progress, tally)
    run.loop(remaining)
    complete = ledger.finish_if_complete(issue.slug)
    counts = ledger.counts(issue.slug)
    elapsed = time.monotonic() - started
    return SendSummary(
        issue=issue.slug, audience=campaign.audience, counts=counts,
        sent=run.tally["sent"], deferred=run.tally["deferred"], rejected=run.tally["rejected"],
        unknown=run.tally["unknown"], complete=complete, resent_unknown=resent, added=added,
        stop_reason=run.stop_reason, stopped_by=run.stopped_by,
        errors=tuple(run.errors.most_common(10)), fallbacks=ledger.fallbacks(issue.slug),
        rate=run.tally["sent"] / elapsed if elapsed > 0 else 0.0, elapsed=elapsed,
        max_in_flight=run.window,
    )


class _Run:
    """The loop of one run: keep the workers busy, record answers, stop when told."""

    def __init__(self, config: SendConfig, ledger: Ledger, slug: str,
                 editions: EmailEditions, pool: TransportPool, rate: float,
                 lock: SendLock, progress: Callable[[Progress], None] | None,
                 tally: Counter[str] | None = None) -> None:
        self.ledger = ledger
        self.slug = slug
        self.workers = worker_count(config.workers, rate)
        self.window = self.workers * 2
        self.pacer = SendPacer(rate)
        self.worker = Worker(slug, editions, pool, self.pacer, config.max_attempts,
                             config.retry_base_seconds)
        self.limit = config.limit
        self.error_burst = config.error_burst
        self.lock = lock
        self.progress = progress
        self.tally: Counter[str] = tally if tally is not None else Counter()
        self.errors: Counter[str] = Counter()
        self.stop_reason = ""
        self.stopped_by = ""
        self._in_a_row = 0
        self._unrecorded: list[Outcome] = []
        self.answers: queue.SimpleQueue[tuple[int, tuple[Outcome, str] | BaseException]] = \
            queue.SimpleQueue()
        counts = ledger.counts(slug)
        self.state = Progress(total=counts["queued"] + counts["deferred"])
        self._last_report = 0.0

    def stop(self, by: str, reason: str) -> None:
        if not self.stopped_by:
            self.stopped_by, self.stop_reason = by, reason

    def loop(self, remaining_today: int | None) -> None:
        budget = self.limit if self.limit is not None else math.inf
        quota_bound = False
        if remaining_today is not None and remaining_today < budget:
            budget, quota_bound = remaining_today, True
        if budget <= 0 and quota_bound:
            self.stop("quota", "the SES daily quota is used up; run send again later to resume")
            return
        inflight: set[int] = set()  # delivery ids handed to the workers
        buffer: deque[Pending] = deque()
        cursor = 0
        with self._ctrl_c_stops(), \
                ThreadPoolExecutor(self.workers, thread_name_prefix="send") as executor:
            try:
                while True:
                    if not self.stopped_by:
                        cursor, budget = self._fill(executor, inflight, buffer, cursor, budget)
                    if not inflight or self.stopped_by:
                        # Otherwise the answers ride along with the next claim's commit: rows
                        # in `sending` (claimed, answer not committed) never exceed the window.
                        self._flush()
                    if not self.stopped_by:
                        if budget <= 0 and not inflight and self._owed():
                            self.stop("quota" if quota_bound else "limit",
                                      "the SES daily quota is used up; run send again later "
                                      "to resume" if quota_bound else "reached --limit")
                    if not inflight:
                        if self.stopped_by:
                            break
                        retry_at = self.ledger.next_retry(self.slug)
                        if retry_at is None:
                            break
                        cursor = 0
                        time.sleep(min(max(0.0, retry_at - time.time()), 1.0))
                        self.lock.beat()
                        continue
                    self._collect(inflight, timeout=0.5)
            except KeyboardInterrupt:
                self.stop("interrupted", "interrupted: the messages in flight were finished; "
                          "run send again to resume")
                while inflight:
                    self._collect(inflight, timeout=None)
            finally:
                self._flush()
        self._report(force=True)

    @contextmanager
    def _ctrl_c_stops(self) -> Iterator[None]:
        """Ctrl-C asks the loop to stop after the messages in flight; a second one forces it.

        A KeyboardInterrupt raised in the middle of recording answers would roll back a commit
        and turn sent messages into resends, so the first Ctrl-C only sets the stop flag.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def on_sigint(signum: int, frame: object) -> None:
            if self.stopped_by == "interrupted":
                raise KeyboardInterrupt
            self.stop("interrupted", "interrupted: the messages in flight were finished; "
                      "run send again to resume")

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _owed(self) -> bool:
        counts = self.ledger.counts(self.slug)
        return bool(counts["queued"] or counts["deferred"])

    def _task(self, row: Pending) -> None:
        """Run in a worker: send one row and hand the answer to the loop's queue."""
        try:
            self.answers.put((row.delivery_id, self.worker(row)))
        except BaseException as exc:
            self.answers.put((row.delivery_id, exc))  # a bug: the loop re-raises it
            raise

    def _fill(self, executor: ThreadPoolExecutor, inflight: set[int], buffer: deque[Pending],
              cursor: int, budget: float) -> tuple[int, float]:
        if inflight and self.window - len(inflight) < self.workers:
            # Claim in batches of at least `workers` rows: one commit for several messages.
            return cursor, budget
        take: list[Pending] = []
        while len(inflight) + len(take) < self.window and budget > 0:
            if not buffer:
                rows = self.ledger.due(self.slug, cursor, BATCH, time.time())
                if not rows and cursor and not take:
                    # Back to the start for deferred rows now due (claimed rows are `sending`).
                    cursor = 0
                    rows = self.ledger.due(self.slug, 0, BATCH, time.time())
                if not rows:
                    break
                buffer.extend(rows)
                cursor = rows[-1].delivery_id
            take.append(buffer.popleft())
            budget -= 1
        if take:
            # The answers collected so far and the new claims: one commit.
            self.ledger.settle(self._unrecorded, [row.delivery_id for row in take])
            self._unrecorded = []
            for row in take:
                inflight.add(row.delivery_id)
                executor.submit(self._task, row)
        return cursor, budget

    def _collect(self, inflight: set[int], timeout: float | None) -> None:
        """Take the answers that arrived (waiting up to `timeout` for the first one)."""
        answers: list[tuple[int, tuple[Outcome, str] | BaseException]] = []
        try:
            answers.append(self.answers.get(timeout=timeout))
            while True:
                answers.append(self.answers.get_nowait())
        except queue.Empty:
            pass
        outcomes: list[Outcome] = []
        for delivery_id, answer in answers:
            inflight.discard(delivery_id)
            if isinstance(answer, BaseException):
                raise answer
            outcome, stop = answer
            outcomes.append(outcome)
            if stop:
                self.stop("transport", stop)
                continue
            self.tally[outcome.state] += 1
            setattr(self.state, outcome.state, getattr(self.state, outcome.state) + 1)
            if outcome.state == "sent":
                self._in_a_row = 0
            else:
                self.errors[outcome.error] += 1
                self._in_a_row += 1
                if self._in_a_row >= self.error_burst:
                    self.stop("errors", f"paused after {self._in_a_row} errors in a row; "
                              "fix the cause and run send again to resume")
        self._unrecorded.extend(outcomes)
        if not self.lock.beat():
            self.stop("transport", "another send took the lock over (this run was silent for "
                      "longer than [delivery] lock_timeout_seconds); stopping")
        self._report()

    def _flush(self) -> None:
        """Commit the answers not yet recorded (when no claim carried them)."""
        if self._unrecorded:
            self.ledger.record(self._unrecorded)
            self._unrecorded = []

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress is not None and (force or now - self._last_report >= 0.1):
            self._last_report = now
            self.progress(self.state)
