"""Subscribers in every offered language, on the fixture archive where only the newest of four
issues (2026-11) has pt and fr: each gets their edition where it exists, else the fallback
edition inside their own words; the ledger and the report say which; a language the site stops
offering keeps its subscribers counted and served."""

from __future__ import annotations

import re
from email.message import EmailMessage
from html import unescape
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.delivery import Ledger, SendOptions, delivery_report, run_send
from newsletter.mail import open_transport, render_email_editions
from newsletter.settings import Settings, load_settings
from newsletter.subscribers import NewSubscriber, SubscriberStore
from tests.delivery_support import load_issue, outbox_messages

READERS = {"es": "UY", "en": "JM", "pt": "BR", "fr": "HT"}


def add_readers(settings: Settings) -> None:
    """One confirmed reader per offered language, `reader-<lang>@example.org`."""
    with SubscriberStore.open(settings) as store, store.database.transaction():
        for lang, state in READERS.items():
            store.insert(NewSubscriber(f"reader-{lang}@example.org", f"Reader {lang}", "", state,
                                       lang), status="confirmed", source="import", note="test")


def send(settings: Settings, slug: str) -> dict[str, EmailMessage]:
    """Deliver one issue into the outbox; the messages of that issue, by reader language."""
    with SubscriberStore.open(settings) as store:
        issue = load_issue(settings, slug)
        run_send(store, Ledger.beside(store), issue, render_email_editions(settings, issue),
                 lambda: open_transport(settings, "outbox"), settings.delivery, SendOptions())
    messages = {}
    for message in outbox_messages(settings.path("outbox")):
        if f"annaobserva.{slug}." in message["Message-ID"]:
            lang = re.match(r"reader-(\w+)@", message["Delivered-To"]).group(1)  # type: ignore[union-attr]
            messages[lang] = message
    return messages


def flat(value: str) -> str:
    """Text with its line breaks and runs of spaces as one space (no-break spaces kept)."""
    return re.sub(r"[ \r\n]+", " ", value)


def text(message: EmailMessage) -> str:
    content = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return content.replace("\r\n", "\n")


