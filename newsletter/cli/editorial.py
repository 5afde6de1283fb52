"""Editors' commands: new, check, approve, build, preview, and `demo` (what `make run` does)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.archive import BuildReport, build_site
from newsletter.content import load_corpus
from newsletter.errors import CheckFailed
from newsletter.settings import Settings

if TYPE_CHECKING:
    from newsletter.archive import PreviewServer


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the editorial commands."""
    p = sub.add_parser("new", help="scaffold the next issue in every required language",
                       description="Create issues/<slug>/<lang>.md for every language in [site] "
                       "required_languages (and each optional one given with --lang), with the "
                       "next number, today's date and section headings, as a draft.")
    p.add_argument("--slug", help="the issue folder name (default: YYYY-MM of --date)")
    p.add_argument("--lang", action="append", default=[], metavar="LANG",
                   help="also scaffold this optional language (repeat for more), e.g. --lang pt")
    p.add_argument("--date", type=_date, help="publication date YYYY-MM-DD (default: today)")
    p.set_defaults(handler=cmd_new)

    p = sub.add_parser("check", help="validate every issue and report problems as path:line",
                       description="Check front matter, translations, links, images, unsafe HTML "
                       "and email budgets. Exits 1 when there is an error; warnings alone exit 0.")
    p.add_argument("--no-email", action="store_true",
                   help="skip the email checks (rendering every email edition takes longer)")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser(
        "approve", help="record who approved an issue's edition for sending (approvals.toml)",
        description="Record in issues/<ISSUE>/approvals.toml that NAME approved the edition in "
        "LANG as it is now (its content hash: front matter a reader sees, body and images). "
        "Commit the file with the issue. While [delivery] require_approval is on, send refuses "
        "an edition with no approval or changed since its latest one.",
    )
    p.add_argument("issue", metavar="ISSUE", help="the issue's folder name (2026-11) or number")
    p.add_argument("--lang", action="append", required=True, metavar="LANG",
                   help="the edition approved (repeat for several: --lang es --lang en)")
    p.add_argument("--by", required=True, metavar="NAME", help="who approves it")
    p.set_defaults(handler=cmd_approve)

    p = sub.add_parser("build", help="build the web archive and RSS feeds into _site/",
                       description="Build the bilingual archive, feeds and sitemap. Incremental, "
                       "deterministic and atomic: a failed build leaves the previous site intact.")
    p.add_argument("--drafts", action="store_true",
                   help="include drafts and issues dated in the future")
    p.add_argument("--output", type=Path,
                   help="build into this folder instead of [build] output_dir")
    p.add_argument("--today", type=_date, help="the date to build as (default: today)")
    p.set_defaults(handler=cmd_build)

    p = sub.add_parser("preview", help="serve the archive and emails locally, rebuilding on change",
                       description="Serve the site on localhost with live reload; every change "
                       "under issues/, templates/ or newsletter.toml rebuilds it (a changed "
                       "newsletter.toml is read again). Emails are at /_email/<issue>/<lang>.html "
                       "and .txt, for the readers of every offered language, with local images.")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--drafts", action="store_true",
                   help="include drafts (built into .cache/preview-site, never into _site/)")
    p.set_defaults(handler=cmd_preview)

    p = sub.add_parser("demo", help="what `make run` does: build the samples and deliver the "
                       "latest issue to the demo subscribers in the demo's outbox",
                       description="Build the sample issues into _site/, import the demo "
                       "subscribers (fake example.org addresses) into demo/subscribers.db and "
                       "deliver the latest issue into demo/outbox/. Your own subscribers and "
                       "outbox are never touched.")
    p.set_defaults(handler=cmd_demo)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _today(args: argparse.Namespace) -> dt.date:
    return getattr(args, "today", None) or getattr(args, "date", None) or dt.date.today()


def cmd_new(args: argparse.Namespace, settings: Settings) -> int:
    """Scaffold the next issue."""
    from newsletter.content import scaffold_issue

    corpus = load_corpus(settings)
    files = scaffold_issue(settings, corpus, args.date or dt.date.today(), args.slug,
                           also=args.lang)
    for path in files:
        print(f"created {_shown(path, settings)}")
    print("Write the issue, then run `python publish.py check` and `python publish.py preview`.")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """Report every problem; exit 1 if any is an error."""
    from newsletter.archive import build_checks
    from newsletter.content import approval_problems

    corpus = load_corpus(settings)
    problems = list(corpus.problems) + build_checks(settings, corpus)
    problems += approval_problems(corpus, settings.root, settings.delivery.require_approval)
    if not args.no_email:
        from newsletter.mail import email_problems  # the slow part: every email edition

        problems += email_problems(settings, corpus)
    problems = sorted(set(problems))
    for problem in problems:
        print(problem)
    errors = sum(p.is_error for p in problems)
    warnings = sum(p.severity == "warning" for p in problems)
    editions = sum(len(i.editions) for i in corpus.issues)
    print(f"{len(corpus.issues)} issues, {editions} editions: "
          f"{errors} error(s), {warnings} warning(s)")
    if errors:
        raise CheckFailed(f"{errors} error(s): fix them and run check again")
    return 0


