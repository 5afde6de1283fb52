"""Signed tokens for subscriber links: HMAC over (purpose, subscriber id), never the bare address.

A token is bound to its purpose (`unsubscribe`, `confirm`, `language`), so a leaked unsubscribe
link cannot confirm anybody. Confirmation tokens expire; unsubscribe links keep working, since
RFC 8058 one-click must work for a message read months later.

`Signer` holds the secret: it is made once, where the secret enters (a command, the web
application), and handed to whatever signs or verifies, so nothing reads the secret per message.
"""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .errors import NewsletterError


class TokenInvalid(NewsletterError):
    """The token was tampered with, or signed for another purpose."""


class TokenExpired(NewsletterError):
    """The token is genuine but older than its allowed age."""


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"annaobserva.{purpose}")


class Signer:
    """Signs and verifies subscriber tokens, and keys Message-IDs, with one secret."""

    def __init__(self, secret: str) -> None:
        self._key = secret.encode()
        # One serializer per purpose, built once: a send signs two tokens per message.
        self._serializers = {purpose: _serializer(secret, purpose)
                             for purpose in ("confirm", "unsubscribe", "language")}
        self._secret = secret

    def __repr__(self) -> str:
        return "Signer(<secret>)"

    def _for(self, purpose: str) -> URLSafeTimedSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:
            serializer = self._serializers[purpose] = _serializer(self._secret, purpose)
        return serializer

    def sign(self, purpose: str, subscriber_id: int) -> str:
        """A URL-safe token carrying the subscriber id for one purpose."""
        return self._for(purpose).dumps(subscriber_id)

    def verify(self, purpose: str, token: str, max_age: int | None = None) -> int:
        """The subscriber id inside a token; TokenInvalid or TokenExpired otherwise."""
        try:
            value = self._for(purpose).loads(token, max_age=max_age)
        except SignatureExpired:
            raise TokenExpired("this link has expired") from None
        except BadSignature:
            raise TokenInvalid("this link is not valid") from None
        if not isinstance(value, int):
            raise TokenInvalid("this link is not valid")
        return value

    def digest(self, data: bytes) -> str:
        """HMAC-SHA256 of `data` under the secret, in hex (a stable, unguessable identifier)."""
        return hmac.new(self._key, data, hashlib.sha256).hexdigest()

