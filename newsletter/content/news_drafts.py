"""The gathered news draft: render `issues/<slug>/news.<lang>.md`, write it, and check it.

A draft is Markdown an editor curates: a marker line, the partner news grouped by source, each
entry's original language marked where it differs from the draft's. The issue loader skips these
files, so `check` reports each as a warning until an editor moves the news into `<lang>.md`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from newsletter.errors import NewsletterError
from newsletter.settings import Settings

from .issues import Corpus, Issue, Problem

if TYPE_CHECKING:
    from .gather import Gathered

FEEDS_FILE = "feeds.toml"
DRAFT_MARKER_RE = re.compile(
    r"^<!-- annaobserva:news-draft lang=([a-z]{2}) since=(\d{4}-\d{2}-\d{2}) -->$"
)
DRAFT_NAME_RE = re.compile(r"^news\.([a-z]{2})\.md$")
ITEM_RE = re.compile(r"^- \[(?P<title>.+)\]\((?P<url>https?://[^\s()]+)\)(?P<rest>.*)$")
NOT_BUILT = "gathered draft, not built until an editor moves it into the issue"

# The draft's own words, per language (English for a language not listed).
DRAFT_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "heading": "News from partners",
        "original": "original in {language}",
        "none": "No partner news since {since}.",
    },
    "es": {
        "heading": "Noticias de los socios",
        "original": "original en {language}",
        "none": "No hay noticias de los socios desde el {since}.",
    },
    "pt": {
        "heading": "Notícias dos parceiros",
        "original": "original em {language}",
        "none": "Não há notícias dos parceiros desde {since}.",
    },
    "fr": {
        "heading": "Nouvelles des partenaires",
        "original": "original en {language}",
        "none": "Pas de nouvelles des partenaires depuis le {since}.",
    },
}


class DraftExists(NewsletterError):
    """A news draft is already there; an editor may have curated it."""


# -- the draft -------------------------------------------------------------------------------


def _md_text(text: str) -> str:
    """Plain text made literal in Markdown (no emphasis, links or raw HTML)."""
    text = re.sub(r"([\\`*_\[\]])", r"\\\1", text)
    text = re.sub(r"&(?=#?[A-Za-z0-9]+;)", "&amp;", text)
    return text.replace("<", "&lt;")


def _md_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def language_name_in(code: str, in_lang: str) -> str:
    """A language's name in another language (Babel), e.g. pt in es → portugués (not its name in
    itself: that is `newsletter.templating.native_language_name`)."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(in_lang).languages.get(code, code)
    except (ValueError, UnknownLocaleError):
        return code


def render_news_draft(gathered: Gathered, lang: str, feeds_file: str = FEEDS_FILE) -> str:
    """The draft section `news.<lang>.md`: entries grouped by source, foreign ones marked."""
    words = DRAFT_STRINGS.get(lang, DRAFT_STRINGS["en"])
    since = gathered.since.isoformat()
    lines = [
        f"<!-- annaobserva:news-draft lang={lang} since={since} -->",
        f"<!-- Gathered by `publish.py gather` from {feeds_file}. This draft is not built: keep",
        f"     the news worth telling, edit the summaries, then move them into {lang}.md. -->",
        "",
        f"## {words['heading']}",
        "",
    ]
    if not gathered.items:
        lines += [f"*{words['none'].format(since=since)}*", ""]
    for outcome in gathered.outcomes:
        if not outcome.items:
            continue
        lines += [f"### {_md_text(outcome.feed.name)}", ""]
        for item in outcome.items:
            meta = item.published.date().isoformat()
            if item.language != lang:
                meta += (
                    " · *"
                    + words["original"].format(language=language_name_in(item.language, lang))
                    + "*"
                )
            lines.append(f"- [{_md_text(item.title)}]({_md_url(item.link)}) — {meta}")
            if item.summary:
                lines[-1] += "  "  # a Markdown line break before the summary
                lines.append(f"  {_md_text(item.summary)}")
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def write_news_drafts(
    issue: Issue,
    gathered: Gathered,
    languages: Sequence[str],
    force: bool = False,
    feeds_file: str = FEEDS_FILE,
) -> list[Path]:
    """Write `news.<lang>.md` per language into the issue folder, never over a curated one."""
    targets = [issue.folder / f"news.{lang}.md" for lang in languages]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise DraftExists(
            f"{existing[0]} already exists (an editor may have curated it): "
            "move or delete it, or pass --force to replace it"
        )
    drafts = {
        t: render_news_draft(gathered, lang, feeds_file)
        for t, lang in zip(targets, languages, strict=True)
    }
    for target, text in drafts.items():
        target.write_text(text, encoding="utf-8")
    return targets


# -- check -----------------------------------------------------------------------------------


def check_news_drafts(settings: Settings, corpus: Corpus) -> list[Problem]:
    """Warnings for every gathered draft: that it is not built, and any line out of format."""
    issues_dir = settings.path(settings.build.issues_dir)
    problems: list[Problem] = []
    if not issues_dir.is_dir():
        return problems
    for path in sorted(issues_dir.glob("*/news.*.md")):
        match = DRAFT_NAME_RE.match(path.name)
        if match and path.is_file():
            problems.extend(_check_draft(path, match.group(1), settings))
    return problems


def _check_draft(path: Path, lang: str, settings: Settings) -> list[Problem]:
    try:
        shown = str(path.relative_to(settings.root))
    except ValueError:
        shown = str(path)
    problems = [Problem(shown, 1, NOT_BUILT, "warning")]

    def warn(line: int, message: str) -> None:
        problems.append(Problem(shown, line, message, "warning"))

    if lang not in settings.site.languages:
        warn(1, f"language {lang!r} is not configured in [site] languages")
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as exc:
        warn(1, f"not UTF-8 text ({exc.reason}): save the file as UTF-8")
        return problems
    marker = DRAFT_MARKER_RE.match(lines[0].strip())
    if not marker:
        warn(
            1,
            "the first line is not the gather marker "
            "(<!-- annaobserva:news-draft lang=… since=… -->); run gather again or restore it",
        )
    elif marker.group(1) != lang:
        warn(1, f"the marker says lang={marker.group(1)} but the file is news.{lang}.md")
    source = False
    in_comment = False
    for number, line in enumerate(lines[1:], start=2):
        if in_comment or line.startswith("<!--"):
            in_comment = "-->" not in line
            continue
        if (
            not line.strip()
            or line.startswith("## ")
            or line.startswith("  ")
            or (line.startswith("*") and line.endswith("*"))
        ):
            continue
        if line.startswith("### "):
            source = True
        elif line.startswith("- "):
            if not ITEM_RE.match(line):
                warn(number, "a news item must read - [title](https://…) — date")
            elif not source:
                warn(number, "a news item before any ### source heading")
        else:
            warn(
                number,
                "unexpected line: items are `- [title](https://…)`, summaries are "
                "indented by two spaces",
            )
    return problems
