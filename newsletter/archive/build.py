"""Build the web archive: load issues → check → render Markdown → render pages and feeds → write.

`build_site()` reads top to bottom as those stages. It is deterministic (the same tree gives the
same bytes: "today" is a parameter and every collection is sorted); incremental at three levels (a
build whose inputs did not change stops after hashing them; parsed and rendered editions are cached
on their content hash; a page whose inputs did not change is kept from the last build without being
rendered); parallel for a cold build (a worker process per extra core converts Markdown while this
process loads and checks the issues, then both convert, in page order, while this
process writes the pages: see `conversion`); streamed (each page is written when rendered, so memory
does not grow with the archive); and atomic (see `writer.StagedSite`). The render stage is
`render`; once it has staged the issue pages, the search stage (`search`) indexes them with Pagefind
in the background while the rest is rendered, and its files are part of the same commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.content import Corpus, Edition, Issue, Problem, load_corpus, read_edition
from newsletter.errors import BuildError
from newsletter.settings import Settings

from .inputs import inputs_digest, site_key
from .writer import (
    StagedSite,
    read_manifest,
    recover_interrupted_build,
    remove_legacy_manifest,
    write_manifest,
)

if TYPE_CHECKING:
    from .cache import BuildCache
    from .search import SearchReport

logger = logging.getLogger(__name__)
CACHE_FILE = "build.sqlite"
# `build --drafts` (and the drafts preview) keeps its own: each build drops the entries it did not
# use, so one shared file would lose the drafts' HTML at every public build, and the reverse.
DRAFTS_CACHE_FILE = "build-drafts.sqlite"
EDITION_PREFIX = "edition:"
Checks = Callable[[Settings, Corpus, "BuildCache | None"], list[Problem]]


@dataclass(frozen=True)
class BuildReport:
    """What a build did."""

    output: Path
    issues: int
    editions: int
    files: int
    written: tuple[str, ...]
    removed: tuple[str, ...]
    converted: int
    unchanged: bool
    warnings: tuple[Problem, ...]
    search: SearchReport | None = None  # None: the site was already right
    pages_seconds: float = 0.0  # from the start until every page was rendered and staged


# -- stage 1: load ---------------------------------------------------------------------------

def _load(settings: Settings, cache: BuildCache,
          on_edition: Callable[[Edition], None] | None = None) -> Corpus:
    """Every issue, with front matter parsed only for files whose bytes changed; `on_edition` is
    told about each edition as soon as it is read."""
    cache.prefetch(EDITION_PREFIX)

    def cached_reader(path: Path, slug: str, lang: str, data: bytes, display: str
                      ) -> tuple[Edition | None, list[Problem]]:
        key = EDITION_PREFIX + hashlib.sha256(display.encode() + b"\0" + data).hexdigest()
        hit = cache.get(key)
        if hit is not None and hit[0] is not None and hit[0].path == path:
            result = hit
        else:
            result = read_edition(path, slug, lang, data, display)
            cache.put(key, result)
        if on_edition is not None and result[0] is not None:
            on_edition(result[0])
        return result

    return load_corpus(settings, reader=cached_reader)


# -- the checks a build runs by default --------------------------------------------------------

def build_checks(settings: Settings, corpus: Corpus, cache: BuildCache | None = None
                 ) -> list[Problem]:
    """What a build refuses to publish past (its default checks): the content rules, the
    gathered news drafts and the interface's words, each body's scan cached. Not the email
    budgets, which render every email edition: `check` adds those."""
    from newsletter.content import check_news_drafts, run_checks

    return run_checks(settings, corpus, extra=[check_news_drafts, wording_problems], cache=cache)


def wording_problems(settings: Settings, corpus: Corpus) -> list[Problem]:
    """The interface's words (templates/wording/): a file missing for an offered language, or
    one whose words do not match the others', at its line."""
    from newsletter.content import display_path
    from newsletter.wording import WordingError, load_wording

    try:
        load_wording(settings.path(settings.build.templates_dir), settings.site.languages)
    except WordingError as exc:
        return [Problem(display_path(exc.path, settings.root), exc.line, exc.reason)]
    return []


# -- the build ---------------------------------------------------------------------------------

def _problem_record(problem: Problem) -> list[Any]:
    return [problem.path, problem.line, problem.message, problem.severity]


