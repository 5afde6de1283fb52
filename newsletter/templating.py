"""The Jinja environment shared by pages, feeds and emails: autoescaped and strict.

Markdown's HTML is marked safe in exactly one place, `trusted_html()`; every other value is escaped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from babel import Locale
from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup


class RenderedBody(Protocol):
    """What the Markdown converter hands over (`newsletter.content.Rendered` is one)."""

    @property
    def html(self) -> str:
        """The body as HTML."""

    @property
    def toc(self) -> str:
        """Its table of contents as HTML."""


class Fields(dict[str, object]):
    """A dict a template reads by attribute (`t.skip`, `item.href`) at the cost of a dict lookup.

    Jinja reads `x.name` as `getattr(x, "name")` first and `x["name"]` only after that raised
    AttributeError: for a plain dict, every lookup raised and caught an exception (a page reads
    a few hundred). Keys that are dict methods (`items`, `get`) resolve as before, to the method;
    a missing key is still an AttributeError, so StrictUndefined still reports it."""

    __slots__ = ()

    def __getattr__(self, name: str) -> object:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


_FIELDS_ATTRIBUTES = frozenset(dir(Fields))  # what `x.name` finds before any key: dict methods


class _Environment(Environment):
    """Jinja's environment, reading `x.name` of a `Fields` as its key in one dict lookup.

    Jinja's own `getattr` asks Python's attribute lookup first, which for a `Fields` key misses
    the type and calls `Fields.__getattr__`: six times slower, and a page reads some seventy. The
    result is the same for every name: a dict method's name (`items`, `get`) or a missing key
    takes Jinja's way."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is Fields and attribute not in _FIELDS_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def trusted_html(rendered: RenderedBody) -> Markup:
    """The one place where rendered Markdown becomes trusted HTML (check refuses scripts)."""
    return Markup(rendered.html)


def trusted_toc(rendered: RenderedBody) -> Markup:
    """The table of contents Python-Markdown built from the same trusted body."""
    return Markup(rendered.toc)


# What may not appear raw inside <script type="application/ld+json">: `<` (no `</script>` or
# `<!--` can end or bend the element), `>` and `&`, and the two separators JavaScript reads as
# line ends.
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_ld(data: object) -> Markup:
    """The one place where structured data becomes markup: JSON whose text can never end the
    script element it sits in, whatever a title contains (`</script>` comes out as `\u003c/…`)."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for raw, escaped in _JSON_ESCAPES.items():
        text = text.replace(raw, escaped)
    return Markup(text)


def native_language_name(lang: str) -> str:
    """A language's name in that language, capitalised (es → Español), for switchers."""
    name = Locale.parse(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]


@lru_cache(maxsize=8192)
def localized_date(value: dt.date, lang: str, form: str = "long") -> str:
    """A date the way a reader of `lang` writes it (Babel; remembered: an archive lists the same
    dates on its index, its state and topic pages and its issue pages)."""
    return format_date(value, format=form, locale=lang)


def html_text(value: str) -> str:
    """Plain text as the HTML an RSS `<description>` holds: `<`, `>` and `&` escaped once here and
    once more by the XML around it, so a reader shows "a <b>" as typed instead of parsing markup
    out of a summary (quotes need no escaping between tags)."""
    return html.escape(str(value), quote=False)


def rfc822(value: dt.datetime) -> str:
    """An RFC 822 date for RSS (always in English, whatever the locale)."""
    from email.utils import format_datetime

    return format_datetime(value)


@lru_cache(maxsize=8)
def make_environment(templates_dir: Path, version: str | None = None) -> Environment:
    """A Jinja environment over the project's templates folder.

    Without `version`, a template is looked at on disk each time it is used (extends and
    includes too), so a long-running process sees an edit. A caller that knows which templates
    it renders passes their `version` (the build: its key hashes every template file) and gets an
    environment that does not look again (three `stat`s a page): templates edited since make a
    new version, and a new environment."""
    env = _Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(["html", "xml", "htm"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=version is None,
    )
    env.filters["localized_date"] = localized_date
    env.filters["rfc822"] = rfc822
    env.filters["html_text"] = html_text
    return env


def templates_fingerprint(templates_dir: Path) -> str:
    """A hash of every template file: part of every render cache key."""
    digest = hashlib.sha256()
    for path in sorted(templates_dir.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(templates_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
