"""The archive's search box in headless Chromium, against the built site served over HTTP (with the
Content-Security-Policy the pages are written for): it finds an edition by a word of its body in
the reader's language, shows title, date and excerpt, links to the edition; without JavaScript
there is no box."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newsletter.archive.build import build_site
from newsletter.settings import Settings

from .plugins.static_site import StaticSite

pytestmark = pytest.mark.browser
TODAY = dt.date(2026, 11, 28)


@pytest.fixture
def site(site_settings: Settings, serve_site: Callable[..., StaticSite]) -> StaticSite:
    return serve_site(build_site(site_settings, today=TODAY).output)


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    yield page
    context.close()


def _search(page, words: str):  # type: ignore[no-untyped-def]
    box = page.get_by_role("searchbox")
    box.fill(words)
    box.press("Enter")
    results = page.locator(".search-results")
    results.locator(".search-count").wait_for(timeout=15_000)
    return results


@pytest.mark.parametrize(("lang", "query", "title", "date", "marked"), [
    # "armonización" is not in the text: Spanish stemming finds "Armonizar" in the table.
    ("es", "armonización", "Proteger a la niñez en la era digital", "7 de junio de 2011",
     "Armonizar"),
    ("en", "harmonised", "Protecting children in a digital age", "June 7, 2011", "Harmonise"),
])
def test_the_search_box_finds_an_edition_by_a_word_of_its_body(  # type: ignore[no-untyped-def]
    site: StaticSite, page, lang: str, query: str, title: str, date: str, marked: str
) -> None:
    page.goto(f"{site.url}{lang}/")
    results = _search(page, query)
    items = results.locator(".search-list li")
    assert items.count() == 1
    link = items.first.get_by_role("link")
    assert link.inner_text() == title
    assert link.get_attribute("href") == f"/{lang}/2011-06/"
    assert items.first.locator(".search-date").inner_text() == date
    assert items.first.locator(".search-excerpt mark").first.inner_text().lower() \
        == marked.lower()
    link.click()
    page.wait_for_url(f"**/{lang}/2011-06/")
    assert page.locator("h1").inner_text() == title
    assert page.problems == []  # no CSP violation, no script error


def test_a_reader_searches_their_own_language_only(site: StaticSite, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site.url}es/2011-03/")
    results = _search(page, "Harmonise")  # English only: the Spanish index has no such word
    assert results.locator(".search-list li").count() == 0
    assert results.locator(".search-count").inner_text() == "Ningún boletín contiene «Harmonise»."
    assert page.problems == []


def test_without_javascript_there_is_no_search_box(site: StaticSite, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{site.url}en/")
        assert page.locator("form.search").count() == 1
        assert not page.locator("form.search").is_visible()
        assert page.get_by_role("searchbox").count() == 0
        # The lists are still the way in.
        page.get_by_role("navigation", name="Sections").get_by_role(
            "link", name="Member states").click()
        page.wait_for_url("**/en/states/")
        assert page.locator("h1").inner_text() == "Member states"
    finally:
        context.close()


def test_the_search_index_is_served_as_the_deploy_types_it(site: StaticSite) -> None:
    import urllib.request

    folder = Path(site.folder) / "pagefind" / "en"
    meta = next(folder.glob("*.pf_meta")).name
    for name, expected in (("pagefind.js", "text/javascript; charset=utf-8"),
                           (meta, "application/octet-stream"),
                           ("wasm.en.pagefind", "application/octet-stream")):
        with urllib.request.urlopen(f"{site.url}pagefind/en/{name}") as answer:  # noqa: S310
            assert answer.headers["Content-Type"] == expected, name


def test_after_edits_the_index_finds_the_new_words(  # type: ignore[no-untyped-def]
    site_settings: Settings, site_project: Path, serve_site: Callable[..., StaticSite], page
) -> None:
    """Updates index the pages as they now are, each edit's words still there after the next."""
    site = build_site(site_settings, today=TODAY).output
    for slug, word in (("2011-06", "zanahoria"), ("2011-03", "berenjena")):
        path = site_project / f"issues/{slug}/es.md"
        path.write_text(path.read_text(encoding="utf-8") + f"\nUna {word} inesperada.\n",
                        encoding="utf-8")
        report = build_site(site_settings, today=TODAY)
        assert report.search is not None and report.search.refreshed == ("es",)
    served = serve_site(site)
    for slug, word in (("2011-06", "zanahoria"), ("2011-03", "berenjena")):
        page.goto(f"{served.url}es/")
        results = _search(page, word)
        links = results.locator(".search-list li a")
        assert links.count() == 1 and links.first.get_attribute("href") == f"/es/{slug}/", word
