"""The archive build: structure, determinism, atomicity, incrementality, drafts."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from newsletter.archive.build import build_site
from newsletter.archive.writer import OutputCollision, StagedSite, UnsafeOutputPath, safe_join
from newsletter.errors import BuildError
from newsletter.settings import Settings, load_settings

from .golden import assert_golden

TODAY = dt.date(2026, 11, 28)


class Head(HTMLParser):
    """Collects the <html lang>, <link> tags and anchors of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.lang = ""
        self.links: list[dict[str, str]] = []
        self.anchors: list[dict[str, str]] = []
        self.images: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = values.get("lang", "")
        elif tag == "link":
            self.links.append(values)
        elif tag == "a":
            self.anchors.append(values)
        elif tag == "img":
            self.images.append(values)


def parse(path: Path) -> Head:
    head = Head()
    head.feed(path.read_text(encoding="utf-8"))
    return head


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_build_writes_every_page_feed_and_sitemap(site_settings: Settings) -> None:
    report = build_site(site_settings, today=TODAY)
    site = report.output
    files = set(tree(site))
    expected = {
        "index.html", "sitemap.xml",
        "es/index.html", "en/index.html", "es/feed.xml", "en/feed.xml",
        "es/2011-03/index.html", "en/2011-03/index.html",
        "es/2011-06/index.html", "en/2011-06/index.html",
        "media/2011-03/images/red.svg", "favicon.ico",
        "es/estados/index.html", "es/estados/uy/index.html", "es/estados/uy/feed.xml",
        "en/states/index.html", "en/states/cr/index.html", "en/states/cr/feed.xml",
        "es/temas/index.html", "es/temas/red/index.html", "es/temas/red/feed.xml",
        "en/topics/index.html", "en/topics/network/index.html",
        "pagefind/es/pagefind.js", "pagefind/en/pagefind.js",
        "pagefind/es/pagefind-entry.json", "pagefind/en/pagefind-entry.json",
    }
    assert expected <= files
    static = sorted(f for f in files if f.startswith("static/"))
    names = ["apple-touch-icon", "card", "favicon", "favicon", "search", "style"]
    assert [re.sub(r"\.[0-9a-f]{8}\.\w+$", "", f.removeprefix("static/")) for f in static] \
        == names
    assert report.issues == 2 and report.editions == 4 and not report.unchanged


def test_issue_page_has_lang_hreflang_switcher_and_feed_links(site_settings: Settings) -> None:
    site = build_site(site_settings, today=TODAY).output
    page = parse(site / "en/2011-06/index.html")
    assert page.lang == "en"
    alternates = {link["hreflang"]: link["href"] for link in page.links
                  if link.get("rel") == "alternate" and "type" not in link}
    base = "https://annaobserva.iin.oea.org"
    assert alternates == {
        "es": f"{base}/es/2011-06/", "en": f"{base}/en/2011-06/",
        "x-default": f"{base}/es/2011-06/",
    }
    canonical = [link["href"] for link in page.links if link.get("rel") == "canonical"]
    assert canonical == [f"{base}/en/2011-06/"]
    feeds = [link for link in page.links if link.get("type") == "application/rss+xml"]
    assert [f["href"] for f in feeds] == ["/en/feed.xml", "/es/feed.xml", "/pt/feed.xml",
                                          "/fr/feed.xml"]
    switch = [a for a in page.anchors if a.get("hreflang") == "es" and a.get("rel") == "alternate"]
    assert [a["href"] for a in switch] == ["/es/2011-06/"]
    # The link to an earlier issue, written as a repository path, became its archive URL.
    assert any(a.get("href") == "/en/2011-03/" for a in page.anchors)
    css = [link["href"] for link in page.links if link.get("rel") == "stylesheet"]
    assert len(css) == 1 and (site / css[0].lstrip("/")).is_file()


def test_images_are_shared_and_pages_point_at_them(site_settings: Settings) -> None:
    site = build_site(site_settings, today=TODAY).output
    for lang in ("es", "en"):
        images = parse(site / f"{lang}/2011-03/index.html").images
        assert [i["src"] for i in images] == ["/media/2011-03/images/red.svg"]
        assert images[0]["alt"]


def test_spanish_gets_angle_quotes_and_unicode_heading_ids(site_settings: Settings) -> None:
    site = build_site(site_settings, today=TODAY).output
    es = (site / "es/2011-06/index.html").read_text(encoding="utf-8")
    en = (site / "en/2011-06/index.html").read_text(encoding="utf-8")
    assert "&laquo;Protecting Children in a Digital Age&raquo;" in es
    assert 'id="sesión-de-viena"' in es
    assert "&laquo;" not in en


