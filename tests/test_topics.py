"""Member states and topics as pages: each lists exactly its issues, newest first, with a feed
that parses cleanly; the lists count them; issue pages link to them; all are in the sitemap;
they are rendered again only when what they show changed."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest

from newsletter.archive.build import build_site
from newsletter.archive.topics import neighbours, tag_slug, tag_topics
from newsletter.content.loader import load_issues
from newsletter.settings import Settings, load_settings

from .conftest import copy_project
from .test_site import parse

TODAY = dt.date(2026, 11, 28)
BASE = "https://annaobserva.iin.oea.org"


def _issue_links(page: Path) -> list[str]:
    """The issues a list page links to, in order (its `<ol class="issues">`)."""
    text = page.read_text(encoding="utf-8")
    listed = text[text.index('<ol class="issues"'):text.index("</ol>")]
    return re.findall(r'<h2><a href="([^"]+)">', listed)


@pytest.fixture
def sample_site(project: Path) -> Path:
    """The committed sample issues, built."""
    return build_site(load_settings(project / "newsletter.toml"), today=TODAY).output


def test_a_state_page_lists_exactly_the_issues_concerning_it_newest_first(
    sample_site: Path, project: Path
) -> None:
    corpus = load_issues(project / "issues", ("es", "en"))
    visible = [i for i in corpus.issues if i.is_visible(TODAY)]
    for lang, section in (("es", "estados"), ("en", "states")):
        for code in ("CR", "SV"):
            expected = [f"/{lang}/{i.slug}/" for i in visible  # newest first, as the corpus
                        if code in i.edition(lang).countries]
            assert expected, code
            page = sample_site / lang / section / code.lower() / "index.html"
            assert _issue_links(page) == expected
    # A state no issue concerns has no page.
    assert not (sample_site / "en/states/uy").exists()


def test_a_state_feed_validates_and_carries_the_same_issues(sample_site: Path) -> None:
    page = sample_site / "es/estados/cr/index.html"
    feed = feedparser.parse((sample_site / "es/estados/cr/feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.language == "es"
    assert feed.feed.title == "ANNAobserva — Costa Rica (en español)"  # names its language
    assert feed.feed.link == f"{BASE}/es/estados/cr/"
    assert [e.link.removeprefix(BASE) for e in feed.entries] == _issue_links(page)
    assert all(e.id == e.link and e.content[0].value for e in feed.entries)
    # The page and the lists announce the feed.
    head = parse(page)
    feeds = [link["href"] for link in head.links if link.get("type") == "application/rss+xml"]
    assert feeds[0] == "/es/estados/cr/feed.xml"


def test_the_list_of_states_counts_their_issues_in_the_readers_language(
    sample_site: Path
) -> None:
    text = (sample_site / "es/estados/index.html").read_text(encoding="utf-8")
    items = re.findall(r'<li><a href="([^"]+)">([^<]+)</a> <span class="count">([^<]+)</span>',
                       text)
    assert items == [("/es/estados/cr/", "Costa Rica", "1 boletín"),
                     ("/es/estados/sv/", "El Salvador", "1 boletín")]
    en = (sample_site / "en/states/index.html").read_text(encoding="utf-8")
    assert '<a href="/en/states/sv/">El Salvador</a> <span class="count">1 issue</span>' in en


def test_topic_pages_are_the_editors_words_in_each_language(sample_site: Path) -> None:
    assert (sample_site / "es/temas/buenas-practicas/index.html").is_file()
    assert (sample_site / "en/topics/best-practices/index.html").is_file()
    assert (sample_site / "es/temas/asamblea-general/index.html").is_file()
    # Two issues are about the General Assembly; the one dated after today is not published.
    listed = _issue_links(sample_site / "en/topics/general-assembly/index.html")
    assert listed == ["/en/2011-07/"]
    page = parse(sample_site / "es/temas/buenas-practicas/index.html")
    alternates = {link["hreflang"] for link in page.links
                  if link.get("rel") == "alternate" and "type" not in link}
    assert alternates == {"es"}  # a topic is its own language's word
    text = (sample_site / "en/topics/index.html").read_text(encoding="utf-8")
    assert '<a href="/en/topics/general-assembly/">General Assembly</a> ' \
           '<span class="count">1 issue</span>' in text


def test_issue_pages_link_their_states_and_topics(sample_site: Path, project: Path) -> None:
    corpus = load_issues(project / "issues", ("es", "en"))
    issue = next(i for i in corpus.issues if i.edition("en").countries and
                 i.is_visible(TODAY))
    anchors = [a.get("href") for a in parse(sample_site / f"en/{issue.slug}/index.html").anchors]
    for code in issue.edition("en").countries:
        assert f"/en/states/{code.lower()}/" in anchors
    for tag in issue.edition("en").tags:
        assert f"/en/topics/{tag_slug(tag)}/" in anchors


def test_state_pages_are_in_the_sitemap_with_their_translations(sample_site: Path) -> None:
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    root = ET.parse(sample_site / "sitemap.xml").getroot()
    entries = {u.find("s:loc", ns).text: {link.get("hreflang"): link.get("href")
                                          for link in u.findall("x:link", ns)}
               for u in root.findall("s:url", ns)}
    # Every offered language has the state's page (pt and fr list its issues by their fallback
    # edition until they are translated).
    assert entries[f"{BASE}/es/estados/cr/"] == {"es": f"{BASE}/es/estados/cr/",
                                                 "en": f"{BASE}/en/states/cr/",
                                                 "pt": f"{BASE}/pt/estados/cr/",
                                                 "fr": f"{BASE}/fr/etats/cr/"}
    assert entries[f"{BASE}/en/states/"] == {"es": f"{BASE}/es/estados/",
                                             "en": f"{BASE}/en/states/",
                                             "pt": f"{BASE}/pt/estados/",
                                             "fr": f"{BASE}/fr/etats/"}
    assert f"{BASE}/es/temas/buenas-practicas/" in entries
    for loc, alternates in entries.items():  # the sitemap and the pages agree
        path = loc.removeprefix(BASE + "/") + "index.html"
        page = parse(sample_site / path)
        assert alternates == {link["hreflang"]: link["href"] for link in page.links
                              if link.get("rel") == "alternate" and "type" not in link}, loc


def test_state_pages_are_rendered_only_when_what_they_show_changes(
    site_settings: Settings, site_project: Path
) -> None:
    build_site(site_settings, today=TODAY)
    edited = site_project / "issues/2011-06/en.md"
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text + "\nOne more sentence.\n", encoding="utf-8")
    written = set(build_site(site_settings, today=TODAY).written)
    # The body changed: Costa Rica's feed carries it, its page (titles, dates) does not.
    assert "en/states/cr/feed.xml" in written
    assert "en/states/cr/index.html" not in written and "en/states/index.html" not in written
    edited.write_text(text.replace("countries: [CR]", "countries: [CR, UY]"), encoding="utf-8")
    written = set(build_site(site_settings, today=TODAY).written)
    assert {"en/states/uy/index.html", "en/states/index.html"} <= written
    assert "en/states/cr/index.html" not in written
    # Uruguay's Spanish page gains nothing: the Spanish edition does not name it.
    assert not any(p.startswith("es/estados/") for p in written)


def test_a_state_no_longer_concerned_loses_its_page(
    site_settings: Settings, site_project: Path
) -> None:
    site = build_site(site_settings, today=TODAY).output
    assert (site / "es/estados/uy/index.html").is_file()
    for lang in ("es", "en"):
        path = site_project / f"issues/2011-03/{lang}.md"
        path.write_text(path.read_text(encoding="utf-8").replace("countries: [UY, CR]",
                                                                 "countries: [CR]"),
                        encoding="utf-8")
    report = build_site(site_settings, today=TODAY)
    assert "es/estados/uy/index.html" in report.removed
    assert not (site / "es/estados/uy").exists()


def test_tag_slugs_and_spellings() -> None:
    assert tag_slug("buenas prácticas") == "buenas-practicas"
    assert tag_slug("Naciones Unidas") == "naciones-unidas"
    assert tag_slug("État de droit") == "etat-de-droit"
    assert re.fullmatch(r"t-[0-9a-f]{8}", tag_slug("…"))


def test_spellings_differing_in_accents_or_case_are_one_topic(tmp_path: Path) -> None:
    root = copy_project(tmp_path / "p", issues=False)
    shutil.copytree(Path(__file__).parent / "fixtures/site/issues", root / "issues",
                    dirs_exist_ok=True)
    for slug, tag in (("2011-03", "Tecnología"), ("2011-06", "tecnologia")):
        path = root / f"issues/{slug}/es.md"
        text = re.sub(r"(?m)^tags: .*\n", "", path.read_text(encoding="utf-8"))
        path.write_text(text.replace("---\n", f"---\ntags: [{tag}]\n", 1), encoding="utf-8")
    corpus = load_issues(root / "issues", ("es", "en"))
    topics = tag_topics(corpus.issues, "es")
    assert [(t.slug, t.name, [i.slug for i in t.issues]) for t in topics] == \
        [("tecnologia", "tecnologia", ["2011-06", "2011-03"])]


def test_previous_and_next_are_the_neighbouring_issues(site_project: Path) -> None:
    corpus = load_issues(site_project / "issues", ("es", "en"))
    around = neighbours(corpus.issues)
    assert around["2011-06"] == (corpus.find("2011-03"), None)
    assert around["2011-03"] == (None, corpus.find("2011-06"))
