"""Scan an edition's Markdown body: its links, images and headings, each with its line.

A line-by-line reader rather than the Markdown converter, because `check` must say on which file
line each thing is; fenced code and code spans are skipped, as Markdown shows them literally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .issues import Edition, Problem, by_fields

SCAN_VERSION = "2"  # bump when scan_body changes what it finds: it keys cached scans

_FENCE_RE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_CODE_SPAN_RE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$")
# [text](url "title") and ![alt](src "title"); the URL may be wrapped in <>. The pattern starts
# with its `[` (an image is a match after a `!`: `_links`), so the regex engine finds where to try
# it by a fast scan for that character, not by trying every position of every line.
_LINK_RE = re.compile(
    r"\[([^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*)\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
_AUTOLINK_RE = re.compile(r"<((?:https?|mailto|ftp):[^\s<>]*)>", re.IGNORECASE)
_REF_DEF_RE = re.compile(r"^\s{0,3}\[(?!\^)[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
_TAG_RE = re.compile(r"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*/?>")
_ATTR_RE = re.compile(r"([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?")


@dataclass(frozen=True, slots=True)
class Link:
    """A link or image found in a body, with the file line it is on."""

    line: int
    url: str
    image: bool
    alt: str | None  # images only: None when a raw <img> has no alt attribute
    raw_html: bool

    __reduce__ = by_fields


@dataclass(frozen=True, slots=True)
class Heading:
    """A Markdown heading: its line, level (number of #) and text."""

    line: int
    level: int
    text: str

    __reduce__ = by_fields


@dataclass(frozen=True, slots=True)
class BodyScan:
    """What a body contains, for the checks and for comparing translations."""

    links: tuple[Link, ...]
    headings: tuple[Heading, ...]
    problems: tuple[Problem, ...]
    words: int

    __reduce__ = by_fields

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


def scan_body(edition: Edition, shown: str) -> BodyScan:
    """Read a Markdown body line by line: links, images, headings and unsafe HTML, with lines."""
    links: list[Link] = []
    headings: list[Heading] = []
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
            title = (heading.group(2) or "").strip()
            headings.append(Heading(line_no, len(heading.group(1)), title))
            content_after.append(False)
        elif content_after:
            content_after[-1] = True
        if "[" in text:
            for image, label, url in _links(text) if "](" in text else ():
                if image:
                    links.append(Link(line_no, url, True, label, False))
                    continue
                links.append(Link(line_no, url, False, None, False))
                # An image inside a link's text: [![alt](src)](url)
                for inner, alt, src in _links(label) if "](" in label else ():
                    if inner:
                        links.append(Link(line_no, src, True, alt, False))
            ref = _REF_DEF_RE.match(text)
            if ref:
                links.append(Link(line_no, ref.group(1), False, None, False))
        if "<" in text:
            html_lines[offset] = text
            for match in _AUTOLINK_RE.finditer(text):
                links.append(Link(line_no, match.group(1), False, None, False))
    if any(html_lines):
        _raw_html("\n".join(html_lines), edition.body_line, links)
    problems += _outline(headings, content_after, shown)
    return BodyScan(tuple(links), tuple(headings), tuple(problems), words)


def _links(text: str) -> list[tuple[bool, str, str]]:
    """The Markdown links and images on a line: (is an image, text or alt, URL). An image is a
    link whose `[` follows a `!` (a match never ends in `!`, so none is taken by the one before).
    Callers skip text without `](`, which every match has."""
    return [(match.start() > 0 and text[match.start() - 1] == "!", match.group(1),
             match.group(2).strip("<>"))
            for match in _LINK_RE.finditer(text)]


def _raw_html(html: str, first_line: int, links: list[Link]) -> None:
    """The images and links of raw HTML, with their lines (what HTML may contain at all is the
    sanitiser's to say: `content.sanitize`)."""

    def line_at(position: int) -> int:
        return first_line + html.count("\n", 0, position)

    for tag in _TAG_RE.finditer(html):
        name = tag.group(1).lower()
        if name not in ("img", "a"):
            continue
        attrs: dict[str, str | None] = {}
        for attr in _ATTR_RE.finditer(tag.group(2) or ""):
            value = (attr.group(2) or "").strip("\"'")
            attrs.setdefault(attr.group(1).lower(), value if attr.group(2) is not None else None)
        if name == "img":
            links.append(Link(line_at(tag.start()), attrs.get("src") or "", True,
                               attrs.get("alt"), True))
        elif attrs.get("href"):
            links.append(Link(line_at(tag.start()), attrs["href"] or "", False, None, True))


def _outline(headings: list[Heading], content_after: list[bool], shown: str) -> list[Problem]:
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
