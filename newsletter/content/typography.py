"""Typographic quotes, dashes and ellipses on rendered HTML, per language.

Python-Markdown's `smarty` extension does this inside the Markdown parser and doubles the time of
a conversion; this pass walks the finished HTML once instead. It changes only text between tags,
never attribute values, and leaves `<pre>`, `<code>`, `<kbd>`, `<samp>`, `<script>` and `<style>`
alone. The rules are SmartyPants': `"` and `'` open after a space, an opening bracket or a dash and
close otherwise; an apostrophe inside or at the end of a word is a right single quote (also before a
decade, as in '90s); `---` is an em dash, `--` an en dash, `...` an ellipsis. A quote escaped in the
Markdown (`\\"`) stays straight. Quotes look across inline tags (`"<em>word</em>"`), not across
block boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

# Private-use placeholders while the rules run (each one character, so context is kept), turned
# into the language's entities at the end.
LDQ, RDQ, LSQ, RSQ, NDASH, MDASH, HELLIP = (chr(0xE100 + i) for i in range(7))
# What an escaped quote (`\"`, `\'`) becomes in the Markdown tree: left straight by this pass.
KEEP_DQ, KEEP_SQ = "\ue10a", "\ue10b"

DEFAULT_ENTITIES = {
    "left-double-quote": "&ldquo;",
    "right-double-quote": "&rdquo;",
    "left-single-quote": "&lsquo;",
    "right-single-quote": "&rsquo;",
    "ndash": "&ndash;",
    "mdash": "&mdash;",
    "ellipsis": "&hellip;",
}
_PLACEHOLDER_NAMES = {
    LDQ: "left-double-quote", RDQ: "right-double-quote", LSQ: "left-single-quote",
    RSQ: "right-single-quote", NDASH: "ndash", MDASH: "mdash", HELLIP: "ellipsis",
}

_TAG_RE = re.compile(r"(<[^>]*>)")
_TAG_NAME_RE = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)")


def _needs_work(text: str) -> bool:
    """Whether a text holds a quote, `--` or `...` (four C-speed looks: a regular expression with
    these alternatives is several times slower, and it is asked of every text between tags)."""
    return '"' in text or "'" in text or "--" in text or "..." in text


# Tags whose content is code or not text: never changed (their text still gives context).
_VERBATIM = frozenset({"pre", "code", "kbd", "samp", "script", "style", "textarea"})
# Tags a quote can look across; any other tag is a boundary, like a space.
_INLINE = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "i", "ins", "kbd",
    "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var",
})

# What may stand before an opening quote.
_OPENERS = r"\s\u00a0(\[{" + LDQ + LSQ + NDASH + MDASH + "\u2013\u2014-"
_OPEN_BEFORE = rf"(?:(?<=[{_OPENERS}])|(?<=&nbsp;)|(?<=&ndash;)|(?<=&mdash;))"
# Each rule with the character it needs: a rule is not run over text without it (no rule makes
# the character another one needs; they make placeholders).
_DASH_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("--", re.compile(r"(?<!-)---(?!-)"), MDASH),
    ("--", re.compile(r"(?<!-)--(?!-)"), NDASH),
    ("...", re.compile(r"(?<!\.)\.\.\.(?!\.)"), HELLIP),
)
_QUOTE_RULES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    # Double quotes first, so a single quote just inside one ("'Quoted' words") sees it open.
    ('"', re.compile(_OPEN_BEFORE + r'"(?=\S)'), LDQ),        # "opening
    ('"', re.compile(rf"""(?<=[{_OPENERS}]')"(?=\w)"""), LDQ),  # '"nested
    ('"', re.compile(r'"'), RDQ),
    ("'", re.compile(r"(?<!\w)'(?=\d\ds)"), RSQ),            # the '90s
    ("'", re.compile(r"(?<=\w)'"), RSQ),                      # don't, the members'
    ("'", re.compile(_OPEN_BEFORE + r"'(?=\S)"), LSQ),        # 'opening
    ("'", re.compile(r"'"), RSQ),
)


def entities_for(substitutions: Mapping[str, str] | None = None) -> dict[str, str]:
    """The placeholder → entity table for a language (its substitutions over the defaults)."""
    names = {**DEFAULT_ENTITIES, **(substitutions or {})}
    table = {ch: names[name] for ch, name in _PLACEHOLDER_NAMES.items()}
    table[KEEP_DQ] = '"'
    table[KEEP_SQ] = "'"
    return table


@lru_cache(maxsize=512)
def _boundary(tag: str) -> tuple[str | None, bool]:
    """(tag name, whether it is inline) for one tag token; comments etc. are boundaries."""
    match = _TAG_NAME_RE.match(tag)
    if not match:
        return None, False
    name = match.group(1).lower()
    return name, name in _INLINE


def _educate(text: str, before: str, after: str) -> str:
    for needed, pattern, repl in _DASH_RULES:
        if needed in text:
            text = pattern.sub(repl, text)
    if "'" in text or '"' in text:
        padded = before + text + after
        for needed, pattern, repl in _QUOTE_RULES:
            if needed in text:
                padded = pattern.sub(repl, padded)
        text = padded[1:-1]
    return text


def _next_char(tokens: list[str], i: int) -> str:
    """The first character of the text after token i that a quote can see (" " across a block)."""
    for j in range(i + 1, len(tokens)):
        if j % 2:
            if not _boundary(tokens[j])[1]:
                return " "
        elif tokens[j]:
            return tokens[j][0]
    return " "


def smarten(html: str, table: Mapping[str, str]) -> str:
    """Educate the quotes, dashes and ellipses of an HTML fragment (see the module's docstring)."""
    if not _needs_work(html) and KEEP_DQ not in html and KEEP_SQ not in html:
        return html
    tokens = _TAG_RE.split(html)  # text, tag, text, tag, …, text
    verbatim = 0
    previous = " "
    for i, token in enumerate(tokens):
        if i % 2:
            name, inline = _boundary(token)
            if name in _VERBATIM:
                verbatim += -1 if token.startswith("</") else (0 if token.endswith("/>") else 1)
                verbatim = max(verbatim, 0)
            if not inline:
                previous = " "
            continue
        if token and not verbatim and _needs_work(token):
            token = tokens[i] = _educate(token, previous, _next_char(tokens, i))
        if token:
            previous = token[-1]
    out = "".join(tokens)
    for placeholder, entity in table.items():
        if placeholder in out:
            out = out.replace(placeholder, entity)
    return out
