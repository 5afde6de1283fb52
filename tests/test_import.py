"""CSV import/export and the `subscribers` commands, over fixture files named after their defect."""

from __future__ import annotations

import csv
import email
import io
import mailbox
import shutil
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.settings import Settings
from newsletter.subscribers import (
    ConsentMissing,
    ImportFileError,
    ImportRejected,
    SubscriberStore,
    export_csv,
    import_csv,
)

CSV = Path(__file__).parent / "fixtures" / "csv"

BAD_ROWS = [
    "subscribers_bad_rows.csv:3: not a valid email address (An email address must have an @-sign.)",
    "subscribers_bad_rows.csv:4: unknown member state 'XX' (use an ISO 3166-1 alpha-2 code of an "
    "OAS member state, e.g. UY)",
    "subscribers_bad_rows.csv:5: unknown language 'de' (use one of es, en, pt, fr)",
    "subscribers_bad_rows.csv:6: duplicate: AN***@inau.gub.uy appears on an earlier row of this "
    "file",
    # A line break inside a quoted cell is a control character in a name: refused, not joined.
    "subscribers_bad_rows.csv:7: the name holds U+000A (a control character) at character 6: "
    "names and organisations may hold letters, marks, digits, punctuation, symbols and spaces",
    "subscribers_bad_rows.csv:9: has 6 fields, the header has 5",
    "subscribers_bad_rows.csv:10: the email address is empty",
]


@pytest.fixture
def store(settings: Settings) -> SubscriberStore:
    s = SubscriberStore.open(settings)
    yield s
    s.close()


def run(project: Path, *argv: str) -> int:
    return main(["--config", str(project / "newsletter.toml"), *argv])


def emails(store: SubscriberStore) -> list[tuple[str, str, str, str]]:
    return [(s.email, s.state, s.lang, s.status) for s in store.iter_subscribers()]


def outbox(settings: Settings) -> list[email.message.Message]:
    box = mailbox.Maildir(str(settings.path(settings.delivery.outbox_dir)), create=True)
    return [email.message_from_bytes(box.get_bytes(key)) for key in sorted(box.keys())]


def test_bad_rows_are_reported_and_good_rows_imported(store: SubscriberStore) -> None:
    report = import_csv(store, CSV / "subscribers_bad_rows.csv", confirmed=True, note="liaisons",
                        display="subscribers_bad_rows.csv")
    assert [str(p) for p in report.problems] == BAD_ROWS
    assert report.imported == 1 and report.rows == 8
    assert emails(store) == [("ana.perez@inau.gub.uy", "UY", "es", "confirmed")]
    ana = store.get_by_email("ana.perez@inau.gub.uy")
    assert ana is not None and (ana.name, ana.source, ana.note) == ("Ana Pérez", "import",
                                                                   "liaisons")


def test_strict_imports_nothing_when_a_row_is_bad(store: SubscriberStore) -> None:
    rejected = r"^x.csv: 7 bad row\(s\); nothing imported \(--strict\)$"
    with pytest.raises(ImportRejected, match=rejected):
        import_csv(store, CSV / "subscribers_bad_rows.csv", confirmed=True, note="liaisons",
                   strict=True, display="x.csv")
    assert emails(store) == []


def test_confirmed_rows_need_a_consent_note(store: SubscriberStore) -> None:
    for note in ("", "  "):
        with pytest.raises(ConsentMissing, match="--confirmed needs --note saying who designated"):
            import_csv(store, CSV / "subscribers_good.csv", confirmed=True, note=note)
    assert emails(store) == []


def test_dry_run_reports_but_changes_nothing(store: SubscriberStore) -> None:
    report = import_csv(store, CSV / "subscribers_good.csv", confirmed=False, dry_run=True)
    assert (report.imported, report.problems, report.confirmations) == (3, [], 0)
    assert emails(store) == []
    assert store.outbox.counts()["queued"] == 0


def test_good_file_normalises_addresses_states_and_languages(store: SubscriberStore) -> None:
    report = import_csv(store, CSV / "subscribers_good.csv", confirmed=False)
    assert report.problems == []
    assert emails(store) == [
        ("ana.perez@inau.gub.uy", "UY", "es", "pending"),
        ("john.smith@gov.bb", "BB", "en", "pending"),
        ("Maria.Silva@mdh.gov.br", "BR", "es", "pending"),
    ]
    # Each new pending subscriber's confirmation email is queued with them.
    assert report.confirmations == 3 and store.outbox.counts()["queued"] == 3
    # Re-importing the same file changes nothing: every row is already there, unchanged.
    again = import_csv(store, CSV / "subscribers_good.csv", confirmed=False, display="good.csv")
    assert (again.imported, again.unchanged, again.problems, again.confirmations) == (0, 3, [], 0)


