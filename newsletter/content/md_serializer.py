"""Python-Markdown's HTML serializer, faster for the trees a conversion builds, byte for byte.

The library's `_serialize_html` walks the tree with a queue: per element it pushes the tail, the
end tag and every child, asks `isinstance` of each item it pops, compares the tag with `Comment`
and `ProcessingInstruction`, lower-cases the tag three times, formats the start tag and sorts and
escapes the attributes. Here the walk is a recursion over the children; what a tag decides (its
start and end tags, whether it is void, whether its text is raw) is worked out once per tag name,
and what a set of attributes writes once per set, and remembered; text and tails are escaped as
the library escapes them (its own `RE_AMP`, the same replacements in the same order), attributes
too (its `BOOLEAN_ATTRIBUTES`).

Anything else goes the library's way for the whole tree: a tag that is not a string (a comment, a
processing instruction, a `QName`), an attribute name or value that is not a string (a `QName`),
or any error on the way (the library then writes the tree or raises its own error). Installed
(`serialize_faster`) only where the library is the shape this was read from (Python-Markdown 3.11:
the names and constants of its serializer's functions) and the output format is `html`.
tests/test_markup.py compares the output with the library's on generated trees and on documents.
"""

from __future__ import annotations

import xml.etree.ElementTree as etree  # noqa: N813 - Python-Markdown's own name for it
from collections.abc import Callable

import markdown
from markdown import serializers

# Python-Markdown 3.11's serializer, as (names, constants) of each of its functions.
_SERIALIZE_CODE = (
    ("deque", "popleft", "isinstance", "str", "tag", "text", "Comment", "_escape_cdata",
     "ProcessingInstruction", "tail", "appendleft", "extendleft", "reversed", "QName", "split",
     "ValueError", "items", "sorted", "_escape_attrib_html", "BOOLEAN_ATTRIBUTES", "_escape_attrib",
     "lower", "HTML_EMPTY"),
    (None, 0, 1, "<!--", "-->", "<?", "?>", "{", "}", "QName objects must define a tag.", "<", " ",
     "html", '="', '"', ' xmlns="', "xhtml", " />", ">", ("script", "style"), "</"),
)
_ESCAPE_NAMES = ("RE_AMP", "sub", "replace", "TypeError", "AttributeError",
                 "_raise_serialization_error")
_CDATA_CONSTS = (None, "&", "&amp;", "<", "&lt;", ">", "&gt;")
_ATTRIB_CONSTS = (*_CDATA_CONSTS, '"', "&quot;")
_WRITE_CODE = (("append", "_serialize_html", "join"), (None, ""))
_TO_HTML_NAMES = ("_write_html", "ElementTree", "getroot")
_RE_AMP = r"&(?!(?:\#[0-9]+|\#x[0-9a-f]+|[0-9a-z]+);)"
_RAW_TEXT = ("script", "style")


def _code(function: object) -> tuple[object, object] | None:
    code = getattr(function, "__code__", None)
    return None if code is None else (code.co_names, code.co_consts)


def library_shape() -> bool:
    """Whether Python-Markdown's serializer is 3.11's, the one `to_html_string` writes as."""
    return (
        _code(serializers._serialize_html) == _SERIALIZE_CODE  # noqa: SLF001
        and _code(serializers._escape_cdata) == (_ESCAPE_NAMES, _CDATA_CONSTS)  # noqa: SLF001
        and _code(serializers._escape_attrib_html) == (_ESCAPE_NAMES, _ATTRIB_CONSTS)  # noqa: SLF001
        and _code(serializers._write_html) == _WRITE_CODE  # noqa: SLF001
        and (_code(serializers.to_html_string) or ((),))[0] == _TO_HTML_NAMES
        and serializers.RE_AMP.pattern == _RE_AMP
        and isinstance(serializers.BOOLEAN_ATTRIBUTES.get("html"), frozenset)
    )


def serialize_faster(md: markdown.Markdown) -> None:
    """Write `md`'s HTML with `to_html_string` where it writes with the library's `html` one of
    3.11's shape (else leave the library's: slower, the same output)."""
    if md.serializer is serializers.to_html_string and library_shape():
        md.serializer = to_html_string


class _Unhandled(Exception):
    """Something the library's serializer handles and this one leaves to it."""


