# ruff: noqa: E501 - the expected messages are exact and long
"""`check`: every defect in a fixture issue folder gives exactly the expected `path:line: message`.

Each folder under tests/fixtures/check/ is an `issues/` folder named after its defect; the test copies
it into a fresh project and compares the loader's problems plus `run_checks`'s, in order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from newsletter.content.check import may_be_removed, run_checks
from newsletter.content.issues import Corpus, Issue, Problem
from newsletter.content.loader import load_issues
from newsletter.settings import Settings, load_settings
from tests.conftest import FIXTURES, copy_project

CASES_DIR = FIXTURES / "check"

# fmt: off
EXPECTED: dict[str, list[str]] = {
    "issue_bad_yaml": [
        'issues/2011-01/en.md:5: malformed YAML in front matter: did not find expected key',
        'issues/2011-01/es.md:3: malformed YAML in front matter: mapping values are not allowed in this context',
    ],
    "issue_clean": [
    ],
    "issue_country_not_member": [
        "issues/2011-01/en.md:6: countries: 'AT' is not an OAS member state (the codes are in subscribers/member-states.toml)",
        "issues/2011-01/es.md:6: countries: 'AT' is not an OAS member state (the codes are in subscribers/member-states.toml)",
    ],
    "issue_duplicate_number": [
        'issues/2011-01/en.md:2: number 1 is also used by issues/2011-02: give each issue its own number',
        'issues/2011-01/es.md:2: number 1 is also used by issues/2011-02: give each issue its own number',
        'issues/2011-02/en.md:2: number 1 is also used by issues/2011-01: give each issue its own number',
        'issues/2011-02/es.md:2: number 1 is also used by issues/2011-01: give each issue its own number',
    ],
    "issue_editions_disagree": [
        'issues/2011-01/en.md:2: number 2 differs from es.md (1): every edition of an issue has the same number',
        'issues/2011-01/en.md:4: date 2011-01-21 differs from es.md (2011-01-20): every edition of an issue has the same date',
        'issues/2011-01/en.md:7: status draft differs from es.md (ready): every edition of an issue has the same status',
        'issues/2011-01/en.md:8: send_at 2011-01-21T09:00:00-03:00 differs from es.md (no send_at): every edition of an issue has the same send_at',
    ],
    "issue_html_in_code": [
    ],
    "issue_image_missing": [
        'issues/2011-01/es.md:17: image images/mapa.svg does not exist: add issues/2011-01/images/mapa.svg',
    ],
    "issue_image_without_alt": [
        'issues/2011-01/en.md:17: image images/red.svg has no alt text: describe it for readers who cannot see it (![description](…))',
        'issues/2011-01/en.md:19: image https://www.iin.oas.org/logo.png has no alt text: describe it for readers who cannot see it (alt="…")',
        'issues/2011-01/es.md:17: image images/red.svg has no alt text: describe it for readers who cannot see it (![description](…))',
        'issues/2011-01/es.md:19: image https://www.iin.oea.org/logo.png has no alt text: describe it for readers who cannot see it (alt="…")',
    ],
    "issue_link_to_draft": [
        "issues/2011-01/en.md:17: warning: link ../2011-02/en.md goes to '2011-02', which is a draft: the link is broken in the archive until that issue is ready",
        "issues/2011-01/es.md:17: warning: link ../2011-02/es.md goes to '2011-02', which is a draft: the link is broken in the archive until that issue is ready",
    ],
    "issue_link_to_missing_issue": [
        "issues/2011-01/en.md:17: link ../2010-12/en.md goes to issue '2010-12', which does not exist (no folder issues/2010-12)",
        'issues/2011-01/en.md:17: link 2010-09/en.md is not a link to an issue: write ../<slug>/<lang>.md (e.g. ../2011-01/en.md)',
        "issues/2011-01/es.md:17: link ../2010-12/es.md goes to issue '2010-12', which does not exist (no folder issues/2010-12)",
        'issues/2011-01/es.md:17: link 2010-09/es.md is not a link to an issue: write ../<slug>/<lang>.md (e.g. ../2011-01/es.md)',
    ],
    "issue_link_to_missing_language": [
        "issues/2010-09/es.md:1: the 'en' edition is missing: add issues/2010-09/en.md (en is in [site] required_languages: every issue is written in it)",
        "issues/2011-01/en.md:17: link ../2010-09/ goes to the 'en' edition of '2010-09', which does not exist (no file issues/2010-09/en.md); link to one that exists, e.g. ../2010-09/es.md",
        "issues/2011-01/en.md:17: link ../2010-09/de.md goes to a 'de' edition, but 'de' is not in [site] languages",
        "issues/2011-01/en.md:17: link ../2010-09/en.md goes to the 'en' edition of '2010-09', which does not exist (no file issues/2010-09/en.md); link to one that exists, e.g. ../2010-09/es.md",
        "issues/2011-01/es.md:17: link ../2010-09/de.md goes to a 'de' edition, but 'de' is not in [site] languages",
    ],
    "issue_missing_key": [
        "issues/2011-01/en.md:1: missing front-matter key 'summary'",
    ],
    "issue_missing_translation": [
        "issues/2011-01/es.md:1: the 'en' edition is missing: add issues/2011-01/en.md (en is in [site] required_languages: every issue is written in it)",
    ],
    "issue_raw_html_relative_url": [
        'issues/2011-01/en.md:17: raw HTML <a href> ../2010-09/en.md is not rewritten for the archive and emails: write it as Markdown, [text](…)',
        'issues/2011-01/en.md:19: raw HTML <img src> images/red.svg is not rewritten for the archive and emails: write it as Markdown, ![description](…)',
        'issues/2011-01/es.md:17: raw HTML <a href> ../2010-09/es.md is not rewritten for the archive and emails: write it as Markdown, [text](…)',
        'issues/2011-01/es.md:19: raw HTML <img src> images/red.svg is not rewritten for the archive and emails: write it as Markdown, ![description](…)',
    ],
    "issue_script_tag": [
        'issues/2011-01/en.md:8: translations drifted apart: en has 3 links, es has 1',
        'issues/2011-01/en.md:17: <embed> is not allowed in an issue (newsletters and feeds must not run code or embed pages; link to the content); the archive, feeds and emails leave it out',
        'issues/2011-01/en.md:17: <object> is not allowed in an issue (newsletters and feeds must not run code or embed pages; link to the content); the archive, feeds and emails leave it out',
        'issues/2011-01/en.md:19: href="javascript:steal()" on <a> is removed (only https:, http:, mailto: and relative URLs are allowed): fix or remove it',
        'issues/2011-01/en.md:19: onclick="steal()" on <p> is removed (event handlers run code): fix or remove it',
        'issues/2011-01/en.md:21: href="javascript:alert(1)" on <a> is removed (only https:, http:, mailto: and relative URLs are allowed): fix or remove it',
        'issues/2011-01/es.md:17: <script> is not allowed in an issue (newsletters and feeds must not run code or embed pages; link to the content); the archive, feeds and emails leave it out',
        'issues/2011-01/es.md:19: <iframe> is not allowed in an issue (newsletters and feeds must not run code or embed pages; link to the content); the archive, feeds and emails leave it out',
        'issues/2011-01/es.md:22: onmouseover="robar()" on <div> is removed (event handlers run code): fix or remove it',
        'issues/2011-01/es.md:24: <script> is not allowed in an issue (newsletters and feeds must not run code or embed pages; link to the content); the archive, feeds and emails leave it out',
    ],
    "issue_send_at_naive": [
        'issues/2011-01/en.md:7: send_at has no time zone: add one, e.g. 2026-11-30T09:00:00-03:00',
        'issues/2011-01/es.md:7: send_at has no time zone: add one, e.g. 2026-11-30T09:00:00-03:00',
    ],
    "issue_translations_drifted": [
        'issues/2011-01/en.md:8: translations drifted apart: en has 0 images, es has 1',
        'issues/2011-01/en.md:8: translations drifted apart: en has 1 link, es has 2',
        'issues/2011-01/en.md:8: translations drifted apart: en has 2 ## sections, es has 3',
    ],
    "issue_unknown_key": [
        "issues/2011-01/es.md:7: unknown front-matter key 'author' (known: number, title, date, summary, send_at, status, tags, countries)",
    ],
    "issue_warnings": [
        'issues/2011-01/en.md:1: warning: no countries: list the member states this issue concerns (countries: [CR, UY]), or countries: [] if none in particular',
        'issues/2011-01/en.md:3: warning: title is 94 characters: over 90 is cut in subject lines and feed readers; shorten it',
        'issues/2011-01/en.md:5: warning: summary is 218 characters: email clients show about 200 as the preheader; shorten it',
        "issues/2011-01/en.md:7: warning: en has 52 words, under half of es's 194: is the translation complete?",
        'issues/2011-01/en.md:18: warning: link http://www.iin.oas.org/ uses http://: use https:// if the site supports it',
        'issues/2011-01/en.md:22: warning: heading level skips from ## to ####: use ###',
        "issues/2011-01/en.md:22: warning: section 'A subheading that skips a level' is empty: write it or remove the heading",
        'issues/2011-01/es.md:1: warning: no countries: list the member states this issue concerns (countries: [CR, UY]), or countries: [] if none in particular',
        'issues/2011-01/es.md:16: warning: link http://www.iin.oea.org/ uses http://: use https:// if the site supports it',
        "issues/2011-01/es.md:18: warning: section 'Tercera sección' is empty: write it or remove the heading",
        'issues/2011-01/es.md:22: warning: heading level skips from ## to ####: use ###',
    ],
    "issue_wrong_types": [
        'issues/2011-01/es.md:2: number must be a positive whole number, not \'uno\'',
        "issues/2011-01/es.md:4: date must be a date (YYYY-MM-DD), not '20/01/2011'",
        'issues/2011-01/es.md:6: countries must be a list of text values',
    ],
}
# fmt: on


def project_with(case: str, tmp_path: Path) -> Settings:
    """A fresh project whose issues folder is the fixture case."""
    root = copy_project(tmp_path / "project", issues=False)
    shutil.rmtree(root / "issues")
    shutil.copytree(CASES_DIR / case, root / "issues")
    return load_settings(root / "newsletter.toml")


def load(settings: Settings) -> Corpus:
    return load_issues(settings.path(settings.build.issues_dir), settings.site.languages, settings.root)


def all_problems(settings: Settings, corpus: Corpus) -> list[str]:
    """What `publish.py check` lists: the loader's problems and the checks', in path:line order."""
    return [str(p) for p in sorted([*corpus.problems, *run_checks(settings, corpus)])]


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_defect_is_reported_with_file_line_and_message(case: str, tmp_path: Path) -> None:
    settings = project_with(case, tmp_path)
    assert all_problems(settings, load(settings)) == EXPECTED[case]


def test_every_fixture_folder_has_expectations() -> None:
    assert sorted(p.name for p in CASES_DIR.iterdir() if p.is_dir()) == sorted(EXPECTED)


def test_run_checks_returns_problems_sorted_by_path_and_line(tmp_path: Path) -> None:
    settings = project_with("issue_warnings", tmp_path)
    problems = run_checks(settings, load(settings))
    keys = [(p.path, p.line) for p in problems]
    assert keys == sorted(keys)
    assert {p.severity for p in problems} == {"warning"}


def test_run_checks_leaves_the_loader_problems_to_the_corpus(tmp_path: Path) -> None:
    # The CLI and the build add corpus.problems themselves; repeating them would double each line.
    settings = project_with("issue_unknown_key", tmp_path)
    corpus = load(settings)
    assert [str(p) for p in corpus.problems] == EXPECTED["issue_unknown_key"]
    assert run_checks(settings, corpus) == []


def test_extra_sources_are_merged_in_order(tmp_path: Path) -> None:
    settings = project_with("issue_missing_translation", tmp_path)
    corpus = load(settings)
    seen: list[tuple[Settings, Corpus]] = []

    def budgets(s: Settings, c: Corpus) -> list[Problem]:
        seen.append((s, c))
        return [Problem("issues/2011-01/es.md", 30, "email over budget"),
                Problem("issues/2011-01/aaa.md", 2, "gathered draft", "warning")]

    problems = [str(p) for p in run_checks(settings, corpus, extra=[budgets])]
    assert seen == [(settings, corpus)]
    assert problems == [
        "issues/2011-01/aaa.md:2: warning: gathered draft",
        "issues/2011-01/es.md:1: the 'en' edition is missing: add issues/2011-01/en.md "
        "(en is in [site] required_languages: every issue is written in it)",
        "issues/2011-01/es.md:30: email over budget",
    ]


def test_two_folders_with_one_slug_are_reported(tmp_path: Path) -> None:
    # A folder cannot appear twice on disk, but two issues trees merged by a caller can collide.
    settings = project_with("issue_duplicate_number", tmp_path)
    corpus = load(settings)
    first, second = sorted(corpus.issues, key=lambda i: i.slug)
    archive = settings.root / "archive" / first.slug
    renumbered = {lang: dataclasses.replace(e, number=7, path=archive / f"{lang}.md")
                  for lang, e in second.editions.items()}
    clash = Issue(slug=first.slug, folder=archive, editions=renumbered)
    problems = [str(p) for p in run_checks(settings, Corpus((first, clash), ()))]
    assert problems == [
        "archive/2011-01/en.md:1: slug '2011-01' is also used by issues/2011-01: rename one folder",
        "archive/2011-01/es.md:1: slug '2011-01' is also used by issues/2011-01: rename one folder",
        "issues/2011-01/en.md:1: slug '2011-01' is also used by archive/2011-01: rename one folder",
        "issues/2011-01/es.md:1: slug '2011-01' is also used by archive/2011-01: rename one folder",
    ]


def test_fixture_issues_have_no_problems(settings: Settings) -> None:
    corpus = load(settings)
    assert corpus.problems == ()
    assert [str(p) for p in run_checks(settings, corpus)] == []


def test_fixture_issues_show_what_the_content_model_offers(settings: Settings) -> None:
    corpus = load(settings)
    today = dt.date(2026, 11, 28)
    published = [i for i in corpus.issues if i.is_visible(today)]
    drafts = [i for i in corpus.issues if not i.is_visible(today)]
    assert sorted(i.number for i in published) == [1, 2, 3, 4]
    assert [(i.slug, i.status) for i in drafts] == [("2027-02", "draft")]
    for issue in corpus.issues:
        assert set(issue.editions) == {"es", "en"}
        for edition in issue.editions.values():
            assert 3_000 <= len(edition.path.read_bytes()) <= 9_216, edition.path
            assert edition.send_at is None or edition.send_at.utcoffset() is not None
    bodies = {(i.slug, lang): e.body for i in corpus.issues for lang, e in i.editions.items()}
    assert "](../2010-09/es.md)" in bodies["2011-07", "es"]
    assert "](../2010-09/en.md)" in bodies["2011-07", "en"]
    assert "](images/liaison-network.png)" in bodies["2011-01", "es"]
    assert "](images/liaison-network.png)" in bodies["2011-01", "en"]
    assert (settings.path("issues") / "2011-01" / "images" / "liaison-network.png").is_file()


class RecordingCache:
    """A dict with the BuildCache interface that counts hits."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}
        self.hits = 0

    def get(self, key: str) -> object | None:
        value = self.values.get(key)
        self.hits += value is not None
        return value

    def put(self, key: str, value: object) -> None:
        self.values[key] = value


