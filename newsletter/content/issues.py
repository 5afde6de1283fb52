"""The content model: an `Issue` is one numbered issue, its `Edition`s one per language (front
matter and Markdown body), the `Corpus` every issue found under `issues/` with the `Problem`s met
reading them (a defect located by file and line, which `check` lists and `build` refuses).

Which editions readers get is `Issue.published_editions(drafts)` (and `Issue.published(drafts)`,
the issue with only those): every output — pages, lists, feeds, sitemap, emails, approvals —
asks it, so an optional edition still in draft exists for nobody but the preview.

Reading the files into these records is `loader.py`'s (`load_issues`, `load_corpus`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from newsletter.errors import IssueNotFound

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# An issue without send_at is dated at noon where the newsletter lives (`Edition.published_at`).
PUBLICATION_TIME = dt.time(12, 0)


def by_fields(self: object) -> tuple[type, tuple[object, ...]]:
    """`__reduce__` for a frozen, slotted dataclass kept in the build cache: pickled as its
    constructor's arguments. Unpickling then calls the class, six times faster than the
    `__setstate__` dataclasses give slotted classes (which asks `fields()` for every object):
    a rebuild reads every edition and every body scan back from the cache."""
    cls = type(self)
    return cls, tuple(getattr(self, name) for name in cls.__match_args__)  # type: ignore[attr-defined]


@dataclass(frozen=True, order=True, slots=True)
class Problem:
    """One defect in the sources, located by file and line."""

    path: str
    line: int
    message: str
    severity: str = "error"  # error (stops a build) | warning (look at it) | info (a figure)

    __reduce__ = by_fields

    def __post_init__(self) -> None:
        # Lines count from 1, as editors' tools and problem matchers expect: a problem with the
        # file as a whole is on its first line.
        if self.line < 1:
            object.__setattr__(self, "line", 1)

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.path}:{self.line}: {prefix}{self.message}"

    @property
    def is_error(self) -> bool:
        """Whether this problem stops a build."""
        return self.severity == "error"


@dataclass(frozen=True, slots=True)
class Edition:
    """One issue in one language: front matter and Markdown body."""

    slug: str
    lang: str
    path: Path
    number: int
    title: str
    date: dt.date
    summary: str
    body: str
    body_line: int  # the file line of the body's first line
    source_hash: str
    status: str = "ready"
    send_at: dt.datetime | None = None
    tags: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    key_lines: Mapping[str, int] = field(default_factory=dict, compare=False, hash=False)

    __reduce__ = by_fields

    def published_at(self, zone: dt.tzinfo) -> dt.datetime:
        """The publication moment (a feed item's date): `send_at` when it is set, else the date
        at noon in the newsletter's time zone (`[site] timezone`), which is that same date for a
        reader up to twelve hours behind or eleven ahead — the whole of the Americas (midnight
        UTC was the evening before for all of them)."""
        if self.send_at is not None:
            return self.send_at
        return dt.datetime.combine(self.date, PUBLICATION_TIME, tzinfo=zone)

    def without_body(self) -> Edition:
        """The same edition without its Markdown nor the front matter's line numbers (what
        rendering from converted HTML needs)."""
        return dataclasses.replace(self, body="", key_lines={})


@dataclass(frozen=True, slots=True)
class Issue:
    """One numbered issue with its editions, keyed by language.

    `required` is `[site] required_languages` (None: every edition is required). The required
    editions make the issue's status; an optional edition (pt, fr) may stay a draft while the
    issue is ready: it is then left out of everything readers get until it is ready too.
    """

    slug: str
    folder: Path
    editions: Mapping[str, Edition]
    required: tuple[str, ...] | None = None

    def _main(self) -> Edition:
        return next(iter(self.editions.values()))

    @property
    def number(self) -> int:
        """The issue number."""
        return self._main().number

    @property
    def date(self) -> dt.date:
        """The publication date."""
        return self._main().date

    def is_required(self, lang: str) -> bool:
        """Whether every issue is written in `lang` (an edition that is not is optional)."""
        return self.required is None or lang in self.required

    @property
    def status(self) -> str:
        """draft or ready: the status of the required editions (`check` makes them agree; an
        issue that lacks them all goes by every edition it has). An optional edition's own status
        says only whether it is published with the issue (`published_editions`)."""
        required = [e for lang, e in self.editions.items() if self.is_required(lang)]
        editions = required or self.editions.values()
        return "ready" if all(e.status == "ready" for e in editions) else "draft"

    def published_editions(self, drafts: bool = False) -> Mapping[str, Edition]:
        """The editions readers get, in configured order: the one rule every output follows.

        With `drafts` (`preview`, `build --drafts`), every edition. Otherwise the required
        editions (the issue's status is theirs) and each optional edition whose status is ready:
        an optional edition still in draft does not exist yet for readers — no page, no entry in
        lists, feeds or sitemap, no alternate link, no email; its readers get their fallback."""
        if drafts:
            return self.editions
        return {lang: e for lang, e in self.editions.items()
                if self.is_required(lang) or e.status == "ready"}

    def published(self, drafts: bool = False) -> Issue:
        """The issue as readers get it: only its `published_editions(drafts)`."""
        editions = self.published_editions(drafts)
        if len(editions) == len(self.editions):
            return self
        return dataclasses.replace(self, editions=editions)

    def held_back(self) -> tuple[str, ...]:
        """The optional editions not published yet (drafts of a ready issue), in configured
        order."""
        published = self.published_editions()
        return tuple(lang for lang in self.editions if lang not in published)

    @property
    def send_at(self) -> dt.datetime | None:
        """When the issue is due to be sent, if scheduled."""
        return self._main().send_at

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages this issue exists in, in configured order."""
        return tuple(self.editions)

    def without_bodies(self) -> Issue:
        """The same issue, its editions without their Markdown."""
        return dataclasses.replace(
            self, editions={lang: e.without_body() for lang, e in self.editions.items()})

    def edition(self, lang: str) -> Edition:
        """The edition in one language (KeyError if there is none)."""
        return self.editions[lang]

    def image_files(self) -> list[tuple[str, Path]]:
        """The issue's shared images as (name under its media folder, file), in name order."""
        images = self.folder / "images"
        if not images.is_dir():
            return []
        return [("images/" + p.relative_to(images).as_posix(), p)
                for p in sorted(images.rglob("*")) if p.is_file()]

    def is_visible(self, today: dt.date, drafts: bool = False) -> bool:
        """Whether the public archive shows this issue on `today`."""
        return drafts or (self.status == "ready" and self.date <= today)


@dataclass(frozen=True, slots=True)
class Corpus:
    """Every issue found under the issues folder, and the problems met reading them."""

    issues: tuple[Issue, ...]
    problems: tuple[Problem, ...]
    folder: str = "issues"  # the issues folder as the editor sees it, for messages

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that stop a build."""
        return tuple(p for p in self.problems if p.is_error)

    def find(self, ref: str) -> Issue | None:
        """An issue by slug or by number."""
        for issue in self.issues:
            if issue.slug == ref or str(issue.number) == ref.lstrip("#"):
                return issue
        return None

    def errors_of(self, slug: str) -> tuple[Problem, ...]:
        """The errors met reading one issue's folder (an edition that could not be read)."""
        folder = f"{self.folder.rstrip('/')}/{slug}/"
        return tuple(p for p in self.errors if p.path.startswith(folder))

    def get(self, ref: str) -> Issue:
        """An issue by slug or by number; IssueNotFound names the folder searched."""
        issue = self.find(ref)
        if issue is None:
            # An issue that failed to load is not in the corpus: say so, it may be the one.
            hint = " (some issues have errors: run `publish.py check`)" if self.errors else ""
            raise IssueNotFound(f"no issue {ref!r} under {self.folder}/{hint}")
        return issue


def source_hash(data: bytes) -> str:
    """The content hash that keys every cache of a source file."""
    return hashlib.sha256(data).hexdigest()


def display_path(path: Path, root: Path) -> str:
    """A path as the editor sees it: relative to the project folder when it is inside it."""
    text, base = str(path), str(root)
    if text.startswith(base) and text[len(base):len(base) + 1] == os.sep and base != os.sep:
        return text[len(base) + 1:]  # the common case, without pathlib's part by part compare
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
