"""Commands around each issue: `deploy` (the archive to S3) and `gather` (partner news)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.settings import Settings

if TYPE_CHECKING:
    from newsletter.archive import DeployReport

# The partner feed list's default name (`newsletter.content.FEEDS_FILE`; not imported so that
# registering the commands stays cheap for every other command; a test keeps them equal).
FEEDS_FILE = "feeds.toml"

STALE_SHOWN = 5


def register(subparsers: Any) -> None:
    """Add the `deploy` and `gather` commands."""
    deploy = subparsers.add_parser(
        "deploy",
        help="upload the built site to the S3 bucket in [deploy]",
        description="Upload the built site (_site/) to the S3 bucket configured in [deploy]: only "
        "files whose content changed, assets first and pages and feeds last, with their content "
        "types and cache headers.",
    )
    deploy.add_argument(
        "--delete",
        action="store_true",
        help="also delete objects under the prefix that are no longer in the site",
    )
    deploy.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be uploaded and deleted, and change nothing",
    )
    deploy.set_defaults(handler=run_deploy)

    gather = subparsers.add_parser(
        "gather",
        help="collect partner news from feeds.toml into a draft for the next issue",
        description="Read the partner feeds listed in feeds.toml, keep the entries published since "
        "a date, drop duplicates, and write issues/<slug>/news.<lang>.md drafts for the editors "
        "to curate (drafts are not built).",
    )
    gather.add_argument(
        "--issue",
        metavar="SLUG",
        help="the issue to gather for, by slug or number (default: the newest)",
    )
    gather.add_argument(
        "--since",
        metavar="YYYY-MM-DD",
        type=_date,
        help="keep entries published on or after this date (default: the previous issue's date)",
    )
    gather.add_argument(
        "--feeds",
        metavar="FILE",
        default=FEEDS_FILE,
        help=f"the list of partner feeds (default: {FEEDS_FILE} in the project)",
    )
    gather.add_argument(
        "--force",
        action="store_true",
        help="replace existing news drafts (an editor may have curated them)",
    )
    gather.set_defaults(handler=run_gather)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def run_deploy(args: argparse.Namespace, settings: Settings) -> int:
    """Deploy the site and say what changed."""
    from newsletter.archive import deploy_site

    report = deploy_site(settings, delete=args.delete, dry_run=args.dry_run)
    _print_deploy(report)
    return 0


def _print_deploy(report: DeployReport) -> None:
    plan = report.plan
    where = f"s3://{report.bucket}/{report.prefix}"
    for upload in plan.uploads:
        print(f"  upload  {upload.file.path} ({upload.reason})")
    for path in plan.deletes:
        print(f"  delete  {path}")
    if plan.stale:
        shown = ", ".join(plan.stale[:STALE_SHOWN]) + (
            ", …" if len(plan.stale) > STALE_SHOWN else ""
        )
        if len(plan.stale) == 1:
            print(
                f"1 file in the bucket is no longer in the site ({shown}); "
                "deploy --delete removes it."
            )
        else:
            print(
                f"{len(plan.stale)} files in the bucket are no longer in the site ({shown}); "
                "deploy --delete removes them."
            )
    if report.dry_run:
        print(
            f"Dry run: would upload {len(plan.uploads)} files and delete {len(plan.deletes)}; "
            f"{plan.unchanged} unchanged. {where} was not changed."
        )
    elif plan.is_empty:
        print(f"{where} is up to date ({plan.unchanged} files).")
    else:
        print(
            f"Uploaded {len(report.uploaded)} files, deleted {len(report.deleted)}; "
            f"{plan.unchanged} unchanged ({where})."
        )


def run_gather(args: argparse.Namespace, settings: Settings) -> int:
    """Gather partner news into the issue's drafts; exit 1 if every feed failed."""
    from newsletter.content import (
        GatherError,
        default_since,
        gather_news,
        load_corpus,
        load_feed_list,
        write_news_drafts,
    )

    feeds_path = (
        settings.path(args.feeds) if not Path(args.feeds).is_absolute() else Path(args.feeds)
    )
    feeds = load_feed_list(feeds_path)
    corpus = load_corpus(settings)
    if not corpus.issues:
        raise GatherError("there is no issue to gather for: run `publish.py new` first")
    issue = corpus.get(args.issue) if args.issue else corpus.issues[0]
    since = args.since or default_since(corpus, issue)
    gathered = gather_news(feeds, since)
    for outcome in gathered.outcomes:
        for warning in outcome.warnings:
            print(f"warning: feed {outcome.feed.name!r}: {warning}", file=sys.stderr)
        if outcome.error:
            print(f"warning: feed {outcome.feed.name!r} failed: {outcome.error}", file=sys.stderr)
    if len(gathered.failures) == len(gathered.outcomes):
        print(f"Error: every feed in {args.feeds} failed; no draft written", file=sys.stderr)
        return 1
    written = write_news_drafts(issue, gathered, settings.site.languages, args.force, args.feeds)
    for outcome in gathered.outcomes:
        if not outcome.error:
            print(
                f"  {outcome.feed.name}: {len(outcome.items)} kept of {outcome.read} "
                f"({outcome.old} before {since.isoformat()})"
            )
    failures = len(gathered.failures)
    failed = f", {failures} feed{'s' if failures > 1 else ''} failed" if failures else ""
    shown = ", ".join(str(p.relative_to(settings.root)) for p in written)
    print(
        f"Gathered {len(gathered.items)} news items since {since.isoformat()} "
        f"({gathered.duplicates} duplicates dropped{failed}) into {shown}."
    )
    return 0
