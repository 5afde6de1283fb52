"""Imports written in batches (a sign-up never waits for the whole file; `--strict` still imports
all or nothing; a death midway is finished by running the import again) and idempotent (the same
file twice changes nothing and exits 0; a row that disagrees with the store is reported, and taken
only with `--update`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.settings import Settings
from newsletter.subscribers import ImportRejected, SubscriberStore, import_csv
from newsletter.subscribers.store import SubscriberStore as Store

STATES = ("UY", "AR", "BR", "MX", "CL")


def liaisons(path: Path, count: int, start: int = 0, bad_at: int | None = None) -> Path:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "name", "organisation", "state", "lang"])
    for n in range(start, start + count):
        state = "XX" if n == bad_at else STATES[n % len(STATES)]
        writer.writerow([f"enlace{n:05d}@gob.example", f"Enlace {n}", "Ministerio", state,
                         ("es", "en")[n % 2]])
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def transactions(store: SubscriberStore) -> list[str]:
    """Start recording the transactions the store's connection begins."""
    begun: list[str] = []
    store.database.conn.set_trace_callback(
        lambda sql: begun.append(sql) if sql == "BEGIN IMMEDIATE" else None)
    return begun


def run(project: Path, *argv: str) -> int:
    return main(["--config", str(project / "newsletter.toml"), *argv])


# -- batches (item 13) -------------------------------------------------------------------------


def test_an_import_commits_a_batch_at_a_time(settings: Settings, tmp_path: Path) -> None:
    path = liaisons(tmp_path / "l.csv", 25)
    with SubscriberStore.open(settings) as store:
        begun = transactions(store)
        report = import_csv(store, path, confirmed=True, note="liaisons", batch=10)
        assert (report.imported, report.problems) == (25, [])
        assert len(begun) == 3  # 10 + 10 + 5 rows: three commits, not one for the file


def test_a_sign_up_can_write_between_two_batches(settings: Settings, tmp_path: Path) -> None:
    """While an import runs, another connection gets the write lock between its batches."""
    path = liaisons(tmp_path / "l.csv", 30)
    begun: list[str] = []
    errors: list[BaseException] = []
    with SubscriberStore.open(settings) as store, SubscriberStore.open(settings) as form:
        form.database.conn.execute("PRAGMA busy_timeout = 100")

        def before_each_batch(sql: str) -> None:
            if sql != "BEGIN IMMEDIATE":
                return
            begun.append(sql)
            if len(begun) == 2:  # the first batch is committed, the second not begun
                try:
                    form.outbox.queue_sign_up(form.validate("visitor@gov.uy", "UY", "es"), None)
                except BaseException as exc:  # noqa: BLE001 - SQLite would swallow it
                    errors.append(exc)

        store.database.conn.set_trace_callback(before_each_batch)
        report = import_csv(store, path, confirmed=True, note="liaisons", batch=10)
        assert report.imported == 30 and errors == []
        assert form.outbox.counts()["sign_ups"] == 1


def test_strict_checks_the_whole_file_before_writing_any_batch(
    settings: Settings, tmp_path: Path
) -> None:
    path = liaisons(tmp_path / "l.csv", 25, bad_at=24)  # the last row is bad
    with SubscriberStore.open(settings) as store:
        with pytest.raises(ImportRejected) as caught:
            import_csv(store, path, confirmed=True, note="liaisons", strict=True, batch=10,
                       display="l.csv")
        assert [p.line for p in caught.value.problems] == [26]
        assert list(store.iter_subscribers()) == []


