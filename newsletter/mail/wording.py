"""The fixed words around an email edition, per language, from templates/email-strings.toml."""

from __future__ import annotations

from pathlib import Path

from newsletter.errors import NewsletterError
from newsletter.templating import read_wording

STRINGS_FILE = "email-strings.toml"
KEYS = ("number", "view_in_browser", "also_in", "why", "change_language", "unsubscribe", "links",
        "image", "footnotes")


class EmailStringsError(NewsletterError):
    """templates/email-strings.toml is missing, malformed, or lacks a word for a language."""


def load_email_strings(templates_dir: Path, lang: str) -> dict[str, str]:
    """The words for `lang`; an error names the file and the missing table or key."""
    path = templates_dir / STRINGS_FILE
    raw = read_wording(path, "the words around the email", EmailStringsError)
    table = raw.get(lang)
    if not isinstance(table, dict):
        raise EmailStringsError(f"{path}: no [{lang}] table: add the email's words for it")
    for key in KEYS:
        if not isinstance(table.get(key), str):
            raise EmailStringsError(f"{path}: [{lang}] has no text {key!r}")
    if "{number}" not in table["number"]:
        raise EmailStringsError(f"{path}: [{lang}] number must contain {{number}}")
    return {key: table[key] for key in KEYS}
