"""`backup` and `restore`: consistent copies while a send writes, to a folder and to S3 (moto's
server mode), checked on the way back, never replacing a database in use, never re-mailing."""

from __future__ import annotations

import datetime as dt
import gzip
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from newsletter.cli import main
from newsletter.delivery import Ledger
from newsletter.settings import load_settings
from newsletter.subscribers import (
    BACKUP_NAME,
    SCHEMA_VERSION,
    BackupError,
    RestoreRefused,
    SubscriberStore,
    backup_database,
    restore_backup,
)
from newsletter.subscribers.database import inspect_file
from tests.conftest import REPO, copy_project
from tests.delivery_support import add_subscribers, outbox_messages

PUBLISH = str(REPO / "publish.py")


def cli(project: Path, *args: str) -> int:
    return main(["--config", str(project / "newsletter.toml"), *args])


def unpacked(backup: Path, into: Path) -> Path:
    """The SQLite file inside a .sqlite.gz backup."""
    target = into / (backup.name + ".sqlite")
    with gzip.open(backup) as data, open(target, "wb") as out:
        shutil.copyfileobj(data, out)
    return target


# What takes a database back to an older released schema: the tables each later migration added
# (4: the sign-up queue and the confirmation outbox; 5: send runs and the backup log), newest first.
DOWNGRADES = {
    4: "DROP TABLE send_runs; DROP TABLE backups; DROP TABLE restores; PRAGMA user_version = 4;",
    3: "DROP TABLE send_runs; DROP TABLE backups; DROP TABLE restores; "
       "DROP TABLE confirmation_emails; DROP TABLE sign_up_requests; PRAGMA user_version = 3;",
}


def rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


def due_now(project: Path, slug: str = "2011-07") -> None:
    """Schedule an issue five minutes ago (send_at is not part of what an approval covers)."""
    soon = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    for path in (project / "issues" / slug).glob("*.md"):
        text = path.read_text(encoding="utf-8")
        start = text.index("send_at: ")
        end = text.index("\n", start)
        path.write_text(text[:start] + f"send_at: {soon}" + text[end:], encoding="utf-8")


