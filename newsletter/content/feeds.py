"""feeds.toml: the partner feeds `gather` reads (a name, a URL or a local file, a language) and
the limits for fetching them, checked on load: a wrong key or value is a FeedsConfigError that
names the feed and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from newsletter.errors import NewsletterError

_FEED_KEYS = {"name", "url", "path", "language"}
_TOP_KEYS = {"feed", "timeout_seconds", "max_bytes", "summary_length"}


class FeedsConfigError(NewsletterError):
    """feeds.toml is missing, malformed, or has a wrong key or value."""


@dataclass(frozen=True)
class PartnerFeed:
    """One partner feed from feeds.toml."""

    name: str
    location: str  # a URL, or a path as written in feeds.toml
    language: str
    is_url: bool
    path: Path | None = None  # resolved, for a local file


@dataclass(frozen=True)
class FeedList:
    """feeds.toml: the partner feeds and the limits for fetching them."""

    feeds: tuple[PartnerFeed, ...]
    timeout_seconds: float = 10.0
    max_bytes: int = 5_000_000
    summary_length: int = 300


def load_feed_list(path: Path) -> FeedList:
    """Read feeds.toml; raise FeedsConfigError naming the feed and key that are wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FeedsConfigError(
            f"{path}: not found; list the partner feeds there ([[feed]] name, url or path, "
            "language)"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FeedsConfigError(f"{path}: {exc}") from None
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise FeedsConfigError(
            f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_TOP_KEYS))})"
        )
    limits: dict[str, Any] = {}
    for key, kind in (
        ("timeout_seconds", (int, float)),
        ("max_bytes", int),
        ("summary_length", int),
    ):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
                raise FeedsConfigError(f"{path}: {key} must be a positive number, not {value!r}")
            limits[key] = float(value) if key == "timeout_seconds" else value
    entries = raw.get("feed", [])
    if not isinstance(entries, list) or not entries:
        raise FeedsConfigError(f"{path}: no feeds; add a [[feed]] table for each partner feed")
    feeds: list[PartnerFeed] = []
    names: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        feeds.append(_feed_entry(path, number, entry))
        if feeds[-1].name in names:
            raise FeedsConfigError(
                f"{path}: feed #{number}: the name {feeds[-1].name!r} is used twice"
            )
        names.add(feeds[-1].name)
    return FeedList(tuple(feeds), **limits)


def _feed_entry(path: Path, number: int, entry: Any) -> PartnerFeed:
    where = f"{path}: feed #{number}"
    if not isinstance(entry, dict):
        raise FeedsConfigError(f"{where} must be a [[feed]] table")
    if isinstance(entry.get("name"), str) and entry["name"].strip():
        where = f"{path}: feed {entry['name']!r}"
    unknown = sorted(set(entry) - _FEED_KEYS)
    if unknown:
        raise FeedsConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_FEED_KEYS))})"
        )
    for key in ("name", "language"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise FeedsConfigError(f"{where}: missing key {key!r}")
    language = entry["language"].strip().lower()
    if not re.fullmatch(r"[a-z]{2}", language):
        raise FeedsConfigError(
            f"{where}: language must be a two-letter code (es, en, pt, fr), not {language!r}"
        )
    if ("url" in entry) == ("path" in entry):
        raise FeedsConfigError(f"{where}: give either url (a web address) or path (a local file)")
    if "url" in entry:
        url = entry["url"]
        if (
            not isinstance(url, str)
            or urlsplit(url).scheme not in ("http", "https")
            or not urlsplit(url).netloc
        ):
            raise FeedsConfigError(
                f"{where}: url must start with https:// or http:// (use path for a file)"
            )
        return PartnerFeed(entry["name"].strip(), url, language, True)
    location = entry["path"]
    if not isinstance(location, str) or not location:
        raise FeedsConfigError(f"{where}: path must be a file path")
    return PartnerFeed(entry["name"].strip(), location, language, False, path.parent / location)
