"""Shortcuts through Python-Markdown's hot loops, each with the library's output byte for byte.

Python-Markdown tries every block processor on every block, and runs passes over the whole
document that look for one mark; most of those tries cannot succeed, and a C-speed look for a
character tells so first (the inline patterns' shortcuts are in `md_inline`). Each shortcut
relies on one shape of the library (a pattern's expression, a method's names), checks it when
installed and leaves the library's own code where it differs: a future release is slower, never
different. tests/test_markup.py compares the output with the library's own.
"""

from __future__ import annotations

import xml.etree.ElementTree as etree  # noqa: N813 - Python-Markdown's own name for it
from collections.abc import Callable
from types import SimpleNamespace

import markdown
from markdown import htmlparser, preprocessors, treeprocessors, util
from markdown.blockparser import BlockParser
from markdown.blockprocessors import BlockProcessor
from markdown.extensions import footnotes, md_in_html, tables
from markdown.preprocessors import Preprocessor


def remember_block_levels(md: markdown.Markdown) -> None:
    """`Markdown.is_block_level` answered from a set and remembered per tag: the library looks
    the tag up in a list of fifty names, about a hundred and fifty times per edition. The list is
    complete once the extensions are loaded (nothing changes it while converting)."""
    md.is_block_level = BlockLevels(md.block_level_elements)  # type: ignore[method-assign]


class BlockLevels:
    """Whether a tag is block-level, from a set, each answer remembered in `known` (which the
    prettifier reads directly: `prettify_faster`)."""

    def __init__(self, names: list[str]) -> None:
        self.levels = frozenset(names)
        self.known: dict[object, bool] = {}

    def __call__(self, tag: object) -> bool:
        if not isinstance(tag, str):
            return False
        found = self.known.get(tag)
        if found is None:
            if len(self.known) > 1024:  # raw HTML may name any number of tags
                self.known.clear()
            found = self.known[tag] = tag.lower().rstrip("/") in self.levels
        return found


def _at_line_start(*literals: str) -> tuple[str, ...]:
    """A literal at the start of a line, after up to three spaces (the block is probed with a
    newline before it, so its first line counts)."""
    return tuple(f"\n{' ' * spaces}{literal}" for literal in literals for spaces in range(4))


# What each block processor needs in a block before its test can pass (or, for the processors
# whose test always passes, before its run can claim the block rather than give it back), read off
# its regular expression: one of these literals, looked for in "\n" + block. The expressions are
# Python-Markdown 3.11's, written out: a processor whose expression differs (another release, an
# extension's processor) is always tried.
_BLOCK_NEEDS: dict[tuple[str, str], tuple[str, ...]] = {
    # A `#` at a line's start.
    ("HashHeaderProcessor",
     r"(?:^|\n)(?P<level>#{1,6})(?P<header>(?:\\.|[^\\#]|#+(?=[^#\n]))*?)#*(?:\n|$)"): ("\n#",),
    # Matched at the start: a second line of = or -.
    ("SetextHeaderProcessor", r"^.*?\n(?:=+|-+)[ ]*(\n|$)"): ("\n=", "\n-"),
    # On any line, after up to three spaces: -, _ or *.
    ("HRProcessor",
     r"^[ ]{0,3}(?=(?P<atomicgroup>(-+[ ]{0,2}){3,}|(_+[ ]{0,2}){3,}|(\*+[ ]{0,2}){3,}))"
     r"(?P=atomicgroup)[ ]*$"): _at_line_start("-", "_", "*"),
    ("BlockQuoteProcessor", r"(^|\n)[ ]{0,3}>[ ]?(.*)"): _at_line_start(">"),
    ("DefListProcessor", r"(^|\n)[ ]{0,3}:[ ]{1,3}(.*?)(\n|$)"): _at_line_start(": "),
    # Matched at the start (with a tab length of 4).
    ("SaneOListProcessor", r"^[ ]{0,3}\d+\.[ ]+(.*)"): _at_line_start(*"0123456789"),
    ("SaneUListProcessor", r"^[ ]{0,3}[*+-][ ]+(.*)"): _at_line_start("* ", "+ ", "- "),
    # On any line (the test always passes; the run gives the block back).
    ("FootnoteBlockProcessor", r"^[ ]{0,3}\[\^([^\]]*)\]:[ ]*(.*)$"): _at_line_start("[^"),
    ("AbbrBlockprocessor",
     r"^[*]\[(?P<abbr>[^\\]*?)\][ ]?:[ ]*\n?[ ]*(?P<title>.*)$"): ("\n*[",),
    ("ReferenceProcessor",
     r"^[ ]{0,3}\[([^\[\]]*)\]:[ ]*(?:\n[ ]*)?([^\s]+)[ ]*(?:\n[ ]*)?"
     r"""((["\'])(.*)\4[ ]*|\((.*)\)[ ]*)?$"""): _at_line_start("["),
    # The stash's placeholder, matched at the start (likewise).
    ("MarkdownInHtmlProcessor", "\x02wzxhzdk:([0-9]+)\x03"): ("\n\x02",),
}
# A table's header row has a pipe, and so has its second row (one cell after another, or a
# border); its test has no single expression (it splits the first two rows on pipes). The pipe is
# the one literal not at a line's start: a block of one line, which no table is, is probed at its
# start only (`skip_hopeless_blocks`).
_TABLE_NEEDS = ("|",)
# Indented code and a list item's indented continuation start with a tab's worth of spaces.
_INDENTED = ("CodeBlockProcessor", "ListIndentProcessor", "DefListIndentProcessor")


