"""The preview's request handling and watcher, against hostile requests and broken inputs.

Requests go over a raw socket (http.client refuses to send most of them): whatever the path or
query, the answer is a status line — 400 for what no page can be, 404 for what is not there —
and never a dropped connection or a 500. The watcher outlives any failure of the build.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.archive.preview import PreviewServer
from newsletter.cli.editorial import make_preview
from newsletter.settings import Settings


@pytest.fixture
def preview(site_settings: Settings) -> Iterator[PreviewServer]:
    server = make_preview(site_settings, "127.0.0.1", 0, drafts=False, poll=0.05)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def ask(server: PreviewServer, target: bytes, method: bytes = b"GET") -> tuple[int, bytes]:
    """(status, head) of one raw request; only the head is read (an event stream never ends)."""
    host, port = server.httpd.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(method + b" " + target + b" HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            assert chunk, f"the connection was dropped after {data!r} for {target!r}"
            data += chunk
    status_line = data.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1."), status_line
    return int(status_line.split()[1]), data


@pytest.mark.parametrize(("target", "status"), [
    (b"/es/%00", 400), (b"/es/%0a/", 400), (b"/__annaobserva/events?since=abc", 400),
    (b"/__annaobserva/events?since=%00", 400), (b"/__annaobserva/events?since=1e9", 400),
    (b"/es/" + b"a" * 5000 + b"/", 404), (b"/es/%ff%fe/", 404), (b"/_email/%00/es.html", 400),
    (b"/_email/../../etc/passwd", 404), (b"/_email/2011-06/es.exe", 404), (b"/nowhere", 404),
    (b"/es/2011-06/", 200), (b"/es/2011-06", 301), (b"/__annaobserva/events?since=0", 200),
])
def test_hostile_requests_get_a_clean_answer(
    preview: PreviewServer, target: bytes, status: int
) -> None:
    assert ask(preview, target)[0] == status
    assert ask(preview, target, b"HEAD")[0] == status


PATHS = st.one_of(
    st.text(max_size=60).map(lambda t: ("/" + quote(t, safe="/?=&%")).encode()),
    st.binary(max_size=60).map(lambda b: b"/" + b.replace(b" ", b"").replace(b"\r", b"")
                               .replace(b"\n", b"")),
    st.sampled_from(["/es/", "/en/2011-06/", "/__annaobserva/events?since=", "/_email/",
                     "/static/", "/__annaobserva/live.js?x="]).flatmap(
        lambda prefix: st.text(max_size=30).map(lambda t: (prefix + quote(t)).encode())),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(target=PATHS)
def test_no_request_drops_the_connection_or_fails(preview: PreviewServer, target: bytes) -> None:
    status, _ = ask(preview, target)
    assert status in (200, 301, 400, 404), target


def test_the_watcher_outlives_a_build_that_fails_unexpectedly(preview: PreviewServer) -> None:
    real = preview.build
    calls = []

    def explode(settings: Settings) -> Path:
        calls.append(1)
        raise RuntimeError("a bug in a template filter")

    preview.build = explode  # type: ignore[method-assign]
    preview.rebuild()
    assert preview.state.error is not None and "RuntimeError" in preview.state.error
    preview.build = real  # type: ignore[method-assign]
    watcher = preview._threads[1]
    assert watcher.is_alive()
    generation = preview.state.generation
    issues = preview.settings.path("issues") / "2011-06" / "es.md"
    issues.write_text(issues.read_text(encoding="utf-8") + "\nOtra línea.\n", encoding="utf-8")
    with preview.state.changed:  # wait for the watcher's rebuild, not for a time
        assert preview.state.changed.wait_for(lambda: preview.state.generation > generation,
                                              timeout=60)
    assert preview.state.error is None and calls == [1]


def test_a_first_build_that_fails_still_serves_a_page_saying_why(site_settings: Settings) -> None:
    source = site_settings.path("issues") / "2011-06" / "es.md"
    source.write_text(source.read_text(encoding="utf-8").replace("number: 2", "number: [2"),
                      encoding="utf-8")
    server = make_preview(site_settings, "127.0.0.1", 0, drafts=False, poll=0.05)
    server.start()
    try:
        status, head = ask(server, b"/es/")
        assert status == 503
        host, port = server.httpd.server_address[:2]
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(b"GET /es/ HTTP/1.0\r\n\r\n")
            page = b"".join(iter(lambda: sock.recv(65536), b"")).decode()
        assert "issues/2011-06/es.md:3: malformed YAML" in page
        assert '<script src="/__annaobserva/live.js?since=' in page
    finally:
        server.stop()


def fetch(server: PreviewServer, path: str) -> tuple[int, str]:
    """(status, body) of one GET, read whole."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(server.url.rstrip("/") + path, timeout=10) as reply:  # noqa: S310
            return reply.status, reply.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def wait_for_build(server: PreviewServer, generation: int) -> None:
    with server.state.changed:  # wait for the watcher's rebuild, not for a time
        assert server.state.changed.wait_for(lambda: server.state.generation > generation,
                                             timeout=60)


