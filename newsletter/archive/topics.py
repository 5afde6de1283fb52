"""Member states and topics as pages: which issues concern each, per language (pure: no files).

An issue concerns a member state when its edition lists the state's code in `countries`, and a
topic when it lists it in `tags`. Each language gets one page per state and per topic that has at
least one issue in that language, newest first, with its own feed, and a list of them with how
many issues concern each. Topics are the editors' own words in each language, so a topic page
belongs to its language; a state is the same in every language, so its pages are translations of
one another.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from newsletter.content import Issue
from newsletter.states import MemberState

STATE, TAG = "state", "tag"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Topic:
    """A member state or a topic in one language, with the issues concerning it, newest first."""

    kind: str  # STATE | TAG
    slug: str  # the last part of its URL: the state's code in lower case, or the topic's slug
    name: str  # as a reader of the language reads it
    issues: tuple[Issue, ...]


def fold(text: str) -> str:
    """Text without accents, in lower case: what orders names and makes slugs
    (`Asamblea General` → `asamblea general`, `tecnología` → `tecnologia`)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def tag_slug(tag: str) -> str:
    """A topic's URL slug: ASCII letters and digits joined by `-` (`buenas prácticas` →
    `buenas-practicas`); a topic with none of them gets a short hash of its name."""
    slug = _NOT_SLUG.sub("-", fold(tag)).strip("-")
    return slug or "t-" + hashlib.sha256(tag.encode()).hexdigest()[:8]


def _in_language(visible: Iterable[Issue], lang: str) -> list[Issue]:
    return [issue for issue in visible if lang in issue.editions]


def state_topics(visible: Sequence[Issue], lang: str,
                 states: Mapping[str, MemberState]) -> list[Topic]:
    """Every member state that an issue in `lang` concerns, by name, with those issues."""
    found: dict[str, list[Issue]] = {}
    for issue in _in_language(visible, lang):
        for code in dict.fromkeys(issue.edition(lang).countries):
            if code in states:
                found.setdefault(code, []).append(issue)
    topics = [Topic(STATE, code.lower(), states[code].name(lang), tuple(issues))
              for code, issues in found.items()]
    return sorted(topics, key=lambda t: (fold(t.name), t.slug))


def tag_topics(visible: Sequence[Issue], lang: str) -> list[Topic]:
    """Every topic of the issues in `lang`, by name, with those issues. Spellings that differ
    only in accents or case are one topic, named as its newest issue spells it."""
    found: dict[str, tuple[str, list[Issue]]] = {}
    for issue in _in_language(visible, lang):
        seen: set[str] = set()
        for tag in issue.edition(lang).tags:
            slug = tag_slug(tag)
            if slug in seen:
                continue
            seen.add(slug)
            found.setdefault(slug, (tag, []))[1].append(issue)
    topics = [Topic(TAG, slug, name, tuple(issues)) for slug, (name, issues) in found.items()]
    return sorted(topics, key=lambda t: (fold(t.name), t.slug))


def neighbours(visible: Sequence[Issue], lang: str) -> dict[str, tuple[Issue | None, Issue | None]]:
    """For each issue in `lang`, the (older, newer) issue in that language, if any; `visible` is
    newest first, as the corpus orders it."""
    in_lang = _in_language(visible, lang)
    return {
        issue.slug: (in_lang[i + 1] if i + 1 < len(in_lang) else None,
                     in_lang[i - 1] if i > 0 else None)
        for i, issue in enumerate(in_lang)
    }
