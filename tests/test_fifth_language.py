"""Adding a fifth language is one file plus the settings: a project that offers Italian, with a
test-only templates/wording/it.toml and no change to the code or the other languages' files,
checks, builds, lists every issue in Italian, mails Italian subscribers and serves the form."""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from pathlib import Path

import pytest

from newsletter.archive.build import build_site
from newsletter.cli import main
from newsletter.content import load_corpus
from newsletter.mail import render_email_editions
from newsletter.settings import Settings, load_settings
from tests.plugins.webapp import serve

# The Italian words this test looks for; the rest of the file is the English one's (a real
# translation would replace every text, the mechanism is the same).
ITALIAN = {
    ("archive", "archive"): "Archivio dei bollettini",
    ("archive", "in_language"): "in {language}",
    ("archive", "choose_language"): "Scegli la tua lingua",
    ("archive", "states_slug"): "stati",
    ("archive", "topics_slug"): "temi",
    ("feed", "title"): "{site} — bollettino in italiano",
    ("email", "view_in_browser"): "Vedi nel browser",
    ("email", "not_available"): "Questo numero non è ancora disponibile in italiano: lo "
                                "ricevi in {language}.",
    ("subscription", "subscribe_title"): "Iscriviti ad ANNAobserva",
    ("new", "title"): "Titolo del bollettino",
}


def write_italian(templates: Path) -> Path:
    """templates/wording/it.toml: the English file with the Italian words above."""
    english = tomllib.loads((templates / "wording" / "en.toml").read_text(encoding="utf-8"))
    for (section, key), text in ITALIAN.items():
        english[section][key] = text
    lines = []
    for section, words in english.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}"
                  for key, value in words.items()]
        lines.append("")
    path = templates / "wording" / "it.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture
def italian(languages_project: Path) -> Settings:
    root = languages_project
    before = {p.name: p.read_bytes() for p in (root / "templates" / "wording").iterdir()}
    write_italian(root / "templates")
    toml = root / "newsletter.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace('languages = ["es", "en", "pt", "fr"]',
                        'languages = ["es", "en", "pt", "fr", "it"]')
    text = text.replace('fr = "ANNAobserva"\n', 'fr = "ANNAobserva"\nit = "ANNAobserva"\n', 1)
    text = text.replace("\n[editors]", '\nit = "Bollettino dell\'Osservatorio dell\'IIN-OSA '
                        'sullo sfruttamento sessuale commerciale di bambini e adolescenti"\n'
                        "\n[editors]", 1)
    toml.write_text(text, encoding="utf-8")
    # The other languages' files are untouched: one file plus the settings.
    assert {p.name: p.read_bytes() for p in (root / "templates" / "wording").iterdir()
            if p.name != "it.toml"} == before
    return load_settings(toml)


def test_italian_is_checked_built_and_listed(italian: Settings,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    config = str(italian.root / "newsletter.toml")
    assert main(["--config", config, "check"]) == 0
    assert "0 error(s)" in capsys.readouterr().out
    site = build_site(italian, today=dt.date(2026, 11, 28)).output
    index = (site / "it" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="it"' in index and "<h1>Archivio dei bollettini</h1>" in index
    # Every issue, each by its Spanish edition, named in Italian by Babel: "in spagnolo".
    assert index.count('<span class="in-language">in spagnolo</span>') == 4
    assert (site / "it" / "stati" / "br" / "index.html").is_file()
    feed = (site / "it" / "feed.xml").read_text(encoding="utf-8")
    assert "<title>ANNAobserva — bollettino in italiano</title>" in feed
    assert "<item>" not in feed
    root = (site / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<li lang="it"><a href="/it/"', root) and "Italiano" in root
    assert "Scegli la tua lingua" in root


def test_an_italian_subscriber_gets_the_spanish_edition_in_italian_words(
    italian: Settings
) -> None:
    issue = load_corpus(italian).get("2026-11")
    edition = render_email_editions(italian, issue)["it"]
    assert (edition.lang, edition.edition_lang) == ("it", "es")
    assert "Questo numero non è ancora disponibile in italiano: lo ricevi in spagnolo." in (
        " ".join(edition.text.split()))
    assert "Vedi nel browser" in edition.text and '<html lang="it"' in edition.html


def test_the_form_and_new_speak_italian(italian: Settings,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    server = serve(italian)
    running = next(server)
    try:
        reply = running.request("GET", "it/")
        assert reply.status == 200 and "<h1>Iscriviti ad ANNAobserva</h1>" in reply.text
        assert '<option value="it"' in running.request("GET", "es/").text
    finally:
        for _ in server:
            pass
    config = str(italian.root / "newsletter.toml")
    assert main(["--config", config, "new", "--date", "2026-12-01", "--lang", "it"]) == 0
    capsys.readouterr()
    written = (italian.path("issues") / "2026-12" / "it.md").read_text(encoding="utf-8")
    assert 'title: "Titolo del bollettino"' in written
