"""`publish.py gather`: partner feeds (local fixture files and a loopback HTTP server) → drafts."""

from __future__ import annotations

import datetime as dt
import http.server
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsletter.cli import main
from newsletter.content.feeds import FeedList, FeedsConfigError, PartnerFeed, load_feed_list
from newsletter.content.gather import (
    FeedFailed,
    Gathered,
    GatherError,
    default_since,
    fetch_feed,
    gather_news,
    html_to_line,
    normalize_link,
    shorten,
)
from newsletter.content.loader import load_issues
from newsletter.content.markup import renderer_for
from newsletter.content.news_drafts import (
    NOT_BUILT,
    DraftExists,
    check_news_drafts,
    render_news_draft,
    write_news_drafts,
)
from newsletter.settings import Settings
from newsletter.wording import Wording, load_wording

from .conftest import REPO
from .golden import assert_golden

FEEDS = Path(__file__).resolve().parent / "fixtures" / "feeds"
SINCE = dt.date(2026, 10, 31)
# Every fixture feed, in the order a feeds.toml lists them: (name, file, language).
ALL_FEEDS = [
    ("Children's Rights Network", "rss2.xml", "en"),
    ("Global Alliance against Trafficking", "atom.xml", "en"),
    ("Defensoría de la Niñez", "rss1.xml", "es"),
    ("Red Andina de Protección", "relative_links.xml", "es"),
    ("Observatorio Mesoamericano", "html_in_titles.xml", "es"),
    ("Fundación Niñez y Futuro", "not_well_formed.xml", "es"),
    ("News aggregator", "duplicates.xml", "en"),
    ("Rede Brasileira pela Infância", "portuguese.xml", "pt"),
]


WORDING = load_wording(REPO / "templates", ("es", "en", "pt", "fr"))


def draft(gathered: Gathered, lang: str, wording: Wording = WORDING) -> str:
    """The draft in one language, with that language's words from templates/wording/."""
    return render_news_draft(gathered, lang, wording.section(lang, "news_draft"))


