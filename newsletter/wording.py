"""Every word of the interface, per language: one file per language, one loader, one error.

`templates/wording/<lang>.toml` holds, in tables, every word around the content in one language:
the archive's pages (`[archive]`), its feeds (`[feed]`), the email editions (`[email]`), the
subscription pages and their confirmation email (`[subscription]`), the partner-news drafts
(`[news_draft]`), what `new` scaffolds (`[new]`), the editors' summary of a completed campaign
(`[editors]`) and the words Markdown writes itself (`[markdown]`).
`load_wording(templates_dir, languages)` reads the file of every offered language and refuses,
naming the file and the key, a missing file, a key one language has and another lacks, or a text
whose placeholders (`{number}`, `%d`) differ from the same text's in the first language. Adding a
language is one more file, and the language in `[site] languages`.

Names of languages are not words of these files: Babel knows them in every language
(`language_name_in`), so a fifth language needs no change to the other four files.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from .errors import NewsletterError

WORDING_DIR = "wording"
# `{name}` for str.format, `%d`/`%s` for the texts Python-Markdown formats itself.
_PLACEHOLDER_RE = re.compile(r"\{[^{}]*\}|%[ds]")

Text = str | tuple[str, ...]
Section = Mapping[str, Text]


class WordingError(NewsletterError):
    """A wording file is missing or malformed, or its words do not match another language's."""

    def __init__(self, path: Path, reason: str, line: int = 1) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class Wording:
    """The interface words of the offered languages: `tables[lang][section][key]`."""

    languages: tuple[str, ...]
    tables: Mapping[str, Mapping[str, Section]]
    folder: Path

    def section(self, lang: str, name: str) -> Section:
        """One table of one language's words (`archive`, `email`…), for a template's `t`."""
        try:
            return self.tables[lang][name]
        except KeyError:
            raise WordingError(self.file(lang), f"no [{name}] words for {lang!r} (is {lang!r} in "
                               "[site] languages?)") from None

    def word(self, lang: str, section: str, key: str, **values: object) -> str:
        """One text, its `{placeholders}` filled with `values`."""
        text = self.section(lang, section).get(key)
        if not isinstance(text, str):
            raise WordingError(self.file(lang), f"[{section}] has no text {key!r}")
        return text.format(**values) if values else text

    def file(self, lang: str) -> Path:
        """The wording file of one language."""
        return self.folder / f"{lang}.toml"


def wording_file(templates_dir: Path, lang: str) -> Path:
    """Where a language's words are: `templates/wording/<lang>.toml`."""
    return Path(templates_dir) / WORDING_DIR / f"{lang}.toml"


def load_wording(templates_dir: Path, languages: Sequence[str]) -> Wording:
    """The words of every language in `languages`, checked against each other.

    WordingError names the file (and the table and key) of a missing file, bad TOML, a text that
    is not text, a key another language has and this one lacks, or placeholders that differ.
    """
    languages = tuple(languages)
    files = [wording_file(templates_dir, lang) for lang in languages]
    stamps = tuple(_stamp(path) for path in files)
    return _load(Path(templates_dir), languages, stamps)


def placeholders(text: str) -> tuple[str, ...]:
    """The placeholders a text must keep in every language, sorted: `{number}`, `%d`."""
    return tuple(sorted(_PLACEHOLDER_RE.findall(text)))


@lru_cache(maxsize=256)
def language_name_in(code: str, in_lang: str) -> str:
    """A language's name as a reader of `in_lang` writes it in a sentence (Babel): pt in es →
    portugués, es in fr → espagnol, es in en → Spanish."""
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(in_lang).languages.get(code, code)
    except (UnknownLocaleError, ValueError):
        return code


def _stamp(path: Path) -> tuple[str, int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return (str(path), -1, -1)
    except OSError as exc:
        raise WordingError(path, f"cannot be read ({exc.strerror})") from None
    return (str(path), stat.st_mtime_ns, stat.st_size)


# Keyed by the files' modification times: a preview or a long-running app sees an edited file,
# and the many callers of one build share one parse.
@lru_cache(maxsize=16)
def _load(templates_dir: Path, languages: tuple[str, ...],
          stamps: tuple[tuple[str, int, int], ...]) -> Wording:
    folder = templates_dir / WORDING_DIR
    tables = {lang: _read(folder / f"{lang}.toml", lang) for lang in languages}
    if languages:
        _compare(tables, languages, folder)
    return Wording(languages, MappingProxyType(tables), folder)


def _read(path: Path, lang: str) -> Mapping[str, Section]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WordingError(
            path, "not found: every language in [site] languages needs its interface words "
            f"(copy another language's file to {path.name} and translate it)") from None
    except UnicodeDecodeError:
        raise WordingError(path, "not UTF-8 text: save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"at line (\d+)", str(exc))
        raise WordingError(path, str(exc), int(where.group(1)) if where else 1) from None
    sections: dict[str, Section] = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise WordingError(path, f"{name!r} must be a table of words ([{name}])",
                               _line_of(path, name))
        words: dict[str, Text] = {}
        for key, value in table.items():
            if isinstance(value, str):
                words[key] = value
            elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                words[key] = tuple(value)
            else:
                raise WordingError(path, f"[{name}] {key} must be text (or a list of texts)",
                                   _line_of(path, name, key))
        sections[name] = MappingProxyType(words)
    return MappingProxyType(sections)


def _line_of(path: Path, section: str, key: str | None = None) -> int:
    """The line of `[section]` in a wording file, or of `key` inside it (1 if not found)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    header = next((i for i, line in enumerate(lines) if line.strip() == f"[{section}]"), None)
    if header is None:
        return 1
    if key is None:
        return header + 1
    for i in range(header + 1, len(lines)):
        text = lines[i].strip()
        if text.startswith("["):
            break
        if re.match(rf"{re.escape(key)}\s*=", text):
            return i + 1
    return header + 1


def _compare(tables: Mapping[str, Mapping[str, Section]], languages: tuple[str, ...],
             folder: Path) -> None:
    """Every language has every key any language has, of the same kind, with the same
    placeholders (the first language is the reference the messages name)."""
    every: dict[tuple[str, str], str] = {}  # (section, key) → the first language that has it
    for lang in languages:
        for section, words in tables[lang].items():
            for key in words:
                every.setdefault((section, key), lang)
    for lang in languages:
        path = folder / f"{lang}.toml"
        for (section, key), owner in sorted(every.items()):
            words = tables[lang].get(section)
            if words is None:
                raise WordingError(path, f"no [{section}] table (templates/wording/{owner}.toml "
                                   f"has one): add the {section} words in {lang!r}")
            if key not in words:
                raise WordingError(path, f"[{section}] has no {key!r} (templates/wording/"
                                   f"{owner}.toml has it): add it in {lang!r}",
                                   _line_of(path, section))
            mine, theirs = words[key], tables[owner][section][key]
            if isinstance(mine, str) != isinstance(theirs, str):
                kind = "a text" if isinstance(theirs, str) else "a list of texts"
                raise WordingError(path, f"[{section}] {key} must be {kind}, as in "
                                   f"templates/wording/{owner}.toml", _line_of(path, section, key))
            if isinstance(mine, str) and isinstance(theirs, str) \
                    and placeholders(mine) != placeholders(theirs):
                raise WordingError(
                    path, f"[{section}] {key} has the placeholders {_listed(placeholders(mine))}, "
                    f"but templates/wording/{owner}.toml has {_listed(placeholders(theirs))}: "
                    "keep the same ones (they are filled in)", _line_of(path, section, key))


def _listed(found: tuple[str, ...]) -> str:
    return ", ".join(found) if found else "none"

