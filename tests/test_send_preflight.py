"""What fails for a whole campaign is found before the ledger is touched: a refused SMTP login
(aiosmtpd), bad SES credentials and a used-up SES quota (moto's server), an edition that cannot be
built. Each exits non-zero and leaves no campaign, no claimed row, no lock. And `send ISSUE` before
the issue's `send_at` is refused unless `--now`."""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from newsletter.cli import main
from newsletter.delivery import Ledger, SendOptions, SendRefused, run_send
from newsletter.errors import NewsletterError
from newsletter.mail import EmailEditions, open_transport, render_email_editions
from newsletter.settings import Settings, load_settings
from newsletter.subscribers import SubscriberStore
from tests.delivery_support import add_subscribers, load_issue, outbox_messages
from tests.plugins.servers import free_port
from tests.plugins.smtp_server import RecordingHandler, make_certificate

pytestmark = pytest.mark.server


def run(project: Path, *argv: str) -> int:
    return main(["--config", str(project / "newsletter.toml"), *argv])


def configure(project: Path, text: str) -> Settings:
    config = project / "newsletter.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")
    settings = load_settings(config)
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 3)
    return settings


def untouched(settings: Settings) -> None:
    """No campaign, no delivery row, no lock, no recorded run: the ledger as it was."""
    with SubscriberStore.open(settings) as store:
        conn = store.database.conn
        for table in ("campaigns", "deliveries", "send_lock", "test_sends", "send_runs"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


@pytest.fixture
def refusing_smtp(tmp_path: Path) -> Iterator[tuple[int, Path, RecordingHandler]]:
    """aiosmtpd that wants STARTTLS and a login, and refuses every login: (port, CA, handler)."""
    def refuse(server: object, session: object, envelope: object, mechanism: str,
               auth_data: object) -> AuthResult:
        return AuthResult(success=False, handled=False)

    cert, key = make_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, auth_required=True, authenticator=refuse)
    controller.start()
    try:
        yield port, cert, handler
    finally:
        controller.stop()


def test_a_refused_smtp_login_stops_the_send_before_the_ledger(
    project: Path, refusing_smtp: tuple[int, Path, RecordingHandler],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    port, ca, handler = refusing_smtp
    monkeypatch.setenv("ANNAOBSERVA_SMTP_PASSWORD", "wrong")
    settings = configure(project, f'[smtp]\nhost = "127.0.0.1"\nport = {port}\n'
                                  f'security = "starttls"\nca_file = "{ca}"\n'
                                  'username = "annaobserva"\n')
    assert run(project, "send", "2011-07", "--transport", "smtp", "--no-progress") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(f"Error: SMTP 127.0.0.1:{port} refused the login for 'annaobserva' (535")
    assert line.endswith("; nothing was sent and the ledger is unchanged")
    assert handler.received == []
    untouched(settings)


@pytest.fixture
def moto_checks_credentials(moto: str) -> Iterator[str]:
    """moto's server with IAM authentication on: the tests' made-up keys are refused."""
    def set_auth(value: str) -> None:
        request = urllib.request.Request(moto + "/moto-api/reset-auth", data=value.encode(),
                                         method="POST", headers={"Content-Type": "text/plain"})
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback only

    set_auth("0")
    try:
        yield moto
    finally:
        set_auth("inf")


@pytest.mark.parametrize("account_quota", ["true", "false"])
def test_bad_ses_credentials_stop_the_send_before_the_ledger(
    project: Path, moto_checks_credentials: str, account_quota: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = configure(project, f'[ses]\nendpoint_url = "{moto_checks_credentials}"\n'
                                  f"account_quota = {account_quota}\n")
    assert run(project, "send", "2011-07", "--transport", "ses", "--no-progress") == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("Error: SES refused to send (InvalidClientTokenId: ")
    assert line.endswith("; nothing was sent and the ledger is unchanged")
    untouched(settings)


def test_a_used_up_ses_quota_stops_the_send_before_the_ledger(
    project: Path, moto: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = configure(project, f'[ses]\nendpoint_url = "{moto}"\naccount_quota = true\n')
    ses = boto3.client("ses", endpoint_url=moto)
    ses.verify_email_identity(EmailAddress=settings.email.from_address)
    for n in range(200):  # moto's account: 200 messages a day
        ses.send_raw_email(Source=settings.email.from_address, Destinations=[f"x{n}@example.org"],
                           RawMessage={"Data": b"Subject: quota\r\n\r\nx\r\n"})
    assert run(project, "send", "2011-07", "--transport", "ses", "--no-progress") == 1
    assert capsys.readouterr().err.splitlines() == [
        "Error: the SES daily sending quota is used up; nothing was sent and the ledger is "
        "unchanged: run send again when the last 24 hours allow more"]
    untouched(settings)


class _Unbuildable:
    """An edition whose messages cannot be built (what a template or header fault looks like)."""

    def __init__(self, edition: object) -> None:
        self._edition = edition

    def __getattr__(self, name: str) -> object:
        return getattr(self._edition, name)

    def message_for(self, *args: object, **kwargs: object) -> bytes:
        raise NewsletterError("the To header cannot be encoded")


def test_an_edition_that_cannot_be_built_stops_the_send_before_the_ledger(
    settings: Settings
) -> None:
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 4)
        issue = load_issue(settings, "2011-07")
        built = render_email_editions(settings, issue)
        editions = EmailEditions({**built, "en": _Unbuildable(built["en"])},  # type: ignore[dict-item]
                                 settings.reader_language)
        with pytest.raises(SendRefused) as caught:
            run_send(store, Ledger.beside(store), issue, editions,
                     lambda: open_transport(settings), settings.delivery, SendOptions())
    assert str(caught.value) == ("the en email cannot be built (the To header cannot be "
                                 "encoded); nothing was sent and the ledger is unchanged")
    untouched(settings)
    assert list((settings.path("outbox") / "new").iterdir()) == []


def schedule(project: Path, send_at: str) -> None:
    for lang in ("es", "en"):
        path = project / "issues" / "2011-07" / f"{lang}.md"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("send_at: 2011-07-15T09:00:00-03:00", f"send_at: {send_at}"),
                        encoding="utf-8")


def test_an_issue_scheduled_later_is_not_sent_by_hand_without_now(
    project: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    schedule(project, "2999-01-04T09:00:00-03:00")
    with SubscriberStore.open(settings) as store:
        add_subscribers(store, 2)
    assert run(project, "send", "2011-07", "--no-progress") == 1
    assert capsys.readouterr().err.splitlines() == [
        "Error: issue 2011-07 is scheduled for 2999-01-04T09:00:00-03:00: `send --due` sends it "
        "then; to send it now anyway, add --now"]
    untouched(settings)
    # --due leaves it for its time; --dry-run and --to rehearse it freely; --now sends it.
    assert run(project, "send", "--due", "--no-progress") == 0
    assert run(project, "send", "2011-07", "--dry-run") == 0
    untouched(settings)
    capsys.readouterr()
    assert run(project, "send", "2011-07", "--now", "--no-progress") == 0
    assert "this run sent 2" in capsys.readouterr().out
    delivered = [str(m["Delivered-To"]) for m in outbox_messages(project / "outbox")]
    assert sorted(delivered) == sorted(["reader000000@example.org", "reader000001@example.org",
                                        settings.editors.email])  # and the editors' summary
