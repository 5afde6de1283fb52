"""A built site served over HTTP by the standard library's http.server, on a free loopback port,
the way a static host (S3) serves it: files as they are, with the deploy's content types and an
optional Content-Security-Policy header (the one the archive's pages are written to work under).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsletter.archive.deploy import content_type

# What the archive needs from a Content-Security-Policy: its own scripts, and Pagefind's
# WebAssembly. No inline script, no eval.
ARCHIVE_CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
               "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'")


class _StaticHandler(SimpleHTTPRequestHandler):
    def __init__(self, *args, csp: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
        self.csp = csp
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def guess_type(self, path: str) -> str:  # type: ignore[override]
        with open(path, "rb") as fh:
            head = fh.read(1024)
        return content_type(str(path), head)

    def end_headers(self) -> None:
        if self.csp:
            self.send_header("Content-Security-Policy", self.csp)
        super().end_headers()


@dataclass
class StaticSite:
    """A running server: the URL of the site's root, ending in /."""

    url: str
    folder: Path


@pytest.fixture
def serve_site() -> Iterator[Callable[..., StaticSite]]:
    """Start serving a folder: `serve_site(folder, csp=ARCHIVE_CSP)`; stopped after the test."""
    servers: list[ThreadingHTTPServer] = []

    def start(folder: Path, csp: str = ARCHIVE_CSP) -> StaticSite:
        handler = partial(_StaticHandler, directory=str(folder), csp=csp)
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)  # the system picks a free port
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        host, port = httpd.server_address[:2]
        return StaticSite(f"http://{host}:{port}/", folder)

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()
