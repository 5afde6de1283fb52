"""Signed tokens for subscriber links: HMAC over (purpose, subscriber id), never the bare address.

A token is bound to its purpose (`unsubscribe`, `confirm`, `language`), so a leaked unsubscribe
link cannot confirm anybody. Confirmation tokens expire; unsubscribe links keep working, since
RFC 8058 one-click must work for a message read months later.

`Signer` holds the secret: it is made once, where the secret enters (`Settings.signer()`), and
handed to whatever signs or verifies, so nothing reads the secret per message. It also knows,
from the moment it is made, whether its secret may sign links that leave this machine: an empty
secret, the demo value and one shorter than 32 bytes may not (`require_strong`). Without a
configured secret the demo value signs what stays here — the outbox, previews, checks, dry runs
— and nothing else: `serve` and every transport but the outbox refuse it, so a link forged with
the (public) demo value is honoured nowhere.
"""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .errors import NewsletterError, SettingsError

SECRET_ENV = "ANNAOBSERVA_SECRET"
# Signs only links that never leave this machine (the demo's outbox, previews, dry runs); it is
# public, so it is refused for everything else.
DEMO_SECRET = "demo-secret-change-me"
MIN_SECRET_BYTES = 32
MAKE_ONE = ('make one with `python -c "import secrets; print(secrets.token_urlsafe(48))"` '
            f"and put it in {SECRET_ENV}")
# The largest id SQLite stores (a signed 64-bit integer): anything above is not one of ours.
MAX_ID = 2**63 - 1
PURPOSES = ("confirm", "unsubscribe", "language")


class TokenInvalid(NewsletterError):
    """The token was tampered with, or signed for another purpose."""


class TokenExpired(NewsletterError):
    """The token is genuine but older than its allowed age."""


class WeakSecret(SettingsError):
    """The signing secret is missing, public or short, and its links would leave this machine."""


def secret_weakness(secret: str) -> str | None:
    """Why `secret` must not sign links that leave this machine, or None when it may."""
    if not secret:
        return f"{SECRET_ENV} is not set"
    if secret.strip() == DEMO_SECRET:
        return f"{SECRET_ENV} is the demo value from the repository, which anybody can read"
    size = len(secret.encode("utf-8"))
    if size < MIN_SECRET_BYTES:
        return f"{SECRET_ENV} is {size} bytes long, shorter than {MIN_SECRET_BYTES}"
    return None


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"annaobserva.{purpose}")


class Signer:
    """Signs and verifies subscriber tokens, and keys Message-IDs, with one secret."""

    def __init__(self, secret: str) -> None:
        self._key = secret.encode()
        # One serializer per purpose, built once: a send signs two tokens per message.
        self._serializers = {purpose: _serializer(secret, purpose) for purpose in PURPOSES}
        self._secret = secret
        # Judged once, here: why these links must stay on this machine (None: they may leave).
        self.weakness = secret_weakness(secret)

    @classmethod
    def from_configured(cls, configured: str) -> Signer:
        """The signer of the configured secret; without one, of the demo value (which signs
        only what stays on this machine: `require_strong` refuses it)."""
        signer = cls(configured or DEMO_SECRET)
        signer.weakness = secret_weakness(configured)
        return signer

    def __repr__(self) -> str:
        return "Signer(<secret>)"

    @property
    def strong(self) -> bool:
        """Whether its links may leave this machine (a real secret of 32 bytes or more)."""
        return self.weakness is None

    def require_strong(self, use: str) -> None:
        """Refuse (WeakSecret, one line saying how to make a secret) unless the secret is strong.

        `use` names what needs it: "serve", "sending through smtp".
        """
        if self.weakness is not None:
            raise WeakSecret(
                f"{self.weakness}: {use} signs subscriber links and needs a secret of at least "
                f"{MIN_SECRET_BYTES} random bytes kept out of the repository; {MAKE_ONE}"
            )

    def serializer(self, purpose: str) -> URLSafeTimedSerializer:
        """The timed serializer of one purpose (a salt of its own) under this secret."""
        serializer = self._serializers.get(purpose)
        if serializer is None:
            serializer = self._serializers[purpose] = _serializer(self._secret, purpose)
        return serializer

    def sign(self, purpose: str, subscriber_id: int) -> str:
        """A URL-safe token carrying the subscriber id for one purpose."""
        return self.serializer(purpose).dumps(subscriber_id)

    def verify(self, purpose: str, token: str, max_age: int | None = None) -> int:
        """The subscriber id inside a token; TokenInvalid or TokenExpired otherwise.

        Only a positive integer SQLite can hold is an id: `true` (which Python counts as 1), a
        float, a string or a 40-digit number is refused like a forged signature.
        """
        try:
            value = self.serializer(purpose).loads(token, max_age=max_age)
        except SignatureExpired:
            raise TokenExpired("this link has expired") from None
        except BadSignature:
            raise TokenInvalid("this link is not valid") from None
        if type(value) is not int or not 0 < value <= MAX_ID:
            raise TokenInvalid("this link is not valid")
        return value

    def digest(self, data: bytes) -> str:
        """HMAC-SHA256 of `data` under the secret, in hex (a stable, unguessable identifier)."""
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()
