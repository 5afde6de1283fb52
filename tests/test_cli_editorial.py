"""The editorial commands, driven in-process with exact exit codes and output."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.content.loader import load_issues


def run(project: Path, *argv: str) -> int:
    return main(["--config", str(project / "newsletter.toml"), *argv])


@pytest.mark.parametrize("command", ["new", "check", "build", "preview", "demo"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: publish.py {command}")
    assert "-h, --help" in out


def test_top_level_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("new", "check", "build", "preview"):
        assert f"    {command} " in out


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["publish-everything"]) == 2
    assert "invalid choice: 'publish-everything'" in capsys.readouterr().err


def test_new_scaffolds_the_next_issue_in_every_language(
    site_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(site_project, "new", "--date", "2026-12-01") == 0
    assert capsys.readouterr().out.splitlines()[:2] == [
        "created issues/2026-12/es.md", "created issues/2026-12/en.md",
    ]
    corpus = load_issues(site_project / "issues", ["es", "en"], site_project)
    assert not corpus.errors
    new = corpus.find("2026-12")
    assert new is not None and new.number == 3 and new.status == "draft"
    assert "## Noticias de la región" in new.edition("es").body
    assert "## News from the region" in new.edition("en").body
    # A second `new` the same month gets its own folder.
    assert run(site_project, "new", "--date", "2026-12-15") == 0
    assert "created issues/2026-12-2/es.md" in capsys.readouterr().out


def test_new_refuses_an_existing_folder(
    site_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(site_project, "new", "--slug", "2011-06") == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "2011-06 already exists: choose another --slug" in err


def test_build_reports_what_it_did_and_then_that_nothing_changed(
    site_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(site_project, "build", "--today", "2026-11-28") == 0
    out = capsys.readouterr().out
    assert out.startswith("Built 2 issues (4 editions) into _site/: 72 files, 72 written")
    assert "\nSearch index: en, es refreshed in " in out and " s (4 pages).\n" in out
    # The pages link from the site's root: the way to look at them is the preview, not the files.
    assert out.endswith(" publish.py preview` (then http://127.0.0.1:8000/).\n")
    assert run(site_project, "build", "--today", "2026-11-28") == 0
    assert capsys.readouterr().out.startswith(
        "Nothing changed: _site/ is up to date (2 issues, 4 editions).")


def test_a_build_error_is_one_clear_message_without_traceback(
    site_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = site_project / "issues/2011-03/en.md"
    path.write_text(path.read_text(encoding="utf-8").replace("number: 1\n", ""), encoding="utf-8")
    assert run(site_project, "build") == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.err.startswith("Error: the issues have 1 error(s); the site was not changed:\n")
    assert "issues/2011-03/en.md:1: missing front-matter key 'number'" in captured.err


def test_a_bad_config_is_an_error_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(tmp_path / "nope.toml"), "build"]) == 1
    assert capsys.readouterr().err == (f"Error: {tmp_path / 'nope.toml'}: not found "
                                       "(run from the project folder or pass --config)\n")


def test_a_bad_date_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--today", "yesterday"]) == 2
    assert "'yesterday' is not a date (YYYY-MM-DD)" in capsys.readouterr().err


def test_check_passes_clean_issues_with_a_summary(
    site_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(site_project, "check", "--no-email") == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == "2 issues, 4 editions: 0 error(s), 0 warning(s)"


def test_check_reports_each_problem_as_path_line_and_fails(
    site_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    es = site_project / "issues/2011-06/es.md"
    text = es.read_text(encoding="utf-8")
    es.write_text(text.replace("../2011-03/es.md", "../2009-01/es.md"), encoding="utf-8")
    (site_project / "issues/2011-03/images/red.svg").unlink()
    assert run(site_project, "check") == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert any(line.startswith("issues/2011-06/es.md:12: ") and "2009-01" in line
               for line in lines), lines
    assert sum(line.startswith("issues/2011-03/") and "red.svg" in line and "warning" not in line
               for line in lines) == 2
    assert lines[-1].startswith("2 issues, 4 editions: 3 error(s), ")
    assert captured.err.startswith("Error: ") and "fix them and run check again" in captured.err


def test_email_editions_are_served_by_the_preview(site_settings) -> None:  # type: ignore[no-untyped-def]
    import urllib.request

    from newsletter.cli.editorial import make_preview

    server = make_preview(site_settings, "127.0.0.1", 0, drafts=False)
    server.start()
    try:
        origin = server.url.rstrip("/")
        index = urllib.request.urlopen(origin + "/_email/").read().decode()  # noqa: S310
        assert 'href="/_email/2011-06/es.html"' in index
        assert 'href="/_email/2011-03/en.txt"' in index
        with urllib.request.urlopen(origin + "/_email/2011-06/es.html") as response:  # noqa: S310
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
            body = response.read().decode()
        assert '<html lang="es"' in body and "Proteger a la niñez" in body
        with urllib.request.urlopen(origin + "/_email/2011-06/en.txt") as response:  # noqa: S310
            assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
            assert "Protecting children in a digital age" in response.read().decode()
    finally:
        server.stop()


def test_a_busy_port_is_one_error_line(
    site_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert run(site_project, "preview", "--host", "127.0.0.1", "--port", str(port)) == 1
        preview_err = capsys.readouterr().err
        # `serve` runs in its own process: waitress leaks its socket when it cannot bind.
        serve = subprocess.run(
            [sys.executable, str(Path(__file__).resolve().parent.parent / "publish.py"),
             "--config", str(site_project / "newsletter.toml"),
             "serve", "--host", "127.0.0.1", "--port", str(port)],
            capture_output=True, text=True, timeout=60,
        )
    assert serve.returncode == 1
    for err in (preview_err, serve.stderr):
        assert "Traceback" not in err
        assert err.startswith(f"Error: cannot listen on 127.0.0.1:{port} (")
        assert err.endswith("stop what uses it or pass another --port\n")
