"""The words around the content, per language.

The archive's interface (`templates/strings.toml`, also the headings `new` scaffolds), the
subscription pages and confirmation email (`templates/subscribe/strings.toml`), and the summary
the editors receive when a campaign completes (`templates/editors/strings.toml`). The email
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
EDITORS_FILE = Path("editors") / "strings.toml"


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


def load_editor_words(templates_dir: Path, lang: str) -> dict[str, str]:
    """The words of the editors' campaign summary in `lang` (templates/editors/strings.toml);
    SettingsError names a missing table or key (the [es] table lists every key)."""
    path = Path(templates_dir) / EDITORS_FILE
    raw = read_wording(path, "the editors' campaign summary needs it", SettingsError)
    table = raw.get(lang)
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: no [{lang}] table: add the summary's words for it")
    keys = set(raw.get("es", table))
    missing = sorted(k for k in keys if not isinstance(table.get(k), str))
    if missing:
        raise SettingsError(f"{path}: [{lang}] has no {', '.join(missing)}")
    return {key: str(value) for key, value in table.items()}
