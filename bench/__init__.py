"""Benchmarks: `python -m bench.<area>` prints figures and ratios against a named peer."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "newsletter"


def compile_package() -> None:
    """Write the package's bytecode cache before anything is timed. Python writes it at a
    module's first import and reads it afterwards, so a user's runs after the first never compile
    our modules; the peers' modules were compiled when pip installed them. A machine that sets
    PYTHONDONTWRITEBYTECODE (this one does) would otherwise compile ours again in every timed
    command (~40 ms of a no-change rebuild's 150 ms). The cache is git-ignored."""
    import compileall

    compileall.compile_dir(PACKAGE, quiet=1)