def test_body_scans_are_reused_from_the_cache(tmp_path: Path) -> None:
    settings = project_with("issue_translations_drifted", tmp_path)
    corpus = load(settings)
    cache = RecordingCache()
    first = run_checks(settings, corpus, cache=cache)
    assert (len(cache.values), cache.hits) == (2, 0)
    second = run_checks(settings, corpus, cache=cache)
    assert cache.hits == 2
    assert second == first
    assert [str(p) for p in second] == EXPECTED["issue_translations_drifted"]


def test_files_that_are_not_editions_are_errors_and_unoffered_languages_warnings(
    tmp_path: Path,
) -> None:
    settings = project_with("issue_clean", tmp_path)
    folder = settings.path("issues") / "2011-01"
    edition = (folder / "es.md").read_bytes()
    for name in ("xx.md", "notes.md", "ES.md", "news.zz.md", "de.md", "news.es.md"):
        (folder / name).write_bytes(edition)
    problems = [str(p) for p in load(settings).problems]

    def not_an_edition(name: str) -> str:
        return (f"issues/2011-01/{name}:1: {name} is not an edition: editions are named after an "
                "ISO 639-1 language code (es.md, en.md, pt.md, fr.md), partner news drafts "
                "news.<code>.md; rename the file or move it out of issues/")

    assert problems == [
        not_an_edition("ES.md"),
        "issues/2011-01/de.md:1: warning: language 'de' is not configured in [site] languages; "
        "not built",
        not_an_edition("news.zz.md"),
        not_an_edition("notes.md"),
        not_an_edition("xx.md"),
    ]


