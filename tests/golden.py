"""Golden files: compare rendered output with a reviewed file; `make golden` refreshes them."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
REFRESH = os.environ.get("ANNAOBSERVA_REFRESH_GOLDEN") == "1"


def assert_golden(actual: str, name: str) -> None:
    """Fail with a unified diff unless `actual` equals tests/golden/<name> (rewritten on
    refresh)."""
    path = GOLDEN / name
    if REFRESH:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run `make golden` and review the new file"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(True), actual.splitlines(True), str(path), "actual", n=2))
        raise AssertionError(
            f"{name} differs from its golden file (`make golden` after review):\n{diff}")