def feeds_toml(folder: Path, feeds: list[tuple[str, str, str]], extra: str = "") -> Path:
    """A feeds.toml beside copies of the fixture feeds (paths relative to it)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [extra] if extra else []
    for name, file, lang in feeds:
        if (FEEDS / file).exists():
            shutil.copy(FEEDS / file, folder / file)
        lines += ["[[feed]]", f'name = "{name}"', f'path = "{file}"', f'language = "{lang}"', ""]
    path = folder / "feeds.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def gather(tmp_path: Path, feeds: list[tuple[str, str, str]], extra: str = ""):  # type: ignore[no-untyped-def]
    return gather_news(load_feed_list(feeds_toml(tmp_path / "feeds", feeds, extra)), SINCE)


def one(tmp_path: Path, file: str, lang: str = "en"):  # type: ignore[no-untyped-def]
    gathered = gather(tmp_path, [("Partner", file, lang)])
    (outcome,) = gathered.outcomes
    return outcome


# -- one case per fixture feed ---------------------------------------------------------------


def test_rss2_keeps_entries_since_the_date_with_summaries_as_plain_text(tmp_path: Path) -> None:
    outcome = one(tmp_path, "rss2.xml")
    assert (outcome.read, outcome.old, outcome.error) == (3, 1, "")
    assert [i.link for i in outcome.items] == [
        "https://rights-network.example.org/news/regional-meeting-declaration",
        "https://rights-network.example.org/news/helpline-figures-caribbean",
    ]
    first, second = outcome.items
    assert first.published == dt.datetime(2026, 11, 26, 14, 30, tzinfo=dt.UTC)
    assert first.summary == (
        "Delegations from twelve member states agreed on a joint declaration on the protection "
        "of children online. The text commits governments to shared reporting standards & a "
        "yearly review."
    )
    assert first.guid == first.link and second.guid == "crn-2026-1104"
    # Length-limited at a word, and the script's text is gone.
    assert len(second.summary) <= 300 and second.summary.endswith(" compares them with the…")
    assert "trackVisit" not in second.summary


def test_atom_reads_html_titles_updated_dates_and_content_when_there_is_no_summary(
    tmp_path: Path,
) -> None:
    outcome = one(tmp_path, "atom.xml")
    training, guide = outcome.items
    assert training.title == "Training for border officials in three countries"
    assert training.guid == "tag:alliance.example.net,2026:border-training"
    assert guide.published == dt.datetime(2026, 11, 10, 13, 15, tzinfo=dt.UTC)
    assert guide.summary == (
        "The guide explains how to report without exposing the child: "
        "never a name, a school or a face."
    )


def test_rss1_uses_dublin_core_dates(tmp_path: Path) -> None:
    outcome = one(tmp_path, "rss1.xml", "es")
    assert (outcome.read, outcome.old) == (2, 1)
    (item,) = outcome.items
    assert item.title == "Campaña de prevención llega a 400 escuelas"
    assert item.published == dt.datetime(2026, 11, 12, 13, 0, tzinfo=dt.UTC)
    assert item.language == "es"


def test_relative_links_are_made_absolute_against_the_channel_link(tmp_path: Path) -> None:
    outcome = one(tmp_path, "relative_links.xml", "es")
    assert [i.link for i in outcome.items] == [
        "https://red-andina.example.org/noticias/2026/11/mesa-tecnica",
        "https://red-andina.example.org/noticias/protocolo-atencion.html",
    ]


def test_html_in_titles_becomes_plain_text_and_scripts_vanish(tmp_path: Path) -> None:
    outcome = one(tmp_path, "html_in_titles.xml", "es")
    assert [i.title for i in outcome.items] == [
        "Urgente: alerta por ofertas de empleo falsas & redes sociales",
        "Foro “Infancias seguras” [2.ª edición]",
    ]
    assert outcome.items[1].summary == ""


def test_not_well_formed_feed_is_a_warning_and_its_entries_are_still_read(tmp_path: Path) -> None:
    outcome = one(tmp_path, "not_well_formed.xml", "es")
    assert outcome.error == ""
    assert outcome.warnings == (
        "the XML is broken (line 4: not well-formed (invalid token)); 1 entry read anyway",
    )
    assert [i.title for i in outcome.items] == ["Jornada de capacitación para docentes"]


def test_duplicates_within_a_feed_keep_the_newest_and_undated_entries_are_left_out(
    tmp_path: Path,
) -> None:
    outcome = one(tmp_path, "duplicates.xml")
    links = [i.link for i in outcome.items]
    assert links.count("https://aggregator.example.com/survivors-voices") == 1
    survivors = next(i for i in outcome.items if "survivors" in i.link)
    assert survivors.summary.startswith("Updated:")
    assert "https://aggregator.example.com/undated" not in links
    assert "1 entry without a date left out" in outcome.warnings


def test_duplicates_across_feeds_by_link_or_guid_keep_the_earlier_feed(tmp_path: Path) -> None:
    gathered = gather(
        tmp_path, [("Network", "rss2.xml", "en"), ("Aggregator", "duplicates.xml", "en")]
    )
    network, aggregator = gathered.outcomes
    assert len(network.items) == 2
    # The declaration (same link, once case, tracking and fragment are set aside) and the helpline
    # figures (same guid, another link) are dropped from the aggregator; so is its own repeat.
    assert [i.title for i in aggregator.items] == ["Survivors' voices in policy making"]
    assert gathered.duplicates == 3


def test_portuguese_entries_are_marked_in_other_languages_only(tmp_path: Path) -> None:
    gathered = gather(tmp_path, [("Rede Brasileira", "portuguese.xml", "pt")])
    assert all(i.language == "pt" for i in gathered.items)
    spanish = draft(gathered, "es")
    english = draft(gathered, "en")
    portuguese = draft(gathered, "pt")
    assert spanish.count("*original en portugués*") == 2
    assert english.count("*original in Portuguese*") == 2
    assert "original" not in portuguese.split("-->", 2)[2]
    assert "## Notícias dos parceiros" in portuguese


# -- the draft ---------------------------------------------------------------------------------


def test_gathered_draft_golden(tmp_path: Path) -> None:
    gathered = gather(tmp_path, ALL_FEEDS)
    assert gathered.duplicates == 3 and not gathered.failures
    for lang in ("es", "en"):
        assert_golden(draft(gathered, lang), f"gather/news.{lang}.md")


def test_draft_renders_to_the_links_and_text_an_editor_expects(tmp_path: Path) -> None:
    gathered = gather(tmp_path, [("Observatorio Mesoamericano", "html_in_titles.xml", "es")])
    text = draft(gathered, "es")
    html = renderer_for("es", "/", False).render("2026-11", text).html
    assert (
        '<a href="https://meso.example.org/foro-infancias%282026%29">'
        "Foro “Infancias seguras” [2.ª edición]</a>"
    ) in html
    assert "Las ofertas [falsas] prometen *trabajo* en el extranjero sin requisitos." in html
    assert "<em>" not in html.split("</h3>", 1)[1].split("2026-11-22")[0]
    assert "<script" not in html


def test_empty_gathering_says_so_in_the_draft(tmp_path: Path) -> None:
    gathered = gather_news(
        load_feed_list(feeds_toml(tmp_path, [("Network", "rss2.xml", "en")])), dt.date(2027, 1, 1)
    )
    assert gathered.items == ()
    assert "*No hay noticias de los socios desde el 2027-01-01.*" in draft(gathered, "es")


def test_summaries_are_cut_at_a_word_and_html_is_flattened() -> None:
    assert shorten("one two three four five", 14) == "one two three…"
    assert shorten("short", 14) == "short"
    assert html_to_line("<p>a&nbsp;<b>b</b></p><p>c &lt;d&gt;</p><style>x{}</style>") == "a b c <d>"
    assert normalize_link("HTTPS://Ex.org/a?utm_source=x&id=2#frag") == "https://ex.org/a?id=2"


# -- failures are reported by name, the rest is gathered --------------------------------------


def test_external_entities_are_never_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-CONTENT", encoding="utf-8")
    folder = tmp_path / "feeds"
    toml = feeds_toml(folder, [("Hostile", "xxe.xml", "en")])
    (folder / "xxe.xml").write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>\n'
        '<rss version="2.0"><channel><title>T</title><link>https://x.example/</link>'
        "<description>d</description><item><title>Leak &xxe;</title>"
        "<link>https://x.example/1</link><pubDate>Mon, 16 Nov 2026 15:00:00 +0000</pubDate>"
        "<description>a &xxe; b</description></item></channel></rss>",
        encoding="utf-8",
    )
    gathered = gather_news(load_feed_list(toml), SINCE)
    (item,) = gathered.items
    assert "SECRET" not in item.title + item.summary
    assert "SECRET" not in draft(gathered, "en")


def test_failing_feeds_are_reported_by_name_and_the_others_gathered(tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    toml = feeds_toml(
        folder,
        [("Network", "rss2.xml", "en"), ("Gone", "gone.xml", "en"), ("Web page", "page.xml", "en")],
    )
    (folder / "page.xml").write_text("<!doctype html><html><body>Not a feed</body></html>")
    gathered = gather_news(load_feed_list(toml), SINCE)
    assert [(o.feed.name, o.error) for o in gathered.failures] == [
        ("Gone", "no file at gone.xml"),
        ("Web page", "not a readable feed (line 2: syntax error)"),
    ]
    assert len(gathered.items) == 2


def test_a_local_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    gathered = gather(tmp_path, [("Network", "rss2.xml", "en")], extra="max_bytes = 1000")
    assert gathered.failures[0].error.startswith("larger than the 1,000-byte limit (")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no feeds; add a [[feed]] table"),
        (
            '[[feed]]\nname = "A"\npath = "a.xml"\nlanguage = "en"\ncolour = "red"\n',
            "feed 'A': unknown key 'colour'",
        ),
        (
            '[[feed]]\nname = "A"\npath = "a.xml"\nurl = "https://a.example/"\nlanguage = "en"\n',
            "feed 'A': give either url (a web address) or path (a local file)",
        ),
        (
            '[[feed]]\nname = "A"\nurl = "file:///etc/passwd"\nlanguage = "en"\n',
            "feed 'A': url must start with https:// or http://",
        ),
        (
            '[[feed]]\nname = "A"\npath = "a.xml"\nlanguage = "Spanish"\n',
            "feed 'A': language must be a two-letter code",
        ),
        ('[[feed]]\npath = "a.xml"\nlanguage = "en"\n', "feed #1: missing key 'name'"),
        (
            'timeout_seconds = 0\n[[feed]]\nname = "A"\npath = "a.xml"\nlanguage = "en"\n',
            "timeout_seconds must be a positive number",
        ),
        ("[[feed]\n", "Expected ']]'"),
    ],
)
def test_feeds_toml_errors_name_the_feed_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FeedsConfigError) as raised:
        load_feed_list(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


def test_missing_feeds_toml_says_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(FeedsConfigError, match=r"not found; list the partner feeds there"):
        load_feed_list(tmp_path / "feeds.toml")


# -- fetching over HTTP (a loopback server, never the internet) -------------------------------

RELATIVE_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Served</title><description>d</description>
<item><title>Served item</title><link>items/1.html</link>
<pubDate>Mon, 16 Nov 2026 15:00:00 +0000</pubDate></item></channel></rss>
"""