def test_problems_with_a_whole_file_are_on_its_first_line(tmp_path: Path) -> None:
    settings = project_with("issue_clean", tmp_path)
    (settings.path("issues") / "Bad_Folder").mkdir()
    problems = load(settings).problems
    assert [str(p) for p in problems] == [
        "issues/Bad_Folder:1: issue folder names use a-z, 0-9 and - only (e.g. 2026-11)"]
    assert Problem("x.md", 0, "whole file").line == 1


# The one-pattern test the markup check used before it looked for each alternative on its own:
# the fast form must say the same of any body (else a hostile link would go unchecked).
_ONE_PATTERN = re.compile(
    r"[<&]|\]\(\s*<?\s*(?!(?:https?|mailto):)[A-Za-z][A-Za-z0-9+.-]*:"
    r"|^\s{0,3}\[[^\]]+\]:\s*<?\s*(?!(?:https?|mailto):)[A-Za-z][A-Za-z0-9+.-]*:",
    re.MULTILINE | re.IGNORECASE,
)
_PIECES = ["[", "]", ":", "(", ")", " ", "\n", "\t", "\r", "\f", "a", "Js", "http", "https:",
           "mailto:", "data:", "<", "&", "[x]", "]: ", "](", "   [r]:", "\n\n  [", "x", "{: "]


