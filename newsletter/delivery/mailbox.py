"""The unsubscribe mailbox: mail to `[email] unsubscribe_mailto`, received by SES.

Every message carries `List-Unsubscribe: <…>, <mailto:unsubscribe@…?subject=unsubscribe%20TOKEN>`;
some clients (Outlook, Apple Mail, older webmail) only use the mailto. SES receiving publishes each
such mail (a receipt rule's SNS action) to the topic the bounces queue subscribes to, so `bounces`
reads both, and a `Received` notification comes here:

1. a signed unsubscribe token in the subject (the one the mailto put there) names the subscriber:
   they are unsubscribed at once, whoever sent the mail (the token is the proof, as the link is).
   Only under a strong secret: a token the public demo value or a short secret verifies proves
   nothing (anybody could sign it), so without `ANNAOBSERVA_SECRET` only step 2 applies;
2. without a valid token, the sender's address is used only when SES verified it: DMARC passed
   (the From domain is aligned with a passing SPF or DKIM check), or SPF passed for an envelope
   sender that is the From address itself, or DKIM passed and every signature's domain is the From
   domain or a parent of it. SPF alone vouches for the envelope's domain and DKIM alone for the
   signer's, neither for the From header, which anyone can write; unsubscribing on a forged From
   would silently take a liaison off the list. A message SES marked as spam or a virus is not
   acted on by its sender. The address must be a current (pending or confirmed) subscriber's;
3. anything else — no token, an unverified or unknown sender, mail to another address — is kept:
   counted, logged by queue id, left in the queue for a person (and, after the queue's
   maxReceiveCount, in its dead-letter queue), never dropped.

The unsubscribe and its event ("unsubscribed by email …") are one transaction with the record of
the notification, which keeps no address, subject or content: only what was decided and why.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import getaddresses, parseaddr
from typing import Any
from urllib.parse import unquote

from newsletter.addresses import mask_email
from newsletter.errors import NewsletterError
from newsletter.subscribers import SubscriberStore
from newsletter.tokens import Signer

from .ledger import Ledger

logger = logging.getLogger(__name__)

# An itsdangerous token: payload.timestamp.signature, each URL-safe base64.
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{4,16}\.[A-Za-z0-9_-]{20,90}")
_DKIM_DOMAIN_RE = re.compile(r"(?:^|;)\s*d\s*=\s*([A-Za-z0-9.-]+)")
MAX_TOKENS = 5


class MalformedMail(NewsletterError):
    """A `Received` notification this program cannot read."""


@dataclass(frozen=True)
class UnsubscribeMail:
    """What matters of one mail to the unsubscribe address (SES's `Received` notification)."""

    ses_message_id: str
    recipients: tuple[str, ...]
    subjects: tuple[str, ...]  # commonHeaders' subject, and the content's own when present
    sender: str  # the From address ("" when there is none)
    envelope_sender: str  # MAIL FROM, which SPF checks
    verdicts: Mapping[str, str] = field(default_factory=dict)  # spf, dkim, dmarc, spam, virus
    dkim_domains: tuple[str, ...] = ()  # d= of each DKIM-Signature (from the content)

    def tokens(self) -> list[str]:
        """Candidate unsubscribe tokens in the subject (a mailto's %20 may arrive undecoded)."""
        found: list[str] = []
        for subject in self.subjects:
            for token in _TOKEN_RE.findall(unquote(subject)):
                if token not in found:
                    found.append(token)
        return found[:MAX_TOKENS]

    def verified_sender(self) -> tuple[str | None, str]:
        """(the From address, how SES verified it), or (None, why it is not trusted)."""
        if not self.sender:
            return None, "no From address"
        if "FAIL" in (self.verdicts.get("spam"), self.verdicts.get("virus")):
            return None, "SES marked it as spam or a virus"
        domain = self.sender.rpartition("@")[2].lower()
        if self.verdicts.get("dmarc") == "PASS":
            return self.sender, "DMARC pass"
        if self.verdicts.get("spf") == "PASS" and \
                self.envelope_sender.lower() == self.sender.lower():
            return self.sender, "SPF pass for the From address"
        if self.verdicts.get("dkim") == "PASS" and self.dkim_domains and all(
                domain == d or domain.endswith("." + d) for d in self.dkim_domains):
            return self.sender, "DKIM pass for the From domain"
        return None, "the sender is not verified (no DMARC pass, no SPF or DKIM pass aligned " \
                     "with the From address)"


@dataclass(frozen=True)
class MailOutcome:
    """What became of one mail: unsubscribed, already (nothing left to do), duplicate, kept."""

    kind: str
    detail: str = ""


def _status(receipt: Mapping[str, Any], key: str) -> str:
    value = receipt.get(key)
    return str(value.get("status", "")).upper() if isinstance(value, dict) else ""


def _content_headers(inner: Mapping[str, Any], receipt: Mapping[str, Any]
                     ) -> tuple[str, list[str]]:
    """(subject, DKIM signing domains) from the raw message an SNS action carries."""
    content = inner.get("content")
    if not isinstance(content, str) or not content:
        return "", []
    action = receipt.get("action") if isinstance(receipt.get("action"), dict) else {}
    try:
        raw = (base64.b64decode(content, validate=False)
               if str(action.get("encoding", "")).upper() == "BASE64"
               else content.encode("utf-8", "surrogateescape"))
    except (binascii.Error, ValueError):
        return "", []
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    domains = []
    for signature in parsed.get_all("DKIM-Signature", []):
        match = _DKIM_DOMAIN_RE.search(str(signature))
        domains.append(match.group(1).lower().rstrip(".") if match else "")
    try:
        subject = str(parsed.get("Subject", ""))
    except (ValueError, LookupError):
        subject = ""
    return subject, domains


def read_received(inner: Mapping[str, Any]) -> UnsubscribeMail:
    """The parts of a `Received` notification that matter; MalformedMail otherwise."""
    try:
        mail, receipt = inner["mail"], inner["receipt"]
        message_id = str(mail["messageId"])
        common = mail.get("commonHeaders") or {}
        recipients = tuple(str(r).strip() for r in receipt.get("recipients") or ())
        subject = common.get("subject")
        senders = getaddresses([str(s) for s in common.get("from") or ()])
    except (KeyError, TypeError, AttributeError) as exc:
        raise MalformedMail(f"a Received notification missing {exc}") from None
    if not message_id:
        raise MalformedMail("a Received notification without a message id")
    content_subject, dkim_domains = _content_headers(inner, receipt)
    subjects = tuple(s for s in (str(subject or ""), content_subject) if s)
    sender = senders[0][1].strip() if len(senders) == 1 else ""
    envelope = parseaddr(str(mail.get("source") or ""))[1].strip()
    verdicts = {name: _status(receipt, f"{name}Verdict")
                for name in ("spf", "dkim", "dmarc", "spam", "virus")}
    return UnsubscribeMail(message_id, recipients, subjects, sender, envelope, verdicts,
                           tuple(dkim_domains))


def _record(mail: UnsubscribeMail, decided: str) -> str:
    """The notification as it is kept: what was decided and on what grounds, no address."""
    return json.dumps({"notificationType": "Received", "messageId": mail.ses_message_id,
                       "verdicts": dict(mail.verdicts), "decided": decided}, sort_keys=True)


def apply_unsubscribe_mail(
    store: SubscriberStore, ledger: Ledger, signer: Signer, queue_message_id: str,
    mail: UnsubscribeMail, mailbox: str,
) -> MailOutcome:
    """Act on one mail to the unsubscribe address (see the module docstring)."""
    if ledger.database is not store.database:
        raise ValueError("the ledger must be the one beside the store (Ledger.beside)")
    if mailbox and not any(r.lower() == mailbox.lower() for r in mail.recipients):
        return _keep(ledger, queue_message_id, mail, "recipient",
                     f"not addressed to {mailbox} (the receipt rule should cover only it)")
    subscriber_id, how = None, ""
    for token in mail.tokens() if signer.strong else ():
        try:
            subscriber_id, how = signer.verify("unsubscribe", token), "token"
            break
        except NewsletterError:
            continue
    sender, why = mail.verified_sender()
    with ledger.database.transaction():
        if subscriber_id is None and sender is not None:
            found = store.get_by_email(sender)
            if found is None:
                return _keep(ledger, queue_message_id, mail, "unknown-sender",
                             f"{mask_email(sender)} ({why}) is not a subscriber's address")
            subscriber_id, how = found.id, "sender"
        if subscriber_id is None:
            return _keep(ledger, queue_message_id, mail, "unverified",
                         f"no valid token in the subject, and {why}")
        before = store.get(subscriber_id)  # None: erased since the message was sent
        if not ledger.record_event(queue_message_id, "unsubscribe", how, mail.ses_message_id,
                                   None, before.id if before else None, _record(mail, how)):
            return MailOutcome("duplicate")
        if before is None or before.status not in ("pending", "confirmed"):
            return MailOutcome("already", "already unsubscribed or erased")
        reason = ("unsubscribed by email (the signed token in the subject)" if how == "token"
                  else f"unsubscribed by email (from the subscriber's own address: {why})")
        store.unsubscribe(subscriber_id, "email", reason=reason)
    logger.info("%s unsubscribed by email (%s)", before.masked, how)
    return MailOutcome("unsubscribed", how)


def _keep(ledger: Ledger, queue_message_id: str, mail: UnsubscribeMail, code: str,
          detail: str) -> MailOutcome:
    """Count a mail nobody can act on (recorded once per queue message) and leave it queued."""
    ledger.record_event(f"kept:{queue_message_id}", "kept", code, mail.ses_message_id, None, None,
                        _record(mail, code))
    logger.warning("unsubscribe mail %s kept in the queue for a person: %s", queue_message_id,
                   detail)
    return MailOutcome("kept", detail)
