"""Render an edition's Markdown body to HTML (Python-Markdown with `extra` and `toc`).

Links between issues are written as the editor sees them in the repository
(`../2026-09/en.md`) and become archive URLs; relative images become the issue's shared
`media/<slug>/` URL. URLs come out root-relative (the site's base path); `absolutize()` turns them
into absolute URLs for feeds and emails.
"""

from __future__ import annotations

import hashlib
import re
import sys
import xml.etree.ElementTree as etree  # noqa: N813 - Python-Markdown's own name for it
from dataclasses import dataclass
from functools import lru_cache
from posixpath import normpath
from urllib.parse import urlsplit

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.abbr import AbbrExtension
from markdown.extensions.attr_list import AttrListExtension
from markdown.extensions.def_list import DefListExtension
from markdown.extensions.footnotes import FootnoteExtension
from markdown.extensions.md_in_html import MarkdownInHtmlExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from markdown.extensions.toc import TocExtension, slugify_unicode
from markdown.treeprocessors import Treeprocessor

from .md_inline import SkipPlainText, skip_hopeless_patterns
from .md_serializer import serialize_faster
from .md_shortcuts import (
    SourceMarks,
    find_footnotes_place_faster,
    prettify_faster,
    remember_block_levels,
    skip_hopeless_blocks,
    skip_needless_passes,
)
from .md_toc import shortcut_toc
from .sanitize import SANITIZER_VERSION, sanitize
from .typography import KEEP_DQ, KEEP_SQ, entities_for, smarten


def _fenced_code_without_pygments() -> type[Extension]:
    """Import `fenced_code` without Pygments. It imports `codehilite`, which imports Pygments
    (and through it importlib.metadata and the email package: 4 MB in every build process) in
    case highlighting is enabled; this project does not enable it. Pygments stays importable."""
    if "pygments" in sys.modules or "markdown.extensions.codehilite" in sys.modules:
        from markdown.extensions.fenced_code import FencedCodeExtension
        return FencedCodeExtension
    sys.modules["pygments"] = None  # type: ignore[assignment]  # "not installed", for this import
    try:
        from markdown.extensions.fenced_code import FencedCodeExtension
    finally:
        del sys.modules["pygments"]
    return FencedCodeExtension


FencedCodeExtension = _fenced_code_without_pygments()

# « » for Spanish and French; a narrow no-break space is French usage.
QUOTE_STYLES = {
    "es": {"left-double-quote": "&laquo;", "right-double-quote": "&raquo;"},
    "fr": {"left-double-quote": "&laquo;&#8239;", "right-double-quote": "&#8239;&raquo;"},
}
ISSUE_LINK_RE = re.compile(r"^\.\./([a-z0-9][a-z0-9-]*)/(?:([a-z]{2})\.md)?(#.*)?$")
RENDERER_VERSION = "6"  # 6: the HTML is sanitised (cached HTML from before is not)


@dataclass(frozen=True, slots=True)
class Rendered:
    """An edition's body as HTML, with its table of contents."""

    html: str
    toc: str


def is_external(url: str) -> bool:
    """Whether a URL leaves the site (has a scheme or a host) or is a fragment/mail link."""
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc) or url.startswith("#")


def issue_link_target(url: str) -> tuple[str, str | None, str] | None:
    """(slug, lang or None, fragment) for a link to another issue, else None."""
    match = ISSUE_LINK_RE.match(url)
    if not match:
        return None
    return match.group(1), match.group(2), match.group(3) or ""


class _RewriteUrls(Treeprocessor):
    def __init__(self, md: markdown.Markdown, renderer: MarkdownRenderer) -> None:
        super().__init__(md)
        self.renderer = renderer

    def run(self, root: etree.Element) -> None:
        r = self.renderer
        for el in root.iter():
            if el.tag == "a":
                href = el.get("href", "")
                target = issue_link_target(href)
                if target:
                    slug, lang, fragment = target
                    el.set("href", f"{r.base_path}{lang or r.lang}/{slug}/{fragment}")
            elif el.tag == "img":
                src = el.get("src", "")
                if src and not is_external(src) and not src.startswith("/"):
                    el.set("src", f"{r.base_path}media/{r.slug}/{normpath(src)}")


# How Markdown holds an escaped character until it unescapes it: STX, the code point, ETX.
_ESCAPED_QUOTES = {"\x0234\x03": KEEP_DQ, "\x0239\x03": KEEP_SQ}


