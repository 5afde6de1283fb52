"""Hostile front matter: every value YAML can produce ends in a `path:line: message` problem.

A property test feeds the loader and `check` YAML documents built from every kind of node YAML
has (scalars of each tag, huge integers, NaN, timestamps real and impossible, binary, sets,
anchors and aliases, duplicate and non-text keys, deep nesting) and asserts that nothing but a
reported problem comes out. The commands are also run as an editor runs them, in a subprocess,
on the dates of the issue that ended in a traceback.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.content.check import run_checks
from newsletter.content.loader import FRONT_MATTER_KEYS, load_issues, read_edition
from newsletter.settings import load_settings
from tests.conftest import REPO, copy_project

BODY = "\n## Noticias\n\nTexto del número.\n"
VALID = {
    "number": "1", "title": "Título", "date": "2011-01-20", "summary": "Resumen.",
    "status": "ready", "countries": "[UY]",
}

# Raw YAML for one value: every tag and shape the safe loader builds, and the invalid ones.
SCALARS = st.sampled_from([
    "~", "null", "true", "no", "0", "-1", "7", "0x1F", "0o17", "1_000", "1e400", ".nan", "-.inf",
    "3.0", "9" * 5000, "2026-02-30", "2026-11-31T09:00:00-03:00", "2026-11-30T09:00:00-03:00",
    "2026-11-30 09:00:00", "0001-01-01", "9999-12-31T23:59:59-12:00", "2026-13-01",
    "!!binary aGVsbG8=", "!!binary '%%%'", "!!timestamp 2026-02-30", "!!int abc",
    "!!float x", "!!str 12", "!!python/object:os.system ls", "'\\x00'", '"\\0"', '"\\u2028"',
    '"a\\nb"', '"\\x07"', "''", "' '", "draft", "ready", "UY", "[UY, ZZ]", "[]", "{}",
    "!!set {a, b}", "!!omap [{a: 1}]", "!!pairs [{a: 1}]", "[" * 200 + "]" * 200,
    "|\n  two\n  lines", ">\n  folded", "*undefined", "&x [*x]", "{? [a]: 1}", "[{[1]: 2}]",
])
TEXT = st.text(st.characters(codec="utf-8"), max_size=40).map(lambda t: '"' + t.replace(
    "\\", "\\\\").replace('"', '\\"') + '"')


@st.composite
def front_matter(draw: st.DrawFn) -> str:
    """A YAML front matter document: known and unknown keys, repeated keys, anchors, aliases."""
    keys = draw(st.lists(
        st.one_of(st.sampled_from(list(FRONT_MATTER_KEYS)), st.sampled_from(
            ["<<", "? [a, b]", "1", "~", "número", "Title", '"title"'])),
        max_size=10,
    ))
    lines, anchors = [], []
    for index, key in enumerate(keys):
        value = draw(st.one_of(SCALARS, TEXT, st.sampled_from(
            [f"*{a}" for a in anchors] or ["x"])))
        if draw(st.booleans()):
            anchor = f"a{index}"
            value = f"&{anchor} {value}" if not value.startswith(("&", "*", "!")) else value
            anchors.append(anchor)
        lines.append(f"{key}: {value}" if not key.startswith("?") else f"{key}\n: {value}")
    if draw(st.booleans()):
        lines = [f"{k}: {v}" for k, v in VALID.items()] + lines
    return "\n".join(lines)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("front-matter") / "project", issues=False)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(document=st.one_of(front_matter(), st.text(max_size=200)))
def test_no_front_matter_makes_the_loader_or_check_raise(project: Path, document: str) -> None:
    settings_ = load_settings(project / "newsletter.toml")
    with tempfile.TemporaryDirectory(dir=project) as folder:
        issues = Path(folder)
        (issues / "2011-01").mkdir()
        for lang in ("es", "en"):
            (issues / "2011-01" / f"{lang}.md").write_text(
                f"---\n{document}\n---\n{BODY}", encoding="utf-8", errors="surrogatepass")
        corpus = load_issues(issues, ("es", "en"), project)
        for problem in corpus.problems:
            assert problem.line >= 1
            assert problem.path.startswith(f"{issues.name}/2011-01/")
        run_checks(settings_, corpus)  # whatever loaded is checked without raising


@pytest.mark.parametrize(("line", "expected"), [
    ("date: 2026-02-30",
     "es.md:4: date '2026-02-30' is not a real date (day is out of range for month)"),
    ("date: 2026-02-29",
     "es.md:4: date '2026-02-29' is not a real date (day is out of range for month)"),
    ("date: 0201-05-16", "es.md:4: date 0201-05-16 is not between 1900 and 2999: is the year a "
                         "typo?"),
    ("number: 1" + "0" * 4400, "es.md:2: number: '1000…' cannot be read (Exceeds the limit "
                               "(4300 digits)"),
])
def test_impossible_values_are_one_problem_on_their_line(line: str, expected: str) -> None:
    fields = {"number": "number: 1", "title": "title: T", "date": "date: 2011-01-20",
              "summary": "summary: S"}
    fields[line.split(":")[0]] = line
    data = ("---\n" + "\n".join(fields.values()) + "\n---\nbody\n").encode()
    edition, problems = read_edition(Path("es.md"), "x", "es", data, "es.md")
    assert edition is None and len(problems) == 1
    head, _, tail = expected.partition("…")
    assert str(problems[0]).startswith(head) and tail in str(problems[0])


def test_a_key_twice_and_a_key_that_is_a_list_are_reported_on_their_lines() -> None:
    data = b"---\nnumber: 1\ntitle: T\ndate: 2011-01-20\nsummary: S\ntitle: U\n? [a]\n: 1\n---\n"
    _, problems = read_edition(Path("es.md"), "x", "es", data, "es.md")
    assert [str(p) for p in problems] == [
        "es.md:6: key 'title' appears twice (first on line 3): keep one",
        "es.md:7: front-matter keys must be plain names (number, title, date…), not a list or a "
        "mapping",
    ]


def test_an_alias_bomb_is_reported_without_expanding_it() -> None:
    bomb = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
    data = ("---\nl0: &l0 [x]\n" + bomb + "number: 1\ntitle: *l8\ndate: *l8\nsummary: S\n---\n")
    _, problems = read_edition(Path("es.md"), "x", "es", data.encode(), "es.md")
    messages = [p.message for p in problems]
    assert "title must be non-empty text" in messages
    assert any(m.startswith("date must be a date (YYYY-MM-DD), not [[[...]") for m in messages)


@pytest.mark.parametrize("command", [["check"], ["build"], ["send", "2011-01", "--dry-run"]])
@pytest.mark.parametrize("line", ["date: 2026-02-30", "send_at: 2026-11-31T09:00:00-03:00"])
def test_commands_report_an_impossible_date_as_path_line_message(
    tmp_path: Path, command: list[str], line: str
) -> None:
    project = copy_project(tmp_path / "project")
    source = project / "issues" / "2011-01" / "es.md"
    key = line.split(":")[0]
    text = source.read_text(encoding="utf-8")
    text = re.sub(rf"(?m)^{key}: .*$", line, text, count=1)
    source.write_text(text, encoding="utf-8")
    number = next(n for n, t in enumerate(text.splitlines(), 1) if t == line)
    env = {**os.environ, "ANNAOBSERVA_SECRET": "x" * 40}
    result = subprocess.run([sys.executable, str(REPO / "publish.py"), *command],
                            cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"issues/2011-01/es.md:{number}: {key} " in result.stdout + result.stderr
    assert "is not a real date (day is out of range for month)" in result.stdout + result.stderr


def _one_line_by_category(text: str) -> str | None:
    """What a title, summary or tag may not hold, by Unicode category, one character at a time
    (the loader's rule before its shortcut for printable text): the problem's reason, or None."""
    import unicodedata

    text = text.strip()
    if not text:
        return "empty"
    if any(unicodedata.category(c) in ("Zl", "Zp") or c in "\n\r" for c in text):
        return "lines"
    if any(unicodedata.category(c) in ("Cc", "Cs") and c != "\t" for c in text):
        return "control"
    return None


@settings(max_examples=3000, deadline=None)
@given(st.text(st.characters(codec=None), max_size=12) | st.text(
    st.sampled_from("a é\t\n\r\x00\x1f\x7f\x85\u00a0\u2028\u2029\u200b\ud800\ue000\u0378"),
    max_size=6))
def test_one_line_text_refuses_what_the_categories_refuse(text: str) -> None:
    from newsletter.content.loader import _one_line_text

    value, error = _one_line_text("title", text)
    reason = _one_line_by_category(text)
    assert (error is None) == (reason is None), (text, error)
    assert value == (text.strip() if reason is None else None)
    if reason == "lines":
        assert error is not None and "one line" in error
    if reason == "control":
        assert error is not None and "control character" in error
