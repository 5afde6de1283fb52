"""Every module of the package imports on its own, in a fresh interpreter.

In-process tests import modules in whatever order the suite happens to, which hides an import
cycle (`subscribers add` once crashed that way); a fresh `python -c "import newsletter.x.y"` per
module is the only place it shows.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import newsletter
from tests.conftest import REPO


def modules() -> list[str]:
    """Every module and package under `newsletter`, found on disk (a new one is tested too)."""
    found = ["newsletter"]
    for info in pkgutil.walk_packages(newsletter.__path__, prefix="newsletter."):
        found.append(info.name)
    return sorted(found)


def test_the_package_has_its_subsystems() -> None:
    names = modules()
    for expected in ("newsletter.cli", "newsletter.content.issues", "newsletter.webapp.app",
                     "newsletter.subscribers.confirmations", "newsletter.archive.preview"):
        assert expected in names
    assert len(names) > 40


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    names = modules()
    # Started together (a fresh interpreter each), collected after: a few seconds, not a minute.
    procs = {name: subprocess.Popen([sys.executable, "-X", "utf8",
                                     "-c", f"import {name}"], cwd=REPO,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in names}
    failures = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0 or err.strip():
            failures[name] = err.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
    assert failures == {}


@pytest.mark.parametrize("name", ["newsletter.subscribers.confirmations", "newsletter.webapp"])
def test_the_cycle_that_crashed_subscribers_add_stays_broken(name: str) -> None:
    result = subprocess.run([sys.executable, "-c", f"import {name}"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
