"""The operator's commands: `subscribers add|import|export|list|remove|stats|coverage`; `serve`."""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.addresses import mask_email
from newsletter.settings import Settings
from newsletter.subscribers import STATUSES

if TYPE_CHECKING:
    from newsletter.subscribers import ConfirmationSender, SubscriberStore

EXIT_OK = 0
EXIT_ERROR = 1


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the `subscribers` group and the `serve` command."""
    group = sub.add_parser(
        "subscribers",
        help="manage subscribers: add, import, export, list, remove, stats, coverage",
        description="Manage the subscriber store ([subscribers] database in newsletter.toml).",
    )
    commands = group.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)

    p = commands.add_parser(
        "add", help="add one subscriber (sends the confirmation email unless --confirmed)",
        description="Add one subscriber. Without --confirmed they are pending and receive the "
        "double opt-in email; with --confirmed (a liaison designated by their state) say who "
        "designated them with --note: it is their consent record.",
    )
    p.add_argument("email", metavar="EMAIL", help="the email address")
    p.add_argument("--state", required=True, help="member state, ISO 3166-1 alpha-2 (e.g. UY)")
    p.add_argument("--lang", required=True, help="the language they receive (e.g. es)")
    p.add_argument("--name", default="", help="their name")
    p.add_argument("--org", default="", help="their institution or organisation")
    p.add_argument("--confirmed", action="store_true",
                   help="add as confirmed, without a confirmation email (needs --note)")
    p.add_argument("--note", default="", help='the consent record, e.g. "designated by INAU, '
                   'note 123/2026"')
    p.set_defaults(handler=cmd_add)

    p = commands.add_parser(
        "import", help="import subscribers from a CSV file (columns by header)",
        description="Import a CSV file whose header names the columns email, state and "
        "optionally name, organisation, lang. Each bad row is reported as FILE:line: reason and "
        "the good rows are imported, in batches of [subscribers] import_batch rows (the "
        "subscription pages never wait for the whole file). Importing the same file again "
        "changes nothing: rows already present are counted as unchanged. Without --confirmed "
        "each new address is pending and receives the confirmation email. Exits 1 if any row "
        "was bad.",
    )
    p.add_argument("file", type=Path, metavar="FILE.csv", help="the CSV file (UTF-8, , or ;)")
    p.add_argument("--confirmed", action="store_true",
                   help="import as confirmed, without confirmation emails (needs --note)")
    p.add_argument("--note", default="", help="the consent record for every imported row")
    p.add_argument("--lang", default=None,
                   help="language for a file without a lang column (default: the site's default)")
    p.add_argument("--strict", action="store_true",
                   help="check the whole file first and import nothing if any row is bad")
    p.add_argument("--update", action="store_true",
                   help="for subscribers already present with other details, take the file's "
                   "name, organisation, state and language (and, with --confirmed, confirm the "
                   "pending ones); nobody who left is subscribed again")
    p.add_argument("--dry-run", action="store_true",
                   help="check every row and report, but change nothing and send nothing")
    p.set_defaults(handler=cmd_import)

    p = commands.add_parser("export", help="write subscribers as CSV (full addresses)",
                            description="Write the subscribers as CSV to standard output or a "
                            "file only you can read (0600). A cell a spreadsheet would run as a "
                            "formula (=, +, -, @, tab, CR first) is written with a leading '.")
    p.add_argument("--status", choices=STATUSES, help="only subscribers with this status")
    p.add_argument("--output", type=Path, help="write to this file instead of standard output")
    p.set_defaults(handler=cmd_export)

    p = commands.add_parser("list", help="list subscribers (masked addresses unless --full)",
                            description="List subscribers, one a line, oldest first.")
    p.add_argument("--status", choices=STATUSES, help="only subscribers with this status")
    p.add_argument("--lang", help="only subscribers reading this language")
    p.add_argument("--state", help="only subscribers of this member state")
    p.add_argument("--full", action="store_true", help="show whole addresses")
    p.set_defaults(handler=cmd_list)

    p = commands.add_parser(
        "remove", help="erase a subscriber; a salted hash stays on the suppression list",
        description="Erase an address and its history. Only a salted hash of it stays on the "
        "suppression list, so it cannot be re-imported or re-subscribed by mistake.",
    )
    p.add_argument("email", metavar="EMAIL", help="the address to erase")
    p.set_defaults(handler=cmd_remove)

    p = commands.add_parser("stats", help="count subscribers per status and language",
                            description="Count subscribers per status and language, and the "
                            "suppression list.")
    p.set_defaults(handler=cmd_stats)

    p = commands.add_parser(
        "coverage", help="which member states have confirmed subscribers, per language",
        description="Print the member states with their confirmed subscribers per language, "
        "marking those with none, and write the HTML report with a bar chart into "
        "[subscribers] reports_dir.",
    )
    p.add_argument("--names", default="en", help="language of the state names (default en)")
    p.set_defaults(handler=cmd_coverage)

    p = sub.add_parser(
        "serve", help="run the subscription web application (waitress)",
        description="Serve the subscribe form, confirmation, unsubscribe and language pages "
        "with waitress, and send the confirmation emails. Put it behind your HTTPS proxy at "
        "[email] subscription_url and set [serve] trusted_proxy and forwarded_hops. Needs "
        "ANNAOBSERVA_SECRET (32 bytes or more). SIGTERM or Ctrl-C stops it after sending the "
        "queued confirmation emails for up to [serve] drain_seconds; the rest go at the next "
        "start.",
    )
    p.add_argument("--host", help="address to listen on (default: [serve] host)")
    p.add_argument("--port", type=int, help="port to listen on (default: [serve] port)")
    p.set_defaults(handler=cmd_serve)


def _open(settings: Settings) -> SubscriberStore:
    from newsletter.subscribers import SubscriberStore  # registering the commands stays cheap

    return SubscriberStore.open(settings)


def _confirmation_sender(settings: Settings) -> ConfirmationSender:
    """The sender of confirmation emails; refuses a weak secret for a transport other than the
    outbox before anything is written."""
    from newsletter.subscribers import ConfirmationSender

    return ConfirmationSender(settings, settings.signer())


def _send_queued(sender: ConfirmationSender, store: SubscriberStore) -> tuple[int, str]:
    """Send the due confirmation emails of the outbox; (how many were sent, why it stopped)."""
    try:
        result = sender.send_due(store.outbox)
    finally:
        sender.close()
    return result.sent, result.stopped


def _not_sent(reason: str) -> None:
    print(f"Warning: the confirmation email could not be sent now ({reason}); it stays queued "
          "and goes out with `serve`, or with the next `subscribers add` or `import`",
          file=sys.stderr)


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add one subscriber (a pending one with their confirmation email, queued and sent)."""
    with _open(settings) as store:
        candidate = store.validate(args.email, args.state, args.lang, args.name, args.org)
        sender = None if args.confirmed else _confirmation_sender(settings)
        with store.database.transaction():  # the subscriber and their email, together
            subscriber = store.add(
                candidate, status="confirmed" if args.confirmed else "pending", source="admin",
                note=args.note.strip(),
            )
            if sender is not None:
                store.outbox.queue(subscriber.id)
        sent, stopped = _send_queued(sender, store) if sender is not None else (0, "")
    if args.confirmed:
        print(f"added {subscriber.masked} ({subscriber.state}, {subscriber.lang}) as confirmed")
    elif sent:
        print(f"added {subscriber.masked} ({subscriber.state}, {subscriber.lang}) as pending; "
              "confirmation email sent")
    else:
        print(f"added {subscriber.masked} ({subscriber.state}, {subscriber.lang}) as pending; "
              "confirmation email queued")
        _not_sent(stopped or "it was deferred")
    return EXIT_OK


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import a CSV file."""
    from newsletter.subscribers import ImportRejected, import_csv

    sender = None if args.confirmed or args.dry_run else _confirmation_sender(settings)
    with _open(settings) as store:
        try:
            report = import_csv(
                store, args.file, confirmed=args.confirmed, note=args.note,
                strict=args.strict, dry_run=args.dry_run, update=args.update,
                display=str(args.file), default_lang=args.lang or settings.site.default_language,
                batch=settings.subscribers.import_batch,
            )
        except ImportRejected as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            raise
        for problem in report.problems:
            print(problem, file=sys.stderr)
        sent, stopped = (0, "")
        if sender is not None and report.confirmations:
            sent, stopped = _send_queued(sender, store)
    status = "confirmed" if args.confirmed else "pending"
    verb = "would import" if args.dry_run else "imported"
    summary = f"{verb} {report.imported} of {report.rows} rows as {status}"
    if report.unchanged:
        summary += f"; {report.unchanged} already present, unchanged"
    if report.updated:
        summary += f"; {report.updated} {'would be ' if args.dry_run else ''}updated"
    if report.problems:
        summary += f"; {len(report.problems)} bad row(s) reported above"
    if sent:
        summary += f"; sent {sent} confirmation email(s)"
    print(summary)
    if report.confirmations > sent:
        _not_sent(stopped or "some were deferred")
    return EXIT_ERROR if report.problems else EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Export subscribers as CSV."""
    from newsletter.subscribers import export_csv, write_export

    with _open(settings) as store:
        if args.output:
            count = write_export(store, args.output, args.status)
            print(f"exported {count} subscriber(s) to {args.output}", file=sys.stderr)
        else:
            export_csv(store, sys.stdout, args.status)
    return EXIT_OK


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """List subscribers."""
    lang = args.lang.lower() if args.lang else None
    state = args.state.upper() if args.state else None
    count = 0
    with _open(settings) as store:
        for s in store.iter_subscribers(args.status):
            if (lang and s.lang != lang) or (state and s.state != state):
                continue
            email = s.email if args.full else s.masked
            print(f"{s.id:>6}  {email:<32} {s.state}  {s.lang}  {s.status:<12} {s.source:<6} "
                  f"{s.requested_at[:10]}")
            count += 1
    print(f"{count} subscriber(s)")
    return EXIT_OK


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    """Erase a subscriber."""
    with _open(settings) as store:
        found = store.erase(args.email)
    if found:
        print(f"erased {mask_email(args.email.strip())}; only a salted hash stays on the "
              "suppression list")
    else:
        print(f"no subscriber had {mask_email(args.email.strip())}; its salted hash is now on "
              "the suppression list")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    """Count subscribers per status and language."""
    from newsletter.subscribers import retired_note

    with _open(settings) as store:
        counts = store.count_by_status()
        suppressed = store.suppression_count()
        languages = store.counted_languages()
        retired = tuple(lang for lang in languages if lang not in store.languages)
    print(f"{'status':<14}" + "".join(f"{lang + '*' * (lang in retired):>8}"
                                      for lang in languages) + f"{'total':>8}")
    for status in STATUSES:
        row = counts[status]
        print(f"{status:<14}" + "".join(f"{row[lang]:>8}" for lang in languages)
              + f"{sum(row.values()):>8}")
    print(f"{'suppressed':<14}{suppressed:>{8 * (len(languages) + 1)}}")
    if retired:
        print(retired_note(retired))
    return EXIT_OK


