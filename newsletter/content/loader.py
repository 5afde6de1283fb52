"""Load issues: `issues/<slug>/<lang>.md` files (YAML front matter + Markdown) into `Issue`s.

Reading is forgiving and reporting is exact: every defect becomes a `Problem` with the file and
line, so `check` can list them all and `build` can refuse to start with the same messages. The
records themselves (`Issue`, `Edition`, `Corpus`, `Problem`) are `issues.py`'s.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import reprlib
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from newsletter.settings import Settings

from .issues import SLUG_RE, Corpus, Edition, Issue, Problem, display_path, source_hash

FRONT_MATTER_KEYS = {
    "number": "required",
    "title": "required",
    "date": "required",
    "summary": "required",
    "send_at": "optional",
    "status": "optional",
    "tags": "optional",
    "countries": "optional",
}
STATUSES = ("draft", "ready")
LANG_FILE_RE = re.compile(r"^([a-z]{2})\.md$")
DRAFT_NEWS_RE = re.compile(r"^news\.([a-z]{2})\.md$")
# ISO 639-1: a file named after one of these is an edition in a language the site may not offer
# yet (a warning); any other name for a Markdown file in an issue folder is a mistake (an error).
ISO_639_1 = frozenset("""
aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de
dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia
id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo
lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl
ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk
tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu
""".split())
# Front-matter values that reach email headers, feeds and URLs are bounded: a number or a year
# past these is a typo, and a huge integer cannot even be printed (Python's 4,300-digit limit).
NUMBER_MAX = 1_000_000
YEARS = (1900, 2999)
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 60
_SHOWN.maxlevel = 2
# What the YAML constructors raise on values they cannot build (2026-02-30, a 5,000-digit
# integer, bad base64 under !!binary, nesting deeper than the interpreter's stack).
_CONSTRUCT_ERRORS = (ValueError, TypeError, OverflowError, RecursionError, ArithmeticError)


def split_front_matter(text: str, path: str) -> tuple[str, str, int, list[Problem]]:
    """Split `---` YAML front matter from the body; return (yaml, body, body_line, problems)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return "", text, 1, [Problem(path, 1, "missing front matter: the file must start with ---")]
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2, []
    return "", "", 1, [Problem(path, 1, "front matter is not closed: add a line with --- after it")]


def shown(value: Any) -> str:
    """A value as a message shows it: its repr, cut short (a value may be huge or recursive)."""
    try:
        return _SHOWN.repr(value)
    except _CONSTRUCT_ERRORS:
        return f"a {type(value).__name__}"


def parse_front_matter(
    source: str, path: str, line_offset: int = 1
) -> tuple[dict[str, Any], dict[str, int], list[Problem]]:
    """Parse the YAML, keeping each key's file line; every defect is a Problem with its line.

    Keys are read from the YAML nodes, so a key that is not a plain name, or appears twice, is
    reported on its line; only known keys have their values built, one by one, so a value YAML
    cannot build (an impossible date, a 5,000-digit number) is reported on its own key's line.
    """
    import yaml  # here, not at the top: a build whose inputs did not change never parses YAML

    # libyaml when it is there: parsing front matter is most of loading the issues.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(source)
    data: dict[str, Any] = {}
    lines: dict[str, int] = {}
    problems: list[Problem] = []
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            return {}, {}, [_yaml_problem(exc, path, line_offset)]
        except _CONSTRUCT_ERRORS as exc:
            return {}, {}, [Problem(path, line_offset,
                                    f"malformed YAML in front matter: {_reason(exc)}")]
        if node is None:
            return {}, {}, []
        if not isinstance(node, yaml.MappingNode):
            problem = Problem(path, line_offset, "front matter must be a mapping of key: value")
            return {}, {}, [problem]
        for key_node, value_node in node.value:
            line = line_offset + key_node.start_mark.line
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(path, line, "front-matter keys must be plain names "
                                        "(number, title, date…), not a list or a mapping"))
                continue
            key = str(key_node.value)
            if key in lines:
                problems.append(Problem(path, line, f"key {shown(key)} appears twice (first on "
                                        f"line {lines[key]}): keep one"))
                continue
            lines[key] = line
            if key not in FRONT_MATTER_KEYS:
                data[key] = None  # reported by the caller; its value is never built
                continue
            try:
                data[key] = loader.construct_object(value_node, deep=True)
            except yaml.YAMLError as exc:
                problems.append(_yaml_problem(exc, path, line_offset, key))
            except _CONSTRUCT_ERRORS as exc:
                text = value_node.value if isinstance(value_node, yaml.ScalarNode) else None
                if key in ("date", "send_at") and isinstance(exc, ValueError) and text:
                    message = f"{key} {shown(text)} is not a real date ({_reason(exc)})"
                elif text is not None:
                    message = f"{key}: {shown(text)} cannot be read ({_reason(exc)})"
                else:
                    message = f"{key} cannot be read ({_reason(exc)})"
                problems.append(Problem(path, line, message))
    finally:
        loader.dispose()
    return data, lines, problems


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    text = str(exc).split("\n")[0]
    return text[:200] or type(exc).__name__