# Per tag name: (start tag without `>`, start tag, end tag or "" for a void element, raw text),
# or None for the tag None (text and children only). Per tuple of attributes (name, value), as
# `el.items()` gives them: what they write, with the `>` that ends the start tag (attributes
# recur: a footnote's reference, a table cell's alignment). Both remembered with what they were
# worked out from (the void elements, the boolean attributes, the `&` expression: `_made_with`);
# raw HTML in Markdown blocks may name any number of tags and attributes, hence the bounds.
_TAGS: dict[object, tuple[str, str, str, bool] | None] = {None: None}
_ATTRIBUTES: dict[tuple[tuple[object, object], ...], str] = {}
_made_with: list[object] = [None]
_BOUND = 4096


def to_html_string(element: etree.Element) -> str:
    """`markdown.serializers.to_html_string(element)`, the same string, written faster."""
    amp = serializers.RE_AMP
    boolean = serializers.BOOLEAN_ATTRIBUTES.get("html")
    made_with = (frozenset(serializers.HTML_EMPTY), boolean, amp)
    if made_with != _made_with[0]:  # (changed since: work the tags and attributes out again)
        _TAGS.clear()
        _TAGS[None] = None
        _ATTRIBUTES.clear()
        _made_with[0] = made_with
    parts: list[str] = []
    try:
        _write(element, parts.append, amp.sub, boolean, made_with[0])
        return "".join(parts)
    except Exception:  # noqa: BLE001 - anything unexpected: the library writes it (or raises)
        return serializers.to_html_string(element)


def _escape(text: str, amp: Callable[[str, str], str]) -> str:
    if "&" in text:
        text = amp("&amp;", text)
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _learn_tag(tag: object, void: frozenset[str]) -> tuple[str, str, str, bool]:
    if type(tag) is not str:
        raise _Unhandled(tag)  # Comment, ProcessingInstruction, QName, anything else
    if len(_TAGS) > _BOUND:
        _TAGS.clear()
        _TAGS[None] = None
    lower = tag.lower()
    entry = _TAGS[tag] = (f"<{tag}", f"<{tag}>", "" if lower in void else f"</{tag}>",
                          lower in _RAW_TEXT)
    return entry


def _learn_attributes(key: tuple[tuple[object, object], ...], amp: Callable[[str, str], str],
                      boolean: frozenset[str]) -> str:
    written = []
    for name, value in sorted(key):
        if not isinstance(name, str):
            raise _Unhandled(name)  # a QName
        if value is None:
            written.append(f" {name}")
            continue
        if not isinstance(value, str):
            raise _Unhandled(value)
        value = _escape(value, amp)
        if '"' in value:
            value = value.replace('"', "&quot;")
        if name == value and name in boolean:
            written.append(f" {value}")
        else:
            written.append(f' {name}="{value}"')
    written.append(">")
    if len(_ATTRIBUTES) > _BOUND:
        _ATTRIBUTES.clear()
    attributes = _ATTRIBUTES[key] = "".join(written)
    return attributes


def _write(root: etree.Element, write: Callable[[str], object],
           amp: Callable[[str, str], str], boolean: frozenset[str],
           void: frozenset[str]) -> None:
    tags, known_attributes = _TAGS, _ATTRIBUTES

    def element(el: etree.Element) -> None:
        tag = el.tag
        entry = tags.get(tag, False)
        if entry is False:
            entry = _learn_tag(tag, void)
        text = el.text
        if entry is None:  # the tag None: its text and children, no tags, no attributes
            if text:
                write(_escape(text, amp))
            for child in el:
                element(child)
        else:
            items = el.items()
            if items:
                key = tuple(items)
                attributes = known_attributes.get(key)
                if attributes is None:
                    attributes = _learn_attributes(key, amp, boolean)
                write(entry[0] + attributes)
            else:
                write(entry[1])
            if text:
                if entry[3] or not ("&" in text or "<" in text or ">" in text):
                    write(text)
                else:
                    write(_escape(text, amp))
            for child in el:
                element(child)
            if entry[2]:
                write(entry[2])
        tail = el.tail
        if tail:
            if "&" in tail or "<" in tail or ">" in tail:
                write(_escape(tail, amp))
            else:
                write(tail)

    element(root)
