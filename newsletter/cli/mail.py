"""`email`: write one email edition as a complete .eml message, for an editor's mail client."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from newsletter.errors import NewsletterError
from newsletter.settings import Settings


class OutputError(NewsletterError):
    """The message could not be written where asked."""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the `email` command."""
    p = sub.add_parser(
        "email",
        help="write one issue's email edition as a complete message (.eml) for a sample subscriber",
        description="Render ISSUE's email edition in one language and write the complete message "
        "(headers, text and HTML parts, sample unsubscribe links) to a file that any mail "
        "client opens. Nothing is sent.",
    )
    p.add_argument("issue", metavar="ISSUE", help="the issue's folder name (2026-11) or number")
    p.add_argument("--lang", help="the readers' language (default: [site] default_language); "
                   "for a language the issue is not written in, the email its readers get: the "
                   "fallback edition with their own words")
    p.add_argument("--to-file", metavar="FILE", type=Path, required=True,
                   help="where to write the message, e.g. out.eml")
    p.add_argument("--subject-prefix", default="", metavar="TEXT",
                   help="text put before the subject, e.g. '[TEST] '")
    p.set_defaults(handler=cmd_email)


def cmd_email(args: argparse.Namespace, settings: Settings) -> int:
    """Render one email edition and write it for the sample subscriber."""
    from newsletter.content import load_corpus
    from newsletter.mail import render_email_edition, sample_recipient

    lang = args.lang or settings.site.default_language
    if lang not in settings.site.languages:
        raise NewsletterError(
            f"--lang {lang}: not one of the offered languages "
            f"({', '.join(settings.site.languages)})"
        )
    issue = load_corpus(settings).get(args.issue).published()  # what its readers would get
    edition_lang = settings.edition_for(lang, issue.editions)
    if edition_lang is None:
        raise NewsletterError(f"issue {issue.slug} has no edition its {lang} readers can get")
    edition = render_email_edition(settings, issue, edition_lang, reader=lang)
    message = edition.message_for(sample_recipient(settings, lang),
                                  subject_prefix=args.subject_prefix)
    try:
        args.to_file.write_bytes(message)
    except OSError as exc:
        raise OutputError(f"{args.to_file}: cannot write the message ({exc.strerror})") from None
    html_size = len(edition.personalise(sample_recipient(settings, lang))[0].encode("utf-8"))
    budget = settings.email.html_budget_bytes
    shown = lang if edition_lang == lang else f"{lang}, the {edition_lang} edition"
    print(f"Wrote {args.to_file} ({issue.slug}, {shown}): {len(message) / 1000:.1f} KB, "
          f"HTML {html_size / 1000:.1f} KB of {budget / 1000:.0f} KB.")
    return 0
