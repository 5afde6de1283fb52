"""Running it for years: `backup`, `restore` and `status` (the operator's commands)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from newsletter.settings import Settings

if TYPE_CHECKING:
    from newsletter.delivery import OperatorStatus

EXIT_OK, EXIT_ATTENTION = 0, 1


def size(count: int) -> str:
    """A file size as people read it: 812 B, 4.9 kB, 12.3 MB."""
    if count < 1000:
        return f"{count} B"
    if count < 1_000_000:
        return f"{count / 1000:.1f} kB"
    return f"{count / 1_000_000:.1f} MB"


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the `backup`, `restore` and `status` commands."""
    p = sub.add_parser(
        "backup", help="back up the subscribers' database (consent records, suppressions, "
        "ledgers) to a folder or S3",
        description="Take a consistent copy of the subscribers' database with SQLite's online "
        "backup API (serve and send may keep running), check its integrity, compress it, name it "
        "with its time and checksum, and store it in a folder (files 0600) or an S3 prefix "
        "(server-side encrypted). The newest [backup] keep backups there stay; older ones are "
        "removed.",
    )
    p.add_argument("--to", metavar="PLACE",
                   help="a folder, or s3://bucket/prefix/ (default: [backup] to)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing unless it fails (for cron)")
    p.set_defaults(handler=cmd_backup)

    p = sub.add_parser(
        "restore", help="replace the subscribers' database with a checked backup",
        description="Fetch a backup (a file or S3 object; or a folder or S3 prefix, whose newest "
        "backup is taken), check its checksum, PRAGMA integrity_check and schema version, and "
        "replace the subscribers' database with it. Refuses while another process has the "
        "database open (stop serve and the cron lines first) and, without --force, when there "
        "is a database; the replaced one is kept beside it. `send --due` will not start or "
        "resume on its own an issue the restored copy may have mailed after the backup.",
    )
    p.add_argument("source", metavar="SOURCE",
                   help="a backup file, a folder of backups, s3://bucket/key or s3://bucket/prefix/")
    p.add_argument("--force", action="store_true",
                   help="replace an existing database (it is kept as <name>.replaced-<time>)")
    p.set_defaults(handler=cmd_restore)

    p = sub.add_parser(
        "status", help="how things stand: due issues, campaigns, runs, rates, backups; exit 1 "
        "when something needs a person",
        description="One screen for the operator: scheduled issues and their approvals, "
        "campaigns in progress, rows unknown or deferred, the last send run, bounce and "
        "complaint rates of the last 30 days against SES's review levels (5%% and 0.1%%), "
        "pending confirmations, the unsubscribe mailbox and the age of the last backup. Exits 1 "
        "when something needs a person.",
    )
    p.add_argument("--json", action="store_true", help="print the status as JSON (monitoring)")
    p.set_defaults(handler=cmd_status)


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """Take one backup and say where it went."""
    from newsletter.subscribers import backup_database

    path = settings.path(settings.subscribers.database)
    backup = backup_database(path, args.to or settings.backup.to, settings.root, settings.backup)
    if not args.quiet:
        print(f"Backed up {settings.subscribers.database} to {backup.location}: "
              f"{size(backup.bytes)} ({size(backup.database_bytes)} before compression), "
              f"integrity ok, schema {backup.schema_version}, in {backup.seconds:.1f}s.")
        if backup.removed:
            print(f"Removed {len(backup.removed)} older backup(s), keeping the newest "
                  f"{settings.backup.keep}.")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Restore a backup, then say what the restored database holds."""
    from newsletter.delivery import Ledger, holdings
    from newsletter.subscribers import SubscriberStore, restore_backup

    path = settings.path(settings.subscribers.database)
    restored = restore_backup(path, args.source, settings.root, settings.backup,
                              force=args.force)
    taken = restored.taken_at.strftime("%Y-%m-%d %H:%M UTC") if restored.taken_at else "unknown"
    print(f"Restored {settings.subscribers.database} from {restored.source} (taken {taken}; "
          f"integrity ok; schema {restored.schema_version}"
          + (f", migrated to {restored.migrated_to}" if restored.migrated_to !=
             restored.schema_version else "") + ").")
    if restored.kept:
        print(f"The database it replaced is kept as {restored.kept.name}.")
    with SubscriberStore.open(settings) as store:
        held = holdings(store, Ledger.beside(store))
    counts = held["subscribers"]
    print("Subscribers: " + ", ".join(f"{n} {status}" for status, n in counts.items())
          + f"; {held['suppressed']} addresses suppressed.")
    event = held["last_event"]
    print("Last event: " + (f"{event['at']} ({event['status']}: {event['reason']})" if event
                            else "none"))
    if held["campaigns"]:
        print("Campaigns: " + "; ".join(
            f"{c['issue']} {c['state']}, {c['sent']} of {c['audience']} sent"
            for c in held["campaigns"]))
    else:
        print("Campaigns: none")
    print("`send --due` will not start or resume on its own an issue this copy may have mailed "
          "after the backup: `publish.py status` lists them.")
    return EXIT_OK


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """Print the status (or JSON); exit 1 when something needs a person."""
    from newsletter.content import load_corpus
    from newsletter.delivery import Ledger, operator_status
    from newsletter.subscribers import SubscriberStore

    corpus = load_corpus(settings)
    with SubscriberStore.open(settings) as store:
        status = operator_status(settings, corpus, store, Ledger.beside(store),
                                 dt.datetime.now(dt.UTC))
    if args.json:
        print(json.dumps(status.as_json(), indent=2, sort_keys=True, ensure_ascii=False))
    else:
        _print_status(status)
    return EXIT_ATTENTION if status.needs_attention else EXIT_OK


def _print_status(status: OperatorStatus) -> None:
    print(f"ANNAobserva status, {status.generated_at}")
    print("Scheduled issues:" if status.issues else "Scheduled issues: none ahead")
    for item in status.issues:
        approvals = ", ".join(f"{lang} {state}" for lang, state in item.approvals.items())
        print(f"  {item.issue}  {item.send_at}  {item.decision}: {item.reason} [{approvals}]")
    print("Campaigns in progress:" if status.campaigns else "Campaigns in progress: none")
    for campaign in status.campaigns:
        languages = ", ".join(f"{lang} {f.sent}/{f.audience}"
                              for lang, f in campaign.languages.items())
        print(f"  {campaign.issue}: {campaign.total('sent')} of {campaign.audience} sent "
              f"({languages}); {campaign.total('unknown')} unknown, "
              f"{campaign.total('deferred')} deferred")
    if status.sending_now:
        holder = status.sending_now
        print(f"Sending now: {holder.issue} (pid {holder.pid} on {holder.host}, since "
              f"{holder.acquired_at})")
    run = status.last_run
    if run is None:
        print("Last send run: none")
    else:
        ended = {"running": "still running", "died": "ended without a word (killed?)"}.get(
            status.last_run_state, f"ended {run.ended_at}: {run.outcome}")
        print(f"Last send run: {run.issue}, started {run.started_at}, {ended}"
              + (f" ({run.detail})" if run.detail else "")
              + f"; sent {run.sent}, deferred {run.deferred}, rejected {run.rejected}, "
                f"unknown {run.unknown}.")
    rates = status.rates
    print(f"Last 30 days: {rates.sent} sent; bounce rate {rates.bounce_rate:.2%} (SES reviews "
          f"at 5%), complaint rate {rates.complaint_rate:.2%} (SES reviews at 0.1%).")
    queue = status.confirmation_queue
    print(f"Pending confirmations: {status.pending_confirmations}"
          + (f" (oldest asked {status.oldest_pending})" if status.oldest_pending else "")
          + f"; queued: {queue['sign_ups']} sign-ups to decide, {queue['emails']} emails to send"
          + (f", {queue['failed']} failed for good" if queue["failed"] else "") + ".")
    print(f"Unsubscribe mailbox, last 30 days: {status.mailbox['unsubscribed']} unsubscribed "
          f"by email, {status.mailbox['kept']} kept for a person.")
    backup = status.last_backup
    if backup is None:
        print("Last backup: none")
    else:
        print(f"Last backup: {status.backup_age_hours:.1f} hours ago, {backup.location}"
              + (f" ({size(backup.bytes)})." if backup.bytes else "."))
    if status.restored:
        print(f"This database was restored on {status.restored.at} from "
              f"{status.restored.source}.")
    if status.needs_attention:
        print("Needs a person:")
        for item in status.needs_attention:
            print(f"  - {item}")
    else:
        print("Nothing needs a person.")
