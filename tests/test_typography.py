"""Typographic quotes, dashes and ellipses: one pass over the rendered HTML, per language."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsletter.content.markup import QUOTE_STYLES, renderer_for
from newsletter.content.typography import entities_for, smarten

EN = entities_for()
ES = entities_for(QUOTE_STYLES["es"])


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<p>He said "hello".</p>', "<p>He said &ldquo;hello&rdquo;.</p>"),
        ("<p>'single' and don't</p>", "<p>&lsquo;single&rsquo; and don&rsquo;t</p>"),
        ("<p>the members' list in the '90s</p>",
         "<p>the members&rsquo; list in the &rsquo;90s</p>"),
        ('<p>"<em>word</em>" and "<strong>bold</strong>"</p>',
         "<p>&ldquo;<em>word</em>&rdquo; and &ldquo;<strong>bold</strong>&rdquo;</p>"),
        ("<p>\"'Nested' quotes.\"</p>", "<p>&ldquo;&lsquo;Nested&rsquo; quotes.&rdquo;</p>"),
        ("<p>a -- b --- c ... d</p>", "<p>a &ndash; b &mdash; c &hellip; d</p>"),
        ("<p>---- and ....</p>", "<p>---- and ....</p>"),
        ('<p>x "y"--"z"</p>', "<p>x &ldquo;y&rdquo;&ndash;&ldquo;z&rdquo;</p>"),
        ('<p>&nbsp;"a" (\'b\')</p>', "<p>&nbsp;&ldquo;a&rdquo; (&lsquo;b&rsquo;)</p>"),
        # Attribute values, code and preformatted text are never touched.
        ('<a href="/x" title="a \'b\'">"x"</a>',
         '<a href="/x" title="a \'b\'">&ldquo;x&rdquo;</a>'),
        ('<p><code>"x" -- y</code> "z"</p>', '<p><code>"x" -- y</code> &ldquo;z&rdquo;</p>'),
        ('<pre><code>print("a")\n...</code></pre><p>"b"</p>',
         '<pre><code>print("a")\n...</code></pre><p>&ldquo;b&rdquo;</p>'),
        # A quote does not look across a block boundary: the next paragraph's first quote opens.
        ('<p>end"</p><p>"start</p>', "<p>end&rdquo;</p><p>&ldquo;start</p>"),
        ("<p>no quotes at all</p>", "<p>no quotes at all</p>"),
    ],
)
def test_smarten(html: str, expected: str) -> None:
    assert smarten(html, EN) == expected


def test_spanish_uses_angle_quotes() -> None:
    assert smarten('<p>la sesión "Proteger"</p>', ES) == "<p>la sesión &laquo;Proteger&raquo;</p>"


def test_french_puts_a_narrow_no_break_space_inside_the_quotes() -> None:
    french = entities_for(QUOTE_STYLES["fr"])
    assert smarten('<p>"Oui"</p>', french) == "<p>&laquo;&#8239;Oui&#8239;&raquo;</p>"


def test_the_markdown_renderer_applies_it_to_body_and_contents() -> None:
    rendered = renderer_for("es", "/", True).render("s", '## Sesión "Viena"\n\nTexto "citado".\n')
    assert "Texto &laquo;citado&raquo;." in rendered.html
    assert "Sesión &laquo;Viena&raquo;" in rendered.toc
    assert 'id="sesión-viena"' in rendered.html


def test_an_escaped_quote_stays_straight() -> None:
    html = renderer_for("en", "/", True).render("s", 'A \\"straight\\" one and "curly".\n').html
    assert html == '<p>A "straight" one and &ldquo;curly&rdquo;.</p>'


def test_languages_without_the_setting_keep_straight_quotes() -> None:
    html = renderer_for("en", "/", False).render("s", 'He said "hi" -- twice.\n').html
    assert html == '<p>He said "hi" -- twice.</p>'


_CHARS = ['"', "'", "-", ".", "a", "1", "s", " ", "(", "\u00a0", "&nbsp;", "\ue100", "\ue102"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_CHARS), max_size=16).map("".join),
       st.sampled_from([c for c in _CHARS if len(c) == 1]),
       st.sampled_from([c for c in _CHARS if len(c) == 1]))
def test_a_rule_skipped_for_want_of_its_character_changes_nothing(
        text: str, before: str, after: str) -> None:
    """Each rule runs only over text holding the character it needs: the same as running every
    rule, whatever quote or dash stands around the text."""
    from newsletter.content.typography import _DASH_RULES, _QUOTE_RULES, _educate

    expected = text
    for _, pattern, repl in _DASH_RULES:
        expected = pattern.sub(repl, expected)
    padded = before + expected + after
    for _, pattern, repl in _QUOTE_RULES:
        padded = pattern.sub(repl, padded)
    expected = padded[1:-1]
    assert _educate(text, before, after) == expected
