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


def test_a_prefetched_prefix_answers_its_misses_without_a_query(tmp_path: Path) -> None:
    """A cold build asks for every edition's parse and scan before putting it: after one read of
    the prefix, a key that was not there is a miss without asking the file again."""
    path = tmp_path / "cache.sqlite"
    first = BuildCache(path)
    first.put("edition:a", "A")
    first.put("html:b", "B")
    first.save()
    second = BuildCache(path)
    second.prefetch("edition:")
    queries: list[str] = []
    second._connection().set_trace_callback(queries.append)  # noqa: SLF001
    assert second.get("edition:a") == "A"
    assert second.get("edition:new") is None
    assert queries == []  # both answered from the one read
    second.put("edition:new", "N")
    second.flush()  # written: no longer a known miss, and read back from the file
    queries.clear()
    assert second.get("edition:new") == "N"
    assert second.get("edition:a") == "A"  # taken out of the prefetched ones: read again
    assert second.get("html:b") == "B"  # another prefix: asked of the file
    assert len(queries) == 3 and all(q.startswith("SELECT value") for q in queries)


def test_cached_records_come_back_equal_from_the_cache_file(tmp_path: Path) -> None:
    """Editions, body scans and problems are pickled as their constructors' arguments
    (`issues.by_fields`): what a rebuild reads back is equal, field for field, to what was put."""
    from newsletter.content import Edition, Problem
    from newsletter.content.body_scan import BodyScan, Heading, Link

    edition = Edition(slug="2026-11", lang="es", path=tmp_path / "es.md", number=7, title="T",
                      date=dt.date(2026, 11, 2), summary="S", body="Texto.", body_line=9,
                      source_hash="ab", status="draft", tags=("a",), countries=("UY",),
                      key_lines={"number": 2})
    scan = BodyScan((Link(10, "images/a.png", True, None, False),), (Heading(11, 2, "Uno"),),
                    (Problem("issues/2026-11/es.md", 11, "empty", "warning"),), 42)
    path = tmp_path / "cache.sqlite"
    with BuildCache(path) as cache:
        cache.put("edition", (edition, [Problem("x.md", 0, "line 0 is line 1")]))
        cache.put("scan", scan)
        cache.save()
    with BuildCache(path) as cache:
        again, problems = cache.get("edition")
        assert again == edition and again.key_lines == {"number": 2}
        assert problems == [Problem("x.md", 1, "line 0 is line 1")]
        assert cache.get("scan") == scan
