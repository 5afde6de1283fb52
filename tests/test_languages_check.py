"""`check` with four offered languages, two required: a missing required edition is an error, a
missing optional one is nothing, and translations are compared among the editions that exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.content import load_corpus, run_checks
from newsletter.settings import Settings, load_settings


def problems(settings: Settings) -> list[str]:
    corpus = load_corpus(settings)
    return [str(p) for p in sorted([*corpus.problems, *run_checks(settings, corpus)])]


def test_the_archive_with_translations_on_its_newest_issue_only_is_clean(
    languages_settings: Settings, languages_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert problems(languages_settings) == []
    assert main(["--config", str(languages_project / "newsletter.toml"), "check"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "4 issues, 10 editions: 0 error(s), 0 warning(s)")


def test_a_missing_required_edition_is_an_error_an_optional_one_nothing(
    languages_settings: Settings
) -> None:
    issues = languages_settings.path("issues")
    (issues / "2026-11" / "fr.md").unlink()
    assert problems(languages_settings) == []
    (issues / "2026-03" / "en.md").unlink()
    assert problems(languages_settings) == [
        "issues/2026-03/es.md:1: the 'en' edition is missing: add issues/2026-03/en.md "
        "(en is in [site] required_languages: every issue is written in it)"]


def test_every_offered_language_required_by_default(languages_project: Path) -> None:
    toml = languages_project / "newsletter.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(
        'required_languages = ["es", "en"]\n', ""), encoding="utf-8")
    found = problems(load_settings(toml))
    assert len(found) == 6  # pt and fr for each of the three older issues
    assert found[0] == ("issues/2026-03/es.md:1: the 'fr' edition is missing: add "
                        "issues/2026-03/fr.md (fr is in [site] required_languages: every issue "
                        "is written in it)")


def test_drift_compares_the_editions_that_exist(languages_settings: Settings) -> None:
    portuguese = languages_settings.path("issues") / "2026-11" / "pt.md"
    text = portuguese.read_text(encoding="utf-8")
    portuguese.write_text(text.replace("## Próximos passos\n\n", ""), encoding="utf-8")
    assert problems(languages_settings) == [
        "issues/2026-11/pt.md:11: translations drifted apart: pt has 1 ## section, es has 2"]


def test_a_link_to_an_edition_that_does_not_exist_names_one_that_does(
    languages_settings: Settings
) -> None:
    portuguese = languages_settings.path("issues") / "2026-11" / "pt.md"
    text = portuguese.read_text(encoding="utf-8")
    portuguese.write_text(text.replace("](../2026-09/es.md) (em espanhol)", "](../2026-09/)"),
                          encoding="utf-8")
    line = next(n for n, row in enumerate(portuguese.read_text(encoding="utf-8").split("\n"), 1)
                if "../2026-09/" in row)
    assert problems(languages_settings) == [
        f"issues/2026-11/pt.md:{line}: link ../2026-09/ goes to the 'pt' edition of '2026-09', "
        "which does not exist (no file issues/2026-09/pt.md); link to one that exists, e.g. "
        "../2026-09/es.md"]
