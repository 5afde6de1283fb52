"""The subscribe form's defences: a signed double-submit CSRF token and a per-address limit on
attempts (not the send's pacing, which is `newsletter.delivery.pacing.SendPacer`)."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

from itsdangerous import BadSignature

from newsletter.tokens import Signer

CSRF_COOKIE = "annaobserva_csrf"
CSRF_FIELD = "csrf"
CSRF_MAX_AGE = 24 * 3600


class CsrfGuard:
    """A random value in a SameSite=Strict cookie, and its signed copy in the form.

    A forged cross-site POST carries neither the cookie (SameSite) nor a signature that matches
    it (the secret), so both must agree.
    """

    def __init__(self, signer: Signer, max_age: int = CSRF_MAX_AGE) -> None:
        self._serializer = signer.serializer("csrf")
        self.max_age = max_age

    @staticmethod
    def new_cookie_value() -> str:
        """A fresh random cookie value."""
        return secrets.token_urlsafe(24)

    def field_for(self, cookie_value: str) -> str:
        """The hidden form field that goes with a cookie value."""
        return str(self._serializer.dumps(cookie_value))

    def valid(self, cookie_value: str | None, field_value: str | None) -> bool:
        """Whether a POST's cookie and form field belong together and are fresh."""
        if not cookie_value or not field_value:
            return False
        try:
            signed = self._serializer.loads(field_value, max_age=self.max_age)
        except BadSignature:
            return False
        return isinstance(signed, str) and secrets.compare_digest(signed, cookie_value)


class AttemptLimiter:
    """At most `limit` attempts per client address in any sliding window of `window` seconds."""

    def __init__(
        self, limit: int, window: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one attempt from `key`; False when it is over the limit."""
        now = self.clock()
        with self._lock:
            if len(self._hits) > 10_000:
                self._forget_idle(now)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may try again."""
        with self._lock:
            hits = self._hits.get(key)
            if not hits:
                return 0
            return max(1, int(hits[0] + self.window - self.clock()) + 1)

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window]
        for key in idle:
            del self._hits[key]
