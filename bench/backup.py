"""Benchmark: `backup` and `restore` of a 100,000-subscriber database, against named peers.

The database: N subscribers (default 100,000) with their events, three campaigns whose ledgers
hold every subscriber (300,000 delivery rows, most sent), some bounce events — about what a
year of monthly issues to that many readers leaves.

1. Backup: `backup_database` into a folder (online backup API, integrity_check, gzip, checksum,
   0600 file, the log row), against the peers `sqlite3 DB ".backup FILE"` (the SQLite shell's
   own online backup, uncompressed, unchecked) and a plain file copy of the database and its WAL
   (what a careless cron line does; not consistent while writers run): seconds (median of
   `--rounds`), bytes, and the ratios. The stages of ours are timed apart.
2. Writers during a backup: a separate process commits one-row updates in a loop (as `send`
   records answers); its commit latency, median and worst, with and without a backup running —
   the online backup must not stall writers in WAL mode.
3. Restore: `restore_backup` of that backup over the database (`--force`): seconds.

Run: `.venv/bin/python -m bench.backup` (`--subscribers 100000`, `--rounds 3`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STATES = ("UY", "AR", "BR", "MX", "CA", "CL", "PE", "CO", "BB", "JM", "HT", "US")


def make_project(root: Path, subscribers: int) -> Path:
    """A project whose database holds `subscribers` readers and three sent campaigns."""
    from newsletter.delivery import Ledger
    from newsletter.settings import load_settings
    from newsletter.subscribers import NewSubscriber, SubscriberStore

    root.mkdir(parents=True)
    shutil.copy(REPO / "newsletter.toml", root / "newsletter.toml")
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "subscribers").mkdir()
    shutil.copy(REPO / "subscribers" / "member-states.toml", root / "subscribers")
    settings = load_settings(root / "newsletter.toml")
    with SubscriberStore.open(settings) as store:
        with store.database.transaction():
            for n in range(subscribers):
                store.insert(NewSubscriber(f"liaison.{n:07d}@ministerio-{n % 97}.gob.example",
                                           f"Liaison {n}", f"Ministerio {n % 97}",
                                           STATES[n % len(STATES)], ("es", "en")[n % 2]),
                             status="confirmed", source="import", note="bench")
        ledger = Ledger.beside(store)
        for issue in ("2026-09", "2026-10", "2026-11"):
            ledger.freeze(issue, store.audience(), lambda lang: lang)
        conn = store.database.conn
        with store.database.transaction():  # bench/ may write SQL: it plays a year of sending
            conn.execute("UPDATE deliveries SET state = 'sent', attempts = 1, "
                         "provider_id = 'ses-' || id WHERE id % 200 != 0")
            conn.execute("UPDATE deliveries SET state = 'rejected', error = '550 5.1.1 unknown' "
                         "WHERE id % 200 = 0")
            conn.executemany(
                "INSERT INTO delivery_events (queue_message_id, received_at, kind, subtype, "
                "provider_id, delivery_id, subscriber_id, raw) VALUES (?, '2026-11-02T10:00:00Z',"
                " 'bounce', 'Permanent', ?, ?, ?, '{}')",
                [(f"q{i}", f"ses-{i}", i, i % subscribers + 1)
                 for i in range(1, subscribers // 100)])
            conn.execute("UPDATE campaigns SET completed_at = '2026-11-02T10:00:00Z'")
    return root / "newsletter.toml"


def _median(samples: list[float]) -> float:
    return statistics.median(samples)


def bench_backup(config: Path, rounds: int) -> dict[str, float]:
    """Ours, the sqlite3 shell's .backup and a file copy: seconds and bytes."""
    from newsletter.settings import load_settings
    from newsletter.subscribers import backup_database
    from newsletter.subscribers.backup import compress
    from newsletter.subscribers.database import connect, inspect_file

    settings = load_settings(config)
    database = settings.path(settings.subscribers.database)
    work = config.parent / "work"
    work.mkdir()
    ours, stages, shell, copy = [], {"snapshot": [], "check": [], "gzip": []}, [], []
    size = 0
    for n in range(rounds):
        started = time.perf_counter()
        backup = backup_database(database, str(work / f"ours-{n}"), config.parent,
                                 settings.backup)
        ours.append(time.perf_counter() - started)
        size = backup.bytes
        # The stages of ours, apart (the same work, timed one by one).
        snap = work / f"stage-{n}.sqlite"
        db = connect(database)
        t0 = time.perf_counter()
        db.copy_to(snap)
        t1 = time.perf_counter()
        db.close()
        inspect_file(snap)
        t2 = time.perf_counter()
        compress(snap, work / f"stage-{n}.sqlite.gz")
        t3 = time.perf_counter()
        stages["snapshot"].append(t1 - t0)
        stages["check"].append(t2 - t1)
        stages["gzip"].append(t3 - t2)
        target = work / f"shell-{n}.sqlite"
        t0 = time.perf_counter()
        subprocess.run(["sqlite3", str(database), f".backup '{target}'"], check=True)
        shell.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        shutil.copyfile(database, work / f"copy-{n}.db")
        wal = Path(f"{database}-wal")
        if wal.exists():
            shutil.copyfile(wal, work / f"copy-{n}.db-wal")
        copy.append(time.perf_counter() - t0)
    return {
        "database_bytes": database.stat().st_size,
        "ours_s": _median(ours), "ours_bytes": size,
        **{f"ours_{k}_s": _median(v) for k, v in stages.items()},
        "shell_s": _median(shell), "shell_bytes": (work / "shell-0.sqlite").stat().st_size,
        "copy_s": _median(copy),
    }


