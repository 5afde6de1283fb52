"""Golden files of the fixture issue's email edition (HTML and text) per language.

`make golden` (ANNAOBSERVA_REFRESH_GOLDEN=1) rewrites them; review the diff before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newsletter.content import load_corpus
from newsletter.mail.editions import render_email_editions
from newsletter.settings import Settings
from tests.email_support import fixture_issue

GOLDEN = Path(__file__).resolve().parent / "golden" / "email"
REFRESH = os.environ.get("ANNAOBSERVA_REFRESH_GOLDEN") == "1"


def _compare(name: str, actual: str) -> None:
    path = GOLDEN / name
    if REFRESH:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run `make golden`"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} changed: review it, then run `make golden`"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_email_edition_matches_golden_files(settings: Settings, lang: str) -> None:
    edition = render_email_editions(settings, fixture_issue(settings))[lang]
    _compare(f"2026-11.{lang}.html", edition.html)
    _compare(f"2026-11.{lang}.txt", edition.text)
    _compare(f"2026-11.{lang}.subject", edition.subject + "\n")


SAMPLE = "2011-01"  # a committed sample issue with an image, in es and en


@pytest.mark.parametrize("lang", ["es", "en"])
def test_sample_issue_email_matches_golden_files(settings: Settings, lang: str) -> None:
    issue = load_corpus(settings).find(SAMPLE)
    assert issue is not None, f"the sample issue {SAMPLE} is missing from issues/"
    edition = render_email_editions(settings, issue)[lang]
    _compare(f"{SAMPLE}.{lang}.html", edition.html)
    _compare(f"{SAMPLE}.{lang}.txt", edition.text)


def test_email_golden_rendering_is_deterministic(settings: Settings) -> None:
    issue = fixture_issue(settings)
    first = render_email_editions(settings, issue)
    second = render_email_editions(settings, issue)
    assert [(e.html, e.text) for e in first.values()] == [(e.html, e.text) for e in second.values()]
