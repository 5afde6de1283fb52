"""The faster HTML serializer writes what Python-Markdown's own writes, byte for byte."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as etree  # noqa: N813 - Python-Markdown's own name for it
from pathlib import Path

import markdown
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown import serializers
from markdown.util import AtomicString

from bench.corpus import make_corpus
from newsletter.content import load_corpus, md_serializer
from newsletter.content.markup import MarkdownRenderer
from newsletter.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent

# Tags: ordinary, void (any case), raw text (any case), odd names, the tag None; now and then a
# comment, a processing instruction or a QName (the library's way, for the whole tree).
_TAGS = ["p", "a", "div", "em", "td", "br", "hr", "img", "BR", "Img", "input", "wbr", "script",
         "style", "SCRIPT", "Style", "x-y", "h2", "pre", "code", None]
_ODD_TAGS = [etree.Comment, etree.ProcessingInstruction, etree.QName("{urn:x}t"), etree.QName("q")]
_NAMES = ["href", "id", "class", "title", "checked", "hidden", "open", "download", "data-x", "é"]
_NAMES_ODD = [etree.QName("lang"), etree.QName("{urn:x}a")]
_PIECES = ["a", " ", "\n", "&", "&amp;", "&#10;", "&#x1F;", "&nbsp;", "&&", "<", ">", '"', "'",
           "é", "«Ñ»", "\x02", "\u00a0", "checked", "hidden", "</script>", "<b>", "日本"]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=6).map("".join)
_MAYBE_TEXT = st.one_of(st.none(), st.just(""), _TEXT, _TEXT.map(AtomicString))
_VALUE = st.one_of(st.none(), _TEXT, st.sampled_from(_NAMES), _TEXT.map(AtomicString))


@st.composite
def _trees(draw: st.DrawFn, odd: bool = False, depth: int = 0) -> etree.Element:
    tags = _TAGS + _ODD_TAGS if odd else _TAGS
    names = _NAMES + _NAMES_ODD if odd else _NAMES
    el = etree.Element("div")
    el.tag = draw(st.sampled_from(tags))
    for name in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
        value = draw(st.one_of(_VALUE, st.just(etree.QName("v"))) if odd else _VALUE)
        el.set(name, value)
    el.text = draw(_MAYBE_TEXT)
    el.tail = draw(_MAYBE_TEXT)
    if depth < 4:
        el.extend(draw(st.lists(_trees(odd, depth + 1), max_size=4 - depth)))
    return el


@settings(max_examples=1000, deadline=None)
@given(_trees())
def test_any_tree_is_written_as_the_library_writes_it(tree: etree.Element) -> None:
    """Escaping (`&` kept where it starts an entity, `< > "`, newlines as they are), boolean and
    valueless attributes, void elements in any case, raw `<script>`/`<style>` text, empty
    elements, None text and tails, AtomicString, the tag None, non-ASCII: the library's bytes."""
    assert md_serializer.to_html_string(tree) == serializers.to_html_string(tree)


@settings(max_examples=400, deadline=None)
@given(_trees(odd=True))
def test_a_tree_with_what_only_the_library_writes_is_written_by_it(tree: etree.Element) -> None:
    """Comments, processing instructions, QName tags, names and values: the library's bytes, or
    the library's own error."""
    try:
        expected: str | type[BaseException] = serializers.to_html_string(tree)
    except (TypeError, ValueError) as error:
        expected = type(error)
    if isinstance(expected, str):
        assert md_serializer.to_html_string(tree) == expected
    else:
        with pytest.raises(expected):
            md_serializer.to_html_string(tree)


def test_what_the_library_refuses_is_refused_as_it_refuses_it() -> None:
    for text in (5, b"bytes"):
        el = etree.Element("p")
        el.text = text  # type: ignore[assignment]
        with pytest.raises(TypeError):
            serializers.to_html_string(el)
        with pytest.raises(TypeError):
            md_serializer.to_html_string(el)
    el = etree.Element("p", {"n": 5})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        md_serializer.to_html_string(el)


def test_the_void_elements_and_boolean_attributes_are_read_as_they_are_now(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What a tag or an attribute writes is remembered with the sets it was worked out from: a
    changed set is read again."""
    tree = etree.fromstring('<div><p checked="checked">a</p><br/><x-y open="open"/></div>')
    assert md_serializer.to_html_string(tree) == serializers.to_html_string(tree)
    monkeypatch.setattr(serializers, "HTML_EMPTY", serializers.HTML_EMPTY | {"x-y"})
    monkeypatch.setitem(serializers.BOOLEAN_ATTRIBUTES, "html", frozenset({"open"}))
    written = md_serializer.to_html_string(tree)
    assert written == serializers.to_html_string(tree)
    assert written == '<div><p checked="checked">a</p><br><x-y open></div>'


def _corpus_trees(tmp_path: Path) -> list[etree.Element]:
    """Every tree a conversion serialises (documents, headings, contents): the fixtures, the
    sample issues and a generated benchmark corpus, through the renderer with its shortcuts."""
    bodies = [path.read_text(encoding="utf-8").split("\n---\n", 1)[-1]
              for pattern in ("tests/fixtures/**/*.md", "issues/**/*.md")
              for path in sorted(ROOT.glob(pattern))]
    ours, _ = make_corpus(tmp_path, issues=4)
    bodies += [edition.body for issue in load_corpus(load_settings(ours / "newsletter.toml")).issues
               for edition in issue.editions.values()]
    trees: list[etree.Element] = []
    for lang in ("es", "en"):
        renderer = MarkdownRenderer(lang, "/", lang == "es")
        assert renderer._md.serializer is md_serializer.to_html_string  # noqa: SLF001

        def keep(el: etree.Element) -> str:
            trees.append(copy.deepcopy(el))
            return md_serializer.to_html_string(el)

        renderer._md.serializer = keep  # noqa: SLF001
        for body in bodies:
            renderer.convert_unsanitised("slug", body)
    return trees


def test_every_tree_a_conversion_writes_is_written_as_the_library_writes_it(
        tmp_path: Path) -> None:
    trees = _corpus_trees(tmp_path)
    assert len(trees) > 50
    for tree in trees:
        assert md_serializer.to_html_string(tree) == serializers.to_html_string(tree)


def test_a_markdown_release_with_another_serializer_keeps_its_own(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed only where the library's serializer is 3.11's and writes `html`."""
    md = markdown.Markdown(output_format="html")
    md_serializer.serialize_faster(md)
    assert md.serializer is md_serializer.to_html_string
    xhtml = markdown.Markdown(output_format="xhtml")
    md_serializer.serialize_faster(xhtml)
    assert xhtml.serializer is serializers.to_xhtml_string

    def other_serialize(write, elem, format):  # noqa: A002, ANN001, ANN202 - the library's API
        write(str(elem.tag))

    monkeypatch.setattr(serializers, "_serialize_html", other_serialize)
    other = markdown.Markdown(output_format="html")
    md_serializer.serialize_faster(other)
    assert other.serializer is serializers.to_html_string
