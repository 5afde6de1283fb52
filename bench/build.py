"""The site build against Pelican 4.12, side by side on the same generated corpus, in one run.

Figures (each the median of `--repeat` runs, every run in a fresh subprocess of the same Python):
- cold full build of 500 issues (1,100 editions: es and en, and pt and fr on one issue in ten,
  `--translate-every`; the project offers the four languages, so ours also writes a pt and an fr
  index and state pages listing every issue by its fallback edition): fresh output folder, no
  cache; ours writes the search index (a Pagefind bundle per language) and the member-state and
  topic pages and feeds,
  which Pelican is not asked for (target ours ≤ 0.6 × Pelican); the search index's own seconds
  are shown on a row of their own (it runs beside the rest of the render stage);
- no-change rebuild: ours vs Pelican's cached rebuild (CACHE_CONTENT + LOAD_CONTENT_CACHE)
  (target ≤ 0.1 × Pelican, and ours under 0.5 s): ours stops after hashing its inputs, so the
  search index is not touched;
- rebuild after editing the newest issue's Spanish edition: the pages rendered and staged (target
  under 1 s), then the Spanish search index refreshed (reported apart; the English one is kept),
  and the whole command;
- peak memory of the cold build: the process tree's proportional set size (PSS, sampled every
  20 ms from /proc, so our worker processes count and pages they share with the parent count
  once; also without the Pagefind processes, which hold each language's index while they build
  it), and the main process's ru_maxrss (target ours ≤ Pelican), in cold runs of their own
  (the sampling takes CPU from the build, more from a tool using both cores);
- typographic quotes: our cold build with `typographic_quotes` on for every language vs off
  (target: not double).

Times are given two ways, the same way for both tools: "in-process" is the build call alone,
timed inside the child after the tool's modules are imported (`main([... "build"])` for us,
`read_settings()` + `Pelican(settings).run()` for Pelican); "command" is the whole subprocess as
a user's shell sees it (interpreter start-up and imports included). Both run from compiled
bytecode, as every run after an installation's first does (`bench.compile_package`; pip compiled
the peer's). Each cold run starts without deleting the last run's files (`discard`). Both tools
get the same
Markdown extensions (extra, toc with slugify_unicode, sane_lists); Pelican gets no smarty (it
cannot apply it per language), ours keeps the project's setting (smarty for Spanish), so the
peer does slightly less Markdown work than we do. Pelican is told to write only what we write:
one page per edition, an index, one full-content RSS feed per language (TRANSLATION_FEED_RSS);
no tag/category/author/archive pages, no Atom feeds. It still copies its theme; we write a
sitemap and a language chooser.

Run: `.venv/bin/python -m bench.build [--issues 500] [--repeat 3] [--translate-every 10]
[--keep DIR]`
(or `.venv/bin/python -m bench build`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import compile_package
from .build_child import MARK

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-11-28"
SAMPLE_EVERY = 0.02
TRASH = ".bench-trash"  # the runs' discarded outputs, beside the tools' folders (see discard)


# -- the parent: fresh subprocesses, memory sampled from /proc ---------------------------------

def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:  # a process may end between two reads
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            with contextlib.suppress(OSError):
                todo.extend(int(c) for c in (task / "children").read_text().split())
    return found


def tree_pss_kb(pid: int) -> tuple[int, int]:
    """The proportional set size of a process and all its descendants, in KB: all of them, and
    all but the search indexer's (Pagefind's own processes)."""
    total = own = 0
    for member in _descendants(pid):
        with contextlib.suppress(OSError):
            indexer = Path(f"/proc/{member}/comm").read_text().strip() == "pagefind"
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    own += 0 if indexer else int(line.split()[1])
                    break
    return total, own


@dataclass
class Run:
    """One measured build: in-process and whole-command seconds, peak memory in KB."""

    seconds: float
    command_seconds: float
    maxrss_kb: int
    workers_maxrss_kb: int
    peak_pss_kb: int
    cpu_seconds: float
    pages_seconds: float | None = None  # ours: until every page was staged
    search_seconds: float | None = None  # ours: the search index's refresh
    peak_pss_own_kb: int = 0  # the process tree's PSS less Pagefind's processes


def run_build(tool: str, folder: Path, sample: bool = False) -> Run:
    """Build once in a fresh subprocess; with `sample`, poll the tree's PSS while it runs."""
    argv = [sys.executable, "-m", "bench.build_child", tool, str(folder), TODAY]
    env = {**os.environ, "PYTHONHASHSEED": "0", "TZ": "UTC"}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    peak = [0, 0]
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(SAMPLE_EVERY):
            total, own = tree_pss_kb(proc.pid)
            peak[0], peak[1] = max(peak[0], total), max(peak[1], own)

    sampler = threading.Thread(target=poll, daemon=True)
    if sample:
        sampler.start()
    stdout, stderr = proc.communicate()
    command_seconds = time.perf_counter() - start
    stop.set()
    if sample:
        sampler.join()
    lines = [line for line in stdout.splitlines() if line.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(
            f"{tool} build failed in {folder} (exit {proc.returncode}):\n{stderr[-3000:]}"
        )
    data = json.loads(lines[-1][len(MARK):])
    return Run(data["seconds"], command_seconds, data["maxrss_kb"], data["workers_maxrss_kb"],
               peak[0], data["cpu_seconds"], data.get("pages_seconds"),
               data.get("search_seconds"), peak[1])


@dataclass
class Tool:
    """A tool's corpus folder and what makes a cold start for it."""

    name: str
    folder: Path
    output: Path
    cache: Path
    edited: Path
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def clean(self) -> None:
        """Fresh output folder and no cache: the last run's are moved aside, not deleted (see
        `discard`)."""
        for path in (self.output, self.cache, self.output.with_name(self.output.name + ".old")):
            discard(path)

    def record(self, case: str, run: Run) -> None:
        """Keep one run of a case."""
        self.runs.setdefault(case, []).append(run)

    def measure(self, case: str, repeat: int, prepare=None) -> None:  # type: ignore[no-untyped-def]
        """Run `repeat` builds, calling prepare(i) before each."""
        for i in range(repeat):
            if prepare:
                prepare(i)
            self.record(case, run_build(self.name, self.folder))

    def median(self, case: str, attr: str = "seconds") -> float:
        """The median of one figure over the case's runs."""
        return statistics.median(getattr(r, attr) for r in self.runs[case])


def discard(path: Path) -> None:
    """Move a folder into the work folder's trash, deleted when the benchmark ends. On a file
    system that skips recently freed inodes when it allocates new ones (ext4 without a journal
    does, for 30 s: this VM's), deleting the last run's ~5,000 files right before a cold build
    added 0.5-3 s of kernel time to the next run of either tool, varying from run to run; a cold
    build on a fresh clone pays none of it."""
    if not path.exists():
        return
    trash = path.parent.parent / TRASH
    trash.mkdir(exist_ok=True)
    path.rename(trash / f"{path.parent.name}-{path.name}-{time.monotonic_ns()}")


def edit(path: Path, i: int) -> None:
    """An editor's change: one sentence added to the edition."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\n\nCorrección \d+\.\n?$", "\n", text)
    path.write_text(text.rstrip("\n") + f"\n\nCorrección {i + 1}.\n", encoding="utf-8")


def set_build_option(project: Path, line: str) -> None:
    """Set one `key = value` line of [build] in the benchmark project's newsletter.toml."""
    toml = project / "newsletter.toml"
    key = line.split("=")[0].strip()
    text = toml.read_text(encoding="utf-8")
    text = re.sub(rf"(?m)^{key} = .*\n", "", text)
    text, n = re.subn(r"(?m)^\[build\]\n", f"[build]\n{line}\n", text)
    if n != 1:
        raise SystemExit(f"{toml}: no [build] section")
    toml.write_text(text, encoding="utf-8")


def check_pelican() -> str:
    """Pelican's version, or a clear message when the bench extra is not installed."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("pelican")
    except PackageNotFoundError:
        raise SystemExit("Pelican is not installed: .venv/bin/pip install -e '.[bench]'") from None


# -- the report --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    """One line of the table."""

    figure: str
    ours: str
    peer: str
    ratio: str
    target: str
    verdict: str


def _s(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 1 else f"{seconds:.2f} s"


def _mb(kb: float) -> str:
    return f"{kb / 1024:.0f} MB"


def _load() -> str:
    """The 1/5/15-minute load averages: the cores are shared, so say how busy they were."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def time_rows(label: str, ours: Tool, peer: Tool, case: str, max_ratio: float | None,
              max_seconds: float | None) -> list[Row]:
    """In-process and whole-command rows for one timed case."""
    rows = []
    for attr, how in (("seconds", "in-process"), ("command_seconds", "command")):
        a, b = ours.median(case, attr), peer.median(case, attr)
        targets, ok = [], True
        if max_ratio is not None:
            targets.append(f"≤ {max_ratio:g}×")
            ok &= a <= max_ratio * b
        if max_seconds is not None:
            targets.append(f"< {max_seconds:g} s")
            ok &= a < max_seconds
        rows.append(Row(f"{label}, {how}", _s(a), _s(b), f"{a / b:.2f}×",
                        ", ".join(targets) or "-", _verdict(ok) if targets else "-"))
    return rows