class FeedHandler(http.server.BaseHTTPRequestHandler):
    """/partner/feed.xml, a large body, a slow answer and a 404."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path == "/slow.xml":
            time.sleep(1.5)
        if self.path in ("/partner/feed.xml", "/slow.xml"):
            body = RELATIVE_FEED
        elif self.path == "/big.xml":
            body = b"<rss>" + b" " * 200_000 + b"</rss>"
        else:
            self.send_error(404, "Not Found")
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout or size limit): that is the point of the test

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def feed_server() -> Iterator[str]:
    """A loopback HTTP server for the fetch tests; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FeedHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def web_feed(url: str) -> PartnerFeed:
    return PartnerFeed("Web partner", url, "en", True)


def test_fetch_over_http_resolves_links_against_the_feed_address(feed_server: str) -> None:
    feeds = FeedList((web_feed(feed_server + "/partner/feed.xml"),), timeout_seconds=5)
    gathered = gather_news(feeds, SINCE)
    assert [i.link for i in gathered.items] == [feed_server + "/partner/items/1.html"]


@pytest.mark.parametrize(
    ("path", "limits", "reason"),
    [
        (
            "/big.xml",
            {"max_bytes": 100_000},
            "larger than the 100,000-byte limit; not read further",
        ),
        ("/slow.xml", {"timeout_seconds": 0.3}, "no answer within 0.3 s"),
        ("/missing.xml", {}, "the server answered HTTP 404 Not Found"),
    ],
)
def test_fetch_has_a_size_limit_a_timeout_and_names_http_errors(
    feed_server: str, path: str, limits: dict[str, float], reason: str
) -> None:
    feeds = FeedList((web_feed(feed_server + path),), **limits)  # type: ignore[arg-type]
    with pytest.raises(FeedFailed) as raised:
        fetch_feed(feeds.feeds[0], feeds.timeout_seconds, feeds.max_bytes)
    assert str(raised.value) == reason


