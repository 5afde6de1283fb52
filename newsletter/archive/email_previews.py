"""Each issue's email per offered language, rendered on request for the preview's `/_email/`."""

from __future__ import annotations

import dataclasses
import html
from typing import TYPE_CHECKING

from newsletter.settings import Settings

if TYPE_CHECKING:
    from newsletter.content import Corpus


class EmailPreviews:
    """Each issue's email per offered language, rendered on request for a sample subscriber.

    `local_url` (the preview's own address, set when it listens) replaces the archive's public
    URL in the emails, so their images and links come from this computer, not production.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.local_url: str | None = None

    def _corpus(self) -> Corpus:
        from newsletter.content import load_corpus

        return load_corpus(self.settings)

    def _local_settings(self) -> Settings:
        if self.local_url is None:
            return self.settings
        site = dataclasses.replace(self.settings.site, base_url=self.local_url)
        return self.settings.replace(site=site)

    def index(self) -> str:
        """An HTML list of every issue's emails (drafts included: they are previews), one per
        offered language: the edition its readers get, marked when it is another language's."""
        settings = self.settings
        rows = []
        for issue in self._corpus().issues:
            links = []
            for lang in settings.site.languages:
                edition = settings.edition_for(lang, issue.editions)
                if edition is None:
                    continue
                note = "" if edition == lang else f" [the {edition} edition]"
                links.append(f'<a href="/_email/{issue.slug}/{lang}.html">{lang} HTML</a> '
                             f'(<a href="/_email/{issue.slug}/{lang}.txt">text</a>){note}')
            title = html.escape(next(iter(issue.editions.values())).title)
            rows.append(f"<li><strong>{issue.slug}</strong> — {title}: {' · '.join(links)}</li>")
        return ("<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\">"
                "<title>Email editions</title><h1>Email editions</h1><ul>"
                + "".join(rows) + "</ul></html>")

    def render(self, slug: str, lang: str, kind: str) -> tuple[str, str] | None:
        """(body, content type) of the HTML or text email the readers of `lang` get, or None if
        there is none."""
        from newsletter.mail import render_email_preview

        settings = self.settings
        issue = self._corpus().find(slug)
        if issue is None or lang not in settings.site.languages or kind not in ("html", "txt"):
            return None
        if settings.edition_for(lang, issue.editions) is None:
            return None
        html_part, text_part = render_email_preview(self._local_settings(), issue, lang)
        if kind == "html":
            return html_part, "text/html; charset=utf-8"
        return text_part, "text/plain; charset=utf-8"