def test_excel_semicolons_bom_and_missing_lang_column(store: SubscriberStore) -> None:
    excel = import_csv(store, CSV / "subscribers_semicolons_excel.csv", confirmed=True,
                       note="liaisons")
    assert excel.imported == 1
    report = import_csv(store, CSV / "subscribers_bom_no_lang.csv", confirmed=True, note="liaisons",
                        default_lang="en")
    assert report.imported == 1
    assert emails(store) == [("rosa@sename.cl", "CL", "es", "confirmed"),
                             ("kim@gov.ca", "CA", "en", "confirmed")]
    assert store.get_by_email("rosa@sename.cl").organisation == "SENAME"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("fixture", "message"),
    [
        ("subscribers_not_utf8.csv",
         'f.csv:3: not UTF-8 text (byte 0xff); save the file as "CSV UTF-8"'),
        ("subscribers_unknown_column.csv", "f.csv:1: unknown column 'country_code' (known: email, "
         "name, organisation, state, lang)"),
        ("subscribers_missing_email_column.csv",
         "f.csv:1: the header has no email or state column"),
        ("subscribers_empty.csv", "f.csv:1: the file is empty; the first line must be a header "
         "naming the columns (email, state, lang, name, organisation)"),
    ],
)
def test_unreadable_files_name_the_line(store: SubscriberStore, fixture: str, message: str) -> None:
    with pytest.raises(ImportFileError) as info:
        import_csv(store, CSV / fixture, confirmed=True, note="liaisons", display="f.csv")
    assert str(info.value) == message
    assert emails(store) == []


def test_suppressed_addresses_are_never_reimported(store: SubscriberStore) -> None:
    import_csv(store, CSV / "subscribers_good.csv", confirmed=True, note="liaisons")
    store.erase("ana.perez@inau.gub.uy")
    store.suppress("john.smith@gov.bb", "complaint")
    report = import_csv(store, CSV / "subscribers_good.csv", confirmed=True, note="liaisons",
                        display="g.csv")
    assert [str(p) for p in report.problems] == [
        "g.csv:2: suppressed: an***@inau.gub.uy is on the suppression list (erasure); it is never "
        "mailed again",
        "g.csv:3: suppressed: jo***@gov.bb is on the suppression list (complaint); it is never "
        "mailed again",
    ]
    assert report.unchanged == 1  # the third row: already there, as the file says
    assert store.get_by_email("ana.perez@inau.gub.uy") is None


def test_export_round_trips_through_import(store: SubscriberStore, settings: Settings,
                                           tmp_path: Path) -> None:
    import_csv(store, CSV / "subscribers_good.csv", confirmed=True, note="n")
    out = io.StringIO()
    assert export_csv(store, out, "confirmed") == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["email"], r["state"], r["status"]) for r in rows] == [
        ("ana.perez@inau.gub.uy", "UY", "confirmed"),
        ("john.smith@gov.bb", "BB", "confirmed"),
        ("Maria.Silva@mdh.gov.br", "BR", "confirmed"),
    ]
    other = SubscriberStore.at(tmp_path / "other.db", settings)
    path = tmp_path / "export.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    with pytest.raises(ImportFileError, match="unknown column 'status'"):
        import_csv(other, path, confirmed=True, note="liaisons")
    other.close()


# -- the commands ----------------------------------------------------------------------------

