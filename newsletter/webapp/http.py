"""The little HTTP the subscription app needs on top of WSGI: a request, a response, negotiation,
and what waitress is told about the proxy in front of it."""

from __future__ import annotations

import http.client
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from newsletter.settings import ServeSettings

MAX_BODY = 64 * 1024

# Pages carry signed tokens in their URLs: no Referer may leak them, nothing may frame them.
SECURITY_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
     "frame-ancestors 'none'; base-uri 'none'"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
)


@dataclass(frozen=True)
class Request:
    """What a handler needs from the WSGI environ."""

    method: str
    path: str  # relative to the app's base path, without a leading slash
    body: bytes
    remote_addr: str
    accept_language: str
    cookies: dict[str, str]
    content_type: str

    @classmethod
    def from_environ(cls, environ: dict[str, Any], base_path: str) -> Request:
        """Read the request; the path is made relative to `base_path` when it starts with it.

        The client address is REMOTE_ADDR: behind the trusted proxy, waitress has already put the
        visitor's address there (`waitress_options`); from anybody else, X-Forwarded-For is
        cleared before the app sees it.
        """
        path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"
        # PEP 3333 hands the path over as latin-1 decoded bytes.
        path = path.encode("latin-1").decode("utf-8", "replace")
        if path.startswith(base_path):
            path = path[len(base_path):]
        else:
            path = path.lstrip("/")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(min(length, MAX_BODY)) if length > 0 else b""
        cookies: dict[str, str] = {}
        try:
            jar = SimpleCookie(environ.get("HTTP_COOKIE", ""))
            cookies = {k: v.value for k, v in jar.items()}
        except CookieError:
            cookies = {}
        remote = environ.get("REMOTE_ADDR", "") or "unknown"
        return cls(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=path,
            body=body,
            remote_addr=remote,
            accept_language=environ.get("HTTP_ACCEPT_LANGUAGE", ""),
            cookies=cookies,
            content_type=environ.get("CONTENT_TYPE", ""),
        )

    def form(self) -> dict[str, str]:
        """The url-encoded form fields (the first value of each)."""
        if "multipart/form-data" in self.content_type:
            return {}
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}


@dataclass
class Response:
    """A status, headers and a body, given to WSGI's start_response at the edge."""

    status: int
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)

    def wsgi(self, start_response: Any, head: bool = False) -> Iterable[bytes]:
        """Start the response and return its body."""
        reason = http.client.responses.get(self.status, "Unknown")
        headers = [
            ("Content-Type", self.content_type),
            ("Content-Length", str(len(self.body))),
            *SECURITY_HEADERS,
            *self.headers,
        ]
        start_response(f"{self.status} {reason}", headers)
        return [b"" if head else self.body]


def redirect(location: str, status: int = 303) -> Response:
    """A redirect to a path on this app."""
    return Response(status, b"", "text/plain; charset=utf-8", [("Location", location)])


def negotiate(accept_language: str, languages: Sequence[str], default: str) -> str:
    """The configured language the visitor's browser prefers (Accept-Language), or the default."""
    choices: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in languages and quality > 0:
            choices.append((-quality, position, primary))
    return min(choices)[2] if choices else default


def waitress_options(serve: ServeSettings) -> dict[str, Any]:
    """waitress's proxy settings from `[serve]`: X-Forwarded-For (the configured headers) is
    believed only from `trusted_proxy`, `forwarded_hops` entries from the right, and cleared from
    every other peer; with no proxy, it is cleared from everybody."""
    # A form is a few hundred bytes: waitress answers 413 to a bigger body before buffering it
    # (its default, 1 GB, would let anyone fill the disk with one request).
    limits = {"max_request_body_size": MAX_BODY}
    if not serve.trusted_proxy:
        return {**limits, "clear_untrusted_proxy_headers": True}
    return {
        **limits,
        "trusted_proxy": serve.trusted_proxy,
        "trusted_proxy_count": serve.forwarded_hops,
        "trusted_proxy_headers": {h.lower() for h in serve.proxy_headers},
        "clear_untrusted_proxy_headers": True,
    }
