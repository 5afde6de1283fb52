"""`publish.py preview`: serve the built archive on localhost and rebuild it on every change.

A watcher polls `issues/`, `templates/` and `newsletter.toml`; on a change it rebuilds the pages and
tells the open pages, through a server-sent event, to reload; only then does it refresh the search
index, so an edit never waits for it (the search box uses the previous index for those seconds).
The live-reload script is added to HTML as it is served, never written into the site, so a
previewed `_site/` is byte-identical to a built one.
Each issue's email edition is served too, under `/_email/`.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from newsletter.errors import NewsletterError, port_in_use
from newsletter.settings import Settings
from newsletter.urls import SiteUrls

if TYPE_CHECKING:
    from newsletter.content import Corpus

logger = logging.getLogger(__name__)

LIVE_RELOAD_PATH = "/__annaobserva/live.js"
EVENTS_PATH = "/__annaobserva/events"
# The script is loaded from the site's own origin, with the build it was served at in its URL: the
# archive's Content-Security-Policy allows same-origin scripts only, so nothing is inlined, and the
# banner is styled property by property (the policy refuses `style.cssText` and style attributes).
LIVE_RELOAD_JS = b"""(function () {
  var script = document.currentScript;
  var since = new URL(script.src).searchParams.get("since") || "0";
  var source = new EventSource("/__annaobserva/events?since=" + encodeURIComponent(since));
  source.addEventListener("open", function () {
    document.documentElement.setAttribute("data-annaobserva-live", "connected");
  });
  source.addEventListener("reload", function () { window.location.reload(); });
  source.addEventListener("failed", function (event) {
    var box = document.getElementById("annaobserva-build-error") || document.createElement("pre");
    var look = {position: "fixed", left: "0", right: "0", bottom: "0", margin: "0",
      padding: "1em", maxHeight: "50vh", overflow: "auto", background: "#7a0000",
      color: "#fff", font: "14px/1.4 monospace", zIndex: "9999", whiteSpace: "pre-wrap"};
    box.id = "annaobserva-build-error";
    box.setAttribute("role", "alert");
    for (var name in look) { box.style[name] = look[name]; }
    box.textContent = JSON.parse(event.data);
    document.body.appendChild(box);
  });
})();
"""
# What a page can ask for: anything else in a path or query is answered 400, not passed to the
# file system (a NUL byte there is an exception in os.stat, not a missing file).
_UNSERVABLE = re.compile(r"[\x00-\x1f\x7f]")


def watched_snapshot(paths: list[Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime, size) of every file under the watched paths: changes when any file does."""
    entries: list[tuple[str, int, int]] = []
    for root in paths:
        if root.is_file():
            candidates = [root]
        else:
            candidates = sorted(root.rglob("*")) if root.is_dir() else []
        for path in candidates:
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file():
                entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


class EmailPreviews:
    """Each issue's email edition per language, rendered on request for a sample subscriber."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _corpus(self) -> Corpus:
        from newsletter.content import load_corpus

        return load_corpus(self.settings)

    def index(self) -> str:
        """An HTML list of every issue's email editions (drafts included: they are previews)."""
        rows = []
        for issue in self._corpus().issues:
            links = " · ".join(
                f'<a href="/_email/{issue.slug}/{lang}.html">{lang} HTML</a> '
                f'(<a href="/_email/{issue.slug}/{lang}.txt">text</a>)'
                for lang in issue.languages
            )
            title = html.escape(next(iter(issue.editions.values())).title)
            rows.append(f"<li><strong>{issue.slug}</strong> — {title}: {links}</li>")
        return ("<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\">"
                "<title>Email editions</title><h1>Email editions</h1><ul>"
                + "".join(rows) + "</ul></html>")

    def render(self, slug: str, lang: str, kind: str) -> tuple[str, str] | None:
        """(body, content type) of one edition's HTML or text, or None if there is none."""
        from newsletter.mail import render_email_preview

        issue = self._corpus().find(slug)
        if issue is None or lang not in issue.editions or kind not in ("html", "txt"):
            return None
        html_part, text_part = render_email_preview(self.settings, issue, lang)
        if kind == "html":
            return html_part, "text/html; charset=utf-8"
        return text_part, "text/plain; charset=utf-8"


class BuildState:
    """The current build generation and its error, shared by the watcher and the handlers."""

    def __init__(self) -> None:
        self.generation = 0
        self.error: str | None = None
        self.changed = threading.Condition()

    def publish(self, error: str | None) -> None:
        """Record a finished (or failed) build and wake every waiting page."""
        with self.changed:
            self.generation += 1
            self.error = error
            self.changed.notify_all()


