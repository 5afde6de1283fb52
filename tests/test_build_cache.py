"""The build cache across a sequence of builds, as an editor runs them (found by bench/build.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from newsletter.archive.build import build_site
from newsletter.archive.cache import BuildCache
from newsletter.settings import Settings

TODAY = dt.date(2026, 11, 28)


def test_an_edit_after_a_no_change_rebuild_reconverts_only_that_edition(
    site_settings: Settings, site_project: Path
) -> None:
    build_site(site_settings, today=TODAY)
    assert build_site(site_settings, today=TODAY).unchanged
    edited = site_project / "issues/2011-06/es.md"
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text + "\nUn párrafo nuevo.\n", encoding="utf-8")
    report = build_site(site_settings, today=TODAY)
    assert report.converted == 1


def test_save_keep_unused_carries_entries_this_build_did_not_look_up(tmp_path: Path) -> None:
    path = tmp_path / "cache.pickle"
    first = BuildCache(path)
    first.put("a", 1)
    first.put("b", 2)
    first.save()
    second = BuildCache(path)
    assert second.get("a") == 1
    second.put("c", 3)
    second.save(keep_unused=True)
    assert {k: BuildCache(path).get(k) for k in "abc"} == {"a": 1, "b": 2, "c": 3}
    third = BuildCache(path)
    assert third.get("c") == 3
    third.save()
    assert BuildCache(path).get("a") is None
