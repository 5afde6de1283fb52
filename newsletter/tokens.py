"""Signed tokens for subscriber links: HMAC over (purpose, subscriber id), never the bare address.

A token is bound to its purpose (`unsubscribe`, `confirm`, `language`), so a leaked unsubscribe
link cannot confirm anybody. Confirmation tokens expire; unsubscribe links keep working, since
RFC 8058 one-click must work for a message read months later.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .errors import NewsletterError


class TokenInvalid(NewsletterError):
    """The token was tampered with, or signed for another purpose."""


class TokenExpired(NewsletterError):
    """The token is genuine but older than its allowed age."""


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"annaobserva.{purpose}")


def sign(secret: str, purpose: str, subscriber_id: int) -> str:
    """A URL-safe token carrying the subscriber id for one purpose."""
    return _serializer(secret, purpose).dumps(subscriber_id)


def verify(secret: str, purpose: str, token: str, max_age: int | None = None) -> int:
    """The subscriber id inside a token; TokenInvalid or TokenExpired otherwise."""
    try:
        value = _serializer(secret, purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenExpired("this link has expired") from None
    except BadSignature:
        raise TokenInvalid("this link is not valid") from None
    if not isinstance(value, int):
        raise TokenInvalid("this link is not valid")
    return value