class _KeepEscapedQuotes(Treeprocessor):
    """`\\"` in the Markdown stays a straight quote: mark it before Markdown unescapes it."""

    def run(self, root: etree.Element) -> None:
        for el in root.iter():
            for attr in ("text", "tail"):
                value = getattr(el, attr)
                if value and "\x02" in value:
                    for escaped, kept in _ESCAPED_QUOTES.items():
                        value = value.replace(escaped, kept)
                    setattr(el, attr, value)


class _RewriteExtension(Extension):
    def __init__(self, renderer: MarkdownRenderer, shortcuts: bool) -> None:
        super().__init__()
        self.renderer = renderer
        self.shortcuts = shortcuts

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 - Markdown's API
        md.treeprocessors.register(_RewriteUrls(md, self.renderer), "annaobserva_urls", 1)
        if self.shortcuts:
            # After the footnotes (50) have placed their definitions, before inline parsing (20).
            md.treeprocessors.register(SkipPlainText(md), "annaobserva_plain_text", 25)
            # Before every other preprocessor: what the body holds, as written.
            md.preprocessors.register(SourceMarks(md), "annaobserva_marks", 1000)
        if self.renderer.typographic:
            md.ESCAPED_CHARS.extend(['"', "'"])
            # After inline parsing (20) and the contents (5), before Markdown unescapes (0).
            md.treeprocessors.register(_KeepEscapedQuotes(md), "annaobserva_escaped_quotes", 0.5)


@lru_cache(maxsize=4096)
def _remembered_slug(value: str, separator: str) -> str:
    """Python-Markdown's Unicode slug, remembered: headings recur across editions and issues
    ("Recursos", "Notas"), and each slug is a Unicode normalisation and two substitutions."""
    return slugify_unicode(value, separator)


class MarkdownRenderer:
    """One reusable Markdown converter for a language (Markdown instances are costly to build)."""

    def __init__(
        self, lang: str, base_path: str, typographic: bool, shortcuts: bool = True,
        backlink_title: str | None = None,
    ) -> None:
        self.lang = lang
        self.base_path = base_path
        self.slug = ""
        self.typographic = typographic
        self._entities = entities_for(QUOTE_STYLES.get(lang)) if typographic else None
        # The footnote back-link's title in the reader's language (`[markdown] footnote_backlink`
        # of templates/wording/; Python-Markdown's own English one when none is given).
        footnotes = {"BACKLINK_TITLE": backlink_title} if backlink_title else {}
        # No "[TOC]" marker in bodies: the page shows the contents itself (and looking for the
        # marker in every paragraph costs 3% of a conversion).
        toc = {"slugify": slugify_unicode if not shortcuts else _remembered_slug,
               "permalink": False, "toc_depth": "2-3", "marker": ""}
        if not shortcuts:  # Python-Markdown exactly as configured (tests compare the output)
            self._md = markdown.Markdown(
                extensions=["extra", "toc", "sane_lists", _RewriteExtension(self, shortcuts)],
                extension_configs={"extra": {"footnotes": footnotes}, "toc": toc},
                output_format="html",
            )
            return
        # `extra` (its seven extensions, in its order) and the rest as instances, not names: a
        # name makes Python-Markdown scan every installed package's entry points, which costs
        # more time and memory than converting an edition.
        extensions: list[Extension] = [
            FencedCodeExtension(), FootnoteExtension(**footnotes), AttrListExtension(),
            DefListExtension(), TableExtension(), AbbrExtension(), MarkdownInHtmlExtension(),
            TocExtension(**toc), SaneListExtension(), _RewriteExtension(self, shortcuts),
        ]
        self._md = markdown.Markdown(extensions=extensions, output_format="html")
        # The inline processor indexes its pattern registry once per pattern per piece of text,
        # and each Registry lookup re-checks the sort: a plain list of the same patterns, in the
        # same order, is a tenth faster. The registries are complete once the extensions are
        # loaded (tests/test_markup.py compares the output with and without these).
        inline = self._md.treeprocessors["inline"]
        inline.inlinePatterns = list(inline.inlinePatterns)  # type: ignore[attr-defined]
        skip_hopeless_patterns(inline)  # type: ignore[arg-type]
        remember_block_levels(self._md)
        # The block parser iterates its registry once per block, copying it each time: likewise.
        self._md.parser.blockprocessors = list(self._md.parser.blockprocessors)  # type: ignore[assignment]
        skip_hopeless_blocks(self._md.parser)
        skip_needless_passes(self._md)
        shortcut_toc(self._md)
        serialize_faster(self._md)
        prettify_faster(self._md)
        find_footnotes_place_faster(self._md)

    def render(self, slug: str, body: str) -> Rendered:
        """Convert one body into sanitised HTML: the one place every page, feed and email gets
        an edition's HTML from (see `sanitize`)."""
        rendered = self.convert_unsanitised(slug, body)
        return Rendered(html=sanitize(rendered.html), toc=sanitize(rendered.toc))

    def convert_unsanitised(self, slug: str, body: str) -> Rendered:
        """Convert one body as Markdown writes it, before the sanitiser (for `check`, to say
        what the sanitiser removes); the converter is reset so no state leaks between editions."""
        self.slug = slug
        self._md.reset()
        html = self._md.convert(body)
        toc = getattr(self._md, "toc", "")
        if self._entities is not None:
            # Typographic quotes as one pass over the HTML (smarty would double the conversion).
            html, toc = smarten(html, self._entities), smarten(toc, self._entities)
        return Rendered(html=html, toc=toc)


