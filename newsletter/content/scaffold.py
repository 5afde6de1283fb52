"""`publish.py new`: scaffold the next issue in every configured language."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from jinja2 import Environment, StrictUndefined, UndefinedError

from newsletter.errors import NewsletterError
from newsletter.settings import Settings
from newsletter.wording import load_interface_words

from .issues import SLUG_RE, Corpus


class IssueExists(NewsletterError):
    """The folder for the new issue is already there."""


SCAFFOLD = """---
number: {{ number }}
title: "{{ t.new_title }}"
date: {{ date.isoformat() }}
summary: "{{ t.new_summary }}"
status: draft
tags: []
countries: []
---
{% for heading in t.new_sections %}
## {{ heading }}

{{ t.new_placeholder }}

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
    settings: Settings, corpus: Corpus, date: dt.date, slug: str | None = None
) -> list[Path]:
    """Write `issues/<slug>/<lang>.md` for every language; return the files written."""
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
    strings = load_interface_words(templates_dir, settings.site.languages)
    environment = Environment(undefined=StrictUndefined, keep_trailing_newline=True)
    template = environment.from_string(SCAFFOLD)
    try:
        texts = {lang: template.render(number=number, date=date, t=strings[lang])
                 for lang in settings.site.languages}
    except UndefinedError as exc:
        raise NewsletterError(
            f"templates/strings.toml: {exc.message} (add it for every language)") from None
    # Everything is rendered before the folder is made, so a failure leaves nothing half-written.
    (folder / "images").mkdir(parents=True)
    written = []
    for lang, text in texts.items():
        path = folder / f"{lang}.md"
        path.write_text(re.sub(r"\n{3,}", "\n\n", text).rstrip() + "\n", encoding="utf-8")
        written.append(path)
    return written
