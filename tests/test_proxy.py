"""Behind the HTTPS proxy: `serve` (waitress itself, in its own process) believes X-Forwarded-For
from the trusted proxy only, so the per-address rate limit and the consent record see the visitor;
from any other peer the header is ignored. And the `[serve]` proxy settings are checked."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from newsletter.errors import SettingsError
from newsletter.settings import load_settings
from newsletter.subscribers import SubscriberStore
from newsletter.webapp import waitress_options
from tests.plugins.webapp import FormSession, ServeProcess

pytestmark = pytest.mark.server

FORM = {"name": "Ana Pérez", "organisation": "INAU", "state": "UY", "lang": "es"}


def configure(project: Path, serve: str) -> Path:
    config = project / "newsletter.toml"
    config.write_text(config.read_text(encoding="utf-8") + f"\n[serve]\n{serve}", encoding="utf-8")
    return config


def request_ips(project: Path) -> dict[str, str | None]:
    with SubscriberStore.open(load_settings(project / "newsletter.toml")) as store:
        return {s.email: s.request_ip for s in store.iter_subscribers()}


def test_the_rate_limit_and_consent_ip_see_the_visitor_through_waitress(
    project: Path, serve_process: Callable[[Path], ServeProcess]
) -> None:
    configure(project, 'trusted_proxy = "127.0.0.1"\nforwarded_hops = 1\n'
                       "rate_limit_per_hour = 2\n")
    server = serve_process(project)
    proxy = FormSession(server.peer("127.0.0.1"))  # the proxy: waitress believes it
    # A forged left-hand entry does not matter: the proxy's own (rightmost) entry counts.
    for n in range(2):
        reply = proxy.post(forwarded_for=f"203.0.113.{n}, 198.51.100.7",
                           **FORM, email=f"a{n}@gov.uy")
        assert reply.status == 200
    assert proxy.post(forwarded_for="198.51.100.7", **FORM, email="a9@gov.uy").status == 429
    # Another visitor behind the same proxy has a limit of their own.
    assert proxy.post(forwarded_for="198.51.100.8", **FORM, email="b@gov.uy").status == 200

    # A peer that is not the proxy cannot choose its address with the header.
    direct = FormSession(server.peer("127.0.0.2"))
    for n in range(2):
        reply = direct.post(forwarded_for=f"192.0.2.{n}", **FORM, email=f"c{n}@gov.uy")
        assert reply.status == 200
    assert direct.post(forwarded_for="192.0.2.9", **FORM, email="c9@gov.uy").status == 429

    code, out, _ = server.stop(signal.SIGTERM)
    assert code == 0 and "stopped:" in out
    assert request_ips(project) == {
        "a0@gov.uy": "198.51.100.7", "a1@gov.uy": "198.51.100.7", "b@gov.uy": "198.51.100.8",
        "c0@gov.uy": "127.0.0.2", "c1@gov.uy": "127.0.0.2",
    }


def test_without_a_proxy_nobody_chooses_their_address(
    project: Path, serve_process: Callable[[Path], ServeProcess]
) -> None:
    configure(project, "rate_limit_per_hour = 1\n")
    server = serve_process(project)
    visitor = FormSession(server.peer("127.0.0.1"))
    assert visitor.post(forwarded_for="192.0.2.1", **FORM, email="d@gov.uy").status == 200
    assert visitor.post(forwarded_for="192.0.2.2", **FORM, email="e@gov.uy").status == 429
    server.stop(signal.SIGTERM)
    assert request_ips(project) == {"d@gov.uy": "127.0.0.1"}


@pytest.mark.parametrize(("serve", "message"), [
    ("forwarded_hops = 1\n", "[serve] forwarded_hops = 1 needs [serve] trusted_proxy, the address "
     "the proxy connects from (e.g. \"127.0.0.1\"): waitress removes X-Forwarded-For from every "
     "other peer"),
    ('trusted_proxy = "proxy.example"\nforwarded_hops = 1\n', "[serve] trusted_proxy must be the "
     "IP address the proxy connects from, or \"*\", not 'proxy.example'"),
    ('trusted_proxy = "10.0.0.2"\n', "[serve] trusted_proxy is set but forwarded_hops is 0: set "
     "it to the number of proxies that append to X-Forwarded-For (1 for one)"),
    ('trusted_proxy = "10.0.0.2"\nforwarded_hops = 1\nproxy_headers = ["x-forwarded-proto"]\n',
     "[serve] proxy_headers must include x-forwarded-for (or forwarded): it says who the visitor "
     "is"),
])
def test_proxy_settings_are_checked(project: Path, serve: str, message: str) -> None:
    config = configure(project, serve)
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    assert str(caught.value) == f"{config}: {message}"


def test_what_waitress_is_told(project: Path) -> None:
    config = configure(project, 'trusted_proxy = "10.0.0.2"\nforwarded_hops = 2\n')
    assert waitress_options(load_settings(config).serve) == {
        "max_request_body_size": 64 * 1024,
        "trusted_proxy": "10.0.0.2", "trusted_proxy_count": 2,
        "trusted_proxy_headers": {"x-forwarded-for"}, "clear_untrusted_proxy_headers": True,
    }


def test_a_body_bigger_than_any_form_is_refused_by_waitress_before_it_is_buffered(
    project: Path, serve_process: Callable[[Path], ServeProcess]
) -> None:
    server = serve_process(project)
    visitor = FormSession(server.peer("127.0.0.1"))
    assert visitor.post(**FORM, email="f@gov.uy").status == 200
    # Only the headers are sent: waitress answers from the declared length, before any body (a
    # client still sending would meet the closed connection, as a real attacker's does).
    declared = 2 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        connection.sendall(
            b"POST /s/es/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {declared}\r\n\r\n".encode() + b"email=x")
        with connection.makefile("rb") as reply:
            status_line = reply.readline()
    assert status_line.split()[1] == b"413", status_line
    server.stop(signal.SIGTERM)
    assert list(request_ips(project)) == ["f@gov.uy"]