def test_an_unreachable_server_is_a_failure_not_a_crash() -> None:
    from tests.plugins.servers import free_port

    feed = web_feed(f"http://127.0.0.1:{free_port()}/feed.xml")
    with pytest.raises(FeedFailed, match=r"^cannot connect: \[Errno 111\] Connection refused$"):
        fetch_feed(feed, 2, 1000)


# -- issues, since-date, writing, check ---------------------------------------------------------


def test_since_defaults_to_the_previous_issue_date(settings: Settings) -> None:
    corpus = load_issues(settings.path("issues"), settings.site.languages, settings.root)
    newest = corpus.issues[0]
    assert default_since(corpus, newest) == corpus.issues[1].date
    oldest = corpus.issues[-1]
    with pytest.raises(
        GatherError, match=f"issue {oldest.slug} has no previous issue to date from"
    ):
        default_since(corpus, oldest)


def test_drafts_are_written_per_language_and_never_over_a_curated_one(
    settings: Settings, tmp_path: Path
) -> None:
    corpus = load_issues(settings.path("issues"), settings.site.languages, settings.root)
    issue = corpus.issues[0]
    gathered = gather(tmp_path, [("Network", "rss2.xml", "en")])
    written = write_news_drafts(issue, gathered, WORDING)
    assert [p.name for p in written] == ["news.es.md", "news.en.md"]
    assert written[1].read_text(encoding="utf-8") == draft(gathered, "en")
    written[0].write_text("curated by an editor", encoding="utf-8")
    with pytest.raises(
        DraftExists, match=r"news.es.md already exists \(an editor may have curated it\)"
    ):
        write_news_drafts(issue, gathered, WORDING)
    assert written[0].read_text(encoding="utf-8") == "curated by an editor"
    write_news_drafts(issue, gathered, WORDING, force=True)
    assert written[0].read_text(encoding="utf-8") == draft(gathered, "es")
    # The loader still sees the same issue: drafts are not editions and not problems.
    again = load_issues(settings.path("issues"), settings.site.languages, settings.root)
    assert again.issues[0].editions.keys() == issue.editions.keys()
    assert not [p for p in again.problems if "news." in p.path]