def test_a_death_midway_keeps_the_batches_before_and_running_again_finishes(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = liaisons(tmp_path / "l.csv", 25)
    real_insert = Store.insert
    calls = [0]

    def dying_insert(self: Store, *args: object, **kwargs: object) -> object:
        calls[0] += 1
        if calls[0] == 15:  # in the middle of the second batch
            raise SystemExit("killed")
        return real_insert(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "insert", dying_insert)
    with SubscriberStore.open(settings) as store:
        with pytest.raises(SystemExit):
            import_csv(store, path, confirmed=True, note="liaisons", batch=10)
        assert len(list(store.iter_subscribers())) == 10  # the first batch, whole
    monkeypatch.setattr(Store, "insert", real_insert)
    project = settings.root
    assert run(project, "subscribers", "import", str(path), "--confirmed", "--note",
               "liaisons") == 0
    assert capsys.readouterr().out == (
        "imported 15 of 25 rows as confirmed; 10 already present, unchanged\n")


# -- idempotent (item 21) ----------------------------------------------------------------------


def test_the_same_file_twice_changes_nothing_and_exits_0(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(liaisons(tmp_path / "l.csv", 12))
    assert run(project, "subscribers", "import", path, "--confirmed", "--note", "liaisons") == 0
    assert capsys.readouterr().out == "imported 12 of 12 rows as confirmed\n"
    assert run(project, "subscribers", "import", path, "--confirmed", "--note", "liaisons") == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (
        "imported 0 of 12 rows as confirmed; 12 already present, unchanged\n", "")
    # Imported as pending later, the confirmed ones are not demoted either.
    assert run(project, "subscribers", "import", path) == 0
    assert capsys.readouterr().out == (
        "imported 0 of 12 rows as pending; 12 already present, unchanged\n")


def test_a_row_that_disagrees_is_reported_and_taken_only_with_update(
    project: Path, settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "l.csv"
    path.write_text("email,name,state,lang\nana@inau.gub.uy,Ana Pérez,UY,es\n"
                    "luis@senaf.gob.ar,Luis,AR,es\nrosa@sename.cl,Rosa,CL,es\n", encoding="utf-8")
    assert run(project, "subscribers", "import", str(path), "--confirmed", "--note", "n") == 0
    with SubscriberStore.open(settings) as store:
        store.unsubscribe(store.get_by_email("rosa@sename.cl").id, "link")  # type: ignore[union-attr]
    path.write_text("email,name,state,lang\nana@inau.gub.uy,Ana Pérez,UY,en\n"
                    "luis@senaf.gob.ar,Luis,AR,es\nrosa@sename.cl,Rosa,CL,es\n", encoding="utf-8")
    capsys.readouterr()
    assert run(project, "subscribers", "import", str(path), "--confirmed", "--note", "n") == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"{path}:2: an***@inau.gub.uy is already subscribed with other details (lang: es in the "
        "store, en in the file); nothing was changed: if the file is right, import it again "
        "with --update to take its details, otherwise correct the file",
        f"{path}:4: ro***@sename.cl is unsubscribed (since {_today()}): an import never "
        "subscribes anybody again, only they can, through the form; remove the row from the "
        "file",
    ]
    assert captured.out == ("imported 0 of 3 rows as confirmed; 1 already present, unchanged; "
                            "2 bad row(s) reported above\n")
    assert run(project, "subscribers", "import", str(path), "--confirmed", "--note", "n",
               "--update") == 1  # Rosa still left: only she can come back
    assert "; 1 updated;" in capsys.readouterr().out
    with SubscriberStore.open(settings) as store:
        ana = store.get_by_email("ana@inau.gub.uy")
        assert ana is not None and ana.lang == "en"
        assert store.events(ana.id)[-1].reason == "updated: lang es → en"
        rosa = store.get_by_email("rosa@sename.cl")
        assert rosa is not None and rosa.status == "unsubscribed"


def test_update_confirms_a_pending_subscriber_with_the_note(
    settings: Settings, tmp_path: Path
) -> None:
    path = liaisons(tmp_path / "l.csv", 2)
    with SubscriberStore.open(settings) as store:
        import_csv(store, path, confirmed=False)
        again = import_csv(store, path, confirmed=True, note="designated by the commission")
        assert len(again.problems) == 2 and all(
            "(status: pending (not confirmed by them yet) in the store, confirmed by this "
            "import)" in p.message for p in again.problems)
        updated = import_csv(store, path, confirmed=True, note="designated by the commission",
                             update=True)
        assert (updated.updated, updated.problems) == (2, [])
        for s in store.iter_subscribers():
            assert (s.status, s.note) == ("confirmed", "designated by the commission")


def _today() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).date().isoformat()


def test_a_new_address_twice_is_a_duplicate_across_batches_and_in_the_check(
    settings: Settings, tmp_path: Path
) -> None:
    path = liaisons(tmp_path / "l.csv", 5)
    with open(path, "a", encoding="utf-8") as out:
        out.write("ENLACE00001@gob.example,Enlace,Ministerio,AR,es\n")  # row 2's address again
    expected = "l.csv:7: duplicate: EN***@gob.example appears on an earlier row of this file"
    with SubscriberStore.open(settings) as store:
        with pytest.raises(ImportRejected) as caught:
            import_csv(store, path, confirmed=True, note="n", strict=True, display="l.csv")
        assert [str(p) for p in caught.value.problems] == [expected]
        report = import_csv(store, path, confirmed=True, note="n", batch=2, display="l.csv")
        assert report.imported == 5 and [str(p) for p in report.problems] == [expected]
