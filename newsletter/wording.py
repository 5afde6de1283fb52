"""The words around the content, per language.

The archive's interface (`templates/strings.toml`, also the headings `new` scaffolds) and the
subscription pages and confirmation email (`templates/subscribe/strings.toml`). The email
edition's own words are `newsletter.mail.wording`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from .errors import BuildError, SettingsError
from .templating import read_wording

INTERFACE_FILE = "strings.toml"
STRINGS_FILE = Path("subscribe") / "strings.toml"


def load_interface_words(
    templates_dir: Path, languages: Sequence[str]
) -> dict[str, dict[str, str]]:
    """The archive's interface words per language from templates/strings.toml; every language
    needs them (BuildError names the missing table or key)."""
    path = templates_dir / INTERFACE_FILE
    raw = read_wording(path, "the interface words per language", BuildError)
    missing = [lang for lang in languages if lang not in raw]
    if missing:
        raise BuildError(f"{path}: no [{missing[0]}] table: add the interface words for it")
    keys = set(raw[languages[0]])
    for lang in languages:
        lacking = sorted(keys - set(raw[lang]))
        if lacking:
            raise BuildError(f"{path}: [{lang}] has no {lacking[0]!r}")
    return {lang: raw[lang] for lang in languages}


@lru_cache(maxsize=8)
def load_subscription_words(
    templates_dir: Path, languages: Sequence[str]
) -> Mapping[str, Mapping[str, str]]:
    """{lang: {key: text}} of the subscription pages for every configured language; SettingsError
    names a missing key."""
    path = Path(templates_dir) / STRINGS_FILE
    raw = read_wording(path, "the subscription pages need it", SettingsError)
    keys = set().union(*(set(table) for table in raw.values())) if raw else set()
    for lang in languages:
        if lang not in raw:
            raise SettingsError(f"{path}: no [{lang}] table, but {lang} is a configured language")
        missing = sorted(keys - set(raw[lang]))
        if missing:
            raise SettingsError(f"{path}: [{lang}] has no {', '.join(missing)}")
    return {lang: dict(raw[lang]) for lang in languages}


