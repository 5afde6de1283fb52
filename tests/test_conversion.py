"""The parallel cold build: a worker process and this one convert the queue in page order."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import time
from pathlib import Path

import pytest

import newsletter.archive.conversion
from bench.corpus import make_corpus
from newsletter.archive.build import build_site
from newsletter.archive.cache import BuildCache
from newsletter.archive.conversion import AHEAD, BATCH, PARALLEL_THRESHOLD, Converter
from newsletter.archive.writer import MANIFEST
from newsletter.content import load_corpus
from newsletter.errors import BuildError
from newsletter.settings import Settings, load_settings

from .test_site import tree

TODAY = dt.date(2026, 11, 28)
ISSUES = 20  # 40 editions: more than PARALLEL_THRESHOLD, so a worker is started


@pytest.fixture(scope="module")
def corpus_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ours, _ = make_corpus(tmp_path_factory.mktemp("corpus"), issues=ISSUES)
    return ours


def _settings(project: Path, workers: int) -> Settings:
    settings = load_settings(project / "newsletter.toml")
    return dataclasses.replace(settings, build=dataclasses.replace(settings.build, workers=workers))


def _fresh(project: Path, name: str) -> Path:
    copy = project.parent / name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(project, copy)
    return copy


def test_two_cores_build_the_same_bytes_as_one(corpus_project: Path) -> None:
    assert 2 * ISSUES > PARALLEL_THRESHOLD
    one = build_site(_settings(_fresh(corpus_project, "one"), 1), today=TODAY)
    two = build_site(_settings(_fresh(corpus_project, "two"), 2), today=TODAY)
    # es and en for every issue, pt and fr for one in ten (bench/corpus.py)
    assert one.converted == two.converted == 2 * ISSUES + 2 * (ISSUES // 10)
    pages = lambda site: {k: v for k, v in tree(site).items() if k != MANIFEST}  # noqa: E731
    assert pages(one.output) == pages(two.output)  # the manifests name their own project folder


def test_both_processes_convert_and_every_result_is_cached(corpus_project: Path) -> None:
    settings = _settings(_fresh(corpus_project, "both"), 2)
    corpus = load_corpus(settings)
    issues = sorted(corpus.issues, key=lambda i: i.slug)
    editions = [e for issue in issues for e in issue.editions.values()]
    with BuildCache(None) as cache:
        with Converter(cache, "/", ("es",), workers=2) as converter:
            for edition in editions:
                converter.request(edition)
            converter.start()
            assert converter._pool is not None  # noqa: SLF001 - a worker was started
            rendered = [converter.get(e) for e in editions]
        assert converter.converted == len(editions)
        assert all(r.html.startswith("<") for r in rendered)
        pairs = zip(editions, rendered, strict=True)
        assert all(cache.get(converter.job(e).key) == r for e, r in pairs)


def _slow(jobs, cache_path):  # type: ignore[no-untyped-def]  # runs in the forked worker
    import time

    time.sleep(0.3)
    return newsletter.archive.conversion._convert_in_worker_now(jobs, cache_path)  # noqa: SLF001


def test_the_build_converts_the_next_batch_while_a_worker_has_the_one_it_needs(
    corpus_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both take batches from the front, in page order; when the page the build renders next is
    in a worker's batch, the build converts the next batch nobody has taken instead of waiting,
    so the pages come out as fast as both cores convert (and the first language's are all
    staged early, for its search index)."""
    settings = _settings(_fresh(corpus_project, "front"), 2)
    corpus = load_corpus(settings)
    editions = [e for issue in sorted(corpus.issues, key=lambda i: i.slug)
                for e in issue.editions.values()]
    module = newsletter.archive.conversion
    monkeypatch.setattr(module, "_convert_in_worker_now", module._convert_in_worker,  # noqa: SLF001
                        raising=False)
    monkeypatch.setattr(module, "_convert_in_worker", _slow)
    helped: list[list[str]] = []
    convert_here = Converter._convert_here  # noqa: SLF001

    def watch(self, batch):  # type: ignore[no-untyped-def]
        helped.append([job.key for job in batch])
        convert_here(self, batch)

    monkeypatch.setattr(Converter, "_convert_here", watch)
    with BuildCache(None) as cache, Converter(cache, "/", ("es",), workers=2) as converter:
        for edition in editions:
            converter.request(edition)
        converter.start()
        deadline = time.monotonic() + 30
        while len(converter._taken) < AHEAD * BATCH and time.monotonic() < deadline:  # noqa: SLF001
            time.sleep(0.01)  # the worker's feeder takes its first batches (both at once)
        first = converter.get(editions[0])  # the worker has the first batches: help meanwhile
        rendered = [first] + [converter.get(e) for e in editions[1:]]
    assert helped, "the build waited for the worker instead of converting"
    order = [converter.job(e).key for e in editions]
    # What it converted meanwhile was the next batch in page order (the worker has the first
    # AHEAD batches), not the queue's far end.
    assert order.index(helped[0][0]) == AHEAD * BATCH
    assert [r.html for r in rendered] == [
        module.renderer_for(e.lang, "/", e.lang == "es").render(e.slug, e.body).html
        for e in editions]


def _explode(jobs, cache_path):  # type: ignore[no-untyped-def]  # runs in the forked worker
    raise RuntimeError("the worker's Markdown failed")


def test_a_worker_failure_fails_the_build_and_keeps_the_site(
    corpus_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _fresh(corpus_project, "failing")
    settings = _settings(project, 2)
    # Every page changes, so every edition must be converted again; the worker then fails.
    site = build_site(settings, today=TODAY).output
    before = tree(site)
    for md in (project / "issues").rglob("*.md"):
        md.write_text(md.read_text(encoding="utf-8") + "\nOtra línea.\n", encoding="utf-8")
    monkeypatch.setattr(newsletter.archive.conversion, "_convert_in_worker", _explode)
    expected = (r"issues/1984-\d\d/(es|en)\.md: converting the Markdown failed in a worker "
                r"process \(RuntimeError: the worker's Markdown failed\)")
    with pytest.raises(BuildError, match=expected):
        build_site(settings, today=TODAY)
    assert tree(site) == before


def test_a_small_first_build_starts_no_worker(
    site_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Converter) -> None:
        raise AssertionError("a worker was forked for four editions")

    monkeypatch.setattr(Converter, "_fork", refuse)
    report = build_site(dataclasses.replace(
        site_settings, build=dataclasses.replace(site_settings.build, workers=2)), today=TODAY)
    assert report.converted == 4


def test_an_edition_without_its_body_is_read_again_when_its_html_went_missing(
    site_settings: Settings, tmp_path: Path
) -> None:
    corpus = load_corpus(site_settings)
    edition = corpus.issues[0].edition("es")
    with BuildCache(tmp_path / "cache.sqlite") as cache:
        with Converter(cache, "/", ("es",), workers=1) as converter:
            expected = converter.get(edition)
            cache.save()
        with Converter(cache, "/", ("es",), workers=1) as converter:
            converter.request(edition)  # cached: not queued
            cache._db.execute("DELETE FROM entries")  # noqa: SLF001 - as if another build pruned it
            cache._db.commit()  # noqa: SLF001
            assert converter.get(edition.without_body()) == expected
            assert converter.converted == 1
