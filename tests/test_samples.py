"""The sample issues in the repository's issues/ are checked as samples, and only here.

Editors add and change issues there, so every other test runs on tests/fixtures/issues (a frozen
copy); this one asks of the live samples only what an editor's commit must keep true: `check`
finds no error in them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsletter.cli import main
from tests.conftest import REPO, copy_project


def test_the_samples_in_issues_pass_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project", issues=False)
    shutil.rmtree(project / "issues")
    shutil.copytree(REPO / "issues", project / "issues")
    code = main(["--config", str(project / "newsletter.toml"), "check"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert " 0 error(s)" in out.splitlines()[-1]