def block_needs(processor: BlockProcessor) -> tuple[str, ...] | None:
    """The literals one of which a block processor needs in "\\n" + block (None: always try it)."""
    name = type(processor).__name__
    if name == "TableProcessor" and type(processor) is tables.TableProcessor:
        return _TABLE_NEEDS
    if type(processor).__module__.split(".")[0] != "markdown":
        return None  # an extension's own processor, perhaps with the same name
    if name in _INDENTED:
        # Their test begins `block.startswith(" " * self.tab_length)` (by the names it uses first).
        names = getattr(getattr(type(processor).test, "__code__", None), "co_names", ())
        if names[:2] != ("startswith", "tab_length"):
            return None
        return ("\n" + " " * processor.tab_length,)
    if name == "MarkdownInHtmlProcessor":  # its run matches the stash's placeholder
        return _BLOCK_NEEDS.get((name, util.HTML_PLACEHOLDER_RE.pattern))
    expression = getattr(processor, "SEARCH_RE", None) if name == "HRProcessor" else getattr(
        processor, "RE", None)
    pattern = getattr(expression, "pattern", None)
    return _BLOCK_NEEDS.get((name, pattern)) if isinstance(pattern, str) else None


# The library's loop, by the names it uses: another loop is left alone.
_PARSE_BLOCKS_NAMES = ("blockprocessors", "test", "run")


def skip_hopeless_blocks(parser: BlockParser) -> None:
    """Make the block parser skip a processor when the block lacks every literal it needs
    (`block_needs`): Python-Markdown otherwise runs six regular expressions over every paragraph
    before it takes it for one. The loop is the library's own (`BlockParser.parseBlocks`) with that
    one test added; a skipped processor is one whose test failed or whose run gave the block back,
    so the output is the same (tests/test_markup.py compares it with the library's)."""
    library = getattr(type(parser), "parseBlocks", None)
    if getattr(getattr(library, "__code__", None), "co_names", None) != _PARSE_BLOCKS_NAMES:
        return  # a Markdown release with another loop: its own (slower, the same output)
    steps = [(processor, block_needs(processor)) for processor in parser.blockprocessors]
    head = max((len(literal) for _, needs in steps if needs for literal in needs), default=0)

    def worth_trying(probe: str) -> list[BlockProcessor]:
        tried = []
        for processor, needs in steps:
            if needs is not None:
                for literal in needs:
                    if literal in probe:
                        break
                else:
                    continue
            tried.append(processor)
        return tried

    # A block of one line is probed at its start: every literal belongs at a line's start but the
    # table's pipe, and a table has two rows. Blocks start alike (a letter, "- ", "## "…): the
    # processors worth trying are remembered per start.
    by_start: dict[str, list[BlockProcessor]] = {}

    def parse_blocks(parent: etree.Element, blocks: list[str]) -> None:
        while blocks:
            block = blocks[0]
            if "\n" in block:
                tried = worth_trying("\n" + block)
            else:
                start = block[:head]
                tried = by_start.get(start)  # type: ignore[assignment]
                if tried is None:
                    if len(by_start) > 4096:
                        by_start.clear()
                    tried = by_start[start] = worth_trying("\n" + start)
            for processor in tried:
                if processor.test(parent, blocks[0]):
                    if processor.run(parent, blocks) is not False:
                        break

    parser.parseBlocks = parse_blocks  # type: ignore[method-assign]


