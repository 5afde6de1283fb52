"""The signing secret: `serve` and every transport but the outbox refuse an empty one, the demo
value and one shorter than 32 bytes, in one `Error:` line that says how to make one, before
anything is written or sent; the demo keeps working on the outbox with no secret at all."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.delivery import Ledger, SendOptions, run_send
from newsletter.errors import SettingsError
from newsletter.mail import open_transport, render_email_editions
from newsletter.settings import load_settings
from newsletter.subscribers import SubscriberStore
from newsletter.tokens import DEMO_SECRET, Signer, WeakSecret, secret_weakness
from tests.delivery_support import add_subscribers, load_issue, outbox_messages
from tests.plugins.servers import free_port
from tests.plugins.smtp_server import SmtpServer

MAKE_ONE = ('make one with `python -c "import secrets; print(secrets.token_urlsafe(48))"` and '
            "put it in ANNAOBSERVA_SECRET")
WEAK = {
    "empty": ("", "ANNAOBSERVA_SECRET is not set"),
    "demo": (DEMO_SECRET, "ANNAOBSERVA_SECRET is the demo value from the repository, which "
             "anybody can read"),
    "short": ("x" * 31, "ANNAOBSERVA_SECRET is 31 bytes long, shorter than 32"),
}


def run(project: Path, *argv: str) -> int:
    return main(["--config", str(project / "newsletter.toml"), *argv])


def with_smtp(project: Path, server: SmtpServer, transport: str = "outbox") -> None:
    """The project's [smtp] pointed at the test server (and [delivery] transport set)."""
    config = project / "newsletter.toml"
    text = config.read_text(encoding="utf-8").replace(
        'transport = "outbox"', f'transport = "{transport}"')
    text += f'\n[smtp]\nhost = "{server.host}"\nport = {server.port}\nsecurity = "none"\n'
    config.write_text(text, encoding="utf-8")


@pytest.fixture(params=sorted(WEAK))
def weak(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A weak ANNAOBSERVA_SECRET in the environment; the reason it is refused."""
    value, reason = WEAK[request.param]
    if value:
        monkeypatch.setenv("ANNAOBSERVA_SECRET", value)
    else:
        monkeypatch.delenv("ANNAOBSERVA_SECRET")
    return reason


def one_error_line(err: str, use: str, reason: str) -> None:
    assert err.splitlines() == [
        f"Error: {reason}: {use} signs subscriber links and needs a secret of at least 32 "
        f"random bytes kept out of the repository; {MAKE_ONE}"]


def test_the_rule_judged_once_where_the_secret_enters() -> None:
    for value, reason in WEAK.values():
        assert secret_weakness(value) == reason
    assert secret_weakness("y" * 32) is None and secret_weakness("ü" * 16) is None  # bytes
    assert secret_weakness(f" {DEMO_SECRET}\n") is not None
    local = Signer.from_configured("")  # no secret: the demo value signs what stays here
    assert not local.strong and local.weakness == "ANNAOBSERVA_SECRET is not set"
    assert local.verify("confirm", Signer(DEMO_SECRET).sign("confirm", 7)) == 7
    with pytest.raises(WeakSecret, match="^ANNAOBSERVA_SECRET is not set: serve signs"):
        local.require_strong("serve")
    assert issubclass(WeakSecret, SettingsError)


def test_serve_refuses_a_weak_secret_before_it_listens(
    project: Path, weak: str, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    assert run(project, "serve", "--port", str(port)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    one_error_line(captured.err, "serve", weak)
    with socket.socket() as probe:  # nothing took the port
        probe.bind(("127.0.0.1", port))
    assert not (project / "subscribers" / "subscribers.db").exists()


@pytest.mark.server
@pytest.mark.parametrize("argv", [
    ["send", "2011-07"], ["send", "2011-07", "--to", "me@example.org"], ["send", "--due"],
])
def test_send_through_smtp_refuses_a_weak_secret_and_touches_nothing(
    project: Path, smtp_server: SmtpServer, weak: str, argv: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with_smtp(project, smtp_server)
    settings = load_settings(project / "newsletter.toml")
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 3)
    assert run(project, *argv, "--transport", "smtp") == 1
    one_error_line(capsys.readouterr().err, "sending through smtp", weak)
    assert smtp_server.received == []
    with SubscriberStore.open(settings) as store:
        ledger = Ledger.beside(store)
        assert ledger.campaign("2011-07") is None and ledger.test_send_count("2011-07") == 0


def test_ses_is_refused_the_same_way(project: Path, weak: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run(project, "send", "--due", "--quiet", "--transport", "ses") == 1
    one_error_line(capsys.readouterr().err, "sending through ses", weak)


@pytest.mark.server
def test_run_send_itself_refuses_a_weak_signer_for_smtp(
    project: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule is the library's, not only the command line's: a campaign through SMTP with a
    weak secret freezes nothing and rejects nobody."""
    monkeypatch.delenv("ANNAOBSERVA_SECRET")
    with_smtp(project, smtp_server, "smtp")
    settings = load_settings(project / "newsletter.toml")
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 4)
        issue = load_issue(settings, "2011-07")
        ledger = Ledger.beside(store)
        with pytest.raises(WeakSecret):
            run_send(store, ledger, issue, render_email_editions(settings, issue),
                     lambda: open_transport(settings), settings.delivery, SendOptions())
        assert ledger.campaign("2011-07") is None
    assert smtp_server.received == []


@pytest.mark.server
def test_subscribers_add_through_smtp_refuses_before_adding(
    project: Path, smtp_server: SmtpServer, weak: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with_smtp(project, smtp_server, "smtp")
    assert run(project, "subscribers", "add", "ana@inau.gub.uy", "--state", "UY",
               "--lang", "es") == 1
    one_error_line(capsys.readouterr().err, "sending through smtp", weak)
    with SubscriberStore.open(load_settings(project / "newsletter.toml")) as store:
        assert list(store.iter_subscribers()) == []
    assert smtp_server.received == []


def test_the_demo_and_the_outbox_need_no_secret(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ANNAOBSERVA_SECRET")
    settings = load_settings(project / "newsletter.toml")
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 2)
    assert run(project, "send", "2011-07", "--no-progress") == 0
    assert "this run sent 2" in capsys.readouterr().out
    delivered = [str(m["Delivered-To"]) for m in outbox_messages(project / "outbox")]
    assert len(delivered) == 3 and delivered.count(settings.editors.email) == 1  # + the summary
    assert run(project, "subscribers", "add", "ana@inau.gub.uy", "--state", "UY",
               "--lang", "es") == 0
    assert capsys.readouterr().out.endswith("as pending; confirmation email sent\n")