def test_a_backup_taken_while_a_send_runs_is_consistent_and_both_complete(project, settings,
                                                                           tmp_path) -> None:
    """`send` (a process, writing) and `backup` (another process) at the same time: the send
    completes and the copy passes integrity_check with a whole ledger, frozen mid-campaign."""
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 1500)
    toml = project / "newsletter.toml"
    send = subprocess.Popen([sys.executable, PUBLISH, "--config", str(toml), "send", "2011-07",
                             "--no-progress", "--rate", "600"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    database = settings.path(settings.subscribers.database)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # wait until the send is well under way
        try:
            if rows(database, "SELECT count(*) FROM deliveries WHERE state = 'sent'")[0][0] > 200:
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    backups = []
    for _ in range(2):
        backup = subprocess.run([sys.executable, PUBLISH, "--config", str(toml), "backup"],
                                capture_output=True, text=True, timeout=60)
        assert backup.returncode == 0, backup.stderr
        backups.append(backup.stdout)
        time.sleep(0.3)
    out, err = send.communicate(timeout=60)
    assert send.returncode == 0, err
    assert "Campaign: 1500 of 1500 sent" in out
    files = sorted((project / "backups").iterdir())
    assert len(files) == 2 and all(BACKUP_NAME.fullmatch(f.name) for f in files)
    for file in files:
        copy = unpacked(file, tmp_path)
        check = inspect_file(copy)
        assert check.problems == () and check.schema_version == SCHEMA_VERSION
        assert check.is_annaobserva
        (audience,) = rows(copy, "SELECT audience FROM campaigns WHERE issue = '2011-07'")[0]
        states = dict(rows(copy, "SELECT state, count(*) FROM deliveries GROUP BY state"))
        assert audience == 1500 and sum(states.values()) == 1500
        assert 0 < states.get("sent", 0) < 1500  # taken mid-send, as one consistent snapshot
        assert rows(copy, "SELECT count(*) FROM subscribers")[0][0] == 1500
    assert "integrity ok" in backups[0]


def test_backup_files_are_private_named_by_time_and_checksum_and_pruned(project, settings
                                                                          ) -> None:
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 5)
    toml = project / "newsletter.toml"
    toml.write_text(toml.read_text().replace("keep = 30", "keep = 2"))
    settings = load_settings(toml)
    database = settings.path(settings.subscribers.database)
    taken = []
    for n in range(3):
        moment = dt.datetime(2026, 11, 20, 2, 15, n, tzinfo=dt.UTC)
        taken.append(backup_database(database, "backups", project, settings.backup,
                                     clock=lambda moment=moment: moment))
    folder = project / "backups"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(b.name for b in taken[1:])  # the oldest is gone
    assert taken[2].removed == (taken[0].name,)
    for name in names:
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
        match = BACKUP_NAME.fullmatch(name)
        assert match and match.group(1).startswith("20261120T0215")
        import hashlib
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest().startswith(match.group(2))
    # Something else in the folder is never pruned; nothing is left in the database's folder.
    (folder / "notes.txt").write_text("keep me")
    backup_database(database, "backups", project, settings.backup)
    assert (folder / "notes.txt").exists()
    assert not [p for p in database.parent.iterdir() if p.name.startswith(".backup-")]
    # The backup is logged in the database itself, for `status`.
    with SubscriberStore.open(settings) as store:
        last = store.database.last_backup()
    assert last is not None and last.location.startswith("backups/annaobserva-subscribers-")


def test_there_is_nothing_to_back_up_before_the_first_subscriber(project, capsys) -> None:
    assert cli(project, "backup") == 1
    assert "subscribers/subscribers.db: there is no database to back up yet" in \
        capsys.readouterr().err


@pytest.mark.server
def test_restore_from_s3_onto_an_empty_project_then_send_due_sends_nothing(
        project, settings, tmp_path, moto, capsys) -> None:
    """The backup is taken before the due issue goes out; the original database is lost after
    it went out. Restored from S3 onto a new machine, `send --due` must not mail it again."""
    s3 = boto3.client("s3", endpoint_url=moto, region_name="us-east-1")
    s3.create_bucket(Bucket="annaobserva-backups")
    toml = project / "newsletter.toml"
    toml.write_text(toml.read_text().replace('endpoint_url = ""', f'endpoint_url = "{moto}"'))
    due_now(project)
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 6)
    assert cli(project, "backup", "--to", "s3://annaobserva-backups/nightly/") == 0
    key = s3.list_objects_v2(Bucket="annaobserva-backups")["Contents"][0]["Key"]
    head = s3.head_object(Bucket="annaobserva-backups", Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    assert key.startswith("nightly/") and BACKUP_NAME.fullmatch(key.removeprefix("nightly/"))
    assert cli(project, "send", "--due", "--no-progress") == 0  # it goes out after the backup
    assert len(outbox_messages(project / "outbox")) == 7  # six subscribers and the editors
    capsys.readouterr()

    fresh = copy_project(tmp_path / "new-machine")  # the lost server's replacement
    shutil.rmtree(fresh / "issues")
    shutil.copytree(project / "issues", fresh / "issues")
    shutil.copy(toml, fresh / "newsletter.toml")
    assert cli(fresh, "restore", "s3://annaobserva-backups/nightly/") == 0
    out = capsys.readouterr().out
    assert f"Restored subscribers/subscribers.db from s3://annaobserva-backups/{key}" in out
    assert "Subscribers: 0 pending, 6 confirmed, 0 unsubscribed" in out
    assert "Campaigns: none" in out
    restored = fresh / "subscribers" / "subscribers.db"
    assert stat.S_IMODE(restored.stat().st_mode) == 0o600

    assert cli(fresh, "send", "--due", "--no-progress") == 0
    said = capsys.readouterr().out
    assert "2011-07: send_at" in said and "before this database was restored" in said
    assert "No issue is due." in said
    assert not (fresh / "outbox").exists()  # nothing was mailed
    assert cli(fresh, "status") == 1  # …and a person is asked to look
    assert "2011-07: send_at" in capsys.readouterr().out
    # By hand, the operator may still send it (after checking), as the guard says.
    assert cli(fresh, "send", "2011-07", "--no-progress") == 0


@pytest.mark.server
def test_a_campaign_unfinished_in_the_backup_is_not_resumed_by_cron(project, settings, tmp_path,
                                                                     capsys) -> None:
    due_now(project)
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 6)
    assert cli(project, "send", "2011-07", "--limit", "2", "--no-progress") == 0
    assert cli(project, "backup") == 0
    assert cli(project, "send", "--due", "--no-progress") == 0  # finished after the backup
    capsys.readouterr()
    assert cli(project, "restore", "backups", "--force") == 0
    out = capsys.readouterr().out
    assert "Campaigns: 2011-07 in progress, 2 of 6 sent" in out
    assert "The database it replaced is kept as subscribers.db.replaced-" in out
    kept = list((project / "subscribers").glob("subscribers.db.replaced-*"))
    assert len(kept) == 1 and stat.S_IMODE(kept[0].stat().st_mode) == 0o600
    assert rows(kept[0], "SELECT count(*) FROM deliveries WHERE state = 'sent'") == [(6,)]
    messages = len(outbox_messages(project / "outbox"))
    assert cli(project, "send", "--due", "--no-progress") == 0
    assert "its campaign was unfinished in the backup" in capsys.readouterr().out
    assert len(outbox_messages(project / "outbox")) == messages  # nobody mailed twice


