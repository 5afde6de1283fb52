"""The email HTML in headless Chromium at 600 px and 375 px: no horizontal overflow on a phone,
images scale down, and the dark-mode rule premailer kept really applies. Screenshots are saved
under the test's tmp_path. Nothing leaves the machine: image requests are answered from the
fixture issue's folder and every other request is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.mail.editions import Recipient, render_email_editions
from newsletter.settings import Settings
from tests.email_support import EMAIL_ISSUE, fixture_issue

pytestmark = pytest.mark.browser

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 0.5
                  && getComputedStyle(el).display !== 'none'
                  && !el.closest('.preheader'))
    .map(el => el.tagName + '.' + el.className);
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


def _serve_locally(page, settings: Settings, requests: list[str]) -> None:  # type: ignore[no-untyped-def]
    media = f"{settings.site.base_url}media/2026-11/"

    def handle(route):  # type: ignore[no-untyped-def]
        url = route.request.url
        requests.append(url)
        if url.startswith(media):
            path = EMAIL_ISSUE / "2026-11" / url[len(media):]
            route.fulfill(status=200, content_type="image/png", body=path.read_bytes())
        else:
            route.abort()

    page.route("**/*", handle)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_email_fits_600_and_375_pixels_without_horizontal_overflow(
    browser, settings: Settings, tmp_path: Path, lang: str  # type: ignore[no-untyped-def]
) -> None:
    edition = render_email_editions(settings, fixture_issue(settings))[lang]
    html, _ = edition.personalise(Recipient(5, "r@example.org"))
    context = browser.new_context(viewport={"width": 600, "height": 900})
    try:
        page = context.new_page()
        requests: list[str] = []
        _serve_locally(page, settings, requests)
        page.set_content(html, wait_until="load")
        assert any(url.endswith("images/chart.png") for url in requests)
        natural = page.evaluate("() => document.querySelector('.content img').naturalWidth")
        assert natural == 1200  # the image is wider than any phone, so scaling matters
        page.screenshot(path=str(tmp_path / f"email-{lang}-600.png"), full_page=True)
        at_600 = page.evaluate(OVERFLOW)
        assert at_600["scroll"] <= 600 and at_600["wide"] == []

        page.set_viewport_size({"width": 375, "height": 800})
        page.screenshot(path=str(tmp_path / f"email-{lang}-375.png"), full_page=True)
        at_375 = page.evaluate(OVERFLOW)
        assert at_375["width"] == 375
        assert at_375["scroll"] <= 375, at_375
        assert at_375["wide"] == [], at_375["wide"]
        image = page.evaluate(
            "() => document.querySelector('.content img').getBoundingClientRect().width"
        )
        assert image <= 375 - 2 * 16
        # The phone rule (kept by premailer with its !important) beats the inline 24px padding.
        padding = page.evaluate(
            "() => getComputedStyle(document.querySelector('td.content')).paddingLeft"
        )
        assert padding == "16px"
        assert (tmp_path / f"email-{lang}-375.png").stat().st_size > 10_000
    finally:
        context.close()


def test_email_dark_mode_rule_applies(browser, settings: Settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    edition = render_email_editions(settings, fixture_issue(settings))["es"]
    html, _ = edition.personalise(Recipient(5, "r@example.org"))
    colours = {}
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 600, "height": 900}, color_scheme=scheme)
        try:
            page = context.new_page()
            _serve_locally(page, settings, [])
            page.set_content(html, wait_until="load")
            colours[scheme] = page.evaluate(
                "() => getComputedStyle(document.querySelector('td.content')).backgroundColor"
            )
            page.screenshot(path=str(tmp_path / f"email-es-{scheme}.png"), full_page=True)
        finally:
            context.close()
    assert colours == {"light": "rgb(255, 255, 255)", "dark": "rgb(27, 32, 38)"}
