"""An optional edition that is still a draft does not hold back its issue (issue 12: "any other
edition is optional, issue by issue"). On the four-language fixture, the newest issue (2026-11)
is ready in es, en and fr while its Portuguese translation is late (`pt.md`: `status: draft`,
its text changed since its approval): `check` says so in an info line; the archive, the feeds,
the sitemap and the emails treat the pt edition as not existing yet (its readers get the es
edition in their own words), except `build --drafts`; `send` does not wait for its approval.
The required editions (es, en) still have to agree on the status."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest

from newsletter.archive.build import build_site
from newsletter.cli import main
from newsletter.content import edition_hash, load_corpus, unapproved
from newsletter.content.approvals import read_approvals
from newsletter.delivery import Ledger, delivery_report
from newsletter.settings import Settings
from tests.test_languages_check import problems
from tests.test_languages_delivery import add_readers, flat, html, send, text
from tests.test_languages_site import alternates, entries, switcher

TODAY = dt.date(2026, 11, 28)
NEWEST = "2026-11"
BASE = "https://annaobserva.iin.oea.org"
PT_NOTICE = ("Esta edição ainda não está disponível em português: enviamos a você a versão em "
             "espanhol.")


def set_status(settings: Settings, lang: str, status: str, slug: str = NEWEST) -> Path:
    """Set one edition's `status:` line (the front matter's sixth line in the fixture)."""
    path = settings.path("issues") / slug / f"{lang}.md"
    source = path.read_text(encoding="utf-8")
    assert "\nstatus: ready\n" in source
    path.write_text(source.replace("\nstatus: ready\n", f"\nstatus: {status}\n", 1),
                    encoding="utf-8")
    return path


@pytest.fixture
def late_pt(languages_settings: Settings) -> Settings:
    """The fixture with 2026-11's pt.md a draft still being translated (changed since its
    approval: `[delivery] require_approval` is on in these settings)."""
    path = set_status(languages_settings, "pt", "draft")
    with path.open("a", encoding="utf-8") as out:
        out.write("\nTradução em andamento: a revisar.\n")
    return languages_settings


# -- check -------------------------------------------------------------------------------------

def test_check_passes_with_an_info_line_on_the_draft_translation(
    late_pt: Settings, languages_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert problems(late_pt) == [
        "issues/2026-11/pt.md:6: info: the pt edition is a draft: not published or sent yet; "
        "pt readers get the es edition (set status: ready when the translation is done)"]
    assert load_corpus(late_pt).get(NEWEST).status == "ready"
    assert main(["--config", str(languages_project / "newsletter.toml"), "check",
                 "--no-email"]) == 0
    out = capsys.readouterr().out
    assert "issues/2026-11/pt.md:6: info: the pt edition is a draft" in out
    assert "differs from" not in out
    # Approvals: send needs none for the draft, so check neither warns nor lists it.
    assert "issues/2026-11/pt.md:1: approval" not in out
    assert "issues/2026-11/es.md:1: info: approval: " in out
    assert out.splitlines()[-1] == "4 issues, 10 editions: 0 error(s), 0 warning(s)"


def test_the_required_editions_must_still_agree_on_the_status(late_pt: Settings) -> None:
    set_status(late_pt, "en", "draft")
    assert [p for p in problems(late_pt) if "status" in p] == [
        "issues/2026-11/en.md:6: status draft differs from es.md (ready): every edition of an "
        "issue has the same status"]


def test_an_optional_edition_ready_in_a_draft_issue_waits_for_it(
    languages_settings: Settings
) -> None:
    for lang in ("es", "en"):
        set_status(languages_settings, lang, "draft")
    assert problems(languages_settings) == []
    issue = load_corpus(languages_settings).get(NEWEST)
    assert issue.status == "draft"
    assert not issue.is_visible(TODAY)


def test_a_ready_translation_linking_to_the_draft_is_warned(late_pt: Settings) -> None:
    older = late_pt.path("issues") / "2026-09" / "es.md"
    with older.open("a", encoding="utf-8") as out:
        out.write(f"\nVéase también [la edición en portugués](../{NEWEST}/pt.md).\n")
    found = [p for p in problems(late_pt) if p.startswith("issues/2026-09/es.md")]
    assert len(found) == 1 and found[0].endswith(
        f"warning: link ../{NEWEST}/pt.md goes to the 'pt' edition of '{NEWEST}', which is a "
        "draft: the link is broken in the archive until that edition is ready")


# -- the archive -------------------------------------------------------------------------------

@pytest.fixture
def site(late_pt: Settings) -> Path:
    return build_site(late_pt, today=TODAY).output


def test_no_page_and_the_pt_list_links_the_spanish_edition_with_the_note(site: Path) -> None:
    assert not (site / "pt" / NEWEST).exists()
    assert (site / "fr" / NEWEST / "index.html").is_file()
    assert entries(site / "pt" / "index.html")[0] == (f"/es/{NEWEST}/", "es", "em espanhol")
    assert entries(site / "fr" / "index.html")[0] == (f"/fr/{NEWEST}/", "", "")
    # State and topic pages: the issue by its Spanish edition, no pt topic of its own.
    assert entries(site / "pt" / "estados" / "br" / "index.html")[0] == (
        f"/es/{NEWEST}/", "es", "em espanhol")
    assert not (site / "pt" / "temas" / "participacao").exists()


def test_the_pt_feeds_lack_it(site: Path) -> None:
    feed = feedparser.parse((site / "pt" / "feed.xml").read_bytes())
    assert not feed.bozo and feed.entries == []
    state = feedparser.parse((site / "pt" / "estados" / "br" / "feed.xml").read_bytes())
    assert state.entries == []
    french = feedparser.parse((site / "fr" / "feed.xml").read_bytes())
    assert [e.link for e in french.entries] == [f"{BASE}/fr/{NEWEST}/"]


def test_hreflang_switcher_og_locale_and_sitemap_omit_it(site: Path) -> None:
    page = site / "es" / NEWEST / "index.html"
    assert alternates(page) == {"es": f"{BASE}/es/{NEWEST}/", "en": f"{BASE}/en/{NEWEST}/",
                                "fr": f"{BASE}/fr/{NEWEST}/", "x-default": f"{BASE}/es/{NEWEST}/"}
    assert switcher(page) == ["es", "en", "fr"]
    locales = re.findall(r'property="og:locale:alternate" content="(\w+)"',
                         page.read_text(encoding="utf-8"))
    assert [code[:2] for code in locales] == ["en", "fr"]
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    root = ET.parse(site / "sitemap.xml").getroot()
    urls = {u.findtext("s:loc", namespaces=ns):
            {a.get("hreflang") for a in u.findall("x:link", ns)} for u in root.findall("s:url", ns)}
    assert f"{BASE}/pt/{NEWEST}/" not in urls
    assert urls[f"{BASE}/es/{NEWEST}/"] == {"es", "en", "fr", "x-default"}


def test_search_does_not_index_it(site: Path) -> None:
    # Pagefind indexes the pages built: pt has none, so no pt index and no search box in pt.
    assert not (site / "pagefind" / "pt").exists()
    assert (site / "pagefind" / "fr" / "pagefind.js").is_file()


def test_build_drafts_includes_it(late_pt: Settings, tmp_path: Path) -> None:
    drafts = build_site(late_pt, today=TODAY, drafts=True, output=tmp_path / "drafts").output
    assert (drafts / "pt" / NEWEST / "index.html").is_file()
    assert "Tradução em andamento" in (drafts / "pt" / NEWEST / "index.html").read_text(
        encoding="utf-8")
    assert entries(drafts / "pt" / "index.html")[0] == (f"/pt/{NEWEST}/", "", "")
    assert "pt" in alternates(drafts / "es" / NEWEST / "index.html")


def test_setting_it_ready_publishes_it_on_the_next_build(late_pt: Settings, site: Path) -> None:
    set_status_back = late_pt.path("issues") / NEWEST / "pt.md"
    source = set_status_back.read_text(encoding="utf-8")
    set_status_back.write_text(source.replace("\nstatus: draft\n", "\nstatus: ready\n"),
                               encoding="utf-8")
    rebuilt = build_site(late_pt, today=TODAY).output
    assert (rebuilt / "pt" / NEWEST / "index.html").is_file()
    assert entries(rebuilt / "pt" / "index.html")[0] == (f"/pt/{NEWEST}/", "", "")


# -- delivery ----------------------------------------------------------------------------------

def test_a_pt_reader_gets_the_spanish_edition_in_portuguese_words(late_pt: Settings) -> None:
    add_readers(late_pt)
    messages = send(late_pt, NEWEST)
    pt, es, fr = messages["pt"], messages["es"], messages["fr"]
    assert pt["Content-Language"] == "es, pt"
    assert pt["Subject"] == es["Subject"]
    assert flat(text(pt)).count(PT_NOTICE) == 1
    assert "Ver no navegador" in text(pt) and f"{BASE}/es/{NEWEST}/" in text(pt)
    assert "Tradução em andamento" not in text(pt)
    assert '<html lang="pt" dir="ltr">' in html(pt)
    assert fr["Content-Language"] == "fr"
    # "Also in" links name only published editions.
    for message in messages.values():
        assert f"/pt/{NEWEST}/" not in text(message) + html(message)
    assert f"{BASE}/fr/{NEWEST}/" in text(es)


def test_the_ledger_and_report_record_the_spanish_edition(
    late_pt: Settings, languages_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_readers(late_pt)
    send(late_pt, NEWEST)
    from newsletter.subscribers import SubscriberStore

    with SubscriberStore.open(late_pt) as store:
        rows = {(r.lang, r.edition_lang, r.sent) for r in
                delivery_report(Ledger.beside(store), NEWEST).rows}
    assert rows == {("es", "es", 1), ("en", "en", 1), ("pt", "es", 1), ("fr", "fr", 1)}
    assert main(["--config", str(languages_project / "newsletter.toml"), "report", NEWEST,
                 "--csv"]) == 0
    assert "pt,es,BR,1,1" in capsys.readouterr().out


def test_the_drafts_approval_is_not_required(
    late_pt: Settings, languages_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    issue = load_corpus(late_pt).get(NEWEST)
    assert late_pt.delivery.require_approval
    assert unapproved(issue) == []
    add_readers(late_pt)
    toml = str(languages_project / "newsletter.toml")
    assert main(["--config", toml, "send", NEWEST, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Fallback: 1 pt subscriber gets the es edition (no pt edition yet)" in out
    approval = next(line for line in out.splitlines() if line.startswith("Approval: "))
    assert " pt " not in approval and "refuses" not in approval
    # The draft's text did change since its approval: only its being a draft lets send go.
    recorded = {a.lang: a.content for a in read_approvals(issue)}
    assert edition_hash(issue, "pt") != recorded["pt"]
    assert main(["--config", toml, "send", NEWEST, "--no-progress"]) == 0
    assert "refuse" not in capsys.readouterr().err


def test_a_reader_frozen_on_the_fallback_keeps_it_in_their_words_after_the_translation_lands(
    late_pt: Settings,
) -> None:
    """The campaign is frozen while pt is a draft (the pt reader's row says es); the translation
    is then published before that row goes out: the reader still gets the es edition the ledger
    recorded, with the Portuguese fixed words and the fallback line, not the Spanish ones."""
    from newsletter.mail import render_email_editions
    from newsletter.subscribers import SubscriberStore
    from tests.delivery_support import load_issue

    add_readers(late_pt)
    with SubscriberStore.open(late_pt) as store:
        issue = load_issue(late_pt, NEWEST)
        Ledger.beside(store).freeze(NEWEST, store.audience(),
                                    render_email_editions(late_pt, issue).edition_for)
    path = late_pt.path("issues") / NEWEST / "pt.md"
    # The translation is finished as it was approved: ready, and without the working note.
    source = path.read_text(encoding="utf-8").replace("\nstatus: draft\n", "\nstatus: ready\n", 1)
    path.write_text(source.replace("\nTradução em andamento: a revisar.\n", ""), encoding="utf-8")
    assert load_issue(late_pt, NEWEST).published_editions().keys() >= {"pt"}
    messages = send(late_pt, NEWEST)
    pt = messages["pt"]
    assert pt["Content-Language"] == "es, pt"
    assert flat(text(pt)).count(PT_NOTICE) == 1
    assert "Ver no navegador" in text(pt) and f"{BASE}/es/{NEWEST}/" in text(pt)
    assert '<html lang="pt" dir="ltr">' in html(pt)
    assert messages["fr"]["Content-Language"] == "fr"
