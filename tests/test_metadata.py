"""Link previews (Open Graph, Twitter card) and structured data (JSON-LD) of issue pages: parsed
from a golden page, escaped against a hostile title, the issue's own image when it has one."""

from __future__ import annotations

import datetime as dt
import json
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from newsletter.archive.build import build_site
from newsletter.archive.metadata import og_locale
from newsletter.settings import Settings
from newsletter.templating import json_ld

GOLDEN = Path(__file__).resolve().parent / "golden" / "site"
TODAY = dt.date(2026, 11, 28)


class Head(HTMLParser):
    """The meta tags and JSON-LD scripts of a page, as a parser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: list[tuple[str, str]] = []
        self.json_ld: list[str] = []
        self.scripts: list[dict[str, str]] = []
        self._in_ld = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("property" in values or "name" in values):
            self.meta.append((values.get("property") or values["name"], values.get("content", "")))
        elif tag == "script":
            self.scripts.append(values)
            self._in_ld = values.get("type") == "application/ld+json"
            if self._in_ld:
                self.json_ld.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_ld = False

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self.json_ld[-1] += data


def head_of(html: str) -> Head:
    head = Head()
    head.feed(html)
    return head


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_golden_issue_page_has_parseable_open_graph_twitter_and_json_ld(lang: str) -> None:
    head = head_of((GOLDEN / f"{lang}-issue.html").read_text(encoding="utf-8"))
    meta: dict[str, list[str]] = {}
    for key, value in head.meta:
        meta.setdefault(key, []).append(value)
    url = f"https://annaobserva.iin.oea.org/{lang}/2011-06/"
    title = {"en": "Protecting children in a digital age",
             "es": "Proteger a la niñez en la era digital"}[lang]
    assert meta["og:type"] == ["article"]
    assert meta["og:title"] == [title]
    assert meta["og:url"] == [url]
    assert meta["og:description"][0]
    assert meta["og:locale"] == [{"en": "en_US", "es": "es_ES"}[lang]]
    assert meta["og:locale:alternate"] == [{"en": "es_ES", "es": "en_US"}[lang]]
    image = meta["og:image"][0]
    assert image.startswith("https://annaobserva.iin.oea.org/static/card.") and \
        image.endswith(".png")  # no image in this issue: the default card
    assert meta["og:image:width"] == ["1200"] and meta["og:image:height"] == ["630"]
    assert meta["twitter:card"] == ["summary_large_image"]
    assert meta["twitter:title"] == [title] and meta["twitter:image"] == [image]

    (raw,) = head.json_ld
    data = json.loads(raw)
    assert data["@context"] == "https://schema.org" and data["@type"] == "NewsArticle"
    assert data["headline"] == title and data["inLanguage"] == lang
    assert data["url"] == url and data["datePublished"] == "2011-06-07"
    assert data["image"] == [image]
    issue = data["isPartOf"]
    assert issue["@type"] == "PublicationIssue" and issue["issueNumber"] == "2"
    assert issue["isPartOf"] == {"@type": "Periodical", "name": "ANNAobserva",
                                 "url": "https://annaobserva.iin.oea.org/"}
    assert data["publisher"]["@type"] == "Organization" and data["publisher"]["name"]
    assert data["contentLocation"] == [{"@type": "Country", "name": "Costa Rica"}]


def test_a_hostile_title_cannot_end_the_json_ld_script(
    site_settings: Settings, site_project: Path
) -> None:
    hostile = "</script><script>alert(1)</script><!-- & end"
    path = site_project / "issues/2011-06/en.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title: Protecting children in a digital age",
                                 f"title: '{hostile}'"), encoding="utf-8")
    page = (build_site(site_settings, today=TODAY).output / "en/2011-06/index.html").read_text(
        encoding="utf-8")
    head = head_of(page)
    # Only our two scripts: the JSON-LD block and search.js; the title opened none.
    assert [s.get("type", s.get("src", "")[:15]) for s in head.scripts] == \
        ["application/ld+json", "/static/search."]
    (raw,) = head.json_ld
    assert "</" not in raw and "<!--" not in raw
    assert json.loads(raw)["headline"] == hostile
    assert ("og:title", hostile) in head.meta


def test_json_ld_escapes_what_html_would_read() -> None:
    text = str(json_ld({"a": "</script>&<!--\u2028"}))
    assert text == '{"a":"\\u003c/script\\u003e\\u0026\\u003c!--\\u2028"}'
    assert json.loads(text) == {"a": "</script>&<!--\u2028"}


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + b"\0\0\0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_an_issue_with_an_image_previews_with_it(site_settings: Settings,
                                                 site_project: Path) -> None:
    folder = site_project / "issues/2011-06"
    (folder / "images").mkdir()
    (folder / "images/map.png").write_bytes(_png(640, 320))
    for lang, alt in (("es", "Mapa de la región"), ("en", "Map of the region")):
        path = folder / f"{lang}.md"
        path.write_text(path.read_text(encoding="utf-8") + f"\n![{alt}](images/map.png)\n",
                        encoding="utf-8")
    site = build_site(site_settings, today=TODAY).output
    page = (site / "en/2011-06/index.html").read_text(encoding="utf-8")
    meta = dict(head_of(page).meta)
    assert meta["og:image"] == "https://annaobserva.iin.oea.org/media/2011-06/images/map.png"
    assert (meta["og:image:width"], meta["og:image:height"]) == ("640", "320")
    assert meta["og:image:alt"] == "Map of the region"
    assert '<img alt="Map of the region" src="/media/2011-06/images/map.png" width="640" ' \
           'height="320">' in page


def test_og_locale_for_every_offered_language() -> None:
    assert [og_locale(lang) for lang in ("es", "en", "pt", "fr")] == \
        ["es_ES", "en_US", "pt_BR", "fr_FR"]
