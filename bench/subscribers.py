"""Benchmark: CSV import and the confirmed-subscriber stream a send reads, against named peers.

1. Import: a generated 100,000-row CSV through `import_csv` (validation with email-validator,
   suppression check, status event, one transaction), each run in a fresh process, against the
   peer "bare csv + executemany" (the same rows into the same table, no validation, no events):
   seconds, rows/s and the ratio; and peak memory (ru_maxrss growth) for 100,000 vs 10,000 rows —
   a streamed import keeps the ratio near 1.
2. Iteration: `SubscriberStore.iter_confirmed(lang)` (frozen `Subscriber` per row) over the
   confirmed subscribers of one language, against the peer "raw sqlite3 cursor" (tuples, same
   query): rows/s (target ≥ 200,000/s) and the ratio; and the tracemalloc peak for 100,000 vs
   10,000 rows (memory flat: the ratio stays near 1).

Run: `.venv/bin/python -m bench.subscribers` (`--rows 100000`, `--small 10000`).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STATES = ("UY", "AR", "BR", "MX", "CA", "CL", "PE", "CO", "BB", "JM", "HT", "US")


def make_project(root: Path) -> Path:
    """A project folder with settings, templates and reference data; returns the settings file."""
    root.mkdir(parents=True)
    shutil.copy(REPO / "newsletter.toml", root / "newsletter.toml")
    shutil.copytree(REPO / "templates", root / "templates")
    (root / "subscribers").mkdir()
    shutil.copy(REPO / "subscribers" / "member-states.toml", root / "subscribers")
    return root / "newsletter.toml"


def write_csv(path: Path, rows: int) -> None:
    """A liaison list: `rows` distinct addresses, states and both languages."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "name", "organisation", "state", "lang"])
        for n in range(rows):
            writer.writerow([f"Liaison.{n:07d}@Ministerio-{n % 97}.gob.example",
                             f"Liaison {n}", f"Ministerio {n % 97}", STATES[n % len(STATES)],
                             ("es", "en")[n % 2]])


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_import(config: Path, csv_path: Path, peer: bool) -> dict[str, float]:
    """Import in this (fresh) process; report seconds and the growth of peak RSS."""
    from newsletter.settings import load_settings
    from newsletter.subscribers import SubscriberStore, import_csv

    settings = load_settings(config)
    store = SubscriberStore.open(settings)
    before = _rss_kb()
    started = time.perf_counter()
    if peer:
        conn = store.database.conn  # the same connection, one transaction, no validation
        with open(csv_path, encoding="utf-8", newline="") as source, \
                store.database.transaction():
            reader = csv.reader(source)
            next(reader)
            conn.executemany(
                "INSERT INTO subscribers (email, name, organisation, state, lang, status, source, "
                "requested_at, updated_at) VALUES (?, ?, ?, ?, ?, 'confirmed', 'import', 'now', "
                "'now')",
                reader,
            )
        imported = conn.execute("SELECT count(*) FROM subscribers").fetchone()[0]
    else:
        report = import_csv(store, csv_path, confirmed=True, note="bench")
        assert not report.problems, report.problems[:3]
        imported = report.imported
    seconds = time.perf_counter() - started
    store.close()
    return {"seconds": seconds, "rows": imported, "rss_growth_kb": _rss_kb() - before}


