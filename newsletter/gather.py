"""Gather partner news into a draft for the next issue: feeds.toml → fetch → parse → keep → write.

`gather_news()` reads each partner feed listed in `feeds.toml` (a URL, fetched with a timeout and
a size limit, or a local file) with feedparser, keeps the entries published since a date, drops
duplicates (the same link or guid, also across feeds) and cleans titles and summaries to plain
text. `render_news_draft()` turns that into `issues/<slug>/news.<lang>.md`, grouped by source,
with each entry's original language marked where it differs; the issue loader skips these files,
so nothing gathered is published until an editor moves it into `<lang>.md`. A feed that fails is
reported by name and the others are still gathered.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from .errors import NewsletterError
from .issues import Corpus, Issue, Problem
from .settings import Settings

logger = logging.getLogger(__name__)

FEEDS_FILE = "feeds.toml"
USER_AGENT = "ANNAobserva-gather/1.0 (+https://annaobserva.iin.oea.org/)"
DRAFT_MARKER_RE = re.compile(
    r"^<!-- annaobserva:news-draft lang=([a-z]{2}) since=(\d{4}-\d{2}-\d{2}) -->$"
)
DRAFT_NAME_RE = re.compile(r"^news\.([a-z]{2})\.md$")
ITEM_RE = re.compile(r"^- \[(?P<title>.+)\]\((?P<url>https?://[^\s()]+)\)(?P<rest>.*)$")
NOT_BUILT = "gathered draft, not built until an editor moves it into the issue"
_FEED_KEYS = {"name", "url", "path", "language"}
_TOP_KEYS = {"feed", "timeout_seconds", "max_bytes", "summary_length"}

# The draft's own words, per language (English for a language not listed).
DRAFT_STRINGS: dict[str, dict[str, str]] = {
    "en": {"heading": "News from partners", "original": "original in {language}",
           "none": "No partner news since {since}."},
    "es": {"heading": "Noticias de los socios", "original": "original en {language}",
           "none": "No hay noticias de los socios desde el {since}."},
    "pt": {"heading": "Notícias dos parceiros", "original": "original em {language}",
           "none": "Não há notícias dos parceiros desde {since}."},
    "fr": {"heading": "Nouvelles des partenaires", "original": "original en {language}",
           "none": "Pas de nouvelles des partenaires depuis le {since}."},
}


class FeedsConfigError(NewsletterError):
    """feeds.toml is missing, malformed, or has a wrong key or value."""


class FeedFailed(NewsletterError):
    """One partner feed could not be fetched or parsed (the others are still gathered)."""


class GatherError(NewsletterError):
    """The gathered draft cannot be written (no issue, no date to start from, a curated draft)."""


@dataclass(frozen=True)
class PartnerFeed:
    """One partner feed from feeds.toml."""

    name: str
    location: str  # a URL, or a path as written in feeds.toml
    language: str
    is_url: bool
    path: Path | None = None  # resolved, for a local file


@dataclass(frozen=True)
class FeedList:
    """feeds.toml: the partner feeds and the limits for fetching them."""

    feeds: tuple[PartnerFeed, ...]
    timeout_seconds: float = 10.0
    max_bytes: int = 5_000_000
    summary_length: int = 300


@dataclass(frozen=True)
class NewsItem:
    """One partner news entry, cleaned to plain text."""

    source: str
    title: str
    link: str
    guid: str
    published: dt.datetime
    summary: str
    language: str


@dataclass(frozen=True)
class FeedOutcome:
    """What one feed gave: its kept entries, or the reason it failed, and any warnings."""

    feed: PartnerFeed
    items: tuple[NewsItem, ...] = ()
    error: str = ""
    warnings: tuple[str, ...] = ()
    read: int = 0  # entries in the feed
    old: int = 0  # published before the since-date
    undated: int = 0


@dataclass(frozen=True)
class Gathered:
    """Everything gathered: kept items by feed (feeds.toml order), failures, duplicates dropped."""

    since: dt.date
    outcomes: tuple[FeedOutcome, ...]
    duplicates: int

    @property
    def items(self) -> tuple[NewsItem, ...]:
        """Every kept item, grouped by source in feeds.toml order, newest first in a source."""
        return tuple(item for o in self.outcomes for item in o.items)

    @property
    def failures(self) -> tuple[FeedOutcome, ...]:
        """The feeds that could not be gathered."""
        return tuple(o for o in self.outcomes if o.error)


# -- feeds.toml ------------------------------------------------------------------------------

def load_feed_list(path: Path) -> FeedList:
    """Read feeds.toml; raise FeedsConfigError naming the feed and key that are wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FeedsConfigError(
            f"{path}: not found; list the partner feeds there ([[feed]] name, url or path, "
            "language)"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FeedsConfigError(f"{path}: {exc}") from None
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise FeedsConfigError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_TOP_KEYS))})")
    limits: dict[str, Any] = {}
    for key, kind in (("timeout_seconds", (int, float)), ("max_bytes", int), ("summary_length", int)):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
                raise FeedsConfigError(f"{path}: {key} must be a positive number, not {value!r}")
            limits[key] = float(value) if key == "timeout_seconds" else value
    entries = raw.get("feed", [])
    if not isinstance(entries, list) or not entries:
        raise FeedsConfigError(f"{path}: no feeds; add a [[feed]] table for each partner feed")
    feeds: list[PartnerFeed] = []
    names: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        feeds.append(_feed_entry(path, number, entry))
        if feeds[-1].name in names:
            raise FeedsConfigError(f"{path}: feed #{number}: the name {feeds[-1].name!r} is used twice")
        names.add(feeds[-1].name)
    return FeedList(tuple(feeds), **limits)


