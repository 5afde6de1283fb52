"""Render the archive's RSS feeds to strings (pure: no files are touched here).

One feed per language and one per member state or topic in it, each carrying only that language's
editions, in full: the edition's HTML with its footnotes titled and every URL absolute, escaped
once however many feeds carry it (`content`). The channel's title and description are in the
language and name it, so a reader following two feeds tells them apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from jinja2 import Environment
from markupsafe import Markup, escape

from newsletter.content import Edition, Rendered, absolutize, label_footnotes
from newsletter.settings import SiteSettings
from newsletter.templating import Fields
from newsletter.urls import SiteUrls
from newsletter.wording import Wording

from .topics import Topic


class FeedRenderer:
    """The feeds of one build, from the shared Jinja environment and the archive's words."""

    def __init__(self, site: SiteSettings, urls: SiteUrls, env: Environment, wording: Wording,
                 strings: Mapping[str, Mapping[str, str]],
                 section: Callable[[str, str], str]) -> None:
        self.site = site
        self.urls = urls
        self.env = env
        self.wording = wording
        self.strings = strings
        self.section = section  # the URL word of the states' (or topics') pages in a language

    def title(self, lang: str) -> str:
        """A language's feed title, in it and naming it: `ANNAobserva — boletim em português`."""
        return self.wording.word(lang, "feed", "title", site=self.site.title[lang])

    def topic_title(self, lang: str, topic: Topic) -> str:
        """A state's (or topic's) feed title, naming its language: `ANNAobserva — Uruguai (em
        português)`."""
        return self.wording.word(lang, "feed", "topic_title", site=self.site.title[lang],
                                 topic=topic.name)

    def content(self, edition: Edition, rendered: Rendered) -> Markup:
        """An edition's HTML as feeds carry it: footnotes titled, every URL absolute, escaped as
        the text of `<content:encoded>` (once, however many feeds carry it: as Markup, the
        template does not escape it again)."""
        urls = self.urls
        return escape(absolutize(
            label_footnotes(rendered.html, self.strings[edition.lang]["footnotes"]),
            urls.origin, urls.absolute(urls.issue(edition.lang, edition.slug))))

    def render(self, lang: str, items: Sequence[tuple[Edition, str]], *,
               topic: Topic | None = None) -> str:
        """RSS 2.0 for one language (or for one member state or topic in it): only that
        language's editions, full content (`content`), stable guids, each item dated when it was
        published (`Edition.published_at`)."""
        urls = self.urls
        if topic is None:
            title, link, self_path = self.title(lang), urls.index(lang), urls.feed(lang)
        else:
            section = self.section(topic.kind, lang)
            title = self.topic_title(lang, topic)
            link = urls.topic(lang, section, topic.slug)
            self_path = urls.topic_feed(lang, section, topic.slug)
        entries = [
            Fields({
                "title": edition.title,
                "url": urls.absolute(urls.issue(lang, edition.slug)),
                "published": edition.published_at(self.site.zone),
                "summary": edition.summary,
                "tags": edition.tags,
                "content": content,
            })
            for edition, content in items
        ]
        return self.env.get_template("feed.xml").render(
            lang=lang,
            title=title,
            description=self.wording.word(lang, "feed", "description",
                                          description=self.site.description[lang]),
            link=urls.absolute(link),
            self_url=urls.absolute(self_path),
            last_build=entries[0]["published"] if entries else None,
            items=entries,
        )
