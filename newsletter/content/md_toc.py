"""The table of contents without serialising what needs no serialising, byte for byte.

Python-Markdown's `TocTreeprocessor.run` walks the tree twice and, for every heading, serialises
it, unescapes the result, runs every postprocessor over it, strips its tags with a regular
expression and unescapes its entities; then it builds the contents as a tree, prettifies it,
serialises it and runs the postprocessors again. For a heading that is plain text (no child
element, none of `& < >`, no STX/ETX placeholder) every one of those steps leaves the text as it
is, stripped and with its whitespace collapsed: that is computed directly. Any other heading goes
through the library's own functions, as does a contents whose names or ids need escaping.

Installed (`shortcut_toc`) only where the library is the shape this was read from (Python-Markdown
3.11: the names `run` and its helpers use, the serializer, the postprocessors, the prettifier) and
configured as this project configures it (no marker, title, anchors, permalinks or base level);
otherwise the library's own `run` stays. tests/test_markup.py compares the output (the HTML, the
contents and the tokens) with the library's.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as etree  # noqa: N813 - Python-Markdown's own name for it

import markdown
from markdown import postprocessors, serializers, treeprocessors
from markdown.extensions import footnotes, md_in_html, toc

from . import md_serializer

# The names Python-Markdown 3.11's `run` and `render_inner_html` use, in order: another release
# with other names keeps its own code.
_RUN_NAMES = (
    "set", "iter", "attrib", "add", "isinstance", "tag", "str", "header_rgx", "match", "set_level",
    "render_inner_html", "remove_fnrefs", "md", "strip_tags", "unique", "slugify", "html",
    "unescape", "sep", "run_postprocessors", "escape_cdata", "int", "toc_top", "toc_bottom",
    "append", "use_anchors", "add_anchor", "use_permalinks", "add_permalink", "nest_toc_tokens",
    "build_toc_div", "marker", "replace_marker", "serializer", "postprocessors", "run",
    "toc_tokens", "toc",
)
_INNER_NAMES = ("unescape", "serializer", "index", "rindex", "strip", "run_postprocessors")
_DIV_NAMES = ("etree", "Element", "toc_class", "attrib", "title", "SubElement", "title_class",
              "text", "md", "treeprocessors", "run")
# Postprocessors that change only text holding a placeholder (STX … ETX).
_QUIET_POSTPROCESSORS = (postprocessors.RawHtmlPostprocessor,
                         postprocessors.AndSubstitutePostprocessor,
                         footnotes.FootnotePostprocessor, md_in_html.MarkdownInHTMLPostprocessor)
_HEADINGS = frozenset(f"h{level}" for level in range(1, 7))
_MISSING = object()
_ODD = object()


def _plain(text: str) -> bool:
    """Text the serializer, the unescaping and the postprocessors all leave as it is."""
    return not ("&" in text or "<" in text or ">" in text or "\x02" in text or "\x03" in text)


def _library_shape(processor: toc.TocTreeprocessor, md: markdown.Markdown) -> bool:
    names = [getattr(getattr(function, "__code__", None), "co_names", None) for function in (
        toc.TocTreeprocessor.run, toc.render_inner_html, toc.TocTreeprocessor.build_toc_div)]
    prettify = md.treeprocessors["prettify"] if "prettify" in md.treeprocessors else None
    return (
        type(processor) is toc.TocTreeprocessor
        and names == [_RUN_NAMES, _INNER_NAMES, _DIV_NAMES]
        and md.serializer in (serializers.to_html_string, md_serializer.to_html_string)
        and type(prettify) is treeprocessors.PrettifyTreeprocessor
        and all(type(pp) in _QUIET_POSTPROCESSORS for pp in md.postprocessors)
        and not processor.marker and not processor.title and processor.base_level == 0
        and not processor.use_anchors and processor.use_permalinks in (False, None)
        and isinstance(processor.toc_class, str) and _plain(processor.toc_class)
        and '"' not in processor.toc_class
        and all(md.is_block_level(tag) for tag in ("div", "ul", "li"))
        and not md.is_block_level("a")
    )


def shortcut_toc(md: markdown.Markdown) -> None:
    """Replace the `toc` treeprocessor's `run` with `_TocRun` where the library is the shape it
    was written from (else leave the library's own: slower, the same output)."""
    if "toc" not in md.treeprocessors:
        return
    processor = md.treeprocessors["toc"]
    if isinstance(processor, toc.TocTreeprocessor) and _library_shape(processor, md):
        processor.run = _TocRun(processor)  # type: ignore[method-assign]


class _TocRun:
    """`TocTreeprocessor.run` of Python-Markdown 3.11, for `toc_depth`, `slugify` and `separator`
    as configured and the rest at its defaults, with plain headings and contents written
    directly."""

    def __init__(self, processor: toc.TocTreeprocessor) -> None:
        self.processor = processor
        self.library_run = processor.run
        # Per tag: a heading (True), not one (False), or one the library matches that is not
        # `h1`…`h6` (_ODD); remembered (raw HTML in Markdown blocks may bring any number of tags).
        self.kinds: dict[object, object] = {}

    def kind(self, tag: object) -> object:
        if len(self.kinds) > 1024:
            self.kinds.clear()
        heading = isinstance(tag, str) and self.processor.header_rgx.match(tag) is not None
        kind = self.kinds[tag] = (tag in _HEADINGS or _ODD) if heading else False
        return kind

    def __call__(self, doc: etree.Element) -> None:
        processor = self.processor
        md = processor.md
        # One walk for the ids already used and the headings (the library's two walks change
        # nothing but the headings' own attributes in between).
        used_ids = set()
        headings = []
        kinds = self.kinds
        for el in doc.iter():
            elem_id = el.get("id", _MISSING)  # (`el.attrib` makes a dict for every element)
            if elem_id is not _MISSING:
                used_ids.add(elem_id)
            kind = kinds.get(el.tag)
            if kind is None:
                kind = self.kind(el.tag)
            if kind:
                if kind is _ODD:
                    self.library_run(doc)  # "H2", "h2x": the library's own way
                    return
                headings.append(el)
        id_counters: dict[str, int] = {}
        slugify, sep = processor.slugify, processor.sep
        top, bottom = processor.toc_top, processor.toc_bottom
        toc_tokens = []
        for el in headings:
            attrib = el.attrib
            text = el.text or ""
            if (not len(el) and _plain(text) and (not el.tail or "\x02" not in el.tail)
                    and not any(value and "\x02" in value for value in attrib.values())):
                innerhtml = text.strip()
                name = " ".join(innerhtml.split())
            else:
                innerhtml = toc.render_inner_html(toc.remove_fnrefs(el), md)
                name = toc.strip_tags(innerhtml)
            if "id" not in attrib:
                attrib["id"] = toc.unique(slugify(html.unescape(name), sep), used_ids, id_counters)
            data_toc_label = ""
            if "data-toc-label" in attrib:
                data_toc_label = toc.run_postprocessors(toc.unescape(attrib["data-toc-label"]), md)
                name = toc.escape_cdata(toc.strip_tags(data_toc_label))
                del attrib["data-toc-label"]
            level = int(el.tag[-1])
            if top <= level <= bottom:
                elem_id = attrib["id"]
                toc_tokens.append({
                    "level": level,
                    "id": toc.unescape(elem_id) if "\x02" in elem_id else elem_id,
                    "name": name,
                    "html": innerhtml,
                    "data-toc-label": data_toc_label,
                })
        toc_tokens = toc.nest_toc_tokens(toc_tokens)
        written = self.write_contents(toc_tokens)
        if written is None:
            written = md.serializer(processor.build_toc_div(toc_tokens))
            for pp in md.postprocessors:
                written = pp.run(written)
        md.toc_tokens = toc_tokens  # type: ignore[attr-defined]
        md.toc = written  # type: ignore[attr-defined]

    def write_contents(self, tokens: list[dict]) -> str | None:
        """The contents `build_toc_div` builds, prettified and serialised (None where a name or
        an id needs escaping: the library writes those)."""
        parts = [f'<div class="{self.processor.toc_class}">\n']

        def write_list(items: list[dict]) -> bool:
            parts.append("<ul>\n" if items else "<ul>")
            for item in items:
                name, elem_id = item.get("name", ""), item.get("id", "")
                if not (_plain(name) and _plain(elem_id) and '"' not in elem_id):
                    return False
                parts.append(f'<li><a href="#{elem_id}">{name}</a>')
                if item["children"]:
                    if not write_list(item["children"]):
                        return False
                    parts.append("\n")
                parts.append("</li>\n")
            parts.append("</ul>")
            return True

        if not write_list(tokens):
            return None
        parts.append("\n</div>\n")
        return "".join(parts)