def test_index_lists_newest_first_with_localized_dates(site_settings: Settings) -> None:
    site = build_site(site_settings, today=TODAY).output
    es = (site / "es/index.html").read_text(encoding="utf-8")
    en = (site / "en/index.html").read_text(encoding="utf-8")
    assert es.index("Proteger a la niñez") < es.index("La red de enlaces")
    assert "7 de junio de 2011" in es and "10 de marzo de 2011" in es
    assert "June 7, 2011" in en


def test_root_page_is_a_chooser_with_the_default_language_preselected(
    site_settings: Settings
) -> None:
    site = build_site(site_settings, today=TODAY).output
    root = parse(site / "index.html")
    choices = [a for a in root.anchors if a.get("hreflang")]
    assert [a["href"] for a in choices] == ["/es/", "/en/", "/pt/", "/fr/"]  # every language
    assert "preselected" in choices[0].get("class", "")
    assert all("preselected" not in choice.get("class", "") for choice in choices[1:])


def test_sitemap_alternates_match_the_pages(site_settings: Settings) -> None:
    site = build_site(site_settings, today=TODAY).output
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    root = ET.parse(site / "sitemap.xml").getroot()
    entries = {
        u.find("s:loc", ns).text: {link.get("hreflang"): link.get("href")
                                   for link in u.findall("x:link", ns)}
        for u in root.findall("s:url", ns)
    }
    # 4 issue pages (es, en), 4 indexes; in es and en 2 state pages and their list, 2 topic
    # pages and their list; in pt and fr (no edition yet) the 2 state pages, listing the issues
    # by their fallback edition, and their list, and the (empty) list of topics.
    assert len(entries) == 28
    for loc, alternates in entries.items():
        path = loc.removeprefix("https://annaobserva.iin.oea.org/") + "index.html"
        page = parse(site / path)
        from_page = {link["hreflang"]: link["href"] for link in page.links
                     if link.get("rel") == "alternate" and "type" not in link}
        assert alternates == from_page, loc


def test_two_builds_of_the_same_tree_are_byte_identical(
    site_settings: Settings, tmp_path: Path
) -> None:
    first = build_site(site_settings, today=TODAY, output=tmp_path / "one").output
    shutil.rmtree(site_settings.path(".cache"))
    second = build_site(site_settings, today=TODAY, output=tmp_path / "two").output
    assert tree(first) == tree(second)


def test_a_failed_build_leaves_the_previous_site_intact(
    site_settings: Settings, site_project: Path
) -> None:
    site = build_site(site_settings, today=TODAY).output
    before = tree(site)
    bad = site_project / "issues/2011-06/en.md"
    text = bad.read_text(encoding="utf-8")
    bad.write_text(text.replace("number: 2", "number: [oops"), encoding="utf-8")
    with pytest.raises(BuildError) as info:
        build_site(site_settings, today=TODAY)
    assert "issues/2011-06/en.md:3: malformed YAML" in str(info.value)
    assert tree(site) == before
    assert not [p for p in site.parent.iterdir() if p.name.startswith("_site.")]


def test_a_template_error_is_a_build_error_naming_the_template(
    site_settings: Settings, site_project: Path
) -> None:
    site = build_site(site_settings, today=TODAY).output
    before = tree(site)
    index = site_project / "templates/index.html"
    text = index.read_text(encoding="utf-8")
    index.write_text(text.replace("{{ t.archive }}", "{{ t.archive "), encoding="utf-8")
    with pytest.raises(BuildError, match=r"index\.html:\d+"):
        build_site(site_settings, today=TODAY)
    assert tree(site) == before


def test_no_change_rebuild_converts_and_writes_nothing(site_settings: Settings) -> None:
    site = build_site(site_settings, today=TODAY).output
    inode = (site / "es/2011-03/index.html").stat().st_ino
    again = build_site(site_settings, today=TODAY)
    assert again.unchanged and again.converted == 0 and again.written == ()
    assert (site / "es/2011-03/index.html").stat().st_ino == inode


def test_editing_one_issue_reconverts_it_alone_and_keeps_other_files(
    site_settings: Settings, site_project: Path
) -> None:
    site = build_site(site_settings, today=TODAY).output
    untouched = (site / "es/2011-03/index.html").stat()
    edited = site_project / "issues/2011-06/es.md"
    text = edited.read_text(encoding="utf-8")
    edited.write_text(text + "\nUn párrafo nuevo.\n", encoding="utf-8")
    report = build_site(site_settings, today=TODAY)
    assert report.converted == 1
    pages = {p for p in report.written if not p.startswith("pagefind/")}
    # The page, and the two feeds that carry its full text (the language's, Costa Rica's).
    assert pages == {"es/2011-06/index.html", "es/feed.xml", "es/estados/cr/feed.xml"}
    # The Spanish search index is refreshed; the English one is not touched.
    assert {p.split("/")[1] for p in report.written if p.startswith("pagefind/")} == {"es"}
    assert report.search is not None and report.search.refreshed == ("es",)
    assert report.search.kept == ("en",)
    after = (site / "es/2011-03/index.html").stat()
    assert (after.st_ino, after.st_mtime_ns) == (untouched.st_ino, untouched.st_mtime_ns)
    assert "Un párrafo nuevo." in (site / "es/2011-06/index.html").read_text(encoding="utf-8")