def run_child(*args: str) -> dict[str, float]:
    """Run `child_import` in a fresh interpreter and read its JSON answer."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.subscribers", "--child", *args],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_import(work: Path, rows: int, small: int) -> Path:
    """Print the import figures; return the settings file of the project holding `rows` rows."""
    big_csv, small_csv = work / "big.csv", work / "small.csv"
    write_csv(big_csv, rows)
    write_csv(small_csv, small)
    ours_cfg = make_project(work / "ours")
    peer_cfg = make_project(work / "peer")
    small_cfg = make_project(work / "small")
    ours = run_child(str(ours_cfg), str(big_csv), "ours")
    peer = run_child(str(peer_cfg), str(big_csv), "peer")
    little = run_child(str(small_cfg), str(small_csv), "ours")
    print(f"import {rows:,} rows (import_csv):      {ours['seconds']:7.2f} s  "
          f"{ours['rows'] / ours['seconds']:>9,.0f} rows/s")
    print(f"peer: bare csv + executemany:        {peer['seconds']:7.2f} s  "
          f"{peer['rows'] / peer['seconds']:>9,.0f} rows/s")
    print(f"  ratio ours/peer time: {ours['seconds'] / peer['seconds']:.1f}x "
          "(the price of validation, suppression checks and consent events)")
    print(f"peak RSS growth: {rows:,} rows {ours['rss_growth_kb'] / 1024:.1f} MiB, "
          f"{small:,} rows {little['rss_growth_kb'] / 1024:.1f} MiB, ratio "
          f"{ours['rss_growth_kb'] / max(little['rss_growth_kb'], 1):.2f}x")
    return ours_cfg


def _drain_ours(config: Path, lang: str) -> tuple[int, float]:
    from newsletter.settings import load_settings
    from newsletter.subscribers import SubscriberStore

    store = SubscriberStore.open(load_settings(config))
    started = time.perf_counter()
    count = 0
    for _ in store.iter_confirmed(lang):
        count += 1
    seconds = time.perf_counter() - started
    store.close()
    return count, seconds


def _drain_peer(config: Path, lang: str) -> tuple[int, float]:
    conn = sqlite3.connect(str(config.parent / "subscribers" / "subscribers.db"))
    started = time.perf_counter()
    count = 0
    for _ in conn.execute(
        "SELECT id, email, name, organisation, state, lang, status, source, note, requested_at, "
        "confirmed_at, request_ip, confirm_ip, updated_at FROM subscribers "
        "WHERE status = 'confirmed' AND lang = ? ORDER BY id", (lang,)
    ):
        count += 1
    seconds = time.perf_counter() - started
    conn.close()
    return count, seconds


def _peak(config: Path, lang: str) -> int:
    tracemalloc.start()
    _drain_ours(config, lang)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def bench_iterate(config: Path, small_config: Path, repeats: int = 5) -> None:
    """Print rows/s of the confirmed stream against the raw cursor, and its memory."""
    ours = min((_drain_ours(config, "es") for _ in range(repeats)), key=lambda r: r[1])
    peer = min((_drain_peer(config, "es") for _ in range(repeats)), key=lambda r: r[1])
    ours_rate, peer_rate = ours[0] / ours[1], peer[0] / peer[1]
    verdict = "meets" if ours_rate >= 200_000 else "MISSES"
    print(f"iter_confirmed('es'), {ours[0]:,} rows:   {ours_rate:>11,.0f} rows/s "
          f"({verdict} the 200,000/s target)")
    print(f"peer: raw sqlite3 cursor, tuples:    {peer_rate:>11,.0f} rows/s")
    print(f"  ratio ours/peer rate: {ours_rate / peer_rate:.2f}")
    big, small = _peak(config, "es"), _peak(small_config, "es")
    print(f"tracemalloc peak while iterating: {big / 1024:.0f} KiB vs {small / 1024:.0f} KiB for "
          f"a tenth of the rows (ratio {big / max(small, 1):.2f}x: flat)")


def main() -> None:
    """Run both benchmarks and print their figures."""
    parser = argparse.ArgumentParser(prog="python -m bench.subscribers", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the big CSV")
    parser.add_argument("--small", type=int, default=10_000, help="rows in the small CSV")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        config, csv_path, which = args.child
        print(json.dumps(child_import(Path(config), Path(csv_path), which == "peer")))
        return
    with tempfile.TemporaryDirectory(prefix="bench-subscribers-") as tmp:
        work = Path(tmp)
        config = bench_import(work, args.rows, args.small)
        bench_iterate(config, work / "small" / "newsletter.toml")


if __name__ == "__main__":
    main()
