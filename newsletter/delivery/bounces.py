"""Bounces and complaints: SES notifications (SES → SNS → SQS) applied to the subscriber store;
and, on the same path, the mail people send to the unsubscribe address (`mailbox`).

Each notification is correlated to its delivery by the SES message id and kept raw. A permanent
bounce or a complaint suppresses the address (a complaint also ends the subscription); transient
bounces are counted and suppress after a configurable number. A `Received` notification (SES
receiving) is an unsubscribe mail, which `mailbox` acts on. The event row and what it changes are
one transaction, and the queue message is deleted only after it commits, so a crash never loses
a notification and a redelivered one is applied once. What cannot be acted on — a malformed
message, an unsubscribe mail without a valid token or a verified sender — is logged (by queue id,
never its content), counted and left in the queue, hidden for `KEPT_VISIBILITY_SECONDS` so the
runs in between do not read it again; after the queue's maxReceiveCount, SQS moves it to the
dead-letter queue for a person (README: the queue's redrive policy).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from newsletter.addresses import mask_email
from newsletter.errors import NewsletterError
from newsletter.settings import Settings
from newsletter.subscribers import SubscriberStore
from newsletter.tokens import Signer

from .ledger import Ledger
from .mailbox import MalformedMail, apply_unsubscribe_mail, read_received

logger = logging.getLogger(__name__)

# A message left in the queue stays hidden this long, so the runs in between (cron's, every few
# minutes) do not count it again; SQS allows up to 12 hours.
KEPT_VISIBILITY_SECONDS = 6 * 3600


class MalformedNotification(NewsletterError):
    """A queue message is not an SES notification this program understands."""


class QueueError(NewsletterError):
    """The SQS queue cannot be read."""


@dataclass(frozen=True)
class Notification:
    """The parts of an SES notification that matter here."""

    kind: str  # bounce | complaint | delivery | other
    subtype: str  # Permanent | Transient | Undetermined, or the complaint feedback type
    ses_message_id: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class BounceResult:
    """What one `bounces` run applied."""

    applied: int = 0
    permanent: int = 0
    transient: int = 0
    complaints: int = 0
    suppressed: int = 0
    other: int = 0
    duplicates: int = 0
    malformed: int = 0
    unsubscribed: int = 0  # by a mail to the unsubscribe address
    kept: int = 0  # unsubscribe mails nobody can act on, left in the queue for a person

    @property
    def left_in_queue(self) -> int:
        """Messages left in the queue: malformed ones and kept unsubscribe mails."""
        return self.malformed + self.kept


def unwrap(body: str) -> dict[str, Any]:
    """SES's JSON inside an SQS message body: within an SNS envelope, or on its own."""
    try:
        outer = json.loads(body)
        inner = json.loads(outer["Message"]) if outer.get("Type") == "Notification" else outer
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MalformedNotification(f"not an SES notification ({type(exc).__name__})") from None
    if not isinstance(inner, dict):
        raise MalformedNotification("not an SES notification (not a JSON object)")
    return inner


def is_received_mail(inner: dict[str, Any]) -> bool:
    """Whether the notification is SES receiving's (a mail to the unsubscribe address)."""
    return inner.get("notificationType") == "Received"


