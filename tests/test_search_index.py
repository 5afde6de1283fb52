"""The search stage of the build: one Pagefind bundle per language, kept when its pages did not
change, part of the atomic commit, skipped by the preview's first pass and refreshed after it."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

import newsletter.archive.search
from newsletter.archive.build import build_site, manifest_path
from newsletter.cli.editorial import make_preview
from newsletter.errors import BuildError
from newsletter.settings import Settings

from .test_site import tree

TODAY = dt.date(2026, 11, 28)


def _search_files(site: Path) -> dict[str, bytes]:
    return {k: v for k, v in tree(site).items() if k.startswith("pagefind/")}


def test_one_bundle_per_language_with_that_languages_pages(site_settings: Settings) -> None:
    site = build_site(site_settings, today=TODAY).output
    for lang in ("es", "en"):
        entry = json.loads((site / f"pagefind/{lang}/pagefind-entry.json").read_text())
        assert list(entry["languages"]) == [lang]
        assert entry["languages"][lang]["page_count"] == 2  # the two issue pages, nothing else
        assert (site / f"pagefind/{lang}/wasm.{lang}.pagefind").is_file()
        # Pagefind's ready-made interfaces are left out: the archive has its own.
        assert not (site / f"pagefind/{lang}/pagefind-ui.js").exists()


def test_the_index_is_deterministic(site_settings: Settings, tmp_path: Path) -> None:
    first = build_site(site_settings, today=TODAY, output=tmp_path / "one").output
    second = build_site(site_settings, today=TODAY, output=tmp_path / "two").output
    assert _search_files(first) == _search_files(second)


def test_a_change_that_leaves_the_text_alone_does_not_touch_the_index(
    site_settings: Settings, site_project: Path
) -> None:
    site = build_site(site_settings, today=TODAY).output
    before = {p: (site / p).stat().st_mtime_ns for p in _search_files(site)}
    css = site_project / "templates/static/style.css"
    css.write_text(css.read_text(encoding="utf-8") + "\n.x { color: red; }\n", encoding="utf-8")
    report = build_site(site_settings, today=TODAY)
    assert "es/2011-06/index.html" in report.written  # every page links the new stylesheet
    assert not [p for p in report.written if p.startswith("pagefind/")]
    assert {p: (site / p).stat().st_mtime_ns for p in _search_files(site)} == before


def test_a_failed_index_leaves_the_previous_site_and_index_intact(
    site_settings: Settings, site_project: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    site = build_site(site_settings, today=TODAY).output
    before = tree(site)
    broken = tmp_path / "pagefind"
    broken.write_text("#!/bin/sh\necho 'Pagefind ran out of luck' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(newsletter.archive.search, "pagefind_binary", lambda: broken)
    edited = site_project / "issues/2011-06/en.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nNew text.\n", encoding="utf-8")
    # Another binary is another index: every language is indexed again, the first offered first.
    with pytest.raises(BuildError, match=r"the search index of es failed \(Pagefind exited "
                                         r"with 3\); the site was not changed:\nPagefind ran out"):
        build_site(site_settings, today=TODAY)
    assert tree(site) == before
    assert [p.name for p in site.parent.iterdir() if p.name.startswith(("_site.", "._site"))] \
        == []


def test_the_languages_are_indexed_one_after_another_where_memory_is_short(
    site_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One Pagefind at a time when the memory for a second index is not free (each holds its
    language's whole index until it ends): the runs never overlap, every language is indexed."""
    monkeypatch.setattr(newsletter.archive.search, "available_mb", lambda: 512.0)
    real = newsletter.archive.search.pagefind_binary()
    log = tmp_path / "runs.log"
    wrapper = tmp_path / "pagefind"
    wrapper.write_text(f"#!/bin/sh\necho start $(date +%s%N) >> {log}\nsleep 0.2\n"
                       f'"{real}" "$@"\ncode=$?\necho end $(date +%s%N) >> {log}\nexit $code\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(newsletter.archive.search, "pagefind_binary", lambda: wrapper)
    report = build_site(site_settings, today=TODAY)
    assert report.search is not None and sorted(report.search.refreshed) == ["en", "es"]
    events = [line.split()[0] for line in log.read_text().splitlines()]
    assert events == ["start", "end"] * 2


def test_a_language_is_indexed_as_soon_as_its_pages_are_staged(
    site_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search stage is handed each language's pages when they are done, the first offered
    language first and before any page of the next is rendered, so its index is built while
    the next language's pages are."""
    handed: list[tuple[str, list[str], list[str]]] = []
    start = newsletter.archive.search.SearchIndex.start

    def watch(self, pages):  # type: ignore[no-untyped-def]
        for lang, paths in pages.items():
            others = sorted(p for p in self.staged._written if p.endswith("/index.html")  # noqa: SLF001
                            and p.split("/")[0] != lang and p.count("/") == 2)
            handed.append((lang, sorted(paths), others))
        start(self, pages)

    monkeypatch.setattr(newsletter.archive.search.SearchIndex, "start", watch)
    build_site(site_settings, today=TODAY)
    assert [lang for lang, _, _ in handed] == ["es", "en"]
    spanish = handed[0][1]
    assert spanish and all(p.startswith("es/") for p in spanish)
    assert handed[0][2] == []  # no English issue page yet
    assert handed[1][2] == spanish  # the English ones came after every Spanish one


def test_skipping_the_index_keeps_the_previous_one_marked_stale(
    site_settings: Settings, site_project: Path
) -> None:
    site = build_site(site_settings, today=TODAY).output
    index = _search_files(site)
    edited = site_project / "issues/2011-06/es.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "\nTexto nuevo.\n", encoding="utf-8")
    quick = build_site(site_settings, today=TODAY, search=False)
    assert quick.search is not None and quick.search.stale == ("es",)
    assert quick.search.kept == ("en",)
    assert _search_files(site) == index  # kept as it was
    assert "Texto nuevo." in (site / "es/2011-06/index.html").read_text(encoding="utf-8")
    # The next full build sees nothing new in the pages but refreshes the stale index.
    full = build_site(site_settings, today=TODAY)
    assert not full.unchanged and full.search is not None
    assert full.search.refreshed == ("es",) and full.search.kept == ("en",)
    assert build_site(site_settings, today=TODAY).unchanged


@pytest.mark.browser
def test_preview_serves_the_pages_before_the_index_and_refreshes_it_after(
    site_settings: Settings, site_project: Path
) -> None:
    calls: list[bool] = []
    server = make_preview(site_settings, "127.0.0.1", 0, drafts=False, poll=0.05)
    original = server.build

    def recording(settings: Settings, search: bool = False) -> Path:
        calls.append(search)
        return original(settings, search=search)

    server.build = recording
    manifest = manifest_path(site_settings, server.site_dir)
    # The first build wrote the pages and no index: the preview did not wait for it.
    assert (server.site_dir / "es/2011-06/index.html").is_file()
    assert not (server.site_dir / "pagefind").exists()
    assert set(json.loads(manifest.read_text())["search"].values()) == {None}
    server.start()
    try:
        _wait(lambda: (server.site_dir / "pagefind/es/pagefind.js").is_file())
        assert None not in json.loads(manifest.read_text())["search"].values()
        generation = server.state.generation
        edited = site_project / "issues/2011-06/es.md"
        edited.write_text(edited.read_text(encoding="utf-8") + "\nOtra frase.\n",
                          encoding="utf-8")
        _wait(lambda: server.state.generation > generation and calls[-1] is True
              and None not in json.loads(manifest.read_text())["search"].values())
        assert calls == [True, False, True]  # the index after the pages, each time
    finally:
        server.stop()


def _wait(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _hold_open_until_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: str,
                             until: str) -> Path:
    """Index through a wrapper of the real Pagefind that logs each language's start and end and,
    once the `held` language's run is over, ends it only when `until` has started (10 s at
    most): `until` starts before `held` ends only if the build started it while `held` ran. The
    log's path."""
    real = newsletter.archive.search.pagefind_binary()
    log = tmp_path / "runs.log"
    wrapper = tmp_path / "pagefind"
    wrapper.write_text(
        "#!/bin/sh\n"
        'lang=$(echo "$@" | sed -n "s/.*bundle-\\([a-z]*\\).*/\\1/p")\n'
        f'echo "start $lang" >> {log}\ntouch {tmp_path}/started-$lang\n'
        f'"{real}" "$@"\ncode=$?\n'
        f'if [ "$lang" = {held} ]; then i=0; '
        f'while [ ! -e {tmp_path}/started-{until} ] && [ $i -lt 100 ]; '
        'do sleep 0.1; i=$((i+1)); done; fi\n'
        f'echo "end $lang" >> {log}\nexit $code\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(newsletter.archive.search, "pagefind_binary", lambda: wrapper)
    return log


def test_the_small_languages_are_indexed_while_the_last_large_one_writes_its_files(
    languages_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pt and fr (one issue each) wait for the large languages' indexing, es's then en's (four
    issues each; never two at once: each holds its whole index in memory), and run once the last
    one has said its index is built, on the core its writing leaves idle. The en run is held
    open until pt has started: pt can start before en ends only on what the real Pagefind says
    (`INDEXED`), and the old schedule, pt beside es, fails the order."""
    monkeypatch.setattr(newsletter.archive.search, "available_mb", lambda: 512.0)
    log = _hold_open_until_started(tmp_path, monkeypatch, "en", "pt")
    report = build_site(languages_settings, today=TODAY)
    assert report.search is not None and report.search.refreshed == ("en", "es", "fr", "pt")
    events = log.read_text().split("\n")
    at = events.index
    assert at("end es") < at("start en")  # never two large ones
    for small in ("pt", "fr"):
        assert at("start en") < at(f"start {small}")  # after the large ones' indexing
    assert at("start pt") < at("end en")  # beside the last one's writing
    for lang in ("en", "es", "fr", "pt"):
        assert f"{lang}/pagefind-entry.json" in " ".join(p.split("pagefind/")[-1]
                                                         for p in report.written)


def test_a_languages_bundle_is_staged_while_the_next_one_is_indexed(
    site_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """es's bundle joins the staged site as soon as its run ends, not once every language's has:
    the en run waits (10 s at most) for es's files in the folder it indexes (the staging folder,
    in a first build) and says whether they came."""
    real = newsletter.archive.search.pagefind_binary()
    log = tmp_path / "runs.log"
    wrapper = tmp_path / "pagefind"
    wrapper.write_text(
        "#!/bin/sh\n"
        'lang=$(echo "$@" | sed -n "s/.*bundle-\\([a-z]*\\).*/\\1/p")\n'
        'site=$(echo "$@" | sed -n "s/.*--site \\([^ ]*\\).*/\\1/p")\n'
        'if [ "$lang" = en ]; then i=0; '
        'while [ ! -e "$site/pagefind/es/pagefind-entry.json" ] && [ $i -lt 100 ]; '
        'do sleep 0.1; i=$((i+1)); done; '
        f'[ -e "$site/pagefind/es/pagefind-entry.json" ] && echo "es staged" >> {log}; fi\n'
        f'exec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setattr(newsletter.archive.search, "pagefind_binary", lambda: wrapper)
    report = build_site(site_settings, today=TODAY)
    assert report.search is not None and report.search.refreshed == ("en", "es")
    assert log.read_text() == "es staged\n"
    assert {"es/pagefind-entry.json", "en/pagefind-entry.json"} <= {
        p.split("pagefind/")[-1] for p in report.written}


def test_the_next_large_language_is_indexed_while_the_last_one_writes_given_the_memory(
    site_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the memory for both free, en starts once es has said its index is built (`INDEXED`)
    and writes its files: the es run is held open until en has started, which happens only on
    what the real Pagefind says (one after another, en would start after es ended)."""
    monkeypatch.setattr(newsletter.archive.search, "available_mb", lambda: 64_000.0)
    log = _hold_open_until_started(tmp_path, monkeypatch, "es", "en")
    report = build_site(site_settings, today=TODAY)
    assert report.search is not None and report.search.refreshed == ("en", "es")
    events = log.read_text().split("\n")
    assert events.index("start es") < events.index("start en") < events.index("end es")


def test_free_memory_is_read_from_the_kernel() -> None:
    """`available_mb` is what /proc/meminfo says (this machine has some), and a language's
    index fits only with the spare memory besides."""
    available = newsletter.archive.search.available_mb()
    assert available is not None and 0 < available < 16 * 1024 * 1024
    search = newsletter.archive.search
    need = search.SPARE_MB + search.INDEX_MB_PER_PAGE * 500
    assert search._has_room(500) == (available >= need)  # noqa: SLF001
