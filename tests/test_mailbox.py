"""The unsubscribe mailbox: SES receiving notifications (SES → SNS → SQS on moto's server), built
from real messages in the outbox, unsubscribe by the token in the subject or a verified sender;
what cannot be acted on is kept in the queue and counted."""

from __future__ import annotations

import base64
import json
import re
from email.message import EmailMessage
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

import boto3
import pytest

from newsletter.cli import main
from newsletter.delivery import Ledger, run_send
from newsletter.delivery.mailbox import apply_unsubscribe_mail, read_received
from newsletter.mail.transports import open_transport
from newsletter.subscribers import SubscriberStore
from tests.delivery_support import add_subscribers, editions, load_issue, outbox_messages

pytestmark = pytest.mark.server


def mailto_of(message: EmailMessage) -> tuple[str, str]:
    """(address, subject) of a message's List-Unsubscribe mailto, as a mail client reads it."""
    link = re.search(r"<mailto:([^>]+)>", str(message["List-Unsubscribe"]))
    assert link, message["List-Unsubscribe"]
    parts = urlsplit("mailto:" + link.group(1))
    subject = unquote(parts.query.removeprefix("subject="))
    return parts.path, subject


def reply_mail(sender: str, to: str, subject: str, dkim_domain: str = "") -> bytes:
    """The mail a client sends for a List-Unsubscribe mailto."""
    mail = EmailMessage()
    if dkim_domain:
        mail["DKIM-Signature"] = f"v=1; a=rsa-sha256; d={dkim_domain}; s=sel; b=abc"
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content("unsubscribe\n")
    return mail.as_bytes()


def received(raw: bytes, *, to: str, envelope: str | None = None, spf: str = "PASS",
             dkim: str = "PASS", dmarc: str = "GRAY", spam: str = "PASS",
             encoding: str = "UTF8", common_subject: bool = True) -> dict:
    """SES receiving's notification of an SNS action for the mail `raw` (the documented shape)."""
    from email import message_from_bytes
    from email.policy import default

    parsed = message_from_bytes(raw, policy=default)
    sender = str(parsed["From"])
    common = {"from": [sender], "to": [str(parsed["To"])], "messageId": "<x@client>",
              "date": "Fri, 20 Nov 2026 10:00:00 +0000"}
    if common_subject:
        common["subject"] = str(parsed["Subject"])
    content = base64.b64encode(raw).decode() if encoding == "BASE64" else raw.decode()
    return {
        "notificationType": "Received",
        "receipt": {
            "timestamp": "2026-11-20T10:00:01.000Z", "processingTimeMillis": 300,
            "recipients": [to], "spamVerdict": {"status": spam},
            "virusVerdict": {"status": "PASS"}, "spfVerdict": {"status": spf},
            "dkimVerdict": {"status": dkim}, "dmarcVerdict": {"status": dmarc},
            "action": {"type": "SNS", "topicArn": "arn:aws:sns:us-east-1:123:unsubscribe",
                       "encoding": encoding},
        },
        "mail": {"timestamp": "2026-11-20T10:00:00.000Z",
                 "source": envelope if envelope is not None else parseaddr(sender)[1],
                 "messageId": f"ses-{abs(hash(raw)) % 10**12}", "destination": [to],
                 "headersTruncated": False, "headers": [], "commonHeaders": common},
        "content": content,
    }


@pytest.fixture
def sent(settings, moto):
    """2011-07 sent to six subscribers into the outbox; an SNS topic delivering to SQS."""
    store = SubscriberStore.open(settings)
    add_subscribers(store, 6)
    issue = load_issue(settings, "2011-07")
    run_send(store, Ledger.beside(store), issue, editions(settings, issue),
             lambda: open_transport(settings, "outbox"), settings.delivery)
    sqs = boto3.client("sqs", endpoint_url=moto)
    sns = boto3.client("sns", endpoint_url=moto)
    queue = sqs.create_queue(QueueName="ses-notifications")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    topic = sns.create_topic(Name="ses-notifications")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    messages = {str(m["Delivered-To"]): m for m in outbox_messages(settings.path("outbox"))}
    yield store, messages, queue, lambda n: sns.publish(TopicArn=topic, Message=json.dumps(n)), sqs
    store.close()


