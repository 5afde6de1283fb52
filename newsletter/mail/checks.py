"""The email checks `check` runs: every email edition rendered as a sample subscriber gets it.

An error when the HTML part is over `[email] html_budget_bytes` (Gmail clips larger messages), a
warning for every link or image that is not HTTPS and for SVG images (Gmail and Outlook do not
show them), and an `info` line with the sizes of each edition; each located in the edition's
file where the body holds the culprit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from newsletter.content import Corpus, Issue, Problem, display_path
from newsletter.errors import NewsletterError
from newsletter.settings import Settings

from .editions import render_email_edition, sample_recipient

_INSECURE_URL_RE = re.compile(r'\s(?:href|src)="(http://[^"]+)"')
_SVG_IMAGE_RE = re.compile(r'<img\s[^>]*?src="([^"]+\.svg)"', re.IGNORECASE)


def _source_line(issue: Issue, lang: str, needle: str) -> int:
    """The file line where `needle` appears in the edition's body, or 0 (not in the body)."""
    edition = issue.editions[lang]
    for offset, line in enumerate(edition.body.split("\n")):
        if needle in line:
            return edition.body_line + offset
    return 0


def _kb(size: int) -> str:
    return f"{size / 1000:.1f} KB"


def email_problems(
    settings: Settings, corpus: Corpus, slugs: Iterable[str] | None = None
) -> list[Problem]:
    """What `check` reports about the email editions (all issues, or only `slugs`).

    An error when the HTML part is over the budget (Gmail clips larger messages), a warning for
    every link or image that is not HTTPS and for SVG images (Gmail and Outlook do not show
    them), and an `info` line with the sizes of each edition.
    """
    wanted = set(slugs) if slugs is not None else None
    budget = settings.email.html_budget_bytes
    signer = settings.signer()
    problems: list[Problem] = []
    for issue in corpus.issues:
        if wanted is not None and issue.slug not in wanted:
            continue
        published = issue.published()
        for lang, source_edition in issue.editions.items():
            source = display_path(source_edition.path, settings.root)
            # Each edition as it is sent ("also in" names only published editions); a draft
            # optional one is checked too, as the preview shows it.
            sent = published if lang in published.editions else issue
            try:
                edition = render_email_edition(settings, sent, lang, signer)
            except NewsletterError as exc:
                problems.append(Problem(source, 0, f"email edition: {exc}"))
                continue
            sample = sample_recipient(settings, lang)
            html, _ = edition.personalise(sample)
            html_size = len(html.encode("utf-8"))
            sent_at = source_edition.published_at(settings.site.zone)
            total = len(edition.message_for(sample, now=sent_at))
            if html_size > budget:
                problems.append(Problem(
                    source, 0,
                    f"the email's HTML is {_kb(html_size)}, over the {_kb(budget)} budget: Gmail "
                    "clips it and hides the unsubscribe link; shorten the issue or link to the "
                    "web archive for long items",
                ))
            problems.append(Problem(
                source, 0,
                f"email ({lang}): HTML {_kb(html_size)} of {_kb(budget)}, "
                f"whole message {_kb(total)}",
                "info",
            ))
            for url in sorted(set(_INSECURE_URL_RE.findall(html))):
                line = _source_line(issue, lang, url)
                where = source if line else display_path(
                    settings.path(settings.build.templates_dir) / "email.html", settings.root
                )
                problems.append(Problem(
                    where, line, f"the email links to {url} over plain http: use https://",
                    "warning",
                ))
            for url in sorted(set(_SVG_IMAGE_RE.findall(html))):
                name = url.rsplit("/", 1)[-1]
                problems.append(Problem(
                    source, _source_line(issue, lang, name),
                    f"Gmail and Outlook do not show SVG images ({name}): readers of the email "
                    "see only its alt text; use a PNG or JPEG version",
                    "warning",
                ))
    return sorted(problems)
