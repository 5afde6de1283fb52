"""The MIME message: parsed back with the standard `email` package, header by header."""

from __future__ import annotations

import dataclasses
import re

import lxml.html
import pytest

from newsletter.content.issues import Issue
from newsletter.mail.editions import (
    LANGUAGE_SLOT,
    UNSUBSCRIBE_SLOT,
    EmailEdition,
    Recipient,
    render_email_editions,
)
from newsletter.mail.message import HeaderInjection, InvalidRecipient, Sender, build_message
from newsletter.settings import Settings
from tests.email_support import NOW, body, fixture_issue, parse

ALICE = Recipient(id=42, email="alice@example.org", name="Alicia Peña", lang="es")


def sender(settings: Settings) -> Sender:
    """Who the project's messages are from."""
    return Sender.from_settings(settings.email)


@pytest.fixture
def editions(settings: Settings) -> dict[str, EmailEdition]:
    return render_email_editions(settings, fixture_issue(settings))


def test_message_is_multipart_alternative_text_then_html_in_utf8(editions) -> None:
    data = editions["es"].message_for(ALICE, now=NOW)
    message = parse(data)
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    for part in parts:
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert message["MIME-Version"] == "1.0"
    assert message.defects == [] and all(p.defects == [] for p in parts)


def test_message_uses_crlf_only_and_short_encoded_lines(editions) -> None:
    data = editions["es"].message_for(ALICE, now=NOW)
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"\r" not in data.replace(b"\r\n", b"")
    head, _, rest = data.partition(b"\r\n\r\n")
    assert all(len(line) <= 76 for line in rest.split(b"\r\n"))
    for line in head.split(b"\r\n"):
        # Header lines fold at 78, except one unbreakable List-Unsubscribe URL per line.
        assert len(line) <= 78 or re.match(rb"^(List-Unsubscribe: | )<\S+>,?$", line), line
        assert line.isascii()


def test_headers_come_from_settings_with_encoded_words(settings: Settings, editions) -> None:
    data = editions["es"].message_for(ALICE, now=NOW)
    raw_head = data.partition(b"\r\n\r\n")[0].decode("ascii")
    message = parse(data)
    assert message["From"].addresses[0].addr_spec == settings.email.from_address
    assert message["From"].addresses[0].display_name == settings.email.from_name
    assert message["Reply-To"] == settings.email.reply_to
    assert message["To"].addresses[0].addr_spec == "alice@example.org"
    assert message["To"].addresses[0].display_name == "Alicia Peña"
    assert message["List-Id"] == settings.email.list_id
    assert message["Content-Language"] == "es"
    assert message["Date"].datetime == NOW
    # The accented Spanish subject travels as RFC 2047 encoded-words and decodes back exactly.
    assert message["Subject"] == (
        "ANNAobserva N.º 12: Niñas, niños y adolescentes: protección en línea en las Américas"
    )
    assert re.search(r"^Subject: .*=\?utf-8\?[qb]\?", raw_head, re.M | re.I)
    to_line = re.search(r"^To: (.*)$", raw_head, re.M)
    assert to_line and to_line.group(1).startswith("=?utf-8?")
    assert "Peña" not in raw_head


def test_list_unsubscribe_has_https_and_mailto_with_a_signed_token(settings, editions) -> None:
    message = parse(editions["es"].message_for(ALICE, now=NOW))
    value = str(message["List-Unsubscribe"])
    https, mailto = re.findall(r"<([^>]+)>", value)
    prefix = f"{settings.email.subscription_url}unsubscribe/"
    assert https.startswith(prefix)
    assert settings.signer().verify("unsubscribe", https[len(prefix):]) == 42
    assert mailto.startswith(f"mailto:{settings.email.unsubscribe_mailto}?subject=unsubscribe%20")
    assert mailto.endswith(https[len(prefix):])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "alice" not in https and "alice" not in mailto


def test_an_edition_keeps_what_its_messages_need_not_the_settings(
    settings, editions, monkeypatch: pytest.MonkeyPatch
) -> None:
    edition = editions["es"]
    kept = {f.name: getattr(edition, f.name) for f in dataclasses.fields(edition)}
    assert not [name for name, value in kept.items() if isinstance(value, Settings)]
    assert edition.sender == Sender.from_settings(settings.email)
    assert edition.links.base == settings.email.subscription_url
    # The secret was read once, when the settings were loaded: messages do not read it again.
    monkeypatch.setenv("ANNAOBSERVA_SECRET", "changed-since")
    message = parse(edition.message_for(ALICE, now=NOW))
    https = re.findall(r"<([^>]+)>", str(message["List-Unsubscribe"]))[0]
    assert settings.signer().verify("unsubscribe", https.rsplit("/", 1)[1]) == 42