def test_a_changed_settings_file_is_read_again(preview: PreviewServer) -> None:
    config = preview.settings.root / "newsletter.toml"
    original = config.read_text(encoding="utf-8")
    assert fetch(preview, "/fr/")[0] == 200
    # Settings the build cannot use: the error is shown, the last good site is still served.
    generation = preview.state.generation
    config.write_text(original.replace("feed_items = 20", "feed_items = 20\ncolour = 'red'"),
                      encoding="utf-8")
    wait_for_build(preview, generation)
    assert preview.state.error is not None and "unknown key [site] 'colour'" in preview.state.error
    assert fetch(preview, "/es/")[0] == 200
    # Fixed, and French no longer offered, the title changed: the preview follows the file.
    generation = preview.state.generation
    config.write_text(original.replace('languages = ["es", "en", "pt", "fr"]',
                                       'languages = ["es", "en", "pt"]')
                      .replace('es = "ANNAobserva"', 'es = "ANNAobserva (prueba)"'),
                      encoding="utf-8")
    wait_for_build(preview, generation)
    assert preview.state.error is None
    assert preview.settings.site.languages == ("es", "en", "pt")
    assert fetch(preview, "/fr/")[0] == 404
    status, page = fetch(preview, "/es/")
    assert status == 200 and "ANNAobserva (prueba)" in page


def test_email_previews_show_the_local_images_for_every_language(preview: PreviewServer) -> None:
    status, index = fetch(preview, "/_email/")
    assert status == 200
    assert '/_email/2011-03/pt.html">pt HTML</a>' in index and "[the es edition]" in index
    status, html = fetch(preview, "/_email/2011-03/es.html")
    assert status == 200
    host, port = preview.httpd.server_address[:2]
    local = f"http://{host}:{port}/media/2011-03/images/red.svg"
    assert f'src="{local}"' in html
    assert "annaobserva.iin.oea.org/media" not in html
    assert fetch(preview, "/media/2011-03/images/red.svg")[0] == 200
    # A language the issue is not written in: the email its readers get, in their words.
    status, text = fetch(preview, "/_email/2011-03/fr.txt")
    assert status == 200 and "pas encore disponible en français" in text
    assert fetch(preview, "/_email/2011-03/de.html")[0] == 404


def test_ctrl_c_stops_the_preview_whichever_thread_the_kernel_hands_it_to() -> None:
    """The kernel may deliver Ctrl-C's SIGINT to any thread; Python raises KeyboardInterrupt in
    the main thread only, the next time that thread runs. Here the signal goes to a server
    thread (as it once did to the HTTP or build thread in a docs test, and the preview served on):
    the preview's loop still stops and stops the server, within seconds."""
    import subprocess
    import sys

    script = (
        "import signal, threading, time\n"
        "from newsletter.archive.preview import serve_forever\n"
        "class Server:\n"
        "    def start(self):\n"
        "        def ctrl_c():\n"
        "            time.sleep(0.3)\n"
        "            signal.pthread_kill(threading.get_ident(), signal.SIGINT)\n"
        "            time.sleep(30)\n"
        "        threading.Thread(target=ctrl_c, daemon=True).start()\n"
        "    def stop(self):\n"
        "        print('server stopped', flush=True)\n"
        "try:\n"
        "    serve_forever(Server())\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=20, check=False)
    assert done.stdout == "server stopped\ninterrupted\n", done.stderr
