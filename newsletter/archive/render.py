"""The build's render stage: every output of the archive into the staged site, each only when what
it shows changed.

In order: the issue pages, language by language in the order the site offers them (as their HTML
arrives from the converter; once a language's are all staged the search stage starts indexing
them in the background while the next language's are rendered), their images, then per offered
language the index, the feed, the member states' and topics' pages, lists and feeds, and last
the root chooser, the favicon, the sitemap and the assets. Each output has a key made of the
site's key and exactly the data it shows; an output whose key is the last build's is kept without
being rendered.

Every offered language gets its index and its member-state pages listing every issue: an issue
not written in the language is listed by the edition of its fallback chain, with a note. Pages
exist only for editions that exist, and feeds and topics carry only the language's own editions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsletter.content import Edition, Issue
from newsletter.errors import BuildError
from newsletter.settings import Settings

from .topics import STATE, TAG, Topic, neighbours, state_topics, tag_topics
from .writer import StagedSite

if TYPE_CHECKING:
    from .conversion import Converter
    from .pages import PageLinks, SiteRenderer

# Called as each language's issue pages are all staged, with them (the search stage).
PagesReady = Callable[[Mapping[str, Sequence[str]]], None]


def language_rank(offered: Sequence[str]) -> Callable[[str], tuple[int, str]]:
    """The order the issue pages are rendered in, a language at a time: the offered languages
    in their order, then any other."""
    position = {code: i for i, code in enumerate(offered)}
    return lambda code: (position.get(code, len(position)), code)


def output_key(site: str, path: str, shown: object = None) -> str:
    """An output's key: the site's, its path, and the (repr-able) data it shows."""
    return hashlib.sha256(f"{site}\0{path}\0{shown!r}".encode()).hexdigest()


def images_signature(issue: Issue) -> str:
    """An issue's images by name, size and time: their width and height are on its pages."""
    return ",".join(f"{name}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
                    for name, p in issue.image_files())


def page_key(site: str, issue: Issue, lang: str, older: Edition | None = None,
             newer: Edition | None = None) -> str:
    """What an issue page is made from: the site, every edition of its issue (the switcher shows
    the translations, so editing one edition changes the key of each page of the issue), its
    images, and the editions of the previous and next issue it links to by title."""
    sources = ",".join(f"{code}:{e.source_hash}" for code, e in issue.editions.items())
    around = [(o.slug, o.lang, o.title, o.number) if o else None for o in (older, newer)]
    shown = f"{site}\0{lang}\0{issue.slug}\0{sources}\0{images_signature(issue)}\0{around!r}"
    return hashlib.sha256(shown.encode()).hexdigest()


def render_site(
    settings: Settings,
    visible: list[Issue],
    converter: Converter,
    staged: StagedSite,
    templates_dir: Path,
    site: str,
    on_pages: PagesReady | None = None,
) -> None:
    """Render every output of the archive into `staged`, keeping those whose inputs are the same."""
    from jinja2 import TemplateError, TemplateSyntaxError

    try:
        _Render(settings, visible, converter, staged, templates_dir, site).run(on_pages)
    except TemplateSyntaxError as exc:
        raise BuildError(f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}") from None
    except TemplateError as exc:
        raise BuildError(f"{templates_dir}: a template failed: {exc.message}") from None