@examples(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=16).map("".join))
def test_the_markup_check_looks_at_the_same_bodies_as_one_pattern(body: str) -> None:
    assert may_be_removed(body) == (bool(_ONE_PATTERN.search(body)) or "{" in body)


@pytest.mark.parametrize("body", [
    "[link](javascript:alert(1))", "text\n  [ref]: vbscript:x", "\n\n   [r]:\n  data:x",
    "[ok](https://example.org) and [mail](mailto:a@b.c)", "[^1]: a note\n\n[^1] again",
])
def test_hostile_links_are_seen_and_safe_ones_are_not(body: str) -> None:
    assert may_be_removed(body) == bool(_ONE_PATTERN.search(body))
    assert may_be_removed(body) == ("javascript" in body or "vbscript" in body or "data:" in body)


def test_attributes_the_sanitiser_removes_are_reported_too(tmp_path: Path) -> None:
    """`{: onclick=… }` (attr_list) puts any attribute on an element: the sanitiser removes it,
    so `check` says so, at its line, though the body has no HTML."""
    settings = project_with("issue_clean", tmp_path)
    edition = settings.root / "issues/2011-01/en.md"
    edition.write_text(edition.read_text(encoding="utf-8").replace(
        "## Second section", '## Second section {: onclick="alert(1)" }'), encoding="utf-8")
    assert [p for p in all_problems(settings, load(settings)) if "onclick" in p] == [
        'issues/2011-01/en.md:13: onclick="alert(1)" on <h2> is removed (event handlers run '
        "code): fix or remove it"]


