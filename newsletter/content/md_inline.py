"""Shortcuts through Python-Markdown's inline processing, each with the library's output byte
for byte (see `md_shortcuts` for the rule every shortcut follows).

Python-Markdown tries every inline pattern on every piece of text; most of those tries cannot
succeed, and a C-speed look for a character tells so first: text with no inline syntax at all is
marked atomic (`SkipPlainText`), and a pattern is skipped where the text lacks every literal it
needs, or, for the reference patterns, where the document defines no reference
(`skip_hopeless_patterns`). tests/test_markup.py compares the output with the library's own.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree  # noqa: N813 - Python-Markdown's own name for it

import markdown
from markdown import inlinepatterns
from markdown.treeprocessors import InlineProcessor, Treeprocessor
from markdown.util import AtomicString

# The inline patterns Python-Markdown registers for our extensions, and the characters (or the
# two-space line break) one of them needs before it can match anything.
_KNOWN_INLINE = frozenset({
    "backtick", "escape", "reference", "link", "image_link", "image_reference", "short_reference",
    "short_image_ref", "autolink", "automail", "linebreak", "html", "entity", "em_strong",
    "em_strong2", "not_strong", "strong_em", "strong", "emphasis", "emphasis2", "footnote",
})
# (One character class is searched at C speed; with the two-space break as an alternative, the
# expression was tried at every position: three times as slow.)
_MAY_BE_INLINE = re.compile(r"[`\\\[<&*_\x02]")
_LINE_BREAK = "  \n"


class SkipPlainText(Treeprocessor):
    """Mark text that no inline pattern can match (no `` ` \\ [ < & * _ ``, no two-space break)
    as atomic, so the inline processor does not try its fifteen patterns on it one by one (a
    fifth of a conversion). Not done when the document defines abbreviations (they are looked for
    in non-atomic text only) or an unknown pattern is loaded."""

    def run(self, root: etree.Element) -> None:
        abbr = self.md.treeprocessors["abbr"] if "abbr" in self.md.treeprocessors else None
        if getattr(abbr, "abbrs", None):
            return
        if not all(item.name in _KNOWN_INLINE for item in self.md.inlinePatterns._priority):  # noqa: SLF001
            return
        may_be_inline = _MAY_BE_INLINE.search
        for el in root.iter():
            text = el.text
            if (text and not isinstance(text, AtomicString) and not may_be_inline(text)
                    and _LINE_BREAK not in text):
                el.text = AtomicString(text)
            tail = el.tail
            if (tail and not isinstance(tail, AtomicString) and not may_be_inline(tail)
                    and _LINE_BREAK not in tail):
                el.tail = AtomicString(tail)


# What each inline pattern needs in the text from where it starts looking, by its regular
# expression: a literal every match contains (or, for the backtick's escaped form, looks ahead at).
# A pattern whose literals are all absent cannot match, so it is not tried. The expressions are
# Python-Markdown 3.11's, written out: a pattern whose expression differs (another release, an
# extension's pattern) is always tried.
_INLINE_NEEDS: dict[str, tuple[str, ...]] = {
    r"(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)`)": ("`",),  # code
    r"\\(.)": ("\\",),  # an escaped character
    r"\[\^([^\]]*)\]": ("[^",),  # footnotes' reference
    r"(?<!\!)\[": ("[",),  # links and references
    r"\!\[": ("![",),  # images
    r"<([A-Za-z][A-Za-z0-9+.-]*://[^<>]*)>": ("<",),
    r"<([^<> !]+@[^@<> ]+)>": ("<",),
    r"  \n": ("  \n",),
    r"""(<(\/?+[a-zA-Z][^\s"'<>@]*+(?:\s+[^\s"'=<>]++(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|"""
    r"""[^\s"'=<>]++))?+)*+\s*+/?|!--(?:(?!<!--|-->).)*--|[?](?:(?!<[?]|[?]>).)*[?]|"""
    r"""!\[CDATA\[(?:(?!<!\[CDATA\[|\]\]>).)*\]\])>)""": ("<",),  # raw HTML
    r"(&(?:\#[0-9]+|\#x[0-9a-fA-F]+|[a-zA-Z0-9]+);)": ("&",),
    r"\*|_": ("*", "_"),  # emphasis and strong
}


def inline_needs(patterns: list[inlinepatterns.Pattern]) -> list[tuple[str, ...] | None]:
    """Per inline pattern, the literals one of which it needs (None: always try it)."""
    return [_INLINE_NEEDS.get(pattern.compiled_re.pattern) for pattern in patterns]


_REFERENCES = ("ReferenceInlineProcessor", "ShortReferenceInlineProcessor",
               "ImageReferenceInlineProcessor", "ShortImageReferenceInlineProcessor")
_REFERENCE_MATCH = ("getText", "end", "evalId", "NEWLINE_CLEANUP_RE", "sub", "md", "references",
                    "start", "makeTag")


def _reference(pattern: inlinepatterns.Pattern, md: markdown.Markdown) -> bool:
    """A reference pattern (a link's or an image's, full or short) with 3.11's `handleMatch`."""
    kind = type(pattern)
    return (kind.__name__ in _REFERENCES and kind.__module__ == inlinepatterns.__name__
            and pattern.md is md and kind.handleMatch.__code__.co_names == _REFERENCE_MATCH)


def skip_hopeless_patterns(inline: InlineProcessor) -> None:
    """Make the inline processor skip a pattern when the text left to search lacks every literal
    the pattern needs (`_INLINE_NEEDS`), and the reference patterns where no reference is defined:
    Python-Markdown tries all its patterns on every text with any inline syntax. The loop is the
    library's own (`InlineProcessor.__handleInline`) with that test added: a skipped pattern is
    one that did not match (the next starts from the beginning of the text): the same output."""
    patterns = inline.inlinePatterns  # type: ignore[attr-defined]
    # Each pattern's literals as a pair (the second the first again when there is one).
    needs = [None if need is None else (need[0], need[-1]) for need in inline_needs(patterns)]
    assert all(need is None or len(need) <= 2 for need in inline_needs(patterns))
    # And as a bit mask over the literals a text holds, looked for once per text: a match puts a
    # placeholder (STX, letters, digits, ETX) in place of text, so a literal absent stays absent.
    literals = sorted({literal for need in needs if need for literal in need})
    flags = [(literal, 1 << bit) for bit, literal in enumerate(literals)]
    masks_used = [0 if need is None else sum(dict(flags)[literal] for literal in set(need))
                  for need in needs]
    apply = getattr(inline, "_InlineProcessor__applyPattern", None)
    if apply is None or not hasattr(inline, "_InlineProcessor__handleInline"):
        return  # a Markdown release with another inner loop: its own (slower, the same output)
    # No reference defined: those patterns leave the text as it is (3.11's `handleMatch`: no node
    # for an id not in `md.references`), so they are skipped (a mask with a flag no text holds).
    refs_unused = [1 << 62 if _reference(pattern, inline.md) else mask
                   for pattern, mask in zip(patterns, masks_used, strict=True)]

    def handle_inline(data: str, pattern_index: int = 0) -> str:
        if isinstance(data, AtomicString):
            return data
        masks = masks_used if inline.md.references else refs_unused
        held = 0
        for literal, flag in flags:
            if literal in data:
                held |= flag
        start = 0
        count = len(patterns)
        while pattern_index < count:
            mask = masks[pattern_index]
            if mask and not held & mask:
                pattern_index += 1
                start = 0
                continue
            if start:  # after a match: what is left of the text, from where the pattern resumes
                need = needs[pattern_index]
                if need and data.find(need[0], start) < 0 and data.find(need[1], start) < 0:
                    pattern_index += 1
                    start = 0
                    continue
            data, matched, start = apply(patterns[pattern_index], data, pattern_index, start)
            if not matched:
                pattern_index += 1
        return data

    inline._InlineProcessor__handleInline = handle_inline  # type: ignore[attr-defined]  # noqa: SLF001
