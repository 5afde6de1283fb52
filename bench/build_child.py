"""One timed build for bench/build.py, in a fresh process that imports no more than the tool's
own command does (so the "command" figure is what a user's shell sees, give or take the few
standard modules below).

Run by bench/build.py as `python -m bench.build_child TOOL FOLDER TODAY`; prints one JSON line
after MARK: the in-process seconds, ru_maxrss of this process and of its children, CPU seconds,
and for our build the seconds until every page was staged and the search refresh's seconds (from
the report the command prints).
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time
from pathlib import Path

MARK = "BENCH-RESULT "


def run_child(tool: str, folder: Path, today: str) -> None:
    """Run one build of `tool` on `folder`; print the in-process time and rusage as JSON."""
    stages = {"pages_seconds": None, "search_seconds": None}
    if tool == "ours":
        # What `publish.py` imports before it runs a command (every command group registers);
        # the build imports the rest (Markdown, Jinja, the checks) when it needs them, inside the
        # clock, as Pelican reads its settings and plugins inside it.
        import newsletter.cli.editorial as editorial
        from newsletter.cli import build_parser
        from newsletter.cli import main as cli

        build_parser()
        printed = editorial._report_build

        def report_stages(report, settings):  # type: ignore[no-untyped-def]
            if not report.unchanged:
                stages["pages_seconds"] = report.pages_seconds
                search = report.search
                stages["search_seconds"] = search.seconds if search and search.refreshed else 0.0
            printed(report, settings)

        editorial._report_build = report_stages
        argv = ["--config", str(folder / "newsletter.toml"), "build", "--today", today]
        out = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(out):
            code = cli(argv)
        seconds = time.perf_counter() - start
        if code != 0:
            raise SystemExit(f"our build failed ({code}):\n{out.getvalue()}")
    else:
        from pelican import Pelican
        from pelican.settings import read_settings

        start = time.perf_counter()
        settings = read_settings(str(folder / "pelicanconf.py"))
        Pelican(settings).run()
        seconds = time.perf_counter() - start
    me, workers = (resource.getrusage(who)
                   for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    cpu = me.ru_utime + me.ru_stime + workers.ru_utime + workers.ru_stime
    print(MARK + json.dumps({"seconds": seconds, "maxrss_kb": me.ru_maxrss,
                             "workers_maxrss_kb": workers.ru_maxrss, "cpu_seconds": cpu,
                             **stages}))


if __name__ == "__main__":
    run_child(sys.argv[1], Path(sys.argv[2]), sys.argv[3])
