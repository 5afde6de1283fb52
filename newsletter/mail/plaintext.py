"""The plain-text alternative: an edition's rendered body turned into readable text.

Not a tag-stripped dump: headings are underlined, lists keep their markers, quotes their `>`, and
links become numbered references (`the report [1]`) listed at the end with their URLs, so that
every line stays within 78 characters except a URL that cannot be broken.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field

import lxml.html
from lxml import etree

WIDTH = 78
BLOCK_TAGS = frozenset(
    "address article aside blockquote dd details div dl dt figcaption figure footer h1 h2 h3 h4 "
    "h5 h6 header hr li main nav ol p pre section table tbody thead tfoot tr ul".split()
)
_SPACES = re.compile(r"[ \t\r\n\f]+")
_BREAK = "\x00"  # stands for <br> while whitespace is collapsed


@dataclass
class _Converter:
    """Walks the HTML tree once, collecting link references as it goes."""

    image_label: str
    colon: str = ":"
    links: list[str] = field(default_factory=list)

    def blocks(self, element: etree._Element, width: int) -> list[str]:
        """The text blocks (separated by blank lines in the output) inside `element`."""
        out: list[str] = []
        inline: list[str] = [element.text or ""]
        for child in element:
            if not isinstance(child.tag, str):  # a comment or processing instruction
                inline.append(child.tail or "")
                continue
            if child.tag in BLOCK_TAGS:
                self._flush(inline, width, out)
                inline = []
                out.extend(b for b in self.block(child, width) if b.strip())
            else:
                inline.append(self.inline(child))
            inline.append(child.tail or "")
        self._flush(inline, width, out)
        return out

    def _flush(self, inline: list[str], width: int, out: list[str]) -> None:
        text = wrap("".join(inline), width)
        if text.strip():
            out.append(text)

    def block(self, el: etree._Element, width: int) -> list[str]:
        """One block element as text blocks."""
        tag = el.tag
        if tag in ("h1", "h2", "h3"):
            title = wrap(self.inline_content(el), width)
            rule = ("=" if tag in ("h1", "h2") else "-") * max(len(x) for x in title.split("\n"))
            return [f"{title}\n{rule}"]
        if tag in ("h4", "h5", "h6", "p", "dt", "figcaption", "address"):
            return [wrap(self.inline_content(el), width)]
        if tag in ("ul", "ol"):
            return [self.list_block(el, width)]
        if tag == "blockquote":
            inner = "\n\n".join(self.blocks(el, width - 2))
            return ["\n".join(f"> {line}".rstrip() for line in inner.split("\n"))]
        if tag == "pre":
            return ["\n".join(line.rstrip() for line in el.text_content().rstrip().split("\n"))]
        if tag == "hr":
            return ["* * *"]
        if tag == "dd":
            inner = "\n\n".join(self.blocks(el, width - 4))
            return ["\n".join(f"    {line}".rstrip() for line in inner.split("\n"))]
        if tag == "table":
            return [self.table_block(el, width)]
        return self.blocks(el, width)

    def list_block(self, el: etree._Element, width: int) -> str:
        """A list with `-` or `1.` markers and hanging indents."""
        items = [li for li in el if li.tag == "li"]
        start = int(el.get("start", "1")) if el.get("start", "1").isdigit() else 1
        lines: list[str] = []
        loose = any(child.tag == "p" for li in items for child in li)
        for n, li in enumerate(items, start):
            marker = f"{n}. " if el.tag == "ol" else "- "
            pad = " " * len(marker)
            inner = ("\n\n" if loose else "\n").join(self.blocks(li, width - len(marker)))
            body = [(marker if i == 0 else pad) + line if line else "" for i, line in
                    enumerate(inner.split("\n"))]
            if loose and lines:
                lines.append("")
            lines.extend(body)
        return "\n".join(lines)

    def table_block(self, el: etree._Element, width: int) -> str:
        """A table as one line per row, cells separated by `|`."""
        rows: list[str] = []
        for tr in el.iter("tr"):
            cells = [self.inline_content(cell).strip() for cell in tr if cell.tag in ("td", "th")]
            rows.append(wrap(" | ".join(cells), width))
            if any(cell.tag == "th" for cell in tr):
                rows.append("-" * min(width, max(len(x) for x in rows[-1].split("\n"))))
        return "\n".join(rows)

    def inline_content(self, el: etree._Element) -> str:
        """The inline text of an element's content (its tail excluded)."""
        parts = [el.text or ""]
        for child in el:
            if isinstance(child.tag, str):
                parts.append(self.inline(child))
            parts.append(child.tail or "")
        return "".join(parts)

    def inline(self, el: etree._Element) -> str:
        """An inline element as text; links become numbered references."""
        tag = el.tag
        if tag == "br":
            return _BREAK
        if tag == "img":
            alt = _SPACES.sub(" ", el.get("alt", "")).strip()
            return f"[{self.image_label}{self.colon} {alt}]" if alt else ""
        if tag == "sup":
            return "^" + self.inline_content(el)
        text = self.inline_content(el)
        if tag != "a":
            return text
        href = el.get("href", "")
        if not href or href.startswith("#") or "footnote-backref" in el.get("class", ""):
            return text if "footnote-backref" not in el.get("class", "") else ""
        shown = _SPACES.sub(" ", text).strip()
        bare = href.removeprefix("mailto:")
        if shown in (href, bare) or not shown:
            return bare
        if href not in self.links:
            self.links.append(href)
        return f"{text} [{self.links.index(href) + 1}]"


def wrap(text: str, width: int = WIDTH) -> str:
    """Collapse whitespace and wrap to `width`, keeping <br> breaks and never splitting a URL."""
    lines = []
    for piece in _SPACES.sub(" ", text).split(_BREAK):
        piece = piece.strip()
        lines.extend(
            textwrap.wrap(piece, width=max(width, 20), break_long_words=False,
                          break_on_hyphens=False) or [""]
        )
    return "\n".join(lines).strip("\n")


def html_to_text(
    html: str, *, links_heading: str = "Links", image_label: str = "Image", colon: str = ":",
    width: int = WIDTH,
) -> str:
    """Readable text from an HTML fragment, with a numbered list of the links it contains
    (`colon` ends a label as the reader's language writes it: `:`, or ` :` in French)."""
    if not html.strip():
        return ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    converter = _Converter(image_label=image_label, colon=colon)
    text = "\n\n".join(converter.blocks(root, width))
    if converter.links:
        refs = "\n".join(f"[{n}] {url}" for n, url in enumerate(converter.links, 1))
        text += f"\n\n{links_heading}{colon}\n{refs}"
    return text
