"""newsletter.toml: a wrong key or type is an error that names it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from newsletter.errors import SettingsError
from newsletter.settings import load_settings
from tests.conftest import REPO


def write(project: Path, old: str, new: str) -> Path:
    path = project / "newsletter.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_committed_settings_load(project: Path) -> None:
    settings = load_settings(project / "newsletter.toml")
    assert settings.site.languages == ("es", "en", "pt", "fr")
    assert settings.site.required_languages == ("es", "en")
    assert settings.site.optional_languages == ("pt", "fr")
    assert settings.site.timezone == "America/Montevideo"
    assert settings.site.default_language == "es"
    assert settings.root == project.resolve()
    assert dict(settings.delivery.fallback) == {"fr": "es", "pt": "es"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("feed_items = 20", "feed_items = 20\ncolour = 'blue'",
         "unknown key [site] 'colour'"),
        ("feed_items = 20", 'feed_items = "many"', "site.feed_items must be int, not str ('many')"),
        ('languages = ["es", "en", "pt", "fr"]', 'languages = "es"',
         "site.languages must be a list of str"),
        ('default_language = "es"', 'default_language = "de"',
         "[site] default_language 'de' is not one of languages ['es', 'en', 'pt', 'fr']"),
        ('languages = ["es", "en", "pt", "fr"]', 'languages = ["es", "en", "PT"]',
         "[site] languages: 'PT' is not a two-letter ISO 639-1 code in lower case"),
        ('required_languages = ["es", "en"]', 'required_languages = ["es", "de"]',
         "[site] required_languages: 'de' is not one of languages ['es', 'en', 'pt', 'fr'] "
         "(a required language must be offered)"),
        ('required_languages = ["es", "en"]', 'required_languages = ["en"]',
         "[site] required_languages must include default_language 'es'"),
        ('timezone = "America/Montevideo"', 'timezone = "America/Atlantis"',
         "[site] timezone 'America/Atlantis' is not a time zone name"),
        ('fr = "es"', 'fr = "de"',
         "[delivery.fallback] fr = 'de' is not an offered language (es, en, pt, fr)"),
        ('fr = "es"', 'fr = "fr"', "[delivery.fallback] fr falls back to itself"),
        ('[editors]\nname = "Observatorio IIN-OEA"\n', "[editors]\n", "missing key 'editors.name'"),
        ('transport = "outbox"', 'transport = "pigeon"',
         "[delivery] transport must be outbox, smtp or ses, not 'pigeon'"),
        ('base_url = "https://annaobserva.iin.oea.org/"', 'base_url = "annaobserva.org"',
         "[site] base_url must start with https:// or http://"),
        ("[site]", "[site\n", "newsletter.toml: "),
    ],
)
def test_a_bad_setting_is_named(project: Path, old: str, new: str, message: str) -> None:
    path = write(project, old, new)
    with pytest.raises(SettingsError) as info:
        load_settings(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_a_missing_file_says_what_to_do(tmp_path: Path) -> None:
    missing = "not found .run from the project folder or pass --config"
    with pytest.raises(SettingsError, match=missing):
        load_settings(tmp_path / "newsletter.toml")


def test_the_secret_comes_from_the_environment_only(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    strong = "from-the-environment-0123456789-abcdefghij"
    monkeypatch.setenv("ANNAOBSERVA_SECRET", strong)
    settings = load_settings(project / "newsletter.toml")
    assert settings.email.secret == strong and settings.signer().strong
    monkeypatch.delenv("ANNAOBSERVA_SECRET")
    bare = load_settings(project / "newsletter.toml")
    # No secret in the repository: without the variable, the demo value signs what stays here.
    assert bare.email.secret == ""
    assert bare.signer().weakness == "ANNAOBSERVA_SECRET is not set"
    assert "secret =" not in (REPO / "newsletter.toml").read_text(encoding="utf-8")
    # Read once, where the settings are loaded: a later change of the environment is not seen,
    # and the secret never shows in the settings' repr (logs, cache keys).
    assert settings.email.secret == strong
    assert strong not in repr(settings) and strong not in repr(settings.signer())


def test_a_secret_written_in_the_file_is_refused(project: Path) -> None:
    path = write(project, "[email]\n", '[email]\nsecret = "a-real-looking-secret-in-a-file-123"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: [email] secret: the signing secret is read from the ANNAOBSERVA_SECRET "
        "environment variable only, never from a file in the repository; delete the line and "
        "set ANNAOBSERVA_SECRET")


def test_the_subscription_url_ends_in_a_slash(project: Path) -> None:
    toml = project / "newsletter.toml"
    text = toml.read_text(encoding="utf-8")
    for written in ("https://x.org/s", "https://x.org/s/", "https://x.org/s//"):
        toml.write_text(re.sub(r'subscription_url = "[^"]*"', f'subscription_url = "{written}"',
                               text), encoding="utf-8")
        assert load_settings(toml).email.subscription_url == "https://x.org/s/"


def test_required_languages_default_to_every_offered_one(project: Path) -> None:
    path = write(project, 'required_languages = ["es", "en"]\n', "")
    site = load_settings(path).site
    assert site.required_languages == site.languages == ("es", "en", "pt", "fr")
    assert site.optional_languages == ()


def test_every_fallback_chain_ends_in_the_default_language(project: Path) -> None:
    path = write(project, 'fr = "es"', 'fr = "pt"\nit = "fr"')  # it: a language no longer offered
    settings = load_settings(path)
    assert settings.fallback_chain("es") == ("es",)
    assert settings.fallback_chain("en") == ("en", "es")  # no entry: the default language
    assert settings.fallback_chain("pt") == ("pt", "es")
    assert settings.fallback_chain("fr") == ("fr", "pt", "es")
    assert settings.fallback_chain("it") == ("it", "fr", "pt", "es")
    assert settings.fallback_chain("de") == ("de", "es")
    assert settings.edition_for("fr", ["es", "en", "pt"]) == "pt"
    assert settings.edition_for("fr", ["es", "en"]) == "es"
    assert settings.edition_for("fr", ["en"]) is None
    # The language a reader is addressed in is always an offered one.
    assert [settings.reader_language(lang) for lang in ("pt", "it", "de")] == ["pt", "fr", "es"]


def test_a_fallback_cycle_ends_in_the_default_language(project: Path) -> None:
    path = write(project, 'pt = "es"\nfr = "es"', 'pt = "fr"\nfr = "pt"')
    settings = load_settings(path)
    assert settings.fallback_chain("pt") == ("pt", "fr", "es")
    assert settings.fallback_chain("fr") == ("fr", "pt", "es")