def test_message_id_is_stable_per_issue_language_and_subscriber(editions, settings) -> None:
    es, en = editions["es"], editions["en"]
    first = parse(es.message_for(ALICE, now=NOW))["Message-ID"]
    again = parse(es.message_for(ALICE, subject_prefix="[TEST] ", now=NOW.replace(hour=18)))
    assert again["Message-ID"] == first == es.message_id_for(ALICE)
    # A fresh render (after a crash) gives the same ID.
    fresh = render_email_editions(settings, fixture_issue(settings))["es"]
    assert fresh.message_id_for(ALICE) == first
    others = {
        es.message_id_for(dataclasses.replace(ALICE, id=43)),
        en.message_id_for(ALICE),
        first,
    }
    assert len(others) == 3
    assert re.fullmatch(r"<annaobserva\.2026-11\.es\.[0-9a-f]{24}@iin\.oea\.org>", first)
    assert "alice" not in first and "42" not in first


def test_bodies_decode_to_the_edition_with_the_recipients_links(settings, editions) -> None:
    edition = editions["es"]
    message = parse(edition.message_for(ALICE, now=NOW))
    html, text = body(message, "html"), body(message, "plain")
    assert "x-annaobserva-" not in html + text
    expected_html, expected_text = edition.personalise(ALICE)
    assert html == expected_html
    assert text == expected_text
    doc = lxml.html.fromstring(html)
    links = doc.xpath("//a/@href")
    unsubscribe = [h for h in links if "/unsubscribe/" in h]
    language = [h for h in links if "/language/" in h]
    assert len(unsubscribe) == 1 and len(language) == 1
    token = unsubscribe[0].rsplit("/", 1)[1]
    assert settings.signer().verify("unsubscribe", token) == 42
    assert settings.signer().verify("language", language[0].rsplit("/", 1)[1]) == 42
    assert unsubscribe[0] in text and language[0] in text


def test_html_has_lang_dir_view_in_browser_other_languages_and_address(settings, editions):
    html, _ = editions["es"].personalise(ALICE)
    doc = lxml.html.fromstring(html)
    assert doc.get("lang") == "es" and doc.get("dir") == "ltr"
    hrefs = doc.xpath("//a/@href")
    assert "https://annaobserva.iin.oea.org/es/2026-11/" in hrefs
    assert "https://annaobserva.iin.oea.org/en/2026-11/" in hrefs
    assert settings.site.postal_address in doc.text_content()
    preheader = doc.xpath("//div[@class='preheader']")[0]
    assert preheader.text_content().startswith("Avances de los Estados")
    # Every image and link is absolute; every image has alt text.
    for img in doc.iter("img"):
        assert img.get("src").startswith("https://") and img.get("alt")
    assert all(h.startswith(("https://", "mailto:")) for h in hrefs)


def test_css_is_inlined_and_only_media_rules_stay_in_style(editions) -> None:
    html = editions["es"].html
    doc = lxml.html.fromstring(html)
    styles = [s.text for s in doc.iter("style")]
    assert len(styles) == 1
    # What is left in <style> is only what cannot be inlined: the two @media blocks.
    outside_media = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}", "", styles[0]).strip()
    assert outside_media == ""
    assert "@media only screen and (max-width: 620px)" in styles[0]
    assert "prefers-color-scheme: dark" in styles[0]
    # premailer's default would strip these, and the phone and dark rules would stop working.
    assert styles[0].count("!important") >= 10
    for xpath in ("//body", "//h1", "//h2", "//p", "//li", "//a", "//img", "//td", "//blockquote"):
        elements = doc.xpath(xpath)
        assert elements, xpath
        assert all(el.get("style") for el in elements), f"{xpath} has no inline style"
    # Presentational attributes premailer adds by default are left out (the HTML checker
    # rejects them); the only ones are in the Outlook-only conditional comment. Images carry
    # their own width and height (read from the file), which the checker allows.
    for attribute in ("bgcolor", "valign", "align"):
        assert not doc.xpath(f"//*[@{attribute}]"), attribute
    for attribute in ("width", "height"):
        assert {el.tag for el in doc.xpath(f"//*[@{attribute}]")} <= {"img"}, attribute