# The one link pattern the body scan used before it started at the `[` (an image then was a
# match that began with its `!`): the scan must find the same links and images on any line.
_LINK_ONE_PATTERN = re.compile(
    r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
_LINK_PIECES = ["[", "]", "(", ")", "!", "<", ">", '"', "'", " ", "\t", "a", "x.png", "[^1]",
                "![a](b.png)", "[t](u)", "[![i](s.png)](l)", '"t"', "!!"]


def _links_by_one_pattern(line: str) -> list[tuple[str, bool, str | None]]:
    found: list[tuple[str, bool, str | None]] = []
    for match in _LINK_ONE_PATTERN.finditer(line):
        if match.group(1):
            found.append((match.group(3).strip("<>"), True, match.group(2)))
            continue
        found.append((match.group(3).strip("<>"), False, None))
        found += [(inner.group(3).strip("<>"), True, inner.group(2))
                  for inner in _LINK_ONE_PATTERN.finditer(match.group(2)) if inner.group(1)]
    return found


@examples(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_LINK_PIECES), max_size=14).map("".join))
def test_the_body_scan_finds_the_links_of_the_one_pattern(line: str) -> None:
    from newsletter.content.body_scan import scan_body
    from newsletter.content.issues import Edition

    text = line.lstrip() or "x"  # one line of prose (a leading space could make it code)
    edition = Edition(slug="2026-11", lang="en", path=Path("en.md"), number=1, title="T",
                      date=dt.date(2026, 11, 1), summary="S", body=text, body_line=9,
                      source_hash="h")
    scan = scan_body(edition, "en.md")
    assert [(link.url, link.image, link.alt) for link in scan.links] == _links_by_one_pattern(text)
