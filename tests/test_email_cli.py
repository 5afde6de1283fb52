"""`publish.py email ISSUE --lang es --to-file out.eml`, driven in-process through main()."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from newsletter.cli import main
from tests.email_support import EMAIL_ISSUE, body, parse


@pytest.fixture
def email_project(project: Path) -> Path:
    """The project copy with the email fixture issue (2026-11) beside the samples."""
    shutil.copytree(EMAIL_ISSUE / "2026-11", project / "issues" / "2026-11")
    return project


def run(project: Path, *argv: str) -> int:
    return main(["--config", str(project / "newsletter.toml"), *argv])


def test_email_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["email", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: publish.py email [-h] [--lang LANG] --to-file FILE")
    assert "the issue's folder name (2026-11) or number" in out
    assert "where to write the message, e.g. out.eml" in out


def test_email_writes_one_complete_message(
    email_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.eml"
    assert run(email_project, "email", "2026-11", "--lang", "es", "--to-file", str(out)) == 0
    data = out.read_bytes()
    message = parse(data)
    html = body(message, "html")
    html_size = len(html.encode("utf-8"))
    assert capsys.readouterr() == (
        f"Wrote {out} (2026-11, es): {len(data) / 1000:.1f} KB, "
        f"HTML {html_size / 1000:.1f} KB of 102 KB.\n",
        "",
    )
    assert message["Subject"].startswith("ANNAobserva N.º 12: Niñas, niños")
    assert message["To"].addresses[0].addr_spec == "annaobserva@iin.oea.org"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "x-annaobserva-" not in html


def test_email_by_number_in_the_default_language_with_a_prefix(
    email_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "twelve.eml"
    assert run(email_project, "email", "12", "--to-file", str(out),
               "--subject-prefix", "[PRUEBA] ") == 0
    assert capsys.readouterr().out.startswith(f"Wrote {out} (2026-11, es): ")
    message = parse(out.read_bytes())
    assert message["Subject"].startswith("[PRUEBA] ANNAobserva N.º 12")
    assert message["Content-Language"] == "es"


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["email", "1999-01", "--to-file", "{tmp}/x.eml"],
         "Error: no issue '1999-01' under issues/\n"),
        (["email", "2026-11", "--lang", "de", "--to-file", "{tmp}/x.eml"],
         "Error: --lang de: not one of the offered languages (es, en, pt, fr)\n"),
        (["email", "2026-11", "--to-file", "{tmp}/missing/dir/x.eml"],
         "Error: {tmp}/missing/dir/x.eml: cannot write the message (No such file or directory)\n"),
    ],
)
def test_email_errors_are_one_line_without_traceback(
    email_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    argv: list[str], error: str,
) -> None:
    argv = [a.format(tmp=tmp_path) for a in argv]
    assert run(email_project, *argv) == 1
    assert capsys.readouterr() == ("", error.format(tmp=tmp_path))


def test_email_without_to_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["email", "2026-11"]) == 2
    assert "the following arguments are required: --to-file" in capsys.readouterr().err
