"""Every generated feed parses cleanly with feedparser and has the structure RSS readers need."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime

import feedparser
import pytest

from newsletter.archive.build import build_site
from newsletter.settings import Settings

TODAY = dt.date(2026, 11, 28)
BASE = "https://annaobserva.iin.oea.org"
NS = {"atom": "http://www.w3.org/2005/Atom", "content": "http://purl.org/rss/1.0/modules/content/"}


@pytest.fixture
def site(site_settings: Settings):
    return build_site(site_settings, today=TODAY).output


@pytest.mark.parametrize("lang", ["es", "en"])
def test_feed_parses_without_complaint(site, lang: str) -> None:
    parsed = feedparser.parse((site / f"{lang}/feed.xml").read_bytes())
    assert parsed.bozo is False, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.language == lang
    assert parsed.feed.link == f"{BASE}/{lang}/"
    expected = [f"{BASE}/{lang}/2011-06/", f"{BASE}/{lang}/2011-03/"]
    assert [e.link for e in parsed.entries] == expected


@pytest.mark.parametrize("lang", ["es", "en"])
def test_items_have_permalink_guids_rfc822_dates_and_full_absolute_content(site, lang: str) -> None:
    root = ET.parse(site / f"{lang}/feed.xml").getroot()
    channel = root.find("channel")
    self_link = channel.find("atom:link", NS)
    assert self_link.get("rel") == "self" and self_link.get("href") == f"{BASE}/{lang}/feed.xml"
    items = channel.findall("item")
    assert len(items) == 2
    # The moment it was sent (send_at); without send_at, the date at noon where the newsletter
    # lives ([site] timezone, UTC-3): the same day for every reader in the Americas.
    newest = parsedate_to_datetime(items[0].findtext("pubDate"))
    assert newest == dt.datetime(2011, 6, 7, 12, tzinfo=dt.UTC)
    assert items[0].findtext("pubDate") == "Tue, 07 Jun 2011 09:00:00 -0300"
    # Montevideo kept summer time in March 2011: the time zone's own offset that day.
    assert items[1].findtext("pubDate") == "Thu, 10 Mar 2011 12:00:00 -0200"
    assert channel.findtext("lastBuildDate") == items[0].findtext("pubDate")
    for item in items:
        guid = item.find("guid")
        assert guid.get("isPermaLink") == "true" and guid.text == item.findtext("link")
        assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}",
                            item.findtext("pubDate"))
        assert item.findtext("description")
        content = item.findtext("content:encoded", namespaces=NS)
        assert content and "<h2" in content
        urls = re.findall(r'(?:href|src)="([^"]*)"', content)
        assert urls, "content has links"
        assert all(u.startswith(("https://", "http://", "mailto:")) for u in urls), urls


def test_content_namespace_is_declared(site) -> None:
    raw = (site / "es/feed.xml").read_text(encoding="utf-8")
    assert 'xmlns:content="http://purl.org/rss/1.0/modules/content/"' in raw
    assert raw.startswith('<?xml version="1.0" encoding="utf-8"?>')


def test_footnote_links_point_at_the_issue_page(site) -> None:
    parsed = feedparser.parse((site / "en/feed.xml").read_bytes())
    content = parsed.entries[0].content[0].value
    assert f'href="{BASE}/en/2011-06/#fn:1"' in content


def test_feed_items_are_limited_and_newest_first(site_settings: Settings, site_project) -> None:
    config = site_project / "newsletter.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("feed_items = 20", "feed_items = 1"), encoding="utf-8")
    from newsletter.settings import load_settings

    site = build_site(load_settings(config), today=TODAY).output
    parsed = feedparser.parse((site / "en/feed.xml").read_bytes())
    assert [e.title for e in parsed.entries] == ["Protecting children in a digital age"]


def test_a_summary_is_text_in_every_feed_reader_never_markup(site_project) -> None:
    """RSS readers parse `<description>` as HTML: a summary reaches them escaped twice, so what the
    editor typed is what they show, and nothing in it becomes an element or an attribute."""
    from newsletter.settings import load_settings

    typed = 'A < B & "C" <img src=x onerror=alert(1)> </description>'
    source = site_project / "issues/2011-06/en.md"
    text = source.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^summary: .*$", "summary: " + json.dumps(typed), text, count=1)
    source.write_text(text, encoding="utf-8")
    site = build_site(load_settings(site_project / "newsletter.toml"), today=TODAY).output
    checked = []
    for feed in (site / "en/feed.xml", *sorted(site.glob("en/*/*/feed.xml"))):
        item = ET.parse(feed).getroot().find("channel/item[link='" + f"{BASE}/en/2011-06/']")
        if item is None:  # a state or topic feed the issue is not in
            continue
        as_html = item.findtext("description")
        assert "<" not in as_html and html.unescape(as_html) == typed, feed
        (entry,) = [e for e in feedparser.parse(feed.read_bytes()).entries
                    if e.link == f"{BASE}/en/2011-06/"]
        assert html.unescape(entry.summary) == typed, feed
        checked.append(feed)
    assert site / "en/feed.xml" in checked and len(checked) > 1  # the state and topic feeds too
