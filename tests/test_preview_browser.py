"""The preview server in headless Chromium: language switch, feed link, screenshots, live reload."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from playwright.sync_api import expect

from newsletter.archive.preview import PreviewServer
from newsletter.cli.editorial import make_preview
from newsletter.settings import Settings

pytestmark = pytest.mark.browser


@pytest.fixture
def preview(site_settings: Settings) -> Iterator[PreviewServer]:
    server = make_preview(site_settings, "127.0.0.1", 0, drafts=False, poll=0.1)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_switch_language_follow_feed_and_screenshots(  # type: ignore[no-untyped-def]
    preview: PreviewServer, page, tmp_path: Path
) -> None:
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(preview.url + "es/2011-06/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h1").inner_text() == "Proteger a la niñez en la era digital"

    page.get_by_role("navigation", name="Idiomas").get_by_role("link", name="English").click()
    page.wait_for_url("**/en/2011-06/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Protecting children in a digital age"

    feed_link = page.locator('link[rel="alternate"][type="application/rss+xml"]').first
    feed_href = feed_link.get_attribute("href")
    assert feed_href == "/en/feed.xml"
    page.get_by_role("link", name="Follow by RSS").click()
    response = page.request.get(preview.url.rstrip("/") + feed_href)
    assert response.ok and response.headers["content-type"].startswith("application/rss+xml")
    parsed = feedparser.parse(response.body())
    assert not parsed.bozo and parsed.feed.language == "en"

    page.goto(preview.url + "en/2011-06/")
    wide = tmp_path / "issue-1280.png"
    page.screenshot(path=str(wide), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    narrow = tmp_path / "issue-375.png"
    page.screenshot(path=str(narrow), full_page=True)
    assert wide.stat().st_size > 10_000 and narrow.stat().st_size > 10_000
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than a phone"
    # The archive's policy is in force and refuses nothing the archive itself uses.
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times New Roman"
    assert page.locator('meta[http-equiv="Content-Security-Policy"]').count() == 1
    assert refused == []


def test_root_chooser_sends_the_reader_to_their_language(preview: PreviewServer, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(preview.url)
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/en/")
    assert page.locator("h1").inner_text() == "Newsletter archive"


LIVE = "html[data-annaobserva-live=connected]"  # set by live.js once its event stream is open


def test_live_reload_after_an_edit_and_an_error_banner_after_a_bad_one(
    preview: PreviewServer, page, site_project: Path  # type: ignore[no-untyped-def]
) -> None:
    # Every wait is on an event (the stream opening, a navigation, the banner appearing), never
    # on a time: the timeouts are only there so that a broken preview fails instead of hanging.
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(preview.url + "es/2011-06/")
    page.wait_for_selector(LIVE, state="attached", timeout=60_000)
    source = site_project / "issues/2011-06/es.md"
    text = source.read_text(encoding="utf-8")
    with page.expect_navigation(timeout=60_000):
        source.write_text(
            text.replace("title: Proteger a la niñez", "title: Proteger siempre a la niñez"),
            encoding="utf-8")
    assert page.locator("h1").inner_text() == "Proteger siempre a la niñez en la era digital"
    page.wait_for_selector(LIVE, state="attached", timeout=60_000)
    # An editor's save that truncates first can be seen empty: that build's error shows, and the
    # banner then follows each later build (write_text truncates too, so any wait is on text).
    source.write_text("", encoding="utf-8")
    banner = page.locator("#annaobserva-build-error")
    expect(banner).to_contain_text("issues/2011-06/es.md:1: missing front matter", timeout=60_000)
    source.write_text(text.replace("number: 2", "number: [2"), encoding="utf-8")
    expect(banner).to_contain_text("issues/2011-06/es.md:3: malformed YAML", timeout=60_000)
    # The previous good build is still what is served.
    body = urllib.request.urlopen(preview.url + "es/2011-06/").read().decode()  # noqa: S310
    assert "Proteger siempre a la niñez" in body
    assert refused == []  # live reload works under the archive's Content-Security-Policy


def test_the_preview_survives_an_impossible_date_and_recovers_when_it_is_fixed(
    preview: PreviewServer, page, site_project: Path  # type: ignore[no-untyped-def]
) -> None:
    page.goto(preview.url + "en/2011-06/")
    page.wait_for_selector(LIVE, state="attached", timeout=60_000)
    source = site_project / "issues/2011-06/en.md"
    text = source.read_text(encoding="utf-8")
    date = next(line for line in text.splitlines() if line.startswith("date: "))
    source.write_text(text.replace(date, "date: 2026-02-30"), encoding="utf-8")
    banner = page.locator("#annaobserva-build-error")
    expect(banner).to_contain_text("date '2026-02-30' is not a real date", timeout=60_000)
    # A page opened now shows the banner too, at once.
    other = page.context.new_page()
    other.goto(preview.url + "es/")
    other.locator("#annaobserva-build-error").wait_for(timeout=60_000)
    other.close()
    with page.expect_navigation(timeout=60_000):
        source.write_text(text.replace("Protecting children", "Protecting all children"),
                          encoding="utf-8")
    assert page.locator("#annaobserva-build-error").count() == 0
    assert page.locator("h1").inner_text().startswith("Protecting all children")


def test_served_html_gets_the_reload_script_but_the_site_on_disk_does_not(
    preview: PreviewServer,
) -> None:
    served = urllib.request.urlopen(preview.url + "en/").read().decode()  # noqa: S310
    assert "/__annaobserva/live.js" in served
    on_disk = (preview.site_dir / "en/index.html").read_text(encoding="utf-8")
    assert "__annaobserva" not in on_disk