class PreviewServer:
    """The preview: an HTTP server in a thread plus a watcher that rebuilds on change."""

    def __init__(
        self,
        settings: Settings,
        build: Callable[..., Path],  # build() the pages, build(search=True) the index too
        host: str = "127.0.0.1",
        port: int = 8000,
        poll_interval: float = 0.3,
        emails: EmailPreviews | None = None,
        site_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.build = build
        self.poll_interval = poll_interval
        self.state = BuildState()
        self.base_path = SiteUrls(settings.site.base_url).base_path
        self.watched = [
            settings.path(settings.build.issues_dir),
            settings.path(settings.build.templates_dir),
            settings.root / "newsletter.toml",
        ]
        # Taken before the first build, so an edit made while it runs is seen by the watcher.
        self._snapshot = watched_snapshot(self.watched)
        self.site_dir = site_dir or settings.path(settings.build.output_dir)
        # A first build that fails does not stop the preview: it serves what there is (the last
        # site, or a page saying what is wrong) and rebuilds when the sources are fixed. The search
        # index is refreshed after it, by the watcher.
        self._search_due = False
        self.rebuild()
        self._stop = threading.Event()
        handler = partial(
            _Handler, preview=self, directory=str(self.site_dir), emails=emails
        )
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise port_in_use(host, port, exc) from None
        self.httpd.daemon_threads = True
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        """The address to open in a browser."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{self.base_path}"

    def start(self) -> None:
        """Serve and watch in background threads."""
        serve = threading.Thread(target=self.httpd.serve_forever, name="preview-http", daemon=True)
        watch = threading.Thread(target=self._watch, name="preview-watch", daemon=True)
        self._threads = [serve, watch]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop serving and watching."""
        self._stop.set()
        self.state.publish(self.state.error)  # wake event streams so their threads end
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def rebuild(self) -> None:
        """Rebuild the pages now; on failure keep serving the previous site and show the
        error. The search index is refreshed after (`refresh_search`)."""
        try:
            self.site_dir = self.build()  # the pages only: the index comes after
        except NewsletterError as exc:
            logger.warning("preview build failed: %s", exc)
            self.state.publish(str(exc))
        except Exception as exc:  # noqa: BLE001 - the preview outlives any input; the log has it
            logger.exception("preview build failed unexpectedly")
            self.state.publish(f"the build failed unexpectedly ({type(exc).__name__}: {exc}); "
                               "the terminal shows the details")
        else:
            self.state.publish(None)
            self._search_due = True

    def refresh_search(self) -> None:
        """Bring the search index up to date with the pages being served (the pages are not
        rebuilt: they are current, so only the index is)."""
        self._search_due = False
        try:
            self.build(search=True)
        except NewsletterError as exc:
            logger.warning("preview search index failed: %s", exc)
        except Exception:  # noqa: BLE001 - the preview outlives any input; the log has it
            logger.exception("preview search index failed unexpectedly")

    def _watch(self) -> None:
        while not self._stop.is_set():
            if self._search_due:
                self.refresh_search()
            if self._stop.wait(self.poll_interval):
                return
            try:
                now = watched_snapshot(self.watched)
            except OSError as exc:  # a folder replaced while it was listed: look again
                logger.info("watching: %s", exc)
                continue
            if now != self._snapshot:
                self._snapshot = now
                self.rebuild()


class _Handler(SimpleHTTPRequestHandler):
    """Serves the site under its base path, the live-reload script, events and email previews."""

    def __init__(  # type: ignore[no-untyped-def]
        self, *args, preview: PreviewServer, emails: EmailPreviews | None, **kwargs
    ) -> None:
        self.preview = preview
        self.emails = emails
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        logger.info("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self._answer(body=False)

    def _answer(self, body: bool) -> None:
        """Route one request; whatever it asks, the answer is a status line, never a dropped
        connection."""
        self._body = body
        self._headers_sent = False
        try:
            self._route()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away
        except Exception:  # noqa: BLE001 - one bad request must not cost the preview its answer
            logger.exception("preview: %s failed", self.path[:200])
            self._fail(HTTPStatus.INTERNAL_SERVER_ERROR, "the preview failed on this request; "
                       "the terminal shows why")

    def _fail(self, status: HTTPStatus, message: str) -> None:
        if getattr(self, "_headers_sent", False):
            return
        self.send_error(status, message)

    def end_headers(self) -> None:
        self._headers_sent = True
        super().end_headers()

    def _route(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        if _UNSERVABLE.search(path) or _UNSERVABLE.search(unquote(parts.query)):
            self._fail(HTTPStatus.BAD_REQUEST, "control characters are not part of any page")
            return
        if path == LIVE_RELOAD_PATH:
            self._send(LIVE_RELOAD_JS, "text/javascript; charset=utf-8")
            return
        if path == EVENTS_PATH:
            self._events(parts.query)
            return
        if path == "/_email/" or path.startswith("/_email/"):
            self._email(path)
            return
        base = self.preview.base_path
        if not path.startswith(base):
            self._fail(HTTPStatus.NOT_FOUND, f"the site lives under {base}")
            return
        local = "/" + path[len(base):]
        try:
            target = Path(self.translate_path(local))
            if target.is_dir():
                if not local.endswith("/"):
                    self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                    self.send_header("Location", path + "/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                target = target / "index.html"
            exists = target.is_file()
        except (OSError, ValueError):  # a name too long for the file system, say
            self._fail(HTTPStatus.NOT_FOUND, "no such page")
            return
        if not exists and self.preview.state.error is not None:
            self._send(self._error_page(), "text/html; charset=utf-8",
                       HTTPStatus.SERVICE_UNAVAILABLE)
            return
        if target.suffix == ".html" and exists:
            page = target.read_bytes()
            self._send(page.replace(b"</head>", self._reload_tag() + b"</head>", 1),
                       "text/html; charset=utf-8")
            return
        self.path = local
        if self._body:
            super().do_GET()
        else:
            super().do_HEAD()

    def _reload_tag(self) -> bytes:
        return (f'<script src="{LIVE_RELOAD_PATH}?since={self.preview.state.generation}">'
                "</script>").encode()

    def _error_page(self) -> bytes:
        """What a page the last build could not write shows: the error, and live reload."""
        error = html.escape(self.preview.state.error or "")
        return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                "<title>The preview build failed</title>" + self._reload_tag().decode() +
                "</head><body><h1>The preview build failed</h1><pre>" + error + "</pre>"
                "<p>Fix it and this page reloads.</p></body></html>").encode()

    def guess_type(self, path: str) -> str:  # type: ignore[override]
        if str(path).endswith(".xml"):
            if "feed" in str(path):
                return "application/rss+xml; charset=utf-8"
            return "application/xml"
        return super().guess_type(path)

    def _send(self, body: bytes, content_type: str, status: int = HTTPStatus.OK) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self._body:
            self.wfile.write(body)

    def _events(self, query: str) -> None:
        """A server-sent event stream: `failed` (with the error) whenever a build fails, and at
        once if the last one did; `reload` when a build after the page's own succeeds."""
        from urllib.parse import parse_qs

        values = parse_qs(query).get("since") or ["0"]
        try:
            since = int(values[0] or 0)
        except ValueError:
            self._fail(HTTPStatus.BAD_REQUEST, "since must be a build number")
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not self._body:
            return
        state, stop = self.preview.state, self.preview._stop
        self.wfile.write(b": connected\n\n")
        with state.changed:
            error = state.error
        if error is not None:
            self._event("failed", json.dumps(error))
        self.wfile.flush()
        while not stop.is_set():
            with state.changed:
                if state.generation <= since:
                    state.changed.wait(timeout=15)
                generation, error = state.generation, state.error
            if stop.is_set():
                return
            if generation <= since:
                self.wfile.write(b": keep-alive\n\n")
            elif error is not None:
                self._event("failed", json.dumps(error))
            else:
                self._event("reload", str(generation))
            since = max(since, generation)
            self.wfile.flush()

    def _event(self, name: str, data: str) -> None:
        self.wfile.write(f"event: {name}\ndata: {data}\n\n".encode())

    def _email(self, path: str) -> None:
        if self.emails is None:
            self._fail(HTTPStatus.NOT_FOUND, "email previews are not available")
            return
        parts = [p for p in path.split("/") if p][1:]
        if not parts:
            self._send(self.emails.index().encode("utf-8"), "text/html; charset=utf-8")
            return
        if len(parts) == 2 and "." in parts[1]:
            slug, name = parts
            lang, _, kind = name.partition(".")
            try:
                result = self.emails.render(slug, lang, kind)
            except NewsletterError as exc:
                self._send(str(exc).encode(), "text/plain; charset=utf-8",
                           HTTPStatus.UNPROCESSABLE_ENTITY)
                return
            if result is not None:
                body, content_type = result
                self._send(body.encode("utf-8"), content_type)
                return
        self._fail(HTTPStatus.NOT_FOUND, "use /_email/<issue>/<lang>.html or .txt")


def serve_forever(server: PreviewServer) -> None:
    """Run until interrupted (the CLI's Ctrl-C)."""
    server.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        server.stop()


def today() -> dt.date:
    """The edge's wall clock: only the CLI and the preview call it."""
    return dt.date.today()
