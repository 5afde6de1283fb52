"""The archive with four offered languages on the fixture where only the newest of four issues
(2026-11) is written in pt and fr: every language's index, state pages and chooser; pages,
hreflang, switchers and sitemap only for editions that exist; feeds per language, dated in the
newsletter's time zone; search per language."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest

from newsletter.archive.build import build_site
from newsletter.settings import Settings
from tests.test_site import parse

TODAY = dt.date(2026, 11, 28)
NEWEST, OLDER = "2026-11", ("2026-09", "2026-06", "2026-03")


@pytest.fixture
def site(languages_settings: Settings) -> Path:
    return build_site(languages_settings, today=TODAY).output


def main_of(path: Path) -> str:
    html = path.read_text(encoding="utf-8")
    return html[html.index("<main"):html.index("</main>")]


def entries(path: Path) -> list[tuple[str, str, str]]:
    """(href, lang of the link or "", note) of each issue a list shows, in order."""
    found = []
    for item in re.findall(r"<li>\s*<p class=\"kicker\">.*?</li>", main_of(path), re.DOTALL):
        link = re.search(r'<h2><a href="([^"]+)"(?: hreflang="\w+" lang="(\w+)")?>', item)
        note = re.search(r'<span class="in-language">([^<]+)</span>', item)
        assert link, item
        found.append((link.group(1), link.group(2) or "", note.group(1) if note else ""))
    return found


@pytest.mark.parametrize(("lang", "note"), [("pt", "em espanhol"), ("fr", "en espagnol")])
def test_every_language_lists_every_issue_linking_the_fallback_with_a_note(
    site: Path, lang: str, note: str
) -> None:
    assert entries(site / lang / "index.html") == [
        (f"/{lang}/{NEWEST}/", "", ""),
        *((f"/es/{slug}/", "es", note) for slug in OLDER),
    ]
    page = parse(site / lang / "index.html")
    assert page.lang == lang
    # The index is a translation of every other language's index.
    assert sorted(link["hreflang"] for link in page.links
                  if link.get("rel") == "alternate" and "type" not in link) == [
        "en", "es", "fr", "pt", "x-default"]


def test_the_required_languages_list_their_own_editions(site: Path) -> None:
    for lang in ("es", "en"):
        assert entries(site / lang / "index.html") == [
            (f"/{lang}/{slug}/", "", "") for slug in (NEWEST, *OLDER)]


def test_no_page_for_an_edition_that_does_not_exist(site: Path) -> None:
    assert (site / "pt" / NEWEST / "index.html").is_file()
    assert (site / "fr" / NEWEST / "index.html").is_file()
    for slug in OLDER:
        assert not (site / "pt" / slug).exists() and not (site / "fr" / slug).exists()
        assert (site / "es" / slug / "index.html").is_file()


def alternates(path: Path) -> dict[str, str]:
    return {link["hreflang"]: link["href"] for link in parse(path).links
            if link.get("rel") == "alternate" and "type" not in link}


def switcher(path: Path) -> list[str]:
    nav = re.search(r'<nav class="languages".*?</nav>', path.read_text(encoding="utf-8"),
                    re.DOTALL)
    return re.findall(r'(?<!href)lang="(\w+)"', nav.group(0)) if nav else []


def test_hreflang_and_switcher_name_only_editions_that_exist(site: Path) -> None:
    base = "https://annaobserva.iin.oea.org"
    assert alternates(site / "es" / "2026-09" / "index.html") == {
        "es": f"{base}/es/2026-09/", "en": f"{base}/en/2026-09/",
        "x-default": f"{base}/es/2026-09/"}
    assert switcher(site / "es" / "2026-09" / "index.html") == ["es", "en"]
    assert set(alternates(site / "pt" / NEWEST / "index.html")) == {
        "es", "en", "pt", "fr", "x-default"}
    assert switcher(site / "pt" / NEWEST / "index.html") == ["es", "en", "pt", "fr"]
    # The sitemap names exactly the pages that exist, with the same alternates.
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    root = ET.parse(site / "sitemap.xml").getroot()
    urls = {u.findtext("s:loc", namespaces=ns):
            {a.get("hreflang") for a in u.findall("x:link", ns)} for u in root.findall("s:url", ns)}
    for loc in urls:
        path = site / loc.removeprefix(base + "/") / "index.html"
        assert path.is_file(), loc
    assert urls[f"{base}/es/2026-09/"] == {"es", "en", "x-default"}
    assert urls[f"{base}/pt/{NEWEST}/"] == {"es", "en", "pt", "fr", "x-default"}
    assert f"{base}/pt/2026-09/" not in urls and f"{base}/pt/" in urls


def test_the_root_chooser_offers_every_language(site: Path) -> None:
    html = (site / "index.html").read_text(encoding="utf-8")
    choices = re.findall(r'<li lang="(\w+)"><a href="([^"]+)"', html)
    assert choices == [("es", "/es/"), ("en", "/en/"), ("pt", "/pt/"), ("fr", "/fr/")]
    assert "Escolha seu idioma" in html and "Choisissez votre langue" in html


def test_each_language_has_a_feed_of_its_own_editions_named_in_it(site: Path) -> None:
    parsed = {lang: feedparser.parse((site / lang / "feed.xml").read_bytes())
              for lang in ("es", "en", "pt", "fr")}
    for lang, feed in parsed.items():
        assert not feed.bozo, (lang, feed.get("bozo_exception"))
        assert feed.feed.language == lang
    assert [len(parsed[lang].entries) for lang in ("es", "en", "pt", "fr")] == [4, 4, 1, 1]
    assert parsed["pt"].entries[0].link == f"https://annaobserva.iin.oea.org/pt/{NEWEST}/"
    titles = {lang: feed.feed.title for lang, feed in parsed.items()}
    assert titles == {"es": "ANNAobserva — boletín en español",
                      "en": "ANNAobserva — newsletter in English",
                      "pt": "ANNAobserva — boletim em português",
                      "fr": "ANNAobserva — bulletin en français"}
    assert parsed["pt"].feed.description.endswith("As edições em português.")
    assert parsed["fr"].feed.description.startswith("Bulletin de l'Observatoire de l'IIN-OEA")
    # Autodiscovery: every page names each language's feed by its own title.
    feeds = {link["hreflang"]: link["title"] for link in parse(site / "pt" / "index.html").links
             if link.get("type") == "application/rss+xml"}
    assert feeds == titles


def test_feed_dates_fall_on_the_issue_date_across_the_americas(site: Path) -> None:
    text = (site / "en" / "feed.xml").read_text(encoding="utf-8")
    dates = dict(re.findall(r"<link>https://[^<]+/en/([\d-]+)/</link>.*?<pubDate>([^<]+)</pubDate>",
                            text, re.DOTALL))
    # send_at when it is set; otherwise noon in [site] timezone (America/Montevideo, UTC-3).
    assert dates["2026-11"] == "Mon, 16 Nov 2026 09:00:00 -0300"
    assert dates["2026-09"] == "Mon, 14 Sep 2026 12:00:00 -0300"
    moment = parsedate_to_datetime(dates["2026-09"])
    for hours in (-10, -8, -5, -4, -3, -2, 0):  # Hawaii, the Pacific … Fernando de Noronha, UTC
        local = moment.astimezone(dt.timezone(dt.timedelta(hours=hours)))
        assert local.date() == dt.date(2026, 9, 14), hours


def test_state_pages_list_every_issue_their_feeds_the_languages_own(site: Path) -> None:
    haiti = site / "pt" / "estados" / "ht"
    assert entries(haiti / "index.html") == [
        (f"/pt/{NEWEST}/", "", ""), ("/es/2026-09/", "es", "em espanhol")]
    assert "2 boletins" in main_of(haiti / "index.html")
    feed = feedparser.parse((haiti / "feed.xml").read_bytes())
    assert [e.link for e in feed.entries] == [f"https://annaobserva.iin.oea.org/pt/{NEWEST}/"]
    assert feed.feed.title == "ANNAobserva — Haiti (em português)"
    uruguay = site / "pt" / "estados" / "uy"
    assert entries(uruguay / "index.html") == [("/es/2026-03/", "es", "em espanhol")]
    assert feedparser.parse((uruguay / "feed.xml").read_bytes()).entries == []
    assert set(alternates(uruguay / "index.html")) == {"es", "en", "pt", "fr"}
    states = main_of(site / "fr" / "etats" / "index.html")
    assert re.findall(r'<a href="/fr/etats/(\w+)/">([^<]+)</a>', states) == [
        ("br", "Brésil"), ("ht", "Haïti"), ("uy", "Uruguay")]


def test_topics_are_the_languages_own_words(site: Path) -> None:
    topics = main_of(site / "pt" / "temas" / "index.html")
    assert re.findall(r'<a href="/pt/temas/([\w-]+)/">([^<]+)</a>', topics) == [
        ("participacao", "participação")]
    assert entries(site / "pt" / "temas" / "participacao" / "index.html") == [
        (f"/pt/{NEWEST}/", "", "")]


def test_previous_and_next_lead_to_the_readers_edition_or_its_fallback(site: Path) -> None:
    html = (site / "pt" / NEWEST / "index.html").read_text(encoding="utf-8")
    prev = re.search(r'<li class="prev"><a href="([^"]+)" rel="prev" hreflang="es">.*?'
                     r'<span lang="es">([^<]+)</span> <span class="in-language">([^<]+)</span>',
                     html)
    assert prev and prev.groups() == (
        "/es/2026-09/", "Autorizaciones de viaje y control migratorio", "em espanhol")
    english = (site / "en" / "2026-09" / "index.html").read_text(encoding="utf-8")
    assert '<a href="/en/2026-11/" rel="next">' in english


def test_search_covers_each_languages_own_editions(
    site: Path, languages_settings: Settings
) -> None:
    for lang in ("es", "en", "pt", "fr"):
        assert (site / "pagefind" / lang / "pagefind.js").is_file()
        assert 'class="search" role="search"' in (site / lang / "index.html").read_text(
            encoding="utf-8")
    # A language no issue is written in yet (French, once 2026-11's fr.md is gone) has no index
    # and its pages no search box; its index still lists every issue.
    (languages_settings.path("issues") / NEWEST / "fr.md").unlink()
    site = build_site(languages_settings, today=TODAY).output
    assert not (site / "pagefind" / "fr").exists()
    for page in (site / "fr" / "index.html", site / "fr" / "etats" / "br" / "index.html"):
        html = page.read_text(encoding="utf-8")
        assert 'role="search"' not in html and "search.js" not in html
    assert len(entries(site / "fr" / "index.html")) == 4
    assert 'role="search"' in (site / "pt" / "index.html").read_text(encoding="utf-8")
    # The list of topics exists (every page links it), empty.
    topics = main_of(site / "fr" / "themes" / "index.html")
    assert "Aucun bulletin en français n&#39;a encore de thème." in topics


def test_french_pages_keep_french_typography(site: Path) -> None:
    html = (site / "fr" / NEWEST / "index.html").read_text(encoding="utf-8")
    assert "États mentionnés\u00a0: " in html and "Thèmes\u00a0: " in html
    assert ('<p class="kicker">Bulletin N° 4 · <time datetime="2026-11-16" '
            'data-pagefind-meta="date">16 novembre 2026</time>') in html
