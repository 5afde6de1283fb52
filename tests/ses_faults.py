"""A fault-injecting HTTP proxy in front of moto's server: SES as it misbehaves in production.

moto accepts every call; real SES throttles and sometimes answers too late. The proxy forwards
each request to moto unchanged, except that it can answer some `SendEmail` calls with SES's own
Throttling error (without forwarding: not accepted), or forward one and then sit on the answer
longer than the client's read timeout (accepted, but the client never hears it).
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEND_PATH = "/v2/email/outbound-emails"  # SES v2 SendEmail
THROTTLE_BODY = (
    b'{"__type": "TooManyRequestsException", "message": "Maximum sending rate exceeded."}'
)


class FaultyProxy:
    """Counts SendEmail calls; throttles or stalls the ones it is told to."""

    def __init__(self, target: str) -> None:
        self.target = urllib.parse.urlsplit(target)
        self.lock = threading.Lock()
        self.sends = 0
        self.throttle_every = 0  # throttle every n-th SendEmail call (0 = never)
        self.throttled = 0
        self.stall_next = 0  # forward, then hold the answer past the client's timeout
        self.stall_seconds = 3.0
        self.bodies: list[bytes] = []  # the SendEmail request bodies, as boto3 sent them
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _decide(self, is_send: bool, body: bytes) -> str:
        with self.lock:
            if not is_send:
                return "forward"
            self.sends += 1
            self.bodies.append(body)
            if self.stall_next > 0:
                self.stall_next -= 1
                return "stall"
            if self.throttle_every and self.sends % self.throttle_every == 0:
                self.throttled += 1
                return "throttle"
            return "forward"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length", 0) or 0)
                body = self.rfile.read(length) if length else b""
                is_send = self.command == "POST" and self.path.startswith(SEND_PATH)
                action = proxy._decide(is_send, body)
                if action == "throttle":
                    self.send_response(429)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("x-amzn-ErrorType", "TooManyRequestsException")
                    self.send_header("Content-Length", str(len(THROTTLE_BODY)))
                    self.end_headers()
                    self.wfile.write(THROTTLE_BODY)
                    return
                conn = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port,
                                                  timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(self.command, self.path, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                conn.close()
                if action == "stall":
                    time.sleep(proxy.stall_seconds)
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("content-length", "connection", "transfer-encoding",
                                           "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _any  # noqa: N815

        return Handler


@contextmanager
def faulty_proxy(target: str) -> Iterator[FaultyProxy]:
    """A running FaultyProxy in front of `target`, shut down after."""
    proxy = FaultyProxy(target)
    proxy.thread.start()
    try:
        yield proxy
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()