def _yaml_problem(exc: Exception, path: str, line_offset: int, key: str | None = None) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    line = line_offset + (mark.line if mark else 0)
    reason = getattr(exc, "problem", None) or str(exc)
    where = f" (in {key})" if key else ""
    return Problem(path, line, f"malformed YAML in front matter{where}: {reason}")


def _one_line_text(key: str, value: Any) -> tuple[str | None, str | None]:
    """Non-empty text on one line, without control characters (it goes into email headers)."""
    if not isinstance(value, str) or not value.strip():
        return None, f"{key} must be non-empty text"
    text = value.strip()
    if text.isprintable():  # no character of the categories below (nor any other C or Z but " ")
        return text, None
    if any(unicodedata.category(c) in ("Zl", "Zp") or c in "\n\r" for c in text):
        return None, f"{key} must be one line (it goes into email headers and feeds)"
    control = next((c for c in text if unicodedata.category(c) in ("Cc", "Cs") and c != "\t"),
                   None)
    if control is not None:
        return None, (f"{key} contains the control character U+{ord(control):04X}: remove it "
                      "(it would reach email headers and feeds)")
    return text, None


def _in_years(key: str, value: dt.date) -> str | None:
    low, high = YEARS
    if not low <= value.year <= high:
        return f"{key} {value.isoformat()} is not between {low} and {high}: is the year a typo?"
    return None