def cmd_coverage(args: argparse.Namespace, settings: Settings) -> int:
    """Print the coverage table and write the HTML report."""
    from newsletter.subscribers import (
        coverage_html,
        coverage_table,
        coverage_text,
        write_coverage_report,
    )

    with _open(settings) as store:
        coverage = coverage_table(store, names=args.names)
    print(coverage_text(coverage), end="")
    path = write_coverage_report(settings,
                                 coverage_html(settings, coverage, dt.datetime.now(dt.UTC)))
    print(f"report: {path}")
    return EXIT_OK


@contextmanager
def _sigterm_stops() -> Iterator[None]:
    """SIGTERM (a service manager stopping us) ends `serve` the way Ctrl-C does."""
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the subscription web application with waitress; drain the confirmations on exit."""
    import waitress

    from newsletter.errors import port_in_use
    from newsletter.webapp import make_app, waitress_options

    host = args.host or settings.serve.host
    port = args.port or settings.serve.port
    app = make_app(settings)  # refuses a weak secret before anything starts
    print(f"serving the subscription pages on http://{host}:{port}/ "
          f"(public address: {settings.email.subscription_url}); Ctrl-C stops", flush=True)
    try:
        with _sigterm_stops():
            # waitress ends its loop on KeyboardInterrupt (Ctrl-C, or SIGTERM above).
            waitress.serve(app, host=host, port=port, ident="annaobserva",
                           **waitress_options(settings.serve))
    except OSError as exc:
        raise port_in_use(host, port, exc) from None
    finally:
        drained = app.close()
    print(f"stopped: {drained.sent} confirmation email(s) sent while stopping, {drained.left} "
          "left queued for the next start", flush=True)
    return EXIT_OK
