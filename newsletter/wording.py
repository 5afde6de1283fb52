"""The words of the subscription pages and confirmation email, per language (strings.toml)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from .errors import SettingsError
from .templating import read_wording

STRINGS_FILE = Path("subscribe") / "strings.toml"


@lru_cache(maxsize=8)
def load_strings(templates_dir: Path, languages: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
    """{lang: {key: text}} for every configured language; SettingsError names a missing key."""
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