def html(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_each_reader_gets_their_edition_where_it_exists(languages_settings: Settings) -> None:
    add_readers(languages_settings)
    newest = send(languages_settings, "2026-11")
    assert {lang: m["Content-Language"] for lang, m in newest.items()} == {
        "es": "es", "en": "en", "pt": "pt", "fr": "fr"}
    assert newest["pt"]["Subject"] == "ANNAobserva N.º 4: Crianças e adolescentes tomam a palavra"
    assert newest["fr"]["Subject"] == (
        "ANNAobserva N° 4\u00a0: Les enfants et les adolescents prennent la parole")
    assert '<html lang="pt" dir="ltr">' in html(newest["pt"])
    assert "ainda não está disponível" not in text(newest["pt"])
    assert "Ver no navegador:\nhttps://annaobserva.iin.oea.org/pt/2026-11/" in text(newest["pt"])
    assert "Voir dans le navigateur\u00a0:\nhttps://annaobserva.iin.oea.org/fr/2026-11/" in text(
        newest["fr"])


@pytest.mark.parametrize(("lang", "notice", "words", "language_name"), [
    ("pt", "Esta edição ainda não está disponível em português: enviamos a você a versão em "
           "espanhol.", ("Ver no navegador", "Mudar de idioma", "Cancelar a assinatura",
                         "Instituto Interamericano da Criança e do Adolescente"), "Português"),
    ("fr", "Ce numéro n'est pas encore disponible en français\u00a0: nous vous l'envoyons en "
           "espagnol.", ("Voir dans le navigateur", "Changer de langue", "Se désabonner",
                         "Institut interaméricain de l'enfance et de l'adolescence"), "Français"),
])
def test_an_older_issue_is_the_spanish_edition_in_the_readers_own_words(
    languages_settings: Settings, lang: str, notice: str, words: tuple[str, ...], language_name: str
) -> None:
    add_readers(languages_settings)
    message = send(languages_settings, "2026-09")[lang]
    body_text, body_html = text(message), html(message)
    # The Spanish edition, its title and text untouched…
    assert message["Content-Language"] == f"es, {lang}"
    assert "Autorizaciones de viaje y control migratorio" in message["Subject"]
    assert "La revisión en Haití" in body_text
    # …inside the reader's words: one line saying why, and every fixed word in their language.
    assert flat(body_text).count(notice) == 1
    assert flat(unescape(body_html)).count(notice) == 1
    for word in words:
        assert word in body_text and word in unescape(body_html)
    assert f'<html lang="{lang}" dir="ltr">' in body_html
    assert '<div lang="es" dir="ltr">' in body_html
    assert "https://annaobserva.iin.oea.org/es/2026-09/" in body_text  # view in browser: es
    assert language_name not in body_text  # "also in" names only editions that exist
    for spanish in ("Ver en el navegador", "Darse de baja", "Cambiar de idioma"):
        assert spanish not in body_text


def test_the_ledger_and_report_record_which_edition_each_reader_got(
    languages_settings: Settings, languages_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_readers(languages_settings)
    send(languages_settings, "2026-09")
    with SubscriberStore.open(languages_settings) as store:
        rows = {(r.lang, r.edition_lang, r.sent) for r in
                delivery_report(Ledger.beside(store), "2026-09").rows}
    assert rows == {("es", "es", 1), ("en", "en", 1), ("pt", "es", 1), ("fr", "es", 1)}
    assert main(["--config", str(languages_project / "newsletter.toml"), "report", "2026-09",
                 "--csv"]) == 0
    csv = capsys.readouterr().out.splitlines()
    assert csv[0].startswith("lang,edition_lang,member_state")
    assert "pt,es,BR,1,1" in "\n".join(csv) and "fr,es,HT,1,1" in "\n".join(csv)


def test_the_dry_run_and_the_send_say_who_gets_a_fallback(
    languages_settings: Settings, languages_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_readers(languages_settings)
    toml = str(languages_project / "newsletter.toml")
    assert main(["--config", toml, "send", "2026-09", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Fallback: 1 pt subscriber gets the es edition (no pt edition yet), with the email's "\
           "own words in pt." in out
    assert main(["--config", toml, "send", "2026-11", "--dry-run"]) == 0
    assert "Fallback" not in capsys.readouterr().out


def test_a_language_no_longer_offered_is_counted_and_served(
    languages_settings: Settings, languages_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_readers(languages_settings)
    # The operator stops offering French: its readers stay, counted under fr and marked…
    toml = languages_project / "newsletter.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'languages = ["es", "en", "pt", "fr"]', 'languages = ["es", "en", "pt"]'), encoding="utf-8")
    assert main(["--config", str(toml), "subscribers", "stats"]) == 0
    stats = capsys.readouterr().out.splitlines()
    assert stats[0].split() == ["status", "es", "en", "pt", "fr*", "total"]
    assert stats[2].split() == ["confirmed", "1", "1", "1", "1", "4"]
    assert stats[-1].startswith("* fr: no longer in [site] languages;")
    assert main(["--config", str(toml), "subscribers", "coverage"]) == 0
    coverage = capsys.readouterr().out
    rows = {line[:2]: line.split() for line in coverage.splitlines()}
    assert rows["HT"][-5:] == ["0", "0", "0", "1", "1"]
    assert "* fr: no longer in [site] languages" in coverage
    # …and still receive every issue: the fallback chain's edition, in its language's words.
    settings = load_settings(toml)
    assert main(["--config", str(toml), "send", "2026-11", "--dry-run"]) == 0
    assert "Fallback: 1 fr subscriber gets the es edition, with the email's own words in es: fr "\
           "is no longer in [site] languages." in capsys.readouterr().out
    messages = send(settings, "2026-11")
    assert sorted(messages) == ["en", "es", "fr", "pt"]
    assert messages["fr"]["Content-Language"] == "es"
    assert "Ver en el navegador" in text(messages["fr"])
    assert "français" not in text(messages["fr"])


def test_import_and_add_accept_every_offered_language(
    languages_project: Path, languages_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = languages_project / "liaisons.csv"
    csv.write_text("email,name,organisation,state,lang\n"
                   "ponto.focal@mdh.gov.br,Ponto focal,MDH,BR,pt\n"
                   "point.focal@ibesr.gouv.ht,Point focal,IBESR,HT,fr\n"
                   "liaison@example.de,Someone,Nowhere,CA,de\n", encoding="utf-8")
    config = str(languages_project / "newsletter.toml")
    # The good rows are imported; the bad one is reported (and makes the exit code 1).
    assert main(["--config", config, "subscribers", "import", str(csv), "--confirmed",
                 "--note", "designated by the national commissions"]) == 1
    out = capsys.readouterr()
    assert "imported 2 of 3 rows as confirmed" in out.out + out.err
    assert "unknown language 'de' (use one of es, en, pt, fr)" in out.out + out.err
    assert main(["--config", config, "subscribers", "add", "conanda@mdh.gov.br", "--state", "BR",
                 "--lang", "pt"]) == 0
    assert "(BR, pt) as pending" in capsys.readouterr().out
    with SubscriberStore.open(languages_settings) as store:
        assert sorted((s.state, s.lang, s.status) for s in store.iter_subscribers()) == [
            ("BR", "pt", "confirmed"), ("BR", "pt", "pending"), ("HT", "fr", "confirmed")]
