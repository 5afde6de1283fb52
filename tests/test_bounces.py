"""`bounces`: SES notifications through SNS into SQS (moto's server mode), applied once each."""

from __future__ import annotations

import json

import boto3
import pytest

from newsletter.cli import main
from newsletter.delivery.bounces import MalformedNotification, parse_notification, process_queue
from newsletter.delivery.ledger import Ledger
from newsletter.delivery.report import delivery_report
from newsletter.delivery.sending import run_send
from newsletter.mail.transports import open_transport
from newsletter.settings import DeliverySettings, SesSettings
from newsletter.subscribers.store import SubscriberStore
from tests.delivery_support import add_subscribers, editions, load_issue

pytestmark = pytest.mark.server


def ses_event(kind: str, message_id: str, address: str, subtype: str = "Permanent") -> dict:
    event: dict = {"eventType": kind, "mail": {"messageId": message_id,
                                               "destination": [address]}}
    if kind == "Bounce":
        event["bounce"] = {"bounceType": subtype, "bouncedRecipients": [{"emailAddress": address}]}
    elif kind == "Complaint":
        event["complaint"] = {"complaintFeedbackType": "abuse",
                              "complainedRecipients": [{"emailAddress": address}]}
    return event


@pytest.fixture
def sent_through_ses(settings, moto):
    """Eight subscribers sent 2011-07 through SES; an SNS topic delivering to an SQS queue."""
    boto3.client("ses", endpoint_url=moto).verify_email_identity(
        EmailAddress=settings.email.from_address)
    s = settings.replace(ses=SesSettings(endpoint_url=moto, account_quota=False),
                         delivery=DeliverySettings(transport="ses", transient_bounce_limit=2))
    store = SubscriberStore.open(s)
    add_subscribers(store, 8)
    issue = load_issue(s, "2011-07")
    run_send(store, Ledger.beside(store), issue, editions(s, issue), lambda: open_transport(s),
             s.delivery)
    ids = dict(store.database.conn.execute(
        "SELECT s.email, d.provider_id FROM deliveries d "
        "JOIN subscribers s ON s.id = d.subscriber_id"
    ).fetchall())
    sqs = boto3.client("sqs", endpoint_url=moto)
    sns = boto3.client("sns", endpoint_url=moto)
    queue = sqs.create_queue(QueueName="ses-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    topic = sns.create_topic(Name="ses-events")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    def publish(event: dict) -> None:
        sns.publish(TopicArn=topic, Message=json.dumps(event))

    yield s, store, ids, queue, publish, sqs
    store.close()


def drain(s, store, queue):
    """Apply what the queue holds, as `publish.py bounces` does."""
    return process_queue(s, store, Ledger.beside(store), queue, endpoint_url=s.ses.endpoint_url,
                         wait_seconds=0)


def test_bounces_and_complaints_suppress_and_count(sent_through_ses) -> None:
    s, store, ids, queue, publish, sqs = sent_through_ses
    a, b, c, d = (f"reader{n:06d}@example.org" for n in range(4))
    publish(ses_event("Bounce", ids[a], a, "Permanent"))
    publish(ses_event("Complaint", ids[b], b))
    publish(ses_event("Bounce", ids[c], c, "Transient"))
    publish(ses_event("Delivery", ids[d], d))
    sqs.send_message(QueueUrl=queue, MessageBody="{not json")
    result = drain(s, store, queue)
    assert (result.applied, result.permanent, result.complaints, result.transient,
            result.suppressed, result.other, result.malformed) == (4, 1, 1, 1, 2, 1, 1)
    assert store.get_by_email(a).status == "bounced" and store.is_suppressed(a)
    assert store.get_by_email(b).status == "complained" and store.is_suppressed(b)
    assert store.get_by_email(c).status == "confirmed" and not store.is_suppressed(c)
    raw = store.database.conn.execute(
        "SELECT raw FROM delivery_events WHERE kind = 'complaint'").fetchone()
    complaint = json.loads(json.loads(raw[0])["Message"])["complaint"]
    assert complaint["complaintFeedbackType"] == "abuse"
    # A second transient bounce reaches the limit (2): suppressed.
    publish(ses_event("Bounce", ids[c], c, "Transient"))
    again = drain(s, store, queue)
    assert (again.applied, again.suppressed) == (1, 1) and store.is_suppressed(c)
    report = delivery_report(Ledger.beside(store), "2011-07")
    assert (report.total("bounced"), report.total("complaints"), report.total("sent")) == (1, 1, 8)
    assert report.bounce_rate == 1 / 8 and report.warnings[0].startswith("bounce rate 12.50%")


def test_applied_messages_are_deleted_and_malformed_ones_stay(sent_through_ses) -> None:
    s, store, ids, queue, publish, sqs = sent_through_ses
    a = "reader000000@example.org"
    publish(ses_event("Bounce", ids[a], a))
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"Type": "Notification",
                                                             "Message": "{}"}))
    drain(s, store, queue)
    # The malformed one stays in the queue, invisible for the run's 300 s visibility timeout.
    attrs = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) \
        == ("0", "1")


def test_a_redelivered_notification_is_applied_once(sent_through_ses) -> None:
    from newsletter.delivery.bounces import apply_notification

    s, store, ids, queue, publish, sqs = sent_through_ses
    c = "reader000002@example.org"
    n = parse_notification(json.dumps(ses_event("Bounce", ids[c], c, "Transient")))
    assert apply_notification(store, Ledger.beside(store), "q-1", n, "{}", 2) == "counted"
    assert apply_notification(store, Ledger.beside(store), "q-1", n, "{}", 2) == "duplicate"
    assert not store.is_suppressed(c)


def test_parse_rejects_what_is_not_an_ses_notification() -> None:
    for body in ("[]", "{}", '{"eventType": "Bounce", "mail": {"messageId": "x"}}'):
        with pytest.raises(MalformedNotification):
            parse_notification(body)


def test_cli_bounces(project, sent_through_ses, capsys) -> None:
    s, store, ids, queue, publish, sqs = sent_through_ses
    a = "reader000001@example.org"
    publish(ses_event("Complaint", ids[a], a))
    code = main(["--config", str(project / "newsletter.toml"), "bounces", "--queue-url", queue,
                 "--endpoint-url", s.ses.endpoint_url])
    assert capsys.readouterr().out == (
        "Applied 1 notifications: 0 permanent bounces, 0 transient, 1 complaints, "
        "1 addresses suppressed, 0 unsubscribed by email, 0 other events.\n")
    assert code == 0
