"""Markdown rendering: the speed-ups must not change a single byte of the HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content import md_serializer
from newsletter.content.markup import MarkdownRenderer, absolutize
from newsletter.content.md_inline import inline_needs
from newsletter.content.md_shortcuts import block_needs

ROOT = Path(__file__).resolve().parent.parent
TRICKY = [
    "Plain paragraph.\n\nAnother one, with *emphasis*, __strong__ and `code`.",
    "A line  \nbreak, a \\*literal star\\* and an &amp; entity & a bare ampersand.",
    "Links: [inline](https://example.org/), [ref][r], <https://example.org/auto>, <a@b.org>.\n\n"
    "[r]: https://example.org/ref",
    "Footnote[^1] and ![an image](images/x.png).\n\n[^1]: The note, plain.",
    "*[IIN]: Instituto Interamericano del Niño\n\nThe IIN met the IIN delegates.",
    "# Heading {: #custom }\n\nText {: .lead }",
    "| a | b |\n|---|---|\n| plain | *em* |\n| 1 < 2 | x_y |",
    "Term\n:   Definition, plain.\n\n- item\n- item with `code`\n\n1. one\n2. two",
    "<div markdown=\"1\">\nInside *HTML* block\n</div>\n\n<p>raw</p>\n\nAfter.",
    "```python\nprint('x') # not *em*\n```\n\nText with snake_case and 2*3.",
    'Quotes "here" and \'there\' -- with dashes... and more.',
    'Escapes: [a \\*](https://e.org/\\_x "t \\* \\" q") `c \\*` ![i \\*](x.png) \\<b\\>\n'
    '{: title="a\\*b" }\n\n## H \\* \\& {: data-toc-label="L \\*" }',
    "Note[^1].\n\n///Footnotes Go Here///\n\nAfter *it*.\n\n[^1]: The note.",
    "- a *b* ///Footnotes Go Here/// c[^1]\n- d\n\n[^1]: The note.",
    "> *x* y\n> z ///Footnotes Go Here///[^1]\n\n[^1]: The note.",
]


def _sources() -> list[str]:
    bodies = list(TRICKY)
    for path in sorted(ROOT.glob("tests/fixtures/**/*.md")):
        text = path.read_text(encoding="utf-8")
        bodies.append(text.split("\n---\n", 1)[-1])
    return bodies


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_shortcuts_change_no_output(lang: str) -> None:
    """Plain text skipping the inline patterns, and the registries read as lists."""
    fast = MarkdownRenderer(lang, "/", lang == "es")
    reference = MarkdownRenderer(lang, "/", lang == "es", shortcuts=False)
    # The shortcuts are on (else this test would compare the reference with itself).
    assert "annaobserva_plain_text" in fast._md.treeprocessors  # noqa: SLF001
    assert isinstance(fast._md.treeprocessors["inline"].inlinePatterns, list)  # noqa: SLF001
    assert isinstance(fast._md.parser.blockprocessors, list)  # noqa: SLF001
    # Every inline pattern is skipped where the text lacks what it needs (none tried blindly).
    inline = fast._md.treeprocessors["inline"]  # noqa: SLF001
    assert "_InlineProcessor__handleInline" in vars(inline)
    assert None not in inline_needs(inline.inlinePatterns)
    assert "is_block_level" in vars(fast._md)  # noqa: SLF001 - answered from a set
    # Every block processor with a costly test is skipped where the block lacks what it needs.
    parser = fast._md.parser  # noqa: SLF001
    assert "parseBlocks" in vars(parser)
    # The unescaping and the fenced code look for their marks first.
    assert "unescape" in vars(fast._md.treeprocessors["unescape"])  # noqa: SLF001
    assert "run" in vars(fast._md.treeprocessors["unescape"])  # noqa: SLF001 - sets what changes
    assert "_prettifyETree" in vars(fast._md.treeprocessors["prettify"])  # noqa: SLF001
    assert fast._md.serializer is md_serializer.to_html_string  # noqa: SLF001
    footnotes = fast._md.treeprocessors["footnote"].footnotes  # noqa: SLF001
    assert "findFootnotesPlaceholder" in vars(footnotes)
    assert "run" in vars(fast._md.preprocessors["fenced_code_block"])  # noqa: SLF001
    # Raw HTML and attribute lists are looked for only in a body with `<`, `&` or `{`.
    assert "run" in vars(fast._md.preprocessors["html_block"])  # noqa: SLF001
    assert "run" in vars(fast._md.treeprocessors["attr_list"])  # noqa: SLF001
    assert "run" in vars(fast._md.preprocessors["normalize_whitespace"])  # noqa: SLF001
    # The contents are written without serialising plain headings.
    assert type(fast._md.treeprocessors["toc"].run).__name__ == "_TocRun"  # noqa: SLF001
    # Heading slugs are remembered.
    assert hasattr(fast._md.treeprocessors["toc"].slugify, "cache_info")  # noqa: SLF001
    skipped = {type(p).__name__ for p in parser.blockprocessors if block_needs(p) is not None}
    assert skipped == {
        "MarkdownInHtmlProcessor", "ListIndentProcessor", "DefListIndentProcessor",
        "CodeBlockProcessor", "TableProcessor", "HashHeaderProcessor", "SetextHeaderProcessor",
        "HRProcessor", "SaneOListProcessor", "SaneUListProcessor", "DefListProcessor",
        "BlockQuoteProcessor", "FootnoteBlockProcessor", "AbbrBlockprocessor", "ReferenceProcessor",
    }
    sources = _sources()
    assert len(sources) > 40
    for body in sources:
        assert fast.render("slug", body) == reference.render("slug", body), body[:200]
        assert fast._md.toc_tokens == reference._md.toc_tokens  # noqa: SLF001


_PIECES = ["a", "b ", " ", "\n", "\n\n", "  \n", "*", "**", "_", "__", "`", "``", "\\", "[", "]",
           "(", ")", "![", "[^1]", "[^1]: note\n", "[r]: https://e.org/\n", "<", ">", "&",
           "&amp;", "<b>", "</b>", "<https://e.org/>", "<a@b.org>", "https://e.org", '"', "'",
           "- ", "1. ", "# ", "> ", "|", "---", ":   ", "{: .x }", "é", "«"]
_RENDERERS: dict[str, tuple[MarkdownRenderer, MarkdownRenderer]] = {}


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(["es", "en"]), st.lists(st.sampled_from(_PIECES), max_size=30).map("".join))
def test_any_text_renders_the_same_with_the_shortcuts(lang: str, body: str) -> None:
    """The skipped patterns, the atomic plain text and the registries as lists, on any mix of
    inline syntax: byte for byte what Python-Markdown writes without them."""
    if lang not in _RENDERERS:
        _RENDERERS[lang] = (MarkdownRenderer(lang, "/", lang == "es"),
                            MarkdownRenderer(lang, "/", lang == "es", shortcuts=False))
    fast, reference = _RENDERERS[lang]
    assert fast.render("slug", body) == reference.render("slug", body)


# Block syntax, as lines: up to four spaces, a block marker (heading, setext underline, rule,
# quote, definition, list item, table row, footnote, abbreviation or link definition, raw or
# Markdown-in-HTML block, fence), then inline text; lines joined by one or two newlines.
_INDENTS = ["", " ", "  ", "   ", "    ", "\t"]
_MARKERS = ["", "", "#", "## ", "=", "===", "-", "---", "- - -", "***", "* ", "_", "___", "> ",
            ">", ": ", ":   ", "1. ", "2) ", "+ ", "|", "| a | b |", "|---|---|", "a|b", "-|-",
            ":-:", "9. ", "10.", "[^1]: ", "[^1]:", "*[IIN]: ", "*[IIN]:", "[r]:",
            "[r]: https://e.org/ 'T'",
            "<div>", "</div>", '<div markdown="1">', "<p>", "</p>", "<!-- c -->", "```", "~~~"]
_TEXT = ["", "Text", "word ", " ", "IIN", "[^1]", "[r]", "{: #x }", '"', "'", "é", "*em*", "|",
         "-", ":", "#", "> ", "\t", "\r", "\r\n", "\x02", "\x03", "&amp;", "<b>", "</b>"]
_LINE = st.tuples(st.sampled_from(_INDENTS), st.sampled_from(_MARKERS),
                  st.lists(st.sampled_from(_TEXT), max_size=4).map("".join)).map("".join)
_BLOCKS = st.lists(st.tuples(_LINE, st.sampled_from(["\n", "\n", "\n\n"])), max_size=12).map(
    lambda lines: "".join(line + end for line, end in lines))


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(["es", "en"]), _BLOCKS)
def test_any_blocks_render_the_same_with_the_shortcuts(lang: str, body: str) -> None:
    """The block processors skipped where a block lacks what they need, on any mix of block
    syntax: byte for byte what Python-Markdown writes without the shortcut."""
    if lang not in _RENDERERS:
        _RENDERERS[lang] = (MarkdownRenderer(lang, "/", lang == "es"),
                            MarkdownRenderer(lang, "/", lang == "es", shortcuts=False))
    fast, reference = _RENDERERS[lang]
    assert fast.render("slug", body) == reference.render("slug", body)


def test_a_markdown_release_with_another_block_loop_keeps_its_own() -> None:
    """The block shortcut replaces the parser's loop only where the loop is the library's (by the
    names it uses); a release that changes it keeps its own."""
    from markdown.blockparser import BlockParser

    from newsletter.content.md_shortcuts import skip_hopeless_blocks

    class OtherLoop(BlockParser):
        def parseBlocks(self, parent, blocks):  # noqa: N802, ANN001, ANN202 - the library's API
            while blocks:
                self.state.set(blocks.pop(0))

    parser = OtherLoop(None)  # type: ignore[arg-type]
    skip_hopeless_blocks(parser)
    assert "parseBlocks" not in vars(parser)
    library = BlockParser(None)  # type: ignore[arg-type]
    skip_hopeless_blocks(library)
    assert "parseBlocks" in vars(library)


def test_abbreviations_are_still_found_in_plain_text() -> None:
    html = MarkdownRenderer("en", "/", False).render("s", TRICKY[4]).html
    assert html.count('<abbr title="Instituto Interamericano del Niño">IIN</abbr>') == 2


def test_fenced_code_is_the_same_without_pygments_loaded() -> None:
    import subprocess
    import sys

    source = "```python\nprint('x')  # <b>\n```\n\n~~~\nplain\n~~~\n"
    with_pygments = subprocess.run(
        [sys.executable, "-c", "import sys, pygments, markdown; sys.stdout.write(markdown.markdown("
         f"{source!r}, extensions=['fenced_code', 'attr_list'], output_format='html'))"],
        check=True, capture_output=True, text=True,
    ).stdout
    ours = subprocess.run(
        [sys.executable, "-c",
         "import sys; from newsletter.content.markup import MarkdownRenderer; "
         f"sys.stdout.write(MarkdownRenderer('en', '/', False).render('s', {source!r}).html); "
         "assert 'pygments' not in sys.modules"],
        check=True, capture_output=True, text=True,
    ).stdout
    assert ours == with_pygments
    assert '<code class="language-python">' in ours


def test_a_markdown_release_without_the_inner_loop_keeps_its_own() -> None:
    """The pattern shortcut replaces a private method of Python-Markdown's inline processor; a
    release that renames it must get its own loop back, not an AttributeError on every build."""
    from types import SimpleNamespace

    from newsletter.content.md_inline import skip_hopeless_patterns

    processor = SimpleNamespace(inlinePatterns=[])
    skip_hopeless_patterns(processor)  # type: ignore[arg-type]
    assert vars(processor) == {"inlinePatterns": []}


# Headings: plain and with inline markup, footnote references, raw HTML, entities, escapes,
# duplicate and empty titles, ids and `data-toc-label` from attribute lists, `[TOC]`, non-ASCII.
_HEADING_TEXT = ["Same", "Same", "Notas", " ", "  ", "word ", "*em*", "`code`", "**b**", "[^1]",
                 "&amp;", "&", "&#169;", "<b>x</b>", "<!-- c -->", "<br>", "\\*", "\\<", "\\&",
                 '"', "'", "[TOC]", "é", "«Ñ»", "_1", "Same_1", "[link](https://e.org/)", ">",
                 "<https://e.org/>", "\\\"", "\t", "\u00a0", "x" * 3]
_HEADING_ATTRS = ["", "", " {: #same }", " {: #Same_1 }", " {: #x&y }",
                  ' {: data-toc-label="L *x*" }', ' {: data-toc-label="a &amp; <b>" }',
                  " {: .c }", ' {: id="q\\"" }']
_HEADING = st.tuples(
    st.sampled_from(["# ", "## ", "### ", "#### ", "###### ", "##"]),
    st.lists(st.sampled_from(_HEADING_TEXT), max_size=5).map("".join),
    st.sampled_from(_HEADING_ATTRS),
).map("".join)
_HEADING_BLOCK = st.one_of(
    _HEADING,
    st.lists(st.sampled_from(_HEADING_TEXT), min_size=1, max_size=4).map(
        lambda parts: "".join(parts) + "\n---"),
    st.sampled_from(['<h2 markdown="1">In *HTML*</h2>', "<h2>raw</h2>", '<div markdown="1">\n'
                     "## Inside\n</div>", "Text with [^1] and <i>x</i>.", "[TOC]",
                     '<p id="same">p</p>', "[^1]: The note *x*.", "```\n## not\n```"]),
)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(["es", "en"]), st.lists(_HEADING_BLOCK, max_size=10).map("\n\n".join))
def test_any_headings_give_the_same_contents_with_the_shortcuts(lang: str, body: str) -> None:
    """The contents written directly for plain headings: the HTML (with the headings' ids), the
    contents and its tokens byte for byte what Python-Markdown writes."""
    if lang not in _RENDERERS:
        _RENDERERS[lang] = (MarkdownRenderer(lang, "/", lang == "es"),
                            MarkdownRenderer(lang, "/", lang == "es", shortcuts=False))
    fast, reference = _RENDERERS[lang]
    assert fast.convert_unsanitised("slug", body) == reference.convert_unsanitised("slug", body)
    assert fast._md.toc_tokens == reference._md.toc_tokens  # noqa: SLF001


def test_the_contents_shortcut_is_used_for_plain_headings_only() -> None:
    """A plain heading is not serialised; one with markup is, by the library's own function."""
    from unittest import mock

    from markdown.extensions import toc

    fast = MarkdownRenderer("en", "/", False)
    with mock.patch.object(toc, "render_inner_html", wraps=toc.render_inner_html) as inner:
        plain = fast.convert_unsanitised("s", "## One\n\n## Two\n\n### One")
        assert inner.call_count == 0
        fast.convert_unsanitised("s", "## One *em*\n\n## Two")
        assert inner.call_count == 1
    assert plain.toc == ('<div class="toc">\n<ul>\n<li><a href="#one">One</a></li>\n'
                         '<li><a href="#two">Two</a><ul>\n<li><a href="#one_1">One</a></li>\n'
                         "</ul>\n</li>\n</ul>\n</div>\n")


def test_a_markdown_release_with_another_contents_keeps_its_own() -> None:
    """The contents shortcut is installed only on the library's own treeprocessor, configured as
    this project configures it; otherwise the library's `run` stays."""
    import markdown
    from markdown.extensions import toc

    from newsletter.content.md_toc import shortcut_toc

    for config in ({"marker": ""}, {"marker": "", "permalink": True}, {"marker": "", "title": "T"},
                   {"marker": "", "baselevel": "2"}):
        md = markdown.Markdown(extensions=["toc"], extension_configs={"toc": config},
                               output_format="html")
        shortcut_toc(md)
        assert ("run" in vars(md.treeprocessors["toc"])) == (len(config) == 1), config

    class OtherToc(toc.TocTreeprocessor):
        pass

    class OtherExtension(toc.TocExtension):
        TreeProcessorClass = OtherToc

    md = markdown.Markdown(extensions=[OtherExtension(marker="")], output_format="html")
    shortcut_toc(md)
    assert "run" not in vars(md.treeprocessors["toc"])


# `absolutize` as it was: two expressions that start with `\s` (the reference for the literal
# search that replaced them).
_OLD_ROOT_URL_RE = re.compile(r'(\s(?:href|src)=")/(?!/)')
_OLD_FRAGMENT_RE = re.compile(r'(\shref=")#')


def _old_absolutize(html: str, origin: str, page_url: str | None = None) -> str:
    html = _OLD_ROOT_URL_RE.sub(lambda m: f"{m.group(1)}{origin.rstrip('/')}/", html)
    if page_url:
        html = _OLD_FRAGMENT_RE.sub(lambda m: f"{m.group(1)}{page_url}#", html)
    return html


def test_absolutize_makes_root_and_fragment_urls_absolute() -> None:
    html = ('<p><a href="/es/2026-01/">a</a> <img alt="" src="/media/x.png"> '
            '<a href="//cdn.org/x">b</a> <a class="footnote-ref" href="#fn:1">1</a> '
            '<a data-href="/no">c</a>href="/text"</p>')
    assert absolutize(html, "https://iin.org/", "https://iin.org/es/2026-01/") == (
        '<p><a href="https://iin.org/es/2026-01/">a</a> <img alt="" src="https://iin.org/media/x.png">'
        ' <a href="//cdn.org/x">b</a> <a class="footnote-ref" href="https://iin.org/es/2026-01/#fn:1">'
        '1</a> <a data-href="/no">c</a>href="/text"</p>')
    assert absolutize(html, "https://iin.org") == _old_absolutize(html, "https://iin.org")


_URL_PIECES = ["href", "src", "xhref", "data-src", '="/', '="//', '="#', '"', "=", "/", "#", " ",
               "\n", "\t", "\u00a0", "\u2003", "<a ", "<img ", ">", "a", "é", "\\1"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_URL_PIECES), max_size=25).map("".join),
       st.sampled_from(["https://iin.org", "https://iin.org/", "http://h/\\1"]),
       st.sampled_from([None, "", "https://iin.org/es/x/", "p\\g<0>"]))
