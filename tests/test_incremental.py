"""Incremental builds: what a rebuild skips, what it must not skip, its crash-safe publishing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

import pytest

import newsletter.archive.writer
from newsletter.archive.build import CACHE_FILE, build_site, manifest_path
from newsletter.archive.pages import SiteRenderer
from newsletter.archive.writer import MANIFEST
from newsletter.errors import BuildError
from newsletter.settings import Settings

from .test_site import tree

TODAY = dt.date(2026, 11, 28)


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _set_front_matter(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_only_the_edited_issues_pages_are_rendered_again(
    site_settings: Settings, site_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_site(site_settings, today=TODAY)
    rendered: list[tuple[str, str]] = []
    original = SiteRenderer.issue_page

    def counting(self: SiteRenderer, issue, lang, html, **around):  # type: ignore[no-untyped-def]
        rendered.append((issue.slug, lang))
        return original(self, issue, lang, html, **around)

    monkeypatch.setattr(SiteRenderer, "issue_page", counting)
    _append(site_project / "issues/2011-03/en.md", "\nOne more sentence.\n")
    report = build_site(site_settings, today=TODAY)
    # Both languages: the Spanish page's switcher shows the English edition's title.
    assert sorted(rendered) == [("2011-03", "en"), ("2011-03", "es")]
    assert report.converted == 1
    assert "en/2011-03/index.html" in report.written


def test_a_no_change_rebuild_opens_no_cache(
    site_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_site(site_settings, today=TODAY)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the no-change path opened the build cache")

    monkeypatch.setattr("newsletter.archive.cache.BuildCache", refuse)
    assert build_site(site_settings, today=TODAY).unchanged


def test_settings_that_only_sending_reads_keep_the_archive(site_settings: Settings) -> None:
    """[smtp], [delivery] (its rate, transport…), [ses], [deploy], [serve] and the secret do not
    shape a page: changing them leaves the built site as it is. [site] does."""
    site = build_site(site_settings, today=TODAY).output
    before = tree(site)
    sending = site_settings.replace(
        smtp=dataclasses.replace(site_settings.smtp, host="relay.example.org", port=2525),
        delivery=dataclasses.replace(site_settings.delivery, rate=14.0, transport="smtp"),
        ses=dataclasses.replace(site_settings.ses, region="eu-west-1"),
        deploy=dataclasses.replace(site_settings.deploy, bucket="elsewhere"),
        serve=dataclasses.replace(site_settings.serve, port=9090),
        email=dataclasses.replace(site_settings.email, secret="another-secret",
                                  from_name="Someone else"),
    )
    report = build_site(sending, today=TODAY)
    assert report.unchanged and tree(site) == before
    retitled = sending.replace(site=dataclasses.replace(
        site_settings.site, title={**site_settings.site.title, "en": "ANNAobserva, renamed"}))
    report = build_site(retitled, today=TODAY)
    assert not report.unchanged and "en/index.html" in report.written
    assert "ANNAobserva, renamed" in (site / "en/index.html").read_text(encoding="utf-8")


def test_warnings_are_repeated_by_a_no_change_rebuild(
    site_settings: Settings, site_project: Path
) -> None:
    _append(site_project / "issues/2011-03/es.md", "\nVéase [el sitio](http://example.org/).\n")
    _append(site_project / "issues/2011-03/en.md", "\nSee [the site](http://example.org/).\n")
    first = build_site(site_settings, today=TODAY)
    again = build_site(site_settings, today=TODAY)
    assert again.unchanged
    assert [str(w) for w in again.warnings] == [str(w) for w in first.warnings]
    assert any("http://example.org/ uses http://" in str(w) for w in again.warnings)


def test_an_issue_dated_after_today_appears_when_its_day_comes(
    site_settings: Settings, site_project: Path
) -> None:
    for lang in ("es", "en"):
        _set_front_matter(site_project / f"issues/2011-06/{lang}.md",
                          "date: 2011-06-07", "date: 2026-12-01")
    site = build_site(site_settings, today=TODAY).output
    assert not (site / "es/2011-06").exists()
    assert build_site(site_settings, today=dt.date(2026, 11, 30)).unchanged
    report = build_site(site_settings, today=dt.date(2026, 12, 1))
    assert not report.unchanged
    assert (site / "es/2011-06/index.html").is_file()
    assert "2011-06" in (site / "es/feed.xml").read_text(encoding="utf-8")


def test_an_unpublished_issue_leaves_no_files_or_folders(
    site_settings: Settings, site_project: Path
) -> None:
    site = build_site(site_settings, today=TODAY).output
    for lang in ("es", "en"):
        _set_front_matter(site_project / f"issues/2011-06/{lang}.md",
                          "countries:", "status: draft\ncountries:")
    report = build_site(site_settings, today=TODAY)
    assert {"es/2011-06/index.html", "en/2011-06/index.html"} <= set(report.removed)
    assert not (site / "es/2011-06").exists() and not (site / "en/2011-06").exists()


def test_a_file_deleted_from_the_site_by_hand_is_written_again(
    site_settings: Settings, site_project: Path
) -> None:
    site = build_site(site_settings, today=TODAY).output
    (site / "en/2011-03/index.html").unlink()
    _append(site_project / "issues/2011-06/en.md", "\nOne more sentence.\n")
    build_site(site_settings, today=TODAY)
    assert (site / "en/2011-03/index.html").is_file()


def test_an_update_killed_after_its_commit_point_is_completed_by_the_next_build(
    site_settings: Settings, site_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_site(site_settings, today=TODAY).output
    _append(site_project / "issues/2011-06/es.md", "\nUn párrafo nuevo.\n")
    for lang in ("es", "en"):  # and one issue unpublished, so files are deleted too
        _set_front_matter(site_project / f"issues/2011-03/{lang}.md",
                          "countries:", "status: draft\ncountries:")
    moves = []
    real_replace = os.replace

    def killed_after_one_move(src, dst):  # type: ignore[no-untyped-def]
        if moves:
            raise KeyboardInterrupt  # as if the process were killed here
        moves.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(newsletter.archive.writer.os, "replace", killed_after_one_move)
    with pytest.raises(KeyboardInterrupt):
        build_site(site_settings, today=TODAY)
    monkeypatch.setattr(newsletter.archive.writer.os, "replace", real_replace)
    assert site.with_name(site.name + ".commit").is_dir()  # decided, half done

    assert build_site(site_settings, today=TODAY).unchanged  # completes it; then nothing to do
    assert not site.with_name(site.name + ".commit").exists()
    assert not (site / MANIFEST).exists() and manifest_path(site_settings, site).is_file()
    (site_project / ".cache" / CACHE_FILE).unlink()
    clean = build_site(site_settings, today=TODAY, output=tmp_path / "clean").output
    assert tree(site) == tree(clean)


def test_an_update_killed_before_its_commit_point_leaves_the_previous_site(
    site_settings: Settings, site_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_site(site_settings, today=TODAY).output
    before = tree(site)
    _append(site_project / "issues/2011-06/es.md", "\nUn párrafo nuevo.\n")

    def killed(self, target):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(newsletter.archive.writer.Path, "rename", killed)
    with pytest.raises(KeyboardInterrupt):
        build_site(site_settings, today=TODAY)
    monkeypatch.undo()
    assert tree(site) == before
    assert not [p for p in site.parent.iterdir() if p.name.startswith(site.name + ".")]
    report = build_site(site_settings, today=TODAY)
    assert "es/2011-06/index.html" in report.written


def test_an_unreadable_cache_is_replaced(site_settings: Settings, site_project: Path) -> None:
    build_site(site_settings, today=TODAY)
    cache = site_project / ".cache" / CACHE_FILE
    for extra in cache.parent.glob(CACHE_FILE + "-*"):
        extra.unlink()
    cache.write_bytes(b"this is not a database" * 100)
    _append(site_project / "issues/2011-06/es.md", "\nUn párrafo nuevo.\n")
    report = build_site(site_settings, today=TODAY)
    assert report.converted >= 1
    assert build_site(site_settings, today=TODAY).unchanged


def test_the_site_folder_holds_exactly_the_site(site_settings: Settings) -> None:
    site = build_site(site_settings, today=TODAY).output
    manifest = manifest_path(site_settings, site)
    assert manifest.parent == site_settings.path(".cache") and manifest.is_file()
    files = newsletter.archive.writer.read_manifest(site, manifest)["files"]
    on_disk = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert set(files) == on_disk
    assert not [name for name in on_disk if "/." in "/" + name]  # no bookkeeping in the site


@pytest.mark.parametrize("changed", [False, True])
def test_an_old_manifest_in_the_site_is_removed_by_the_next_build(
    site_settings: Settings, site_project: Path, changed: bool
) -> None:
    site = build_site(site_settings, today=TODAY).output
    (site / MANIFEST).write_text('{"files": {}}', encoding="utf-8")  # what builds before wrote
    if changed:
        _append(site_project / "issues/2011-06/es.md", "\nUn párrafo nuevo.\n")
    build_site(site_settings, today=TODAY)
    assert not (site / MANIFEST).exists()


def test_a_site_folder_deleted_by_hand_is_built_again(site_settings: Settings) -> None:
    import shutil

    site = build_site(site_settings, today=TODAY).output
    before = tree(site)
    shutil.rmtree(site)
    report = build_site(site_settings, today=TODAY)
    assert not report.unchanged
    assert tree(site) == before


def test_a_first_build_killed_between_its_swap_and_its_manifest_is_completed_by_the_next(
    site_settings: Settings, site_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_site(site_settings, today=TODAY).output
    manifest = manifest_path(site_settings, site)
    manifest.unlink()  # as before the first build: the next one swaps the whole folder in
    _append(site_project / "issues/2011-06/es.md", "\nUn párrafo nuevo.\n")

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the new site is in place; its manifest is not written yet

    monkeypatch.setattr(newsletter.archive.writer, "write_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        build_site(site_settings, today=TODAY)
    monkeypatch.undo()
    assert not manifest.exists()  # so the next build cannot trust what it finds
    report = build_site(site_settings, today=TODAY)
    assert not report.unchanged and manifest.is_file()
    assert build_site(site_settings, today=TODAY).unchanged
    clean = build_site(site_settings, today=TODAY, output=tmp_path / "clean").output
    assert tree(site) == tree(clean)


def test_changing_the_number_of_workers_rebuilds_nothing(site_settings: Settings) -> None:
    import dataclasses

    build_site(site_settings, today=TODAY)
    build = dataclasses.replace(site_settings.build, workers=7)
    more = dataclasses.replace(site_settings, build=build)
    assert build_site(more, today=TODAY).unchanged


def test_an_output_can_turn_from_a_file_into_a_folder(
    site_settings: Settings, site_project: Path
) -> None:
    site = build_site(site_settings, today=TODAY).output
    images = site_project / "issues/2011-03/images"
    (images / "chart").write_bytes(b"a file first")
    build_site(site_settings, today=TODAY)
    assert (site / "media/2011-03/images/chart").read_bytes() == b"a file first"
    (images / "chart").unlink()
    (images / "chart").mkdir()
    (images / "chart" / "part.svg").write_bytes(b"<svg/>")
    build_site(site_settings, today=TODAY)
    assert (site / "media/2011-03/images/chart/part.svg").read_bytes() == b"<svg/>"


def test_a_drafts_build_and_a_public_build_do_not_evict_each_other(
    site_settings: Settings, site_project: Path, tmp_path: Path
) -> None:
    for lang in ("es", "en"):
        _set_front_matter(site_project / f"issues/2011-06/{lang}.md",
                          "countries:", "status: draft\ncountries:")
    drafts = tmp_path / "drafts-site"
    assert build_site(site_settings, today=TODAY, drafts=True, output=drafts).converted == 4
    assert build_site(site_settings, today=TODAY).converted == 2  # its own cache: the public two
    _append(site_project / "issues/2011-03/es.md", "\nUn párrafo nuevo.\n")
    assert build_site(site_settings, today=TODAY, drafts=True, output=drafts).converted == 1


def test_a_cache_path_that_is_a_folder_is_a_clear_error(
    site_settings: Settings, site_project: Path
) -> None:
    (site_project / ".cache" / CACHE_FILE).mkdir(parents=True)
    with pytest.raises(BuildError, match=r"build\.sqlite: cannot open the build cache .*remove"):
        build_site(site_settings, today=TODAY)


def test_a_cache_locked_by_another_build_is_a_clear_error(
    site_settings: Settings, site_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    build_site(site_settings, today=TODAY)
    _append(site_project / "issues/2011-06/es.md", "\nUn párrafo nuevo.\n")
    holder = sqlite3.connect(site_project / ".cache" / CACHE_FILE)
    holder.execute("BEGIN EXCLUSIVE")  # another build writing, for longer than the wait
    connect = sqlite3.connect
    monkeypatch.setattr("newsletter.archive.cache.sqlite3.connect",
                        lambda path, timeout: connect(path, timeout=0.1))
    try:
        with pytest.raises(BuildError, match=r"build\.sqlite: the build cache failed "
                                             r"\(database is locked\)"):
            build_site(site_settings, today=TODAY)
    finally:
        holder.rollback()
        holder.close()
