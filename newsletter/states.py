"""The OAS member states: reference data read from `subscribers/member-states.toml`."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .errors import SettingsError


@dataclass(frozen=True)
class MemberState:
    """One member state: its ISO 3166-1 alpha-2 code and its name per language."""

    code: str
    names: Mapping[str, str]

    def name(self, lang: str) -> str:
        """The state's name in a language, falling back to English."""
        return self.names.get(lang) or self.names["en"]


@lru_cache(maxsize=8)
def load_member_states(path: Path) -> Mapping[str, MemberState]:
    """The member states keyed by code, in code order."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: member-state reference data not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    return {code: MemberState(code, dict(names)) for code, names in sorted(raw.items())}
