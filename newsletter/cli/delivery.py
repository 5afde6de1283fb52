"""Delivery commands: `send` (an issue, or every due one), `report`, `bounces` (with the
unsubscribe mailbox)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from newsletter.addresses import mask_email
from newsletter.errors import IssueError, NewsletterError
from newsletter.settings import Settings

if TYPE_CHECKING:
    from newsletter.content import Issue
    from newsletter.delivery import Ledger, Progress, SendSummary
    from newsletter.mail import Transport
    from newsletter.subscribers import SubscriberStore
    from newsletter.tokens import Signer

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the `send`, `report` and `bounces` commands."""
    p = sub.add_parser(
        "send", help="deliver an issue to its confirmed subscribers, each in their language",
        description="Deliver ISSUE to every confirmed subscriber in their language, through the "
        "configured transport. The audience is frozen into a ledger first; running again "
        "resumes where a crash, Ctrl-C or an error burst stopped, and never mails anybody "
        "recorded as sent. What would fail for every message (the secret, an edition that "
        "cannot be built, the transport's login or quota) stops it before the ledger is "
        "touched. Any transport but the outbox needs ANNAOBSERVA_SECRET (32 bytes or more). "
        "An issue whose send_at is still ahead is refused unless --now.",
    )
    p.add_argument("issue", nargs="?", metavar="ISSUE",
                   help="the issue's folder name (2026-11) or number")
    p.add_argument("--due", action="store_true",
                   help="send every ready issue whose send_at has passed (what cron runs)")
    p.add_argument("--dry-run", action="store_true",
                   help="render every message and print the counts per language and member "
                   "state; send nothing")
    p.add_argument("--to", metavar="ADDRESS",
                   help="a test send: the issue in every language to ADDRESS, subject prefixed "
                   "[TEST], kept apart from the campaign")
    p.add_argument("--limit", type=int, metavar="N", help="send at most N messages in this run")
    p.add_argument("--hold-unknown", action="store_true",
                   help="do not resend messages whose outcome is unknown (after a crash or a "
                   "timeout); keep them for the operator")
    p.add_argument("--include-new", action="store_true",
                   help="add subscribers confirmed since the audience was frozen")
    p.add_argument("--retry-rejected", action="store_true",
                   help="send again to the rows that were rejected")
    p.add_argument("--cancel", action="store_true",
                   help="end the campaign: nobody still owed the issue receives it")
    p.add_argument("--now", action="store_true",
                   help="send an issue whose send_at is still ahead now, not at that time")
    p.add_argument("--transport", choices=("outbox", "smtp", "ses"),
                   help="override [delivery] transport for this run")
    p.add_argument("--rate", type=float, metavar="PER_SECOND",
                   help="messages per second (default: [delivery] rate, or the SES quota)")
    p.add_argument("--workers", type=int, metavar="N",
                   help="messages in flight at once (default: [delivery] workers)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="with --due: print nothing when nothing is due (for cron, which mails "
                   "any output)")
    p.set_defaults(handler=cmd_send)

    r = sub.add_parser(
        "report", help="delivery figures of an issue per language and member state",
        description="Audience, sent, rejected, unknown, bounced and complaints per language and "
        "member state, with the bounce and complaint rates against the usual thresholds "
        "(permanent bounces 1 %%, complaints 0.1 %%) and the errors grouped.",
    )
    r.add_argument("issue", metavar="ISSUE", help="the issue's folder name or number")
    r.add_argument("--csv", action="store_true", help="print the table as CSV")
    r.set_defaults(handler=cmd_report)

    b = sub.add_parser(
        "bounces", help="apply SES bounces, complaints and unsubscribe mails from an SQS queue",
        description="Read the SES notifications (SES → SNS → SQS) waiting in QUEUE_URL: "
        "permanent bounces and complaints suppress the address, transient bounces are counted, "
        "and mail to [email] unsubscribe_mailto (SES receiving) unsubscribes its sender by the "
        "signed token in its subject, or by a verified sender address. Each queue message is "
        "deleted only after it is applied; what cannot be acted on (malformed, or an unsubscribe "
        "mail without a valid token or verified sender) is counted and left in the queue, "
        "hidden for six hours, for a person (the queue's dead-letter queue). Exits 1 when "
        "something was left.",
    )
    b.add_argument("--queue-url", required=True, metavar="URL", help="the SQS queue's URL")
    b.add_argument("--endpoint-url", metavar="URL",
                   help="an SQS endpoint other than AWS's (default: [ses] endpoint_url)")
    b.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing unless something was left in the queue (for cron)")
    b.set_defaults(handler=cmd_bounces)


def _find_issue(settings: Settings, ref: str) -> Issue:
    from newsletter.content import load_corpus
    from newsletter.delivery import issue_to_send

    return issue_to_send(load_corpus(settings), ref)


@contextmanager
def progress_bar(enabled: bool, console: Any = None
                 ) -> Iterator[Callable[[Progress], None] | None]:
    """A rich progress bar on stderr fed by the send run's callback (None when disabled)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as Bar

    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    bar = Bar(
        TextColumn("[bold]{task.description}"), BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("sent {task.fields[sent]} · deferred {task.fields[deferred]} · "
                   "rejected {task.fields[rejected]} · unknown {task.fields[unknown]} · "
                   "{task.fields[rate]:.0f}/s"),
        TimeRemainingColumn(), console=console, transient=False,
    )
    task = None

    def update(state: Progress) -> None:
        nonlocal task
        fields: dict[str, Any] = dict(sent=state.sent, deferred=state.deferred,
                                      rejected=state.rejected, unknown=state.unknown,
                                      rate=state.rate)
        if task is None:
            task = bar.add_task("sending", total=state.total, **fields)
        bar.update(task, completed=state.done, **fields)

    with bar:
        yield update


@contextmanager
def _books(settings: Settings) -> Iterator[tuple[SubscriberStore, Ledger]]:
    """The subscriber store and the send ledger beside it, open for one command."""
    from newsletter.delivery import Ledger
    from newsletter.subscribers import SubscriberStore

    with SubscriberStore.open(settings) as store:
        yield store, Ledger.beside(store)


def _transport_factory(settings: Settings, name: str | None) -> Callable[[], Transport]:
    from newsletter.mail import open_transport

    return lambda: open_transport(settings, name)


def cmd_send(args: argparse.Namespace, settings: Settings) -> int:
    """Send one issue (or every due one); print what happened."""
    from newsletter.mail import check_secret_for

    if args.due == bool(args.issue):
        raise NewsletterError("name an ISSUE to send, or --due for every issue that is due")
    if args.limit is not None and args.limit < 1:
        raise NewsletterError("--limit must be 1 or more")
    signer = settings.signer()
    if not (args.dry_run or args.cancel):
        # Links that leave this machine need a strong secret: said at once, even when nothing
        # is due yet (cron would otherwise learn it only on the day an issue is).
        check_secret_for(args.transport or settings.delivery.transport, signer)
    with _books(settings) as (store, ledger):
        if args.due:
            return _send_due(args, settings, signer, store, ledger)
        issue = _find_issue(settings, args.issue)
        if args.cancel:
            if ledger.campaign(issue.slug) is None:
                raise NewsletterError(f"issue {issue.slug} has no campaign to cancel")
            n = ledger.cancel(issue.slug)
            print(f"{issue.slug}: campaign cancelled; {n} subscribers still owed it will not "
                  "receive it.")
            return EXIT_OK
        if args.to:
            return _send_test(args, settings, signer, ledger, issue)
        if args.dry_run:
            return _dry_run(args, settings, signer, store, ledger, issue)
        return _send_one(args, settings, signer, store, ledger, issue)


def _send_test(args: argparse.Namespace, settings: Settings, signer: Signer, ledger: Ledger,
               issue: Issue) -> int:
    from newsletter.delivery import send_test
    from newsletter.mail import render_email_editions

    editions = render_email_editions(settings, issue, signer)
    transport = _transport_factory(settings, args.transport)()
    try:
        results = send_test(ledger, issue, editions, args.to, transport)
    finally:
        transport.close()
    failed = 0
    for lang, outcome, detail in results:
        edition = editions[lang]
        shown = f"{lang}, the {edition.edition_lang} edition" if edition.is_fallback else lang
        print(f"{issue.slug} [{shown}] test to {mask_email(args.to)}: {outcome}"
              + ("" if outcome == "sent" else f" ({detail})"))
        failed += outcome != "sent"
    return EXIT_ERROR if failed else EXIT_OK


def _dry_run(args: argparse.Namespace, settings: Settings, signer: Signer,
             store: SubscriberStore, ledger: Ledger, issue: Issue) -> int:
    from newsletter.delivery import dry_run
    from newsletter.mail import render_email_editions

    result = dry_run(store, ledger, issue, render_email_editions(settings, issue, signer),
                     hold_unknown=args.hold_unknown)
    print(f"{issue.slug}: dry run, nothing sent. {result.rendered} messages rendered"
          + (" (audience not frozen yet)." if result.new_campaign else " (still owed)."))
    print("By language: " + (", ".join(f"{k} {v}" for k, v in result.by_language.items())
                             or "none"))
    print("By member state: " + (", ".join(f"{k} {v}" for k, v in result.by_state.items())
                                 or "none"))
    from newsletter.delivery import fallback_lines

    for line in fallback_lines(result.fallbacks, settings):
        print(line)
    if settings.delivery.require_approval:
        from newsletter.content import ApprovalState, approval_states

        states = approval_states(issue)
        refused = any(s.state is not ApprovalState.APPROVED for s in states.values())
        print("Approval: " + "; ".join(f"{lang} {s.describe()}" for lang, s in states.items())
              + (" (send refuses it until approved)." if refused else "."))
    return EXIT_OK


def _send_one(args: argparse.Namespace, settings: Settings, signer: Signer,
              store: SubscriberStore, ledger: Ledger, issue: Issue,
              quiet_if_running: bool = False) -> int:
    from newsletter.delivery import SendOptions, SendRunning, run_send
    from newsletter.mail import render_email_editions

    options = SendOptions(limit=args.limit, hold_unknown=args.hold_unknown,
                          include_new=args.include_new, retry_rejected=args.retry_rejected,
                          workers=args.workers, rate=args.rate, early=args.now)
    editions = render_email_editions(settings, issue, signer)
    factory = _transport_factory(settings, args.transport)
    try:
        with progress_bar(not args.no_progress) as progress:
            summary = run_send(store, ledger, issue, editions, factory, settings.delivery,
                               options, progress)
    except SendRunning as exc:
        if quiet_if_running:
            print(f"{issue.slug}: {exc}")
            return EXIT_OK
        raise
    code = _print_summary(summary, settings)
    _tell_editors(settings, ledger, issue, summary, factory)
    return code


def _tell_editors(settings: Settings, ledger: Ledger, issue: Issue, summary: SendSummary,
                  factory: Callable[[], Transport]) -> None:
    """The editors' summary of a campaign this run completed; a failure is a warning only."""
    from newsletter.delivery import notify_editors

    notice = notify_editors(settings, ledger, issue, summary, factory)
    if notice is None:
        return
    if notice.sent:
        print(f"Summary sent to the editors ({notice.detail}).")
    else:
        print(f"Warning: the summary to the editors was not sent ({notice.detail}); the "
              "campaign itself is complete.", file=sys.stderr)


def _print_summary(summary: SendSummary, settings: Settings) -> int:
    counts = summary.counts
    owed = counts["queued"] + counts["deferred"] + counts["sending"]
    if summary.already_complete:
        print(f"{summary.issue}: already sent to its audience of {summary.audience}; nothing to "
              f"send ({counts['sent']} sent, {counts['rejected']} rejected). --include-new adds "
              "subscribers confirmed since; --retry-rejected retries the rejected.")
        return EXIT_OK
    print(f"{summary.issue}: this run sent {summary.sent} (deferred {summary.deferred}, rejected "
          f"{summary.rejected}, unknown {summary.unknown}) in {summary.elapsed:.1f}s, "
          f"{summary.rate:.0f}/s.")
    if summary.resent_unknown:
        print(f"{summary.resent_unknown} messages whose outcome was unknown were sent again "
              "with their original Message-ID.")
    from newsletter.delivery import fallback_lines

    for line in fallback_lines(summary.fallbacks, settings):
        print(line)
    state = "complete" if summary.complete else f"{owed} still owed"
    print(f"Campaign: {counts['sent']} of {summary.audience} sent, {counts['rejected']} rejected, "
          f"{counts['unknown']} unknown, {counts['skipped']} no longer subscribed; {state}.")
    if summary.errors and summary.stopped_by == "errors":
        print("Errors, grouped:")
        for text, n in summary.errors:
            print(f"  {n} × {text}")
    if summary.stopped_by in ("transport", "errors"):
        print(f"Error: {summary.stop_reason}", file=sys.stderr)
        return EXIT_ERROR
    if summary.stopped_by == "interrupted":
        print(f"Stopped: {summary.stop_reason}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if summary.stopped_by:
        print(f"Stopped: {summary.stop_reason}.")
    return EXIT_OK


def _send_due(args: argparse.Namespace, settings: Settings, signer: Signer,
              store: SubscriberStore, ledger: Ledger) -> int:
    from newsletter.content import load_corpus
    from newsletter.delivery import DueKind, SendRefused, check_readable, due_issues

    corpus = load_corpus(settings)
    decisions = due_issues(corpus, ledger, dt.datetime.now(dt.UTC),
                           settings.delivery.due_window_days)
    code = EXIT_OK
    due = [d for d in decisions if d.due]
    if not args.quiet:
        for decision in decisions:
            if decision.kind in (DueKind.TOO_OLD, DueKind.RESTORED):  # an operator must act
                print(f"{decision.issue.slug}: {decision.reason}")
        if not due:
            print("No issue is due.")
    refused: list[str] = []
    for decision in due:
        # One issue that cannot go (unreadable, not approved) must not hold back the others;
        # they are all named at the end, in the one `Error:` the command line prints.
        try:
            check_readable(corpus, decision.issue.slug)
            code = max(code, _send_one(args, settings, signer, store, ledger, decision.issue,
                                       quiet_if_running=True))
        except (IssueError, SendRefused) as exc:
            refused.append(str(exc))
    if refused:
        raise NewsletterError("\n".join(refused))
    return code


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Print an issue's delivery figures (a table, or CSV)."""
    from newsletter.delivery import delivery_report

    issue = _find_issue(settings, args.issue)
    with _books(settings) as (_store, ledger):
        report = delivery_report(ledger, issue.slug)
    if args.csv:
        sys.stdout.write(report.csv())
        return EXIT_OK
    c = report.campaign
    status = ("cancelled " + c.cancelled_at if c.cancelled_at else
              "complete " + c.completed_at if c.completed_at else "in progress")
    print(f"{issue.slug}: audience {c.audience} frozen {c.frozen_at}; {status}.")
    header = f"{'lang':<5}{'sent as':<8}{'state':<6}{'audience':>9}{'sent':>7}{'rejected':>9}" \
             f"{'unknown':>8}{'owed':>6}{'bounced':>8}{'complaints':>11}"
    print(header)
    for row in report.rows:
        print(f"{row.lang:<5}{row.edition_lang:<8}{row.member_state:<6}{row.audience:>9}"
              f"{row.sent:>7}{row.rejected:>9}{row.unknown:>8}{row.owed:>6}{row.bounced:>8}"
              f"{row.complaints:>11}")
    totals = [report.total(n) for n in ("audience", "sent", "rejected", "unknown", "owed",
                                        "bounced", "complaints")]
    print(f"{'all':<19}{totals[0]:>9}{totals[1]:>7}{totals[2]:>9}{totals[3]:>8}{totals[4]:>6}"
          f"{totals[5]:>8}{totals[6]:>11}")
    print(f"Bounce rate {report.bounce_rate:.2%} (threshold 1%), complaint rate "
          f"{report.complaint_rate:.2%} (threshold 0.1%).")
    for warning in report.warnings:
        print(f"Warning: {warning}")
    if report.errors:
        print("Errors, grouped:")
        for state, text, n in report.errors:
            print(f"  {n} {state}: {text}")
    if report.test_sends:
        print(f"Test sends (--to), kept apart: {report.test_sends}.")
    return EXIT_OK


def cmd_bounces(args: argparse.Namespace, settings: Settings) -> int:
    """Apply the SES notifications waiting in an SQS queue."""
    from newsletter.delivery import process_queue

    with _books(settings) as (store, ledger):
        result = process_queue(settings, store, ledger, args.queue_url,
                               endpoint_url=args.endpoint_url or settings.ses.endpoint_url or None,
                               signer=settings.signer())
    if args.quiet and not result.left_in_queue:
        return EXIT_OK
    print(f"Applied {result.applied} notifications: {result.permanent} permanent bounces, "
          f"{result.transient} transient, {result.complaints} complaints, "
          f"{result.suppressed} addresses suppressed, {result.unsubscribed} unsubscribed by "
          f"email, {result.other} other events.")
    if result.left_in_queue:
        print(f"Left in the queue for a person: {result.kept} unsubscribe mail(s) nobody can "
              f"act on (no valid token, sender not verified or not a subscriber), "
              f"{result.malformed} malformed notification(s); they come back in six hours and "
              "go to the dead-letter queue after its maxReceiveCount. `-v` logs why, by queue "
              "id.")
    return EXIT_ERROR if result.left_in_queue else EXIT_OK
