"""Link previews and structured data for an issue page (pure: values in, values out).

Open Graph and Twitter card `<meta>` tags for the preview a chat or a social network shows when a
link to an issue is shared, and a schema.org `NewsArticle` (part of a `PublicationIssue` of the
`Periodical`) for search engines. The template escapes the meta values; the JSON-LD goes through
`templating.json_ld`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.core import get_global

from newsletter.content import Edition

RASTER_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                ".gif": "image/gif", ".webp": "image/webp"}


@dataclass(frozen=True, slots=True)
class CardImage:
    """The image a link preview shows: absolute URL, size when known, type and description."""

    url: str
    alt: str
    mime: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class MetaTag:
    """One `<meta property|name=… content=…>`."""

    attribute: str  # property (Open Graph) | name (Twitter)
    key: str
    content: str


@lru_cache(maxsize=16)
def og_locale(lang: str) -> str:
    """Open Graph's `language_TERRITORY` for a language, from CLDR's likely subtags
    (es → es_ES, en → en_US, pt → pt_BR, fr → fr_FR)."""
    try:
        likely = get_global("likely_subtags").get(lang, "")  # e.g. es_Latn_ES
        territory = Locale.parse(likely).territory if likely else None
    except (UnknownLocaleError, ValueError):
        territory = None
    return f"{lang}_{territory}" if territory else lang


def link_preview(edition: Edition, url: str, site_name: str, image: CardImage,
                 translations: Sequence[str]) -> list[MetaTag]:
    """Open Graph and Twitter card tags of one edition's page."""
    tags = [
        MetaTag("property", "og:type", "article"),
        MetaTag("property", "og:site_name", site_name),
        MetaTag("property", "og:title", edition.title),
        MetaTag("property", "og:description", edition.summary),
        MetaTag("property", "og:url", url),
        MetaTag("property", "og:locale", og_locale(edition.lang)),
    ]
    tags += [MetaTag("property", "og:locale:alternate", og_locale(code))
             for code in translations if code != edition.lang]
    tags += [MetaTag("property", "og:image", image.url),
             MetaTag("property", "og:image:type", image.mime)]
    if image.width and image.height:
        tags += [MetaTag("property", "og:image:width", str(image.width)),
                 MetaTag("property", "og:image:height", str(image.height))]
    tags += [
        MetaTag("property", "og:image:alt", image.alt),
        MetaTag("property", "article:published_time", edition.date.isoformat()),
    ]
    tags += [MetaTag("property", "article:tag", tag) for tag in edition.tags]
    tags += [
        MetaTag("name", "twitter:card", "summary_large_image"),
        MetaTag("name", "twitter:title", edition.title),
        MetaTag("name", "twitter:description", edition.summary),
        MetaTag("name", "twitter:image", image.url),
        MetaTag("name", "twitter:image:alt", image.alt),
    ]
    return tags


def news_article(edition: Edition, url: str, *, site_name: str, site_url: str, publisher: str,
                 image: CardImage, states: Sequence[str]) -> dict[str, Any]:
    """schema.org `NewsArticle` of one edition, part of its `PublicationIssue`."""
    organization = {"@type": "Organization", "name": publisher, "url": site_url}
    article: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": edition.title,
        "description": edition.summary,
        "url": url,
        "mainEntityOfPage": url,
        "inLanguage": edition.lang,
        "datePublished": edition.date.isoformat(),
        "image": [image.url],
        "author": organization,
        "publisher": organization,
        "isPartOf": {
            "@type": "PublicationIssue",
            "issueNumber": str(edition.number),
            "datePublished": edition.date.isoformat(),
            "isPartOf": {"@type": "Periodical", "name": site_name, "url": site_url},
        },
    }
    if edition.tags:
        article["keywords"] = list(edition.tags)
    if states:
        article["contentLocation"] = [{"@type": "Country", "name": name} for name in states]
    return article