def test_absolutize_is_what_the_expressions_gave(html: str, origin: str, page: str | None) -> None:
    """The literal search with its checks: byte for byte the two `\\s` expressions' output."""
    assert absolutize(html, origin, page) == _old_absolutize(html, origin, page)


def test_an_odd_heading_tag_goes_the_librarys_way() -> None:
    """A tag the library takes for a heading that is not `h1`…`h6` ("H2", "h2x"): its own run."""
    import copy
    import xml.etree.ElementTree as etree  # noqa: N813 - Python-Markdown's own name for it

    from markdown.extensions import toc

    md = MarkdownRenderer("en", "/", False)._md  # noqa: SLF001
    processor = md.treeprocessors["toc"]
    root = etree.Element("div")
    for tag, text in (("h2", "One"), ("H3", "Two"), ("p", "x"), ("h3", "One")):
        etree.SubElement(root, tag).text = text
    mine, theirs = root, copy.deepcopy(root)
    processor.run(mine)
    ours = md.toc, etree.tostring(mine)
    toc.TocTreeprocessor.run(processor, theirs)
    assert ours == (md.toc, etree.tostring(theirs))
    assert '<a href="#two">Two</a>' in md.toc


def test_a_markdown_release_with_another_prettifier_keeps_its_own() -> None:
    """The prettifier's walk is replaced only on the library's own class, as 3.11 writes it."""
    import markdown
    from markdown.treeprocessors import PrettifyTreeprocessor

    from newsletter.content.md_shortcuts import prettify_faster

    class OtherPrettify(PrettifyTreeprocessor):
        def _prettifyETree(self, elem):  # noqa: N802, ANN001, ANN202 - the library's API
            elem.tail = "\n"

    md = markdown.Markdown()
    prettify_faster(md)
    assert "_prettifyETree" in vars(md.treeprocessors["prettify"])
    md = markdown.Markdown()
    md.treeprocessors.register(OtherPrettify(md), "prettify", 10)
    prettify_faster(md)
    assert "_prettifyETree" not in vars(md.treeprocessors["prettify"])