def waiting(sqs, queue: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages",
                                        "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return (int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]))


def test_a_mailto_unsubscribe_from_a_real_message_unsubscribes_and_garbled_mail_is_kept(
        project, settings, sent, moto, capsys) -> None:
    store, messages, queue, publish, sqs = sent
    who = "reader000003@example.org"
    address, subject = mailto_of(messages[who])
    assert address == settings.email.unsubscribe_mailto and subject.startswith("unsubscribe ")
    # The subscriber's client sends the mailto from another address, unverified: the token in
    # the subject is the proof, as the one-click link is.
    publish(received(reply_mail("someone@elsewhere.example", address, subject), to=address,
                     spf="FAIL", dkim="FAIL"))
    # A mail nobody can act on: no token, a sender SES could not verify.
    publish(received(reply_mail("reader000004@example.org", address, "please remove me"),
                     to=address, spf="FAIL", dkim="FAIL"))
    # And a notification that is not even JSON.
    boto3.client("sqs", endpoint_url=moto).send_message(QueueUrl=queue, MessageBody="{garbled")
    code = main(["--config", str(project / "newsletter.toml"), "bounces", "--queue-url", queue,
                 "--endpoint-url", moto])
    out = capsys.readouterr().out
    assert code == 1  # something was left for a person
    assert "1 unsubscribed by email" in out
    assert "Left in the queue for a person: 1 unsubscribe mail(s)" in out
    assert "1 malformed notification(s)" in out
    unsubscribed = store.get_by_email(who)
    assert unsubscribed is not None and unsubscribed.status == "unsubscribed"
    event = store.events(unsubscribed.id)[-1]
    assert (event.new_status, event.source) == ("unsubscribed", "email")
    assert event.reason == "unsubscribed by email (the signed token in the subject)"
    assert store.get_by_email("reader000004@example.org").status == "confirmed"  # kept, not acted
    assert waiting(sqs, queue) == (0, 2)  # both kept messages hidden, not deleted
    # What is kept in the ledger names no address, subject or token.
    raws = [r[0] for r in store.database.conn.execute("SELECT raw FROM delivery_events")]
    assert raws and not any("@" in raw or subject.split()[1] in raw for raw in raws)
    # Run again at once: the kept ones are not counted twice, nobody is unsubscribed twice.
    assert main(["--config", str(project / "newsletter.toml"), "bounces", "--queue-url", queue,
                 "--endpoint-url", moto, "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    assert len(store.events(unsubscribed.id)) == 2


def test_a_verified_sender_is_unsubscribed_without_a_token(settings, sent) -> None:
    store, messages, _queue, _publish, _sqs = sent
    ledger = Ledger.beside(store)
    signer = settings.signer()
    mailbox = settings.email.unsubscribe_mailto

    def act(queue_id: str, notification: dict) -> str:
        mail = read_received(notification)
        return apply_unsubscribe_mail(store, ledger, signer, queue_id, mail, mailbox).kind

    who = "reader000001@example.org"
    # SPF passed for another envelope sender than From: From is not verified.
    assert act("q1", received(reply_mail(who, mailbox, "unsubscribe"), to=mailbox,
                              envelope="bounce@mailer.example", dkim="FAIL")) == "kept"
    # DKIM passed for a signature of another domain: not verified either.
    assert act("q2", received(reply_mail(who, mailbox, "unsubscribe", "mailer.example"),
                              to=mailbox, envelope="x@mailer.example", spf="FAIL")) == "kept"
    # SES called it spam: the sender is not acted on, even with DMARC pass.
    assert act("q3", received(reply_mail(who, mailbox, "unsubscribe"), to=mailbox,
                              dmarc="PASS", spam="FAIL")) == "kept"
    assert store.get_by_email(who).status == "confirmed"
    # DKIM passed and every signature is the From domain's, the content in BASE64.
    assert act("q4", received(reply_mail(who, mailbox, "Unsubscribe", "example.org"),
                              to=mailbox, envelope="x@mailer.example", spf="FAIL",
                              encoding="BASE64")) == "unsubscribed"
    assert store.get_by_email(who).status == "unsubscribed"
    assert "DKIM pass for the From domain" in store.events(store.get_by_email(who).id)[-1].reason
    # SPF passed and the envelope sender is the From address itself.
    other = "reader000002@example.org"
    assert act("q5", received(reply_mail(other, mailbox, "unsubscribe"), to=mailbox,
                              dkim="FAIL")) == "unsubscribed"
    # DMARC passed (From aligned with a passing check), no content in the notification.
    third = "reader000005@example.org"
    notification = received(reply_mail(third, mailbox, "baja"), to=mailbox, spf="FAIL",
                            dkim="FAIL", dmarc="PASS")
    del notification["content"]
    assert act("q6", notification) == "unsubscribed"
    # Verified, but not a subscriber's address: a person must look.
    assert act("q7", received(reply_mail("stranger@example.org", mailbox, "unsubscribe"),
                              to=mailbox, dmarc="PASS")) == "kept"
    # Verified, already unsubscribed: nothing left to do (the message is deleted).
    assert act("q8", received(reply_mail(other, mailbox, "unsubscribe again"), to=mailbox,
                              dmarc="PASS")) == "already"
    # Redelivered: applied once.
    assert act("q5", received(reply_mail(other, mailbox, "unsubscribe"), to=mailbox,
                              dkim="FAIL")) == "duplicate"
    # Mail to another address of the domain is not this mailbox's to act on.
    assert act("q9", received(reply_mail(third, "info@iin.oea.org", "x"),
                              to="info@iin.oea.org", dmarc="PASS")) == "kept"


def test_only_an_unsubscribe_token_counts(settings, sent) -> None:
    """A confirmation or language token, or a tampered one, in the subject is no proof; the
    token may arrive %-encoded or after a Re:, and the content's subject is read too."""
    store, messages, _queue, _publish, _sqs = sent
    ledger = Ledger.beside(store)
    signer = settings.signer()
    mailbox = settings.email.unsubscribe_mailto
    who = store.get_by_email("reader000000@example.org")
    for n, subject in enumerate([f"unsubscribe {signer.sign('confirm', who.id)}",
                                 f"unsubscribe {signer.sign('language', who.id)}",
                                 f"unsubscribe {signer.sign('unsubscribe', who.id)[:-2]}xx"]):
        mail = read_received(received(reply_mail("x@else.example", mailbox, subject), to=mailbox,
                                      spf="FAIL", dkim="FAIL"))
        assert apply_unsubscribe_mail(store, ledger, signer, f"t{n}", mail, mailbox).kind == "kept"
    token = signer.sign("unsubscribe", who.id)
    notification = received(reply_mail("x@else.example", mailbox, f"Re: unsubscribe%20{token}"),
                            to=mailbox, spf="FAIL", dkim="FAIL", common_subject=False)
    mail = read_received(notification)
    assert apply_unsubscribe_mail(store, ledger, signer, "t9", mail, mailbox).kind == \
        "unsubscribed"
    assert store.get(who.id).status == "unsubscribed"


def test_a_token_of_an_erased_subscriber_is_nothing_left_to_do(settings, sent) -> None:
    store, _messages, _queue, _publish, _sqs = sent
    signer = settings.signer()
    mailbox = settings.email.unsubscribe_mailto
    gone = store.get_by_email("reader000002@example.org")
    token = signer.sign("unsubscribe", gone.id)
    store.erase(gone.email)
    mail = read_received(received(reply_mail("x@else.example", mailbox, f"unsubscribe {token}"),
                                  to=mailbox, spf="FAIL", dkim="FAIL"))
    outcome = apply_unsubscribe_mail(store, Ledger.beside(store), signer, "e1", mail, mailbox)
    assert outcome.kind == "already"


def test_a_token_under_the_public_demo_secret_proves_nothing(settings, sent) -> None:
    """Without ANNAOBSERVA_SECRET the demo value signs tokens anybody can make: the mailbox does
    not honour them, and only a verified sender address still counts."""
    from newsletter.tokens import Signer

    store, _messages, _queue, _publish, _sqs = sent
    ledger = Ledger.beside(store)
    weak = Signer.from_configured("")
    assert not weak.strong
    mailbox = settings.email.unsubscribe_mailto
    who = store.get_by_email("reader000001@example.org")
    forged = f"unsubscribe {weak.sign('unsubscribe', who.id)}"
    mail = read_received(received(reply_mail("x@else.example", mailbox, forged), to=mailbox,
                                  spf="FAIL", dkim="FAIL"))
    assert apply_unsubscribe_mail(store, ledger, weak, "w1", mail, mailbox).kind == "kept"
    assert store.get(who.id).status == "confirmed"
    mail = read_received(received(reply_mail(who.email, mailbox, forged), to=mailbox,
                                  dmarc="PASS"))
    assert apply_unsubscribe_mail(store, ledger, weak, "w2", mail, mailbox).kind == "unsubscribed"
    assert "from the subscriber's own address" in store.events(who.id)[-1].reason