class _Render:
    """One render stage: the renderer, the staged site and what the feeds share."""

    def __init__(self, settings: Settings, visible: list[Issue], converter: Converter,
                 staged: StagedSite, templates_dir: Path, site: str) -> None:
        from newsletter.states import load_member_states
        from newsletter.templating import make_environment

        from .assets import collect_assets
        from .pages import SiteRenderer, load_words

        self.settings = settings
        self.visible = visible
        self.converter = converter
        self.staged = staged
        self.languages = settings.site.languages
        self.assets = collect_assets(templates_dir / "static")
        wording = load_words(templates_dir, self.languages)
        self.states = load_member_states(settings.path(settings.subscribers.member_states))
        self.in_lang = {lang: [i for i in visible if lang in i.editions] for lang in self.languages}
        # A language with no edition yet has no search index: its pages show no search box, so
        # every page's key changes the day its language gets one.
        searchable = [lang for lang in self.languages if self.in_lang[lang]]
        self.site = f"{site}\0search:{','.join(searchable)}"
        # `site` hashes every template file: the environment need not look at them again.
        self.renderer: SiteRenderer = SiteRenderer(
            settings, make_environment(templates_dir, site), self.assets, wording, self.states,
            searchable)
        self.urls = self.renderer.urls
        self.links: list[PageLinks] = []
        limit = settings.site.feed_items
        self.topics = {
            (kind, lang): (
                state_topics(visible, lang, self.states,
                             lambda issue, lang=lang: self.renderer.edition_of(issue, lang))
                if kind == STATE else tag_topics(visible, lang))
            for kind in (STATE, TAG) for lang in self.languages
        }
        # The HTML of every edition some feed shows, kept as its page passes (and made absolute
        # once, however many feeds show it).
        self.feeds_show = {(i.slug, lang) for lang in self.languages
                           for i in self.in_lang[lang][:limit]}
        self.feeds_show |= {(i.slug, lang) for (_, lang), topics in self.topics.items()
                            for topic in topics for i in feed_issues(topic, lang)[:limit]}
        self._kept: dict[tuple[str, str], Any] = {}
        self._content: dict[tuple[str, str], Any] = {}

    def run(self, on_pages: PagesReady | None) -> None:
        """Every output, in the order of the module docstring."""
        self.issue_pages(on_pages)
        for lang in self.languages:
            self.index_and_feed(lang)
            for kind in (STATE, TAG):
                self.topic_pages(kind, lang)
        self.root_and_sitemap()

    # -- issue pages -------------------------------------------------------------------------

    def issue_pages(self, on_pages: PagesReady | None) -> None:
        """Every issue page, a language at a time (`language_rank`: the order the build asks the
        converter for their HTML), then the issues' images."""
        staged, renderer, urls = self.staged, self.renderer, self.urls
        around = neighbours(self.visible)
        loaded = sorted(self.visible, key=lambda i: i.slug)  # the order they were loaded
        for lang in sorted({code for issue in loaded for code in issue.editions},
                           key=language_rank(self.languages)):
            pages: list[str] = []
            for issue in loaded:
                if lang not in issue.editions:
                    continue
                older, newer = around[issue.slug]
                path, source = urls.issue(lang, issue.slug), str(issue.edition(lang).path)
                key = page_key(self.site, issue, lang,
                               *(renderer.edition_of(o, lang) if o else None
                                 for o in (older, newer)))
                if not staged.reuse(path, key, source):
                    rendered = self.converter.get(issue.edition(lang))
                    staged.add(path, renderer.issue_page(issue, lang, rendered, older=older,
                                                         newer=newer), source, key)
                    if (issue.slug, lang) in self.feeds_show:
                        self._kept[(issue.slug, lang)] = rendered
                self.links.append(renderer.issue_links(issue, lang))
                pages.append(path)
            if pages and on_pages is not None:
                on_pages({lang: pages})
        for issue in loaded:
            for name, image in issue.image_files():
                stat = image.stat()
                key = f"{stat.st_size}:{stat.st_mtime_ns}"
                path = urls.media(issue.slug, name)
                if not staged.reuse(path, key, str(image)):
                    staged.add(path, image.read_bytes(), str(image), key)

    def _feed_entries(self, lang: str, issues: Sequence[Issue]) -> list[tuple[Any, str]]:
        entries = []
        for issue in issues:
            found = self._content.get((issue.slug, lang))
            if found is None:
                edition = issue.edition(lang)
                rendered = self._kept.pop((issue.slug, lang), None) or self.converter.get(edition)
                found = self.renderer.feeds.content(edition, rendered)
                self._content[(issue.slug, lang)] = found
            entries.append((issue.edition(lang), found))
        return entries

    # -- per language ------------------------------------------------------------------------

    def shown(self, lang: str, issues: Sequence[Issue]) -> list[tuple[Any, ...]]:
        """What a list of issues shows of each (the edition a reader of `lang` is sent to, its
        number, date, title and summary): a list's key is exactly that."""
        return [(i.slug, e.lang, e.number, e.date.isoformat(), e.title, e.summary)
                for i in issues for e in [self.renderer.edition_of(i, lang)]]

    def index_and_feed(self, lang: str) -> None:
        staged, renderer, urls, site = self.staged, self.renderer, self.urls, self.site
        # Every issue, in the language's edition or its fallback; the feed, the language's only.
        path, source = urls.index(lang), f"index of {lang}"
        key = output_key(site, path, self.shown(lang, self.visible))
        if not staged.reuse(path, key, source):
            staged.add(path, renderer.index_page(lang, self.visible), source, key)
        self.links.append(renderer.index_links(
            lang, renderer.edition_of(self.visible[0], lang).date if self.visible else None))
        in_lang = self.in_lang[lang]
        items = in_lang[: self.settings.site.feed_items]
        path, source = urls.feed(lang), f"feed of {lang}"
        key = output_key(site, path, [(i.slug, i.edition(lang).source_hash) for i in items])
        if not staged.reuse(path, key, source):
            staged.add(path, renderer.feeds.render(lang, self._feed_entries(lang, items)),
                       source, key)

    def topic_pages(self, kind: str, lang: str) -> None:
        """A language's pages of member states (or topics), their feeds and their list."""
        staged, renderer, site = self.staged, self.renderer, self.site
        topics = self.topics[(kind, lang)]
        with_states = [code for code in self.languages if self.topics[(kind, code)]]
        for topic in topics:
            # A state's page has translations: the same state's page in each language that has
            # issues about it. A topic is its own language's word.
            translated = [code for code in with_states
                          if any(t.slug == topic.slug for t in self.topics[(kind, code)])] \
                if kind == STATE else [lang]
            links = renderer.topic_links(lang, topic, translated)
            shown = (topic.name, translated, self.shown(lang, topic.issues))
            source = f"{kind} {topic.slug} in {lang}"
            key = output_key(site, links.path, shown)
            if not staged.reuse(links.path, key, source):
                staged.add(links.path, renderer.topic_page(lang, topic, links), source, key)
            self.links.append(links)
            self.topic_feed(lang, topic)
        # The list exists in every language (every page links to it), if empty: "no issues yet".
        translated = self.languages if kind == STATE else [lang]
        links = renderer.topics_links(kind, lang, translated,
                                      topics_lastmod(topics, lang, renderer.edition_of))
        shown = (translated, [(t.slug, t.name, len(t.issues)) for t in topics])
        source = f"list of {kind}s in {lang}"
        key = output_key(site, links.path, shown)
        if not staged.reuse(links.path, key, source):
            staged.add(links.path, renderer.topics_page(kind, lang, topics, links), source, key)
        self.links.append(links)

    def topic_feed(self, lang: str, topic: Topic) -> None:
        items = feed_issues(topic, lang)[: self.settings.site.feed_items]
        path = self.urls.topic_feed(lang, self.renderer.section(topic.kind, lang), topic.slug)
        source = f"feed of {topic.kind} {topic.slug} in {lang}"
        key = output_key(self.site, path,
                         (topic.name, [(i.slug, i.edition(lang).source_hash) for i in items]))
        if not self.staged.reuse(path, key, source):
            feed = self.renderer.feeds.render(lang, self._feed_entries(lang, items), topic=topic)
            self.staged.add(path, feed, source, key)

    # -- the whole site ----------------------------------------------------------------------

    def root_and_sitemap(self) -> None:
        staged, renderer, site = self.staged, self.renderer, self.site
        if not staged.reuse("index.html", output_key(site, "index.html"), "language chooser"):
            staged.add("index.html", renderer.root_page(), "language chooser",
                       output_key(site, "index.html"))
        icon = self.assets.get("favicon.ico")
        if icon is not None:  # browsers ask for /favicon.ico whatever the page says
            staged.add("favicon.ico", icon.data, "templates/static/favicon.ico")
        key = output_key(site, "sitemap.xml", self.links)
        if not staged.reuse("sitemap.xml", key, "sitemap"):
            staged.add("sitemap.xml", renderer.sitemap(self.links), "sitemap", key)
        for asset in self.assets.values():
            staged.add(asset.output_path, asset.data, f"templates/static/{asset.name}")


def topics_lastmod(topics: Sequence[Topic], lang: str,
                   edition_of: Callable[[Issue, str], Edition]) -> Any:
    """The newest issue date among the topics (for the sitemap); None if there are none."""
    return max((edition_of(topic.issues[0], lang).date for topic in topics), default=None)


def feed_issues(topic: Topic, lang: str) -> list[Issue]:
    """The issues a state's (or topic's) feed in `lang` carries: those written in it."""
    return [issue for issue in topic.issues if lang in issue.editions]
