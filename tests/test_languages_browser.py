"""Portuguese and French subscribers, in headless Chromium: the form, the confirmation email, the
language page and unsubscribing, each in the visitor's language."""

from __future__ import annotations

from typing import Any

import pytest

from newsletter.wording import load_wording
from tests.plugins.webapp import SubscriptionServer

pytestmark = [pytest.mark.browser, pytest.mark.server]

VISITORS = {
    # lang: (browser locale, address, member state, a word each page must show)
    "pt": ("pt-BR", "ponto.focal@mdh.gov.br", "BR", {
        "form": "Assinar o ANNAobserva", "check": "Verifique o seu e-mail",
        "confirm": "Confirme a sua assinatura", "confirmed": "Assinatura confirmada",
        "language": "Mudar o idioma", "unsubscribe": "Cancelar a assinatura",
        "unsubscribed": "Assinatura cancelada",
        "subject": "Confirme a sua assinatura do ANNAobserva",
    }),
    "fr": ("fr-FR", "point.focal@ibesr.gouv.ht", "HT", {
        "form": "S'abonner à ANNAobserva", "check": "Consultez votre messagerie",
        "confirm": "Confirmez votre abonnement", "confirmed": "Abonnement confirmé",
        "language": "Changer de langue", "unsubscribe": "Se désabonner",
        "unsubscribed": "Désabonnement confirmé",
        "subject": "Confirmez votre abonnement à ANNAobserva",
    }),
}


@pytest.mark.parametrize("lang", sorted(VISITORS))
def test_a_visitor_subscribes_confirms_changes_language_and_leaves_in_their_language(
    browser: Any, subscription_server: SubscriptionServer, lang: str
) -> None:
    server = subscription_server
    locale, address, state, seen = VISITORS[lang]
    t = load_wording(server.settings.path("templates"), server.settings.site.languages).section(
        lang, "subscription")
    context = browser.new_context(locale=locale)
    page = context.new_page()
    try:
        page.goto(server.url)  # the root sends the browser to the form in its language
        assert page.url == server.url + f"{lang}/"
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("h1").inner_text() == seen["form"] == t["subscribe_title"]
        page.get_by_label(t["email_label"]).fill(address)
        page.get_by_label(t["name_label"]).fill("Ponto focal")
        page.get_by_label(t["state_label"]).select_option(state)
        # Every offered language can be chosen, each named in itself.
        options = page.locator("#lang option").all_inner_texts()
        assert options == ["Español", "English", "Português", "Français"]
        assert page.get_by_label(t["language_label"]).input_value() == lang
        page.get_by_role("button", name=t["submit"]).click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == seen["check"]

        # The confirmation email is in the subscriber's language too.
        [message] = server.outbox()
        assert message["Subject"] == seen["subject"]
        assert message["Content-Language"] == lang
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert t["email_intro"] in text and t["email_ignore"] in text
        [link] = server.confirm_links()

        page.goto(link)
        assert page.locator("h1").inner_text() == seen["confirm"]
        page.get_by_role("button", name=t["confirm_button"]).click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == seen["confirmed"]
        with server.store() as store:
            subscriber = store.get_by_email(address)
            assert subscriber is not None and (subscriber.status, subscriber.lang) == (
                "confirmed", lang)

        # The change-language link of every newsletter: the page speaks the subscriber's language.
        signer = server.settings.signer()
        page.goto(server.url + "language/" + signer.sign("language", subscriber.id))
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("h1").inner_text() == seen["language"]
        assert page.locator(f'input[name="lang"][value="{lang}"]').is_checked()
        page.locator('input[name="lang"][value="es"]').check()
        page.get_by_role("button", name=t["language_button"]).click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "Idioma cambiado"  # now in Spanish
        page.goto(server.url + "language/" + signer.sign("language", subscriber.id))
        page.locator(f'input[name="lang"][value="{lang}"]').check()
        page.get_by_role("button", name="Guardar").click()
        page.wait_for_load_state()
        assert page.locator("html").get_attribute("lang") == lang

        # And the unsubscribe link: a button in their language, then a goodbye.
        page.goto(server.url + "unsubscribe/" + signer.sign("unsubscribe", subscriber.id))
        assert page.locator("h1").inner_text() == seen["unsubscribe"]
        page.get_by_role("button", name=t["unsubscribe_button"]).click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == seen["unsubscribed"]
        with server.store() as store:
            assert store.get_by_email(address).status == "unsubscribed"  # type: ignore[union-attr]
    finally:
        context.close()