def cmd_approve(args: argparse.Namespace, settings: Settings) -> int:
    """Record an approval of one or more editions."""
    from newsletter.content import approve

    corpus = load_corpus(settings)
    issue = corpus.get(args.issue)
    errors = corpus.errors_of(issue.slug)
    if errors:
        raise CheckFailed(f"issue {issue.slug} has errors; fix them before approving it:\n"
                          + "\n".join(str(p) for p in errors))
    for approval in approve(issue, args.lang, args.by, dt.datetime.now(dt.UTC)):
        path = _shown(issue.editions[approval.lang].path, settings)
        print(f"Approved {path} for sending: by {approval.said()}, content "
              f"{approval.content[:23]}…")
    print(f"Recorded in {_shown(issue.folder / 'approvals.toml', settings)}: commit it with "
          "the issue.")
    return 0


def _report_build(report: BuildReport, settings: Settings) -> None:
    where = _shown(report.output, settings)
    if report.unchanged:
        print(f"Nothing changed: {where}/ is up to date "
              f"({report.issues} issues, {report.editions} editions).")
    else:
        print(f"Built {report.issues} issues ({report.editions} editions) into {where}/: "
              f"{report.files} files, {len(report.written)} written, "
              f"{report.files - len(report.written)} unchanged, {len(report.removed)} removed; "
              f"{report.converted} editions converted.")
        _report_search(report)
    for warning in report.warnings:
        print(warning)


def _report_search(report: BuildReport) -> None:
    search = report.search
    if search is None:
        return
    parts = []
    if search.refreshed:
        parts.append(f"{', '.join(search.refreshed)} refreshed in {search.seconds:.2f} s "
                     f"({search.pages} pages)")
    if search.kept:
        parts.append(f"{', '.join(search.kept)} unchanged")
    if search.stale:
        parts.append(f"{', '.join(search.stale)} not refreshed yet")
    if parts:
        print(f"Search index: {'; '.join(parts)}.")


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    """Build the site."""
    report = build_site(settings, today=_today(args), drafts=args.drafts, output=args.output)
    _report_build(report, settings)
    # Served, not opened file by file: the pages link each other from the site's root.
    print(f"Look at it with `{_command()} preview` (then http://127.0.0.1:8000/).")
    return 0


def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    """Serve with live reload until Ctrl-C."""
    from newsletter.archive import serve_forever

    server = make_preview(settings, args.host, args.port, args.drafts, config=Path(args.config))
    print(f"Serving {_shown(server.site_dir, settings)}/ at {server.url} (Ctrl-C stops).")
    print(f"Email editions: http://{args.host}:{server.httpd.server_address[1]}/_email/")
    try:
        serve_forever(server)
    except KeyboardInterrupt:
        print("Stopped.")
    return 0


def make_preview(settings: Settings, host: str, port: int, drafts: bool, poll: float = 0.3,
                 config: Path | None = None) -> PreviewServer:
    """A PreviewServer building like `build` (drafts go to a separate folder) and reading the
    settings file (`config`, default the project's newsletter.toml) again when it changes."""
    from newsletter.archive import EmailPreviews, PreviewServer
    from newsletter.settings import SETTINGS_FILE, load_settings

    config = config or settings.root / SETTINGS_FILE

    def output_for(current: Settings) -> Path | None:
        return current.path(current.build.cache_dir) / "preview-site" if drafts else None

    def build(current: Settings, search: bool = False) -> Path:
        """Pages first (search=False); the watcher then refreshes the search index apart."""
        report = build_site(current, today=dt.date.today(), drafts=drafts,
                            output=output_for(current), search=search)
        return report.output

    return PreviewServer(settings, build, host=host, port=port, poll_interval=poll,
                         emails=EmailPreviews(settings), site_dir=output_for(settings),
                         config=config, reload=lambda: load_settings(config))


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Build the samples and deliver the latest issue to the demo subscribers' outbox."""
    from newsletter.delivery import deliver_demo, demo_settings

    report = build_site(settings, today=dt.date.today())
    _report_build(report, settings)
    for line in deliver_demo(settings):
        print(line)
    # The pages link each other from the site's root (/static/…, /es/…), so a browser shows them
    # as they will look only when served: the preview, not the files opened one by one.
    print(f"Look at: the archive, built into {_shown(report.output, settings)}/, with "
          f"`{_command()} preview` (then http://127.0.0.1:8000/; the emails are there too, under "
          f"/_email/); the delivered emails in {demo_settings(settings).delivery.outbox_dir}/new/ "
          "(one .eml file each; the demo's subscribers and outbox are in demo/, apart from yours).")
    return 0


def _command() -> str:
    """This program as the user would type it again (`.venv/bin/python publish.py`)."""
    if sys.argv and Path(sys.argv[0]).name == "annaobserva":  # the installed script
        return "annaobserva"
    executable = Path(sys.executable)
    try:
        shown = str(executable.relative_to(Path.cwd()))
    except ValueError:
        shown = "python"
    return f"{shown} publish.py"


def _shown(path: Path, settings: Settings) -> str:
    try:
        return str(Path(path).resolve().relative_to(settings.root))
    except ValueError:
        return str(path)
