"""Build the web archive: load issues → check → render Markdown → render pages and feeds → write.

`build_site()` reads top to bottom as those stages. It is deterministic (the same tree gives the
same bytes: "today" is a parameter and every collection is sorted); incremental at three levels (a
build whose inputs did not change stops after hashing them; parsed and rendered editions are cached
on their content hash; a page whose inputs did not change is kept from the last build without being
rendered); parallel for a cold build (a worker process per extra core converts Markdown while this
process loads and checks the issues, then both convert, from the two ends of one queue, while this
process writes the pages: see `conversion`); streamed (each page is written when rendered, so memory
does not grow with the archive); and atomic (see `writer.StagedSite`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
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
    from .conversion import Converter

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


def _still_current(manifest: dict[str, Any], inputs: str, today: dt.date) -> bool:
    """Whether the last build used these very inputs and no hidden issue has come due since."""
    if manifest.get("inputs") != inputs:
        return False
    due = manifest.get("valid_until")
    return due is None or today.isoformat() < due


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
        for rel, path in _images(issue):
            stat = path.stat()
            digest.update(f"{rel}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _images(issue: Issue) -> list[tuple[str, Path]]:
    """An issue's images as (name under the issue's media folder, source path)."""
    images = issue.folder / "images"
    if not images.is_dir():
        return []
    return [("images/" + p.relative_to(images).as_posix(), p)
            for p in sorted(images.rglob("*")) if p.is_file()]


def _key(site: str, path: str, shown: object = None) -> str:
    """An output's key: the site's, its path, and the (repr-able) data it shows."""
    return hashlib.sha256(f"{site}\0{path}\0{shown!r}".encode()).hexdigest()


def page_key(site: str, issue: Issue, lang: str) -> str:
    """What an issue page is made from: the site, and every edition of its issue (the switcher
    shows the translations, so editing one edition changes the key of each page of the issue)."""
    sources = ",".join(f"{code}:{e.source_hash}" for code, e in issue.editions.items())
    return hashlib.sha256(f"{site}\0{lang}\0{issue.slug}\0{sources}".encode()).hexdigest()


def build_site(
    settings: Settings,
    *,
    today: dt.date,
    drafts: bool = False,
    output: Path | None = None,
    checks: Checks | None = build_checks,
) -> BuildReport:
    """Build the archive into the output folder (default `_site/`), or raise BuildError.

    `checks` are the rules a build refuses to publish past (default `build_checks`; None: only
    what loading the issues reports).
    """
    output = output or settings.path(settings.build.output_dir)
    manifest = manifest_path(settings, output)
    recover_interrupted_build(output, manifest)
    remove_legacy_manifest(output)
    previous = read_manifest(output, manifest)

    # 1. Nothing changed since the last build: stop here, the site is already right.
    inputs = inputs_digest(settings, drafts)
    if _still_current(previous, inputs, today):
        return _unchanged(output, previous)

    from newsletter.templating import templates_fingerprint

    from .cache import BuildCache
    from .conversion import Converter

    templates_dir = settings.path(settings.build.templates_dir)
    site = site_key(settings, templates_fingerprint(templates_dir))
    workers = settings.build.workers or os.cpu_count() or 1
    cache_name = DRAFTS_CACHE_FILE if drafts else CACHE_FILE
    cache_file = settings.path(settings.build.cache_dir) / cache_name
    typographic = settings.build.typographic_quotes
    with BuildCache(cache_file) as cache, \
            Converter(cache, _base_path(settings), typographic, workers) as converter:
        # 2. Load; what must be converted goes to the workers as it is read.
        def convert_if_published(edition: Edition) -> None:
            if drafts or (edition.status == "ready" and edition.date <= today):
                converter.request(edition)

        if not previous.get("files") and _many_editions(settings):
            converter.fork_early()  # a first build converts everything
        corpus = _load(settings, cache, on_edition=convert_if_published)
        converter.start()
        visible = [i for i in corpus.issues if i.is_visible(today, drafts)]

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
        if output.is_dir() and previous.get("fingerprint") == state["fingerprint"]:
            write_manifest(output, manifest, {**previous, **state})
            cache.save(keep_unused=True)
            return _unchanged(output, state)

        # 4. Render and write each page as its HTML arrives; swap the new site in.
        with StagedSite(output, previous, manifest) as staged:
            render_site(settings, visible, converter, staged, templates_dir, site)
            report = staged.commit(state)
        cache.save()
    logger.info("built %d files (%d written), %d editions converted",
                report.files, len(report.written), converter.converted)
    return BuildReport(output, len(visible), editions, report.files, report.written,
                       report.removed, converter.converted, False, warnings)


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


def _base_path(settings: Settings) -> str:
    from newsletter.urls import SiteUrls

    return SiteUrls(settings.site.base_url).base_path


def _feed_items(settings: Settings, visible: list[Issue], lang: str) -> list[Issue]:
    return [i for i in visible if lang in i.editions][: settings.site.feed_items]


def render_site(
    settings: Settings,
    visible: list[Issue],
    converter: Converter,
    staged: StagedSite,
    templates_dir: Path,
    site: str,
) -> None:
    """Render every output of the archive into `staged`, keeping pages whose inputs are the same."""
    from jinja2 import TemplateError, TemplateSyntaxError

    try:
        _render_site(settings, visible, converter, staged, templates_dir, site)
    except TemplateSyntaxError as exc:
        raise BuildError(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from None
    except TemplateError as exc:
        raise BuildError(f"{templates_dir}: a template failed: {exc.message}") from None


def _render_site(settings: Settings, visible: list[Issue], converter: Converter, staged: StagedSite,
                 templates_dir: Path, site: str) -> None:
    from newsletter.states import load_member_states
    from newsletter.templating import make_environment
    from newsletter.wording import load_wording

    from .assets import collect_assets
    from .pages import PageLinks, SiteRenderer

    env = make_environment(templates_dir)
    assets = collect_assets(templates_dir / "static")
    wording = load_wording(templates_dir, settings.site.languages)
    strings = {lang: wording.section(lang, "archive") for lang in settings.site.languages}
    states = load_member_states(settings.path(settings.subscribers.member_states))
    renderer = SiteRenderer(settings, env, assets, strings, states)
    urls = renderer.urls
    links: list[PageLinks] = []
    feed_items = {lang: _feed_items(settings, visible, lang) for lang in settings.site.languages}
    wanted = {(i.slug, lang) for lang, items in feed_items.items() for i in items}
    kept: dict[tuple[str, str], Any] = {}  # the feeds' HTML, as it passes
    for issue in sorted(visible, key=lambda i: i.slug):  # the order the editions were loaded
        for lang in issue.languages:
            path, source = urls.issue(lang, issue.slug), str(issue.edition(lang).path)
            key = page_key(site, issue, lang)
            if not staged.reuse(path, key, source):
                rendered = converter.get(issue.edition(lang))
                staged.add(path, renderer.issue_page(issue, lang, rendered), source, key)
                if (issue.slug, lang) in wanted:
                    kept[(issue.slug, lang)] = rendered
            links.append(renderer.issue_links(issue, lang))
        for name, image in _images(issue):
            stat = image.stat()
            key = f"{stat.st_size}:{stat.st_mtime_ns}"
            path = urls.media(issue.slug, name)
            if not staged.reuse(path, key, str(image)):
                staged.add(path, image.read_bytes(), str(image), key)
    for lang in settings.site.languages:
        in_lang = [i for i in visible if lang in i.editions]
        # An index shows each issue's number, date, title and summary: its key is exactly those.
        shown = [(i.slug, e.number, e.date.isoformat(), e.title, e.summary)
                 for i in in_lang for e in [i.edition(lang)]]
        path, source = urls.index(lang), f"index of {lang}"
        key = _key(site, path, shown)
        if not staged.reuse(path, key, source):
            staged.add(path, renderer.index_page(lang, in_lang), source, key)
        links.append(renderer.index_links(lang, in_lang[0].edition(lang).date if in_lang else None))
        path, source = urls.feed(lang), f"feed of {lang}"
        key = _key(site, path, [(i.slug, i.edition(lang).source_hash) for i in feed_items[lang]])
        if not staged.reuse(path, key, source):
            items = [(i.edition(lang), kept.get((i.slug, lang)) or converter.get(i.edition(lang)))
                     for i in feed_items[lang]]
            staged.add(path, renderer.feed(lang, items), source, key)
    if not staged.reuse("index.html", _key(site, "index.html"), "language chooser"):
        staged.add("index.html", renderer.root_page(), "language chooser", _key(site, "index.html"))
    key = _key(site, "sitemap.xml", links)
    if not staged.reuse("sitemap.xml", key, "sitemap"):
        staged.add("sitemap.xml", renderer.sitemap(links), "sitemap", key)
    for asset in assets.values():
        staged.add(asset.output_path, asset.data, f"templates/static/{asset.name}")