def parse_notification(body: str) -> Notification:
    """Read an SQS message body: an SNS envelope around SES's JSON, or SES's JSON itself."""
    inner = unwrap(body)
    try:
        kind = str(inner.get("eventType") or inner.get("notificationType") or "")
        message_id = str(inner["mail"]["messageId"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MalformedNotification(f"not an SES notification ({type(exc).__name__})") from None
    if not kind or not message_id:
        raise MalformedNotification("an SES notification without a type or a message id")
    try:
        if kind == "Bounce":
            bounce = inner["bounce"]
            return Notification("bounce", str(bounce["bounceType"]), message_id, tuple(
                str(r["emailAddress"]) for r in bounce["bouncedRecipients"]))
        if kind == "Complaint":
            complaint = inner["complaint"]
            return Notification("complaint", str(complaint.get("complaintFeedbackType", "")),
                                message_id, tuple(str(r["emailAddress"])
                                                  for r in complaint["complainedRecipients"]))
    except (KeyError, TypeError) as exc:
        raise MalformedNotification(f"a {kind} notification missing {exc}") from None
    return Notification("delivery" if kind == "Delivery" else "other", kind, message_id, ())


def apply_notification(
    store: SubscriberStore, ledger: Ledger, queue_message_id: str, notification: Notification,
    raw: str, transient_limit: int,
) -> str:
    """Record one notification and suppress as it says, in one transaction; return what it did.

    Returns "duplicate" when this queue message was applied before, else "suppressed",
    "counted" or "recorded".
    """
    if ledger.database is not store.database:
        raise ValueError("the ledger must be the one beside the store (Ledger.beside)")
    with ledger.database.transaction():
        delivery_id, subscriber_id = ledger.delivery_for(notification.ses_message_id)
        if subscriber_id is None and notification.recipients:
            found = store.get_by_email(notification.recipients[0])
            subscriber_id = found.id if found else None
        if not ledger.record_event(queue_message_id, notification.kind, notification.subtype,
                                   notification.ses_message_id, delivery_id, subscriber_id, raw):
            return "duplicate"
        outcome = "recorded"
        for address in notification.recipients:
            reason = _suppression_reason(ledger, notification, subscriber_id, transient_limit)
            if reason:
                store.suppress(address, reason)  # in this transaction, with the event
                logger.info("%s: %s", mask_email(address), reason)
                outcome = "suppressed"
            else:
                outcome = "counted" if notification.kind == "bounce" else outcome
    return outcome


def _suppression_reason(ledger: Ledger, n: Notification, subscriber_id: int | None,
                        transient_limit: int) -> str:
    if n.kind == "complaint":
        return "complaint (the recipient marked the newsletter as spam)"
    if n.kind != "bounce":
        return ""
    if n.subtype == "Permanent":
        return "bounce: permanent"
    if subscriber_id is None:
        return ""
    count = ledger.transient_bounces(subscriber_id)
    return f"bounce: {count} transient bounces" if count >= transient_limit else ""


def process_queue(
    settings: Settings, store: SubscriberStore, ledger: Ledger, queue_url: str,
    endpoint_url: str | None = None, wait_seconds: int = 1, signer: Signer | None = None,
) -> BounceResult:
    """Drain the queue: apply each notification and delete it once applied; keep (and hide for
    a while) what cannot be acted on. `signer` checks the tokens of unsubscribe mails (default:
    `settings.signer()`; a weak one's tokens prove nothing, see `mailbox`)."""
    sqs = boto3.session.Session().client("sqs", region_name=settings.ses.region,
                                         endpoint_url=endpoint_url or None)
    signer = signer or settings.signer()
    counts = dict.fromkeys(BounceResult.__dataclass_fields__, 0)
    limit = settings.delivery.transient_bounce_limit
    while True:
        try:
            answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                         WaitTimeSeconds=wait_seconds, VisibilityTimeout=300)
        except (ClientError, BotoCoreError) as exc:
            raise QueueError(f"cannot read the queue {queue_url} ({exc})") from None
        messages = answer.get("Messages", [])
        if not messages:
            break
        for message in messages:
            if _apply(settings, store, ledger, signer, message, limit, counts):
                _delete(sqs, queue_url, message)
            else:
                _hide(sqs, queue_url, message)
    return BounceResult(**counts)


def _apply(settings: Settings, store: SubscriberStore, ledger: Ledger, signer: Signer,
           message: dict[str, Any], limit: int, counts: dict[str, int]) -> bool:
    """Apply one queue message and count it; False when it stays in the queue."""
    queue_id, body = message["MessageId"], message["Body"]
    try:
        inner = unwrap(body)
        mail = read_received(inner) if is_received_mail(inner) else None
        notification = parse_notification(body) if mail is None else None
    except (MalformedNotification, MalformedMail) as exc:
        logger.warning("queue message %s left in the queue: %s", queue_id, exc)
        counts["malformed"] += 1
        return False
    if mail is not None:
        outcome = apply_unsubscribe_mail(store, ledger, signer, queue_id, mail,
                                         settings.email.unsubscribe_mailto)
        if outcome.kind == "kept":
            counts["kept"] += 1
            return False
        counts["duplicates" if outcome.kind == "duplicate" else "applied"] += 1
        counts["unsubscribed"] += outcome.kind == "unsubscribed"
        return True
    assert notification is not None
    applied = apply_notification(store, ledger, queue_id, notification, body, limit)
    if applied == "duplicate":
        counts["duplicates"] += 1
    else:
        counts["applied"] += 1
        key = {"bounce": "permanent" if notification.subtype == "Permanent"
               else "transient", "complaint": "complaints"}.get(notification.kind, "other")
        counts[key] += 1
        counts["suppressed"] += applied == "suppressed"
    return True


def _delete(sqs: Any, queue_url: str, message: dict[str, Any]) -> None:
    try:
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    except (ClientError, BotoCoreError) as exc:
        # Applied already: a redelivery is recognised by its queue id and skipped.
        logger.warning("could not delete queue message %s (%s)", message["MessageId"], exc)


def _hide(sqs: Any, queue_url: str, message: dict[str, Any]) -> None:
    try:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"],
                                      VisibilityTimeout=KEPT_VISIBILITY_SECONDS)
    except (ClientError, BotoCoreError) as exc:
        # Still in the queue either way: the next run counts it again, nothing is lost.
        logger.warning("could not hide queue message %s (%s)", message["MessageId"], exc)
