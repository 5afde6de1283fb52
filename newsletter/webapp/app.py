"""The subscription web application: subscribe, confirm, unsubscribe, change language.

Paths, relative to `[email] subscription_url`:

- `<lang>/` (GET) the subscribe form; `subscribe` (POST) its target, which always answers "check
  your inbox" — whether the address is new, pending, confirmed or suppressed;
- `confirm/<token>` GET shows a button, POST confirms (link scanners open every link: no GET
  changes anything); `confirm/<token>/resend` (POST) mails a fresh link for an expired one;
- `unsubscribe/<token>` GET shows a button; POST unsubscribes at once, including RFC 8058's
  one-click `List-Unsubscribe=One-Click` body, without cookies or CSRF token;
- `language/<token>` GET shows the languages; POST changes the subscriber's language;
- `static/style.css` (the archive's stylesheet) and `static/subscribe.css`;
- `healthz` (GET, also at the server's root `/healthz`) for the proxy's health check: 200 when
  the database answers and every migration is applied, else 503; JSON with those two facts and
  the depth of the confirmation queue in the database (sign-ups not yet decided, confirmation
  emails not yet sent), never a subscriber's data.

It refuses to start without a strong secret (`ANNAOBSERVA_SECRET`, 32 bytes or more, not the demo
value): it checks links from the public. The visitor's address is what the server says
(`REMOTE_ADDR`): behind the HTTPS proxy, waitress sets it from X-Forwarded-For, and only for the
trusted proxy (`[serve] trusted_proxy`, `forwarded_hops`; `http.waitress_options`). Every
answer, errors included (a 500 too), carries the security headers.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from newsletter.addresses import normalise_email, unsafe_character
from newsletter.errors import NewsletterError
from newsletter.settings import Settings
from newsletter.subscribers import (
    InvalidText,
    NewSubscriber,
    Subscriber,
    SubscriberStore,
    checked_text,
)
from newsletter.templating import make_environment, native_language_name
from newsletter.tokens import TokenExpired, TokenInvalid
from newsletter.urls import SiteUrls, SubscriptionUrls
from newsletter.wording import load_wording

from .http import Request, Response, negotiate, redirect
from .mailer import ConfirmationMailer, Drained
from .security import CSRF_COOKIE, CSRF_FIELD, AttemptLimiter, CsrfGuard

logger = logging.getLogger(__name__)

ONE_CLICK_BODY = b"List-Unsubscribe=One-Click"
HONEYPOT_FIELD = "website"
MAX_FIELD = 200
STATIC_FILES = {
    "style.css": Path("static") / "style.css",
    "subscribe.css": Path("subscribe") / "subscribe.css",
}

Handler = Callable[[Request, str], Response]


class SubscriptionApp:
    """A WSGI application over the subscriber store (one SQLite connection per thread)."""

    def __init__(self, settings: Settings, mailer: ConfirmationMailer | None = None,
                 limiter: AttemptLimiter | None = None) -> None:
        # First of all: a weak secret refuses to start, before anything listens or runs.
        self.signer = settings.signer()
        self.signer.require_strong("serve")
        self.settings = settings
        self.languages = settings.site.languages
        self.default_lang = settings.site.default_language
        self.links = SubscriptionUrls(settings.email.subscription_url)
        self.archive = SiteUrls(settings.site.base_url)
        self.base_path = self.links.path
        self.secure_cookies = self.links.base.startswith("https://")
        templates = settings.path(settings.build.templates_dir)
        self.templates = templates
        self.env = make_environment(templates)
        wording = load_wording(templates, self.languages)
        self.strings = {lang: wording.section(lang, "subscription") for lang in self.languages}
        self.token_max_age = settings.email.token_max_age_days * 86400
        self.cooldown = settings.subscribers.confirmation_cooldown_minutes * 60
        self.csrf = CsrfGuard(self.signer)
        self.limiter = limiter or AttemptLimiter(settings.serve.rate_limit_per_hour, 3600.0)
        self._local = threading.local()
        self._stores: list[SubscriberStore] = []
        self._stores_lock = threading.Lock()
        # The store is opened once here so a broken database fails at start, not per request.
        self.states = self.store().states
        self.mailer = mailer or ConfirmationMailer(settings, self.signer)

    # -- plumbing --------------------------------------------------------------------------

    def store(self) -> SubscriberStore:
        """This thread's store (SQLite connections are not shared between threads)."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = SubscriberStore.open(self.settings)
            self._local.store = store
            with self._stores_lock:
                self._stores.append(store)
        return store

    def close(self, drain_seconds: float | None = None) -> Drained:
        """Send the queued emails for up to `drain_seconds` (default `[serve] drain_seconds`;
        the rest stays queued for the next start) and close every connection."""
        drained = self.mailer.close(drain_seconds)
        with self._stores_lock:
            for store in self._stores:
                store.close()
            self._stores.clear()
        return drained

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request.from_environ(environ, self.base_path)
        try:
            response = self.dispatch(request)
        except sqlite3.OperationalError as exc:
            logger.error("database unavailable: %s", exc)
            response = self.page(503, self.visitor_lang(request), "rate_title", "rate_body")
            response.headers.append(("Retry-After", "30"))
        # The WSGI boundary: whatever went wrong, the visitor gets a page with the security
        # headers (the server's own 500 has none), and the log gets the traceback.
        except Exception:  # noqa: BLE001
            logger.exception("error answering %s %s", request.method, request.path[:80])
            response = Response(500, b"internal error\n", "text/plain; charset=utf-8",
                                [("Cache-Control", "no-store")])
        return response.wsgi(start_response, head=request.method == "HEAD")

    def visitor_lang(self, request: Request) -> str:
        """The configured language the visitor's browser prefers."""
        return negotiate(request.accept_language, self.languages, self.default_lang)

    def reader_lang(self, subscriber: Subscriber) -> str:
        """The language a subscriber's pages are in: theirs, or if the site no longer offers it,
        the first offered language of its fallback chain."""
        return self.settings.reader_language(subscriber.lang)

    def url(self, path: str = "") -> str:
        """A root-relative URL of a path on this app."""
        return self.base_path + path

    # -- routing ---------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        """Route one request to its handler."""
        method = "GET" if request.method == "HEAD" else request.method
        parts = request.path.split("/")
        if request.path == "healthz":
            return self.only(method, "GET", self.health)
        if request.path in ("", "subscribe") and method == "GET":
            return redirect(self.url(f"{self.visitor_lang(request)}/"))
        if request.path == "subscribe":
            return self.only(method, "POST", lambda: self.subscribe(request))
        if len(parts) == 2 and parts[0] in self.languages and parts[1] == "":
            return self.only(method, "GET", lambda: self.form_page(request, parts[0]))
        if request.path in self.languages:
            return redirect(self.url(f"{request.path}/"), 301)
        if len(parts) == 2 and parts[0] == "static" and parts[1] in STATIC_FILES:
            return self.only(method, "GET", lambda: self.static(parts[1]))
        if len(parts) == 2 and parts[0] in ("confirm", "unsubscribe", "language") and parts[1]:
            handlers: dict[str, tuple[Handler, Handler]] = {
                "confirm": (self.confirm_page, self.confirm),
                "unsubscribe": (self.unsubscribe_page, self.unsubscribe),
                "language": (self.language_page, self.change_language),
            }
            show, act = handlers[parts[0]]
            if method == "GET":
                return show(request, parts[1])
            if method == "POST":
                return act(request, parts[1])
            return self.not_allowed("GET, HEAD, POST")
        if len(parts) == 3 and parts[0] == "confirm" and parts[2] == "resend":
            return self.only(method, "POST", lambda: self.resend(request, parts[1]))
        return self.page(404, self.visitor_lang(request), "not_found_title", "not_found_body")

    def only(self, method: str, allowed: str, handler: Callable[[], Response]) -> Response:
        """Run the handler if the method is the allowed one, else 405."""
        if method != allowed:
            return self.not_allowed("GET, HEAD" if allowed == "GET" else allowed)
        return handler()

    def not_allowed(self, allow: str) -> Response:
        """405 with the Allow header."""
        return Response(405, b"method not allowed\n", "text/plain; charset=utf-8",
                        [("Allow", allow)])

    def health(self) -> Response:
        """The proxy's health check: database reachable, migrations current, and how many
        sign-ups and confirmation emails wait in the database's queues."""
        waiting: tuple[int, int] | None = None  # (sign-ups, confirmation emails)
        try:
            store = self.store()
            database = store.database
            reachable = database.reachable()
            version = database.schema_version() if reachable else None
            current = reachable and database.schema_current
            if current:
                counts = store.outbox.counts()
                waiting = counts["sign_ups"], counts["queued"] + counts["sending"]
        except (sqlite3.Error, NewsletterError) as exc:
            logger.error("health check: database unavailable: %s", exc)
            reachable, version, current = False, None, False
        ok = reachable and current
        body = {"status": "ok" if ok else "unavailable", "database": reachable,
                "schema_version": version, "migrations_current": current,
                "confirmation_queue": None if waiting is None else sum(waiting),
                "sign_ups_queued": None if waiting is None else waiting[0],
                "confirmations_queued": None if waiting is None else waiting[1]}
        return Response(200 if ok else 503, (json.dumps(body) + "\n").encode(),
                        "application/json", [("Cache-Control", "no-store")])

    # -- rendering -------------------------------------------------------------------------

    def render(self, template: str, lang: str, status: int = 200, **context: Any) -> Response:
        """A page in `lang`, with the layout's common context."""
        t = self.strings[lang]
        html = self.env.get_template(f"subscribe/{template}").render(
            lang=lang,
            t=t,
            site_title=self.settings.site.title[lang],
            site_description=self.settings.site.description[lang],
            archive_url=self.archive.absolute(SiteUrls.index(lang)),
            postal_address=self.settings.site.postal_address,
            stylesheets=[self.url("static/style.css"), self.url("static/subscribe.css")],
            switcher=context.pop("switcher", []),
            **context,
        )
        headers = [("Cache-Control", "no-store")]
        return Response(status, html.encode("utf-8"), headers=headers)

    def page(self, status: int, lang: str, title: str, body: str, *, action: str | None = None,
             button: str | None = None, link: tuple[str, str] | None = None,
             body_args: dict[str, Any] | None = None) -> Response:
        """A message page: a heading, a paragraph, and optionally a button (POST) or a link."""
        t = self.strings[lang]
        return self.render(
            "message.html", lang, status, title=t[title],
            body=t[body].format(**(body_args or {})), action=action,
            button=t[button] if button else None, link=link,
        )

    def static(self, name: str) -> Response:
        """One of the two stylesheets."""
        path = self.templates / STATIC_FILES[name]
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return Response(404, b"not found\n", "text/plain; charset=utf-8")
        return Response(200, data, "text/css; charset=utf-8",
                        [("Cache-Control", "public, max-age=3600")])

    # -- the subscribe form ----------------------------------------------------------------

    def form_page(self, request: Request, lang: str, status: int = 200,
                  values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                  ) -> Response:
        """The subscribe form in `lang`, with a CSRF cookie and its signed field."""
        cookie = request.cookies.get(CSRF_COOKIE) or ""
        if len(cookie) < 20:
            cookie = CsrfGuard.new_cookie_value()
        response = self.render(
            "form.html", lang, status,
            action=self.url("subscribe"),
            csrf_field=CSRF_FIELD, csrf_value=self.csrf.field_for(cookie),
            honeypot=HONEYPOT_FIELD,
            values=values or {"lang": lang},
            errors=errors or {},
            states=sorted(((s.name(lang), s.code) for s in self.states.values()),
                          key=lambda item: collation_key(item[0])),
            languages=[(code, native_language_name(code)) for code in self.languages],
            switcher=[
                {"lang": code, "name": native_language_name(code), "href": self.url(f"{code}/"),
                 "current": code == lang}
                for code in self.languages
            ],
        )
        attributes = f"Path={self.base_path}; HttpOnly; SameSite=Strict; Max-Age=86400"
        if self.secure_cookies:
            attributes += "; Secure"
        response.headers.append(("Set-Cookie", f"{CSRF_COOKIE}={cookie}; {attributes}"))
        return response

    def subscribe(self, request: Request) -> Response:
        """The form's POST: the same answer for every address, so it reveals no subscriber."""
        form = request.form()
        page_lang = form.get("page_lang", "")
        if page_lang not in self.languages:
            page_lang = self.visitor_lang(request)
        if not self.limiter.allow(request.remote_addr):
            response = self.page(429, page_lang, "rate_title", "rate_body")
            response.headers.append(
                ("Retry-After", str(self.limiter.retry_after(request.remote_addr))))
            return response
        if not self.csrf.valid(request.cookies.get(CSRF_COOKIE), form.get(CSRF_FIELD)):
            return self.page(403, page_lang, "csrf_title", "csrf_body",
                             link=(self.url(f"{page_lang}/"),
                                   self.strings[page_lang]["subscribe_title"]))
        check_inbox = self.page(200, page_lang, "check_title", "check_body")
        if form.get(HONEYPOT_FIELD, "").strip():
            logger.info("honeypot filled: sign-up ignored")
            return check_inbox
        candidate, errors = self.validate_form(form, page_lang)
        if candidate is None:
            # What the visitor typed comes back, but for characters a page must not hold.
            values = {k: printable(form.get(k, "")[:MAX_FIELD])
                      for k in ("email", "name", "organisation", "state", "lang")}
            return self.form_page(request, page_lang, 400, values, errors)
        # The same work for every address, new or known: one insert, decided later.
        self.store().outbox.queue_sign_up(candidate, ip=request.remote_addr)
        self.mailer.wake()
        return check_inbox

    def validate_form(self, form: dict[str, str], page_lang: str,
                      ) -> tuple[NewSubscriber | None, dict[str, str]]:
        """The candidate, or the message for each bad field in the page's language."""
        t = self.strings[page_lang]
        errors: dict[str, str] = {}
        email = ""
        try:
            email = normalise_email(form.get("email", "")[:320])
        except NewsletterError:
            errors["email"] = t["error_email"]
        state = form.get("state", "").strip().upper()
        if state not in self.states:
            errors["state"] = t["error_state"]
        lang = form.get("lang", "").strip().lower()
        if lang not in self.languages:
            errors["lang"] = t["error_lang"]
        texts = {}
        for field in ("name", "organisation"):
            try:
                texts[field] = checked_text(form.get(field, "")[:MAX_FIELD], field)
            except InvalidText:
                errors[field] = t["error_text"]
        if errors:
            return None, errors
        return NewSubscriber(email, texts["name"], texts["organisation"], state, lang), {}

    # -- signed links ----------------------------------------------------------------------

    def subscriber_for(self, purpose: str, token: str, max_age: int | None = None,
                       ) -> Subscriber | None:
        """The subscriber a token names (None if erased); TokenInvalid/TokenExpired otherwise."""
        subscriber_id = self.signer.verify(purpose, token, max_age=max_age)
        return self.store().get(subscriber_id)

    def invalid(self, request: Request, status: int = 400) -> Response:
        """The page for a tampered link, with the way back to the form."""
        lang = self.visitor_lang(request)
        return self.page(status, lang, "invalid_title", "invalid_body",
                         link=(self.url(f"{lang}/"), self.strings[lang]["subscribe_title"]))

    def expired(self, request: Request, token: str) -> Response:
        """The page for an expired confirmation link, with a button asking for a new one."""
        subscriber = None
        try:
            subscriber = self.subscriber_for("confirm", token)
        except TokenInvalid:
            return self.invalid(request)
        lang = self.reader_lang(subscriber) if subscriber else self.visitor_lang(request)
        return self.page(410, lang, "expired_title", "expired_body",
                         action=self.url(f"confirm/{token}/resend"), button="resend_button",
                         body_args={"days": self.settings.email.token_max_age_days})

    def confirm_page(self, request: Request, token: str) -> Response:
        """GET on a confirmation link: a button, never a change (link scanners open links)."""
        try:
            subscriber = self.subscriber_for("confirm", token, self.token_max_age)
        except TokenExpired:
            return self.expired(request, token)
        except TokenInvalid:
            return self.invalid(request)
        if subscriber is None or subscriber.status not in ("pending", "confirmed"):
            return self.invalid(request)
        if subscriber.status == "confirmed":
            return self.page(200, self.reader_lang(subscriber), "confirmed_title", "confirmed_body")
        return self.page(200, self.reader_lang(subscriber), "confirm_title", "confirm_body",
                         action=self.url(f"confirm/{token}"), button="confirm_button")

    def confirm(self, request: Request, token: str) -> Response:
        """POST on a confirmation link: pending becomes confirmed."""
        try:
            subscriber = self.subscriber_for("confirm", token, self.token_max_age)
        except TokenExpired:
            return self.expired(request, token)
        except TokenInvalid:
            return self.invalid(request)
        if subscriber is None:
            return self.invalid(request)
        try:
            subscriber = self.store().confirm(subscriber.id, ip=request.remote_addr)
        except NewsletterError:
            return self.invalid(request)
        return self.page(200, self.reader_lang(subscriber), "confirmed_title", "confirmed_body")

    def resend(self, request: Request, token: str) -> Response:
        """POST from the expired page: mail a fresh link to a still-pending subscriber."""
        try:
            subscriber = self.subscriber_for("confirm", token)
        except TokenInvalid:
            return self.invalid(request)
        lang = self.reader_lang(subscriber) if subscriber else self.visitor_lang(request)
        if not self.limiter.allow(request.remote_addr):
            return self.page(429, lang, "rate_title", "rate_body")
        if subscriber is not None and subscriber.status == "pending" and \
                self.store().outbox.queue(subscriber.id, self.cooldown):
            self.mailer.wake()
        return self.page(200, lang, "check_title", "check_body")

    def unsubscribe_page(self, request: Request, token: str) -> Response:
        """GET on an unsubscribe link: a button, never a change."""
        try:
            subscriber = self.subscriber_for("unsubscribe", token)
        except NewsletterError:
            return self.invalid(request)
        lang = self.reader_lang(subscriber) if subscriber else self.visitor_lang(request)
        if subscriber is None or subscriber.status not in ("pending", "confirmed"):
            return self.page(200, lang, "unsubscribed_title", "unsubscribed_body",
                             link=(self.url(f"{lang}/"), self.strings[lang]["subscribe_again"]))
        return self.page(200, lang, "unsubscribe_title", "unsubscribe_body",
                         action=self.url(f"unsubscribe/{token}"), button="unsubscribe_button")

    def unsubscribe(self, request: Request, token: str) -> Response:
        """POST on an unsubscribe link (button or RFC 8058 one-click): stop at once, 200."""
        try:
            subscriber_id = self.signer.verify("unsubscribe", token)
        except NewsletterError:
            return self.invalid(request)
        one_click = request.body.strip() == ONE_CLICK_BODY
        subscriber = self.store().unsubscribe(
            subscriber_id, "one-click" if one_click else "link", ip=request.remote_addr)
        lang = self.reader_lang(subscriber) if subscriber else self.visitor_lang(request)
        return self.page(200, lang, "unsubscribed_title", "unsubscribed_body",
                         link=(self.url(f"{lang}/"), self.strings[lang]["subscribe_again"]))

    def language_page(self, request: Request, token: str, status: int = 200) -> Response:
        """GET on a change-language link: the languages, the current one chosen."""
        try:
            subscriber = self.subscriber_for("language", token)
        except NewsletterError:
            return self.invalid(request)
        if subscriber is None:
            return self.invalid(request, 404)
        return self.render(
            "language.html", self.reader_lang(subscriber), status,
            action=self.url(f"language/{token}"),
            current=subscriber.lang,
            languages=[(code, native_language_name(code)) for code in self.languages],
        )

    def change_language(self, request: Request, token: str) -> Response:
        """POST on a change-language link: the subscriber's language from now on."""
        try:
            subscriber = self.subscriber_for("language", token)
        except NewsletterError:
            return self.invalid(request)
        if subscriber is None:
            return self.invalid(request, 404)
        lang = request.form().get("lang", "")
        if lang not in self.languages:
            return self.language_page(request, token, 400)
        self.store().change_language(subscriber.id, lang, source="link")
        return self.page(200, lang, "language_changed_title", "language_changed_body")


def printable(text: str) -> str:
    """`text` without the characters a name may not hold (controls, invisible format
    characters, separators), to show back in a form."""
    return "".join(char for char in text if unsafe_character(char) is None)


def collation_key(text: str) -> str:
    """A sort key that files accented letters with their base letter (Canadá before Chile)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def make_app(settings: Settings) -> SubscriptionApp:
    """The WSGI application for these settings (call `.close()` when done)."""
    return SubscriptionApp(settings)
