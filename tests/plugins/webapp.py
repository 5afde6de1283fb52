"""The subscription web application served on a real loopback port, per test: in-process on
threaded wsgiref (fast, stops cleanly between tests), or as `publish.py serve` in a process of its
own — the app under waitress exactly as an operator runs it (`ServeProcess`), for what only the
real server shows: the proxy headers waitress believes, SIGTERM and SIGKILL.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import http.client
import mailbox
import re
import signal
import socketserver
import subprocess
import sys
import threading
import wsgiref.simple_server
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode, urlsplit

import pytest

from newsletter.settings import Settings
from newsletter.subscribers.store import SubscriberStore
from newsletter.webapp import SubscriptionApp

from .servers import free_port, wait_for_http

REPO = Path(__file__).resolve().parent.parent.parent


@dataclass
class Reply:
    """One HTTP response, read whole."""

    status: int
    headers: http.client.HTTPMessage
    text: str


def http_request(url: str, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None, source: str | None = None) -> Reply:
    """One request to a path relative to `url` (or an absolute URL), no redirects, from the
    loopback address `source` (127.0.0.2 is another peer than 127.0.0.1)."""
    target = urlsplit(path if path.startswith("http") else url + path)
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=10,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, target.path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read().decode("utf-8"))
    finally:
        conn.close()


class Server(Protocol):
    """Anything a FormSession can talk to."""

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply: ...


@dataclass
class SubscriptionServer:
    """A running app: its public URL (`…/s/`), the app itself and its settings."""

    url: str
    app: SubscriptionApp
    settings: Settings

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        """One request to a path relative to the app's URL (or an absolute URL), no redirects."""
        return http_request(self.url, method, path, body, headers)

    def settle(self) -> None:
        """Wait until the app's mailer has decided every sign-up and sent every due email."""
        self.app.mailer.join()

    def store(self) -> SubscriberStore:
        """A separate connection to the same database: what an operator sees once the app has
        decided the sign-ups so far."""
        self.settle()
        return SubscriberStore.open(self.settings)

    def outbox(self) -> list[EmailMessage]:
        """Every message the app has sent so far (after the mailer has finished)."""
        self.app.mailer.join()
        folder = self.settings.path(self.settings.delivery.outbox_dir)
        box = mailbox.Maildir(str(folder), create=True)
        return [
            email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)  # type: ignore[misc]
            for key in sorted(box.keys(), key=_delivery_order)
        ]

    def confirm_links(self) -> list[str]:
        """The confirmation link of every message in the outbox, in order."""
        links = []
        for message in self.outbox():
            text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            links += re.findall(r"https?://\S+/confirm/\S+", text)
        return links


def _delivery_order(key: str) -> tuple[int, ...]:
    """Maildir keys are `seconds.M<microseconds>P<pid>Q<count>.host`: sort them by time."""
    match = re.match(r"(\d+)\.M(\d+)P(\d+)Q(\d+)", key)
    return tuple(int(g) for g in match.groups()) if match else (0,)


class FormSession:
    """A visitor with a cookie jar of one: loads the form, then posts it."""

    def __init__(self, server: Server, lang: str = "es") -> None:
        self.server = server
        reply = server.request("GET", f"{lang}/")
        assert reply.status == 200
        cookie = reply.headers["Set-Cookie"]
        self.cookie = cookie.split(";")[0]
        match = re.search(r'name="csrf" value="([^"]+)"', reply.text)
        assert match
        self.csrf = match.group(1)
        self.lang = lang

    def post(self, cookie: str | None = "", forwarded_for: str = "", **fields: str) -> Reply:
        """POST the form with these fields (and the session's CSRF field and cookie by default)."""
        data = {"csrf": self.csrf, "page_lang": self.lang, "website": "", **fields}
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for
        cookie = self.cookie if cookie == "" else cookie
        if cookie:
            headers["Cookie"] = cookie
        return self.server.request("POST", "subscribe", urlencode(data).encode(), headers)


class _ThreadingServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        """Access logs would carry signed tokens in their URLs; keep the test output clean."""


def serve(settings: Settings, rate_limit: int = 100, **subscribers: object,
          ) -> Iterator[SubscriptionServer]:
    """Serve the app on a free loopback port (threaded wsgiref); stop it and close the app after.
    `subscribers` replaces `[subscribers]` settings (e.g. the confirmation cooldown)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/s/"
    settings = settings.replace(
        email=dataclasses.replace(settings.email, subscription_url=url),
        serve=dataclasses.replace(settings.serve, rate_limit_per_hour=rate_limit),
        subscribers=dataclasses.replace(settings.subscribers, **subscribers),
    )
    app = SubscriptionApp(settings)
    server = wsgiref.simple_server.make_server(
        "127.0.0.1", port, app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield SubscriptionServer(url, app, settings)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        app.close()


@pytest.fixture
def subscription_server(settings: Settings) -> Iterator[SubscriptionServer]:
    """The subscription app on a real loopback port, over the test project's database."""
    yield from serve(settings)


@pytest.fixture
def serve_app(settings: Settings) -> Iterator[Callable[..., SubscriptionServer]]:
    """A factory for an app with other settings (e.g. a low rate limit); stopped after the test."""
    running: list[Iterator[SubscriptionServer]] = []

    def start(rate_limit: int = 100, **subscribers: object) -> SubscriptionServer:
        gen = serve(settings, rate_limit, **subscribers)
        running.append(gen)
        return next(gen)

    yield start
    for gen in running:
        for _ in gen:
            pass


@dataclass
class Peer:
    """A client of a ServeProcess connecting from one loopback address."""

    url: str
    source: str

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        """One request from this peer's address."""
        return http_request(self.url, method, path, body, headers, self.source)


class ServeProcess:
    """`publish.py serve` for a project, in a process of its own (waitress, signals and all)."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/s/"
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "publish.py"), "--config",
             str(project / "newsletter.toml"), "serve", "--port", str(self.port)],
            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for_http(self.url + "es/")

    def peer(self, source: str = "127.0.0.1") -> Peer:
        """A client connecting from `source`."""
        return Peer(self.url, source)

    def stop(self, how: signal.Signals = signal.SIGTERM, timeout: float = 60,
             ) -> tuple[int, str, str]:
        """Send `how` (SIGTERM, SIGKILL…) and wait: (exit code, stdout, stderr)."""
        self.proc.send_signal(how)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


@pytest.fixture
def serve_process() -> Iterator[Callable[[Path], ServeProcess]]:
    """Start `publish.py serve` for a project; whatever still runs is killed after the test."""
    started: list[ServeProcess] = []

    def start(project: Path) -> ServeProcess:
        process = ServeProcess(project)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.communicate(timeout=30)


__all__ = ["FormSession", "Peer", "Reply", "ServeProcess", "SubscriptionServer"]
