"""Build the web archive: load issues → check → render Markdown → render pages and feeds → write.

`build_site()` reads top to bottom as those stages. It is deterministic (the same tree gives the
same bytes: "today" is a parameter and every collection is sorted), incremental (parsed and
rendered editions are cached on their content hash; a build whose inputs did not change at all
stops after hashing them; unchanged outputs are not rewritten), parallel for a cold build (Markdown
conversion is spread over the cores), and atomic (see `writer.write_site`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError

from .assets import collect_assets
from .cache import BuildCache
from .errors import BuildError
from .issues import Corpus, Edition, Issue, Problem, load_issues, read_edition
from .markup import Rendered, render_config_key, renderer_for
from .pages import PageLinks, SiteRenderer, load_strings
from .settings import Settings
from .states import load_member_states
from .templating import make_environment, templates_fingerprint
from .urls import SiteUrls
from .writer import SiteFiles, read_manifest, recover_interrupted_swap, write_site

logger = logging.getLogger(__name__)

# Below this many editions to convert, starting worker processes costs more than it saves.
PARALLEL_THRESHOLD = 24


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

def load_corpus(settings: Settings, cache: BuildCache | None = None) -> Corpus:
    """Every issue, with front matter parsed only for files whose bytes changed."""
    cache = cache or BuildCache(None)

    def cached_reader(path: Path, slug: str, lang: str, data: bytes, display: str):  # type: ignore[no-untyped-def]
        key = "edition:" + hashlib.sha256(display.encode() + b"\0" + data).hexdigest()
        hit = cache.get(key)
        if hit is not None and hit[0] is not None and hit[0].path == path:
            return hit
        result = read_edition(path, slug, lang, data, display)
        cache.put(key, result)
        return result

    return load_issues(
        settings.path(settings.build.issues_dir), settings.site.languages, settings.root,
        reader=cached_reader,
    )


# -- stage 2: render Markdown ----------------------------------------------------------------

def _convert_batch(jobs: list[tuple[str, str, str, bool, str]]) -> list[tuple[str, Rendered]]:
    """Worker: convert (key, lang, base_path, typographic, slug+body) jobs."""
    out = []
    for key, lang, base_path, typographic, slug_body in jobs:
        slug, body = slug_body.split("\0", 1)
        out.append((key, renderer_for(lang, base_path, typographic).render(slug, body)))
    return out


def render_editions(
    settings: Settings, editions: Iterable[Edition], cache: BuildCache, workers: int
) -> tuple[dict[tuple[str, str], Rendered], int]:
    """Rendered HTML per (slug, lang), converting only cache misses, in parallel when many."""
    base_path = SiteUrls(settings.site.base_url).base_path
    rendered: dict[tuple[str, str], Rendered] = {}
    todo: list[tuple[str, str, str, bool, str]] = []
    keys: dict[str, list[tuple[str, str]]] = {}
    for edition in editions:
        typographic = edition.lang in settings.build.typographic_quotes
        config = render_config_key(edition.lang, base_path, typographic)
        key = "html:" + hashlib.sha256(
            f"{config}\0{edition.slug}\0{edition.body}".encode()
        ).hexdigest()
        hit = cache.get(key)
        if hit is not None:
            rendered[(edition.slug, edition.lang)] = hit
            continue
        if key not in keys:
            todo.append((key, edition.lang, base_path, typographic, f"{edition.slug}\0{edition.body}"))
        keys.setdefault(key, []).append((edition.slug, edition.lang))
    if not todo:
        return rendered, 0
    if workers > 1 and len(todo) >= PARALLEL_THRESHOLD:
        chunks = [todo[i::workers * 4] for i in range(workers * 4)]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = [r for batch in pool.map(_convert_batch, chunks) for r in batch]
    else:
        results = _convert_batch(todo)
    for key, value in results:
        cache.put(key, value)
        for slug_lang in keys[key]:
            rendered[slug_lang] = value
    return rendered, len(todo)


# -- the build ---------------------------------------------------------------------------------

def _fingerprint(settings: Settings, visible: list[Issue], templates: str) -> str:
    digest = hashlib.sha256()
    digest.update(repr(settings).encode())
    digest.update(templates.encode())
    for issue in visible:
        for edition in issue.editions.values():
            digest.update(f"{issue.slug}/{edition.lang}:{edition.source_hash}\n".encode())
        images = issue.folder / "images"
        if images.is_dir():
            for path in sorted(images.rglob("*")):
                if path.is_file():
                    stat = path.stat()
                    digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def build_site(
    settings: Settings,
    *,
    today: dt.date,
    drafts: bool = False,
    output: Path | None = None,
    checks: Callable[[Settings, Corpus, BuildCache], list[Problem]] | None = None,
) -> BuildReport:
    """Build the archive into the output folder (default `_site/`), or raise BuildError."""
    output = output or settings.path(settings.build.output_dir)
    cache = BuildCache(settings.path(settings.build.cache_dir) / "build.pickle")
    templates_dir = settings.path(settings.build.templates_dir)

    # 1. Load and check: a single error stops the build before anything is written.
    corpus = load_corpus(settings, cache)
    problems = list(corpus.problems) + (checks(settings, corpus, cache) if checks else [])
    errors = sorted(p for p in problems if p.is_error)
    if errors:
        shown = "\n".join(str(p) for p in errors[:20])
        more = f"\n… and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise BuildError(f"the issues have {len(errors)} error(s); the site was not changed:\n{shown}{more}")
    warnings = tuple(sorted(p for p in problems if not p.is_error))
    visible = [i for i in corpus.issues if i.is_visible(today, drafts)]

    # 2. Nothing changed since the last build: stop here, the site is already right.
    fingerprint = _fingerprint(settings, visible, templates_fingerprint(templates_dir))
    recover_interrupted_swap(output)
    if output.is_dir() and read_manifest(output).get("fingerprint") == fingerprint:
        cache.save(keep_unused=True)  # the rendered HTML was not looked up, but is still current
        return BuildReport(output, len(visible), sum(len(i.editions) for i in visible), 0, (), (),
                           0, True, warnings)

    # 3. Render Markdown (cache misses only; over the cores for a cold build).
    workers = settings.build.workers or os.cpu_count() or 1
    editions = [e for issue in visible for e in issue.editions.values()]
    rendered, converted = render_editions(settings, editions, cache, workers)

    # 4. Render templates: pages, indexes, root chooser, feeds, sitemap, assets, images.
    try:
        files = render_site(settings, visible, rendered, templates_dir)
    except TemplateSyntaxError as exc:
        raise BuildError(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from None
    except TemplateError as exc:
        raise BuildError(f"{templates_dir}: a template failed: {exc.message}") from None

    # 5. Write at the edge: a fresh folder swapped in, unchanged files kept.
    report = write_site(output, files, fingerprint)
    cache.save()
    logger.info("built %d files (%d written), %d editions converted", len(files), len(report.written), converted)
    return BuildReport(output, len(visible), len(editions), len(files), report.written,
                       report.removed, converted, False, warnings)


def render_site(
    settings: Settings,
    visible: list[Issue],
    rendered: dict[tuple[str, str], Rendered],
    templates_dir: Path,
) -> SiteFiles:
    """Every output file of the archive, in memory."""
    env = make_environment(templates_dir)
    assets = collect_assets(templates_dir / "static")
    strings = load_strings(templates_dir, settings.site.languages)
    states = load_member_states(settings.path(settings.subscribers.member_states))
    renderer = SiteRenderer(settings, env, assets, strings, states)
    urls = renderer.urls
    files = SiteFiles()
    links: list[PageLinks] = []
    for issue in visible:
        for lang in issue.languages:
            files.add(urls.issue(lang, issue.slug),
                      renderer.issue_page(issue, lang, rendered[(issue.slug, lang)]),
                      str(issue.edition(lang).path))
            links.append(renderer.issue_links(issue, lang))
        images = issue.folder / "images"
        if images.is_dir():
            for path in sorted(images.rglob("*")):
                if path.is_file():
                    name = "images/" + path.relative_to(images).as_posix()
                    files.add(urls.media(issue.slug, name), path.read_bytes(), str(path))
    for lang in settings.site.languages:
        in_lang = [i for i in visible if lang in i.editions]
        files.add(urls.index(lang), renderer.index_page(lang, in_lang), f"index of {lang}")
        links.append(renderer.index_links(lang, in_lang[0].edition(lang).date if in_lang else None))
        items = [(i.edition(lang), rendered[(i.slug, lang)]) for i in in_lang[: settings.site.feed_items]]
        files.add(urls.feed(lang), renderer.feed(lang, items), f"feed of {lang}")
    files.add("index.html", renderer.root_page(), "language chooser")
    files.add("sitemap.xml", renderer.sitemap(links), "sitemap")
    for asset in assets.values():
        files.add(asset.output_path, asset.data, f"templates/static/{asset.name}")
    return files