def print_table(rows: list[Row]) -> None:
    """A compact fixed-width table."""
    head = Row("figure", "ours", "Pelican", "ratio", "target", "verdict")
    widths = [max(len(getattr(r, f)) for r in [head, *rows]) for f in Row.__dataclass_fields__]
    for i, row in enumerate([head, *rows]):
        cells = [getattr(row, f) for f in Row.__dataclass_fields__]
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(cells, widths, strict=True))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


@contextlib.contextmanager
def workdir(keep: Path | None) -> Iterator[Path]:
    """A scratch folder for the corpus, removed afterwards unless --keep names one."""
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    path = Path(tempfile.mkdtemp(prefix="bench-build-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    """Build the corpus with both tools and print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--issues", type=int, default=500,
                        help="issues in the corpus (default 500)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per figure, median shown (default 3)")
    parser.add_argument("--seed", type=int, default=2686, help="corpus seed (default 2686)")
    parser.add_argument("--translate-every", type=int, default=10, metavar="N",
                        help="one issue in N also in pt and fr, the optional languages the "
                        "project offers (default 10; 0: es and en only)")
    parser.add_argument("--keep", type=Path,
                        help="build in this folder and keep it (default: a temp folder)")
    args = parser.parse_args(sys.argv[1:])
    pelican_version = check_pelican()
    compile_package()
    from .corpus import make_corpus, slug_for

    with workdir(args.keep) as work:
        started = time.perf_counter()
        ours_dir, pelican_dir = make_corpus(work, args.issues, args.seed,
                                            translate_every=args.translate_every)
        newest = slug_for(args.issues)
        ours = Tool("ours", ours_dir, ours_dir / "_site", ours_dir / ".cache",
                    ours_dir / "issues" / newest / "es.md")
        peer = Tool("pelican", pelican_dir, pelican_dir / "output", pelican_dir / "cache",
                    pelican_dir / "content" / newest / "es.md")
        editions = len(list((ours_dir / "issues").rglob("*.md")))
        size = sum(p.stat().st_size for p in (ours_dir / "issues").rglob("*.md"))
        translated = args.issues // args.translate_every if args.translate_every else 0
        print(f"Site build vs Pelican {pelican_version}: {args.issues} issues, {editions} editions "
              f"(es and en, pt and fr in {translated}; four languages offered; "
              f"{size / editions / 1024:.1f} KB Markdown each), {os.cpu_count()} cores, "
              f"median of {args.repeat}; corpus in {work}; load average {_load()}", flush=True)

        # The tools take turns run by run, so a burst of load on the shared machine hits both.
        # Memory is sampled in cold runs of its own: reading /proc every 20 ms takes CPU from the
        # build, which costs a tool using both cores more than one leaving a core idle.
        for case in ("cold", "no-change", "edit", "memory"):
            for i in range(args.repeat):
                for tool in (peer, ours):
                    if case in ("cold", "memory"):
                        tool.clean()
                    elif case == "edit":
                        edit(tool.edited, i)
                    tool.record(case, run_build(tool.name, tool.folder, sample=case == "memory"))
            print(f"  {case}: done ({time.perf_counter() - started:.0f} s)", flush=True)

        for _ in range(args.repeat):
            for languages in ([], ["es", "en", "pt", "fr"]):
                set_build_option(ours_dir, f"typographic_quotes = {json.dumps(languages)}")
                ours.clean()
                ours.record(f"quotes {bool(languages)}", run_build(ours.name, ours.folder))
        quotes = {on: ours.median(f"quotes {on}") for on in (False, True)}
        quotes_cpu = {on: ours.median(f"quotes {on}", "cpu_seconds") for on in (False, True)}
        set_build_option(ours_dir, 'typographic_quotes = ["es", "fr"]')
        set_build_option(ours_dir, "workers = 1")
        ours.measure("one core", args.repeat, prepare=lambda i: ours.clean())
        set_build_option(ours_dir, "workers = 0")
        shutil.rmtree(work / TRASH, ignore_errors=True)  # every run is measured

        rows = time_rows(f"cold build, {editions} editions, with search and state/topic pages",
                         ours, peer, "cold", 0.6, None)
        search = ours.median("cold", "search_seconds")
        rows.append(Row("  of which the search index (Pagefind, one language indexing at a time)",
                        _s(search),
                        "-", "-", "-", "-"))
        cpu_a, cpu_b = ours.median("cold", "cpu_seconds"), peer.median("cold", "cpu_seconds")
        rows.append(Row("  CPU time of the cold command, all processes", _s(cpu_a), _s(cpu_b),
                        f"{cpu_a / cpu_b:.2f}×", "-", "-"))
        rows += time_rows("no-change rebuild", ours, peer, "no-change", 0.1, 0.5)
        pages = ours.median("edit", "pages_seconds")
        rows.append(Row("rebuild after editing 1 issue: pages rendered and staged", _s(pages),
                        "-", "-", "< 1 s", _verdict(pages < 1.0)))
        worst = max(r.pages_seconds or 0.0 for r in ours.runs["edit"])
        rows.append(Row("  worst of the edited rebuilds' pages", _s(worst), "-", "-", "< 1 s",
                        _verdict(worst < 1.0)))
        search = ours.median("edit", "search_seconds")
        rows.append(Row("  then the search refresh (the edited language's index)", _s(search),
                        "-", "-", "-", "-"))
        rows += time_rows("rebuild after editing 1 issue, whole", ours, peer, "edit", None, None)
        pss_a, pss_b = ours.median("memory", "peak_pss_kb"), peer.median("memory", "peak_pss_kb")
        rows.append(Row("peak memory, cold (PSS of process tree)", _mb(pss_a), _mb(pss_b),
                        f"{pss_a / pss_b:.2f}×", "≤ 1×", _verdict(pss_a <= pss_b)))
        own = ours.median("memory", "peak_pss_own_kb")
        rows.append(Row("  the same without Pagefind's processes (ours)", _mb(own), _mb(pss_b),
                        f"{own / pss_b:.2f}×", "-", "-"))
        rss_a, rss_b = ours.median("memory", "maxrss_kb"), peer.median("memory", "maxrss_kb")
        workers = ours.median("memory", "workers_maxrss_kb")
        rows.append(Row("peak RSS, cold, main process", _mb(rss_a), _mb(rss_b),
                        f"{rss_a / rss_b:.2f}×", "-", "-"))
        rows.append(Row("  largest worker's peak RSS (ours)", _mb(workers), "-", "-", "-", "-"))
        one = ours.median("one core")
        peer_cold = peer.median("cold")
        rows.append(Row("cold build on one core (workers = 1), in-process", _s(one), _s(peer_cold),
                        f"{one / peer_cold:.2f}×", "-", "-"))
        off, on = quotes[False], quotes[True]
        rows.append(Row("cold build, quotes off → on (every language)", f"{_s(off)} → {_s(on)}",
                        "-",
                        f"{on / off:.2f}×", "< 2×", _verdict(on < 2 * off)))
        off, on = quotes_cpu[False], quotes_cpu[True]
        rows.append(Row("  CPU time (command), quotes off → on", f"{_s(off)} → {_s(on)}", "-",
                        f"{on / off:.2f}×", "< 2×", _verdict(on < 2 * off)))
        print()
        print_table(rows)
        print(f"\n(total {time.perf_counter() - started:.0f} s, load average now {_load()}; "
              "\"in-process\" excludes interpreter "
              "start-up and imports, \"command\" includes them)")


if __name__ == "__main__":
    main()
