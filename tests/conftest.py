"""Shared fixtures: a throw-away copy of the project per test, pinned locale and time zone.

Server fixtures (moto, aiosmtpd, Chromium) live in `tests/plugins/`, one module per server, and
are loaded here so every test module can ask for them by name.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from newsletter.settings import Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
pytest_plugins = sorted(
    f"tests.plugins.{p.stem}"
    for p in (REPO / "tests" / "plugins").glob("*.py") if p.stem != "__init__"
)

os.environ["TZ"] = "UTC"
time.tzset()
os.environ.setdefault("LC_ALL", "C.UTF-8")
# Tests never read a real secret from the environment; this one is strong enough for `serve` and
# every transport (32 bytes or more, not the demo value). Tests of weak secrets set their own.
TEST_SECRET = "test-secret-of-the-suite-0123456789abcdef"
os.environ["ANNAOBSERVA_SECRET"] = TEST_SECRET


FIXTURES = REPO / "tests" / "fixtures"
# The issues tests run on: a frozen copy of the samples as they were when the tests were written.
# Tests never read the live issues/ (editors add and change issues there; their commits must not
# break the suite): only tests/test_samples.py checks those, as samples.
ISSUES_FIXTURE = FIXTURES / "issues"


def copy_project(dest: Path, issues: bool = True) -> Path:
    """A fresh project folder: settings, templates, reference data and (optionally) the fixture
    issues, a frozen copy of the samples."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "newsletter.toml", dest / "newsletter.toml")
    shutil.copytree(REPO / "templates", dest / "templates")
    (dest / "subscribers").mkdir()
    shutil.copy(REPO / "subscribers" / "member-states.toml", dest / "subscribers")
    if issues:
        shutil.copytree(ISSUES_FIXTURE, dest / "issues")
    else:
        (dest / "issues").mkdir()
    return dest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project with the fixture issues (tests/fixtures/issues), under tmp_path."""
    return copy_project(tmp_path / "project")


@pytest.fixture
def settings(project: Path) -> Settings:
    """The copied project's settings."""
    return load_settings(project / "newsletter.toml")



@pytest.fixture
def site_project(tmp_path: Path) -> Path:
    """A project whose issues are the small, stable ones under tests/fixtures/site/ (golden
    files)."""
    root = copy_project(tmp_path / "site-project", issues=False)
    shutil.rmtree(root / "issues")
    shutil.copytree(FIXTURES / "site" / "issues", root / "issues")
    return root


@pytest.fixture
def site_settings(site_project: Path) -> Settings:
    """Settings of the golden-file project."""
    return load_settings(site_project / "newsletter.toml")


@pytest.fixture
def languages_project(tmp_path: Path) -> Path:
    """A project whose four issues are tests/fixtures/languages/issues: every one in es and en
    (the required languages), only the newest, 2026-11, also in pt and fr."""
    root = copy_project(tmp_path / "languages-project", issues=False)
    shutil.rmtree(root / "issues")
    shutil.copytree(FIXTURES / "languages" / "issues", root / "issues")
    return root


@pytest.fixture
def languages_settings(languages_project: Path) -> Settings:
    """Settings of the four-language project."""
    return load_settings(languages_project / "newsletter.toml")