# Python-Markdown 3.11's escaped character in the tree (STX, its code point, ETX), the start of
# its fenced code expression (the opening fence at a line's start), the attribute list's
# expression (braces), and the characters its HTML parser stops at (a tag, a reference).
_UNESCAPE_RE = "\x02(\\d+)\x03"
_FENCE_START = "(?P<fence>^(?:~{3,}|`{3,}))"
_ATTR_LIST_RE = r"\{\:?[ ]*([^\}\n ][^\n]*)\}"
_HTML_STOPS = "[&<]"
# What the whitespace preprocessor changes (STX and ETX removed, CR made LF, tabs expanded, a
# line of spaces emptied: `(?<=\n) +\n`), by the names and expression its code uses in 3.11;
# without any of these it only adds two empty lines.
_NORMALIZE_NAMES = ("join", "replace", "util", "STX", "ETX", "expandtabs", "md", "tab_length",
                    "re", "sub", "split")
_NORMALIZE_RE = r"(?<=\n) +\n"
_NORMALIZED = ("\x02", "\x03", "\r", "\t", " \n")


# What Python-Markdown 3.11's `PrettifyTreeprocessor._prettifyETree` uses (names and constants).
_PRETTIFY_CODE = (("md", "is_block_level", "tag", "text", "strip", "len", "_prettifyETree", "tail"),
                  ("\n", ("code", "pre"), 0, None))


def prettify_faster(md: markdown.Markdown) -> None:
    """The prettifier's walk (line breaks after block-level elements) with each tag's block level
    looked up in a dict rather than asked of `is_block_level`, twice per element: the library's
    `_prettifyETree` step for step, installed where it is 3.11's (its names and constants)."""
    if "prettify" not in md.treeprocessors:
        return
    prettify = md.treeprocessors["prettify"]
    code = getattr(type(prettify)._prettifyETree, "__code__", None)  # noqa: SLF001
    if (type(prettify) is not treeprocessors.PrettifyTreeprocessor or code is None
            or (code.co_names, code.co_consts[1:]) != _PRETTIFY_CODE):
        return
    is_block = md.is_block_level
    # The answers `remember_block_levels` remembers (an `is_block_level` of another kind: asked
    # every time).
    known: dict[object, bool] = is_block.known if isinstance(is_block, BlockLevels) else {}

    def prettify_tree(elem: etree.Element) -> None:
        tag = elem.tag
        block = known.get(tag)
        if block is None:
            block = is_block(tag)
        if block and tag != "code" and tag != "pre":
            if len(elem):
                text = elem.text
                if not text or not text.strip():
                    first = elem[0].tag
                    first_block = known.get(first)
                    if first_block is None:
                        first_block = is_block(first)
                    if first_block:
                        elem.text = "\n"
                for child in elem:
                    child_block = known.get(child.tag)
                    if child_block is None:
                        child_block = is_block(child.tag)
                    if child_block:
                        prettify_tree(child)
        tail = elem.tail
        if not tail or not tail.strip():
            elem.tail = "\n"

    prettify._prettifyETree = prettify_tree  # type: ignore[method-assign]  # noqa: SLF001


# What Python-Markdown 3.11's `findFootnotesPlaceholder` runs: its inner `finder`'s names and
# constants.
_FINDER_CODE = (("text", "find", "getConfig", "tail"), (None, "PLACE_MARKER", -1, True, False))


def find_footnotes_place_faster(md: markdown.Markdown) -> None:
    """The footnotes' place marker looked for in one iteration over the tree, the marker read
    once, instead of a recursive call per element that reads the configuration at every text
    and tail; the same order (an element's text, its tail, then what it holds), so the same
    find. Installed only where the library's finder is 3.11's."""
    extension = next((ext for ext in md.registeredExtensions
                      if type(ext) is footnotes.FootnoteExtension), None)
    if extension is None:
        return
    inner = [const for const in getattr(footnotes.FootnoteExtension.findFootnotesPlaceholder,
                                        "__code__", SimpleNamespace(co_consts=())).co_consts
             if hasattr(const, "co_names")]
    if len(inner) != 1 or (inner[0].co_names, inner[0].co_consts) != _FINDER_CODE:
        return
    marker = extension.getConfig("PLACE_MARKER")

    def find_place(root: etree.Element) -> tuple[etree.Element, etree.Element, bool] | None:
        elements = root.iter()
        next(elements)  # the root's own text and tail are not looked at
        for child in elements:
            text = child.text
            found = text and marker in text
            if not found:
                tail = child.tail
                if not (tail and marker in tail):
                    continue
            parent = next(element for element in root.iter()
                          if any(item is child for item in element))
            return child, parent, bool(found)
        return None

    extension.findFootnotesPlaceholder = find_place  # type: ignore[method-assign]


# The names Python-Markdown 3.11's `UnescapeTreeprocessor.run` uses: another loop is left alone.
_UNESCAPE_RUN_NAMES = ("iter", "text", "tag", "unescape", "tail", "items", "set")


