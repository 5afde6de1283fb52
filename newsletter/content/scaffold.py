"""`publish.py new`: scaffold the next issue in every required language (and any optional one
asked for), with the headings of `[new]` in each language's wording file."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, StrictUndefined, UndefinedError

from newsletter.errors import NewsletterError
from newsletter.settings import Settings
from newsletter.wording import load_wording

from .issues import SLUG_RE, Corpus


class IssueExists(NewsletterError):
    """The folder for the new issue is already there."""


SCAFFOLD = """---
number: {{ number }}
title: "{{ t.title }}"
date: {{ date.isoformat() }}
summary: "{{ t.summary }}"
status: draft
tags: []
countries: []
---
{% for heading in t.sections %}
## {{ heading }}

{{ t.placeholder }}

{% endfor %}
"""


def next_slug(corpus: Corpus, issues_dir: Path, date: dt.date) -> str:
    """`YYYY-MM` of the date, with -2, -3… if that month already has an issue."""
    base = date.strftime("%Y-%m")
    taken = {i.slug for i in corpus.issues} | (
        {p.name for p in issues_dir.iterdir()} if issues_dir.is_dir() else set()
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def scaffold_issue(
    settings: Settings, corpus: Corpus, date: dt.date, slug: str | None = None,
    also: Sequence[str] = (),
) -> list[Path]:
    """Write `issues/<slug>/<lang>.md` for every required language and the optional ones in
    `also`; return the files written."""
    site = settings.site
    unknown = [lang for lang in also if lang not in site.languages]
    if unknown:
        raise NewsletterError(
            f"--lang {unknown[0]}: not an offered language ({', '.join(site.languages)}); "
            "add it to [site] languages first")
    languages = [lang for lang in site.languages
                 if lang in site.required_languages or lang in also]
    issues_dir = settings.path(settings.build.issues_dir)
    slug = slug or next_slug(corpus, issues_dir, date)
    if not SLUG_RE.match(slug):
        raise NewsletterError(
            f"{slug!r} is not a valid issue name: use a-z, 0-9 and - (e.g. 2026-12)")
    folder = issues_dir / slug
    if folder.exists():
        raise IssueExists(f"{folder} already exists: choose another --slug")
    number = max((i.number for i in corpus.issues), default=0) + 1
    templates_dir = settings.path(settings.build.templates_dir)
    wording = load_wording(templates_dir, site.languages)
    environment = Environment(undefined=StrictUndefined, keep_trailing_newline=True)
    template = environment.from_string(SCAFFOLD)
    texts = {}
    for lang in languages:
        try:
            texts[lang] = template.render(number=number, date=date,
                                          t=wording.section(lang, "new"))
        except UndefinedError as exc:
            raise NewsletterError(f"{wording.file(lang)}: [new] {exc.message}") from None
    # Everything is rendered before the folder is made, so a failure leaves nothing half-written.
    (folder / "images").mkdir(parents=True)
    written = []
    for lang, text in texts.items():
        path = folder / f"{lang}.md"
        path.write_text(re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n", encoding="utf-8")
        written.append(path)
    return written
