"""Rendering once per language, the plain-text alternative, `check`'s email problems, preview."""

from __future__ import annotations

import dataclasses
import re
import shutil

import premailer
import pytest

from newsletter.content import load_corpus, markup
from newsletter.content.loader import load_issues
from newsletter.mail.checks import email_problems
from newsletter.mail.editions import (
    EditionNotFound,
    EmailTemplateError,
    Recipient,
    render_email_edition,
    render_email_editions,
    render_email_preview,
)
from newsletter.mail.plaintext import html_to_text
from newsletter.settings import Settings
from tests.email_support import EMAIL_ISSUE, NOW, body, fixture_issue, parse

URL_LINE = re.compile(r"^(?:\[\d+\] |> |- |\d+\. |\s)*(?:https?|mailto):\S+$")


def long_lines(text: str) -> list[str]:
    """Lines over 78 characters that are not an unbreakable URL."""
    return [line for line in text.split("\n") if len(line) > 78 and not URL_LINE.match(line)]


def test_one_transform_per_language_for_a_thousand_subscribers(settings, monkeypatch) -> None:
    calls = {"premailer": 0, "markdown": 0}
    real_transform = premailer.Premailer.transform
    real_render = markup.MarkdownRenderer.render

    def counting_transform(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["premailer"] += 1
        return real_transform(self, *args, **kwargs)

    def counting_render(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["markdown"] += 1
        return real_render(self, *args, **kwargs)

    monkeypatch.setattr(premailer.Premailer, "transform", counting_transform)
    monkeypatch.setattr(markup.MarkdownRenderer, "render", counting_render)
    editions = render_email_editions(settings, fixture_issue(settings))
    recipients = [Recipient(i, f"s{i}@example.org", lang="es" if i % 2 else "en")
                  for i in range(1, 1001)]
    sizes = []
    for recipient in recipients:
        data = editions[recipient.lang].message_for(recipient, now=NOW)
        sizes.append(len(data))
    # One rendering per offered language (es, en; pt and fr get the es edition in their words).
    assert calls == {"premailer": 4, "markdown": 4}
    assert len(sizes) == 1000 and min(sizes) > 10_000
    # Each message really is personalised: its own unsubscribe token.
    last = parse(editions["en"].message_for(recipients[-1], now=NOW))
    assert "unsubscribe/" in body(last, "html") and "x-annaobserva" not in body(last, "html")


def test_text_alternative_is_readable_and_within_78_columns(settings) -> None:
    text = render_email_editions(settings, fixture_issue(settings))["es"].text
    assert long_lines(text) == []
    assert "Novedades de los Estados\n========================" in text
    assert "- Uruguay aprobó un protocolo interinstitucional de respuesta." in text
    assert "1. Curso virtual para enlaces técnicos nacionales (diciembre)." in text
    assert "Consulte el informe regional del IIN-OEA [1] completo." in text
    assert "[1] https://www.iin.oea.org/informes/2026/proteccion-en-linea.pdf" in text
    assert "[2] https://annaobserva.iin.oea.org/es/2026-09/" in text
    assert "> «La protección en línea" in text
    assert "[Imagen: Gráfico: denuncias recibidas por país, 2024 a 2026]" in text
    assert "Uruguay | 1.204 | +12 %" in text
    assert "<" not in text.replace("<annaobserva", "")  # no tags left over


def test_html_to_text_handles_nesting_breaks_and_long_urls() -> None:
    html = (
        "<h3>Sub heading</h3><p>First line<br>second line</p>"
        "<ul><li>one<ul><li>nested item that is long enough to be wrapped onto the next line "
        "when the width is small</li></ul></li><li><a href='https://example.org/x'>https://example.org/x</a></li></ul>"
        "<p>See <a href='https://example.org/a-very-long-address/that/does/not/fit/on/one/line/at/all/really'>this</a>"
        " and <a href='#top'>the top</a>.</p><pre>keep   spacing\n  indented</pre>"
    )
    text = html_to_text(html, width=40)
    assert text.startswith("Sub heading\n-----------\n\nFirst line\nsecond line")
    assert (
        "- one\n  - nested item that is long enough to\n    be wrapped onto the next line when\n"
    ) in text
    assert "- https://example.org/x" in text
    assert "See this [1] and the top." in text
    assert "keep   spacing\n  indented" in text
    assert text.endswith(
        "Links:\n[1] https://example.org/a-very-long-address/that/does/not/fit/on/one/line/at/all/really"
    )


def test_preview_is_the_sample_subscribers_message(settings) -> None:
    html, text = render_email_preview(settings, fixture_issue(settings), "en")
    assert '<html lang="en" dir="ltr">' in html
    assert "x-annaobserva-" not in html + text
    assert "https://annaobserva.iin.oea.org/s/unsubscribe/" in text
    assert "Children and adolescents: online protection in the Americas" in text
    # The Portuguese readers' email: the Spanish edition inside their own words.
    html, text = render_email_preview(settings, fixture_issue(settings), "pt")
    assert '<html lang="pt" dir="ltr">' in html and '<div lang="es" dir="ltr">' in html
    assert "Esta edição ainda não está disponível em português" in text
    with pytest.raises(EditionNotFound, match="issue 2026-11 has no edition for 'de' readers"):
        render_email_preview(settings, fixture_issue(settings), "de")


def test_email_problems_report_sizes_and_pass_a_normal_issue(settings) -> None:
    corpus = load_issues(EMAIL_ISSUE, settings.site.languages, settings.root)
    problems = email_problems(settings, corpus)
    assert [p.severity for p in problems] == ["info", "info"]
    assert all(re.fullmatch(r"email \((es|en)\): HTML \d+\.\d KB of 102\.0 KB, whole message "
                            r"\d+\.\d KB", p.message) for p in problems)


def test_email_over_the_budget_is_an_error_with_its_size(settings) -> None:
    small = settings.replace(email=dataclasses.replace(settings.email, html_budget_bytes=5_000))
    corpus = load_issues(EMAIL_ISSUE, settings.site.languages, settings.root)
    errors = [p for p in email_problems(small, corpus) if p.is_error]
    assert len(errors) == 2
    assert errors[0].path.endswith("2026-11/en.md")
    assert re.match(r"the email's HTML is \d+\.\d KB, over the 5\.0 KB budget: Gmail clips it",
                    errors[0].message)


def test_plain_http_links_and_svg_images_are_warnings_with_lines(settings) -> None:
    issues = settings.path("issues")
    shutil.rmtree(issues)
    shutil.copytree(EMAIL_ISSUE / "2026-11", issues / "2026-11")
    es = issues / "2026-11" / "es.md"
    es.write_text(es.read_text(encoding="utf-8")
                  + "\nMás en [el sitio antiguo](http://www.iin.oea.org/viejo.html).\n\n"
                  "![Mapa de la red](images/red.svg)\n", encoding="utf-8")
    corpus = load_issues(issues, settings.site.languages, settings.root)
    warnings = [p for p in email_problems(settings, corpus) if p.severity == "warning"]
    lines = es.read_text(encoding="utf-8").split("\n")
    http_line = next(i for i, line in enumerate(lines, 1) if "http://www" in line)
    svg_line = next(i for i, line in enumerate(lines, 1) if "red.svg" in line)
    assert [(p.path, p.line) for p in warnings] == [
        ("issues/2026-11/es.md", http_line), ("issues/2026-11/es.md", svg_line)
    ]
    assert "http://www.iin.oea.org/viejo.html over plain http: use https://" in warnings[0].message
    assert "SVG images (red.svg)" in warnings[1].message


def test_a_broken_email_template_is_an_error_naming_it(settings: Settings) -> None:
    template = settings.path("templates/email.html")
    template.write_text(template.read_text(encoding="utf-8").replace("{{ title }}", "{{ titel }}"),
                        encoding="utf-8")
    from newsletter.templating import make_environment

    make_environment.cache_clear()
    with pytest.raises(EmailTemplateError, match=r"email\.html:\d+: 'titel' is undefined"):
        render_email_edition(settings, fixture_issue(settings), "es")
    corpus = load_issues(EMAIL_ISSUE, settings.site.languages, settings.root)
    assert all(p.is_error and "'titel' is undefined" in p.message
               for p in email_problems(settings, corpus))
    make_environment.cache_clear()


def test_a_template_that_drops_the_unsubscribe_link_is_refused(settings: Settings) -> None:
    template = settings.path("templates/email.html")
    template.write_text(template.read_text(encoding="utf-8").replace("{{ unsubscribe_url }}", "#"),
                        encoding="utf-8")
    from newsletter.templating import make_environment

    make_environment.cache_clear()
    with pytest.raises(EmailTemplateError, match="x-annaobserva-unsubscribe-token did not survive"):
        render_email_edition(settings, fixture_issue(settings), "es")
    make_environment.cache_clear()


def test_every_sample_issue_renders_within_budget(settings: Settings) -> None:
    corpus = load_corpus(settings)
    assert corpus.issues, "the project's sample issues are missing"
    problems = email_problems(settings, corpus)
    assert [p for p in problems if p.is_error] == []
    for issue in corpus.issues:
        for lang, edition in render_email_editions(settings, issue).items():
            assert long_lines(edition.text) == [], (issue.slug, lang)
            message = parse(edition.message_for(Recipient(7, "r@example.org"), now=NOW))
            expected = lang if lang in issue.editions else f"{edition.edition_lang}, {lang}"
            assert message["Content-Language"] == expected
            assert message["Subject"] == edition.subject
            assert issue.editions[edition.edition_lang].title in body(message, "plain")
