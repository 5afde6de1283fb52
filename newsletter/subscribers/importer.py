"""CSV import and export of subscribers, streamed row by row.

Columns are found by header (any order, any case): `email` and `state` are required; `name`,
`organisation` (or `organization`) and `lang` are optional (a missing `lang` column means the
default language). Excel's BOM and semicolon-separated files are accepted. Each bad row becomes a
`RowProblem` (`FILE:line: reason`); the good rows are imported in one transaction — or none of
them with `strict`, and none ever with `dry_run`. Rows imported as confirmed need the consent
note that says who designated them, as every confirmed subscriber the store adds does.
"""

from __future__ import annotations

import codecs
import csv
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from newsletter.addresses import InvalidAddress
from newsletter.errors import NewsletterError

from .records import ConsentMissing, DuplicateSubscriber, SubscriberError, SuppressedAddress
from .store import SubscriberStore

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("email", "state")
OPTIONAL_COLUMNS = ("name", "organisation", "lang")
ALIASES = {
    "organization": "organisation", "language": "lang", "e-mail": "email", "country": "state",
}
EXPORT_COLUMNS = (
    "email", "name", "organisation", "state", "lang", "status", "source", "note",
    "requested_at", "confirmed_at",
)


class ImportFileError(NewsletterError):
    """The CSV file as a whole cannot be read (missing, not UTF-8, bad header)."""


CONSENT_NOTE = ('--confirmed needs --note saying who designated these subscribers (their consent '
                'record), e.g. --note "list from the liaisons, 2026"')


class ImportRejected(NewsletterError):
    """`--strict` import with bad rows: nothing was imported (the rows are in `problems`)."""

    def __init__(self, message: str, problems: list[RowProblem]) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class RowProblem:
    """One bad row: where it is and why it was not imported."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    imported: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    pending_ids: tuple[int, int] | None = None  # id range of the new pending subscribers
    dry_run: bool = False

    @property
    def rows(self) -> int:
        """Rows read, good and bad."""
        return self.imported + len(self.problems)


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, str]


def _column_name(header: str) -> str:
    name = header.strip().lower().replace(" ", "_")
    return ALIASES.get(name, name)


def _text_lines(stream: BinaryIO, display: str) -> Iterator[str]:
    """Decode a byte stream line by line, so a bad byte is reported on its own line."""
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"{display}:{number}: not UTF-8 text (byte {raw[exc.start]:#04x}); "
                "save the file as \"CSV UTF-8\""
            ) from None


def read_rows(stream: BinaryIO, display: str) -> Iterator[_Row]:
    """The data rows of a CSV file with their first line number, keyed by canonical column."""
    lines = _text_lines(stream, display)
    first = next(lines, "")
    if not first.strip():
        raise ImportFileError(f"{display}:1: the file is empty; the first line must be a header "
                              "naming the columns (email, state, lang, name, organisation)")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    header = next(csv.reader([first], delimiter=delimiter))
    columns = [_column_name(h) for h in header]
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    for name, original in zip(columns, header, strict=True):
        if name not in known:
            raise ImportFileError(
                f"{display}:1: unknown column {original.strip()!r} (known: email, name, "
                "organisation, state, lang)"
            )
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise ImportFileError(f"{display}:1: column {name!r} appears twice")
        seen.add(name)
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        raise ImportFileError(f"{display}:1: the header has no {' or '.join(missing)} column")
    reader = csv.reader(lines, delimiter=delimiter)
    line = 2
    try:
        for record in reader:
            start, line = line, reader.line_num + 2
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(columns):
                yield _Row(start, {"__error__": f"has {len(record)} fields, the header has "
                                                f"{len(columns)}"})
                continue
            yield _Row(start, dict(zip(columns, record, strict=True)))
    except csv.Error as exc:
        raise ImportFileError(f"{display}:{line}: {exc}") from None


def import_csv(
    store: SubscriberStore,
    path: Path,
    *,
    confirmed: bool,
    note: str = "",
    strict: bool = False,
    dry_run: bool = False,
    display: str | None = None,
    default_lang: str | None = None,
) -> ImportReport:
    """Import a CSV file into the store; the report lists each bad row and what was imported."""
    display = display or str(path)
    status = "confirmed" if confirmed else "pending"
    if confirmed and not note.strip():
        raise ConsentMissing(CONSENT_NOTE)
    report = ImportReport(dry_run=dry_run)
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        raise ImportFileError(f"{display}: file not found") from None
    except IsADirectoryError:
        raise ImportFileError(f"{display}: is a folder, not a CSV file") from None
    database = store.database
    with stream, (database.rolled_back() if dry_run else database.transaction()):
        before = store.last_id()
        for row in read_rows(stream, display):
            problem = _import_row(store, row, status, note.strip(), before,
                                  default_lang or store.languages[0])
            if problem:
                report.problems.append(RowProblem(display, row.line, problem))
            else:
                report.imported += 1
        if strict and report.problems and not dry_run:
            raise ImportRejected(  # inside the transaction: nothing is imported
                f"{display}: {len(report.problems)} bad row(s); nothing imported (--strict)",
                report.problems,
            )
    if not dry_run and not confirmed and report.imported:
        report.pending_ids = (before + 1, store.last_id())
    logger.info("imported %d row(s) from %s, %d bad", report.imported, display,
                len(report.problems))
    return report


def _import_row(
    store: SubscriberStore, row: _Row, status: str, note: str, before: int, default_lang: str
) -> str:
    """Add one row inside the import's transaction; return the problem, or '' when imported."""
    values = row.values
    if "__error__" in values:
        return values["__error__"]
    lang = values["lang"] if "lang" in values else default_lang
    try:
        candidate = store.validate(
            values.get("email", ""), values.get("state", ""), lang,
            values.get("name", ""), values.get("organisation", ""),
        )
    except (SubscriberError, InvalidAddress) as exc:
        return str(exc)
    try:
        store.insert(candidate, status=status, source="import", note=note)
    except DuplicateSubscriber:
        existing = store.get_by_email(candidate.email)
        if existing is not None and existing.id > before:
            return f"duplicate: {existing.masked} appears on an earlier row of this file"
        return f"duplicate: {existing.masked if existing else 'the address'} is already " \
               f"subscribed ({existing.status if existing else 'unknown'})"
    except SuppressedAddress as exc:
        return f"suppressed: {exc}"
    return ""


def export_csv(store: SubscriberStore, out: TextIO, status: str | None = None) -> int:
    """Write subscribers (optionally of one status) as CSV, streamed; return the row count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for s in store.iter_subscribers(status):
        writer.writerow([s.email, s.name, s.organisation, s.state, s.lang, s.status, s.source,
                         s.note, s.requested_at, s.confirmed_at or ""])
        count += 1
    return count