def _unchanged(output: Path, manifest: dict[str, Any]) -> BuildReport:
    """The report of a build that found the site already right."""
    warnings = tuple(Problem(*w) for w in manifest.get("warnings", []))
    issues, editions = manifest.get("counts", [0, 0])
    return BuildReport(output, issues, editions, 0, (), (), 0, True, warnings)


def _still_current(manifest: dict[str, Any], inputs: str, today: dt.date, search: bool) -> bool:
    """Whether the last build used these very inputs, no hidden issue has come due since, and
    (when the search index is wanted) that build did not skip it."""
    if manifest.get("inputs") != inputs:
        return False
    if search and _search_stale(manifest):
        return False
    due = manifest.get("valid_until")
    return due is None or today.isoformat() < due


def _search_stale(manifest: dict[str, Any]) -> bool:
    """Whether the last build skipped the search index of a language (a preview's first pass)."""
    return any(key is None for key in manifest.get("search", {}).values())


def _valid_until(corpus: Corpus, today: dt.date, drafts: bool) -> str | None:
    """The date the archive changes by itself: the earliest ready issue dated after today."""
    if drafts:
        return None
    coming = [i.date for i in corpus.issues if i.status == "ready" and i.date > today]
    return min(coming).isoformat() if coming else None


def _fingerprint(site: str, visible: list[Issue]) -> str:
    """The visible issues and what renders them: equal fingerprints give equal sites."""
    digest = hashlib.sha256(site.encode())
    for issue in visible:
        for edition in issue.editions.values():
            digest.update(f"{issue.slug}/{edition.lang}:{edition.source_hash}\n".encode())
        for rel, path in issue.image_files():
            stat = path.stat()
            digest.update(f"{rel}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def build_site(
    settings: Settings,
    *,
    today: dt.date,
    drafts: bool = False,
    output: Path | None = None,
    checks: Checks | None = build_checks,
    search: bool = True,
) -> BuildReport:
    """Build the archive into the output folder (default `_site/`), or raise BuildError.

    `checks` are the rules a build refuses to publish past (default `build_checks`; None: only
    what loading the issues reports). `search=False` skips running the search indexer: each
    language's previous index is kept (marked stale when its pages changed, and the next build
    with `search=True` refreshes it): the preview shows the pages first.
    """
    started = time.perf_counter()
    output = output or settings.path(settings.build.output_dir)
    manifest = manifest_path(settings, output)
    recover_interrupted_build(output, manifest)
    remove_legacy_manifest(output)
    previous = read_manifest(output, manifest)

    # 1. Nothing changed since the last build: stop here, the site is already right.
    inputs = inputs_digest(settings, drafts)
    if _still_current(previous, inputs, today, search):
        return _unchanged(output, previous)

    from newsletter.templating import templates_fingerprint

    from .cache import BuildCache
    from .conversion import HTML_PREFIX, Converter
    from .render import language_rank, render_site
    from .search import SearchIndex

    templates_dir = settings.path(settings.build.templates_dir)
    site = site_key(settings, templates_fingerprint(templates_dir))
    workers = settings.build.workers or os.cpu_count() or 1
    cache_name = DRAFTS_CACHE_FILE if drafts else CACHE_FILE
    cache_file = settings.path(settings.build.cache_dir) / cache_name
    typographic = settings.build.typographic_quotes
    with BuildCache(cache_file) as cache, \
            Converter(cache, _base_path(settings), typographic, workers,
                      _backlink_titles(settings)) as converter:
        # 2. Load; what must be converted goes to the workers as it is read: the first
        # language's editions at once, the others' after loading, language by language, the
        # order the pages are rendered in (each language's search index starts when its pages
        # are done, while the next language's are rendered).
        first = settings.site.languages[0]
        later: list[Edition] = []

        def convert_if_published(edition: Edition) -> None:
            if drafts or (edition.status == "ready" and edition.date <= today):
                if edition.lang == first:
                    converter.request(edition)
                else:
                    later.append(edition)

        if not previous.get("files") and _many_editions(settings):
            converter.fork_early()  # a first build converts everything
        cache.prefetch_keys(HTML_PREFIX)  # which editions' HTML is cached, in one query
        corpus = _load(settings, cache, on_edition=convert_if_published)
        rank = language_rank(settings.site.languages)
        for edition in sorted(later, key=lambda e: rank(e.lang)):
            converter.request(edition)
        later.clear()
        converter.start()
        # Each visible issue with only the editions readers get (an optional draft is held back).
        visible = [i.published(drafts) for i in corpus.issues if i.is_visible(today, drafts)]

        # 3. Check while the workers convert: a single error stops the build before it writes.
        problems = list(corpus.problems) + (checks(settings, corpus, cache) if checks else [])
        errors = sorted(p for p in problems if p.is_error)
        if errors:
            shown = "\n".join(str(p) for p in errors[:20])
            more = f"\n… and {len(errors) - 20} more" if len(errors) > 20 else ""
            raise BuildError(f"the issues have {len(errors)} error(s); the site was not changed:"
                             f"\n{shown}{more}")
        warnings = tuple(sorted(p for p in problems if not p.is_error))
        editions = sum(len(i.editions) for i in visible)
        state = {
            "inputs": inputs,
            "valid_until": _valid_until(corpus, today, drafts),
            "warnings": [_problem_record(w) for w in warnings],
            "counts": [len(visible), editions],
            "fingerprint": _fingerprint(site, visible),
        }

        # Rendering needs each edition's HTML, not its Markdown: let the bodies go (most of what
        # the loaded issues weigh) as their conversions finish.
        visible = [issue.without_bodies() for issue in visible]
        del corpus, problems

        # The inputs changed but not what the archive shows (a draft, say): keep the site.
        if output.is_dir() and previous.get("fingerprint") == state["fingerprint"] \
                and not (search and _search_stale(previous)):
            write_manifest(output, manifest, {**previous, **state})
            cache.save(keep_unused=True)
            return _unchanged(output, state)

        # 4. Render and write each page as its HTML arrives, index the issue pages for search
        # (in the background while the rest renders); swap the new site in.
        with StagedSite(output, previous, manifest) as staged, \
                SearchIndex(staged, previous.get("search", {}), enabled=search,
                            mirror=manifest.with_suffix(".search-pages")) as index:
            render_site(settings, visible, converter, staged, templates_dir, site,
                        on_pages=index.start)
            pages_seconds = time.perf_counter() - started
            searched = index.finish()
            report = staged.commit({**state, "search": index.keys})
        cache.save()
    logger.info("built %d files (%d written), %d editions converted; search: %s refreshed",
                report.files, len(report.written), converter.converted,
                ", ".join(searched.refreshed) or "none")
    return BuildReport(output, len(visible), editions, report.files, report.written,
                       report.removed, converter.converted, False, warnings, searched,
                       pages_seconds)