WRITER = """
import sqlite3, sys, time, json
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("PRAGMA journal_mode = WAL"); conn.execute("PRAGMA synchronous = NORMAL")
until = time.monotonic() + float(sys.argv[2]); latencies = []; n = 0
while time.monotonic() < until:
    n += 1
    t0 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("UPDATE deliveries SET attempts = attempts + 1 WHERE id = ?", (n % 1000 + 1,))
    conn.execute("COMMIT")
    latencies.append(time.perf_counter() - t0)
    time.sleep(0.002)
print(json.dumps(latencies))
"""


def bench_writers(config: Path, seconds: float) -> dict[str, float]:
    """Commit latency of a concurrent writer, without and then with a backup running."""
    from newsletter.settings import load_settings
    from newsletter.subscribers import backup_database

    settings = load_settings(config)
    database = settings.path(settings.subscribers.database)
    figures = {}
    for label in ("idle", "during_backup"):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(database), str(seconds)],
                                  stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        if label == "during_backup":
            deadline = time.monotonic() + seconds - 0.6
            while time.monotonic() < deadline:
                backup_database(database, str(config.parent / "work" / "writers"),
                                config.parent, settings.backup)
        out, _ = writer.communicate(timeout=seconds + 60)
        latencies = sorted(json.loads(out))
        figures[f"{label}_commits"] = len(latencies)
        figures[f"{label}_median_ms"] = statistics.median(latencies) * 1000
        figures[f"{label}_p99_ms"] = latencies[int(len(latencies) * 0.99)] * 1000
        figures[f"{label}_max_ms"] = latencies[-1] * 1000
    return figures


def bench_restore(config: Path) -> float:
    """Seconds to restore the newest backup over the database."""
    from newsletter.settings import load_settings
    from newsletter.subscribers import restore_backup

    settings = load_settings(config)
    database = settings.path(settings.subscribers.database)
    started = time.perf_counter()
    restore_backup(database, str(config.parent / "work" / "ours-0"), config.parent,
                   settings.backup, force=True)
    return time.perf_counter() - started


def main() -> None:
    """Build the database, then print the figures and ratios."""
    parser = argparse.ArgumentParser(prog="python -m bench.backup", description=__doc__)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writer-seconds", type=float, default=6.0)
    args = parser.parse_args()
    if shutil.which("sqlite3") is None:
        raise SystemExit("the peer needs the SQLite shell: apt-get install sqlite3")
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        started = time.perf_counter()
        config = make_project(Path(tmp) / "project", args.subscribers)
        print(f"database: {args.subscribers:,} subscribers, 3 campaigns "
              f"({3 * args.subscribers:,} delivery rows), built in "
              f"{time.perf_counter() - started:.0f} s")
        b = bench_backup(config, args.rounds)
        mb = 1e6
        print(f"database file: {b['database_bytes'] / mb:.1f} MB")
        print(f"backup (ours: snapshot + integrity_check + gzip + checksum): {b['ours_s']:.2f} s, "
              f"{b['ours_bytes'] / mb:.1f} MB "
              f"(snapshot {b['ours_snapshot_s']:.2f} s, check {b['ours_check_s']:.2f} s, "
              f"gzip {b['ours_gzip_s']:.2f} s)")
        print(f"peer sqlite3 .backup:  {b['shell_s']:.2f} s, {b['shell_bytes'] / mb:.1f} MB, "
              "unchecked, uncompressed")
        print(f"peer file copy:        {b['copy_s']:.2f} s (not consistent under writers)")
        print(f"ratios: time ours / .backup = {b['ours_s'] / b['shell_s']:.1f}x, "
              f"snapshot alone / .backup = {b['ours_snapshot_s'] / b['shell_s']:.2f}x, "
              f"ours / file copy = {b['ours_s'] / b['copy_s']:.1f}x; "
              f"size ours / .backup = {b['ours_bytes'] / b['shell_bytes']:.2f}")
        w = bench_writers(config, args.writer_seconds)
        print(f"a writer's commits, idle: median {w['idle_median_ms']:.2f} ms, p99 "
              f"{w['idle_p99_ms']:.2f} ms, max {w['idle_max_ms']:.1f} ms "
              f"({w['idle_commits']} commits)")
        print(f"  during back-to-back backups: median {w['during_backup_median_ms']:.2f} ms, "
              f"p99 {w['during_backup_p99_ms']:.2f} ms, max {w['during_backup_max_ms']:.1f} ms "
              f"({w['during_backup_commits']} commits); ratio of medians "
              f"{w['during_backup_median_ms'] / w['idle_median_ms']:.2f}")
        print(f"restore (fetch, checksum, gunzip, integrity_check, keep the old, swap): "
              f"{bench_restore(config):.2f} s")


if __name__ == "__main__":
    main()
