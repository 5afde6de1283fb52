"""The allowlist every rendered body passes through before a page, a feed or an email sees it.

Markdown lets an editor write raw HTML, and HTML has more ways to run code, load a third party's
file or send a form than any blocklist can name (`&#106;avascript:` links, SVG `<animate>`,
`<meta http-equiv=refresh>`, `<base>`, `<style>@import`, `data:` URLs…). So the rendered HTML is
cleaned by `nh3` (the binding of Rust's ammonia, an HTML5 parser with an allowlist): only the
elements, attributes and URL schemes below survive, judged after the parser decoded every
character reference, as a browser does.

`sanitize()` keeps Python-Markdown's own bytes when the cleaner removed nothing (the cleaner's
output and the input then differ only in how characters are written: `&rsquo;` or `’`), so safe
issues render exactly as before; otherwise it returns the cleaner's output. `removals()` says, for
`check`, what the cleaner would take out.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

import nh3

SANITIZER_VERSION = "1"  # bump when the allowlist changes: it keys the cached HTML

TAGS = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strong", "sub", "summary",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "wbr",
})
# Removed with everything inside them (the rest lose their tag and keep their text).
DROPPED_WITH_CONTENT = frozenset({
    "script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math",
    "textarea", "select", "title", "xmp", "noembed", "noframes", "frameset", "frame", "applet",
})
ATTRIBUTES = {
    # ids for headings and footnotes, classes for footnotes and the contents, language marks.
    "*": {"id", "class", "title", "lang", "dir"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "style"},  # style: table alignment, text-align only
    "th": {"colspan", "rowspan", "scope", "style"},
    "ol": {"start", "reversed"},
    "li": {"value"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "time": {"datetime"},
    "col": {"span"},
    "colgroup": {"span"},
    "details": {"open"},
}
URL_SCHEMES = frozenset({"https", "http", "mailto"})  # and relative URLs
# Python-Markdown's table alignment, the one style an issue may carry, kept as it writes it.
ALIGNMENT = re.compile(r"\s*text-align:\s*(?:left|right|center|justify)\s*;?\s*")
URL_ATTRIBUTES = frozenset({"href", "src", "cite", "action", "formaction", "poster", "data",
                            "background", "xlink:href", "srcset"})


_STYLE = re.compile("style", re.IGNORECASE)


def _cleaner_for(fragment: str) -> nh3.Cleaner:
    """The cleaner: with the filter that judges `style` values where the fragment may hold a
    style attribute, without it elsewhere (it is a Python call per attribute of every element,
    and where no attribute is named style it returns each value as it is)."""
    return _cleaner(_STYLE.search(fragment) is not None)


@lru_cache(maxsize=2)
def _cleaner(styles: bool = True) -> nh3.Cleaner:
    attributes = {tag: set(names) for tag, names in ATTRIBUTES.items()}
    if not styles:
        for names in attributes.values():
            names.discard("style")
    return nh3.Cleaner(
        tags=set(TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes=attributes,
        url_schemes=set(URL_SCHEMES),
        attribute_filter=_keep_alignment_only if styles else None,
        link_rel=None,  # the archive's own links carry no rel; an editor's need none either
        strip_comments=True,
    )


def _keep_alignment_only(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "style":
        return value if ALIGNMENT.fullmatch(value) else None
    return value


def sanitize(fragment: str) -> str:
    """The fragment with everything outside the allowlist removed (see the module docstring)."""
    if not fragment:
        return fragment
    cleaned = _cleaner_for(fragment).clean(fragment)
    if cleaned == fragment or html.unescape(cleaned) == html.unescape(fragment):
        return fragment  # nothing removed: keep Markdown's own spelling of each character
    return cleaned


@dataclass(frozen=True, slots=True)
class Removal:
    """One thing the sanitiser takes out of a body: an element, or an attribute of one."""

    tag: str
    attribute: str | None = None
    value: str = ""

    @property
    def message(self) -> str:
        """What `check` says about it."""
        if self.attribute is None:
            return (f"<{self.tag}> is not allowed in an issue ({_why_tag(self.tag)}); the "
                    "archive, feeds and emails leave it out")
        shown = self.value if len(self.value) <= 60 else self.value[:57] + "…"
        if self.attribute.startswith("on"):
            reason = "event handlers run code"
        elif self.attribute in URL_ATTRIBUTES:
            reason = "only https:, http:, mailto: and relative URLs are allowed"
        elif self.attribute == "style":
            reason = "only text-align is allowed, in table cells"
        else:
            reason = f"<{self.tag}> takes no {self.attribute} attribute here"
        return (f'{self.attribute}="{shown}" on <{self.tag}> is removed ({reason}): '
                "fix or remove it")


def _why_tag(tag: str) -> str:
    if tag in ("script", "iframe", "object", "embed", "applet", "frame", "frameset", "svg",
               "math", "template", "noscript"):
        return "newsletters and feeds must not run code or embed pages; link to the content"
    if tag in ("style", "link"):
        return "styles come from the templates, and may not load files from other sites"
    if tag in ("form", "input", "button", "select", "textarea", "option", "label", "fieldset"):
        return "forms do not belong in a newsletter; link to the page that has the form"
    if tag in ("meta", "base", "head", "html", "body", "title"):
        return "the templates set the page's head"
    return "it is not on the allowlist of elements an issue may use"


_VOID = frozenset({"area", "base", "br", "col", "embed", "frame", "hr", "img", "input", "link",
                   "meta", "param", "source", "track", "wbr"})


class _Tags(HTMLParser):
    """The start tags of a fragment with their attributes, decoded, leaving out what is inside
    an element dropped with its content (for reporting only: what is published is decided by
    the cleaner, never by this parser)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str]]]] = []
        self._inside: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._inside:
            self.tags.append((tag, [(name, value or "") for name, value in attrs]))
        if tag in DROPPED_WITH_CONTENT and tag not in _VOID:
            self._inside.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._inside:
            self.tags.append((tag, [(name, value or "") for name, value in attrs]))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._inside:
            while self._inside and self._inside.pop() != tag:
                pass


def _start_tags(fragment: str) -> list[tuple[str, list[tuple[str, str]]]]:
    parser = _Tags()
    parser.feed(fragment)
    parser.close()
    return parser.tags


def removals(fragment: str) -> list[Removal]:
    """What `sanitize()` takes out of a fragment, each element or attribute once per time it
    occurs, in document order (comments, which are dropped too, are not reported)."""
    cleaned = _cleaner_for(fragment).clean(fragment)
    if html.unescape(cleaned) == html.unescape(fragment):
        return []
    before, after = _start_tags(fragment), _start_tags(cleaned)
    kept_tags = Counter(tag for tag, _ in after)
    kept_attrs = Counter((tag, name, value) for tag, attrs in after for name, value in attrs)
    found: list[Removal] = []
    for tag, attrs in before:
        if kept_tags[tag] <= 0:
            found.append(Removal(tag))
            continue
        kept_tags[tag] -= 1
        for name, value in attrs:
            key = (tag, name, value)
            if kept_attrs[key] > 0:
                kept_attrs[key] -= 1
            else:
                found.append(Removal(tag, name, value))
    return found
