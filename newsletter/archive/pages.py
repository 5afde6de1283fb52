"""Render the archive's pages and sitemap to strings (pure: no files are touched here).

Every page's canonical URL and `hreflang` alternates come from `PageLinks`, and the sitemap is
rendered from the very same list, so the two can never disagree. Pages are: an issue in one
language (with links to the member states and topics it concerns, the previous and next issue,
link previews and structured data), a language's index, a member state's or topic's page and the
list of them, the root language chooser. The feeds (per language, per state or topic) are
`syndication`'s.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from newsletter.content import (
    Edition,
    ImageError,
    Issue,
    Rendered,
    image_attributes,
    image_size,
    label_footnotes,
    size_of,
    with_dimensions,
)
from newsletter.errors import BuildError
from newsletter.settings import Settings
from newsletter.states import MemberState
from newsletter.templating import (
    Fields,
    json_ld,
    native_language_name,
    trusted_html,
    trusted_toc,
)
from newsletter.urls import SiteUrls, SubscriptionUrls
from newsletter.wording import Wording, WordingError, language_name_in, load_wording

from .assets import Asset
from .metadata import RASTER_TYPES, CardImage, link_preview, news_article
from .syndication import FeedRenderer
from .topics import STATE, Topic, tag_slug

# The archive's words that are parts of URLs: the lists of member states and of topics.
SECTION_KEYS = {STATE: "states_slug", "tag": "topics_slug"}
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DEFAULT_CARD = "card.png"


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


def load_words(templates_dir: Path, languages: Sequence[str]) -> Wording:
    """The interface's words (templates/wording/), whose archive URL words (`states_slug`,
    `topics_slug`) must be usable in a URL and differ from each other in each language."""
    wording = load_wording(templates_dir, languages)
    for lang in languages:
        words = wording.section(lang, "archive")
        sections = [words.get(key, "") for key in SECTION_KEYS.values()]
        for key, value in zip(SECTION_KEYS.values(), sections, strict=True):
            if not _SLUG_RE.match(str(value)):
                raise WordingError(wording.file(lang), f"[archive] {key} = {value!r} is part of "
                                   "the URLs: use a-z, 0-9 and - only")
        if len(set(sections)) != len(sections):
            raise WordingError(wording.file(lang),
                               "[archive] the states and topics URLs need different words")
    return wording


class SiteRenderer:
    """Renders every kind of output for one build from the shared Jinja environment."""

    def __init__(
        self,
        settings: Settings,
        env: Environment,
        assets: Mapping[str, Asset],
        wording: Wording,
        states: Mapping[str, MemberState],
        searchable: Collection[str] | None = None,
    ) -> None:
        self.settings = settings
        self.site = settings.site
        self.env = env
        self.urls = SiteUrls(settings.site.base_url)
        self.subscription = SubscriptionUrls(settings.email.subscription_url)
        self.assets = assets
        self.wording = wording
        self.strings = {lang: Fields(wording.section(lang, "archive"))
                        for lang in settings.site.languages}
        self.states = states
        # The languages with a search index (those with issue pages): the others show no box.
        self.searchable = set(settings.site.languages if searchable is None else searchable)
        self._names = {lang: native_language_name(lang) for lang in settings.site.languages}
        self._sizes: dict[str, dict[str, tuple[int, int]]] = {}
        self._chains: dict[str, tuple[str, ...]] = {}
        self._notes: dict[tuple[str, str], str] = {}
        self._entry_html: dict[tuple[str, str], Markup] = {}
        self._asset_urls: dict[str, str] = {}
        self._shared: dict[str, dict[str, Any]] = {}  # per language: `_common` but the links
        self.feeds = FeedRenderer(settings.site, self.urls, env, wording, self.strings,
                                  self.section)

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

    def topics_links(self, kind: str, lang: str, translated: Sequence[str],
                     lastmod: dt.date | None) -> PageLinks:
        """A language's list of member states (alternates: the other languages' lists) or of
        topics (a topic is its language's own word: no alternates but itself)."""
        urls = self.urls
        alternates = [Alternate(code, urls.absolute(urls.topics(code, self.section(kind, code))))
                      for code in translated]
        path = urls.topics(lang, self.section(kind, lang))
        return PageLinks(path, lang, urls.absolute(path), tuple(alternates), lastmod)

    def topic_links(self, lang: str, topic: Topic, translated: Sequence[str]) -> PageLinks:
        """A member state's page in one language (alternates: the same state in the other
        languages that have issues about it) or a topic's page (itself only)."""
        urls = self.urls
        alternates = [
            Alternate(code, urls.absolute(urls.topic(code, self.section(topic.kind, code),
                                                     topic.slug)))
            for code in translated
        ]
        path = urls.topic(lang, self.section(topic.kind, lang), topic.slug)
        return PageLinks(path, lang, urls.absolute(path), tuple(alternates),
                         self.edition_of(topic.issues[0], lang).date)

    def section(self, kind: str, lang: str) -> str:
        """The URL word of the member states' (or topics') pages in a language."""
        return self.strings[lang][SECTION_KEYS[kind]]

    def edition_of(self, issue: Issue, lang: str) -> Edition:
        """The edition a reader of `lang` is shown: theirs, or the first of its fallback chain
        (`Settings.fallback_chain`; every issue has the default language's)."""
        editions = issue.editions
        found = editions.get(lang)
        if found is not None:
            return found
        chain = self._chains.get(lang)
        if chain is None:
            chain = self._chains[lang] = self.settings.fallback_chain(lang)
        return next((editions[code] for code in chain if code in editions),
                    editions[issue.languages[0]])

    def in_other_language(self, edition: Edition, lang: str) -> str:
        """The note beside an edition a reader of `lang` is sent to in another language
        ("em espanhol"), or nothing when it is in theirs."""
        if edition.lang == lang:
            return ""
        note = self._notes.get((edition.lang, lang))
        if note is None:
            note = self._notes[(edition.lang, lang)] = self.strings[lang]["in_language"].format(
                language=language_name_in(edition.lang, lang))
        return note

    # -- pages ------------------------------------------------------------------------------

    def _asset(self, name: str) -> str:
        found = self._asset_urls.get(name)  # every page asks for the same few
        if found is not None:
            return found
        try:
            found = self._asset_urls[name] = self.urls.url(self.assets[name].output_path)
        except KeyError:
            raise BuildError(
                f"templates/static/{name}: a template uses it but it does not exist") from None
        return found

    def _feeds(self, lang: str) -> list[Fields]:
        """The feeds every page of a language links, its own first (a fresh list each time, so a
        page's never changes another's)."""
        return list(self._shared_context(lang)["feeds"])

    def _common(self, lang: str, links: PageLinks) -> dict[str, Any]:
        """What every page of a language shows around its own content, with the page's
        canonical URL and alternates."""
        shared = self._shared_context(lang)
        return {**shared, "meta_tags": [], "sections": list(shared["sections"]),
                "feeds": list(shared["feeds"]),
                "canonical": links.canonical, "alternates": links.alternates}

    def _shared_context(self, lang: str) -> dict[str, Any]:
        """`_language_context`, made once per language."""
        shared = self._shared.get(lang)
        if shared is None:
            shared = self._shared[lang] = self._language_context(lang)
        return shared

    def _language_context(self, lang: str) -> dict[str, Any]:
        urls = self.urls
        return {
            "structured_data": "",
            "sections": [
                Fields({"href": urls.url(urls.index(lang)),
                        "name": self.strings[lang]["archive_short"]}),
                Fields({"href": urls.url(urls.topics(lang, self.section(STATE, lang))),
                        "name": self.strings[lang]["states"]}),
                Fields({"href": urls.url(urls.topics(lang, self.section("tag", lang))),
                        "name": self.strings[lang]["topics"]}),
            ],
            "search": (Fields({"bundle": urls.url(urls.search_bundle(lang)),
                               "base": urls.base_path})
                       if lang in self.searchable else None),
            "lang": lang,
            "dir": "ltr",
            "t": self.strings[lang],
            "site_title": self.site.title[lang],
            "site_description": self.site.description[lang],
            "feeds": [
                Fields({"lang": code, "title": self.feeds.title(code),
                        "href": urls.url(urls.feed(code))})
                for code in [lang] + [code for code in self.site.languages if code != lang]
            ],
            "feed_url": self.urls.url(self.urls.feed(lang)),
            "index_url": self.urls.url(self.urls.index(lang)),
            "subscribe_url": self.subscription.form(lang),
            "postal_address": self.site.postal_address,
            "asset": self._asset,
        }

    def image_sizes(self, issue: Issue) -> dict[str, tuple[int, int]]:
        """The width and height of each of an issue's images, by the URL its pages use (an image
        whose size cannot be read is left out: `check` reports it)."""
        found = self._sizes.get(issue.slug)
        if found is None:
            found = {}
            for name, path in issue.image_files():
                try:
                    found[self.urls.url(self.urls.media(issue.slug, name))] = image_size(path)
                except ImageError:
                    continue
            self._sizes = {issue.slug: found}  # the two languages of an issue come together
        return found

    def card_image(self, lang: str, html: str, sizes: dict[str, tuple[int, int]]) -> CardImage:
        """The image a link preview shows: the edition's first PNG, JPEG, GIF or WebP image, or
        the default card (`templates/static/card.png`)."""
        for image in image_attributes(html):
            src = image.get("src", "")
            mime = RASTER_TYPES.get(Path(src.split("?")[0]).suffix.lower())
            if mime and src.startswith("/"):
                width, height = sizes.get(src, (None, None))
                return CardImage(self.urls.origin + src, image.get("alt", ""), mime, width, height)
        card = self.assets.get(DEFAULT_CARD)
        if card is None:
            raise BuildError(f"templates/static/{DEFAULT_CARD}: the default link-preview image "
                             "is missing")
        try:
            width, height = size_of(card.data, ".png")
        except ImageError as exc:
            raise BuildError(f"templates/static/{DEFAULT_CARD}: {exc}") from None
        return CardImage(self.urls.origin + self._asset(DEFAULT_CARD), self.site.title[lang],
                         "image/png", width, height)

    def issue_page(self, issue: Issue, lang: str, rendered: Rendered, *,
                   older: Issue | None = None, newer: Issue | None = None) -> str:
        """The page of one issue in one language: its language switcher, the member states and
        topics it concerns, the previous and next issue, link previews and structured data."""
        edition = issue.edition(lang)
        links = self.issue_links(issue, lang)
        urls = self.urls
        switcher = [
            Fields({
                "lang": code,
                "name": self._names[code],
                "href": urls.url(urls.issue(code, issue.slug)),
                "current": code == lang,
            })
            for code in issue.languages
        ]
        states = [
            Fields({"name": self.states[code].name(lang),
                    "href": urls.url(urls.topic(lang, self.section(STATE, lang), code.lower()))})
            for code in dict.fromkeys(edition.countries) if code in self.states
        ]
        topics = [
            Fields({"name": tag,
                    "href": urls.url(urls.topic(lang, self.section("tag", lang), tag_slug(tag)))})
            for tag in dict.fromkeys(edition.tags)
        ]
        between = Fields()
        for rel, other in (("prev", older), ("next", newer)):
            if other is None:
                continue
            shown = self.edition_of(other, lang)  # an issue not written in `lang`: its fallback
            between[rel] = Fields({"title": shown.title, "number": shown.number,
                                   "lang": shown.lang, "note": self.in_other_language(shown, lang),
                                   "href": urls.url(urls.issue(shown.lang, other.slug))})
        sizes = self.image_sizes(issue)
        body = label_footnotes(with_dimensions(rendered.html, sizes),
                               self.strings[lang]["footnotes"])
        card = self.card_image(lang, body, sizes)
        site_url = urls.absolute("index.html")
        return self.env.get_template("issue.html").render(
            **{**self._common(lang, links),
               "meta_tags": link_preview(edition, links.canonical, self.site.title[lang], card,
                                         issue.languages),
               "structured_data": json_ld(news_article(
                   edition, links.canonical, site_name=self.site.title[lang], site_url=site_url,
                   publisher=self.site.publisher, image=card,
                   states=[state["name"] for state in states]))},
            edition=edition,
            switcher=switcher,
            countries=states,
            topics=topics,
            between=between,
            toc=trusted_toc(rendered) if rendered.toc.count("<li") > 1 else "",
            body=trusted_html(Rendered(body, rendered.toc)),
        )

    def _entries(self, lang: str, issues: Sequence[Issue]) -> list[Markup]:
        """Every issue as a reader of `lang` finds it listed (`_entry.html`): their edition, or
        the fallback edition's title and summary (in its language) with a note saying which.
        Each is rendered once per build and language, however many lists show it."""
        return [self._entry(issue, lang) for issue in issues]

    def _entry(self, issue: Issue, lang: str) -> Markup:
        found = self._entry_html.get((issue.slug, lang))
        if found is None:
            edition = self.edition_of(issue, lang)
            entry = Fields({
                "number": edition.number,
                "date": edition.date,
                "title": edition.title,
                "summary": edition.summary,
                "lang": edition.lang,
                "note": self.in_other_language(edition, lang),
                "href": self.urls.url(self.urls.issue(edition.lang, issue.slug)),
            })
            found = Markup(self.env.get_template("_entry.html").render(
                entry=entry, lang=lang, t=self.strings[lang]))
            self._entry_html[(issue.slug, lang)] = found
        return found

    def index_page(self, lang: str, issues: Sequence[Issue]) -> str:
        """A language's archive index, newest first."""
        entries = self._entries(lang, issues)
        lastmod = self.edition_of(issues[0], lang).date if issues else None
        links = self.index_links(lang, lastmod)
        switcher = [
            {"lang": code, "name": self._names[code], "href": self.urls.url(self.urls.index(code)),
             "current": code == lang}
            for code in self.site.languages
        ]
        return self.env.get_template("index.html").render(
            **self._common(lang, links), switcher=switcher, entries=entries
        )

    def topic_page(self, lang: str, topic: Topic, links: PageLinks) -> str:
        """One member state's (or topic's) page in a language: its issues, newest first, and its
        feed."""
        urls = self.urls
        section = self.section(topic.kind, lang)
        feed = {"lang": lang, "href": urls.url(urls.topic_feed(lang, section, topic.slug)),
                "title": self.feeds.topic_title(lang, topic)}
        switcher = [
            {"lang": alt.hreflang, "name": self._names[alt.hreflang],
             "href": urls.url(urls.topic(alt.hreflang, self.section(topic.kind, alt.hreflang),
                                         topic.slug)),
             "current": alt.hreflang == lang}
            for alt in links.alternates if alt.hreflang in self._names
        ]
        context = self._common(lang, links)
        context["feeds"] = [feed, *context["feeds"]]
        return self.env.get_template("topic.html").render(
            **context, switcher=switcher, topic=topic, kind=topic.kind, topic_feed=feed,
            list_url=urls.url(urls.topics(lang, section)),
            entries=self._entries(lang, topic.issues),
        )

    def topics_page(self, kind: str, lang: str, topics: Sequence[Topic], links: PageLinks) -> str:
        """A language's list of member states (or topics), each with how many issues concern
        it."""
        urls = self.urls
        section = self.section(kind, lang)
        switcher = [
            {"lang": alt.hreflang, "name": self._names[alt.hreflang],
             "href": urls.url(urls.topics(alt.hreflang, self.section(kind, alt.hreflang))),
             "current": alt.hreflang == lang}
            for alt in links.alternates if alt.hreflang in self._names
        ]
        items = [
            {"name": topic.name, "count": len(topic.issues), "slug": topic.slug,
             "href": urls.url(urls.topic(lang, section, topic.slug)),
             "feed": urls.url(urls.topic_feed(lang, section, topic.slug))}
            for topic in topics
        ]
        return self.env.get_template("topics.html").render(
            **self._common(lang, links), switcher=switcher, kind=kind, items=items)

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

    def sitemap(self, pages: Sequence[PageLinks]) -> str:
        """sitemap.xml with hreflang alternates, from the same links as the pages."""
        ordered = sorted(pages, key=lambda p: p.path)
        return self.env.get_template("sitemap.xml").render(pages=ordered)