def test_check_warns_that_a_draft_is_not_built_and_points_at_broken_lines(
    settings: Settings, tmp_path: Path
) -> None:
    corpus = load_issues(settings.path("issues"), settings.site.languages, settings.root)
    issue = corpus.issues[0]
    gathered = gather(tmp_path, [("Network", "rss2.xml", "en")])
    es, en = write_news_drafts(issue, gathered, WORDING)
    problems = check_news_drafts(settings, corpus)
    assert [(p.path, p.line, p.message, p.severity) for p in problems] == [
        (f"issues/{issue.slug}/news.en.md", 1, NOT_BUILT, "warning"),
        (f"issues/{issue.slug}/news.es.md", 1, NOT_BUILT, "warning"),
    ]
    lines = en.read_text(encoding="utf-8").split("\n")
    item = next(i for i, line in enumerate(lines) if line.startswith("- ["))
    lines[item] = "- [Regional meeting](rights-network.example.org/news) — 2026-11-26"
    lines.insert(item + 2, "stray text")
    en.write_text("\n".join(lines), encoding="utf-8")
    (issue.folder / "news.de.md").write_text("no marker\n", encoding="utf-8")
    found = {
        (p.path.rsplit("/", 1)[1], p.line, p.message) for p in check_news_drafts(settings, corpus)
    }
    assert ("news.en.md", item + 1, "a news item must read - [title](https://…) — date") in found
    assert any(
        name == "news.en.md" and line == item + 3 and msg.startswith("unexpected line")
        for name, line, msg in found
    )
    assert ("news.de.md", 1, "language 'de' is not configured in [site] languages") in found
    assert any(
        name == "news.de.md" and msg.startswith("the first line is not the gather marker")
        for name, _, msg in found
    )
    assert all(p.severity == "warning" for p in check_news_drafts(settings, corpus))


