"""The command line as a shell uses it: a reader that goes away, and files named from the project.

Each command runs as a subprocess with its standard output a pipe whose reader has already gone
(`publish.py report ISSUE | head` once `head` has its lines): it stops quietly with 141, as a Unix
tool does, without a traceback or an "Exception ignored" line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.cli import main
from tests.conftest import REPO, copy_project

SECRET = {"ANNAOBSERVA_SECRET": "s" * 40}


@pytest.fixture(scope="module")
def demo_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose subscribers (the demo's list) were sent 2011-07: a report to print."""
    root = copy_project(tmp_path_factory.mktemp("pipes") / "project")
    shutil.copy(REPO / "subscribers" / "demo.csv", root / "subscribers" / "demo.csv")
    for argv in (["subscribers", "import", "subscribers/demo.csv", "--confirmed", "--note", "demo"],
                 ["send", "2011-07", "--no-progress"]):
        subprocess.run([sys.executable, str(REPO / "publish.py"), *argv], cwd=root, check=True,
                       capture_output=True, env={**os.environ, **SECRET}, timeout=300)
    return root


@pytest.mark.parametrize("argv", [
    ["report", "2011-07"], ["report", "2011-07", "--csv"], ["--help"], ["send", "--help"],
    ["check", "--no-email"], ["subscribers", "list"], ["subscribers", "export"], ["build"],
    ["subscribers", "coverage"], ["send", "2011-07", "--dry-run"],
])
def test_a_reader_that_goes_away_ends_any_command_quietly(
    demo_project: Path, argv: list[str]
) -> None:
    # argparse itself ignores a failed write of --help and exits 0.
    expected = 0 if "--help" in argv else 141
    with subprocess.Popen([sys.executable, str(REPO / "publish.py"), *argv], cwd=demo_project,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env={**os.environ, **SECRET}) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # `| head` that has read what it wanted
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == expected, err
    assert err == ""


def test_errors_name_files_relative_to_the_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = copy_project(tmp_path / "project")
    config = str(project / "newsletter.toml")
    assert main(["--config", config, "gather", "--feeds", "partners.toml"]) == 1
    assert capsys.readouterr().err == (
        "Error: partners.toml: not found; list the partner feeds there ([[feed]] name, url or "
        "path, language)\n")
    (project / "templates" / "issue.html").write_text("{% block main %}{{ oops(", "utf-8")
    assert main(["--config", config, "build"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: templates/issue.html:1: ") and str(project) not in err
