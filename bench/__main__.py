"""Run the benchmarks: `python -m bench` runs every bench/<area>.py that defines `main()`;
`python -m bench <area> [options]` runs one, passing it the options."""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def areas() -> list[str]:
    """Benchmark modules in name order (helpers such as corpus.py define no `main`)."""
    return sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


def run(area: str, options: list[str]) -> bool:
    """Run one area's main() as if started with `python -m bench.<area> options`; True if it ran."""
    module = importlib.import_module(f"bench.{area}")
    entry = getattr(module, "main", None)
    if entry is None:
        return False
    sys.argv = [f"python -m bench.{area}", *options]
    print(f"== bench.{area} ==", flush=True)
    entry()
    return True


def main() -> int:
    """Run one named area, or every area in turn (a failing area does not stop the others)."""
    known = areas()
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        area, options = sys.argv[1], sys.argv[2:]
        if area not in known:
            print(f"Error: no benchmark {area!r}; known: {', '.join(known)}", file=sys.stderr)
            return 2
        if not run(area, options):
            print(f"Error: bench/{area}.py has no main()", file=sys.stderr)
            return 2
        return 0
    if len(sys.argv) > 1:
        print("usage: python -m bench [AREA [OPTIONS]]; areas: " + ", ".join(known),
              file=sys.stderr)
        return 2
    failed = []
    for area in known:
        started = time.perf_counter()
        try:
            ran = run(area, [])
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - one broken benchmark must not hide the rest
            traceback.print_exception(exc)
            failed.append(area)
            continue
        if ran:
            print(f"== bench.{area}: {time.perf_counter() - started:.0f} s ==\n", flush=True)
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
