"""One wording system: every interface word in templates/wording/<lang>.toml, complete in every
offered language, with the same placeholders; one loader and one error that names file and key."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from newsletter.settings import load_settings
from newsletter.wording import WordingError, load_wording, placeholders
from tests.conftest import REPO

TEMPLATES = REPO / "templates"
OFFERED = load_settings(REPO / "newsletter.toml").site.languages


def test_every_offered_language_has_every_word_with_the_same_placeholders() -> None:
    wording = load_wording(TEMPLATES, OFFERED)  # the loader's own comparison passes…
    reference = wording.tables[OFFERED[0]]
    for lang in OFFERED:  # …and, said plainly, each language has exactly the first one's words
        table = wording.tables[lang]
        assert sorted(table) == sorted(reference), lang
        for section, words in reference.items():
            assert sorted(table[section]) == sorted(words), (lang, section)
            for key, text in words.items():
                mine = table[section][key]
                assert type(mine) is type(text), (lang, section, key)
                if isinstance(text, str):
                    assert placeholders(mine) == placeholders(text), (lang, section, key)
                    assert mine.strip(), (lang, section, key)


def test_the_wording_folder_holds_one_file_per_offered_language() -> None:
    assert sorted(p.stem for p in (TEMPLATES / "wording").glob("*.toml")) == sorted(OFFERED)
    # No other words file is left over from before: one system.
    assert not list(TEMPLATES.rglob("strings.toml"))
    assert not (TEMPLATES / "email-strings.toml").exists()


def _used_keys() -> dict[str, set[str]]:
    """{section: keys} that the templates and the code read."""
    used: dict[str, set[str]] = {}
    for path in TEMPLATES.rglob("*"):
        if path.suffix not in (".html", ".txt", ".xml"):
            continue
        text = path.read_text(encoding="utf-8")
        if path.parent.name == "subscribe":
            section = "subscription"
        elif path.name.startswith("email"):
            section = "email"
        else:
            section = "archive"
        name = "words" if section == "email" else "t"
        used.setdefault(section, set()).update(re.findall(rf"\b{name}\.(\w+)", text))
    for path in (REPO / "newsletter").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for section, key in re.findall(r'\.word\(\s*\w+,\s*"(\w+)",\s*"(\w+)"', text):
            used.setdefault(section, set()).add(key)
    return used


def test_every_word_the_templates_and_code_read_exists() -> None:
    wording = load_wording(TEMPLATES, OFFERED)
    for section, keys in _used_keys().items():
        missing = keys - set(wording.tables[OFFERED[0]].get(section, {}))
        assert not missing, f"[{section}] lacks {sorted(missing)}"


# -- the loader's errors ---------------------------------------------------------------------

@pytest.fixture
def templates(tmp_path: Path) -> Path:
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    return tmp_path / "templates"


def edit(templates: Path, lang: str, old: str, new: str) -> Path:
    path = templates / "wording" / f"{lang}.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_missing_file_says_which_and_what_to_do(templates: Path) -> None:
    (templates / "wording" / "fr.toml").unlink()
    with pytest.raises(WordingError, match=r"wording/fr\.toml: not found: every language in "
                                           r"\[site\] languages needs its interface words"):
        load_wording(templates, OFFERED)
    assert load_wording(templates, ("es", "en", "pt")).languages == ("es", "en", "pt")


def test_a_missing_word_names_the_file_the_table_and_the_key(templates: Path) -> None:
    edit(templates, "pt", 'unsubscribe_title = "Cancelar a assinatura"\n', "")
    with pytest.raises(WordingError) as caught:
        load_wording(templates, OFFERED)
    assert str(caught.value).endswith(
        "wording/pt.toml: [subscription] has no 'unsubscribe_title' (templates/wording/es.toml "
        "has it): add it in 'pt'")


def test_a_word_only_one_language_has_is_missing_in_the_others(templates: Path) -> None:
    edit(templates, "fr", "[email]\n", '[email]\nsignature = "L\'équipe"\n')
    with pytest.raises(WordingError, match=r"wording/es\.toml: \[email\] has no 'signature' "
                                           r"\(templates/wording/fr\.toml has it\)"):
        load_wording(templates, OFFERED)


def test_placeholders_must_match_the_first_languages(templates: Path) -> None:
    edit(templates, "fr", 'number = "N° {number}"', 'number = "N° {numero}"')
    with pytest.raises(WordingError) as caught:
        load_wording(templates, OFFERED)
    assert str(caught.value).endswith(
        "wording/fr.toml: [email] number has the placeholders {numero}, but "
        "templates/wording/es.toml has {number}: keep the same ones (they are filled in)")


@pytest.mark.parametrize(("old", "new", "message"), [
    ("[email]\n", "[email\n", r"wording/en\.toml: .*line"),
    ('optional = "optional"', "optional = 3",
     r"wording/en\.toml: \[subscription\] optional must be text \(or a list of texts\)"),
    ('optional = "optional"', 'optional = ["a", "b"]',
     r"wording/en\.toml: \[subscription\] optional must be a text, as in "
     r"templates/wording/es\.toml"),
])
def test_malformed_words_are_named(templates: Path, old: str, new: str, message: str) -> None:
    edit(templates, "en", old, new)
    with pytest.raises(WordingError, match=message):
        load_wording(templates, OFFERED)


def test_an_edited_file_is_read_again(templates: Path) -> None:
    first = load_wording(templates, OFFERED)
    assert first.word("en", "email", "unsubscribe") == "Unsubscribe"
    path = edit(templates, "en", 'unsubscribe = "Unsubscribe"', 'unsubscribe = "Leave the list"')
    import os

    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_wording(templates, OFFERED).word("en", "email", "unsubscribe") == "Leave the list"
    assert first.word("en", "email", "number", number=7) == "No. 7"


def test_check_and_build_report_a_wording_problem_at_its_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from newsletter.cli import main

    path = edit(project / "templates", "pt", 'unsubscribe_title = "Cancelar a assinatura"\n', "")
    header = path.read_text(encoding="utf-8").split("\n").index("[subscription]") + 1
    expected = (f"templates/wording/pt.toml:{header}: [subscription] has no 'unsubscribe_title' "
                "(templates/wording/es.toml has it): add it in 'pt'")
    config = str(project / "newsletter.toml")
    assert main(["--config", config, "check", "--no-email"]) == 1
    assert expected in capsys.readouterr().out.splitlines()
    assert main(["--config", config, "build"]) == 1
    assert expected in capsys.readouterr().err
    assert not (project / "_site").exists()