def test_placeholders_survive_inlining_where_jinja_style_ones_would_not(settings) -> None:
    from newsletter.mail.editions import inline_css

    page = (
        '<html><head></head><body><a class="x" href="https://h/{{ token }}">a</a>'
        f'<a class="x" href="https://h/{UNSUBSCRIBE_SLOT}">b</a></body></html>'
    )
    out = inline_css(page, ".x { color: red; }")
    assert "{{ token }}" not in out  # the known trap: premailer URL-encodes it
    assert f'href="https://h/{UNSUBSCRIBE_SLOT}"' in out
    assert f"{LANGUAGE_SLOT}" not in out


def test_subject_prefix_is_encoded_with_the_subject(editions) -> None:
    message = parse(editions["en"].message_for(ALICE, subject_prefix="[TEST] ", now=NOW))
    assert message["Subject"] == (
        "[TEST] ANNAobserva No. 12: Children and adolescents: online protection in the Americas"
    )
    assert message["Content-Language"] == "en"


def test_a_colon_after_a_non_ascii_word_in_the_subject_is_encoded(settings) -> None:
    # Python 3.11's header folder raises UnicodeEncodeError on "N.º 3: Viena: …".
    data = build_message(
        sender(settings),
        to="x@example.org", subject="ANNAobserva N.º 3: Viena: proteger a la infancia",
        html="<p>x</p>", text="x", lang="es", message_id="<a@b>", now=NOW,
    )
    assert parse(data)["Subject"] == "ANNAobserva N.º 3: Viena: proteger a la infancia"


def test_a_line_break_in_a_title_is_an_error_naming_the_file(settings: Settings) -> None:
    issue = fixture_issue(settings)
    es = issue.editions["es"]
    broken = Issue(issue.slug, issue.folder,
                   {"es": dataclasses.replace(es, title="Hola\r\nBcc: everyone@example.org")})
    with pytest.raises(HeaderInjection, match=r"2026-11/es\.md: the title contains a line break"):
        render_email_editions(settings, broken)


def test_a_line_break_in_a_recipient_is_refused(editions) -> None:
    with pytest.raises(HeaderInjection):
        editions["es"].message_for(Recipient(1, "a@example.org", "Eve\nBcc: x@y.org"), now=NOW)
    with pytest.raises(InvalidRecipient):
        editions["es"].message_for(Recipient(1, "a@example.org\r\nBcc: x@y.org"), now=NOW)
    with pytest.raises(InvalidRecipient, match=r"ña\*\*\*@example.org: a non-ASCII"):
        editions["es"].message_for(Recipient(1, "ñandú@example.org"), now=NOW)


def test_build_message_serves_the_confirmation_mail(settings: Settings) -> None:
    data = build_message(
        sender(settings),
        to="nueva@example.org", subject="Confirme su suscripción a ANNAobserva",
        html="<p>Confirme: <a href='https://x/c/t'>aquí</a></p>", text="Confirme: https://x/c/t\n",
        lang="es", message_id="<confirm.7@iin.oea.org>", now=NOW,
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    message = parse(data)
    assert message["Subject"] == "Confirme su suscripción a ANNAobserva"
    assert message["Message-ID"] == "<confirm.7@iin.oea.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None
    assert body(message, "plain") == "Confirme: https://x/c/t\n"
    assert "aquí" in body(message, "html")
    with_unsubscribe = parse(build_message(
        sender(settings),
        to="a@example.org", subject="s", html="<p>h</p>", text="t", lang="en",
        message_id="<m@x>", unsubscribe_url="https://x/s/unsubscribe/TOKEN",
        unsubscribe_token="TOKEN", now=NOW,
    ))
    assert str(with_unsubscribe["List-Unsubscribe"]) == (
        "<https://x/s/unsubscribe/TOKEN>, "
        "<mailto:unsubscribe@iin.oea.org?subject=unsubscribe%20TOKEN>"
    )
    with pytest.raises(HeaderInjection):
        build_message(sender(settings), to="a@example.org", subject="s", html="h", text="t",
                      lang="en", message_id="<m@x>", extra_headers={"X-Note": "a\nBcc: b@c"},
                      now=NOW)


def test_messages_are_generated_lazily(editions) -> None:
    produced = editions["es"].messages(
        Recipient(i, f"s{i}@example.org") for i in range(1, 4)
    )
    first = next(produced)
    assert first[0].id == 1 and parse(first[1])["To"].addresses[0].addr_spec == "s1@example.org"
    assert [r.id for r, _ in produced] == [2, 3]
