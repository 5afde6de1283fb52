"""A real SMTP server for tests: aiosmtpd on a free loopback port that records what it accepts.

The server can be told to misbehave the way real relays do: answer a recipient with a 4xx or 5xx
code (`answer`), drop the connection right after accepting a message's data, before its reply
(`drop_after_data`, the "outcome unknown" case), drop every open connection between messages
(`drop_connections`), or take its time over each message (`delay`).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import subprocess
import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.plugins.servers import free_port


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    def parsed(self) -> EmailMessage:
        """The message parsed back with the modern policy."""
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        """The Message-ID header, read without parsing the body."""
        head = self.data.split(b"\r\n\r\n", 1)[0]
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                return line.split(b":", 1)[1].strip().decode()
        return ""


class RecordingHandler:
    """aiosmtpd handler: records accepted messages, answers with scripted codes when told."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.rcpt_answers: dict[str, deque[str]] = defaultdict(deque)
        self.data_drops = 0
        self.sessions: set[Any] = set()
        self.record = True
        self.count = 0
        self.delay = 0.0  # seconds to sit on each message before answering (a slow relay)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802, ANN001
        """Accept the recipient unless an answer was scripted for it."""
        self.sessions.add(server)
        with self.lock:
            queue = self.rcpt_answers.get(address.lower())
            if queue:
                answer = queue.popleft()
                if answer.startswith(("4", "5")):
                    return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001
        """Record the message; drop the connection instead of answering when told."""
        with self.lock:
            self.count += 1
            number = self.count
            if self.record:
                self.received.append(
                    Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content)
                )
            drop = self.data_drops > 0
            if drop:
                self.data_drops -= 1
            delay = self.delay
        if delay:
            await asyncio.sleep(delay)
        if drop:
            server.transport.abort()
            return "421 4.4.2 gone"
        return f"250 2.0.0 Ok: queued as TEST{number:08d}"


class SmtpServer:
    """The running server: its address, what it received, and knobs to make it misbehave."""

    def __init__(self, controller: Controller, handler: RecordingHandler, port: int) -> None:
        self.controller = controller
        self.handler = handler
        self.host = "127.0.0.1"
        self.port = port

    @property
    def received(self) -> list[Received]:
        """A snapshot of the messages accepted so far."""
        with self.handler.lock:
            return list(self.handler.received)

    @property
    def accepted(self) -> int:
        """How many messages were accepted (also when not recorded)."""
        with self.handler.lock:
            return self.handler.count

    def answer(self, address: str, *answers: str) -> None:
        """Answer the next RCPT TO for `address` with these replies, in order, then accept."""
        with self.handler.lock:
            self.handler.rcpt_answers[address.lower()].extend(answers)

    def drop_after_data(self, times: int = 1) -> None:
        """Accept the next `times` messages, then drop the connection instead of replying."""
        with self.handler.lock:
            self.handler.data_drops += times

    def drop_connections(self) -> None:
        """Close every open client connection (a relay restarting between messages)."""
        loop = self.controller.loop
        for session in list(self.handler.sessions):
            transport = getattr(session, "transport", None)
            if transport is not None:
                loop.call_soon_threadsafe(transport.abort)
        self.handler.sessions.clear()


def start_smtp_server(record: bool = True) -> SmtpServer:
    """Start aiosmtpd on a free port in a background thread."""
    handler = RecordingHandler()
    handler.record = record
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, data_size_limit=0)
    controller.start()
    return SmtpServer(controller, handler, port)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """aiosmtpd on a free loopback port, stopped after the test."""
    server = start_smtp_server()
    try:
        yield server
    finally:
        server.controller.stop()


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), as (cert, key)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_smtp_servers(tmp_path: Path) -> Iterator[tuple[Path, SmtpServer, SmtpServer]]:
    """(CA file, a STARTTLS server, an implicit-TLS server), both with the same certificate."""
    cert, key = make_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    servers = []
    for kwargs in ({"tls_context": context, "require_starttls": True},
                   {"server_kwargs": {}, "ssl_context": context}):
        handler = RecordingHandler()
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
        servers.append(SmtpServer(controller, handler, port))
    try:
        yield cert, servers[0], servers[1]
    finally:
        for server in servers:
            server.controller.stop()
