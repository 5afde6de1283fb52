"""Load issues: `issues/<slug>/<lang>.md` files (YAML front matter + Markdown) into `Issue`s.

Reading is forgiving and reporting is exact: every defect becomes a `Problem` with the file and
line, so `check` can list them all and `build` can refuse to start with the same messages.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FRONT_MATTER_KEYS = {
    "number": "required",
    "title": "required",
    "date": "required",
    "summary": "required",
    "send_at": "optional",
    "status": "optional",
    "tags": "optional",
    "countries": "optional",
}
STATUSES = ("draft", "ready")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
LANG_FILE_RE = re.compile(r"^([a-z]{2})\.md$")
DRAFT_NEWS_RE = re.compile(r"^news\.([a-z]{2})\.md$")


@dataclass(frozen=True, order=True, slots=True)
class Problem:
    """One defect in the sources, located by file and line."""

    path: str
    line: int
    message: str
    severity: str = "error"  # error (stops a build) | warning (look at it) | info (a figure)

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

    @property
    def published(self) -> dt.datetime:
        """The publication instant used by feeds: the date at midnight UTC."""
        return dt.datetime.combine(self.date, dt.time(0, 0), tzinfo=dt.UTC)

    def without_body(self) -> Edition:
        """The same edition without its Markdown nor the front matter's line numbers (what
        rendering from converted HTML needs)."""
        return dataclasses.replace(self, body="", key_lines={})


@dataclass(frozen=True, slots=True)
class Issue:
    """One numbered issue with its editions, keyed by language."""

    slug: str
    folder: Path
    editions: Mapping[str, Edition]

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

    @property
    def status(self) -> str:
        """draft or ready: an issue is ready only when every edition is."""
        return "ready" if all(e.status == "ready" for e in self.editions.values()) else "draft"

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


def source_hash(data: bytes) -> str:
    """The content hash that keys every cache of a source file."""
    return hashlib.sha256(data).hexdigest()


def split_front_matter(text: str, path: str) -> tuple[str, str, int, list[Problem]]:
    """Split `---` YAML front matter from the body; return (yaml, body, body_line, problems)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return "", text, 1, [Problem(path, 1, "missing front matter: the file must start with ---")]
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2, []
    return "", "", 1, [Problem(path, 1, "front matter is not closed: add a line with --- after it")]


def parse_front_matter(
    source: str, path: str, line_offset: int = 1
) -> tuple[dict[str, Any], dict[str, int], list[Problem]]:
    """Parse the YAML, keeping each key's file line; report malformed YAML with its line."""
    import yaml  # here, not at the top: a build whose inputs did not change never parses YAML

    # libyaml when it is there: parsing front matter is most of loading the issues.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(source)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}, []
        if not isinstance(node, yaml.MappingNode):
            problem = Problem(path, line_offset, "front matter must be a mapping of key: value")
            return {}, {}, [problem]
        lines = {str(k.value): line_offset + k.start_mark.line for k, _ in node.value}
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = line_offset + (mark.line if mark else 0)
        reason = getattr(exc, "problem", None) or str(exc)
        return {}, {}, [Problem(path, line, f"malformed YAML in front matter: {reason}")]
    finally:
        loader.dispose()
    return data, lines, []


