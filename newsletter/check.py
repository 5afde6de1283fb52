"""Check issues beyond what the loader reports: content rules an editor can fix, file and line.

The loader (`newsletter.issues`) already reports malformed YAML, unknown or missing front-matter
keys, wrong types and `send_at` without a time zone as `corpus.problems`; `run_checks` adds what
needs the whole corpus or the body: duplicate numbers and slugs, missing or disagreeing
translations, links to issues that do not exist, images that do not exist or have no alt text,
unsafe raw HTML, translations that drifted apart, countries that are not member states, and
warnings for what an editor should look at (long summaries and titles, http:// links, heading
level skips, empty sections, a much shorter translation, missing `countries`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from .issues import Corpus, Edition, Issue, Problem
from .markup import is_external, issue_link_target
from .settings import Settings
from .states import load_member_states

logger = logging.getLogger(__name__)

ProblemSource = Callable[[Settings, Corpus], list[Problem]]


class ScanCache(Protocol):
    """Where body scans are kept between runs (`newsletter.cache.BuildCache` fits)."""

    def get(self, key: str) -> Any | None:
        """The value stored under key, or None."""

    def put(self, key: str, value: Any) -> None:
        """Store a value under key."""


SUMMARY_MAX = 200  # what an email client shows of a preheader
TITLE_MAX = 90  # what fits a subject line and a feed reader's list
SHORT_RATIO = 0.5  # an edition under half its longest translation's words is suspect

_FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_CODE_SPAN_RE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$")
# [text](url "title") and ![alt](src "title"); the URL may be wrapped in <>.
_LINK_RE = re.compile(
    r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
_AUTOLINK_RE = re.compile(r"<((?:https?|mailto|ftp):[^\s<>]*)>", re.IGNORECASE)
_REF_DEF_RE = re.compile(r"^\s{0,3}\[(?!\^)[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
_TAG_RE = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*/?>")
_ATTR_RE = re.compile(r"([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?")
_FORBIDDEN_RE = re.compile(r"<\s*(script|iframe|object|embed)\b", re.IGNORECASE)
_URL_ATTRS = ("href", "src", "action", "formaction", "xlink:href", "data", "poster")


@dataclass(frozen=True)
class _Link:
    """A link or image found in a body, with the file line it is on."""

    line: int
    url: str
    image: bool
    alt: str | None  # images only: None when a raw <img> has no alt attribute
    raw_html: bool


@dataclass(frozen=True)
class _Heading:
    line: int
    level: int
    text: str


@dataclass(frozen=True)
class _Scan:
    """What a body contains, for the checks and for comparing translations."""

    links: tuple[_Link, ...]
    headings: tuple[_Heading, ...]
    problems: tuple[Problem, ...]
    words: int

    @property
    def sections(self) -> int:
        """The number of `##` sections."""
        return sum(1 for h in self.headings if h.level == 2)

    @property
    def link_count(self) -> int:
        """The number of links (not images)."""
        return sum(1 for link in self.links if not link.image)

    @property
    def image_count(self) -> int:
        """The number of images."""
        return sum(1 for link in self.links if link.image)


def run_checks(
    settings: Settings,
    corpus: Corpus,
    *,
    extra: Iterable[ProblemSource] = (),
    cache: ScanCache | None = None,
) -> list[Problem]:
    """Every problem beyond the loader's `corpus.problems`, sorted by (path, line).

    `cache` (e.g. the build's `BuildCache`) keeps each body's scan by content hash, so a
    no-change rebuild does not read every body again.
    """
    states = load_member_states(settings.path(settings.subscribers.member_states))
    problems: list[Problem] = []
    problems += _duplicates(corpus, settings.root)
    slugs = {issue.slug: issue for issue in corpus.issues}
    for issue in corpus.issues:
        scans = {lang: _cached_scan(e, _display(e.path, settings.root), cache)
                 for lang, e in issue.editions.items()}
        problems += _missing_editions(issue, settings, settings.root)
        problems += _disagreements(issue, settings.root)
        for lang, edition in issue.editions.items():
            shown = _display(edition.path, settings.root)
            scan = scans[lang]
            problems += scan.problems
            problems += _front_matter(edition, shown, states)
            problems += _links(edition, shown, scan, issue, slugs, settings)
        problems += _drift(issue, scans, settings.root)
    for source in extra:
        problems += source(settings, corpus)
    logger.debug("checked %d issues: %d problems", len(corpus.issues), len(problems))
    return sorted(problems, key=lambda p: (p.path, p.line, p.message, p.severity))


# -- the corpus ------------------------------------------------------------------------------

def _duplicates(corpus: Corpus, root: Path) -> list[Problem]:
    """Two issues with one number, or two folders that would publish at one slug."""
    problems: list[Problem] = []
    by_number: dict[int, list[Issue]] = {}
    by_slug: dict[str, list[Issue]] = {}
    for issue in corpus.issues:
        for number in sorted({e.number for e in issue.editions.values()}):
            by_number.setdefault(number, []).append(issue)
        by_slug.setdefault(issue.slug.casefold(), []).append(issue)
    for number, issues in by_number.items():
        if len(issues) < 2:
            continue
        for issue in issues:
            others = ", ".join(_display(o.folder, root) for o in issues if o is not issue)
            for edition in issue.editions.values():
                if edition.number == number:
                    problems.append(Problem(
                        _display(edition.path, root), edition.key_lines.get("number", 1),
                        f"number {number} is also used by {others}: give each issue its own number",
                    ))
    for issues in by_slug.values():
        if len(issues) < 2:
            continue
        for issue in issues:
            others = ", ".join(_display(o.folder, root) for o in issues if o is not issue)
            for edition in issue.editions.values():
                problems.append(Problem(
                    _display(edition.path, root), 1,
                    f"slug {issue.slug!r} is also used by {others}: rename one folder",
                ))
    return problems


# -- one issue's editions --------------------------------------------------------------------

def _missing_editions(issue: Issue, settings: Settings, root: Path) -> list[Problem]:
    """A configured language without an edition (files that failed to load are reported already)."""
    problems = []
    first = next(iter(issue.editions.values()))
    for lang in settings.site.languages:
        file = issue.folder / f"{lang}.md"
        if lang in issue.editions or file.exists():
            continue
        problems.append(Problem(
            _display(first.path, root), 1,
            f"the {lang!r} edition is missing: add {_display(file, root)} "
            f"(every configured language needs one)",
        ))
    return problems


def _disagreements(issue: Issue, root: Path) -> list[Problem]:
    """Editions of one issue must agree on number, date, status and send_at."""
    problems = []
    editions = list(issue.editions.values())
    main = editions[0]
    main_name = main.path.name
    for edition in editions[1:]:
        for key in ("number", "date", "status", "send_at"):
            mine, theirs = getattr(edition, key), getattr(main, key)
            if mine == theirs:
                continue
            problems.append(Problem(
                _display(edition.path, root), edition.key_lines.get(key, 1),
                f"{key} {_shown_value(key, mine)} differs from {main_name} "
                f"({_shown_value(key, theirs)}): "
                f"every edition of an issue has the same {key}",
            ))
    return problems


def _shown_value(key: str, value: object) -> str:
    if value is None:
        return f"no {key}"
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return, attr-defined]
    return str(value)


def _front_matter(edition: Edition, shown: str, states: Iterable[str]) -> list[Problem]:
    """Member states, and the lengths that email clients and feed readers cut."""
    problems = []
    known = set(states)
    line = edition.key_lines.get
    for code in edition.countries:
        if code not in known:
            problems.append(Problem(
                shown, line("countries", 1),
                f"countries: {code!r} is not an OAS member state "
                f"(the codes are in subscribers/member-states.toml)",
            ))
    if "countries" not in edition.key_lines:
        problems.append(Problem(
            shown, 1,
            "no countries: list the member states this issue concerns (countries: [CR, UY]), "
            "or countries: [] if none in particular", "warning",
        ))
    if len(edition.summary) > SUMMARY_MAX:
        problems.append(Problem(
            shown, line("summary", 1),
            f"summary is {len(edition.summary)} characters: email clients show about "
            f"{SUMMARY_MAX} as the preheader; shorten it", "warning",
        ))
    if len(edition.title) > TITLE_MAX:
        problems.append(Problem(
            shown, line("title", 1),
            f"title is {len(edition.title)} characters: over {TITLE_MAX} is cut in subject lines "
            f"and feed readers; shorten it", "warning",
        ))
    return problems


def _links(
    edition: Edition, shown: str, scan: _Scan, issue: Issue, slugs: Mapping[str, Issue],
    settings: Settings,
) -> list[Problem]:
    """Links to other issues and images must resolve; links should use https."""
    problems = []
    root = settings.root
    issues_dir = settings.path(settings.build.issues_dir)
    languages = settings.site.languages
    for link in scan.links:
        url = link.url
        parts = urlsplit(url)
        if parts.scheme.lower() == "http":
            problems.append(Problem(
                shown, link.line,
                f"{'image' if link.image else 'link'} {url} uses http://: "
                f"use https:// if the site supports it", "warning",
            ))
        if link.raw_html and url and not is_external(url) and not url.startswith("/"):
            # Raw HTML passes through Markdown untouched: its relative URLs break in the archive.
            kind, markdown = ("<img src>", "![description](…)") if link.image else \
                ("<a href>", "[text](…)")
            problems.append(Problem(
                shown, link.line,
                f"raw HTML {kind} {url} is not rewritten for the archive and emails: write it "
                f"as Markdown, {markdown}",
            ))
        if link.image:
            problems += _image(link, shown, issue, root)
            continue
        target = issue_link_target(url)
        if target is None:
            if not is_external(url) and parts.path.endswith(".md"):
                problems.append(Problem(
                    shown, link.line,
                    f"link {url} is not a link to an issue: write ../<slug>/<lang>.md "
                    f"(e.g. ../{issue.slug}/{edition.lang}.md)",
                ))
            continue
        slug, lang, _fragment = target
        folder = issues_dir / slug
        if slug not in slugs and not folder.is_dir():
            problems.append(Problem(
                shown, link.line,
                f"link {url} goes to issue {slug!r}, which does not exist "
                f"(no folder {_display(folder, root)})",
            ))
            continue
        if lang and lang not in languages:
            problems.append(Problem(
                shown, link.line,
                f"link {url} goes to a {lang!r} edition, but {lang!r} is not in [site] languages",
            ))
        elif not (folder / f"{lang or edition.lang}.md").exists():
            # ../<slug>/ without a file means the reader's own language.
            lang = lang or edition.lang
            problems.append(Problem(
                shown, link.line,
                f"link {url} goes to the {lang!r} edition of {slug!r}, which does not exist "
                f"(no file {_display(folder / f'{lang}.md', root)})",
            ))
        elif slug in slugs and slugs[slug].status == "draft" and edition.status == "ready":
            problems.append(Problem(
                shown, link.line,
                f"link {url} goes to {slug!r}, which is a draft: the link is broken in the "
                f"archive until that issue is ready", "warning",
            ))
    return problems


def _image(link: _Link, shown: str, issue: Issue, root: Path) -> list[Problem]:
    """An image needs alt text and, when it is a local file, the file."""
    problems = []
    if link.alt is None or not link.alt.strip():
        how = 'alt="…"' if link.raw_html else "![description](…)"
        problems.append(Problem(
            shown, link.line,
            f"image {link.url or '(no source)'} has no alt text: describe it for readers who "
            f"cannot see it ({how})",
        ))
    url = link.url
    if not url:
        problems.append(Problem(shown, link.line, "image has no source"))
        return problems
    if is_external(url) or url.startswith("/"):
        return problems
    relative = PurePosixPath(unquote(urlsplit(url).path))
    if ".." in relative.parts:
        problems.append(Problem(
            shown, link.line,
            f"image {url} is outside the issue folder: put it in images/ and write images/<name>",
        ))
        return problems
    if not (issue.folder / relative).is_file():
        problems.append(Problem(
            shown, link.line,
            f"image {url} does not exist: add {_display(issue.folder / relative, root)}",
        ))
    return problems


def _drift(issue: Issue, scans: dict[str, _Scan], root: Path) -> list[Problem]:
    """Translations should have the same outline: sections, links, images; and similar length."""
    problems: list[Problem] = []
    if len(scans) < 2:
        return problems
    langs = list(scans)
    main = langs[0]
    for lang in langs[1:]:
        edition = issue.editions[lang]
        shown = _display(edition.path, root)
        for what, count in (
            ("## section", lambda s: s.sections),
            ("link", lambda s: s.link_count),
            ("image", lambda s: s.image_count),
        ):
            mine, theirs = count(scans[lang]), count(scans[main])
            if mine != theirs:
                problems.append(Problem(
                    shown, edition.body_line,
                    f"translations drifted apart: {lang} has {mine} {what}{'s' * (mine != 1)}, "
                    f"{main} has {theirs}",
                ))
    longest = max(langs, key=lambda lang: scans[lang].words)
    for lang in langs:
        words, most = scans[lang].words, scans[longest].words
        if lang != longest and words < SHORT_RATIO * most:
            edition = issue.editions[lang]
            problems.append(Problem(
                _display(edition.path, root), edition.body_line,
                f"{lang} has {words} words, under half of {longest}'s {most}: "
                f"is the translation complete?", "warning",
            ))
    return problems


# -- one body --------------------------------------------------------------------------------

SCAN_VERSION = "1"  # bump when scan_body changes what it finds


def _cached_scan(edition: Edition, shown: str, cache: ScanCache | None) -> _Scan:
    if cache is None:
        return scan_body(edition, shown)
    key = f"check-scan:{SCAN_VERSION}:{edition.source_hash}:{edition.body_line}:{shown}"
    hit = cache.get(key)
    if isinstance(hit, _Scan):
        return hit
    scan = scan_body(edition, shown)
    cache.put(key, scan)
    return scan


def scan_body(edition: Edition, shown: str) -> _Scan:
    """Read a Markdown body line by line: links, images, headings and unsafe HTML, with lines."""
    links: list[_Link] = []
    headings: list[_Heading] = []
    problems: list[Problem] = []
    content_after: list[bool] = []
    fence: str | None = None
    # Whitespace-separated words: cheap, and the same measure in every language.
    words = len(edition.body.split())
    lines = edition.body.split("\n")
    # The body with code blanked out, for raw HTML tags that may span lines.
    html_lines = [""] * len(lines)
    for offset, raw in enumerate(lines):
        # Most lines are plain prose: each pattern runs only when its first character is there.
        stripped = raw.lstrip()
        if not stripped:
            continue
        line_no = edition.body_line + offset
        fence_match = _FENCE_RE.match(raw) if stripped[0] in "`~" else None
        if fence is not None:
            if fence_match and fence_match.group(1)[0] == fence[0] and \
                    len(fence_match.group(1)) >= len(fence):
                fence = None
            if content_after:
                content_after[-1] = True
            continue
        if fence_match:
            fence = fence_match.group(1)
            if content_after:
                content_after[-1] = True
            continue
        text = _CODE_SPAN_RE.sub(lambda m: " " * len(m.group(0)), raw) if "`" in raw else raw
        heading = _HEADING_RE.match(text) if stripped[0] == "#" else None
        if heading:
            headings.append(_Heading(line_no, len(heading.group(1)), (heading.group(2) or "").strip()))
            content_after.append(False)
        elif content_after:
            content_after[-1] = True
        if "[" in text:
            for match in _LINK_RE.finditer(text):
                url = match.group(3).strip("<>")
                if match.group(1):
                    links.append(_Link(line_no, url, True, match.group(2), False))
                    continue
                links.append(_Link(line_no, url, False, None, False))
                # An image inside a link's text: [![alt](src)](url)
                for inner in _LINK_RE.finditer(match.group(2)):
                    if inner.group(1):
                        links.append(_Link(line_no, inner.group(3).strip("<>"), True,
                                           inner.group(2), False))
            ref = _REF_DEF_RE.match(text)
            if ref:
                links.append(_Link(line_no, ref.group(1), False, None, False))
        if "<" in text:
            html_lines[offset] = text
            for match in _AUTOLINK_RE.finditer(text):
                links.append(_Link(line_no, match.group(1), False, None, False))
    if any(html_lines):
        problems += _raw_html("\n".join(html_lines), edition.body_line, shown, links)
    for url_link in links:
        if urlsplit(url_link.url.strip()).scheme.lower() in ("javascript", "vbscript") \
                and not url_link.raw_html:
            problems.append(Problem(
                shown, url_link.line,
                f"{url_link.url.split(':')[0].lower()}: URLs are not allowed: "
                f"link to a web page instead",
            ))
    problems += _outline(headings, content_after, shown)
    return _Scan(tuple(links), tuple(headings), tuple(problems), words)


def _raw_html(html: str, first_line: int, shown: str, links: list[_Link]) -> list[Problem]:
    """Scripts, frames, plugins, event handlers and javascript: URLs in raw HTML are refused."""
    problems = []

    def line_at(position: int) -> int:
        return first_line + html.count("\n", 0, position)

    for match in _FORBIDDEN_RE.finditer(html):
        problems.append(Problem(
            shown, line_at(match.start()),
            f"raw <{match.group(1).lower()}> is not allowed: newsletters and feeds must not run "
            f"code or embed pages; link to the content instead",
        ))
    for tag in _TAG_RE.finditer(html):
        name = tag.group(1).lower()
        attrs: dict[str, str | None] = {}
        for attr in _ATTR_RE.finditer(tag.group(2) or ""):
            key = attr.group(1).lower()
            value = (attr.group(2) or "").strip("\"'")
            attrs.setdefault(key, value if attr.group(2) is not None else None)
            line = line_at(tag.start(2) + attr.start())
            if key.startswith("on") and len(key) > 2:
                problems.append(Problem(
                    shown, line, f"event-handler attribute {key}= is not allowed: remove it",
                ))
            if key in _URL_ATTRS and value.strip().lower().startswith(("javascript:", "vbscript:")):
                problems.append(Problem(
                    shown, line,
                    f"{value.strip().split(':')[0].lower()}: URLs are not allowed: "
                    f"link to a web page instead",
                ))
        if name == "img":
            links.append(_Link(line_at(tag.start()), attrs.get("src") or "", True,
                               attrs.get("alt"), True))
        elif name == "a" and attrs.get("href"):
            links.append(_Link(line_at(tag.start()), attrs["href"] or "", False, None, True))
    return problems


def _outline(headings: list[_Heading], content_after: list[bool], shown: str) -> list[Problem]:
    """Heading levels that skip (## to ####) and sections with nothing in them."""
    problems = []
    previous = 1  # the page title is the <h1>
    for index, heading in enumerate(headings):
        marks = "#" * heading.level
        if heading.level == 1:
            problems.append(Problem(
                shown, heading.line,
                "a # heading in the body: the title is the page's only # heading; use ##",
                "warning",
            ))
        elif heading.level > previous + 1:
            problems.append(Problem(
                shown, heading.line,
                f"heading level skips from {'#' * previous} to {marks}: "
                f"use {'#' * (previous + 1)}",
                "warning",
            ))
        previous = heading.level
        nested = index + 1 < len(headings) and headings[index + 1].level > heading.level
        if not content_after[index] and not nested:
            title = heading.text or marks
            problems.append(Problem(
                shown, heading.line, f"section {title!r} is empty: write it or remove the heading",
                "warning",
            ))
    return problems


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
