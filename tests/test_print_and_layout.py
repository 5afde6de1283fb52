"""How an issue prints and sits on the screen, in headless Chromium; the focus ring's contrast
against every background it can sit on, from the stylesheet's own colours."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newsletter.archive.build import build_site
from newsletter.settings import Settings

from .plugins.static_site import StaticSite

TODAY = dt.date(2026, 11, 28)
STYLE = Path(__file__).resolve().parent.parent / "templates" / "static" / "style.css"


@pytest.fixture
def site(site_settings: Settings, serve_site: Callable[..., StaticSite]) -> StaticSite:
    return serve_site(build_site(site_settings, today=TODAY).output)


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    yield context.new_page()
    context.close()


NAVIGATION = ".languages, .sections, form.search, .between"


@pytest.mark.browser
def test_print_hides_the_navigation_switcher_and_search(site: StaticSite, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site.url}en/2011-06/")
    page.wait_for_selector("form.search:not([hidden])")  # the script showed the box
    assert page.locator(".languages").is_visible() and page.locator(".between").is_visible()
    page.emulate_media(media="print")
    for selector in NAVIGATION.split(", "):
        assert not page.locator(selector).is_visible(), selector
    printed = page.screenshot(full_page=True)
    # Removing the navigation from the printed page changes nothing on it: it was not there.
    page.evaluate("s => document.querySelectorAll(s).forEach(e => e.remove())", NAVIGATION)
    assert page.screenshot(full_page=True) == printed
    # …whereas on screen it was.
    page.emulate_media(media="screen")
    page.goto(f"{site.url}en/2011-06/")
    page.wait_for_selector("form.search:not([hidden])")
    on_screen = page.screenshot(full_page=True)
    page.evaluate("s => document.querySelectorAll(s).forEach(e => e.remove())", NAVIGATION)
    assert page.screenshot(full_page=True) != on_screen


@pytest.mark.browser
def test_printed_links_show_where_they_lead_and_headings_stay_with_their_text(  # type: ignore[no-untyped-def]
    site: StaticSite, page
) -> None:
    page.goto(f"{site.url}en/2011-06/")
    page.emulate_media(media="print")
    after = page.evaluate("""() => getComputedStyle(
        document.querySelector('.body a[href^="https://www.iin"]'), '::after').content""")
    assert after == '" (" attr(href) ")"' or "https://www.iin.oea.org/" in after
    heading = page.evaluate("() => getComputedStyle(document.querySelector('.body h2')).breakAfter")
    assert heading == "avoid"
    table = page.evaluate("() => getComputedStyle(document.querySelector('.body table'))"
                          ".breakInside")
    assert table == "avoid"


@pytest.mark.browser
@pytest.mark.parametrize("path", ["en/", "en/2011-06/", "en/states/"])
def test_the_heading_is_clear_of_the_masthead(site: StaticSite, page, path: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.url + path)
    gap = page.evaluate("""() => document.querySelector('main h1').getBoundingClientRect().top
        - document.querySelector('.masthead').getBoundingClientRect().bottom""")
    assert gap >= 24, f"the heading sits {gap:.0f} px under the masthead"


@pytest.mark.browser
def test_the_favicon_is_served_where_browsers_ask_for_it(site: StaticSite, page) -> None:  # type: ignore[no-untyped-def]
    answer = page.request.get(site.url + "favicon.ico")
    assert answer.ok and answer.body()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page.goto(site.url + "en/")
    for link in page.locator('link[rel="icon"], link[rel="apple-touch-icon"]').all():
        assert page.request.get(site.url + link.get_attribute("href").lstrip("/")).ok


# -- the focus ring --------------------------------------------------------------------------------

def _luminance(colour: str) -> float:
    value = colour.lstrip("#")
    channels = [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _variables(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block))


def test_the_focus_ring_reaches_3_to_1_on_every_background() -> None:
    css = STYLE.read_text(encoding="utf-8")
    light = _variables(css[css.index(":root {"):css.index("}", css.index(":root {"))])
    dark_at = css.index("@media (prefers-color-scheme: dark)")
    dark = {**light, **_variables(css[dark_at:css.index("}", css.index(":root {", dark_at))])}
    masthead = re.search(r"\.masthead \{[^}]*--focus:\s*(#[0-9a-fA-F]{6})", css)
    assert masthead, "the masthead sets its own focus colour"
    for scheme in (light, dark):
        # Page, soft panels (contents, footer, search results) and the band's own colour where
        # a ring leaves the masthead.
        for background in ("paper", "soft"):
            ratio = contrast(scheme["focus"], scheme[background])
            assert ratio >= 3, f"--focus on --{background}: {ratio:.2f}:1"
        ratio = contrast(masthead.group(1), scheme["band"])
        assert ratio >= 3, f"the masthead's focus ring on --band: {ratio:.2f}:1"
    assert "outline: 3px solid var(--focus)" in css