SUBCOMMANDS = ["add", "import", "export", "list", "remove", "stats", "coverage"]


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["subscribers", command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: publish.py subscribers {command}")
    assert "-h, --help" in out


@pytest.mark.parametrize("argv", [["subscribers", "--help"], ["serve", "--help"]])
def test_group_and_serve_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: publish.py {argv[0]}")
    if argv[0] == "subscribers":
        for command in SUBCOMMANDS:
            assert f"    {command} " in out


def test_cli_import_reports_rows_and_sends_confirmations(
    project: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(CSV / "subscribers_bad_rows.csv", project / "subscribers_bad_rows.csv")
    assert run(project, "subscribers", "import", str(project / "subscribers_bad_rows.csv")) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [str(project / "x")[:-1] + line for line in BAD_ROWS]
    assert captured.out == ("imported 1 of 8 rows as pending; 7 bad row(s) reported above; "
                            "sent 1 confirmation email(s)\n")
    messages = outbox(settings)
    assert [m["Delivered-To"] for m in messages] == ["ana.perez@inau.gub.uy"]
    assert {m["Content-Language"] for m in messages} == {"es"}
    assert all(m["List-Unsubscribe"] is None for m in messages)


def test_cli_import_confirmed_needs_a_note(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = str(CSV / "subscribers_good.csv")
    assert run(project, "subscribers", "import", good, "--confirmed") == 1
    assert capsys.readouterr().err.startswith(
        "Error: --confirmed needs --note saying who designated")


def test_cli_add_list_stats_remove(
    project: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(project, "subscribers", "add", "Maria@Gov.UY", "--state", "uy", "--lang", "es",
               "--org", "INAU", "--confirmed", "--note", "designated by INAU") == 0
    assert capsys.readouterr().out == "added Ma***@gov.uy (UY, es) as confirmed\n"
    assert run(project, "subscribers", "add", "john@gov.bb", "--state", "BB", "--lang", "en") == 0
    assert capsys.readouterr().out == ("added jo***@gov.bb (BB, en) as pending; confirmation email "
                                       "sent\n")
    assert [m["Content-Language"] for m in outbox(settings)] == ["en"]
    assert run(project, "subscribers", "add", "maria@gov.uy", "--state", "UY", "--lang", "es") == 1
    assert capsys.readouterr().err == "Error: ma***@gov.uy is already subscribed\n"

    assert run(project, "subscribers", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:5] for line in lines[:-1]] == [
        ["1", "Ma***@gov.uy", "UY", "es", "confirmed"],
        ["2", "jo***@gov.bb", "BB", "en", "pending"],
    ]
    assert lines[-1] == "2 subscriber(s)"
    assert run(project, "subscribers", "list", "--full", "--status", "confirmed") == 0
    assert "Maria@gov.uy" in capsys.readouterr().out

    assert run(project, "subscribers", "stats") == 0
    stats = capsys.readouterr().out.splitlines()
    assert stats[0].split() == ["status", "es", "en", "pt", "fr", "total"]
    assert stats[1].split() == ["pending", "0", "1", "0", "0", "1"]
    assert stats[2].split() == ["confirmed", "1", "0", "0", "0", "1"]
    assert stats[-1].split() == ["suppressed", "0"]

    assert run(project, "subscribers", "remove", "MARIA@gov.uy") == 0
    assert capsys.readouterr().out == ("erased MA***@gov.uy; only a salted hash stays on the "
                                       "suppression list\n")
    assert run(project, "subscribers", "add", "maria@gov.uy", "--state", "UY", "--lang", "es") == 1
    assert capsys.readouterr().err == ("Error: ma***@gov.uy is on the suppression list (erasure); "
                                       "it is never mailed again\n")


def test_cli_add_bad_input_is_one_clean_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(project, "subscribers", "add", "a@b.org", "--state", "FR", "--lang", "es") == 1
    assert capsys.readouterr().err == ("Error: unknown member state 'FR' (use an ISO 3166-1 "
                                       "alpha-2 code of an OAS member state, e.g. UY)\n")


def test_cli_export_to_a_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, "subscribers", "import", str(CSV / "subscribers_good.csv"), "--confirmed",
               "--note", "n") == 0
    capsys.readouterr()
    target = project / "out.csv"
    assert run(project, "subscribers", "export", "--status", "confirmed",
               "--output", str(target)) == 0
    assert capsys.readouterr().err == f"exported 3 subscriber(s) to {target}\n"
    assert target.read_text(encoding="utf-8").splitlines()[0] == (
        "email,name,organisation,state,lang,status,source,note,requested_at,confirmed_at")
    assert run(project, "subscribers", "export", "--status", "pending") == 0
    assert capsys.readouterr().out.count("\n") == 1  # the header only


def test_cli_coverage_marks_states_without_subscribers(
    project: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(project, "subscribers", "import", str(CSV / "subscribers_good.csv"), "--confirmed",
               "--note", "n") == 0
    capsys.readouterr()
    assert run(project, "subscribers", "coverage") == 0
    out = capsys.readouterr().out.splitlines()
    rows = {line[:2]: line for line in out[1:-3]}
    assert len(rows) == 35
    assert rows["UY"].split()[-5:] == ["1", "0", "0", "0", "1"]
    assert rows["BB"].split()[-5:] == ["0", "1", "0", "0", "1"]
    assert rows["AR"].endswith("0  ← none")
    assert not rows["UY"].endswith("none")
    assert out[-2] == "3 of 35 member states have confirmed subscribers; 32 have none."
    report = settings.path(settings.subscribers.reports_dir) / "coverage.html"
    assert out[-1] == f"report: {report}"
    html = report.read_text(encoding="utf-8")
    assert '<tr class="none"><td>AR</td><td>Argentina (none)</td>' in html
    assert html.count('class="bar none"') == 32
    assert 'style="width: 100.0%"' in html
    # The report is the operator's: it is not written into the public site.
    assert not (project / settings.build.output_dir).exists()


def test_cli_import_strict_and_dry_run(project: Path, settings: Settings,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    bad = str(CSV / "subscribers_bad_rows.csv")
    assert run(project, "subscribers", "import", bad, "--confirmed", "--note", "n", "--strict") == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [str(CSV) + "/" + line for line in BAD_ROWS] + [
        f"Error: {bad}: 7 bad row(s); nothing imported (--strict)"]
    good = str(CSV / "subscribers_good.csv")
    assert run(project, "subscribers", "import", good, "--dry-run") == 0
    assert capsys.readouterr().out == "would import 3 of 3 rows as pending\n"
    with SubscriberStore.open(settings) as store:
        assert emails(store) == []
    assert outbox(settings) == []
