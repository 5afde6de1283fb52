"""Pacing a send: the token bucket that holds the rate, and the pool size that can reach it.

The bucket has a depth of one (sends are spaced 1/rate apart) and also keeps the last `rate`
send times, so no one-second window ever holds more than `rate` sends even when a thread wakes
late. The pool grows with the rate so that the transport's round trip never caps it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

# A one-second window must never hold more than `rate` sends, even when threads wake late.
WINDOW_MARGIN = 0.03
# SES answers in 50–100 ms; the pool grows so that such a latency never caps the rate.
LATENCY_ALLOWANCE = 0.15
MAX_WORKERS = 32


class SendPacer:
    """Spaces a send's messages to its rate: a token bucket of depth one plus a sliding
    one-second window; safe across threads."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = rate
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._recent: deque[float] = deque(maxlen=max(1, math.floor(rate)) if rate > 0 else 1)
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def acquire(self) -> None:
        """Wait until one more send is allowed."""
        if self.rate <= 0:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            if len(self._recent) == self._recent.maxlen:
                slot = max(slot, self._recent[0] + 1.0 + WINDOW_MARGIN)
            self._next = slot + self.interval
            self._recent.append(slot)
        if slot > now:
            self._sleep(slot - now)


def worker_count(configured: int, rate: float, latency: float = LATENCY_ALLOWANCE) -> int:
    """Workers enough to reach `rate` through a transport answering in `latency` seconds."""
    needed = math.ceil(rate * latency) if rate > 0 else 0
    return max(1, configured, min(MAX_WORKERS, needed))
