"""Markup in issues: the rendered HTML is sanitised by an allowlist before anything sees it.

Each hostile snippet of issue 10 is put in an issue; `check` reports it as an error on its line,
and neither the archive page, the feed nor the email (after premailer, which decodes character
references) carries anything of it. What the samples legitimately use comes through unchanged.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from newsletter.archive.build import CACHE_FILE, build_site
from newsletter.archive.cache import BuildCache
from newsletter.content import load_corpus, markup
from newsletter.content.check import run_checks
from newsletter.content.markup import MarkdownRenderer, render_config_key
from newsletter.content.sanitize import sanitize
from newsletter.mail.editions import render_email_edition
from newsletter.settings import Settings, load_settings
from tests.test_check import project_with

# (snippet, what must not come out of it anywhere, what check says about it)
HOSTILE = [
    ("[entity](&#106;avascript:alert(1))", "alert(1)", 'href="javascript:alert(1)" on <a>'),
    ('<a href="JaVaScRiPt&colon;alert(2)">colon</a>', "alert(2)", "on <a> is removed"),
    ('<a href="jav&#x09;ascript:alert(3)">tab</a>', "alert(3)", "on <a> is removed"),
    ('<svg><a><animate attributeName="href" values="javascript:alert(4)"/>'
     '<text y="20">svg</text></a></svg>', "alert(4)", "<svg> is not allowed"),
    ('<form action="https://evil.example/collect"><input name="x"><button>Send</button></form>',
     "evil.example/collect", "<form> is not allowed"),
    ('<meta http-equiv="refresh" content="0;url=https://evil.example/refresh">',
     "evil.example/refresh", "<meta> is not allowed"),
    ('<base href="https://evil.example/base/">', "evil.example/base", "<base> is not allowed"),
    ("<style>@import url(https://evil.example/track.css);</style>", "evil.example/track.css",
     "<style> is not allowed"),
    ('<link rel="stylesheet" href="https://evil.example/link.css">', "evil.example/link.css",
     "<link> is not allowed"),
    ("[data](data:text/html;base64,PHNjcmlwdD5hbGVydCg1KTwvc2NyaXB0Pg==)", "data:text/html",
     'href="data:text/html'),
    ('<img src="images/none.png" onerror="alert(6)" alt="x">', "alert(6)", 'onerror="alert(6)"'),
]
TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Settings, dict[str, int]]:
    """The clean fixture issue with every hostile snippet appended to both editions; the line
    of each snippet."""
    settings = project_with("issue_clean", tmp_path)
    lines: dict[str, int] = {}
    for lang in ("es", "en"):
        path = settings.path("issues") / "2011-01" / f"{lang}.md"
        text = path.read_text(encoding="utf-8").rstrip("\n") + "\n"
        for snippet, _, _ in HOSTILE:
            text += "\n" + snippet + "\n"
            lines[snippet] = text.count("\n")
        path.write_text(text, encoding="utf-8")
    return load_settings(settings.root / "newsletter.toml"), lines


def test_check_reports_what_the_sanitiser_removes_on_its_line(
    hostile: tuple[Settings, dict[str, int]],
) -> None:
    settings, lines = hostile
    corpus = load_corpus(settings)
    problems = [p for p in run_checks(settings, corpus) if p.path.endswith("en.md")]
    for snippet, _, says in HOSTILE:
        on_line = [p for p in problems if p.line == lines[snippet] and says in p.message]
        assert on_line and all(p.is_error for p in on_line), (snippet, [str(p) for p in problems])


def test_the_page_the_feed_and_the_email_carry_none_of_it(
    hostile: tuple[Settings, dict[str, int]],
) -> None:
    settings, _ = hostile
    # checks=None: the renderer alone, as if the checks (which refuse all of it) were skipped.
    site = build_site(settings, today=TODAY, checks=None).output
    outputs = {
        "page": (site / "en/2011-01/index.html").read_text(encoding="utf-8"),
        "feed": (site / "en/feed.xml").read_text(encoding="utf-8"),
    }
    issue = load_corpus(settings).find("2011-01")
    assert issue is not None
    outputs["email"] = render_email_edition(settings, issue, "en").html
    for name, text in outputs.items():
        folded = text.lower()
        assert "javascript" not in folded and "evil.example" not in folded, name
        assert "<animate" not in folded and "<svg" not in folded, name
        # The page's own search box is a form; the issue's body carries none.
        body = folded[folded.index('<div class="body">'):folded.index("</article>")] \
            if name == "page" else folded
        assert "<form" not in body, name
        assert "refresh" not in folded and "<base" not in folded and "data:text" not in folded
        assert "onerror" not in folded and "alert(" not in folded, name
    # What was around the removed markup stays: the texts of the links and the button.
    assert "entity</a>" in outputs["page"] and "Send" in outputs["page"]


def test_cached_html_is_sanitised_html(hostile: tuple[Settings, dict[str, int]]) -> None:
    settings, _ = hostile
    build_site(settings, today=TODAY, checks=None)  # the renderer alone, as above
    with BuildCache(settings.path(".cache") / CACHE_FILE) as cache:
        db = cache._connection()
        assert db is not None
        keys = [k for (k,) in db.execute("SELECT key FROM entries WHERE key LIKE 'html:%'")]
        assert keys
        for key in keys:
            rendered = cache.get(key)
            assert sanitize(rendered.html) == rendered.html and "alert(" not in rendered.html


def test_a_new_allowlist_makes_every_cached_conversion_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = render_config_key("en", "/", True)
    monkeypatch.setattr(markup, "SANITIZER_VERSION", "next")
    assert render_config_key("en", "/", True) != before


LEGITIMATE = """\
## Figures {: #cifras }