def _check_value(key: str, value: Any) -> tuple[Any, str | None]:
    """Convert one front-matter value to its type, or say what is wrong with it."""
    if key == "number":
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return None, f"number must be a whole number without a decimal point, not {value}"
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return None, f"number must be a positive whole number, not {shown(value)}"
        if value > NUMBER_MAX:
            return None, f"number must be at most {NUMBER_MAX:,}: is it a typo?"
        return value, None
    if key in ("title", "summary"):
        return _one_line_text(key, value)
    if key == "date":
        if isinstance(value, dt.datetime):
            return None, "date must be a date (YYYY-MM-DD), not a date and time"
        if isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value.strip())
            except ValueError:
                return None, f"date must be a date (YYYY-MM-DD), not {shown(value)}"
        if not isinstance(value, dt.date):
            return None, f"date must be a date (YYYY-MM-DD), not {shown(value)}"
        return value, _in_years("date", value)
    if key == "send_at":
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                return None, f"send_at must be a date and time with a time zone, not {shown(value)}"
        if not isinstance(value, dt.datetime):
            return None, ("send_at must be a date and time with a time zone "
                          "(2026-11-30T09:00:00-03:00)")
        if value.tzinfo is None or value.utcoffset() is None:
            return None, "send_at has no time zone: add one, e.g. 2026-11-30T09:00:00-03:00"
        return value, _in_years("send_at", value)
    if key == "status":
        if not isinstance(value, str) or value not in STATUSES:
            return None, f"status must be draft or ready, not {shown(value)}"
        return value, None
    if key in ("tags", "countries"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, f"{key} must be a list of text values"
        if key == "countries":
            bad = [v for v in value if not re.fullmatch(r"[A-Z]{2}", v)]
            if bad:
                return None, (f"countries must be ISO 3166-1 alpha-2 codes (e.g. UY), "
                              f"not {shown(bad[0])}")
            return tuple(value), None
        tags = []
        for tag in value:
            text, error = _one_line_text("each tag", tag)
            if error:
                return None, f"{error} ({shown(tag)})"
            tags.append(text)
        return tuple(tags), None
    return None, f"unknown key {key!r}"  # pragma: no cover - filtered earlier


def read_edition(
    path: Path, slug: str, lang: str, data: bytes, display: str
) -> tuple[Edition | None, list[Problem]]:
    """Parse one edition file's bytes; return the edition (or None) and its problems."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(display, 1, f"not UTF-8 text ({exc.reason}): save the file as UTF-8")]
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")  # an editor's BOM is not content
    source, body, body_line, problems = split_front_matter(text, display)
    if problems:
        return None, problems
    raw, lines, problems = parse_front_matter(source, display, 2)
    if problems and not lines:  # the YAML itself is malformed
        return None, problems
    values: dict[str, Any] = {}
    for key, value in raw.items():
        line = lines.get(key, 2)
        if key not in FRONT_MATTER_KEYS:
            known = ", ".join(FRONT_MATTER_KEYS)
            problems.append(
                Problem(display, line, f"unknown front-matter key {shown(key)} (known: {known})"))
            continue
        converted, error = _check_value(key, value)
        if error:
            problems.append(Problem(display, line, error))
        else:
            values[key] = converted
    for key, need in FRONT_MATTER_KEYS.items():
        if need == "required" and key not in lines:
            problems.append(Problem(display, 1, f"missing front-matter key {key!r}"))
    if problems:
        return None, problems
    edition = Edition(
        slug=slug,
        lang=lang,
        path=path,
        body=body,
        body_line=body_line,
        source_hash=source_hash(data),
        key_lines=lines,
        **values,
    )
    return edition, []


EditionReader = Callable[[Path, str, str, bytes, str], tuple["Edition | None", list[Problem]]]


def load_issues(
    issues_dir: Path,
    languages: Iterable[str],
    root: Path | None = None,
    reader: EditionReader | None = None,
    required: Iterable[str] | None = None,
) -> Corpus:
    """Read every issue folder; editions in configured-language order, issues newest first.

    `reader` parses one file's bytes (the build passes a caching one); default `read_edition`.
    `required`: the languages every issue is written in (`Issue.required`; default: all).
    """
    reader = reader or read_edition
    languages = tuple(languages)
    needed = tuple(required) if required is not None else None
    root = root or issues_dir.parent
    problems: list[Problem] = []
    issues: list[Issue] = []
    folder_shown = display_path(issues_dir, root)
    if not issues_dir.is_dir():
        missing = Problem(folder_shown, 1, "the issues folder does not exist")
        return Corpus((), (missing,), folder_shown)
    for folder in sorted(p for p in issues_dir.iterdir() if p.is_dir()):
        slug = folder.name
        shown = display_path(folder, root)
        if not SLUG_RE.match(slug):
            problems.append(
                Problem(shown, 1, "issue folder names use a-z, 0-9 and - only (e.g. 2026-11)")
            )
            continue
        editions: dict[str, Edition] = {}
        for file in sorted(folder.iterdir()):
            if not file.is_file() or not file.name.endswith(".md"):
                continue
            match = LANG_FILE_RE.match(file.name)
            draft = DRAFT_NEWS_RE.match(file.name)
            code = (match or draft).group(1) if (match or draft) else None
            if code not in ISO_639_1:
                problems.append(Problem(
                    display_path(file, root), 1,
                    f"{file.name} is not an edition: editions are named after an ISO 639-1 "
                    f"language code ({', '.join(f'{lang}.md' for lang in languages)}), partner "
                    "news drafts news.<code>.md; rename the file or move it out of issues/",
                ))
                continue
            if not match:
                continue  # a partner-news draft (content.news_drafts checks it)
            lang = code
            if lang not in languages:
                problems.append(
                    Problem(display_path(file, root), 1,
                            f"language {lang!r} is not configured in [site] languages; not built",
                            "warning")
                )
                continue
            edition, found = reader(file, slug, lang, file.read_bytes(), display_path(file, root))
            problems.extend(found)
            if edition is not None:
                editions[lang] = edition
        ordered = {lang: editions[lang] for lang in languages if lang in editions}
        if ordered:
            issues.append(Issue(slug=slug, folder=folder, editions=ordered, required=needed))
    issues.sort(key=lambda i: (i.date, i.number, i.slug), reverse=True)
    return Corpus(tuple(issues), tuple(problems), folder_shown)


def load_corpus(settings: Settings, reader: EditionReader | None = None) -> Corpus:
    """Every issue under `[build] issues_dir` in the configured languages: what every command
    reads (`reader` as in `load_issues`; the build passes its caching one)."""
    return load_issues(settings.path(settings.build.issues_dir), settings.site.languages,
                       settings.root, reader=reader, required=settings.site.required_languages)