def test_restore_refuses_an_existing_database_without_force_and_one_in_use(
        project, settings, capsys) -> None:
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 3)
    assert cli(project, "backup") == 0
    assert cli(project, "restore", "backups") == 1
    assert "subscribers/subscribers.db exists: pass --force to replace it" in \
        capsys.readouterr().err
    database = settings.path(settings.subscribers.database)
    # Another process with the database open, idle, as `serve` between requests.
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); "
         "c.execute('PRAGMA journal_mode = WAL'); c.execute('SELECT 1 FROM subscribers')"
         ".fetchall(); print('open', flush=True); time.sleep(60)", str(database)],
        stdout=subprocess.PIPE, text=True)
    with holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline() == "open\n"
            with pytest.raises(RestoreRefused,
                               match=rf"in use \(process {holder.pid} has it open"):
                restore_backup(database, "backups", project, settings.backup, force=True)
        finally:
            holder.kill()
    assert not list(database.parent.glob("*.replaced-*"))  # nothing was touched
    assert cli(project, "restore", "backups", "--force") == 0


def test_restore_checks_the_backup_before_touching_anything(project, settings, tmp_path) -> None:
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 3)
    database = settings.path(settings.subscribers.database)
    good = backup_database(database, "backups", project, settings.backup)
    path = project / "backups" / good.name
    before = database.read_bytes()

    damaged = tmp_path / good.name  # same name, one byte changed: the checksum says so
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="checksum does not match its name"):
        restore_backup(database, str(damaged), project, settings.backup, force=True)

    newer = tmp_path / "newer.sqlite"  # a plain SQLite file from a newer ANNAobserva
    shutil.copy(unpacked(path, tmp_path), newer)
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(BackupError, match=r"newer ANNAobserva \(schema version 99"):
        restore_backup(database, str(newer), project, settings.backup, force=True)

    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(BackupError, match="without the subscriber tables"):
        restore_backup(database, str(foreign), project, settings.backup, force=True)

    text = tmp_path / "notes.txt"
    text.write_text("not a backup")
    with pytest.raises(BackupError, match="neither a gzip-compressed backup nor an SQLite"):
        restore_backup(database, str(text), project, settings.backup, force=True)

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BackupError, match="no backup there"):
        restore_backup(database, str(empty), project, settings.backup, force=True)
    assert database.read_bytes() == before  # every refusal left the database as it was
    assert not list(database.parent.glob("*.replaced-*"))


@pytest.mark.parametrize("version", [3, 4])
def test_a_restored_older_schema_is_migrated_and_the_guard_holds(project, settings, tmp_path,
                                                                 capsys, version) -> None:
    """A backup written before migration 5 (no runs, no backup log) — by the released schema 4
    (with the confirmation outbox) or an older one — restores and migrates."""
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 2)
    database = settings.path(settings.subscribers.database)
    old = tmp_path / "old.sqlite"
    with SubscriberStore.open(settings) as store:
        store.database.copy_to(old)
    with sqlite3.connect(old) as conn:
        conn.executescript(DOWNGRADES[version])
    database.unlink()
    assert cli(project, "restore", str(old)) == 0
    assert f"schema {version}, migrated to {SCHEMA_VERSION}" in capsys.readouterr().out
    with SubscriberStore.open(settings) as store:
        assert store.database.schema_version() == SCHEMA_VERSION == 5
        assert store.outbox.counts()["queued"] == 0  # the outbox tables are there (or were kept)
        restore = store.database.last_restore()
        assert restore is not None and restore.schema_version == version
        assert restore.taken_at is None  # a file not named by `backup`: its time is unknown
        assert Ledger.beside(store).campaigns() == []


def test_a_backup_is_of_the_file_as_it_is_not_migrated_first(project, settings, tmp_path
                                                              ) -> None:
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 2)
    database = settings.path(settings.subscribers.database)
    with sqlite3.connect(database) as conn:  # a database as the released schema 4 left it
        conn.executescript(DOWNGRADES[4])
    backup = backup_database(database, "backups", project, settings.backup)
    assert backup.schema_version == 4
    assert rows(database, "PRAGMA user_version") == [(4,)]  # the live file was left alone
    copy = unpacked(project / "backups" / backup.name, tmp_path)
    assert inspect_file(copy).schema_version == 4


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_help(command: str, capsys) -> None:
    assert main([command, "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # as argparse wraps it, unwrapped
    assert ("online backup API" if command == "backup" else "integrity_check") in out