def _feed_entry(path: Path, number: int, entry: Any) -> PartnerFeed:
    where = f"{path}: feed #{number}"
    if not isinstance(entry, dict):
        raise FeedsConfigError(f"{where} must be a [[feed]] table")
    if isinstance(entry.get("name"), str) and entry["name"].strip():
        where = f"{path}: feed {entry['name']!r}"
    unknown = sorted(set(entry) - _FEED_KEYS)
    if unknown:
        raise FeedsConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_FEED_KEYS))})")
    for key in ("name", "language"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise FeedsConfigError(f"{where}: missing key {key!r}")
    language = entry["language"].strip().lower()
    if not re.fullmatch(r"[a-z]{2}", language):
        raise FeedsConfigError(f"{where}: language must be a two-letter code (es, en, pt, fr), not {language!r}")
    if ("url" in entry) == ("path" in entry):
        raise FeedsConfigError(f"{where}: give either url (a web address) or path (a local file)")
    if "url" in entry:
        url = entry["url"]
        if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise FeedsConfigError(f"{where}: url must start with https:// or http:// (use path for a file)")
        return PartnerFeed(entry["name"].strip(), url, language, True)
    location = entry["path"]
    if not isinstance(location, str) or not location:
        raise FeedsConfigError(f"{where}: path must be a file path")
    return PartnerFeed(entry["name"].strip(), location, language, False, path.parent / location)


# -- fetch -----------------------------------------------------------------------------------

def fetch_feed(feed: PartnerFeed, timeout: float, max_bytes: int) -> tuple[bytes, dict[str, str]]:
    """The feed's bytes and response headers; raise FeedFailed with the reason."""
    if not feed.is_url:
        assert feed.path is not None
        try:
            size = feed.path.stat().st_size
            if size > max_bytes:
                raise FeedFailed(f"larger than the {max_bytes:,}-byte limit ({size:,} bytes)")
            return feed.path.read_bytes(), {}
        except FileNotFoundError:
            raise FeedFailed(f"no file at {feed.location}") from None
        except OSError as exc:
            raise FeedFailed(f"cannot read {feed.location}: {exc.strerror}") from None
    request = urllib.request.Request(
        feed.location,
        headers={"User-Agent": USER_AGENT, "Accept": "application/rss+xml, application/atom+xml, "
                 "application/rdf+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"},
    )
    deadline = time.monotonic() + timeout
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only
            chunks: list[bytes] = []
            received = 0
            while chunk := response.read(65536):
                received += len(chunk)
                if received > max_bytes:
                    raise FeedFailed(f"larger than the {max_bytes:,}-byte limit; not read further")
                if time.monotonic() > deadline:
                    raise FeedFailed(f"not fully received within {timeout:g} s")
                chunks.append(chunk)
            headers = {"content-location": response.geturl()}
            if response.headers.get("Content-Type"):
                headers["content-type"] = response.headers["Content-Type"]
            return b"".join(chunks), headers
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the connection open
        raise FeedFailed(f"the server answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise FeedFailed(f"no answer within {timeout:g} s") from None
        raise FeedFailed(f"cannot connect: {exc.reason}") from None
    except TimeoutError:
        raise FeedFailed(f"no answer within {timeout:g} s") from None
    except OSError as exc:
        raise FeedFailed(f"network error: {exc}") from None


# -- parse and clean -------------------------------------------------------------------------

class _TextExtractor(HTMLParser):
    """Plain text from an HTML fragment: tags dropped, blocks separated, scripts ignored."""

    BLOCKS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
              "blockquote", "pre", "section", "article", "figure", "figcaption", "table"}
    SKIP = {"script", "style", "template", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """An HTML fragment as one line of plain text (entities decoded, whitespace collapsed)."""
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    return " ".join("".join(parser.parts).split())


def shorten(text: str, limit: int) -> str:
    """Cut text at a word boundary to at most `limit` characters, marking the cut with …."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]  # room for the …
    if text[limit - 1] != " " and " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-–—") + "…"


def _detail_text(entry: Any, key: str) -> str:
    # Always read as HTML: RSS titles are plain text by the letter of the format, but partners
    # put markup in them, and feedparser passes it through when it guesses "text/plain".
    return html_to_text(entry.get(key, "") or "")


def normalize_link(link: str) -> str:
    """The form two links are compared in: no fragment, no utm_* tracking, lower-case host."""
    parts = urlsplit(link.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not k.lower().startswith("utm_")])
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def _published(entry: Any) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return dt.datetime(*value[:6], tzinfo=dt.timezone.utc)
    return None


def _entries(count: int) -> str:
    return f"{count} entry" if count == 1 else f"{count} entries"


def _bozo_reason(exc: BaseException) -> str:
    line = getattr(exc, "getLineNumber", None)
    message = getattr(exc, "getMessage", None)
    if callable(line) and callable(message):
        return f"line {line()}: {message()}"
    return str(exc) or type(exc).__name__


def parse_feed(
    feed: PartnerFeed, data: bytes, headers: dict[str, str], since: dt.date, summary_length: int
) -> FeedOutcome:
    """The feed's entries published on or after `since`, cleaned; raise FeedFailed if unreadable."""
    import feedparser

    # A stream, never a string: feedparser would treat a string as a URL or a path to open.
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers or None)
    warnings: list[str] = []
    if parsed.bozo:
        reason = _bozo_reason(parsed.bozo_exception)
        if not parsed.entries and not parsed.version:
            raise FeedFailed(f"not a readable feed ({reason})")
        warnings.append(f"the XML is broken ({reason}); {_entries(len(parsed.entries))} read anyway")
    elif not parsed.version:
        raise FeedFailed("not an RSS or Atom feed")
    base = headers.get("content-location") or ""
    channel_link = parsed.feed.get("link", "")
    if channel_link:
        base = urljoin(base, channel_link) if base else channel_link
    start = dt.datetime.combine(since, dt.time(0, 0), tzinfo=dt.timezone.utc)
    items: list[NewsItem] = []
    old = undated = 0
    for entry in parsed.entries:
        published = _published(entry)
        if published is None:
            undated += 1
            continue
        if published < start:
            old += 1
            continue
        link = (entry.get("link") or "").strip()
        if link and base:
            link = urljoin(base, link)
        if not link.startswith(("http://", "https://")):
            warnings.append(f"an entry has no web address ({_detail_text(entry, 'title')[:60]!r}); skipped")
            continue
        summary = _detail_text(entry, "summary")
        if not summary and entry.get("content"):
            summary = html_to_text(entry["content"][0].get("value", ""))
        title = _detail_text(entry, "title") or shorten(summary, 80) or link
        items.append(NewsItem(
            source=feed.name,
            title=title,
            link=link,
            guid=(entry.get("id") or "").strip(),
            published=published,
            summary=shorten(summary, summary_length),
            language=feed.language,
        ))
    if undated:
        warnings.append(f"{_entries(undated)} without a date left out")
    items.sort(key=lambda i: (-i.published.timestamp(), i.link))
    return FeedOutcome(feed, tuple(items), "", tuple(warnings), len(parsed.entries), old, undated)


# -- the whole gathering ---------------------------------------------------------------------

Fetcher = Callable[[PartnerFeed, float, int], tuple[bytes, dict[str, str]]]


def gather_news(feeds: FeedList, since: dt.date, fetch: Fetcher = fetch_feed) -> Gathered:
    """Fetch and parse every feed, keep entries since the date, and drop duplicates."""
    outcomes: list[FeedOutcome] = []
    for feed in feeds.feeds:
        try:
            data, headers = fetch(feed, feeds.timeout_seconds, feeds.max_bytes)
            outcome = parse_feed(feed, data, headers, since, feeds.summary_length)
        except FeedFailed as exc:
            logger.info("feed %s failed: %s", feed.name, exc)
            outcome = FeedOutcome(feed, error=str(exc))
        outcomes.append(outcome)
    deduped, duplicates = drop_duplicates(outcomes)
    return Gathered(since, tuple(deduped), duplicates)


def drop_duplicates(outcomes: Sequence[FeedOutcome]) -> tuple[list[FeedOutcome], int]:
    """Keep the first entry for each link or guid: the earlier feed in feeds.toml, the newest entry."""
    seen: set[str] = set()
    kept_outcomes: list[FeedOutcome] = []
    dropped = 0
    for outcome in outcomes:
        kept: list[NewsItem] = []
        for item in outcome.items:
            keys = {"link:" + normalize_link(item.link)} | ({"id:" + item.guid} if item.guid else set())
            if keys & seen:
                dropped += 1
                continue
            seen |= keys
            kept.append(item)
        kept_outcomes.append(FeedOutcome(outcome.feed, tuple(kept), outcome.error, outcome.warnings,
                                         outcome.read, outcome.old, outcome.undated))
    return kept_outcomes, dropped


def default_since(corpus: Corpus, issue: Issue) -> dt.date:
    """The date of the issue before this one: the news since the last issue went out."""
    earlier = [i for i in corpus.issues if (i.date, i.number) < (issue.date, issue.number)]
    if not earlier:
        raise GatherError(
            f"issue {issue.slug} has no previous issue to date from: pass --since YYYY-MM-DD"
        )
    return max(earlier, key=lambda i: (i.date, i.number)).date


# -- the draft -------------------------------------------------------------------------------

def _md_text(text: str) -> str:
    """Plain text made literal in Markdown (no emphasis, links or raw HTML)."""
    text = re.sub(r"([\\`*_\[\]])", r"\\\1", text)
    text = re.sub(r"&(?=#?[A-Za-z0-9]+;)", "&amp;", text)
    return text.replace("<", "&lt;")


def _md_url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def language_name(code: str, in_lang: str) -> str:
    """A language's name in another language (Babel), e.g. pt in es → portugués."""
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
                meta += " · *" + words["original"].format(language=language_name(item.language, lang)) + "*"
            lines.append(f"- [{_md_text(item.title)}]({_md_url(item.link)}) — {meta}")
            if item.summary:
                lines[-1] += "  "  # a Markdown line break before the summary
                lines.append(f"  {_md_text(item.summary)}")
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def write_news_drafts(
    issue: Issue, gathered: Gathered, languages: Sequence[str], force: bool = False,
    feeds_file: str = FEEDS_FILE,
) -> list[Path]:
    """Write `news.<lang>.md` into the issue folder for each language; never over a curated draft."""
    targets = [issue.folder / f"news.{lang}.md" for lang in languages]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise GatherError(
            f"{existing[0]} already exists (an editor may have curated it): "
            "move or delete it, or pass --force to replace it"
        )
    drafts = {t: render_news_draft(gathered, lang, feeds_file) for t, lang in zip(targets, languages)}
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
        warn(1, "the first line is not the gather marker "
                "(<!-- annaobserva:news-draft lang=… since=… -->); run gather again or restore it")
    elif marker.group(1) != lang:
        warn(1, f"the marker says lang={marker.group(1)} but the file is news.{lang}.md")
    source = False
    in_comment = False
    for number, line in enumerate(lines[1:], start=2):
        if in_comment or line.startswith("<!--"):
            in_comment = "-->" not in line
            continue
        if not line.strip() or line.startswith("## ") or line.startswith("  ") or (
                line.startswith("*") and line.endswith("*")):
            continue
        if line.startswith("### "):
            source = True
        elif line.startswith("- "):
            if not ITEM_RE.match(line):
                warn(number, "a news item must read - [title](https://…) — date")
            elif not source:
                warn(number, "a news item before any ### source heading")
        else:
            warn(number, "unexpected line: items are `- [title](https://…)`, summaries are "
                         "indented by two spaces")
    return problems
