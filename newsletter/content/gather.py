"""Gather partner news into a draft for the next issue: feeds.toml → fetch → parse → keep → write.

`gather_news()` reads each partner feed listed in `feeds.toml` (`feeds.load_feed_list`: a URL,
fetched with a timeout and a size limit, or a local file) with feedparser, keeps the entries
published since a date, drops duplicates (the same link or guid, also across feeds) and cleans
titles and summaries to plain text. `news_drafts.render_news_draft()` turns that into
`issues/<slug>/news.<lang>.md`; the issue loader skips these files, so nothing gathered is
published until an editor moves it into `<lang>.md`. A feed that fails is reported by name and
the others are still gathered.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from newsletter.errors import NewsletterError

from .feeds import FeedList, PartnerFeed
from .issues import Corpus, Issue

logger = logging.getLogger(__name__)

USER_AGENT = "ANNAobserva-gather/1.0 (+https://annaobserva.iin.oea.org/)"


class FeedFailed(NewsletterError):
    """One partner feed could not be fetched or parsed (the others are still gathered)."""


class GatherError(NewsletterError):
    """The gathered draft cannot be written (no issue, no date to start from, a curated draft)."""


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
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/rss+xml, application/atom+xml, "
            "application/rdf+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1",
        },
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

    BLOCKS = {
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "blockquote",
        "pre",
        "section",
        "article",
        "figure",
        "figcaption",
        "table",
    }
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


def html_to_line(fragment: str) -> str:
    """A feed's HTML fragment as one line of plain text (entities decoded, whitespace collapsed);
    not the email's plain-text alternative, which keeps blocks and links
    (`newsletter.mail.plaintext.html_to_text`)."""
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
    return html_to_line(entry.get(key, "") or "")


def normalize_link(link: str) -> str:
    """The form two links are compared in: no fragment, no utm_* tracking, lower-case host."""
    parts = urlsplit(link.strip())
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not k.lower().startswith("utm_")
        ]
    )
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def _published(entry: Any) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return dt.datetime(*value[:6], tzinfo=dt.UTC)
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
        warnings.append(
            f"the XML is broken ({reason}); {_entries(len(parsed.entries))} read anyway"
        )
    elif not parsed.version:
        raise FeedFailed("not an RSS or Atom feed")
    base = headers.get("content-location") or ""
    channel_link = parsed.feed.get("link", "")
    if channel_link:
        base = urljoin(base, channel_link) if base else channel_link
    start = dt.datetime.combine(since, dt.time(0, 0), tzinfo=dt.UTC)
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
            warnings.append(
                f"an entry has no web address ({_detail_text(entry, 'title')[:60]!r}); skipped"
            )
            continue
        summary = _detail_text(entry, "summary")
        if not summary and entry.get("content"):
            summary = html_to_line(entry["content"][0].get("value", ""))
        title = _detail_text(entry, "title") or shorten(summary, 80) or link
        items.append(
            NewsItem(
                source=feed.name,
                title=title,
                link=link,
                guid=(entry.get("id") or "").strip(),
                published=published,
                summary=shorten(summary, summary_length),
                language=feed.language,
            )
        )
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
    """Keep one entry per link or guid: from the earlier feed in feeds.toml, the newest."""
    seen: set[str] = set()
    kept_outcomes: list[FeedOutcome] = []
    dropped = 0
    for outcome in outcomes:
        kept: list[NewsItem] = []
        for item in outcome.items:
            keys = {"link:" + normalize_link(item.link)} | (
                {"id:" + item.guid} if item.guid else set()
            )
            if keys & seen:
                dropped += 1
                continue
            seen |= keys
            kept.append(item)
        kept_outcomes.append(
            FeedOutcome(
                outcome.feed,
                tuple(kept),
                outcome.error,
                outcome.warnings,
                outcome.read,
                outcome.old,
                outcome.undated,
            )
        )
    return kept_outcomes, dropped


def default_since(corpus: Corpus, issue: Issue) -> dt.date:
    """The date of the issue before this one: the news since the last issue went out."""
    earlier = [i for i in corpus.issues if (i.date, i.number) < (issue.date, issue.number)]
    if not earlier:
        raise GatherError(
            f"issue {issue.slug} has no previous issue to date from: pass --since YYYY-MM-DD"
        )
    return max(earlier, key=lambda i: (i.date, i.number)).date
