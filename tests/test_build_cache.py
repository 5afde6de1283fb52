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


def test_listed_keys_answer_in_without_a_query_and_are_kept_by_save(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    first = BuildCache(path)
    for key in ("html:a", "html:b", "edition:c"):
        first.put(key, key.upper())
    first.save()
    second = BuildCache(path)
    second.prefetch_keys("html:")
    queries: list[str] = []
    second._connection().set_trace_callback(queries.append)  # noqa: SLF001
    assert "html:a" in second
    assert "html:z" not in second
    assert queries == []  # answered from the list
    assert "edition:c" in second  # another prefix: asked of the file
    assert len(queries) == 1
    second.put("html:new", 1)
    assert "html:new" in second  # put by this build after the list was made
    second.save()  # keeps what was found by `in`, drops what this build never used
    assert {k: BuildCache(path).get(k) for k in ("html:a", "html:b", "edition:c", "html:new")} \
        == {"html:a": "HTML:A", "html:b": None, "edition:c": "EDITION:C", "html:new": 1}
