"""The whole double opt-in loop in headless Chromium, against the app on a real local port."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest

from tests.plugins.webapp import SubscriptionServer

pytestmark = [pytest.mark.browser, pytest.mark.server]


def status_of(server: SubscriptionServer, email: str) -> tuple[str, str | None] | None:
    with server.store() as store:
        s = store.get_by_email(email)
        return (s.status, s.confirm_ip) if s else None


def test_double_opt_in_then_one_click_unsubscribe(
    browser: Any, subscription_server: SubscriptionServer
) -> None:
    server = subscription_server
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    try:
        page.goto(server.url)  # the root sends an English browser to the English form
        assert page.url == server.url + "en/"
        assert page.locator("h1").inner_text() == "Subscribe to ANNAobserva"
        # The site's stylesheet is linked and applied: the masthead wears the archive's band.
        band = page.eval_on_selector(".masthead", "e => getComputedStyle(e).backgroundColor")
        assert band == "rgb(11, 79, 138)"

        page.get_by_label("Email address").fill("liaison@inau.gub.uy")
        page.get_by_label("Name").fill("Ana Pérez")
        page.get_by_label("Institution or organisation").fill("INAU")
        page.get_by_label("Member state").select_option("UY")
        page.get_by_label("Newsletter language").select_option("en")
        page.get_by_role("button", name="Subscribe").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Check your inbox"
        assert status_of(server, "liaison@inau.gub.uy") == ("pending", None)

        [link] = server.confirm_links()
        [message] = server.outbox()
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f'href="{link}"' in html

        page.goto(link)
        assert page.locator("h1").inner_text() == "Confirm your subscription"
        assert status_of(server, "liaison@inau.gub.uy") == ("pending", None)  # GET is harmless
        page.get_by_role("button", name="Confirm my subscription").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Subscription confirmed"
        assert status_of(server, "liaison@inau.gub.uy") == ("confirmed", "127.0.0.1")
    finally:
        context.close()

    # The newsletter's List-Unsubscribe URL, posted to exactly as RFC 8058 says a mail client does.
    with server.store() as store:
        subscriber = store.get_by_email("liaison@inau.gub.uy")
    assert subscriber is not None

    token = server.settings.signer().sign("unsubscribe", subscriber.id)
    url = f"{server.url}unsubscribe/{token}"
    request = urllib.request.Request(
        url, data=b"List-Unsubscribe=One-Click", method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        assert response.status == 200
    assert status_of(server, "liaison@inau.gub.uy") == ("unsubscribed", "127.0.0.1")


def test_keyboard_focus_order_skips_the_honeypot(
    browser: Any, subscription_server: SubscriptionServer
) -> None:
    page = browser.new_page()
    try:
        page.goto(subscription_server.url + "es/")
        order = []
        for _ in range(12):
            page.keyboard.press("Tab")
            order.append(page.evaluate(
                "() => document.activeElement.id || document.activeElement.className "
                "|| document.activeElement.textContent.trim()"))
        assert order == ["skip", "brand", "English", "Português", "Français", "email", "name",
                         "organisation", "state", "lang", "button", "Archivo de boletines"]
    finally:
        page.close()


def test_a_spanish_visitor_sees_spanish_errors_with_focusable_summary(
    browser: Any, subscription_server: SubscriptionServer
) -> None:
    page = browser.new_page()
    try:
        page.goto(subscription_server.url + "es/")
        page.get_by_label("Correo electrónico").fill("no-es-una-direccion")
        page.get_by_role("button", name="Suscribirme").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == "es"
        summary = page.get_by_role("alert").inner_text().splitlines()
        assert [line for line in summary if line.strip()] == [
            "Revise el formulario:",
            "Escriba una dirección de correo válida.",
            "Elija un Estado miembro de la lista.",
        ]
        assert page.evaluate("() => document.activeElement.id") == "errors"
        assert page.get_by_label("Correo electrónico").get_attribute("aria-invalid") == "true"
        assert page.get_by_label("Correo electrónico").input_value() == "no-es-una-direccion"
    finally:
        page.close()