def manifest_path(settings: Settings, output: Path) -> Path:
    """Where the manifest of the site built into `output` is kept: in the cache folder, one per
    output folder (`build`, `build --output`, the drafts preview), never in the site itself."""
    resolved = output.resolve()
    try:
        named = resolved.relative_to(settings.root.resolve()).as_posix()
    except ValueError:
        named = str(resolved)
    tag = hashlib.sha256(named.encode()).hexdigest()[:12]
    return settings.path(settings.build.cache_dir) / f"manifest-{output.name}-{tag}.json"


def _many_editions(settings: Settings) -> bool:
    """Whether there are enough edition files for a worker process to pay for itself."""
    from .conversion import PARALLEL_THRESHOLD

    found = settings.path(settings.build.issues_dir).glob("*/*.md")
    return sum(1 for _ in zip(found, range(PARALLEL_THRESHOLD), strict=False)) >= PARALLEL_THRESHOLD


def _backlink_titles(settings: Settings) -> dict[str, str]:
    """Per language, the footnote back-link's title in the interface's words (none if the words
    cannot be read: the build's checks report that, before anything is written)."""
    from newsletter.wording import WordingError, load_wording

    try:
        wording = load_wording(settings.path(settings.build.templates_dir), settings.site.languages)
    except WordingError:
        return {}
    return {lang: wording.word(lang, "markdown", "footnote_backlink")
            for lang in settings.site.languages}


def _base_path(settings: Settings) -> str:
    from newsletter.urls import SiteUrls

    return SiteUrls(settings.site.base_url).base_path
