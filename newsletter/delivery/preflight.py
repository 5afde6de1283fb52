"""What a send checks before it touches the ledger: an issue that may be sent (readable, ready,
its `send_at` reached unless `--now`, each edition approved as it is now when `[delivery]
require_approval` asks for it), and everything that would fail for every message of the
campaign (`preflight`: the secret, one message per language, the transport's credentials and
quota). Such a failure is a `SendRefused` that leaves the ledger as it was: no row frozen, none
claimed, nothing rejected one by one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping

from newsletter.addresses import mask_email
from newsletter.content import Corpus, Issue, unapproved
from newsletter.errors import IssueError, NewsletterError
from newsletter.mail import EmailEdition, Recipient, StopEverything, Transport, check_secret_for

from .options import SendConfig

TransportFactory = Callable[[], Transport]

_ADDRESS_RE = re.compile(r"[^\s<>\"'(),;:]+@[A-Za-z0-9.-]+")


def masked_error(exc: BaseException) -> str:
    """A transport's error text with any address in it masked (it is stored and printed)."""
    return _ADDRESS_RE.sub(lambda m: mask_email(m.group(0)), str(exc))


class SendRefused(NewsletterError):
    """The issue cannot be sent as asked (a draft, not approved, a cancelled campaign)."""


def transport_rate(config: SendConfig, transport: Transport) -> tuple[float, int | None]:
    """(messages per second, messages left in today's quota) for this run."""
    quota = transport.quota()
    if quota is None:
        return config.rate, None
    usable = quota.usable_rate
    return (min(config.rate, usable) if config.rate > 0 else usable), quota.remaining_today


def check_readable(corpus: Corpus, slug: str) -> None:
    """Refuse to send an issue with an edition that cannot be read (its readers would get another
    language's edition); the error names each file and line."""
    errors = corpus.errors_of(slug)
    if errors:
        shown = "\n".join(str(p) for p in errors)
        raise IssueError(f"issue {slug!r} has {len(errors)} error(s); nothing was sent:\n{shown}")


def issue_to_send(corpus: Corpus, ref: str) -> Issue:
    """The issue `send` delivers, by slug or number: IssueNotFound if there is none, IssueError
    if one of its editions cannot be read."""
    found = corpus.find(ref)
    check_readable(corpus, found.slug if found else ref)
    return corpus.get(ref)


def check_ready(issue: Issue) -> None:
    """Refuse to send a draft."""
    if issue.status != "ready":
        raise SendRefused(
            f"issue {issue.slug} is a draft: set `status: ready` in every required language "
            "before sending"
        )


def check_schedule(issue: Issue, now: dt.datetime, early: bool) -> None:
    """Refuse to send an issue before its `send_at`, unless asked to (`--now`)."""
    if issue.send_at is not None and issue.send_at > now and not early:
        raise SendRefused(
            f"issue {issue.slug} is scheduled for {issue.send_at.isoformat()}: `send --due` "
            "sends it then; to send it now anyway, add --now"
        )


def check_approved(issue: Issue) -> None:
    """Refuse an issue with an edition nobody approved, or changed since its approval; the error
    names each file, the approval and the command that approves it."""
    refused = unapproved(issue)
    if refused:
        raise SendRefused(f"issue {issue.slug} is not approved as it is now; nothing was sent:\n"
                          + "\n".join(edition.refusal() for edition in refused))


NOTHING_DONE = "nothing was sent and the ledger is unchanged"


def open_checked(factory: TransportFactory) -> Transport:
    """The first transport of a run; one that cannot even open (a refused login, no server)
    refuses the whole send."""
    try:
        return factory()
    except StopEverything as exc:
        raise SendRefused(f"{exc}; {NOTHING_DONE}") from None


def preflight(config: SendConfig, transport: Transport, editions: Mapping[str, EmailEdition],
              ) -> tuple[float, int | None]:
    """Check what would fail for every message, before any ledger row is frozen or claimed: the
    secret (strong for any transport but the outbox), one message per language, the transport's
    credentials and quota. Return (messages per second, messages left today)."""
    for edition in editions.values():
        check_secret_for(transport.name, edition.signer)
    for lang, edition in editions.items():
        try:
            edition.message_for(Recipient(0, edition.sender.from_address, "", lang))
        except NewsletterError as exc:
            raise SendRefused(f"the {lang} email cannot be built ({masked_error(exc)}); "
                              f"{NOTHING_DONE}") from None
    try:
        rate, remaining = transport_rate(config, transport)
    except StopEverything as exc:
        raise SendRefused(f"{exc}; {NOTHING_DONE}") from None
    if remaining is not None and remaining <= 0 and config.limit != 0:
        raise SendRefused(f"the SES daily sending quota is used up; {NOTHING_DONE}: run send "
                          "again when the last 24 hours allow more")
    return rate, remaining
