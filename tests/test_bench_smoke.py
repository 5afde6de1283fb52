"""Every benchmark still runs against today's code: each area of `make bench`, at a toy size, as a
subprocess (`python -m bench AREA …`). The figures mean nothing at this size; what is tested is
that a change to the package's API did not leave a benchmark behind (bench/ is not imported by
anything else, so nothing but this would notice before the next `make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

AREAS = {
    "backup": (["--subscribers", "300", "--rounds", "1", "--writer-seconds", "0.5"],
               "restore (fetch, checksum, gunzip, integrity_check"),
    "build": (["--issues", "10", "--repeat", "1"], "no-change rebuild, in-process"),
    "delivery": (["--messages", "200", "--small", "50", "--big", "200", "--rounds", "1",
                  "--rate-messages", "20"], "ratio peak 200 / 50:"),
    "deploy": (["--editions", "20", "--repeat", "1"], "ratio no-change deploy / peer:"),
    "email": (["--messages", "200"], "per message (budget 0.5 ms)"),
    "subscribers": (["--rows", "1000", "--small", "100"], "ratio peer/ours p99:"),
}


def test_every_area_is_smoke_tested() -> None:
    areas = {p.stem for p in (REPO / "bench").glob("[!_]*.py")
             if "def main(" in p.read_text(encoding="utf-8")}
    assert areas == set(AREAS)


@pytest.mark.parametrize("area", sorted(AREAS))
def test_the_benchmark_runs(area: str) -> None:
    options, expected = AREAS[area]
    done = subprocess.run([sys.executable, "-m", "bench", area, *options], cwd=REPO,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    assert expected in done.stdout, done.stdout[-3000:]


def test_memory_sampling_survives_a_process_that_ends_while_it_is_read(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build benchmark walks /proc for the process tree every 20 ms; a process (a Pagefind
    run, a worker) may end between two reads. The walk skips it (it once raised, when the
    process's folder was there when looked at and gone when listed: simulated by saying every
    folder is there)."""
    sys.path.insert(0, str(REPO))
    try:
        from bench.build import _descendants, tree_pss_kb
    finally:
        sys.path.remove(str(REPO))
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()  # reaped: its /proc entry is gone
    monkeypatch.setattr(Path, "is_dir", lambda self: True)
    assert _descendants(done.pid) == [done.pid]
    assert tree_pss_kb(done.pid) == (0, 0)


def test_a_cold_run_starts_without_deleting_the_last_runs_files(tmp_path: Path) -> None:
    """The build benchmark moves the last run's output aside (deleted when it ends): deleting
    thousands of files right before a cold build made the next one pay kernel time for them."""
    sys.path.insert(0, str(REPO))
    try:
        from bench.build import TRASH, discard
    finally:
        sys.path.remove(str(REPO))
    site = tmp_path / "ours" / "_site"
    (site / "es").mkdir(parents=True)
    (site / "es" / "index.html").write_text("x")
    inode = (site / "es" / "index.html").stat().st_ino
    discard(site)
    discard(tmp_path / "ours" / ".cache")  # not there: nothing to do
    assert not site.exists()
    moved = list((tmp_path / TRASH).rglob("index.html"))
    assert [p.stat().st_ino for p in moved] == [inode]  # moved, not copied and deleted


def test_the_benchmarks_time_our_modules_compiled_as_a_users_second_run_does(
    tmp_path: Path
) -> None:
    """`compile_package` writes the bytecode cache Python reads at every later import, even where
    PYTHONDONTWRITEBYTECODE is set (this machine's; each timed command compiled our modules)."""
    sys.path.insert(0, str(REPO))
    try:
        import bench
    finally:
        sys.path.remove(str(REPO))
    package = tmp_path / "newsletter"
    (package / "cli").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "cli" / "__init__.py").write_text("X = 1\n")
    original = bench.PACKAGE
    bench.PACKAGE = package
    try:
        bench.compile_package()
    finally:
        bench.PACKAGE = original
    assert sorted(p.name.split(".")[0] for p in package.rglob("__pycache__/*.pyc")) \
        == ["__init__", "__init__"]
    assert bench.PACKAGE == REPO / "newsletter"