def test_a_config_change_rebuilds_everything(site_project: Path) -> None:
    settings = load_settings(site_project / "newsletter.toml")
    build_site(settings, today=TODAY)
    config = site_project / "newsletter.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "https://annaobserva.iin.oea.org/", "https://example.org/annaobserva/"), encoding="utf-8")
    report = build_site(load_settings(config), today=TODAY)
    assert report.converted == 4
    page = (report.output / "en/2011-06/index.html").read_text(encoding="utf-8")
    assert 'href="/annaobserva/en/2011-03/"' in page


def test_drafts_and_future_issues_are_left_out_unless_asked(
    site_settings: Settings, site_project: Path
) -> None:
    draft = site_project / "issues/2011-06"
    for lang in ("es", "en"):
        path = draft / f"{lang}.md"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("countries: [CR]", "countries: [CR]\nstatus: draft"),
                        encoding="utf-8")
    site = build_site(site_settings, today=TODAY).output
    assert not (site / "es/2011-06").exists()
    assert "2011-06" not in (site / "es/feed.xml").read_text(encoding="utf-8")
    assert "2011-06" not in (site / "sitemap.xml").read_text(encoding="utf-8")
    # Dated after "today": left out too.
    early = build_site(site_settings, today=dt.date(2011, 3, 9),
                       output=site.parent / "early").output
    assert not (early / "es/2011-03").exists()
    with_drafts = build_site(site_settings, today=TODAY, drafts=True,
                             output=site.parent / "drafts").output
    assert (with_drafts / "es/2011-06/index.html").is_file()


def test_an_issue_missing_a_language_has_no_link_to_it(
    site_settings: Settings, site_project: Path
) -> None:
    (site_project / "issues/2011-06/en.md").unlink()
    # The renderer on its own: the build's default checks refuse an issue missing a configured
    # language (an optional one, say pt, is left out the same way).
    site = build_site(site_settings, today=TODAY, checks=None).output
    assert not (site / "en/2011-06").exists()
    page = parse(site / "es/2011-06/index.html")
    hreflangs = {link["hreflang"] for link in page.links
                 if link.get("rel") == "alternate" and "type" not in link}
    assert hreflangs == {"es", "x-default"}
    assert not [a for a in page.anchors if a.get("rel") == "alternate"]


def test_output_paths_cannot_leave_the_site_or_collide(tmp_path: Path) -> None:
    with pytest.raises(UnsafeOutputPath):
        safe_join(tmp_path, "../outside.html")
    with pytest.raises(UnsafeOutputPath):
        safe_join(tmp_path, "/etc/passwd")
    with StagedSite(tmp_path / "site", {}) as files:
        files.add("en/index.html", "a", "index of en")
        both = "issues/x/en.md and index of en would both write en/index.html"
        with pytest.raises(OutputCollision, match=both):
            files.add("en/index.html", "b", "issues/x/en.md")
        with pytest.raises(UnsafeOutputPath):
            files.add("../x.html", "c", "issues/y/en.md")
    assert not list(tmp_path.iterdir())  # never committed: nothing left behind


def test_an_interrupted_swap_is_recovered(site_settings: Settings) -> None:
    site = build_site(site_settings, today=TODAY).output
    before = tree(site)
    os.rename(site, site.with_name("_site.old"))  # as if killed between the two renames
    report = build_site(site_settings, today=TODAY)
    assert report.unchanged
    assert tree(site) == before


@pytest.mark.parametrize("lang", ["es", "en"])
def test_golden_issue_page_and_index(site_settings: Settings, lang: str) -> None:
    site = build_site(site_settings, today=TODAY).output
    issue_page = (site / f"{lang}/2011-06/index.html").read_text(encoding="utf-8")
    assert_golden(issue_page, f"site/{lang}-issue.html")
    index_page = (site / f"{lang}/index.html").read_text(encoding="utf-8")
    assert_golden(index_page, f"site/{lang}-index.html")
    assert_golden((site / f"{lang}/feed.xml").read_text(encoding="utf-8"), f"site/{lang}-feed.xml")


@examples(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(["a", "b.html", ".", "..", "", "/", "x y", "\\", "é", "..a", ".b"]),
                min_size=1, max_size=6).map("".join))
def test_output_paths_are_checked_like_pure_posix_paths(relative: str) -> None:
    """The quick check of an already normal output path says what PurePosixPath says of any."""
    from pathlib import PurePosixPath

    root = Path("/srv/site")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or relative.endswith("/"):
        with pytest.raises(UnsafeOutputPath):
            safe_join(root, relative)
    else:
        assert safe_join(root, relative) == root.joinpath(*pure.parts)
