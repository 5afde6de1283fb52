"""Check issues beyond what the loader reports: content rules an editor can fix, file and line.

The loader (`content.loader`) already reports malformed YAML, unknown or missing front-matter
keys, wrong types and `send_at` without a time zone as `corpus.problems`; `run_checks` adds what
needs the whole corpus or the body: duplicate numbers and slugs, missing required translations
(`[site] required_languages`; an optional one may be missing) and disagreeing ones, links to
issues or editions that do not exist, images that do not exist or have no alt text, markup the
sanitiser removes (`content.sanitize`: each element or attribute outside its allowlist,
with its line), translations that drifted apart, countries that are not member states, and
warnings for what an editor should look at (long summaries and titles, http:// links, heading
level skips, empty sections, a much shorter translation, missing `countries`).
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from newsletter.settings import Settings
from newsletter.states import load_member_states

from .body_scan import SCAN_VERSION, BodyScan, Link, scan_body
from .images import ImageError, image_size
from .issues import Corpus, Edition, Issue, Problem, display_path
from .markup import is_external, issue_link_target, render_config_key, renderer_for
from .sanitize import SANITIZER_VERSION, Removal, removals

logger = logging.getLogger(__name__)

ProblemSource = Callable[[Settings, Corpus], list[Problem]]


class ScanCache(Protocol):
    """Where body scans are kept between runs (`newsletter.archive.cache.BuildCache` fits)."""

    def get(self, key: str) -> Any | None:
        """The value stored under key, or None."""

    def put(self, key: str, value: Any) -> None:
        """Store a value under key."""


SCAN_PREFIX = "check-scan:"  # the cache keys of body scans
SUMMARY_MAX = 200  # what an email client shows of a preheader
TITLE_MAX = 90  # what fits a subject line and a feed reader's list
SHORT_RATIO = 0.5  # an edition under half its longest translation's words is suspect


def run_checks(
    settings: Settings,
    corpus: Corpus,
    *,
    extra: Iterable[ProblemSource] = (),
    cache: ScanCache | None = None,
) -> list[Problem]:
    """Every problem beyond the loader's `corpus.problems`, sorted by (path, line).

    `cache` (e.g. the build's `BuildCache`) keeps each body's scan by content hash, so a
    no-change rebuild does not read every body again.
    """
    prefetch = getattr(cache, "prefetch", None)  # a BuildCache reads every scan in one query
    if prefetch is not None:
        prefetch(SCAN_PREFIX)
    states = frozenset(load_member_states(settings.path(settings.subscribers.member_states)))
    problems: list[Problem] = []
    problems += _duplicates(corpus, settings.root)
    slugs = {issue.slug: issue for issue in corpus.issues}
    issues_dir = settings.path(settings.build.issues_dir)
    for issue in corpus.issues:
        # Each edition's file as the editor sees it, worked out once (every check names it).
        shown = {lang: display_path(e.path, settings.root) for lang, e in issue.editions.items()}
        scans = {lang: _cached_scan(e, shown[lang], cache) for lang, e in issue.editions.items()}
        problems += _missing_editions(issue, settings, settings.root)
        problems += _disagreements(issue, settings)
        for lang, edition in issue.editions.items():
            scan = scans[lang]
            problems += scan.problems
            problems += _cached_markup(edition, shown[lang], settings, cache)
            problems += _front_matter(edition, shown[lang], states)
            problems += _links(edition, shown[lang], scan, issue, slugs, settings, issues_dir)
        problems += _drift(issue, scans, shown)
        problems += _held_back(issue, settings)
    for source in extra:
        problems += source(settings, corpus)
    logger.debug("checked %d issues: %d problems", len(corpus.issues), len(problems))
    return sorted(problems, key=lambda p: (p.path, p.line, p.message, p.severity))


# -- the corpus ------------------------------------------------------------------------------

def _duplicates(corpus: Corpus, root: Path) -> list[Problem]:
    """Two issues with one number, or two folders that would publish at one slug."""
    problems: list[Problem] = []
    by_number: dict[int, list[Issue]] = {}
    by_slug: dict[str, list[Issue]] = {}
    for issue in corpus.issues:
        for number in sorted({e.number for e in issue.editions.values()}):
            by_number.setdefault(number, []).append(issue)
        by_slug.setdefault(issue.slug.casefold(), []).append(issue)
    for number, issues in by_number.items():
        if len(issues) < 2:
            continue
        for issue in issues:
            others = ", ".join(display_path(o.folder, root) for o in issues if o is not issue)
            for edition in issue.editions.values():
                if edition.number == number:
                    problems.append(Problem(
                        display_path(edition.path, root), edition.key_lines.get("number", 1),
                        f"number {number} is also used by {others}: give each issue its own number",
                    ))
    for issues in by_slug.values():
        if len(issues) < 2:
            continue
        for issue in issues:
            others = ", ".join(display_path(o.folder, root) for o in issues if o is not issue)
            for edition in issue.editions.values():
                problems.append(Problem(
                    display_path(edition.path, root), 1,
                    f"slug {issue.slug!r} is also used by {others}: rename one folder",
                ))
    return problems


# -- one issue's editions --------------------------------------------------------------------

def _missing_editions(issue: Issue, settings: Settings, root: Path) -> list[Problem]:
    """A required language without an edition (files that failed to load are reported already).

    Optional languages are written when editors can: an issue without one is complete, and its
    readers get the fallback edition."""
    problems = []
    first = next(iter(issue.editions.values()))
    for lang in settings.site.required_languages:
        file = issue.folder / f"{lang}.md"
        if lang in issue.editions or file.exists():
            continue
        problems.append(Problem(
            display_path(first.path, root), 1,
            f"the {lang!r} edition is missing: add {display_path(file, root)} "
            f"({lang} is in [site] required_languages: every issue is written in it)",
        ))
    return problems


def _disagreements(issue: Issue, settings: Settings) -> list[Problem]:
    """Editions of one issue must agree on number, date and send_at, and the required ones on
    status (the issue's): an optional edition may be a draft in a ready issue (`_held_back`), or
    ready in a draft issue (it waits for the issue)."""
    problems = []
    root = settings.root
    editions = list(issue.editions.values())
    main = next((e for e in editions if issue.is_required(e.lang)), editions[0])
    main_name = main.path.name
    for edition in editions:
        if edition is main:
            continue
        for key in ("number", "date", "status", "send_at"):
            if key == "status" and not issue.is_required(edition.lang):
                continue
            mine, theirs = getattr(edition, key), getattr(main, key)
            if mine == theirs:
                continue
            problems.append(Problem(
                display_path(edition.path, root), edition.key_lines.get(key, 1),
                f"{key} {_shown_value(key, mine)} differs from {main_name} "
                f"({_shown_value(key, theirs)}): "
                f"every edition of an issue has the same {key}",
            ))
    return problems


def _held_back(issue: Issue, settings: Settings) -> list[Problem]:
    """An info line on each optional edition still in draft in a ready issue: what its readers
    get meanwhile (their fallback edition, `Issue.published_editions`)."""
    if issue.status != "ready":
        return []
    problems = []
    published = issue.published_editions()
    for lang in issue.held_back():
        edition = issue.editions[lang]
        fallback = settings.edition_for(lang, published)
        readers = f"{lang} readers get the {fallback} edition" if fallback else \
            f"{lang} readers get no edition"
        problems.append(Problem(
            display_path(edition.path, settings.root), edition.key_lines.get("status", 1),
            f"the {lang} edition is a draft: not published or sent yet; {readers} "
            f"(set status: ready when the translation is done)", "info",
        ))
    return problems


def _shown_value(key: str, value: object) -> str:
    if value is None:
        return f"no {key}"
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    return str(value)


def _front_matter(edition: Edition, shown: str, states: Collection[str]) -> list[Problem]:
    """Member states, and the lengths that email clients and feed readers cut."""
    problems = []
    line = edition.key_lines.get
    for code in edition.countries:
        if code not in states:
            problems.append(Problem(
                shown, line("countries", 1),
                f"countries: {code!r} is not an OAS member state "
                f"(the codes are in subscribers/member-states.toml)",
            ))
    if "countries" not in edition.key_lines:
        problems.append(Problem(
            shown, 1,
            "no countries: list the member states this issue concerns (countries: [CR, UY]), "
            "or countries: [] if none in particular", "warning",
        ))
    if len(edition.summary) > SUMMARY_MAX:
        problems.append(Problem(
            shown, line("summary", 1),
            f"summary is {len(edition.summary)} characters: email clients show about "
            f"{SUMMARY_MAX} as the preheader; shorten it", "warning",
        ))
    if len(edition.title) > TITLE_MAX:
        problems.append(Problem(
            shown, line("title", 1),
            f"title is {len(edition.title)} characters: over {TITLE_MAX} is cut in subject lines "
            f"and feed readers; shorten it", "warning",
        ))
    return problems


def _links(
    edition: Edition, shown: str, scan: BodyScan, issue: Issue, slugs: Mapping[str, Issue],
    settings: Settings, issues_dir: Path,
) -> list[Problem]:
    """Links to other issues and images must resolve; links should use https. A linked edition
    that was loaded exists; the file system is asked only about the others."""
    problems = []
    root = settings.root
    languages = settings.site.languages
    for link in scan.links:
        url = link.url
        parts = urlsplit(url)
        if parts.scheme.lower() == "http":
            problems.append(Problem(
                shown, link.line,
                f"{'image' if link.image else 'link'} {url} uses http://: "
                f"use https:// if the site supports it", "warning",
            ))
        if link.raw_html and url and not is_external(html.unescape(url)) \
                and not url.startswith("/"):
            # Raw HTML passes through Markdown untouched: its relative URLs break in the archive.
            kind, markdown = ("<img src>", "![description](…)") if link.image else \
                ("<a href>", "[text](…)")
            problems.append(Problem(
                shown, link.line,
                f"raw HTML {kind} {url} is not rewritten for the archive and emails: write it "
                f"as Markdown, {markdown}",
            ))
        if link.image:
            problems += _image(link, shown, issue, root)
            continue
        target = issue_link_target(url)
        if target is None:
            if parts.path.endswith(".md") and not is_external(url):
                problems.append(Problem(
                    shown, link.line,
                    f"link {url} is not a link to an issue: write ../<slug>/<lang>.md "
                    f"(e.g. ../{issue.slug}/{edition.lang}.md)",
                ))
            continue
        slug, lang, _fragment = target
        folder = issues_dir / slug
        if slug not in slugs and not folder.is_dir():
            problems.append(Problem(
                shown, link.line,
                f"link {url} goes to issue {slug!r}, which does not exist "
                f"(no folder {display_path(folder, root)})",
            ))
            continue
        if lang and lang not in languages:
            problems.append(Problem(
                shown, link.line,
                f"link {url} goes to a {lang!r} edition, but {lang!r} is not in [site] languages",
            ))
        elif not _edition_exists(slugs.get(slug), folder, lang or edition.lang):
            # ../<slug>/ without a file means the reader's own language.
            lang = lang or edition.lang
            written = [code for code in languages if (folder / f"{code}.md").is_file()]
            hint = f"; link to one that exists, e.g. ../{slug}/{written[0]}.md" if written else ""
            problems.append(Problem(
                shown, link.line,
                f"link {url} goes to the {lang!r} edition of {slug!r}, which does not exist "
                f"(no file {display_path(folder / f'{lang}.md', root)}){hint}",
            ))
        elif slug in slugs and slugs[slug].status == "draft" and edition.status == "ready":
            problems.append(Problem(
                shown, link.line,
                f"link {url} goes to {slug!r}, which is a draft: the link is broken in the "
                f"archive until that issue is ready", "warning",
            ))
        elif slug in slugs and (lang or edition.lang) in slugs[slug].held_back() \
                and edition.status == "ready":
            problems.append(Problem(
                shown, link.line,
                f"link {url} goes to the {lang or edition.lang!r} edition of {slug!r}, which is "
                f"a draft: the link is broken in the archive until that edition is ready",
                "warning",
            ))
    return problems


def _edition_exists(issue: Issue | None, folder: Path, lang: str) -> bool:
    """Whether an issue has an edition file in `lang`: loaded, or at least on disk."""
    return (issue is not None and lang in issue.editions) or (folder / f"{lang}.md").exists()


def _image(link: Link, shown: str, issue: Issue, root: Path) -> list[Problem]:
    """An image needs alt text and, when it is a local file, the file."""
    problems = []
    if link.alt is None or not link.alt.strip():
        how = 'alt="…"' if link.raw_html else "![description](…)"
        problems.append(Problem(
            shown, link.line,
            f"image {link.url or '(no source)'} has no alt text: describe it for readers who "
            f"cannot see it ({how})",
        ))
    url = link.url
    if not url:
        problems.append(Problem(shown, link.line, "image has no source"))
        return problems
    if is_external(url) or url.startswith("/"):
        return problems
    relative = PurePosixPath(unquote(urlsplit(url).path))
    if ".." in relative.parts:
        problems.append(Problem(
            shown, link.line,
            f"image {url} is outside the issue folder: put it in images/ and write images/<name>",
        ))
        return problems
    file = issue.folder / relative
    if not file.is_file():
        problems.append(Problem(
            shown, link.line,
            f"image {url} does not exist: add {display_path(file, root)}",
        ))
        return problems
    try:
        image_size(file)
    except ImageError as exc:
        # Pages and emails give every image its width and height, read from the file.
        problems.append(Problem(
            shown, link.line,
            f"image {display_path(file, root)}: its width and height cannot be read: {exc}; "
            "save it again as PNG, JPEG, GIF, WebP or SVG (with a viewBox)",
        ))
    return problems


def _drift(issue: Issue, scans: dict[str, BodyScan], shown: Mapping[str, str]) -> list[Problem]:
    """Translations should have the same outline: sections, links, images; and similar length.
    An optional translation still in draft may not have it yet: a warning, not an error
    (`shown`: each edition's file as the editor sees it)."""
    problems: list[Problem] = []
    if len(scans) < 2:
        return problems
    langs = list(scans)
    main = langs[0]
    held_back = issue.held_back()
    for lang in langs[1:]:
        edition = issue.editions[lang]
        severity = "warning" if lang in held_back else "error"
        for what, count in (
            ("## section", lambda s: s.sections),
            ("link", lambda s: s.link_count),
            ("image", lambda s: s.image_count),
        ):
            mine, theirs = count(scans[lang]), count(scans[main])
            if mine != theirs:
                problems.append(Problem(
                    shown[lang], edition.body_line,
                    f"translations drifted apart: {lang} has {mine} {what}{'s' * (mine != 1)}, "
                    f"{main} has {theirs}", severity,
                ))
    longest = max(langs, key=lambda lang: scans[lang].words)
    for lang in langs:
        words, most = scans[lang].words, scans[longest].words
        if lang != longest and words < SHORT_RATIO * most:
            edition = issue.editions[lang]
            problems.append(Problem(
                shown[lang], edition.body_line,
                f"{lang} has {words} words, under half of {longest}'s {most}: "
                f"is the translation complete?", "warning",
            ))
    return problems


# -- one body --------------------------------------------------------------------------------

def _cached_scan(edition: Edition, shown: str, cache: ScanCache | None) -> BodyScan:
    if cache is None:
        return scan_body(edition, shown)
    key = f"{SCAN_PREFIX}{SCAN_VERSION}:{edition.source_hash}:{edition.body_line}:{shown}"
    hit = cache.get(key)
    if isinstance(hit, BodyScan):
        return hit
    scan = scan_body(edition, shown)
    cache.put(key, scan)
    return scan


# A body can hold something the sanitiser removes only if it has raw HTML or a character
# reference (< or &), attributes (`{: onclick=… }`), or a link whose scheme is not one the
# allowlist keeps; other bodies are not converted again for this check.
# Each alternative is looked for on its own, after a test for the text it cannot match without:
# one pattern of three alternatives is tried at every character of every body (a third of an
# edit's rebuild), a pattern that starts with a literal is found by a fast scan.
_INLINE_SCHEME = re.compile(r"\]\(\s*<?\s*(?!(?:https?|mailto):)[A-Za-z][A-Za-z0-9+.-]*:",
                            re.IGNORECASE)
_REFERENCE_SCHEME = re.compile(
    r"^\s{0,3}\[[^\]]+\]:\s*<?\s*(?!(?:https?|mailto):)[A-Za-z][A-Za-z0-9+.-]*:",
    re.MULTILINE | re.IGNORECASE,
)
_BRACKET_LINE = re.compile(r"\n([^\S\n]{0,3})\[")


def may_be_removed(body: str) -> bool:
    """Whether the sanitiser could remove anything from this body (see above)."""
    if "<" in body or "&" in body or "{" in body:  # `{` : attributes (attr_list) may be any
        return True
    if "](" in body and _INLINE_SCHEME.search(body):
        return True
    if "]:" not in body:
        return False
    # A reference definition starts a line (after at most three spaces: a match that starts on
    # an earlier, blank line also matches from the line of its bracket).
    return any(_REFERENCE_SCHEME.match(body, found.start(1) - 1)
               for found in _BRACKET_LINE.finditer("\n" + body))


def _cached_markup(
    edition: Edition, shown: str, settings: Settings, cache: ScanCache | None
) -> list[Problem]:
    """What the sanitiser would remove from the body, each an error on the line it comes from."""
    if not may_be_removed(edition.body):
        return []
    from newsletter.urls import SiteUrls

    base_path = SiteUrls(settings.site.base_url).base_path
    typographic = edition.lang in settings.build.typographic_quotes
    config = render_config_key(edition.lang, base_path, typographic)
    key = f"check-markup:{SANITIZER_VERSION}:{config}:{edition.source_hash}:{shown}"
    hit = cache.get(key) if cache is not None else None
    if isinstance(hit, tuple):
        return list(hit)
    renderer = renderer_for(edition.lang, base_path, typographic)
    found = removals(renderer.convert_unsanitised(edition.slug, edition.body).html)
    problems = _locate(found, edition, shown)
    if cache is not None:
        cache.put(key, tuple(problems))
    return problems


def _locate(found: list[Removal], edition: Edition, shown: str) -> list[Problem]:
    """Each removal on the first body line, not already taken by one like it, that spells it."""
    lines = [html.unescape(line).lower() for line in edition.body.split("\n")]
    taken: dict[str, int] = {}
    problems = []
    for removal in found:
        if removal.attribute is None:
            needles = [f"<{removal.tag}"]
        else:
            needles = [removal.value.lower()[:40], f"{removal.attribute}="]
        line = edition.body_line
        for needle in needles:
            start = taken.get(needle, 0)
            index = next((i for i in range(start, len(lines)) if needle and needle in lines[i]),
                         None)
            if index is not None:
                taken[needle] = index + 1
                line = edition.body_line + index
                break
        problems.append(Problem(shown, line, removal.message))
    return problems
