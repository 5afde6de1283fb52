"""The subscription app over HTTP on a real local port: forms, CSRF, rate limit, signed links."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.conftest import REPO
from tests.plugins.servers import free_port, wait_for_http
from tests.plugins.webapp import FormSession, Reply, SubscriptionServer

pytestmark = pytest.mark.server

ONE_CLICK = b"List-Unsubscribe=One-Click"
FORM = {"email": "ana.perez@inau.gub.uy", "name": "Ana Pérez", "organisation": "INAU",
        "state": "UY", "lang": "es"}


def h1(reply: Reply) -> str:
    match = re.search(r"<h1>(.*?)</h1>", reply.text)
    assert match, reply.text
    return html.unescape(match.group(1))


def status_of(server: SubscriptionServer, email: str) -> str | None:
    with server.store() as store:
        s = store.get_by_email(email)
        return s.status if s else None


def token_path(link: str, server: SubscriptionServer) -> str:
    assert link.startswith(server.url)
    return link[len(server.url):]


def expired_confirm_token(secret: str, subscriber_id: int, days: int = 8) -> str:
    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - days * 86400

    serializer = URLSafeTimedSerializer(secret, salt="annaobserva.confirm", signer=PastSigner)
    return str(serializer.dumps(subscriber_id))


# -- the form ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "title", "label"), [
    ("es", "Suscribirse a ANNAobserva", '<label for="email">Correo electrónico</label>'),
    ("en", "Subscribe to ANNAobserva", '<label for="email">Email address</label>'),
    ("pt", "Assinar o ANNAobserva", '<label for="email">E-mail</label>'),
    ("fr", "S'abonner à ANNAobserva", '<label for="email">Adresse électronique</label>'),
])
def test_the_form_speaks_its_language(subscription_server: SubscriptionServer, lang: str,
                                      title: str, label: str) -> None:
    reply = subscription_server.request("GET", f"{lang}/")
    assert reply.status == 200
    assert f'<html lang="{lang}">' in reply.text
    assert h1(reply) == title
    assert label in reply.text
    for field in ("email", "name", "organisation", "state", "lang"):
        assert f'<label for="{field}">' in reply.text and f'id="{field}"' in reply.text
    assert reply.text.count("<option value=") == 35 + 1 + 4  # states, "choose", languages
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/s/" in cookie
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    assert '<link rel="stylesheet" href="/s/static/style.css">' in reply.text


def test_the_root_sends_the_visitor_to_their_language(
    subscription_server: SubscriptionServer
) -> None:
    languages = {"Accept-Language": "en-GB,en;q=0.9,es;q=0.5"}
    reply = subscription_server.request("GET", "", headers=languages)
    assert (reply.status, reply.headers["Location"]) == (303, "/s/en/")
    reply = subscription_server.request("GET", "subscribe", headers={"Accept-Language": "de, fr"})
    assert (reply.status, reply.headers["Location"]) == (303, "/s/fr/")
    reply = subscription_server.request("GET", "subscribe", headers={"Accept-Language": "de, it"})
    assert (reply.status, reply.headers["Location"]) == (303, "/s/es/")


def test_the_site_stylesheet_is_served(subscription_server: SubscriptionServer) -> None:
    reply = subscription_server.request("GET", "static/style.css")
    assert reply.status == 200 and reply.headers["Content-Type"] == "text/css; charset=utf-8"
    assert ".masthead" in reply.text
    assert subscription_server.request("GET", "static/subscribe.css").status == 200


def test_unknown_paths_and_methods(subscription_server: SubscriptionServer) -> None:
    reply = subscription_server.request("GET", "nowhere", headers={"Accept-Language": "en"})
    assert (reply.status, h1(reply)) == (404, "Page not found")
    reply = subscription_server.request("PUT", "subscribe")
    assert (reply.status, reply.headers["Allow"]) == (405, "POST")
    assert subscription_server.request("POST", "es/").status == 405


def test_a_sign_up_is_pending_with_its_consent_record_and_gets_the_email(
    subscription_server: SubscriptionServer,
) -> None:
    reply = FormSession(subscription_server).post(**FORM)
    assert (reply.status, h1(reply)) == (200, "Revise su correo")
    with subscription_server.store() as store:
        s = store.get_by_email("ana.perez@inau.gub.uy")
        assert s is not None
        assert (s.status, s.source, s.request_ip, s.name, s.state) == (
            "pending", "form", "127.0.0.1", "Ana Pérez", "UY")
    messages = subscription_server.outbox()
    assert len(messages) == 1
    assert messages[0]["To"] == "Ana Pérez <ana.perez@inau.gub.uy>"
    assert messages[0]["Subject"] == "Confirme su suscripción a ANNAobserva"
    [link] = subscription_server.confirm_links()
    assert link.startswith(subscription_server.url + "confirm/")
    # The link carries a signed id, never the address (nor a piece of it long enough to mean
    # something: a random token can contain "ana", as one in a thousand did).
    for part in ("ana.perez", "inau.gub", "ana.perez%40", "YW5hLnBlcmV6"):  # the last: base64
        assert part.lower() not in link.lower()


def test_invalid_fields_are_named_and_nothing_is_stored(
    subscription_server: SubscriptionServer
) -> None:
    reply = FormSession(subscription_server, "en").post(**{**FORM, "email": "nope", "state": "FR"})
    assert reply.status == 400
    assert 'role="alert"' in reply.text
    assert '<p class="field-error" id="email-error">Enter a valid email address.</p>' in reply.text
    assert ('<p class="field-error" id="state-error">Choose a member state from the list.</p>'
            in reply.text)
    assert 'aria-invalid="true" aria-describedby="email-error"' in reply.text
    assert 'value="nope"' in reply.text  # what the visitor typed is kept
    with subscription_server.store() as store:
        assert list(store.iter_subscribers()) == []


# -- defences ---------------------------------------------------------------------------------


def test_csrf_rejects_a_post_without_the_cookie_or_with_a_foreign_token(
    subscription_server: SubscriptionServer,
) -> None:
    visitor = FormSession(subscription_server, "en")
    attacker = FormSession(subscription_server, "en")
    no_cookie = visitor.post(cookie=None, **FORM)
    assert (no_cookie.status, h1(no_cookie)) == (403, "The form has expired")
    visitor.csrf = attacker.csrf
    mixed = visitor.post(**FORM)
    assert mixed.status == 403
    forged = visitor.post(**{**FORM, "csrf": "forged"})
    assert forged.status == 403
    assert status_of(subscription_server, FORM["email"]) is None
    assert subscription_server.outbox() == []


def test_the_honeypot_answers_the_same_and_does_nothing(
    subscription_server: SubscriptionServer
) -> None:
    session = FormSession(subscription_server)
    robot = session.post(**FORM, website="http://spam.example")
    human = FormSession(subscription_server).post(**{**FORM, "email": "otra@inau.gub.uy"})
    assert (robot.status, robot.text) == (human.status, human.text)
    assert status_of(subscription_server, FORM["email"]) is None
    assert len(subscription_server.outbox()) == 1


def test_rate_limiting_per_address(serve_app: Callable[..., SubscriptionServer]) -> None:
    server = serve_app(rate_limit=3)
    session = FormSession(server, "en")
    for i in range(3):
        assert session.post(**{**FORM, "email": f"user{i}@gov.uy"}).status == 200
    blocked = session.post(**{**FORM, "email": "user9@gov.uy"})
    assert (blocked.status, h1(blocked)) == (429, "Too many attempts")
    assert 3590 <= int(blocked.headers["Retry-After"]) <= 3601
    assert status_of(server, "user9@gov.uy") is None
    assert len(server.outbox()) == 3


def test_no_enumeration_same_answer_for_new_pending_confirmed_and_suppressed(
    subscription_server: SubscriptionServer,
) -> None:
    with subscription_server.store() as store:
        store.add(store.validate("confirmed@gov.uy", "UY", "es"), status="confirmed",
                  source="admin", note="designated by INAU")
        store.suppress("bounced@gov.uy", "bounce")
    answers = []
    for address in ("new@gov.uy", "new@gov.uy", "confirmed@gov.uy", "bounced@gov.uy"):
        reply = FormSession(subscription_server).post(**{**FORM, "email": address})
        headers = sorted((k, v) for k, v in reply.headers.items() if k not in ("Date",))
        answers.append((reply.status, headers, reply.text))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][0] == 200
    # Only the new (and then still pending) address is mailed, once per cooldown; the others
    # learn nothing.
    assert [m["To"].addresses[0].addr_spec for m in subscription_server.outbox()] == [
        "new@gov.uy"]


# -- confirmation ------------------------------------------------------------------------------


def test_get_on_the_confirm_link_changes_nothing_post_confirms(
    subscription_server: SubscriptionServer,
) -> None:
    FormSession(subscription_server).post(**FORM)
    [link] = subscription_server.confirm_links()
    path = token_path(link, subscription_server)
    for _ in range(3):  # a link scanner opening the link, repeatedly
        page = subscription_server.request("GET", path)
        assert (page.status, h1(page)) == (200, "Confirme su suscripción")
        assert f'<form method="post" action="/s/{path}">' in page.text
    assert status_of(subscription_server, FORM["email"]) == "pending"
    done = subscription_server.request("POST", path)
    assert (done.status, h1(done)) == (200, "Suscripción confirmada")
    assert subscription_server.request("POST", path).status == 200  # idempotent
    with subscription_server.store() as store:
        s = store.get_by_email(FORM["email"])
        assert s is not None and (s.status, s.confirm_ip) == ("confirmed", "127.0.0.1")
        assert [e.new_status for e in store.events(s.id)] == ["pending", "confirmed"]


@pytest.mark.parametrize("purpose", ["confirm", "unsubscribe", "language"])
def test_tampered_tokens_get_a_clear_page(
    subscription_server: SubscriptionServer, purpose: str
) -> None:
    good = subscription_server.settings.signer().sign(purpose, 1)
    tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    for method in ("GET", "POST"):
        reply = subscription_server.request(method, f"{purpose}/{tampered}",
                                            headers={"Accept-Language": "en"})
        assert (reply.status, h1(reply)) == (400, "This link is not valid")
        assert '<a href="/s/en/">Subscribe to ANNAobserva</a>' in reply.text


def test_a_token_for_another_purpose_is_refused(subscription_server: SubscriptionServer) -> None:
    with subscription_server.store() as store:
        s = store.add(store.validate("x@gov.uy", "UY", "en"), status="pending", source="admin")
    unsubscribe_token = subscription_server.settings.signer().sign("unsubscribe", s.id)
    assert subscription_server.request("POST", f"confirm/{unsubscribe_token}").status == 400
    assert status_of(subscription_server, "x@gov.uy") == "pending"


def test_an_expired_confirmation_offers_a_new_link(subscription_server: SubscriptionServer) -> None:
    with subscription_server.store() as store:
        s = store.add(store.validate("late@gov.uy", "UY", "en"), status="pending", source="admin")
    token = expired_confirm_token(subscription_server.settings.email.secret, s.id)
    for method in ("GET", "POST"):
        page = subscription_server.request(method, f"confirm/{token}")
        assert (page.status, h1(page)) == (410, "This link has expired")
        assert "Confirmation links expire after 7 days." in page.text
        assert f'action="/s/confirm/{token}/resend"' in page.text
    assert status_of(subscription_server, "late@gov.uy") == "pending"
    again = subscription_server.request("POST", f"confirm/{token}/resend")
    assert (again.status, h1(again)) == (200, "Check your inbox")
    [link] = subscription_server.confirm_links()
    fresh = subscription_server.request("POST", token_path(link, subscription_server))
    assert (fresh.status, h1(fresh)) == (200, "Subscription confirmed")
    assert status_of(subscription_server, "late@gov.uy") == "confirmed"


# -- unsubscribe and language ------------------------------------------------------------------


def confirmed(server: SubscriptionServer, address: str = "liaison@gov.uy", lang: str = "en") -> int:
    with server.store() as store:
        return store.add(store.validate(address, "UY", lang), status="confirmed",
                         source="import", note="liaisons").id


def test_one_click_unsubscribe_rfc8058(subscription_server: SubscriptionServer) -> None:
    subscriber_id = confirmed(subscription_server)
    token = subscription_server.settings.signer().sign("unsubscribe", subscriber_id)
    page = subscription_server.request("GET", f"unsubscribe/{token}")
    assert (page.status, h1(page)) == (200, "Unsubscribe")
    assert status_of(subscription_server, "liaison@gov.uy") == "confirmed"  # GET changes nothing
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for _ in range(2):  # idempotent: a second POST answers the same
        reply = subscription_server.request("POST", f"unsubscribe/{token}", ONE_CLICK, headers)
        assert (reply.status, h1(reply)) == (200, "You are unsubscribed")
        assert "Set-Cookie" not in reply.headers
    with subscription_server.store() as store:
        assert [(e.new_status, e.source) for e in store.events(subscriber_id)] == [
            ("confirmed", "import"), ("unsubscribed", "one-click")]
        assert list(store.iter_confirmed()) == []
    after = subscription_server.request("GET", f"unsubscribe/{token}")
    assert (after.status, h1(after)) == (200, "You are unsubscribed")


def test_the_unsubscribe_button_posts_without_a_body(
    subscription_server: SubscriptionServer
) -> None:
    subscriber_id = confirmed(subscription_server, lang="es")
    token = subscription_server.settings.signer().sign("unsubscribe", subscriber_id)
    reply = subscription_server.request("POST", f"unsubscribe/{token}", b"")
    assert (reply.status, h1(reply)) == (200, "Baja confirmada")
    with subscription_server.store() as store:
        assert store.events(subscriber_id)[-1].source == "link"


def test_an_erased_subscriber_can_still_one_click(subscription_server: SubscriptionServer) -> None:
    subscriber_id = confirmed(subscription_server)
    with subscription_server.store() as store:
        store.erase("liaison@gov.uy")
    token = subscription_server.settings.signer().sign("unsubscribe", subscriber_id)
    assert subscription_server.request("POST", f"unsubscribe/{token}", ONE_CLICK).status == 200


def test_change_language(subscription_server: SubscriptionServer) -> None:
    subscriber_id = confirmed(subscription_server, lang="en")
    token = subscription_server.settings.signer().sign("language", subscriber_id)
    page = subscription_server.request("GET", f"language/{token}")
    assert (page.status, h1(page)) == (200, "Change language")
    assert 'value="en" checked' in page.text and 'value="es">' in page.text
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    bad = subscription_server.request("POST", f"language/{token}", b"lang=de", headers)
    assert bad.status == 400
    done = subscription_server.request("POST", f"language/{token}", b"lang=es", headers)
    assert (done.status, h1(done)) == (200, "Idioma cambiado")
    with subscription_server.store() as store:
        assert [s.id for s in store.iter_confirmed("es")] == [subscriber_id]
        assert list(store.iter_confirmed("en")) == []


def test_serve_runs_the_app_under_waitress(project: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from newsletter.cli import main; sys.exit(main())",
         "--config", str(project / "newsletter.toml"), "serve", "--port", str(port)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/s/es/")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/s/en/", timeout=10) as reply:  # noqa: S310
            assert reply.status == 200
            assert reply.headers["Server"] == "annaobserva"
            assert b"<h1>Subscribe to ANNAobserva</h1>" in reply.read()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert out.decode().startswith(f"serving the subscription pages on http://127.0.0.1:{port}/")