def test_check_command_lists_the_draft_warning(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(
        feeds_toml(tmp_path / "feeds", [("Network", "rss2.xml", "en")]), project / "feeds.toml"
    )
    shutil.copy(FEEDS / "rss2.xml", project / "rss2.xml")
    config = str(project / "newsletter.toml")
    assert main(["--config", config, "gather", "--since", "2026-10-31"]) == 0
    capsys.readouterr()
    main(["--config", config, "check", "--no-email"])
    out = capsys.readouterr().out
    assert f"issues/2027-02/news.en.md:1: warning: {NOT_BUILT}" in out


# -- the command -------------------------------------------------------------------------------


def test_cli_gather_writes_drafts_and_reports_each_feed(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feeds_toml(project, ALL_FEEDS + [("Gone", "gone.xml", "en")])
    config = str(project / "newsletter.toml")
    assert main(["--config", config, "gather", "--since", "2026-10-31"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (
        "warning: feed 'Fundación Niñez y Futuro': the XML is broken (line 4: not well-formed "
        "(invalid token)); 1 entry read anyway\n"
        "warning: feed 'News aggregator': 1 entry without a date left out\n"
        "warning: feed 'Gone' failed: no file at gone.xml\n"
    )
    assert (
        captured.out.splitlines()[0]
        == "  Children's Rights Network: 2 kept of 3 (1 before 2026-10-31)"
    )
    assert captured.out.splitlines()[-1] == (
        "Gathered 13 news items since 2026-10-31 (3 duplicates dropped, 1 feed failed) into "
        "issues/2027-02/news.es.md, issues/2027-02/news.en.md."
    )
    draft = (project / "issues" / "2027-02" / "news.en.md").read_text(encoding="utf-8")
    assert draft.startswith("<!-- annaobserva:news-draft lang=en since=2026-10-31 -->\n")
    assert main(["--config", config, "gather", "--since", "2026-10-31"]) == 1
    assert "already exists (an editor may have curated it)" in capsys.readouterr().err


def test_cli_gather_defaults_to_the_newest_issue_and_the_previous_issue_date(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feeds_toml(project, [("Network", "rss2.xml", "en")])
    config = str(project / "newsletter.toml")
    assert main(["--config", config, "gather", "--issue", "2011-05"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == (
        "Gathered 3 news items since 2011-01-20 (0 duplicates dropped) into "
        "issues/2011-05/news.es.md, issues/2011-05/news.en.md."
    )


def test_cli_gather_errors(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(project / "newsletter.toml")
    assert main(["--config", config, "gather"]) == 1
    # Named relative to the project, as every message does (it was an absolute path).
    assert capsys.readouterr().err.startswith("Error: feeds.toml: not found")
    feeds_toml(project, [("Gone", "gone.xml", "en")])
    assert main(["--config", config, "gather", "--since", "2026-10-31"]) == 1
    assert capsys.readouterr().err == (
        "warning: feed 'Gone' failed: no file at gone.xml\n"
        "Error: every feed in feeds.toml failed; no draft written\n"
    )
    assert main(["--config", config, "gather", "--issue", "1999-01"]) == 1
    assert capsys.readouterr().err.startswith("Error: no issue '1999-01'")
    assert main(["--config", config, "gather", "--since", "last week"]) == 2
    assert "not a date (YYYY-MM-DD): 'last week'" in capsys.readouterr().err


def test_cli_gather_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gather", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: publish.py gather [-h] [--issue SLUG] [--since YYYY-MM-DD]")
    for option in ("--issue", "--since", "--feeds", "--force"):
        assert option in out


def test_the_cli_default_feed_list_is_the_drafts_one() -> None:
    from newsletter.cli import hosting
    from newsletter.content.news_drafts import FEEDS_FILE

    assert hosting.FEEDS_FILE == FEEDS_FILE
