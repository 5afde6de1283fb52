"""Render the archive's pages, feeds and sitemap to strings (pure: no files are touched here).

Every page's canonical URL and `hreflang` alternates come from `PageLinks`, and the sitemap is
rendered from the very same list, so the two can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment

from newsletter.content import Edition, Issue, Rendered, absolutize
from newsletter.errors import BuildError
from newsletter.settings import Settings
from newsletter.states import MemberState
from newsletter.templating import native_language_name, trusted_html, trusted_toc
from newsletter.urls import SiteUrls, SubscriptionUrls

from .assets import Asset


@dataclass(frozen=True, slots=True)
class Alternate:
    """One `<link rel="alternate" hreflang>`."""

    hreflang: str
    href: str


@dataclass(frozen=True, slots=True)
class PageLinks:
    """A page's output path, canonical URL, alternates and last change (for the sitemap too)."""

    path: str
    lang: str
    canonical: str
    alternates: tuple[Alternate, ...]
    lastmod: dt.date | None = None


class SiteRenderer:
    """Renders every kind of output for one build from the shared Jinja environment."""

    def __init__(
        self,
        settings: Settings,
        env: Environment,
        assets: Mapping[str, Asset],
        strings: Mapping[str, Mapping[str, str]],
        states: Mapping[str, MemberState],
    ) -> None:
        self.settings = settings
        self.site = settings.site
        self.env = env
        self.urls = SiteUrls(settings.site.base_url)
        self.subscription = SubscriptionUrls(settings.email.subscription_url)
        self.assets = assets
        self.strings = strings
        self.states = states
        self._names = {lang: native_language_name(lang) for lang in settings.site.languages}

    # -- links ------------------------------------------------------------------------------

    def issue_links(self, issue: Issue, lang: str) -> PageLinks:
        """Canonical URL and alternates of an issue page: every translation plus x-default."""
        urls = self.urls
        alternates = [Alternate(code, urls.absolute(urls.issue(code, issue.slug)))
                      for code in issue.languages]
        default = self.site.default_language
        if default not in issue.editions:
            default = issue.languages[0]
        alternates.append(Alternate("x-default", urls.absolute(urls.issue(default, issue.slug))))
        path = urls.issue(lang, issue.slug)
        return PageLinks(path, lang, urls.absolute(path), tuple(alternates),
                         issue.edition(lang).date)

    def index_links(self, lang: str, lastmod: dt.date | None) -> PageLinks:
        """Canonical URL and alternates of a language's index; x-default is the chooser."""
        urls = self.urls
        alternates = [Alternate(code, urls.absolute(urls.index(code)))
                      for code in self.site.languages]
        alternates.append(Alternate("x-default", urls.absolute("index.html")))
        path = urls.index(lang)
        return PageLinks(path, lang, urls.absolute(path), tuple(alternates), lastmod)

    # -- pages ------------------------------------------------------------------------------

    def _asset(self, name: str) -> str:
        try:
            return self.urls.url(self.assets[name].output_path)
        except KeyError:
            raise BuildError(
                f"templates/static/{name}: a template uses it but it does not exist") from None

    def _feeds(self, lang: str) -> list[dict[str, str]]:
        order = [lang] + [code for code in self.site.languages if code != lang]
        return [
            {
                "lang": code,
                "title": f"{self.site.title[code]} ({self._names[code]}) — RSS",
                "href": self.urls.url(self.urls.feed(code)),
            }
            for code in order
        ]

    def _common(self, lang: str, links: PageLinks) -> dict[str, Any]:
        return {
            "lang": lang,
            "dir": "ltr",
            "t": self.strings[lang],
            "site_title": self.site.title[lang],
            "site_description": self.site.description[lang],
            "canonical": links.canonical,
            "alternates": links.alternates,
            "feeds": self._feeds(lang),
            "feed_url": self.urls.url(self.urls.feed(lang)),
            "index_url": self.urls.url(self.urls.index(lang)),
            "subscribe_url": self.subscription.form(lang),
            "postal_address": self.site.postal_address,
            "asset": self._asset,
        }

    def issue_page(self, issue: Issue, lang: str, rendered: Rendered) -> str:
        """The page of one issue in one language, with its language switcher."""
        edition = issue.edition(lang)
        links = self.issue_links(issue, lang)
        switcher = [
            {
                "lang": code,
                "name": self._names[code],
                "href": self.urls.url(self.urls.issue(code, issue.slug)),
                "current": code == lang,
            }
            for code in issue.languages
        ]
        countries = [self.states[c].name(lang) if c in self.states else c
                     for c in edition.countries]
        return self.env.get_template("issue.html").render(
            **self._common(lang, links),
            edition=edition,
            switcher=switcher,
            countries=countries,
            toc=trusted_toc(rendered) if rendered.toc.count("<li") > 1 else "",
            body=trusted_html(rendered),
        )

    def index_page(self, lang: str, issues: Sequence[Issue]) -> str:
        """A language's archive index, newest first."""
        entries = [
            {
                "number": i.edition(lang).number,
                "date": i.edition(lang).date,
                "title": i.edition(lang).title,
                "summary": i.edition(lang).summary,
                "href": self.urls.url(self.urls.issue(lang, i.slug)),
            }
            for i in issues
            if lang in i.editions
        ]
        lastmod = entries[0]["date"] if entries else None
        links = self.index_links(lang, lastmod)
        switcher = [
            {"lang": code, "name": self._names[code], "href": self.urls.url(self.urls.index(code)),
             "current": code == lang}
            for code in self.site.languages
        ]
        return self.env.get_template("index.html").render(
            **self._common(lang, links), switcher=switcher, entries=entries
        )

    def root_page(self) -> str:
        """The chooser that sends a reader to their language (the default one preselected)."""
        default = self.site.default_language
        languages = [default] + [code for code in self.site.languages if code != default]
        choices = [
            {
                "lang": code,
                "name": self._names[code],
                "description": self.site.description[code],
                "prompt": self.strings[code]["choose_language"],
                "href": self.urls.url(self.urls.index(code)),
            }
            for code in languages
        ]
        alternates = [Alternate(c, self.urls.absolute(self.urls.index(c)))
                      for c in self.site.languages]
        alternates.append(Alternate("x-default", self.urls.absolute("index.html")))
        return self.env.get_template("root.html").render(
            default={"lang": default, "site_title": self.site.title[default]},
            canonical=self.urls.absolute("index.html"),
            alternates=alternates,
            feeds=self._feeds(default),
            choices=choices,
            asset=self._asset,
        )

    def feed(self, lang: str, items: Sequence[tuple[Edition, Rendered]]) -> str:
        """RSS 2.0 for one language: full content with absolute URLs, stable guids."""
        urls = self.urls
        entries = [
            {
                "title": edition.title,
                "url": urls.absolute(urls.issue(lang, edition.slug)),
                "published": edition.published_at(self.site.zone),
                "summary": edition.summary,
                "tags": edition.tags,
                "content": absolutize(rendered.html, urls.origin,
                                      urls.absolute(urls.issue(lang, edition.slug))),
            }
            for edition, rendered in items
        ]
        return self.env.get_template("feed.xml").render(
            lang=lang,
            title=self.site.title[lang],
            description=self.site.description[lang],
            link=urls.absolute(urls.index(lang)),
            self_url=urls.absolute(urls.feed(lang)),
            last_build=entries[0]["published"] if entries else None,
            items=entries,
        )

    def sitemap(self, pages: Sequence[PageLinks]) -> str:
        """sitemap.xml with hreflang alternates, from the same links as the pages."""
        ordered = sorted(pages, key=lambda p: p.path)
        return self.env.get_template("sitemap.xml").render(pages=ordered)
