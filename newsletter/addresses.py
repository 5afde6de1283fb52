"""Email addresses: validated and normalised with email-validator (no DNS), masked for logs."""

from __future__ import annotations

from .errors import NewsletterError


class InvalidAddress(NewsletterError):
    """The email address is not a valid address."""


def mask_email(email: str) -> str:
    """`ma***@gov.uy`: enough to tell addresses apart in a log or a listing, never the whole."""
    local, at, domain = email.rpartition("@")
    if not at:
        return "***"
    return f"{local[:2]}***@{domain}"


def normalise_email(text: str) -> str:
    """The address normalised by email-validator (no DNS); InvalidAddress says what is wrong."""
    import email_validator  # 25 ms to import: only commands that read addresses pay for it

    text = text.strip()
    if not text:
        raise InvalidAddress("the email address is empty")
    try:
        result = email_validator.validate_email(
            text, check_deliverability=False, allow_smtputf8=False
        )
    except email_validator.EmailNotValidError as exc:
        raise InvalidAddress(f"not a valid email address ({exc})") from None
    return str(result.normalized)