def _unescape_run(unescape: Callable[[str], str]) -> Callable[[etree.Element], None]:
    """The unescape treeprocessor's loop, setting only a text, tail or attribute that holds an
    escaped character (STX): the library sets every one of them to itself, unchanged, and asks
    each element for a list of its attributes."""

    def run(root: etree.Element) -> None:
        for elem in root.iter():
            text = elem.text
            if text and "\x02" in text and elem.tag != "code":
                elem.text = unescape(text)
            tail = elem.tail
            if tail and "\x02" in tail:
                elem.tail = unescape(tail)
            if elem.attrib:
                for key, value in elem.items():
                    if value is not None and "\x02" in value:
                        elem.set(key, unescape(value))

    return run


class SourceMarks(Preprocessor):
    """Notes which of `<`, `&` and `{` a body holds, before any preprocessor (none adds one:
    they take text out into placeholders), for `skip_needless_passes`."""

    held: frozenset[str] = frozenset("<&{")

    def run(self, lines: list[str]) -> list[str]:
        source = "\n".join(lines)
        self.held = frozenset(mark for mark in "<&{" if mark in source)
        return lines


def skip_needless_passes(md: markdown.Markdown) -> None:
    """Passes that look for one thing over the whole document, skipped where it is absent: the
    whitespace preprocessor does not run its expression over a body with nothing to normalize;
    the unescape treeprocessor's expression is not run over a text without an escaped character
    (STX); the fenced code preprocessor does not search a document without ``` or ~~~ (it returns
    the lines it was given then); the raw HTML preprocessor does not parse a body without `<` or
    `&` (its parser passes such text through whole); the attribute lists are not looked for in a
    body without `{`. Each only where the library's expression is the one above, and the last two
    only with `SourceMarks` registered first."""
    if "unescape" in md.treeprocessors:
        unescape = md.treeprocessors["unescape"]
        library = getattr(unescape, "unescape", None)
        if getattr(getattr(unescape, "RE", None), "pattern", None) == _UNESCAPE_RE and library:
            unescape.unescape = lambda text: library(text) if "\x02" in text else text
            code = getattr(type(unescape).run, "__code__", None)
            if (type(unescape) is treeprocessors.UnescapeTreeprocessor and code is not None
                    and code.co_names == _UNESCAPE_RUN_NAMES):
                unescape.run = _unescape_run(library)  # type: ignore[method-assign]
    if "fenced_code_block" in md.preprocessors:
        fenced = md.preprocessors["fenced_code_block"]
        expression = getattr(getattr(fenced, "FENCED_BLOCK_RE", None), "pattern", "")
        if expression.lstrip().startswith(_FENCE_START):
            fenced_run = fenced.run

            def run_fenced(lines: list[str]) -> list[str]:
                if not any("```" in line or "~~~" in line for line in lines):
                    return lines
                return fenced_run(lines)

            fenced.run = run_fenced  # type: ignore[method-assign]
    if "normalize_whitespace" in md.preprocessors:
        normalize = md.preprocessors["normalize_whitespace"]
        code = getattr(type(normalize).run, "__code__", None)
        if (type(normalize) is preprocessors.NormalizeWhitespace and code is not None
                and code.co_names == _NORMALIZE_NAMES and _NORMALIZE_RE in code.co_consts):
            normalize_run = normalize.run

            def run_normalize(lines: list[str]) -> list[str]:
                source = "\n".join(lines)
                if any(mark in source for mark in _NORMALIZED) or source.endswith(" "):
                    return normalize_run(lines)
                return (source + "\n\n").split("\n")

            normalize.run = run_normalize  # type: ignore[method-assign]
    marks = next(iter(md.preprocessors), None)  # the first to run
    if not isinstance(marks, SourceMarks):
        return
    stops = getattr(getattr(htmlparser.htmlparser, "interesting_normal", None), "pattern", None)
    if "html_block" in md.preprocessors and stops == _HTML_STOPS:
        html_block = md.preprocessors["html_block"]
        if type(html_block) in (preprocessors.HtmlBlockPreprocessor,
                                md_in_html.HtmlBlockPreprocessor):
            html_run = html_block.run
            html_block.run = (  # type: ignore[method-assign]
                lambda lines: html_run(lines) if marks.held & {"<", "&"} else lines)
    if "attr_list" in md.treeprocessors:
        attr_list = md.treeprocessors["attr_list"]
        if getattr(attr_list, "BASE_RE", None) == _ATTR_LIST_RE:
            attr_run = attr_list.run
            attr_list.run = lambda doc: attr_run(doc) if "{" in marks.held else None
