"""The preview's HTTP side: the site served under its base path with the live-reload script added
to every HTML page as it is served (never written into the site), the server-sent events that
tell open pages to reload or show a failed build, and each issue's email under `/_email/`.

The handler knows the preview only through `Served` (the site folder, base path, build state,
email previews and the stop signal), so this module does not import the watcher's.
"""

from __future__ import annotations

import html
import json
import logging
import re
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

from newsletter.errors import NewsletterError

if TYPE_CHECKING:
    from .email_previews import EmailPreviews

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


class Served(Protocol):
    """What the handler needs of the preview that serves it."""

    site_dir: Path  # the folder of the site being served now (a changed setting can move it)
    base_path: str
    state: BuildState
    emails: EmailPreviews | None
    stopping: threading.Event


class PreviewHandler(SimpleHTTPRequestHandler):
    """Serves the site under its base path, the live-reload script, events and email previews."""

    def __init__(  # type: ignore[no-untyped-def]
        self, *args, preview: Served, **kwargs
    ) -> None:
        self.preview = preview
        self.emails = preview.emails
        # The folder of the site being served now (a changed setting can move it).
        super().__init__(*args, directory=str(preview.site_dir), **kwargs)

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
        state, stop = self.preview.state, self.preview.stopping
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
