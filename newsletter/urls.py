"""Every URL of the archive, built from one place so pages, feeds, sitemap and emails agree."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class SiteUrls:
    """Output paths (relative to the site folder) and their public URLs."""

    base_url: str

    @property
    def origin(self) -> str:
        """scheme://host[:port], without the base path."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def base_path(self) -> str:
        """The base URL's path, always ending in /."""
        path = urlsplit(self.base_url).path or "/"
        return path if path.endswith("/") else path + "/"

    def url(self, output_path: str) -> str:
        """The root-relative URL of an output path (`en/2026-11/index.html` → `/en/2026-11/`)."""
        if output_path.endswith("index.html"):
            output_path = output_path[: -len("index.html")]
        return self.base_path + output_path

    def absolute(self, output_path: str) -> str:
        """The absolute URL of an output path."""
        return self.origin + self.url(output_path)

    @staticmethod
    def issue(lang: str, slug: str) -> str:
        """The output path of an issue page."""
        return f"{lang}/{slug}/index.html"

    @staticmethod
    def index(lang: str) -> str:
        """The output path of a language's index."""
        return f"{lang}/index.html"

    @staticmethod
    def feed(lang: str) -> str:
        """The output path of a language's RSS feed."""
        return f"{lang}/feed.xml"

    @staticmethod
    def media(slug: str, name: str) -> str:
        """The output path of an issue's shared image."""
        return f"media/{slug}/{name}"

    @staticmethod
    def topics(lang: str, section: str) -> str:
        """The output path of a language's list of member states (or of topics): `section` is
        that list's word in the language (`estados`, `states`; `temas`, `topics`)."""
        return f"{lang}/{section}/index.html"

    @staticmethod
    def topic(lang: str, section: str, slug: str) -> str:
        """The output path of one member state's (or topic's) page in a language."""
        return f"{lang}/{section}/{slug}/index.html"

    @staticmethod
    def topic_feed(lang: str, section: str, slug: str) -> str:
        """The output path of one member state's (or topic's) RSS feed in a language."""
        return f"{lang}/{section}/{slug}/feed.xml"

    @staticmethod
    def search_bundle(lang: str) -> str:
        """The folder of a language's search index (Pagefind's bundle), ending in /."""
        return f"pagefind/{lang}/"


@dataclass(frozen=True)
class SubscriptionUrls:
    """The subscription web application's public URLs: form, confirm, unsubscribe, language.

    `base` is `[email] subscription_url`, which the settings loader makes end in `/`; every page,
    email and the application itself build their links here, so they always agree.
    """

    base: str

    def __post_init__(self) -> None:
        if not self.base.endswith("/"):
            raise ValueError(f"{self.base}: a subscription URL ends in / (as loaded settings do)")

    @property
    def path(self) -> str:
        """The base URL's path (what the application strips from each request), ending in /."""
        return urlsplit(self.base).path or "/"

    def form(self, lang: str) -> str:
        """The subscribe form in one language."""
        return f"{self.base}{lang}/"

    def link(self, purpose: str, token: str) -> str:
        """A signed subscriber link (`confirm/…`, `unsubscribe/…`, `language/…`)."""
        return f"{self.base}{purpose}/{token}"