def _check_value(key: str, value: Any) -> tuple[Any, str | None]:
    """Convert one front-matter value to its type, or say what is wrong with it."""
    if key == "number":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return None, "number must be a positive whole number"
        return value, None
    if key in ("title", "summary"):
        if not isinstance(value, str) or not value.strip():
            return None, f"{key} must be non-empty text"
        if "\n" in value.strip() or "\r" in value:
            return None, f"{key} must be one line (it goes into email headers and feeds)"
        return value.strip(), None
    if key == "date":
        if isinstance(value, dt.datetime):
            return None, "date must be a date (YYYY-MM-DD), not a date and time"
        if isinstance(value, dt.date):
            return value, None
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value), None
            except ValueError:
                pass
        return None, f"date must be a date (YYYY-MM-DD), not {value!r}"
    if key == "send_at":
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                return None, f"send_at must be a date and time with a time zone, not {value!r}"
        if not isinstance(value, dt.datetime):
            return None, ("send_at must be a date and time with a time zone "
                          "(2026-11-30T09:00:00-03:00)")
        if value.tzinfo is None or value.utcoffset() is None:
            return None, "send_at has no time zone: add one, e.g. 2026-11-30T09:00:00-03:00"
        return value, None
    if key == "status":
        if value not in STATUSES:
            return None, f"status must be draft or ready, not {value!r}"
        return value, None
    if key in ("tags", "countries"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, f"{key} must be a list of text values"
        if key == "countries":
            bad = [v for v in value if not re.fullmatch(r"[A-Z]{2}", v)]
            if bad:
                return None, f"countries must be ISO 3166-1 alpha-2 codes (e.g. UY), not {bad[0]!r}"
        return tuple(value), None
    return None, f"unknown key {key!r}"  # pragma: no cover - filtered earlier


def read_edition(
    path: Path, slug: str, lang: str, data: bytes, display: str
) -> tuple[Edition | None, list[Problem]]:
    """Parse one edition file's bytes; return the edition (or None) and its problems."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(display, 1, f"not UTF-8 text ({exc.reason}): save the file as UTF-8")]
    text = text.replace("\r\n", "\n")
    source, body, body_line, problems = split_front_matter(text, display)
    if problems:
        return None, problems
    raw, lines, problems = parse_front_matter(source, display, 2)
    if problems:
        return None, problems
    values: dict[str, Any] = {}
    for key, value in raw.items():
        line = lines.get(str(key), 2)
        if key not in FRONT_MATTER_KEYS:
            known = ", ".join(FRONT_MATTER_KEYS)
            problems.append(
                Problem(display, line, f"unknown front-matter key {key!r} (known: {known})"))
            continue
        converted, error = _check_value(key, value)
        if error:
            problems.append(Problem(display, line, error))
        else:
            values[key] = converted
    for key, need in FRONT_MATTER_KEYS.items():
        if need == "required" and key not in raw:
            problems.append(Problem(display, 1, f"missing front-matter key {key!r}"))
    if problems:
        return None, problems
    edition = Edition(
        slug=slug,
        lang=lang,
        path=path,
        body=body,
        body_line=body_line,
        source_hash=source_hash(data),
        key_lines=lines,
        **values,
    )
    return edition, []


EditionReader = Callable[[Path, str, str, bytes, str], tuple["Edition | None", list[Problem]]]


def load_issues(
    issues_dir: Path,
    languages: Iterable[str],
    root: Path | None = None,
    reader: EditionReader | None = None,
) -> Corpus:
    """Read every issue folder; editions in configured-language order, issues newest first.

    `reader` parses one file's bytes (the build passes a caching one); default `read_edition`.
    """
    reader = reader or read_edition
    languages = tuple(languages)
    root = root or issues_dir.parent
    problems: list[Problem] = []
    issues: list[Issue] = []
    if not issues_dir.is_dir():
        missing = Problem(display_path(issues_dir, root), 0, "the issues folder does not exist")
        return Corpus((), (missing,))
    for folder in sorted(p for p in issues_dir.iterdir() if p.is_dir()):
        slug = folder.name
        shown = display_path(folder, root)
        if not SLUG_RE.match(slug):
            problems.append(
                Problem(shown, 0, "issue folder names use a-z, 0-9 and - only (e.g. 2026-11)")
            )
            continue
        editions: dict[str, Edition] = {}
        for file in sorted(folder.iterdir()):
            if not file.is_file() or not file.name.endswith(".md"):
                continue
            match = LANG_FILE_RE.match(file.name)
            if not match:
                if not DRAFT_NEWS_RE.match(file.name):
                    problems.append(
                        Problem(display_path(file, root), 0,
                                "not an edition (editions are named <lang>.md)", "warning")
                    )
                continue
            lang = match.group(1)
            if lang not in languages:
                problems.append(
                    Problem(display_path(file, root), 0,
                            f"language {lang!r} is not configured in [site] languages; not built",
                            "warning")
                )
                continue
            edition, found = reader(file, slug, lang, file.read_bytes(), display_path(file, root))
            problems.extend(found)
            if edition is not None:
                editions[lang] = edition
        ordered = {lang: editions[lang] for lang in languages if lang in editions}
        if ordered:
            issues.append(Issue(slug=slug, folder=folder, editions=ordered))
    issues.sort(key=lambda i: (i.date, i.number, i.slug), reverse=True)
    return Corpus(tuple(issues), tuple(problems))


def display_path(path: Path, root: Path) -> str:
    """A path as the editor sees it: relative to the project folder when it is inside it."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