@lru_cache(maxsize=16)
def renderer_for(lang: str, base_path: str, typographic: bool,
                 backlink_title: str | None = None) -> MarkdownRenderer:
    """A cached converter per configuration (one per language in a build)."""
    return MarkdownRenderer(lang, base_path, typographic, backlink_title=backlink_title)


def render_config_key(lang: str, base_path: str, typographic: bool,
                      backlink_title: str | None = None) -> str:
    """What, besides the source, decides the HTML: the cache key's second half."""
    raw = (f"{RENDERER_VERSION}|{markdown.__version__}|{SANITIZER_VERSION}|{nh3.__version__}|"
           f"{lang}|{base_path}|{typographic}|{backlink_title or ''}")
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


# `href="/…` and `src="/…` (not `//`), `href="#…`, each after whitespace: found by the literal
# `="/` or `="#` (C speed), the attribute's name and the whitespace before it checked at each find
# (an expression that starts with `\s` is tried at every whitespace of the HTML: four times slower).
_ROOT_URL_RE = re.compile(r'="/(?!/)')
_FRAGMENT_RE = re.compile(r'="#')


def _names_url(html: str, at: int, names: tuple[str, ...]) -> bool:
    """Whether one of `names`, after whitespace (`\\s`), ends at `at`."""
    for name in names:
        before = at - len(name) - 1
        if before >= 0 and html.startswith(name, before + 1) and html[before].isspace():
            return True
    return False


def absolutize(html: str, origin: str, page_url: str | None = None) -> str:
    """Make root-relative `href`/`src` URLs absolute on `origin` (scheme://host), and fragment
    links (footnotes, contents) absolute on `page_url`, for feeds and emails read elsewhere."""
    if '="/' in html:
        root = f'="{origin.rstrip("/")}/'
        html = _ROOT_URL_RE.sub(
            lambda m: root if _names_url(m.string, m.start(), ("href", "src")) else m.group(0),
            html)
    if page_url and '="#' in html:
        fragment = f'="{page_url}#'
        html = _FRAGMENT_RE.sub(
            lambda m: fragment if _names_url(m.string, m.start(), ("href",)) else m.group(0),
            html)
    return html


_FOOTNOTES_RE = re.compile(r'<div class="footnote">\s*<hr\s*/?>')
_THEAD_RE = re.compile(r"<thead>.*?</thead>", re.DOTALL)
_BARE_TH_RE = re.compile(r"<th(?=[\s>])(?![^>]*\bscope=)")


def label_footnotes(html: str, heading: str) -> str:
    """Give the footnotes a heading in the reader's language where Python-Markdown puts only a
    rule, and mark the header cells of tables as column headers (`scope="col"`), so a screen
    reader names both."""
    if 'class="footnote"' in html:
        title = heading.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        html = _FOOTNOTES_RE.sub(
            lambda _: f'<div class="footnote">\n<h2 class="footnotes-title">{title}</h2>', html,
            count=1)
    if "<thead>" in html:
        html = _THEAD_RE.sub(lambda m: _BARE_TH_RE.sub('<th scope="col"', m.group(0)), html)
    return html