def test_the_reference_patterns_are_tried_only_where_a_reference_is_defined() -> None:
    """Without a link reference (`[r]: url`) the reference patterns cannot make a link, and are
    not tried; with one they are, and the output is the library's either way."""
    from unittest import mock

    from markdown import inlinepatterns

    from newsletter.content.md_inline import _reference

    fast = MarkdownRenderer("en", "/", False)
    reference = MarkdownRenderer("en", "/", False, shortcuts=False)
    inline = fast._md.treeprocessors["inline"]  # noqa: SLF001
    kinds = [p for p in inline.inlinePatterns if _reference(p, fast._md)]  # noqa: SLF001
    assert {type(p).__name__ for p in kinds} == {
        "ReferenceInlineProcessor", "ShortReferenceInlineProcessor",
        "ImageReferenceInlineProcessor", "ShortImageReferenceInlineProcessor"}
    pattern = next(p for p in kinds if type(p) is inlinepatterns.ReferenceInlineProcessor)
    with mock.patch.object(pattern, "handleMatch", wraps=pattern.handleMatch) as tried:
        for body, calls in (("[a](https://e.org/) [b][c] ![d][c] [c]", 0),
                            ("[a](https://e.org/) [b][c] ![d][c] [c]\n\n[c]: https://e.org/c", 3)):
            tried.reset_mock()
            assert fast.render("s", body) == reference.render("s", body)
            assert tried.call_count == calls
    assert 'href="https://e.org/c"' in fast.render("s", "[b][c]\n\n[c]: https://e.org/c").html

    # An extension's reference pattern (its own `evalId`, say) of the same name is tried as ever.
    other = type("ReferenceInlineProcessor", (inlinepatterns.ReferenceInlineProcessor,), {})
    assert not _reference(other(inlinepatterns.NOIMG + r"\[", fast._md), fast._md)  # noqa: SLF001
