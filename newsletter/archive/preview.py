"""`publish.py preview`: serve the built archive on localhost and rebuild it on every change.

A watcher polls `issues/`, `templates/` and `newsletter.toml`; on a change it rebuilds the pages and
tells the open pages, through a server-sent event, to reload; only then does it refresh the search
index, so an edit never waits for it (the search box uses the previous index for those seconds).
A changed `newsletter.toml` is read again first (a new language, title or base URL is previewed as
the build will see it; settings that cannot be read are shown as the build error, and the last
good ones kept). The live-reload script is added to HTML as it is served, never written into the
site, so a previewed `_site/` is byte-identical to a built one. Each issue's email is served too,
under `/_email/`, for the readers of every offered language, with its images and links pointing
at the preview itself.

This module is the watcher and its rebuild loop; `preview_http` answers the requests and
`email_previews` renders the emails.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path

from newsletter.errors import NewsletterError, port_in_use
from newsletter.settings import SETTINGS_FILE, Settings
from newsletter.urls import SiteUrls

from .email_previews import EmailPreviews
from .preview_http import BuildState, PreviewHandler

logger = logging.getLogger(__name__)

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


class PreviewServer:
    """The preview: an HTTP server in a thread plus a watcher that rebuilds on change."""

    def __init__(
        self,
        settings: Settings,
        # build(settings) the pages, build(settings, search=True) the index too
        build: Callable[..., Path],
        host: str = "127.0.0.1",
        port: int = 8000,
        poll_interval: float = 0.3,
        emails: EmailPreviews | None = None,
        site_dir: Path | None = None,
        config: Path | None = None,
        reload: Callable[[], Settings] | None = None,
    ) -> None:
        self.settings = settings
        self.build = build
        self.poll_interval = poll_interval
        self.state = BuildState()
        self.emails = emails
        # The settings file, read again by `reload` when it changes (None: never).
        self.config = config or settings.root / SETTINGS_FILE
        self.reload = reload
        self._use(settings)
        # Taken before the first build, so an edit made while it runs is seen by the watcher.
        self._snapshot = watched_snapshot(self.watched)
        self._config_seen = watched_snapshot([self.config])
        self.site_dir = site_dir or settings.path(settings.build.output_dir)
        # A first build that fails does not stop the preview: it serves what there is (the last
        # site, or a page saying what is wrong) and rebuilds when the sources are fixed. The search
        # index is refreshed after it, by the watcher.
        self._search_due = False
        self.rebuild()
        self.stopping = threading.Event()
        handler = partial(PreviewHandler, preview=self)
        try:
            self.httpd = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            raise port_in_use(host, port, exc) from None
        self.httpd.daemon_threads = True
        self._threads: list[threading.Thread] = []
        if emails is not None:
            emails.local_url = self.url

    def _use(self, settings: Settings) -> None:
        """Preview with these settings from now on: what to watch, where the site lives."""
        self.settings = settings
        self.base_path = SiteUrls(settings.site.base_url).base_path
        self.watched = [
            settings.path(settings.build.issues_dir),
            settings.path(settings.build.templates_dir),
            self.config,
        ]
        if self.emails is not None:
            self.emails.settings = settings
            if getattr(self, "httpd", None) is not None:
                self.emails.local_url = self.url

    def reload_settings(self) -> bool:
        """Read the settings file again (it changed); False, with the error shown on every page,
        if it cannot be read: the preview goes on with the last good settings."""
        if self.reload is None:
            return True
        try:
            settings = self.reload()
        except NewsletterError as exc:
            logger.warning("preview: the settings cannot be read: %s", exc)
            self.state.publish(str(exc))
            return False
        self._use(settings)
        logger.info("preview: %s read again", self.config.name)
        return True

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
        self.stopping.set()
        self.state.publish(self.state.error)  # wake event streams so their threads end
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def rebuild(self) -> None:
        """Rebuild the pages now; on failure keep serving the previous site and show the
        error. The search index is refreshed after (`refresh_search`)."""
        try:
            self.site_dir = self.build(self.settings)  # the pages only: the index comes after
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
            self.build(self.settings, search=True)
        except NewsletterError as exc:
            logger.warning("preview search index failed: %s", exc)
        except Exception:  # noqa: BLE001 - the preview outlives any input; the log has it
            logger.exception("preview search index failed unexpectedly")

    def _watch(self) -> None:
        while not self.stopping.is_set():
            if self._search_due:
                self.refresh_search()
            if self.stopping.wait(self.poll_interval):
                return
            try:
                now = watched_snapshot(self.watched)
            except OSError as exc:  # a folder replaced while it was listed: look again
                logger.info("watching: %s", exc)
                continue
            if now != self._snapshot:
                self._snapshot = now
                config = watched_snapshot([self.config])
                if config != self._config_seen:
                    self._config_seen = config
                    if not self.reload_settings():
                        continue
                    self._snapshot = watched_snapshot(self.watched)  # the folders may have moved
                self.rebuild()


def serve_forever(server: PreviewServer) -> None:
    """Run until interrupted (the CLI's Ctrl-C).

    The main thread wakes every fifth of a second: Python runs a signal's handler (Ctrl-C's
    KeyboardInterrupt) in the main thread, the next time it runs, and when the kernel hands the
    signal to another thread (the HTTP server's, a build's), a main thread asleep for an hour
    would not notice it for an hour."""
    server.start()
    try:
        while True:
            time.sleep(0.2)
    finally:
        server.stop()


def today() -> dt.date:
    """The edge's wall clock: only the CLI and the preview call it."""
    return dt.date.today()