| País | 2010 | 2011 |
|:-----|-----:|:----:|
| UY   | 1    | 2    |

A footnote[^1], an <abbr title="Instituto Interamericano del Niño">IIN</abbr> mark, *em*,
**strong**, `code`, ~~no~~, <sup>2</sup>, <sub>x</sub>, a [link](https://www.iin.oea.org/ "t")
and a [mail](mailto:annaobserva@iin.oea.org), [relative](../2010-09/en.md#top).

![A map of the liaisons](images/map.png)

> A quote.

Term
:   Definition.

<details><summary>More</summary><p>Hidden <span lang="pt">texto</span>.</p></details>

[^1]: The note.
"""


@pytest.mark.parametrize("lang", ["es", "en", "fr"])
def test_what_issues_legitimately_use_comes_through_byte_for_byte(lang: str) -> None:
    renderer = MarkdownRenderer(lang, "/", typographic=True)
    raw = renderer.convert_unsanitised("2011-01", LEGITIMATE)
    rendered = renderer.render("2011-01", LEGITIMATE)
    assert rendered.html == raw.html and rendered.toc == raw.toc
    assert '<th style="text-align: left;">' in raw.html and 'class="footnote"' in raw.html


_PIECES = ['<td style="text-align: center">', '<th STYLE="color: red">', '<td style="x">', "</td>",
           '<p id="a" class="b">', "</p>", '<a href="https://e.org/" onclick="x()">', "</a>",
           '<img src="javascript:x" alt="y">', "<script>x()</script>", "<!-- c -->", "text",
           " & ", "&amp;", "&laquo;", '<span style="text-align:left">', "<b>", "</b>", "é"]


@examples(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_the_cleaner_without_the_style_filter_cleans_the_same(fragment: str) -> None:
    """Fragments that name no style attribute skip the per-attribute filter; any fragment is
    cleaned exactly as the one cleaner with the filter cleans it."""
    from newsletter.content.sanitize import _cleaner

    assert sanitize(fragment) == _reference_sanitize(_cleaner(True).clean(fragment), fragment)
    if "style" not in fragment.lower():
        assert _cleaner(False).clean(fragment) == _cleaner(True).clean(fragment)


def _reference_sanitize(cleaned: str, fragment: str) -> str:
    import html

    if cleaned == fragment or html.unescape(cleaned) == html.unescape(fragment):
        return fragment
    return cleaned
