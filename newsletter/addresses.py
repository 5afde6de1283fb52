"""Email addresses: validated and normalised with email-validator (no DNS), masked for logs; and
what the display name beside one may hold (`unsafe_character`).
"""

from __future__ import annotations

import unicodedata

from .errors import NewsletterError

# What a name or an organisation may hold, by Unicode general category: letters, combining marks,
# digits, punctuation, symbols and the space separators. Everything else — controls (NUL, ESC,
# tab, line feed), format characters (bidi overrides, zero-width characters), line and paragraph
# separators, private-use, surrogates, unassigned — would reach a To: header, a log or a
# spreadsheet as it came.
NAME_CATEGORIES = frozenset({"L", "M", "N", "P", "S"})


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


def unsafe_character(text: str) -> tuple[int, str] | None:
    """(position from 1, description) of the first character a name may not hold, or None."""
    for position, char in enumerate(text, start=1):
        category = unicodedata.category(char)
        if category[0] in NAME_CATEGORIES or category == "Zs":
            continue
        kind = {"Cc": "a control character", "Cf": "an invisible format character",
                "Co": "a private-use character", "Cs": "a surrogate",
                "Cn": "an unassigned code point"}.get(category, "")
        described = ", ".join(part for part in (unicodedata.name(char, ""), kind) if part)
        return position, f"U+{ord(char):04X} ({described})"
    return None
